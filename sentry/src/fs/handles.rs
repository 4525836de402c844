//! Host handles that filesystems of host files keep between uses (a
//! directory's host fd, a gofer fid, an open file's host fd), bounded: a
//! file holding one for good made a sandbox that walked more files than
//! the sentry's (or a gofer's) RLIMIT_NOFILE fail every later walk with
//! EMFILE. Past the bound the oldest let theirs go, and take them again
//! (walked again from their parent, checked to be the same file) when
//! needed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};

use gofer::{Client, Fid};

/// How many handles each filesystem keeps; `runsc` sets it from its
/// RLIMIT_NOFILE.
static KEEP_FDS: AtomicUsize = AtomicUsize::new(1024);

/// Keep at most `n` host handles open between uses, in each filesystem
/// (at least 16).
pub fn set_kept_fds(n: usize) {
    KEEP_FDS.store(n.max(16), Relaxed);
}

/// The bound [`set_kept_fds`] set.
pub(crate) fn kept_fds() -> usize {
    KEEP_FDS.load(Relaxed)
}

/// A file whose handle can be let go and taken again when needed.
pub(crate) trait Handle {
    type H;
    /// Give the handle up, unless the file cannot take it again (the
    /// root, a file no longer reachable by its name).
    fn let_go(self: &Arc<Self>) -> Option<Self::H>;
    /// The file is in use (an open file, a mapping or a walk holds it):
    /// it keeps its handle for another round.
    fn busy(self: &Arc<Self>) -> bool {
        false
    }
}

/// The files of one filesystem holding a handle, oldest first.
pub(crate) struct Recent<T> {
    open: Mutex<VecDeque<Weak<T>>>,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Recent { open: Mutex::default() }
    }
}

/// How many busy files one [`Recent::took`] passes over before it gives up
/// (the bound is then exceeded by the files in use, until they are not).
const BUSY_TRIES: usize = 8;

impl<T: Handle> Recent<T> {
    /// `x` took its handle: the oldest others past the bound let theirs
    /// go (dropped outside the lock: a gofer fid's release is a round
    /// trip, and so may be a file's last reference).
    pub(crate) fn took(&self, x: &Arc<T>) {
        let mut gone = Vec::new();
        {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            open.push_back(Arc::downgrade(x));
            let (max, mut busy) = (kept_fds(), 0);
            while open.len() > max && busy < BUSY_TRIES {
                let Some(old) = open.pop_front() else { break };
                let Some(o) = old.upgrade() else { continue };
                if o.busy() {
                    open.push_back(old);
                    busy += 1;
                } else {
                    gone.push((o.let_go(), o));
                }
            }
        }
        drop(gone);
    }
}

/// A fid of a gofer, released when the last holder lets it go.
pub(crate) struct FidHandle {
    pub(crate) fid: Fid,
    pub(crate) client: Arc<Client>,
}

impl Drop for FidHandle {
    fn drop(&mut self) {
        let _ = self.client.close(self.fid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    struct F {
        held: Mutex<bool>,
        busy: AtomicBool,
    }

    impl Handle for F {
        type H = ();
        fn let_go(self: &Arc<Self>) -> Option<()> {
            std::mem::take(&mut *self.held.lock().unwrap()).then_some(())
        }
        fn busy(self: &Arc<Self>) -> bool {
            self.busy.load(Relaxed)
        }
    }

    #[test]
    fn the_oldest_idle_files_let_go_first() {
        set_kept_fds(16);
        let r = Recent::default();
        let fs: Vec<Arc<F>> = (0..20).map(|i| Arc::new(F { held: Mutex::new(true), busy: AtomicBool::new(i == 1) })).collect();
        for f in &fs {
            r.took(f);
        }
        let held: Vec<bool> = fs.iter().map(|f| *f.held.lock().unwrap()).collect();
        // 0, 2, 3 and 4 let go; 1, in use, kept its handle.
        assert_eq!(held.iter().filter(|h| !**h).count(), 4, "{held:?}");
        assert!(held[1] && !held[0] && !held[4] && held[5], "{held:?}");
        // No longer in use, it lets go when its turn comes again.
        fs[1].busy.store(false, Relaxed);
        let more: Vec<Arc<F>> = (0..20).map(|_| Arc::new(F { held: Mutex::new(true), busy: AtomicBool::new(false) })).collect();
        for f in &more {
            r.took(f);
        }
        assert!(!*fs[1].held.lock().unwrap());
        assert_eq!(r.open.lock().unwrap().len(), 16);
    }
}
