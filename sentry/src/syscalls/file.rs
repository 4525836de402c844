//! File syscalls: open, read, write, stat, directories, links, pipes, fds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytemuck::{Pod, Zeroable};

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::fs::pipe::Pipe;
use crate::kernel::task::Task;
use crate::vfs::oflags::*;
use crate::vfs::path::{Follow, Location, Parent, PATH_MAX};
use crate::vfs::{mode, Attr, File, Inode, PathOnly, SetAttr};

const AT_FDCWD: i32 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
const AT_EMPTY_PATH: u64 = 0x1000;

fn read_path(t: &Task, addr: u64) -> KResult<Vec<u8>> {
    let p = t.mm().read_cstring(addr, PATH_MAX)?;
    if p.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(p)
}

/// The location `dirfd` designates as a start for relative paths.
fn start_loc(t: &Task, dirfd: i32, path: &[u8]) -> KResult<Location> {
    let fs = t.fs();
    if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
        return Ok(fs.cwd);
    }
    let f = t.fds().get(dirfd)?;
    let a = f.inode.stat()?;
    if !a.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    // Re-resolve the description's path: locations are path based.
    t.kernel.resolve(&fs.root, &fs.root, &f.path, Follow::Yes)
}

/// Resolve a path argument relative to dirfd.
pub fn resolve_at(t: &Task, dirfd: i32, path: &[u8], follow: Follow) -> KResult<Location> {
    let start = start_loc(t, dirfd, path)?;
    let fs = t.fs();
    t.kernel.resolve(&fs.root, &start, path, follow)
}

fn parent_at(t: &Task, dirfd: i32, path: &[u8]) -> KResult<Parent> {
    let start = start_loc(t, dirfd, path)?;
    let fs = t.fs();
    t.kernel.resolve_parent(&fs.root, &start, path)
}

/// Install a new file in the lowest free fd.
pub fn install(t: &Task, f: Arc<File>, cloexec: bool) -> KResult<u64> {
    let limit = t.tg.rlimit(7).cur;
    Ok(t.fds().install_from(f, cloexec, 0, limit)? as u64)
}

const VALID_OPEN: u32 = O_ACCMODE
    | O_CREAT
    | O_EXCL
    | O_NOCTTY
    | O_TRUNC
    | O_APPEND
    | O_NONBLOCK
    | O_DSYNC
    | O_ASYNC
    | O_DIRECT
    | O_LARGEFILE
    | O_DIRECTORY
    | O_NOFOLLOW
    | O_NOATIME
    | O_CLOEXEC
    | O_SYNC
    | O_PATH
    | O_TMPFILE;

/// The common open.
pub fn do_open(t: &Task, dirfd: i32, path: &[u8], flags: u32, m: u32) -> KResult<u64> {
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    let flags = flags & VALID_OPEN;
    let follow = if flags & O_NOFOLLOW != 0 || (flags & O_CREAT != 0 && flags & O_EXCL != 0) { Follow::No } else { Follow::Yes };
    let loc = match resolve_at(t, dirfd, path, follow) {
        Ok(l) => {
            if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            l
        }
        Err(Errno::ENOENT) if flags & O_CREAT != 0 => {
            let p = parent_at(t, dirfd, path)?;
            if p.trailing_slash {
                return Err(Errno::EISDIR);
            }
            let umask = t.fs().umask;
            let c = t.creds();
            let inode = p.dir.inode().create(&p.name, m & !umask & 0o7777, c.euid, c.egid)?;
            let mut loc = p.dir.clone();
            loc.names.push(p.name.clone());
            loc.inodes.push(inode);
            loc
        }
        Err(e) => return Err(e),
    };
    let inode = loc.inode().clone();
    let a = inode.stat()?;
    if a.kind() == mode::S_IFLNK {
        if flags & O_PATH != 0 {
            return install(t, File::new(Arc::new(PathOnly), inode, loc.path(), flags), flags & O_CLOEXEC != 0);
        }
        return Err(Errno::ELOOP);
    }
    if flags & O_DIRECTORY != 0 && !a.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if flags & O_PATH != 0 {
        return install(t, File::new(Arc::new(PathOnly), inode, loc.path(), flags), flags & O_CLOEXEC != 0);
    }
    if a.is_dir() && (flags & O_ACCMODE != O_RDONLY || flags & O_CREAT != 0) {
        return Err(Errno::EISDIR);
    }
    let ops = inode.clone().open(flags)?;
    let f = File::new(ops, inode, loc.path(), flags);
    install(t, f, flags & O_CLOEXEC != 0)
}

