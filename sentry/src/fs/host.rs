//! Host fds handed to the sandbox (the caller's stdin, stdout, stderr).
//! Reads and writes go to the host fd; a blocking read polls in short slices
//! so that a signal can interrupt it. When the fd is a terminal, its
//! attributes and window size pass through to the host, while its session
//! and foreground process group are the sandbox's own (a `HostTty`), so
//! job control inside works on the caller's terminal.

use std::any::Any;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::errno::{Errno, KResult};
use crate::kernel::signal::{sig, QueuedSignal};
use crate::kernel::task::Task;
use crate::fs::tty::{self, ioctls::*, termios, Terminal, TtyCtl};
use crate::vfs::{self, Attr, FileOps, Inode, POLLIN, POLLOUT};

/// A host fd as an inode.
pub struct HostFile {
    fd: OwnedFd,
    ino: u64,
    /// A regular file: reads never block, so no polling is needed.
    regular: bool,
    /// The terminal, when the fd is one.
    tty: Option<Arc<HostTty>>,
}

/// The caller's terminal as the sandbox sees it: the host keeps its
/// attributes, the sandbox its job-control state.
pub struct HostTty {
    ctl: TtyCtl,
    /// A host fd of the terminal, for /dev/tty.
    fd: OwnedFd,
    /// Host device, to recognize the same terminal behind several fds.
    rdev: u64,
    /// Inode number every fd of this terminal shows (so that ttyname,
    /// which compares fstat with stat of the path, works).
    ino: u64,
}

impl HostFile {
    /// Wrap a host fd.
    pub fn new(fd: OwnedFd) -> Arc<HostFile> {
        Self::with_ttys(fd, &mut Vec::new())
    }

    /// Wrap a host fd; terminals already seen in `ttys` are shared.
    pub fn with_ttys(fd: OwnedFd, ttys: &mut Vec<Arc<HostTty>>) -> Arc<HostFile> {
        let st = nix::sys::stat::fstat(fd.as_raw_fd()).ok();
        let regular = st.is_some_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFREG);
        let tty = match st {
            Some(s) if nix::unistd::isatty(fd.as_raw_fd()).unwrap_or(false) => {
                let rdev = s.st_rdev;
                match ttys.iter().find(|t| t.rdev == rdev) {
                    Some(t) => Some(t.clone()),
                    None => fd.try_clone().ok().map(|dup| {
                        let t = Arc::new(HostTty { ctl: TtyCtl::default(), fd: dup, rdev, ino: vfs::next_ino() });
                        ttys.push(t.clone());
                        t
                    }),
                }
            }
            _ => None,
        };
        let ino = tty.as_ref().map_or_else(vfs::next_ino, |t| t.ino);
        Arc::new(HostFile { fd, ino, regular, tty })
    }

    /// The terminal behind this fd, if any.
    pub fn terminal(&self) -> Option<Arc<dyn Terminal>> {
        self.tty.clone().map(|t| t as Arc<dyn Terminal>)
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
    /// Opened again (`/dev/stdout` through /proc/self/fd/1): the same host
    /// fd, whose offset the caller shares; O_TRUNC empties a regular file,
    /// as on Linux.
    fn open(self: Arc<Self>, flags: u32) -> KResult<Arc<dyn FileOps>> {
        let writes = flags & vfs::oflags::O_ACCMODE != vfs::oflags::O_RDONLY;
        if self.regular && writes && flags & vfs::oflags::O_TRUNC != 0 {
            nix::unistd::ftruncate(&self.fd, 0)?;
        }
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
        if let Some(term) = self.terminal() {
            tty::check_change(task, &term, sig::SIGTTIN)?;
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
        if let Some(term) = self.terminal() {
            if term.tostop() {
                tty::check_change(task, &term, sig::SIGTTOU)?;
            }
        }
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
        let Some(term) = self.terminal() else {
            if cmd == FIONREAD && !self.regular {
                return pass_through(self.fd.as_raw_fd(), task, cmd, arg, 4, true);
            }
            return Err(Errno::ENOTTY);
        };
        if let Some(r) = tty::ctl_ioctl(task, &term, false, cmd, arg) {
            return r;
        }
        // Requests and the size of the structure they read or write.
        let (size, out) = match cmd {
            TCGETS => (termios::TERMIOS_SIZE, true),
            TCGETS2 => (termios::TERMIOS2_SIZE, true),
            TCGETA => (termios::TERMIO_SIZE, true),
            TCSETS | TCSETSW | TCSETSF => (termios::TERMIOS_SIZE, false),
            TCSETS2 | TCSETSW2 | TCSETSF2 => (termios::TERMIOS2_SIZE, false),
            TCSETA | TCSETAW | TCSETAF => (termios::TERMIO_SIZE, false),
            TIOCGWINSZ => (8, true),
            TIOCSWINSZ => (8, false),
            FIONREAD | TIOCOUTQ => (4, true),
            TCFLSH | TCXONC | TCSBRK | TCSBRKP => (0, false),
            _ => return Err(Errno::ENOTTY),
        };
        if !out && cmd != TIOCSWINSZ {
            tty::check_change(task, &term, sig::SIGTTOU)?;
        }
        if size == 0 {
            // Requests whose argument is a number, not a pointer.
            if matches!(cmd, TCFLSH | TCXONC) && arg > 3 {
                return Err(Errno::EINVAL);
            }
            let r = crate::sys::ioctl_int(self.fd.as_raw_fd(), cmd, arg);
            return if r < 0 { Err(Errno::last()) } else { Ok(r as u64) };
        }
        let r = pass_through(self.fd.as_raw_fd(), task, cmd, arg, size, out)?;
        if cmd == TIOCSWINSZ {
            let (_, fg) = term.ctl().get();
            tty::kill_pgrp(&task.kernel, fg, sig::SIGWINCH);
        }
        Ok(r)
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

    fn as_tty(&self) -> Option<Arc<dyn Terminal>> {
        self.terminal()
    }
}

/// Run an ioctl on the host fd with a buffer of `size` bytes copied in
/// from (`out` false) or out to (`out` true) the application at `arg`.
fn pass_through(fd: i32, task: &Task, cmd: u64, arg: u64, size: usize, out: bool) -> KResult<u64> {
    let mut buf = vec![0u8; size];
    if !out {
        task.mm().copy_in(arg, &mut buf)?;
    }
    // The request is one of a fixed set, each of which reads or writes at
    // most `size` bytes, and `buf` has that size.
    let r = crate::sys::ioctl_buf(fd, cmd, &mut buf);
    if r < 0 {
        return Err(Errno::last());
    }
    if out {
        task.mm().copy_out(arg, &buf)?;
    }
    Ok(r as u64)
}

impl Terminal for HostTty {
    fn ctl(&self) -> &TtyCtl {
        &self.ctl
    }
    fn reopen(self: Arc<Self>, _task: &Task, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        let fd = self.fd.try_clone().map_err(|_| Errno::EMFILE)?;
        Ok(Arc::new(HostFile { fd, ino: self.ino, regular: false, tty: Some(self) }))
    }
    fn tostop(&self) -> bool {
        let mut b = [0u8; termios::TERMIOS_SIZE];
        crate::sys::ioctl_buf(self.fd.as_raw_fd(), TCGETS, &mut b) == 0
            && termios::Termios::from_bytes(&b, false).l(termios::lflag::TOSTOP)
    }
    fn rdev(&self) -> u64 {
        self.rdev
    }
}
