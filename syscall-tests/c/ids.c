/* getuid/geteuid/getgid/getegid/getresuid/getgroups/setgroups, and the
 * EPERM cases as an unprivileged child. */
#include "harness.h"
#include <grp.h>

#define NOBODY 65534

/* Runs in a child after dropping to uid/gid 65534; returns a bitmask of
 * failed checks (0 = all good). */
static int unprivileged(void *arg)
{
	(void)arg;
	int bad = 0;
	gid_t g = 0;
	if (setgroups(0, NULL) < 0)
		return 0x80;
	if (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return 0x40;
	if (getuid() != NOBODY || geteuid() != NOBODY || getgid() != NOBODY)
		bad |= 1;
	if (!(setgroups(1, &g) == -1 && errno == EPERM))
		bad |= 2;
	if (!(setuid(0) == -1 && errno == EPERM))
		bad |= 4;
	if (!(setgid(0) == -1 && errno == EPERM))
		bad |= 8;
	if (setuid(NOBODY) != 0) /* setting to own uid is allowed */
		bad |= 16;
	if (!(setresuid(-1, 0, -1) == -1 && errno == EPERM))
		bad |= 32;
	return bad;
}

int main(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	EXPECT_EQ("getuid_matches_syscall", getuid(), syscall(SYS_getuid));
	EXPECT_EQ("geteuid_equals_uid", geteuid(), getuid());
	EXPECT_EQ("getgid_matches_syscall", getgid(), syscall(SYS_getgid));
	EXPECT_EQ("getegid_equals_gid", getegid(), getgid());
	EXPECT_EQ("getresuid_ok", getresuid(&r, &e, &s), 0);
	CHECK("getresuid_consistent", r == getuid() && e == geteuid() && s == geteuid());
	EXPECT_EQ("getresgid_ok", getresgid(&gr, &ge, &gs), 0);
	CHECK("getresgid_consistent", gr == getgid() && ge == getegid() && gs == getegid());
	EXPECT_ERR("getresuid_efault", syscall(SYS_getresuid, (void *)1, &e, &s), EFAULT);
	EXPECT_EQ("running_as_root", getuid(), 0);

	int n = getgroups(0, NULL);
	CHECKF("getgroups_count", n >= 0 && n <= 65536, "n %d", n);
	gid_t *groups = calloc(n + 1, sizeof(gid_t));
	EXPECT_EQ("getgroups_fill", getgroups(n + 1, groups), n);
	EXPECT_ERR("getgroups_negative_einval", syscall(SYS_getgroups, -1, groups), EINVAL);
	/* with at least one group, a too-small buffer fails */
	gid_t one = 0;
	EXPECT_EQ("setgroups_root_ok", setgroups(1, &one), 0);
	EXPECT_EQ("getgroups_after_set", getgroups(0, NULL), 1);
	gid_t got[4] = {99, 99, 99, 99};
	getgroups(4, got);
	EXPECT_EQ("getgroups_value", got[0], 0);
	gid_t two[2] = {0, 1};
	setgroups(2, two);
	EXPECT_ERR("getgroups_small_buffer_einval", getgroups(1, got), EINVAL);
	EXPECT_ERR("getgroups_efault", syscall(SYS_getgroups, 2, (void *)1), EFAULT);
	EXPECT_ERR("setgroups_efault", syscall(SYS_setgroups, 1, (void *)1), EFAULT);
	EXPECT_ERR("setgroups_too_many_einval", syscall(SYS_setgroups, 65537, groups), EINVAL);
	EXPECT_EQ("setgroups_empty_ok", setgroups(0, NULL), 0);
	EXPECT_EQ("getgroups_empty", getgroups(0, NULL), 0);
	setgroups(n, groups);
	EXPECT_EQ("setgroups_restore", getgroups(0, NULL), n);
	free(groups);

	EXPECT_EQ("setresuid_noop_ok", setresuid(-1, -1, -1), 0);
	EXPECT_EQ("setuid_same_ok", setuid(getuid()), 0);

	int st = h_run_child(unprivileged, NULL);
	CHECKF("unprivileged_child_checks", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	return 0;
}
