/* stat/fstat/lstat/newfstatat. */
#include "harness.h"

int main(void)
{
	char path[64], link_[64], hard[64], dir[64], through[96];
	struct stat st, st2;
	h_tmp(path, sizeof(path), "stat");
	h_tmp(link_, sizeof(link_), "statlnk");
	h_tmp(hard, sizeof(hard), "stathard");
	h_tmp(dir, sizeof(dir), "statdir");
	snprintf(through, sizeof(through), "%s/x", path);
	umask(0);
	h_write_file(path, "hello world", 11, 0640);
	symlink(path, link_);
	mkdir(dir, 0751);
	time_t now = time(NULL);

	EXPECT_EQ("stat_ok", stat(path, &st), 0);
	EXPECT_EQ("stat_size", st.st_size, 11);
	CHECK("stat_is_reg", S_ISREG(st.st_mode));
	EXPECT_EQ("stat_perm_bits", st.st_mode & 07777, 0640);
	EXPECT_EQ("stat_nlink_one", st.st_nlink, 1);
	EXPECT_EQ("stat_uid_is_euid", st.st_uid, geteuid());
	CHECK("stat_blksize_positive", st.st_blksize > 0);
	CHECKF("stat_mtime_recent", st.st_mtime >= now - 5 && st.st_mtime <= now + 5,
	       "mtime %ld now %ld", (long)st.st_mtime, (long)now);
	int fd = open(path, O_RDONLY);
	EXPECT_EQ("fstat_ok", fstat(fd, &st2), 0);
	CHECK("fstat_same_inode", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
	EXPECT_EQ("lstat_symlink_ok", lstat(link_, &st2), 0);
	CHECK("lstat_is_link", S_ISLNK(st2.st_mode));
	EXPECT_EQ("lstat_link_size_is_target_len", st2.st_size, strlen(path));
	stat(link_, &st2);
	CHECK("stat_follows_symlink", S_ISREG(st2.st_mode) && st2.st_ino == st.st_ino);
	EXPECT_EQ("stat_dir_ok", stat(dir, &st2), 0);
	CHECK("stat_is_dir", S_ISDIR(st2.st_mode));
	EXPECT_EQ("stat_dir_perm_bits", st2.st_mode & 07777, 0751);
	link(path, hard);
	stat(path, &st2);
	EXPECT_EQ("stat_nlink_after_link", st2.st_nlink, 2);
	unlink(hard);

	EXPECT_EQ("newfstatat_cwd", fstatat(AT_FDCWD, path, &st2, 0), 0);
	CHECK("newfstatat_same_inode", st2.st_ino == st.st_ino);
	EXPECT_EQ("newfstatat_nofollow", fstatat(AT_FDCWD, link_, &st2, AT_SYMLINK_NOFOLLOW), 0);
	CHECK("newfstatat_nofollow_is_link", S_ISLNK(st2.st_mode));
	EXPECT_EQ("newfstatat_empty_path", syscall(SYS_newfstatat, fd, "", &st2, AT_EMPTY_PATH), 0);
	CHECK("newfstatat_empty_path_inode", st2.st_ino == st.st_ino);
	EXPECT_ERR("newfstatat_empty_path_without_flag_enoent",
		   syscall(SYS_newfstatat, fd, "", &st2, 0), ENOENT);
	EXPECT_ERR("newfstatat_bad_flags_einval",
		   syscall(SYS_newfstatat, AT_FDCWD, path, &st2, 0x40000000), EINVAL);
	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	EXPECT_EQ("newfstatat_relative_dirfd", syscall(SYS_newfstatat, dfd, path + 5, &st2, 0), 0);
	CHECK("newfstatat_relative_inode", st2.st_ino == st.st_ino);
	close(dfd);
	EXPECT_ERR("newfstatat_closed_dirfd_ebadf",
		   syscall(SYS_newfstatat, h_closed_fd(), "x", &st2, 0), EBADF);

	EXPECT_ERR("stat_missing_enoent", stat("/tmp/st_no_such_file_here", &st2), ENOENT);
	EXPECT_ERR("stat_through_file_enotdir", stat(through, &st2), ENOTDIR);
	EXPECT_ERR("stat_buf_efault", syscall(SYS_stat, path, (void *)1), EFAULT);
	EXPECT_ERR("stat_path_efault", syscall(SYS_stat, (void *)1, &st2), EFAULT);
	EXPECT_ERR("fstat_buf_efault", syscall(SYS_fstat, fd, h_unmapped()), EFAULT);
	EXPECT_ERR("fstat_bad_fd_ebadf", fstat(h_closed_fd(), &st2), EBADF);
	EXPECT_ERR("lstat_missing_enoent", lstat("/tmp/st_no_such_file_here", &st2), ENOENT);
	EXPECT_ERR("stat_empty_path_enoent", syscall(SYS_stat, "", &st2), ENOENT);

	int p[2];
	pipe(p);
	fstat(p[0], &st2);
	CHECK("fstat_pipe_is_fifo", S_ISFIFO(st2.st_mode));
	close(p[0]);
	close(p[1]);
	stat("/dev/null", &st2);
	CHECK("stat_dev_null_is_chr", S_ISCHR(st2.st_mode));
	stat("/", &st2);
	CHECK("stat_root_is_dir", S_ISDIR(st2.st_mode));

	/* size updates are visible through fstat */
	int w = open(path, O_WRONLY | O_APPEND);
	write(w, "!!", 2);
	fstat(fd, &st2);
	EXPECT_EQ("fstat_sees_append", st2.st_size, 13);
	close(w);
	close(fd);

	unlink(link_);
	unlink(path);
	rmdir(dir);
	{
		struct statx sx;
		EXPECT_ERR("statx_both_sync_types_einval", statx(AT_FDCWD, "/", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx), EINVAL);
		EXPECT_ERR("statx_unknown_flag_einval", statx(AT_FDCWD, "/", 0x40000, STATX_BASIC_STATS, &sx), EINVAL);
		EXPECT_EQ("statx_no_automount_dont_sync", statx(AT_FDCWD, "/", AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx), 0);
	}
	return 0;
}
