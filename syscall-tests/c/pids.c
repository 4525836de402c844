/* getpid/getppid/gettid/set_tid_address and process groups/sessions. */
#include "harness.h"

int main(void)
{
	pid_t me = getpid();
	CHECK("getpid_positive", me > 0);
	EXPECT_EQ("getpid_raw", syscall(SYS_getpid), me);
	EXPECT_EQ("gettid_equals_pid_in_main", syscall(SYS_gettid), me);
	CHECK("getppid_nonnegative", getppid() >= 0);
	CHECK("getppid_not_self", getppid() != me);
	int tidword;
	EXPECT_EQ("set_tid_address_returns_tid", syscall(SYS_set_tid_address, &tidword), me);

	/* child: new pid, parent is us */
	int st;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		if (getppid() != me)
			bad |= 1;
		if (getpid() == me || syscall(SYS_gettid) != getpid())
			bad |= 2;
		if (syscall(SYS_set_tid_address, NULL) != getpid())
			bad |= 4;
		_exit(bad);
	}
	waitpid(pid, &st, 0);
	CHECKF("child_pids", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);

	/* orphan is re-parented away from the dead parent */
	int p[2];
	pipe(p);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pid_t mid = getpid();
		pid_t g = fork();
		if (g == 0) {
			close(p[0]);
			while (getppid() == mid)
				usleep(1000);
			pid_t np = getppid();
			write(p[1], &np, sizeof(np));
			_exit(0);
		}
		_exit(0);
	}
	close(p[1]);
	waitpid(pid, &st, 0);
	pid_t newparent = -1;
	read(p[0], &newparent, sizeof(newparent));
	close(p[0]);
	CHECKF("orphan_reparented", newparent != pid && newparent >= 0, "new parent %d", (int)newparent);

	/* process groups and sessions */
	pid_t pg = getpgrp();
	EXPECT_EQ("getpgid_zero_is_getpgrp", getpgid(0), pg);
	EXPECT_EQ("getpgid_self", getpgid(me), pg);
	/* 0 when the session leader lives outside our pid namespace (as under some CI runners) */
	CHECK("getsid_zero_is_getsid_self", getsid(0) >= 0 && getsid(0) == getsid(me));
	EXPECT_ERR("getpgid_nonexistent_esrch", getpgid(pid), ESRCH);
	EXPECT_ERR("getsid_nonexistent_esrch", getsid(pid), ESRCH);
	EXPECT_ERR("setpgid_negative_einval", setpgid(0, -1), EINVAL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int bad = 0;
		if (getpgrp() != pg)
			bad |= 1;
		if (setpgid(0, 0) != 0 || getpgrp() != getpid())
			bad |= 2;
		if (!(setsid() == -1 && errno == EPERM)) /* group leader */
			bad |= 4;
		_exit(bad);
	}
	waitpid(pid, &st, 0);
	CHECKF("child_setpgid_then_setsid_eperm", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int bad = 0;
		pid_t s = setsid();
		if (s != getpid())
			bad |= 1;
		if (getsid(0) != getpid() || getpgrp() != getpid())
			bad |= 2;
		_exit(bad);
	}
	waitpid(pid, &st, 0);
	CHECKF("child_setsid_new_session", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	/* parent may move its child into a new group */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		usleep(50000);
		_exit(getpgrp() == getpid() ? 0 : 1);
	}
	EXPECT_EQ("setpgid_child_from_parent", setpgid(pid, pid), 0);
	waitpid(pid, &st, 0);
	CHECKF("child_sees_new_group", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	return 0;
}
