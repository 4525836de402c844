//! Host-call glue: the only module of the crate allowed to use `unsafe`.
//!
//! Each function is a safe wrapper: it takes borrowed fds and C strings,
//! and returns owned fds only for descriptors the kernel has just created
//! for this process.

#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::sys::stat::Mode;

use crate::protocol::StatFs;

/// `openat(2)` returning an owned fd.
pub fn openat(dir: BorrowedFd<'_>, name: &CStr, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
    let raw = nix::fcntl::openat(Some(dir.as_raw_fd()), name, flags, mode)?;
    // openat just succeeded: `raw` is a new descriptor no other object knows.
    // SAFETY: so the OwnedFd becomes its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `open(2)` of a host path, returning an owned fd.
pub fn open(path: &std::path::Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let raw = nix::fcntl::open(path, flags, Mode::empty())?;
    // open just succeeded: `raw` is a new descriptor no other object knows.
    // SAFETY: so the OwnedFd becomes its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `fstatfs(2)` (valid on O_PATH fds since Linux 3.12).
pub fn fstatfs(fd: BorrowedFd<'_>) -> nix::Result<StatFs> {
    let mut st = std::mem::MaybeUninit::<libc::statfs64>::uninit();
    // The fd is kept open by the borrow for the duration of the call.
    // SAFETY: `st` points to writable memory of the size fstatfs64 fills.
    let rc = unsafe { libc::fstatfs64(fd.as_raw_fd(), st.as_mut_ptr()) };
    Errno::result(rc)?;
    // SAFETY: fstatfs64 returned 0, so it filled the whole struct.
    let st = unsafe { st.assume_init() };
    fn u<T: TryInto<u64>>(v: T) -> u64 {
        v.try_into().unwrap_or(0)
    }
    Ok(StatFs {
        fs_type: u(st.f_type),
        bsize: u(st.f_bsize),
        blocks: u(st.f_blocks),
        bfree: u(st.f_bfree),
        bavail: u(st.f_bavail),
        files: u(st.f_files),
        ffree: u(st.f_ffree),
        namelen: u(st.f_namelen),
        frsize: u(st.f_frsize),
        flags: u(st.f_flags),
    })
}

/// `getdents64(2)` into `buf`; returns the bytes filled (0 at the end).
pub fn getdents64(fd: BorrowedFd<'_>, buf: &mut [u8]) -> nix::Result<usize> {
    // The fd is kept open by the borrow for the duration of the call.
    // SAFETY: `buf` is writable for the length passed, which bounds the write.
    let rc = unsafe { libc::syscall(libc::SYS_getdents64, fd.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    Errno::result(rc).map(|n| n as usize)
}

/// The records of a getdents64 buffer: (inode, d_type, name). A record
/// that does not fit ends the walk (the kernel never writes one).
pub fn dirents(buf: &[u8]) -> impl Iterator<Item = (u64, u8, &[u8])> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16,
        // d_type u8, then the NUL-terminated name.
        let rec = buf.get(off..)?;
        let reclen = u16::from_ne_bytes(rec.get(16..18)?.try_into().ok()?) as usize;
        if reclen < 20 || reclen > rec.len() {
            return None;
        }
        let ino = u64::from_ne_bytes(rec[..8].try_into().ok()?);
        let name = &rec[19..reclen];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        off += reclen;
        Some((ino, rec[18], name))
    })
}

/// `getxattr(2)` into `buf`; returns the value length.
pub fn getxattr(path: &CStr, name: &CStr, buf: &mut [u8]) -> nix::Result<usize> {
    // Both strings are NUL-terminated.
    // SAFETY: `buf` is writable for the length passed, which bounds the write.
    let rc = unsafe {
        libc::getxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
    };
    Errno::result(rc).map(|n| n as usize)
}

/// `setxattr(2)`.
pub fn setxattr(path: &CStr, name: &CStr, value: &[u8], flags: i32) -> nix::Result<()> {
    // Both strings are NUL-terminated.
    // SAFETY: `value` is readable for exactly the length passed.
    let rc = unsafe {
        libc::setxattr(path.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), flags)
    };
    Errno::result(rc).map(drop)
}

