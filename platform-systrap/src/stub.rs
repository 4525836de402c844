//! The systrap stub: a page of machine code at [`STUB_ADDR`] in every stub
//! process, its signal handler, and the master stub all stub processes are
//! cloned from.
//!
//! A stub process runs under a seccomp filter (see [`filter`]) that lets
//! only system calls made from this page through, and turns every other
//! one into SIGSYS. Every trap of the application (SIGSYS for a syscall,
//! SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, and our interrupt signal)
//! enters [`handler`](runsc_systrap_handler) on the thread's signal stack,
//! which lies in the thread's area of the message file. The handler only
//! records where the frame is and waits for a command: run (rt_sigreturn
//! from the frame the sentry has rewritten), execute a syscall, or clone a
//! new stub thread.
//!
//! New stub processes are cloned from the master by the factory thread
//! through ptrace injection, exactly as on the ptrace platform; that is the
//! only use of ptrace here. A new thread or process starts at `birth`,
//! which sets its signal stack and executes `ud2`: its first trap tells the
//! sentry it is ready.

use crate::msg::*;
use platform::{Error, Result};
use platform_ptrace::sys;

/// The signal the sentry sends to a stub thread to interrupt it.
pub const SIG_INTR: i32 = libc::SIGUSR2;

/// Signals whose handler is the stub's.
pub const TRAP_SIGNALS: [i32; 7] =
    [libc::SIGSYS, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP, SIG_INTR];

