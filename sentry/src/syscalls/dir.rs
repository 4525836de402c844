//! Names in directories: getdents64, cwd, mkdir, unlink, rename, link, symlink, readlink.

use super::file::{get_file, parent_at, read_path, resolve_at, AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW};
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::vfs::path::{Follow, Location};

/// Implements getdents64(2).
pub fn sys_getdents64(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    if !f.inode.stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let mut snap = f.dir_snapshot.lock().unwrap_or_else(|e| e.into_inner());
    if snap.is_none() {
        let mut v = vec![
            crate::vfs::DirEntry { name: b".".to_vec(), ino: f.inode.stat()?.ino, kind: 4 },
            crate::vfs::DirEntry { name: b"..".to_vec(), ino: 1, kind: 4 },
        ];
        v.extend(f.inode.readdir()?);
        *snap = Some(v);
    }
    let ents = snap.as_ref().ok_or(Errno::EIO)?;
    let mut pos = f.offset.lock().unwrap_or_else(|e| e.into_inner());
    let cap = a[2] as usize;
    let mut out = Vec::with_capacity(cap.min(64 * 1024));
    while (*pos as usize) < ents.len() {
        let e = &ents[*pos as usize];
        let reclen = (19 + e.name.len() + 1).div_ceil(8) * 8;
        if out.len() + reclen > cap {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        // struct linux_dirent64, written in place: d_ino, d_off, d_reclen,
        // d_type, the name, then NULs up to the 8-byte aligned length.
        let at = out.len();
        out.extend_from_slice(&e.ino.to_ne_bytes());
        out.extend_from_slice(&(*pos + 1).to_ne_bytes());
        out.extend_from_slice(&(reclen as u16).to_ne_bytes());
        out.push(e.kind);
        out.extend_from_slice(&e.name);
        out.resize(at + reclen, 0);
        *pos += 1;
    }
    sc.task.mm().copy_out(a[1], &out)?;
    Ok(out.len() as u64)
}

/// Implements getcwd(2).
pub fn sys_getcwd(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let cwd = sc.task.fs_cwd();
    let attr = cwd.inode().stat()?;
    if attr.is_dir() && attr.nlink == 0 {
        // The working directory was removed.
        return Err(Errno::ENOENT);
    }
    let mut p = cwd.path_from(&sc.task.fs_root());
    p.push(0);
    if (a[1] as usize) < p.len() {
        return Err(Errno::ERANGE);
    }
    sc.task.mm().copy_out(a[0], &p)?;
    Ok(p.len() as u64)
}

fn set_cwd(t: &Task, loc: Location) -> KResult<u64> {
    if !loc.inode().stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    t.fs_shared().lock().unwrap_or_else(|e| e.into_inner()).cwd = loc;
    Ok(0)
}

/// Implements chdir(2).
pub fn sys_chdir(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    let loc = resolve_at(sc.task, AT_FDCWD, &p, Follow::Yes)?;
    // The new working directory must be searchable.
    let a = loc.inode().stat()?;
    if a.is_dir() {
        crate::vfs::perm::check(&sc.task.creds(), &a, crate::vfs::perm::MAY_EXEC)?;
    }
    set_cwd(sc.task, loc)
}

/// Implements fchdir(2).
pub fn sys_fchdir(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = sc.task.fds().get(a[0] as i32)?;
    let loc = super::file::file_location(sc.task, &f)?;
    set_cwd(sc.task, loc)
}

/// inotify: a name was created in `p`'s directory (`isdir`: IN_ISDIR).
fn created(p: &crate::vfs::path::Parent, isdir: u32) {
    crate::fs::inotify::notify(crate::fs::inotify::key(p.dir.inode()), crate::fs::inotify::IN_CREATE | isdir, 0, &p.name);
}

fn mkdir_at(t: &Task, dirfd: i32, path: &[u8], m: u64) -> KResult<u64> {
    let p = parent_at(t, dirfd, path)?;
    if p.name.is_empty() || p.name == b"." || p.name == b".." {
        return Err(Errno::EEXIST);
    }
    let umask = t.umask();
    let c = t.creds();
    if p.dir.inode().lookup(&p.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    crate::vfs::mount::writable(&p.dir)?;
    crate::vfs::perm::may_modify_dir(&c, &p.dir.inode().stat()?)?;
    p.dir.inode().mkdir(&p.name, m as u32 & !umask & 0o7777, c.euid, c.egid)?;
    created(&p, crate::fs::inotify::IN_ISDIR);
    Ok(0)
}

fn mknod_at(t: &Task, dirfd: i32, path: &[u8], m: u64, dev: u64) -> KResult<u64> {
    use crate::vfs::mode;
    let m = m as u32;
    let kind = match m & mode::S_IFMT {
        0 => mode::S_IFREG,
        k @ (mode::S_IFREG | mode::S_IFIFO | mode::S_IFSOCK) => k,
        // Device nodes would name host devices: the sandbox makes none.
        mode::S_IFCHR | mode::S_IFBLK => return Err(Errno::EPERM),
        mode::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    };
    let p = parent_at(t, dirfd, path)?;
    if p.name.is_empty() || p.name == b"." || p.name == b".." || p.dir.inode().lookup(&p.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    let c = t.creds();
    crate::vfs::mount::writable(&p.dir)?;
    crate::vfs::perm::may_modify_dir(&c, &p.dir.inode().stat()?)?;
    let umask = t.umask();
    p.dir.inode().mknod(&p.name, kind | (m & !umask & 0o7777), dev, c.euid, c.egid)?;
    created(&p, 0);
    Ok(0)
}

/// Implements mknod(2).
pub fn sys_mknod(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    mknod_at(sc.task, AT_FDCWD, &p, a[1], a[2])
}

/// Implements mknodat(2).
pub fn sys_mknodat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    mknod_at(sc.task, a[0] as i32, &p, a[2], a[3])
}

/// Implements mkdir(2).
pub fn sys_mkdir(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    mkdir_at(sc.task, AT_FDCWD, &p, a[1])
}

/// Implements mkdirat(2).
pub fn sys_mkdirat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    mkdir_at(sc.task, a[0] as i32, &p, a[2])
}

fn unlink_at(t: &Task, dirfd: i32, path: &[u8], flags: u64) -> KResult<u64> {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let p = parent_at(t, dirfd, path)?;
    let dir = flags & AT_REMOVEDIR != 0;
    if dir {
        if p.name == b"." {
            return Err(Errno::EINVAL);
        }
        if p.name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
    } else if p.trailing_slash {
        let a = p.dir.inode().lookup(&p.name)?.stat()?;
        return Err(if a.is_dir() { Errno::EISDIR } else { Errno::ENOTDIR });
    }
    if p.name.is_empty() {
        return Err(Errno::EBUSY);
    }
    let victim_inode = p.dir.inode().lookup(&p.name)?;
    let victim = victim_inode.stat()?;
    crate::vfs::mount::writable(&p.dir)?;
    crate::vfs::perm::may_delete(&t.creds(), &p.dir.inode().stat()?, &victim)?;
    p.dir.inode().unlink(&p.name, dir)?;
    if crate::fs::inotify::active() {
        use crate::fs::inotify::{inode_gone, notify, IN_ATTRIB, IN_DELETE, IN_ISDIR};
        let isdir = if victim.is_dir() { IN_ISDIR } else { 0 };
        notify(crate::fs::inotify::key(p.dir.inode()), IN_DELETE | isdir, 0, &p.name);
        let vkey = crate::fs::inotify::key(&victim_inode);
        // The link count changed; with no link left the inode is gone.
        if !victim.is_dir() {
            notify(vkey, IN_ATTRIB, 0, b"");
        }
        if victim.is_dir() || victim_inode.stat().map(|a| a.nlink == 0).unwrap_or(true) {
            inode_gone(vkey);
        }
    }
    Ok(0)
}

/// Implements unlink(2).
pub fn sys_unlink(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    unlink_at(sc.task, AT_FDCWD, &p, 0)
}

/// Implements rmdir(2).
pub fn sys_rmdir(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    unlink_at(sc.task, AT_FDCWD, &p, AT_REMOVEDIR)
}

/// Implements unlinkat(2).
pub fn sys_unlinkat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    unlink_at(sc.task, a[0] as i32, &p, a[2])
}

