//! `--network=host`: internet sockets passed through to host sockets of
//! the sentry's network namespace (the engine's, which the sandbox process
//! joined). Each application socket is one host socket, non-blocking on
//! the host; a blocking call waits for the host fd's readiness in short
//! slices, so that a signal interrupts it as Linux's would. Addresses and
//! option values are copied in and out unchanged; only TCP and UDP are
//! served (no raw sockets, whatever the sentry's own capabilities).
//!
//! Like `sys.rs`, this is host-call glue: the application's sockaddr and
//! option bytes go to libc as they are, in `unsafe` calls each of which
//! says why its buffers are sound.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use nix::poll::PollFlags;

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::net::inet::Received;
use crate::net::msg::MSG_DONTWAIT;
use crate::net::OptVal;
use crate::vfs::{FileOps, POLLIN, POLLOUT};

/// One host socket.
pub struct HostSocket {
    fd: OwnedFd,
}

fn last() -> Errno {
    Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
}

/// Retry a host call interrupted by a signal of the sentry's own.
fn retry(mut f: impl FnMut() -> isize) -> KResult<usize> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

impl HostSocket {
    /// A host socket of `family`, `ty` (SOCK_STREAM or SOCK_DGRAM) and
    /// `proto` (0, TCP or UDP); the caller checked them.
    pub fn new(family: i32, ty: i32, proto: i32) -> KResult<Arc<HostSocket>> {
        // SAFETY: socket(2) with plain integers; the result is checked.
        let raw = unsafe { libc::socket(family, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto) };
        if raw < 0 {
            return Err(last());
        }
        // SAFETY: `raw` is a descriptor the kernel just made for us alone.
        Ok(Arc::new(HostSocket { fd: unsafe { OwnedFd::from_raw_fd(raw) } }))
    }

