/* Paths after renames: getcwd, /proc/self/cwd and /proc/self/fd/N show
 * where a directory or file is now, after it or an ancestor was renamed
 * or moved (also by RENAME_EXCHANGE); ".." from a moved cwd goes to the
 * new parent. */
#include "harness.h"
#include <sys/syscall.h>

static int is(const char *got, const char *want)
{
	return got && strcmp(got, want) == 0;
}

static char *link_of(const char *path)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

static char *fd_link(int fd)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return link_of(p);
}

int main(void)
{
	char base[64], a[128], b[128], c[128], sub[160], want[256], cwd[PATH_MAX], old[PATH_MAX];
	getcwd(old, sizeof(old));
	h_tmp(base, sizeof(base), "renamed");
	mkdir(base, 0755);
	snprintf(a, sizeof(a), "%s/a", base);
	snprintf(b, sizeof(b), "%s/b", base);
	snprintf(c, sizeof(c), "%s/c", base);
	snprintf(sub, sizeof(sub), "%s/sub", a);
	mkdir(a, 0755);
	mkdir(sub, 0755);
	mkdir(c, 0755);

	/* The cwd's own directory renamed. */
	chdir(sub);
	snprintf(want, sizeof(want), "%s/sub2", a);
	rename(sub, want);
	CHECKF("getcwd_after_rename", is(getcwd(cwd, sizeof(cwd)), want), "'%s'", cwd);
	CHECKF("proc_cwd_after_rename", is(link_of("/proc/self/cwd"), want), "'%s'", link_of("/proc/self/cwd"));

	/* An ancestor moved into another directory. */
	snprintf(want, sizeof(want), "%s/c/a2/sub2", base);
	snprintf(sub, sizeof(sub), "%s/a2", c);
	rename(a, sub);
	CHECKF("getcwd_after_ancestor_moved", is(getcwd(cwd, sizeof(cwd)), want), "'%s'", cwd);
	EXPECT_OK("dotdot_from_moved_cwd", chdir(".."));
	CHECKF("dotdot_is_new_parent", is(getcwd(cwd, sizeof(cwd)), sub), "'%s'", cwd);

	/* Open files: renamed, and their directory moved. */
	snprintf(want, sizeof(want), "%s/f", sub);
	h_write_file(want, "f", 1, 0644);
	int fd = open(want, O_RDONLY);
	snprintf(want, sizeof(want), "%s/g", sub);
	rename("f", "g");
	CHECKF("fd_link_after_rename", is(fd_link(fd), want), "'%s'", fd_link(fd));
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	chdir(old);
	snprintf(want, sizeof(want), "%s/moved", base);
	rename(sub, want);
	CHECKF("dir_fd_link_after_move", is(fd_link(dfd), want), "'%s'", fd_link(dfd));
	snprintf(want, sizeof(want), "%s/moved/g", base);
	CHECKF("fd_link_after_dir_moved", is(fd_link(fd), want), "'%s'", fd_link(fd));
	struct stat st;
	EXPECT_OK("openat_under_moved_dir_fd", fstatat(dfd, "g", &st, 0));
	close(fd);
	close(dfd);

	/* RENAME_EXCHANGE of two directories, the cwd inside one. */
	snprintf(a, sizeof(a), "%s/x", base);
	snprintf(b, sizeof(b), "%s/y", base);
	mkdir(a, 0755);
	mkdir(b, 0755);
	chdir(a);
	int r = (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
	CHECKF("exchange_ok", r == 0, "errno %s", h_errname(errno));
	CHECKF("getcwd_after_exchange", is(getcwd(cwd, sizeof(cwd)), b), "'%s'", cwd);
	chdir(old);

	/* Cleanup. */
	snprintf(want, sizeof(want), "%s/moved/g", base);
	unlink(want);
	snprintf(want, sizeof(want), "%s/moved/sub2", base);
	rmdir(want);
	snprintf(want, sizeof(want), "%s/moved", base);
	rmdir(want);
	rmdir(a);
	rmdir(b);
	rmdir(c);
	rmdir(base);
	return 0;
}
