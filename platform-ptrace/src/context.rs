//! The execution context of one application thread.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::address_space::{signal_thread, OwnedStub, PtraceAddressSpace, OWNED};
use crate::inject::{self, Seen};
use crate::sys;
use crate::Shared;
use platform::{Access, AddressSpace, AppCpuTime, Context, CpuState, Error, Exit, Interrupt, Interrupter, Regs, Result, SigInfo};

/// Interrupts a context by sending SIGSTOP to its current stub thread; the
/// stop is swallowed and reported as [`Exit::Interrupted`].
#[derive(Default)]
struct StubInterrupter {
    pid: AtomicI32,
    tid: AtomicI32,
    pending: AtomicBool,
    /// CPU time of stub threads this context no longer uses, in ns.
    retired_ns: AtomicU64,
    /// Held while the current stub thread changes and while the time is
    /// read, so that a thread being retired is never counted twice (once
    /// in `retired_ns`, once live): the process CPU clock must not jump.
    acct: std::sync::Mutex<()>,
}

impl AppCpuTime for StubInterrupter {
    fn app_cpu_time(&self) -> std::time::Duration {
        let _g = self.acct.lock().unwrap_or_else(|e| e.into_inner());
        let (pid, tid) = (self.pid.load(Ordering::SeqCst), self.tid.load(Ordering::SeqCst));
        let live = if tid != 0 { sys::thread_cpu_ns(pid, tid) } else { 0 };
        std::time::Duration::from_nanos(self.retired_ns.load(Ordering::SeqCst) + live)
    }
}

impl Interrupt for StubInterrupter {
    fn interrupt(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let tid = self.tid.load(Ordering::SeqCst);
        if tid != 0 {
            signal_thread(self.pid.load(Ordering::SeqCst), tid, libc::SIGSTOP);
        }
    }
}

/// A ptrace context. It must be switched only from one host thread.
///
/// Each context owns one CPU (handed out in turn): its host thread and its
/// stub threads are pinned there, so a stop and a resume wake the other
/// side on the same CPU. On a 2-CPU VM that is 4.8 us per syscall round
/// trip against 24-40 us when tracer and tracee wake each other across CPUs.
pub struct PtraceContext {
    shared: Arc<Shared>,
    intr: Arc<StubInterrupter>,
    cpu: Option<usize>,
    host_pinned: bool,
    /// The registers last read from a stub thread at its stop, while no
    /// injection has overwritten them: a syscall that only set `rax`
    /// resumes with one POKEUSER instead of a SETREGS.
    last: Option<(sys::Tid, Regs)>,
}

impl PtraceContext {
    pub(crate) fn new(shared: Arc<Shared>) -> PtraceContext {
        let cpu = shared.pick_cpu();
        PtraceContext { shared, intr: Arc::new(StubInterrupter::default()), cpu, host_pinned: false, last: None }
    }

    /// This host thread's stub thread in `as_`, created on first use.
    fn stub_tid(&self, as_: &PtraceAddressSpace) -> Result<sys::Tid> {
        if let Some(tid) = OWNED.with(|o| o.borrow().get(&as_.id).map(|s| s.tid)) {
            return Ok(tid);
        }
        let tid = as_.new_thread()?;
        inject::attach(tid, true)?;
        OWNED.with(|o| {
            o.borrow_mut()
                .insert(as_.id, OwnedStub { tid, pinned: false, seen: Seen::default(), shared: self.shared.clone() })
        });
        Ok(tid)
    }
}

fn downcast(as_: &Arc<dyn AddressSpace>) -> &PtraceAddressSpace {
    as_.as_any()
        .downcast_ref::<PtraceAddressSpace>()
        .expect("ptrace context switched into a foreign address space")
}

