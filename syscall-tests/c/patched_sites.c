/* Syscall sites of the `mov $nr, %eax; syscall` form and of glibc read's
 * short form, `xor %eax,%eax` (or `mov %edx,%eax`); `syscall; cmp $imm32,
 * %rax`, run many times (on systrap the sandbox patches such sites into
 * jumps; see docs/syscall-patching.md): registers, flags and vector state
 * across them, signals, restarts and EINTR on them, threads racing through
 * one while it is patched, and a forked child running one; and syscall(3),
 * whose wrapper is a site of the same kind, with six arguments. */
#include "harness.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#define ROUNDS 2000

/* getppid through an inline site; returns rax. */
static inline long site_getppid(void)
{
	long r;
	__asm__ volatile("mov $110, %%eax\n\tsyscall" : "=a"(r) : : "rcx", "r11", "memory");
	return r;
}

/* getpid through one site with known values in every register the kernel
 * keeps, and the carry flag set; records what comes back. */
long g_in[12] = {0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777, 0x8888, 0x9999, 0xaaaa, 0xbbbb, 0xcccc};
long g_out[16];
extern char site_regs_next[];
long site_regs(void);
__asm__(".text\n"
	".globl site_regs\n"
	"site_regs:\n"
	"push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"mov g_in+0(%rip), %rbx\n"
	"mov g_in+8(%rip), %rbp\n"
	"mov g_in+16(%rip), %r12\n"
	"mov g_in+24(%rip), %r13\n"
	"mov g_in+32(%rip), %r14\n"
	"mov g_in+40(%rip), %r15\n"
	"mov g_in+48(%rip), %rdi\n"
	"mov g_in+56(%rip), %rsi\n"
	"mov g_in+64(%rip), %rdx\n"
	"mov g_in+72(%rip), %r8\n"
	"mov g_in+80(%rip), %r9\n"
	"mov g_in+88(%rip), %r10\n"
	"stc\n"
	"mov $39, %eax\n"
	"syscall\n"
	".globl site_regs_next\n"
	"site_regs_next:\n"
	"mov %rax, g_out+0(%rip)\n"
	"setc %al\n"
	"movzbl %al, %eax\n"
	"mov %rax, g_out+8(%rip)\n"
	"mov %rcx, g_out+16(%rip)\n"
	"mov %r11, g_out+24(%rip)\n"
	"mov %rbx, g_out+32(%rip)\n"
	"mov %rbp, g_out+40(%rip)\n"
	"mov %r12, g_out+48(%rip)\n"
	"mov %r13, g_out+56(%rip)\n"
	"mov %r14, g_out+64(%rip)\n"
	"mov %r15, g_out+72(%rip)\n"
	"mov %rdi, g_out+80(%rip)\n"
	"mov %rsi, g_out+88(%rip)\n"
	"mov %rdx, g_out+96(%rip)\n"
	"mov %r8, g_out+104(%rip)\n"
	"mov %r9, g_out+112(%rip)\n"
	"mov %r10, g_out+120(%rip)\n"
	"pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
	"mov g_out+0(%rip), %rax\n"
	"ret\n");

static void test_registers(void)
{
	int bad = 0, flags = 0, rcx = 0;
	long pid = getpid();
	for (int i = 0; i < ROUNDS; i++) {
		memset(g_out, 0, sizeof(g_out));
		if (site_regs() != pid)
			bad++;
		for (int k = 0; k < 12; k++)
			if (g_out[4 + k] != g_in[k])
				bad++;
		if (g_out[1] != 1 || !(g_out[3] & 1))
			flags++;
		if (g_out[2] != (long)site_regs_next)
			rcx++;
	}
	CHECKF("registers_kept", bad == 0, "%d mismatches", bad);
	CHECKF("carry_flag_kept_and_in_r11", flags == 0, "%d mismatches", flags);
	CHECKF("rcx_is_next_instruction", rcx == 0, "%d mismatches", rcx);
}

