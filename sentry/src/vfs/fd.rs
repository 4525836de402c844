//! File descriptor tables.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::File;
use crate::errno::{Errno, KResult};

#[derive(Clone)]
struct Slot {
    file: Arc<File>,
    cloexec: bool,
}

/// An fd table (shared by CLONE_FILES).
#[derive(Default)]
pub struct FdTable {
    fds: Mutex<Table>,
}

/// The open fds, and a bitmap of them for finding the lowest free one (as
/// Linux's open_fds and next_fd): with thousands of fds open, a walk of
/// the map took tens of microseconds per open.
#[derive(Default, Clone)]
struct Table {
    slots: BTreeMap<i32, Slot>,
    /// Bit `fd % 64` of word `fd / 64`: fd is open.
    used: Vec<u64>,
    /// Every fd below this one is open.
    next: i32,
}

impl Table {
    fn get(&self, fd: &i32) -> Option<&Slot> {
        self.slots.get(fd)
    }

    fn get_mut(&mut self, fd: &i32) -> Option<&mut Slot> {
        self.slots.get_mut(fd)
    }

    fn insert(&mut self, fd: i32, slot: Slot) -> Option<Slot> {
        let (w, b) = (fd as usize / 64, fd as usize % 64);
        if self.used.len() <= w {
            self.used.resize(w + 1, 0);
        }
        self.used[w] |= 1 << b;
        self.slots.insert(fd, slot)
    }

    fn remove(&mut self, fd: &i32) -> Option<Slot> {
        let slot = self.slots.remove(fd)?;
        let (w, b) = (*fd as usize / 64, *fd as usize % 64);
        if let Some(word) = self.used.get_mut(w) {
            *word &= !(1 << b);
        }
        self.next = self.next.min(*fd);
        Some(slot)
    }

    /// The lowest fd >= `from` that is not open.
    fn first_free(&self, from: i32) -> i32 {
        let mut i = from.max(0) as usize;
        loop {
            let w = i / 64;
            let Some(&word) = self.used.get(w) else { return i as i32 };
            let bits = word | ((1u64 << (i % 64)) - 1);
            if bits != u64::MAX {
                return (w * 64 + bits.trailing_ones() as usize) as i32;
            }
            i = (w + 1) * 64;
        }
    }
}

impl FdTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.fds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The file at `fd`.
    pub fn get(&self, fd: i32) -> KResult<Arc<File>> {
        self.lock().get(&fd).map(|s| s.file.clone()).ok_or(Errno::EBADF)
    }

    /// Close-on-exec flag of `fd`.
    pub fn cloexec(&self, fd: i32) -> KResult<bool> {
        self.lock().get(&fd).map(|s| s.cloexec).ok_or(Errno::EBADF)
    }

    /// Set the close-on-exec flag.
    pub fn set_cloexec(&self, fd: i32, v: bool) -> KResult<()> {
        self.lock().get_mut(&fd).map(|s| s.cloexec = v).ok_or(Errno::EBADF)
    }

    /// Install at the lowest free fd >= `min`, below `limit`.
    pub fn install_from(&self, file: Arc<File>, cloexec: bool, min: i32, limit: u64) -> KResult<i32> {
        let mut t = self.lock();
        // Below `next` every fd is open: start there when min allows.
        let lowest = min <= t.next;
        let fd = t.first_free(if lowest { t.next } else { min });
        if fd as u64 >= limit {
            return Err(Errno::EMFILE);
        }
        t.insert(fd, Slot { file, cloexec });
        if lowest {
            t.next = fd + 1;
        }
        Ok(fd)
    }

    /// Install at exactly `fd`, replacing what was there (dup2).
    pub fn install_at(&self, fd: i32, file: Arc<File>, cloexec: bool) -> Option<Arc<File>> {
        self.lock().insert(fd, Slot { file, cloexec }).map(|s| s.file)
    }

    /// Remove `fd`.
    pub fn remove(&self, fd: i32) -> KResult<Arc<File>> {
        self.lock().remove(&fd).map(|s| s.file).ok_or(Errno::EBADF)
    }

    /// A copy (fork without CLONE_FILES).
    pub fn fork(&self) -> FdTable {
        FdTable { fds: Mutex::new(self.lock().clone()) }
    }

    /// Close every close-on-exec fd (execve); returns the files closed.
    pub fn close_on_exec(&self) -> Vec<Arc<File>> {
        let mut t = self.lock();
        let keys: Vec<i32> = t.slots.iter().filter(|(_, s)| s.cloexec).map(|(k, _)| *k).collect();
        keys.into_iter().filter_map(|k| t.remove(&k)).map(|s| s.file).collect()
    }

    /// Every open fd, for /proc/[pid]/fd.
    pub fn list(&self) -> Vec<(i32, Arc<File>)> {
        self.lock().slots.iter().map(|(k, s)| (*k, s.file.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::anon::AnonInode;
    use crate::fs::inotify::Inotify;
    use crate::vfs::oflags;

    fn file() -> Arc<File> {
        File::new(Inotify::new(), AnonInode::new(), b"anon_inode:inotify".to_vec(), oflags::O_RDONLY)
    }

    /// The lowest free fd, as Linux picks it, past one bitmap word and
    /// after closes below, above and between; F_DUPFD's minimum; dup2 far
    /// out; EMFILE at the limit.
    #[test]
    fn fds_are_the_lowest_free() {
        let t = FdTable::default();
        for want in 0..150 {
            assert_eq!(t.install_from(file(), false, 0, 1024), Ok(want));
        }
        t.remove(70).unwrap();
        t.remove(3).unwrap();
        t.remove(149).unwrap();
        assert_eq!(t.install_from(file(), false, 0, 1024), Ok(3));
        assert_eq!(t.install_from(file(), false, 0, 1024), Ok(70));
        assert_eq!(t.install_from(file(), false, 0, 1024), Ok(149));
        assert_eq!(t.install_from(file(), false, 0, 1024), Ok(150));
        // F_DUPFD from 64: the first free at or past it.
        t.remove(100).unwrap();
        assert_eq!(t.install_from(file(), false, 64, 1024), Ok(100));
        assert_eq!(t.install_from(file(), false, 500, 1024), Ok(500));
        // dup2 far out leaves the lowest free as it was.
        assert!(t.install_at(900, file(), false).is_none());
        assert_eq!(t.install_from(file(), false, 0, 1024), Ok(151));
        t.remove(0).unwrap();
        assert_eq!(t.install_from(file(), true, 0, 1024), Ok(0));
        // Close-on-exec frees 0 again.
        assert_eq!(t.close_on_exec().len(), 1);
        assert_eq!(t.install_from(file(), false, 0, 1024), Ok(0));
        // Full below the limit: EMFILE, and nothing installed.
        assert_eq!(t.install_from(file(), false, 0, 152), Err(Errno::EMFILE));
        assert_eq!(t.install_from(file(), false, 0, 153), Ok(152));
        // A fork keeps the table and where the lowest free is.
        let f = t.fork();
        assert_eq!(f.install_from(file(), false, 0, 1024), Ok(153));
        assert_eq!(t.list().len(), f.list().len() - 1);
    }
}
