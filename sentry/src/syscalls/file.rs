//! File syscalls: open, close, read, write, seek, fds, fcntl, ioctl, pipes.

use std::sync::Arc;


use super::Sc;
use crate::errno::{Errno, KResult};
use crate::fs::pipe::Pipe;
use crate::kernel::signal::{sig, QueuedSignal};
use crate::kernel::task::Task;
use crate::vfs::oflags::*;
use crate::vfs::path::{Follow, Location, Parent, Walk, PATH_MAX};
use crate::vfs::{mode, File, Inode, PathOnly, Source};

pub(super) const AT_FDCWD: i32 = -100;
pub(super) const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub(super) const AT_REMOVEDIR: u64 = 0x200;
pub(super) const AT_SYMLINK_FOLLOW: u64 = 0x400;
pub(super) const AT_EMPTY_PATH: u64 = 0x1000;

pub(super) fn read_path(t: &Task, addr: u64) -> KResult<Vec<u8>> {
    let p = t.mm().read_cstring(addr, PATH_MAX)?;
    if p.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(p)
}

/// The location `dirfd` designates as a start for relative paths.
fn start_loc(t: &Task, dirfd: i32, path: &[u8]) -> KResult<Location> {
    if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
        return Ok(t.fs_cwd());
    }
    let f = t.fds().get(dirfd)?;
    let a = f.inode.stat()?;
    if !a.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    file_location(t, &f)
}

/// Remember where a file was opened.
pub(super) fn opened_at(f: Arc<File>, loc: &Location) -> Arc<File> {
    let _ = f.at.set(loc.clone());
    f
}

/// The location of an open file: where it was opened, or for a file not
/// opened by path its path re-resolved from the global root.
pub(super) fn file_location(t: &Task, f: &File) -> KResult<Location> {
    if let Some(l) = f.at.get() {
        return Ok(l.clone());
    }
    let root = t.fs_root();
    let global = Location::root(root.inodes[0].clone(), root.ns.clone());
    t.kernel.resolve(&global, &global, &f.path, Follow::Yes, None)
}

/// Resolve a path argument relative to dirfd.
pub fn resolve_at(t: &Task, dirfd: i32, path: &[u8], follow: Follow) -> KResult<Location> {
    resolve_how(t, dirfd, path, follow, &How::default())
}

pub(super) fn parent_at(t: &Task, dirfd: i32, path: &[u8]) -> KResult<Parent> {
    parent_how(t, dirfd, path, &How::default())
}

/// openat2's resolve flags.
#[derive(Clone, Copy, Default)]
pub(super) struct How {
    resolve: u64,
}

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
const RESOLVE_CACHED: u64 = 0x20;

/// The root, the start (None: the root itself, for an absolute path) and
/// the walk restrictions of `how` for `path` relative to `dirfd`. Only the
/// locations the walk needs are copied out of the task.
fn walk_of(t: &Task, dirfd: i32, path: &[u8], how: &How) -> KResult<(Location, Option<Location>, Walk)> {
    let r = how.resolve;
    let (root, start) = if r & RESOLVE_IN_ROOT != 0 {
        // An absolute path starts at dirfd too.
        (start_loc(t, dirfd, b".")?, None)
    } else if path.first() == Some(&b'/') {
        (t.fs_root(), None)
    } else {
        (t.fs_root(), Some(start_loc(t, dirfd, path)?))
    };
    let walk = Walk {
        beneath: (r & RESOLVE_BENEATH != 0).then(|| start.clone().unwrap_or_else(|| root.clone())),
        no_symlinks: r & RESOLVE_NO_SYMLINKS != 0,
        no_magic: r & RESOLVE_NO_MAGICLINKS != 0,
        no_xdev: r & RESOLVE_NO_XDEV != 0,
        scoped: r & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0,
    };
    Ok((root, start, walk))
}

fn resolve_how(t: &Task, dirfd: i32, path: &[u8], follow: Follow, how: &How) -> KResult<Location> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let (root, start, walk) = walk_of(t, dirfd, path, how)?;
    t.kernel.resolve_with(&root, start.as_ref().unwrap_or(&root), path, follow, Some(&t.creds()), &walk)
}