__attribute__((target("avx"))) static int avx_round(void)
{
	double in[4] = {4.5, 3.5, 2.5, 1.5}, out[4], out2[4];
	long r;
	__asm__ volatile("vmovupd (%3), %%ymm8\n\t"
			 "vmovupd (%3), %%ymm15\n\t"
			 "mov $110, %%eax\n\t"
			 "syscall\n\t"
			 "vmovupd %%ymm8, (%1)\n\t"
			 "vmovupd %%ymm15, (%2)\n\t"
			 : "=&a"(r)
			 : "r"(out), "r"(out2), "r"(in)
			 : "rcx", "r11", "memory", "xmm8", "xmm15");
	return r < 0 || memcmp(in, out, sizeof(in)) != 0 || memcmp(in, out2, sizeof(in)) != 0;
}

static void test_avx(void)
{
	if (!__builtin_cpu_supports("avx")) {
		h_report("ymm_registers_kept", 1, "%s", "no AVX");
		return;
	}
	int bad = 0;
	for (int i = 0; i < ROUNDS; i++)
		bad += avx_round();
	CHECKF("ymm_registers_kept", bad == 0, "%d rounds lost them", bad);
}

static volatile long alarms;
static void on_alarm(int s)
{
	(void)s;
	alarms++;
}

static void test_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, NULL);
	long ppid = getppid(), bad = 0;
	for (int i = 0; i < 100000; i++)
		if (site_getppid() != ppid)
			bad++;
	CHECKF("signals_during_site_loop", bad == 0 && alarms > 0, "bad %ld alarms %ld", bad, (long)alarms);

	/* Blocking reads restarted (SA_RESTART) while the timer fires. */
	int p[2];
	if (pipe(p) != 0) {
		FAIL("restarted_reads", "pipe: %s", h_errname(errno));
		return;
	}
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < 40; i++) {
			struct timespec t = {0, 2000000};
			nanosleep(&t, NULL);
			if (write(p[1], "x", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	int got = 0, errs = 0;
	char b;
	for (int i = 0; i < 40; i++) {
		ssize_t n = read(p[0], &b, 1);
		if (n == 1)
			got++;
		else
			errs++;
	}
	waitpid(c, NULL, 0);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	close(p[0]);
	close(p[1]);
	CHECKF("restarted_reads", got == 40 && errs == 0, "got %d errors %d", got, errs);
}

/* A stop and continue in the middle of a long nanosleep whose site has
 * been run often: the sleep resumes through restart_syscall and lasts its
 * time, not more. */
static void nap(long ns)
{
	struct timespec t = {0, ns};
	long r;
	__asm__ volatile("mov $35, %%eax\n\tsyscall" : "=a"(r) : "D"(&t), "S"(0L) : "rcx", "r11", "memory");
	(void)r;
}

static void test_restart_syscall(void)
{
	int fds[2];
	if (pipe(fds) != 0) {
		FAIL("nanosleep_stopped_and_continued", "pipe");
		return;
	}
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < 40; i++)
			nap(1000);
		long t0 = h_now_ns();
		nap(300000000);
		long ms = (h_now_ns() - t0) / 1000000;
		if (write(fds[1], &ms, sizeof(ms)) != sizeof(ms))
			_exit(1);
		_exit(0);
	}
	struct timespec t = {0, 100000000};
	nanosleep(&t, NULL);
	kill(c, SIGSTOP);
	nanosleep(&t, NULL);
	kill(c, SIGCONT);
	int st = 0;
	waitpid(c, &st, 0);
	long ms = -1;
	if (read(fds[0], &ms, sizeof(ms)) != sizeof(ms))
		ms = -1;
	close(fds[0]);
	close(fds[1]);
	/* 300 ms plus however long it was stopped is fine; restarting from
	 * scratch after the continue would take about 500 ms. */
	CHECKF("nanosleep_stopped_and_continued", WIFEXITED(st) && ms >= 295 && ms < 450, "status %#x slept %ld ms", st, ms);
}

static void *racer(void *arg)
{
	long ppid = (long)arg, bad = 0;
	for (int i = 0; i < 20000; i++)
		if (site_getppid() != ppid)
			bad++;
	return (void *)bad;
}

/* Four threads running `fn(arg)` at once; the sum of what they return
 * (their wrong results). */
static long race(void *(*fn)(void *), long arg)
{
	pthread_t t[4];
	long bad = 0;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, fn, (void *)arg);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	return bad;
}

