/* futex wait/wake. */
#include "harness.h"
#include <linux/futex.h>
#include <pthread.h>

static long futex(void *uaddr, int op, int val, const struct timespec *ts, void *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static int word = 0;
static volatile int waiter_result = -100, waiter_errno;

static void *waiter(void *arg)
{
	int op = (int)(long)arg;
	long r = futex(&word, op, 0, NULL, NULL, 0);
	waiter_errno = errno;
	waiter_result = (int)r;
	return NULL;
}

static int wake_until_woken(int *addr, int op)
{
	for (int i = 0; i < 2000; i++) {
		long n = futex(addr, op, 1, NULL, NULL, 0);
		if (n != 0)
			return (int)n;
		usleep(500);
	}
	return 0;
}

int main(void)
{
	int v = 5;
	struct timespec ts = {0, 10 * 1000 * 1000};

	EXPECT_ERR("wait_value_mismatch_eagain", futex(&v, FUTEX_WAIT, 6, NULL, NULL, 0), EAGAIN);
	EXPECT_ERR("wait_private_mismatch_eagain", futex(&v, FUTEX_WAIT_PRIVATE, 6, NULL, NULL, 0), EAGAIN);
	long long t0 = h_now_ns();
	EXPECT_ERR("wait_timeout_etimedout", futex(&v, FUTEX_WAIT, 5, &ts, NULL, 0), ETIMEDOUT);
	long long el = h_now_ns() - t0;
	CHECKF("wait_timeout_elapsed", el >= 10 * 1000 * 1000, "slept %lld ns", el);
	EXPECT_EQ("wake_no_waiters_zero", futex(&v, FUTEX_WAKE, 1, NULL, NULL, 0), 0);
	EXPECT_ERR("wait_efault", futex(h_unmapped(), FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
	EXPECT_ERR("wait_unaligned_einval", futex((char *)&v + 1, FUTEX_WAIT, 5, NULL, NULL, 0), EINVAL);
	EXPECT_ERR("unknown_op_enosys", futex(&v, 99, 0, NULL, NULL, 0), ENOSYS);
	struct timespec badts = {0, 1000000000};
	EXPECT_ERR("bad_timeout_nsec_einval", futex(&v, FUTEX_WAIT, 5, &badts, NULL, 0), EINVAL);
	struct timespec negts = {-1, 0};
	EXPECT_ERR("negative_timeout_einval", futex(&v, FUTEX_WAIT, 5, &negts, NULL, 0), EINVAL);
	EXPECT_ERR("timeout_efault", futex(&v, FUTEX_WAIT, 5, (void *)1, NULL, 0), EFAULT);
	EXPECT_ERR("wait_bitset_zero_einval", futex(&v, FUTEX_WAIT_BITSET, 5, NULL, NULL, 0), EINVAL);
	struct timespec past;
	clock_gettime(CLOCK_MONOTONIC, &past);
	EXPECT_ERR("wait_bitset_absolute_past_etimedout",
		   futex(&v, FUTEX_WAIT_BITSET, 5, &past, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
	clock_gettime(CLOCK_REALTIME, &past);
	EXPECT_ERR("wait_bitset_realtime_past_etimedout",
		   futex(&v, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 5, &past, NULL, FUTEX_BITSET_MATCH_ANY),
		   ETIMEDOUT);
	int other = 0;
	EXPECT_ERR("cmp_requeue_mismatch_eagain",
		   futex(&v, FUTEX_CMP_REQUEUE, 1, (void *)1L, &other, 6), EAGAIN);
	EXPECT_EQ("cmp_requeue_match_no_waiters",
		  futex(&v, FUTEX_CMP_REQUEUE, 1, (void *)1L, &other, 5), 0);

	/* thread waits, main wakes */
	pthread_t t;
	word = 0;
	pthread_create(&t, NULL, waiter, (void *)(long)FUTEX_WAIT);
	EXPECT_EQ("wake_wakes_one_waiter", wake_until_woken(&word, FUTEX_WAKE), 1);
	pthread_join(t, NULL);
	EXPECT_EQ("woken_waiter_returns_zero", waiter_result, 0);

	word = 0;
	waiter_result = -100;
	pthread_create(&t, NULL, waiter, (void *)(long)FUTEX_WAIT_PRIVATE);
	EXPECT_EQ("private_wake_wakes_waiter", wake_until_woken(&word, FUTEX_WAKE_PRIVATE), 1);
	pthread_join(t, NULL);
	EXPECT_EQ("private_woken_waiter_returns_zero", waiter_result, 0);

	/* requeue a waiter to another futex, then wake it there */
	word = 0;
	int target = 0;
	waiter_result = -100;
	pthread_create(&t, NULL, waiter, (void *)(long)FUTEX_WAIT_PRIVATE);
	long moved = 0;
	for (int i = 0; i < 2000 && moved == 0; i++) {
		moved = futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)1L, &target, 0);
		if (moved == 0)
			usleep(500);
	}
	EXPECT_EQ("requeue_moves_waiter", moved, 1);
	EXPECT_EQ("wake_requeued_waiter", wake_until_woken(&target, FUTEX_WAKE_PRIVATE), 1);
	pthread_join(t, NULL);

	/* shared futex across fork in a MAP_SHARED page */
	int *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*sh = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(20000);
		__atomic_store_n(sh, 1, __ATOMIC_SEQ_CST);
		futex(sh, FUTEX_WAKE, 1, NULL, NULL, 0);
		_exit(0);
	}
	int ok = 1;
	while (__atomic_load_n(sh, __ATOMIC_SEQ_CST) == 0) {
		struct timespec lim = {2, 0};
		long r = futex(sh, FUTEX_WAIT, 0, &lim, NULL, 0);
		if (r == -1 && errno == ETIMEDOUT) {
			ok = 0;
			break;
		}
	}
	CHECK("shared_futex_across_fork", ok && *sh == 1);
	waitpid(pid, NULL, 0);
	munmap(sh, 4096);
	return 0;
}
