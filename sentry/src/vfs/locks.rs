//! Advisory file locks: flock(2) locks and fcntl(2) record locks, both
//! process-owned (POSIX, F_SETLK) and open-file-description-owned (F_OFD_*).
//!
//! As in Linux, the two families are independent: flock locks conflict only
//! with flock locks, record locks only with record locks, whoever owns
//! them. Locks are kept per inode (keyed by the inode object, which lives
//! as long as any file open on it). A POSIX lock belongs to a process: it
//! is released when the process closes any fd of the inode, or exits, and
//! is not inherited by fork. An OFD lock and a flock lock belong to the
//! open file description: they go with its last close.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::File;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::kernel::wait::WaitQueue;

/// Who owns a record lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A process (thread group id): POSIX locks.
    Process(i32),
    /// An open file description: OFD locks.
    Ofd(usize),
}

/// A record lock on `[start, end)` (`end` u64::MAX: to the end of file,
/// however it grows).
#[derive(Clone, Copy, Debug)]
pub struct RangeLock {
    pub owner: Owner,
    pub start: u64,
    pub end: u64,
    pub write: bool,
    /// The pid F_GETLK reports (-1 for an OFD lock).
    pub pid: i32,
}

impl RangeLock {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end
    }
}

#[derive(Default)]
struct InodeLocks {
    ranges: Vec<RangeLock>,
    /// flock locks: (description, exclusive).
    flocks: Vec<(usize, bool)>,
}

#[derive(Default)]
struct State {
    inodes: HashMap<usize, InodeLocks>,
    /// Process owners blocked in F_SETLKW, and the owner they wait for
    /// (for EDEADLK).
    waits_for: HashMap<Owner, Owner>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
/// Inodes with any lock (every close asks, so it must be cheap to see none).
static LOCKED_INODES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Tasks waiting for any lock to change.
fn queue() -> &'static WaitQueue {
    static Q: std::sync::OnceLock<WaitQueue> = std::sync::OnceLock::new();
    Q.get_or_init(WaitQueue::default)
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut g = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let s = g.get_or_insert_with(State::default);
    let r = f(s);
    LOCKED_INODES.store(s.inodes.len(), std::sync::atomic::Ordering::Relaxed);
    r
}

/// The lock table's key for the inode `f` is open on.
pub fn inode_key(f: &File) -> usize {
    Arc::as_ptr(&f.inode) as *const u8 as usize
}

/// The key of an open file description.
pub fn ofd_key(f: &Arc<File>) -> usize {
    Arc::as_ptr(f) as usize
}

/// What a record-lock request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    Unlock,
}

/// The first lock of another owner on `key` that conflicts with a `kind`
/// lock of `owner` on `[start, end)` (F_GETLK).
pub fn test(key: usize, owner: Owner, start: u64, end: u64, kind: Kind) -> Option<RangeLock> {
    with(|s| conflict(s, key, owner, start, end, kind == Kind::Write))
}

fn conflict(s: &State, key: usize, owner: Owner, start: u64, end: u64, write: bool) -> Option<RangeLock> {
    s.inodes
        .get(&key)?
        .ranges
        .iter()
        .find(|l| l.owner != owner && l.overlaps(start, end) && (write || l.write))
        .copied()
}

/// Whether `owner` waiting for `holder` would close a cycle of POSIX
/// owners waiting for each other.
fn deadlock(s: &State, owner: Owner, holder: Owner) -> bool {
    let mut cur = holder;
    for _ in 0..64 {
        if cur == owner {
            return true;
        }
        match s.waits_for.get(&cur) {
            Some(&next) => cur = next,
            None => return false,
        }
    }
    false
}

/// `holder` released locks: whoever waited for it is woken and waits for
/// no one until it looks again, as Linux's unlock takes its waiters off
/// the lock at once (so a stale wait cannot make a new one look like a
/// deadlock).
fn woken(s: &mut State, holder: Owner) {
    s.waits_for.retain(|_, h| *h != holder);
}

/// Set (or remove) a record lock of `owner` on `[start, end)`, waiting for
/// conflicting locks to go if `wait` (F_SETLKW): EAGAIN if it may not
/// wait, EDEADLK if waiting would deadlock, ERESTARTSYS on a signal.
pub fn set(t: &Task, key: usize, owner: Owner, pid: i32, start: u64, end: u64, kind: Kind, wait: bool) -> KResult<()> {
    let attempt = || {
        with(|s| {
            if kind != Kind::Unlock {
                if let Some(c) = conflict(s, key, owner, start, end, kind == Kind::Write) {
                    if !wait {
                        return Some(Err(Errno::EAGAIN));
                    }
                    if matches!(owner, Owner::Process(_)) && deadlock(s, owner, c.owner) {
                        s.waits_for.remove(&owner);
                        return Some(Err(Errno::EDEADLK));
                    }
                    s.waits_for.insert(owner, c.owner);
                    return None;
                }
            }
            s.waits_for.remove(&owner);
            apply(s, key, owner, pid, start, end, kind);
            if kind == Kind::Unlock {
                woken(s, owner);
            }
            Some(Ok(()))
        })
    };
    let r = t.block_on(queue(), false, None, attempt);
    if r.is_err() {
        with(|s| s.waits_for.remove(&owner));
    }
    queue().notify_all();
    r?
}

