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
    fds: Mutex<BTreeMap<i32, Slot>>,
}

impl FdTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Slot>> {
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
        let mut fd = min;
        for (&k, _) in t.range(min..) {
            if k != fd {
                break;
            }
            fd += 1;
        }
        if fd as u64 >= limit {
            return Err(Errno::EMFILE);
        }
        t.insert(fd, Slot { file, cloexec });
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
        let keys: Vec<i32> = t.iter().filter(|(_, s)| s.cloexec).map(|(k, _)| *k).collect();
        keys.into_iter().filter_map(|k| t.remove(&k)).map(|s| s.file).collect()
    }

    /// Every open fd, for /proc/[pid]/fd.
    pub fn list(&self) -> Vec<(i32, Arc<File>)> {
        self.lock().iter().map(|(k, s)| (*k, s.file.clone())).collect()
    }
}
