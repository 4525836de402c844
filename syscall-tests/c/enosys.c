/* Unknown and unimplemented syscall numbers return ENOSYS. */
#include "harness.h"

int main(void)
{
	EXPECT_ERR("nr_500_enosys", syscall(500), ENOSYS);
	EXPECT_ERR("nr_minus_1_enosys", syscall(-1), ENOSYS);
	/* 335 and 336 are uretprobe/uprobe on recent kernels (SIGILL outside a
	 * trampoline), so the gap is probed higher up. */
	EXPECT_ERR("nr_420_gap_enosys", syscall(420), ENOSYS);
	EXPECT_ERR("nr_400_gap_enosys", syscall(400), ENOSYS);
	EXPECT_ERR("nr_1000000_enosys", syscall(1000000), ENOSYS);
	EXPECT_ERR("nr_0x7fffffff_enosys", syscall(0x7fffffff), ENOSYS);
	EXPECT_ERR("getpmsg_enosys", syscall(181), ENOSYS);
	EXPECT_ERR("putpmsg_enosys", syscall(182), ENOSYS);
	EXPECT_ERR("afs_syscall_enosys", syscall(183), ENOSYS);
	EXPECT_ERR("tuxcall_enosys", syscall(184), ENOSYS);
	EXPECT_ERR("security_enosys", syscall(185), ENOSYS);
	EXPECT_ERR("vserver_enosys", syscall(236), ENOSYS);
	EXPECT_ERR("create_module_enosys", syscall(174), ENOSYS);
	EXPECT_ERR("get_kernel_syms_enosys", syscall(177), ENOSYS);
	EXPECT_ERR("query_module_enosys", syscall(178), ENOSYS);
	EXPECT_ERR("nfsservctl_enosys", syscall(180), ENOSYS);
	/* the process is fine afterwards, and arguments don't matter */
	EXPECT_ERR("nr_500_with_args_enosys", syscall(500, 1, 2, 3, 4, 5, 6), ENOSYS);
	EXPECT_EQ("getpid_still_works", syscall(SYS_getpid), getpid());
	/* a raw syscall instruction leaves rax = -ENOSYS and preserves rdi/rsi/rdx */
	long rax = 500, rdi = 11, rsi = 22, rdx = 33;
	__asm__ volatile("syscall"
			 : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx)
			 :
			 : "rcx", "r11", "memory");
	EXPECT_EQ("raw_rax_minus_enosys", rax, -ENOSYS);
	CHECK("raw_args_preserved", rdi == 11 && rsi == 22 && rdx == 33);
	return 0;
}
