//! The gofer server: serves one directory tree over a SOCK_SEQPACKET
//! socket, one request at a time.
//!
//! Invariants:
//! - Every fid holds an `O_PATH|O_NOFOLLOW` host fd reached from the root
//!   one validated component at a time (no '/', no NUL, not "." or ".."),
//!   so no request can name a host path outside the root, and the server
//!   never follows a symlink (the sentry resolves them).
//! - A non-directory is opened again through its parent directory fd and
//!   name (`openat(parent, name, flags|O_NOFOLLOW)`), and the result is
//!   checked to be the same inode (ESTALE otherwise); a directory is opened
//!   through itself (`openat(fd, ".")`).
//! - Attribute and xattr changes that Linux does not allow on O_PATH fds go
//!   through `/proc/self/fd/N`, which names exactly the fid's inode.
//! - Device nodes are never opened or created (EACCES / EPERM).
//! - Malformed requests get an error reply, never a panic.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{renameat, AtFlags, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::{
    fchmodat, fstatat, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag,
    UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, linkat, symlinkat, truncate, unlinkat, Gid, Uid, UnlinkatFlags};

use crate::direct::{attr, component, id_of, list as read_dir, open_beneath, stat_fd, Id};
use crate::error::Error;
use crate::protocol::*;
use crate::sys;

/// How the tree is served.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerOptions {
    /// Every mutating request answers EROFS, and opens for writing too.
    pub read_only: bool,
}

/// Serves `root` on `sock` until the peer closes its end (then `Ok`).
///
/// Sets the process umask to 0: the sentry sends modes that already have
/// the application's umask applied, and they must land exactly.
pub fn serve(sock: OwnedFd, root: &Path, opts: ServerOptions) -> Result<(), Error> {
    serve_confined(sock, root, opts, || Ok(()))
}

/// As [`serve`], calling `confine` once the root is open and before the
/// first request (where the caller installs its seccomp filter: nothing
/// the server does from then on needs more than serving).
pub fn serve_confined(
    sock: OwnedFd,
    root: &Path,
    opts: ServerOptions,
    confine: impl FnOnce() -> std::io::Result<()>,
) -> Result<(), Error> {
    let root_fd = sys::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
    )
    .map_err(|e| Error::Root(e.into()))?;
    nix::sys::stat::umask(Mode::empty());
    confine().map_err(Error::Root)?;
    let mut server = Server { root: Rc::new(root_fd), read_only: opts.read_only, nodes: HashMap::new(), next_fid: 1 };
    let mut buf = vec![0u8; MAX_MESSAGE + 1];
    loop {
        let got = match sys::recv_polling(sock.as_fd(), &mut buf, 0, crate::client::poll()) {
            Ok(got) => got,
            Err(Errno::ECONNRESET) => return Ok(()),
            Err(e) => return Err(Error::transport(e)),
        };
        // A zero-length read is either the peer's end-of-file or an empty
        // datagram; only the former comes with a hang-up.
        if got.len == 0 && peer_gone(sock.as_fd()) {
            return Ok(());
        }
        let (resp, fd) = if got.truncated {
            tracing::debug!("gofer: oversized request");
            (Response::Error(libc::EINVAL), None)
        } else {
            match decode_request(&buf[..got.len.min(buf.len())]) {
                Ok(req) => server.handle(req),
                Err(e) => {
                    tracing::debug!(error = %e, "gofer: malformed request");
                    (Response::Error(libc::EINVAL), None)
                }
            }
        };
        let bytes = match encode_response(&resp) {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(error = %e, "gofer: reply cannot be encoded");
                encode_response(&Response::Error(libc::EIO))?
            }
        };
        match sys::send(sock.as_fd(), &bytes, fd.as_ref().map(|f| f.as_fd())) {
            Ok(()) => {}
            Err(Errno::EPIPE | Errno::ECONNRESET) => return Ok(()),
            Err(e) => return Err(Error::transport(e)),
        }
    }
}

