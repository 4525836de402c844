/* POSIX timers: timer_create with SIGEV_SIGNAL and SIGEV_NONE, settime,
 * gettime, delete, the siginfo of an expiry, and bad input. */
#include "harness.h"
#include <time.h>

static volatile int hits, code, val;
static void on_timer(int s, siginfo_t *si, void *u)
{
	(void)s;
	(void)u;
	code = si->si_code;
	val = si->si_value.sival_int;
	hits++;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_timer;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR2, &sa, NULL);
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR2;
	ev.sigev_value.sival_int = 77;
	timer_t tid;
	EXPECT_EQ("timer_create", timer_create(CLOCK_MONOTONIC, &ev, &tid), 0);
	struct itimerspec its = {{0, 0}, {0, 30000000}}, cur;
	EXPECT_EQ("timer_settime", timer_settime(tid, 0, &its, NULL), 0);
	EXPECT_EQ("timer_gettime", timer_gettime(tid, &cur), 0);
	CHECK("gettime_left", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 30000000);
	long long t0 = h_now_ns();
	while (!hits && h_now_ns() - t0 < 2000000000LL)
		usleep(1000);
	EXPECT_EQ("expiry_delivered", hits, 1);
	EXPECT_EQ("si_code_si_timer", code, SI_TIMER);
	EXPECT_EQ("sigev_value_delivered", val, 77);
	EXPECT_EQ("getoverrun", timer_getoverrun(tid), 0);
	struct itimerspec rep = {{0, 10000000}, {0, 10000000}};
	hits = 0;
	timer_settime(tid, 0, &rep, NULL);
	t0 = h_now_ns();
	while (hits < 3 && h_now_ns() - t0 < 2000000000LL)
		usleep(1000);
	CHECKF("interval_repeats", hits >= 3, "hits %d", hits);
	struct itimerspec off = {{0, 0}, {0, 0}}, old;
	EXPECT_EQ("disarm", timer_settime(tid, 0, &off, &old), 0);
	CHECK("old_interval", old.it_interval.tv_nsec == 10000000);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct itimerspec abs = {{0, 0}, {now.tv_sec, now.tv_nsec}};
	hits = 0;
	EXPECT_EQ("abstime_past", timer_settime(tid, TIMER_ABSTIME, &abs, NULL), 0);
	t0 = h_now_ns();
	while (!hits && h_now_ns() - t0 < 2000000000LL)
		usleep(1000);
	EXPECT_EQ("abstime_fires", hits, 1);
	EXPECT_EQ("timer_delete", timer_delete(tid), 0);
	EXPECT_ERR("deleted_settime_einval", timer_settime(tid, 0, &its, NULL), EINVAL);

	ev.sigev_notify = SIGEV_NONE;
	timer_t quiet;
	EXPECT_EQ("create_sigev_none", timer_create(CLOCK_REALTIME, &ev, &quiet), 0);
	hits = 0;
	timer_settime(quiet, 0, &its, NULL);
	usleep(60000);
	EXPECT_EQ("sigev_none_no_signal", hits, 0);
	timer_delete(quiet);

	EXPECT_ERR("create_bad_clock_einval", timer_create(99, &ev, &quiet), EINVAL);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 99;
	EXPECT_ERR("create_bad_signal_einval", timer_create(CLOCK_MONOTONIC, &ev, &quiet), EINVAL);
	ev.sigev_notify = 99;
	EXPECT_ERR("create_bad_notify_einval", timer_create(CLOCK_MONOTONIC, &ev, &quiet), EINVAL);
	EXPECT_ERR("create_efault", syscall(SYS_timer_create, CLOCK_MONOTONIC, (void *)1, &quiet), EFAULT);
	EXPECT_ERR("gettime_bad_id_einval", syscall(SYS_timer_gettime, 12345, &cur), EINVAL);
	EXPECT_ERR("delete_bad_id_einval", syscall(SYS_timer_delete, 12345), EINVAL);
	return 0;
}
