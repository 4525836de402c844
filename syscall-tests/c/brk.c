/* brk. */
#include "harness.h"

#define PG 4096

int main(void)
{
	h_fault_install();
	long cur = syscall(SYS_brk, 0);
	CHECK("brk_query_nonzero", cur > 0);
	EXPECT_EQ("brk_query_stable", syscall(SYS_brk, 0), cur);
	long want = cur + 16 * PG;
	EXPECT_EQ("brk_grow", syscall(SYS_brk, want), want);
	EXPECT_EQ("brk_query_after_grow", syscall(SYS_brk, 0), want);
	char *old = (char *)cur;
	long pgstart = (cur + PG - 1) & ~(long)(PG - 1);
	int zero = 1;
	for (long i = pgstart; i < want; i++)
		if (*(char *)i != 0)
			zero = 0;
	CHECK("brk_memory_zeroed", zero);
	EXPECT_EQ("brk_memory_writable", h_probe_write(old + 8 * PG, 1), 0);
	long unaligned = want + 100;
	EXPECT_EQ("brk_unaligned_value_returned", syscall(SYS_brk, unaligned), unaligned);
	EXPECT_EQ("brk_unaligned_page_usable", h_probe_write((char *)unaligned - 1, 1), 0);
	EXPECT_EQ("brk_shrink", syscall(SYS_brk, cur + PG), cur + PG);
	long pgcur = (cur + PG + PG - 1) & ~(long)(PG - 1);
	EXPECT_ERR("brk_shrunk_pages_unmapped", mprotect((void *)(pgcur + PG), PG, PROT_READ), ENOMEM);
	EXPECT_EQ("brk_shrunk_page_faults", h_probe_read((char *)pgcur + PG), SIGSEGV);
	EXPECT_EQ("brk_regrow", syscall(SYS_brk, cur + 4 * PG), cur + 4 * PG);
	CHECK("brk_regrow_zeroed", old[3 * PG] == 0);
	EXPECT_EQ("brk_below_start_fails_returns_current", syscall(SYS_brk, 4096), cur + 4 * PG);
	EXPECT_EQ("brk_huge_fails_returns_current", syscall(SYS_brk, cur + (1L << 47)), cur + 4 * PG);
	/* brk cannot grow over an existing mapping */
	long top = (cur + 4 * PG + PG - 1) & ~(long)(PG - 1);
	void *blk = mmap((void *)(top + 4 * PG), PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (blk != MAP_FAILED) {
		EXPECT_EQ("brk_blocked_by_mapping_returns_current", syscall(SYS_brk, top + 16 * PG), cur + 4 * PG);
		munmap(blk, PG);
	} else {
		FAIL("brk_blocked_by_mapping_returns_current", "could not place blocker: %s", h_errname(errno));
	}
	EXPECT_EQ("brk_restore", syscall(SYS_brk, cur), cur);
	void *m = malloc(1 << 16);
	CHECK("malloc_still_works", m != NULL);
	free(m);
	return 0;
}
