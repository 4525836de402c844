//! The seccomp filter of every stub process.
//!
//! Written as classic BPF by hand rather than with seccompiler: the rule
//! that matters is on the instruction pointer (only the stub page may make
//! system calls), which seccompiler cannot express.
//!
//! - A system call from outside the stub page (the application's) returns
//!   SECCOMP_RET_TRAP: the kernel skips it and sends SIGSYS, which the
//!   stub's handler hands to the sentry.
//! - A system call from the stub page runs only if it is one the stub
//!   makes; any other kills the process. The application can jump into the
//!   stub page, so each allowed call must be harmless in its hands: it only
//!   reaches its own stub process (mappings, signal state, threads of the
//!   two clone flag sets the platform uses, futexes).

use crate::msg::{STUB_ADDR, STUB_LEN};

/// Flags of the clone that makes a stub thread.
pub const THREAD_CLONE_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_CHILD_SETTID
    | libc::CLONE_CHILD_CLEARTID) as u64;
/// Flags of the clone that makes a stub process from the master (it shares
/// the sentry's fd table, as the ptrace platform's stubs do).
pub const PROCESS_CLONE_FLAGS: u64 = (libc::CLONE_PARENT | libc::CLONE_FILES | libc::SIGCHLD) as u64;

/// The system calls the stub page makes, and why.
const STUB_SYSCALLS: &[(i64, &str)] = &[
    (libc::SYS_mmap, "map the memory file, host files and thread areas"),
    (libc::SYS_munmap, "unmap application memory; the master drops the sentry's"),
    (libc::SYS_mprotect, "change application protections"),
    (libc::SYS_rt_sigprocmask, "a new thread unblocks signals"),
    (libc::SYS_rt_sigreturn, "return to the application from a trap"),
    (libc::SYS_sigaltstack, "a new thread sets its signal stack in its area"),
    (libc::SYS_futex, "sleep and wake on the message state"),
    (libc::SYS_sched_yield, "let other threads run while spinning on the message state"),
    (libc::SYS_arch_prctl, "set the fs base without WRFSBASE"),
    (libc::SYS_pause, "the master idles between injections"),
    (libc::SYS_exit, "a stub thread ends"),
];

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;

/// Jump targets: the three returns at the end of the program.
#[derive(Clone, Copy)]
enum To {
    Next,
    /// Skip that many instructions after the next one.
    Skip(usize),
    Allow,
    Trap,
    Kill,
}

struct Asm {
    ins: Vec<(u16, u32, To, To)>,
}

impl Asm {
    fn ld(&mut self, off: u32) {
        self.ins.push((0x20, off, To::Next, To::Next)); // BPF_LD|BPF_W|BPF_ABS
    }
    fn jeq(&mut self, k: u32, t: To, f: To) {
        self.ins.push((0x15, k, t, f)); // BPF_JMP|BPF_JEQ|BPF_K
    }
    fn jge(&mut self, k: u32, t: To, f: To) {
        self.ins.push((0x35, k, t, f)); // BPF_JMP|BPF_JGE|BPF_K
    }
    fn jgt(&mut self, k: u32, t: To, f: To) {
        self.ins.push((0x25, k, t, f)); // BPF_JMP|BPF_JGT|BPF_K
    }
    fn finish(self) -> Vec<libc::sock_filter> {
        let n = self.ins.len();
        // The returns follow the body: allow at n, trap at n+1, kill at n+2.
        let target = |i: usize, to: To| -> u8 {
            let abs = match to {
                To::Next => i + 1,
                To::Skip(k) => i + 1 + k,
                To::Allow => n,
                To::Trap => n + 1,
                To::Kill => n + 2,
            };
            u8::try_from(abs - i - 1).expect("seccomp jump too far")
        };
        let mut out: Vec<libc::sock_filter> = self
            .ins
            .iter()
            .enumerate()
            .map(|(i, &(code, k, t, f))| libc::sock_filter { code, jt: target(i, t), jf: target(i, f), k })
            .collect();
        for k in [RET_ALLOW, RET_TRAP, RET_KILL_PROCESS] {
            out.push(libc::sock_filter { code: 0x06, jt: 0, jf: 0, k }); // BPF_RET|BPF_K
        }
        out
    }
}

/// The filter program.
pub fn program() -> Vec<libc::sock_filter> {
    // struct seccomp_data: nr @0, arch @4, instruction_pointer @8, args @16.
    let mut a = Asm { ins: Vec::new() };
    a.ld(4);
    a.jeq(AUDIT_ARCH_X86_64, To::Next, To::Trap);
    // The instruction pointer (after the syscall instruction) in the stub
    // page: high half equal, low half in [start, end].
    a.ld(12);
    a.jeq((STUB_ADDR >> 32) as u32, To::Next, To::Trap);
    a.ld(8);
    a.jge(STUB_ADDR as u32, To::Next, To::Trap);
    a.jgt((STUB_ADDR + STUB_LEN) as u32, To::Trap, To::Next);
    a.ld(0);
    for &(nr, _why) in STUB_SYSCALLS {
        a.jeq(nr as u32, To::Allow, To::Next);
    }
    // prctl only to die with the sentry: PR_SET_PDEATHSIG.
    a.jeq(libc::SYS_prctl as u32, To::Next, To::Skip(4));
    a.ld(20);
    a.jeq(0, To::Next, To::Kill);
    a.ld(16);
    a.jeq(libc::PR_SET_PDEATHSIG as u32, To::Allow, To::Kill);
    // clone only with the platform's two flag sets.
    a.jeq(libc::SYS_clone as u32, To::Next, To::Kill);
    a.ld(20);
    a.jeq(0, To::Next, To::Kill);
    a.ld(16);
    a.jeq(THREAD_CLONE_FLAGS as u32, To::Allow, To::Next);
    a.jeq(PROCESS_CLONE_FLAGS as u32, To::Allow, To::Kill);
    a.finish()
}