const RENAME_NOREPLACE: u64 = 1;
const RENAME_EXCHANGE: u64 = 2;
const RENAME_WHITEOUT: u64 = 4;

fn rename_at(t: &Task, od: i32, op: &[u8], nd: i32, np: &[u8]) -> KResult<u64> {
    rename_flags(t, od, op, nd, np, 0)
}

fn rename_flags(t: &Task, od: i32, op: &[u8], nd: i32, np: &[u8], flags: u64) -> KResult<u64> {
    let o = parent_at(t, od, op)?;
    let n = parent_at(t, nd, np)?;
    for name in [&o.name, &n.name] {
        if name.is_empty() || *name == b"." || *name == b".." {
            return Err(Errno::EBUSY);
        }
    }
    let src = o.dir.inode().lookup(&o.name)?;
    if np.starts_with(op) && np.get(op.len()) == Some(&b'/') && src.stat()?.is_dir() {
        return Err(Errno::EINVAL);
    }
    let c = t.creds();
    crate::vfs::mount::writable(&o.dir)?;
    crate::vfs::mount::writable(&n.dir)?;
    crate::vfs::perm::may_delete(&c, &o.dir.inode().stat()?, &src.stat()?)?;
    let new_dir = n.dir.inode().stat()?;
    let existing = n.dir.inode().lookup(&n.name);
    match &existing {
        Ok(e) if flags & RENAME_NOREPLACE != 0 => {
            let _ = e;
            return Err(Errno::EEXIST);
        }
        Ok(e) => crate::vfs::perm::may_delete(&c, &new_dir, &e.stat()?)?,
        Err(_) if flags & RENAME_EXCHANGE != 0 => return Err(Errno::ENOENT),
        Err(_) => crate::vfs::perm::may_modify_dir(&c, &new_dir)?,
    }
    if flags & RENAME_EXCHANGE != 0 {
        o.dir.inode().exchange(&o.name, n.dir.inode(), &n.name)?;
    } else {
        o.dir.inode().rename(&o.name, n.dir.inode(), &n.name)?;
    }
    // Locations through the names moved show the new ones.
    crate::vfs::moves::record(&o.dir, &o.name, &src, &n.dir, &n.name);
    if let (Ok(other), true) = (&existing, flags & RENAME_EXCHANGE != 0) {
        crate::vfs::moves::record(&n.dir, &n.name, other, &o.dir, &o.name);
    }
    if crate::fs::inotify::active() {
        use crate::fs::inotify::{cookie, inode_gone, key, notify, IN_ISDIR, IN_MOVED_FROM, IN_MOVED_TO, IN_MOVE_SELF};
        let isdir = if src.stat().map(|a| a.is_dir()).unwrap_or(false) { IN_ISDIR } else { 0 };
        let c = cookie();
        notify(key(o.dir.inode()), IN_MOVED_FROM | isdir, c, &o.name);
        notify(key(n.dir.inode()), IN_MOVED_TO | isdir, c, &n.name);
        notify(key(&src), IN_MOVE_SELF, 0, b"");
        if let (Ok(replaced), 0) = (existing, flags & RENAME_EXCHANGE) {
            if replaced.stat().map(|a| a.nlink == 0 || a.is_dir()).unwrap_or(true) {
                inode_gone(key(&replaced));
            }
        }
    }
    Ok(0)
}

