/* mprotect, with faults caught by a SIGSEGV handler + siglongjmp. */
#include "harness.h"

#define PG 4096

int main(void)
{
	h_fault_install();
	char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_EQ("rw_write_ok", h_probe_write(p, 7), 0);
	EXPECT_EQ("mprotect_read_only", mprotect(p, 3 * PG, PROT_READ), 0);
	EXPECT_EQ("ro_write_sigsegv", h_probe_write(p + 10, 1), SIGSEGV);
	EXPECT_EQ("ro_fault_accerr", h_fault_code, SEGV_ACCERR);
	CHECK("ro_fault_address", h_fault_addr == p + 10);
	EXPECT_EQ("ro_read_ok", h_probe_read(p), 0);
	EXPECT_EQ("ro_contents_kept", p[0], 7);
	EXPECT_EQ("mprotect_none", mprotect(p, 3 * PG, PROT_NONE), 0);
	EXPECT_EQ("none_read_sigsegv", h_probe_read(p + PG), SIGSEGV);
	EXPECT_EQ("none_fault_accerr", h_fault_code, SEGV_ACCERR);
	EXPECT_EQ("handler_runs_again", h_probe_read(p + 2 * PG), SIGSEGV);
	EXPECT_EQ("mprotect_back_to_rw", mprotect(p, 3 * PG, PROT_READ | PROT_WRITE), 0);
	EXPECT_EQ("rw_again_write_ok", h_probe_write(p + 1, 3), 0);
	EXPECT_EQ("contents_survive_prot_none", p[0], 7);

	/* split: middle page read-only */
	EXPECT_EQ("mprotect_middle_page", mprotect(p + PG, PG, PROT_READ), 0);
	EXPECT_EQ("split_first_writable", h_probe_write(p, 1), 0);
	EXPECT_EQ("split_middle_ro", h_probe_write(p + PG, 1), SIGSEGV);
	EXPECT_EQ("split_last_writable", h_probe_write(p + 2 * PG, 1), 0);

	EXPECT_ERR("unaligned_einval", mprotect(p + 1, PG, PROT_READ), EINVAL);
	EXPECT_ERR("bad_prot_bits_einval", mprotect(p, PG, 0x100), EINVAL);
	EXPECT_EQ("len_zero_ok", mprotect(p, 0, PROT_READ), 0);
	char *gone = h_unmapped();
	EXPECT_ERR("unmapped_enomem", mprotect(gone, PG, PROT_READ), ENOMEM);
	munmap(p + 2 * PG, PG);
	EXPECT_ERR("partly_unmapped_enomem", mprotect(p + PG, 2 * PG, PROT_READ), ENOMEM);

	/* NULL page */
	EXPECT_EQ("null_write_sigsegv", h_probe_write((char *)0, 1), SIGSEGV);
	EXPECT_EQ("null_fault_maperr", h_fault_code, SEGV_MAPERR);
	CHECK("null_fault_address_zero", h_fault_addr == NULL);

	/* execute permission */
	unsigned char *code = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	code[0] = 0xb8; /* mov eax, 42 */
	code[1] = 42; code[2] = 0; code[3] = 0; code[4] = 0;
	code[5] = 0xc3; /* ret */
	int (*fn)(void) = (int (*)(void))code;
	h_fault_sig = 0;
	int r = -1;
	if (sigsetjmp(h_fault_jmp, 1) == 0)
		r = fn();
	EXPECT_EQ("exec_without_prot_exec_sigsegv", h_fault_sig, SIGSEGV);
	mprotect(code, PG, PROT_READ | PROT_EXEC);
	h_fault_sig = 0;
	if (sigsetjmp(h_fault_jmp, 1) == 0)
		r = fn();
	CHECKF("exec_with_prot_exec_runs", h_fault_sig == 0 && r == 42, "sig %d r %d", h_fault_sig, r);
	munmap(code, PG);

	/* a fault in a forked child with the default action kills it */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		struct rlimit rl = {0, 0};
		setrlimit(RLIMIT_CORE, &rl);
		mprotect(p, PG, PROT_READ);
		p[0] = 1;
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECKF("default_action_kills_child", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %#x", st);
	munmap(p, 2 * PG);
	return 0;
}
