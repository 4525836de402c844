//! The signal frame the kernel builds on a stub thread's signal stack: the
//! registers of the trapped application thread (the ucontext's gregs),
//! its XSAVE area and its siginfo. The sentry reads and rewrites them in
//! place; rt_sigreturn in the stub then loads them.
//!
//! Every pointer read from the frame is the stub's and untrusted: it is
//! translated through [`Msg::translate`], which bounds it to the area.

use platform::{Error, FpState, Regs, Result};

use crate::msg::{Msg, M_INFO, M_UC};

/// Offset of uc_mcontext.gregs in struct ucontext.
const UC_GREGS: u64 = 40;
/// Offset of uc_mcontext.fpregs (the pointer to the XSAVE area).
const UC_FPREGS: u64 = UC_GREGS + 23 * 8;
/// Size of the part of struct ucontext we touch (through uc_sigmask).
const UC_SIZE: u64 = 304;

// Indices into gregs (REG_* of <sys/ucontext.h>).
const REG_R8: usize = 0;
const REG_RDI: usize = 8;
const REG_RSI: usize = 9;
const REG_RBP: usize = 10;
const REG_RBX: usize = 11;
const REG_RDX: usize = 12;
const REG_RAX: usize = 13;
const REG_RCX: usize = 14;
const REG_RSP: usize = 15;
const REG_RIP: usize = 16;
const REG_EFL: usize = 17;
const REG_ERR: usize = 19;

/// Offset of the software-reserved bytes (struct _fpx_sw_bytes) in the
/// legacy FXSAVE area: the kernel's description of the XSAVE frame.
const SW_BYTES: usize = 464;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;

/// The trapped thread's frame in one message area.
pub struct Frame {
    gregs: *mut u64,
    fp: *mut u8,
    fp_size: usize,
    info: *const u8,
}

fn corrupt(what: &'static str) -> Error {
    tracing::warn!("systrap: the stub's signal frame is corrupt ({what})");
    Error::Injected { op: "signal frame", errno: libc::EFAULT }
}

fn rd(p: *const u64, i: usize) -> u64 {
    // SAFETY: callers pass a pointer translated for the whole gregs array;
    // volatile because the application may write the area concurrently.
    unsafe { p.add(i).read_volatile() }
}

fn wr(p: *mut u64, i: usize, v: u64) {
    // SAFETY: as for rd.
    unsafe { p.add(i).write_volatile(v) }
}

impl Frame {
    /// The frame of the trap posted in `m`.
    pub fn of(m: &Msg) -> Result<Frame> {
        let uc = m.get(M_UC);
        let ucp = m.translate(uc, UC_SIZE).ok_or_else(|| corrupt("ucontext"))?;
        // SAFETY: ucp is valid for UC_SIZE bytes (translate), which covers
        // the gregs array and the fpregs pointer.
        let gregs = unsafe { ucp.add(UC_GREGS as usize) } as *mut u64;
        // SAFETY: as above.
        let fp_addr = unsafe { (ucp.add(UC_FPREGS as usize) as *const u64).read_volatile() };
        let legacy = m.translate(fp_addr, FpState::LEGACY as u64 + 64).ok_or_else(|| corrupt("fpstate"))?;
        // SAFETY: legacy is valid for 576 bytes, covering the sw bytes.
        let (magic, size) = unsafe {
            (
                (legacy.add(SW_BYTES) as *const u32).read_volatile(),
                (legacy.add(SW_BYTES + 16) as *const u32).read_volatile() as usize,
            )
        };
        let fp_size = if magic == FP_XSTATE_MAGIC1 { size } else { FpState::LEGACY };
        let fp = m.translate(fp_addr, fp_size as u64).ok_or_else(|| corrupt("xsave size"))?;
        let info = m.translate(m.get(M_INFO), 128).ok_or_else(|| corrupt("siginfo"))?;
        Ok(Frame { gregs, fp, fp_size, info })
    }

    /// The general registers, into `regs` (fs and gs bases and the
    /// selectors are not in the frame; the caller keeps or sets them).
    pub fn read_regs(&self, regs: &mut Regs) {
        let g = self.gregs;
        let r = [
            &mut regs.r8, &mut regs.r9, &mut regs.r10, &mut regs.r11,
            &mut regs.r12, &mut regs.r13, &mut regs.r14, &mut regs.r15,
        ];
        for (i, v) in r.into_iter().enumerate() {
            *v = rd(g, REG_R8 + i);
        }
        regs.rdi = rd(g, REG_RDI);
        regs.rsi = rd(g, REG_RSI);
        regs.rbp = rd(g, REG_RBP);
        regs.rbx = rd(g, REG_RBX);
        regs.rdx = rd(g, REG_RDX);
        regs.rax = rd(g, REG_RAX);
        regs.rcx = rd(g, REG_RCX);
        regs.rsp = rd(g, REG_RSP);
        regs.rip = rd(g, REG_RIP);
        regs.eflags = rd(g, REG_EFL);
        regs.cs = 0x33;
        regs.ss = 0x2b;
    }

