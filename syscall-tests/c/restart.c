/* Syscall restart after signals: read and wait4 restart under SA_RESTART
 * and fail with EINTR without it; nanosleep, poll, select, pause and a
 * futex wait with a timeout fail with EINTR even under SA_RESTART (a futex
 * wait without timeout restarts); nanosleep fills in the remaining time,
 * select updates its timeout. A sleep whose process is stopped (SIGSTOP)
 * and continued (no handler) resumes transparently and keeps its original
 * deadline, relative (nanosleep) or absolute (clock_nanosleep). The signal
 * comes from a helper thread once the main thread is asleep. */
#include "harness.h"
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sys/select.h>

#define MS 1000000LL

static volatile int hits;
static void on_sig(int s) { (void)s; hits++; }

static void handle(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	hits = 0;
}

/* Helper thread: ~100 ms after start (and once the main thread sleeps)
 * sends SIGUSR1 to it; `poke_ms` later writes a byte to `fd` and/or wakes
 * `futex`. Should the main thread still be blocked, it signals and pokes
 * again every 300 ms, so that a wrong result fails instead of hanging. */
struct shot {
	pid_t tid;
	int poke_ms, fd, *futex;
	volatile int done;
	pthread_t th;
};

static void nap_ms(struct shot *s, int ms)
{
	for (int i = 0; i < ms / 10 && !s->done; i++)
		usleep(10000);
}

static void *shooter(void *a)
{
	struct shot *s = a;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	usleep(100000);
	h_wait_thread_sleeping(s->tid, h_now_ns() + 1000 * MS);
	for (int i = 0; i < 10 && !s->done; i++) {
		if (i == 0 || !s->poke_ms)
			syscall(SYS_tgkill, getpid(), s->tid, SIGUSR1);
		if (s->poke_ms) {
			nap_ms(s, i == 0 ? s->poke_ms : 300);
			if (s->done)
				break;
			if (s->fd >= 0)
				write(s->fd, "x", 1);
			if (s->futex)
				syscall(SYS_futex, s->futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		}
		nap_ms(s, 300);
	}
	return NULL;
}

static void fire(struct shot *s, int poke_ms, int fd, int *futex)
{
	memset(s, 0, sizeof(*s));
	s->tid = (pid_t)syscall(SYS_gettid);
	s->poke_ms = poke_ms;
	s->fd = fd;
	s->futex = futex;
	pthread_create(&s->th, NULL, shooter, s);
}

static void settle(struct shot *s)
{
	s->done = 1;
	pthread_join(s->th, NULL);
}

static struct timespec ts_ns(long long ns)
{
	struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};
	return ts;
}

/* A child sleeps `req` ms (absolutely when `abs`); the parent stops it
 * `stop_at` ms in, continues it `stop_for` ms later. Checks the sleep
 * returned 0 no earlier than its deadline and soon after
 * max(deadline, SIGCONT). */
static void stopped_sleep(const char *name, int abs, int req, int stop_at, int stop_for)
{
	char n[96];
	int p[2], st = 0, stopped = 0;
	long long t[3] = {0, 0, -1}; /* start, end, return value */
	pipe(p);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		t[0] = h_now_ns();
		write(p[1], t, sizeof(t[0]));
		struct timespec ts = ts_ns(abs ? t[0] + req * MS : req * MS);
		t[2] = abs ? clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) : nanosleep(&ts, NULL);
		t[1] = h_now_ns();
		write(p[1], t, sizeof(t));
		_exit(0);
	}
	close(p[1]);
	read(p[0], t, sizeof(t[0]));
	struct timespec at = ts_ns(t[0] + stop_at * MS);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
	kill(pid, SIGSTOP);
	stopped = waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st);
	at = ts_ns(t[0] + (stop_at + stop_for) * MS);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
	long long cont = h_now_ns();
	kill(pid, SIGCONT);
	read(p[0], t, sizeof(t));
	close(p[0]);
	waitpid(pid, &st, 0);
	long long deadline = t[0] + req * MS, late = t[1] - (deadline > cont ? deadline : cont);
	snprintf(n, sizeof(n), "%s_child_was_stopped", name);
	CHECK(n, stopped);
	snprintf(n, sizeof(n), "%s_returns_0", name);
	EXPECT_EQ(n, t[2], 0);
	snprintf(n, sizeof(n), "%s_keeps_deadline", name);
	CHECKF(n, t[1] >= deadline && late < 250 * MS, "ended %lld ms after start, %lld ms after max(deadline, SIGCONT at %lld ms)",
	       (t[1] - t[0]) / MS, late / MS, (cont - t[0]) / MS);
}

