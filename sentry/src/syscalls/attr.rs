//! Attribute changes: chmod, chown, umask, truncate, utimensat.

use super::file::{get_file, read_path, resolve_at, AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::vfs::path::Follow;
use crate::vfs::SetAttr;

fn setattr_at(t: &Task, dirfd: i32, path: &[u8], follow: Follow, sa: SetAttr) -> KResult<u64> {
    let loc = resolve_at(t, dirfd, path, follow)?;
    setattr_checked(t, loc.inode().as_ref(), sa)
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
    setattr_checked(sc.task, f.inode.as_ref(), SetAttr { mode: Some(a[1] as u32), ..Default::default() })
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
    let sa = SetAttr { atime: at, mtime: mt, ..Default::default() };
    if a[1] == 0 {
        let f = sc.task.fds().get(a[0] as i32)?;
        may_set_times(sc.task, f.inode.as_ref(), explicit)?;
        f.inode.setattr(&sa)?;
        return Ok(0);
    }
    let p = read_path(sc.task, a[1])?;
    let follow = if a[3] & AT_SYMLINK_NOFOLLOW != 0 { Follow::No } else { Follow::Yes };
    let loc = resolve_at(sc.task, a[0] as i32, &p, follow)?;
    may_set_times(sc.task, loc.inode().as_ref(), explicit)?;
    loc.inode().setattr(&sa)?;
    Ok(0)
}
