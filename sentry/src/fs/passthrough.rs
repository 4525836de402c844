//! A writable tree of host files, written through: what a bind mount of a
//! host directory (an OCI `bind` mount, `podman -v DIR:/data`) serves.
//! Unlike the overlay, changes reach the host: every create, link,
//! unlink, rename and attribute change is a gofer request, and file data
//! moves through host fds the gofer donates (pread and pwrite, no copy
//! into the sentry's memory). Names and attributes are asked of the host
//! again at each lookup and stat, so that changes made on the host side
//! (a file another container or the host wrote) are seen.
//!
//! Handles: a node holds its gofer fid (an fd in the gofer) and the host
//! fds it opened while among the tree's last
//! [`set_kept_fds`](crate::fs::handles::set_kept_fds) used or while in use
//! (an open file, a mapping, a walk or a working directory holds it);
//! past that it lets them go and walks again from its parent by its name
//! when needed, checking it finds the same file (ESTALE otherwise, as
//! when the host renamed or removed it meanwhile). A node the sandbox
//! unlinked, or that no longer answers to its name, keeps its fid while
//! anything holds it. Each node kept its fid for good before: a sandbox
//! that walked more files than the gofer's RLIMIT_NOFILE failed every
//! later walk with EMFILE.
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

use gofer::Client;

use crate::errno::{Errno, KResult};
use crate::fs::handles::{FidHandle, Handle, Recent};
use crate::kernel::task::Task;
use crate::mm::{Mappable, MemoryFile, PAGE};
use crate::vfs::{self, mode, Attr, DirEntry, DirFile, FileOps, Inode, SetAttr};

/// Shared by all nodes of one tree.
pub struct PassFs {
    client: Arc<Client>,
    mf: Arc<MemoryFile>,
    /// The nodes holding handles, oldest first.
    recent: Recent<Node>,
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

/// A file, directory or symlink of the tree.
pub struct Node {
    fs: Arc<PassFs>,
    /// This node (for handing out references from `&self`).
    me: Weak<Node>,
    place: Mutex<Place>,
    /// The gofer fid, while held.
    fid: Mutex<Option<Arc<FidHandle>>>,
    st: Mutex<State>,
}

/// Where a node is: what walks to it again once it let its fid go.
struct Place {
    /// The directory holding it (none for the root).
    parent: Weak<Node>,
    name: Vec<u8>,
    /// No longer reachable by its name (unlinked, renamed over, gone on
    /// the host): it keeps its fid for as long as it lives.
    pinned: bool,
}

impl Drop for Node {
    fn drop(&mut self) {
        let st = self.st.get_mut().unwrap_or_else(|e| e.into_inner());
        let frames: Vec<u64> = std::mem::take(&mut st.cache).into_values().collect();
        self.fs.mf.decref_all(&frames);
    }
}

impl Handle for Node {
    type H = (Option<Arc<FidHandle>>, Option<Arc<OwnedFd>>, Option<Arc<OwnedFd>>);

    fn let_go(self: &Arc<Self>) -> Option<Self::H> {
        if self.place().pinned {
            return None;
        }
        let fid = self.fid.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut st = self.lock();
        Some((fid, st.ro.take(), st.rw.take()))
    }

    fn busy(self: &Arc<Self>) -> bool {
        // Its parent's `children` holds one reference, and the caller one.
        Arc::strong_count(self) > 2
    }
}

fn gofer_setattr(a: &SetAttr) -> gofer::SetAttr {
    gofer::SetAttr { mode: a.mode, uid: a.uid, gid: a.gid, size: a.size, atime: a.atime, mtime: a.mtime }
}

impl Node {
    /// The root of the tree the gofer behind `client` serves.
    pub fn new_root(client: Arc<Client>, mf: Arc<MemoryFile>) -> KResult<Arc<Node>> {
        let (fid, a) = client.attach()?;
        let fid = Arc::new(FidHandle { fid, client: client.clone() });
        let fs = Arc::new(PassFs { client, mf, recent: Recent::default() });
        let place = Place { parent: Weak::new(), name: Vec::new(), pinned: true };
        Ok(Node::new(&fs, place, fid, &a))
    }

