/* Moving data between files in the kernel: sendfile, copy_file_range,
 * splice and tee, with offsets given or taken from the file position, and
 * the errno of each kind of bad input. Also sync, syncfs and
 * sync_file_range. */
#define _GNU_SOURCE
#include "harness.h"
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>

static char a_path[64], b_path[64];

static int fill(const char *p, const char *s)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, s, strlen(s));
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int contents(int fd, char *buf, size_t n)
{
	memset(buf, 0, n);
	return (int)pread(fd, buf, n - 1, 0);
}

int main(void)
{
	char buf[128];
	h_tmp(a_path, sizeof(a_path), "copya");
	h_tmp(b_path, sizeof(b_path), "copyb");
	int a = fill(a_path, "hello, world");
	int b = fill(b_path, "");

	/* ---- sendfile ---- */
	EXPECT_EQ("sendfile_pos", sendfile(b, a, NULL, 5), 5);
	EXPECT_EQ("sendfile_advanced_in", lseek(a, 0, SEEK_CUR), 5);
	EXPECT_EQ("sendfile_advanced_out", lseek(b, 0, SEEK_CUR), 5);
	off_t off = 7;
	EXPECT_EQ("sendfile_offset", sendfile(b, a, &off, 100), 5);
	EXPECT_EQ("sendfile_offset_updated", off, 12);
	EXPECT_EQ("sendfile_offset_keeps_pos", lseek(a, 0, SEEK_CUR), 5);
	contents(b, buf, sizeof(buf));
	CHECKF("sendfile_data", strcmp(buf, "helloworld") == 0, "got %s", buf);
	EXPECT_EQ("sendfile_at_eof", sendfile(b, a, &off, 10), 0);
	int p[2];
	pipe(p);
	off = 0;
	EXPECT_EQ("sendfile_to_pipe", sendfile(p[1], a, &off, 5), 5);
	EXPECT_EQ("sendfile_pipe_got", read(p[0], buf, sizeof(buf)), 5);
	EXPECT_ERR("sendfile_badfd", sendfile(b, -1, NULL, 1), EBADF);
	int ro = open(b_path, O_RDONLY);
	EXPECT_ERR("sendfile_out_not_writable", sendfile(ro, a, NULL, 1), EBADF);
	int wo = open(a_path, O_WRONLY);
	EXPECT_ERR("sendfile_in_not_readable", sendfile(b, wo, NULL, 1), EBADF);
	EXPECT_ERR("sendfile_bad_offset_efault", sendfile(b, a, (off_t *)8, 1), EFAULT);
	off = -1;
	EXPECT_ERR("sendfile_negative_offset_einval", sendfile(b, a, &off, 1), EINVAL);
	int ap = open(b_path, O_WRONLY | O_APPEND);
	EXPECT_ERR("sendfile_append_out_einval", sendfile(ap, a, NULL, 1), EINVAL);
	close(ap);

	/* ---- copy_file_range ---- */
	int c = fill(b_path, "");
	lseek(a, 0, SEEK_SET);
	EXPECT_EQ("cfr_pos", copy_file_range(a, NULL, c, NULL, 5, 0), 5);
	EXPECT_EQ("cfr_in_pos", lseek(a, 0, SEEK_CUR), 5);
	EXPECT_EQ("cfr_out_pos", lseek(c, 0, SEEK_CUR), 5);
	loff_t in = 7, out = 20;
	EXPECT_EQ("cfr_offsets", copy_file_range(a, &in, c, &out, 100, 0), 5);
	CHECK("cfr_offsets_updated", in == 12 && out == 25);
	EXPECT_EQ("cfr_offsets_keep_pos", lseek(c, 0, SEEK_CUR), 5);
	EXPECT_EQ("cfr_hole_then_data", pread(c, buf, sizeof(buf), 0), 25);
	CHECK("cfr_data", memcmp(buf, "hello", 5) == 0 && buf[5] == 0 && memcmp(buf + 20, "world", 5) == 0);
	in = 100;
	EXPECT_EQ("cfr_past_eof_zero", copy_file_range(a, &in, c, NULL, 5, 0), 0);
	EXPECT_ERR("cfr_flags_einval", copy_file_range(a, NULL, c, NULL, 1, 1), EINVAL);
	EXPECT_ERR("cfr_badfd", copy_file_range(-1, NULL, c, NULL, 1, 0), EBADF);
	EXPECT_ERR("cfr_out_rdonly_ebadf", copy_file_range(a, NULL, ro, NULL, 1, 0), EBADF);
	EXPECT_ERR("cfr_in_wronly_ebadf", copy_file_range(wo, NULL, c, NULL, 1, 0), EBADF);
	ap = open(b_path, O_WRONLY | O_APPEND);
	EXPECT_ERR("cfr_out_append_ebadf", copy_file_range(a, NULL, ap, NULL, 1, 0), EBADF);
	close(ap);
	EXPECT_ERR("cfr_pipe_einval", copy_file_range(a, NULL, p[1], NULL, 1, 0), EINVAL);
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	EXPECT_ERR("cfr_dir_eisdir", copy_file_range(dir, NULL, c, NULL, 1, 0), EISDIR);
	in = 0;
	out = 2;
	EXPECT_ERR("cfr_same_file_overlap_einval", copy_file_range(a, &in, a, &out, 5, 0), EINVAL);
	in = -1;
	EXPECT_ERR("cfr_negative_offset_eoverflow", copy_file_range(a, &in, c, NULL, 1, 0), EOVERFLOW);

	/* ---- splice and tee ---- */
	int q[2];
	pipe(q);
	loff_t so = 0;
	EXPECT_EQ("splice_file_to_pipe", splice(a, &so, p[1], NULL, 12, 0), 12);
	EXPECT_EQ("splice_offset_updated", so, 12);
	EXPECT_EQ("tee_pipe_to_pipe", tee(p[0], q[1], 100, 0), 12);
	int d = fill(b_path, "");
	EXPECT_EQ("splice_pipe_to_file", splice(p[0], NULL, d, NULL, 100, 0), 12);
	contents(d, buf, sizeof(buf));
	CHECKF("splice_data", strcmp(buf, "hello, world") == 0, "got %s", buf);
	EXPECT_EQ("tee_left_copy", read(q[0], buf, sizeof(buf)), 12);
	EXPECT_ERR("splice_empty_pipe_nonblock_eagain", splice(p[0], NULL, d, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
	EXPECT_ERR("splice_no_pipe_einval", splice(a, NULL, d, NULL, 1, 0), EINVAL);
	EXPECT_ERR("splice_pipe_offset_espipe", splice(p[0], &so, d, NULL, 1, 0), ESPIPE);
	EXPECT_ERR("splice_badfd", splice(-1, NULL, p[1], NULL, 1, 0), EBADF);
	EXPECT_ERR("tee_not_pipe_einval", tee(a, q[1], 1, 0), EINVAL);
	EXPECT_ERR("tee_empty_nonblock_eagain", tee(p[0], q[1], 1, SPLICE_F_NONBLOCK), EAGAIN);
	EXPECT_EQ("splice_zero_len", splice(a, NULL, p[1], NULL, 0, 0), 0);
	close(p[1]);
	EXPECT_EQ("splice_eof_pipe", splice(p[0], NULL, d, NULL, 10, 0), 0);

	/* ---- sync family ---- */
	EXPECT_EQ("sync", syscall(SYS_sync), 0);
	EXPECT_EQ("syncfs", syncfs(a), 0);
	EXPECT_ERR("syncfs_badfd", syncfs(-1), EBADF);
	EXPECT_EQ("sync_file_range", sync_file_range(a, 0, 0, SYNC_FILE_RANGE_WRITE), 0);
	EXPECT_ERR("sync_file_range_bad_flags", sync_file_range(a, 0, 0, 8), EINVAL);
	EXPECT_ERR("sync_file_range_negative", sync_file_range(a, -1, 0, 0), EINVAL);
	EXPECT_ERR("sync_file_range_pipe_espipe", sync_file_range(p[0], 0, 0, 0), ESPIPE);

	unlink(a_path);
	unlink(b_path);
	/* vmsplice: iovecs into a pipe's write end, out of its read end. */
	{
		int vp[2];
		pipe(vp);
		char a1[] = "vm", a2[] = "splice";
		struct iovec in[2] = {{a1, 2}, {a2, 6}};
		EXPECT_EQ("vmsplice_into_pipe", vmsplice(vp[1], in, 2, 0), 8);
		char b1[3] = {0}, b2[6] = {0};
		struct iovec out[2] = {{b1, 3}, {b2, 5}};
		EXPECT_EQ("vmsplice_out_of_pipe", vmsplice(vp[0], out, 2, 0), 8);
		CHECK("vmsplice_content", memcmp(b1, "vms", 3) == 0 && memcmp(b2, "plice", 5) == 0);
		EXPECT_ERR("vmsplice_empty_nonblock_eagain", vmsplice(vp[0], out, 1, SPLICE_F_NONBLOCK), EAGAIN);
		EXPECT_ERR("vmsplice_bad_flag_einval", vmsplice(vp[1], in, 1, 0x100), EINVAL);
		int reg = open("/etc/passwd", O_RDONLY);
		EXPECT_ERR("vmsplice_not_a_pipe_ebadf", vmsplice(reg, out, 1, 0), EBADF);
		close(reg);
		EXPECT_EQ("vmsplice_no_segments", vmsplice(vp[1], in, 0, 0), 0);
		close(vp[0]);
		close(vp[1]);
	}
	/* An iovec claiming far more than is mapped: what is there, or
	 * EFAULT; never the sandbox's end. */
	{
		int hp[2];
		pipe(hp);
		fcntl(hp[1], F_SETFL, O_NONBLOCK);
		char small[16] = "0123456789abcdef";
		struct iovec huge = {small, 1ULL << 44};
		errno = 0;
		ssize_t r = writev(hp[1], &huge, 1);
		CHECKF("writev_huge_iovec", r > 0 || errno == EFAULT, "r %zd errno %s", r, h_errname(errno));
		errno = 0;
		r = vmsplice(hp[1], &huge, 1, SPLICE_F_NONBLOCK);
		CHECKF("vmsplice_huge_iovec", r > 0 || errno == EFAULT || errno == EAGAIN, "r %zd errno %s", r, h_errname(errno));
		close(hp[0]);
		close(hp[1]);
	}
	return 0;
}
