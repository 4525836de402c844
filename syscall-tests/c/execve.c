/* execve. The program re-executes itself (argv[1] == "--child") to check
 * what survives exec. */
#include "harness.h"

static char self[PATH_MAX];

/* Child mode: exit 0 when everything expected holds, else a code saying
 * what did not. */
static int child_mode(int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[2], "two words") != 0)
		return 10;
	const char *e = getenv("ST_EXEC_VAR");
	if (!e || strcmp(e, "value=1") != 0)
		return 11;
	int fd = atoi(argv[3]);
	if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
		return 12; /* cloexec fd must be closed */
	if (fcntl(fd + 1, F_GETFD) != 0)
		return 13; /* plain fd must survive */
	struct sigaction sa;
	sigaction(SIGUSR1, NULL, &sa);
	if (sa.sa_handler != SIG_IGN)
		return 14; /* ignored stays ignored */
	sigaction(SIGUSR2, NULL, &sa);
	if (sa.sa_handler != SIG_DFL)
		return 15; /* handled resets to default */
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	if (!sigismember(&m, SIGTERM))
		return 16; /* mask is inherited */
	return 0;
}

static void on_usr2(int s) { (void)s; }

static int run(const char *path, char *const argv[], char *const envp[])
{
	int st;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(100 + errno);
	}
	waitpid(pid, &st, 0);
	return st;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--child") == 0)
		return child_mode(argc, argv);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0)
		self[n] = 0;
	else
		realpath(argv[0], self);

	char *targv[] = {"true", NULL};
	char *envp[] = {"PATH=/bin:/usr/bin", NULL};
	int st = run("/bin/true", targv, envp);
	CHECKF("exec_true", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	char *fargv[] = {"false", NULL};
	st = run("/bin/false", fargv, envp);
	CHECKF("exec_false", WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x", st);

	EXPECT_ERR("nonexistent_enoent", execve("/tmp/st_no_such_binary_here", targv, envp), ENOENT);
	EXPECT_ERR("path_through_file_enotdir", execve("/bin/true/x", targv, envp), ENOTDIR);
	EXPECT_ERR("directory_eacces", execve("/tmp", targv, envp), EACCES);
	EXPECT_ERR("path_efault", syscall(SYS_execve, (void *)1, targv, envp), EFAULT);
	EXPECT_ERR("argv_efault", syscall(SYS_execve, "/bin/true", (void *)1, envp), EFAULT);
	EXPECT_ERR("empty_path_enoent", execve("", targv, envp), ENOENT);

	char noexec[64], corrupt[64], text[64], script[64], badinterp[64];
	h_tmp(noexec, sizeof(noexec), "exec_noexec");
	h_tmp(corrupt, sizeof(corrupt), "exec_corrupt");
	h_tmp(text, sizeof(text), "exec_text");
	h_tmp(script, sizeof(script), "exec_script");
	h_tmp(badinterp, sizeof(badinterp), "exec_badinterp");
	h_write_file(noexec, "#!/bin/sh\nexit 0\n", 17, 0644);
	EXPECT_ERR("not_executable_eacces", execve(noexec, targv, envp), EACCES);
	char elf[256] = {0x7f, 'E', 'L', 'F'};
	h_write_file(corrupt, elf, sizeof(elf), 0755);
	EXPECT_ERR("corrupt_elf_enoexec", execve(corrupt, targv, envp), ENOEXEC);
	h_write_file(text, "just some text\n", 15, 0755);
	EXPECT_ERR("plain_text_enoexec", execve(text, targv, envp), ENOEXEC);
	h_write_file(badinterp, "#!/tmp/st_no_such_interp\n", 25, 0755);
	EXPECT_ERR("script_missing_interpreter_enoent", execve(badinterp, targv, envp), ENOENT);

	/* #! script: exit code and argument passing through a pipe */
	const char *sc = "#!/bin/sh\necho \"$1\" >&3\nexit 7\n";
	h_write_file(script, sc, strlen(sc), 0755);
	int p[2];
	pipe(p);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 3);
		char *sargv[] = {"script", "arg-one", NULL};
		execve(script, sargv, envp);
		_exit(100 + errno);
	}
	close(p[1]);
	char buf[64] = {0};
	ssize_t got = 0, r;
	while ((r = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += r;
	close(p[0]);
	waitpid(pid, &st, 0);
	CHECKF("script_exit_status", WIFEXITED(st) && WEXITSTATUS(st) == 7, "status %#x", st);
	CHECKF("script_gets_argument", strcmp(buf, "arg-one\n") == 0, "got '%s'", buf);

	/* what survives exec */
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int keep = dup2(fd, fd + 1);
	fcntl(keep, F_SETFD, 0);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, on_usr2);
	sigset_t m, old;
	sigemptyset(&m);
	sigaddset(&m, SIGTERM);
	sigprocmask(SIG_BLOCK, &m, &old);
	char fdarg[16];
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	char *cargv[] = {"self", "--child", "two words", fdarg, NULL};
	char *cenv[] = {"ST_EXEC_VAR=value=1", NULL};
	st = run(self, cargv, cenv);
	CHECKF("reexec_self_state", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	close(fd);
	close(keep);

	/* exec from a multi-process tree: the pid is kept */
	fflush(stdout);
	pipe(p);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		char *pargv[] = {"sh", "-c", "echo $$", NULL};
		execve("/bin/sh", pargv, envp);
		_exit(127);
	}
	close(p[1]);
	memset(buf, 0, sizeof(buf));
	got = 0;
	while ((r = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += r;
	close(p[0]);
	waitpid(pid, &st, 0);
	CHECKF("exec_keeps_pid", atoi(buf) == pid, "child %d printed '%s'", (int)pid, buf);

	unlink(noexec);
	unlink(corrupt);
	unlink(text);
	unlink(script);
	unlink(badinterp);
	return 0;
}