std::arch::global_asm!(
    ".pushsection .text.runsc_systrap, \"ax\"",
    ".balign 16",
    ".globl runsc_systrap_start",
    "runsc_systrap_start:",
    // Master entry: drop every mapping but the stub page and the vDSO
    // window (which holds the host's vDSO, or nothing).
    "mov eax, 11",
    "xor edi, edi",
    "movabs rsi, {stub_addr}",
    "syscall",
    "mov eax, 11",
    "movabs rdi, {stub_end}",
    "movabs rsi, {gap_len}",
    "syscall",
    "mov eax, 11",
    "movabs rdi, {areas_base}",
    "movabs rsi, {upper_len}",
    "syscall",
    // Stop for the factory thread, which injects from here on.
    "int3",
    "20:",
    "mov eax, 34",
    "syscall",
    "jmp 20b",
    // Injection site for the factory.
    ".globl runsc_systrap_inject",
    "runsc_systrap_inject:",
    "syscall",
    "int3",
    // Injection site for clone of a new process: the child is born.
    ".globl runsc_systrap_inject_clone",
    "runsc_systrap_inject_clone:",
    "syscall",
    "test rax, rax",
    "jz 21f",
    "int3",
    "21:",
    // A new process dies with the sentry.
    "mov eax, 157",
    "mov edi, 1",
    "mov esi, 9",
    "syscall",
    // It starts with a second thread in slot 1, the first application
    // thread's: both are born (a failed clone leaves slot 1's ctid 0).
    "mov eax, 56",
    "mov edi, {thread_flags}",
    "movabs rsi, {area1_top}",
    "xor edx, edx",
    "movabs r10, {area1_ctid}",
    "xor r8d, r8d",
    "syscall",
    // Birth of a stub thread. rsp is the top of its area, below which the
    // message lies; r12 = the area.
    ".globl runsc_systrap_birth",
    "runsc_systrap_birth:",
    "mov r12, rsp",
    "and r12, {area_mask}",
    // rt_sigprocmask(SIG_SETMASK, &zero, NULL, 8): a thread cloned inside
    // the handler starts with every signal blocked.
    "lea rsi, [r12 + {m_zero}]",
    "mov eax, 14",
    "mov edi, 2",
    "xor edx, edx",
    "mov r10d, 8",
    "syscall",
    // sigaltstack({area + MSG_SIZE, 0, AREA_SIZE - MSG_SIZE}, NULL).
    "lea rax, [r12 + {msg_size}]",
    "mov [r12 + {m_ss}], rax",
    "mov qword ptr [r12 + {m_ss} + 8], 0",
    "mov qword ptr [r12 + {m_ss} + 16], {stack_size}",
    "lea rdi, [r12 + {m_ss}]",
    "xor esi, esi",
    "mov eax, 131",
    "syscall",
    // GS base = the area, for the trap entry of patched syscall sites.
    "cmp dword ptr [r12 + {m_fsgs}], 0",
    "je 31f",
    "wrgsbase r12",
    "jmp 32f",
    "31:",
    "mov rsi, r12",
    "mov edi, 0x1001",
    "mov eax, 158",
    "syscall",
    "32:",
    ".globl runsc_systrap_born",
    "runsc_systrap_born:",
    "ud2",
    // The signal handler: rdi = signo, rsi = siginfo, rdx = ucontext, on
    // the area's signal stack.
    ".balign 16",
    ".globl runsc_systrap_handler",
    "runsc_systrap_handler:",
    "mov r12, rsp",
    "and r12, {area_mask}",
    // An interrupt while the trap entry's path runs is dropped: return to
    // where it struck (the sentry sees its pending flag at the next
    // switch, right after the syscall on its way).
    "cmp edi, {sig_intr}",
    "jne 33f",
    "cmp dword ptr [r12 + {m_in_trap}], 0",
    "je 33f",
    "mov rsp, rdx",
    "mov eax, 15",
    "syscall",
    "33:",
    "mov r13, rdx",
    "mov [r12 + {m_signo}], edi",
    "mov [r12 + {m_info}], rsi",
    "mov [r12 + {m_uc}], rdx",
    "cmp dword ptr [r12 + {m_fsgs}], 0",
    "je 2f",
    "rdfsbase rax",
    "mov [r12 + {m_fs}], rax",
    "2:",
    "mov ebx, {s_trapped}",
    // Post ebx and wake the sentry if it sleeps.
    "3:",
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "mov [r12 + {m_trap_tsc}], rax",
    "mov eax, ebx",
    "xchg [r12 + {m_state}], eax",
    "cmp dword ptr [r12 + {m_sentry_sleep}], 0",
    "je 4f",
    "lea rdi, [r12 + {m_state}]",
    "mov esi, 1",
    "mov edx, 1",
    "mov eax, 202",
    "syscall",
    // Wait while the state is ebx: spin, then sleep on the futex.
    // (Every M_YIELD_MASK + 1 rounds the spin yields the CPU, so that a
    // spinning stub never keeps a runnable thread waiting for long.)
    // With M_CPU_OK, ebp is the CPU this thread waits on (RDPID), noted
    // in M_STUB_CPU for the sentry, and read again after every yield.
    "4:",
    "mov r14d, [r12 + {m_spin}]",
    "43:",
    "cmp dword ptr [r12 + {m_cpu_ok}], 0",
    "je 5f",
    "rdpid rbp",
    "cmp [r12 + {m_stub_cpu}], ebp",
    "je 5f",
    "mov [r12 + {m_stub_cpu}], ebp",
    "5:",
    "mov eax, [r12 + {m_state}]",
    "cmp eax, ebx",
    "jne 7f",
    "test r14d, r14d",
    "jz 9f",
    "pause",
    "dec r14d",
    // The sentry thread last waited on this CPU: it cannot run while the
    // stub spins here, so yield at once.
    "cmp dword ptr [r12 + {m_cpu_ok}], 0",
    "je 44f",
    "cmp ebp, [r12 + {m_sentry_cpu}]",
    "je 45f",
    "44:",
    "test dword ptr [r12 + {m_yield_mask}], r14d",
    "jnz 5b",
    "45:",
    // sched_yield, timed: one that ran another thread (longer than the
    // message's M_YIELD_CYCLES) means the CPUs are oversubscribed, and
    // the stub sleeps rather than spin on.
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "mov r15, rax",
    "mov eax, 24",
    "syscall",
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "sub rax, r15",
    "cmp rax, [r12 + {m_yield_cycles}]",
    "ja 6f",
    "jmp 43b",
    // The spin ran out: sleep, unless the sentry is busy with a long
    // syscall that will not block (M_KEEP): then spin on (a wake-up costs
    // more than the spinning here).
    "9:",
    "cmp dword ptr [r12 + {m_keep}], 0",
    "jne 4b",
    "6:",
    "mov dword ptr [r12 + {m_stub_sleep}], 1",
    "mfence",
    "mov eax, [r12 + {m_state}]",
    "cmp eax, ebx",
    "jne 8f",
    "lea rdi, [r12 + {m_state}]",
    "xor esi, esi",
    "mov edx, ebx",
    "xor r10d, r10d",
    "mov eax, 202",
    "syscall",
    "8:",
    "mov dword ptr [r12 + {m_stub_sleep}], 0",
    "jmp 4b",
    // A command: note when it was seen (see contention.rs).
    "7:",
    "mov r15d, eax",
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "mov [r12 + {m_seen_tsc}], rax",
    "mov eax, r15d",
    "cmp eax, {c_run}",
    "je 10f",
    "cmp eax, {c_syscall}",
    "je 11f",
    "cmp eax, {c_clone}",
    "je 12f",
    // Sleep at once: wait, without spinning, for the state to change.
    "cmp eax, {c_sleep}",
    "jne 15f",
    "mov ebx, eax",
    "jmp 6b",
    "15:",
    // Not a command (S_TRAPPED, S_DONE written by the application, say):
    // wait for the state to change again.
    "mov ebx, eax",
    "jmp 4b",
    // Execute a syscall.
    "11:",
    "mov rax, [r12 + {m_nr}]",
    "mov rdi, [r12 + {m_args}]",
    "mov rsi, [r12 + {m_args} + 8]",
    "mov rdx, [r12 + {m_args} + 16]",
    "mov r10, [r12 + {m_args} + 24]",
    "mov r8, [r12 + {m_args} + 32]",
    "mov r9, [r12 + {m_args} + 40]",
    "syscall",
    "mov [r12 + {m_ret}], rax",
    "mov ebx, {s_done}",
    "jmp 3b",
    // Clone a stub thread: the child is born on the stack it is given.
    "12:",
    "mov eax, 56",
    "mov rdi, [r12 + {m_args}]",
    "mov rsi, [r12 + {m_args} + 8]",
    "mov rdx, [r12 + {m_args} + 16]",
    "mov r10, [r12 + {m_args} + 24]",
    "mov r8, [r12 + {m_args} + 32]",
    "syscall",
    "test rax, rax",
    "jz runsc_systrap_birth",
    "mov [r12 + {m_ret}], rax",
    "mov ebx, {s_done}",
    "jmp 3b",
    // Run: set the fs base if it changed, then return from the frame the
    // sentry rewrote.
    "10:",
    "mov rax, [r12 + {m_fs_new}]",
    "cmp rax, [r12 + {m_fs}]",
    "je 14f",
    "mov [r12 + {m_fs}], rax",
    "cmp dword ptr [r12 + {m_fsgs}], 0",
    "je 13f",
    "wrfsbase rax",
    "jmp 14f",
    "13:",
    "mov rsi, rax",
    "mov edi, 0x1002",
    "mov eax, 158",
    "syscall",
    "14:",
    "cmp dword ptr [r12 + {m_fast}], 0",
    "jne 40f",
    "mov dword ptr [r12 + {m_in_trap}], 0",
    "mov rsp, r13",
    ".globl runsc_systrap_restorer",
    "runsc_systrap_restorer:",
    "mov eax, 15",
    "syscall",
    "ud2",
    // The fast return from the trap entry's own frame, when only rax
    // changed: every register from the frame, rflags through the area's
    // stack, then the application's rsp and a jump through the message
    // (the FPU state is still live: nothing here touched it).
    "40:",
    "mov dword ptr [r12 + {m_fast}], 0",
    "mov rax, [r12 + {g} + 128]",
    "mov [r12 + {m_app_rip}], rax",
    "lea rsp, [r12 + {trap_uc} - 64]",
    "push qword ptr [r12 + {g} + 136]",
    "mov r8, [r12 + {g}]",
    "mov r9, [r12 + {g} + 8]",
    "mov r10, [r12 + {g} + 16]",
    "mov r11, [r12 + {g} + 24]",
    "mov r13, [r12 + {g} + 40]",
    "mov r14, [r12 + {g} + 48]",
    "mov r15, [r12 + {g} + 56]",
    "mov rdi, [r12 + {g} + 64]",
    "mov rsi, [r12 + {g} + 72]",
    "mov rbp, [r12 + {g} + 80]",
    "mov rbx, [r12 + {g} + 88]",
    "mov rdx, [r12 + {g} + 96]",
    "mov rax, [r12 + {g} + 104]",
    "mov rcx, [r12 + {g} + 112]",
    "mov r12, [r12 + {g} + 32]",
    "mov dword ptr gs:[{m_in_trap}], 0",
    "popfq",
    "mov rsp, qword ptr gs:[{g} + 120]",
    "jmp qword ptr gs:[{m_app_rip}]",
    // The trap entry of a patched syscall site. The site's trampoline
    // jumps here with eax = the syscall number and rcx = the return
    // address (as `syscall` would leave rcx), every other register the
    // application's, rflags untouched. It builds on the area the signal
    // frame a seccomp SIGSYS would have (registers, XSAVE, siginfo) and
    // enters the handler with it: from there on a patched syscall is
    // served like a trapped one, and returns with rt_sigreturn.
    ".balign 16",
    ".globl runsc_systrap_trap",
    "runsc_systrap_trap:",
    "mov dword ptr gs:[{m_in_trap}], 1",
    "mov qword ptr gs:[{m_app_rsp}], rsp",
    "mov rsp, qword ptr gs:[{m_self}]",
    "lea rsp, [rsp + {trap_uc} - 64]",
    "pushfq",
    "pop r11",
    "mov qword ptr gs:[{g} + 32], r12",
    "mov r12, qword ptr gs:[{m_self}]",
    "mov [r12 + {g}], r8",
    "mov [r12 + {g} + 8], r9",
    "mov [r12 + {g} + 16], r10",
    "mov [r12 + {g} + 24], r11",
    "mov [r12 + {g} + 40], r13",
    "mov [r12 + {g} + 48], r14",
    "mov [r12 + {g} + 56], r15",
    "mov [r12 + {g} + 64], rdi",
    "mov [r12 + {g} + 72], rsi",
    "mov [r12 + {g} + 80], rbp",
    "mov [r12 + {g} + 88], rbx",
    "mov [r12 + {g} + 96], rdx",
    "mov [r12 + {g} + 104], rax",
    "mov [r12 + {g} + 112], rcx",
    "mov rdx, [r12 + {m_app_rsp}]",
    "mov [r12 + {g} + 120], rdx",
    "mov [r12 + {g} + 128], rcx",
    "mov [r12 + {g} + 136], r11",
    "movabs rdx, 0x002b000000000033",
    "mov [r12 + {g} + 144], rdx",
    "xor edx, edx",
    "mov [r12 + {g} + 152], rdx",
    "mov [r12 + {g} + 160], rdx",
    "mov [r12 + {g} + 168], rdx",
    "mov [r12 + {g} + 176], rdx",
    "lea rsi, [r12 + {trap_xs}]",
    "mov [r12 + {g} + 184], rsi",
    // uc_flags (FP_XSTATE | SIGCONTEXT_SS | STRICT_RESTORE_SS), uc_link,
    // uc_stack (the area's), uc_sigmask (empty, as in every stub thread).
    "mov qword ptr [r12 + {trap_uc}], 7",
    "mov [r12 + {trap_uc} + 8], rdx",
    "mov rsi, [r12 + {m_ss}]",
    "mov [r12 + {trap_uc} + 16], rsi",
    "mov rsi, [r12 + {m_ss} + 8]",
    "mov [r12 + {trap_uc} + 24], rsi",
    "mov rsi, [r12 + {m_ss} + 16]",
    "mov [r12 + {trap_uc} + 32], rsi",
    "mov [r12 + {trap_uc} + 296], rdx",
    // The XSAVE header zeroed, the kernel's software bytes, then XSAVE
    // of every feature and the closing magic.
    "mov [r12 + {trap_xs} + 512], rdx",
    "mov [r12 + {trap_xs} + 520], rdx",
    "mov [r12 + {trap_xs} + 528], rdx",
    "mov [r12 + {trap_xs} + 536], rdx",
    "mov [r12 + {trap_xs} + 544], rdx",
    "mov [r12 + {trap_xs} + 552], rdx",
    "mov [r12 + {trap_xs} + 560], rdx",
    "mov [r12 + {trap_xs} + 568], rdx",
    "mov rsi, [r12 + {m_sw}]",
    "mov [r12 + {trap_xs} + 464], rsi",
    "mov rsi, [r12 + {m_sw} + 8]",
    "mov [r12 + {trap_xs} + 472], rsi",
    "mov rsi, [r12 + {m_sw} + 16]",
    "mov [r12 + {trap_xs} + 480], rsi",
    "mov rsi, [r12 + {m_sw} + 24]",
    "mov [r12 + {trap_xs} + 488], rsi",
    "mov rsi, [r12 + {m_sw} + 32]",
    "mov [r12 + {trap_xs} + 496], rsi",
    "mov rsi, [r12 + {m_sw} + 40]",
    "mov [r12 + {trap_xs} + 504], rsi",
    "mov eax, [r12 + {m_sw} + 8]",
    "mov edx, [r12 + {m_sw} + 12]",
    "xsave64 [r12 + {trap_xs}]",
    "mov eax, [r12 + {trap_xs} + 480]",
    "mov dword ptr [r12 + {trap_xs} + rax], 0x46505845",
    // siginfo: SIGSYS, SYS_SECCOMP, call address, number, arch.
    "lea rsi, [r12 + {trap_si}]",
    "mov dword ptr [rsi], 31",
    "mov dword ptr [rsi + 4], 0",
    "mov dword ptr [rsi + 8], 1",
    "mov dword ptr [rsi + 12], 0",
    "mov [rsi + 16], rcx",
    "mov rax, [r12 + {g} + 104]",
    "mov [rsi + 24], eax",
    "mov dword ptr [rsi + 28], 0xc000003e",
    "mov edi, 31",
    "lea rdx, [r12 + {trap_uc}]",
    "lea rsp, [r12 + {trap_uc} - 72]",
    "jmp runsc_systrap_handler",
    ".globl runsc_systrap_end",
    "runsc_systrap_end:",
    ".popsection",
    stub_addr = const STUB_ADDR,
    thread_flags = const crate::filter::THREAD_CLONE_FLAGS,
    area1_top = const area_addr(1) + AREA_SIZE - 64,
    area1_ctid = const area_addr(1) + M_CTID,
    stub_end = const STUB_ADDR + STUB_LEN,
    gap_len = const VDSO_WINDOW - (STUB_ADDR + STUB_LEN),
    areas_base = const AREAS_BASE,
    upper_len = const TASK_SIZE - AREAS_BASE,
    area_mask = const -(AREA_SIZE as i64),
    msg_size = const MSG_SIZE,
    stack_size = const AREA_SIZE - MSG_SIZE,
    m_state = const M_STATE,
    m_stub_sleep = const M_STUB_SLEEP,
    m_sentry_sleep = const M_SENTRY_SLEEP,
    m_signo = const M_SIGNO,
    m_uc = const M_UC,
    m_info = const M_INFO,
    m_fs = const M_FS,
    m_fs_new = const M_FS_NEW,
    m_fsgs = const M_FSGS,
    m_spin = const M_SPIN,
    m_keep = const M_KEEP,
    m_stub_cpu = const M_STUB_CPU,
    m_sentry_cpu = const M_SENTRY_CPU,
    m_cpu_ok = const M_CPU_OK,
    m_trap_tsc = const M_TRAP_TSC,
    m_seen_tsc = const M_SEEN_TSC,
    m_yield_cycles = const M_YIELD_CYCLES,
    m_yield_mask = const M_YIELD_MASK,
    m_self = const M_SELF,
    m_app_rsp = const M_APP_RSP,
    m_in_trap = const M_IN_TRAP,
    m_sw = const M_SW,
    m_fast = const M_FAST,
    m_app_rip = const M_APP_RIP,
    trap_xs = const TRAP_XS,
    trap_uc = const TRAP_UC,
    trap_si = const TRAP_SI,
    g = const TRAP_UC + 40,
    sig_intr = const SIG_INTR,
    m_nr = const M_NR,
    m_args = const M_ARGS,
    m_ret = const M_RET,
    m_ss = const M_SS,
    m_zero = const M_ZERO,
    s_trapped = const S_TRAPPED,
    s_done = const S_DONE,
    c_run = const C_RUN,
    c_syscall = const C_SYSCALL,
    c_clone = const C_CLONE,
    c_sleep = const C_SLEEP,
);

