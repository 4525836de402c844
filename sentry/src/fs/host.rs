//! Host fds handed to the sandbox (the caller's stdin, stdout, stderr).
//! Reads and writes go to the host fd; a blocking read polls in short slices
//! so that a signal can interrupt it. Terminal ioctls pass through for the
//! few requests that only query or set terminal state.

use std::any::Any;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::errno::{Errno, KResult};
use crate::kernel::signal::{sig, QueuedSignal};
use crate::kernel::task::Task;
use crate::vfs::{self, Attr, FileOps, Inode, POLLIN, POLLOUT};

/// A host fd as an inode.
pub struct HostFile {
    fd: OwnedFd,
    ino: u64,
    /// A regular file: reads never block, so no polling is needed.
    regular: bool,
}

impl HostFile {
    /// Wrap a host fd.
    pub fn new(fd: OwnedFd) -> Arc<HostFile> {
        let regular = nix::sys::stat::fstat(fd.as_raw_fd()).is_ok_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFREG);
        Arc::new(HostFile { fd, ino: vfs::next_ino(), regular })
    }

    fn bfd(&self) -> BorrowedFd<'_> {
        // Borrowing our own OwnedFd.
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }
}

impl Inode for HostFile {
    fn stat(&self) -> KResult<Attr> {
        let s = nix::sys::stat::fstat(self.fd.as_raw_fd())?;
        Ok(Attr {
            ino: self.ino,
            dev: 0xb,
            mode: s.st_mode,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: s.st_rdev,
            size: if s.st_mode & libc::S_IFMT == libc::S_IFREG { s.st_size as u64 } else { 0 },
            blksize: 4096,
            blocks: 0,
            atime: (s.st_atime, s.st_atime_nsec),
            mtime: (s.st_mtime, s.st_mtime_nsec),
            ctime: (s.st_ctime, s.st_ctime_nsec),
        })
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Ok(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn poll_one(fd: BorrowedFd<'_>, events: nix::poll::PollFlags, ms: u16) -> KResult<bool> {
    let mut p = [nix::poll::PollFd::new(fd, events)];
    match nix::poll::poll(&mut p, nix::poll::PollTimeout::from(ms)) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

impl FileOps for HostFile {
    fn read(&self, task: &Task, buf: &mut [u8], off: u64, nonblock: bool) -> KResult<usize> {
        // The host fd keeps its own offset (it is shared with the caller),
        // so `off` is not used.
        let _ = off;
        if self.regular {
            return Ok(nix::unistd::read(self.fd.as_raw_fd(), buf)?);
        }
        loop {
            if nonblock || poll_one(self.bfd(), nix::poll::PollFlags::POLLIN, 100)? {
                match nix::unistd::read(self.fd.as_raw_fd(), buf) {
                    Err(nix::errno::Errno::EAGAIN) if !nonblock => {}
                    Err(nix::errno::Errno::EINTR) => {}
                    r => return Ok(r?),
                }
            }
            if task.has_pending_signal() {
                return Err(Errno::ERESTARTSYS);
            }
        }
    }

    fn write(&self, task: &Task, buf: &[u8], off: u64, _nonblock: bool) -> KResult<usize> {
        let _ = off;
        let r = nix::unistd::write(self.bfd(), buf);
        match r {
            Err(nix::errno::Errno::EPIPE) => {
                task.send_signal_thread(QueuedSignal { signo: sig::SIGPIPE, ..Default::default() });
                Err(Errno::EPIPE)
            }
            r => Ok(r?),
        }
    }

    fn seekable(&self) -> bool {
        false
    }

    fn pollable(&self) -> bool {
        !self.regular
    }

    fn ioctl(&self, task: &Task, cmd: u64, arg: u64) -> KResult<u64> {
        // Requests and the size of the structure they read or write.
        let (size, out) = match cmd {
            0x5401 => (60, true),            // TCGETS (struct termios)
            0x5402..=0x5404 => (60, false),  // TCSETS, TCSETSW, TCSETSF
            0x5413 => (8, true),             // TIOCGWINSZ
            0x5414 => (8, false),            // TIOCSWINSZ
            0x540f => (4, true),             // TIOCGPGRP
            0x541b => (4, true),             // FIONREAD
            _ => return Err(Errno::ENOTTY),
        };
        let mut buf = vec![0u8; size];
        if !out {
            task.mm().copy_in(arg, &mut buf)?;
        }
        // SAFETY: the request is one of the fixed set above, each of which
        // reads or writes at most `size` bytes, and `buf` has that size.
        let r = unsafe_ioctl(self.fd.as_raw_fd(), cmd, &mut buf);
        if r < 0 {
            return Err(Errno::last());
        }
        if cmd == 0x540f {
            // The host's process group means nothing inside: report ours.
            let pgid = task.tg.pgid();
            buf.copy_from_slice(&pgid.to_ne_bytes());
        }
        if out {
            task.mm().copy_out(arg, &buf)?;
        }
        Ok(r as u64)
    }

    fn readiness(&self) -> u32 {
        let mut r = 0;
        if poll_one(self.bfd(), nix::poll::PollFlags::POLLIN, 0).unwrap_or(false) {
            r |= POLLIN;
        }
        if poll_one(self.bfd(), nix::poll::PollFlags::POLLOUT, 0).unwrap_or(false) {
            r |= POLLOUT;
        }
        r
    }

    fn host_fd(&self) -> Option<i32> {
        Some(self.fd.as_raw_fd())
    }
}

fn unsafe_ioctl(fd: i32, cmd: u64, buf: &mut [u8]) -> i32 {
    crate::sys::ioctl_buf(fd, cmd, buf)
}
