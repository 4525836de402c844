//! System V IPC objects: shared memory segments, semaphore sets and
//! message queues.

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

/// One message of a System V queue.
pub struct Message {
    /// mtype (positive).
    pub mtype: i64,
    /// Text.
    pub text: Vec<u8>,
}

/// The permission block every System V object carries.
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct IpcPerm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub mode: u32,
    pub seq: u16,
}

impl IpcPerm {
    /// struct ipc64_perm (48 bytes).
    pub fn to_bytes(&self, mode_extra: u32) -> [u8; 48] {
        let mut b = [0u8; 48];
        b[0..4].copy_from_slice(&self.key.to_ne_bytes());
        b[4..8].copy_from_slice(&self.uid.to_ne_bytes());
        b[8..12].copy_from_slice(&self.gid.to_ne_bytes());
        b[12..16].copy_from_slice(&self.cuid.to_ne_bytes());
        b[16..20].copy_from_slice(&self.cgid.to_ne_bytes());
        b[20..24].copy_from_slice(&(self.mode | mode_extra).to_ne_bytes());
        b[24..26].copy_from_slice(&self.seq.to_ne_bytes());
        b
    }
}

/// A System V message queue.
pub struct MsgQueue {
    /// Permissions.
    pub perm: IpcPerm,
    /// Messages in order of arrival.
    pub msgs: std::collections::VecDeque<Message>,
    /// Bytes of text queued (msg_cbytes).
    pub cbytes: u64,
    /// Capacity in bytes (msg_qbytes).
    pub qbytes: u64,
    /// Last msgsnd and msgrcv pids.
    pub lspid: i32,
    #[allow(missing_docs)]
    pub lrpid: i32,
    /// Last msgsnd, msgrcv and change times.
    pub stime: i64,
    #[allow(missing_docs)]
    pub rtime: i64,
    #[allow(missing_docs)]
    pub ctime: i64,
    /// Notified on every change (senders and receivers wait here).
    pub wq: Arc<crate::kernel::wait::WaitQueue>,
}

/// The message queues of the sandbox, by index (an id is seq << 15 |
/// index, as in Linux).
#[derive(Default)]
pub struct MsgTable {
    /// Queues by index.
    pub queues: std::collections::BTreeMap<i32, MsgQueue>,
    /// Index by key.
    pub by_key: HashMap<i32, i32>,
    /// Sequence number for the next queue.
    pub seq: u16,
}

impl MsgTable {
    /// The queue with id `id` (EINVAL when there is none or it was reused).
    pub fn get_mut(&mut self, id: i32) -> Option<&mut MsgQueue> {
        if id < 0 {
            return None;
        }
        self.queues.get_mut(&(id & 0x7fff)).filter(|q| i32::from(q.perm.seq) == id >> 15)
    }
}

/// The table behind one lock.
#[derive(Default)]
pub struct Msgs(pub Mutex<MsgTable>);

impl Msgs {
    /// Lock the table.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, MsgTable> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
