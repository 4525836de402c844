//! The virtual filesystem: inodes, open file descriptions, fd tables and
//! path resolution.

pub mod fd;
pub mod locks;
pub mod mount;
pub mod moves;
pub mod perm;
pub mod path;

use std::any::Any;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::mm::Mappable;

pub use fd::FdTable;

#[allow(missing_docs)]
pub mod mode {
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFSOCK: u32 = 0o140000;
    pub const S_IFLNK: u32 = 0o120000;
    pub const S_IFREG: u32 = 0o100000;
    pub const S_IFBLK: u32 = 0o060000;
    pub const S_IFDIR: u32 = 0o040000;
    pub const S_IFCHR: u32 = 0o020000;
    pub const S_IFIFO: u32 = 0o010000;
    pub const S_ISUID: u32 = 0o4000;
    pub const S_ISGID: u32 = 0o2000;
    pub const S_ISVTX: u32 = 0o1000;
}

/// Inode attributes.
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct Attr {
    pub ino: u64,
    pub dev: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Attr {
    /// File type bits.
    pub fn kind(&self) -> u32 {
        self.mode & mode::S_IFMT
    }
    /// Is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind() == mode::S_IFDIR
    }
    /// DT_* type for getdents.
    pub fn dtype(&self) -> u8 {
        dtype_of(self.mode)
    }
}

/// DT_* of a mode.
pub fn dtype_of(m: u32) -> u8 {
    ((m & mode::S_IFMT) >> 12) as u8
}

/// A directory entry.
#[derive(Clone, Debug)]
pub struct DirEntry {
    /// Name.
    pub name: Vec<u8>,
    /// Inode number.
    pub ino: u64,
    /// DT_* type.
    pub kind: u8,
}

/// Now, as (sec, nsec).
pub fn now() -> (i64, i64) {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (d.as_secs() as i64, d.subsec_nanos() as i64)
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1 << 40);

/// A fresh inode number for synthetic files.
pub fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// Attribute changes (chmod, chown, truncate, utimes).
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<(i64, i64)>,
    pub mtime: Option<(i64, i64)>,
}

/// Filesystem statistics (statfs(2)).
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub struct FsStat {
    pub magic: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
    pub frsize: u64,
    pub flags: u64,
}

/// TMPFS_MAGIC.
pub const TMPFS_MAGIC: u64 = 0x0102_1994;

impl FsStat {
    /// A memory filesystem with no size limit of its own.
    pub fn memory() -> FsStat {
        FsStat {
            magic: TMPFS_MAGIC,
            bsize: 4096,
            blocks: 1 << 20,
            bfree: 1 << 19,
            bavail: 1 << 19,
            files: 1 << 20,
            ffree: 1 << 19,
            namelen: 255,
            frsize: 4096,
            flags: 0,
        }
    }
}