impl Context for PtraceContext {
    fn switch(&mut self, as_: &Arc<dyn AddressSpace>, cpu: &mut CpuState) -> Result<Exit> {
        let pas = downcast(as_);
        // One lookup: our stub thread, and whether an interrupt arrived
        // (and was swallowed) while syscalls were injected into it.
        if OWNED.with(|o| !o.borrow().contains_key(&pas.id)) {
            self.stub_tid(pas)?;
        }
        if let (Some(c), false) = (self.cpu, self.host_pinned) {
            sys::pin(0, c);
            self.host_pinned = true;
        }
        let my_cpu = self.cpu;
        let (tid, injected_intr, clobbered) = OWNED.with(|o| {
            let mut o = o.borrow_mut();
            let s = o.get_mut(&pas.id).expect("stub thread registered above");
            if let (Some(c), false) = (my_cpu, s.pinned) {
                sys::pin(s.tid, c);
                s.pinned = true;
            }
            (s.tid, std::mem::take(&mut s.seen.interrupted), std::mem::take(&mut s.seen.clobbered))
        });
        if clobbered {
            self.last = None;
        }
        if self.intr.tid.load(Ordering::Relaxed) != tid || self.intr.pid.load(Ordering::Relaxed) != pas.pid {
            let _g = self.intr.acct.lock().unwrap_or_else(|e| e.into_inner());
            self.intr.pid.store(pas.pid, Ordering::SeqCst);
            self.intr.tid.store(tid, Ordering::SeqCst);
        }
        if self.intr.pending.swap(false, Ordering::SeqCst) || injected_intr {
            return Ok(Exit::Interrupted);
        }
        if cpu.fp_dirty {
            sys::set_fpregs(tid, &cpu.fp)?;
            cpu.fp_dirty = false;
        }
        // Only rax changed (a syscall's result): the thread's orig_rax
        // stays the syscall number, harmless since rax is never one of the
        // kernel's restart codes (the sentry resolves those).
        let only_rax = self.last.take().is_some_and(|(t, mut last): (sys::Tid, Regs)| {
            last.rax = cpu.regs.rax;
            t == tid && bytemuck::bytes_of(&last) == bytemuck::bytes_of(&cpu.regs)
        });
        if only_rax {
            sys::set_rax(tid, cpu.regs.rax)?;
        } else {
            let mut regs = cpu.regs;
            regs.orig_rax = u64::MAX;
            sys::set_regs(tid, &regs)?;
        }
        sys::resume(libc::PTRACE_SYSEMU, tid, 0)?;
        let status = sys::wait(tid)?;
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            OWNED.with(|o| {
                if let Some(s) = o.borrow_mut().remove(&pas.id) {
                    std::mem::forget(s);
                }
            });
            return Err(Error::StubDied(tid));
        }
        sys::get_regs(tid, &mut cpu.regs)?;
        self.last = Some((tid, cpu.regs));
        let sig = libc::WSTOPSIG(status);
        if sig == libc::SIGTRAP | 0x80 {
            return Ok(Exit::Syscall);
        }
        if status >> 16 != 0 || sig == libc::SIGSTOP {
            self.intr.pending.store(false, Ordering::SeqCst);
            return Ok(Exit::Interrupted);
        }
        let si = sys::get_siginfo(tid)?;
        // For SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP the kernel fills
        // si_addr; for other signals the same bytes are plain integers.
        // SAFETY: either way the read is of initialised plain data.
        let addr = unsafe { si.si_addr() } as u64;
        if sig == libc::SIGSEGV && (si.si_code == 1 || si.si_code == 2) {
            return Ok(Exit::Fault { addr, access: Access::Unknown, ip: cpu.regs.rip });
        }
        Ok(Exit::Signal(SigInfo { signo: sig, code: si.si_code, addr }))
    }

    fn load_fp(&mut self, as_: &Arc<dyn AddressSpace>, cpu: &mut CpuState) -> Result<()> {
        if cpu.fp_dirty {
            return Ok(());
        }
        let tid = self.stub_tid(downcast(as_))?;
        sys::get_fpregs(tid, &mut cpu.fp)?;
        cpu.fp_dirty = true;
        Ok(())
    }

    fn interrupter(&self) -> Interrupter {
        self.intr.clone()
    }

    fn cpu_time(&self) -> Arc<dyn AppCpuTime> {
        self.intr.clone()
    }

    fn release(&mut self, as_: &Arc<dyn AddressSpace>) {
        let pas = downcast(as_);
        // Keep the stub thread's CPU time before it goes.
        let _g = self.intr.acct.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tid) = OWNED.with(|o| o.borrow().get(&pas.id).map(|s| s.tid)) {
            self.intr.retired_ns.fetch_add(sys::thread_cpu_ns(pas.pid, tid), Ordering::SeqCst);
        }
        self.intr.tid.store(0, Ordering::SeqCst);
        let _ = OWNED.try_with(|o| o.borrow_mut().remove(&pas.id));
    }
}
