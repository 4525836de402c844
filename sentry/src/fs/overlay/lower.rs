//! The overlay's lower layer: the read-only tree beneath the sandbox,
//! reached either through the gofer (one message per lookup, open, listing
//! or link read) or, with directfs, straight from host fds beneath the root
//! fd the gofer donated (`gofer::direct`: the same confinement rules, no
//! round trip). A lookup of a file costs a gofer round trip (about 30-40 us
//! here) one way and one `fstatat` (about 1 us) the other.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};

use gofer::{direct, Client};

use crate::fs::handles::{kept_fds, FidHandle, Handle, Recent};

use crate::errno::{Errno, KResult};
use crate::vfs::{mode, Attr, DirEntry};

/// One file of the lower layer.
#[derive(Clone)]
pub(super) enum Lower {
    /// Through the gofer.
    Gofer(Arc<GoferFile>),
    /// Directfs: the file's parent directory fd and name.
    Host(Arc<HostFile>),
}

/// A lower file reached by directfs.
pub(super) struct HostFile {
    /// The parent directory (None for the root).
    parent: Option<Arc<HostFile>>,
    /// The name in the parent (`"."` for the root).
    name: CString,
    /// A directory's own `O_PATH` fd (None for other files).
    dir: Option<DirFd>,
    /// The overlay's directory fds.
    fds: Arc<Recent<HostFile>>,
}

/// A directory's `O_PATH` fd: open while among the overlay's last
/// [`set_kept_fds`](crate::fs::handles::set_kept_fds) directories used, opened again (and checked to be the
/// same directory) when needed after.
struct DirFd {
    /// (dev, ino) of the directory.
    id: (u64, u64),
    fd: Mutex<Option<Arc<OwnedFd>>>,
}

