/* Threads via pthreads (clone with CLONE_VM|CLONE_THREAD...). */
#include "harness.h"
#include <pthread.h>

#define NT 4

static volatile int counter_atomic;
static int counter_mutex;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static __thread int tls_value;
static pid_t tids[NT], pids[NT];
static int tls_ok[NT];
static int shared_array[NT];

static void *worker(void *arg)
{
	long i = (long)arg;
	tids[i] = (pid_t)syscall(SYS_gettid);
	pids[i] = getpid();
	tls_value = (int)i * 10;
	for (int k = 0; k < 2000; k++) {
		__atomic_fetch_add(&counter_atomic, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&mu);
		counter_mutex++;
		pthread_mutex_unlock(&mu);
	}
	shared_array[i] = (int)i + 100;
	sched_yield();
	tls_ok[i] = tls_value == (int)i * 10;
	return (void *)(i * 7);
}

static void *exiter(void *arg)
{
	(void)arg;
	pthread_exit((void *)123);
	return NULL;
}

static void *forker(void *arg)
{
	(void)arg;
	int st = 0;
	pid_t pid = fork();
	if (pid == 0)
		_exit(getpid() == syscall(SYS_gettid) ? 5 : 6);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return (void *)-1;
	return (void *)(long)WEXITSTATUS(st);
}

int main(void)
{
	pthread_t th[NT];
	int created = 1;
	tls_value = -1;
	for (long i = 0; i < NT; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0)
			created = 0;
	CHECK("create_4_threads", created);
	int join_ok = 1;
	for (long i = 0; i < NT; i++) {
		void *ret;
		if (pthread_join(th[i], &ret) != 0 || (long)ret != i * 7)
			join_ok = 0;
	}
	CHECK("join_returns_values", join_ok);
	EXPECT_EQ("atomic_counter", counter_atomic, NT * 2000);
	EXPECT_EQ("mutex_counter", counter_mutex, NT * 2000);
	int seen_all = 1;
	for (int i = 0; i < NT; i++)
		if (shared_array[i] != i + 100)
			seen_all = 0;
	CHECK("shared_memory_writes_visible", seen_all);
	pid_t main_tid = (pid_t)syscall(SYS_gettid);
	EXPECT_EQ("main_tid_equals_pid", main_tid, getpid());
	int distinct = 1, samepid = 1;
	for (int i = 0; i < NT; i++) {
		if (tids[i] == main_tid || tids[i] <= 0)
			distinct = 0;
		for (int j = 0; j < i; j++)
			if (tids[i] == tids[j])
				distinct = 0;
		if (pids[i] != getpid())
			samepid = 0;
	}
	CHECK("gettid_distinct", distinct);
	CHECK("getpid_same_in_threads", samepid);
	CHECK("tls_per_thread", tls_ok[0] && tls_ok[1] && tls_ok[2] && tls_ok[3]);
	EXPECT_EQ("tls_main_unchanged", tls_value, -1);

	pthread_t t;
	void *ret = NULL;
	pthread_create(&t, NULL, exiter, NULL);
	pthread_join(t, &ret);
	EXPECT_EQ("pthread_exit_value", (long)ret, 123);

	/* the kernel lists threads under /proc/self/task while they live */
	EXPECT_EQ("tgkill_self_thread_signal_zero", syscall(SYS_tgkill, getpid(), main_tid, 0), 0);
	EXPECT_ERR("tgkill_exited_thread_esrch", syscall(SYS_tgkill, getpid(), tids[0], 0), ESRCH);

	/* many short-lived threads */
	int many_ok = 1;
	for (int round = 0; round < 8; round++) {
		pthread_t m[8];
		for (long i = 0; i < 8; i++)
			if (pthread_create(&m[i], NULL, exiter, NULL) != 0)
				many_ok = 0;
		for (int i = 0; i < 8; i++)
			pthread_join(m[i], NULL);
	}
	CHECK("many_short_threads", many_ok);

	/* a thread may fork; the child is a new process */
	pthread_create(&t, NULL, forker, NULL);
	pthread_join(t, &ret);
	EXPECT_EQ("fork_from_thread", (long)ret, 5);
	return 0;
}
