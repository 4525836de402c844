//! The execution context of one application thread.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::address_space::{alive, SystrapAddressSpace, OWNED};
use crate::frame::Frame;
use crate::msg::{self, Msg};
use crate::stub::SIG_INTR;
use crate::Shared;
use platform::{Access, AddressSpace, AppCpuTime, Context, CpuState, Error, Exit, Interrupt, Interrupter, Result, SigInfo};
use platform_ptrace::sys::{self, Tid};

/// Interrupts a context by sending [`SIG_INTR`] to its stub thread while
/// it runs application code; the trap is reported as
/// [`Exit::Interrupted`].
#[derive(Default)]
struct StubInterrupter {
    pid: AtomicI32,
    tid: AtomicI32,
    pending: AtomicBool,
    /// The stub thread runs the application (between post and trap).
    running: AtomicBool,
    /// CPU time of stub threads this context no longer uses, in ns.
    retired_ns: AtomicU64,
    /// CPU time the current stub thread had run for other contexts.
    base_ns: AtomicU64,
    /// The current stub thread's message.
    msg: std::sync::Mutex<Option<Msg>>,
    /// Held while the stub thread (and its base) changes and while the
    /// time is read: the process CPU clock never counts a thread twice or
    /// against another thread's base, so it never jumps.
    acct: std::sync::Mutex<()>,
}

impl StubInterrupter {
    /// CPU time of the current stub thread for this context, in ns.
    fn live_ns(&self) -> u64 {
        let (pid, tid) = (self.pid.load(Ordering::SeqCst), self.tid.load(Ordering::SeqCst));
        let live = if tid != 0 { sys::thread_cpu_ns(pid, tid) } else { 0 };
        live.saturating_sub(self.base_ns.load(Ordering::SeqCst))
    }
}

impl AppCpuTime for StubInterrupter {
    fn app_cpu_time(&self) -> std::time::Duration {
        let _g = self.acct.lock().unwrap_or_else(|e| e.into_inner());
        std::time::Duration::from_nanos(self.retired_ns.load(Ordering::SeqCst) + self.live_ns())
    }
}

impl Interrupt for StubInterrupter {
    fn idle(&self) {
        // Only the context's own host thread calls this, and only between
        // switches, so the stub thread waits in its handler; a spinning one
        // (it last posted a trap or a result) goes to sleep at once.
        if let Some(m) = *self.msg.lock().unwrap_or_else(|e| e.into_inner()) {
            let st = m.state();
            for from in [msg::S_TRAPPED, msg::S_DONE] {
                if st.compare_exchange(from, msg::C_SLEEP, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                    break;
                }
            }
        }
    }

    fn busy(&self) {
        // (RUNSC_SYSTRAP_KEEP=0 turns it off, for measuring.)
        static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if !*ON.get_or_init(|| std::env::var("RUNSC_SYSTRAP_KEEP").map_or(true, |v| v != "0")) {
            return;
        }
        // As idle: from the context's own host thread, between switches.
        if let Some(m) = *self.msg.lock().unwrap_or_else(|e| e.into_inner()) {
            m.keep_spinning();
        }
    }

    fn interrupt(&self) {
        self.pending.store(true, Ordering::SeqCst);
        if self.running.load(Ordering::SeqCst) {
            let tid = self.tid.load(Ordering::SeqCst);
            if tid != 0 {
                sys::tgkill(self.pid.load(Ordering::SeqCst), tid, SIG_INTR);
            }
        }
    }
}

/// A systrap context.
pub struct SystrapContext {
    shared: Arc<Shared>,
    intr: Arc<StubInterrupter>,
    /// The registers of the last trap, when it came through the trap
    /// entry of a patched site (its frame is the entry's own).
    entry_regs: Option<platform::Regs>,
}

/// Whether `a` and `b` differ at most in rax (a syscall's result).
fn only_rax_changed(a: &platform::Regs, b: &platform::Regs) -> bool {
    let mut a = *a;
    a.rax = b.rax;
    a.orig_rax = b.orig_rax;
    a.fs_base = b.fs_base;
    a.gs_base = b.gs_base;
    bytemuck::bytes_of(&a) == bytemuck::bytes_of(b)
}

impl SystrapContext {
    pub(crate) fn new(shared: Arc<Shared>) -> SystrapContext {
        SystrapContext { shared, intr: Arc::new(StubInterrupter::default()), entry_regs: None }
    }
}

fn downcast(as_: &Arc<dyn AddressSpace>) -> &SystrapAddressSpace {
    as_.as_any()
        .downcast_ref::<SystrapAddressSpace>()
        .expect("systrap context switched into a foreign address space")
}

/// This host thread's stub thread in `sas`, created (or taken over) on
/// first use: its message, its tid, and whether it ran for another context.
fn own(sas: &SystrapAddressSpace) -> Result<(Msg, Tid, bool)> {
    let id = sas.inner.id;
    if let Some(x) = OWNED.with(|o| o.borrow().get(&id).map(|s| (s.msg(), s.tid, s.reused))) {
        return Ok(x);
    }
    let owned = sas.inner.new_thread()?;
    let x = (owned.msg(), owned.tid, owned.reused);
    OWNED.with(|o| o.borrow_mut().insert(id, owned));
    Ok(x)
}

