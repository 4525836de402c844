/* exit_group from a thread, exit of a single thread. */
#include "harness.h"
#include <pthread.h>

static void *group_exiter(void *arg)
{
	syscall(SYS_exit_group, (int)(long)arg);
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *thread_exit_only(void *arg)
{
	(void)arg;
	syscall(SYS_exit, 77); /* ends just this thread */
	return NULL;
}

static volatile int main_gone;
static void *outlive_main(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 30 * 1000 * 1000};
	nanosleep(&ts, NULL);
	syscall(SYS_exit_group, 9);
	return NULL;
}

static int status_of(int (*fn)(void))
{
	int st;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static int c_thread_exit_group(void)
{
	pthread_t t;
	pthread_create(&t, NULL, group_exiter, (void *)5L);
	for (;;)
		pause();
	return 1;
}

static int c_exit_group_with_sleepers(void)
{
	pthread_t t;
	for (int i = 0; i < 3; i++)
		pthread_create(&t, NULL, sleeper, NULL);
	syscall(SYS_exit_group, 6);
	return 1;
}

static int c_thread_exit_only(void)
{
	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, thread_exit_only, NULL);
	if (pthread_join(t, &ret) != 0)
		return 2;
	return 11;
}

static int c_main_thread_exits_first(void)
{
	pthread_t t;
	pthread_create(&t, NULL, outlive_main, NULL);
	syscall(SYS_exit, 1); /* main thread only; the process lives on */
	return 2;
}

static int c_status_masked(void)
{
	syscall(SYS_exit_group, 0x1ff);
	return 1;
}

static int c_blocked_in_read(void)
{
	int p[2];
	pipe(p);
	pthread_t t;
	pthread_create(&t, NULL, group_exiter, (void *)12L);
	char c;
	read(p[0], &c, 1); /* never returns */
	return 1;
}

int main(void)
{
	int st;
	long long t0 = h_now_ns();
	st = status_of(c_thread_exit_group);
	CHECKF("exit_group_from_thread", WIFEXITED(st) && WEXITSTATUS(st) == 5, "status %#x", st);
	CHECKF("exit_group_prompt", h_now_ns() - t0 < 1000000000LL, "took %lld ns", h_now_ns() - t0);
	st = status_of(c_exit_group_with_sleepers);
	CHECKF("exit_group_kills_sleeping_threads", WIFEXITED(st) && WEXITSTATUS(st) == 6, "status %#x", st);
	st = status_of(c_thread_exit_only);
	CHECKF("exit_ends_only_the_thread", WIFEXITED(st) && WEXITSTATUS(st) == 11, "status %#x", st);
	st = status_of(c_main_thread_exits_first);
	CHECKF("process_outlives_main_thread", WIFEXITED(st) && WEXITSTATUS(st) == 9, "status %#x", st);
	st = status_of(c_status_masked);
	CHECKF("exit_group_status_masked", WIFEXITED(st) && WEXITSTATUS(st) == 0xff, "status %#x", st);
	st = status_of(c_blocked_in_read);
	CHECKF("exit_group_interrupts_blocked_read", WIFEXITED(st) && WEXITSTATUS(st) == 12, "status %#x", st);
	return 0;
}
