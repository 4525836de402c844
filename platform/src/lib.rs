//! The interface between the sentry and the platforms that run application
//! code (ptrace today; KVM and systrap later).
//!
//! The sentry never touches ptrace or KVM: it owns a memory file (one memfd
//! holding all application memory), tells an [`AddressSpace`] which ranges of
//! that file to map where, and runs each application thread through its own
//! [`Context`], getting back an [`Exit`] whenever the thread needs the kernel.
//! A platform never interprets a syscall.

use std::sync::Arc;

/// Errors a platform reports to the sentry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host system call the platform depends on failed.
    #[error("host {op} failed: errno {errno}")]
    Host {
        /// What was being done.
        op: &'static str,
        /// The host errno.
        errno: i32,
    },
    /// The stub process or thread died underneath us.
    #[error("stub {0} died unexpectedly")]
    StubDied(i32),
    /// An injected system call failed inside the stub.
    #[error("injected {op} failed in stub: errno {errno}")]
    Injected {
        /// Which injected syscall.
        op: &'static str,
        /// Its errno.
        errno: i32,
    },
}

/// Result type of platform operations.
pub type Result<T> = std::result::Result<T, Error>;

/// Memory protection, as the PROT_* bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Prot {
    /// PROT_READ
    pub read: bool,
    /// PROT_WRITE
    pub write: bool,
    /// PROT_EXEC
    pub exec: bool,
}

impl Prot {
    /// No access.
    pub const NONE: Prot = Prot { read: false, write: false, exec: false };
    /// Read only.
    pub const R: Prot = Prot { read: true, write: false, exec: false };
    /// Read and write.
    pub const RW: Prot = Prot { read: true, write: true, exec: false };
    /// Read and execute.
    pub const RX: Prot = Prot { read: true, write: false, exec: true };

    /// From the Linux PROT_* bit mask.
    pub fn from_bits(bits: u64) -> Prot {
        Prot { read: bits & 1 != 0, write: bits & 2 != 0, exec: bits & 4 != 0 }
    }

    /// To the Linux PROT_* bit mask.
    pub fn bits(self) -> u64 {
        (self.read as u64) | (self.write as u64) << 1 | (self.exec as u64) << 2
    }

    /// This protection without write permission.
    pub fn without_write(self) -> Prot {
        Prot { write: false, ..self }
    }
}

/// The x86-64 general registers of an application thread, in the layout of
/// Linux's `struct user_regs_struct`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[allow(missing_docs)]
pub struct Regs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

/// The complete FPU and vector state of a thread in XSAVE format (the
/// 512-byte legacy FXSAVE area, the 64-byte XSAVE header, then AVX and
/// later components), as large as the host's XSAVE area. Empty means the
/// initial state (after execve, for a signal handler).
#[derive(Clone, Default)]
pub struct FpState(pub Vec<u8>);

impl FpState {
    /// Offset of MXCSR in the legacy area.
    pub const MXCSR: usize = 24;
    /// Size of the legacy FXSAVE area.
    pub const LEGACY: usize = 512;

    /// The initial state in a buffer of `size` bytes: FCW 0x37f, MXCSR
    /// 0x1f80, x87 and SSE marked present in the XSAVE header, all else
    /// in its init state.
    pub fn initial(size: usize) -> FpState {
        let mut s = vec![0u8; size.max(Self::LEGACY + 64)];
        s[0] = 0x7f;
        s[1] = 0x03;
        s[Self::MXCSR] = 0x80;
        s[Self::MXCSR + 1] = 0x1f;
        s[Self::LEGACY] = 0x3; // XSTATE_BV: FP | SSE
        FpState(s)
    }
}

impl std::fmt::Debug for FpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FpState({} bytes)", self.0.len())
    }
}

/// The state of an application thread that the sentry owns while the
/// thread is in the kernel.
#[derive(Clone, Debug, Default)]
pub struct CpuState {
    /// General registers, including fs_base.
    pub regs: Regs,
    /// The FPU state, when the sentry has fetched it (`fp_valid`).
    pub fp: FpState,
    /// Whether `fp` holds the thread's state and must be loaded on the next
    /// switch.
    pub fp_dirty: bool,
}

