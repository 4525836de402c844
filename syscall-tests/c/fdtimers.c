/* timerfd and signalfd. */
#include "harness.h"
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

int main(void)
{
	uint64_t n = 0;
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	EXPECT_OK("timerfd_create", t);
	EXPECT_ERR("timerfd_unarmed_eagain", read(t, &n, 8), EAGAIN);
	struct itimerspec its = {{0, 0}, {0, 20000000}}, cur;
	EXPECT_EQ("timerfd_settime", timerfd_settime(t, 0, &its, NULL), 0);
	EXPECT_EQ("timerfd_gettime", timerfd_gettime(t, &cur), 0);
	CHECK("gettime_left_bounded", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000);
	struct pollfd pf = {.fd = t, .events = POLLIN};
	EXPECT_EQ("poll_until_expiry", poll(&pf, 1, 2000), 1);
	EXPECT_EQ("read_expirations", read(t, &n, 8), 8);
	EXPECT_EQ("one_expiration", n, 1);
	struct itimerspec rep = {{0, 10000000}, {0, 10000000}};
	timerfd_settime(t, 0, &rep, NULL);
	usleep(55000);
	read(t, &n, 8);
	CHECKF("interval_counts_expirations", n >= 4 && n <= 60, "n %llu", (unsigned long long)n);
	struct itimerspec off = {{0, 0}, {0, 0}}, old;
	EXPECT_EQ("disarm_returns_old", timerfd_settime(t, 0, &off, &old), 0);
	CHECK("old_interval", old.it_interval.tv_nsec == 10000000);
	int b = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec soon = {{0, 0}, {0, 15000000}};
	timerfd_settime(b, 0, &soon, NULL);
	EXPECT_EQ("blocking_read", read(b, &n, 8), 8);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct itimerspec abs = {{0, 0}, {now.tv_sec, now.tv_nsec}};
	int r = timerfd_create(CLOCK_REALTIME, 0);
	EXPECT_EQ("abstime_past_fires", (timerfd_settime(r, TFD_TIMER_ABSTIME, &abs, NULL), read(r, &n, 8)), 8);
	EXPECT_ERR("create_bad_clock_einval", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
	EXPECT_ERR("create_bad_flags_einval", timerfd_create(CLOCK_MONOTONIC, 0x10), EINVAL);
	struct itimerspec bad = {{0, 0}, {0, 1000000000}};
	EXPECT_ERR("settime_bad_nsec_einval", timerfd_settime(t, 0, &bad, NULL), EINVAL);
	EXPECT_ERR("settime_bad_flags_einval", timerfd_settime(t, 8, &its, NULL), EINVAL);
	EXPECT_ERR("settime_not_timerfd_einval", timerfd_settime(0, 0, &its, NULL), EINVAL);
	EXPECT_ERR("settime_efault", timerfd_settime(t, 0, (void *)1, NULL), EFAULT);
	EXPECT_ERR("short_read_einval", read(t, &n, 4), EINVAL);

	/* signalfd */
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, NULL);
	int s = signalfd(-1, &m, SFD_NONBLOCK);
	EXPECT_OK("signalfd_create", s);
	struct signalfd_siginfo si;
	EXPECT_ERR("signalfd_empty_eagain", read(s, &si, sizeof(si)), EAGAIN);
	kill(getpid(), SIGUSR1);
	pf.fd = s;
	EXPECT_EQ("signalfd_pollable", poll(&pf, 1, 1000), 1);
	EXPECT_EQ("signalfd_read", read(s, &si, sizeof(si)), (long)sizeof(si));
	CHECK("signalfd_fields", si.ssi_signo == SIGUSR1 && si.ssi_pid == (uint32_t)getpid() && si.ssi_code == SI_USER);
	EXPECT_ERR("signal_consumed", read(s, &si, sizeof(si)), EAGAIN);
	EXPECT_ERR("signalfd_short_read_einval", read(s, &si, 8), EINVAL);
	sigaddset(&m, SIGUSR2);
	EXPECT_EQ("signalfd_update_mask", signalfd(s, &m, 0), s);
	EXPECT_ERR("signalfd_bad_size_einval", syscall(SYS_signalfd4, -1, &m, 4, 0), EINVAL);
	EXPECT_ERR("signalfd_not_signalfd_einval", signalfd(t, &m, 0), EINVAL);
	EXPECT_ERR("signalfd_efault", signalfd(-1, (void *)1, 0), EFAULT);

	/* sigqueue's value arrives as ssi_int and ssi_ptr. */
	sigprocmask(SIG_BLOCK, &m, NULL);
	union sigval v = { .sival_ptr = (void *)0x1234567890abcdefUL };
	sigqueue(getpid(), SIGUSR2, v);
	EXPECT_EQ("signalfd_sigqueue_read", read(s, &si, sizeof(si)), (long)sizeof(si));
	CHECKF("signalfd_sigqueue_fields",
	       si.ssi_signo == SIGUSR2 && si.ssi_code == SI_QUEUE && si.ssi_ptr == 0x1234567890abcdefUL &&
		       si.ssi_int == (int32_t)0x90abcdef && si.ssi_pid == (uint32_t)getpid(),
	       "code %d ptr %#llx int %#x", si.ssi_code, (unsigned long long)si.ssi_ptr, (unsigned)si.ssi_int);

	/* SIGCHLD: the child's pid and exit status. */
	sigaddset(&m, SIGCHLD);
	sigprocmask(SIG_BLOCK, &m, NULL);
	signalfd(s, &m, 0);
	pid_t c = h_spawn_exit(7);
	struct pollfd cpf = { .fd = s, .events = POLLIN };
	poll(&cpf, 1, 5000);
	EXPECT_EQ("signalfd_sigchld_read", read(s, &si, sizeof(si)), (long)sizeof(si));
	CHECKF("signalfd_sigchld_fields",
	       si.ssi_signo == SIGCHLD && si.ssi_code == CLD_EXITED && si.ssi_pid == (uint32_t)c && si.ssi_status == 7,
	       "signo %u code %d pid %u status %d", si.ssi_signo, si.ssi_code, si.ssi_pid, si.ssi_status);
	waitpid(c, NULL, 0);
	return 0;
}
