//! The sentry's side of the gofer connection.
//!
//! One mutex serializes whole exchanges (send a request, wait for its
//! reply), so any number of sentry threads may share a [`Client`].

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;

use crate::error::Error;
use crate::protocol::*;
use crate::sys;

/// How long each side of the protocol polls for the other before it
/// sleeps: most requests take the gofer a few microseconds, and a wake-up
/// across CPUs costs tens on a VM.
/// (`RUNSC_GOFER_POLL_US` sets it, for measuring.)
pub fn poll() -> std::time::Duration {
    static POLL: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
    *POLL.get_or_init(|| {
        let us = std::env::var("RUNSC_GOFER_POLL_US").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
        std::time::Duration::from_micros(us)
    })
}

/// A connection to a gofer server.
pub struct Client {
    inner: Mutex<Inner>,
    /// Round trips made and their total time in ns (for --debug).
    pub calls: std::sync::atomic::AtomicU64,
    pub call_ns: std::sync::atomic::AtomicU64,
}

struct Inner {
    sock: OwnedFd,
    /// Receive buffer, one byte larger than any valid message so an
    /// oversized datagram is detected rather than silently cut.
    buf: Vec<u8>,
}

/// Checks a path component the way the server will, so obviously bad
/// names fail without a round trip.
fn check_name(name: &[u8]) -> Result<(), Error> {
    if name.len() > NAME_MAX {
        return Err(Error::Errno(libc::ENAMETOOLONG));
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(Error::Errno(libc::EINVAL));
    }
    Ok(())
}

fn unexpected() -> Error {
    Error::Protocol(ProtocolError::UnexpectedReply)
}

impl Client {
    /// Wraps one end of a SOCK_SEQPACKET socketpair whose other end is
    /// served by [`crate::serve`].
    pub fn new(sock: OwnedFd) -> Client {
        Client {
            inner: Mutex::new(Inner { sock, buf: vec![0; MAX_MESSAGE + 1] }),
            calls: Default::default(),
            call_ns: Default::default(),
        }
    }

