/* mremap and madvise. */
#include "harness.h"

#define PG 4096

static void *map(size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
}

int main(void)
{
	h_fault_install();
	char *p = map(3 * PG, MAP_PRIVATE);
	memset(p, 'a', 3 * PG);

	/* grow without MAYMOVE when the next page is taken */
	EXPECT_ERR("grow_in_place_blocked_enomem", mremap(p, PG, 2 * PG, 0), ENOMEM);
	/* shrink in place */
	char *s = mremap(p, 3 * PG, 2 * PG, 0);
	EXPECT_EQ("shrink_same_address", (long)s, (long)p);
	EXPECT_ERR("shrunk_tail_unmapped", mprotect(p + 2 * PG, PG, PROT_READ), ENOMEM);
	EXPECT_EQ("shrunk_head_kept", p[2 * PG - 1], 'a');
	/* grow with MAYMOVE: contents preserved */
	char *blocker = mmap(p + 2 * PG, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	char *g = mremap(p, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
	EXPECT_OK("grow_maymove", g);
	CHECK("grow_moved", g != p);
	CHECK("grow_contents_preserved", g[0] == 'a' && g[2 * PG - 1] == 'a');
	CHECK("grow_new_part_zero", g[2 * PG] == 0 && g[8 * PG - 1] == 0);
	EXPECT_EQ("old_address_unmapped_after_move", h_probe_read(p), SIGSEGV);
	munmap(blocker, PG);

	/* MREMAP_FIXED to a chosen free address */
	char *dst = map(4 * PG, MAP_PRIVATE);
	munmap(dst, 4 * PG);
	char *f = mremap(g, 8 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	EXPECT_EQ("fixed_to_address", (long)f, (long)dst);
	EXPECT_EQ("fixed_contents", dst[0], 'a');
	EXPECT_EQ("fixed_old_unmapped", h_probe_read(g), SIGSEGV);

	EXPECT_ERR("fixed_without_maymove_einval", mremap(dst, PG, PG, MREMAP_FIXED, g), EINVAL);
	EXPECT_ERR("bad_flags_einval", mremap(dst, PG, PG, 0x80), EINVAL);
	EXPECT_ERR("unaligned_old_einval", mremap(dst + 1, PG, PG, 0), EINVAL);
	EXPECT_ERR("new_len_zero_einval", mremap(dst, PG, 0, 0), EINVAL);
	EXPECT_ERR("unmapped_old_efault", mremap(h_unmapped(), PG, 2 * PG, MREMAP_MAYMOVE), EFAULT);
	munmap(dst, 4 * PG);

	/* shared anonymous mappings keep sharing after grow */
	char *sh = map(PG, MAP_SHARED);
	sh[0] = 's';
	char *sh2 = mremap(sh, PG, 2 * PG, MREMAP_MAYMOVE);
	EXPECT_OK("grow_shared", sh2);
	EXPECT_EQ("grow_shared_contents", sh2[0], 's');
	munmap(sh2, 2 * PG);

	/* madvise */
	char *m = map(4 * PG, MAP_PRIVATE);
	memset(m, 'z', 4 * PG);
	EXPECT_EQ("madvise_dontneed", madvise(m + PG, 2 * PG, MADV_DONTNEED), 0);
	CHECK("dontneed_zeroes_private_anon", m[PG] == 0 && m[3 * PG - 1] == 0);
	CHECK("dontneed_leaves_other_pages", m[0] == 'z' && m[3 * PG] == 'z');
	EXPECT_EQ("dontneed_pages_writable", h_probe_write(m + PG, 'q'), 0);
	EXPECT_EQ("madvise_normal", madvise(m, 4 * PG, MADV_NORMAL), 0);
	EXPECT_EQ("madvise_willneed", madvise(m, 4 * PG, MADV_WILLNEED), 0);
	EXPECT_EQ("madvise_len_zero", madvise(m, 0, MADV_DONTNEED), 0);
	EXPECT_ERR("madvise_bad_advice_einval", madvise(m, PG, 12345), EINVAL);
	EXPECT_ERR("madvise_unaligned_einval", madvise(m + 1, PG, MADV_DONTNEED), EINVAL);
	EXPECT_ERR("madvise_unmapped_enomem", madvise(h_unmapped(), PG, MADV_DONTNEED), ENOMEM);
	munmap(m, 4 * PG);
	char *ms = map(PG, MAP_SHARED);
	ms[0] = 'k';
	madvise(ms, PG, MADV_DONTNEED);
	EXPECT_EQ("dontneed_keeps_shared_anon", ms[0], 'k');
	munmap(ms, PG);
	return 0;
}