    fn raw(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Wait until the host socket shows `events` (or an error or hang-up),
    /// a signal arrives (ERESTARTSYS), or the sandbox is torn down.
    fn wait(&self, task: &Task, events: PollFlags) -> KResult<()> {
        // A host wait: wake-ups put off go out first.
        crate::kernel::wait::flush_deferred();
        loop {
            if task.has_pending_signal() {
                return Err(Errno::ERESTARTSYS);
            }
            let mut p = [nix::poll::PollFd::new(self.fd.as_fd(), events)];
            match nix::poll::poll(&mut p, nix::poll::PollTimeout::from(50u16)) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Ok(_) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Run `op` until it does not say EAGAIN (waiting for `events`
    /// between tries), or once when `nonblock`.
    fn blocking<R>(&self, task: &Task, nonblock: bool, events: PollFlags, mut op: impl FnMut() -> KResult<R>) -> KResult<R> {
        loop {
            match op() {
                Err(Errno::EAGAIN) if !nonblock => self.wait(task, events)?,
                r => return r,
            }
        }
    }

    /// bind(2) to the address bytes `sa`.
    pub fn bind(&self, sa: &[u8]) -> KResult<()> {
        // SAFETY: `sa` is a live buffer of its length.
        retry(|| unsafe { libc::bind(self.raw(), sa.as_ptr().cast(), sa.len() as u32) } as isize).map(drop)
    }

    /// listen(2).
    pub fn listen(&self, backlog: i32) -> KResult<()> {
        // SAFETY: plain integers.
        retry(|| unsafe { libc::listen(self.raw(), backlog) } as isize).map(drop)
    }

    /// accept(2): the new socket and its peer's address.
    pub fn accept(&self, task: &Task, nonblock: bool) -> KResult<(Arc<HostSocket>, Vec<u8>)> {
        self.blocking(task, nonblock, PollFlags::POLLIN, || {
            let mut sa = [0u8; 128];
            let mut len = sa.len() as u32;
            // SAFETY: `sa` and `len` are live and describe each other.
            let raw = unsafe { libc::accept4(self.raw(), sa.as_mut_ptr().cast(), &mut len, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) };
            if raw < 0 {
                return Err(last());
            }
            // SAFETY: a descriptor the kernel just made for us alone.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            Ok((Arc::new(HostSocket { fd }), sa[..(len as usize).min(sa.len())].to_vec()))
        })
    }

    /// connect(2): a blocking one waits for the outcome (SO_ERROR).
    pub fn connect(&self, task: &Task, sa: &[u8], nonblock: bool) -> KResult<()> {
        // SAFETY: `sa` is a live buffer of its length.
        match retry(|| unsafe { libc::connect(self.raw(), sa.as_ptr().cast(), sa.len() as u32) } as isize) {
            Err(Errno::EINPROGRESS) if !nonblock => {
                self.wait(task, PollFlags::POLLOUT)?;
                let e = self.sockopt_int(libc::SOL_SOCKET, libc::SO_ERROR)?;
                if e != 0 {
                    return Err(Errno(e));
                }
                Ok(())
            }
            r => r.map(drop),
        }
    }

    fn sockopt_int(&self, level: i32, name: i32) -> KResult<i32> {
        let mut v = 0i32;
        let mut len = 4u32;
        // SAFETY: `v` and `len` are live and describe each other.
        retry(|| unsafe { libc::getsockopt(self.raw(), level, name, (&mut v as *mut i32).cast(), &mut len) } as isize)?;
        Ok(v)
    }

    fn name(&self, peer: bool) -> KResult<Vec<u8>> {
        let mut sa = [0u8; 128];
        let mut len = sa.len() as u32;
        // SAFETY: `sa` and `len` are live and describe each other.
        retry(|| unsafe {
            if peer {
                libc::getpeername(self.raw(), sa.as_mut_ptr().cast(), &mut len)
            } else {
                libc::getsockname(self.raw(), sa.as_mut_ptr().cast(), &mut len)
            }
        } as isize)?;
        Ok(sa[..(len as usize).min(sa.len())].to_vec())
    }

    /// getsockname(2).
    pub fn sockname(&self) -> KResult<Vec<u8>> {
        self.name(false)
    }

    /// getpeername(2).
    pub fn peername(&self) -> KResult<Vec<u8>> {
        self.name(true)
    }

    /// send(2)/sendto(2) of `data`, to `to` if given.
    pub fn send(&self, task: &Task, data: &[u8], to: Option<&[u8]>, flags: u64, nonblock: bool) -> KResult<usize> {
        let nonblock = nonblock || flags & MSG_DONTWAIT != 0;
        // The host call never blocks, and never raises SIGPIPE in the
        // sentry (the sandbox's own EPIPE path does, below).
        let hflags = flags as i32 | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        let r = self.blocking(task, nonblock, PollFlags::POLLOUT, || {
            let (p, l) = to.map_or((std::ptr::null(), 0), |t| (t.as_ptr(), t.len() as u32));
            // SAFETY: `data` and the address are live buffers of their lengths.
            retry(|| unsafe { libc::sendto(self.raw(), data.as_ptr().cast(), data.len(), hflags, p.cast(), l) })
        });
        if r == Err(Errno::EPIPE) && flags & crate::net::msg::MSG_NOSIGNAL == 0 {
            use crate::kernel::signal::{sig, QueuedSignal};
            task.send_signal_thread(QueuedSignal { signo: sig::SIGPIPE, ..Default::default() });
        }
        r
    }

    /// recv(2)/recvfrom(2) of at most `max` bytes.
    pub fn recv(&self, task: &Task, max: usize, flags: u64, nonblock: bool) -> KResult<Received> {
        let nonblock = nonblock || flags & MSG_DONTWAIT != 0;
        let hflags = flags as i32 | libc::MSG_DONTWAIT;
        self.blocking(task, nonblock, PollFlags::POLLIN, || {
            let mut buf = vec![0u8; max];
            let mut sa = [0u8; 128];
            let mut len = sa.len() as u32;
            // SAFETY: `buf`, `sa` and `len` are live and describe each other.
            let n = retry(|| unsafe { libc::recvfrom(self.raw(), buf.as_mut_ptr().cast(), max, hflags, sa.as_mut_ptr().cast(), &mut len) })?;
            buf.truncate(n.min(max));
            let from = (len > 0).then(|| sa[..(len as usize).min(sa.len())].to_vec());
            Ok(Received { data: buf, len: n, from })
        })
    }

    /// shutdown(2).
    pub fn shutdown(&self, how: u64) -> KResult<()> {
        // SAFETY: plain integers.
        retry(|| unsafe { libc::shutdown(self.raw(), how as i32) } as isize).map(drop)
    }

    /// getsockopt(2): the host's value, as many bytes as it gives.
    pub fn getsockopt(&self, level: i32, name: i32, len: usize) -> KResult<OptVal> {
        let mut v = vec![0u8; len.min(4096)];
        let mut l = v.len() as u32;
        // SAFETY: `v` and `l` are live and describe each other.
        retry(|| unsafe { libc::getsockopt(self.raw(), level, name, v.as_mut_ptr().cast(), &mut l) } as isize)?;
        v.truncate(l as usize);
        Ok(OptVal::Bytes(v))
    }

    /// setsockopt(2) with the application's bytes.
    pub fn setsockopt(&self, level: i32, name: i32, v: &[u8]) -> KResult<()> {
        // SAFETY: `v` is a live buffer of its length.
        retry(|| unsafe { libc::setsockopt(self.raw(), level, name, v.as_ptr().cast(), v.len() as u32) } as isize).map(drop)
    }

    fn bfd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl FileOps for HostSocket {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        let r = self.recv(task, buf.len(), 0, nonblock)?;
        buf[..r.data.len()].copy_from_slice(&r.data);
        Ok(r.data.len())
    }

    fn write(&self, task: &Task, buf: &[u8], _off: u64, nonblock: bool) -> KResult<usize> {
        self.send(task, buf, None, 0, nonblock)
    }

    fn readiness(&self) -> u32 {
        // libc's poll: nix's flags do not know POLLRDHUP, and would drop
        // every revents holding it (a peer that closed).
        let mut p = libc::pollfd { fd: self.bfd().as_raw_fd(), events: libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP, revents: 0 };
        // SAFETY: one live pollfd, no waiting.
        match unsafe { libc::poll(&mut p, 1, 0) } {
            n if n >= 0 => p.revents as u16 as u32,
            _ => POLLIN | POLLOUT,
        }
    }

    fn host_fd(&self) -> Option<i32> {
        Some(self.raw())
    }

    fn ioctl(&self, task: &Task, cmd: u64, arg: u64) -> KResult<u64> {
        // FIONREAD/SIOCINQ and SIOCOUTQ: an int out.
        const FIONREAD: u64 = 0x541b;
        const SIOCOUTQ: u64 = 0x5411;
        if cmd != FIONREAD && cmd != SIOCOUTQ {
            return Err(Errno::ENOTTY);
        }
        let mut v = 0i32;
        // SAFETY: `v` is a live int, as both requests write.
        retry(|| unsafe { libc::ioctl(self.raw(), cmd as _, &mut v as *mut i32) } as isize)?;
        task.mm().write_val(arg, &v)?;
        Ok(0)
    }
}