fn peer_gone(sock: BorrowedFd<'_>) -> bool {
    let rdhup = PollFlags::from_bits_retain(libc::POLLRDHUP);
    let mut fds = [PollFd::new(sock, rdhup)];
    // Only POLLRDHUP is asked for, and POLLHUP and POLLERR always come:
    // any event means the peer is gone. (nix's revents() would read an
    // revents holding POLLRDHUP, a flag it does not know, as none.)
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(n) => n > 0,
        Err(_) => true,
    }
}

/// `(st_dev, st_ino)`: what makes two fds the same file.

/// How to reach a node again from its parent directory.
enum Parent {
    /// Directories (including the root) are reopened through themselves.
    Itself,
    Dir { fd: Rc<OwnedFd>, id: Id, name: CString },
    /// The name was unlinked or replaced; only the O_PATH fd remains.
    Detached,
}

struct Node {
    fd: Rc<OwnedFd>,
    id: Id,
    /// The `S_IFMT` bits.
    kind: u32,
    parent: Parent,
    /// A directory listing in progress (see `Request::Getdents`).
    listing: Option<Vec<DirEntry>>,
}

impl Node {
    fn is(&self, kind: u32) -> bool {
        self.kind == kind
    }
}

struct Server {
    root: Rc<OwnedFd>,
    read_only: bool,
    nodes: HashMap<Fid, Node>,
    next_fid: Fid,
}

type Reply = (Response, Option<OwnedFd>);
type Op = Result<Reply, Errno>;

fn ok(resp: Response) -> Op {
    Ok((resp, None))
}

fn xattr_name(name: &[u8]) -> Result<CString, Errno> {
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(Errno::ERANGE);
    }
    // Only the user namespace: trusted.*, security.* (file capabilities)
    // and system.* (ACLs) on the host are not the sandbox's to read or set.
    if !name.starts_with(b"user.") {
        return Err(Errno::EOPNOTSUPP);
    }
    CString::new(name).map_err(|_| Errno::EINVAL)
}

/// `/proc/self/fd/N`, a magic link to exactly the inode of `fd`.
fn proc_path(fd: &OwnedFd) -> Result<CString, Errno> {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| Errno::EINVAL)
}

