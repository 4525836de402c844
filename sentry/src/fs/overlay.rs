//! The root filesystem of `runsc do`: a writable memory upper layer over a
//! read-only lower tree served by the gofer. Lower entries are walked on
//! demand; a write copies the whole file up into memory; deleting or renaming
//! a lower entry leaves a whiteout. Nothing written reaches the host.
//!
//! A directory node with no lower fid is plain tmpfs, so the same type
//! serves /tmp-like memory directories (e.g. /dev/shm).

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use gofer::{Client, Fid};

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::mm::{Mappable, MemoryFile, PAGE};
use crate::vfs::{self, mode, Attr, DirEntry, DirFile, FileOps, Inode, SetAttr};

/// Shared by all nodes of one overlay.
pub struct OverlayFs {
    client: Option<Arc<Client>>,
    dev: u64,
}

#[derive(Default)]
struct State {
    attr: Attr,
    lower: Option<Fid>,
    host_fd: Option<Arc<OwnedFd>>,
    data: Option<Vec<u8>>,
    target: Option<Vec<u8>>,
    children: BTreeMap<Vec<u8>, Arc<Node>>,
    whiteouts: BTreeSet<Vec<u8>>,
    /// Names this directory's lower has (learned when walked), so that an
    /// unlink or rename knows whether to leave a whiteout without asking
    /// the gofer again.
    in_lower: BTreeSet<Vec<u8>>,
    lower_list: Option<Vec<DirEntry>>,
    /// The page cache of a regular file: file offset -> frame (the cache
    /// holds one reference), shared by every private mapping of the file.
    cache: BTreeMap<u64, u64>,
    /// The memory file the cached frames belong to.
    cache_mf: Option<Arc<MemoryFile>>,
}

impl State {
    /// Drop cached pages overlapping `[from, to)` after the content changed
    /// there (mappings already made keep the frames they hold).
    fn invalidate(&mut self, from: u64, to: u64) {
        let Some(mf) = self.cache_mf.clone() else { return };
        let first = from & !(PAGE - 1);
        let keys: Vec<u64> = self.cache.range(first..to).map(|(k, _)| *k).collect();
        let frames: Vec<u64> = keys.iter().filter_map(|k| self.cache.remove(k)).collect();
        mf.decref_all(&frames);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.st.get_mut().unwrap_or_else(|e| e.into_inner()).invalidate(0, u64::MAX);
    }
}

/// A file, directory or symlink of the overlay.
pub struct Node {
    fs: Arc<OverlayFs>,
    st: Mutex<State>,
}

fn attr_from(a: &gofer::Attr) -> Attr {
    Attr {
        ino: a.ino,
        dev: a.dev,
        mode: a.mode,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        size: a.size,
        blksize: a.blksize,
        blocks: a.blocks,
        atime: (a.atime_sec, a.atime_nsec),
        mtime: (a.mtime_sec, a.mtime_nsec),
        ctime: (a.ctime_sec, a.ctime_nsec),
    }
}

impl Node {
    /// The root of an overlay over the gofer's root.
    pub fn new_root(client: Arc<Client>) -> KResult<Arc<Node>> {
        let (fid, a) = client.attach()?;
        let fs = Arc::new(OverlayFs { client: Some(client), dev: a.dev });
        Ok(Arc::new(Node { fs, st: Mutex::new(State { attr: attr_from(&a), lower: Some(fid), ..State::default() }) }))
    }

    /// An empty memory directory (tmpfs).
    pub fn new_tmpfs(mode: u32) -> Arc<Node> {
        let fs = Arc::new(OverlayFs { client: None, dev: 0x10 + vfs::next_ino() % 0x100 });
        Self::new_upper(&fs, mode::S_IFDIR | (mode & 0o7777), 0, 0)
    }

