//! The root filesystem of `runsc do`: a writable memory upper layer over a
//! read-only lower tree served by the gofer. Lower entries are walked on
//! demand; a write copies the whole file up into memory; deleting or renaming
//! a lower entry leaves a whiteout. Nothing written reaches the host.
//!
//! A directory node with no lower fid is plain tmpfs, so the same type
//! serves /tmp-like memory directories (e.g. /dev/shm).
//!
//! The content of a regular file lives in frames of the memory file (its
//! page cache): read(2) and write(2) copy from and to those frames, and
//! every mapping of the file maps the same frames, shared mappings
//! writably, so that all of them see one file. A lower file is read into
//! the cache on demand; its first write copies it up (all pages cached).

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use gofer::Client;

mod lower;
mod seals;
use lower::{Access, Lower};
pub(crate) use lower::attr_from;

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::mm::{Mappable, MemoryFile, EXTENT, PAGE};
use crate::vfs::{self, mode, Attr, DirEntry, DirFile, FileOps, Inode, SetAttr};

/// Shared by all nodes of one overlay.
pub struct OverlayFs {
    /// How the lower layer is reached (None: a tmpfs, memory only).
    lower: Option<Access>,
    /// The lower layer's root: what statfs reports for files that have no
    /// lower file (made in the sandbox), as for the others.
    root: Option<Lower>,
    dev: u64,
    mf: Arc<MemoryFile>,
    /// Most pages the files' content may hold (a tmpfs's size=).
    limit: u64,
    /// Pages the files' content holds.
    used: std::sync::atomic::AtomicU64,
    /// Host fds of lower files read before.
    kept: Mutex<lower::KeptFds>,
}

impl OverlayFs {
    fn new(lower: Option<(Access, Lower)>, dev: u64, mf: Arc<MemoryFile>, limit: u64) -> Arc<OverlayFs> {
        let (lower, root) = lower.unzip();
        Arc::new(OverlayFs { lower, root, dev, mf, limit, used: std::sync::atomic::AtomicU64::new(0), kept: Mutex::default() })
    }

    /// Take `n` pages of the size limit (ENOSPC past it).
    fn charge(&self, n: u64) -> KResult<()> {
        use std::sync::atomic::Ordering::SeqCst;
        self.used
            .fetch_update(SeqCst, SeqCst, |u| u.checked_add(n).filter(|&t| t <= self.limit))
            .map(drop)
            .map_err(|_| Errno::ENOSPC)
    }

