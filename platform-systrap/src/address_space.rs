//! An address space: one stub process. Its first thread (slot 0) does
//! nothing but execute commands: syscalls for sentry threads that have no
//! stub thread of their own here, and the clones of new stub threads.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};


use crate::frame::Frame;
use crate::msg::{self, Msg};
use crate::{filter, FactoryRequest, Shared, COMMANDS};
use platform::{AddressSpace, Error, Prot, Result};
use platform_ptrace::stub_mm::StubSyscalls;
use platform_ptrace::sys::{self, Tid};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SlotState {
    /// The area is mapped and has no thread.
    Free,
    /// Its thread waits in the stub's handler and no context owns it: the
    /// next new thread takes it over without a command.
    Idle,
    Used,
    /// Its thread was told to exit; free once the kernel clears its ctid.
    Dying,
}

/// What the address space and its owned stub threads share.
pub(crate) struct AsInner {
    pub id: u64,
    pub pid: Tid,
    pub shared: Arc<Shared>,
    /// Serializes commands to slot 0.
    leader: Mutex<()>,
    /// Chunk and state of every slot; slot 0 is the leader's.
    slots: Mutex<Vec<(u32, SlotState)>>,
    /// Slots 0 and 1 (the threads the process is born with) whose birth
    /// nobody has waited for yet.
    unborn: Mutex<[bool; 2]>,
    /// The process went back to the platform for reuse: not to be reaped.
    recycled: std::sync::atomic::AtomicBool,
}

/// A stub process kept for reuse (see [`SystrapAddressSpace`]'s drop).
pub(crate) struct Recycled {
    pid: Tid,
    slots: Vec<(u32, SlotState)>,
    unborn: [bool; 2],
}

/// Most stub processes kept for reuse.
const MAX_RECYCLED: usize = 2;

/// Idle stub threads an address space keeps for its next new threads.
const MAX_IDLE: usize = 2;

/// A stub thread owned by the current host thread.
pub(crate) struct Owned {
    pub slot: u32,
    pub chunk: u32,
    pub tid: Tid,
    /// It ran for another context before (its CPU time is not all ours).
    pub reused: bool,
    pub inner: Arc<AsInner>,
}

impl Owned {
    pub fn msg(&self) -> Msg {
        self.inner.msg(self.slot, self.chunk)
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // Keep the thread for the next new thread of this address space,
        // or make it exit; its slot is reused once the kernel has cleared
        // its ctid.
        let mut slots = self.inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        let idle = slots.iter().filter(|s| s.1 == SlotState::Idle).count();
        let state = if idle < MAX_IDLE {
            SlotState::Idle
        } else {
            let m = self.msg();
            m.set(msg::M_NR, libc::SYS_exit as u64);
            m.set(msg::M_ARGS, 0);
            m.post(msg::C_SYSCALL);
            SlotState::Dying
        };
        if let Some(s) = slots.get_mut(self.slot as usize) {
            s.1 = state;
        }
    }
}

thread_local! {
    /// The stub threads this host thread owns, by address-space id.
    pub(crate) static OWNED: RefCell<HashMap<u64, Owned>> = RefCell::new(HashMap::new());
}

/// Wait for the thread being born in `m` (in process `pid`) to trap at the
/// stub's `ud2`, at `born` (`tid` 0: the thread is the one whose tid the
/// kernel stores in the message's ctid).
pub(crate) fn wait_born(m: &Msg, pid: Tid, tid: Tid, spin: u32, born: u64) -> Result<()> {
    let tid_now = || if tid != 0 { tid } else { m.get32(msg::M_CTID) as Tid };
    let s = m.wait_for_change(0, spin, &|| tid_now() != 0 && alive(pid, tid_now()))?;
    let tid = tid_now();
    let mut regs = platform::Regs::default();
    if s == msg::S_TRAPPED {
        Frame::of(m)?.read_regs(&mut regs);
        if m.get32(msg::M_SIGNO) == libc::SIGILL as u32 && regs.rip == born {
            return Ok(());
        }
    }
    tracing::error!("systrap: stub thread {tid} was not born (state {s}, signal {}, rip {:#x})", m.get32(msg::M_SIGNO), regs.rip);
    Err(Error::StubDied(tid))
}

/// Whether host thread `tid` of process `pid` still runs.
pub(crate) fn alive(pid: Tid, tid: Tid) -> bool {
    match platform::read_proc(&format!("/proc/{pid}/task/{tid}/stat")) {
        Some(s) => !matches!(s.rsplit(')').next().and_then(|r| r.split_whitespace().next()), Some("Z" | "X")),
        None => false,
    }
}

impl AsInner {
    pub fn msg(&self, slot: u32, chunk: u32) -> Msg {
        self.shared.msgs.msg(chunk, slot)
    }

