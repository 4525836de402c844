/*
 * getppid round trip: N raw syscall(SYS_getppid) calls, prints ns per call.
 *
 *   ./getppid [N]        (default N = 100000)
 *   ./getppid N site     the calls through one `mov $110, %eax; syscall`
 *                        site instead, the form of glibc's own wrappers
 *                        (the form systrap patches; syscall(3) is not)
 *
 * Output, one line, parsed by run.sh:  getppid: N calls, X ns/call
 * The raw syscall() bypasses any libc caching; getppid does no work in the
 * kernel, so this measures the system call path itself (under a sandbox:
 * the trap, the sentry's dispatch and the return).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [N>0]\n", argv[0]);
        return 2;
    }
    int site = argc > 2 && argv[2][0] == 's';
    struct timespec a, b;
    long ppid = syscall(SYS_getppid); /* warm up */
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        long r;
        if (site)
            __asm__ volatile("mov $110, %%eax\n\tsyscall" : "=a"(r) : : "rcx", "r11", "memory");
        else
            r = syscall(SYS_getppid);
        if (r != ppid) {
            fprintf(stderr, "getppid changed\n");
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("getppid: %ld calls, %.1f ns/call\n", n, ns / n);
    return 0;
}