static void test_threads(void)
{
	long bad = race(racer, getppid());
	CHECKF("threads_through_one_site", bad == 0, "%ld wrong results", bad);
}

static void test_fork(void)
{
	for (int i = 0; i < 100; i++)
		site_getppid();
	fflush(stdout);
	pid_t me = getpid();
	pid_t c = fork();
	if (c == 0) {
		long bad = 0;
		for (int i = 0; i < 1000; i++)
			if (site_getppid() != me)
				bad++;
		_exit(bad ? 1 : 0);
	}
	int st = 0;
	waitpid(c, &st, 0);
	CHECKF("forked_child_runs_the_site", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}

/* A SIGCHLD handler runs between a blocking wait and its return, again
 * and again, while the wait's site is patched: the handler's frame and
 * rt_sigreturn, an interrupt, then the wait's own return. */
static void on_child(int s)
{
	(void)s;
}

static void test_handler_around_wait(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, &old);
	sigset_t m, o;
	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	int bad = 0;
	for (int i = 0; i < 60; i++) {
		sigprocmask(SIG_BLOCK, &m, &o);
		fflush(stdout);
		pid_t c = fork();
		if (c == 0)
			_exit(i & 7);
		sigprocmask(SIG_SETMASK, &o, NULL);
		int st = 0;
		pid_t r = waitpid(c, &st, 0);
		if (r != c || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 7))
			bad++;
	}
	sigaction(SIGCHLD, &old, NULL);
	CHECKF("handler_around_patched_wait", bad == 0, "%d bad waits", bad);
}

/* ---- Short sites: a two-byte move into eax, syscall, cmp $imm32, %rax. */

/* A short getpid site with known values in every register the kernel keeps;
 * records rax, the compare's carry (rax below -4095: set), rcx and r11. */
long s_in[11] = {0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777, 0x8888, 0x9999, 0xaaaa, 0xbbbb};
long s_out[16];
extern char short_regs_next[];
long short_regs(void);
__asm__(".text\n"
	".globl short_regs\n"
	"short_regs:\n"
	"push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"mov s_in+0(%rip), %rbx\n"
	"mov s_in+8(%rip), %rbp\n"
	"mov s_in+16(%rip), %r12\n"
	"mov s_in+24(%rip), %r13\n"
	"mov s_in+32(%rip), %r14\n"
	"mov s_in+40(%rip), %r15\n"
	"mov s_in+48(%rip), %rdi\n"
	"mov s_in+56(%rip), %rsi\n"
	"mov s_in+64(%rip), %r8\n"
	"mov s_in+72(%rip), %r9\n"
	"mov s_in+80(%rip), %r10\n"
	"mov $39, %edx\n"
	"stc\n"
	"mov %edx, %eax\n"
	"syscall\n"
	".globl short_regs_next\n"
	"short_regs_next:\n"
	"cmp $-4095, %rax\n"
	"mov %rax, s_out+0(%rip)\n"
	"setc %al\n"
	"movzbl %al, %eax\n"
	"mov %rax, s_out+8(%rip)\n"
	"mov %rcx, s_out+16(%rip)\n"
	"mov %r11, s_out+24(%rip)\n"
	"mov %rbx, s_out+32(%rip)\n"
	"mov %rbp, s_out+40(%rip)\n"
	"mov %r12, s_out+48(%rip)\n"
	"mov %r13, s_out+56(%rip)\n"
	"mov %r14, s_out+64(%rip)\n"
	"mov %r15, s_out+72(%rip)\n"
	"mov %rdi, s_out+80(%rip)\n"
	"mov %rsi, s_out+88(%rip)\n"
	"mov %r8, s_out+96(%rip)\n"
	"mov %r9, s_out+104(%rip)\n"
	"mov %r10, s_out+112(%rip)\n"
	"mov %rdx, s_out+120(%rip)\n"
	"pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
	"mov s_out+0(%rip), %rax\n"
	"ret\n");

/* read(2) through glibc's own form of site: the raw result, and whether
 * the compare saw an error (rax above -4096). */
