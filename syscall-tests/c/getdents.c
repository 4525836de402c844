/* getdents64 on a directory made in /tmp. */
#include "harness.h"
#include <dirent.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define NMANY 150

/* Reads the whole directory; fills seen[] flags for names "fNNN", counts
 * the rest. Returns the number of entries or -1. */
static int list_all(int fd, size_t bufsz, int *seen, int *dots, int *calls)
{
	char *buf = malloc(bufsz);
	int n = 0;
	*calls = 0;
	for (;;) {
		long r = syscall(SYS_getdents64, fd, buf, bufsz);
		if (r < 0) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		(*calls)++;
		for (long off = 0; off < r;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				(*dots)++;
			else if (d->d_name[0] == 'f')
				seen[atoi(d->d_name + 1)]++;
			n++;
			off += d->d_reclen;
		}
	}
	free(buf);
	return n;
}

int main(void)
{
	char dir[64], p[128], empty[64];
	char buf[4096];
	h_tmp(dir, sizeof(dir), "dents");
	h_tmp(empty, sizeof(empty), "dentsempty");
	mkdir(dir, 0700);
	mkdir(empty, 0700);
	const char *files[] = {"alpha", "beta", "gamma"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		h_write_file(p, "x", 1, 0600);
	}
	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/link", dir);
	symlink("alpha", p);

	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	EXPECT_OK("open_dir", fd);
	long r = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	CHECKF("getdents64_returns_bytes", r > 0, "r=%ld errno %s", r, h_errname(errno));
	int have[8] = {0}, total = 0, types_ok = 1, reclen_ok = 1;
	const char *want[] = {".", "..", "alpha", "beta", "gamma", "sub", "link"};
	const unsigned char wtype[] = {DT_DIR, DT_DIR, DT_REG, DT_REG, DT_REG, DT_DIR, DT_LNK};
	for (long off = 0; r > 0 && off < r;) {
		struct linux_dirent64 *d = (void *)(buf + off);
		if (d->d_reclen == 0 || d->d_reclen % 8 != 0) {
			reclen_ok = 0;
			break;
		}
		total++;
		for (int i = 0; i < 7; i++)
			if (!strcmp(d->d_name, want[i])) {
				have[i]++;
				if (d->d_type != wtype[i])
					types_ok = 0;
			}
		off += d->d_reclen;
	}
	CHECK("reclen_aligned", reclen_ok);
	EXPECT_EQ("entry_count", total, 7);
	CHECK("has_dot_and_dotdot", have[0] == 1 && have[1] == 1);
	CHECK("has_files_once", have[2] == 1 && have[3] == 1 && have[4] == 1);
	CHECK("has_subdir_and_link", have[5] == 1 && have[6] == 1);
	CHECK("d_type_correct", types_ok);
	EXPECT_EQ("getdents64_at_end_zero", syscall(SYS_getdents64, fd, buf, sizeof(buf)), 0);
	EXPECT_EQ("rewind_with_lseek", lseek(fd, 0, SEEK_SET), 0);
	r = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	CHECK("getdents64_after_rewind", r > 0);
	lseek(fd, 0, SEEK_SET);
	EXPECT_ERR("buffer_too_small_einval", syscall(SYS_getdents64, fd, buf, 1), EINVAL);
	EXPECT_ERR("buffer_efault", syscall(SYS_getdents64, fd, (void *)1, 4096), EFAULT);
	EXPECT_ERR("closed_fd_ebadf", syscall(SYS_getdents64, h_closed_fd(), buf, sizeof(buf)), EBADF);
	snprintf(p, sizeof(p), "%s/alpha", dir);
	int ff = open(p, O_RDONLY);
	EXPECT_ERR("regular_file_enotdir", syscall(SYS_getdents64, ff, buf, sizeof(buf)), ENOTDIR);
	close(ff);
	close(fd);

	int efd = open(empty, O_RDONLY | O_DIRECTORY);
	int seen0[1] = {0}, dots = 0, calls;
	EXPECT_EQ("empty_dir_two_entries", list_all(efd, 4096, seen0, &dots, &calls), 2);
	EXPECT_EQ("empty_dir_dots", dots, 2);
	close(efd);

	/* many entries read through a small buffer in several calls */
	for (int i = 0; i < NMANY; i++) {
		snprintf(p, sizeof(p), "%s/f%03d", empty, i);
		h_write_file(p, "", 0, 0600);
	}
	efd = open(empty, O_RDONLY | O_DIRECTORY);
	int seen[NMANY] = {0};
	dots = 0;
	int n = list_all(efd, 256, seen, &dots, &calls);
	EXPECT_EQ("many_entries_count", n, NMANY + 2);
	int once = 1;
	for (int i = 0; i < NMANY; i++)
		if (seen[i] != 1)
			once = 0;
	CHECK("many_entries_each_once", once);
	CHECKF("many_entries_several_calls", calls > 1, "calls=%d", calls);
	close(efd);

	/* an entry removed is no longer listed */
	snprintf(p, sizeof(p), "%s/f000", empty);
	unlink(p);
	efd = open(empty, O_RDONLY | O_DIRECTORY);
	memset(seen, 0, sizeof(seen));
	dots = 0;
	list_all(efd, 4096, seen, &dots, &calls);
	CHECK("unlinked_entry_gone", seen[0] == 0 && seen[1] == 1);
	close(efd);

	for (int i = 1; i < NMANY; i++) {
		snprintf(p, sizeof(p), "%s/f%03d", empty, i);
		unlink(p);
	}
	rmdir(empty);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/link", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}
