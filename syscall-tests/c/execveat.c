/* execveat(2): a file by its fd (AT_EMPTY_PATH: a plain fd, an O_PATH fd,
 * a memfd), by a path relative to a directory fd, AT_SYMLINK_NOFOLLOW, the
 * new image's comm, and the errno of bad input. The program runs itself
 * (argv[1] set) and reports through its exit status. */
#include "harness.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* The child's answer: 0 when its comm is `want`, else 1; an exec that
 * failed exits with 100 + errno. */
static int run(int dirfd, const char *path, int flags, const char *want)
{
	pid_t p = fork();
	if (p == 0) {
		char *av[] = {"execveat", "child", (char *)want, NULL};
		char *env[] = {NULL};
		syscall(SYS_execveat, dirfd, path, av, env, flags);
		_exit(100 + errno);
	}
	int st = 0;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "child") == 0) {
		char comm[32] = {0};
		int f = open("/proc/self/comm", O_RDONLY);
		read(f, comm, sizeof(comm) - 1);
		comm[strcspn(comm, "\n")] = 0;
		return strcmp(comm, argv[2]) == 0 ? 0 : 1;
	}
	char exe[PATH_MAX] = {0};
	readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash = strrchr(exe, '/');
	const char *base = slash + 1;
	char comm[16] = {0};
	snprintf(comm, sizeof(comm), "%s", base);

	int self = open(exe, O_RDONLY);
	EXPECT_EQ("empty_path_fd", run(self, "", AT_EMPTY_PATH, comm), 0);
	int opath = open(exe, O_PATH);
	EXPECT_EQ("empty_path_o_path_fd", run(opath, "", AT_EMPTY_PATH, comm), 0);
	EXPECT_EQ("empty_path_without_flag_enoent", run(self, "", 0, comm), 100 + ENOENT);
	EXPECT_EQ("bad_flag_einval", run(self, "", AT_EMPTY_PATH | 0x4, comm), 100 + EINVAL);
	*slash = 0;
	int dir = open(exe, O_RDONLY | O_DIRECTORY);
	EXPECT_EQ("relative_to_dirfd", run(dir, base, 0, comm), 0);
	EXPECT_EQ("absolute_ignores_dirfd", run(dir, "/proc/self/exe", 0, "exe"), 0);
	*slash = '/';

	char link[64];
	h_tmp(link, sizeof(link), "execveat_link");
	symlink(exe, link);
	char lcomm[16] = {0};
	snprintf(lcomm, sizeof(lcomm), "%s", strrchr(link, '/') + 1);
	EXPECT_EQ("follows_symlink", run(AT_FDCWD, link, 0, lcomm), 0);
	EXPECT_EQ("nofollow_eloop", run(AT_FDCWD, link, AT_SYMLINK_NOFOLLOW, comm), 100 + ELOOP);
	unlink(link);
	EXPECT_EQ("not_a_dir_enotdir", run(self, "x", 0, comm), 100 + ENOTDIR);
	EXPECT_EQ("bad_fd_ebadf", run(999, "", AT_EMPTY_PATH, comm), 100 + EBADF);

	/* A copy of this program in a memfd, run from it. */
	int m = (int)syscall(SYS_memfd_create, "image", MFD_CLOEXEC);
	char buf[65536];
	ssize_t n;
	lseek(self, 0, SEEK_SET);
	while ((n = read(self, buf, sizeof(buf))) > 0)
		write(m, buf, n);
	EXPECT_EQ("memfd_image", run(m, "", AT_EMPTY_PATH, "memfd:image"), 0);
	return 0;
}
