/* waitid. */
#include "harness.h"

static pid_t spawn_pause(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		for (;;)
			pause();
	return pid;
}

int main(void)
{
	siginfo_t si;

	pid_t pid = h_spawn_exit(7);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ("p_pid_wexited", waitid(P_PID, pid, &si, WEXITED), 0);
	EXPECT_EQ("si_signo_sigchld", si.si_signo, SIGCHLD);
	EXPECT_EQ("si_pid", si.si_pid, pid);
	EXPECT_EQ("si_code_exited", si.si_code, CLD_EXITED);
	EXPECT_EQ("si_status_exit_code", si.si_status, 7);
	EXPECT_EQ("si_uid", si.si_uid, getuid());

	pid = h_spawn_exit(8);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ("p_all_wexited", waitid(P_ALL, 0, &si, WEXITED), 0);
	EXPECT_EQ("p_all_si_pid", si.si_pid, pid);

	pid = h_spawn_exit(9);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ("wnowait_first", waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
	EXPECT_EQ("wnowait_status", si.si_status, 9);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ("wnowait_leaves_zombie", waitid(P_PID, pid, &si, WEXITED), 0);
	CHECK("wnowait_second_same_info", si.si_pid == pid && si.si_status == 9);
	EXPECT_ERR("reaped_then_echild", waitid(P_PID, pid, &si, WEXITED), ECHILD);

	pid = spawn_pause();
	memset(&si, 0xff, sizeof(si));
	EXPECT_EQ("wnohang_running_returns_zero", waitid(P_PID, pid, &si, WEXITED | WNOHANG), 0);
	CHECK("wnohang_running_zeroes_info", si.si_pid == 0 && si.si_signo == 0);
	kill(pid, SIGKILL);
	memset(&si, 0, sizeof(si));
	waitid(P_PID, pid, &si, WEXITED);
	EXPECT_EQ("killed_code", si.si_code, CLD_KILLED);
	EXPECT_EQ("killed_status_is_signal", si.si_status, SIGKILL);

	/* stop / continue */
	pid = spawn_pause();
	kill(pid, SIGSTOP);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ("wstopped", waitid(P_PID, pid, &si, WSTOPPED), 0);
	EXPECT_EQ("stopped_code", si.si_code, CLD_STOPPED);
	EXPECT_EQ("stopped_status", si.si_status, SIGSTOP);
	kill(pid, SIGCONT);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ("wcontinued", waitid(P_PID, pid, &si, WCONTINUED), 0);
	EXPECT_EQ("continued_code", si.si_code, CLD_CONTINUED);
	EXPECT_EQ("continued_status", si.si_status, SIGCONT);
	kill(pid, SIGTERM);
	memset(&si, 0, sizeof(si));
	waitid(P_PID, pid, &si, WEXITED);
	CHECK("sigterm_killed", si.si_code == CLD_KILLED && si.si_status == SIGTERM);

	/* P_PGID: children are in our process group */
	pid = h_spawn_exit(3);
	memset(&si, 0, sizeof(si));
	EXPECT_EQ("p_pgid_own_group", waitid(P_PGID, getpgrp(), &si, WEXITED), 0);
	EXPECT_EQ("p_pgid_si_pid", si.si_pid, pid);

	/* errors */
	pid = h_spawn_exit(0);
	EXPECT_ERR("bad_idtype_einval", syscall(SYS_waitid, 42, pid, &si, WEXITED, NULL), EINVAL);
	EXPECT_ERR("no_options_einval", syscall(SYS_waitid, P_PID, pid, &si, 0, NULL), EINVAL);
	EXPECT_ERR("unknown_option_einval", syscall(SYS_waitid, P_PID, pid, &si, WEXITED | 0x100, NULL), EINVAL);
	EXPECT_ERR("infop_efault", syscall(SYS_waitid, P_PID, pid, (void *)1, WEXITED, NULL), EFAULT);
	EXPECT_ERR("non_child_echild", waitid(P_PID, 1, &si, WEXITED), ECHILD);
	EXPECT_ERR("no_children_echild", waitid(P_ALL, 0, &si, WEXITED), ECHILD);
	EXPECT_ERR("no_children_wnohang_echild", waitid(P_ALL, 0, &si, WEXITED | WNOHANG), ECHILD);
	/* a NULL infop is allowed */
	pid = h_spawn_exit(0);
	EXPECT_EQ("null_infop_ok", syscall(SYS_waitid, P_PID, pid, NULL, WEXITED, NULL), 0);
	struct rusage ru;
	pid = h_spawn_exit(0);
	EXPECT_EQ("rusage_arg_ok", syscall(SYS_waitid, P_PID, pid, &si, WEXITED, &ru), 0);
	return 0;
}
