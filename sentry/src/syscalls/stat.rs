//! stat, statx, statfs and access(2) families.

use super::file::{read_path, resolve_at, AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::vfs::path::Follow;
use crate::vfs::Attr;
use bytemuck::{Pod, Zeroable};

/// `struct stat` (x86-64).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default)]
#[allow(missing_docs)]
pub struct LinuxStat {
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub pad0: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime: i64,
    pub atime_nsec: i64,
    pub mtime: i64,
    pub mtime_nsec: i64,
    pub ctime: i64,
    pub ctime_nsec: i64,
    pub reserved: [i64; 3],
}

fn to_stat(a: &Attr) -> LinuxStat {
    LinuxStat {
        dev: a.dev,
        ino: a.ino,
        nlink: a.nlink,
        mode: a.mode,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        size: a.size as i64,
        blksize: a.blksize.max(1) as i64,
        blocks: a.blocks as i64,
        atime: a.atime.0,
        atime_nsec: a.atime.1,
        mtime: a.mtime.0,
        mtime_nsec: a.mtime.1,
        ctime: a.ctime.0,
        ctime_nsec: a.ctime.1,
        ..Default::default()
    }
}

fn stat_at(t: &Task, dirfd: i32, path: &[u8], flags: u64) -> KResult<Attr> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x2000 | 0x4000 | 0x6000) != 0 {
        return Err(Errno::EINVAL);
    }
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return t.fs_cwd().inode().stat();
        }
        return t.fds().get(dirfd)?.inode.stat();
    }
    let follow = if flags & AT_SYMLINK_NOFOLLOW != 0 { Follow::No } else { Follow::Yes };
    resolve_at(t, dirfd, path, follow)?.inode().stat()
}

/// Implements stat(2).
pub fn sys_stat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    let st = stat_at(sc.task, AT_FDCWD, &p, 0)?;
    sc.task.mm().write_val(a[1], &to_stat(&st))?;
    Ok(0)
}

/// Implements lstat(2).
pub fn sys_lstat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    let st = stat_at(sc.task, AT_FDCWD, &p, AT_SYMLINK_NOFOLLOW)?;
    sc.task.mm().write_val(a[1], &to_stat(&st))?;
    Ok(0)
}

/// Implements fstat(2).
pub fn sys_fstat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = sc.task.fds().get(a[0] as i32)?;
    let st = f.inode.stat()?;
    sc.task.mm().write_val(a[1], &to_stat(&st))?;
    Ok(0)
}

/// Implements newfstatat(2).
pub fn sys_newfstatat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    let st = stat_at(sc.task, a[0] as i32, &p, a[3])?;
    sc.task.mm().write_val(a[2], &to_stat(&st))?;
    Ok(0)
}

/// Implements statx(2).
pub fn sys_statx(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    // STATX__RESERVED in the mask; flags beyond AT_SYMLINK_NOFOLLOW,
    // AT_NO_AUTOMOUNT, AT_EMPTY_PATH and the sync type; both sync types.
    const FLAGS: u64 = 0x100 | 0x800 | 0x1000 | 0x6000;
    if a[3] & 0x8000_0000 != 0 || a[2] & !FLAGS != 0 || a[2] & 0x6000 == 0x6000 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(sc.task, a[0] as i32, &p, a[2] & !0x6800)?;
    let mut b = [0u8; 256];
    let put32 = |b: &mut [u8], o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_ne_bytes());
    let put64 = |b: &mut [u8], o: usize, v: u64| b[o..o + 8].copy_from_slice(&v.to_ne_bytes());
    put32(&mut b, 0, 0x7ff); // STATX_BASIC_STATS
    put32(&mut b, 4, st.blksize as u32);
    put32(&mut b, 16, st.nlink as u32);
    put32(&mut b, 20, st.uid);
    put32(&mut b, 24, st.gid);
    b[28..30].copy_from_slice(&(st.mode as u16).to_ne_bytes());
    put64(&mut b, 32, st.ino);
    put64(&mut b, 40, st.size);
    put64(&mut b, 48, st.blocks);
    for (o, t) in [(64, st.atime), (96, st.ctime), (112, st.mtime)] {
        put64(&mut b, o, t.0 as u64);
        put32(&mut b, o + 8, t.1 as u32);
    }
    put32(&mut b, 128, (st.rdev >> 8) as u32);
    put32(&mut b, 132, (st.rdev & 0xff) as u32);
    put32(&mut b, 136, (st.dev >> 8) as u32);
    put32(&mut b, 140, (st.dev & 0xff) as u32);
    sc.task.mm().copy_out(a[4], &b)?;
    Ok(0)
}

