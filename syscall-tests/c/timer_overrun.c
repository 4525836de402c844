/* timer_getoverrun and si_overrun: a 1 ms periodic POSIX timer whose signal
 * stays blocked for 100 ms queues one signal that carries the missed
 * expiries (taken with sigtimedwait, then through a handler); the next
 * period starts counting afresh; a one-shot timer and a SIGEV_NONE timer
 * have overrun 0; bad and deleted timer ids are EINVAL. Raw syscalls, so
 * that timer ids are the kernel's. */
#include "harness.h"

#define MS 1000000LL

static long t_create(clockid_t clk, int notify, int sig, int *id)
{
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = notify;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = 99;
	return syscall(SYS_timer_create, clk, &ev, id);
}

static long t_set(int id, long long value_ns, long long interval_ns)
{
	struct itimerspec its = {{interval_ns / 1000000000LL, interval_ns % 1000000000LL},
				 {value_ns / 1000000000LL, value_ns % 1000000000LL}};
	return syscall(SYS_timer_settime, id, 0, &its, NULL);
}

static long t_overrun(int id) { return syscall(SYS_timer_getoverrun, id); }

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * MS};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Takes one `sig` (waiting at most 2 s); returns the signal or -1. */
static int take(int sig, siginfo_t *si)
{
	sigset_t one;
	struct timespec to = {2, 0};
	sigemptyset(&one);
	sigaddset(&one, sig);
	memset(si, 0, sizeof(*si));
	return sigtimedwait(&one, si, &to);
}

static volatile int hits, h_overrun, h_code;
static void on_alrm(int s, siginfo_t *si, void *u)
{
	(void)s;
	(void)u;
	if (hits++ == 0) {
		h_overrun = si->si_overrun;
		h_code = si->si_code;
	}
}

int main(void)
{
	int id = -1;
	siginfo_t si;
	sigset_t set;
	long long t0, t1;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	EXPECT_EQ("create_periodic", t_create(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, &id), 0);
	EXPECT_EQ("overrun_before_arming_0", t_overrun(id), 0);
	EXPECT_EQ("arm_1ms_interval", t_set(id, MS, MS), 0);
	sleep_ms(100);
	sigpending(&set);
	CHECK("blocked_expiry_pending", sigismember(&set, SIGUSR1));
	int got = take(SIGUSR1, &si);
	t0 = h_now_ns();
	long first = t_overrun(id);
	EXPECT_EQ("blocked_expiry_taken", got, SIGUSR1);
	EXPECT_EQ("blocked_si_code_timer", si.si_code, SI_TIMER);
	EXPECT_EQ("blocked_si_timerid", si.si_timerid, id);
	EXPECT_EQ("blocked_si_value", si.si_value.sival_int, 99);
	CHECKF("blocked_si_overrun_large", si.si_overrun > 20, "si_overrun %d after 100 ms at 1 ms", si.si_overrun);
	CHECKF("blocked_getoverrun_large", first > 20, "timer_getoverrun %ld", first);
	CHECKF("getoverrun_matches_si_overrun", first == si.si_overrun, "getoverrun %ld, si_overrun %d", first,
	       si.si_overrun);
	/* The next expiry is a fresh signal whose overrun counts only what
	 * was missed since the previous one was taken. */
	got = take(SIGUSR1, &si);
	t1 = h_now_ns();
	long next = t_overrun(id);
	EXPECT_EQ("next_period_taken", got, SIGUSR1);
	/* (Below first unless this thread was off the CPU for as long as the
	 * first wait, as on a loaded machine.) */
	CHECKF("next_period_overrun_small", si.si_overrun >= 0 && si.si_overrun <= (t1 - t0) / MS + 5 &&
	       (si.si_overrun < first || (t1 - t0) / MS >= first), "si_overrun %d after %lld ms, first %ld",
	       si.si_overrun, (t1 - t0) / MS, first);
	EXPECT_EQ("next_period_getoverrun_matches", next, si.si_overrun);
	EXPECT_EQ("timer_delete", syscall(SYS_timer_delete, id), 0);
	EXPECT_ERR("deleted_getoverrun_einval", t_overrun(id), EINVAL);
	EXPECT_ERR("bad_id_getoverrun_einval", t_overrun(12345), EINVAL);
	EXPECT_ERR("negative_id_getoverrun_einval", t_overrun(-1), EINVAL);
	/* Drop an expiry that may have been queued before the delete. */
	struct timespec zero = {0, 0};
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigtimedwait(&set, &si, &zero);

	/* Through a handler: unblocking delivers a single signal carrying the
	 * overrun, not one signal per expiry. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_alrm;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGALRM, &sa, NULL);
	t_create(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGALRM, &id);
	t_set(id, MS, MS);
	sleep_ms(100);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	long long ta = h_now_ns();
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	long long tb = h_now_ns();
	int n = hits;
	/* One signal for the 100 expiries, and one more per period the signal
	 * stayed unblocked (a few, unless this thread lost the CPU there). */
	CHECKF("unblock_delivers_one_signal", n >= 1 && n <= (tb - ta) / MS + 5, "handler ran %d times in %lld ms", n,
	       (tb - ta) / MS);
	EXPECT_EQ("handler_si_code_timer", h_code, SI_TIMER);
	CHECKF("handler_si_overrun_large", h_overrun > 20, "si_overrun %d", h_overrun);
	syscall(SYS_timer_delete, id);
	sigtimedwait(&set, &si, &zero);

	/* One-shot: overrun 0. */
	t_create(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, &id);
	t_set(id, 5 * MS, 0);
	sleep_ms(50);
	EXPECT_EQ("oneshot_taken", take(SIGUSR1, &si), SIGUSR1);
	EXPECT_EQ("oneshot_si_overrun_0", si.si_overrun, 0);
	EXPECT_EQ("oneshot_getoverrun_0", t_overrun(id), 0);
	syscall(SYS_timer_delete, id);

	/* SIGEV_NONE: nothing is delivered, so nothing is ever overrun. */
	EXPECT_EQ("create_sigev_none", t_create(CLOCK_MONOTONIC, SIGEV_NONE, 0, &id), 0);
	t_set(id, MS, MS);
	sleep_ms(50);
	EXPECT_EQ("sigev_none_getoverrun_0", t_overrun(id), 0);
	struct itimerspec cur;
	EXPECT_EQ("sigev_none_gettime", syscall(SYS_timer_gettime, id, &cur), 0);
	CHECK("sigev_none_still_running", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
	      cur.it_value.tv_nsec <= MS);
	EXPECT_EQ("sigev_none_getoverrun_0_after_gettime", t_overrun(id), 0);
	syscall(SYS_timer_delete, id);
	sigpending(&set);
	CHECK("sigev_none_nothing_pending", !sigismember(&set, SIGUSR1));
	return 0;
}