extern "C" {
    static runsc_systrap_start: u8;
    static runsc_systrap_inject: u8;
    static runsc_systrap_inject_clone: u8;
    static runsc_systrap_born: u8;
    static runsc_systrap_handler: u8;
    static runsc_systrap_restorer: u8;
    static runsc_systrap_trap: u8;
    static runsc_systrap_end: u8;
}

/// Addresses inside the stub page, valid in every stub process.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// `syscall; int3`, for the factory's injections into the master.
    pub inject: u64,
    /// clone of a new process from the master.
    pub inject_clone: u64,
    /// The `ud2` a new stub thread traps on when it is ready.
    pub born: u64,
    /// The signal handler.
    pub handler: u64,
    /// An rt_sigreturn (the handlers' SA_RESTORER, never used).
    pub restorer: u64,
    /// The trap entry of patched syscall sites.
    pub trap: u64,
}

fn code() -> (&'static [u8], Layout) {
    // SAFETY: the symbols are labels in the global_asm block above, in one
    // section, start first and end last; we only take their addresses.
    unsafe {
        let start = &raw const runsc_systrap_start as usize;
        let at = |p: usize| STUB_ADDR + (p - start) as u64;
        let end = &raw const runsc_systrap_end as usize;
        let layout = Layout {
            inject: at(&raw const runsc_systrap_inject as usize),
            inject_clone: at(&raw const runsc_systrap_inject_clone as usize),
            born: at(&raw const runsc_systrap_born as usize),
            handler: at(&raw const runsc_systrap_handler as usize),
            restorer: at(&raw const runsc_systrap_restorer as usize),
            trap: at(&raw const runsc_systrap_trap as usize),
        };
        // SAFETY: [start, end) is the assembled code, readable text.
        (std::slice::from_raw_parts(start as *const u8, end - start), layout)
    }
}

