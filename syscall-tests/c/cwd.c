/* getcwd/chdir/fchdir. */
#include "harness.h"

int main(void)
{
	char dir[64], sub[96], file[96], buf[PATH_MAX], orig[PATH_MAX];
	h_tmp(dir, sizeof(dir), "cwd");
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	mkdir(dir, 0700);
	mkdir(sub, 0700);
	h_write_file(file, "x", 1, 0600);
	getcwd(orig, sizeof(orig));

	EXPECT_EQ("chdir_root", chdir("/"), 0);
	long r = syscall(SYS_getcwd, buf, sizeof(buf));
	CHECKF("getcwd_root", r == 2 && strcmp(buf, "/") == 0, "r %ld '%s'", r, buf);
	EXPECT_EQ("chdir_tmp_dir", chdir(dir), 0);
	r = syscall(SYS_getcwd, buf, sizeof(buf));
	CHECKF("getcwd_returns_path", strcmp(buf, dir) == 0, "'%s'", buf);
	EXPECT_EQ("getcwd_raw_returns_len_plus_one", r, (long)strlen(dir) + 1);
	EXPECT_EQ("chdir_relative", chdir("sub"), 0);
	getcwd(buf, sizeof(buf));
	CHECKF("getcwd_after_relative", strcmp(buf, sub) == 0, "'%s'", buf);
	EXPECT_EQ("chdir_dotdot", chdir(".."), 0);
	getcwd(buf, sizeof(buf));
	CHECKF("getcwd_after_dotdot", strcmp(buf, dir) == 0, "'%s'", buf);
	int fd = open("file", O_RDONLY);
	EXPECT_OK("relative_open_uses_cwd", fd);
	close(fd);

	EXPECT_ERR("chdir_missing_enoent", chdir("/tmp/st_no_such_dir_x"), ENOENT);
	EXPECT_ERR("chdir_file_enotdir", chdir(file), ENOTDIR);
	EXPECT_ERR("chdir_empty_enoent", chdir(""), ENOENT);
	EXPECT_ERR("chdir_efault", syscall(SYS_chdir, (void *)1), EFAULT);
	EXPECT_ERR("getcwd_size_one_erange", syscall(SYS_getcwd, buf, 1), ERANGE);
	EXPECT_ERR("getcwd_size_zero_erange", syscall(SYS_getcwd, buf, 0), ERANGE);
	EXPECT_ERR("getcwd_exact_len_erange", syscall(SYS_getcwd, buf, strlen(dir)), ERANGE);
	EXPECT_ERR("getcwd_efault", syscall(SYS_getcwd, (void *)1, sizeof(buf)), EFAULT);
	getcwd(buf, sizeof(buf));
	CHECK("cwd_unchanged_after_errors", strcmp(buf, dir) == 0);

	int dfd = open(sub, O_RDONLY | O_DIRECTORY);
	EXPECT_EQ("fchdir", fchdir(dfd), 0);
	getcwd(buf, sizeof(buf));
	CHECKF("getcwd_after_fchdir", strcmp(buf, sub) == 0, "'%s'", buf);
	close(dfd);
	int ffd = open(file, O_RDONLY);
	EXPECT_ERR("fchdir_file_enotdir", fchdir(ffd), ENOTDIR);
	close(ffd);
	EXPECT_ERR("fchdir_bad_fd_ebadf", fchdir(h_closed_fd()), EBADF);

	/* cwd is per process: a child's chdir doesn't move us */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		_exit(chdir("/") == 0 ? 0 : 1);
	}
	waitpid(pid, NULL, 0);
	getcwd(buf, sizeof(buf));
	CHECK("child_chdir_not_shared", strcmp(buf, sub) == 0);

	/* removed cwd */
	rmdir(sub);
	EXPECT_ERR("getcwd_removed_dir_enoent", syscall(SYS_getcwd, buf, sizeof(buf)), ENOENT);
	EXPECT_ERR("create_in_removed_cwd_enoent", open("new", O_CREAT | O_WRONLY, 0600), ENOENT);
	EXPECT_EQ("chdir_out_of_removed", chdir(dir), 0);

	chdir(orig);
	unlink(file);
	rmdir(dir);
	return 0;
}
