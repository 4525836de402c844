/* CPU-time timers: setitimer/getitimer ITIMER_VIRTUAL and ITIMER_PROF,
 * POSIX timers on CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and the
 * clocks of clock_getcpuclockid/pthread_getcpuclockid, clock_nanosleep on
 * CPU clocks, and RLIMIT_CPU (SIGXCPU at the soft limit, SIGKILL at the
 * hard one). Every busy loop is bounded in wall time. */
#define _GNU_SOURCE
#include "harness.h"
#include <pthread.h>
#include <sys/time.h>

#define MS 1000000LL
#define SIG_PTIMER SIGUSR1   /* process CPU timers */
#define SIG_TTIMER SIGUSR2   /* thread CPU timers */
#define SIG_OTIMER SIGRTMIN  /* a timer on another thread's clock */
#define SIG_WAKE SIGWINCH    /* interrupts a stuck clock_nanosleep */

static volatile sig_atomic_t hits[65], codes[65], vals[65];

static void on_sig(int s, siginfo_t *si, void *u)
{
	(void)u;
	hits[s]++;
	codes[s] = si->si_code;
	vals[s] = si->si_value.sival_int;
}

static void on_wake(int s) { (void)s; }

static void spin(long n)
{
	volatile unsigned long x = 0;
	for (long i = 0; i < n; i++)
		x += i;
}

/* Burns user CPU until hits[sig] >= want or max_ms of wall time pass;
 * returns whether the signal came. */
static int burn_until(int sig, int want, long long max_ms)
{
	long long t0 = h_now_ns();
	while (hits[sig] < want && h_now_ns() - t0 < max_ms * MS)
		spin(20000);
	return hits[sig] >= want;
}

static long long cpu_ns(clockid_t c)
{
	struct timespec ts;
	if (clock_gettime(c, &ts) < 0)
		return -1;
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Burns ns of this thread's CPU time (bounded to 3 s of wall time). */
static void burn_cpu(long long ns)
{
	long long c0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID), t0 = h_now_ns();
	while (cpu_ns(CLOCK_THREAD_CPUTIME_ID) - c0 < ns && h_now_ns() - t0 < 3000 * MS)
		spin(100000);
}

static long tv_us(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }
static long long ts_ns(struct timespec ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }

static void disarm_itimers(void)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_VIRTUAL, &off, NULL);
	setitimer(ITIMER_PROF, &off, NULL);
}

static timer_t make_timer(clockid_t c, int sig, int val, int *ok)
{
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = val;
	timer_t t = 0;
	*ok = timer_create(c, &ev, &t) == 0;
	return t;
}

static int arm(timer_t t, int flags, long long ns)
{
	struct itimerspec its = { { 0, 0 }, { ns / 1000000000LL, ns % 1000000000LL } };
	return timer_settime(t, flags, &its, NULL);
}

/* ---- a thread that sleeps on a pipe, then burns CPU until signalled ---- */
static int gate[2];
static void *sleeper(void *arg)
{
	(void)arg;
	char b;
	while (read(gate[0], &b, 1) < 0 && errno == EINTR)
		;
	burn_until(SIG_OTIMER, 1, 3000);
	return NULL;
}

/* ---- a thread that burns CPU until told to stop ---- */
static volatile int stop_burner;
static pthread_t main_thread;
static void *burner(void *arg)
{
	(void)arg;
	long long t0 = h_now_ns();
	while (!stop_burner && h_now_ns() - t0 < 3000 * MS)
		spin(20000);
	/* never leave the main thread sleeping on a CPU clock nobody advances */
	while (!stop_burner) {
		pthread_kill(main_thread, SIG_WAKE);
		usleep(10000);
	}
	return NULL;
}

/* ---- RLIMIT_CPU children ---- */
static volatile sig_atomic_t xcpu;
static volatile sig_atomic_t xcpu_pipe = -1;
static void on_xcpu(int s)
{
	(void)s;
	xcpu++;
	if (xcpu_pipe >= 0 && write(xcpu_pipe, "x", 1) < 0)
		xcpu = -100;
}

