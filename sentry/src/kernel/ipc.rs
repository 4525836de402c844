//! System V shared memory segments.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};


use crate::mm::SharedAnon;

/// One segment.
pub struct Segment {
    /// Key (IPC_PRIVATE is 0).
    pub key: i32,
    /// Size in bytes.
    pub size: u64,
    /// Its memory.
    pub mem: Arc<SharedAnon>,
    /// Permission bits.
    pub mode: u32,
    /// Owner and creator.
    pub uid: u32,
    #[allow(missing_docs)]
    pub gid: u32,
    /// Creator and last attach/detach pids.
    pub cpid: i32,
    #[allow(missing_docs)]
    pub lpid: i32,
    /// Attachments.
    pub nattch: u64,
    /// IPC_RMID was asked: destroyed with the last detach.
    pub removed: bool,
    /// Last attach, detach, change (seconds).
    pub atime: i64,
    #[allow(missing_docs)]
    pub dtime: i64,
    #[allow(missing_docs)]
    pub ctime: i64,
}

/// The sandbox's segments.
#[derive(Default)]
pub struct ShmTable {
    /// Segments by id.
    pub segs: HashMap<i32, Segment>,
    /// Ids by key (removed segments are no longer found by key).
    pub by_key: HashMap<i32, i32>,
    /// Next id.
    pub next_id: i32,
}

/// The table behind one lock.
#[derive(Default)]
pub struct Shm(pub Mutex<ShmTable>);

impl Shm {
    /// Lock the table.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, ShmTable> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One System V semaphore.
#[derive(Clone, Copy, Default)]
pub struct Sem {
    /// Value.
    pub val: i32,
    /// Last pid to operate on it.
    pub pid: i32,
    /// Tasks waiting for it to grow (GETNCNT) or reach zero (GETZCNT).
    pub ncnt: u32,
    #[allow(missing_docs)]
    pub zcnt: u32,
}

/// A semaphore set.
pub struct SemSet {
    /// Key (IPC_PRIVATE is 0).
    pub key: i32,
    /// The semaphores.
    pub sems: Vec<Sem>,
    /// Permission bits, owner.
    pub mode: u32,
    #[allow(missing_docs)]
    pub uid: u32,
    #[allow(missing_docs)]
    pub gid: u32,
    /// Last semop and change times.
    pub otime: i64,
    #[allow(missing_docs)]
    pub ctime: i64,
    /// Set by IPC_RMID: waiters get EIDRM.
    pub removed: bool,
    /// Notified on every change.
    pub wq: Arc<crate::kernel::wait::WaitQueue>,
}

/// The semaphore sets of the sandbox.
#[derive(Default)]
pub struct SemTable {
    /// Sets by id.
    pub sets: HashMap<i32, SemSet>,
    /// Ids by key.
    pub by_key: HashMap<i32, i32>,
    /// Next id.
    pub next_id: i32,
}

/// The table behind one lock.
#[derive(Default)]
pub struct Sems(pub Mutex<SemTable>);

impl Sems {
    /// Lock the table.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, SemTable> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