/// A filesystem object.
pub trait Inode: Send + Sync + Any {
    /// Attributes.
    fn stat(&self) -> KResult<Attr>;
    /// Open it.
    fn open(self: Arc<Self>, flags: u32) -> KResult<Arc<dyn FileOps>>;
    /// Open it for `task` (devices whose open depends on the caller:
    /// /dev/tty, /dev/ptmx).
    fn open_task(self: Arc<Self>, _task: &Task, flags: u32) -> KResult<Arc<dyn FileOps>> {
        self.open(flags)
    }
    /// Statistics of the filesystem holding this inode.
    fn statfs(&self) -> KResult<FsStat> {
        Ok(FsStat::memory())
    }
    /// Look up a child (directories).
    fn lookup(&self, _name: &[u8]) -> KResult<Arc<dyn Inode>> {
        Err(Errno::ENOTDIR)
    }
    /// List children (directories), without "." and "..".
    fn readdir(&self) -> KResult<Vec<DirEntry>> {
        Err(Errno::ENOTDIR)
    }
    /// Symlink target.
    fn readlink(&self) -> KResult<Vec<u8>> {
        Err(Errno::EINVAL)
    }
    /// A /proc "magic" link (fd, cwd, root, exe), which openat2's
    /// RESOLVE_NO_MAGICLINKS refuses to follow.
    fn magic_link(&self) -> bool {
        false
    }
    /// Where a magic link leads when followed: the open file or directory
    /// itself (Linux's `nd_jump_link`), not a walk of the path its
    /// readlink shows. So `/proc/self/fd/N` reaches a deleted or renamed
    /// file, a pipe (`/dev/stdin`, bash's `<(...)`) or an O_TMPFILE file.
    /// None: followed by its text, as any symlink.
    fn magic_target(&self) -> Option<KResult<path::Location>> {
        None
    }
    /// F_GET_SEALS: the file's seals (see [`seals`]); EINVAL for a file
    /// that takes none (only memory files do: memfds and tmpfs's).
    fn seals(&self) -> KResult<u32> {
        Err(Errno::EINVAL)
    }
    /// F_ADD_SEALS past the generic checks: EPERM once F_SEAL_SEAL is
    /// set, EBUSY for F_SEAL_WRITE while the file is mapped shared.
    fn add_seals(&self, _seals: u32) -> KResult<()> {
        Err(Errno::EINVAL)
    }
    /// Create a regular file.
    fn create(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(self.not_writable())
    }
    /// Create a directory.
    fn mkdir(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(self.not_writable())
    }
    /// Create a special file (FIFO, socket, device node).
    fn mknod(&self, _name: &[u8], _mode: u32, _rdev: u64, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(self.not_writable())
    }
    /// Create a symlink.
    fn symlink(&self, _name: &[u8], _target: &[u8], _uid: u32, _gid: u32) -> KResult<()> {
        Err(self.not_writable())
    }
    /// Make a hard link to `target` named `name`.
    fn link(&self, _name: &[u8], _target: Arc<dyn Inode>) -> KResult<()> {
        Err(self.not_writable())
    }
    /// Remove a non-directory (`dir` false) or an empty directory.
    fn unlink(&self, _name: &[u8], _dir: bool) -> KResult<()> {
        Err(self.not_writable())
    }
    /// Move `name` to `new_dir`/`new_name`.
    fn rename(&self, _name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8]) -> KResult<()> {
        Err(self.not_writable())
    }
    /// Swap `name` and `new_dir`/`new_name`, both existing
    /// (RENAME_EXCHANGE).
    fn exchange(&self, _name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8]) -> KResult<()> {
        Err(Errno::EINVAL)
    }
    /// The value of extended attribute `name` (ENODATA: none).
    fn getxattr(&self, _name: &[u8]) -> KResult<Vec<u8>> {
        Err(Errno::ENODATA)
    }
    /// The names of its extended attributes.
    fn listxattr(&self) -> KResult<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }
    /// Set extended attribute `name` (flags: XATTR_CREATE 1, XATTR_REPLACE 2).
    fn setxattr(&self, _name: &[u8], _value: &[u8], _flags: i32) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Remove extended attribute `name`.
    fn removexattr(&self, _name: &[u8]) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// A new regular file with no name in this directory (O_TMPFILE).
    fn create_unnamed(&self, _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Change attributes.
    fn setattr(&self, _a: &SetAttr) -> KResult<()> {
        Err(self.not_writable())
    }
    /// The error for mutating operations on a filesystem that has none.
    fn not_writable(&self) -> Errno {
        Errno::EPERM
    }
    /// Downcast support.
    fn as_any(&self) -> &dyn Any;
}

/// Poll readiness bits.
pub const POLLIN: u32 = 1;
/// Writable.
pub const POLLOUT: u32 = 4;
/// Error.
pub const POLLERR: u32 = 8;
/// Hang up.
pub const POLLHUP: u32 = 16;

/// Where the bytes of a write come from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// Already in the sentry (writev gathers its iovecs).
    Kernel(&'a [u8]),
    /// Still in application memory: copied in only by files that read it.
    User {
        /// Address.
        addr: u64,
        /// Length.
        len: usize,
    },
}

