//! Attribute changes: chmod, chown, umask, truncate, utimensat.

use super::file::{get_file, read_path, resolve_at, AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::vfs::path::Follow;
use crate::vfs::SetAttr;

fn setattr_at(t: &Task, dirfd: i32, path: &[u8], follow: Follow, sa: SetAttr) -> KResult<u64> {
    let loc = resolve_at(t, dirfd, path, follow)?;
    crate::vfs::mount::writable(&loc)?;
    setattr_checked(t, loc.inode().as_ref(), sa)?;
    attrib(&loc);
    Ok(0)
}

/// inotify: the attributes of the file at `loc` changed.
fn attrib(loc: &crate::vfs::path::Location) {
    if !crate::fs::inotify::active() {
        return;
    }
    let n = loc.inodes.len();
    let parent = (n >= 2).then(|| (crate::fs::inotify::key(&loc.inodes[n - 2]), loc.names.last().cloned().unwrap_or_default()));
    crate::fs::inotify::notify_both(crate::fs::inotify::key(loc.inode()), parent.as_ref(), crate::fs::inotify::IN_ATTRIB);
}

/// Apply `sa` to `inode` if the caller may: chmod and explicit times by
/// the owner (EPERM), times set to now also with write permission
/// (EACCES), chown by the rules of perm::may_chown. A mode or owner change
/// by anyone but root drops the set-id bits as Linux does.
fn setattr_checked(t: &Task, inode: &dyn crate::vfs::Inode, mut sa: SetAttr) -> KResult<u64> {
    use crate::vfs::perm;
    let c = t.creds();
    let a = inode.stat()?;
    if let Some(m) = sa.mode {
        if !perm::owner_or_root(&c, &a) {
            return Err(Errno::EPERM);
        }
        // Not in the file's group: no set-gid bit.
        if c.euid != 0 && a.gid != c.egid && !c.groups.contains(&a.gid) {
            sa.mode = Some(m & !crate::vfs::mode::S_ISGID);
        }
    }
    if sa.uid.is_some() || sa.gid.is_some() {
        perm::may_chown(&c, &a, sa.uid, sa.gid)?;
        if c.euid != 0 && a.kind() == crate::vfs::mode::S_IFREG && sa.mode.is_none() {
            let mut m = a.mode & 0o7777 & !crate::vfs::mode::S_ISUID;
            if m & 0o010 != 0 {
                m &= !crate::vfs::mode::S_ISGID;
            }
            if m != a.mode & 0o7777 {
                sa.mode = Some(m);
            }
        }
    }
    inode.setattr(&sa)?;
    Ok(0)
}

/// The check of utimensat: explicit times need the owner (EPERM), "now"
/// the owner or write permission (EACCES).
fn may_set_times(t: &Task, inode: &dyn crate::vfs::Inode, explicit: bool) -> KResult<()> {
    use crate::vfs::perm;
    let c = t.creds();
    let a = inode.stat()?;
    if perm::owner_or_root(&c, &a) {
        return Ok(());
    }
    if explicit {
        return Err(Errno::EPERM);
    }
    perm::check(&c, &a, perm::MAY_WRITE)
}

/// Implements chmod(2).
pub fn sys_chmod(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    setattr_at(sc.task, AT_FDCWD, &p, Follow::Yes, SetAttr { mode: Some(a[1] as u32), ..Default::default() })
}

/// Implements fchmod(2).
pub fn sys_fchmod(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    fd_writable(&f)?;
    setattr_checked(sc.task, f.inode.as_ref(), SetAttr { mode: Some(a[1] as u32), ..Default::default() })
}

/// EROFS for a file opened in a read-only mount.
fn fd_writable(f: &crate::vfs::File) -> KResult<()> {
    match f.at.get() {
        Some(at) => crate::vfs::mount::writable(at),
        None => Ok(()),
    }
}

/// Implements fchmodat2(2): fchmodat with flags.
pub fn sys_fchmodat2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[3] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = read_path(sc.task, a[1])?;
    let sa = SetAttr { mode: Some(a[2] as u32), ..Default::default() };
    if p.is_empty() && a[3] & AT_EMPTY_PATH != 0 {
        let f = sc.task.fds().get(a[0] as i32)?;
        fd_writable(&f)?;
        return setattr_checked(sc.task, f.inode.as_ref(), sa);
    }
    if a[3] & AT_SYMLINK_NOFOLLOW != 0 {
        // Linux changes no symlink's mode.
        let loc = resolve_at(sc.task, a[0] as i32, &p, Follow::No)?;
        if loc.inode().stat()?.kind() == crate::vfs::mode::S_IFLNK {
            return Err(Errno::EOPNOTSUPP);
        }
        return setattr_at(sc.task, a[0] as i32, &p, Follow::No, sa);
    }
    setattr_at(sc.task, a[0] as i32, &p, Follow::Yes, sa)
}

