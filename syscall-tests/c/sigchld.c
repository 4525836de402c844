/* SIGCHLD delivered to the parent. */
#include "harness.h"

static volatile int chld_hits, chld_code, chld_status;
static volatile pid_t chld_pid;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	chld_hits++;
	chld_code = si->si_code;
	chld_pid = si->si_pid;
	chld_status = si->si_status;
}

static void wait_for_sigchld(void)
{
	sigset_t empty;
	sigemptyset(&empty);
	while (!chld_hits)
		sigsuspend(&empty);
}

int main(void)
{
	struct sigaction sa;
	sigset_t set;
	int st;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);

	chld_hits = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	wait_for_sigchld();
	EXPECT_EQ("sigchld_delivered_once", chld_hits, 1);
	EXPECT_EQ("sigchld_si_code_exited", chld_code, CLD_EXITED);
	EXPECT_EQ("sigchld_si_pid", chld_pid, pid);
	EXPECT_EQ("sigchld_si_status", chld_status, 3);
	EXPECT_EQ("child_still_waitable", waitpid(pid, &st, 0), pid);

	chld_hits = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		for (;;)
			pause();
	kill(pid, SIGKILL);
	wait_for_sigchld();
	EXPECT_EQ("killed_si_code", chld_code, CLD_KILLED);
	EXPECT_EQ("killed_si_status", chld_status, SIGKILL);
	waitpid(pid, &st, 0);

	/* stopped children report CLD_STOPPED unless SA_NOCLDSTOP */
	chld_hits = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		for (;;)
			pause();
	kill(pid, SIGSTOP);
	wait_for_sigchld();
	EXPECT_EQ("stopped_si_code", chld_code, CLD_STOPPED);
	waitpid(pid, &st, WUNTRACED);
	CHECK("stopped_waitpid_wifstopped", WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	chld_hits = 0;
	kill(pid, SIGCONT);
	waitpid(pid, &st, WCONTINUED);
	kill(pid, SIGSTOP);
	waitpid(pid, &st, WUNTRACED);
	sigset_t pend;
	sigpending(&pend);
	CHECK("nocldstop_no_signal_on_stop", !sigismember(&pend, SIGCHLD) && chld_hits == 0);
	kill(pid, SIGKILL);
	wait_for_sigchld();
	EXPECT_EQ("nocldstop_still_signals_exit", chld_code, CLD_KILLED);
	waitpid(pid, &st, 0);

	/* sigsuspend returns EINTR */
	chld_hits = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(0);
	sigset_t empty;
	sigemptyset(&empty);
	EXPECT_ERR("sigsuspend_eintr", sigsuspend(&empty), EINTR);
	waitpid(pid, &st, 0);

	/* SIGCHLD ignored: children are reaped automatically */
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGCHLD, SIG_IGN);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(0);
	EXPECT_ERR("sig_ign_autoreap_echild", waitpid(pid, &st, 0), ECHILD);
	signal(SIGCHLD, SIG_DFL);

	/* SA_NOCLDWAIT also auto-reaps */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(0);
	EXPECT_ERR("sa_nocldwait_autoreap_echild", waitpid(pid, &st, 0), ECHILD);
	signal(SIGCHLD, SIG_DFL);

	/* default disposition: nothing happens, child waitable */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(4);
	EXPECT_EQ("default_disposition_waitable", waitpid(pid, &st, 0), pid);
	EXPECT_EQ("default_disposition_status", WEXITSTATUS(st), 4);
	return 0;
}
