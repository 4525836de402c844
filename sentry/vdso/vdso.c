/*
 * The sandbox's vDSO.
 *
 * Linux maps a small shared object, the vDSO, into every process and names
 * it in the auxiliary vector (AT_SYSINFO_EHDR); glibc and musl look up the
 * time functions in it instead of making system calls. The real one reads
 * the host's clock pages. Ours has no data pages at all: every entry point
 * simply executes the `syscall` instruction, which the platform stops and the
 * sentry serves like any other system call. That is slower than a real vDSO
 * but it can never disagree with the sentry's clocks, and the image is one
 * read-only, position-independent page with no relocations.
 *
 * Calling convention: as in Linux, a failing call returns the negated errno
 * (the C library turns it into -1 and errno).
 *
 * Built by sentry/build.rs into OUT_DIR/vdso.so with vdso.lds (layout) and
 * vdso.map (symbol versions). Keep this file free of global data, string
 * literals needing relocation, and libc calls: the build checks that the
 * result has a single PT_LOAD segment and no dynamic relocations.
 */

#include <stddef.h>

/* x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
#define NR_gettimeofday 96
#define NR_time 201
#define NR_clock_gettime 228
#define NR_clock_getres 229
#define NR_getcpu 309

/* Opaque here; we only pass the pointers through to the kernel. */
struct timespec;
struct timeval;
struct timezone;
struct getcpu_cache;
typedef long vdso_time_t;
typedef int vdso_clockid_t;

#define VDSO_ENTRY __attribute__((visibility("default"), used))

static inline long vdso_syscall1(long nr, long a0)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(nr), "D"(a0)
                     : "rcx", "r11", "memory");
    return ret;
}

static inline long vdso_syscall2(long nr, long a0, long a1)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(nr), "D"(a0), "S"(a1)
                     : "rcx", "r11", "memory");
    return ret;
}

static inline long vdso_syscall3(long nr, long a0, long a1, long a2)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(nr), "D"(a0), "S"(a1), "d"(a2)
                     : "rcx", "r11", "memory");
    return ret;
}

VDSO_ENTRY int __vdso_clock_gettime(vdso_clockid_t clock, struct timespec *ts)
{
    return (int)vdso_syscall2(NR_clock_gettime, clock, (long)ts);
}

VDSO_ENTRY int __vdso_gettimeofday(struct timeval *tv, struct timezone *tz)
{
    return (int)vdso_syscall2(NR_gettimeofday, (long)tv, (long)tz);
}

VDSO_ENTRY vdso_time_t __vdso_time(vdso_time_t *t)
{
    return vdso_syscall1(NR_time, (long)t);
}

VDSO_ENTRY long __vdso_getcpu(unsigned *cpu, unsigned *node,
                              struct getcpu_cache *cache)
{
    return vdso_syscall3(NR_getcpu, (long)cpu, (long)node, (long)cache);
}

VDSO_ENTRY int __vdso_clock_getres(vdso_clockid_t clock, struct timespec *res)
{
    return (int)vdso_syscall2(NR_clock_getres, clock, (long)res);
}

/*
 * The ELF note Linux puts in its vDSO: name "Linux", type 0, the kernel
 * version as LINUX_VERSION_CODE. Old glibc (before 2.35) reads it to decide
 * whether the kernel is too old, so it must be at least 3.2.0. Keep it equal
 * to the release the sentry reports in uname(2); override with
 * -DVDSO_LINUX_VERSION_CODE=... (build.rs passes env SENTRY_VDSO_LINUX_VERSION).
 */
#ifndef VDSO_LINUX_VERSION_CODE
#define VDSO_LINUX_VERSION_CODE ((4 << 16) | (4 << 8) | 0) /* 4.4.0 */
#endif

static const struct {
    unsigned int namesz, descsz, type;
    char name[8];
    unsigned int desc;
} linux_version_note __attribute__((section(".note.Linux"), aligned(4), used)) = {
    6, 4, 0, "Linux", VDSO_LINUX_VERSION_CODE,
};

/* The un-prefixed names, weak as in Linux (arch/x86/entry/vdso/vclock_gettime.c). */
int clock_gettime(vdso_clockid_t, struct timespec *)
    __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval *, struct timezone *)
    __attribute__((weak, alias("__vdso_gettimeofday")));
vdso_time_t time(vdso_time_t *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, struct getcpu_cache *)
    __attribute__((weak, alias("__vdso_getcpu")));
int clock_getres(vdso_clockid_t, struct timespec *)
    __attribute__((weak, alias("__vdso_clock_getres")));