/// Implements fchmodat(2).
pub fn sys_fchmodat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    setattr_at(sc.task, a[0] as i32, &p, Follow::Yes, SetAttr { mode: Some(a[2] as u32), ..Default::default() })
}

fn owner(u: u64, g: u64) -> SetAttr {
    SetAttr {
        uid: (u as u32 != u32::MAX).then_some(u as u32),
        gid: (g as u32 != u32::MAX).then_some(g as u32),
        ..Default::default()
    }
}

/// Implements chown(2).
pub fn sys_chown(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    setattr_at(sc.task, AT_FDCWD, &p, Follow::Yes, owner(a[1], a[2]))
}

/// Implements lchown(2).
pub fn sys_lchown(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    setattr_at(sc.task, AT_FDCWD, &p, Follow::No, owner(a[1], a[2]))
}

/// Implements fchown(2).
pub fn sys_fchown(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    setattr_checked(sc.task, f.inode.as_ref(), owner(a[1], a[2]))
}

/// Implements fchownat(2).
pub fn sys_fchownat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    if p.is_empty() && a[4] & AT_EMPTY_PATH != 0 {
        let f = sc.task.fds().get(a[0] as i32)?;
        fd_writable(&f)?;
        return setattr_checked(sc.task, f.inode.as_ref(), owner(a[2], a[3]));
    }
    let follow = if a[4] & AT_SYMLINK_NOFOLLOW != 0 { Follow::No } else { Follow::Yes };
    setattr_at(sc.task, a[0] as i32, &p, follow, owner(a[2], a[3]))
}

/// Implements umask(2).
pub fn sys_umask(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let fs = sc.task.fs_shared();
    let mut g = fs.lock().unwrap_or_else(|e| e.into_inner());
    let old = g.umask;
    g.umask = a[0] as u32 & 0o777;
    Ok(old as u64)
}

/// Implements truncate(2).
pub fn sys_truncate(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let loc = resolve_at(sc.task, AT_FDCWD, &p, Follow::Yes)?;
    let attr = loc.inode().stat()?;
    if attr.is_dir() {
        return Err(Errno::EISDIR);
    }
    crate::vfs::mount::writable(&loc)?;
    crate::vfs::perm::check(&sc.task.creds(), &attr, crate::vfs::perm::MAY_WRITE)?;
    loc.inode().setattr(&SetAttr { size: Some(a[1]), ..Default::default() })?;
    Ok(0)
}

/// Implements ftruncate(2).
pub fn sys_ftruncate(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    if (a[1] as i64) < 0 || !f.writable() {
        return Err(Errno::EINVAL);
    }
    f.inode.setattr(&SetAttr { size: Some(a[1]), ..Default::default() })?;
    Ok(0)
}

/// Implements utimensat(2).
pub fn sys_utimensat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let now = crate::vfs::now();
    let mut explicit = false;
    let (at, mt) = if a[2] == 0 {
        (Some(now), Some(now))
    } else {
        let ts: [[i64; 2]; 2] = sc.task.mm().read_val(a[2])?;
        let conv = |t: [i64; 2]| -> KResult<Option<(i64, i64)>> {
            match t[1] {
                UTIME_NOW => Ok(Some(now)),
                UTIME_OMIT => Ok(None),
                n if (0..1_000_000_000).contains(&n) => Ok(Some((t[0], n))),
                _ => Err(Errno::EINVAL),
            }
        };
        explicit = ts.iter().any(|t| t[1] != UTIME_NOW && t[1] != UTIME_OMIT);
        (conv(ts[0])?, conv(ts[1])?)
    };
    let follow = if a[3] & AT_SYMLINK_NOFOLLOW != 0 { Follow::No } else { Follow::Yes };
    set_times(sc.task, a[0] as i32, a[1], (at, mt), explicit, follow)
}

