/*
 * Private read-only mappings of an unchanged file from the host (the test's
 * own executable): in the sandbox these are mapped straight from the
 * gofer's host fd. Content, mprotect to writable (private copies), fork,
 * SIGBUS past the end of the file, mremap, partial munmap, PROT_NONE,
 * the kernel reading from and refusing to write into such a mapping.
 */
#include "harness.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PG 4096L

static unsigned char *content;
static long size;

static int same(const unsigned char *p, long off, long n)
{
	return memcmp(p, content + off, n) == 0;
}

static int child_reads(void *arg)
{
	const unsigned char *p = arg;
	return same(p, 0, size) ? 0 : 1;
}

int main(void)
{
	h_fault_install();
	int fd = open("/proc/self/exe", O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 4 * PG) {
		FAIL("setup", "open/fstat of /proc/self/exe: %s", h_errname(errno));
		return 0;
	}
	size = st.st_size;
	content = malloc(size);
	if (pread(fd, content, size, 0) != size) {
		FAIL("setup", "pread");
		return 0;
	}
	long npages = (size + PG - 1) / PG;

	/* Content. */
	unsigned char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK("map_ok", p != MAP_FAILED);
	CHECK("content_matches", same(p, 0, size));
	CHECK("last_page_matches", same(p + (npages - 1) * PG, (npages - 1) * PG, size - (npages - 1) * PG));
	EXPECT_EQ("tail_of_last_page_is_zero", p[size] | p[npages * PG - 1], 0);

	/* The kernel reads from it (copy-in) and refuses to write into it. */
	int pfd[2];
	pipe(pfd);
	EXPECT_EQ("write_from_mapping", write(pfd[1], p + PG, 100), 100);
	unsigned char buf[100];
	EXPECT_EQ("pipe_read_back", read(pfd[0], buf, 100), 100);
	CHECK("pipe_content", memcmp(buf, content + PG, 100) == 0);
	write(pfd[1], "x", 1);
	EXPECT_ERR("read_into_readonly_mapping_efault", read(pfd[0], p, 1), EFAULT);
	EXPECT_EQ("efault_left_byte_in_pipe", read(pfd[0], buf, 1), 1);
	EXPECT_EQ("write_probe_segv", h_probe_write((char *)p + 10, 1), SIGSEGV);

	/* A child inherits it. */
	int status = h_run_child(child_reads, p);
	CHECKF("fork_child_sees_content", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);

	/* PROT_NONE, then readable again. */
	EXPECT_OK("mprotect_none", mprotect(p, PG, PROT_NONE));
	EXPECT_EQ("prot_none_segv", h_probe_read((char *)p), SIGSEGV);
	EXPECT_OK("mprotect_read_again", mprotect(p, PG, PROT_READ));
	CHECK("readable_again", same(p, 0, PG));

	/* Made writable: private copies, the file unchanged. */
	EXPECT_OK("mprotect_rw", mprotect(p + PG, 2 * PG, PROT_READ | PROT_WRITE));
	EXPECT_EQ("write_after_mprotect", h_probe_write((char *)p + PG, 0x5a), 0);
	EXPECT_EQ("written_byte_reads_back", p[PG], 0x5a);
	CHECK("rest_of_page_unchanged", same(p + PG + 1, PG + 1, PG - 1));
	CHECK("next_page_unchanged", same(p + 2 * PG, 2 * PG, PG));
	unsigned char b;
	pread(fd, &b, 1, PG);
	EXPECT_EQ("file_unchanged", b, content[PG]);
	CHECK("pages_around_unchanged", same(p, 0, PG) && same(p + 3 * PG, 3 * PG, PG));
	EXPECT_EQ("read_into_now_writable", (write(pfd[1], "q", 1), read(pfd[0], p + 2 * PG, 1)), 1);
	EXPECT_EQ("read_landed", p[2 * PG], 'q');

	/* Partial munmap. */
	EXPECT_OK("munmap_middle", munmap(p + 3 * PG, PG));
	EXPECT_EQ("unmapped_page_segv", h_probe_read((char *)p + 3 * PG), SIGSEGV);
	CHECK("after_hole_still_mapped", same(p + 4 * PG, 4 * PG, PG));
	munmap(p, npages * PG);

	/* Past the end of the file: SIGBUS. */
	unsigned char *q = mmap(NULL, (npages + 2) * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK("map_past_eof_ok", q != MAP_FAILED);
	EXPECT_EQ("within_file_reads", h_probe_read((char *)q + (npages - 1) * PG), 0);
	EXPECT_EQ("past_eof_sigbus", h_probe_read((char *)q + (npages + 1) * PG), SIGBUS);
	munmap(q, (npages + 2) * PG);

	/* mremap: grow in place or move; content follows. */
	q = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK("small_map_ok", q != MAP_FAILED && same(q, 0, 2 * PG));
	unsigned char *r = mremap(q, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
	CHECK("mremap_ok", r != MAP_FAILED);
	CHECK("mremap_content", r != MAP_FAILED && same(r, 0, 4 * PG));
	/* Force a move, onto a range reserved for it: MREMAP_FIXED unmaps
	 * whatever is there (a fixed offset from r could be the C library). */
	unsigned char *dst = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *s = mremap(r, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	CHECK("mremap_fixed_ok", dst != MAP_FAILED && s == dst);
	CHECK("moved_content", s == dst && same(s, 0, 4 * PG));
	EXPECT_EQ("old_range_gone", h_probe_read((char *)r), SIGSEGV);
	munmap(s, 4 * PG);

	/* An offset mapping. */
	q = mmap(NULL, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 2 * PG);
	CHECK("offset_map_content", q != MAP_FAILED && same(q, 2 * PG, PG));
	munmap(q, PG);
	close(fd);
	return 0;
}
