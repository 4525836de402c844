/*
 * Shared helpers for the conformance programs.
 *
 * Every program prints one line per case:
 *     ok NAME
 *     not ok NAME: detail
 * and exits 0. Case names must be unique within a program and must not
 * contain anything nondeterministic (pids, addresses, times); the detail
 * after the colon may. Lines starting with "# " are comments and are ignored
 * by the harness.
 *
 * Build: gcc -O1 -Wall -o X X.c -lpthread
 */
#ifndef SYSCALL_TESTS_HARNESS_H
#define SYSCALL_TESTS_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

/* The programs pass bad pointers and counts on purpose. */
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Wnonnull"
#pragma GCC diagnostic ignored "-Warray-bounds"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Line-buffer stdout so that output is never duplicated by fork and never
 * lost by _exit in a child. Children should not print at all. */
static char h_stdout_buf[4096];
__attribute__((constructor)) static void h_init(void)
{
	/* A static buffer: printing never moves the brk or maps memory. */
	setvbuf(stdout, h_stdout_buf, _IOLBF, sizeof(h_stdout_buf));
}

static void h_report(const char *name, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), unused));
static void h_report(const char *name, int ok, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	if (ok) {
		printf("ok %s\n", name);
	} else {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
		printf("not ok %s: %s\n", name, detail);
	}
	fflush(stdout);
}

static const char *h_errname(int e) __attribute__((unused));
static const char *h_errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : (e == 0 ? "0" : "?");
}

/* Unconditional verdicts. */
#define PASS(name) h_report((name), 1, "")
#define FAIL(name, ...) h_report((name), 0, __VA_ARGS__)

/* CHECK(name, cond): passes when cond is true; the detail is the condition. */
#define CHECK(name, cond) h_report((name), !!(cond), "failed: %s", #cond)

/* CHECKF(name, cond, fmt, ...): as CHECK with a custom detail. */
#define CHECKF(name, cond, ...) h_report((name), !!(cond), __VA_ARGS__)

/* EXPECT_OK(name, expr): expr (a syscall result) must be >= 0, i.e. not -1
 * (pointers returned by mmap count: MAP_FAILED is -1). */
#define EXPECT_OK(name, expr)                                                  \
	do {                                                                   \
		errno = 0;                                                     \
		long _h_r = (long)(expr);                                      \
		int _h_e = errno;                                              \
		h_report((name), _h_r != -1, "%s returned -1 errno %s",        \
			 #expr, h_errname(_h_e));                              \
	} while (0)

/* EXPECT_ERR(name, expr, err): expr must return -1 with errno == err. */
#define EXPECT_ERR(name, expr, err)                                            \
	do {                                                                   \
		errno = 0;                                                     \
		long _h_r = (long)(expr);                                      \
		int _h_e = errno;                                              \
		h_report((name), _h_r == -1 && _h_e == (err),                  \
			 "%s: want -1 %s, got %ld errno %s", #expr,            \
			 h_errname(err), _h_r, h_errname(_h_e));               \
	} while (0)

/* EXPECT_EQ(name, a, b): integer equality. */
#define EXPECT_EQ(name, a, b)                                                  \
	do {                                                                   \
		long long _h_a = (long long)(a), _h_b = (long long)(b);        \
		int _h_e = errno;                                              \
		h_report((name), _h_a == _h_b,                                 \
			 "%s = %lld, want %s = %lld (errno %s)", #a, _h_a, #b, \
			 _h_b, h_errname(_h_e));                               \
	} while (0)

/* A unique path under /tmp: /tmp/st_<tag>_<pid>. */
static char *h_tmp(char *buf, size_t n, const char *tag) __attribute__((unused));
static char *h_tmp(char *buf, size_t n, const char *tag)
{
	snprintf(buf, n, "/tmp/st_%s_%d", tag, (int)getpid());
	return buf;
}

/* Creates a file with the given contents; returns 0 on success. */
static int h_write_file(const char *path, const void *data, size_t len, mode_t mode)
	__attribute__((unused));
static int h_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	if (fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* An address that is certainly not mapped: a page mapped then unmapped. */
static void *h_unmapped(void) __attribute__((unused));
static void *h_unmapped(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (void *)1;
	munmap(p, 4096);
	return p;
}

/* A file descriptor number that is certainly closed. */
static int h_closed_fd(void) __attribute__((unused));
static int h_closed_fd(void)
{
	close(987);
	return 987;
}

/* Monotonic time in nanoseconds. */
static long long h_now_ns(void) __attribute__((unused));
static long long h_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Forks a child that runs fn(arg) and _exits with its return value; returns
 * the raw wait status, or -1 when fork/wait fails. */
/* Wait until the task whose stat file is `path` is asleep (state S), or
 * until h_now_ns() reaches `deadline`. */
static void h_wait_stat_sleeping(const char *path, long long deadline) __attribute__((unused));
static void h_wait_stat_sleeping(const char *path, long long deadline)
{
	char buf[512];
	while (h_now_ns() < deadline) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = 0;
		char *p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			return;
		usleep(2000);
	}
}

/* Wait until thread `tid` of this process is asleep (state S in
 * /proc/self/task/TID/stat), or until h_now_ns() reaches `deadline`. */
static void h_wait_thread_sleeping(pid_t tid, long long deadline) __attribute__((unused));
static void h_wait_thread_sleeping(pid_t tid, long long deadline)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	h_wait_stat_sleeping(path, deadline);
}

/* Wait until process `pid` is asleep (state S in /proc/PID/stat), or until
 * h_now_ns() reaches `deadline`. */
static void h_wait_process_sleeping(pid_t pid, long long deadline) __attribute__((unused));
static void h_wait_process_sleeping(pid_t pid, long long deadline)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	h_wait_stat_sleeping(path, deadline);
}

/* Fork a child that exits at once with `code`; returns its pid. */
static pid_t h_spawn_exit(int code) __attribute__((unused));
static pid_t h_spawn_exit(int code)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(code);
	return pid;
}

static int h_run_child(int (*fn)(void *), void *arg) __attribute__((unused));
static int h_run_child(int (*fn)(void *), void *arg)
{
	int status;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* ---- fault probing: SIGSEGV/SIGBUS turned into a return value ---- */

static sigjmp_buf h_fault_jmp;
static volatile sig_atomic_t h_fault_sig;
static void *volatile h_fault_addr;
static volatile int h_fault_code;

static void h_fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	h_fault_sig = sig;
	h_fault_addr = si->si_addr;
	h_fault_code = si->si_code;
	siglongjmp(h_fault_jmp, 1);
}

static void h_fault_install(void) __attribute__((unused));
static void h_fault_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h_fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Returns 0 if the access succeeded, else the signal number. */
static int h_probe_read(const volatile char *p) __attribute__((unused));
static int h_probe_read(const volatile char *p)
{
	h_fault_sig = 0;
	if (sigsetjmp(h_fault_jmp, 1) == 0) {
		(void)*p;
		return 0;
	}
	return h_fault_sig;
}

static int h_probe_write(volatile char *p, char v) __attribute__((unused));
static int h_probe_write(volatile char *p, char v)
{
	h_fault_sig = 0;
	if (sigsetjmp(h_fault_jmp, 1) == 0) {
		*p = v;
		return 0;
	}
	return h_fault_sig;
}

#endif
