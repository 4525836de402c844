/* /proc/self files. */
#include "harness.h"
#include <dirent.h>
#include <elf.h>
#include <sys/auxv.h>

static ssize_t slurp(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t got = 0;
	ssize_t r;
	while (got < n - 1 && (r = read(fd, buf + got, n - 1 - got)) > 0)
		got += r;
	buf[got] = 0;
	close(fd);
	return (ssize_t)got;
}

static char big[1 << 16];

int main(int argc, char **argv)
{
	char buf[PATH_MAX], want[PATH_MAX], line[128];
	(void)argc;

	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	CHECKF("exe_readlink_ok", n > 0, "errno %s", h_errname(errno));
	if (n > 0)
		buf[n] = 0;
	if (!realpath(argv[0], want))
		want[0] = 0;
	CHECKF("exe_is_argv0_resolved", n > 0 && strcmp(buf, want) == 0, "'%s' vs '%s'", n > 0 ? buf : "", want);
	snprintf(line, sizeof(line), "%d", (int)getpid());
	n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n > 0)
		buf[n] = 0;
	CHECKF("proc_self_links_to_pid", n > 0 && strcmp(buf, line) == 0, "'%s'", n > 0 ? buf : "");

	EXPECT_EQ("readlink_small_buf_truncates", readlink("/proc/self/exe", buf, 3), 3);
	n = slurp("/proc/self/maps", big, sizeof(big));
	CHECK("maps_readable", n > 0);
	CHECK("maps_has_stack", strstr(big, "[stack]") != NULL);
	CHECK("maps_has_exe", want[0] && strstr(big, want) != NULL);
	CHECK("maps_has_vdso", strstr(big, "[vdso]") != NULL);
	void *m = mmap(NULL, 4096 * 3, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	snprintf(line, sizeof(line), "%lx-%lx r--p", (unsigned long)m, (unsigned long)m + 4096 * 3);
	slurp("/proc/self/maps", big, sizeof(big));
	CHECKF("maps_shows_new_mapping", strstr(big, line) != NULL, "no '%s'", line);
	munmap(m, 4096 * 3);

	slurp("/proc/self/status", big, sizeof(big));
	snprintf(line, sizeof(line), "\nPid:\t%d\n", (int)getpid());
	CHECK("status_has_pid", strstr(big, line) != NULL);
	snprintf(line, sizeof(line), "\nPPid:\t%d\n", (int)getppid());
	CHECK("status_has_ppid", strstr(big, line) != NULL);
	CHECK("status_has_name", strncmp(big, "Name:\t", 6) == 0);
	CHECK("status_has_threads", strstr(big, "\nThreads:\t1\n") != NULL);

	n = slurp("/proc/self/cmdline", big, sizeof(big));
	size_t expect = 0;
	int same = 1;
	for (char **a = argv; *a; a++) {
		size_t l = strlen(*a) + 1;
		if (expect + l > (size_t)n || memcmp(big + expect, *a, l) != 0)
			same = 0;
		expect += l;
	}
	CHECKF("cmdline_matches_argv", same && (size_t)n == expect, "n %zd expect %zu", n, expect);

	slurp("/proc/self/stat", big, sizeof(big));
	snprintf(line, sizeof(line), "%d (", (int)getpid());
	CHECK("stat_starts_with_pid_comm", strncmp(big, line, strlen(line)) == 0);
	char *rp = strrchr(big, ')');
	CHECK("stat_state_running", rp && rp[1] == ' ' && rp[2] == 'R');

	char comm[64];
	slurp("/proc/self/comm", comm, sizeof(comm));
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	snprintf(line, sizeof(line), "%.15s\n", base);
	CHECKF("comm_is_basename", strcmp(comm, line) == 0, "'%s'", comm);

	DIR *d = opendir("/proc/self/fd");
	int has[3] = {0}, count = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		count++;
		int v = atoi(e->d_name);
		if (v >= 0 && v < 3)
			has[v] = 1;
	}
	if (d)
		closedir(d);
	CHECK("fd_dir_lists_0_1_2", has[0] && has[1] && has[2]);
	char path[64];
	h_tmp(path, sizeof(path), "procfd");
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	snprintf(line, sizeof(line), "/proc/self/fd/%d", fd);
	n = readlink(line, buf, sizeof(buf) - 1);
	if (n > 0)
		buf[n] = 0;
	CHECKF("fd_link_names_file", n > 0 && strcmp(buf, path) == 0, "'%s'", n > 0 ? buf : "");
	write(fd, "via", 3);
	int fd2 = open(line, O_RDONLY);
	char tmp[4] = {0};
	read(fd2, tmp, 3);
	CHECK("open_via_fd_link", strcmp(tmp, "via") == 0);
	close(fd2);
	close(fd);
	unlink(path);
	n = readlink(line, buf, sizeof(buf) - 1);
	EXPECT_ERR("closed_fd_link_enoent", readlink(line, buf, sizeof(buf)), ENOENT);
	EXPECT_ERR("missing_fd_enoent", open("/proc/self/fd/987", O_RDONLY), ENOENT);

	n = slurp("/proc/self/auxv", big, sizeof(big));
	int pagesz_ok = 0;
	for (Elf64_auxv_t *a = (void *)big; (char *)(a + 1) <= big + n && a->a_type != AT_NULL; a++)
		if (a->a_type == AT_PAGESZ && a->a_un.a_val == 4096)
			pagesz_ok = 1;
	CHECK("auxv_has_pagesz", pagesz_ok);
	CHECK("getauxval_pagesz", getauxval(AT_PAGESZ) == 4096);

	n = slurp("/proc/self/environ", big, sizeof(big));
	extern char **environ;
	CHECK("environ_first_entry", environ[0] == NULL ? n == 0 : (n > 0 && strcmp(big, environ[0]) == 0));
	snprintf(line, sizeof(line), "/proc/%d/status", (int)getpid());
	CHECK("proc_pid_dir_readable", slurp(line, big, sizeof(big)) > 0);
	slurp("/proc/thread-self/status", big, sizeof(big));
	CHECK("thread_self_status", strstr(big, "Pid:") != NULL);
	/* mountinfo: the root mount, and /proc, each line with the " - "
	 * separator before the filesystem type */
	{
		FILE *mi = fopen("/proc/self/mountinfo", "r");
		CHECK("mountinfo_opens", mi != NULL);
		char line[512];
		int root = 0, proc = 0, sep = 1;
		while (mi && fgets(line, sizeof(line), mi)) {
			int id, parent;
			char mroot[256], point[256];
			if (sscanf(line, "%d %d %*s %255s %255s", &id, &parent, mroot, point) == 4) {
				if (!strcmp(point, "/"))
					root = 1;
				if (!strcmp(point, "/proc") && strstr(line, " - proc "))
					proc = 1;
			}
			if (!strstr(line, " - "))
				sep = 0;
		}
		if (mi)
			fclose(mi);
		CHECK("mountinfo_has_root", root);
		CHECK("mountinfo_has_proc", proc);
		CHECK("mountinfo_separator", sep);
	}
	/* A thread's directory has no task/ of its own (a walk of /proc
	 * must end). */
	{
		char path[128];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)syscall(SYS_gettid));
		EXPECT_OK("task_tid_stat", stat(path, &st));
		snprintf(path, sizeof(path), "/proc/self/task/%d/task", (int)syscall(SYS_gettid));
		EXPECT_ERR("task_tid_has_no_task", stat(path, &st), ENOENT);
		EXPECT_OK("self_has_task", stat("/proc/self/task", &st));
	}
	return 0;
}