    fn uncharge(&self, n: u64) {
        self.used.fetch_sub(n, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Most missing names a directory remembers.
const MAX_NEGATIVE: usize = 4096;

#[derive(Default)]
struct State {
    attr: Attr,
    lower: Option<Lower>,
    /// The content belongs to the overlay (created here, or copied up):
    /// `cache` and `attr.size` are the file; the lower is not read again.
    upper: bool,
    target: Option<Vec<u8>>,
    /// The entries looked up or made, by name (hashed: a walk's lookup in
    /// a big directory cost a string compare, a cache miss here, at each
    /// level of a B-tree).
    children: HashMap<Vec<u8>, Arc<Node>>,
    whiteouts: BTreeSet<Vec<u8>>,
    /// Names this directory's lower has (learned when walked), so that an
    /// unlink or rename knows whether to leave a whiteout without asking
    /// the gofer again.
    in_lower: HashSet<Vec<u8>>,
    /// Names this directory's lower was asked for and lacks (the lower is
    /// read-only beneath the sandbox): a repeated lookup of a missing name,
    /// which interpreters do all the time, is not another gofer round trip.
    not_in_lower: BTreeSet<Vec<u8>>,
    lower_list: Option<Vec<DirEntry>>,
    /// The page cache of a regular file: file offset -> frame (the cache
    /// holds one reference), shared by every private mapping of the file.
    cache: BTreeMap<u64, u64>,
    /// Extents of the memory file's store reserved for EXTENT-aligned
    /// ranges of a big file: range start -> extent. An extent's frame whose
    /// page is not (or no longer) in `cache` with it holds a reference of
    /// the extent's.
    extents: BTreeMap<u64, u64>,
    /// A FIFO's buffer, shared by every open of it.
    fifo: Option<Arc<crate::fs::pipe::Pipe>>,
    /// Extended attributes, read from the lower file at first use; changes
    /// stay in the memory layer.
    xattrs: Option<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// A memory file's seals (`vfs::seals`): F_SEAL_SEAL from the start
    /// (tmpfs's files take no seals), unless made by memfd_create with
    /// MFD_ALLOW_SEALING.
    seals: u32,
}

impl State {
    /// How much of a read of `len` bytes at `off` of a lower file to ask
    /// the host for: up to the size the sandbox looked up (its stat shows
    /// that size, so a read past it would contradict the stat), and none at
    /// or past it, where the host is not asked. A size of 0 asks for all of
    /// it: files of a synthetic filesystem show 0 and have content.
    fn lower_read_len(&self, off: u64, len: usize) -> usize {
        if self.attr.size == 0 {
            return len;
        }
        len.min(self.attr.size.saturating_sub(off).try_into().unwrap_or(usize::MAX))
    }

    /// Drop cached pages from the one holding `from` on, zeroing the part
    /// of that page past `from` (truncation); mappings keep the frames
    /// they already hold.
    fn release_from(&mut self, fs: &OverlayFs, from: u64) {
        let mf = &fs.mf;
        let first = from.div_ceil(PAGE) * PAGE;
        // Extents reaching past the cut go whole: their frames that the
        // cache does not hold are dropped here, the rest with the cache.
        let cut: Vec<(u64, u64)> = self.extents.range(first & !(EXTENT - 1)..).map(|(&r, &x)| (r, x)).collect();
        let mut unused = Vec::new();
        for (r, x) in cut {
            self.extents.remove(&r);
            unused.extend((0..EXTENT).step_by(PAGE as usize).filter(|&o| self.cache.get(&(r + o)) != Some(&(x + o))).map(|o| x + o));
        }
        mf.decref_all(&unused);
        let keys: Vec<u64> = self.cache.range(first..).map(|(k, _)| *k).collect();
        let frames: Vec<u64> = keys.iter().filter_map(|k| self.cache.remove(k)).collect();
        fs.uncharge(frames.len() as u64);
        mf.decref_all(&frames);
        if from % PAGE != 0 {
            if let Some(&f) = self.cache.get(&(from & !(PAGE - 1))) {
                mf.zero(f + from % PAGE, (PAGE - from % PAGE) as usize);
            }
        }
    }

    /// The frame of page `pg`, allocated (zeroed) if the file has none.
    /// In an overlay's file of EXTENT bytes or more (`big`), an
    /// EXTENT-aligned range with no page cached yet gets an extent of the
    /// memory file's store, whose frames its pages take as they are
    /// written: a big file lives in the host's page cache (see
    /// [`crate::mm::memfile`]). The last extent of a file may be partly
    /// unused; what a size limit counts is the pages cached.
    fn frame_for(&mut self, fs: &OverlayFs, pg: u64, big: bool) -> KResult<u64> {
        if let Some(&f) = self.cache.get(&pg) {
            return Ok(f);
        }
        let r = pg & !(EXTENT - 1);
        let extent = match self.extents.get(&r) {
            Some(&x) => Some(x),
            None if big && fs.lower.is_some() && self.cache.range(r..r + EXTENT).next().is_none() => match fs.mf.alloc_extent() {
                Ok(Some(x)) => {
                    self.extents.insert(r, x);
                    Some(x)
                }
                _ => None,
            },
            None => None,
        };
        fs.charge(1)?;
        let f = match extent {
            Some(x) => x + (pg - r),
            None => match fs.mf.alloc(1) {
                Ok(f) => f[0],
                Err(e) => {
                    fs.uncharge(1);
                    return Err(e);
                }
            },
        };
        self.cache.insert(pg, f);
        Ok(f)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let fs = self.fs.clone();
        self.st.get_mut().unwrap_or_else(|e| e.into_inner()).release_from(&fs, 0);
    }
}

/// A file, directory or symlink of the overlay.
pub struct Node {
    fs: Arc<OverlayFs>,
    st: Mutex<State>,
}

impl Node {
    /// The root of an overlay over the gofer's root; with `direct`, the
    /// lower layer is reached by directfs (see [`lower`]).
    pub fn new_root(client: Arc<Client>, mf: Arc<MemoryFile>, direct: bool) -> KResult<Arc<Node>> {
        let (access, root, a) = Access::attach(client, direct)?;
        let fs = OverlayFs::new(Some((access, root.clone())), a.dev, mf, u64::MAX);
        Ok(Arc::new(Node { fs, st: Mutex::new(State { attr: a, lower: Some(root), ..State::default() }) }))
    }

    /// An empty memory directory (tmpfs).
    pub fn new_tmpfs(mode: u32, mf: Arc<MemoryFile>) -> Arc<Node> {
        Self::new_tmpfs_sized(mode, 0, 0, None, mf)
    }

    /// A tmpfs whose root has `mode`, `uid` and `gid`, holding at most
    /// `size` bytes of file content (default: half the memory, as Linux).
    pub fn new_tmpfs_sized(mode: u32, uid: u32, gid: u32, size: Option<u64>, mf: Arc<MemoryFile>) -> Arc<Node> {
        let limit = size.unwrap_or(crate::mm::memfile::REPORTED_TOTAL / 2) / PAGE;
        let fs = OverlayFs::new(None, 0x10 + vfs::next_ino() % 0x100, mf, limit);
        Self::new_upper(&fs, mode::S_IFDIR | (mode & 0o7777), uid, gid)
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
                upper: true,
                seals: vfs::seals::F_SEAL_SEAL,
                ..State::default()
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn access(&self) -> KResult<&Access> {
        self.fs.lower.as_ref().ok_or(Errno::EIO)
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
        let Some(dir) = &st.lower else { return Err(Errno::ENOENT) };
        if st.not_in_lower.contains(name) {
            return Err(Errno::ENOENT);
        }
        let (child, a) = match self.access()?.walk(dir, name) {
            Ok(x) => x,
            Err(Errno::ENOENT) => {
                if st.not_in_lower.len() < MAX_NEGATIVE {
                    st.not_in_lower.insert(name.to_vec());
                }
                return Err(Errno::ENOENT);
            }
            Err(e) => return Err(e),
        };
        let node = Arc::new(Node {
            fs: self.fs.clone(),
            st: Mutex::new(State { attr: a, lower: Some(child), ..State::default() }),
        });
        st.children.insert(name.to_vec(), node.clone());
        st.in_lower.insert(name.to_vec());
        Ok(node)
    }

    fn exists(&self, name: &[u8]) -> bool {
        self.lookup_node(name).is_ok()
    }

    /// The host fd of the lower file: the one the overlay kept from an
    /// earlier read, or a new one (then kept).
    fn host_fd(&self, st: &mut State) -> KResult<Arc<OwnedFd>> {
        let id = (st.attr.dev, st.attr.ino);
        let kept = || self.fs.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(fd) = kept().get(id) {
            return Ok(fd);
        }
        let lower = st.lower.as_ref().ok_or(Errno::EIO)?;
        let fd = Arc::new(self.access()?.open_read(lower, &st.attr)?);
        Ok(kept().keep(id, fd))
    }

    /// Copy a lower regular file's content up: every page into the cache.
    fn copy_up(&self, st: &mut State) -> KResult<()> {
        if st.upper {
            return Ok(());
        }
        let size = st.attr.size;
        let mut pg = 0;
        while pg < size {
            let n = (((size - pg).div_ceil(PAGE)) as usize).min(256);
            self.fill_from_lower(st, pg, n)?;
            pg += n as u64 * PAGE;
        }
        st.upper = true;
        Ok(())
    }

    /// Cache the pages `[off, off + n pages)` that are missing, reading them
    /// from the lower file with one pread (an upper file's holes are zero).
    fn fill_from_lower(&self, st: &mut State, off: u64, n: usize) -> KResult<()> {
        let mf = self.fs.mf.clone();
        let missing: Vec<usize> = (0..n).filter(|i| !st.cache.contains_key(&(off + *i as u64 * PAGE))).collect();
        if missing.is_empty() {
            return Ok(());
        }
        self.fs.charge(missing.len() as u64)?;
        let frames = match mf.alloc_contiguous(missing.len()) {
            Ok(f) => f,
            Err(e) => {
                self.fs.uncharge(missing.len() as u64);
                return Err(e);
            }
        };
        if !st.upper {
            // One pread per run of pages that are consecutive both in the
            // file and in the memory file, straight into the frames.
            let fd = self.host_fd(st)?;
            let mut k = 0;
            while k < missing.len() {
                let mut end = k + 1;
                while end < missing.len() && missing[end] == missing[end - 1] + 1 && frames[end] == frames[end - 1] + PAGE {
                    end += 1;
                }
                let len = (end - k) * PAGE as usize;
                mf.fill_from(frames[k], len, std::os::fd::AsFd::as_fd(&*fd), off + missing[k] as u64 * PAGE)?;
                k = end;
            }
        }
        for (&i, &f) in missing.iter().zip(&frames) {
            st.cache.insert(off + i as u64 * PAGE, f);
        }
        Ok(())
    }

    /// Truncate (or extend) the file to `size`.
    /// The extended attributes, loaded from the lower file at first use
    /// (a lower file's unreadable attributes count as none).
    fn xattrs<'a>(&self, st: &'a mut State) -> &'a mut BTreeMap<Vec<u8>, Vec<u8>> {
        if st.xattrs.is_none() {
            let mut m = BTreeMap::new();
            if let (Some(lower), Ok(access)) = (&st.lower, self.access()) {
                m.extend(access.xattrs(lower, &st.attr).unwrap_or_default());
            }
            st.xattrs = Some(m);
        }
        st.xattrs.get_or_insert_with(BTreeMap::new)
    }

    /// The key naming this file in the mm's reverse map.
    fn rmap_key(&self) -> usize {
        self as *const Node as usize
    }

    /// setattr's work under the node's lock (the caller cuts mappings
    /// after, unlocked).
    fn setattr_locked(&self, a: &SetAttr) -> KResult<()> {
        use vfs::seals::{F_SEAL_EXEC, F_SEAL_GROW, F_SEAL_SHRINK};
        let mut st = self.lock();
        if let Some(size) = a.size {
            if st.attr.is_dir() {
                return Err(Errno::EISDIR);
            }
            let old = st.attr.size;
            if (size < old && st.seals & F_SEAL_SHRINK != 0) || (size > old && st.seals & F_SEAL_GROW != 0) {
                return Err(Errno::EPERM);
            }
        }
        if let Some(m) = a.mode {
            if st.seals & F_SEAL_EXEC != 0 && (m ^ st.attr.mode) & 0o111 != 0 {
                return Err(Errno::EPERM);
            }
        }
        if let Some(size) = a.size {
            self.truncate(&mut st, size)?;
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

    /// Truncate with the lock held; `truncated` must follow once it is
    /// released, to cut the file's mappings.
    fn truncate(&self, st: &mut State, size: u64) -> KResult<()> {
        if !st.upper && size == 0 {
            // Nothing of the lower content survives: no need to read it.
            st.upper = true;
        }
        self.copy_up(st)?;
        if size < st.attr.size {
            st.release_from(&self.fs, size);
        }
        st.attr.size = size;
        st.attr.mtime = vfs::now();
        st.attr.ctime = st.attr.mtime;
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
        self.insert_new_child(name, node.clone())?;
        Ok(node)
    }

    /// Link `node` in as `name` unless the name was taken meanwhile (a
    /// concurrent create): the check and the insertion under one lock, so
    /// two creators never both succeed.
    fn insert_new_child(&self, name: &[u8], node: Arc<Node>) -> KResult<()> {
        let mut st = self.lock();
        if st.children.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        st.whiteouts.remove(name);
        st.children.insert(name.to_vec(), node);
        st.attr.mtime = vfs::now();
        st.attr.ctime = st.attr.mtime;
        Ok(())
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
    /// Take `name` out of this directory, leaving a whiteout where a lower
    /// layer has it; returns the still-held lock.
    fn remove_name(&self, name: &[u8]) -> MutexGuard<'_, State> {
        let mut st = self.lock();
        st.children.remove(name);
        if st.in_lower.contains(name) {
            st.whiteouts.insert(name.to_vec());
        }
        st
    }
}

/// Whether `node` may go where a directory (`dir`) or a non-directory is
/// removed or replaced: ENOTDIR, EISDIR, or ENOTEMPTY for a directory with
/// entries. Returns whether it is a directory.
fn removable(node: &Node, dir: bool) -> KResult<bool> {
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
    Ok(is_dir)
}

impl Inode for Node {
    fn stat(&self) -> KResult<Attr> {
        let st = self.lock();
        let mut a = st.attr;
        if st.upper && a.kind() == mode::S_IFREG {
            a.blocks = st.cache.len() as u64 * (PAGE / 512);
        }
        if a.is_dir() && st.lower.is_none() {
            // A memory directory's size, as tmpfs counts it: 20 bytes
            // (BOGO_DIRENT_SIZE) an entry, "." and ".." included.
            a.size = 20 * (2 + st.children.len() as u64);
        }
        Ok(a)
    }

    fn open(self: Arc<Self>, flags: u32) -> KResult<Arc<dyn FileOps>> {
        let kind = self.lock().attr.kind();
        match kind {
            mode::S_IFDIR => Ok(Arc::new(DirFile)),
            mode::S_IFREG => {
                let acc = flags & vfs::oflags::O_ACCMODE;
                if acc != vfs::oflags::O_RDONLY {
                    // Opened for writing: the content becomes the overlay's
                    // (so that shared mappings and writes see one file).
                    let mut st = self.lock();
                    if flags & vfs::oflags::O_TRUNC != 0 {
                        self.truncate(&mut st, 0)?;
                        drop(st);
                        crate::mm::rmap::truncated(self.rmap_key(), 0);
                    } else {
                        self.copy_up(&mut st)?;
                    }
                }
                Ok(Arc::new(OvFile { node: self.clone(), fd: Default::default() }))
            }
            mode::S_IFCHR | mode::S_IFBLK => Err(Errno::EACCES),
            mode::S_IFIFO | mode::S_IFSOCK => Err(Errno::ENXIO),
            _ => Err(Errno::ELOOP),
        }
    }

    fn open_task(self: Arc<Self>, task: &crate::kernel::task::Task, flags: u32) -> KResult<Arc<dyn FileOps>> {
        if self.lock().attr.kind() != mode::S_IFIFO {
            return self.open(flags);
        }
        // A named pipe: every open shares one pipe, made at the first.
        let pipe = self.lock().fifo.get_or_insert_with(crate::fs::pipe::Pipe::new).clone();
        let acc = flags & vfs::oflags::O_ACCMODE;
        let (read, write) = (acc != vfs::oflags::O_WRONLY, acc != vfs::oflags::O_RDONLY);
        let end = pipe.open_fifo(task, read, write, flags & vfs::oflags::O_NONBLOCK != 0)?;
        Ok(end)
    }

    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        Ok(self.lookup_node(name)?)
    }

    fn seals(&self) -> KResult<u32> {
        self.seals_now()
    }

    fn add_seals(&self, seals: u32) -> KResult<()> {
        self.add_seals_now(seals)
    }

    fn statfs(&self) -> KResult<vfs::FsStat> {
        const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;
        let lower = self.lock().lower.clone().or_else(|| self.fs.root.clone());
        let (Some(access), Some(lower)) = (&self.fs.lower, lower) else {
            let used = self.fs.used.load(std::sync::atomic::Ordering::Relaxed);
            let free = self.fs.limit.saturating_sub(used);
            return Ok(vfs::FsStat { blocks: self.fs.limit, bfree: free, bavail: free, ..vfs::FsStat::memory() });
        };
        let s = access.statfs(&lower)?;
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
            (st.lower.clone(), st.lower_list.is_some())
        };
        if let (Some(lower), false) = (lower, have_list) {
            let list = self.access()?.list(&lower)?;
            self.lock().lower_list = Some(list);
        }
        let st = self.lock();
        let mut out: Vec<DirEntry> = Vec::new();
        let mut listed: HashSet<&[u8]> = HashSet::new();
        if let Some(list) = &st.lower_list {
            for e in list {
                // (A whited-out name made again is one of the sandbox's.)
                if st.whiteouts.contains(&e.name) {
                    continue;
                }
                listed.insert(&e.name);
                if let Some(c) = st.children.get(&e.name) {
                    let a = c.stat()?;
                    out.push(DirEntry { name: e.name.clone(), ino: a.ino, kind: a.dtype() });
                } else {
                    out.push(e.clone());
                }
            }
        }
        // The entries made in the sandbox, after the lower's, by name.
        let mut made: Vec<(&Vec<u8>, &Arc<Node>)> = st.children.iter().filter(|(n, _)| !listed.contains(n.as_slice())).collect();
        made.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (name, c) in made {
            let a = c.stat()?;
            out.push(DirEntry { name: name.clone(), ino: a.ino, kind: a.dtype() });
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
        let lower = st.lower.as_ref().ok_or(Errno::EIO)?;
        let t = self.access()?.readlink(lower)?;
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

    fn mknod(&self, name: &[u8], m: u32, rdev: u64, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        Ok(self.add_new(name, m, uid, gid, |st| st.attr.rdev = rdev)?)
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
        self.insert_new_child(name, node.clone())?;
        node.lock().attr.nlink += 1;
        Ok(())
    }

    fn unlink(&self, name: &[u8], dir: bool) -> KResult<()> {
        let node = self.lookup_node(name)?;
        let is_dir = removable(&node, dir)?;
        let mut st = self.remove_name(name);
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

    fn exchange(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> KResult<()> {
        let Some(dst) = new_dir.as_any().downcast_ref::<Node>() else { return Err(Errno::EXDEV) };
        let a = self.lookup_node(name)?;
        let b = dst.lookup_node(new_name)?;
        if std::ptr::eq(self, dst) && name == new_name {
            return Ok(());
        }
        // Regular files take their content along into the upper layer;
        // directories keep their lower fids, so their lower content moves
        // with them. Both names stay taken: no whiteouts.
        for n in [&a, &b] {
            let mut ns = n.lock();
            if ns.attr.kind() == mode::S_IFREG {
                n.copy_up(&mut ns)?;
            }
        }
        self.insert_child(name, b);
        dst.insert_child(new_name, a);
        Ok(())
    }

    fn getxattr(&self, name: &[u8]) -> KResult<Vec<u8>> {
        let mut st = self.lock();
        self.xattrs(&mut st).get(name).cloned().ok_or(Errno::ENODATA)
    }

    fn listxattr(&self) -> KResult<Vec<Vec<u8>>> {
        let mut st = self.lock();
        Ok(self.xattrs(&mut st).keys().cloned().collect())
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: i32) -> KResult<()> {
        let mut st = self.lock();
        if st.attr.kind() == mode::S_IFLNK {
            return Err(Errno::EPERM);
        }
        let x = self.xattrs(&mut st);
        let exists = x.contains_key(name);
        if flags & 1 != 0 && exists {
            return Err(Errno::EEXIST);
        }
        if flags & 2 != 0 && !exists {
            return Err(Errno::ENODATA);
        }
        x.insert(name.to_vec(), value.to_vec());
        st.attr.ctime = vfs::now();
        Ok(())
    }

    fn removexattr(&self, name: &[u8]) -> KResult<()> {
        let mut st = self.lock();
        self.xattrs(&mut st).remove(name).ok_or(Errno::ENODATA)?;
        st.attr.ctime = vfs::now();
        Ok(())
    }

    fn create_unnamed(&self, m: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        if self.removed() {
            return Err(Errno::ENOENT);
        }
        let node = Node::new_upper(&self.fs, mode::S_IFREG | (m & 0o7777), uid, gid);
        node.lock().attr.nlink = 0;
        Ok(node)
    }

    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> KResult<()> {
        let Some(dst) = new_dir.as_any().downcast_ref::<Node>() else { return Err(Errno::EXDEV) };
        let node = self.lookup_node(name)?;
        if std::ptr::eq(self, dst) && name == new_name {
            return Ok(());
        }
        if let Ok(existing) = dst.lookup_node(new_name) {
            let src_dir = node.lock().attr.is_dir();
            removable(&existing, src_dir)?;
            drop(dst.remove_name(new_name));
        }
        // Directories being renamed keep their lower fid, so their lower
        // content stays visible at the new name.
        {
            let mut ns = node.lock();
            if ns.attr.kind() == mode::S_IFREG {
                self.copy_up(&mut ns)?;
            }
        }
        self.remove_name(name).attr.mtime = vfs::now();
        dst.insert_child(new_name, node);
        Ok(())
    }

    fn setattr(&self, a: &SetAttr) -> KResult<()> {
        self.setattr_locked(a)?;
        if let Some(size) = a.size {
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

mod file;
pub use file::OvFile;

