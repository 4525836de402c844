/* kill/tgkill/rt_sigaction/rt_sigprocmask/rt_sigtimedwait/sigaltstack. */
#include "harness.h"
#include <pthread.h>

static volatile int hits, last_sig, last_code, last_pid, last_value, rt_hits;
static volatile pid_t handler_tid;
static volatile int mask_had_self, mask_had_extra;
static volatile uintptr_t handler_stack;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last_sig = sig;
	last_code = si->si_code;
	last_pid = si->si_pid;
	last_value = si->si_value.sival_int;
	handler_tid = (pid_t)syscall(SYS_gettid);
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	mask_had_self = sigismember(&m, sig);
	mask_had_extra = sigismember(&m, SIGUSR2);
	int local;
	handler_stack = (uintptr_t)&local;
	/* Last, so that a waiter that sees hits also sees every field. */
	__atomic_fetch_add(&hits, 1, __ATOMIC_SEQ_CST);
}

static void on_rt(int sig) { (void)sig; rt_hits++; }

static void install(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(sig, &sa, NULL);
}

static volatile pid_t worker_tid;
static volatile int worker_stop;
static void *worker(void *a)
{
	(void)a;
	worker_tid = (pid_t)syscall(SYS_gettid);
	while (!worker_stop)
		sched_yield();
	return NULL;
}

