/* vfork. */
#include "harness.h"

static volatile int shared_flag;
static volatile pid_t child_pid_seen;

int main(void)
{
	int st;
	pid_t me = getpid();

	fflush(stdout);
	pid_t pid = vfork();
	if (pid == 0)
		_exit(3);
	CHECK("vfork_returns_pid", pid > 0);
	EXPECT_EQ("vfork_wait", waitpid(pid, &st, 0), pid);
	CHECK("vfork_exit_status", WIFEXITED(st) && WEXITSTATUS(st) == 3);

	/* the child borrows the parent's memory and runs first */
	shared_flag = 0;
	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
		shared_flag = 1;
		child_pid_seen = getpid();
		_exit(0);
	}
	EXPECT_EQ("parent_suspended_until_child_exits", shared_flag, 1);
	EXPECT_EQ("child_has_own_pid", child_pid_seen, pid);
	CHECK("child_pid_differs", child_pid_seen != me);
	waitpid(pid, &st, 0);

	/* vfork + exec */
	char *argv[] = {"true", NULL};
	char *envp[] = {NULL};
	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		execve("/bin/true", argv, envp);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	CHECKF("vfork_exec_true", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		execve("/nonexistent/st_binary", argv, envp);
		_exit(errno == ENOENT ? 9 : 8);
	}
	waitpid(pid, &st, 0);
	CHECKF("vfork_exec_fails_child_exits", WIFEXITED(st) && WEXITSTATUS(st) == 9, "status %#x", st);

	/* a vfork child killed by a signal releases the parent */
	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		raise(SIGKILL);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	CHECK("vfork_child_killed", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	return 0;
}