    /// Write the general registers the thread resumes with.
    pub fn write_regs(&self, regs: &Regs) {
        let g = self.gregs;
        let r = [regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15];
        for (i, v) in r.into_iter().enumerate() {
            wr(g, REG_R8 + i, v);
        }
        wr(g, REG_RDI, regs.rdi);
        wr(g, REG_RSI, regs.rsi);
        wr(g, REG_RBP, regs.rbp);
        wr(g, REG_RBX, regs.rbx);
        wr(g, REG_RDX, regs.rdx);
        wr(g, REG_RAX, regs.rax);
        wr(g, REG_RCX, regs.rcx);
        wr(g, REG_RSP, regs.rsp);
        wr(g, REG_RIP, regs.rip);
        wr(g, REG_EFL, regs.eflags);
    }

    /// The instruction pointer of the frame.
    pub fn rip(&self) -> u64 {
        rd(self.gregs, REG_RIP)
    }

    /// The page-fault error code (write: bit 1, instruction fetch: bit 4).
    pub fn err(&self) -> u64 {
        rd(self.gregs, REG_ERR)
    }

    /// si_code and si_addr of the trap.
    pub fn siginfo(&self) -> (i32, u64) {
        // SAFETY: info is valid for 128 bytes (translate); si_code is the
        // i32 at 8 and si_addr the u64 at 16.
        unsafe { ((self.info.add(8) as *const i32).read_volatile(), (self.info.add(16) as *const u64).read_volatile()) }
    }

    /// The thread's XSAVE area.
    pub fn read_fp(&self, fp: &mut FpState) {
        let mut v = vec![0u8; self.fp_size];
        for (i, b) in v.iter_mut().enumerate() {
            // SAFETY: fp is valid for fp_size bytes (translate).
            *b = unsafe { self.fp.add(i).read_volatile() };
        }
        fp.0 = v;
    }

    /// Load `fp` (empty: the initial state) into the frame, keeping the
    /// kernel's description of the frame in the software-reserved bytes.
    pub fn write_fp(&self, fp: &FpState) {
        let init;
        let src = if fp.0.is_empty() {
            init = FpState::initial(self.fp_size);
            &init.0
        } else {
            &fp.0
        };
        for (i, &b) in src.iter().enumerate().take(self.fp_size) {
            if (SW_BYTES..FpState::LEGACY).contains(&i) {
                continue;
            }
            // SAFETY: i < fp_size and fp is valid for fp_size bytes.
            unsafe { self.fp.add(i).write_volatile(b) };
        }
    }
}

/// The software-reserved bytes the kernel writes into the XSAVE area of
/// this machine's signal frames (magic, sizes, features), read from a
/// real frame: a signal sent to this thread with a handler that copies
/// them. The trap entry of patched syscall sites writes them into the
/// frames it builds; rt_sigreturn checks them and, if they were wrong,
/// would restore only the legacy FP/SSE state. All zero (no patching)
/// when the frame has no XSAVE state or it would not fit the area.
pub fn xsave_description() -> [u8; 48] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static GOT: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];
    extern "C" fn grab(_: libc::c_int, _: *mut libc::siginfo_t, uc: *mut libc::c_void) {
        // SAFETY: the kernel passes the frame's ucontext; fpregs points at
        // the frame's XSAVE area (512 legacy bytes at least) or is null.
        unsafe {
            let fp = (*(uc as *const libc::ucontext_t)).uc_mcontext.fpregs as *const u8;
            if fp.is_null() {
                return;
            }
            for (i, g) in GOT.iter().enumerate() {
                g.store((fp.add(SW_BYTES + 8 * i) as *const u64).read_unaligned(), Ordering::Relaxed);
            }
        }
    }
    let sig = libc::SIGRTMAX() - 1;
    // SAFETY: a plain sigaction with a handler that only reads its frame
    // and stores atomics; the old action is put back right after; the
    // signal goes to this thread and is handled before tgkill returns.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = grab as *const () as usize;
        act.sa_flags = libc::SA_SIGINFO;
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, &act, &mut old) != 0 {
            return [0; 48];
        }
        libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), sig);
        libc::sigaction(sig, &old, std::ptr::null_mut());
    }
    let mut out = [0u8; 48];
    for (i, g) in GOT.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&g.load(Ordering::Relaxed).to_ne_bytes());
    }
    let magic = u32::from_ne_bytes(out[0..4].try_into().unwrap_or_default());
    let size = u32::from_ne_bytes(out[16..20].try_into().unwrap_or_default()) as u64;
    if magic != FP_XSTATE_MAGIC1 || size < 576 || size + 4 > crate::msg::AREA_SIZE - crate::msg::TRAP_XS {
        return [0; 48];
    }
    out
}