/// Implements open(2).
pub fn sys_open(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    do_open(sc.task, AT_FDCWD, &p, a[1] as u32, a[2] as u32)
}

/// Implements openat(2).
pub fn sys_openat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    do_open(sc.task, a[0] as i32, &p, a[2] as u32, a[3] as u32)
}

/// Implements close(2).
pub fn sys_close(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    sc.task.fds().remove(a[0] as i32)?;
    Ok(0)
}

/// Implements close_range(2).
pub fn sys_close_range(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2] as u32);
    const CLOEXEC: u32 = 4;
    const UNSHARE: u32 = 2;
    if flags & !(CLOEXEC | UNSHARE) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let fds = sc.task.fds();
    for (fd, _) in fds.list() {
        let fd_u = fd as u32;
        if fd_u >= first && fd_u <= last {
            if flags & CLOEXEC != 0 {
                let _ = fds.set_cloexec(fd, true);
            } else {
                let _ = fds.remove(fd);
            }
        }
    }
    Ok(0)
}

fn get_file(t: &Task, fd: u64) -> KResult<Arc<File>> {
    let f = t.fds().get(fd as i32)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// Read into application memory at `buf`.
fn read_file(t: &Task, f: &File, buf: u64, len: u64, pos: Option<u64>) -> KResult<u64> {
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(0x7fff_f000) as usize;
    let mut kbuf = vec![0u8; len.min(1 << 20)];
    let seekable = f.ops.seekable();
    let mut off_guard = if pos.is_none() && seekable { Some(f.offset.lock().unwrap_or_else(|e| e.into_inner())) } else { None };
    let off = pos.unwrap_or_else(|| off_guard.as_deref().copied().unwrap_or(0));
    let n = f.ops.read(t, &mut kbuf, off, f.nonblock())?;
    t.mm().copy_out(buf, &kbuf[..n])?;
    if let Some(g) = off_guard.as_mut() {
        **g = off + n as u64;
    }
    Ok(n as u64)
}

fn write_file(t: &Task, f: &File, buf: u64, len: u64, pos: Option<u64>) -> KResult<u64> {
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(0x7fff_f000) as usize;
    let mut kbuf = vec![0u8; len.min(1 << 20)];
    t.mm().copy_in(buf, &mut kbuf)?;
    let seekable = f.ops.seekable();
    let mut off_guard = if pos.is_none() && seekable { Some(f.offset.lock().unwrap_or_else(|e| e.into_inner())) } else { None };
    let mut off = pos.unwrap_or_else(|| off_guard.as_deref().copied().unwrap_or(0));
    if pos.is_none() && f.flags() & O_APPEND != 0 && seekable {
        off = f.inode.stat()?.size;
    }
    let n = f.ops.write(t, &kbuf, off, f.nonblock())?;
    if let Some(g) = off_guard.as_mut() {
        **g = off + n as u64;
    }
    Ok(n as u64)
}

/// Implements read(2).
pub fn sys_read(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    if f.inode.stat()?.is_dir() {
        return Err(Errno::EISDIR);
    }
    read_file(sc.task, &f, a[1], a[2], None)
}

/// Implements write(2).
pub fn sys_write(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    write_file(sc.task, &f, a[1], a[2], None)
}

/// Implements pread64(2).
pub fn sys_pread64(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    read_file(sc.task, &f, a[1], a[2], Some(a[3]))
}

/// Implements pwrite64(2).
pub fn sys_pwrite64(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    write_file(sc.task, &f, a[1], a[2], Some(a[3]))
}

/// Implements readv(2).
pub fn sys_readv(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    let iovs = sc.task.mm().read_iovecs(a[1], a[2])?;
    let mut total = 0;
    for iov in iovs {
        if iov.len == 0 {
            continue;
        }
        match read_file(sc.task, &f, iov.base, iov.len, None) {
            Ok(n) => {
                total += n;
                if n < iov.len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

/// Implements writev(2).
pub fn sys_writev(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    let iovs = sc.task.mm().read_iovecs(a[1], a[2])?;
    // Gather into one write so pipes see it atomically.
    let mut data = Vec::new();
    for iov in &iovs {
        let mut b = vec![0u8; iov.len as usize];
        match sc.task.mm().copy_in(iov.base, &mut b) {
            Ok(()) => data.extend_from_slice(&b),
            Err(e) if data.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let seekable = f.ops.seekable();
    let mut g = f.offset.lock().unwrap_or_else(|e| e.into_inner());
    let mut off = *g;
    if f.flags() & O_APPEND != 0 && seekable {
        off = f.inode.stat()?.size;
    }
    let n = f.ops.write(sc.task, &data, off, f.nonblock())?;
    if seekable {
        *g = off + n as u64;
    }
    Ok(n as u64)
}

/// Implements lseek(2).
pub fn sys_lseek(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let mut g = f.offset.lock().unwrap_or_else(|e| e.into_inner());
    let off = a[1] as i64;
    let new = match a[2] {
        0 => off,
        1 => (*g as i64).checked_add(off).ok_or(Errno::EOVERFLOW)?,
        2 => (f.inode.stat()?.size as i64).checked_add(off).ok_or(Errno::EOVERFLOW)?,
        3 | 4 => {
            let size = f.inode.stat()?.size as i64;
            if off < 0 || off >= size {
                return Err(Errno::ENXIO);
            }
            if a[2] == 3 { off } else { size }
        }
        _ => return Err(Errno::EINVAL),
    };
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    *g = new as u64;
    if f.inode.stat()?.is_dir() && new == 0 {
        *f.dir_snapshot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
    Ok(new as u64)
}

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
            return t.fs().cwd.inode().stat();
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
    if a[3] & 0x8000_0000 != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(sc.task, a[0] as i32, &p, a[2] & !0x6000)?;
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
    let mut out = Vec::new();
    let cap = a[2] as usize;
    while (*pos as usize) < ents.len() {
        let e = &ents[*pos as usize];
        let reclen = (19 + e.name.len() + 1).div_ceil(8) * 8;
        if out.len() + reclen > cap {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        let mut rec = vec![0u8; reclen];
        rec[0..8].copy_from_slice(&e.ino.to_ne_bytes());
        rec[8..16].copy_from_slice(&(*pos + 1).to_ne_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        rec[18] = e.kind;
        rec[19..19 + e.name.len()].copy_from_slice(&e.name);
        out.extend_from_slice(&rec);
        *pos += 1;
    }
    sc.task.mm().copy_out(a[1], &out)?;
    Ok(out.len() as u64)
}

/// Implements dup(2).
pub fn sys_dup(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = sc.task.fds().get(a[0] as i32)?;
    install(sc.task, f, false)
}

/// Implements dup2(2).
pub fn sys_dup2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = sc.task.fds().get(a[0] as i32)?;
    if a[0] == a[1] {
        return Ok(a[1]);
    }
    dup_to(sc.task, f, a[1], false)
}

fn dup_to(t: &Task, f: Arc<File>, newfd: u64, cloexec: bool) -> KResult<u64> {
    if newfd as i32 as u64 != newfd || (newfd as i32) < 0 || newfd >= t.tg.rlimit(7).cur {
        return Err(Errno::EBADF);
    }
    let old = t.fds().install_at(newfd as i32, f, cloexec);
    drop(old);
    Ok(newfd)
}

/// Implements dup3(2).
pub fn sys_dup3(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[2] & !(O_CLOEXEC as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = sc.task.fds().get(a[0] as i32)?;
    if a[0] == a[1] {
        return Err(Errno::EINVAL);
    }
    dup_to(sc.task, f, a[1], a[2] != 0)
}

/// Implements fcntl(2).
pub fn sys_fcntl(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let fds = sc.task.fds();
    let fd = a[0] as i32;
    let f = fds.get(fd)?;
    match a[1] {
        0 | 1030 => {
            // F_DUPFD, F_DUPFD_CLOEXEC
            let limit = sc.task.tg.rlimit(7).cur;
            if a[2] >= limit || (a[2] as i64) < 0 {
                return Err(Errno::EINVAL);
            }
            Ok(fds.install_from(f, a[1] == 1030, a[2] as i32, limit)? as u64)
        }
        1 => Ok(fds.cloexec(fd)? as u64),
        2 => {
            fds.set_cloexec(fd, a[2] & 1 != 0)?;
            Ok(0)
        }
        3 => Ok((f.flags() | O_LARGEFILE) as u64),
        4 => {
            let settable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
            let cur = f.flags();
            f.flags.store((cur & !settable) | (a[2] as u32 & settable), std::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        5..=7 | 36..=38 => Err(Errno::ENOLCK),
        1031 => Ok(crate::fs::pipe::PIPE_BUF_SIZE as u64), // F_SETPIPE_SZ
        1032 => Ok(crate::fs::pipe::PIPE_BUF_SIZE as u64), // F_GETPIPE_SZ
        1033 | 1034 => Ok(0),                               // seals: none
        _ => Err(Errno::EINVAL),
    }
}

/// Implements ioctl(2).
pub fn sys_ioctl(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    match a[1] {
        0x5451 => {
            sc.task.fds().set_cloexec(a[0] as i32, true)?;
            Ok(0)
        }
        0x5450 => {
            sc.task.fds().set_cloexec(a[0] as i32, false)?;
            Ok(0)
        }
        0x5421 => {
            // FIONBIO
            let v: i32 = sc.task.mm().read_val(a[2])?;
            let cur = f.flags();
            let new = if v != 0 { cur | O_NONBLOCK } else { cur & !O_NONBLOCK };
            f.flags.store(new, std::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        cmd => f.ops.ioctl(sc.task, cmd, a[2]),
    }
}

fn make_pipe(sc: &mut Sc<'_>, addr: u64, flags: u64) -> KResult<u64> {
    if flags & !((O_CLOEXEC | O_NONBLOCK | O_DIRECT) as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = Pipe::new();
    let inode: Arc<dyn Inode> = p.clone();
    let fl = flags as u32 & O_NONBLOCK;
    let r = File::new(p.reader(), inode.clone(), b"pipe:".to_vec(), O_RDONLY | fl);
    let w = File::new(p.writer(), inode, b"pipe:".to_vec(), O_WRONLY | fl);
    let cloexec = flags & O_CLOEXEC as u64 != 0;
    let rfd = install(sc.task, r, cloexec)?;
    let wfd = match install(sc.task, w, cloexec) {
        Ok(x) => x,
        Err(e) => {
            let _ = sc.task.fds().remove(rfd as i32);
            return Err(e);
        }
    };
    let fds = [rfd as i32, wfd as i32];
    if let Err(e) = sc.task.mm().write_val(addr, &fds) {
        let _ = sc.task.fds().remove(rfd as i32);
        let _ = sc.task.fds().remove(wfd as i32);
        return Err(e);
    }
    Ok(0)
}

/// Implements pipe(2).
pub fn sys_pipe(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    make_pipe(sc, a[0], 0)
}

/// Implements pipe2(2).
pub fn sys_pipe2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    make_pipe(sc, a[0], a[1])
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

fn do_poll(t: &Task, fds_addr: u64, n: u64, timeout: Option<Duration>) -> KResult<u64> {
    if n > t.tg.rlimit(7).cur.max(1024) {
        return Err(Errno::EINVAL);
    }
    let mut pfds: Vec<PollFd> = t.mm().read_vec(fds_addr, n as usize)?;
    let deadline = timeout.map(|d| Instant::now() + d);
    loop {
        let g = t.waker.gen();
        let mut ready = 0;
        let mut queues = Vec::new();
        for p in pfds.iter_mut() {
            p.revents = 0;
            if p.fd < 0 {
                continue;
            }
            match t.fds().get(p.fd) {
                Err(_) => p.revents = 0x20, // POLLNVAL
                Ok(f) => {
                    let r = f.ops.readiness();
                    let want = (p.events as u32) | crate::vfs::POLLERR | crate::vfs::POLLHUP;
                    p.revents = (r & want) as i16;
                    if p.revents == 0 {
                        queues.push(f);
                    }
                }
            }
            if p.revents != 0 {
                ready += 1;
            }
        }
        if ready > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            t.mm().copy_out(fds_addr, bytemuck::cast_slice(&pfds))?;
            return Ok(ready);
        }
        if t.has_pending_signal() {
            return Err(Errno::ERESTARTNOHAND);
        }
        for f in &queues {
            if let Some(q) = f.ops.wait_queue() {
                q.add(&t.waker);
            }
        }
        // Host fds cannot wake us: poll them in slices.
        let slice = Instant::now() + Duration::from_millis(if queues.iter().any(|f| f.ops.host_fd().is_some()) { 10 } else { 1000 });
        let until = deadline.map(|d| d.min(slice)).unwrap_or(slice);
        t.waker.wait(g, Some(until));
        for f in &queues {
            if let Some(q) = f.ops.wait_queue() {
                q.remove(&t.waker);
            }
        }
    }
}

/// Implements poll(2).
pub fn sys_poll(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let to = a[2] as i32;
    let timeout = if to < 0 { None } else { Some(Duration::from_millis(to as u64)) };
    do_poll(sc.task, a[0], a[1], timeout)
}

fn read_timespec(t: &Task, addr: u64) -> KResult<Option<Duration>> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: [i64; 2] = t.mm().read_val(addr)?;
    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Duration::new(ts[0] as u64, ts[1] as u32)))
}

/// Implements ppoll(2).
pub fn sys_ppoll(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let timeout = read_timespec(sc.task, a[2])?;
    with_sigmask(sc, a[3], || do_poll(sc.task, a[0], a[1], timeout))
}

fn with_sigmask(sc: &Sc<'_>, maskp: u64, f: impl FnOnce() -> KResult<u64>) -> KResult<u64> {
    if maskp == 0 {
        return f();
    }
    let m: u64 = sc.task.mm().read_val(maskp)?;
    let old = sc.task.sigmask.swap(m & !crate::kernel::signal::UNBLOCKABLE, std::sync::atomic::Ordering::SeqCst);
    let r = f();
    if r == Err(Errno::ERESTARTNOHAND) || r == Err(Errno::EINTR) {
        *sc.task.saved_mask.lock().unwrap_or_else(|e| e.into_inner()) = Some(old);
    } else {
        sc.task.sigmask.store(old, std::sync::atomic::Ordering::SeqCst);
    }
    r
}

fn do_select(t: &Task, n: u64, sets: [u64; 3], timeout: Option<Duration>) -> KResult<u64> {
    if n > 1024 {
        return Err(Errno::EINVAL);
    }
    let words = n.div_ceil(64) as usize;
    let mut ins: [Vec<u64>; 3] = [vec![0; words], vec![0; words], vec![0; words]];
    for i in 0..3 {
        if sets[i] != 0 && words > 0 {
            ins[i] = t.mm().read_vec(sets[i], words)?;
        }
    }
    let mut pfds = Vec::new();
    for fd in 0..n as usize {
        let mut ev = 0i16;
        if ins[0].get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0) {
            ev |= 1;
        }
        if ins[1].get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0) {
            ev |= 4;
        }
        if ins[2].get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0) {
            ev |= 2;
        }
        if ev != 0 {
            t.fds().get(fd as i32)?;
            pfds.push(PollFd { fd: fd as i32, events: ev, revents: 0 });
        }
    }
    // Poll through a scratch copy kept in the sentry.
    let deadline = timeout.map(|d| Instant::now() + d);
    loop {
        let g = t.waker.gen();
        let mut outs: [Vec<u64>; 3] = [vec![0; words], vec![0; words], vec![0; words]];
        let mut count = 0;
        for p in &pfds {
            let f = t.fds().get(p.fd)?;
            let r = f.ops.readiness();
            let fd = p.fd as usize;
            if p.events & 1 != 0 && r & (1 | 16 | 8) != 0 {
                outs[0][fd / 64] |= 1 << (fd % 64);
                count += 1;
            }
            if p.events & 4 != 0 && r & (4 | 8) != 0 {
                outs[1][fd / 64] |= 1 << (fd % 64);
                count += 1;
            }
        }
        if count > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            for i in 0..3 {
                if sets[i] != 0 && words > 0 {
                    t.mm().copy_out(sets[i], bytemuck::cast_slice(&outs[i]))?;
                }
            }
            return Ok(count);
        }
        if t.has_pending_signal() {
            return Err(Errno::ERESTARTNOHAND);
        }
        let slice = Instant::now() + Duration::from_millis(10);
        t.waker.wait(g, Some(deadline.map(|d| d.min(slice)).unwrap_or(slice)));
    }
}

/// Implements select(2).
pub fn sys_select(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let timeout = if a[4] == 0 {
        None
    } else {
        let tv: [i64; 2] = sc.task.mm().read_val(a[4])?;
        if tv[0] < 0 || !(0..1_000_000).contains(&tv[1]) {
            return Err(Errno::EINVAL);
        }
        Some(Duration::new(tv[0] as u64, tv[1] as u32 * 1000))
    };
    do_select(sc.task, a[0], [a[1], a[2], a[3]], timeout)
}

/// Implements pselect6(2).
pub fn sys_pselect6(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let timeout = read_timespec(sc.task, a[4])?;
    let maskp = if a[5] != 0 { sc.task.mm().read_val::<u64>(a[5])? } else { 0 };
    with_sigmask(sc, maskp, || do_select(sc.task, a[0], [a[1], a[2], a[3]], timeout))
}

fn access_check(t: &Task, dirfd: i32, path: &[u8], m: u64, flags: u64) -> KResult<u64> {
    if m & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = if flags & AT_SYMLINK_NOFOLLOW != 0 { Follow::No } else { Follow::Yes };
    let loc = resolve_at(t, dirfd, path, follow)?;
    let a = loc.inode().stat()?;
    if m & 1 != 0 && a.mode & 0o111 == 0 && !a.is_dir() {
        return Err(Errno::EACCES);
    }
    if m & 2 != 0 && a.kind() == mode::S_IFDIR {
        // Writable in the overlay.
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

/// Implements getcwd(2).
pub fn sys_getcwd(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let mut p = sc.task.fs().cwd.path();
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
    set_cwd(sc.task, loc)
}

/// Implements fchdir(2).
pub fn sys_fchdir(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = sc.task.fds().get(a[0] as i32)?;
    let fs = sc.task.fs();
    let loc = sc.task.kernel.resolve(&fs.root, &fs.root, &f.path, Follow::Yes)?;
    set_cwd(sc.task, loc)
}

fn mkdir_at(t: &Task, dirfd: i32, path: &[u8], m: u64) -> KResult<u64> {
    let p = parent_at(t, dirfd, path)?;
    if p.name.is_empty() || p.name == b"." || p.name == b".." {
        return Err(Errno::EEXIST);
    }
    let umask = t.fs().umask;
    let c = t.creds();
    p.dir.inode().mkdir(&p.name, m as u32 & !umask & 0o7777, c.euid, c.egid)?;
    Ok(0)
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
    p.dir.inode().unlink(&p.name, dir)?;
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

fn rename_at(t: &Task, od: i32, op: &[u8], nd: i32, np: &[u8]) -> KResult<u64> {
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
    o.dir.inode().rename(&o.name, n.dir.inode(), &n.name)?;
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
    if a[4] != 0 {
        return Err(Errno::EINVAL);
    }
    sys_renameat(sc, a)
}

fn link_at(t: &Task, od: i32, op: &[u8], nd: i32, np: &[u8], flags: u64) -> KResult<u64> {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = if flags & AT_SYMLINK_FOLLOW != 0 { Follow::Yes } else { Follow::No };
    let src = resolve_at(t, od, op, follow)?;
    if src.inode().stat()?.is_dir() {
        return Err(Errno::EPERM);
    }
    let n = parent_at(t, nd, np)?;
    n.dir.inode().link(&n.name, src.inode().clone())?;
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
    n.dir.inode().symlink(&n.name, target, c.euid, c.egid)?;
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

fn setattr_at(t: &Task, dirfd: i32, path: &[u8], follow: Follow, sa: SetAttr) -> KResult<u64> {
    resolve_at(t, dirfd, path, follow)?.inode().setattr(&sa)?;
    Ok(0)
}

/// Implements chmod(2).
pub fn sys_chmod(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    setattr_at(sc.task, AT_FDCWD, &p, Follow::Yes, SetAttr { mode: Some(a[1] as u32), ..Default::default() })
}

/// Implements fchmod(2).
pub fn sys_fchmod(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    f.inode.setattr(&SetAttr { mode: Some(a[1] as u32), ..Default::default() })?;
    Ok(0)
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
    f.inode.setattr(&owner(a[1], a[2]))?;
    Ok(0)
}

/// Implements fchownat(2).
pub fn sys_fchownat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[1])?;
    if p.is_empty() && a[4] & AT_EMPTY_PATH != 0 {
        let f = sc.task.fds().get(a[0] as i32)?;
        f.inode.setattr(&owner(a[2], a[3]))?;
        return Ok(0);
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
    if loc.inode().stat()?.is_dir() {
        return Err(Errno::EISDIR);
    }
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

/// Implements fsync(2) and fdatasync(2): memory layers need no flush.
pub fn sys_fsync(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    get_file(sc.task, a[0])?;
    Ok(0)
}

/// Implements utimensat(2).
pub fn sys_utimensat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let now = crate::vfs::now();
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
        (conv(ts[0])?, conv(ts[1])?)
    };
    let sa = SetAttr { atime: at, mtime: mt, ..Default::default() };
    if a[1] == 0 {
        let f = sc.task.fds().get(a[0] as i32)?;
        f.inode.setattr(&sa)?;
        return Ok(0);
    }
    let p = read_path(sc.task, a[1])?;
    let follow = if a[3] & AT_SYMLINK_NOFOLLOW != 0 { Follow::No } else { Follow::Yes };
    setattr_at(sc.task, a[0] as i32, &p, follow, sa)
}

fn statfs_out(t: &Task, addr: u64) -> KResult<u64> {
    let mut v = [0u64; 15];
    v[0] = 0x0102_1994; // TMPFS_MAGIC
    v[1] = 4096;
    v[2] = 1 << 20;
    v[3] = 1 << 19;
    v[4] = 1 << 19;
    v[5] = 1 << 20;
    v[6] = 1 << 19;
    v[8] = 255;
    v[9] = 4096;
    t.mm().write_val(addr, &v)?;
    Ok(0)
}

/// Implements statfs(2).
pub fn sys_statfs(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    resolve_at(sc.task, AT_FDCWD, &p, Follow::Yes)?;
    statfs_out(sc.task, a[1])
}

/// Implements fstatfs(2).
pub fn sys_fstatfs(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    sc.task.fds().get(a[0] as i32)?;
    statfs_out(sc.task, a[1])
}
