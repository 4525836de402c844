/* chroot(2) as root, always in forked children so that this program keeps
 * its root: path resolution clamped at the new root, getcwd, symlinks,
 * /proc/PID/root, errors, EPERM when unprivileged, nested chroot, and the
 * classic fchdir escape (which works on Linux: a cwd outside the root is
 * not clamped, and getcwd reports it as "(unreachable)/...").
 *
 * Children do not print: they record their cases in shared memory and the
 * parent prints them. */
#include "harness.h"

struct rec {
	char name[48];
	int ok;
	char detail[200];
};
static struct rec *recs;
static int *nrec;

static void rec(const char *name, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rec(const char *name, int ok, const char *fmt, ...)
{
	if (*nrec >= 128)
		return;
	struct rec *r = &recs[(*nrec)++];
	va_list ap;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->ok = ok;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

#define R_CHECK(name, cond) rec((name), !!(cond), "failed: %s", #cond)
#define R_CHECKF(name, cond, ...) rec((name), !!(cond), __VA_ARGS__)
#define R_EQ(name, expr, want)                                                 \
	do {                                                                   \
		errno = 0;                                                     \
		long _r = (long)(expr);                                        \
		int _e = errno;                                                \
		rec((name), _r == (long)(want), "%s = %ld errno %s", #expr, _r, \
		    h_errname(_e));                                            \
	} while (0)
#define R_ERR(name, expr, err)                                                 \
	do {                                                                   \
		errno = 0;                                                     \
		long _r = (long)(expr);                                        \
		int _e = errno;                                                \
		rec((name), _r == -1 && _e == (err), "%s: want %s, got %ld %s", \
		    #expr, h_errname(err), _r, h_errname(_e));                 \
	} while (0)

/* Runs fn in a child, then prints what it recorded and whether it exited 0. */
static void run(const char *name, int (*fn)(void *), void *arg)
{
	*nrec = 0;
	int status = h_run_child(fn, arg);
	for (int i = 0; i < *nrec; i++)
		h_report(recs[i].name, recs[i].ok, "%s", recs[i].detail);
	CHECKF(name, status == 0, "child status %#x", status);
}

static char base[64], jail[96], outside[96];

static int same(const char *a, const char *b)
{
	struct stat x, y;
	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_ino == y.st_ino && x.st_dev == y.st_dev;
}

static int same_st(const char *a, const struct stat *y)
{
	struct stat x;
	return stat(a, &x) == 0 && x.st_ino == y->st_ino && x.st_dev == y->st_dev;
}

static int read_is(const char *path, const char *want)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n == (ssize_t)strlen(want) && memcmp(buf, want, n) == 0;
}

static int sync_pipe[2][2];

static int main_child(void *arg)
{
	(void)arg;
	char buf[PATH_MAX], want[PATH_MAX], p[160];
	struct stat real_root, jail_st;
	stat("/", &real_root);
	stat(jail, &jail_st);
	int outfd = open(outside, O_RDONLY | O_DIRECTORY);
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY);

	/* errors first, while our root is the real one */
	snprintf(p, sizeof(p), "%s/nosuch", base);
	R_ERR("chroot_missing_enoent", chroot(p), ENOENT);
	snprintf(p, sizeof(p), "%s/inside", jail);
	R_ERR("chroot_file_enotdir", chroot(p), ENOTDIR);
	R_ERR("chroot_empty_enoent", chroot(""), ENOENT);
	R_ERR("chroot_efault", syscall(SYS_chroot, h_unmapped()), EFAULT);
	R_ERR("chroot_null_efault", syscall(SYS_chroot, NULL), EFAULT);
	R_CHECK("chroot_errors_keep_root", same_st("/", &real_root));

	/* chroot does not move the cwd: it is now outside the root */
	chdir(base);
	R_EQ("chroot", chroot(jail), 0);
	long r = syscall(SYS_getcwd, buf, sizeof(buf));
	snprintf(want, sizeof(want), "(unreachable)%s", base);
	R_CHECKF("getcwd_cwd_outside_unreachable", r > 0 && strcmp(buf, want) == 0, "r %ld '%s'", r, buf);
	R_CHECK("cwd_outside_still_usable", read_is("jail/inside", "in"));
	R_CHECK("glibc_getcwd_unreachable_enoent", getcwd(buf, sizeof(buf)) == NULL && errno == ENOENT);

	R_EQ("chdir_root", chdir("/"), 0);
	r = syscall(SYS_getcwd, buf, sizeof(buf));
	R_CHECKF("getcwd_root", r == 2 && strcmp(buf, "/") == 0, "r %ld '%s'", r, buf);
	R_CHECK("root_is_jail", same_st("/", &jail_st));
	R_CHECK("open_inside", read_is("/inside", "in"));
	R_CHECK("open_inside_relative", read_is("inside", "in"));
	R_CHECK("root_dotdot_is_root", same("/..", "/"));
	R_CHECK("dotdot_chain_clamped", same("../../..", "/"));
	R_CHECK("sub_dotdot_chain_clamped", same("/sub/../../../..", "/"));
	R_CHECK("dotdot_then_inside", read_is("/../../inside", "in"));
	R_ERR("outside_path_enoent", open(outside, O_RDONLY), ENOENT);
	R_EQ("chdir_sub", chdir("/sub"), 0);
	r = syscall(SYS_getcwd, buf, sizeof(buf));
	R_CHECKF("getcwd_sub", r > 0 && strcmp(buf, "/sub") == 0, "'%s'", buf);
	R_EQ("chdir_dotdot_dotdot", chdir("../.."), 0);
	getcwd(buf, sizeof(buf));
	R_CHECKF("getcwd_after_dotdot_clamped", strcmp(buf, "/") == 0, "'%s'", buf);
	R_CHECK("abs_symlink_inside", read_is("/abslink", "in"));
	R_CHECK("abs_symlink_from_sub", read_is("/sub/abslink2", "in"));
	R_CHECK("rel_symlink_inside", read_is("/sub/rellink", "in"));
	ssize_t n = readlink("/abslink", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	R_CHECKF("readlink_abs_symlink", strcmp(buf, "/inside") == 0, "'%s'", buf);

	/* /proc, opened before the chroot, shows paths relative to our root */
	n = readlinkat(procfd, "self/root", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	R_CHECKF("proc_self_root_is_slash", n == 1 && strcmp(buf, "/") == 0, "n %zd '%s'", n, buf);
	n = readlinkat(procfd, "self/cwd", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	R_CHECKF("proc_self_cwd_is_slash", n == 1 && strcmp(buf, "/") == 0, "n %zd '%s'", n, buf);
	/* the parent reads /proc/PID/root now */
	char c;
	write(sync_pipe[0][1], "r", 1);
	read(sync_pipe[1][0], &c, 1);

	/* children inherit the root */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(read_is("/inside", "in") && same_st("/", &jail_st) ? 0 : 1);
	int status;
	waitpid(pid, &status, 0);
	R_EQ("fork_inherits_root", status, 0);

	/* the escape: an fd of an outside dir, fchdir, "..", chroot(".") */
	R_EQ("fchdir_outside", fchdir(outfd), 0);
	r = syscall(SYS_getcwd, buf, sizeof(buf));
	snprintf(want, sizeof(want), "(unreachable)%s", outside);
	R_CHECKF("getcwd_after_fchdir_unreachable", r > 0 && strcmp(buf, want) == 0, "r %ld '%s'", r, buf);
	R_CHECK("fchdir_outside_reads", read_is("secret", "out"));
	R_CHECK("fchdir_outside_root_unchanged", same_st("/", &jail_st));
	R_CHECK("fchdir_outside_absolute_in_jail", read_is("/inside", "in"));
	for (int i = 0; i < 40; i++)
		chdir("..");
	R_CHECK("dotdot_from_outside_reaches_real_root", same_st(".", &real_root));
	R_EQ("chroot_dot_escape", chroot("."), 0);
	R_CHECK("escape_root_is_real_root", same_st("/", &real_root));
	snprintf(p, sizeof(p), "%s/secret", outside);
	R_CHECK("escape_sees_outside", read_is(p, "out"));
	r = syscall(SYS_getcwd, buf, sizeof(buf));
	R_CHECKF("escape_getcwd_root", r == 2 && strcmp(buf, "/") == 0, "r %ld '%s'", r, buf);
	close(outfd);
	close(procfd);
	return 0;
}

static int nested_child(void *arg)
{
	(void)arg;
	char sub[128];
	struct stat sub_st, base_st;
	snprintf(sub, sizeof(sub), "%s/sub", jail);
	stat(sub, &sub_st);
	stat(base, &base_st);
	R_EQ("nested_chroot_outer", chroot(jail), 0);
	chdir("/");
	R_EQ("nested_chroot_relative", chroot("sub"), 0);
	R_CHECK("nested_cwd_outside_usable", read_is("inside", "in"));
	R_CHECK("nested_cwd_dotdot_not_clamped", same_st("..", &base_st));
	chdir("/");
	R_CHECK("nested_root_is_sub", same_st("/", &sub_st));
	R_CHECK("nested_dotdot_clamped", same_st("/..", &sub_st));
	R_ERR("nested_outer_file_enoent", open("/inside", O_RDONLY), ENOENT);
	R_ERR("nested_rel_symlink_clamped_enoent", open("/rellink", O_RDONLY), ENOENT);
	return 0;
}

static int nonroot_child(void *arg)
{
	(void)arg;
	char p[128];
	if (setgid(65534) != 0 || setuid(65534) != 0)
		return 100;
	R_ERR("nonroot_chroot_eperm", chroot(jail), EPERM);
	snprintf(p, sizeof(p), "%s/nosuch", base);
	R_ERR("nonroot_chroot_missing_enoent", chroot(p), ENOENT);
	snprintf(p, sizeof(p), "%s/inside", jail);
	R_ERR("nonroot_chroot_file_enotdir", chroot(p), ENOTDIR);
	R_ERR("nonroot_chroot_root_eperm", chroot("/"), EPERM);
	return 0;
}

int main(void)
{
	char p[160], buf[PATH_MAX];
	struct stat real_root;
	recs = mmap(NULL, 128 * sizeof(struct rec) + 64, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	nrec = (int *)(recs + 128);
	stat("/", &real_root);

	h_tmp(base, sizeof(base), "chroot");
	snprintf(jail, sizeof(jail), "%s/jail", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	umask(0);
	mkdir(base, 0755);
	mkdir(jail, 0755);
	mkdir(outside, 0755);
	snprintf(p, sizeof(p), "%s/sub", jail);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/inside", jail);
	h_write_file(p, "in", 2, 0644);
	snprintf(p, sizeof(p), "%s/secret", outside);
	h_write_file(p, "out", 3, 0644);
	snprintf(p, sizeof(p), "%s/abslink", jail);
	symlink("/inside", p);
	snprintf(p, sizeof(p), "%s/sub/abslink2", jail);
	symlink("/inside", p);
	snprintf(p, sizeof(p), "%s/sub/rellink", jail);
	symlink("../inside", p);

	pipe(sync_pipe[0]);
	pipe(sync_pipe[1]);
	*nrec = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(sync_pipe[0][0]);
		close(sync_pipe[1][1]);
		_exit(main_child(NULL));
	}
	close(sync_pipe[0][1]); /* so that a dead child reads as EOF */
	close(sync_pipe[1][0]);
	char c = 0;
	read(sync_pipe[0][0], &c, 1);
	snprintf(p, sizeof(p), "/proc/%d/root", (int)pid);
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECKF("proc_pid_root_from_parent", c == 'r' && strcmp(buf, jail) == 0, "'%s'", buf);
	snprintf(p, sizeof(p), "/proc/%d/cwd", (int)pid);
	n = readlink(p, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECKF("proc_pid_cwd_from_parent", strcmp(buf, jail) == 0, "'%s'", buf);
	write(sync_pipe[1][1], "g", 1);
	close(sync_pipe[0][0]);
	close(sync_pipe[1][1]);
	int status;
	waitpid(pid, &status, 0);
	for (int i = 0; i < *nrec; i++)
		h_report(recs[i].name, recs[i].ok, "%s", recs[i].detail);
	CHECKF("main_child_exit", status == 0, "child status %#x", status);

	run("nested_child_exit", nested_child, NULL);
	run("nonroot_child_exit", nonroot_child, NULL);

	CHECK("parent_root_unchanged", same_st("/", &real_root));
	snprintf(p, sizeof(p), "%s/inside", jail);
	CHECK("parent_sees_jail_path", read_is(p, "in"));

	const char *files[] = { "jail/inside", "jail/abslink", "jail/sub/abslink2", "jail/sub/rellink",
				"outside/secret", NULL };
	for (int i = 0; files[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", base, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/sub", jail);
	rmdir(p);
	rmdir(jail);
	rmdir(outside);
	rmdir(base);
	CHECK("cleanup", access(base, F_OK) != 0);
	return 0;
}