impl Handle for HostFile {
    type H = Arc<OwnedFd>;
    fn let_go(self: &Arc<Self>) -> Option<Arc<OwnedFd>> {
        self.parent.as_ref()?;
        self.dir.as_ref()?.fd.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Handle for GoferFile {
    type H = Arc<FidHandle>;
    fn let_go(self: &Arc<Self>) -> Option<Arc<FidHandle>> {
        self.parent.as_ref()?;
        self.fid.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl HostFile {
    /// A directory's fd, opened again if it was closed.
    fn dir(self: &Arc<Self>) -> KResult<Arc<OwnedFd>> {
        let d = self.dir.as_ref().ok_or(Errno::ENOTDIR)?;
        if let Some(fd) = d.fd.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Ok(fd.clone());
        }
        let parent = self.parent.as_ref().ok_or(Errno::EIO)?;
        let fd = Arc::new(direct::open_beneath(parent.dir()?.as_fd(), &self.name, libc::S_IFDIR, d.id, libc::O_PATH | libc::O_DIRECTORY)?);
        *d.fd.lock().unwrap_or_else(|e| e.into_inner()) = Some(fd.clone());
        self.fds.took(self);
        Ok(fd)
    }

    /// The directory that holds the file and its name there (for the
    /// root, the root and ".").
    fn at(self: &Arc<Self>) -> KResult<(Arc<OwnedFd>, &CStr)> {
        match &self.parent {
            Some(p) => Ok((p.dir()?, &self.name)),
            None => Ok((self.dir()?, c".")),
        }
    }
}

/// A lower file reached through the gofer: its fid (an fd in the gofer)
/// while among the overlay's last [`set_kept_fds`](crate::fs::handles::set_kept_fds) files used, walked
/// again from its parent (and checked to be the same file) when needed
/// after. Each file looked up kept its fid for good before: past the
/// gofer's fd limit, every later lookup failed with EMFILE.
pub(super) struct GoferFile {
    /// The parent directory (None for the root).
    parent: Option<Arc<GoferFile>>,
    /// The name in the parent.
    name: Vec<u8>,
    /// (dev, ino) of the file.
    id: (u64, u64),
    fid: Mutex<Option<Arc<FidHandle>>>,
    /// The overlay's open fids.
    fids: Arc<Recent<GoferFile>>,
}

impl GoferFile {
    /// The file's fid, walked again from its parent if it was let go.
    fn fid(self: &Arc<Self>, client: &Arc<Client>) -> KResult<Arc<FidHandle>> {
        if let Some(h) = self.fid.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Ok(h.clone());
        }
        let parent = self.parent.as_ref().ok_or(Errno::EIO)?;
        let p = parent.fid(client)?;
        let (fid, a) = client.walk(p.fid, &self.name)?;
        let h = Arc::new(FidHandle { fid, client: client.clone() });
        if (a.dev, a.ino) != self.id {
            return Err(Errno::ESTALE);
        }
        *self.fid.lock().unwrap_or_else(|e| e.into_inner()) = Some(h.clone());
        self.fids.took(self);
        Ok(h)
    }
}

/// How the lower layer is reached.
pub(super) enum Access {
    Gofer(Arc<Client>),
    /// Directfs; the client remains for statistics and later requests.
    Direct(Arc<Client>),
}

impl Access {
    /// The root's lower file and attributes: the gofer's root fid, and
    /// with `direct` an `O_PATH` fd of it donated by the gofer.
    pub(super) fn attach(client: Arc<Client>, direct: bool) -> KResult<(Access, Lower, Attr)> {
        let (fid, a) = client.attach()?;
        if !direct {
            let h = Arc::new(FidHandle { fid, client: client.clone() });
            let root = GoferFile { parent: None, name: Vec::new(), id: (a.dev, a.ino), fid: Mutex::new(Some(h)), fids: Arc::default() };
            return Ok((Access::Gofer(client), Lower::Gofer(Arc::new(root)), attr_from(&a)));
        }
        let fd = Arc::new(client.open(fid, libc::O_PATH | libc::O_DIRECTORY)?);
        let a = direct::stat(fd.as_fd())?;
        let dir = DirFd { id: (a.dev, a.ino), fd: Mutex::new(Some(fd)) };
        let root = HostFile { parent: None, name: c".".into(), dir: Some(dir), fds: Arc::default() };
        Ok((Access::Direct(client), Lower::Host(Arc::new(root)), attr_from(&a)))
    }

    fn client(&self) -> &Arc<Client> {
        match self {
            Access::Gofer(c) | Access::Direct(c) => c,
        }
    }

    /// Look up `name` in the directory `dir`.
    pub(super) fn walk(&self, dir: &Lower, name: &[u8]) -> KResult<(Lower, Attr)> {
        match dir {
            Lower::Gofer(g) => {
                let c = self.client();
                let (cfid, a) = c.walk(g.fid(c)?.fid, name)?;
                let h = Arc::new(FidHandle { fid: cfid, client: c.clone() });
                let f = Arc::new(GoferFile { parent: Some(g.clone()), name: name.to_vec(), id: (a.dev, a.ino), fid: Mutex::new(Some(h)), fids: g.fids.clone() });
                g.fids.took(&f);
                Ok((Lower::Gofer(f), attr_from(&a)))
            }
            Lower::Host(h) => {
                let (a, own) = direct::walk(h.dir()?.as_fd(), name)?;
                let name = CString::new(name).map_err(|_| Errno::EINVAL)?;
                let is_dir = own.is_some();
                let dir = own.map(|fd| DirFd { id: (a.dev, a.ino), fd: Mutex::new(Some(Arc::new(fd))) });
                let f = Arc::new(HostFile { parent: Some(h.clone()), name, dir, fds: h.fds.clone() });
                if is_dir {
                    h.fds.took(&f);
                }
                Ok((Lower::Host(f), attr_from(&a)))
            }
        }
    }

    /// Open the file, whose attributes are `a`, for reading.
    pub(super) fn open_read(&self, f: &Lower, a: &Attr) -> KResult<OwnedFd> {
        match f {
            Lower::Gofer(g) => Ok(self.client().open(g.fid(self.client())?.fid, libc::O_RDONLY)?),
            Lower::Host(h) => {
                let (dir, name) = h.at()?;
                if a.kind() == libc::S_IFREG {
                    Ok(direct::open_regular_read(dir.as_fd(), name, (a.dev, a.ino))?)
                } else {
                    Ok(direct::open_beneath(dir.as_fd(), name, a.kind(), (a.dev, a.ino), libc::O_RDONLY)?)
                }
            }
        }
    }

    /// A directory's entries, without "." and "..".
    pub(super) fn list(&self, dir: &Lower) -> KResult<Vec<DirEntry>> {
        let ents = match dir {
            Lower::Gofer(g) => self.client().getdents(g.fid(self.client())?.fid)?,
            Lower::Host(h) => direct::list(&*h.dir()?)?,
        };
        Ok(ents.into_iter().map(|e| DirEntry { name: e.name, ino: e.ino, kind: e.kind }).collect())
    }

    /// A symlink's target.
    pub(super) fn readlink(&self, f: &Lower) -> KResult<Vec<u8>> {
        match f {
            Lower::Gofer(g) => Ok(self.client().readlink(g.fid(self.client())?.fid)?),
            Lower::Host(h) => {
                let (dir, name) = h.at()?;
                Ok(direct::readlink(dir.as_fd(), name)?)
            }
        }
    }

    /// Statistics of the filesystem holding the directory `f`.
    pub(super) fn statfs(&self, f: &Lower) -> KResult<gofer::StatFs> {
        match f {
            Lower::Gofer(g) => Ok(self.client().statfs(g.fid(self.client())?.fid)?),
            Lower::Host(h) => {
                let fd = if h.dir.is_some() { h.dir()? } else { h.at()?.0 };
                Ok(direct::statfs(fd.as_fd())?)
            }
        }
    }

    /// The file's `user.*` extended attributes (none for a symlink: Linux
    /// allows them only on regular files and directories).
    pub(super) fn xattrs(&self, f: &Lower, a: &Attr) -> KResult<Vec<(Vec<u8>, Vec<u8>)>> {
        if a.kind() != mode::S_IFREG && a.kind() != mode::S_IFDIR {
            return Ok(Vec::new());
        }
        match f {
            Lower::Gofer(g) => {
                let c = self.client();
                let h = g.fid(c)?;
                let mut out = Vec::new();
                for name in c.listxattr(h.fid)? {
                    if let Ok(v) = c.getxattr(h.fid, &name) {
                        out.push((name, v));
                    }
                }
                Ok(out)
            }
            Lower::Host(h) => {
                let (dir, name) = h.at()?;
                Ok(direct::user_xattrs(dir.as_fd(), name, a.kind(), (a.dev, a.ino))?)
            }
        }
    }
}

/// The sentry's attributes from the protocol's.
pub(crate) fn attr_from(a: &gofer::Attr) -> Attr {
    Attr {
        ino: a.ino,
        dev: a.dev,
        mode: a.mode,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        size: a.size,
        blksize: a.blksize,
        blocks: a.blocks,
        atime: (a.atime_sec, a.atime_nsec),
        mtime: (a.mtime_sec, a.mtime_nsec),
        ctime: (a.ctime_sec, a.ctime_nsec),
    }
}

/// The host fds of lower files an overlay keeps open after their first
/// read, by host (dev, ino), so that reopening a file the sandbox read
/// before costs no host call; the oldest goes once there are more than
/// [`set_kept_fds`](crate::fs::handles::set_kept_fds) allows (each open file of the sandbox holds its own
/// reference, so that file keeps reading the same host file). Without the
/// bound, every file ever read held a host fd: a sandbox that read more
/// files than the sentry's RLIMIT_NOFILE (20000 here) failed every later
/// first read with EMFILE.
#[derive(Default)]
pub(super) struct KeptFds {
    fds: std::collections::HashMap<(u64, u64), Arc<OwnedFd>>,
    /// Keys, oldest first.
    order: std::collections::VecDeque<(u64, u64)>,
}

impl KeptFds {
    /// The kept fd of the file `id`.
    pub(super) fn get(&self, id: (u64, u64)) -> Option<Arc<OwnedFd>> {
        self.fds.get(&id).cloned()
    }

    /// Keep `fd` as the file `id`'s, unless one was kept meanwhile (then
    /// that one is returned and `fd` closed); drop the oldest past the
    /// bound.
    pub(super) fn keep(&mut self, id: (u64, u64), fd: Arc<OwnedFd>) -> Arc<OwnedFd> {
        if let Some(k) = self.fds.get(&id) {
            return k.clone();
        }
        self.fds.insert(id, fd.clone());
        self.order.push_back(id);
        let max = kept_fds();
        while self.order.len() > max {
            if let Some(old) = self.order.pop_front() {
                self.fds.remove(&old);
            }
        }
        fd
    }

    /// How many are kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.fds.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev_null() -> Arc<OwnedFd> {
        Arc::new(std::fs::File::open("/dev/null").unwrap().into())
    }

    #[test]
    fn kept_fds_are_bounded_oldest_first() {
        crate::fs::handles::set_kept_fds(16);
        let mut k = KeptFds::default();
        let first = dev_null();
        assert!(Arc::ptr_eq(&k.keep((1, 0), first.clone()), &first));
        // A second fd for the same file: the kept one stays.
        assert!(Arc::ptr_eq(&k.keep((1, 0), dev_null()), &first));
        for i in 1..20 {
            k.keep((1, i), dev_null());
        }
        assert_eq!(k.len(), 16);
        assert!(k.get((1, 0)).is_none(), "the oldest went first");
        assert!(k.get((1, 3)).is_none());
        assert!(k.get((1, 4)).is_some());
        assert!(k.get((1, 19)).is_some());
        // Dropped from the set, an fd still held elsewhere stays open.
        assert_eq!(Arc::strong_count(&first), 1);
    }
}
