/*
 * The floor for the ptrace platform: one PTRACE_SYSEMU round trip with the
 * least possible work in the tracer, for the same getppid loop.
 *
 *   ./raw_sysemu [N]     (default N = 20000)
 *
 * The child does PTRACE_TRACEME, stops itself with SIGSTOP, then makes N+1
 * raw getppid calls and exits. The tracer resumes it with PTRACE_SYSEMU
 * (the system call is stopped before it runs and then skipped), and for
 * each stop does what a ptrace sandbox must at minimum: waitpid,
 * PTRACE_GETREGS, write the result (rax = the parent's pid, as getppid
 * would return) with PTRACE_SETREGS, resume. Output, one line, parsed by
 * run.sh:  raw_sysemu: N round trips, X us/round trip
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_SYSEMU
#define PTRACE_SYSEMU 31
#endif

static void die(const char *what)
{
    fprintf(stderr, "raw_sysemu: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [N>0]\n", argv[0]);
        return 2;
    }
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
            die("PTRACE_TRACEME");
        raise(SIGSTOP);
        /* One warm-up call, then the timed loop. Under SYSEMU each call
         * returns whatever the tracer put in rax. */
        for (long i = 0; i <= n; i++)
            if (syscall(SYS_getppid) != parent)
                _exit(3);
        /* exit_group is emulated (skipped) too, so loop on it; the tracer
         * kills us when it sees it. */
        for (;;)
            syscall(SYS_exit_group, 0);
    }

    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status))
        die("waiting for the child's SIGSTOP");
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_EXITKILL);

    struct user_regs_struct regs;
    struct timespec a, b;
    long calls = 0;
    for (;;) {
        if (ptrace(PTRACE_SYSEMU, child, 0, 0) < 0)
            die("PTRACE_SYSEMU");
        if (waitpid(child, &status, 0) < 0)
            die("waitpid");
        if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
            fprintf(stderr, "raw_sysemu: unexpected stop, status %#x\n", status);
            return 1;
        }
        if (ptrace(PTRACE_GETREGS, child, 0, &regs) < 0)
            die("PTRACE_GETREGS");
        if (regs.orig_rax == SYS_exit_group)
            break;
        if (regs.orig_rax != SYS_getppid) {
            fprintf(stderr, "raw_sysemu: unexpected syscall %llu\n", regs.orig_rax);
            return 1;
        }
        regs.rax = (unsigned long long)parent;
        if (ptrace(PTRACE_SETREGS, child, 0, &regs) < 0)
            die("PTRACE_SETREGS");
        /* Time n full round trips: from the end of the warm-up call to the
         * end of the last getppid. */
        if (++calls == 1)
            clock_gettime(CLOCK_MONOTONIC, &a);
        else if (calls == n + 1)
            clock_gettime(CLOCK_MONOTONIC, &b);
    }
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    if (calls != n + 1) {
        fprintf(stderr, "raw_sysemu: saw %ld calls, want %ld\n", calls, n + 1);
        return 1;
    }
    double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3;
    printf("raw_sysemu: %ld round trips, %.2f us/round trip\n", n, us / n);
    return 0;
}