/// Map the stub page at [`STUB_ADDR`] in this (the sentry's) process, so
/// that a forked master inherits it. Returns the layout.
pub fn install() -> Result<Layout> {
    let (bytes, layout) = code();
    platform_ptrace::stub::install_page(bytes)?;
    Ok(layout)
}

/// SA_RESTORER: x86-64 requires a restorer address in every sigaction.
const SA_RESTORER: i32 = 0x0400_0000;

/// The kernel's struct sigaction on x86-64.
#[repr(C)]
struct KernelSigaction {
    handler: u64,
    flags: u64,
    restorer: u64,
    mask: u64,
}

/// The host's vDSO and its data pages in this process, and where they go
/// in the vDSO window of every stub process.
#[derive(Clone, Debug, Default)]
pub struct VdsoMove {
    /// (current start, length, target start, permissions, name).
    pub moves: Vec<(u64, u64, u64, &'static str, String)>,
    /// The vDSO image's target address.
    pub base: u64,
}

/// Find the host's vDSO and data pages ([vvar], [vvar_vclock], [vdso]) in
/// our own maps and plan their move into the vDSO window, keeping their
/// distances (the vDSO code finds its data pages by offset). None if they
/// do not fit or the window is not free here.
pub fn plan_vdso() -> Option<VdsoMove> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let mut found: Vec<(u64, u64, String)> = Vec::new();
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let range = f.next()?;
        let name = line.split_whitespace().nth(5).unwrap_or("");
        let (a, b) = range.split_once('-')?;
        let (a, b) = (u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?);
        // Nothing of ours may be in the window already.
        if a < VDSO_WINDOW + VDSO_WINDOW_LEN && b > VDSO_WINDOW {
            return None;
        }
        if name.starts_with("[vvar") || name == "[vdso]" {
            found.push((a, b, name.to_string()));
        }
    }
    let lo = found.iter().map(|f| f.0).min()?;
    let hi = found.iter().map(|f| f.1).max()?;
    if hi - lo > VDSO_WINDOW_LEN || !found.iter().any(|f| f.2 == "[vdso]") {
        return None;
    }
    let mut plan = VdsoMove::default();
    for (a, b, name) in found {
        let to = VDSO_WINDOW + (a - lo);
        let perms = if name == "[vdso]" { "r-xp" } else { "r--p" };
        if name == "[vdso]" {
            plan.base = to;
        }
        plan.moves.push((a, b - a, to, perms, name));
    }
    Some(plan)
}

