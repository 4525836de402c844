/* prlimit64/getrlimit/setrlimit; limits enforced (RLIMIT_NOFILE, FSIZE, AS).
 * Limit changes happen in forked children so the parent is unaffected. */
#include "harness.h"

struct rlimit64_ { uint64_t cur, max; };

static int nofile_child(void *arg)
{
	(void)arg;
	struct rlimit rl = {16, 16};
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	int last = -1;
	for (int i = 0; i < 32; i++) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0) {
			if (errno != EMFILE)
				return 2;
			break;
		}
		last = fd;
	}
	if (last != 15)
		return 3;
	if (!(dup(0) == -1 && errno == EMFILE))
		return 4;
	if (!(dup2(0, 16) == -1 && errno == EBADF))
		return 5;
	if (!(fcntl(0, F_DUPFD, 16) == -1 && errno == EINVAL))
		return 6;
	int p[2];
	close(15);
	if (!(pipe(p) == -1 && errno == EMFILE))
		return 7;
	return 0;
}

static int fsize_child(void *arg)
{
	const char *path = arg;
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = {100, 100};
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		return 1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[200];
	memset(buf, 'f', sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != 100)
		return 2;
	if (!(write(fd, buf, 1) == -1 && errno == EFBIG))
		return 3;
	return 0;
}

static int fsize_signal_child(void *arg)
{
	const char *path = arg;
	struct rlimit rl = {10, 10};
	setrlimit(RLIMIT_FSIZE, &rl);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	write(fd, "0123456789", 10);
	write(fd, "x", 1); /* SIGXFSZ */
	return 0;
}

static int as_child(void *arg)
{
	(void)arg;
	struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
	if (setrlimit(RLIMIT_AS, &rl) < 0)
		return 1;
	void *p = mmap(NULL, (size_t)2 << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!(p == MAP_FAILED && errno == ENOMEM))
		return 2;
	p = mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 3;
	/* brk is bounded by the same limit, and a refused brk leaves the break. */
	char *cur = sbrk(0);
	if (brk(cur + ((size_t)2 << 30)) == 0 || sbrk(0) != cur)
		return 4;
	if (brk(cur + 4096) != 0)
		return 5;
	return 0;
}

static int unpriv_child(void *arg)
{
	(void)arg;
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_max = 512;
	rl.rlim_cur = 256;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	if (setgid(65534) < 0 || setuid(65534) < 0)
		return 2;
	rl.rlim_max = 1024;
	if (!(setrlimit(RLIMIT_NOFILE, &rl) == -1 && errno == EPERM))
		return 3;
	rl.rlim_max = 400; /* lowering is always allowed */
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 4;
	return 0;
}

int main(void)
{
	struct rlimit rl, rl2;
	struct rlimit64_ r64, o64;
	char path[64];
	h_tmp(path, sizeof(path), "rlimit");

	EXPECT_EQ("getrlimit_nofile", getrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK("nofile_soft_le_hard", rl.rlim_cur <= rl.rlim_max);
	EXPECT_EQ("prlimit64_get_self", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &o64), 0);
	CHECK("prlimit64_matches_getrlimit", o64.cur == rl.rlim_cur && o64.max == rl.rlim_max);
	EXPECT_EQ("prlimit64_by_pid", syscall(SYS_prlimit64, getpid(), RLIMIT_NOFILE, NULL, &o64), 0);
	EXPECT_EQ("getrlimit_stack", getrlimit(RLIMIT_STACK, &rl2), 0);
	CHECK("stack_limit_nonzero", rl2.rlim_cur > 0);
	EXPECT_ERR("getrlimit_bad_resource_einval", syscall(SYS_getrlimit, 999, &rl2), EINVAL);
	EXPECT_ERR("setrlimit_bad_resource_einval", syscall(SYS_setrlimit, 999, &rl), EINVAL);
	EXPECT_ERR("getrlimit_efault", syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)1), EFAULT);
	EXPECT_ERR("prlimit64_new_efault", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, (void *)1, NULL), EFAULT);
	rl2.rlim_cur = 100;
	rl2.rlim_max = 50;
	EXPECT_ERR("setrlimit_soft_above_hard_einval", setrlimit(RLIMIT_NOFILE, &rl2), EINVAL);
	rl2.rlim_cur = rl.rlim_cur;
	rl2.rlim_max = RLIM_INFINITY;
	EXPECT_ERR("nofile_hard_above_nr_open_eperm", setrlimit(RLIMIT_NOFILE, &rl2), EPERM);
	EXPECT_ERR("prlimit64_nonexistent_esrch", syscall(SYS_prlimit64, 0x3ffffff0, RLIMIT_NOFILE, NULL, &o64), ESRCH);

	/* set and read back, atomically swapping with prlimit64 */
	r64.cur = rl.rlim_cur > 64 ? 64 : rl.rlim_cur;
	r64.max = rl.rlim_max;
	EXPECT_EQ("prlimit64_set_and_get_old", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &r64, &o64), 0);
	CHECK("prlimit64_old_value", o64.cur == rl.rlim_cur);
	getrlimit(RLIMIT_NOFILE, &rl2);
	EXPECT_EQ("prlimit64_new_value", rl2.rlim_cur, r64.cur);
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl2);
	EXPECT_EQ("setrlimit_restores", rl2.rlim_cur, rl.rlim_cur);

	int st = h_run_child(nofile_child, NULL);
	CHECKF("nofile_enforced_emfile", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	st = h_run_child(fsize_child, path);
	CHECKF("fsize_enforced_efbig", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	st = h_run_child(fsize_signal_child, path);
	CHECKF("fsize_default_sigxfsz", WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ, "status %#x", st);
	st = h_run_child(as_child, NULL);
	CHECKF("as_limit_enforced_enomem", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	st = h_run_child(unpriv_child, NULL);
	CHECKF("unprivileged_raise_hard_eperm", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	unlink(path);
	return 0;
}
