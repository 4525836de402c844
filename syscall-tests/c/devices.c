/* /dev/null, /dev/zero, /dev/full, /dev/urandom, /dev/random. */
#include "harness.h"
#include <sys/sysmacros.h>

static void check_dev(const char *name, const char *path, unsigned maj, unsigned min)
{
	struct stat st;
	int r = stat(path, &st);
	CHECKF(name, r == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj && minor(st.st_rdev) == min,
	       "r %d mode %o rdev %u:%u", r, st.st_mode, major(st.st_rdev), minor(st.st_rdev));
}

int main(void)
{
	char buf[256];
	check_dev("null_is_chr_1_3", "/dev/null", 1, 3);
	check_dev("zero_is_chr_1_5", "/dev/zero", 1, 5);
	check_dev("full_is_chr_1_7", "/dev/full", 1, 7);
	check_dev("random_is_chr_1_8", "/dev/random", 1, 8);
	check_dev("urandom_is_chr_1_9", "/dev/urandom", 1, 9);

	int fd = open("/dev/null", O_RDWR);
	EXPECT_OK("null_open", fd);
	EXPECT_EQ("null_write_swallows", write(fd, "abc", 3), 3);
	EXPECT_EQ("null_write_large", write(fd, buf, sizeof(buf)), sizeof(buf));
	EXPECT_EQ("null_read_eof", read(fd, buf, sizeof(buf)), 0);
	EXPECT_EQ("null_write_bad_buffer_ok", syscall(SYS_write, fd, (void *)1, 10), 10);
	close(fd);

	fd = open("/dev/zero", O_RDWR);
	memset(buf, 'x', sizeof(buf));
	EXPECT_EQ("zero_read_full", read(fd, buf, sizeof(buf)), sizeof(buf));
	int zero = 1;
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i])
			zero = 0;
	CHECK("zero_reads_zeros", zero);
	EXPECT_EQ("zero_write_ok", write(fd, "abc", 3), 3);
	EXPECT_ERR("zero_read_efault", syscall(SYS_read, fd, (void *)1, 10), EFAULT);
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT_OK("zero_mmap_private", m);
	CHECK("zero_mmap_is_zero_and_writable", m != MAP_FAILED && m[100] == 0 && (m[100] = 5) == 5);
	if (m != MAP_FAILED)
		munmap(m, 8192);
	close(fd);

	fd = open("/dev/full", O_RDWR);
	EXPECT_ERR("full_write_enospc", write(fd, "abc", 3), ENOSPC);
	memset(buf, 'x', sizeof(buf));
	EXPECT_EQ("full_read_ok", read(fd, buf, 16), 16);
	CHECK("full_reads_zeros", buf[0] == 0 && buf[15] == 0);
	close(fd);

	fd = open("/dev/urandom", O_RDONLY);
	unsigned char a[64] = {0}, b[64] = {0};
	EXPECT_EQ("urandom_read", read(fd, a, sizeof(a)), 64);
	read(fd, b, sizeof(b));
	CHECK("urandom_differs", memcmp(a, b, sizeof(a)) != 0);
	int nz = 0;
	for (int i = 0; i < 64; i++)
		nz += a[i] != 0;
	CHECK("urandom_not_zero", nz > 32);
	close(fd);
	fd = open("/dev/random", O_RDONLY | O_NONBLOCK);
	EXPECT_EQ("random_nonblock_read", read(fd, a, 16), 16);
	close(fd);

	EXPECT_EQ("dev_fd_is_proc_self_fd", readlink("/dev/fd", buf, sizeof(buf)), 13);
	CHECK("dev_fd_target", memcmp(buf, "/proc/self/fd", 13) == 0);
	EXPECT_ERR("dev_missing_enoent", open("/dev/st_no_such_device", O_RDONLY), ENOENT);
	return 0;
}
