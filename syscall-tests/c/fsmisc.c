/* creat, utime, utimes, futimesat, mknod/mknodat and fallocate, with the
 * errno of bad input. */
#define _GNU_SOURCE
#include "harness.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <utime.h>
#include <sys/wait.h>
#include <sys/statfs.h>

int main(void)
{
	char path[64], node[80];
	struct stat st;
	h_tmp(path, sizeof(path), "fsmisc");

	/* creat */
	int fd = creat(path, 0640);
	EXPECT_OK("creat", fd);
	EXPECT_EQ("creat_write_only", fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	EXPECT_EQ("creat_write", write(fd, "abcdef", 6), 6);
	close(fd);
	fd = creat(path, 0640);
	EXPECT_OK("creat_again_truncates", fd);
	fstat(fd, &st);
	EXPECT_EQ("creat_truncated", st.st_size, 0);

	/* utime, utimes, futimesat */
	struct utimbuf ub = { .actime = 1000, .modtime = 2000 };
	EXPECT_EQ("utime", utime(path, &ub), 0);
	stat(path, &st);
	CHECK("utime_set", st.st_atime == 1000 && st.st_mtime == 2000);
	struct timeval tv[2] = { { 3000, 5 }, { 4000, 6 } };
	EXPECT_EQ("utimes", utimes(path, tv), 0);
	stat(path, &st);
	CHECK("utimes_set", st.st_atime == 3000 && st.st_mtime == 4000 && st.st_mtim.tv_nsec == 6000);
	tv[0].tv_usec = 1000000;
	EXPECT_ERR("utimes_bad_usec_einval", utimes(path, tv), EINVAL);
	EXPECT_EQ("utime_null_now", utime(path, NULL), 0);
	stat(path, &st);
	CHECK("utime_null_is_now", st.st_mtime > 1000000000);
	tv[0].tv_usec = 0;
	EXPECT_EQ("futimesat", syscall(SYS_futimesat, AT_FDCWD, path, tv), 0);
	stat(path, &st);
	CHECK("futimesat_set", st.st_mtime == 4000);
	EXPECT_ERR("utimes_missing_enoent", utimes("/tmp/st_no_such_file_here", NULL), ENOENT);

	/* mknod */
	snprintf(node, sizeof(node), "%s_fifo", path);
	EXPECT_EQ("mknod_fifo", mknod(node, S_IFIFO | 0600, 0), 0);
	stat(node, &st);
	CHECK("mknod_fifo_kind", S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0600);
	EXPECT_ERR("mknod_exists_eexist", mknod(node, S_IFIFO | 0600, 0), EEXIST);
	unlink(node);
	snprintf(node, sizeof(node), "%s_reg", path);
	EXPECT_EQ("mknod_regular", mknodat(AT_FDCWD, node, S_IFREG | 0644, 0), 0);
	stat(node, &st);
	CHECK("mknod_regular_kind", S_ISREG(st.st_mode) && st.st_size == 0);
	unlink(node);
	EXPECT_EQ("mknod_zero_type_regular", mknod(node, 0644, 0), 0);
	stat(node, &st);
	CHECK("mknod_zero_type_is_regular", S_ISREG(st.st_mode));
	unlink(node);
	EXPECT_ERR("mknod_bad_type_einval", mknod(node, 0170000 | 0644, 0), EINVAL);
	EXPECT_ERR("mknod_dir_eperm", mknod(node, S_IFDIR | 0755, 0), EPERM);
	EXPECT_ERR("mknod_missing_parent_enoent", mknod("/tmp/st_no_dir/x", S_IFIFO | 0600, 0), ENOENT);

	/* A FIFO: opens wait for the other side; data flows between them. */
	snprintf(node, sizeof(node), "%s_fifo2", path);
	EXPECT_EQ("mkfifo", mkfifo(node, 0600), 0);
	EXPECT_ERR("fifo_write_nonblock_no_reader_enxio", open(node, O_WRONLY | O_NONBLOCK), ENXIO);
	int r = open(node, O_RDONLY | O_NONBLOCK);
	EXPECT_OK("fifo_read_nonblock_opens", r);
	int w = open(node, O_WRONLY | O_NONBLOCK);
	EXPECT_OK("fifo_write_nonblock_with_reader", w);
	EXPECT_EQ("fifo_write", write(w, "ab", 2), 2);
	char fb[8] = { 0 };
	EXPECT_EQ("fifo_read", read(r, fb, sizeof(fb)), 2);
	EXPECT_ERR("fifo_lseek_espipe", lseek(r, 0, SEEK_SET), ESPIPE);
	fstat(r, &st);
	CHECK("fifo_fstat_kind", S_ISFIFO(st.st_mode));
	close(w);
	EXPECT_EQ("fifo_eof_after_writer_closes", read(r, fb, sizeof(fb)), 0);
	close(r);
	int rw = open(node, O_RDWR);
	EXPECT_OK("fifo_rdwr_opens_at_once", rw);
	EXPECT_EQ("fifo_rdwr_write", write(rw, "x", 1), 1);
	EXPECT_EQ("fifo_rdwr_read", read(rw, fb, 1), 1);
	close(rw);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		int cw = open(node, O_WRONLY); /* waits for the reader */
		write(cw, "hello", 5);
		close(cw);
		_exit(0);
	}
	r = open(node, O_RDONLY); /* waits for the writer */
	EXPECT_OK("fifo_blocking_open_read", r);
	memset(fb, 0, sizeof(fb));
	int got = 0, n;
	while ((n = read(r, fb + got, sizeof(fb) - 1 - got)) > 0)
		got += n;
	CHECKF("fifo_blocking_data", got == 5 && memcmp(fb, "hello", 5) == 0, "got %d %s", got, fb);
	close(r);
	waitpid(c, NULL, 0);
	unlink(node);

	/* renameat2 flags */
	{
		char x[80], y[80], b2[8] = { 0 };
		snprintf(x, sizeof(x), "%s_x", path);
		snprintf(y, sizeof(y), "%s_y", path);
		int fx = open(x, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		write(fx, "X", 1);
		close(fx);
		int fy = open(y, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		write(fy, "Y", 1);
		close(fy);
		EXPECT_ERR("renameat2_noreplace_eexist", renameat2(AT_FDCWD, x, AT_FDCWD, y, RENAME_NOREPLACE), EEXIST);
		EXPECT_EQ("renameat2_exchange", renameat2(AT_FDCWD, x, AT_FDCWD, y, RENAME_EXCHANGE), 0);
		fx = open(x, O_RDONLY);
		read(fx, b2, 1);
		close(fx);
		CHECKF("renameat2_exchanged", b2[0] == 'Y', "x holds %c", b2[0]);
		unlink(y);
		EXPECT_ERR("renameat2_exchange_missing_enoent", renameat2(AT_FDCWD, x, AT_FDCWD, y, RENAME_EXCHANGE), ENOENT);
		EXPECT_ERR("renameat2_both_flags_einval", renameat2(AT_FDCWD, x, AT_FDCWD, y, RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
		EXPECT_ERR("renameat2_bad_flag_einval", renameat2(AT_FDCWD, x, AT_FDCWD, y, 64), EINVAL);
		EXPECT_EQ("renameat2_noreplace_free", renameat2(AT_FDCWD, x, AT_FDCWD, y, RENAME_NOREPLACE), 0);
		unlink(y);
	}

	/* O_TMPFILE, then a name for it with linkat(AT_EMPTY_PATH) */
	{
		int tf = open("/tmp", O_TMPFILE | O_RDWR, 0600);
		EXPECT_OK("o_tmpfile", tf);
		fstat(tf, &st);
		CHECK("o_tmpfile_unlinked_regular", S_ISREG(st.st_mode) && st.st_nlink == 0);
		EXPECT_EQ("o_tmpfile_write", write(tf, "tmp!", 4), 4);
		char named[80], b3[8] = { 0 };
		snprintf(named, sizeof(named), "%s_named", path);
		EXPECT_EQ("linkat_empty_path", linkat(tf, "", AT_FDCWD, named, AT_EMPTY_PATH), 0);
		int nf = open(named, O_RDONLY);
		read(nf, b3, 4);
		close(nf);
		CHECK("linked_tmpfile_content", memcmp(b3, "tmp!", 4) == 0);
		unlink(named);
		close(tf);
		EXPECT_ERR("o_tmpfile_rdonly_einval", open("/tmp", O_TMPFILE | O_RDONLY, 0600), EINVAL);
		EXPECT_ERR("o_tmpfile_not_dir_enotdir", open(path, O_TMPFILE | O_RDWR, 0600), ENOTDIR);
	}

	/* fallocate */
	close(fd);
	fd = open(path, O_RDWR);
	EXPECT_EQ("fallocate_extend", fallocate(fd, 0, 0, 8192), 0);
	fstat(fd, &st);
	EXPECT_EQ("fallocate_size", st.st_size, 8192);
	EXPECT_EQ("fallocate_keep_size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 4096), 0);
	fstat(fd, &st);
	EXPECT_EQ("fallocate_kept", st.st_size, 8192);
	pwrite(fd, "xxxxxxxx", 8, 100);
	EXPECT_EQ("fallocate_punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), 0);
	char b[8] = { 1 };
	pread(fd, b, 8, 100);
	CHECK("punched_zero", b[0] == 0 && b[7] == 0);
	fstat(fd, &st);
	EXPECT_EQ("punch_keeps_size", st.st_size, 8192);
	EXPECT_ERR("fallocate_punch_needs_keep_size", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
	EXPECT_ERR("fallocate_len_zero_einval", fallocate(fd, 0, 0, 0), EINVAL);
	EXPECT_ERR("fallocate_negative_offset_einval", fallocate(fd, 0, -1, 10), EINVAL);
	int ro = open(path, O_RDONLY);
	EXPECT_ERR("fallocate_rdonly_ebadf", fallocate(ro, 0, 0, 10), EBADF);
	int p[2];
	pipe(p);
	EXPECT_ERR("fallocate_pipe_espipe", fallocate(p[1], 0, 0, 10), ESPIPE);
	EXPECT_ERR("fallocate_badfd", fallocate(-1, 0, 0, 10), EBADF);
	close(fd);
	unlink(path);
	/* statfs of a directory made here: the filesystem of its parent
	 * (/tmp's), not another one. */
	{
		char dir[80];
		struct statfs a, b;
		snprintf(dir, sizeof(dir), "%s.dir", path);
		mkdir(dir, 0755);
		EXPECT_OK("statfs_new_dir", statfs(dir, &a));
		statfs("/tmp", &b);
		CHECKF("statfs_new_dir_is_parents", a.f_type == b.f_type && a.f_blocks == b.f_blocks && a.f_bsize == b.f_bsize,
		       "type %lx/%lx blocks %llu/%llu", (long)a.f_type, (long)b.f_type, (unsigned long long)a.f_blocks, (unsigned long long)b.f_blocks);
		rmdir(dir);
	}
	/* readahead: a hint for regular files open for reading. */
	{
		int r = open("/etc/passwd", O_RDONLY);
		EXPECT_OK("readahead_regular", readahead(r, 0, 1 << 20));
		close(r);
		int w = open(path, O_WRONLY);
		EXPECT_ERR("readahead_write_only_ebadf", readahead(w, 0, 10), EBADF);
		close(w);
		int o = open("/etc/passwd", O_PATH);
		EXPECT_ERR("readahead_o_path_ebadf", readahead(o, 0, 10), EBADF);
		close(o);
		int p[2];
		pipe(p);
		EXPECT_ERR("readahead_pipe_einval", readahead(p[0], 0, 10), EINVAL);
		close(p[0]);
		close(p[1]);
		int d = open("/tmp", O_RDONLY | O_DIRECTORY);
		EXPECT_ERR("readahead_dir_einval", readahead(d, 0, 10), EINVAL);
		close(d);
		int n = open("/dev/null", O_RDONLY);
		EXPECT_ERR("readahead_chardev_einval", readahead(n, 0, 10), EINVAL);
		close(n);
		EXPECT_ERR("readahead_bad_fd", readahead(999, 0, 10), EBADF);
	}
	return 0;
}
