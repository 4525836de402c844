/* read/write/pread/pwrite/readv/writev on pipes and files. */
#include "harness.h"

int main(void)
{
	char path[64], buf[64];
	int p[2];
	h_tmp(path, sizeof(path), "rw");

	/* pipes */
	EXPECT_OK("pipe_create", pipe(p));
	EXPECT_EQ("pipe_write_returns_len", write(p[1], "hello", 5), 5);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ("pipe_read_returns_len", read(p[0], buf, sizeof(buf)), 5);
	CHECK("pipe_read_contents", memcmp(buf, "hello", 5) == 0);
	EXPECT_EQ("read_zero_count", read(p[0], buf, 0), 0);
	EXPECT_EQ("write_zero_count", write(p[1], buf, 0), 0);
	write(p[1], "abcdef", 6);
	EXPECT_EQ("pipe_partial_read", read(p[0], buf, 4), 4);
	EXPECT_EQ("pipe_read_rest", read(p[0], buf, sizeof(buf)), 2);
	CHECK("pipe_read_rest_contents", memcmp(buf, "ef", 2) == 0);
	EXPECT_ERR("pread_pipe_espipe", pread(p[0], buf, 1, 0), ESPIPE);
	EXPECT_ERR("pwrite_pipe_espipe", pwrite(p[1], "x", 1, 0), ESPIPE);
	EXPECT_ERR("write_read_end_ebadf", write(p[0], "x", 1), EBADF);
	EXPECT_ERR("read_write_end_ebadf", read(p[1], buf, 1), EBADF);
	EXPECT_ERR("write_efault", write(p[1], (void *)1, 5), EFAULT);
	EXPECT_ERR("write_efault_unmapped", write(p[1], h_unmapped(), 5), EFAULT);
	write(p[1], "zz", 2);
	EXPECT_ERR("read_efault", read(p[0], (void *)1, 2), EFAULT);
	/* drain whatever is left, then nonblocking read of an empty pipe */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	EXPECT_ERR("read_empty_nonblock_eagain", read(p[0], buf, 1), EAGAIN);
	close(p[1]);
	EXPECT_EQ("read_eof_after_writer_closed", read(p[0], buf, 1), 0);
	close(p[0]);

	int bad = h_closed_fd();
	EXPECT_ERR("read_closed_fd_ebadf", read(bad, buf, 1), EBADF);
	EXPECT_ERR("write_closed_fd_ebadf", write(bad, "x", 1), EBADF);
	EXPECT_ERR("read_negative_fd_ebadf", read(-1, buf, 1), EBADF);

	/* files */
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	EXPECT_OK("file_open", fd);
	EXPECT_EQ("file_write", write(fd, "0123456789", 10), 10);
	EXPECT_EQ("file_offset_after_write", lseek(fd, 0, SEEK_CUR), 10);
	EXPECT_EQ("file_read_at_eof", read(fd, buf, 10), 0);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ("pread_returns_len", pread(fd, buf, 4, 3), 4);
	CHECK("pread_contents", memcmp(buf, "3456", 4) == 0);
	EXPECT_EQ("pread_keeps_offset", lseek(fd, 0, SEEK_CUR), 10);
	EXPECT_EQ("pread_past_eof_zero", pread(fd, buf, 4, 100), 0);
	EXPECT_EQ("pread_pages_past_eof_zero", pread(fd, buf, 4, 3 * 4096 + 5), 0);
	EXPECT_EQ("pwrite_returns_len", pwrite(fd, "AB", 2, 1), 2);
	EXPECT_EQ("pwrite_keeps_offset", lseek(fd, 0, SEEK_CUR), 10);
	pread(fd, buf, 10, 0);
	CHECK("pwrite_contents", memcmp(buf, "0AB3456789", 10) == 0);
	EXPECT_ERR("pread_negative_offset_einval", pread(fd, buf, 1, -1), EINVAL);
	EXPECT_ERR("pwrite_negative_offset_einval", pwrite(fd, "x", 1, -1), EINVAL);
	EXPECT_ERR("pread_efault", pread(fd, (void *)1, 4, 0), EFAULT);
	EXPECT_EQ("pwrite_extends_file", pwrite(fd, "Z", 1, 20), 1);
	struct stat st;
	fstat(fd, &st);
	EXPECT_EQ("pwrite_extends_size", st.st_size, 21);
	memset(buf, 'x', sizeof(buf));
	pread(fd, buf, 11, 10);
	CHECK("pwrite_hole_reads_zero", buf[0] == 0 && buf[9] == 0 && buf[10] == 'Z');

	/* readv / writev */
	struct iovec iov[3];
	char a[3] = "abc", b[2] = "de", c[4] = "fghi";
	iov[0].iov_base = a; iov[0].iov_len = 3;
	iov[1].iov_base = b; iov[1].iov_len = 2;
	iov[2].iov_base = c; iov[2].iov_len = 4;
	ftruncate(fd, 0);
	lseek(fd, 0, SEEK_SET);
	EXPECT_EQ("writev_total", writev(fd, iov, 3), 9);
	char r1[4] = {0}, r2[5] = {0};
	struct iovec riov[2] = {{r1, 4}, {r2, 5}};
	lseek(fd, 0, SEEK_SET);
	EXPECT_EQ("readv_total", readv(fd, riov, 2), 9);
	CHECK("readv_scatter", memcmp(r1, "abcd", 4) == 0 && memcmp(r2, "efghi", 5) == 0);
	struct iovec zero_iov[2] = {{NULL, 0}, {r1, 2}};
	lseek(fd, 0, SEEK_SET);
	EXPECT_EQ("readv_zero_len_iov", readv(fd, zero_iov, 2), 2);
	EXPECT_ERR("readv_negative_count_einval", readv(fd, riov, -1), EINVAL);
	EXPECT_ERR("readv_too_many_einval", readv(fd, riov, IOV_MAX + 1), EINVAL);
	EXPECT_ERR("writev_bad_iov_pointer_efault", writev(fd, (struct iovec *)1, 1), EFAULT);
	struct iovec badbuf = {(void *)1, 4};
	EXPECT_ERR("writev_bad_buffer_efault", writev(fd, &badbuf, 1), EFAULT);
	EXPECT_EQ("writev_zero_count", writev(fd, iov, 0), 0);
	EXPECT_EQ("preadv_at_offset", preadv(fd, riov, 1, 5), 4);
	CHECK("preadv_contents", memcmp(r1, "fghi", 4) == 0);
	EXPECT_EQ("pwritev_at_offset", pwritev(fd, iov, 1, 1), 3);
	pread(fd, buf, 9, 0);
	CHECK("pwritev_contents", memcmp(buf, "aabcefghi", 9) == 0);
	close(fd);

	/* access mode enforcement */
	fd = open(path, O_RDONLY);
	EXPECT_ERR("write_rdonly_fd_ebadf", write(fd, "x", 1), EBADF);
	close(fd);
	fd = open(path, O_WRONLY);
	EXPECT_ERR("read_wronly_fd_ebadf", read(fd, buf, 1), EBADF);
	close(fd);
	fd = open(path, O_WRONLY | O_APPEND);
	write(fd, "END", 3);
	close(fd);
	fd = open(path, O_RDONLY);
	EXPECT_EQ("append_writes_at_end", pread(fd, buf, 3, 9), 3);
	CHECK("append_contents", memcmp(buf, "END", 3) == 0);
	close(fd);
	fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	EXPECT_ERR("read_directory_eisdir", read(fd, buf, 1), EISDIR);
	close(fd);

	unlink(path);
	return 0;
}