/* The children burn until a signal ends them; alarm(25) bounds them if
 * none comes (the parent's alarm is not inherited). Their loops make no
 * syscalls: see getitimer_virtual_decreases. */
static void set_cpu_limit(void)
{
	struct rlimit core = { 0, 0 }, cpu = { 1, 2 };
	alarm(25);
	setrlimit(RLIMIT_CORE, &core);
	setrlimit(RLIMIT_CPU, &cpu);
}

/* Catches SIGXCPU; exit 0 if it came and the soft limit was raised by one
 * second, 2 if the soft limit is wrong. */
static int child_xcpu_caught(void)
{
	signal(SIGXCPU, on_xcpu);
	set_cpu_limit();
	while (!xcpu)
		spin(20000);
	struct rlimit rl;
	getrlimit(RLIMIT_CPU, &rl);
	return rl.rlim_cur == 2 && rl.rlim_max == 2 ? 0 : 2;
}

static int child_xcpu_default(void)
{
	set_cpu_limit();
	for (;;)
		spin(20000);
	return 1;
}

static int child_xcpu_hard(int fd)
{
	xcpu_pipe = fd;
	signal(SIGXCPU, on_xcpu);
	set_cpu_limit();
	for (;;)
		spin(20000);
	return 1;
}

static pid_t fork_fn(int (*fn)(void))
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(fn());
	return c;
}

static int wait_status(pid_t c)
{
	int st;
	if (c < 0 || waitpid(c, &st, 0) != c)
		return -1;
	return st;
}

