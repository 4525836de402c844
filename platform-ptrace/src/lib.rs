//! The ptrace platform.
//!
//! Each application address space is a stub process (see [`stub`]) whose
//! leader thread is owned by a service thread of this crate; each
//! application thread runs in a stub thread of that process, cloned from the
//! leader and traced by the sentry host thread that runs the application
//! thread (ptrace lets only the tracer thread drive a tracee). Syscalls stop
//! with PTRACE_SYSEMU; faults and other traps arrive as signal stops.
//!
//! Mapping changes are injected into the calling host thread's own stub
//! thread when it has one in the address space (the common case: a syscall
//! or fault handler of that very thread), else into the leader through the
//! service thread.

mod address_space;
mod context;
#[doc(hidden)]
pub mod inject;
#[doc(hidden)]
pub mod stub;
pub mod stub_mm;
#[doc(hidden)]
pub mod sys;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

pub use address_space::PtraceAddressSpace;

/// Injections by syscall number.
pub fn injected_by_nr() -> Vec<(usize, u64)> {
    inject::BY_NR.iter().enumerate().map(|(i, c)| (i, c.load(std::sync::atomic::Ordering::Relaxed))).filter(|x| x.1 > 0).collect()
}

/// Host syscalls injected into stubs so far.
pub fn injected_syscalls() -> u64 {
    inject::INJECTED.load(std::sync::atomic::Ordering::Relaxed)
}
pub use context::PtraceContext;
use platform::{AddressSpace, Context, Error, Platform, Result};

/// Requests to the factory thread that owns the master stub.
struct NewProcess {
    reply: mpsc::SyncSender<Result<sys::Tid>>,
}

/// State shared by everything of one platform instance.
pub(crate) struct Shared {
    layout: stub::Layout,
    /// The memory file's fd, the same number in the sentry and in every
    /// stub process (they share one fd table).
    memfd: i32,
    factory: Mutex<mpsc::Sender<NewProcess>>,
    /// CPUs the sandbox may use, handed to contexts in turn.
    cpus: Vec<usize>,
    next_cpu: std::sync::atomic::AtomicUsize,
}

impl Shared {
    /// The CPU for the next context, round robin over the allowed ones.
    fn pick_cpu(&self) -> Option<usize> {
        let i = self.next_cpu.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (!self.cpus.is_empty()).then(|| self.cpus[i % self.cpus.len()])
    }

    /// A new, parked stub process, a child of the sentry.
    fn new_process(&self) -> Result<sys::Tid> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.factory
            .lock()
            .map_err(|_| Error::StubDied(0))?
            .send(NewProcess { reply: tx })
            .map_err(|_| Error::StubDied(0))?;
        rx.recv().map_err(|_| Error::StubDied(0))?
    }
}

/// The ptrace platform.
pub struct PtracePlatform {
    shared: Arc<Shared>,
}

impl PtracePlatform {
    /// Start the platform over the memory file `memfd`: install the stub
    /// page and start the factory thread with its master stub.
    pub fn new(memfd: i32) -> Result<PtracePlatform> {
        let layout = stub::install()?;
        let (tx, rx) = mpsc::channel::<NewProcess>();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("stub-factory".into())
            .spawn(move || factory(layout, rx, ready_tx))
            .map_err(|_| Error::Host { op: "spawn factory thread", errno: libc::EAGAIN })?;
        ready_rx.recv().map_err(|_| Error::StubDied(0))??;
        Ok(PtracePlatform {
            shared: Arc::new(Shared {
                layout,
                memfd,
                factory: Mutex::new(tx),
                cpus: sys::allowed_cpus(),
                next_cpu: std::sync::atomic::AtomicUsize::new(0),
            }),
        })
    }
}

/// The factory thread: forks the master stub (so this thread is its tracer
/// and the parent thread of every stub process), then clones new stub
/// processes from it on request. It lives as long as the sentry, since the
/// stubs' parent-death signal fires when it exits.
fn factory(
    layout: stub::Layout,
    rx: mpsc::Receiver<NewProcess>,
    ready: mpsc::SyncSender<Result<()>>,
) {
    let master = match stub::fork_master() {
        Ok(pid) => {
            let _ = ready.send(Ok(()));
            pid
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    for req in rx {
        let mut seen = inject::Seen::default();
        // CLONE_FILES: every stub process shares the master's fd table,
        // which is the sentry's (see stub::fork_master).
        let flags = (libc::CLONE_PARENT | libc::CLONE_FILES | libc::SIGCHLD) as u64;
        let r = inject::clone(master, &layout, flags, &mut seen);
        let _ = req.reply.send(r);
    }
    sys::kill_process(master);
    let _ = sys::wait(master);
}

impl Platform for PtracePlatform {
    fn name(&self) -> &'static str {
        "ptrace"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>> {
        Ok(Arc::new(PtraceAddressSpace::new(self.shared.clone())?))
    }

    fn new_context(&self) -> Result<Box<dyn Context>> {
        Ok(Box::new(PtraceContext::new(self.shared.clone())))
    }
}
