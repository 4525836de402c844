//! Renames done in the sandbox, kept so that a location taken before one
//! shows the path it has now: a working directory whose directory (or an
//! ancestor) was renamed (getcwd, /proc/PID/cwd), an open file renamed
//! (/proc/PID/fd), a directory fd that later walks start from. A location
//! is the chain of names and inodes its walk went through; a rename does
//! not reach the copies tasks and files hold, so each remembers the rename
//! count it is current to, and [`Location::current`] replays the renames
//! since. The last [`KEPT`] renames are kept: a location older than that
//! gets those (a rename it missed before them leaves its old name).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::path::Location;
use super::Inode;

/// How many renames are kept.
const KEPT: usize = 256;

/// One rename: `what` left `from_dir`, where it was `from_name`, for `to`
/// (where its new parent was then), named `to_name`. The two are held
/// weakly (a file renamed, then deleted, is let go at once), which keeps
/// their identities from being reused while the rename is kept.
struct Move {
    /// The rename count after this one.
    gen: u64,
    from_dir: Weak<dyn Inode>,
    from_name: Vec<u8>,
    what: Weak<dyn Inode>,
    to: Location,
    to_name: Vec<u8>,
}

/// Whether `weak` is `inode`.
fn is(weak: &Weak<dyn Inode>, inode: &Arc<dyn Inode>) -> bool {
    std::ptr::addr_eq(weak.as_ptr(), Arc::as_ptr(inode))
}

/// Renames done so far.
static DONE: AtomicU64 = AtomicU64::new(0);
static LOG: Mutex<VecDeque<Move>> = Mutex::new(VecDeque::new());

/// The rename count: a location made now is current to it.
pub(crate) fn done() -> u64 {
    DONE.load(Ordering::Acquire)
}

/// `what` was renamed from `from_name` in `from_dir` to `to_name` in `to`.
pub(crate) fn record(from_dir: &Location, from_name: &[u8], what: &Arc<dyn Inode>, to: &Location, to_name: &[u8]) {
    let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    let gen = DONE.load(Ordering::Relaxed) + 1;
    let (from_dir, what) = (Arc::downgrade(from_dir.inode()), Arc::downgrade(what));
    log.push_back(Move { gen, from_dir, from_name: from_name.to_vec(), what, to: to.clone(), to_name: to_name.to_vec() });
    if log.len() > KEPT {
        log.pop_front();
    }
    DONE.store(gen, Ordering::Release);
}

impl Location {
    /// This location with the renames done since it was taken: a new
    /// prefix for each that moved one of the directories (or the file) it
    /// goes through.
    pub fn current(&self) -> Location {
        let mut l = self.clone();
        if self.gen == done() {
            return l;
        }
        let log = LOG.lock().unwrap_or_else(|e| e.into_inner());
        let now = DONE.load(Ordering::Relaxed);
        for m in log.iter().filter(|m| m.gen > self.gen) {
            let at = (0..l.names.len()).rev().find(|&i| is(&m.what, &l.inodes[i + 1]) && is(&m.from_dir, &l.inodes[i]) && l.names[i] == m.from_name);
            if let Some(i) = at {
                let mut names = m.to.names.clone();
                names.push(m.to_name.clone());
                names.extend_from_slice(&l.names[i + 1..]);
                let mut inodes = m.to.inodes.clone();
                inodes.extend_from_slice(&l.inodes[i + 1..]);
                (l.names, l.inodes) = (names, inodes);
            }
        }
        l.gen = now;
        l
    }
}
