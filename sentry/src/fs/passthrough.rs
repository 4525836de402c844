//! A writable tree of host files, written through: what a bind mount of a
//! host directory (an OCI `bind` mount, `podman -v DIR:/data`) serves.
//! Unlike the overlay, changes reach the host: every create, link,
//! unlink, rename and attribute change is a gofer request, and file data
//! moves through host fds the gofer donates (pread and pwrite, no copy
//! into the sentry's memory). Names and attributes are asked of the host
//! again at each lookup and stat, so that changes made on the host side
//! (a file another container or the host wrote) are seen.
//!
//! Mappings: a private mapping is served from the host fd (the memory
//! manager maps or copies it); a shared one from a page cache in the
//! memory file, which read(2) and write(2) keep coherent while it exists
//! and which is written back to the host at msync, fsync and when the last
//! shared mapping goes.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use gofer::{Client, Fid};

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::mm::{Mappable, MemoryFile, PAGE};
use crate::vfs::{self, mode, Attr, DirEntry, DirFile, FileOps, Inode, SetAttr};

/// Shared by all nodes of one tree.
pub struct PassFs {
    client: Arc<Client>,
    mf: Arc<MemoryFile>,
}

#[derive(Default)]
struct State {
    attr: Attr,
    /// Host fds of the file, opened on first use: read-only, read-write.
    ro: Option<Arc<OwnedFd>>,
    rw: Option<Arc<OwnedFd>>,
    /// Nodes looked up beneath this directory (revalidated at each lookup).
    children: HashMap<Vec<u8>, Arc<Node>>,
    /// The page cache of shared mappings: file offset -> frame.
    cache: BTreeMap<u64, u64>,
    /// The live shared-mapping object, while any mapping holds it.
    mapping: Weak<Mapping>,
    /// A FIFO's buffer, shared by every open of it in the sandbox.
    fifo: Option<Arc<crate::fs::pipe::Pipe>>,
}

/// A file, directory or symlink of the tree: a gofer fid.
pub struct Node {
    fs: Arc<PassFs>,
    fid: Fid,
    st: Mutex<State>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let st = self.st.get_mut().unwrap_or_else(|e| e.into_inner());
        let frames: Vec<u64> = std::mem::take(&mut st.cache).into_values().collect();
        self.fs.mf.decref_all(&frames);
        let _ = self.fs.client.close(self.fid);
    }
}

fn gofer_setattr(a: &SetAttr) -> gofer::SetAttr {
    gofer::SetAttr { mode: a.mode, uid: a.uid, gid: a.gid, size: a.size, atime: a.atime, mtime: a.mtime }
}

impl Node {
    /// The root of the tree the gofer behind `client` serves.
    pub fn new_root(client: Arc<Client>, mf: Arc<MemoryFile>) -> KResult<Arc<Node>> {
        let (fid, a) = client.attach()?;
        let fs = Arc::new(PassFs { client, mf });
        Ok(Node::new(&fs, fid, &a))
    }

