/* getrandom. */
#include "harness.h"
#include <sys/random.h>

#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif

static int all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

int main(void)
{
	unsigned char a[64], b[64];
	memset(a, 0, sizeof(a));
	EXPECT_EQ("getrandom_default", syscall(SYS_getrandom, a, sizeof(a), 0), 64);
	CHECK("getrandom_not_all_zero", !all_zero(a, sizeof(a)));
	syscall(SYS_getrandom, b, sizeof(b), 0);
	CHECK("getrandom_calls_differ", memcmp(a, b, sizeof(a)) != 0);
	EXPECT_EQ("getrandom_nonblock", syscall(SYS_getrandom, a, sizeof(a), GRND_NONBLOCK), 64);
	EXPECT_EQ("getrandom_random", syscall(SYS_getrandom, a, 16, GRND_RANDOM), 16);
	EXPECT_EQ("getrandom_random_nonblock", syscall(SYS_getrandom, a, 16, GRND_RANDOM | GRND_NONBLOCK), 16);
	EXPECT_EQ("getrandom_insecure", syscall(SYS_getrandom, a, 16, GRND_INSECURE), 16);
	EXPECT_EQ("getrandom_len_zero", syscall(SYS_getrandom, a, 0, 0), 0);
	EXPECT_ERR("getrandom_bad_flags_einval", syscall(SYS_getrandom, a, 16, 0x8), EINVAL);
	EXPECT_ERR("getrandom_high_flag_einval", syscall(SYS_getrandom, a, 16, 0x80000000), EINVAL);
	EXPECT_ERR("getrandom_random_insecure_einval", syscall(SYS_getrandom, a, 16, GRND_RANDOM | GRND_INSECURE), EINVAL);
	EXPECT_ERR("getrandom_efault", syscall(SYS_getrandom, (void *)1, 16, 0), EFAULT);
	EXPECT_ERR("getrandom_unmapped_efault", syscall(SYS_getrandom, h_unmapped(), 16, 0), EFAULT);
	size_t big = 1 << 20;
	unsigned char *buf = malloc(big);
	memset(buf, 0, big);
	long r = syscall(SYS_getrandom, buf, big, 0);
	CHECKF("getrandom_large_buffer", r > 0 && (size_t)r <= big, "r %ld", r);
	CHECK("getrandom_large_tail_filled", r == (long)big ? !all_zero(buf + big - 64, 64) : 1);
	free(buf);
	/* partial fill stops at an unmapped page */
	char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(two + 4096, 4096);
	r = syscall(SYS_getrandom, two + 4096 - 16, 64, 0);
	CHECKF("getrandom_partial_before_fault", r == 16, "r %ld errno %s", r, h_errname(errno));
	munmap(two, 4096);
	return 0;
}