static long short_read(int fd, void *buf, long n, int *err)
{
	long r;
	unsigned char above;
	__asm__ volatile("xor %%eax, %%eax\n\t"
			 "syscall\n\t"
			 "cmp $-4096, %%rax\n\t"
			 "seta %1"
			 : "=a"(r), "=r"(above)
			 : "D"((long)fd), "S"(buf), "d"(n)
			 : "rcx", "r11", "memory", "cc");
	*err = above;
	return r;
}

/* getpid through one short site of the `mov %edx, %eax` kind. */
static inline long short_getpid(void)
{
	long r;
	__asm__ volatile("mov %%edx, %%eax\n\tsyscall\n\tcmp $-4095, %%rax"
			 : "=a"(r)
			 : "d"(39L)
			 : "rcx", "r11", "memory", "cc");
	return r;
}

static void test_short_registers(void)
{
	int bad = 0, flags = 0, rcx = 0;
	long pid = getpid();
	for (int i = 0; i < ROUNDS; i++) {
		memset(s_out, 0, sizeof(s_out));
		if (short_regs() != pid)
			bad++;
		for (int k = 0; k < 11; k++)
			if (s_out[4 + k] != s_in[k])
				bad++;
		if (s_out[15] != 39)
			bad++;
		/* The move leaves the carry set into the syscall (r11 has it);
		 * the compare then sets it again (pid is below -4095). */
		if (s_out[1] != 1 || !(s_out[3] & 1))
			flags++;
		if (s_out[2] != (long)short_regs_next)
			rcx++;
	}
	CHECKF("short_registers_kept", bad == 0, "%d mismatches", bad);
	CHECKF("short_flags_from_the_compare_and_in_r11", flags == 0, "%d mismatches", flags);
	CHECKF("short_rcx_is_after_syscall", rcx == 0, "%d mismatches", rcx);
}

static void test_short_reads(void)
{
	int z = open("/dev/zero", O_RDONLY);
	int bad = 0, err;
	char b[64];
	for (int i = 0; i < ROUNDS; i++) {
		memset(b, 0x5a, sizeof(b));
		long n = short_read(z, b, 48, &err);
		if (n != 48 || err || b[0] != 0 || b[47] != 0 || b[48] != 0x5a)
			bad++;
	}
	close(z);
	/* An error through the site: the compare sees it. */
	long n = short_read(-1, b, 1, &err);
	CHECKF("short_site_reads", bad == 0, "%d bad reads", bad);
	CHECKF("short_site_error_seen_by_compare", n == -EBADF && err, "got %ld above %d", n, err);
}

static void *short_racer(void *arg)
{
	long pid = (long)arg, bad = 0;
	for (int i = 0; i < 20000; i++)
		if (short_getpid() != pid)
			bad++;
	return (void *)bad;
}

static void test_short_threads(void)
{
	long bad = race(short_racer, getpid());
	CHECKF("threads_through_one_short_site", bad == 0, "%ld wrong results", bad);
}

/* A one-byte read of `fd` through one kind of site: 1 if it read the
 * byte, 0 if it was interrupted (EINTR), -1 for anything else. */
typedef int (*read1_fn)(int fd, char *b);

static int read1_short(int fd, char *b)
{
	int err;
	long n = short_read(fd, b, 1, &err);
	return n == 1 && !err ? 1 : n == -EINTR && err ? 0 : -1;
}

/* Blocking reads through `rd` while a timer fires: restarted with
 * SA_RESTART, EINTR without it. A child writes 40 bytes. */