fn access_check(t: &Task, dirfd: i32, path: &[u8], m: u64, flags: u64) -> KResult<u64> {
    if m & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = if flags & AT_SYMLINK_NOFOLLOW != 0 { Follow::No } else { Follow::Yes };
    let loc = resolve_at(t, dirfd, path, follow)?;
    let a = loc.inode().stat()?;
    // The check is made with the real ids, or the effective ones with
    // AT_EACCESS (0x200), as access(2) describes.
    let c = t.creds();
    let (uid, gid) = if flags & 0x200 != 0 { (c.euid, c.egid) } else { (c.uid, c.gid) };
    if uid == 0 {
        // Root may read and write anything, and execute what has an x bit.
        if m & 1 != 0 && a.mode & 0o111 == 0 && !a.is_dir() {
            return Err(Errno::EACCES);
        }
    } else {
        let granted = if uid == a.uid {
            a.mode >> 6
        } else if gid == a.gid || c.groups.contains(&a.gid) {
            a.mode >> 3
        } else {
            a.mode
        } & 7;
        if m as u32 & !granted != 0 {
            return Err(Errno::EACCES);
        }
    }
    // Write access to a file, directory or symlink of a read-only mount.
    let k = a.kind();
    if m & 2 != 0 && (k == crate::vfs::mode::S_IFREG || k == crate::vfs::mode::S_IFDIR || k == crate::vfs::mode::S_IFLNK) {
        crate::vfs::mount::writable(&loc)?;
    }
    Ok(0)
}

/// Implements access(2).
pub fn sys_access(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    access_check(sc.task, AT_FDCWD, &p, a[1], 0)
}

/// Implements faccessat(2).
pub fn sys_faccessat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    access_check(sc.task, a[0] as i32, &p, a[2], 0)
}

/// Implements faccessat2(2).
pub fn sys_faccessat2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[3] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x200) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = read_path(sc.task, a[1])?;
    access_check(sc.task, a[0] as i32, &p, a[2], a[3])
}

/// Write a `struct statfs` for `inode`, in the mount `at` is in (its
/// type gives synthetic filesystems their magic number; a read-only mount
/// sets ST_RDONLY).
fn statfs_out(t: &Task, inode: &dyn crate::vfs::Inode, at: Option<&crate::vfs::path::Location>, addr: u64) -> KResult<u64> {
    let mut f = inode.statfs()?;
    if let Some(l) = at {
        let m = l.ns.mount_of(l);
        match m.fstype.as_str() {
            "proc" => f.magic = 0x9fa0,
            "sysfs" => f.magic = 0x6265_6572,
            "devpts" => f.magic = 0x1cd1,
            "tmpfs" => f.magic = crate::vfs::TMPFS_MAGIC,
            _ => {}
        }
        if m.read_only() {
            f.flags |= 1; // ST_RDONLY
        }
    }
    let mut v = [0u64; 15];
    v[0] = f.magic;
    v[1] = f.bsize;
    v[2] = f.blocks;
    v[3] = f.bfree;
    v[4] = f.bavail;
    v[5] = f.files;
    v[6] = f.ffree;
    v[8] = f.namelen;
    v[9] = f.frsize;
    v[10] = f.flags;
    t.mm().write_val(addr, &v)?;
    Ok(0)
}

/// Implements statfs(2).
pub fn sys_statfs(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    let loc = resolve_at(sc.task, AT_FDCWD, &p, Follow::Yes)?;
    statfs_out(sc.task, loc.inode().as_ref(), Some(&loc), a[1])
}

/// Implements fstatfs(2).
pub fn sys_fstatfs(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = sc.task.fds().get(a[0] as i32)?;
    statfs_out(sc.task, f.inode.as_ref(), f.at.get(), a[1])
}
