/* Every syscall number from 0 to 460 with garbage arguments, each in its
 * own child (killed after 200 ms if it blocks). Afterwards the caller must
 * still be served: it prints "alive" and exits 7. Run only in the sandbox:
 * natively this would be a danger to the host. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *scratch;

static long garbage(void)
{
	switch (next() % 6) {
	case 0: return (long)next();
	case 1: return (long)(next() % 64);
	case 2: return -(long)(next() % 64);
	case 3: return (long)(scratch + next() % 4096);
	case 4: return 0;
	default: return (long)(next() % 0x10000000);
	}
}

static int skip(long nr)
{
	/* Signals to others could stop or kill the test itself. */
	return nr == SYS_kill || nr == SYS_tkill || nr == SYS_tgkill || nr == SYS_rt_sigqueueinfo ||
	       nr == SYS_rt_tgsigqueueinfo || nr == 424 /* pidfd_send_signal */;
}

int main(void)
{
	scratch = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (long nr = 0; nr <= 460; nr++) {
		if (skip(nr))
			continue;
		for (int round = 0; round < 8; round++) {
			long a[6];
			for (int i = 0; i < 6; i++)
				a[i] = garbage();
			pid_t pid = fork();
			if (pid == 0) {
				alarm(1);
				syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
				_exit(0);
			}
			if (pid < 0)
				return 2;
			for (int waited = 0;; waited++) {
				int st;
				pid_t r = waitpid(pid, &st, WNOHANG);
				if (r == pid || r < 0)
					break;
				if (waited == 200)
					kill(pid, SIGKILL);
				struct timespec ts = {0, 1000000};
				nanosleep(&ts, NULL);
			}
		}
	}
	printf("alive\n");
	return 7;
}