static void reads_under_timer(read1_fn rd, int restart, int *got, int *eintr, int *other)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	int p[2];
	*got = *eintr = *other = 0;
	if (pipe(p) != 0) {
		*other = -1;
		return;
	}
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < 40; i++) {
			struct timespec t = {0, 2000000};
			nanosleep(&t, NULL);
			if (write(p[1], "x", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	struct itimerval it = {{0, 500}, {0, 500}};
	setitimer(ITIMER_REAL, &it, NULL);
	char b;
	while (*got < 40 && *other == 0) {
		switch (rd(p[0], &b)) {
		case 1:
			(*got)++;
			break;
		case 0:
			(*eintr)++;
			break;
		default:
			(*other)++;
		}
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	waitpid(c, NULL, 0);
	close(p[0]);
	close(p[1]);
}

static void test_short_signals(void)
{
	int got, eintr, other;
	reads_under_timer(read1_short, 1, &got, &eintr, &other);
	CHECKF("short_site_reads_restarted", got == 40 && eintr == 0 && other == 0, "got %d eintr %d other %d", got,
	       eintr, other);
	reads_under_timer(read1_short, 0, &got, &eintr, &other);
	CHECKF("short_site_reads_interrupted", got == 40 && eintr > 0 && other == 0, "got %d eintr %d other %d", got,
	       eintr, other);
}

static void test_short_fork(void)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		long bad = 0, me = getpid();
		for (int i = 0; i < 1000; i++)
			if (short_getpid() != me)
				bad++;
		_exit(bad ? 1 : 0);
	}
	int st = 0;
	waitpid(c, &st, 0);
	CHECKF("forked_child_runs_the_short_site", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}

/* ---- syscall(3): glibc's wrapper is itself a site of the near kind,
 * `mov 0x8(%rsp),%r9; syscall; cmp $-4095,%rax`. */

static void test_wrapper(void)
{
	long pid = getpid(), bad = 0;
	for (int i = 0; i < ROUNDS; i++)
		if (syscall(SYS_getpid) != pid)
			bad++;
	CHECKF("wrapper_getpid", bad == 0, "%ld wrong", bad);

	/* Six arguments, the sixth from the stack: mmap of a file at an
	 * offset, many times. */
	char path[] = "/tmp/patched_sites_XXXXXX";
	int fd = mkstemp(path);
	char page[8192];
	memset(page, 'a', 4096);
	memset(page + 4096, 'b', 4096);
	long wrong = 0;
	if (fd < 0 || write(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
		FAIL("wrapper_six_arguments", "setup: %s", h_errname(errno));
	} else {
		for (int i = 0; i < 200; i++) {
			char *p = (char *)syscall(SYS_mmap, 0L, 4096L, (long)PROT_READ, (long)MAP_PRIVATE, (long)fd, 4096L);
			if (p == MAP_FAILED || p[0] != 'b' || p[4095] != 'b')
				wrong++;
			if (p != MAP_FAILED)
				munmap(p, 4096);
		}
		CHECKF("wrapper_six_arguments", wrong == 0, "%ld wrong mappings", wrong);
	}
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}

	/* Errors through the wrapper set errno. */
	errno = 0;
	long r = 0;
	for (int i = 0; i < 100; i++)
		r = syscall(SYS_close, -1);
	CHECKF("wrapper_error_sets_errno", r == -1 && errno == EBADF, "got %ld errno %d", r, errno);
}

static void *wrapper_racer(void *arg)
{
	long pid = (long)arg, bad = 0;
	for (int i = 0; i < 20000; i++)
		if (syscall(SYS_getpid) != pid)
			bad++;
	return (void *)bad;
}

static void test_wrapper_threads(void)
{
	long bad = race(wrapper_racer, getpid());
	CHECKF("threads_through_the_wrapper", bad == 0, "%ld wrong results", bad);
}

/* One-byte reads through syscall(3): errno carries EINTR. */
static int read1_wrapper(int fd, char *b)
{
	errno = 0;
	long n = syscall(SYS_read, fd, b, 1L);
	return n == 1 ? 1 : n == -1 && errno == EINTR ? 0 : -1;
}

static void test_wrapper_signals(void)
{
	int got, eintr, other;
	reads_under_timer(read1_wrapper, 1, &got, &eintr, &other);
	CHECKF("wrapper_reads_restarted", got == 40 && eintr == 0 && other == 0, "got %d eintr %d other %d", got, eintr,
	       other);
	reads_under_timer(read1_wrapper, 0, &got, &eintr, &other);
	CHECKF("wrapper_reads_interrupted", got == 40 && eintr > 0 && other == 0, "got %d eintr %d other %d", got, eintr,
	       other);
}

int main(void)
{
	test_registers();
	test_handler_around_wait();
	test_avx();
	test_signals();
	test_restart_syscall();
	test_threads();
	test_fork();
	test_short_registers();
	test_short_reads();
	test_short_threads();
	test_short_signals();
	test_short_fork();
	test_wrapper();
	test_wrapper_threads();
	test_wrapper_signals();
	return 0;
}
