/* nanosleep/clock_nanosleep. */
#include "harness.h"
#include <pthread.h>

#define MS (1000 * 1000LL)

static void on_alarm(int s) { (void)s; }

static pid_t main_tid;
static void *poker(void *a)
{
	(void)a;
	usleep(30000);
	syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
	return NULL;
}

int main(void)
{
	struct timespec req = {0, 20 * MS}, rem;
	long long t0 = h_now_ns();
	EXPECT_EQ("nanosleep_ok", syscall(SYS_nanosleep, &req, NULL), 0);
	long long el = h_now_ns() - t0;
	CHECKF("nanosleep_sleeps_at_least", el >= 20 * MS, "slept %lld ns", el);
	CHECKF("nanosleep_not_too_long", el < 1000 * MS, "slept %lld ns", el);
	struct timespec zero = {0, 0};
	EXPECT_EQ("nanosleep_zero", syscall(SYS_nanosleep, &zero, NULL), 0);
	struct timespec bad = {0, 1000000000L};
	EXPECT_ERR("nanosleep_nsec_too_big_einval", syscall(SYS_nanosleep, &bad, NULL), EINVAL);
	bad.tv_nsec = -1;
	EXPECT_ERR("nanosleep_negative_nsec_einval", syscall(SYS_nanosleep, &bad, NULL), EINVAL);
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	EXPECT_ERR("nanosleep_negative_sec_einval", syscall(SYS_nanosleep, &bad, NULL), EINVAL);
	EXPECT_ERR("nanosleep_efault", syscall(SYS_nanosleep, (void *)1, NULL), EFAULT);

	t0 = h_now_ns();
	EXPECT_EQ("clock_nanosleep_monotonic_relative",
		  syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL), 0);
	el = h_now_ns() - t0;
	CHECKF("clock_nanosleep_relative_duration", el >= 20 * MS, "slept %lld ns", el);
	t0 = h_now_ns();
	EXPECT_EQ("clock_nanosleep_realtime_relative",
		  syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &req, NULL), 0);
	CHECK("clock_nanosleep_realtime_duration", h_now_ns() - t0 >= 20 * MS);
	struct timespec dl, now;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 20 * MS;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	EXPECT_EQ("clock_nanosleep_abstime", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	CHECK("clock_nanosleep_abstime_reached",
	      now.tv_sec > dl.tv_sec || (now.tv_sec == dl.tv_sec && now.tv_nsec >= dl.tv_nsec));
	struct timespec past = {0, 1};
	t0 = h_now_ns();
	EXPECT_EQ("clock_nanosleep_abstime_past", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL), 0);
	CHECK("clock_nanosleep_abstime_past_immediate", h_now_ns() - t0 < 500 * MS);
	EXPECT_ERR("clock_nanosleep_bad_clock_einval", syscall(SYS_clock_nanosleep, 100, 0, &req, NULL), EINVAL);
	EXPECT_ERR("clock_nanosleep_thread_cputime_eopnotsupp",
		   syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL), EOPNOTSUPP);
	bad.tv_sec = 0;
	bad.tv_nsec = 2000000000L;
	EXPECT_ERR("clock_nanosleep_bad_nsec_einval", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
	EXPECT_ERR("clock_nanosleep_efault", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (void *)1, NULL), EFAULT);

	/* interrupted by a handled signal: EINTR and the remaining time */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGUSR1, &sa, NULL);
	main_tid = (pid_t)syscall(SYS_gettid);
	pthread_t t;
	pthread_create(&t, NULL, poker, NULL);
	struct timespec longreq = {5, 0};
	memset(&rem, 0, sizeof(rem));
	t0 = h_now_ns();
	EXPECT_ERR("nanosleep_interrupted_eintr", syscall(SYS_nanosleep, &longreq, &rem), EINTR);
	el = h_now_ns() - t0;
	CHECKF("nanosleep_interrupted_early", el < 2000 * MS, "slept %lld ns", el);
	CHECKF("nanosleep_rem_reported", rem.tv_sec >= 2 && rem.tv_sec <= 5, "rem %ld.%09ld",
	       (long)rem.tv_sec, rem.tv_nsec);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, poker, NULL);
	EXPECT_ERR("clock_nanosleep_interrupted_eintr",
		   syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &longreq, &rem), EINTR);
	pthread_join(t, NULL);
	return 0;
}