/// Fork the master stub from the calling thread, which becomes its tracer.
/// The master shares the sentry's fd table, has the stub's signal handlers,
/// the host's vDSO moved as `vdso` plans (if it does), and runs under the
/// stub filter. Returns once it has stopped itself.
pub fn fork_master(layout: &Layout, vdso: Option<&VdsoMove>) -> Result<sys::Tid> {
    let moves: Vec<(u64, u64, u64)> = vdso.map(|v| v.moves.iter().map(|m| (m.0, m.1, m.2)).collect()).unwrap_or_default();
    let prog = crate::filter::program();
    let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut libc::sock_filter };
    let act = KernelSigaction {
        handler: layout.handler,
        flags: (libc::SA_SIGINFO | libc::SA_ONSTACK | SA_RESTORER) as u64,
        restorer: layout.restorer,
        mask: !0,
    };
    // SAFETY: a fork-like clone (no CLONE_VM: the child gets a copy of our
    // memory, including `prog` and `act`) that shares the fd table; the
    // child only makes raw system calls and then jumps into the stub page,
    // never returning into Rust, and closes no fd (the table is ours).
    let pid = unsafe {
        libc::syscall(libc::SYS_clone, (libc::CLONE_FILES | libc::SIGCHLD) as u64, 0u64, 0u64, 0u64, 0u64)
    } as i32;
    if pid < 0 {
        return Err(sys::host_error("fork(systrap master)"));
    }
    if pid == 0 {
        // SAFETY: raw syscalls with integer arguments or pointers to the
        // child's copies of `act` and `fprog`; the jump target is the stub
        // code installed before the fork. Nothing here returns.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            platform_ptrace::stub::unregister_rseq();
            // The host's vDSO into the window (else the window is emptied:
            // nothing of the sentry's may stay in a stub).
            if moves.is_empty() {
                libc::munmap(VDSO_WINDOW as *mut libc::c_void, VDSO_WINDOW_LEN as usize);
            }
            for &(from, len, to) in &moves {
                let flags = libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED;
                let r = libc::syscall(libc::SYS_mremap, from, len, len, flags, to);
                if r as u64 != to {
                    libc::_exit(123);
                }
            }
            for sig in TRAP_SIGNALS {
                if libc::syscall(libc::SYS_rt_sigaction, sig, &act as *const KernelSigaction, 0usize, 8usize) != 0 {
                    libc::_exit(120);
                }
            }
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize);
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                libc::_exit(121);
            }
            // From here on only the stub page may make system calls.
            if libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0u32, &fprog as *const libc::sock_fprog) != 0 {
                libc::_exit(122);
            }
            std::arch::asm!("jmp {}", in(reg) STUB_ADDR, options(noreturn));
        }
    }
    let status = sys::wait(pid)?;
    if !libc::WIFSTOPPED(status) || libc::WSTOPSIG(status) != libc::SIGTRAP {
        tracing::error!("systrap master stub failed to start: wait status {status:#x}");
        return Err(Error::StubDied(pid));
    }
    Ok(pid)
}