/// `listxattr(2)` into `buf`; returns the list length.
pub fn listxattr(path: &CStr, buf: &mut [u8]) -> nix::Result<usize> {
    // The path is NUL-terminated.
    // SAFETY: `buf` is writable for exactly the length passed.
    let rc = unsafe { libc::listxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    Errno::result(rc).map(|n| n as usize)
}

/// `fgetxattr(2)` into `buf`; returns the value length.
pub fn fgetxattr(fd: BorrowedFd<'_>, name: &CStr, buf: &mut [u8]) -> nix::Result<usize> {
    // The name is NUL-terminated; the borrow keeps the fd open for the call.
    // SAFETY: `buf` is writable for exactly the length passed.
    let rc = unsafe { libc::fgetxattr(fd.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    Errno::result(rc).map(|n| n as usize)
}

/// `flistxattr(2)` into `buf`; returns the list length.
pub fn flistxattr(fd: BorrowedFd<'_>, buf: &mut [u8]) -> nix::Result<usize> {
    // The borrow keeps the fd open for the call.
    // SAFETY: `buf` is writable for exactly the length passed.
    let rc = unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    Errno::result(rc).map(|n| n as usize)
}

/// `removexattr(2)`.
pub fn removexattr(path: &CStr, name: &CStr) -> nix::Result<()> {
    // SAFETY: both strings are NUL-terminated and outlive the call.
    let rc = unsafe { libc::removexattr(path.as_ptr(), name.as_ptr()) };
    Errno::result(rc).map(drop)
}

/// Sends one datagram, with `fd` as SCM_RIGHTS if given. Retries on EINTR;
/// never raises SIGPIPE.
pub fn send(sock: BorrowedFd<'_>, bytes: &[u8], fd: Option<BorrowedFd<'_>>) -> nix::Result<()> {
    let iov = [IoSlice::new(bytes)];
    let fds: Vec<RawFd> = fd.iter().map(|f| f.as_raw_fd()).collect();
    let cmsgs: Vec<ControlMessage<'_>> = if fds.is_empty() {
        Vec::new()
    } else {
        vec![ControlMessage::ScmRights(&fds)]
    };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(()),
        }
    }
}

/// One received datagram.
pub struct Received {
    /// Bytes stored in the buffer.
    pub len: usize,
    /// The datagram was longer than the buffer.
    pub truncated: bool,
    /// Descriptors that came with it (close-on-exec).
    pub fds: Vec<OwnedFd>,
}

/// Receives one datagram into `buf`, accepting up to `max_fds` donated
/// descriptors (any beyond that are discarded by the kernel). Retries on
/// EINTR.
pub fn recv(sock: BorrowedFd<'_>, buf: &mut [u8], max_fds: usize) -> nix::Result<Received> {
    recv_flags(sock, buf, max_fds, MsgFlags::empty())
}

/// As [`recv`], but first polls without blocking for up to `spin`
/// (yielding the CPU between polls): the other side of a request is
/// usually that quick, and waking a sleeping thread on another CPU costs
/// far more on a VM than a short poll. Not while the yields show the CPUs
/// oversubscribed ([`crate::polling`]).
pub fn recv_polling(sock: BorrowedFd<'_>, buf: &mut [u8], max_fds: usize, spin: std::time::Duration) -> nix::Result<Received> {
    use crate::polling;
    let start = std::time::Instant::now();
    if spin.is_zero() || polling::paused(polling::now()) {
        return recv(sock, buf, max_fds);
    }
    loop {
        match recv_flags(sock, buf, max_fds, MsgFlags::MSG_DONTWAIT) {
            Err(Errno::EAGAIN) if start.elapsed() < spin => {
                let t = polling::now();
                std::thread::yield_now();
                let end = polling::now();
                polling::yielded(std::time::Duration::from_nanos(end - t), end);
                if polling::paused(end) {
                    return recv(sock, buf, max_fds);
                }
            }
            Err(Errno::EAGAIN) => return recv(sock, buf, max_fds),
            r => return r,
        }
    }
}

fn recv_flags(sock: BorrowedFd<'_>, buf: &mut [u8], max_fds: usize, flags: MsgFlags) -> nix::Result<Received> {
    // Room for up to four descriptors; callers ask for at most one.
    let mut cmsg_buf = nix::cmsg_space!([RawFd; 4]);
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        let cmsg = if max_fds > 0 { Some(&mut cmsg_buf) } else { None };
        let msg = match recvmsg::<()>(sock.as_raw_fd(), &mut iov, cmsg, MsgFlags::MSG_CMSG_CLOEXEC | flags) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(msg) => msg,
        };
        let mut fds = Vec::new();
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(raws) = c {
                    for raw in raws {
                        // The kernel installed `raw` in our fd table while
                        // delivering this very message; nothing else has seen it.
                        // SAFETY: so we are its only owner.
                        fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
                    }
                }
            }
        }
        fds.truncate(max_fds);
        return Ok(Received {
            len: msg.bytes,
            truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
            fds,
        });
    }
}
