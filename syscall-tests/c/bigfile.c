/* A big file (several MiB) in /tmp: written, read, mapped shared and
 * private, truncated under a mapping, extended, and its space reused.
 * (In the sandbox, files this big keep their data in the overlay's store,
 * a host file, in 2 MiB extents; the cases cross extent boundaries.) */
#include "harness.h"

#define PG 4096
#define MB (1 << 20)

static char pat(size_t off)
{
	return (char)('a' + (off * 7 + off / 4093) % 26);
}

static int matches(const char *b, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(off + i))
			return 0;
	return 1;
}

static int zeros(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

int main(void)
{
	char path[64], path2[64];
	h_tmp(path, sizeof(path), "bigf");
	h_tmp(path2, sizeof(path2), "bigg");
	h_fault_install();
	size_t size = 6 * MB + 123;
	char *buf = malloc(MB);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	EXPECT_OK("open", fd);
	int ok = 1;
	for (size_t off = 0; off < size; off += MB) {
		size_t n = size - off < MB ? size - off : MB;
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(off + i);
		ok &= write(fd, buf, n) == (ssize_t)n;
	}
	CHECK("written", ok);
	struct stat st;
	fstat(fd, &st);
	EXPECT_EQ("size", (long)st.st_size, (long)size);

	/* reads across extent boundaries, and at the end */
	char small[64];
	EXPECT_EQ("read_across_2m", pread(fd, small, 64, 2 * MB - 10), 64);
	CHECK("read_across_2m_data", matches(small, 2 * MB - 10, 64));
	EXPECT_EQ("read_across_4m", pread(fd, small, 64, 4 * MB - 33), 64);
	CHECK("read_across_4m_data", matches(small, 4 * MB - 33, 64));
	EXPECT_EQ("read_short_at_end", pread(fd, small, 64, size - 23), 23);
	CHECK("read_short_at_end_data", matches(small, size - 23, 23));
	EXPECT_EQ("read_past_end", pread(fd, small, 64, size + 5), 0);
	EXPECT_EQ("read_pages_past_end", pread(fd, small, 64, size + 3 * PG), 0);
	ok = 1;
	for (size_t off = 0; off < size; off += MB) {
		size_t n = size - off < MB ? size - off : MB;
		ok &= pread(fd, buf, MB, off) == (ssize_t)n && matches(buf, off, n);
	}
	CHECK("read_whole", ok);

	/* shared mapping: both ways, and from a child */
	size_t mlen = 7 * MB;
	char *p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_OK("map_shared", p);
	CHECK("map_contents", matches(p, 0, size));
	CHECK("map_tail_zero", zeros(p + size, PG - size % PG));
	memcpy(p + 3 * MB + 5, "SHARED", 6);
	pread(fd, small, 6, 3 * MB + 5);
	CHECK("map_write_in_file", memcmp(small, "SHARED", 6) == 0);
	pwrite(fd, "PWRITE", 6, 4 * MB - 3);
	CHECK("file_write_in_map", memcmp(p + 4 * MB - 3, "PWRITE", 6) == 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		memcpy(p + 5 * MB + 1, "CHILD", 5);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	pread(fd, small, 5, 5 * MB + 1);
	CHECK("child_map_write_in_file", memcmp(small, "CHILD", 5) == 0);

	/* a private mapping's writes stay in it */
	char *q = mmap(NULL, 4 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 2 * MB);
	EXPECT_OK("map_private", q);
	q[MB] = '#';
	CHECK("private_write_seen", q[MB] == '#' && p[3 * MB] == pat(3 * MB));
	pread(fd, small, 1, 3 * MB);
	CHECK("private_write_not_in_file", small[0] == pat(3 * MB));
	munmap(q, 4 * MB);

	/* truncated under the mapping: the cut pages are gone */
	EXPECT_EQ("truncate_down", ftruncate(fd, 2 * MB + 100), 0);
	EXPECT_EQ("sigbus_past_eof", h_probe_read(p + 3 * MB), SIGBUS);
	CHECK("eof_page_tail_zero", zeros(p + 2 * MB + 100, PG - 100));
	CHECK("before_eof_kept", matches(p + 2 * MB - 50, 2 * MB - 50, 150));
	EXPECT_EQ("read_after_truncate", pread(fd, small, 64, 2 * MB + 90), 10);

	/* extended: the cut range reads as zeros, new writes land */
	EXPECT_EQ("truncate_up", ftruncate(fd, 5 * MB), 0);
	EXPECT_EQ("read_hole", pread(fd, buf, MB, 3 * MB), MB);
	CHECK("hole_zero", zeros(buf, MB));
	CHECK("hole_zero_in_map", zeros(p + 2 * MB + 100, 3 * MB - 100));
	pwrite(fd, "AGAIN", 5, 4 * MB + 9);
	CHECK("write_after_extend_in_map", memcmp(p + 4 * MB + 9, "AGAIN", 5) == 0);
	munmap(p, mlen);

	/* unlinked while open, its space reused by another big file */
	unlink(path);
	int fd2 = open(path2, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok = 1;
	for (int i = 0; i < 4; i++) {
		memset(buf, 'z', MB);
		ok &= pwrite(fd2, buf, MB, (off_t)i * 2 * MB) == MB;
	}
	CHECK("second_written", ok);
	close(fd);
	EXPECT_EQ("second_hole", pread(fd2, buf, MB, MB), MB);
	CHECK("second_hole_zero", zeros(buf, MB));
	EXPECT_EQ("second_data", pread(fd2, buf, MB, 6 * MB), MB);
	CHECK("second_data_ok", buf[0] == 'z' && buf[MB - 1] == 'z');
	close(fd2);
	unlink(path2);
	return 0;
}
