/* Signal frames carry the full XSAVE state: AVX registers of the
 * interrupted code survive a handler that uses them, and the frame is
 * marked UC_FP_XSTATE with the XSAVE magic. Needs a CPU with AVX. */
#include "harness.h"
#include <ucontext.h>

static volatile int frame_xstate, frame_magic;

static void handler(int s, siginfo_t *si, void *ucp)
{
	(void)s;
	(void)si;
	ucontext_t *uc = ucp;
	frame_xstate = (uc->uc_flags & 1) != 0;
	frame_magic = ((unsigned *)uc->uc_mcontext.fpregs)[116] == 0x46505853u;
	/* Clobber all of ymm8 inside the handler. */
	float nine = 9.0f;
	__asm__ volatile("vbroadcastss %0, %%ymm8" : : "m"(nine) : "xmm8");
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	float three = 3.5f, out[8];
	long pid = getpid();
	long nr = SYS_kill, ret;
	/* Load ymm8, signal ourselves with a raw syscall (no call that could
	 * spill the register), then read ymm8 back. */
	__asm__ volatile("vbroadcastss %[v], %%ymm8\n\t"
			 "syscall\n\t"
			 "vmovups %%ymm8, %[o]"
			 : "=a"(ret), [o] "=m"(out)
			 : "a"(nr), "D"(pid), "S"((long)SIGUSR1), [v] "m"(three)
			 : "rcx", "r11", "memory", "xmm8");
	EXPECT_EQ("kill_self", ret, 0);
	CHECK("frame_marked_xstate", frame_xstate);
	CHECK("frame_has_xsave_magic", frame_magic);
	CHECK("ymm_low_half_restored", out[0] == 3.5f && out[3] == 3.5f);
	CHECK("ymm_high_half_restored", out[4] == 3.5f && out[7] == 3.5f);
	return 0;
}
