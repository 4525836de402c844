/* fchmodat2(2): its flags (AT_SYMLINK_NOFOLLOW, which Linux refuses on a
 * symlink, and AT_EMPTY_PATH, also on an O_PATH fd) and the errno of bad
 * input. */
#include "harness.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static long fchmodat2(int dirfd, const char *path, mode_t m, int flags)
{
	return syscall(SYS_fchmodat2, dirfd, path, m, flags);
}

static int mode_of(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

int main(void)
{
	char path[64], link[80];
	h_tmp(path, sizeof(path), "fchmodat2");
	snprintf(link, sizeof(link), "%s_l", path);
	h_write_file(path, "x", 1, 0644);
	symlink(path, link);

	EXPECT_EQ("plain", fchmodat2(AT_FDCWD, path, 0600, 0), 0);
	EXPECT_EQ("plain_mode", mode_of(path), 0600);
	EXPECT_ERR("unknown_flag_einval", fchmodat2(AT_FDCWD, path, 0600, 0x4), EINVAL);
	EXPECT_ERR("nofollow_symlink_eopnotsupp", fchmodat2(AT_FDCWD, link, 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	EXPECT_EQ("nofollow_regular", fchmodat2(AT_FDCWD, path, 0640, AT_SYMLINK_NOFOLLOW), 0);
	EXPECT_EQ("nofollow_regular_mode", mode_of(path), 0640);
	EXPECT_EQ("follows_symlink", fchmodat2(AT_FDCWD, link, 0604, 0), 0);
	EXPECT_EQ("follows_symlink_mode", mode_of(path), 0604);

	int fd = open(path, O_RDONLY);
	EXPECT_EQ("empty_path", fchmodat2(fd, "", 0644, AT_EMPTY_PATH), 0);
	EXPECT_EQ("empty_path_mode", mode_of(path), 0644);
	EXPECT_ERR("empty_path_without_flag_enoent", fchmodat2(fd, "", 0600, 0), ENOENT);
	close(fd);
	fd = open(path, O_PATH);
	EXPECT_EQ("empty_path_o_path", fchmodat2(fd, "", 0600, AT_EMPTY_PATH), 0);
	EXPECT_EQ("empty_path_o_path_mode", mode_of(path), 0600);
	close(fd);

	EXPECT_ERR("missing_enoent", fchmodat2(AT_FDCWD, "/tmp/st_fchmodat2_missing", 0600, 0), ENOENT);
	EXPECT_ERR("bad_path_efault", fchmodat2(AT_FDCWD, (char *)h_unmapped(), 0600, 0), EFAULT);
	EXPECT_ERR("closed_dirfd_ebadf", fchmodat2(h_closed_fd(), "x", 0600, 0), EBADF);
	unlink(link);
	unlink(path);
	return 0;
}