/// What kind of access faulted, when the platform knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A read.
    Read,
    /// A write.
    Write,
    /// An instruction fetch.
    Exec,
    /// The platform cannot tell (ptrace does not report the error code).
    Unknown,
}

/// Signal information about a trap the application caused.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigInfo {
    /// Signal number.
    pub signo: i32,
    /// si_code.
    pub code: i32,
    /// si_addr for faults.
    pub addr: u64,
}

/// Why `Context::switch` returned.
#[derive(Clone, Copy, Debug)]
pub enum Exit {
    /// The thread executed `syscall`; the number is in `regs.orig_rax`
    /// (and `rax`), the arguments in the usual registers.
    Syscall,
    /// A page fault at `addr`.
    Fault {
        /// Faulting address.
        addr: u64,
        /// Access kind, if known.
        access: Access,
        /// The instruction pointer of the faulting instruction.
        ip: u64,
    },
    /// Any other synchronous trap (SIGILL, SIGFPE, SIGTRAP, SIGBUS, ...).
    Signal(SigInfo),
    /// The switch was interrupted through the [`Interrupter`].
    Interrupted,
}

/// Makes a running [`Context::switch`] return [`Exit::Interrupted`].
pub trait Interrupt: Send + Sync {
    /// Request the interruption; harmless if the thread is not running.
    fn interrupt(&self);
    /// Called by the thread's own host thread when it is about to block in
    /// the kernel: the platform may stop keeping the application thread
    /// ready to run at once (systrap stops its stub thread's spin).
    fn idle(&self) {}
    /// Called by the thread's own host thread when the syscall it serves
    /// will keep it computing for a while without blocking (a large copy):
    /// the platform may keep the application thread ready for the return
    /// all the same (systrap: its stub thread spins on rather than sleep,
    /// sparing the wake-up). Ends with the syscall.
    fn busy(&self) {}
}

/// A handle that interrupts one context from any thread.
pub type Interrupter = Arc<dyn Interrupt>;

/// What the kernel runs on a context's host thread right after
/// [`Context::switch`] has handed the application thread its registers
/// and let it run, before waiting for its next exit (set once).
static AFTER_RESUME: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Set the kernel's after-resume work (see [`after_resume`]).
pub fn set_after_resume(f: fn()) {
    let _ = AFTER_RESUME.set(f);
}

/// Run the kernel's after-resume work: platforms whose `switch` calls this
/// once the application runs again say so in
/// [`Context::calls_after_resume`].
pub fn after_resume() {
    if let Some(f) = AFTER_RESUME.get() {
        f();
    }
}

/// CPU time spent running an application thread's own code (what Linux
/// accounts as its user and system time, as far as the host ran it).
pub trait AppCpuTime: Send + Sync {
    /// Time on CPU so far, over every address space the thread ran in.
    fn app_cpu_time(&self) -> std::time::Duration;
}

/// An application address space.
pub trait AddressSpace: Send + Sync {
    /// For the platform's own downcast from `dyn AddressSpace`.
    fn as_any(&self) -> &dyn std::any::Any;
    /// Map `[offset, offset+len)` of the memory file at `addr` with `prot`,
    /// replacing whatever was mapped there.
    fn map_file(&self, addr: u64, len: u64, offset: u64, prot: Prot) -> Result<()>;
    /// Map `[offset, offset+len)` of the sentry's host file `fd` at `addr`,
    /// shared (writes reach the file) with `prot`, replacing whatever was
    /// mapped there: as [`map_file`](Self::map_file), for memory the
    /// sentry keeps in a host file of its own (the memory file's store).
    fn map_shared(&self, addr: u64, len: u64, fd: i32, offset: u64, prot: Prot) -> Result<()>;
    /// Map `[offset, offset+len)` of the sentry's host file `fd` at `addr`,
    /// private (copy-on-write) and never writable, replacing whatever was
    /// mapped there. The host pages it in on demand from its own page
    /// cache; a page past the end of the file is the host's SIGBUS, which
    /// the platform reports as [`Exit::Signal`]. `fd` need only stay open
    /// for the duration of the call.
    fn map_host(&self, addr: u64, len: u64, fd: i32, offset: u64, prot: Prot) -> Result<()>;
    /// Unmap `[addr, addr+len)`.
    fn unmap(&self, addr: u64, len: u64) -> Result<()>;
    /// Change the protection of mapped pages in `[addr, addr+len)`.
    fn protect(&self, addr: u64, len: u64, prot: Prot) -> Result<()>;
    /// Where a patched syscall site may jump to enter the platform
    /// directly (with eax = the number and rcx = the return address, as
    /// `syscall` leaves it), instead of trapping: None where the platform
    /// has no such entry (docs/syscall-patching.md).
    fn syscall_entry(&self) -> Option<u64> {
        None
    }
}