/// Opens one component beneath `dir` as an O_PATH fd, never following a
/// symlink.
fn lookup(dir: &OwnedFd, name: &CStr) -> Result<OwnedFd, Errno> {
    sys::openat(dir.as_fd(), name, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
}

/// Gives a freshly created file the owner the sentry asked for. Best
/// effort: a gofer without CAP_CHOWN leaves the file its own (EPERM), as
/// does an id that is not mapped in its user namespace (EINVAL).
fn chown_new(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<(), Errno> {
    let st = stat_fd(fd)?;
    if st.st_uid == uid && st.st_gid == gid {
        return Ok(());
    }
    let flags = AtFlags::AT_EMPTY_PATH | AtFlags::AT_SYMLINK_NOFOLLOW;
    match fchownat(Some(fd.as_raw_fd()), c"", Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)), flags) {
        Ok(()) => Ok(()),
        Err(e @ (Errno::EPERM | Errno::EINVAL)) => {
            tracing::debug!(uid, gid, error = %e, "gofer: cannot chown new file, keeping the gofer's ids");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn timespec(t: Option<(i64, i64)>) -> Result<TimeSpec, Errno> {
    match t {
        None => Ok(TimeSpec::UTIME_OMIT),
        Some((sec, nsec)) if nsec == libc::UTIME_NOW || nsec == libc::UTIME_OMIT || (0..1_000_000_000).contains(&nsec) => {
            Ok(TimeSpec::new(sec, nsec))
        }
        Some(_) => Err(Errno::EINVAL),
    }
}

/// Flags `open` accepts (O_CREAT goes through `Create`).
const OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_APPEND
    | libc::O_ASYNC
    | libc::O_CLOEXEC
    | libc::O_DIRECT
    | libc::O_DIRECTORY
    | libc::O_DSYNC
    | libc::O_EXCL
    | libc::O_LARGEFILE
    | libc::O_NOATIME
    | libc::O_NOCTTY
    | libc::O_NOFOLLOW
    | libc::O_NONBLOCK
    | libc::O_PATH
    | libc::O_SYNC
    | libc::O_TRUNC;

/// Flags `create` accepts.
const CREATE_FLAGS: i32 = (OPEN_FLAGS | libc::O_CREAT) & !(libc::O_DIRECTORY | libc::O_PATH);

fn is_mutating(req: &Request) -> bool {
    matches!(
        req,
        Request::Create { .. }
            | Request::Mkdir { .. }
            | Request::Mknod { .. }
            | Request::Symlink { .. }
            | Request::Link { .. }
            | Request::Unlink { .. }
            | Request::Rename { .. }
            | Request::SetAttr { .. }
            | Request::SetXattr { .. }
            | Request::RemoveXattr { .. }
    )
}

impl Server {
    fn handle(&mut self, req: Request) -> Reply {
        let result = if self.read_only && is_mutating(&req) {
            Err(Errno::EROFS)
        } else {
            self.dispatch(req)
        };
        result.unwrap_or_else(|e| (Response::Error(e as i32), None))
    }

    fn dispatch(&mut self, req: Request) -> Op {
        match req {
            Request::Attach => {
                let (fid, attr) = self.add_node(Rc::clone(&self.root), Parent::Itself)?;
                ok(Response::Node { fid, attr })
            }
            Request::Walk { dir, name } => {
                let name = component(&name)?;
                let (fid, attr) = self.add_child(dir, name)?;
                ok(Response::Node { fid, attr })
            }
            Request::Stat { fid } => ok(Response::Attr(attr(&stat_fd(self.node(fid)?.fd.as_fd())?))),
            Request::StatFs { fid } => ok(Response::StatFs(sys::fstatfs(self.node(fid)?.fd.as_fd())?)),
            Request::Readlink { fid } => {
                let node = self.node(fid)?;
                if !node.is(libc::S_IFLNK) {
                    return Err(Errno::EINVAL);
                }
                let target = nix::fcntl::readlinkat(Some(node.fd.as_raw_fd()), c"")?;
                ok(Response::Bytes(target.into_vec()))
            }
            Request::Open { fid, flags } => self.open(fid, flags),
            Request::Getdents { fid, cookie } => self.getdents(fid, cookie),
            Request::Create { dir, name, flags, mode, uid, gid } => self.create(dir, &name, flags, mode, uid, gid),
            Request::Mkdir { dir, name, mode, uid, gid } => {
                let name = component(&name)?;
                let (dfd, _) = self.dir_of(dir)?;
                mkdirat(Some(dfd.as_raw_fd()), name.as_c_str(), Mode::from_bits_truncate(mode & 0o7777))?;
                self.finish_new(dir, name, UnlinkatFlags::RemoveDir, uid, gid)
            }
            Request::Mknod { dir, name, mode, rdev, uid, gid } => {
                let name = component(&name)?;
                // `rdev` only matters for devices, which are refused.
                let _ = rdev;
                let kind = match mode & libc::S_IFMT {
                    0 | libc::S_IFREG => SFlag::S_IFREG,
                    libc::S_IFIFO => SFlag::S_IFIFO,
                    libc::S_IFSOCK => SFlag::S_IFSOCK,
                    // Device nodes in the rootfs would reach host devices.
                    libc::S_IFCHR | libc::S_IFBLK => return Err(Errno::EPERM),
                    _ => return Err(Errno::EINVAL),
                };
                let (dfd, _) = self.dir_of(dir)?;
                mknodat(Some(dfd.as_raw_fd()), name.as_c_str(), kind, Mode::from_bits_truncate(mode & 0o7777), 0)?;
                self.finish_new(dir, name, UnlinkatFlags::NoRemoveDir, uid, gid)
            }
            Request::Symlink { dir, name, target, uid, gid } => {
                let name = component(&name)?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                if target.len() > SYMLINK_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                let target = CString::new(target).map_err(|_| Errno::EINVAL)?;
                let (dfd, _) = self.dir_of(dir)?;
                symlinkat(target.as_c_str(), Some(dfd.as_raw_fd()), name.as_c_str())?;
                self.finish_new(dir, name, UnlinkatFlags::NoRemoveDir, uid, gid)
            }
            Request::Link { dir, name, target } => self.link(dir, &name, target),
            Request::Unlink { dir, name, flags } => {
                let name = component(&name)?;
                let how = match flags {
                    0 => UnlinkatFlags::NoRemoveDir,
                    libc::AT_REMOVEDIR => UnlinkatFlags::RemoveDir,
                    _ => return Err(Errno::EINVAL),
                };
                let (dfd, did) = self.dir_of(dir)?;
                unlinkat(Some(dfd.as_raw_fd()), name.as_c_str(), how)?;
                self.detach(did, &name, None);
                ok(Response::Ok)
            }
            Request::Rename { old_dir, old_name, new_dir, new_name } => {
                self.rename(old_dir, &old_name, new_dir, &new_name)
            }
            Request::SetAttr { fid, attr } => self.setattr(fid, &attr),
            Request::GetXattr { fid, name } => {
                let name = xattr_name(&name)?;
                let node = self.node(fid)?;
                if node.is(libc::S_IFLNK) {
                    // Linux allows no user.* xattrs on symlinks.
                    return Err(Errno::ENODATA);
                }
                let mut buf = vec![0u8; XATTR_SIZE_MAX];
                let n = sys::getxattr(&proc_path(&node.fd)?, &name, &mut buf)?;
                buf.truncate(n);
                ok(Response::Bytes(buf))
            }
            Request::SetXattr { fid, name, value, flags } => {
                let name = xattr_name(&name)?;
                if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE) != 0 {
                    return Err(Errno::EINVAL);
                }
                if value.len() > XATTR_SIZE_MAX {
                    return Err(Errno::E2BIG);
                }
                let node = self.node(fid)?;
                if node.is(libc::S_IFLNK) {
                    return Err(Errno::EPERM);
                }
                sys::setxattr(&proc_path(&node.fd)?, &name, &value, flags)?;
                ok(Response::Ok)
            }
            Request::ListXattr { fid } => {
                let node = self.node(fid)?;
                if node.is(libc::S_IFLNK) {
                    return ok(Response::Names(Vec::new()));
                }
                let mut buf = vec![0u8; XATTR_SIZE_MAX];
                let n = sys::listxattr(&proc_path(&node.fd)?, &mut buf)?;
                let names = buf[..n.min(buf.len())]
                    .split(|&b| b == 0)
                    .filter(|n| n.starts_with(b"user."))
                    .map(<[u8]>::to_vec)
                    .collect();
                ok(Response::Names(names))
            }
            Request::RemoveXattr { fid, name } => {
                let name = xattr_name(&name)?;
                let node = self.node(fid)?;
                if node.is(libc::S_IFLNK) {
                    return Err(Errno::EPERM);
                }
                sys::removexattr(&proc_path(&node.fd)?, &name)?;
                ok(Response::Ok)
            }
            Request::Close { fid } => match self.nodes.remove(&fid) {
                Some(_) => ok(Response::Ok),
                None => Err(Errno::EBADF),
            },
        }
    }

    fn node(&self, fid: Fid) -> Result<&Node, Errno> {
        self.nodes.get(&fid).ok_or(Errno::EBADF)
    }

    /// The fd and id of a directory fid.
    fn dir_of(&self, fid: Fid) -> Result<(Rc<OwnedFd>, Id), Errno> {
        let node = self.node(fid)?;
        if !node.is(libc::S_IFDIR) {
            return Err(Errno::ENOTDIR);
        }
        Ok((Rc::clone(&node.fd), node.id))
    }

    fn add_node(&mut self, fd: Rc<OwnedFd>, parent: Parent) -> Result<(Fid, Attr), Errno> {
        let st = stat_fd(fd.as_fd())?;
        let fid = self.next_fid;
        self.next_fid = fid.checked_add(1).ok_or(Errno::ENFILE)?;
        let kind = st.st_mode & libc::S_IFMT;
        let parent = if kind == libc::S_IFDIR { Parent::Itself } else { parent };
        self.nodes.insert(fid, Node { fd, id: id_of(&st), kind, parent, listing: None });
        Ok((fid, attr(&st)))
    }

    /// Walks `name` beneath directory `dir` and gives it a new fid.
    fn add_child(&mut self, dir: Fid, name: CString) -> Result<(Fid, Attr), Errno> {
        let (dfd, did) = self.dir_of(dir)?;
        let fd = lookup(&dfd, &name)?;
        self.add_node(Rc::new(fd), Parent::Dir { fd: dfd, id: did, name })
    }

    /// After mkdir/mknod/symlink: chown the new entry and give it a fid,
    /// removing it again if either fails.
    fn finish_new(&mut self, dir: Fid, name: CString, undo: UnlinkatFlags, uid: u32, gid: u32) -> Op {
        let (dfd, did) = self.dir_of(dir)?;
        let result = lookup(&dfd, &name).and_then(|fd| {
            chown_new(fd.as_fd(), uid, gid)?;
            self.add_node(Rc::new(fd), Parent::Dir { fd: Rc::clone(&dfd), id: did, name: name.clone() })
        });
        match result {
            Ok((fid, attr)) => ok(Response::Node { fid, attr }),
            Err(e) => {
                let _ = unlinkat(Some(dfd.as_raw_fd()), name.as_c_str(), undo);
                Err(e)
            }
        }
    }

    fn open(&self, fid: Fid, flags: i32) -> Op {
        if flags & libc::O_CREAT != 0 || flags & !OPEN_FLAGS != 0 || flags & libc::O_ACCMODE == libc::O_ACCMODE {
            return Err(Errno::EINVAL);
        }
        let o_path = flags & libc::O_PATH != 0;
        let writes = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
        if self.read_only && writes && !o_path {
            return Err(Errno::EROFS);
        }
        let node = self.node(fid)?;
        let fd = match &node.parent {
            Parent::Itself => open_beneath(node.fd.as_fd(), c".", node.kind, node.id, flags)?,
            Parent::Dir { fd, name, .. } => open_beneath(fd.as_fd(), name, node.kind, node.id, flags)?,
            Parent::Detached => return Err(Errno::ESTALE),
        };
        Ok((Response::Opened, Some(fd)))
    }

    fn getdents(&mut self, fid: Fid, cookie: u64) -> Op {
        let node = self.nodes.get_mut(&fid).ok_or(Errno::EBADF)?;
        if !node.is(libc::S_IFDIR) {
            return Err(Errno::ENOTDIR);
        }
        if cookie == 0 {
            node.listing = Some(read_dir(&node.fd)?);
        }
        let list = node.listing.as_ref().ok_or(Errno::EINVAL)?;
        let start = usize::try_from(cookie).map_err(|_| Errno::EINVAL)?;
        if start > list.len() {
            return Err(Errno::EINVAL);
        }
        // Leave room for the enum tag, the vector length and the cookie.
        let mut budget = MAX_MESSAGE - 64;
        let mut end = start;
        for e in &list[start..] {
            let need = dirent_encoded_bound(e);
            if need > budget {
                break;
            }
            budget -= need;
            end += 1;
        }
        let entries = list[start..end].to_vec();
        let next = if end < list.len() { Some(end as u64) } else { None };
        if next.is_none() {
            node.listing = None;
        }
        ok(Response::Dirents { entries, next })
    }

    fn create(&mut self, dir: Fid, name: &[u8], flags: i32, mode: u32, uid: u32, gid: u32) -> Op {
        let name = component(name)?;
        if flags & !CREATE_FLAGS != 0 || flags & libc::O_ACCMODE == libc::O_ACCMODE {
            return Err(Errno::EINVAL);
        }
        if !matches!(mode & libc::S_IFMT, 0 | libc::S_IFREG) {
            return Err(Errno::EINVAL);
        }
        let (dfd, did) = self.dir_of(dir)?;
        let oflags = OFlag::from_bits_retain(flags)
            | OFlag::O_CREAT
            | OFlag::O_EXCL
            | OFlag::O_NOFOLLOW
            | OFlag::O_CLOEXEC
            | OFlag::O_NOCTTY;
        let fd = sys::openat(dfd.as_fd(), &name, oflags, Mode::from_bits_truncate(mode & 0o7777))?;
        // The file exists now: any later failure removes it again.
        let result = chown_new(fd.as_fd(), uid, gid).and_then(|()| {
            let path_fd = lookup(&dfd, &name)?;
            if id_of(&stat_fd(path_fd.as_fd())?) != id_of(&stat_fd(fd.as_fd())?) {
                return Err(Errno::ESTALE);
            }
            self.add_node(Rc::new(path_fd), Parent::Dir { fd: Rc::clone(&dfd), id: did, name: name.clone() })
        });
        match result {
            Ok((fid, attr)) => Ok((Response::Created { fid, attr }, Some(fd))),
            Err(e) => {
                let _ = unlinkat(Some(dfd.as_raw_fd()), name.as_c_str(), UnlinkatFlags::NoRemoveDir);
                Err(e)
            }
        }
    }

    fn link(&mut self, dir: Fid, name: &[u8], target: Fid) -> Op {
        let name = component(name)?;
        let (dfd, _) = self.dir_of(dir)?;
        let node = self.node(target)?;
        if node.is(libc::S_IFDIR) {
            return Err(Errno::EPERM);
        }
        let target_id = node.id;
        match &node.parent {
            Parent::Dir { fd, name: old, .. } => {
                linkat(Some(fd.as_raw_fd()), old.as_c_str(), Some(dfd.as_raw_fd()), name.as_c_str(), AtFlags::empty())?
            }
            Parent::Itself => return Err(Errno::EPERM),
            Parent::Detached => return Err(Errno::ENOENT),
        }
        let fd = lookup(&dfd, &name);
        let same = fd.as_ref().ok().and_then(|fd| stat_fd(fd.as_fd()).ok()).map(|st| id_of(&st)) == Some(target_id);
        if !same {
            // The old name no longer meant the target's inode.
            let _ = unlinkat(Some(dfd.as_raw_fd()), name.as_c_str(), UnlinkatFlags::NoRemoveDir);
            return Err(Errno::ESTALE);
        }
        let fd = fd?;
        let (fid, attr) = self.add_child_fd(dir, fd, name)?;
        ok(Response::Node { fid, attr })
    }

    fn add_child_fd(&mut self, dir: Fid, fd: OwnedFd, name: CString) -> Result<(Fid, Attr), Errno> {
        let (dfd, did) = self.dir_of(dir)?;
        self.add_node(Rc::new(fd), Parent::Dir { fd: dfd, id: did, name })
    }

    fn rename(&mut self, old_dir: Fid, old_name: &[u8], new_dir: Fid, new_name: &[u8]) -> Op {
        let old_name = component(old_name)?;
        let new_name = component(new_name)?;
        let (ofd, oid) = self.dir_of(old_dir)?;
        let (nfd, nid) = self.dir_of(new_dir)?;
        let moved = id_of(&fstatat(Some(ofd.as_raw_fd()), old_name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?);
        renameat(Some(ofd.as_raw_fd()), old_name.as_c_str(), Some(nfd.as_raw_fd()), new_name.as_c_str())?;
        if oid == nid && old_name == new_name {
            return ok(Response::Ok);
        }
        // Whatever the new name meant before is gone; what the old name
        // meant is now reached through the new one.
        self.detach(nid, &new_name, Some(moved));
        for node in self.nodes.values_mut() {
            if let Parent::Dir { id, name, .. } = &node.parent {
                if *id == oid && *name == old_name && node.id == moved {
                    node.parent = Parent::Dir { fd: Rc::clone(&nfd), id: nid, name: new_name.clone() };
                }
            }
        }
        ok(Response::Ok)
    }

    /// Marks nodes reached through `dir_id/name` as detached, except those
    /// that are the inode `keep`.
    fn detach(&mut self, dir_id: Id, name: &CStr, keep: Option<Id>) {
        for node in self.nodes.values_mut() {
            if let Parent::Dir { id, name: n, .. } = &node.parent {
                if *id == dir_id && n.as_c_str() == name && Some(node.id) != keep {
                    node.parent = Parent::Detached;
                }
            }
        }
    }

    fn setattr(&self, fid: Fid, a: &SetAttr) -> Op {
        let node = self.node(fid)?;
        let is_link = node.is(libc::S_IFLNK);
        // Validate everything before changing anything.
        if a.mode.is_some() && is_link {
            return Err(Errno::EOPNOTSUPP);
        }
        let size = match a.size {
            Some(_) if node.is(libc::S_IFDIR) => return Err(Errno::EISDIR),
            Some(_) if !node.is(libc::S_IFREG) => return Err(Errno::EINVAL),
            Some(s) => Some(i64::try_from(s).map_err(|_| Errno::EFBIG)?),
            None => None,
        };
        let times = if a.atime.is_some() || a.mtime.is_some() {
            Some((timespec(a.atime)?, timespec(a.mtime)?))
        } else {
            None
        };
        let path = proc_path(&node.fd)?;
        if let Some(mode) = a.mode {
            fchmodat(None, path.as_c_str(), Mode::from_bits_truncate(mode & 0o7777), FchmodatFlags::FollowSymlink)?;
        }
        if a.uid.is_some() || a.gid.is_some() {
            fchownat(
                Some(node.fd.as_raw_fd()),
                c"",
                a.uid.map(Uid::from_raw),
                a.gid.map(Gid::from_raw),
                AtFlags::AT_EMPTY_PATH | AtFlags::AT_SYMLINK_NOFOLLOW,
            )?;
        }
        if let Some(len) = size {
            truncate(path.as_c_str(), len)?;
        }
        if let Some((atime, mtime)) = times {
            if is_link {
                match &node.parent {
                    Parent::Dir { fd, name, .. } => utimensat(
                        Some(fd.as_raw_fd()),
                        name.as_c_str(),
                        &atime,
                        &mtime,
                        UtimensatFlags::NoFollowSymlink,
                    )?,
                    _ => return Err(Errno::ENOENT),
                }
            } else {
                utimensat(None, path.as_c_str(), &atime, &mtime, UtimensatFlags::FollowSymlink)?;
            }
        }
        ok(Response::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_rejects_what_could_escape() {
        assert_eq!(component(b""), Err(Errno::EINVAL));
        assert_eq!(component(b"."), Err(Errno::EINVAL));
        assert_eq!(component(b".."), Err(Errno::EINVAL));
        assert_eq!(component(b"a/b"), Err(Errno::EINVAL));
        assert_eq!(component(b"/"), Err(Errno::EINVAL));
        assert_eq!(component(b"a\0"), Err(Errno::EINVAL));
        assert_eq!(component(&[b'a'; 256]), Err(Errno::ENAMETOOLONG));
        assert!(component(&[b'a'; 255]).is_ok());
        assert!(component(b"..a").is_ok());
    }

    #[test]
    fn xattr_names_outside_user_namespace_are_refused() {
        assert_eq!(xattr_name(b"security.capability"), Err(Errno::EOPNOTSUPP));
        assert_eq!(xattr_name(b"trusted.x"), Err(Errno::EOPNOTSUPP));
        assert_eq!(xattr_name(b""), Err(Errno::ERANGE));
        assert_eq!(xattr_name(&[b'u'; 256]), Err(Errno::ERANGE));
        assert!(xattr_name(b"user.x").is_ok());
    }

    #[test]
    fn timespec_accepts_only_valid_nanoseconds() {
        assert!(timespec(Some((1, 999_999_999))).is_ok());
        assert!(timespec(Some((1, libc::UTIME_NOW))).is_ok());
        assert!(timespec(Some((1, libc::UTIME_OMIT))).is_ok());
        assert_eq!(timespec(Some((1, 1_000_000_000))), Err(Errno::EINVAL));
        assert_eq!(timespec(Some((1, -1))), Err(Errno::EINVAL));
    }

    #[test]
    fn mutating_requests_are_classified() {
        assert!(is_mutating(&Request::Unlink { dir: 1, name: b"x".to_vec(), flags: 0 }));
        assert!(!is_mutating(&Request::Walk { dir: 1, name: b"x".to_vec() }));
        assert!(!is_mutating(&Request::Open { fid: 1, flags: 0 }));
    }
}