/// Implements rename(2).
pub fn sys_rename(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let o = read_path(sc.task, a[0])?;
    let n = read_path(sc.task, a[1])?;
    rename_at(sc.task, AT_FDCWD, &o, AT_FDCWD, &n)
}

/// Implements renameat(2).
pub fn sys_renameat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let o = read_path(sc.task, a[1])?;
    let n = read_path(sc.task, a[3])?;
    rename_at(sc.task, a[0] as i32, &o, a[2] as i32, &n)
}

/// Implements renameat2(2).
pub fn sys_renameat2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let flags = a[4];
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || (flags & RENAME_EXCHANGE != 0 && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0)
    {
        return Err(Errno::EINVAL);
    }
    // Whiteouts are the overlay's own business.
    if flags & RENAME_WHITEOUT != 0 {
        return Err(Errno::EINVAL);
    }
    let o = read_path(sc.task, a[1])?;
    let n = read_path(sc.task, a[3])?;
    rename_flags(sc.task, a[0] as i32, &o, a[2] as i32, &n, flags)
}

fn link_at(t: &Task, od: i32, op: &[u8], nd: i32, np: &[u8], flags: u64) -> KResult<u64> {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = if flags & AT_SYMLINK_FOLLOW != 0 { Follow::Yes } else { Follow::No };
    // AT_EMPTY_PATH: the file of `od` itself (an O_TMPFILE file given a
    // name, say); Linux asks CAP_DAC_READ_SEARCH for it.
    let src: std::sync::Arc<dyn crate::vfs::Inode> = if op.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if t.creds().euid != 0 {
            return Err(Errno::ENOENT);
        }
        get_file(t, od as u64)?.inode.clone()
    } else {
        resolve_at(t, od, op, follow)?.inode().clone()
    };
    if src.stat()?.is_dir() {
        return Err(Errno::EPERM);
    }
    let n = parent_at(t, nd, np)?;
    if n.dir.inode().lookup(&n.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    crate::vfs::mount::writable(&n.dir)?;
    crate::vfs::perm::may_modify_dir(&t.creds(), &n.dir.inode().stat()?)?;
    let src_key = crate::fs::inotify::key(&src);
    n.dir.inode().link(&n.name, src)?;
    created(&n, 0);
    crate::fs::inotify::notify(src_key, crate::fs::inotify::IN_ATTRIB, 0, b"");
    Ok(0)
}

