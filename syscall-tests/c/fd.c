/* open/openat/close/dup/dup2/dup3/fcntl. */
#include "harness.h"
#include <sys/wait.h>

int main(void)
{
	char path[64], dir[64], sub[128];
	h_tmp(path, sizeof(path), "fd");
	h_tmp(dir, sizeof(dir), "fddir");
	snprintf(sub, sizeof(sub), "%s/inner", dir);
	int bad = h_closed_fd();

	EXPECT_ERR("open_missing_enoent", open("/tmp/st_definitely_missing_x/y", O_RDONLY), ENOENT);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	EXPECT_OK("open_creat_excl", fd);
	EXPECT_ERR("open_creat_excl_exists_eexist", open(path, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	EXPECT_ERR("open_bad_path_pointer_efault", syscall(SYS_open, (void *)1, O_RDONLY), EFAULT);
	EXPECT_ERR("open_empty_path_enoent", open("", O_RDONLY), ENOENT);
	EXPECT_ERR("open_file_as_dir_enotdir", open(path, O_RDONLY | O_DIRECTORY), ENOTDIR);
	char slash[80];
	snprintf(slash, sizeof(slash), "%s/x", path);
	EXPECT_ERR("open_through_file_enotdir", open(slash, O_RDONLY), ENOTDIR);
	EXPECT_ERR("open_dir_for_write_eisdir", open("/tmp", O_WRONLY), EISDIR);
	char *longp = malloc(PATH_MAX + 16);
	memset(longp, 'a', PATH_MAX + 15);
	longp[0] = '/';
	longp[PATH_MAX + 15] = 0;
	EXPECT_ERR("open_path_too_long_enametoolong", open(longp, O_RDONLY), ENAMETOOLONG);
	free(longp);
	write(fd, "hello", 5);
	int t = open(path, O_RDWR | O_TRUNC);
	struct stat st;
	fstat(t, &st);
	EXPECT_EQ("open_trunc_truncates", st.st_size, 0);
	close(t);

	/* openat */
	mkdir(dir, 0700);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	EXPECT_OK("open_directory", dfd);
	int in = openat(dfd, "inner", O_RDWR | O_CREAT, 0600);
	EXPECT_OK("openat_relative_to_dirfd", in);
	CHECK("openat_created_in_dir", access(sub, F_OK) == 0);
	close(in);
	EXPECT_ERR("openat_closed_dirfd_ebadf", openat(bad, "inner", O_RDONLY), EBADF);
	EXPECT_ERR("openat_file_dirfd_enotdir", openat(fd, "inner", O_RDONLY), ENOTDIR);
	int abs = openat(bad, sub, O_RDONLY);
	EXPECT_OK("openat_absolute_ignores_dirfd", abs);
	close(abs);
	int cwd = openat(AT_FDCWD, "/tmp", O_RDONLY);
	EXPECT_OK("openat_at_fdcwd", cwd);
	close(cwd);

	/* close */
	int c = dup(fd);
	EXPECT_EQ("close_ok", close(c), 0);
	EXPECT_ERR("close_twice_ebadf", close(c), EBADF);
	EXPECT_ERR("close_negative_ebadf", close(-1), EBADF);

	/* dup family */
	int lowest = open("/dev/null", O_RDONLY);
	close(lowest);
	EXPECT_EQ("dup_returns_lowest_free", dup(fd), lowest);
	close(lowest);
	EXPECT_ERR("dup_bad_fd_ebadf", dup(bad), EBADF);
	EXPECT_EQ("dup2_to_chosen", dup2(fd, 50), 50);
	EXPECT_EQ("dup2_same_fd_returns_it", dup2(fd, fd), fd);
	EXPECT_ERR("dup2_same_bad_fd_ebadf", dup2(bad, bad), EBADF);
	EXPECT_ERR("dup2_bad_oldfd_ebadf", dup2(bad, 51), EBADF);
	EXPECT_ERR("dup2_newfd_out_of_range_ebadf", dup2(fd, -2), EBADF);
	lseek(fd, 0, SEEK_SET);
	write(fd, "abc", 3);
	EXPECT_EQ("dup_shares_offset", lseek(50, 0, SEEK_CUR), 3);
	EXPECT_EQ("dup2_clears_cloexec", fcntl(50, F_GETFD), 0);
	EXPECT_ERR("dup3_same_fd_einval", syscall(SYS_dup3, fd, fd, 0), EINVAL);
	EXPECT_ERR("dup3_bad_flags_einval", syscall(SYS_dup3, fd, 52, O_NONBLOCK), EINVAL);
	EXPECT_EQ("dup3_cloexec", dup3(fd, 52, O_CLOEXEC), 52);
	EXPECT_EQ("dup3_cloexec_set", fcntl(52, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ("dup2_replaces_open_fd", dup2(50, 52), 52);
	EXPECT_EQ("dup2_replaced_has_no_cloexec", fcntl(52, F_GETFD), 0);
	close(50);
	close(52);

	/* fcntl */
	EXPECT_EQ("fcntl_getfd_default", fcntl(fd, F_GETFD), 0);
	EXPECT_EQ("fcntl_setfd", fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
	EXPECT_EQ("fcntl_getfd_after_set", fcntl(fd, F_GETFD), FD_CLOEXEC);
	fcntl(fd, F_SETFD, 0);
	int ce = open(path, O_RDONLY | O_CLOEXEC);
	EXPECT_EQ("open_cloexec_sets_fd_flag", fcntl(ce, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ("fcntl_getfl_accmode_rdonly", fcntl(ce, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(ce);
	int fl = fcntl(fd, F_GETFL);
	EXPECT_EQ("fcntl_getfl_accmode_rdwr", fl & O_ACCMODE, O_RDWR);
	CHECK("fcntl_getfl_no_nonblock", !(fl & O_NONBLOCK));
	EXPECT_EQ("fcntl_setfl_nonblock", fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
	CHECK("fcntl_getfl_has_nonblock", fcntl(fd, F_GETFL) & O_NONBLOCK);
	fcntl(fd, F_SETFL, fl | O_APPEND | O_RDONLY);
	EXPECT_EQ("fcntl_setfl_ignores_accmode", fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	CHECK("fcntl_setfl_append", fcntl(fd, F_GETFL) & O_APPEND);
	fcntl(fd, F_SETFL, fl);
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	CHECKF("fcntl_dupfd_cloexec_min", d >= 100, "got %d", d);
	EXPECT_EQ("fcntl_dupfd_cloexec_flag", fcntl(d, F_GETFD), FD_CLOEXEC);
	int d2 = fcntl(fd, F_DUPFD, 100);
	CHECKF("fcntl_dupfd_next_free", d2 == d + 1, "got %d after %d", d2, d);
	EXPECT_EQ("fcntl_dupfd_no_cloexec", fcntl(d2, F_GETFD), 0);
	close(d);
	close(d2);
	EXPECT_ERR("fcntl_dupfd_negative_einval", fcntl(fd, F_DUPFD, -1), EINVAL);
	EXPECT_ERR("fcntl_bad_fd_ebadf", fcntl(bad, F_GETFD), EBADF);
	EXPECT_ERR("fcntl_unknown_cmd_einval", syscall(SYS_fcntl, fd, 9999, 0), EINVAL);

	close(fd);
	close(dfd);
	unlink(sub);
	rmdir(dir);
	unlink(path);

	/* Two processes opening the same new names with O_CREAT at once: one
	 * creates each, the other opens it; neither fails. */
	{
		int go[2];
		pipe(go);
		pid_t kids[2];
		for (int k = 0; k < 2; k++) {
			kids[k] = fork();
			if (kids[k] == 0) {
				char x, p[64];
				read(go[0], &x, 1);
				int bad = 0;
				for (int r = 0; r < 500; r++) {
					snprintf(p, sizeof(p), "/tmp/st_creat_%d_%d", (int)getppid(), r);
					int f = open(p, O_RDWR | O_CREAT, 0600);
					if (f < 0) {
						bad++;
					} else {
						/* each writes its own byte: one file holds both */
						char c = (char)('A' + k);
						pwrite(f, &c, 1, k);
						close(f);
					}
				}
				_exit(bad > 200 ? 200 : bad);
			}
		}
		write(go[1], "xx", 2);
		int failed = 0;
		for (int k = 0; k < 2; k++) {
			int st;
			waitpid(kids[k], &st, 0);
			failed += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
		}
		int split = 0;
		for (int r = 0; r < 500; r++) {
			char p[64], two[2] = { 0, 0 };
			snprintf(p, sizeof(p), "/tmp/st_creat_%d_%d", (int)getpid(), r);
			int f = open(p, O_RDONLY);
			if (f < 0 || pread(f, two, 2, 0) != 2 || two[0] != 'A' || two[1] != 'B')
				split++;
			if (f >= 0)
				close(f);
			unlink(p);
		}
		EXPECT_EQ("o_creat_race_opens_the_other_file", failed, 0);
		EXPECT_EQ("o_creat_race_one_file_for_both", split, 0);
		close(go[0]);
		close(go[1]);
	}
	return 0;
}