    fn new_upper(fs: &Arc<OverlayFs>, m: u32, uid: u32, gid: u32) -> Arc<Node> {
        let t = vfs::now();
        let is_dir = m & mode::S_IFMT == mode::S_IFDIR;
        Arc::new(Node {
            fs: fs.clone(),
            st: Mutex::new(State {
                attr: Attr {
                    ino: vfs::next_ino(),
                    dev: fs.dev,
                    mode: m,
                    nlink: if is_dir { 2 } else { 1 },
                    uid,
                    gid,
                    blksize: 4096,
                    atime: t,
                    mtime: t,
                    ctime: t,
                    ..Attr::default()
                },
                data: if m & mode::S_IFMT == mode::S_IFREG { Some(Vec::new()) } else { None },
                ..State::default()
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn client(&self) -> KResult<&Arc<Client>> {
        self.fs.client.as_ref().ok_or(Errno::EIO)
    }

    fn lookup_node(&self, name: &[u8]) -> KResult<Arc<Node>> {
        let mut st = self.lock();
        if st.attr.kind() != mode::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        if let Some(c) = st.children.get(name) {
            return Ok(c.clone());
        }
        if st.whiteouts.contains(name) {
            return Err(Errno::ENOENT);
        }
        let Some(fid) = st.lower else { return Err(Errno::ENOENT) };
        let (cfid, a) = self.client()?.walk(fid, name)?;
        let node = Arc::new(Node {
            fs: self.fs.clone(),
            st: Mutex::new(State { attr: attr_from(&a), lower: Some(cfid), ..State::default() }),
        });
        st.children.insert(name.to_vec(), node.clone());
        st.in_lower.insert(name.to_vec());
        Ok(node)
    }

    fn exists(&self, name: &[u8]) -> bool {
        self.lookup_node(name).is_ok()
    }

    /// The host fd of the lower file, opened on first use.
    fn host_fd(&self, st: &mut State) -> KResult<Arc<OwnedFd>> {
        if let Some(fd) = &st.host_fd {
            return Ok(fd.clone());
        }
        let fid = st.lower.ok_or(Errno::EIO)?;
        let fd = Arc::new(self.client()?.open(fid, libc::O_RDONLY)?);
        st.host_fd = Some(fd.clone());
        Ok(fd)
    }

    /// Copy a lower regular file's content up into memory.
    fn copy_up(&self, st: &mut State) -> KResult<()> {
        if st.data.is_some() {
            return Ok(());
        }
        let fd = self.host_fd(st)?;
        let mut data = vec![0u8; st.attr.size as usize];
        let mut done = 0;
        while done < data.len() {
            let n = nix::sys::uio::pread(&*fd, &mut data[done..], done as i64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        data.truncate(done);
        st.data = Some(data);
        Ok(())
    }

    /// Create a new upper node named `name` (EEXIST if the name is taken),
    /// let `init` finish its state, and link it in.
    fn add_new(&self, name: &[u8], m: u32, uid: u32, gid: u32, init: impl FnOnce(&mut State)) -> KResult<Arc<Node>> {
        if self.removed() {
            return Err(Errno::ENOENT);
        }
        if self.exists(name) {
            return Err(Errno::EEXIST);
        }
        let node = Node::new_upper(&self.fs, m, uid, gid);
        init(&mut node.lock());
        self.insert_child(name, node.clone());
        Ok(node)
    }

    /// A directory that was removed while still in use (a cwd, an open fd).
    fn removed(&self) -> bool {
        let st = self.lock();
        st.attr.is_dir() && st.attr.nlink == 0
    }

    fn insert_child(&self, name: &[u8], node: Arc<Node>) {
        let mut st = self.lock();
        st.whiteouts.remove(name);
        st.children.insert(name.to_vec(), node);
        st.attr.mtime = vfs::now();
        st.attr.ctime = st.attr.mtime;
    }

    /// Whether the lower directory has `name`. Every caller has looked the
    /// name up first, which is when a lower entry is learned.
    fn lower_has(&self, name: &[u8]) -> bool {
        self.lock().in_lower.contains(name)
    }
}

impl Inode for Node {
    fn stat(&self) -> KResult<Attr> {
        let st = self.lock();
        let mut a = st.attr;
        if let Some(d) = &st.data {
            a.size = d.len() as u64;
            a.blocks = a.size.div_ceil(512);
        }
        Ok(a)
    }

    fn open(self: Arc<Self>, flags: u32) -> KResult<Arc<dyn FileOps>> {
        let kind = self.lock().attr.kind();
        match kind {
            mode::S_IFDIR => Ok(Arc::new(DirFile)),
            mode::S_IFREG => {
                let acc = flags & vfs::oflags::O_ACCMODE;
                if acc != vfs::oflags::O_RDONLY || flags & vfs::oflags::O_TRUNC != 0 {
                    let mut st = self.lock();
                    self.copy_up(&mut st)?;
                    if flags & vfs::oflags::O_TRUNC != 0 {
                        if let Some(d) = st.data.as_mut() {
                            d.clear();
                        }
                        st.invalidate(0, u64::MAX);
                        st.attr.mtime = vfs::now();
                    }
                }
                Ok(Arc::new(OvFile { node: self.clone() }))
            }
            mode::S_IFCHR | mode::S_IFBLK => Err(Errno::EACCES),
            mode::S_IFIFO | mode::S_IFSOCK => Err(Errno::ENXIO),
            _ => Err(Errno::ELOOP),
        }
    }

    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        Ok(self.lookup_node(name)?)
    }

    fn statfs(&self) -> KResult<vfs::FsStat> {
        const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;
        let lower = self.lock().lower;
        let (Some(client), Some(fid)) = (&self.fs.client, lower) else { return Ok(vfs::FsStat::memory()) };
        let s = client.statfs(fid)?;
        Ok(vfs::FsStat {
            magic: OVERLAYFS_SUPER_MAGIC,
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

    fn readdir(&self) -> KResult<Vec<DirEntry>> {
        let (lower, have_list) = {
            let st = self.lock();
            if st.attr.kind() != mode::S_IFDIR {
                return Err(Errno::ENOTDIR);
            }
            (st.lower, st.lower_list.is_some())
        };
        if let (Some(fid), false) = (lower, have_list) {
            let ents = self.client()?.getdents(fid)?;
            let list = ents.into_iter().map(|e| DirEntry { name: e.name, ino: e.ino, kind: e.kind }).collect();
            self.lock().lower_list = Some(list);
        }
        let st = self.lock();
        let mut out: Vec<DirEntry> = Vec::new();
        let mut seen = BTreeSet::new();
        if let Some(list) = &st.lower_list {
            for e in list {
                if st.whiteouts.contains(&e.name) {
                    continue;
                }
                if let Some(c) = st.children.get(&e.name) {
                    let a = c.stat()?;
                    out.push(DirEntry { name: e.name.clone(), ino: a.ino, kind: a.dtype() });
                } else {
                    out.push(e.clone());
                }
                seen.insert(e.name.clone());
            }
        }
        for (name, c) in &st.children {
            if !seen.contains(name) {
                let a = c.stat()?;
                out.push(DirEntry { name: name.clone(), ino: a.ino, kind: a.dtype() });
            }
        }
        Ok(out)
    }

    fn readlink(&self) -> KResult<Vec<u8>> {
        let mut st = self.lock();
        if st.attr.kind() != mode::S_IFLNK {
            return Err(Errno::EINVAL);
        }
        if let Some(t) = &st.target {
            return Ok(t.clone());
        }
        let fid = st.lower.ok_or(Errno::EIO)?;
        let t = self.client()?.readlink(fid)?;
        st.target = Some(t.clone());
        Ok(t)
    }

    fn create(&self, name: &[u8], m: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        Ok(self.add_new(name, mode::S_IFREG | (m & 0o7777), uid, gid, |_| ())?)
    }

    fn mkdir(&self, name: &[u8], m: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let node = self.add_new(name, mode::S_IFDIR | (m & 0o7777), uid, gid, |_| ())?;
        self.lock().attr.nlink += 1;
        Ok(node)
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> KResult<()> {
        self.add_new(name, mode::S_IFLNK | 0o777, uid, gid, |st| {
            st.target = Some(target.to_vec());
            st.attr.size = target.len() as u64;
        })?;
        Ok(())
    }

    fn link(&self, name: &[u8], target: Arc<dyn Inode>) -> KResult<()> {
        if self.removed() {
            return Err(Errno::ENOENT);
        }
        if self.exists(name) {
            return Err(Errno::EEXIST);
        }
        // Hard links share the node.
        let any: Arc<dyn Any + Send + Sync> = target;
        let node = any.downcast::<Node>().map_err(|_| Errno::EXDEV)?;
        if node.lock().attr.is_dir() {
            return Err(Errno::EPERM);
        }
        node.lock().attr.nlink += 1;
        self.insert_child(name, node);
        Ok(())
    }

    fn unlink(&self, name: &[u8], dir: bool) -> KResult<()> {
        let node = self.lookup_node(name)?;
        let is_dir = node.lock().attr.is_dir();
        if dir && !is_dir {
            return Err(Errno::ENOTDIR);
        }
        if !dir && is_dir {
            return Err(Errno::EISDIR);
        }
        if is_dir && !node.readdir()?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        let in_lower = self.lower_has(name);
        let mut st = self.lock();
        st.children.remove(name);
        if in_lower {
            st.whiteouts.insert(name.to_vec());
        }
        if is_dir {
            st.attr.nlink = st.attr.nlink.saturating_sub(1);
        }
        st.attr.mtime = vfs::now();
        drop(st);
        let mut ns = node.lock();
        // A removed directory has no links left (its "." is gone too).
        ns.attr.nlink = if is_dir { 0 } else { ns.attr.nlink.saturating_sub(1) };
        Ok(())
    }

    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> KResult<()> {
        let Some(dst) = new_dir.as_any().downcast_ref::<Node>() else { return Err(Errno::EXDEV) };
        let node = self.lookup_node(name)?;
        if std::ptr::eq(self, dst) && name == new_name {
            return Ok(());
        }
        if let Ok(existing) = dst.lookup_node(new_name) {
            let src_dir = node.lock().attr.is_dir();
            let dst_dir = existing.lock().attr.is_dir();
            if src_dir && !dst_dir {
                return Err(Errno::ENOTDIR);
            }
            if !src_dir && dst_dir {
                return Err(Errno::EISDIR);
            }
            if dst_dir && !existing.readdir()?.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            let in_lower = dst.lower_has(new_name);
            let mut d = dst.lock();
            d.children.remove(new_name);
            if in_lower {
                d.whiteouts.insert(new_name.to_vec());
            }
        }
        // Directories being renamed keep their lower fid, so their lower
        // content stays visible at the new name.
        {
            let mut ns = node.lock();
            if ns.attr.kind() == mode::S_IFREG {
                self.copy_up(&mut ns)?;
            }
        }
        let in_lower = self.lower_has(name);
        {
            let mut st = self.lock();
            st.children.remove(name);
            if in_lower {
                st.whiteouts.insert(name.to_vec());
            }
            st.attr.mtime = vfs::now();
        }
        dst.insert_child(new_name, node);
        Ok(())
    }

    fn setattr(&self, a: &SetAttr) -> KResult<()> {
        let mut st = self.lock();
        if let Some(size) = a.size {
            if st.attr.is_dir() {
                return Err(Errno::EISDIR);
            }
            self.copy_up(&mut st)?;
            if let Some(d) = st.data.as_mut() {
                d.resize(size as usize, 0);
            }
            st.invalidate(size, u64::MAX);
            st.attr.mtime = vfs::now();
        }
        if let Some(m) = a.mode {
            st.attr.mode = (st.attr.mode & mode::S_IFMT) | (m & 0o7777);
        }
        if let Some(u) = a.uid {
            st.attr.uid = u;
        }
        if let Some(g) = a.gid {
            st.attr.gid = g;
        }
        if let Some(t) = a.atime {
            st.attr.atime = t;
        }
        if let Some(t) = a.mtime {
            st.attr.mtime = t;
        }
        st.attr.ctime = vfs::now();
        Ok(())
    }

    fn not_writable(&self) -> Errno {
        Errno::EROFS
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open overlay regular file.
pub struct OvFile {
    node: Arc<Node>,
}

impl FileOps for OvFile {
    fn read(&self, _t: &Task, buf: &mut [u8], off: u64, _nb: bool) -> KResult<usize> {
        let mut st = self.node.lock();
        if let Some(d) = &st.data {
            let off = off.min(d.len() as u64) as usize;
            let n = buf.len().min(d.len() - off);
            buf[..n].copy_from_slice(&d[off..off + n]);
            return Ok(n);
        }
        let fd = self.node.host_fd(&mut st)?;
        drop(st);
        loop {
            match nix::sys::uio::pread(&*fd, buf, off as i64) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => return Ok(r?),
            }
        }
    }

    fn write(&self, _t: &Task, buf: &[u8], off: u64, _nb: bool) -> KResult<usize> {
        let mut st = self.node.lock();
        self.node.copy_up(&mut st)?;
        let d = st.data.as_mut().ok_or(Errno::EIO)?;
        let off = off as usize;
        let end = off.checked_add(buf.len()).ok_or(Errno::EFBIG)?;
        if end > (1 << 36) {
            return Err(Errno::EFBIG);
        }
        if d.len() < end {
            d.resize(end, 0);
        }
        d[off..end].copy_from_slice(buf);
        st.invalidate(off as u64, end as u64);
        st.attr.mtime = vfs::now();
        st.attr.ctime = st.attr.mtime;
        Ok(buf.len())
    }

    fn mappable(&self) -> Option<Arc<dyn Mappable>> {
        Some(Arc::new(OvMapping { node: self.node.clone() }))
    }

    fn pollable(&self) -> bool {
        false
    }
}

struct OvMapping {
    node: Arc<Node>,
}

impl Mappable for OvMapping {
    fn frames(&self, mf: &Arc<MemoryFile>, off: u64, n: usize) -> KResult<Vec<u64>> {
        let mut st = self.node.lock();
        let missing: Vec<usize> = (0..n).filter(|i| !st.cache.contains_key(&(off + *i as u64 * PAGE))).collect();
        if let (Some(&lo), Some(&hi)) = (missing.first(), missing.last()) {
            // One read for the span of missing pages.
            let span_off = off + lo as u64 * PAGE;
            let mut buf = vec![0u8; (hi - lo + 1) * PAGE as usize];
            if let Some(d) = &st.data {
                let from = (span_off as usize).min(d.len());
                let len = buf.len().min(d.len() - from);
                buf[..len].copy_from_slice(&d[from..from + len]);
            } else {
                let fd = self.node.host_fd(&mut st)?;
                let mut done = 0;
                while done < buf.len() {
                    match nix::sys::uio::pread(&*fd, &mut buf[done..], (span_off + done as u64) as i64) {
                        Ok(0) => break,
                        Ok(k) => done += k,
                        Err(nix::errno::Errno::EINTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            let frames = mf.alloc_contiguous(missing.len())?;
            for (&i, &f) in missing.iter().zip(&frames) {
                let at = (i - lo) * PAGE as usize;
                mf.write(f, &buf[at..at + PAGE as usize]);
                st.cache.insert(off + i as u64 * PAGE, f);
            }
            st.cache_mf.get_or_insert_with(|| mf.clone());
        }
        let out: Vec<u64> = (0..n).map(|i| st.cache[&(off + i as u64 * PAGE)]).collect();
        for &f in &out {
            mf.incref(f);
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
}