/// The execution context of one application thread.
pub trait Context: Send {
    /// Run the application thread in `as_` until it needs the kernel.
    fn switch(&mut self, as_: &Arc<dyn AddressSpace>, cpu: &mut CpuState) -> Result<Exit>;
    /// Fetch the thread's FPU state into `cpu.fp` (for signal frames, fork).
    fn load_fp(&mut self, as_: &Arc<dyn AddressSpace>, cpu: &mut CpuState) -> Result<()>;
    /// The handle that interrupts `switch`.
    fn interrupter(&self) -> Interrupter;
    /// The handle that reads the thread's application CPU time.
    fn cpu_time(&self) -> Arc<dyn AppCpuTime>;
    /// The last `Exit::Syscall` came through a patched site's direct entry
    /// (see [`AddressSpace::syscall_entry`]): the site is patched already.
    fn entered_directly(&self) -> bool {
        false
    }
    /// Whether `switch` calls [`after_resume`] as soon as the application
    /// thread runs again (otherwise the kernel puts no work off until
    /// then).
    fn calls_after_resume(&self) -> bool {
        false
    }
    /// Release host resources bound to this context in `as_` (the thread is
    /// exiting or leaving the address space).
    fn release(&mut self, as_: &Arc<dyn AddressSpace>);
}

/// A vDSO of the host's kernel that a platform maps in every address space
/// it makes, above the application's addresses, for applications to use
/// (as AT_SYSINFO_EHDR): its clocks read the host's clock pages without a
/// system call, and they are the sentry's clocks.
#[derive(Clone, Debug)]
pub struct HostVdso {
    /// Address of the vDSO's ELF image.
    pub base: u64,
    /// Its mappings and their data pages as /proc/[pid]/maps shows them:
    /// (start, end, permissions, name).
    pub maps: Vec<(u64, u64, &'static str, String)>,
}

/// A platform: makes address spaces and contexts.
pub trait Platform: Send + Sync {
    /// The host vDSO mapped in every address space, if the platform has
    /// one; the sentry maps its own vDSO otherwise.
    fn host_vdso(&self) -> Option<HostVdso> {
        None
    }
    /// The platform's name, as `--platform` spells it.
    fn name(&self) -> &'static str;
    /// A new, empty address space.
    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>>;
    /// A new context for one application thread. A context is bound to the
    /// host thread that first switches it (ptrace requires that the tracer
    /// thread drive its tracees), so each application thread keeps its own.
    fn new_context(&self) -> Result<Box<dyn Context>>;
}

/// Lowest address an application may map.
pub const MIN_USER_ADDR: u64 = 0x10000;
/// One past the highest address an application may map (the platform keeps
/// the pages above for itself).
pub const MAX_USER_ADDR: u64 = 0x7fff_f000_0000;
/// Page size.
pub const PAGE_SIZE: u64 = 4096;

/// A small host `/proc` file, read with `O_NOFOLLOW` (the only way the
/// confined sentry may open a file: its seccomp filter insists on the
/// flag); `None` if it cannot be read.
pub fn read_proc(path: &str) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().read(true).custom_flags(O_NOFOLLOW).open(path).ok()?;
    let mut s = String::new();
    f.read_to_string(&mut s).ok()?;
    Some(s)
}

/// The first field of a host thread's schedstat: the CPU time it has run,
/// in ns (0 if it is gone). `pid` is `self` or a process id.
pub fn thread_cpu_ns(pid: &str, tid: i32) -> u64 {
    read_proc(&format!("/proc/{pid}/task/{tid}/schedstat"))
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Linux's O_NOFOLLOW on x86-64 (this crate does not depend on libc).
const O_NOFOLLOW: i32 = 0o400000;
