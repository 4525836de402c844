//! The overlay's lower layer: the read-only tree beneath the sandbox,
//! reached either through the gofer (one message per lookup, open, listing
//! or link read) or, with directfs, straight from host fds beneath the root
//! fd the gofer donated (`gofer::direct`: the same confinement rules, no
//! round trip). A lookup of a file costs a gofer round trip (about 30-40 us
//! here) one way and one `fstatat` (about 1 us) the other.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use gofer::{direct, Client, Fid};

use crate::errno::{Errno, KResult};
use crate::vfs::{mode, Attr, DirEntry};

/// One file of the lower layer.
#[derive(Clone)]
pub(super) enum Lower {
    /// A gofer fid.
    Gofer(Fid),
    /// Directfs: the file's parent directory fd and name.
    Host(Arc<HostFile>),
}

/// A lower file reached by directfs.
pub(super) struct HostFile {
    /// The parent directory (for the root, the root itself).
    parent: Arc<OwnedFd>,
    /// The name in `parent` (`"."` for the root).
    name: CString,
    /// A directory's own `O_PATH` fd.
    own: Option<Arc<OwnedFd>>,
}

impl HostFile {
    fn dir(&self) -> KResult<&Arc<OwnedFd>> {
        self.own.as_ref().ok_or(Errno::ENOTDIR)
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
            return Ok((Access::Gofer(client), Lower::Gofer(fid), attr_from(&a)));
        }
        let fd = Arc::new(client.open(fid, libc::O_PATH | libc::O_DIRECTORY)?);
        let a = direct::stat(fd.as_fd())?;
        let root = HostFile { parent: fd.clone(), name: c".".into(), own: Some(fd) };
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
            Lower::Gofer(fid) => {
                let (cfid, a) = self.client().walk(*fid, name)?;
                Ok((Lower::Gofer(cfid), attr_from(&a)))
            }
            Lower::Host(h) => {
                let (a, own) = direct::walk(h.dir()?.as_fd(), name)?;
                let name = CString::new(name).map_err(|_| Errno::EINVAL)?;
                let f = HostFile { parent: h.dir()?.clone(), name, own: own.map(Arc::new) };
                Ok((Lower::Host(Arc::new(f)), attr_from(&a)))
            }
        }
    }

    /// Open the file, whose attributes are `a`, for reading.
    pub(super) fn open_read(&self, f: &Lower, a: &Attr) -> KResult<OwnedFd> {
        match f {
            Lower::Gofer(fid) => Ok(self.client().open(*fid, libc::O_RDONLY)?),
            Lower::Host(h) if a.kind() == libc::S_IFREG => Ok(direct::open_regular_read(h.parent.as_fd(), &h.name, (a.dev, a.ino))?),
            Lower::Host(h) => Ok(direct::open_beneath(h.parent.as_fd(), &h.name, a.kind(), (a.dev, a.ino), libc::O_RDONLY)?),
        }
    }

    /// A directory's entries, without "." and "..".
    pub(super) fn list(&self, dir: &Lower) -> KResult<Vec<DirEntry>> {
        let ents = match dir {
            Lower::Gofer(fid) => self.client().getdents(*fid)?,
            Lower::Host(h) => direct::list(h.dir()?)?,
        };
        Ok(ents.into_iter().map(|e| DirEntry { name: e.name, ino: e.ino, kind: e.kind }).collect())
    }

    /// A symlink's target.
    pub(super) fn readlink(&self, f: &Lower) -> KResult<Vec<u8>> {
        match f {
            Lower::Gofer(fid) => Ok(self.client().readlink(*fid)?),
            Lower::Host(h) => Ok(direct::readlink(h.parent.as_fd(), &h.name)?),
        }
    }

    /// Statistics of the filesystem holding the directory `f`.
    pub(super) fn statfs(&self, f: &Lower) -> KResult<gofer::StatFs> {
        match f {
            Lower::Gofer(fid) => Ok(self.client().statfs(*fid)?),
            Lower::Host(h) => Ok(direct::statfs(h.own.as_ref().unwrap_or(&h.parent).as_fd())?),
        }
    }

    /// The file's `user.*` extended attributes (none for a symlink: Linux
    /// allows them only on regular files and directories).
    pub(super) fn xattrs(&self, f: &Lower, a: &Attr) -> KResult<Vec<(Vec<u8>, Vec<u8>)>> {
        if a.kind() != mode::S_IFREG && a.kind() != mode::S_IFDIR {
            return Ok(Vec::new());
        }
        match f {
            Lower::Gofer(fid) => {
                let c = self.client();
                let mut out = Vec::new();
                for name in c.listxattr(*fid)? {
                    if let Ok(v) = c.getxattr(*fid, &name) {
                        out.push((name, v));
                    }
                }
                Ok(out)
            }
            Lower::Host(h) => Ok(direct::user_xattrs(h.parent.as_fd(), &h.name, a.kind(), (a.dev, a.ino))?),
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
