//! Thin wrappers over the host's ptrace, waitpid and signal calls.
//!
//! All raw host calls of this crate live here; each checks its result and
//! turns a failure into [`platform::Error::Host`].

use platform::{Error, FpState, Regs, Result};

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// The host call `op` just failed: its error, with the thread's errno.
pub fn host_error(op: &'static str) -> Error {
    Error::Host { op, errno: errno() }
}

fn check(op: &'static str, r: libc::c_long) -> Result<libc::c_long> {
    if r < 0 {
        Err(host_error(op))
    } else {
        Ok(r)
    }
}

/// A thread id on the host.
pub type Tid = libc::pid_t;

/// PTRACE_SEIZE the thread with the given options.
pub fn seize(tid: Tid, options: libc::c_int) -> Result<()> {
    // Data is an options bit mask passed by value.
    // SAFETY: PTRACE_SEIZE takes no pointer arguments.
    let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0usize, options as usize) };
    check("ptrace(SEIZE)", r).map(|_| ())
}

/// PTRACE_INTERRUPT a seized thread.
pub fn interrupt(tid: Tid) -> Result<()> {
    // SAFETY: no pointer arguments.
    let r = unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0usize, 0usize) };
    check("ptrace(INTERRUPT)", r).map(|_| ())
}

/// Resume a stopped tracee with `req` (PTRACE_CONT, PTRACE_SYSEMU, ...),
/// delivering `sig` (0 for none).
pub fn resume(req: libc::c_uint, tid: Tid, sig: i32) -> Result<()> {
    // SAFETY: no pointer arguments; data is a signal number by value.
    let r = unsafe { libc::ptrace(req, tid, 0usize, sig as usize) };
    check("ptrace(resume)", r).map(|_| ())
}

/// Read the general registers of a stopped tracee.
pub fn get_regs(tid: Tid, regs: &mut Regs) -> Result<()> {
    // `Regs` has the layout of `struct user_regs_struct`.
    // SAFETY: the pointer is to a live, exclusively borrowed value of that size.
    let r = unsafe { libc::ptrace(libc::PTRACE_GETREGS, tid, 0usize, regs as *mut Regs) };
    check("ptrace(GETREGS)", r).map(|_| ())
}

/// Write the general registers of a stopped tracee.
pub fn set_regs(tid: Tid, regs: &Regs) -> Result<()> {
    // SAFETY: as for get_regs; the kernel only reads the structure.
    let r = unsafe { libc::ptrace(libc::PTRACE_SETREGS, tid, 0usize, regs as *const Regs) };
    check("ptrace(SETREGS)", r).map(|_| ())
}

/// Write only `rax` of a stopped tracee (PTRACE_POKEUSER): far cheaper
/// than PTRACE_SETREGS, which validates and writes every register.
pub fn set_rax(tid: Tid, rax: u64) -> Result<()> {
    /// offsetof(struct user_regs_struct, rax).
    const RAX: usize = 10 * 8;
    // The kernel checks the offset against the register area.
    // SAFETY: no pointer arguments: the offset and the value go by value.
    let r = unsafe { libc::ptrace(libc::PTRACE_POKEUSER, tid, RAX, rax as usize) };
    check("ptrace(POKEUSER rax)", r).map(|_| ())
}

/// NT_X86_XSTATE: the XSAVE area regset.
const NT_X86_XSTATE: usize = 0x202;

/// The size of the XSAVE area the kernel exchanges through ptrace, learned
/// from the first read.
static XSAVE_SIZE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Read the XSAVE area of a stopped tracee.
pub fn get_fpregs(tid: Tid, fp: &mut FpState) -> Result<()> {
    let mut buf = vec![0u8; 16384];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // The kernel writes at most iov_len bytes and shrinks it to the size.
    // SAFETY: the iovec describes `buf`, live and writable for its length.
    let r = unsafe { libc::ptrace(libc::PTRACE_GETREGSET, tid, NT_X86_XSTATE, &mut iov as *mut libc::iovec) };
    check("ptrace(GETREGSET xstate)", r)?;
    buf.truncate(iov.iov_len);
    XSAVE_SIZE.store(iov.iov_len, std::sync::atomic::Ordering::Relaxed);
    fp.0 = buf;
    Ok(())
}

/// Write the XSAVE area of a stopped tracee; an empty state is the initial
/// one. The buffer must be exactly the kernel's size, so a shorter state
/// (a legacy-only one) is extended with init components.
pub fn set_fpregs(tid: Tid, fp: &FpState) -> Result<()> {
    let mut size = XSAVE_SIZE.load(std::sync::atomic::Ordering::Relaxed);
    if size == 0 {
        let mut probe = FpState::default();
        get_fpregs(tid, &mut probe)?;
        size = probe.0.len();
    }
    let mut buf = if fp.0.is_empty() { FpState::initial(size).0 } else { fp.0.clone() };
    buf.resize(size, 0);
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // The kernel only reads the buffer.
    // SAFETY: the iovec describes `buf`, live for its length.
    let r = unsafe { libc::ptrace(libc::PTRACE_SETREGSET, tid, NT_X86_XSTATE, &mut iov as *mut libc::iovec) };
    check("ptrace(SETREGSET xstate)", r).map(|_| ())
}

/// Read the siginfo of the signal a tracee is stopped for.
pub fn get_siginfo(tid: Tid) -> Result<libc::siginfo_t> {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    let mut si: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live siginfo_t the kernel fills.
    let r = unsafe { libc::ptrace(libc::PTRACE_GETSIGINFO, tid, 0usize, &mut si as *mut libc::siginfo_t) };
    check("ptrace(GETSIGINFO)", r).map(|_| si)
}

/// waitpid(tid, __WALL), retrying on EINTR. Returns the raw status.
pub fn wait(tid: Tid) -> Result<i32> {
    loop {
        let mut status = 0;
        // SAFETY: status points to a live i32.
        let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if r >= 0 {
            return Ok(status);
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(Error::Host { op: "waitpid", errno: e });
        }
    }
}

/// Send `sig` to one thread.
pub fn tgkill(pid: Tid, tid: Tid, sig: i32) {
    // Failure (the thread is gone) is harmless to the caller.
    // SAFETY: plain syscall with integer arguments.
    unsafe {
        libc::syscall(libc::SYS_tgkill, pid, tid, sig);
    }
}

/// Send SIGKILL to a process.
pub fn kill_process(pid: Tid) {
    // SAFETY: integer arguments only; the pid is a stub we created.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}


/// The CPUs this process may run on.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live cpu_set_t of the size passed.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
        return Vec::new();
    }
    // SAFETY: CPU_ISSET reads the set we own, for indices below CPU_SETSIZE.
    (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
}

/// Pin thread `tid` (0: the caller) to one CPU. Best effort: a failure
/// leaves the thread where it was, which is only slower.
pub fn pin(tid: Tid, cpu: usize) {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: cpu came from allowed_cpus, so it is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a live cpu_set_t of the size passed.
    unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

/// CPU time a host thread has run, in ns (from its schedstat; 0 if gone).
pub fn thread_cpu_ns(pid: Tid, tid: Tid) -> u64 {
    platform::thread_cpu_ns(&pid.to_string(), tid)
}