    /// Give the stub thread of `m` (host thread `tid`) command `cmd` with
    /// syscall `nr(args)` and wait for its result.
    pub fn command(&self, m: &Msg, tid: Tid, cmd: u32, nr: i64, args: [u64; 6]) -> Result<i64> {
        COMMANDS.fetch_add(1, Ordering::Relaxed);
        m.set(msg::M_NR, nr as u64);
        for (i, a) in args.into_iter().enumerate() {
            m.set(msg::M_ARGS + 8 * i as u64, a);
        }
        m.post(cmd);
        let pid = self.pid;
        let s = m.wait_while(cmd, self.shared.tuning.spin_sentry, tid, &|| alive(pid, tid)).map_err(|_| Error::StubDied(tid))?;
        if s != msg::S_DONE {
            return Err(Error::StubDied(tid));
        }
        Ok(m.get(msg::M_RET) as i64)
    }

    /// A command to the leader.
    fn leader(&self, cmd: u32, nr: i64, args: [u64; 6]) -> Result<i64> {
        let _g = self.leader.lock().map_err(|_| Error::StubDied(self.pid))?;
        let chunk = self.slots.lock().unwrap_or_else(|e| e.into_inner())[0].0;
        let m = self.msg(0, chunk);
        self.born(0, &m, self.pid)?;
        self.command(&m, self.pid, cmd, nr, args)
    }

    /// Wait for slot `slot`'s first thread (0 or 1) to be born, the first
    /// time only; `tid` 0 for the thread whose tid the kernel stores in the
    /// slot's ctid.
    fn born(&self, slot: usize, m: &Msg, tid: Tid) -> Result<()> {
        let first = std::mem::take(&mut self.unborn.lock().unwrap_or_else(|e| e.into_inner())[slot]);
        if first {
            wait_born(m, self.pid, tid, self.shared.tuning.spin_sentry, self.shared.layout.born)?;
        }
        Ok(())
    }

    /// A new stub thread, owned by the caller from now on.
    pub fn new_thread(self: &Arc<Self>) -> Result<Owned> {
        let (slot, chunk, fresh) = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = slots.iter().position(|s| s.1 == SlotState::Idle) {
                slots[i].1 = SlotState::Used;
                let (slot, chunk) = (i as u32, slots[i].0);
                drop(slots);
                let m = self.msg(slot, chunk);
                if slot == 1 {
                    // The process's first application thread: if the
                    // leader's clone of it failed, the slot stays unusable
                    // and a thread is made like any other.
                    if self.born(1, &m, 0).is_err() {
                        return self.new_thread();
                    }
                    let tid = m.get32(msg::M_CTID) as Tid;
                    return Ok(Owned { slot, chunk, tid, reused: false, inner: self.clone() });
                }
                let tid = m.get32(msg::M_CTID) as Tid;
                return Ok(Owned { slot, chunk, tid, reused: true, inner: self.clone() });
            }
            let reusable = slots.iter().enumerate().position(|(i, &(c, st))| {
                st == SlotState::Free || (st == SlotState::Dying && self.msg(i as u32, c).get32(msg::M_CTID) == 0)
            });
            match reusable {
                Some(i) => {
                    slots[i].1 = SlotState::Used;
                    (i as u32, slots[i].0, false)
                }
                None => {
                    if slots.len() as u32 >= msg::MAX_SLOTS {
                        return Err(Error::Host { op: "new stub thread", errno: libc::EAGAIN });
                    }
                    let c = self.shared.msgs.alloc()?;
                    slots.push((c, SlotState::Used));
                    ((slots.len() - 1) as u32, c, true)
                }
            }
        };
        let fail = |e: Error| {
            self.slots.lock().unwrap_or_else(|e| e.into_inner())[slot as usize].1 = SlotState::Free;
            e
        };
        let area = msg::area_addr(slot);
        if fresh {
            let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
            let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
            let args = [area, msg::AREA_SIZE, prot, flags, self.shared.msgs.fd as u64, msg::MsgFile::offset(chunk)];
            let r = self.leader(msg::C_SYSCALL, libc::SYS_mmap, args).map_err(fail)?;
            if r as u64 != area {
                return Err(fail(Error::Injected { op: "mmap(stub area)", errno: (-r) as i32 }));
            }
        }
        let m = self.msg(slot, chunk);
        m.init(&self.shared.tuning);
        let args = [filter::THREAD_CLONE_FLAGS, area + msg::AREA_SIZE - 64, 0, area + msg::M_CTID, 0, 0];
        let r = self.leader(msg::C_CLONE, libc::SYS_clone, args).map_err(fail)?;
        if r <= 0 {
            return Err(fail(Error::Injected { op: "clone(stub thread)", errno: (-r) as i32 }));
        }
        let tid = r as Tid;
        let owned = Owned { slot, chunk, tid, reused: false, inner: self.clone() };
        wait_born(&m, self.pid, tid, self.shared.tuning.spin_sentry, self.shared.layout.born)?;
        Ok(owned)
    }
}

