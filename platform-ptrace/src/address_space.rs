//! An address space: one stub process, its leader owned by a service thread.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use crate::inject::{self, Seen};
use crate::sys::{self, Tid};
use crate::stub_mm::StubSyscalls;
use crate::Shared;
use platform::{AddressSpace, Error, Prot, Result};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A stub thread owned (traced) by the current host thread.
pub(crate) struct OwnedStub {
    pub tid: Tid,
    /// Pinned to its context's CPU.
    pub pinned: bool,
    pub seen: Seen,
    pub shared: Arc<Shared>,
}

impl Drop for OwnedStub {
    fn drop(&mut self) {
        // Make the thread exit so that it can never run on without us.
        let mut seen = Seen::default();
        let _ = inject::raw(self.tid, self.shared.layout.inject, libc::SYS_exit, [0; 6], &mut seen);
    }
}

thread_local! {
    /// The stub threads this host thread traces, by address-space id.
    pub(crate) static OWNED: RefCell<HashMap<u64, OwnedStub>> = RefCell::new(HashMap::new());
}

pub(crate) enum Request {
    Syscall { op: &'static str, nr: i64, args: [u64; 6], reply: mpsc::SyncSender<Result<u64>> },
    NewThread { reply: mpsc::SyncSender<Result<Tid>> },
}

/// The ptrace address space.
pub struct PtraceAddressSpace {
    pub(crate) id: u64,
    pub(crate) pid: Tid,
    pub(crate) shared: Arc<Shared>,
    tx: Mutex<mpsc::Sender<Request>>,
}

impl PtraceAddressSpace {
    pub(crate) fn new(shared: Arc<Shared>) -> Result<PtraceAddressSpace> {
        let pid = shared.new_process()?;
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let s2 = shared.clone();
        std::thread::Builder::new()
            .name(format!("stub-{pid}"))
            .spawn(move || service(pid, s2, rx, ready_tx))
            .map_err(|_| Error::Host { op: "spawn stub service thread", errno: libc::EAGAIN })?;
        ready_rx.recv().map_err(|_| Error::StubDied(pid))??;
        Ok(PtraceAddressSpace {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            pid,
            shared,
            tx: Mutex::new(tx),
        })
    }

    fn request<T>(&self, make: impl FnOnce(mpsc::SyncSender<Result<T>>) -> Request) -> Result<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.tx
            .lock()
            .map_err(|_| Error::StubDied(self.pid))?
            .send(make(tx))
            .map_err(|_| Error::StubDied(self.pid))?;
        rx.recv().map_err(|_| Error::StubDied(self.pid))?
    }

    /// Execute a syscall in the stub process: in this host thread's own stub
    /// thread if it has one, else through the service thread.
    fn syscall(&self, op: &'static str, nr: i64, args: [u64; 6]) -> Result<u64> {
        let direct = OWNED.with(|o| {
            let mut o = o.borrow_mut();
            o.get_mut(&self.id).map(|s| {
                let tid = s.tid;
                inject::checked(tid, &self.shared.layout, op, nr, args, &mut s.seen)
            })
        });
        match direct {
            Some(r) => r,
            None => self.request(|reply| Request::Syscall { op, nr, args, reply }),
        }
    }

    /// A new parked stub thread in this process, cloned by the leader.
    pub(crate) fn new_thread(&self) -> Result<Tid> {
        self.request(|reply| Request::NewThread { reply })
    }
}

fn service(
    pid: Tid,
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    ready: mpsc::SyncSender<Result<()>>,
) {
    let mut seen = Seen::default();
    let layout = shared.layout;
    let setup = inject::attach(pid, true).and_then(|()| {
        // The stub's own prctl may not have run yet; make sure the process
        // dies with the sentry.
        inject::checked(
            pid,
            &layout,
            "prctl(PDEATHSIG)",
            libc::SYS_prctl,
            [libc::PR_SET_PDEATHSIG as u64, libc::SIGKILL as u64, 0, 0, 0, 0],
            &mut seen,
        )
        .map(|_| ())
    });
    let failed = setup.is_err();
    let _ = ready.send(setup);
    if !failed {
        for req in rx {
            match req {
                Request::Syscall { op, nr, args, reply } => {
                    let _ = reply.send(inject::checked(pid, &layout, op, nr, args, &mut seen));
                }
                Request::NewThread { reply } => {
                    let flags = (libc::CLONE_VM
                        | libc::CLONE_FS
                        | libc::CLONE_FILES
                        | libc::CLONE_SIGHAND
                        | libc::CLONE_THREAD
                        | libc::CLONE_SYSVSEM) as u64;
                    let _ = reply.send(inject::clone(pid, &layout, flags, &mut seen));
                }
            }
        }
    }
    sys::kill_process(pid);
    while sys::wait(pid).is_ok() {}
}

impl StubSyscalls for PtraceAddressSpace {
    fn stub_syscall(&self, op: &'static str, nr: i64, args: [u64; 6]) -> Result<u64> {
        self.syscall(op, nr, args)
    }

    fn memfd(&self) -> i32 {
        self.shared.memfd
    }
}

impl AddressSpace for PtraceAddressSpace {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn map_file(&self, addr: u64, len: u64, offset: u64, prot: Prot) -> Result<()> {
        self.stub_map_file(addr, len, offset, prot)
    }

    fn map_shared(&self, addr: u64, len: u64, fd: i32, offset: u64, prot: Prot) -> Result<()> {
        self.stub_map_shared(addr, len, fd, offset, prot)
    }

    fn map_host(&self, addr: u64, len: u64, fd: i32, offset: u64, prot: Prot) -> Result<()> {
        self.stub_map_host(addr, len, fd, offset, prot)
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<()> {
        self.stub_unmap(addr, len)
    }

    fn protect(&self, addr: u64, len: u64, prot: Prot) -> Result<()> {
        self.stub_protect(addr, len, prot)
    }
}

impl Drop for PtraceAddressSpace {
    fn drop(&mut self) {
        // Release this host thread's own stub thread, if any; the service
        // thread then kills the process when its channel closes.
        let _ = OWNED.try_with(|o| o.borrow_mut().remove(&self.id));
    }
}

/// Send `sig` to a stub thread.
pub(crate) fn signal_thread(pid: Tid, tid: Tid, sig: i32) {
    sys::tgkill(pid, tid, sig);
}