    /// One exchange. Returns the reply and the donated fd, if any; an
    /// `Error` reply becomes `Err(Error::Errno)`.
    fn call(&self, req: &Request) -> Result<(Response, Option<OwnedFd>), Error> {
        let t0 = std::time::Instant::now();
        let r = self.call_inner(req);
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.call_ns.fetch_add(t0.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
        r
    }

    fn call_inner(&self, req: &Request) -> Result<(Response, Option<OwnedFd>), Error> {
        let bytes = encode_request(req)?;
        // A poisoned lock only means another thread panicked between
        // exchanges; the socket itself is still in step.
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Inner { sock, buf } = &mut *inner;
        sys::send(sock.as_fd(), &bytes, None).map_err(|e| match e {
            nix::errno::Errno::EPIPE | nix::errno::Errno::ECONNRESET => Error::Disconnected,
            e => Error::transport(e),
        })?;
        let got = sys::recv_polling(sock.as_fd(), buf, 1, poll()).map_err(Error::transport)?;
        if got.len == 0 {
            return Err(Error::Disconnected);
        }
        if got.truncated || got.len > MAX_MESSAGE {
            return Err(ProtocolError::Oversized(got.len).into());
        }
        let resp = decode_response(&buf[..got.len])?;
        let fd = got.fds.into_iter().next();
        match resp {
            Response::Error(e) if e > 0 => Err(Error::Errno(e)),
            Response::Error(e) => Err(ProtocolError::BadErrno(e).into()),
            resp => Ok((resp, fd)),
        }
    }

    fn call_node(&self, req: &Request) -> Result<(Fid, Attr), Error> {
        match self.call(req)? {
            (Response::Node { fid, attr }, _) => Ok((fid, attr)),
            _ => Err(unexpected()),
        }
    }

    fn call_ok(&self, req: &Request) -> Result<(), Error> {
        match self.call(req)? {
            (Response::Ok, _) => Ok(()),
            _ => Err(unexpected()),
        }
    }

    fn call_bytes(&self, req: &Request) -> Result<Vec<u8>, Error> {
        match self.call(req)? {
            (Response::Bytes(b), _) => Ok(b),
            _ => Err(unexpected()),
        }
    }

    /// Returns a fid for the root of the served tree.
    pub fn attach(&self) -> Result<(Fid, Attr), Error> {
        self.call_node(&Request::Attach)
    }

    /// Looks up one component `name` in directory `dir`, without following
    /// a final symlink.
    pub fn walk(&self, dir: Fid, name: &[u8]) -> Result<(Fid, Attr), Error> {
        check_name(name)?;
        self.call_node(&Request::Walk { dir, name: name.to_vec() })
    }

    pub fn stat(&self, fid: Fid) -> Result<Attr, Error> {
        match self.call(&Request::Stat { fid })? {
            (Response::Attr(a), _) => Ok(a),
            _ => Err(unexpected()),
        }
    }

    pub fn statfs(&self, fid: Fid) -> Result<StatFs, Error> {
        match self.call(&Request::StatFs { fid })? {
            (Response::StatFs(s), _) => Ok(s),
            _ => Err(unexpected()),
        }
    }

    pub fn readlink(&self, fid: Fid) -> Result<Vec<u8>, Error> {
        self.call_bytes(&Request::Readlink { fid })
    }

    /// Opens the file with `O_*` `flags` (`O_NOFOLLOW` is implied, `O_CREAT`
    /// is EINVAL) and returns the host fd.
    pub fn open(&self, fid: Fid, flags: i32) -> Result<OwnedFd, Error> {
        if flags & libc::O_CREAT != 0 {
            return Err(Error::Errno(libc::EINVAL));
        }
        match self.call(&Request::Open { fid, flags })? {
            (Response::Opened, Some(fd)) => Ok(fd),
            (Response::Opened, None) => Err(ProtocolError::MissingFd.into()),
            _ => Err(unexpected()),
        }
    }

    /// Lists a directory (without "." and ".."), fetching every page.
    pub fn getdents(&self, fid: Fid) -> Result<Vec<DirEntry>, Error> {
        let mut all = Vec::new();
        let mut cookie = 0;
        loop {
            match self.call(&Request::Getdents { fid, cookie })? {
                (Response::Dirents { entries, next }, _) => {
                    all.extend(entries);
                    match next {
                        None => return Ok(all),
                        // Cookies must advance, or a confused server could
                        // keep us here forever.
                        Some(n) if n > cookie => cookie = n,
                        Some(_) => return Err(unexpected()),
                    }
                }
                _ => return Err(unexpected()),
            }
        }
    }

    /// Creates a regular file exclusively and opens it with `flags`.
    pub fn create(
        &self,
        dir: Fid,
        name: &[u8],
        flags: i32,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<(Fid, Attr, OwnedFd), Error> {
        check_name(name)?;
        let req = Request::Create { dir, name: name.to_vec(), flags, mode, uid, gid };
        match self.call(&req)? {
            (Response::Created { fid, attr }, Some(fd)) => Ok((fid, attr, fd)),
            (Response::Created { fid, .. }, None) => {
                let _ = self.close(fid);
                Err(ProtocolError::MissingFd.into())
            }
            _ => Err(unexpected()),
        }
    }

    pub fn mkdir(&self, dir: Fid, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<(Fid, Attr), Error> {
        check_name(name)?;
        self.call_node(&Request::Mkdir { dir, name: name.to_vec(), mode, uid, gid })
    }

    /// Creates a regular file, FIFO or socket node (`mode` includes the
    /// `S_IF*` type); device nodes are refused with EPERM.
    pub fn mknod(
        &self,
        dir: Fid,
        name: &[u8],
        mode: u32,
        rdev: u64,
        uid: u32,
        gid: u32,
    ) -> Result<(Fid, Attr), Error> {
        check_name(name)?;
        self.call_node(&Request::Mknod { dir, name: name.to_vec(), mode, rdev, uid, gid })
    }

    pub fn symlink(&self, dir: Fid, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<(Fid, Attr), Error> {
        check_name(name)?;
        if target.len() > SYMLINK_MAX {
            return Err(Error::Errno(libc::ENAMETOOLONG));
        }
        self.call_node(&Request::Symlink { dir, name: name.to_vec(), target: target.to_vec(), uid, gid })
    }

    /// Makes `dir/name` a hard link to the file `target`.
    pub fn link(&self, dir: Fid, name: &[u8], target: Fid) -> Result<(Fid, Attr), Error> {
        check_name(name)?;
        self.call_node(&Request::Link { dir, name: name.to_vec(), target })
    }

    /// Removes `dir/name`; `flags` is 0 or `AT_REMOVEDIR`.
    pub fn unlink(&self, dir: Fid, name: &[u8], flags: i32) -> Result<(), Error> {
        check_name(name)?;
        self.call_ok(&Request::Unlink { dir, name: name.to_vec(), flags })
    }

    pub fn rename(&self, old_dir: Fid, old_name: &[u8], new_dir: Fid, new_name: &[u8]) -> Result<(), Error> {
        check_name(old_name)?;
        check_name(new_name)?;
        self.call_ok(&Request::Rename {
            old_dir,
            old_name: old_name.to_vec(),
            new_dir,
            new_name: new_name.to_vec(),
        })
    }

    pub fn setattr(&self, fid: Fid, attr: &SetAttr) -> Result<(), Error> {
        self.call_ok(&Request::SetAttr { fid, attr: *attr })
    }

    pub fn getxattr(&self, fid: Fid, name: &[u8]) -> Result<Vec<u8>, Error> {
        self.call_bytes(&Request::GetXattr { fid, name: name.to_vec() })
    }

    pub fn setxattr(&self, fid: Fid, name: &[u8], value: &[u8], flags: i32) -> Result<(), Error> {
        if value.len() > XATTR_SIZE_MAX {
            return Err(Error::Errno(libc::E2BIG));
        }
        if name.len() > XATTR_NAME_MAX {
            return Err(Error::Errno(libc::ERANGE));
        }
        self.call_ok(&Request::SetXattr { fid, name: name.to_vec(), value: value.to_vec(), flags })
    }

    pub fn listxattr(&self, fid: Fid) -> Result<Vec<Vec<u8>>, Error> {
        match self.call(&Request::ListXattr { fid })? {
            (Response::Names(n), _) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    pub fn removexattr(&self, fid: Fid, name: &[u8]) -> Result<(), Error> {
        self.call_ok(&Request::RemoveXattr { fid, name: name.to_vec() })
    }

    /// Releases the server-side fid. Best effort: callers may ignore the
    /// result, since the fid is gone either way once the connection is.
    pub fn close(&self, fid: Fid) -> Result<(), Error> {
        self.call_ok(&Request::Close { fid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn client_is_send_and_sync() {
        assert_send_sync::<Client>();
    }

    #[test]
    fn bad_names_fail_locally() {
        assert_eq!(check_name(b"").unwrap_err().errno(), libc::EINVAL);
        assert_eq!(check_name(b".").unwrap_err().errno(), libc::EINVAL);
        assert_eq!(check_name(b"..").unwrap_err().errno(), libc::EINVAL);
        assert_eq!(check_name(b"a/b").unwrap_err().errno(), libc::EINVAL);
        assert_eq!(check_name(b"a\0b").unwrap_err().errno(), libc::EINVAL);
        assert_eq!(check_name(&[b'x'; 256]).unwrap_err().errno(), libc::ENAMETOOLONG);
        assert!(check_name(&[b'x'; 255]).is_ok());
        assert!(check_name(b"...").is_ok());
    }
}
