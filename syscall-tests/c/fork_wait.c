/* fork + wait4. */
#include "harness.h"
#include <sched.h>
#include <sys/syscall.h>

static int global = 1;

int main(void)
{
	int st;
	struct rusage ru;
	pid_t me = getpid();

	pid_t pid = h_spawn_exit(42);
	CHECK("fork_returns_pid", pid > 0 && pid != me);
	EXPECT_EQ("wait4_returns_pid", wait4(pid, &st, 0, NULL), pid);
	CHECK("wifexited", WIFEXITED(st));
	EXPECT_EQ("wexitstatus", WEXITSTATUS(st), 42);

	pid = h_spawn_exit(256 + 3);
	wait4(pid, &st, 0, NULL);
	EXPECT_EQ("exit_status_truncated_to_8_bits", WEXITSTATUS(st), 3);

	/* the child sees fork() == 0, its own pid and the parent pid */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(getppid() == me && getpid() != me ? 0 : 1);
	wait4(pid, &st, 0, NULL);
	CHECKF("child_sees_parent_pid", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);

	/* copy-on-write */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		global = 99;
		_exit(global == 99 ? 0 : 1);
	}
	wait4(pid, &st, 0, NULL);
	CHECK("child_modifies_own_copy", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_EQ("parent_memory_unchanged", global, 1);

	/* open file descriptions are shared */
	char path[64];
	h_tmp(path, sizeof(path), "forkw");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		write(fd, "12345", 5);
		_exit(0);
	}
	wait4(pid, &st, 0, NULL);
	EXPECT_EQ("fd_offset_shared_with_child", lseek(fd, 0, SEEK_CUR), 5);
	close(fd);
	unlink(path);

	/* death by signal, core dump bit off when RLIMIT_CORE is 0 */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = {0, 0};
		setrlimit(RLIMIT_CORE, &rl);
		*(volatile int *)0 = 1;
		_exit(0);
	}
	wait4(pid, &st, 0, NULL);
	CHECKF("sigsegv_wifsignaled", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %#x", st);
	CHECKF("sigsegv_no_core_with_rlimit_zero", !WCOREDUMP(st), "status %#x", st);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = {0, 0};
		setrlimit(RLIMIT_CORE, &rl);
		abort();
	}
	wait4(pid, &st, 0, NULL);
	CHECKF("sigabrt_wifsignaled", WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %#x", st);
	CHECK("sigabrt_not_wifexited", !WIFEXITED(st));

	/* core dump bit set when a core is written: the child dumps into a
	 * private directory (core_pattern "core" on the reference machine) */
	char cdir[64];
	h_tmp(cdir, sizeof(cdir), "forkcore");
	mkdir(cdir, 0700);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
		setrlimit(RLIMIT_CORE, &rl);
		if (chdir(cdir) < 0)
			_exit(1);
		*(volatile int *)0 = 1;
		_exit(0);
	}
	wait4(pid, &st, 0, NULL);
	CHECKF("sigsegv_core_dump_bit", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && WCOREDUMP(st),
	       "status %#x", st);
	char cpath[128];
	snprintf(cpath, sizeof(cpath), "%s/core", cdir);
	unlink(cpath);
	snprintf(cpath, sizeof(cpath), "%s/core.%d", cdir, (int)pid);
	unlink(cpath);
	rmdir(cdir);

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	EXPECT_EQ("wnohang_running_child_zero", wait4(pid, &st, WNOHANG, NULL), 0);
	kill(pid, SIGKILL);
	EXPECT_EQ("wait_killed_child", wait4(pid, &st, 0, &ru), pid);
	CHECK("sigkill_status", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && !WCOREDUMP(st));
	CHECK("rusage_filled", ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);

	EXPECT_ERR("wait_no_children_echild", wait4(-1, &st, 0, NULL), ECHILD);
	EXPECT_ERR("wnohang_no_children_echild", wait4(-1, &st, WNOHANG, NULL), ECHILD);
	EXPECT_ERR("wait_non_child_echild", wait4(1, &st, 0, NULL), ECHILD);
	pid = h_spawn_exit(0);
	EXPECT_ERR("wait_bad_options_einval", wait4(pid, &st, 0x100, NULL), EINVAL);
	EXPECT_ERR("wait_status_efault", wait4(pid, (int *)1, 0, NULL), EFAULT);
	EXPECT_ERR("efault_still_reaps_child", wait4(pid, &st, WNOHANG, NULL), ECHILD);
	pid = h_spawn_exit(5);
	EXPECT_EQ("wait_any_child", wait4(-1, &st, 0, NULL), pid);
	pid = h_spawn_exit(6);
	EXPECT_EQ("wait_null_status", wait4(pid, NULL, 0, NULL), pid);

	/* several children, each reaped once */
	pid_t kids[5];
	for (int i = 0; i < 5; i++)
		kids[i] = h_spawn_exit(10 + i);
	int okk = 1;
	for (int i = 0; i < 5; i++) {
		pid_t w = wait4(-1, &st, 0, NULL);
		int idx = -1;
		for (int j = 0; j < 5; j++)
			if (kids[j] == w)
				idx = j;
		if (idx < 0 || WEXITSTATUS(st) != 10 + idx)
			okk = 0;
		else
			kids[idx] = -2;
	}
	CHECK("reap_several_children", okk);
	EXPECT_ERR("all_reaped_echild", wait4(-1, &st, 0, NULL), ECHILD);

	/* grandchildren are not ours */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0)
			_exit(0);
		int s2;
		_exit(waitpid(g, &s2, 0) == g ? 0 : 1);
	}
	wait4(pid, &st, 0, NULL);
	CHECK("child_reaps_grandchild", WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* A bad CLONE_PARENT_SETTID pointer does not fail the clone: the child
	 * runs and is reaped as usual. */
	fflush(stdout);
	long r = syscall(SYS_clone, CLONE_PARENT_SETTID | SIGCHLD, 0L, (void *)8, 0L, 0L);
	if (r == 0)
		_exit(9);
	CHECK("clone_bad_parent_tid_ptr_succeeds", r > 0);
	if (r > 0) {
		EXPECT_EQ("clone_bad_parent_tid_child_reaped", wait4((pid_t)r, &st, 0, NULL), (pid_t)r);
		CHECK("clone_bad_parent_tid_child_status", WIFEXITED(st) && WEXITSTATUS(st) == 9);
	}
	return 0;
}