impl Source<'_> {
    /// Bytes to write.
    pub fn len(&self) -> usize {
        match self {
            Source::Kernel(b) => b.len(),
            Source::User { len, .. } => *len,
        }
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n` bytes only.
    pub fn truncate(self, n: usize) -> Self {
        match self {
            Source::Kernel(b) => Source::Kernel(&b[..n.min(b.len())]),
            Source::User { addr, len } => Source::User { addr, len: len.min(n) },
        }
    }
}

/// [`FileOps::read`] into a sentry buffer, then out to the application at
/// `addr` (checked first, so that a bad buffer consumes nothing).
pub fn read_through_buffer<F: FileOps + ?Sized>(f: &F, task: &Task, addr: u64, len: usize, off: u64, nonblock: bool) -> KResult<usize> {
    task.mm().check_access(addr, len, true)?;
    let mut kbuf = vec![0u8; len];
    let n = f.read(task, &mut kbuf, off, nonblock)?;
    task.mm().copy_out(addr, &kbuf[..n])?;
    Ok(n)
}

/// The operations of an open file.
pub trait FileOps: Send + Sync + Any {
    /// Read at `off` (ignored when not seekable).
    fn read(&self, task: &Task, buf: &mut [u8], off: u64, nonblock: bool) -> KResult<usize>;
    /// Write at `off`.
    fn write(&self, task: &Task, buf: &[u8], off: u64, nonblock: bool) -> KResult<usize>;
    /// Read up to `len` bytes at `off` into application memory at `addr`
    /// (the default reads into a sentry buffer and copies it out).
    fn read_to(&self, task: &Task, addr: u64, len: usize, off: u64, nonblock: bool) -> KResult<usize> {
        read_through_buffer(self, task, addr, len, off, nonblock)
    }
    /// Write from `src`; files that need the bytes get them copied in here
    /// (EFAULT for a bad buffer), others (/dev/null) never touch them.
    fn write_from(&self, task: &Task, src: Source<'_>, off: u64, nonblock: bool) -> KResult<usize> {
        match src {
            Source::Kernel(b) => self.write(task, b, off, nonblock),
            Source::User { addr, len } => {
                let mut b = vec![0u8; len];
                task.mm().copy_in(addr, &mut b)?;
                self.write(task, &b, off, nonblock)
            }
        }
    }
    /// readv(2) as one read over all of `iovs`, for files where reading
    /// buffer by buffer would differ (a socket takes one datagram, or the
    /// stream bytes there are, at once); None: buffer by buffer.
    fn read_vectored(&self, _task: &Task, _iovs: &[crate::mm::io::IoVec], _nonblock: bool) -> Option<KResult<usize>> {
        None
    }
    /// Whether lseek/pread apply.
    fn seekable(&self) -> bool {
        true
    }
    /// Character devices like /dev/null whose position is always 0:
    /// lseek succeeds and answers 0 (Linux's null_lseek).
    fn position_always_zero(&self) -> bool {
        false
    }
    /// ioctl(2).
    fn ioctl(&self, _task: &Task, _cmd: u64, _arg: u64) -> KResult<u64> {
        Err(Errno::ENOTTY)
    }
    /// Current readiness (POLL* bits).
    fn readiness(&self) -> u32 {
        POLLIN | POLLOUT
    }
    /// The wait queue notified on readiness changes, if the file can block.
    fn wait_queue(&self) -> Option<&crate::kernel::wait::WaitQueue> {
        None
    }
    /// Whether poll and epoll apply (regular files and directories: no,
    /// and epoll_ctl refuses them with EPERM).
    fn pollable(&self) -> bool {
        true
    }
    /// The pidfd, if this file is one.
    fn as_pidfd(&self) -> Option<&crate::fs::anon::PidFd> {
        None
    }
    /// The timerfd, if this file is one.
    fn as_timerfd(&self) -> Option<&crate::fs::anon::TimerFd> {
        None
    }
    /// The signalfd, if this file is one.
    fn as_signalfd(&self) -> Option<&crate::fs::anon::SignalFd> {
        None
    }
    /// Readiness as seen by `task` (a signalfd depends on who asks).
    fn readiness_for(&self, _task: &Task) -> u32 {
        self.readiness()
    }
    /// The terminal, if this file is one that can be a controlling terminal.
    fn as_tty(&self) -> Option<Arc<dyn crate::fs::tty::Terminal>> {
        None
    }
    /// The epoll instance, if this file is one.
    fn as_epoll(&self) -> Option<&crate::fs::anon::Epoll> {
        None
    }
    /// The host fd, if the file is backed by one (poll on host fds).
    fn host_fd(&self) -> Option<i32> {
        None
    }
    /// Something to back private mappings of this file.
    fn mappable(&self) -> Option<Arc<dyn Mappable>> {
        None
    }
    /// fsync(2)'s work beyond a host fd's: data the sentry holds for the
    /// file reaches where it lives.
    fn sync(&self) -> KResult<()> {
        Ok(())
    }
    /// Size for SEEK_END, if different from stat's.
    fn on_close(&self) {}
}

/// File seals (fcntl F_ADD_SEALS, memfd_create(2)).
#[allow(missing_docs)]
pub mod seals {
    pub const F_SEAL_SEAL: u32 = 1;
    pub const F_SEAL_SHRINK: u32 = 2;
    pub const F_SEAL_GROW: u32 = 4;
    pub const F_SEAL_WRITE: u32 = 8;
    pub const F_SEAL_FUTURE_WRITE: u32 = 16;
    pub const F_SEAL_EXEC: u32 = 32;
    pub const ALL: u32 = 63;
    /// Seals that stop writes.
    pub const WRITES: u32 = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
}

/// O_* flags.
#[allow(missing_docs)]
pub mod oflags {
    pub const O_ACCMODE: u32 = 3;
    pub const O_RDONLY: u32 = 0;
    pub const O_WRONLY: u32 = 1;
    pub const O_RDWR: u32 = 2;
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_NOCTTY: u32 = 0o400;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    pub const O_NONBLOCK: u32 = 0o4000;
    pub const O_DSYNC: u32 = 0o10000;
    pub const O_ASYNC: u32 = 0o20000;
    pub const O_DIRECT: u32 = 0o40000;
    pub const O_LARGEFILE: u32 = 0o100000;
    pub const O_DIRECTORY: u32 = 0o200000;
    pub const O_NOFOLLOW: u32 = 0o400000;
    pub const O_NOATIME: u32 = 0o1000000;
    pub const O_CLOEXEC: u32 = 0o2000000;
    pub const O_SYNC: u32 = 0o4010000;
    pub const O_PATH: u32 = 0o10000000;
    pub const O_TMPFILE: u32 = 0o20200000;
}

/// An open file description.
pub struct File {
    /// Operations.
    pub ops: Arc<dyn FileOps>,
    /// The inode.
    pub inode: Arc<dyn Inode>,
    /// Absolute path at open time (for /proc/[pid]/fd and maps).
    pub path: Vec<u8>,
    /// Status flags (O_APPEND, O_NONBLOCK, access mode).
    pub flags: AtomicU32,
    /// File position.
    pub offset: Mutex<u64>,
    /// Directory listing snapshot for getdents.
    pub dir_snapshot: Mutex<Option<Vec<DirEntry>>>,
    /// The description has held an OFD or flock lock (see [`locks`]).
    pub locked: std::sync::atomic::AtomicBool,
    /// The directory it was opened in (its inode key) and its name there,
    /// for inotify events on the directory.
    pub parent: std::sync::OnceLock<(usize, Vec<u8>)>,
    /// Where it was opened (files opened by path): the start of paths
    /// relative to it, fchdir's target, and what keeps a mount busy.
    pub at: std::sync::OnceLock<path::Location>,
}


impl File {
    /// A new description.
    pub fn new(ops: Arc<dyn FileOps>, inode: Arc<dyn Inode>, path: Vec<u8>, flags: u32) -> Arc<File> {
        Arc::new(File {
            ops,
            inode,
            path,
            flags: AtomicU32::new(flags & !oflags::O_CLOEXEC),
            offset: Mutex::new(0),
            dir_snapshot: Mutex::new(None),
            locked: Default::default(),
            parent: Default::default(),
            at: Default::default(),
        })
    }

    /// Status flags.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// Readable access mode.
    pub fn readable(&self) -> bool {
        let a = self.flags() & oflags::O_ACCMODE;
        a == oflags::O_RDONLY || a == oflags::O_RDWR
    }

    /// Writable access mode.
    pub fn writable(&self) -> bool {
        let a = self.flags() & oflags::O_ACCMODE;
        a == oflags::O_WRONLY || a == oflags::O_RDWR
    }

    /// O_PATH.
    pub fn is_path(&self) -> bool {
        self.flags() & oflags::O_PATH != 0
    }

    /// O_NONBLOCK.
    pub fn nonblock(&self) -> bool {
        self.flags() & oflags::O_NONBLOCK != 0
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // The last reference to the description: its OFD and flock locks go.
        if *self.locked.get_mut() {
            locks::description_closed(locks::inode_key(self), self as *const File as usize);
        }
        if crate::fs::inotify::active() {
            use crate::fs::inotify::{notify_both, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE};
            let mask = if self.writable() { IN_CLOSE_WRITE } else { IN_CLOSE_NOWRITE };
            notify_both(locks::inode_key(self), self.parent.get(), mask);
        }
        self.ops.on_close();
    }
}

/// An open-able file with no content beyond what `FileOps` implementors
/// provide: used for O_PATH descriptions.
pub struct PathOnly;

impl FileOps for PathOnly {
    fn read(&self, _: &Task, _: &mut [u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EBADF)
    }
    fn write(&self, _: &Task, _: &[u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EBADF)
    }
}

/// Directory file operations (reads are EISDIR; listing is via the inode).
pub struct DirFile;

impl FileOps for DirFile {
    fn pollable(&self) -> bool {
        false
    }
    fn read(&self, _: &Task, _: &mut [u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EISDIR)
    }
    fn write(&self, _: &Task, _: &[u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EISDIR)
    }
}

/// A read-only file whose content is generated at open (procfs style).
pub struct BytesFile(pub Vec<u8>);

impl FileOps for BytesFile {
    fn read(&self, _: &Task, buf: &mut [u8], off: u64, _: bool) -> KResult<usize> {
        let off = off.min(self.0.len() as u64) as usize;
        let n = buf.len().min(self.0.len() - off);
        buf[..n].copy_from_slice(&self.0[off..off + n]);
        Ok(n)
    }
    fn write(&self, _: &Task, _: &[u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EBADF)
    }
}
