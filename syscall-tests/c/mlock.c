/* mincore(2): touched pages resident, far untouched ones not, holes
 * ENOMEM, unaligned EINVAL, a bad vector EFAULT. mlock(2), mlock2,
 * munlock, mlockall, munlockall: VmLck in
 * /proc/self/status, holes (ENOMEM), bad flags (EINVAL), a fork's child
 * inheriting no locks, MCL_FUTURE, and RLIMIT_MEMLOCK for a task without
 * CAP_IPC_LOCK (ENOMEM past it, EPERM when it is 0). */
#include "harness.h"
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static long vmlck(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char l[256];
	long v = -1;
	while (f && fgets(l, sizeof(l), f))
		if (!strncmp(l, "VmLck:", 6))
			v = atol(l + 6);
	if (f)
		fclose(f);
	return v;
}

int main(void)
{
	char *p = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* A hole after the mapping, so that a range past its end is unmapped. */
	munmap(p + 12 * 4096, 4 * 4096);
	EXPECT_OK("mlock_widens_to_pages", mlock(p + 100, 4096));
	EXPECT_EQ("vmlck_two_pages", vmlck(), 8);
	EXPECT_OK("munlock_first_page", munlock(p, 4096));
	EXPECT_EQ("vmlck_one_page", vmlck(), 4);
	EXPECT_ERR("mlock_over_hole_enomem", mlock(p + 11 * 4096, 8192), ENOMEM);
	EXPECT_ERR("munlock_over_hole_enomem", munlock(p + 11 * 4096, 8192), ENOMEM);
	EXPECT_OK("mlock_zero_length", mlock(p, 0));
	EXPECT_ERR("mlock2_bad_flag", syscall(SYS_mlock2, p, 4096, 2), EINVAL);
	EXPECT_OK("mlock2_onfault", syscall(SYS_mlock2, p, 4096, 1));
	EXPECT_EQ("vmlck_after_mlock2", vmlck(), 8);
	pid_t c = fork();
	if (c == 0)
		_exit(vmlck() == 0 ? 0 : 1);
	int st = 0;
	waitpid(c, &st, 0);
	CHECKF("child_inherits_no_locks", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	EXPECT_ERR("mlockall_zero_einval", mlockall(0), EINVAL);
	EXPECT_ERR("mlockall_onfault_alone_einval", mlockall(MCL_ONFAULT), EINVAL);
	EXPECT_ERR("mlockall_bad_bit_einval", mlockall(8), EINVAL);
	EXPECT_OK("munlockall", munlockall());
	EXPECT_EQ("vmlck_none", vmlck(), 0);
	EXPECT_OK("mlockall_future", mlockall(MCL_FUTURE));
	char *q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_EQ("future_mapping_locked", vmlck(), 4);
	munlockall();
	munmap(q, 4096);

	/* Without CAP_IPC_LOCK: RLIMIT_MEMLOCK. The child reports a bit per
	 * failed case. */
	c = fork();
	if (c == 0) {
		int bad = 0;
		struct rlimit rl = {8192, 8192};
		setrlimit(RLIMIT_MEMLOCK, &rl);
		if (setresuid(65534, 65534, 65534) != 0)
			_exit(255);
		bad |= (mlock(p, 8192) != 0) << 0;
		bad |= !(mlock(p + 8192, 4096) == -1 && errno == ENOMEM) << 1;
		bad |= (mlock(p, 8192) != 0) << 2;
		bad |= !(mlockall(MCL_CURRENT) == -1 && errno == ENOMEM) << 3;
		struct rlimit z = {0, 0};
		setrlimit(RLIMIT_MEMLOCK, &z);
		bad |= !(mlock(p, 4096) == -1 && errno == EPERM) << 4;
		bad |= (munlock(p, 4096) != 0) << 5;
		bad |= !(mlockall(MCL_FUTURE) == -1 && errno == EPERM) << 6;
		_exit(bad);
	}
	waitpid(c, &st, 0);
	CHECKF("memlock_limit_without_cap", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	/* mincore */
	{
		unsigned char v[64];
		char *r = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(r + 62 * 4096, 2 * 4096);
		r[0] = 1;
		memset(v, 9, sizeof(v));
		EXPECT_OK("mincore", mincore(r, 48 * 4096, v));
		CHECKF("mincore_touched_resident", v[0] == 1, "%d", v[0]);
		CHECKF("mincore_far_untouched_not", v[40] == 0, "%d", v[40]);
		CHECK("mincore_stops_at_length", v[48] == 9);
		EXPECT_ERR("mincore_unaligned_einval", mincore(r + 1, 4096, v), EINVAL);
		EXPECT_ERR("mincore_hole_enomem", mincore(r + 61 * 4096, 2 * 4096, v), ENOMEM);
		EXPECT_ERR("mincore_bad_vector_efault", mincore(r, 4096, (unsigned char *)1), EFAULT);
		EXPECT_OK("mincore_zero_length", mincore(r, 0, v));
		/* Gigabytes of reservation: answered, a page at a time. */
		size_t big = 1ULL << 34;
		char *res = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		unsigned char *bv = mmap(NULL, big / 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		EXPECT_OK("mincore_big_reservation", mincore(res, big, bv));
		CHECK("mincore_big_reservation_untouched", bv[0] == 0 && bv[big / 4096 - 1] == 0);
		munmap(res, big);
		munmap(bv, big / 4096);
	}
	return 0;
}