fn parent_how(t: &Task, dirfd: i32, path: &[u8], how: &How) -> KResult<Parent> {
    let (root, start, walk) = walk_of(t, dirfd, path, how)?;
    t.kernel.resolve_parent_with(&root, start.as_ref().unwrap_or(&root), path, Some(&t.creds()), &walk)
}

/// Implements openat2(2).
pub fn sys_openat2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const VER0: u64 = 24;
    let size = a[3];
    if size < VER0 {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut raw = vec![0u8; size as usize];
    sc.task.mm().copy_in(a[2], &mut raw)?;
    if raw[VER0 as usize..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let field = |i: usize| u64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let (flags, m, resolve) = (field(0), field(1), field(2));
    // Unlike open(2), every flag must be known.
    if flags & !u64::from(VALID_OPEN) != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = flags as u32;
    let creates = flags & O_CREAT != 0 || flags & O_TMPFILE == O_TMPFILE;
    if m & !0o7777 != 0 || (m != 0 && !creates) {
        return Err(Errno::EINVAL);
    }
    if flags & O_PATH != 0 && flags & !(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & O_TMPFILE == O_TMPFILE && flags & O_ACCMODE == O_RDONLY {
        return Err(Errno::EINVAL);
    }
    if resolve & !0x3f != 0 || resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) == RESOLVE_BENEATH | RESOLVE_IN_ROOT {
        return Err(Errno::EINVAL);
    }
    // RESOLVE_CACHED: only lookups that need no I/O; ours never wait on
    // I/O to look up, but anything that would write or create is refused
    // as Linux does.
    if resolve & RESOLVE_CACHED != 0 && (creates || flags & O_TRUNC != 0 || flags & O_ACCMODE != O_RDONLY) {
        return Err(Errno::EAGAIN);
    }
    let p = read_path(sc.task, a[1])?;
    open_how(sc.task, a[0] as i32, &p, flags, m as u32, &How { resolve })
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
    open_how(t, dirfd, path, flags, m, &How::default())
}

/// The common open, under openat2's resolve flags.
fn open_how(t: &Task, dirfd: i32, path: &[u8], flags: u32, m: u32, how: &How) -> KResult<u64> {
    if flags & O_TMPFILE == O_TMPFILE {
        return open_tmpfile(t, dirfd, path, flags, m, how);
    }
    let flags = flags & VALID_OPEN;
    let follow = if flags & O_NOFOLLOW != 0 || (flags & O_CREAT != 0 && flags & O_EXCL != 0) { Follow::No } else { Follow::Yes };
    // Look up, and create if missing. Another process may create the name
    // between the two: without O_EXCL that is an open of its file, as
    // Linux's lookup-and-create under the directory's lock would be.
    let mut tries = 0;
    let mut created = false;
    let loc = loop {
        match resolve_how(t, dirfd, path, follow, how) {
            Ok(l) => {
                if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                break l;
            }
            Err(Errno::ENOENT) if flags & O_CREAT != 0 => {
                let p = parent_how(t, dirfd, path, how)?;
                if p.trailing_slash {
                    return Err(Errno::EISDIR);
                }
                let umask = t.umask();
                let c = t.creds();
                crate::vfs::mount::writable(&p.dir)?;
                crate::vfs::perm::may_modify_dir(&c, &p.dir.inode().stat()?)?;
                match p.dir.inode().create(&p.name, m & !umask & 0o7777, c.euid, c.egid) {
                    Ok(inode) => {
                        let mut loc = p.dir.clone();
                        loc.names.push(p.name.clone());
                        loc.inodes.push(inode);
                        created = true;
                        break loc;
                    }
                    Err(Errno::EEXIST) if flags & O_EXCL == 0 && tries < 8 => tries += 1,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    };
    let inode = loc.inode().clone();
    let a = inode.stat()?;
    if a.kind() == mode::S_IFLNK {
        if flags & O_PATH != 0 {
            return install(t, opened_at(File::new(Arc::new(PathOnly), inode, loc.path(), flags), &loc), flags & O_CLOEXEC != 0);
        }
        return Err(Errno::ELOOP);
    }
    if flags & O_DIRECTORY != 0 && !a.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if flags & O_PATH != 0 {
        return install(t, opened_at(File::new(Arc::new(PathOnly), inode, loc.path(), flags), &loc), flags & O_CLOEXEC != 0);
    }
    if a.is_dir() && (flags & O_ACCMODE != O_RDONLY || flags & O_CREAT != 0) {
        return Err(Errno::EISDIR);
    }
    if !created && (flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0) && (a.kind() == mode::S_IFREG || a.is_dir()) {
        crate::vfs::mount::writable(&loc)?;
    }
    // A file this open created is the caller's whatever its mode.
    if !created {
        use crate::vfs::perm::{check, MAY_READ, MAY_WRITE};
        let mut want = match flags & O_ACCMODE {
            O_RDONLY => MAY_READ,
            O_WRONLY => MAY_WRITE,
            _ => MAY_READ | MAY_WRITE,
        };
        if flags & O_TRUNC != 0 {
            want |= MAY_WRITE;
        }
        check(&t.creds(), &a, want)?;
    }
    let ops = inode.clone().open_task(t, flags)?;
    let tty = if flags & O_NOCTTY == 0 { ops.as_tty() } else { None };
    let f = opened_at(File::new(ops, inode, loc.path(), flags), &loc);
    if let (Some(name), true) = (loc.names.last(), loc.inodes.len() >= 2) {
        let _ = f.parent.set((crate::fs::inotify::key(&loc.inodes[loc.inodes.len() - 2]), name.clone()));
    }
    if crate::fs::inotify::active() {
        use crate::fs::inotify::{notify, notify_both, IN_CREATE, IN_OPEN};
        if let (true, Some((p, n))) = (created, f.parent.get()) {
            notify(*p, IN_CREATE, 0, n);
        }
        notify_both(crate::vfs::locks::inode_key(&f), f.parent.get(), IN_OPEN);
    }
    let readable = f.readable();
    let fd = install(t, f, flags & O_CLOEXEC != 0)?;
    if let Some(term) = tty {
        crate::fs::tty::open_maybe_acquire(t, &term, readable);
    }
    Ok(fd)
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

/// open(O_TMPFILE): an unnamed regular file in the directory `path`,
/// opened for writing, that linkat(AT_EMPTY_PATH) may name later.
fn open_tmpfile(t: &Task, dirfd: i32, path: &[u8], flags: u32, m: u32, how: &How) -> KResult<u64> {
    if flags & O_ACCMODE == O_RDONLY || flags & O_CREAT != 0 {
        return Err(Errno::EINVAL);
    }
    let loc = resolve_how(t, dirfd, path, Follow::Yes, how)?;
    let a = loc.inode().stat()?;
    if !a.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let c = t.creds();
    crate::vfs::mount::writable(&loc)?;
    crate::vfs::perm::may_modify_dir(&c, &a)?;
    let umask = t.umask();
    let inode = loc.inode().create_unnamed(m & !umask & 0o7777, c.euid, c.egid)?;
    let ops = inode.clone().open_task(t, flags & !O_TMPFILE)?;
    let mut p = loc.path();
    p.extend_from_slice(b"/#tmpfile (deleted)");
    let f = File::new(ops, inode, p, flags & !O_TMPFILE);
    install(t, f, flags & O_CLOEXEC != 0)
}

/// Implements creat(2): open(path, O_CREAT | O_WRONLY | O_TRUNC, mode).
pub fn sys_creat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let p = read_path(sc.task, a[0])?;
    do_open(sc.task, AT_FDCWD, &p, O_CREAT | O_WRONLY | O_TRUNC, a[1] as u32)
}

/// Implements close(2).
pub fn sys_close(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = sc.task.fds().remove(a[0] as i32)?;
    super::lock::closed(sc.task, &f);
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
    // CLOSE_RANGE_UNSHARE: threads sharing the table (CLONE_FILES) keep
    // theirs; only the caller's private copy is changed.
    let fds = if flags & UNSHARE != 0 {
        let private = Arc::new(sc.task.fds().fork());
        sc.task.set_fds(private.clone());
        private
    } else {
        sc.task.fds()
    };
    for (fd, _) in fds.list() {
        let fd_u = fd as u32;
        if fd_u >= first && fd_u <= last {
            if flags & CLOEXEC != 0 {
                let _ = fds.set_cloexec(fd, true);
            } else if let Ok(f) = fds.remove(fd) {
                super::lock::closed(sc.task, &f);
            }
        }
    }
    Ok(0)
}

pub(super) fn get_file(t: &Task, fd: u64) -> KResult<Arc<File>> {
    let f = t.fds().get(fd as i32)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// Read into application memory at `buf`.
/// Reads and writes this large keep the sentry copying for longer than a
/// stub thread spins (about 100 us): it is told to wait on (a read that
/// blocks still puts it to sleep).
const BUSY_BYTES: u64 = 256 << 10;

fn read_file(t: &Task, f: &File, buf: u64, len: u64, pos: Option<u64>) -> KResult<u64> {
    read_file_nb(t, f, buf, len, pos, f.nonblock())
}

/// [`read_file`], non-blocking when `nb` (vmsplice's SPLICE_F_NONBLOCK).
fn read_file_nb(t: &Task, f: &File, buf: u64, len: u64, pos: Option<u64>, nb: bool) -> KResult<u64> {
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if len >= BUSY_BYTES {
        t.waker.going_busy();
    }
    let len = len.min(0x7fff_f000) as usize;
    let seekable = f.ops.seekable();
    let mut off_guard = if pos.is_none() && seekable { Some(f.offset.lock().unwrap_or_else(|e| e.into_inner())) } else { None };
    let off = pos.unwrap_or_else(|| off_guard.as_deref().copied().unwrap_or(0));
    let n = f.ops.read_to(t, buf, len.min(1 << 20), off, nb)?;
    if n > 0 {
        crate::fs::inotify::notify_both(crate::vfs::locks::inode_key(f), f.parent.get(), crate::fs::inotify::IN_ACCESS);
    }
    if let Some(g) = off_guard.as_mut() {
        **g = off + n as u64;
    }
    Ok(n as u64)
}

fn write_file(t: &Task, f: &File, buf: u64, len: u64, pos: Option<u64>) -> KResult<u64> {
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    if len >= BUSY_BYTES {
        t.waker.going_busy();
    }
    let len = len.min(0x7fff_f000) as usize;
    write_bytes(t, f, Source::User { addr: buf, len: len.min(1 << 20) }, pos)
}

/// Write `data` at `pos`, or at the file position (the end with O_APPEND),
/// within RLIMIT_FSIZE for regular files.
pub(super) fn write_bytes(t: &Task, f: &File, mut data: Source<'_>, pos: Option<u64>) -> KResult<u64> {
    let seekable = f.ops.seekable();
    let mut off_guard = if pos.is_none() && seekable { Some(f.offset.lock().unwrap_or_else(|e| e.into_inner())) } else { None };
    let mut off = pos.unwrap_or_else(|| off_guard.as_deref().copied().unwrap_or(0));
    let append = pos.is_none() && f.flags() & O_APPEND != 0;
    let attr = if seekable && (append || !data.is_empty()) { Some(f.inode.stat()?) } else { None };
    if let (true, Some(a)) = (append, &attr) {
        off = a.size;
    }
    if !data.is_empty() && attr.is_some_and(|a| a.kind() == crate::vfs::mode::S_IFREG) {
        let limit = t.tg.rlimit(1).cur; // RLIMIT_FSIZE
        if off >= limit {
            t.send_signal_thread(QueuedSignal { signo: sig::SIGXFSZ, ..Default::default() });
            return Err(Errno::EFBIG);
        }
        data = data.truncate((limit - off).min(usize::MAX as u64) as usize);
    }
    let n = f.ops.write_from(t, data, off, f.nonblock())?;
    if let Some(g) = off_guard.as_mut() {
        **g = off + n as u64;
    }
    if n > 0 {
        crate::fs::inotify::notify_both(crate::vfs::locks::inode_key(f), f.parent.get(), crate::fs::inotify::IN_MODIFY);
    }
    Ok(n as u64)
}

/// Implements read(2).
pub fn sys_read(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    // Directories answer EISDIR from their own read.
    let f = get_file(sc.task, a[0])?;
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

/// Read into an iovec array, at `pos` or the file position; stops at the
/// first short read.
fn read_vectored(t: &Task, f: &File, iov_addr: u64, count: u64, pos: Option<u64>) -> KResult<u64> {
    let iovs = t.mm().read_iovecs(iov_addr, count)?;
    read_iovs(t, f, iovs, pos, f.nonblock())
}

/// Scatter a read of `f` into `iovs`, at `pos` or the file position,
/// non-blocking when `nb`.
pub(super) fn read_iovs(t: &Task, f: &File, iovs: Vec<crate::mm::io::IoVec>, mut pos: Option<u64>, nb: bool) -> KResult<u64> {
    if pos.is_none() && f.readable() {
        if let Some(r) = f.ops.read_vectored(t, &iovs, nb) {
            return r.map(|n| n as u64);
        }
    }
    let mut total = 0;
    for iov in iovs {
        if iov.len == 0 {
            continue;
        }
        match read_file_nb(t, f, iov.base, iov.len, pos, nb) {
            Ok(n) => {
                total += n;
                pos = pos.map(|p| p + n);
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

/// Gather an iovec array and write it in one piece (so that pipes see it
/// atomically), at `pos` or the file position.
fn write_vectored(t: &Task, f: &File, iov_addr: u64, count: u64, pos: Option<u64>) -> KResult<u64> {
    let iovs = t.mm().read_iovecs(iov_addr, count)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let data = gather(t, &iovs)?;
    write_bytes(t, f, Source::Kernel(&data), pos)
}

/// The bytes of `iovs` in application memory, in order: at most
/// MAX_RW_COUNT (Linux's cap on one read or write), and only those before
/// the first bad address (EFAULT when that is the first byte). Copied a
/// megabyte at a time: an iovec may claim terabytes that are not there.
pub(super) fn gather(t: &Task, iovs: &[crate::mm::io::IoVec]) -> KResult<Vec<u8>> {
    const MAX_RW_COUNT: usize = 0x7fff_f000;
    const CHUNK: usize = 1 << 20;
    let mut data = Vec::new();
    for iov in iovs {
        let want = (iov.len as usize).min(MAX_RW_COUNT - data.len());
        let mut done = 0;
        while done < want {
            let at = data.len();
            let n = (want - done).min(CHUNK);
            data.resize(at + n, 0);
            if let Err(e) = t.mm().copy_in(iov.base + done as u64, &mut data[at..]) {
                data.truncate(at);
                return if data.is_empty() { Err(e) } else { Ok(data) };
            }
            done += n;
        }
    }
    Ok(data)
}

/// The offset argument of the p*v calls: -1 in preadv2/pwritev2 means the
/// file position; other negative offsets are EINVAL; unseekable is ESPIPE.
fn vector_pos(f: &File, off: u64, allow_current: bool) -> KResult<Option<u64>> {
    if allow_current && off as i64 == -1 {
        return Ok(None);
    }
    if (off as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    Ok(Some(off))
}

/// Implements readv(2).
pub fn sys_readv(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    read_vectored(sc.task, &f, a[1], a[2], None)
}

/// Implements preadv(2) and preadv2(2) (flags accepted when 0 or RWF_HIPRI).
pub fn sys_preadv(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    let v2 = sc.cpu.regs.orig_rax == 327;
    if v2 && a[5] & !1 != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let pos = vector_pos(&f, a[3], v2)?;
    read_vectored(sc.task, &f, a[1], a[2], pos)
}

/// Implements pwritev(2) and pwritev2(2) (flags accepted when 0 or RWF_HIPRI).
pub fn sys_pwritev(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    let v2 = sc.cpu.regs.orig_rax == 328;
    if v2 && a[5] & !1 != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let pos = vector_pos(&f, a[3], v2)?;
    write_vectored(sc.task, &f, a[1], a[2], pos)
}

/// Implements writev(2).
pub fn sys_writev(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    write_vectored(sc.task, &f, a[1], a[2], None)
}

/// Implements lseek(2).
pub fn sys_lseek(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if f.ops.position_always_zero() {
        return Ok(0);
    }
    let attr = f.inode.stat()?;
    let size = attr.size as i64;
    let mut g = f.offset.lock().unwrap_or_else(|e| e.into_inner());
    let off = a[1] as i64;
    let new = match a[2] {
        0 => off,
        1 => (*g as i64).checked_add(off).ok_or(Errno::EOVERFLOW)?,
        2 => size.checked_add(off).ok_or(Errno::EOVERFLOW)?,
        3 | 4 => {
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
    if attr.is_dir() && new == 0 {
        *f.dir_snapshot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
    Ok(new as u64)
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
    if let Some(old) = t.fds().install_at(newfd as i32, f, cloexec) {
        super::lock::closed(t, &old);
    }
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
        5..=7 | 36..=38 => super::lock::fcntl_lock(sc, &f, a[1], a[2]),
        1031 | 1032 => {
            // F_SETPIPE_SZ, F_GETPIPE_SZ
            let pipe = f.inode.as_any().downcast_ref::<Pipe>().ok_or(Errno::EBADF)?;
            if a[1] == 1032 {
                return Ok(pipe.capacity() as u64);
            }
            Ok(pipe.set_capacity(a[2] as u32 as usize, sc.task.creds().euid == 0)? as u64)
        }
        // F_ADD_SEALS: on a file that takes seals, open for writing.
        1033 => {
            f.inode.seals()?;
            if !f.writable() {
                return Err(Errno::EPERM);
            }
            let add = u32::try_from(a[2]).ok().filter(|s| s & !crate::vfs::seals::ALL == 0).ok_or(Errno::EINVAL)?;
            f.inode.add_seals(add)?;
            Ok(0)
        }
        // F_GET_SEALS
        1034 => Ok(f.inode.seals()? as u64),
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
    // As /proc/PID/fd shows it: "pipe:[INO]".
    let name = format!("pipe:[{}]", inode.stat()?.ino).into_bytes();
    let r = File::new(p.reader(), inode.clone(), name.clone(), O_RDONLY | fl);
    let w = File::new(p.writer(), inode, name, O_WRONLY | fl);
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

/// Implements fsync(2) and fdatasync(2). A file behind a donated host fd
/// is synced by the host (which answers EINVAL for a pipe or a tty);
/// memory-layer files and directories need no flush; pipes, sockets,
/// devices and anonymous files have no fsync, so EINVAL as in Linux.
pub fn sys_fsync(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    f.ops.sync()?;
    if let Some(fd) = f.ops.host_fd() {
        return nix::unistd::fsync(fd).map(|()| 0).map_err(Errno::from);
    }
    let kind = f.inode.stat()?.kind();
    if kind == mode::S_IFREG || kind == mode::S_IFDIR {
        Ok(0)
    } else {
        Err(Errno::EINVAL)
    }
}
/// Implements readahead(2): a hint with nothing to do (file content is
/// in memory or in the host's page cache, which reads ahead itself); the
/// errno of Linux for what takes no readahead: EBADF unless open for
/// reading, EINVAL unless a regular file or block device.
pub fn sys_readahead(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = sc.task.fds().get(a[0] as i32)?;
    if f.is_path() || !f.readable() {
        return Err(Errno::EBADF);
    }
    let kind = f.inode.stat()?.kind();
    if kind != crate::vfs::mode::S_IFREG && kind != crate::vfs::mode::S_IFBLK {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// Implements fadvise64(2). Advice only shapes caching, and the sentry's
/// files live in memory or behind donated host fds that the host caches, so
/// valid advice changes nothing.
pub fn sys_fadvise64(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = get_file(sc.task, a[0])?;
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if a[3] > 5 || (a[2] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