    fn new(fs: &Arc<PassFs>, place: Place, fid: Arc<FidHandle>, a: &gofer::Attr) -> Arc<Node> {
        let attr = crate::fs::overlay::attr_from(a);
        let st = Mutex::new(State { attr, ..State::default() });
        let node = Arc::new_cyclic(|me| Node { fs: fs.clone(), me: me.clone(), place: Mutex::new(place), fid: Mutex::new(Some(fid)), st });
        fs.recent.took(&node);
        node
    }

    /// A new child of this directory, named `name`, with its fid.
    fn child(&self, name: &[u8], fid: gofer::Fid, a: &gofer::Attr) -> Arc<Node> {
        let place = Place { parent: self.me.clone(), name: name.to_vec(), pinned: false };
        Node::new(&self.fs, place, self.handle(fid), a)
    }

    fn handle(&self, fid: gofer::Fid) -> Arc<FidHandle> {
        Arc::new(FidHandle { fid, client: self.fs.client.clone() })
    }

    fn place(&self) -> MutexGuard<'_, Place> {
        self.place.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The node's fid, walked again from its parent if it was let go.
    fn fid(&self) -> KResult<Arc<FidHandle>> {
        if let Some(h) = self.fid.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Ok(h.clone());
        }
        let (parent, name) = {
            let p = self.place();
            (p.parent.upgrade().ok_or(Errno::ESTALE)?, p.name.clone())
        };
        let (fid, a) = match self.client().walk(parent.fid()?.fid, &name) {
            Ok(x) => x,
            Err(gofer::Error::Errno(libc::ENOENT)) => return Err(Errno::ESTALE),
            Err(e) => return Err(e.into()),
        };
        let h = self.handle(fid);
        let id = {
            let st = self.lock();
            (st.attr.dev, st.attr.ino)
        };
        if (a.dev, a.ino) != id {
            return Err(Errno::ESTALE);
        }
        *self.fid.lock().unwrap_or_else(|e| e.into_inner()) = Some(h.clone());
        if let Some(me) = self.me.upgrade() {
            self.fs.recent.took(&me);
        }
        Ok(h)
    }

    /// No longer reachable by its name: keep the fid it has.
    fn pin(&self) {
        self.place().pinned = true;
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
        let held = |st: &State| if write { st.rw.clone() } else { st.rw.clone().or(st.ro.clone()) };
        if let Some(fd) = held(&self.lock()) {
            return Ok(fd);
        }
        let flags = if write { libc::O_RDWR } else { libc::O_RDONLY };
        let fd = Arc::new(self.client().open(self.fid()?.fid, flags)?);
        let mut st = self.lock();
        if let Some(kept) = held(&st) {
            return Ok(kept);
        }
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
            None => crate::fs::overlay::attr_from(&self.client().stat(self.fid()?.fid)?),
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
        let (fid, a) = match self.client().walk(self.fid()?.fid, name) {
            Ok(x) => x,
            Err(e) => {
                let gone = self.lock().children.remove(name);
                if let Some(g) = gone {
                    g.pin();
                }
                return Err(e.into());
            }
        };
        let known = self.lock().children.get(name).cloned();
        if let Some(c) = known {
            let mut cs = c.lock();
            if (cs.attr.dev, cs.attr.ino) == (a.dev, a.ino) && cs.attr.kind() == a.mode & mode::S_IFMT {
                cs.attr = crate::fs::overlay::attr_from(&a);
                drop(cs);
                // A node that let its fid go takes this one.
                let mut held = c.fid.lock().unwrap_or_else(|e| e.into_inner());
                if held.is_none() {
                    *held = Some(self.handle(fid));
                    drop(held);
                    self.fs.recent.took(&c);
                } else {
                    drop(held);
                    let _ = self.client().close(fid);
                }
                return Ok(c);
            }
            drop(cs);
            c.pin();
        }
        Ok(self.adopt(name, fid, &a))
    }

