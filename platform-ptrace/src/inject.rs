//! Syscall injection: make a stopped stub thread execute one host system
//! call at the stub's injection site and stop again.
//!
//! The stub thread's registers are clobbered; this is fine because the
//! sentry owns the application's registers and reloads them on every switch.

use crate::stub::Layout;
use crate::sys::{self, Tid};
use platform::{Error, Regs, Result};

/// Registers valid for a 64-bit user thread, all else zero.
pub fn user_regs() -> Regs {
    Regs { cs: 0x33, ss: 0x2b, eflags: 0x202, ..Regs::default() }
}

/// Outcome flags of an injection that the caller may need to know.
#[derive(Default, Debug)]
pub struct Seen {
    /// An interrupting SIGSTOP arrived (and was swallowed) meanwhile.
    pub interrupted: bool,
    /// The thread's registers were overwritten by an injection.
    pub clobbered: bool,
}

/// Syscalls injected so far (for --debug statistics).
pub static INJECTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Injections by syscall number (reported with --debug).
pub static BY_NR: [std::sync::atomic::AtomicU64; 512] = [const { std::sync::atomic::AtomicU64::new(0) }; 512];

/// Run syscall `nr(args)` in stopped tracee `tid` at `site` and return the
/// raw result (negative errno on failure).
pub fn raw(tid: Tid, site: u64, nr: i64, args: [u64; 6], seen: &mut Seen) -> Result<i64> {
    INJECTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Some(c) = BY_NR.get(nr as usize) {
        c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    seen.clobbered = true;
    let mut regs = user_regs();
    regs.rip = site;
    regs.rcx = site;
    regs.r11 = regs.eflags;
    regs.rax = nr as u64;
    regs.orig_rax = u64::MAX;
    regs.rdi = args[0];
    regs.rsi = args[1];
    regs.rdx = args[2];
    regs.r10 = args[3];
    regs.r8 = args[4];
    regs.r9 = args[5];
    sys::set_regs(tid, &regs)?;
    sys::resume(libc::PTRACE_CONT, tid, 0)?;
    loop {
        let status = sys::wait(tid)?;
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            return Err(Error::StubDied(tid));
        }
        let sig = libc::WSTOPSIG(status);
        if sig == libc::SIGTRAP && status >> 16 == 0 {
            sys::get_regs(tid, &mut regs)?;
            return Ok(regs.rax as i64);
        }
        if sig == libc::SIGSTOP || status >> 16 != 0 {
            seen.interrupted = true;
        }
        // Anything else (our interrupt, a group stop) is swallowed.
        sys::resume(libc::PTRACE_CONT, tid, 0)?;
    }
}

/// Run a syscall and turn a negative result into [`Error::Injected`].
pub fn checked(
    tid: Tid,
    layout: &Layout,
    op: &'static str,
    nr: i64,
    args: [u64; 6],
    seen: &mut Seen,
) -> Result<u64> {
    let r = raw(tid, layout.inject, nr, args, seen)?;
    if (-4095..0).contains(&r) {
        return Err(Error::Injected { op, errno: -r as i32 });
    }
    Ok(r as u64)
}

/// Clone a new thread or process from stopped tracee `tid`. The child parks
/// itself in the stub's pause loop, untraced.
pub fn clone(tid: Tid, layout: &Layout, flags: u64, seen: &mut Seen) -> Result<Tid> {
    let r = raw(tid, layout.inject_clone, libc::SYS_clone, [flags, 0, 0, 0, 0, 0], seen)?;
    if r < 0 {
        return Err(Error::Injected { op: "clone", errno: -r as i32 });
    }
    Ok(r as Tid)
}

/// Take over a parked stub thread: seize it and stop it.
pub fn attach(tid: Tid, exit_kill: bool) -> Result<()> {
    let mut opts = libc::PTRACE_O_TRACESYSGOOD;
    if exit_kill {
        opts |= libc::PTRACE_O_EXITKILL;
    }
    sys::seize(tid, opts)?;
    sys::interrupt(tid)?;
    loop {
        let status = sys::wait(tid)?;
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            return Err(Error::StubDied(tid));
        }
        if status >> 16 == libc::PTRACE_EVENT_STOP {
            return Ok(());
        }
        // A signal-delivery stop that raced the interrupt: swallow it.
        sys::resume(libc::PTRACE_CONT, tid, 0)?;
    }
}