int main(void)
{
	struct shot s;
	int p[2], futex_word = 0, st;
	char c = 0;
	long long t0;
	long r;

	pipe(p);
	handle(SA_RESTART);
	fire(&s, 200, p[1], NULL);
	r = read(p[0], &c, 1);
	settle(&s);
	CHECKF("read_restarted_with_sa_restart", r == 1 && c == 'x', "read returned %ld errno %s", r, h_errname(errno));
	CHECK("read_restart_handler_ran", hits >= 1);

	handle(0);
	fire(&s, 0, -1, NULL);
	EXPECT_ERR("read_eintr_without_sa_restart", read(p[0], &c, 1), EINTR);
	settle(&s);
	EXPECT_EQ("read_eintr_handler_ran", hits, 1);
	close(p[0]);
	close(p[1]);

	handle(SA_RESTART);
	struct timespec req = {2, 0}, rem = {0, 0};
	fire(&s, 0, -1, NULL);
	t0 = h_now_ns();
	EXPECT_ERR("nanosleep_eintr_despite_sa_restart", nanosleep(&req, &rem), EINTR);
	long long el = h_now_ns() - t0, left = rem.tv_sec * 1000000000LL + rem.tv_nsec;
	settle(&s);
	CHECKF("nanosleep_rem_set", left > 0 && left < 2000 * MS, "rem %lld ns", left);
	CHECKF("nanosleep_rem_plus_elapsed", left + el >= 1995 * MS && left + el < 2500 * MS,
	       "rem %lld ms + elapsed %lld ms", left / MS, el / MS);

	stopped_sleep("nanosleep_stop_cont", 0, 1000, 150, 400);
	stopped_sleep("nanosleep_stopped_past_deadline", 0, 400, 100, 800);
	stopped_sleep("clock_nanosleep_abs_stop_cont", 1, 1000, 150, 400);

	handle(SA_RESTART);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(500000);
		_exit(7);
	}
	fire(&s, 0, -1, NULL);
	r = wait4(pid, &st, 0, NULL);
	settle(&s);
	CHECKF("wait4_restarted_with_sa_restart", r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7,
	       "wait4 returned %ld errno %s status %#x", r, h_errname(errno), st);
	CHECK("wait4_restart_handler_ran", hits >= 1);
	handle(0);
	pid = fork();
	if (pid == 0) {
		usleep(500000);
		_exit(7);
	}
	fire(&s, 0, -1, NULL);
	EXPECT_ERR("wait4_eintr_without_sa_restart", wait4(pid, &st, 0, NULL), EINTR);
	settle(&s);
	waitpid(pid, &st, 0);

	pipe(p);
	handle(SA_RESTART);
	struct pollfd pfd = {p[0], POLLIN, 0};
	fire(&s, 0, -1, NULL);
	t0 = h_now_ns();
	EXPECT_ERR("poll_eintr_despite_sa_restart", poll(&pfd, 1, 3000), EINTR);
	el = h_now_ns() - t0;
	settle(&s);
	CHECKF("poll_eintr_early", el < 2500 * MS, "poll took %lld ms", el / MS);

	fd_set rfds;
	FD_ZERO(&rfds);
	FD_SET(p[0], &rfds);
	struct timeval tv = {3, 0};
	fire(&s, 0, -1, NULL);
	EXPECT_ERR("select_eintr_despite_sa_restart", select(p[0] + 1, &rfds, NULL, NULL, &tv), EINTR);
	settle(&s);
	CHECKF("select_updates_timeout", (tv.tv_sec > 0 || tv.tv_usec > 0) && tv.tv_sec < 3,
	       "timeout left %ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
	close(p[0]);
	close(p[1]);

	handle(SA_RESTART);
	fire(&s, 200, -1, &futex_word);
	r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	settle(&s);
	CHECKF("futex_wait_restarted_with_sa_restart", r == 0, "futex returned %ld errno %s", r, h_errname(errno));
	CHECK("futex_wait_restart_handler_ran", hits >= 1);
	struct timespec fto = {3, 0};
	fire(&s, 0, -1, NULL);
	EXPECT_ERR("futex_wait_timeout_eintr_despite_sa_restart",
		   syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &fto, NULL, 0), EINTR);
	settle(&s);
	handle(0);
	fire(&s, 0, -1, NULL);
	EXPECT_ERR("futex_wait_eintr_without_sa_restart",
		   syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EINTR);
	settle(&s);

	handle(SA_RESTART);
	fire(&s, 0, -1, NULL);
	EXPECT_ERR("pause_eintr_despite_sa_restart", pause(), EINTR);
	settle(&s);
	EXPECT_EQ("pause_handler_ran_once", hits, 1);
	return 0;
}