/// Implements link(2).
pub fn sys_link(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let o = read_path(sc.task, a[0])?;
    let n = read_path(sc.task, a[1])?;
    link_at(sc.task, AT_FDCWD, &o, AT_FDCWD, &n, 0)
}

/// Implements linkat(2).
pub fn sys_linkat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let o = read_path(sc.task, a[1])?;
    let n = read_path(sc.task, a[3])?;
    link_at(sc.task, a[0] as i32, &o, a[2] as i32, &n, a[4])
}

fn symlink_at(t: &Task, target: &[u8], nd: i32, np: &[u8]) -> KResult<u64> {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let n = parent_at(t, nd, np)?;
    let c = t.creds();
    if n.dir.inode().lookup(&n.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    crate::vfs::mount::writable(&n.dir)?;
    crate::vfs::perm::may_modify_dir(&c, &n.dir.inode().stat()?)?;
    n.dir.inode().symlink(&n.name, target, c.euid, c.egid)?;
    created(&n, 0);
    Ok(0)
}

/// Implements symlink(2).
pub fn sys_symlink(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let tg = read_path(sc.task, a[0])?;
    let n = read_path(sc.task, a[1])?;
    symlink_at(sc.task, &tg, AT_FDCWD, &n)
}

/// Implements symlinkat(2).
pub fn sys_symlinkat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let tg = read_path(sc.task, a[0])?;
    let n = read_path(sc.task, a[2])?;
    symlink_at(sc.task, &tg, a[1] as i32, &n)
}

fn readlink_at(t: &Task, dirfd: i32, path: &[u8], buf: u64, size: u64) -> KResult<u64> {
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    let loc = resolve_at(t, dirfd, path, Follow::No)?;
    let target = loc.inode().readlink()?;
    let n = target.len().min(size as usize);
    t.mm().copy_out(buf, &target[..n])?;
    Ok(n as u64)
}

/// Implements readlink(2).
pub fn sys_readlink(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    readlink_at(sc.task, AT_FDCWD, &p, a[1], a[2])
}

/// Implements readlinkat(2).
pub fn sys_readlinkat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    readlink_at(sc.task, a[0] as i32, &p, a[2], a[3])
}
