//! Directfs: the sentry's read-only fast path to the served tree.
//!
//! Instead of one gofer message per lookup, open and listing, the gofer
//! donates one `O_PATH` fd for the root of the tree and the sentry reaches
//! everything beneath it with host `*at` calls of its own, under the same
//! rules the server keeps (see [`crate::server`]):
//! - every name is one validated component (no '/', no NUL, not "." or
//!   ".."), looked up relative to a directory fd already beneath the root;
//! - symlinks are never followed (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`): the
//!   sentry resolves them itself;
//! - a file is opened only through its parent and name, and the result must
//!   be the inode that was looked up (ESTALE otherwise);
//! - device nodes are never opened (EACCES), sockets neither (ENXIO);
//! - only reads: nothing here creates, changes or removes a host file.
//!
//! What keeps a compromised sentry from climbing out with `".."` is not this
//! module but the mounts the root fd lives in (docs/architecture.md,
//! "Directfs").

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, AtFlags, FcntlArg, OFlag};
use nix::sys::stat::{fstatat, FileStat, Mode};

use crate::protocol::*;
use crate::sys;

/// A file's identity: (device, inode).
pub type Id = (u64, u64);

/// Validates a path component.
pub(crate) fn component(name: &[u8]) -> Result<CString, Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EINVAL);
    }
    CString::new(name).map_err(|_| Errno::EINVAL)
}


pub(crate) fn stat_fd(fd: BorrowedFd<'_>) -> Result<FileStat, Errno> {
    fstatat(Some(fd.as_raw_fd()), c"", AtFlags::AT_EMPTY_PATH | AtFlags::AT_SYMLINK_NOFOLLOW)
}

fn to_u64<T: TryInto<u64>>(v: T) -> u64 {
    v.try_into().unwrap_or(0)
}

fn to_i64<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(0)
}

pub(crate) fn attr(st: &FileStat) -> Attr {
    Attr {
        ino: to_u64(st.st_ino),
        dev: to_u64(st.st_dev),
        mode: st.st_mode,
        nlink: to_u64(st.st_nlink),
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: to_u64(st.st_rdev),
        size: to_u64(st.st_size),
        blksize: to_u64(st.st_blksize),
        blocks: to_u64(st.st_blocks),
        atime_sec: to_i64(st.st_atime),
        atime_nsec: to_i64(st.st_atime_nsec),
        mtime_sec: to_i64(st.st_mtime),
        mtime_nsec: to_i64(st.st_mtime_nsec),
        ctime_sec: to_i64(st.st_ctime),
        ctime_nsec: to_i64(st.st_ctime_nsec),
    }
}

pub(crate) fn id_of(st: &FileStat) -> Id {
    (to_u64(st.st_dev), to_u64(st.st_ino))
}

/// The entries of the directory `dir` (an fd of the directory itself),
/// without "." and "..": getdents64 straight into a buffer on a fresh fd
/// (open, the reads, close: no fdopendir's fstat and fcntls, no rewind).
pub fn list(dir: &OwnedFd) -> Result<Vec<DirEntry>, Errno> {
    let fd = sys::openat(
        dir.as_fd(),
        c".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // The thread's own buffer, kept from one listing to the next (zeroing
    // a fresh 32 KB buffer cost a few microseconds a directory).
    thread_local!(static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 32 * 1024]));
    BUF.with(|b| {
        let mut buf = b.borrow_mut();
        let mut out = Vec::new();
        loop {
            let n = sys::getdents64(fd.as_fd(), &mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            // (A record takes at least 24 bytes.)
            out.reserve(n / 24);
            for (ino, kind, name) in sys::dirents(&buf[..n]) {
                if name != b"." && name != b".." {
                    out.push(DirEntry { name: name.to_vec(), ino, kind });
                }
            }
        }
    })
}

/// Looks up `name` beneath the directory `dir`: its attributes, and for a
/// directory an `O_PATH` fd of its own (the `dir` of its children).
pub fn walk(dir: BorrowedFd<'_>, name: &[u8]) -> Result<(Attr, Option<OwnedFd>), Errno> {
    let name = component(name)?;
    let st = fstatat(Some(dir.as_raw_fd()), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Ok((attr(&st), None));
    }
    let fd = sys::openat(
        dir,
        &name,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // The fd's own attributes: the name may have changed in between.
    let st = stat_fd(fd.as_fd())?;
    Ok((attr(&st), Some(fd)))
}

/// Opens the file `name` of `dir` (`c"."` for `dir` itself) with `O_*`
/// `flags`, never following a symlink, and checks that it is still the
/// file `id` of type `kind` (`S_IFMT` bits) that was looked up. `O_PATH`
/// opens any type; otherwise only regular files, directories and FIFOs
/// open, as through the gofer.
pub fn open_beneath(dir: BorrowedFd<'_>, name: &CStr, kind: u32, id: Id, flags: i32) -> Result<OwnedFd, Errno> {
    let o_path = flags & libc::O_PATH != 0;
    if !o_path {
        match kind {
            libc::S_IFREG | libc::S_IFDIR | libc::S_IFIFO => {}
            libc::S_IFLNK => return Err(Errno::ELOOP),
            libc::S_IFSOCK => return Err(Errno::ENXIO),
            // As on a nodev mount: host devices stay out of reach.
            _ => return Err(Errno::EACCES),
        }
    }
    // O_NONBLOCK during the open itself, so a FIFO (or a file swapped for
    // one) cannot block; cleared again below.
    let forced = OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NOCTTY
        | if o_path { OFlag::empty() } else { OFlag::O_NONBLOCK };
    let fd = sys::openat(dir, name, OFlag::from_bits_retain(flags) | forced, Mode::empty())?;
    if id_of(&stat_fd(fd.as_fd())?) != id {
        return Err(Errno::ESTALE);
    }
    if !o_path && flags & libc::O_NONBLOCK == 0 {
        let fl = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)?;
        fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(OFlag::from_bits_retain(fl & !libc::O_NONBLOCK)))?;
    }
    Ok(fd)
}

