//! Building blocks for filesystems the sentry synthesizes (/proc, /dev):
//! directories listed by a closure, files generated at open, symlinks
//! computed at read.

use std::any::Any;
use std::sync::Arc;

use crate::errno::{Errno, KResult};
use crate::vfs::{self, mode, Attr, BytesFile, DirEntry, DirFile, FileOps, Inode};

type ListFn = Box<dyn Fn() -> Vec<(Vec<u8>, Arc<dyn Inode>)> + Send + Sync>;
type LookupFn = Box<dyn Fn(&[u8]) -> Option<Arc<dyn Inode>> + Send + Sync>;

/// A synthetic directory.
pub struct SynthDir {
    ino: u64,
    mode: u32,
    list: ListFn,
    lookup: Option<LookupFn>,
}

impl SynthDir {
    /// A directory whose children the closure lists.
    pub fn new(list: impl Fn() -> Vec<(Vec<u8>, Arc<dyn Inode>)> + Send + Sync + 'static) -> Arc<SynthDir> {
        Arc::new(SynthDir { ino: vfs::next_ino(), mode: 0o555, list: Box::new(list), lookup: None })
    }

    /// A directory with a fixed set of children.
    pub fn fixed(children: Vec<(&'static str, Arc<dyn Inode>)>) -> Arc<SynthDir> {
        let c: Vec<(Vec<u8>, Arc<dyn Inode>)> = children.into_iter().map(|(n, i)| (n.as_bytes().to_vec(), i)).collect();
        Self::new(move || c.clone())
    }

    /// A directory with an extra lookup for names it does not list.
    pub fn with_lookup(
        list: impl Fn() -> Vec<(Vec<u8>, Arc<dyn Inode>)> + Send + Sync + 'static,
        lookup: impl Fn(&[u8]) -> Option<Arc<dyn Inode>> + Send + Sync + 'static,
    ) -> Arc<SynthDir> {
        Arc::new(SynthDir { ino: vfs::next_ino(), mode: 0o555, list: Box::new(list), lookup: Some(Box::new(lookup)) })
    }
}

fn attr(ino: u64, m: u32, size: u64) -> Attr {
    let t = crate::kernel::boot_time();
    Attr { ino, dev: 0x5, mode: m, nlink: 1, blksize: 4096, size, atime: t, mtime: t, ctime: t, ..Attr::default() }
}

impl Inode for SynthDir {
    fn stat(&self) -> KResult<Attr> {
        let mut a = attr(self.ino, mode::S_IFDIR | self.mode, 0);
        a.nlink = 2;
        Ok(a)
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Ok(Arc::new(DirFile))
    }
    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        if let Some(f) = &self.lookup {
            if let Some(i) = f(name) {
                return Ok(i);
            }
        }
        (self.list)().into_iter().find(|(n, _)| n == name).map(|(_, i)| i).ok_or(Errno::ENOENT)
    }
    fn readdir(&self) -> KResult<Vec<DirEntry>> {
        Ok((self.list)()
            .into_iter()
            .map(|(name, i)| {
                let a = i.stat().unwrap_or_default();
                DirEntry { name, ino: a.ino, kind: a.dtype() }
            })
            .collect())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

type GenFn = Box<dyn Fn() -> KResult<Vec<u8>> + Send + Sync>;

/// A file generated when opened; writable when it has a setter.
pub struct SynthFile {
    ino: u64,
    gen: GenFn,
    set: Option<SetFn>,
}

type SetFn = Box<dyn Fn(&[u8]) -> KResult<()> + Send + Sync>;

impl SynthFile {
    /// A read-only file whose content the closure makes.
    pub fn new(gen: impl Fn() -> KResult<Vec<u8>> + Send + Sync + 'static) -> Arc<SynthFile> {
        Arc::new(SynthFile { ino: vfs::next_ino(), gen: Box::new(gen), set: None })
    }

    /// A file with fixed content.
    pub fn text(s: impl Into<Vec<u8>>) -> Arc<SynthFile> {
        let s = s.into();
        Self::new(move || Ok(s.clone()))
    }

    /// A file (mode 0644) whose content `gen` makes and whose writes at
    /// offset 0 go to `set` (a write past the start changes nothing, as in
    /// Linux's /proc/sys and cgroup files).
    pub fn rw(
        gen: impl Fn() -> KResult<Vec<u8>> + Send + Sync + 'static,
        set: impl Fn(&[u8]) -> KResult<()> + Send + Sync + 'static,
    ) -> Arc<SynthFile> {
        Arc::new(SynthFile { ino: vfs::next_ino(), gen: Box::new(gen), set: Some(Box::new(set)) })
    }
}

impl Inode for SynthFile {
    fn stat(&self) -> KResult<Attr> {
        Ok(attr(self.ino, mode::S_IFREG | if self.set.is_some() { 0o644 } else { 0o444 }, 0))
    }
    fn open(self: Arc<Self>, flags: u32) -> KResult<Arc<dyn FileOps>> {
        let writing = flags & vfs::oflags::O_ACCMODE != vfs::oflags::O_RDONLY;
        if writing && self.set.is_none() {
            return Err(Errno::EACCES);
        }
        // Content is made only for reading (a write-only open of a file
        // whose content cannot be made now still writes).
        let content = if flags & vfs::oflags::O_ACCMODE != vfs::oflags::O_WRONLY { (self.gen)()? } else { Vec::new() };
        if writing {
            return Ok(Arc::new(SynthOpen { content, file: self }));
        }
        Ok(Arc::new(BytesFile(content)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A writable synthetic file, open.
struct SynthOpen {
    content: Vec<u8>,
    file: Arc<SynthFile>,
}

impl FileOps for SynthOpen {
    fn read(&self, t: &crate::kernel::task::Task, buf: &mut [u8], off: u64, nb: bool) -> KResult<usize> {
        BytesFile(self.content.clone()).read(t, buf, off, nb)
    }
    fn write(&self, _t: &crate::kernel::task::Task, buf: &[u8], off: u64, _nb: bool) -> KResult<usize> {
        if off == 0 {
            if let Some(set) = &self.file.set {
                set(buf)?;
            }
        }
        Ok(buf.len())
    }
    fn pollable(&self) -> bool {
        false
    }
}

type LinkFn = Box<dyn Fn() -> KResult<Vec<u8>> + Send + Sync>;
type JumpFn = Box<dyn Fn() -> KResult<vfs::path::Location> + Send + Sync>;

/// A symlink whose target is computed when read.
pub struct SynthLink {
    ino: u64,
    target: LinkFn,
    magic: bool,
    /// Where following it leads, for a magic link that leads to a place
    /// rather than to its text.
    jump: Option<JumpFn>,
}

impl SynthLink {
    /// A link to what the closure says.
    pub fn new(target: impl Fn() -> KResult<Vec<u8>> + Send + Sync + 'static) -> Arc<SynthLink> {
        Arc::new(SynthLink { ino: vfs::next_ino(), target: Box::new(target), magic: false, jump: None })
    }

    /// A /proc magic link followed by its text (exe).
    pub fn magic(target: impl Fn() -> KResult<Vec<u8>> + Send + Sync + 'static) -> Arc<SynthLink> {
        Arc::new(SynthLink { ino: vfs::next_ino(), target: Box::new(target), magic: true, jump: None })
    }

    /// A /proc magic link that reads as `target` and leads to the place
    /// `jump` gives (fd, cwd, root).
    pub fn jump(
        target: impl Fn() -> KResult<Vec<u8>> + Send + Sync + 'static,
        jump: impl Fn() -> KResult<vfs::path::Location> + Send + Sync + 'static,
    ) -> Arc<SynthLink> {
        Arc::new(SynthLink { ino: vfs::next_ino(), target: Box::new(target), magic: true, jump: Some(Box::new(jump)) })
    }
}

impl Inode for SynthLink {
    fn stat(&self) -> KResult<Attr> {
        let len = (self.target)().map(|t| t.len() as u64).unwrap_or(0);
        Ok(attr(self.ino, mode::S_IFLNK | 0o777, len))
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Err(Errno::ELOOP)
    }
    fn readlink(&self) -> KResult<Vec<u8>> {
        (self.target)()
    }
    fn magic_link(&self) -> bool {
        self.magic
    }
    fn magic_target(&self) -> Option<KResult<vfs::path::Location>> {
        self.jump.as_ref().map(|j| j())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A character device node whose open returns the given operations.
pub struct CharDev {
    ino: u64,
    rdev: u64,
    mode: u32,
    make: Box<dyn Fn() -> Arc<dyn FileOps> + Send + Sync>,
}

impl CharDev {
    /// A device with major/minor numbers.
    pub fn new(major: u64, minor: u64, make: impl Fn() -> Arc<dyn FileOps> + Send + Sync + 'static) -> Arc<CharDev> {
        Arc::new(CharDev { ino: vfs::next_ino(), rdev: (major << 8) | minor, mode: 0o666, make: Box::new(make) })
    }
}

impl Inode for CharDev {
    fn stat(&self) -> KResult<Attr> {
        let mut a = attr(self.ino, mode::S_IFCHR | self.mode, 0);
        a.rdev = self.rdev;
        Ok(a)
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Ok((self.make)())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
