//! inotify: watches on inodes, events queued by the VFS operations made
//! inside the sandbox (changes made on the host are not seen).
//!
//! Every inotify instance registers the inodes it watches in one table
//! (inode key -> instances); the syscall layer reports events on an inode,
//! and on its directory with the child's name, through [`notify`]. Nothing
//! is done while no watch exists anywhere.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::kernel::wait::WaitQueue;
use crate::vfs::{FileOps, POLLIN};

pub const IN_ACCESS: u32 = 0x1;
pub const IN_MODIFY: u32 = 0x2;
pub const IN_ATTRIB: u32 = 0x4;
pub const IN_CLOSE_WRITE: u32 = 0x8;
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
pub const IN_OPEN: u32 = 0x20;
pub const IN_MOVED_FROM: u32 = 0x40;
pub const IN_MOVED_TO: u32 = 0x80;
pub const IN_CREATE: u32 = 0x100;
pub const IN_DELETE: u32 = 0x200;
pub const IN_DELETE_SELF: u32 = 0x400;
pub const IN_MOVE_SELF: u32 = 0x800;
pub const IN_ALL_EVENTS: u32 = 0xfff;
pub const IN_Q_OVERFLOW: u32 = 0x4000;
pub const IN_IGNORED: u32 = 0x8000;
pub const IN_ONLYDIR: u32 = 0x0100_0000;
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
pub const IN_MASK_ADD: u32 = 0x2000_0000;
pub const IN_ISDIR: u32 = 0x4000_0000;
pub const IN_ONESHOT: u32 = 0x8000_0000;

/// Most events queued per instance (/proc/sys/fs/inotify/max_queued_events).
const MAX_QUEUED: usize = 16384;
/// struct inotify_event without its name.
const EVENT_SIZE: usize = 16;

/// Watches that exist anywhere (the fast path of [`notify`]).
static WATCHES: AtomicUsize = AtomicUsize::new(0);
/// Move cookies.
static COOKIE: AtomicU32 = AtomicU32::new(1);
/// Inode key -> instances watching it.
static TABLE: Mutex<Option<HashMap<usize, Vec<Weak<Inotify>>>>> = Mutex::new(None);

struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// The name field's length: the name, its NUL, padded to EVENT_SIZE.
    fn name_len(&self) -> usize {
        if self.name.is_empty() {
            0
        } else {
            (self.name.len() + 1).div_ceil(EVENT_SIZE) * EVENT_SIZE
        }
    }
    fn size(&self) -> usize {
        EVENT_SIZE + self.name_len()
    }
}

#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    /// wd -> (inode key, mask).
    watches: HashMap<i32, (usize, u32)>,
    next_wd: i32,
}

/// An inotify instance.
pub struct Inotify {
    st: Mutex<State>,
    wq: WaitQueue,
}

/// The key of an inode, as locks and the reverse map name it.
pub fn key(inode: &Arc<dyn crate::vfs::Inode>) -> usize {
    Arc::as_ptr(inode) as *const u8 as usize
}

/// Report `mask` on `inode` and, with its name, on the directory `parent`
/// holds it in (when known).
pub fn notify_both(inode: usize, parent: Option<&(usize, Vec<u8>)>, mask: u32) {
    if !active() {
        return;
    }
    notify(inode, mask, 0, b"");
    if let Some((p, name)) = parent {
        notify(*p, mask, 0, name);
    }
}

/// A fresh move cookie.
pub fn cookie() -> u32 {
    COOKIE.fetch_add(1, Ordering::Relaxed)
}

/// Whether any watch exists (callers may skip building events otherwise).
pub fn active() -> bool {
    WATCHES.load(Ordering::Relaxed) > 0
}

/// Report `mask` on the inode `key` (with `name`, a child's, when the inode
/// is the directory holding it).
pub fn notify(key: usize, mask: u32, cookie: u32, name: &[u8]) {
    if !active() {
        return;
    }
    let insts: Vec<Arc<Inotify>> = {
        let g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        match g.as_ref().and_then(|t| t.get(&key)) {
            Some(v) => v.iter().filter_map(Weak::upgrade).collect(),
            None => return,
        }
    };
    for i in insts {
        i.queue(key, mask, cookie, name);
    }
}

/// The inode `key` is gone (its last link): IN_DELETE_SELF, then every
/// watch on it ends with IN_IGNORED.
pub fn inode_gone(key: usize) {
    notify(key, IN_DELETE_SELF, 0, b"");
    if !active() {
        return;
    }
    let insts: Vec<Arc<Inotify>> = {
        let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        match g.as_mut().and_then(|t| t.remove(&key)) {
            Some(v) => v.iter().filter_map(Weak::upgrade).collect(),
            None => return,
        }
    };
    for i in insts {
        let wds: Vec<i32> = i.lock().watches.iter().filter(|(_, w)| w.0 == key).map(|(wd, _)| *wd).collect();
        for wd in wds {
            i.drop_watch(wd);
        }
    }
}