int main(void)
{
	struct sigaction sa, old;
	sigset_t set, pend;
	pid_t me = getpid();

	install(SIGUSR1, 0);
	hits = 0;
	EXPECT_EQ("kill_self", kill(me, SIGUSR1), 0);
	EXPECT_EQ("handler_ran_before_return", hits, 1);
	EXPECT_EQ("handler_signo", last_sig, SIGUSR1);
	EXPECT_EQ("kill_si_code_si_user", last_code, SI_USER);
	EXPECT_EQ("kill_si_pid", last_pid, me);
	CHECK("signal_blocked_in_handler", mask_had_self);
	CHECK("sa_mask_blocked_in_handler", mask_had_extra);
	sigprocmask(SIG_BLOCK, NULL, &set);
	CHECK("mask_restored_after_handler", !sigismember(&set, SIGUSR1) && !sigismember(&set, SIGUSR2));

	memset(&old, 0, sizeof(old));
	sigaction(SIGUSR1, NULL, &old);
	CHECK("sigaction_returns_old", old.sa_sigaction == on_sig && (old.sa_flags & SA_SIGINFO));

	/* tgkill */
	hits = 0;
	EXPECT_EQ("tgkill_self", syscall(SYS_tgkill, me, syscall(SYS_gettid), SIGUSR1), 0);
	EXPECT_EQ("tgkill_handler_ran", hits, 1);
	EXPECT_EQ("tgkill_si_code_si_tkill", last_code, SI_TKILL);
	EXPECT_ERR("tgkill_wrong_tgid_esrch", syscall(SYS_tgkill, me + 100000, syscall(SYS_gettid), SIGUSR1), ESRCH);
	EXPECT_ERR("tgkill_bad_tid_einval", syscall(SYS_tgkill, me, 0, SIGUSR1), EINVAL);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	while (!worker_tid)
		sched_yield();
	hits = 0;
	handler_tid = 0;
	syscall(SYS_tgkill, me, worker_tid, SIGUSR1);
	long long deadline = h_now_ns() + 2000000000LL;
	while (!__atomic_load_n(&hits, __ATOMIC_SEQ_CST) && h_now_ns() < deadline)
		sched_yield();
	EXPECT_EQ("tgkill_thread_handler_runs_in_thread", handler_tid, worker_tid);
	worker_stop = 1;
	pthread_join(t, NULL);

	/* rt_sigqueueinfo */
	siginfo_t qi;
	memset(&qi, 0, sizeof(qi));
	qi.si_signo = SIGUSR1;
	qi.si_code = SI_QUEUE;
	qi.si_pid = me;
	qi.si_uid = getuid();
	qi.si_value.sival_int = 1234;
	hits = 0;
	EXPECT_EQ("rt_sigqueueinfo", syscall(SYS_rt_sigqueueinfo, me, SIGUSR1, &qi), 0);
	CHECK("sigqueue_value_delivered", hits == 1 && last_code == SI_QUEUE && last_value == 1234);

	/* blocking */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	hits = 0;
	kill(me, SIGUSR1);
	kill(me, SIGUSR1);
	EXPECT_EQ("blocked_not_delivered", hits, 0);
	sigpending(&pend);
	CHECK("blocked_is_pending", sigismember(&pend, SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	EXPECT_EQ("delivered_on_unblock_once", hits, 1);
	sigpending(&pend);
	CHECK("not_pending_after_delivery", !sigismember(&pend, SIGUSR1));

	/* realtime signals queue */
	signal(SIGRTMIN + 1, on_rt);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	rt_hits = 0;
	for (int i = 0; i < 3; i++)
		kill(me, SIGRTMIN + 1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	EXPECT_EQ("rt_signals_queue", rt_hits, 3);

	/* SIG_IGN */
	signal(SIGUSR2, SIG_IGN);
	EXPECT_EQ("ignored_kill_ok", kill(me, SIGUSR2), 0);
	sigpending(&pend);
	CHECK("ignored_not_pending", !sigismember(&pend, SIGUSR2));
	signal(SIGUSR2, SIG_DFL);

	/* sigtimedwait */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(me, SIGUSR2);
	siginfo_t wi;
	struct timespec to = {0, 10 * 1000 * 1000};
	EXPECT_EQ("sigtimedwait_takes_pending", sigtimedwait(&set, &wi, &to), SIGUSR2);
	EXPECT_EQ("sigtimedwait_si_pid", wi.si_pid, me);
	EXPECT_ERR("sigtimedwait_timeout_eagain", sigtimedwait(&set, &wi, &to), EAGAIN);
	EXPECT_ERR("sigtimedwait_bad_sigsetsize_einval",
		   syscall(SYS_rt_sigtimedwait, &set, &wi, &to, 4), EINVAL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* invalid arguments */
	EXPECT_ERR("kill_invalid_signal_einval", kill(me, 65), EINVAL);
	EXPECT_ERR("kill_negative_signal_einval", kill(me, -1), EINVAL);
	EXPECT_EQ("kill_signal_zero_probe", kill(me, 0), 0);
	EXPECT_ERR("sigaction_sig_zero_einval", syscall(SYS_rt_sigaction, 0, NULL, &old, 8), EINVAL);
	EXPECT_ERR("sigaction_sig_65_einval", syscall(SYS_rt_sigaction, 65, NULL, &old, 8), EINVAL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	EXPECT_ERR("sigaction_sigkill_einval", sigaction(SIGKILL, &sa, NULL), EINVAL);
	EXPECT_ERR("sigaction_sigstop_einval", sigaction(SIGSTOP, &sa, NULL), EINVAL);
	EXPECT_EQ("sigaction_query_sigkill_ok", sigaction(SIGKILL, NULL, &old), 0);
	EXPECT_ERR("sigaction_bad_sigsetsize_einval", syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4), EINVAL);
	EXPECT_ERR("sigaction_act_efault", syscall(SYS_rt_sigaction, SIGUSR1, (void *)1, NULL, 8), EFAULT);
	EXPECT_ERR("sigprocmask_bad_how_einval", syscall(SYS_rt_sigprocmask, 99, &set, NULL, 8), EINVAL);
	EXPECT_ERR("sigprocmask_bad_sigsetsize_einval", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL);
	EXPECT_ERR("sigprocmask_set_efault", syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)1, NULL, 8), EFAULT);
	uint64_t all = ~0ULL, now = 0;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, NULL, &now, 8);
	CHECK("cannot_block_sigkill_sigstop",
	      !(now & (1ULL << (SIGKILL - 1))) && !(now & (1ULL << (SIGSTOP - 1))));
	uint64_t none = 0;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);

	/* a nonexistent process */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	waitpid(c, NULL, 0);
	EXPECT_ERR("kill_reaped_pid_esrch", kill(c, 0), ESRCH);

	/* SA_RESETHAND */
	install(SIGUSR1, SA_RESETHAND);
	hits = 0;
	kill(me, SIGUSR1);
	sigaction(SIGUSR1, NULL, &old);
	CHECK("resethand_resets_to_default", hits == 1 && old.sa_handler == SIG_DFL);

	/* sigaltstack */
	stack_t ss, oss;
	ss.ss_sp = malloc(SIGSTKSZ * 4);
	ss.ss_size = SIGSTKSZ * 4;
	ss.ss_flags = 0;
	EXPECT_EQ("sigaltstack_set", sigaltstack(&ss, &oss), 0);
	CHECK("sigaltstack_old_disabled", oss.ss_flags & SS_DISABLE);
	install(SIGUSR1, SA_ONSTACK);
	handler_stack = 0;
	kill(me, SIGUSR1);
	CHECK("handler_on_altstack", handler_stack >= (uintptr_t)ss.ss_sp &&
				     handler_stack < (uintptr_t)ss.ss_sp + ss.ss_size);
	ss.ss_size = 100;
	EXPECT_ERR("sigaltstack_too_small_enomem", sigaltstack(&ss, NULL), ENOMEM);
	ss.ss_flags = 0x1234;
	ss.ss_size = SIGSTKSZ * 4;
	EXPECT_ERR("sigaltstack_bad_flags_einval", sigaltstack(&ss, NULL), EINVAL);

	/* default action of SIGUSR1 terminates */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		signal(SIGUSR1, SIG_DFL);
		raise(SIGUSR1);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	CHECK("default_action_terminates", WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1);
	/* default action of SIGCHLD/SIGURG/SIGWINCH is ignore */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		raise(SIGURG);
		raise(SIGWINCH);
		_exit(3);
	}
	waitpid(c, &st, 0);
	CHECK("default_ignore_signals", WIFEXITED(st) && WEXITSTATUS(st) == 3);
	return 0;
}
