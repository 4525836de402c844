/* access, faccessat and faccessat2: permission bits checked against the
 * caller's real ids (effective ones with AT_EACCESS), root's exemptions,
 * and the errno of bad input. */
#include "harness.h"
#include <grp.h>

#define NOBODY 65534

static char path[64];

/* Runs as a child with real uid nobody and effective uid root. */
static int real_vs_effective(void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, 0, 0) < 0 || setresuid(NOBODY, 0, 0) < 0)
		return 0x40;
	int bad = 0;
	if (!(access(path, R_OK) == -1 && errno == EACCES))
		bad |= 1; /* real uid nobody: no read on 0600 root */
	if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) != 0)
		bad |= 2; /* effective uid root */
	return bad;
}

/* Runs as a child with every id nobody. */
static int as_nobody(void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return 0x40;
	int bad = 0;
	if (!(access(path, R_OK) == -1 && errno == EACCES))
		bad |= 1; /* 0640 root:root: others get nothing */
	if (!(access(path, F_OK) == 0))
		bad |= 2;
	return bad;
}

static int as_nobody_other_read(void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return 0x40;
	int bad = 0;
	if (access(path, R_OK) != 0)
		bad |= 1; /* 0604: others read */
	if (!(access(path, W_OK) == -1 && errno == EACCES))
		bad |= 2;
	if (!(access(path, R_OK | X_OK) == -1 && errno == EACCES))
		bad |= 4;
	return bad;
}

static int as_nobody_group(void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return 0x40;
	int bad = 0;
	if (access(path, R_OK | W_OK) != 0)
		bad |= 1; /* 0060 root:nobody: the group class applies */
	if (!(access(path, X_OK) == -1 && errno == EACCES))
		bad |= 2;
	return bad;
}

static int as_nobody_owner(void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return 0x40;
	int bad = 0;
	if (!(access(path, R_OK) == -1 && errno == EACCES))
		bad |= 1; /* 0077 nobody:nobody: the owner class applies, and it is empty */
	return bad;
}

int main(void)
{
	h_tmp(path, sizeof path, "access");
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0640);
	EXPECT_OK("create", fd);
	close(fd);
	EXPECT_EQ("root_read_write", access(path, R_OK | W_OK), 0);
	EXPECT_ERR("root_exec_needs_an_x_bit", access(path, X_OK), EACCES);
	EXPECT_EQ("chmod_x", chmod(path, 0010), 0);
	EXPECT_EQ("root_exec_any_x_bit", access(path, X_OK), 0);
	EXPECT_EQ("root_dir_exec", access("/tmp", X_OK), 0);
	EXPECT_ERR("bad_mode_einval", access(path, 8), EINVAL);
	EXPECT_ERR("missing_enoent", access("/tmp/st_access_missing_file", F_OK), ENOENT);
	EXPECT_ERR("efault", access((char *)1, F_OK), EFAULT);
	EXPECT_ERR("faccessat2_bad_flags_einval", syscall(SYS_faccessat2, AT_FDCWD, path, F_OK, 0x4), EINVAL);

	int st;
	EXPECT_EQ("chmod_0640", chmod(path, 0640), 0);
	st = h_run_child(as_nobody, NULL);
	CHECKF("nobody_other_class_none", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	EXPECT_EQ("chmod_0604", chmod(path, 0604), 0);
	st = h_run_child(as_nobody_other_read, NULL);
	CHECKF("nobody_other_class_read", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	EXPECT_EQ("chown_group_nobody", chown(path, 0, NOBODY), 0);
	EXPECT_EQ("chmod_0060", chmod(path, 0060), 0);
	st = h_run_child(as_nobody_group, NULL);
	CHECKF("nobody_group_class", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	EXPECT_EQ("chown_nobody", chown(path, NOBODY, NOBODY), 0);
	EXPECT_EQ("chmod_0077", chmod(path, 0077), 0);
	st = h_run_child(as_nobody_owner, NULL);
	CHECKF("nobody_owner_class", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	EXPECT_EQ("chown_root", chown(path, 0, 0), 0);
	EXPECT_EQ("chmod_0600", chmod(path, 0600), 0);
	st = h_run_child(real_vs_effective, NULL);
	CHECKF("real_ids_unless_at_eaccess", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	unlink(path);
	return 0;
}