    /// Remember a node just made (or found) as `name`.
    fn adopt(&self, name: &[u8], fid: gofer::Fid, a: &gofer::Attr) -> Arc<Node> {
        let node = self.child(name, fid, a);
        let old = self.lock().children.insert(name.to_vec(), node.clone());
        if let Some(o) = old {
            o.pin();
        }
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
        let s = self.client().statfs(self.fid()?.fid)?;
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
        let ents = self.client().getdents(self.fid()?.fid)?;
        Ok(ents.into_iter().map(|e| DirEntry { name: e.name, ino: e.ino, kind: e.kind }).collect())
    }

    fn readlink(&self) -> KResult<Vec<u8>> {
        if self.kind() != mode::S_IFLNK {
            return Err(Errno::EINVAL);
        }
        Ok(self.client().readlink(self.fid()?.fid)?)
    }

    fn create(&self, name: &[u8], m: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let (fid, a, fd) = self.client().create(self.fid()?.fid, name, libc::O_RDWR, m & 0o7777, uid, gid)?;
        let node = self.adopt(name, fid, &a);
        node.lock().rw = Some(Arc::new(fd));
        Ok(node)
    }

    fn mkdir(&self, name: &[u8], m: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let (fid, a) = self.client().mkdir(self.fid()?.fid, name, m & 0o7777, uid, gid)?;
        Ok(self.adopt(name, fid, &a))
    }

    fn mknod(&self, name: &[u8], m: u32, rdev: u64, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let (fid, a) = self.client().mknod(self.fid()?.fid, name, m, rdev, uid, gid)?;
        Ok(self.adopt(name, fid, &a))
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> KResult<()> {
        let (fid, a) = self.client().symlink(self.fid()?.fid, name, target, uid, gid)?;
        self.adopt(name, fid, &a);
        Ok(())
    }

    fn link(&self, name: &[u8], target: Arc<dyn Inode>) -> KResult<()> {
        let Some(t) = target.as_any().downcast_ref::<Node>() else { return Err(Errno::EXDEV) };
        if !Arc::ptr_eq(&t.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        let (fid, _) = self.client().link(self.fid()?.fid, name, t.fid()?.fid)?;
        let _ = self.client().close(fid);
        Ok(())
    }

    fn unlink(&self, name: &[u8], dir: bool) -> KResult<()> {
        self.client().unlink(self.fid()?.fid, name, if dir { libc::AT_REMOVEDIR } else { 0 })?;
        let gone = self.lock().children.remove(name);
        if let Some(g) = gone {
            g.pin();
        }
        Ok(())
    }

    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> KResult<()> {
        let Some(dst) = new_dir.as_any().downcast_ref::<Node>() else { return Err(Errno::EXDEV) };
        if !Arc::ptr_eq(&dst.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        self.client().rename(self.fid()?.fid, name, dst.fid()?.fid, new_name)?;
        let moved = self.lock().children.remove(name);
        if let Some(n) = &moved {
            let mut p = n.place();
            (p.parent, p.name) = (dst.me.clone(), new_name.to_vec());
        }
        let replaced = {
            let mut ds = dst.lock();
            match moved {
                Some(n) => ds.children.insert(new_name.to_vec(), n),
                None => ds.children.remove(new_name),
            }
        };
        if let Some(r) = replaced {
            r.pin();
        }
        Ok(())
    }

    fn exchange(&self, _name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8]) -> KResult<()> {
        // The gofer protocol has no RENAME_EXCHANGE: what Linux says for a
        // filesystem without it.
        Err(Errno::EINVAL)
    }

    fn getxattr(&self, name: &[u8]) -> KResult<Vec<u8>> {
        Ok(self.client().getxattr(self.fid()?.fid, name)?)
    }

    fn listxattr(&self) -> KResult<Vec<Vec<u8>>> {
        Ok(self.client().listxattr(self.fid()?.fid)?)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: i32) -> KResult<()> {
        Ok(self.client().setxattr(self.fid()?.fid, name, value, flags)?)
    }

    fn removexattr(&self, name: &[u8]) -> KResult<()> {
        Ok(self.client().removexattr(self.fid()?.fid, name)?)
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
        self.client().setattr(self.fid()?.fid, &gofer_setattr(a))?;
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