impl Context for SystrapContext {
    fn switch(&mut self, as_: &Arc<dyn AddressSpace>, cpu: &mut CpuState) -> Result<Exit> {
        let sas = downcast(as_);
        let (m, tid, reused) = own(sas)?;
        let pid = sas.inner.pid;
        if self.intr.tid.load(Ordering::SeqCst) != tid {
            *self.intr.msg.lock().unwrap_or_else(|e| e.into_inner()) = Some(m);
        }
        if self.intr.tid.load(Ordering::SeqCst) != tid || self.intr.pid.load(Ordering::SeqCst) != pid {
            let base = if reused { sys::thread_cpu_ns(pid, tid) } else { 0 };
            let _g = self.intr.acct.lock().unwrap_or_else(|e| e.into_inner());
            self.intr.base_ns.store(base, Ordering::SeqCst);
            self.intr.pid.store(pid, Ordering::SeqCst);
            self.intr.tid.store(tid, Ordering::SeqCst);
        }
        self.intr.running.store(true, Ordering::SeqCst);
        if self.intr.pending.swap(false, Ordering::SeqCst) {
            self.intr.running.store(false, Ordering::SeqCst);
            return Ok(Exit::Interrupted);
        }
        let frame = Frame::of(&m).map_err(|_| Error::StubDied(tid))?;
        // Back from a patched site with nothing changed but the result:
        // the stub returns in user space (no rt_sigreturn).
        let fast = !cpu.fp_dirty
            && m.in_entry_frame()
            && self.entry_regs.take().is_some_and(|r| only_rax_changed(&r, &cpu.regs));
        m.set32(msg::M_FAST, fast as u32);
        frame.write_regs(&cpu.regs);
        if cpu.fp_dirty {
            frame.write_fp(&cpu.fp);
            cpu.fp_dirty = false;
        }
        m.set(msg::M_FS_NEW, cpu.regs.fs_base);
        m.post(msg::C_RUN);
        // The application runs: what the kernel put off until now (waking
        // other tasks) no longer delays it.
        platform::after_resume();
        let frame = loop {
            let s = m.wait_while(msg::C_RUN, self.shared.tuning.spin_sentry, tid, &|| alive(pid, tid));
            if s.map_err(|_| Error::StubDied(tid))? != msg::S_TRAPPED {
                self.intr.running.store(false, Ordering::SeqCst);
                return Err(Error::StubDied(tid));
            }
            let frame = Frame::of(&m).map_err(|_| Error::StubDied(tid))?;
            let rip = frame.rip();
            if !(msg::STUB_ADDR..msg::STUB_ADDR + msg::STUB_LEN).contains(&rip) {
                break frame;
            }
            // A trap in the stub's own code: an interrupt that struck on
            // the return path after M_IN_TRAP was cleared (before the
            // rt_sigreturn, or in the fast return) is resumed, its pending
            // flag kept for the next switch; anything else is a platform
            // bug.
            if m.get32(msg::M_SIGNO) as i32 != SIG_INTR {
                self.intr.running.store(false, Ordering::SeqCst);
                tracing::error!("systrap: signal {} in the stub's code at {rip:#x}", m.get32(msg::M_SIGNO));
                return Err(Error::Injected { op: "stub code (trap entry)", errno: libc::EFAULT });
            }
            m.post(msg::C_RUN);
        };
        self.intr.running.store(false, Ordering::SeqCst);
        frame.read_regs(&mut cpu.regs);
        cpu.regs.fs_base = m.get(msg::M_FS);
        let signo = m.get32(msg::M_SIGNO) as i32;
        let (code, addr) = frame.siginfo();
        // Any other trap leaves a frame of the kernel's under M_UC.
        let via_entry = signo == libc::SIGSYS && code == 1 && m.in_entry_frame();
        self.entry_regs = via_entry.then_some(cpu.regs);
        if signo == libc::SIGSYS && code == 1 {
            // SYS_SECCOMP: the kernel rolled rax back to the number.
            cpu.regs.orig_rax = cpu.regs.rax;
            return Ok(Exit::Syscall);
        }
        cpu.regs.orig_rax = u64::MAX;
        if signo == SIG_INTR {
            self.intr.pending.store(false, Ordering::SeqCst);
            return Ok(Exit::Interrupted);
        }
        if signo == libc::SIGSEGV && (code == 1 || code == 2) {
            let err = frame.err();
            let access = if err & 0x10 != 0 {
                Access::Exec
            } else if err & 0x2 != 0 {
                Access::Write
            } else {
                Access::Read
            };
            return Ok(Exit::Fault { addr, access, ip: cpu.regs.rip });
        }
        Ok(Exit::Signal(SigInfo { signo, code, addr }))
    }

    fn load_fp(&mut self, as_: &Arc<dyn AddressSpace>, cpu: &mut CpuState) -> Result<()> {
        if cpu.fp_dirty {
            return Ok(());
        }
        let (m, tid, _) = own(downcast(as_))?;
        Frame::of(&m).map_err(|_| Error::StubDied(tid))?.read_fp(&mut cpu.fp);
        cpu.fp_dirty = true;
        Ok(())
    }

    fn interrupter(&self) -> Interrupter {
        self.intr.clone()
    }

    fn cpu_time(&self) -> Arc<dyn AppCpuTime> {
        self.intr.clone()
    }

    fn entered_directly(&self) -> bool {
        self.entry_regs.is_some()
    }

    fn calls_after_resume(&self) -> bool {
        true
    }

    fn release(&mut self, as_: &Arc<dyn AddressSpace>) {
        let sas = downcast(as_);
        {
            let _g = self.intr.acct.lock().unwrap_or_else(|e| e.into_inner());
            if OWNED.with(|o| o.borrow().contains_key(&sas.inner.id)) && self.intr.tid.load(Ordering::SeqCst) != 0 {
                self.intr.retired_ns.fetch_add(self.intr.live_ns(), Ordering::SeqCst);
            }
            self.intr.tid.store(0, Ordering::SeqCst);
        }
        *self.intr.msg.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let _ = OWNED.try_with(|o| o.borrow_mut().remove(&sas.inner.id));
    }
}
