/* pipe/pipe2. */
#include "harness.h"
#include <sys/ioctl.h>
#include <poll.h>

int main(void)
{
	int p[2], q[2];
	char buf[128];

	EXPECT_EQ("pipe_ok", syscall(SYS_pipe, p), 0);
	CHECK("pipe_distinct_fds", p[0] >= 0 && p[1] >= 0 && p[0] != p[1]);
	EXPECT_EQ("pipe_read_end_rdonly", fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	EXPECT_EQ("pipe_write_end_wronly", fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY);
	EXPECT_EQ("pipe_no_cloexec", fcntl(p[0], F_GETFD), 0);
	struct stat st;
	fstat(p[0], &st);
	CHECK("pipe_is_fifo", S_ISFIFO(st.st_mode));
	write(p[1], "data", 4);
	EXPECT_EQ("pipe_roundtrip", read(p[0], buf, sizeof(buf)), 4);
	EXPECT_EQ("pipe_default_size", fcntl(p[0], F_GETPIPE_SZ), 65536);
	EXPECT_ERR("write_to_read_end_ebadf", write(p[0], "x", 1), EBADF);

	/* fill to capacity */
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	memset(buf, 'a', sizeof(buf));
	long total = 0, r;
	while ((r = write(p[1], buf, sizeof(buf))) > 0)
		total += r;
	EXPECT_EQ("fill_ends_eagain", errno, EAGAIN);
	EXPECT_EQ("fill_capacity", total, 65536);
	int avail = -1;
	ioctl(p[0], FIONREAD, &avail);
	EXPECT_EQ("fionread_reports_bytes", avail, 65536);
	close(p[0]);
	close(p[1]);

	EXPECT_EQ("pipe2_zero_flags", syscall(SYS_pipe2, q, 0), 0);
	EXPECT_EQ("pipe2_zero_flags_no_cloexec", fcntl(q[1], F_GETFD), 0);
	close(q[0]);
	close(q[1]);
	EXPECT_EQ("pipe2_cloexec", syscall(SYS_pipe2, q, O_CLOEXEC), 0);
	CHECK("pipe2_cloexec_both_ends",
	      fcntl(q[0], F_GETFD) == FD_CLOEXEC && fcntl(q[1], F_GETFD) == FD_CLOEXEC);
	close(q[0]);
	close(q[1]);
	EXPECT_EQ("pipe2_nonblock", syscall(SYS_pipe2, q, O_NONBLOCK), 0);
	CHECK("pipe2_nonblock_both_ends",
	      (fcntl(q[0], F_GETFL) & O_NONBLOCK) && (fcntl(q[1], F_GETFL) & O_NONBLOCK));
	EXPECT_ERR("pipe2_nonblock_read_eagain", read(q[0], buf, 1), EAGAIN);
	close(q[0]);
	close(q[1]);
	EXPECT_ERR("pipe2_bad_flags_einval", syscall(SYS_pipe2, q, O_TRUNC), EINVAL);
	EXPECT_ERR("pipe2_rdwr_flag_einval", syscall(SYS_pipe2, q, O_RDWR), EINVAL);
	EXPECT_ERR("pipe_efault", syscall(SYS_pipe, (void *)1), EFAULT);
	EXPECT_ERR("pipe2_efault", syscall(SYS_pipe2, h_unmapped(), 0), EFAULT);
	/* a failed pipe2 must not leak fds: the next fd is still the lowest */
	int lowest = open("/dev/null", O_RDONLY);
	close(lowest);
	syscall(SYS_pipe2, (void *)1, 0);
	int again = open("/dev/null", O_RDONLY);
	EXPECT_EQ("pipe_efault_no_fd_leak", again, lowest);
	close(again);

	/* set the pipe size */
	pipe(p);
	CHECKF("setpipe_sz", fcntl(p[1], F_SETPIPE_SZ, 4096 * 4) >= 4096 * 4, "errno %s", h_errname(errno));
	EXPECT_EQ("getpipe_sz_after_set", fcntl(p[1], F_GETPIPE_SZ), 4096 * 4);
	char big[8192];
	memset(big, 'b', sizeof(big));
	write(p[1], big, sizeof(big));
	EXPECT_ERR("setpipe_sz_below_content_ebusy", fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
	close(p[0]);
	close(p[1]);

	/* parent and child talk over a pipe */
	pipe(p);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		write(p[1], "from child", 10);
		_exit(0);
	}
	close(p[1]);
	memset(buf, 0, sizeof(buf));
	long got = 0;
	while ((r = read(p[0], buf + got, sizeof(buf) - got)) > 0)
		got += r;
	CHECK("pipe_across_fork", got == 10 && memcmp(buf, "from child", 10) == 0);
	waitpid(pid, NULL, 0);
	close(p[0]);
	/* POLLOUT means room for an atomic write: a full pipe with a few
	 * bytes read is still not writable; a page read makes it so. */
	{
		int q[2];
		static char blob[65536];
		pipe2(q, O_NONBLOCK);
		long put = 0, r;
		while ((r = write(q[1], blob, sizeof(blob))) > 0)
			put += r;
		struct pollfd pf = { .fd = q[1], .events = POLLOUT };
		EXPECT_EQ("full_pipe_not_pollout", poll(&pf, 1, 0), 0);
		char small[100];
		EXPECT_EQ("read_a_little", read(q[0], small, sizeof(small)), 100);
		pf.revents = 0;
		EXPECT_EQ("few_bytes_free_not_pollout", poll(&pf, 1, 0), 0);
		EXPECT_EQ("read_a_page", read(q[0], blob, 4096), 4096);
		pf.revents = 0;
		CHECKF("page_free_pollout", poll(&pf, 1, 0) == 1 && (pf.revents & POLLOUT), "revents %#x", pf.revents);
		CHECKF("filled_to_capacity", put == 65536, "put %ld", put);
		close(q[0]);
		close(q[1]);
	}
	/* Bad buffers: EFAULT, and nothing goes in or comes out; a write
	 * wrapping around the buffer's end arrives whole. */
	{
		int q[2], n = -1;
		pipe(q);
		EXPECT_ERR("write_bad_buffer_efault", write(q[1], h_unmapped(), 100), EFAULT);
		ioctl(q[0], FIONREAD, &n);
		EXPECT_EQ("write_bad_buffer_puts_nothing", n, 0);
		write(q[1], "abc", 3);
		EXPECT_ERR("read_bad_buffer_efault", read(q[0], h_unmapped(), 100), EFAULT);
		ioctl(q[0], FIONREAD, &n);
		EXPECT_EQ("read_bad_buffer_takes_nothing", n, 3);
		char got[4] = { 0 };
		CHECK("data_intact_after_efault", read(q[0], got, 3) == 3 && memcmp(got, "abc", 3) == 0);
		static char out[60000], in[60000];
		for (int i = 0; i < (int)sizeof(out); i++)
			out[i] = (char)(i * 7);
		write(q[1], out, 40000);
		read(q[0], in, 40000);
		EXPECT_EQ("write_wrapping_around", write(q[1], out, sizeof(out)), (long)sizeof(out));
		long have = 0;
		while (have < (long)sizeof(in) && (r = read(q[0], in + have, sizeof(in) - have)) > 0)
			have += r;
		CHECK("wrapped_write_reads_back", have == (long)sizeof(in) && memcmp(in, out, sizeof(in)) == 0);
		close(q[0]);
		close(q[1]);
	}
	return 0;
}
