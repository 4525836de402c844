/* arch_prctl and prctl. */
#include "harness.h"
#include <asm/prctl.h>
#include <sys/prctl.h>

static unsigned long read_fs0(void)
{
	unsigned long v;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(v));
	return v;
}

static unsigned long fake_tcb[8];

int main(void)
{
	unsigned long fs = 0, gs = 1;
	EXPECT_EQ("arch_get_fs", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0);
	CHECK("arch_get_fs_nonzero", fs != 0);
	CHECK("arch_get_fs_matches_tcb", read_fs0() == fs);
	EXPECT_EQ("arch_get_gs", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs), 0);
	EXPECT_ERR("arch_invalid_code_einval", syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL);
	EXPECT_ERR("arch_get_fs_efault", syscall(SYS_arch_prctl, ARCH_GET_FS, (void *)1), EFAULT);
	EXPECT_ERR("arch_set_fs_noncanonical_eperm",
		   syscall(SYS_arch_prctl, ARCH_SET_FS, 0x8000000000000000UL), EPERM);

	/* switch FS to our own block and back; no libc calls in between */
	fake_tcb[0] = 0x1234abcdUL;
	unsigned long seen = 0, back = 0;
	long r1, r2;
	r1 = syscall(SYS_arch_prctl, ARCH_SET_FS, (unsigned long)fake_tcb);
	seen = read_fs0();
	r2 = syscall(SYS_arch_prctl, ARCH_SET_FS, fs);
	back = read_fs0();
	CHECK("arch_set_fs_ok", r1 == 0 && r2 == 0);
	EXPECT_EQ("arch_set_fs_takes_effect", seen, 0x1234abcdUL);
	CHECK("arch_set_fs_restored", back == fs);

	/* a forked child inherits the FS base */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		unsigned long cfs = 0;
		syscall(SYS_arch_prctl, ARCH_GET_FS, &cfs);
		_exit(cfs == fs ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK("fork_inherits_fs", WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* prctl */
	char name[32] = {0};
	EXPECT_EQ("pr_set_name", prctl(PR_SET_NAME, "st-prctl-name", 0, 0, 0), 0);
	EXPECT_EQ("pr_get_name", prctl(PR_GET_NAME, name, 0, 0, 0), 0);
	CHECKF("pr_name_roundtrip", strcmp(name, "st-prctl-name") == 0, "got '%s'", name);
	prctl(PR_SET_NAME, "0123456789abcdefXYZ", 0, 0, 0);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	CHECKF("pr_name_truncated_to_15", strcmp(name, "0123456789abcde") == 0, "got '%s'", name);
	char comm[64] = {0};
	int fd = open("/proc/self/comm", O_RDONLY);
	read(fd, comm, sizeof(comm) - 1);
	close(fd);
	CHECKF("pr_name_in_proc_comm", strcmp(comm, "0123456789abcde\n") == 0, "got '%s'", comm);
	EXPECT_EQ("pr_get_dumpable", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	EXPECT_ERR("pr_set_dumpable_bad_einval", prctl(PR_SET_DUMPABLE, 5, 0, 0, 0), EINVAL);
	EXPECT_EQ("pr_set_pdeathsig", prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0), 0);
	int sig = 0;
	prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
	EXPECT_EQ("pr_get_pdeathsig", sig, SIGUSR1);
	EXPECT_ERR("pr_set_pdeathsig_bad_einval", prctl(PR_SET_PDEATHSIG, 99, 0, 0, 0), EINVAL);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	EXPECT_EQ("pr_get_no_new_privs_default", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
	EXPECT_ERR("pr_unknown_option_einval", prctl(0x7fff1234, 0, 0, 0, 0), EINVAL);
	EXPECT_ERR("pr_get_name_efault", prctl(PR_GET_NAME, (void *)1, 0, 0, 0), EFAULT);
	return 0;
}
