/* madvise's fork advice: MADV_DONTFORK leaves the child without the
 * mapping, MADV_WIPEONFORK gives it zeroes, DOFORK/KEEPONFORK undo them;
 * and the errno of bad input. */
#include "harness.h"

#define PG 4096

static char *p;

static int child_view(void *arg)
{
	int bad = 0;
	if (p[0] != 'A')
		bad |= 1; /* ordinary page: copied */
	if (p[PG] != (arg ? 'A' : 0))
		bad |= 2; /* WIPEONFORK page: zero, unless KEEPONFORK */
	if (h_probe_read(p + 2 * PG) != (arg ? 0 : SIGSEGV))
		bad |= 4; /* DONTFORK page: absent, unless DOFORK */
	return bad;
}

int main(void)
{
	h_fault_install();
	p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap", p != MAP_FAILED);
	memset(p, 'A', 3 * PG);
	EXPECT_EQ("wipeonfork", madvise(p + PG, PG, MADV_WIPEONFORK), 0);
	EXPECT_EQ("dontfork", madvise(p + 2 * PG, PG, MADV_DONTFORK), 0);
	int st = h_run_child(child_view, NULL);
	CHECKF("child_sees_advice", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	CHECK("parent_keeps_its_data", p[PG] == 'A' && p[2 * PG] == 'A');
	EXPECT_EQ("keeponfork", madvise(p + PG, PG, MADV_KEEPONFORK), 0);
	EXPECT_EQ("dofork", madvise(p + 2 * PG, PG, MADV_DOFORK), 0);
	st = h_run_child(child_view, (void *)1);
	CHECKF("child_sees_advice_undone", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);

	char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	EXPECT_ERR("wipeonfork_shared_einval", madvise(s, PG, MADV_WIPEONFORK), EINVAL);
	EXPECT_EQ("dontfork_shared_ok", madvise(s, PG, MADV_DONTFORK), 0);
	int fd = open("/proc/self/exe", O_RDONLY);
	char *f = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
	EXPECT_ERR("wipeonfork_file_einval", madvise(f, PG, MADV_WIPEONFORK), EINVAL);
	EXPECT_ERR("unaligned_einval", madvise(p + 1, PG, MADV_DONTFORK), EINVAL);
	EXPECT_ERR("bad_advice_einval", madvise(p, PG, 999), EINVAL);
	munmap(p + 2 * PG, PG);
	EXPECT_ERR("unmapped_enomem", madvise(p + 2 * PG, PG, MADV_DONTFORK), ENOMEM);
	return 0;
}
