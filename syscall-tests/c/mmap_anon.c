/* Anonymous mmap/munmap. */
#include "harness.h"

#define PG 4096

int main(void)
{
	h_fault_install();
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_OK("mmap_private_anon", p);
	CHECK("mmap_page_aligned", ((uintptr_t)p & (PG - 1)) == 0);
	int zero = 1;
	for (int i = 0; i < 4 * PG; i++)
		if (p[i])
			zero = 0;
	CHECK("fresh_memory_zeroed", zero);
	memset(p, 0x5a, 4 * PG);
	CHECK("write_read_back", p[0] == 0x5a && p[4 * PG - 1] == 0x5a);

	/* MAP_FIXED replaces the middle two pages with fresh zero pages */
	char *f = mmap(p + PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	EXPECT_EQ("map_fixed_at_address", (long)f, (long)(p + PG));
	CHECK("map_fixed_replaces_contents", f[0] == 0 && f[2 * PG - 1] == 0);
	CHECK("map_fixed_keeps_neighbours", p[0] == 0x5a && p[3 * PG] == 0x5a);
	EXPECT_ERR("map_fixed_noreplace_eexist",
		   mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
	EXPECT_ERR("map_fixed_unaligned_einval",
		   mmap(p + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);

	/* munmap */
	EXPECT_EQ("munmap_middle", munmap(p + PG, PG), 0);
	EXPECT_EQ("unmapped_page_faults", h_probe_read(p + PG), SIGSEGV);
	EXPECT_EQ("unmapped_fault_maperr", h_fault_code, SEGV_MAPERR);
	CHECK("unmapped_fault_address", h_fault_addr == p + PG);
	EXPECT_EQ("neighbour_still_mapped", h_probe_read(p + 2 * PG), 0);
	EXPECT_EQ("munmap_already_unmapped_ok", munmap(p + PG, PG), 0);
	EXPECT_ERR("munmap_unaligned_einval", munmap(p + 1, PG), EINVAL);
	EXPECT_ERR("munmap_len_zero_einval", munmap(p, 0), EINVAL);
	EXPECT_EQ("munmap_unaligned_len_rounds_up", munmap(p, 1), 0);
	EXPECT_EQ("len_rounded_page_gone", h_probe_read(p), SIGSEGV);
	munmap(p, 4 * PG);

	/* bad arguments */
	EXPECT_ERR("len_zero_einval", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	EXPECT_ERR("no_private_or_shared_einval", mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
	EXPECT_ERR("unaligned_offset_einval",
		   mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1), EINVAL);
	EXPECT_ERR("file_map_bad_fd_ebadf", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, h_closed_fd(), 0), EBADF);
	EXPECT_ERR("huge_len_enomem",
		   mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
	EXPECT_ERR("len_overflow_enomem",
		   mmap(NULL, (size_t)-PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);

	/* a big PROT_NONE reservation does not commit memory */
	char *big = mmap(NULL, (size_t)1 << 32, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	EXPECT_OK("reserve_4g_prot_none", big);
	EXPECT_EQ("prot_none_faults", h_probe_read(big + 12345), SIGSEGV);
	EXPECT_EQ("prot_none_fault_accerr", h_fault_code, SEGV_ACCERR);
	munmap(big, (size_t)1 << 32);

	/* hint address that is free is honoured */
	char *h = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(h, 2 * PG);
	char *h2 = mmap(h, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_EQ("free_hint_honoured", (long)h2, (long)h);
	munmap(h2, PG);

	/* shared vs private across fork */
	int *sh = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int *pr = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_OK("mmap_shared_anon", sh);
	*sh = 1;
	*pr = 1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		*sh = 42;
		*pr = 42;
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	EXPECT_EQ("shared_write_visible_to_parent", *sh, 42);
	EXPECT_EQ("private_write_not_visible_to_parent", *pr, 1);

	/* many small mappings */
	int okmany = 1;
	void *maps[64];
	for (int i = 0; i < 64; i++) {
		maps[i] = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (maps[i] == MAP_FAILED)
			okmany = 0;
		else
			*(int *)maps[i] = i;
	}
	for (int i = 0; i < 64; i++)
		if (maps[i] != MAP_FAILED) {
			if (*(int *)maps[i] != i)
				okmany = 0;
			munmap(maps[i], PG);
		}
	CHECK("many_small_mappings", okmany);
	return 0;
}