impl Inotify {
    pub fn new() -> Arc<Inotify> {
        Arc::new(Inotify { st: Mutex::new(State { next_wd: 1, ..State::default() }), wq: WaitQueue::default() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, st: &mut State, e: Event) {
        if st.events.len() >= MAX_QUEUED {
            if st.events.back().is_none_or(|l| l.mask != IN_Q_OVERFLOW) {
                st.events.push_back(Event { wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: Vec::new() });
            }
            return;
        }
        // An event identical to the last one queued is merged into it.
        if let Some(l) = st.events.back() {
            if l.wd == e.wd && l.mask == e.mask && l.cookie == e.cookie && l.name == e.name {
                return;
            }
        }
        st.events.push_back(e);
    }

    fn queue(&self, key: usize, mask: u32, cookie: u32, name: &[u8]) {
        let mut oneshot_done = Vec::new();
        {
            let mut st = self.lock();
            let hits: Vec<(i32, u32)> = st.watches.iter().filter(|(_, w)| w.0 == key).map(|(wd, w)| (*wd, w.1)).collect();
            for (wd, wmask) in hits {
                if wmask & mask & IN_ALL_EVENTS == 0 {
                    continue;
                }
                self.push(&mut st, Event { wd, mask, cookie, name: name.to_vec() });
                if wmask & IN_ONESHOT != 0 {
                    oneshot_done.push(wd);
                }
            }
        }
        for wd in oneshot_done {
            self.drop_watch(wd);
        }
        self.wq.notify_all();
    }

    /// Add or change the watch of `self` on inode `key`; returns its wd.
    pub fn add_watch(self: &Arc<Self>, key: usize, mask: u32) -> KResult<i32> {
        let mut st = self.lock();
        if let Some((&wd, w)) = st.watches.iter_mut().find(|(_, w)| w.0 == key) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            w.1 = if mask & IN_MASK_ADD != 0 { w.1 | mask } else { mask };
            return Ok(wd);
        }
        let wd = st.next_wd;
        st.next_wd += 1;
        st.watches.insert(wd, (key, mask));
        drop(st);
        WATCHES.fetch_add(1, Ordering::Relaxed);
        let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        let list = g.get_or_insert_with(HashMap::new).entry(key).or_default();
        list.retain(|w| w.strong_count() > 0);
        if !list.iter().any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(self))) {
            list.push(Arc::downgrade(self));
        }
        Ok(wd)
    }

    /// inotify_rm_watch: EINVAL for an unknown wd.
    pub fn rm_watch(&self, wd: i32) -> KResult<()> {
        if !self.lock().watches.contains_key(&wd) {
            return Err(Errno::EINVAL);
        }
        self.drop_watch(wd);
        Ok(())
    }

    /// End watch `wd` with IN_IGNORED.
    fn drop_watch(&self, wd: i32) {
        {
            let mut st = self.lock();
            let Some((key, _)) = st.watches.remove(&wd) else { return };
            WATCHES.fetch_sub(1, Ordering::Relaxed);
            self.push(&mut st, Event { wd, mask: IN_IGNORED, cookie: 0, name: Vec::new() });
            if !st.watches.values().any(|w| w.0 == key) {
                let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(list) = g.as_mut().and_then(|t| t.get_mut(&key)) {
                    list.retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), self));
                }
            }
        }
        self.wq.notify_all();
    }

    fn queued_bytes(&self) -> usize {
        self.lock().events.iter().map(Event::size).sum()
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        let n = self.st.get_mut().unwrap_or_else(|e| e.into_inner()).watches.len();
        WATCHES.fetch_sub(n, Ordering::Relaxed);
    }
}

impl FileOps for Inotify {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        task.block_on(&self.wq, nonblock, None, || {
            let mut st = self.lock();
            let first = st.events.front()?;
            if first.size() > buf.len() {
                return Some(Err(Errno::EINVAL));
            }
            let mut n = 0;
            while let Some(e) = st.events.front() {
                if n + e.size() > buf.len() {
                    break;
                }
                let e = st.events.pop_front()?;
                let nl = e.name_len();
                buf[n..n + 4].copy_from_slice(&e.wd.to_ne_bytes());
                buf[n + 4..n + 8].copy_from_slice(&e.mask.to_ne_bytes());
                buf[n + 8..n + 12].copy_from_slice(&e.cookie.to_ne_bytes());
                buf[n + 12..n + 16].copy_from_slice(&(nl as u32).to_ne_bytes());
                buf[n + 16..n + 16 + nl].fill(0);
                buf[n + 16..n + 16 + e.name.len()].copy_from_slice(&e.name);
                n += EVENT_SIZE + nl;
            }
            Some(Ok(n))
        })?
    }

    fn write(&self, _: &Task, _: &[u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn ioctl(&self, task: &Task, cmd: u64, arg: u64) -> KResult<u64> {
        if cmd == libc::FIONREAD {
            task.mm().write_val(arg, &(self.queued_bytes() as i32))?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn readiness(&self) -> u32 {
        if self.lock().events.is_empty() {
            0
        } else {
            POLLIN
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }
}