/// Replace `owner`'s locks on `[start, end)` by one of `kind`, splitting
/// the ones that stick out and merging neighbours of the same kind.
fn apply(s: &mut State, key: usize, owner: Owner, pid: i32, start: u64, end: u64, kind: Kind) {
    let il = s.inodes.entry(key).or_default();
    let mut kept = Vec::with_capacity(il.ranges.len() + 2);
    for l in il.ranges.drain(..) {
        if l.owner != owner || !l.overlaps(start, end) {
            kept.push(l);
            continue;
        }
        if l.start < start {
            kept.push(RangeLock { end: start, ..l });
        }
        if l.end > end {
            kept.push(RangeLock { start: end, ..l });
        }
    }
    if kind != Kind::Unlock {
        let write = kind == Kind::Write;
        let (mut ns, mut ne) = (start, end);
        // Merge with this owner's adjacent locks of the same kind.
        kept.retain(|l| {
            if l.owner == owner && l.write == write && (l.end == ns || l.start == ne) {
                ns = ns.min(l.start);
                ne = ne.max(l.end);
                false
            } else {
                true
            }
        });
        kept.push(RangeLock { owner, start: ns, end: ne, write, pid });
    }
    kept.sort_by_key(|l| l.start);
    il.ranges = kept;
    if il.ranges.is_empty() && il.flocks.is_empty() {
        s.inodes.remove(&key);
    }
}

/// flock(2) on description `ofd`: `exclusive` or shared, or unlock
/// (`None`). Like Linux, a conversion drops the old lock first.
pub fn flock(t: &Task, key: usize, ofd: usize, lock: Option<bool>, nonblock: bool) -> KResult<()> {
    with(|s| {
        if let Some(il) = s.inodes.get_mut(&key) {
            il.flocks.retain(|&(o, _)| o != ofd);
        }
    });
    queue().notify_all();
    let Some(exclusive) = lock else { return Ok(()) };
    let attempt = || {
        with(|s| {
            let il = s.inodes.entry(key).or_default();
            if il.flocks.iter().any(|&(o, ex)| o != ofd && (ex || exclusive)) {
                return None;
            }
            il.flocks.push((ofd, exclusive));
            Some(())
        })
    };
    t.block_on(queue(), nonblock, None, attempt)
}

/// The process closed an fd of the inode `key`: its POSIX locks there go.
pub fn closed(key: usize, tgid: i32) {
    if LOCKED_INODES.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        return;
    }
    let changed = with(|s| {
        let Some(il) = s.inodes.get_mut(&key) else { return false };
        let before = il.ranges.len();
        il.ranges.retain(|l| l.owner != Owner::Process(tgid));
        let changed = il.ranges.len() != before;
        if il.ranges.is_empty() && il.flocks.is_empty() {
            s.inodes.remove(&key);
        }
        if changed {
            woken(s, Owner::Process(tgid));
        }
        changed
    });
    if changed {
        queue().notify_all();
    }
}

/// The process exited: every POSIX lock it held goes.
pub fn process_exited(tgid: i32) {
    if LOCKED_INODES.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        return;
    }
    with(|s| {
        s.waits_for.remove(&Owner::Process(tgid));
        woken(s, Owner::Process(tgid));
        for il in s.inodes.values_mut() {
            il.ranges.retain(|l| l.owner != Owner::Process(tgid));
        }
        s.inodes.retain(|_, il| !il.ranges.is_empty() || !il.flocks.is_empty());
    });
    queue().notify_all();
}

/// The last reference to an open file description went: its OFD and
/// flock locks go.
pub fn description_closed(key: usize, ofd: usize) {
    with(|s| {
        if let Some(il) = s.inodes.get_mut(&key) {
            il.ranges.retain(|l| l.owner != Owner::Ofd(ofd));
            il.flocks.retain(|&(o, _)| o != ofd);
            if il.ranges.is_empty() && il.flocks.is_empty() {
                s.inodes.remove(&key);
            }
        }
    });
    queue().notify_all();
}