/// Set the access and modification times of `path_addr` (0: the file of
/// `dirfd` itself) after the ownership check.
fn set_times(t: &Task, dirfd: i32, path_addr: u64, times: (Option<(i64, i64)>, Option<(i64, i64)>), explicit: bool, follow: Follow) -> KResult<u64> {
    let sa = SetAttr { atime: times.0, mtime: times.1, ..Default::default() };
    if path_addr == 0 {
        let f = t.fds().get(dirfd)?;
        may_set_times(t, f.inode.as_ref(), explicit)?;
        f.inode.setattr(&sa)?;
        return Ok(0);
    }
    let p = read_path(t, path_addr)?;
    let loc = resolve_at(t, dirfd, &p, follow)?;
    crate::vfs::mount::writable(&loc)?;
    may_set_times(t, loc.inode().as_ref(), explicit)?;
    loc.inode().setattr(&sa)?;
    Ok(0)
}

/// utimes and futimesat: two struct timevals, or NULL for now.
fn timevals(t: &Task, dirfd: i32, path_addr: u64, tv_addr: u64) -> KResult<u64> {
    if tv_addr == 0 {
        let now = crate::vfs::now();
        return set_times(t, dirfd, path_addr, (Some(now), Some(now)), false, Follow::Yes);
    }
    let tv: [[i64; 2]; 2] = t.mm().read_val(tv_addr)?;
    let conv = |v: [i64; 2]| -> KResult<(i64, i64)> {
        if !(0..1_000_000).contains(&v[1]) {
            return Err(Errno::EINVAL);
        }
        Ok((v[0], v[1] * 1000))
    };
    set_times(t, dirfd, path_addr, (Some(conv(tv[0])?), Some(conv(tv[1])?)), true, Follow::Yes)
}

/// Implements utimes(2).
pub fn sys_utimes(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] == 0 {
        return Err(Errno::EFAULT);
    }
    timevals(sc.task, AT_FDCWD, a[0], a[1])
}

/// Implements futimesat(2).
pub fn sys_futimesat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    timevals(sc.task, a[0] as i32, a[1], a[2])
}

/// Implements utime(2): a struct utimbuf of seconds, or NULL for now.
pub fn sys_utime(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] == 0 {
        return Err(Errno::EFAULT);
    }
    if a[1] == 0 {
        let now = crate::vfs::now();
        return set_times(sc.task, AT_FDCWD, a[0], (Some(now), Some(now)), false, Follow::Yes);
    }
    let b: [i64; 2] = sc.task.mm().read_val(a[1])?;
    set_times(sc.task, AT_FDCWD, a[0], (Some((b[0], 0)), Some((b[1], 0))), true, Follow::Yes)
}

/// Implements fallocate(2) on regular files: mode 0 and FALLOC_FL_KEEP_SIZE
/// reserve (the memory layer has nothing to reserve; mode 0 extends the
/// size), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE zeroes the range.
pub fn sys_fallocate(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const KEEP_SIZE: u64 = 1;
    const PUNCH_HOLE: u64 = 2;
    let f = get_file(sc.task, a[0])?;
    let (m, off, len) = (a[1] as u32 as u64, a[2] as i64, a[3] as i64);
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if m & !(KEEP_SIZE | PUNCH_HOLE) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if m & PUNCH_HOLE != 0 && m & KEEP_SIZE == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let attr = f.inode.stat()?;
    if attr.is_dir() {
        return Err(Errno::EISDIR);
    }
    if attr.kind() != crate::vfs::mode::S_IFREG {
        return Err(if attr.kind() == crate::vfs::mode::S_IFIFO { Errno::ESPIPE } else { Errno::ENODEV });
    }
    let end = (off as u64).checked_add(len as u64).filter(|&e| e <= i64::MAX as u64).ok_or(Errno::EFBIG)?;
    // A memory file sealed against growth: not even reserving past its end.
    if end > attr.size && f.inode.seals().is_ok_and(|s| s & crate::vfs::seals::F_SEAL_GROW != 0) {
        return Err(Errno::EPERM);
    }
    if m & PUNCH_HOLE != 0 {
        let from = (off as u64).min(attr.size);
        let to = end.min(attr.size);
        // Zeros a megabyte at a time (the range may be terabytes of a
        // sparse file).
        let zeros = vec![0u8; (to.saturating_sub(from)).min(1 << 20) as usize];
        let mut at = from;
        while at < to {
            let n = (to - at).min(zeros.len() as u64) as usize;
            match super::file::write_bytes(sc.task, &f, crate::vfs::Source::Kernel(&zeros[..n]), Some(at))? {
                0 => break,
                w => at += w,
            }
        }
        return Ok(0);
    }
    if m & KEEP_SIZE == 0 && end > attr.size {
        if end >= sc.task.tg.rlimit(1).cur {
            return Err(Errno::EFBIG);
        }
        f.inode.setattr(&SetAttr { size: Some(end), ..Default::default() })?;
    }
    Ok(0)
}