/// Opens the regular file `name` of `dir` read-only for the sentry's own
/// reads (directfs), checking it is still the file `id`: two host calls.
/// Unlike [`open_beneath`] it leaves O_NONBLOCK set (it changes nothing
/// for a regular file's reads), which spares the F_GETFL/F_SETFL pair per
/// file; anything that turns out not to be a regular file is refused.
pub fn open_regular_read(dir: BorrowedFd<'_>, name: &CStr, id: Id) -> Result<OwnedFd, Errno> {
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NOCTTY | OFlag::O_NONBLOCK;
    let fd = sys::openat(dir, name, flags, Mode::empty())?;
    let st = stat_fd(fd.as_fd())?;
    if id_of(&st) != id || st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Errno::ESTALE);
    }
    Ok(fd)
}

/// The attributes of the file `fd` itself (such as the donated root).
pub fn stat(fd: BorrowedFd<'_>) -> Result<Attr, Errno> {
    Ok(attr(&stat_fd(fd)?))
}

/// The target of the symlink `name` of `dir`.
pub fn readlink(dir: BorrowedFd<'_>, name: &CStr) -> Result<Vec<u8>, Errno> {
    let t = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), name)?;
    Ok(std::os::unix::ffi::OsStringExt::into_vec(t))
}

/// Filesystem statistics of the filesystem holding `fd`.
pub fn statfs(fd: BorrowedFd<'_>) -> Result<StatFs, Errno> {
    sys::fstatfs(fd)
}

/// The `user.*` extended attributes of the file `name` of `dir` (a
/// regular file or directory: Linux allows no user.* attributes on
/// anything else), as (name, value) pairs.
pub fn user_xattrs(dir: BorrowedFd<'_>, name: &CStr, kind: u32, id: Id) -> Result<Vec<(Vec<u8>, Vec<u8>)>, Errno> {
    if kind != libc::S_IFREG && kind != libc::S_IFDIR {
        return Ok(Vec::new());
    }
    let fd = open_beneath(dir, name, kind, id, libc::O_RDONLY | libc::O_NONBLOCK)?;
    let mut buf = vec![0u8; XATTR_SIZE_MAX];
    let n = sys::flistxattr(fd.as_fd(), &mut buf)?;
    let names: Vec<Vec<u8>> = buf[..n.min(buf.len())]
        .split(|&b| b == 0)
        .filter(|n| n.starts_with(b"user."))
        .map(<[u8]>::to_vec)
        .collect();
    let mut out = Vec::new();
    for n in names {
        let Ok(c) = CString::new(n.clone()) else { continue };
        match sys::fgetxattr(fd.as_fd(), &c, &mut buf) {
            Ok(len) => out.push((n, buf[..len.min(buf.len())].to_vec())),
            // Removed in between.
            Err(Errno::ENODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_matches_the_host_listing_with_types() {
        let dir = std::env::temp_dir().join(format!("gofer-list-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        // Enough long names for more than one getdents64 buffer.
        let mut want = vec![("sub".to_string(), libc::DT_DIR)];
        for i in 0..400 {
            let name = format!("file-{i:03}-{}", "x".repeat(100));
            std::fs::write(dir.join(&name), b"").unwrap();
            want.push((name, libc::DT_REG));
        }
        std::os::unix::fs::symlink("sub", dir.join("link")).unwrap();
        want.push(("link".to_string(), libc::DT_LNK));
        let fd = sys::open(&dir, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC).unwrap();
        let mut got: Vec<(String, u8)> =
            list(&fd).unwrap().into_iter().map(|e| (String::from_utf8(e.name).unwrap(), e.kind)).collect();
        got.sort();
        want.sort();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn dirents_stop_at_a_record_that_does_not_fit() {
        // One record: ino 7, reclen 24, DT_REG, "ab"; then a torn one.
        let mut buf = vec![0u8; 24];
        buf[..8].copy_from_slice(&7u64.to_ne_bytes());
        buf[16..18].copy_from_slice(&24u16.to_ne_bytes());
        buf[18] = libc::DT_REG;
        buf[19..21].copy_from_slice(b"ab");
        buf.extend_from_slice(&[0u8; 16]);
        buf.extend_from_slice(&200u16.to_ne_bytes());
        let got: Vec<_> = sys::dirents(&buf).collect();
        assert_eq!(got, vec![(7, libc::DT_REG, &b"ab"[..])]);
    }
}
