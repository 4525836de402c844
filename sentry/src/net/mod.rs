//! Networking: AF_UNIX sockets (`unix`) and internet sockets on the
//! sandbox's own loopback network (`inet`), their shared receive queue
//! (`queue`), and the one interface, lo (`iface`).

pub mod host;
pub mod iface;
pub mod inet;
pub mod queue;
pub mod unix;

use std::any::Any;
use std::sync::Arc;

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::mm::io::IoVec;
use crate::vfs::{self, mode, Attr, File, FileOps, Inode};

/// send/recv flags.
pub mod msg {
    #![allow(missing_docs)]
    pub const MSG_OOB: u64 = 1;
    pub const MSG_PEEK: u64 = 2;
    pub const MSG_CTRUNC: u64 = 8;
    pub const MSG_TRUNC: u64 = 0x20;
    pub const MSG_DONTWAIT: u64 = 0x40;
    pub const MSG_WAITALL: u64 = 0x100;
    pub const MSG_ERRQUEUE: u64 = 0x2000;
    pub const MSG_NOSIGNAL: u64 = 0x4000;
    pub const MSG_WAITFORONE: u64 = 0x10000;
    pub const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;
}

/// A socket option's value, as getsockopt(2) copies it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptVal {
    /// An int: at most its 4 bytes go out.
    Int(i32),
    /// An int of IPPROTO_IP: a caller asking for less than an int gets
    /// one byte when the value fits (Linux's do_ip_getsockopt).
    IpInt(i32),
    /// A structure or string: as much as the caller asked for.
    Bytes(Vec<u8>),
}

impl OptVal {
    /// The bytes to copy out for a caller that offered `len`.
    pub fn encode(&self, len: usize) -> Vec<u8> {
        match self {
            OptVal::Int(v) => v.to_ne_bytes()[..len.min(4)].to_vec(),
            OptVal::IpInt(v) if len > 0 && len < 4 && (0..=255).contains(v) => vec![*v as u8],
            OptVal::IpInt(v) => v.to_ne_bytes()[..len.min(4)].to_vec(),
            OptVal::Bytes(b) => b[..len.min(b.len())].to_vec(),
        }
    }
}

/// The inode every socket shows (sockfs): fstat says S_IFSOCK.
pub struct SockInode {
    ino: u64,
    uid: u32,
    gid: u32,
}

impl Inode for SockInode {
    fn stat(&self) -> KResult<Attr> {
        let t = crate::kernel::boot_time();
        Ok(Attr { ino: self.ino, dev: 0x8, mode: mode::S_IFSOCK | 0o777, nlink: 1, uid: self.uid, gid: self.gid, blksize: 4096, atime: t, mtime: t, ctime: t, ..Attr::default() })
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Err(Errno::ENXIO)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A file description for a new socket of `task` ("socket:[INO]").
pub fn socket_file(task: &Task, ops: Arc<dyn FileOps>, flags: u32) -> Arc<File> {
    let c = task.creds();
    let ino = vfs::next_ino();
    let inode = Arc::new(SockInode { ino, uid: c.euid, gid: c.egid });
    File::new(ops, inode, format!("socket:[{ino}]").into_bytes(), flags)
}

/// A receive into several buffers as one read (readv): `recv` takes at
/// most the buffers' total; the bytes are then spread over them.
pub fn recv_into_iovecs(task: &Task, iovs: &[IoVec], recv: impl FnOnce(usize) -> KResult<Vec<u8>>) -> KResult<usize> {
    let total = check_iovecs(task, iovs)?;
    let data = recv(total.min(1 << 20))?;
    scatter(task, iovs, &data)?;
    Ok(data.len())
}

/// The room of `iovs`, checked first so that a bad buffer consumes
/// nothing.
pub fn check_iovecs(task: &Task, iovs: &[IoVec]) -> KResult<usize> {
    let mut total = 0usize;
    for v in iovs {
        task.mm().check_access(v.base, v.len as usize, true)?;
        total = total.saturating_add(v.len as usize);
    }
    Ok(total)
}

/// Copy `data` out over `iovs` in order.
pub fn scatter(task: &Task, iovs: &[IoVec], data: &[u8]) -> KResult<()> {
    let mut at = 0;
    for v in iovs {
        if at >= data.len() {
            break;
        }
        let n = (v.len as usize).min(data.len() - at);
        task.mm().copy_out(v.base, &data[at..at + n])?;
        at += n;
    }
    Ok(())
}
