/* set_robust_list/get_robust_list and robust mutex owner death. */
#include "harness.h"
#include <linux/futex.h>
#include <pthread.h>

int main(void)
{
	struct robust_list_head *head = NULL, mine;
	size_t len = 0;
	EXPECT_EQ("get_robust_list_self", syscall(SYS_get_robust_list, 0, &head, &len), 0);
	EXPECT_EQ("glibc_registered_len", len, sizeof(struct robust_list_head));
	CHECK("glibc_registered_head", head != NULL);
	struct robust_list_head *orig = head;

	mine.list.next = &mine.list;
	mine.futex_offset = 0;
	mine.list_op_pending = NULL;
	EXPECT_EQ("set_robust_list_ok", syscall(SYS_set_robust_list, &mine, sizeof(mine)), 0);
	syscall(SYS_get_robust_list, 0, &head, &len);
	CHECK("get_returns_what_was_set", head == &mine);
	EXPECT_ERR("set_bad_len_einval", syscall(SYS_set_robust_list, &mine, sizeof(mine) - 1), EINVAL);
	EXPECT_ERR("set_zero_len_einval", syscall(SYS_set_robust_list, &mine, 0), EINVAL);
	EXPECT_ERR("set_big_len_einval", syscall(SYS_set_robust_list, &mine, sizeof(mine) * 2), EINVAL);
	EXPECT_EQ("get_by_own_tid", syscall(SYS_get_robust_list, syscall(SYS_gettid), &head, &len), 0);
	EXPECT_ERR("get_nonexistent_esrch", syscall(SYS_get_robust_list, 0x3ffffff0, &head, &len), ESRCH);
	EXPECT_ERR("get_head_efault", syscall(SYS_get_robust_list, 0, (void *)1, &len), EFAULT);
	EXPECT_ERR("get_len_efault", syscall(SYS_get_robust_list, 0, &head, (void *)1), EFAULT);
	syscall(SYS_set_robust_list, orig, sizeof(*orig));

	/* the kernel walks the list at exit: the waiter gets EOWNERDEAD */
	pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &a);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(m);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	int r = pthread_mutex_lock(m);
	EXPECT_EQ("owner_death_eownerdead", r, EOWNERDEAD);
	EXPECT_EQ("mutex_consistent", pthread_mutex_consistent(m), 0);
	pthread_mutex_unlock(m);
	EXPECT_EQ("relock_after_recovery", pthread_mutex_lock(m), 0);
	pthread_mutex_unlock(m);

	/* a blocked waiter is woken when the owner dies */
	int *go = (int *)((char *)m + 1024);
	*go = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(m);
		__atomic_store_n(go, 1, __ATOMIC_SEQ_CST);
		usleep(30000);
		_exit(0);
	}
	while (!__atomic_load_n(go, __ATOMIC_SEQ_CST))
		usleep(1000);
	r = pthread_mutex_lock(m);
	EXPECT_EQ("blocked_waiter_gets_eownerdead", r, EOWNERDEAD);
	pthread_mutex_consistent(m);
	pthread_mutex_unlock(m);
	waitpid(pid, NULL, 0);
	munmap(m, 4096);
	return 0;
}