impl Drop for AsInner {
    fn drop(&mut self) {
        if self.recycled.load(Ordering::Relaxed) {
            return;
        }
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let pair = slots[0].0;
        let chunks = slots.iter().skip(2).map(|s| s.0).collect();
        let _ = self.shared.factory(FactoryRequest::Reap { pid: self.pid, pair, chunks });
    }
}

/// The systrap address space.
pub struct SystrapAddressSpace {
    pub(crate) inner: Arc<AsInner>,
}

impl SystrapAddressSpace {
    pub(crate) fn new(shared: Arc<Shared>) -> Result<SystrapAddressSpace> {
        let reuse = shared.recycled.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(r) = reuse {
            let inner = Arc::new(AsInner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                pid: r.pid,
                shared,
                leader: Mutex::new(()),
                slots: Mutex::new(r.slots),
                unborn: Mutex::new(r.unborn),
                recycled: Default::default(),
            });
            return Ok(SystrapAddressSpace { inner });
        }
        let (tx, rx) = mpsc::sync_channel(1);
        shared.factory(FactoryRequest::NewProcess { reply: tx })?;
        let born = rx.recv().map_err(|_| Error::StubDied(0))??;
        let inner = Arc::new(AsInner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            pid: born.pid,
            shared,
            leader: Mutex::new(()),
            slots: Mutex::new(vec![(born.pair, SlotState::Used), (born.pair + 1, SlotState::Idle)]),
            unborn: Mutex::new([true, true]),
            recycled: Default::default(),
        });
        Ok(SystrapAddressSpace { inner })
    }

    /// Execute a syscall in the stub process: in this host thread's own
    /// stub thread if it has one (it is trapped, waiting for the sentry),
    /// else in the leader.
    fn syscall(&self, op: &'static str, nr: i64, args: [u64; 6]) -> Result<u64> {
        let id = self.inner.id;
        let direct = OWNED.with(|o| o.borrow().get(&id).map(|s| (s.msg(), s.tid)));
        let r = match direct {
            Some((m, tid)) => self.inner.command(&m, tid, msg::C_SYSCALL, nr, args)?,
            None => self.inner.leader(msg::C_SYSCALL, nr, args)?,
        };
        if (-4095..0).contains(&r) {
            return Err(Error::Injected { op, errno: -r as i32 });
        }
        Ok(r as u64)
    }
}

impl StubSyscalls for SystrapAddressSpace {
    fn stub_syscall(&self, op: &'static str, nr: i64, args: [u64; 6]) -> Result<u64> {
        self.syscall(op, nr, args)
    }

    fn memfd(&self) -> i32 {
        self.inner.shared.memfd
    }
}

impl AddressSpace for SystrapAddressSpace {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn syscall_entry(&self) -> Option<u64> {
        self.inner.shared.tuning.patching().then_some(self.inner.shared.layout.trap)
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

impl SystrapAddressSpace {
    /// Keep the stub process for the next address space if every thread
    /// of the application is gone from it: unmap the application's memory
    /// and leave the threads idle. Creating a process (two injections into
    /// the master, a clone, two births) and reaping one cost more on the
    /// critical path of a fork+exec than one munmap.
    fn recycle(&self) -> bool {
        let inner = &self.inner;
        // An owner elsewhere still holds the stub thread it runs in.
        if Arc::strong_count(inner) != 1 {
            return false;
        }
        if inner.shared.recycled.lock().unwrap_or_else(|e| e.into_inner()).len() >= MAX_RECYCLED {
            return false;
        }
        let mut slots = inner.slots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (i, s) in slots.iter_mut().enumerate().skip(1) {
            match s.1 {
                SlotState::Idle | SlotState::Free => {}
                SlotState::Dying if inner.msg(i as u32, s.0).get32(msg::M_CTID) == 0 => s.1 = SlotState::Free,
                _ => return false,
            }
        }
        let (lo, hi) = (platform::PAGE_SIZE, platform::MAX_USER_ADDR);
        if !matches!(inner.leader(msg::C_SYSCALL, libc::SYS_munmap, [lo, hi - lo, 0, 0, 0, 0]), Ok(0)) {
            return false;
        }
        let unborn = *inner.unborn.lock().unwrap_or_else(|e| e.into_inner());
        inner.recycled.store(true, Ordering::Relaxed);
        inner.shared.recycled.lock().unwrap_or_else(|e| e.into_inner()).push(Recycled { pid: inner.pid, slots, unborn });
        true
    }
}

impl Drop for SystrapAddressSpace {
    fn drop(&mut self) {
        let _ = OWNED.try_with(|o| o.borrow_mut().remove(&self.inner.id));
        // Else the application must stop at once; the factory reaps the
        // process when the last owned stub thread lets go of it.
        if !self.recycle() {
            sys::kill_process(self.inner.pid);
        }
    }
}