int main(void)
{
	alarm(30);
	main_thread = pthread_self();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGVTALRM, SIGPROF, SIG_PTIMER, SIG_TTIMER, SIG_OTIMER };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	struct sigaction wa;
	memset(&wa, 0, sizeof(wa));
	wa.sa_handler = on_wake; /* no SA_RESTART */
	sigaction(SIG_WAKE, &wa, NULL);

	/* Start the RLIMIT_CPU children first: they run in parallel with the
	 * rest and are reaped at the end. */
	int xp[2];
	if (pipe(xp) < 0)
		xp[0] = xp[1] = -1;
	pid_t xc_caught = fork_fn(child_xcpu_caught);
	pid_t xc_default = fork_fn(child_xcpu_default);
	fflush(stdout);
	pid_t xc_hard = fork();
	if (xc_hard == 0) {
		close(xp[0]);
		_exit(child_xcpu_hard(xp[1]));
	}
	close(xp[1]);

	struct itimerval it, cur, old;

	/* ---- ITIMER_VIRTUAL ---- */
	it = (struct itimerval){ { 0, 0 }, { 0, 50000 } };
	EXPECT_EQ("itimer_virtual_set", setitimer(ITIMER_VIRTUAL, &it, NULL), 0);
	EXPECT_EQ("itimer_virtual_get", getitimer(ITIMER_VIRTUAL, &cur), 0);
	/* Linux adds one scheduler tick (1-10 ms) to a CPU itimer's value */
	CHECKF("itimer_virtual_get_bounded", tv_us(cur.it_value) > 0 && tv_us(cur.it_value) <= 60000,
	       "left %ld us", tv_us(cur.it_value));
	CHECKF("itimer_virtual_fires", burn_until(SIGVTALRM, 1, 3000), "no SIGVTALRM after 3 s");
	EXPECT_EQ("itimer_virtual_si_code_kernel", codes[SIGVTALRM], SI_KERNEL);
	getitimer(ITIMER_VIRTUAL, &cur);
	EXPECT_EQ("itimer_virtual_oneshot_disarmed", tv_us(cur.it_value), 0);

	/* the remaining time decreases as CPU is used */
	it = (struct itimerval){ { 0, 250000 }, { 10, 0 } };
	setitimer(ITIMER_VIRTUAL, &it, NULL);
	struct itimerval a, b;
	getitimer(ITIMER_VIRTUAL, &a);
	/* User time is sampled per tick. Burn without syscalls: a CPU-clock
	 * read can end the time slice between ticks, so that no tick is ever
	 * charged to this process under load. */
	long long t0 = h_now_ns();
	do {
		spin(200000);
		getitimer(ITIMER_VIRTUAL, &b);
	} while (tv_us(b.it_value) >= tv_us(a.it_value) && h_now_ns() - t0 < 5000 * MS);
	CHECKF("getitimer_virtual_decreases",
	       tv_us(b.it_value) < tv_us(a.it_value) && tv_us(b.it_value) > 0 && tv_us(a.it_value) <= 10010000,
	       "before %ld us after %ld us", tv_us(a.it_value), tv_us(b.it_value));
	EXPECT_EQ("getitimer_virtual_interval", tv_us(b.it_interval), 250000);

	/* sleeping does not consume virtual time */
	it = (struct itimerval){ { 0, 0 }, { 0, 20000 } };
	hits[SIGVTALRM] = 0;
	setitimer(ITIMER_VIRTUAL, &it, NULL);
	usleep(100000);
	EXPECT_EQ("itimer_virtual_not_while_sleeping", hits[SIGVTALRM], 0);

	/* a child does not inherit the itimer */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		struct itimerval v;
		getitimer(ITIMER_VIRTUAL, &v);
		_exit(tv_us(v.it_value) == 0 && tv_us(v.it_interval) == 0 ? 0 : 1);
	}
	int st = wait_status(c);
	CHECKF("itimer_not_inherited_by_fork", st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);

	EXPECT_EQ("setitimer_returns_old", setitimer(ITIMER_VIRTUAL, &(struct itimerval){ { 0, 0 }, { 0, 0 } }, &old), 0);
	CHECKF("old_value_reported", tv_us(old.it_value) > 0 && tv_us(old.it_value) <= 30000 && tv_us(old.it_interval) == 0,
	       "old value %ld us interval %ld us", tv_us(old.it_value), tv_us(old.it_interval));

	/* ---- ITIMER_PROF ---- */
	it = (struct itimerval){ { 0, 0 }, { 0, 50000 } };
	hits[SIGPROF] = 0;
	EXPECT_EQ("itimer_prof_set", setitimer(ITIMER_PROF, &it, NULL), 0);
	CHECKF("itimer_prof_fires", burn_until(SIGPROF, 1, 3000), "no SIGPROF after 3 s");

	/* periodic */
	it = (struct itimerval){ { 0, 20000 }, { 0, 20000 } };
	hits[SIGPROF] = 0;
	setitimer(ITIMER_PROF, &it, NULL);
	CHECKF("itimer_prof_periodic", burn_until(SIGPROF, 3, 3000), "%d SIGPROF", (int)hits[SIGPROF]);
	EXPECT_EQ("itimer_prof_periodic_still_armed", (getitimer(ITIMER_PROF, &cur), tv_us(cur.it_interval)), 20000);
	disarm_itimers();

	/* ITIMER_PROF counts system time, ITIMER_VIRTUAL does not */
	it = (struct itimerval){ { 0, 0 }, { 0, 50000 } };
	struct itimerval vlong = { { 0, 0 }, { 5, 0 } };
	hits[SIGPROF] = hits[SIGVTALRM] = 0;
	setitimer(ITIMER_VIRTUAL, &vlong, NULL);
	setitimer(ITIMER_PROF, &it, NULL);
	int zfd = open("/dev/zero", O_RDONLY);
	static char zbuf[1 << 16];
	t0 = h_now_ns();
	while (!hits[SIGPROF] && h_now_ns() - t0 < 3000 * MS)
		if (read(zfd, zbuf, sizeof(zbuf)) < 0 && errno != EINTR)
			break;
	close(zfd);
	CHECKF("itimer_prof_counts_system_time", hits[SIGPROF] == 1, "%d SIGPROF", (int)hits[SIGPROF]);
	EXPECT_EQ("itimer_virtual_ignores_system_time", hits[SIGVTALRM], 0);
	disarm_itimers();

	/* ---- bad input ---- */
	EXPECT_ERR("setitimer_bad_which_einval", syscall(SYS_setitimer, 5, &it, NULL), EINVAL);
	EXPECT_ERR("getitimer_bad_which_einval", syscall(SYS_getitimer, 5, &cur), EINVAL);
	struct itimerval bad = { { 0, 0 }, { 0, 1000000 } };
	EXPECT_ERR("setitimer_virtual_usec_einval", setitimer(ITIMER_VIRTUAL, &bad, NULL), EINVAL);
	bad = (struct itimerval){ { 0, -1 }, { 1, 0 } };
	EXPECT_ERR("setitimer_prof_interval_usec_einval", setitimer(ITIMER_PROF, &bad, NULL), EINVAL);
	EXPECT_ERR("getitimer_prof_efault", syscall(SYS_getitimer, ITIMER_PROF, h_unmapped()), EFAULT);
	EXPECT_ERR("setitimer_virtual_efault", syscall(SYS_setitimer, ITIMER_VIRTUAL, h_unmapped(), NULL), EFAULT);

	/* ---- POSIX timers on CPU clocks ---- */
	int ok;
	timer_t pt = make_timer(CLOCK_PROCESS_CPUTIME_ID, SIG_PTIMER, 11, &ok);
	CHECK("timer_create_process_cputime", ok);
	hits[SIG_PTIMER] = 0;
	EXPECT_EQ("timer_settime_process_cputime", arm(pt, 0, 50 * MS), 0);
	CHECKF("process_cputime_timer_fires", burn_until(SIG_PTIMER, 1, 3000), "no signal after 3 s");
	CHECKF("process_cputime_timer_siginfo", codes[SIG_PTIMER] == SI_TIMER && vals[SIG_PTIMER] == 11, "code %d value %d",
	       (int)codes[SIG_PTIMER], (int)vals[SIG_PTIMER]);

	/* timer_gettime reports the CPU time left, and it decreases */
	struct itimerspec g1, g2;
	arm(pt, 0, 1000 * MS);
	EXPECT_EQ("timer_gettime_cputime", timer_gettime(pt, &g1), 0);
	burn_cpu(30 * MS);
	timer_gettime(pt, &g2);
	CHECKF("timer_gettime_cputime_decreases",
	       ts_ns(g1.it_value) > 0 && ts_ns(g1.it_value) <= 1000 * MS && ts_ns(g2.it_value) <= ts_ns(g1.it_value) - 10 * MS,
	       "before %lld after %lld", ts_ns(g1.it_value), ts_ns(g2.it_value));

	/* an absolute expiry on the process CPU clock */
	hits[SIG_PTIMER] = 0;
	EXPECT_EQ("timer_settime_cputime_abstime", arm(pt, TIMER_ABSTIME, cpu_ns(CLOCK_PROCESS_CPUTIME_ID) + 30 * MS), 0);
	CHECKF("cputime_abstime_fires", burn_until(SIG_PTIMER, 1, 3000), "no signal after 3 s");
	timer_delete(pt);

	timer_t tt = make_timer(CLOCK_THREAD_CPUTIME_ID, SIG_TTIMER, 22, &ok);
	CHECK("timer_create_thread_cputime", ok);
	hits[SIG_TTIMER] = 0;
	arm(tt, 0, 50 * MS);
	CHECKF("thread_cputime_timer_fires", burn_until(SIG_TTIMER, 1, 3000), "no signal after 3 s");
	EXPECT_EQ("thread_cputime_timer_value", vals[SIG_TTIMER], 22);
	timer_delete(tt);

	clockid_t pclk;
	EXPECT_EQ("clock_getcpuclockid_self", clock_getcpuclockid(getpid(), &pclk), 0);
	timer_t ct = make_timer(pclk, SIG_PTIMER, 33, &ok);
	CHECK("timer_create_cpuclockid", ok);
	hits[SIG_PTIMER] = 0;
	arm(ct, 0, 50 * MS);
	CHECKF("cpuclockid_timer_fires", burn_until(SIG_PTIMER, 1, 3000) && vals[SIG_PTIMER] == 33, "hits %d value %d",
	       (int)hits[SIG_PTIMER], (int)vals[SIG_PTIMER]);
	timer_delete(ct);

	/* a timer on a sleeping thread's clock waits for that thread to run */
	pthread_t th;
	clockid_t tclk;
	if (pipe(gate) < 0)
		gate[0] = gate[1] = -1;
	pthread_create(&th, NULL, sleeper, NULL);
	EXPECT_EQ("pthread_getcpuclockid", pthread_getcpuclockid(th, &tclk), 0);
	timer_t ot = make_timer(tclk, SIG_OTIMER, 44, &ok);
	CHECK("timer_create_other_thread_clock", ok);
	hits[SIG_OTIMER] = 0;
	arm(ot, 0, 20 * MS);
	burn_cpu(150 * MS);
	EXPECT_EQ("sleeping_thread_timer_silent", hits[SIG_OTIMER], 0);
	if (write(gate[1], "x", 1) != 1)
		FAIL("gate", "write");
	pthread_join(th, NULL);
	EXPECT_EQ("sleeping_thread_timer_fires_once_it_runs", hits[SIG_OTIMER], 1);
	timer_delete(ot);
	close(gate[0]);
	close(gate[1]);

	/* ---- clock_nanosleep on CPU clocks ---- */
	struct timespec req = { 0, 1000000 };
	EXPECT_ERR("clock_nanosleep_thread_cputime_eopnotsupp",
		   syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL), EOPNOTSUPP);
	clockid_t self_tclk;
	pthread_getcpuclockid(pthread_self(), &self_tclk);
	EXPECT_ERR("clock_nanosleep_own_thread_clock_einval", syscall(SYS_clock_nanosleep, self_tclk, 0, &req, NULL), EINVAL);

	pthread_t bt;
	stop_burner = 0;
	pthread_create(&bt, NULL, burner, NULL);
	req = (struct timespec){ 0, 50 * MS };
	long long c0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	long r = syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, 0, &req, NULL);
	int e = errno;
	long long c1 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	CHECKF("clock_nanosleep_process_cputime", r == 0 && c1 - c0 >= 50 * MS, "r %ld errno %s cpu advanced %lld ns", r,
	       h_errname(e), c1 - c0);
	struct timespec dl;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &dl);
	dl.tv_nsec += 30 * MS;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	r = syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &dl, NULL);
	e = errno;
	c1 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	CHECKF("clock_nanosleep_process_cputime_abstime", r == 0 && c1 >= ts_ns(dl), "r %ld errno %s short by %lld ns", r,
	       h_errname(e), ts_ns(dl) - c1);
	stop_burner = 1;
	pthread_join(bt, NULL);

	/* ---- RLIMIT_CPU ---- */
	st = wait_status(xc_caught);
	CHECKF("rlimit_cpu_sigxcpu_caught", st != -1 && WIFEXITED(st), "status %#x", st);
	CHECKF("rlimit_cpu_soft_raised_after_sigxcpu", st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	st = wait_status(xc_default);
	CHECKF("rlimit_cpu_default_kills_sigxcpu", st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGXCPU, "status %#x", st);
	st = wait_status(xc_hard);
	CHECKF("rlimit_cpu_hard_sigkill", st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x", st);
	char xb[16];
	ssize_t nx = read(xp[0], xb, sizeof(xb));
	CHECKF("rlimit_cpu_sigxcpu_before_sigkill", nx >= 1, "%zd SIGXCPU", nx);
	close(xp[0]);
	return 0;
}
