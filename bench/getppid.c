/*
 * getppid round trip: N raw syscall(SYS_getppid) calls, prints ns per call.
 *
 *   ./getppid [N]        (default N = 100000)
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
    struct timespec a, b;
    long ppid = syscall(SYS_getppid); /* warm up */
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        if (syscall(SYS_getppid) != ppid) {
            fprintf(stderr, "getppid changed\n");
            return 1;
        }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("getppid: %ld calls, %.1f ns/call\n", n, ns / n);
    return 0;
}
