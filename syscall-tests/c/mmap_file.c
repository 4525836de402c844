/* File-backed mmap of a file in /tmp. */
#include "harness.h"

#define PG 4096

int main(void)
{
	char path[64], buf[16];
	h_tmp(path, sizeof(path), "mmapf");
	h_fault_install();
	/* 2.5 pages: page i filled with 'A'+i */
	size_t size = 2 * PG + PG / 2;
	char *content = malloc(size);
	for (size_t i = 0; i < size; i++)
		content[i] = 'A' + i / PG;
	h_write_file(path, content, size, 0600);
	int fd = open(path, O_RDWR);

	char *p = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	EXPECT_OK("map_private_read", p);
	CHECK("contents_seen", memcmp(p, content, size) == 0);
	CHECK("tail_of_last_page_zero", p[size] == 0 && p[3 * PG - 1] == 0);
	EXPECT_EQ("read_only_write_faults", h_probe_write(p, 'x'), SIGSEGV);
	munmap(p, 3 * PG);

	p = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	EXPECT_EQ("page_beyond_eof_sigbus", h_probe_read(p + 3 * PG), SIGBUS);
	munmap(p, 4 * PG);

	p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
	EXPECT_OK("map_with_offset", p);
	CHECK("offset_contents", p[0] == 'B' && p[PG - 1] == 'B');
	munmap(p, PG);

	/* private writes stay private */
	p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	memcpy(p, "private", 7);
	EXPECT_EQ("private_write_visible_in_mapping", p[0], 'p');
	pread(fd, buf, 7, 0);
	CHECK("private_write_not_in_file", memcmp(buf, "AAAAAAA", 7) == 0);
	char *q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
	EXPECT_EQ("private_write_not_in_other_mapping", q[0], 'A');
	munmap(q, PG);
	munmap(p, 3 * PG);

	/* shared writes reach the file, and file writes reach the mapping */
	p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_OK("map_shared_rw", p);
	memcpy(p + PG, "shared", 6);
	pread(fd, buf, 6, PG);
	CHECK("shared_write_in_file", memcmp(buf, "shared", 6) == 0);
	pwrite(fd, "pwrite", 6, 2 * PG);
	CHECK("file_write_in_shared_mapping", memcmp(p + 2 * PG, "pwrite", 6) == 0);
	EXPECT_EQ("msync", msync(p, 3 * PG, MS_SYNC), 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		p[5] = 'C';
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	EXPECT_EQ("shared_write_from_child", p[5], 'C');
	munmap(p, 3 * PG);
	/* the mapping outlives the fd */
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	EXPECT_EQ("mapping_survives_close", p[5], 'C');
	munmap(p, PG);

	/* access checks */
	int ro = open(path, O_RDONLY);
	EXPECT_ERR("shared_write_on_rdonly_fd_eacces",
		   mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES);
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	EXPECT_OK("private_write_on_rdonly_fd_ok", p);
	if (p != MAP_FAILED)
		munmap(p, PG);
	EXPECT_ERR("unaligned_offset_einval", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, ro, 100), EINVAL);
	close(ro);
	int wo = open(path, O_WRONLY);
	EXPECT_ERR("map_wronly_fd_eacces", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0), EACCES);
	close(wo);
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	EXPECT_ERR("map_directory_enodev", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, dir, 0), ENODEV);
	close(dir);
	int pp[2];
	pipe(pp);
	EXPECT_ERR("map_pipe_enodev", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pp[0], 0), ENODEV);
	close(pp[0]);
	close(pp[1]);

	/* truncation after mapping makes the pages beyond EOF SIGBUS */
	fd = open(path, O_RDWR);
	p = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
	ftruncate(fd, PG);
	EXPECT_EQ("before_new_eof_readable", h_probe_read(p + PG - 1), 0);
	EXPECT_EQ("after_truncate_sigbus", h_probe_read(p + PG), SIGBUS);
	munmap(p, 2 * PG);
	close(fd);

	/* pages already touched are taken away by a truncation too, from a
	 * shared mapping, a private one and a private copy; extending the file
	 * again brings zeros */
	fd = open(path, O_RDWR | O_TRUNC);
	char three[3 * PG];
	memset(three, 'T', sizeof(three));
	EXPECT_EQ("refill", write(fd, three, 3 * PG), 3 * PG);
	char *sh = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *pv = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK("touched_shared", sh[2 * PG] == 'T');
	CHECK("touched_private", pv[PG] == 'T');
	pv[2 * PG] = 'z';
	EXPECT_EQ("truncate_mapped", ftruncate(fd, PG), 0);
	EXPECT_EQ("touched_shared_page_sigbus", h_probe_read(sh + 2 * PG), SIGBUS);
	EXPECT_EQ("touched_private_page_sigbus", h_probe_read(pv + PG), SIGBUS);
	EXPECT_EQ("private_copy_sigbus", h_probe_read(pv + 2 * PG), SIGBUS);
	EXPECT_EQ("first_page_kept", h_probe_read(sh), 0);
	EXPECT_EQ("extend_again", ftruncate(fd, 3 * PG), 0);
	CHECK("extended_reads_zero", sh[2 * PG] == 0 && pv[PG] == 0);
	munmap(sh, 3 * PG);
	munmap(pv, 3 * PG);
	close(fd);

	free(content);
	unlink(path);
	return 0;
}