    fn new(fs: &Arc<PassFs>, fid: Fid, a: &gofer::Attr) -> Arc<Node> {
        let attr = crate::fs::overlay::attr_from(a);
        Arc::new(Node { fs: fs.clone(), fid, st: Mutex::new(State { attr, ..State::default() }) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn client(&self) -> &Client {
        &self.fs.client
    }

    fn kind(&self) -> u32 {
        self.lock().attr.kind()
    }

    /// A host fd of the file: read-only, or read-write.
    fn fd(&self, write: bool) -> KResult<Arc<OwnedFd>> {
        let mut st = self.lock();
        if let Some(fd) = if write { st.rw.as_ref() } else { st.rw.as_ref().or(st.ro.as_ref()) } {
            return Ok(fd.clone());
        }
        let flags = if write { libc::O_RDWR } else { libc::O_RDONLY };
        let fd = Arc::new(self.client().open(self.fid, flags)?);
        *(if write { &mut st.rw } else { &mut st.ro }) = Some(fd.clone());
        Ok(fd)
    }

    /// Fresh attributes from the host (fstat of an open fd when there is
    /// one, else a gofer round trip).
    fn refresh(&self) -> KResult<Attr> {
        let fd = {
            let st = self.lock();
            st.rw.clone().or_else(|| st.ro.clone())
        };
        let a = match fd {
            Some(fd) => crate::fs::overlay::attr_from(&gofer::direct::stat(fd.as_fd())?),
            None => crate::fs::overlay::attr_from(&self.client().stat(self.fid)?),
        };
        self.lock().attr = a;
        Ok(a)
    }

    /// Look `name` up on the host; a node already known for the same file
    /// is kept (its fds and page cache with it).
    fn lookup_node(&self, name: &[u8]) -> KResult<Arc<Node>> {
        if self.kind() != mode::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let walked = self.client().walk(self.fid, name);
        let mut st = self.lock();
        let (fid, a) = match walked {
            Ok(x) => x,
            Err(e) => {
                st.children.remove(name);
                return Err(e.into());
            }
        };
        if let Some(c) = st.children.get(name) {
            let mut cs = c.lock();
            if (cs.attr.dev, cs.attr.ino) == (a.dev, a.ino) && cs.attr.kind() == a.mode & mode::S_IFMT {
                cs.attr = crate::fs::overlay::attr_from(&a);
                drop(cs);
                let _ = self.client().close(fid);
                return Ok(c.clone());
            }
        }
        let node = Node::new(&self.fs, fid, &a);
        st.children.insert(name.to_vec(), node.clone());
        Ok(node)
    }

    /// Remember a node just made as `name`.
    fn adopt(&self, name: &[u8], fid: Fid, a: &gofer::Attr) -> Arc<Node> {
        let node = Node::new(&self.fs, fid, a);
        self.lock().children.insert(name.to_vec(), node.clone());
        node
    }

    fn rmap_key(&self) -> usize {
        self as *const Node as usize
    }

    /// Write the shared-mapping page cache back to the host file.
    fn writeback(&self) -> KResult<()> {
        let pages: Vec<(u64, u64)> = {
            let st = self.lock();
            if st.cache.is_empty() {
                return Ok(());
            }
            st.cache.iter().map(|(&k, &f)| (k, f)).collect()
        };
        let size = self.refresh()?.size;
        let fd = self.fd(true)?;
        let mut buf = vec![0u8; PAGE as usize];
        for (off, frame) in pages {
            if off >= size {
                break;
            }
            let n = (size - off).min(PAGE) as usize;
            self.fs.mf.read(frame, &mut buf[..n]);
            pwrite_all(&fd, &buf[..n], off)?;
        }
        Ok(())
    }

    /// For each cached page overlapping `[off, end)`: the memory-file
    /// offset of the overlap, its offset from `off`, and its length.
    fn each_cached(&self, off: u64, end: u64, mut f: impl FnMut(u64, usize, usize)) {
        let st = self.lock();
        for (&pg, &frame) in st.cache.range(off & !(PAGE - 1)..end) {
            let (from, to) = (off.max(pg), end.min(pg + PAGE));
            if from < to {
                f(frame + (from - pg), (from - off) as usize, (to - from) as usize);
            }
        }
    }

    /// Drop cached pages from `from` on (truncation), zeroing the tail of
    /// the page holding `from`.
    fn cache_truncate(&self, from: u64) {
        let mut st = self.lock();
        let first = from.div_ceil(PAGE) * PAGE;
        let keys: Vec<u64> = st.cache.range(first..).map(|(k, _)| *k).collect();
        let frames: Vec<u64> = keys.iter().filter_map(|k| st.cache.remove(k)).collect();
        self.fs.mf.decref_all(&frames);
        if from % PAGE != 0 {
            if let Some(&f) = st.cache.get(&(from & !(PAGE - 1))) {
                self.fs.mf.zero(f + from % PAGE, (PAGE - from % PAGE) as usize);
            }
        }
    }
}

fn pwrite_all(fd: &OwnedFd, mut buf: &[u8], mut off: u64) -> KResult<()> {
    while !buf.is_empty() {
        match nix::sys::uio::pwrite(fd, buf, off as i64) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => {
                buf = &buf[n..];
                off += n as u64;
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

impl Inode for Node {
    fn stat(&self) -> KResult<Attr> {
        self.refresh()
    }

    fn open(self: Arc<Self>, flags: u32) -> KResult<Arc<dyn FileOps>> {
        match self.kind() {
            mode::S_IFDIR => Ok(Arc::new(DirFile)),
            mode::S_IFREG => {
                let write = flags & vfs::oflags::O_ACCMODE != vfs::oflags::O_RDONLY;
                let fd = self.fd(write)?;
                if write && flags & vfs::oflags::O_TRUNC != 0 {
                    nix::unistd::ftruncate(&*fd, 0)?;
                    self.cache_truncate(0);
                    crate::mm::rmap::truncated(self.rmap_key(), 0);
                }
                Ok(Arc::new(PassFile { node: self, fd }))
            }
            mode::S_IFCHR | mode::S_IFBLK => Err(Errno::EACCES),
            mode::S_IFIFO | mode::S_IFSOCK => Err(Errno::ENXIO),
            _ => Err(Errno::ELOOP),
        }
    }

    fn open_task(self: Arc<Self>, task: &Task, flags: u32) -> KResult<Arc<dyn FileOps>> {
        if self.kind() != mode::S_IFIFO {
            return self.open(flags);
        }
        // A named pipe: the sandbox's own pipe, shared by its opens.
        let pipe = self.lock().fifo.get_or_insert_with(crate::fs::pipe::Pipe::new).clone();
        let acc = flags & vfs::oflags::O_ACCMODE;
        Ok(pipe.open_fifo(task, acc != vfs::oflags::O_WRONLY, acc != vfs::oflags::O_RDONLY, flags & vfs::oflags::O_NONBLOCK != 0)?)
    }

    fn statfs(&self) -> KResult<vfs::FsStat> {
        let s = self.client().statfs(self.fid)?;
        Ok(vfs::FsStat {
            magic: s.fs_type,
            bsize: s.bsize,
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
            namelen: s.namelen,
            frsize: s.frsize,
            flags: s.flags,
        })
    }

    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        Ok(self.lookup_node(name)?)
    }

    fn readdir(&self) -> KResult<Vec<DirEntry>> {
        if self.kind() != mode::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let ents = self.client().getdents(self.fid)?;
        Ok(ents.into_iter().map(|e| DirEntry { name: e.name, ino: e.ino, kind: e.kind }).collect())
    }

    fn readlink(&self) -> KResult<Vec<u8>> {
        if self.kind() != mode::S_IFLNK {
            return Err(Errno::EINVAL);
        }
        Ok(self.client().readlink(self.fid)?)
    }

    fn create(&self, name: &[u8], m: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let (fid, a, fd) = self.client().create(self.fid, name, libc::O_RDWR, m & 0o7777, uid, gid)?;
        let node = self.adopt(name, fid, &a);
        node.lock().rw = Some(Arc::new(fd));
        Ok(node)
    }

    fn mkdir(&self, name: &[u8], m: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let (fid, a) = self.client().mkdir(self.fid, name, m & 0o7777, uid, gid)?;
        Ok(self.adopt(name, fid, &a))
    }

    fn mknod(&self, name: &[u8], m: u32, rdev: u64, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let (fid, a) = self.client().mknod(self.fid, name, m, rdev, uid, gid)?;
        Ok(self.adopt(name, fid, &a))
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> KResult<()> {
        let (fid, a) = self.client().symlink(self.fid, name, target, uid, gid)?;
        self.adopt(name, fid, &a);
        Ok(())
    }

    fn link(&self, name: &[u8], target: Arc<dyn Inode>) -> KResult<()> {
        let Some(t) = target.as_any().downcast_ref::<Node>() else { return Err(Errno::EXDEV) };
        if !Arc::ptr_eq(&t.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        let (fid, _) = self.client().link(self.fid, name, t.fid)?;
        let _ = self.client().close(fid);
        Ok(())
    }

    fn unlink(&self, name: &[u8], dir: bool) -> KResult<()> {
        self.client().unlink(self.fid, name, if dir { libc::AT_REMOVEDIR } else { 0 })?;
        self.lock().children.remove(name);
        Ok(())
    }

    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> KResult<()> {
        let Some(dst) = new_dir.as_any().downcast_ref::<Node>() else { return Err(Errno::EXDEV) };
        if !Arc::ptr_eq(&dst.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        self.client().rename(self.fid, name, dst.fid, new_name)?;
        let moved = self.lock().children.remove(name);
        let mut ds = dst.lock();
        match moved {
            Some(n) => ds.children.insert(new_name.to_vec(), n),
            None => ds.children.remove(new_name),
        };
        Ok(())
    }

    fn exchange(&self, _name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8]) -> KResult<()> {
        // The gofer protocol has no RENAME_EXCHANGE: what Linux says for a
        // filesystem without it.
        Err(Errno::EINVAL)
    }

    fn getxattr(&self, name: &[u8]) -> KResult<Vec<u8>> {
        Ok(self.client().getxattr(self.fid, name)?)
    }

    fn listxattr(&self) -> KResult<Vec<Vec<u8>>> {
        Ok(self.client().listxattr(self.fid)?)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: i32) -> KResult<()> {
        Ok(self.client().setxattr(self.fid, name, value, flags)?)
    }

    fn removexattr(&self, name: &[u8]) -> KResult<()> {
        Ok(self.client().removexattr(self.fid, name)?)
    }

    fn create_unnamed(&self, _m: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        // O_TMPFILE on a filesystem that cannot make unnamed files.
        Err(Errno::EOPNOTSUPP)
    }

    fn setattr(&self, a: &SetAttr) -> KResult<()> {
        if a.size.is_some() && self.kind() == mode::S_IFDIR {
            return Err(Errno::EISDIR);
        }
        if a.size.is_some() {
            // Mapped pages written before the truncation reach the file
            // first, as they would have on Linux.
            self.writeback()?;
        }
        self.client().setattr(self.fid, &gofer_setattr(a))?;
        if let Some(size) = a.size {
            self.cache_truncate(size);
            crate::mm::rmap::truncated(self.rmap_key(), size);
        }
        Ok(())
    }

    fn not_writable(&self) -> Errno {
        Errno::EROFS
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open regular file: its host fd.
pub struct PassFile {
    node: Arc<Node>,
    fd: Arc<OwnedFd>,
}

impl FileOps for PassFile {
    fn read(&self, _t: &Task, buf: &mut [u8], off: u64, _nb: bool) -> KResult<usize> {
        let n = loop {
            match nix::sys::uio::pread(&*self.fd, buf, off as i64) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r?,
            }
        };
        // Pages of shared mappings are newer than the host's.
        let mf = &self.node.fs.mf;
        self.node.each_cached(off, off + n as u64, |frame, at, len| mf.read(frame, &mut buf[at..at + len]));
        Ok(n)
    }

    fn write(&self, _t: &Task, buf: &[u8], off: u64, _nb: bool) -> KResult<usize> {
        let end = off.checked_add(buf.len() as u64).ok_or(Errno::EFBIG)?;
        let n = loop {
            match nix::sys::uio::pwrite(&*self.fd, buf, off as i64) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r?,
            }
        };
        // Keep the shared mappings' pages in step.
        let mf = &self.node.fs.mf;
        self.node.each_cached(off, end.min(off + n as u64), |frame, at, len| mf.write(frame, &buf[at..at + len]));
        Ok(n)
    }

    fn sync(&self) -> KResult<()> {
        self.node.writeback()?;
        nix::unistd::fsync(std::os::fd::AsRawFd::as_raw_fd(&*self.fd))?;
        Ok(())
    }

    fn mappable(&self) -> Option<Arc<dyn Mappable>> {
        let mut st = self.node.lock();
        if let Some(m) = st.mapping.upgrade() {
            return Some(m);
        }
        let m = Arc::new(Mapping { node: self.node.clone() });
        st.mapping = Arc::downgrade(&m);
        Some(m)
    }

    fn pollable(&self) -> bool {
        false
    }
}

/// What every mapping of one file holds. When the last goes, the pages
/// shared mappings wrote reach the host and the cache is let go.
struct Mapping {
    node: Arc<Node>,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Err(e) = self.node.writeback() {
            tracing::warn!("writing a shared mapping back to the host: {e:?}");
        }
        self.node.cache_truncate(0);
    }
}

impl Mappable for Mapping {
    fn frames(&self, mf: &Arc<MemoryFile>, off: u64, n: usize) -> KResult<Vec<u64>> {
        let fd = self.node.fd(false)?;
        let mut st = self.node.lock();
        let mut out = Vec::with_capacity(n);
        for i in 0..n as u64 {
            let pg = off + i * PAGE;
            let f = match st.cache.get(&pg) {
                Some(&f) => f,
                None => {
                    let f = mf.alloc(1)?[0];
                    if let Err(e) = mf.fill_from(f, PAGE as usize, fd.as_fd(), pg) {
                        mf.decref_all(&[f]);
                        return Err(e);
                    }
                    st.cache.insert(pg, f);
                    f
                }
            };
            mf.incref(f);
            out.push(f);
        }
        Ok(out)
    }

    fn map_name(&self) -> String {
        String::new()
    }

    fn map_ids(&self) -> (u64, u64) {
        let a = self.node.lock().attr;
        (a.dev, a.ino)
    }

    fn host_fd(&self) -> Option<Arc<OwnedFd>> {
        // Private mappings read the host file itself, unless shared
        // mappings hold newer pages.
        if !self.node.lock().cache.is_empty() {
            return None;
        }
        self.node.fd(false).ok()
    }

    fn size(&self) -> Option<u64> {
        self.node.refresh().ok().map(|a| a.size)
    }

    fn rmap_key(&self) -> Option<usize> {
        Some(self.node.rmap_key())
    }

    fn sync(&self) -> KResult<()> {
        self.node.writeback()
    }
}
