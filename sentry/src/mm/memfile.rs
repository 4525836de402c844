//! The memory file: one memfd holds all application memory. The sentry maps
//! it once, so copy-in and copy-out are plain memory copies; platforms map
//! ranges of it into application address spaces.
//!
//! Frames are 4 KiB pages of the file, reference counted (copy-on-write
//! across fork shares frames). A freed frame goes on a dirty list and is
//! zeroed with a memset when reused (far cheaper than a hole-punching
//! syscall per page at every exit); only when the dirty list grows past
//! [`DIRTY_MAX`] are frames punched out of the file, in runs, to give the
//! memory back to the host. A newly allocated frame always reads as zeros.
//!
//! Big files of the root overlay's memory layer keep their pages in the
//! *store* instead, when there is one: an unlinked host file on a disk
//! filesystem (gVisor's "self" overlay medium), mapped in the sentry just
//! past the memfd, so that a frame offset names either. Its frames come in
//! extents of 2 MiB, freed back to the host whole. There a 100 MB file is
//! written and read at the host page cache's speed, which shmem's 4 KiB
//! pages do not reach (see docs/benchmarks.md), and a big file costs host
//! page cache (written back and reclaimable) rather than pinned memory.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;

use crate::errno::{Errno, KResult};

/// The memory size the sandbox reports to applications (sysinfo,
/// /proc/meminfo).
pub const REPORTED_TOTAL: u64 = 8 << 30;

/// Size of the file's address range reserved in the sentry.
const RESERVE: u64 = 64 << 30;
/// Page size.
pub const PAGE: u64 = 4096;

/// Freed frames kept for reuse before memory is returned to the host.
const DIRTY_MAX: usize = 8192;

/// Size of an extent of the store.
pub const EXTENT: u64 = 2 << 20;
/// Frames in an extent.
const EXTENT_FRAMES: usize = (EXTENT / PAGE) as usize;
/// Offset of the store's first frame: past the memfd's reservation and a
/// gap, so that no run of consecutive frames spans both files.
pub const STORE: u64 = RESERVE + EXTENT;

struct Alloc {
    /// Reference count per frame index.
    refs: Vec<u32>,
    /// Free frame indices whose contents are stale (zeroed on reuse).
    dirty: Vec<u64>,
    /// Free frame indices punched out of the file (they read as zeros).
    clean: Vec<u64>,
    /// Frames in use (a store extent counts whole while any of it is).
    used: u64,
    /// Reference count per frame of the store (index from STORE).
    store_refs: Vec<u32>,
    /// Per extent of the store: its frames still referenced (0: free).
    extent_live: Vec<u16>,
    /// Extent indices freed and punched out of the store, for reuse.
    free_extents: Vec<u64>,
}

impl Alloc {
    /// The reference count of the frame at `off`, in whichever file.
    fn slot(&mut self, off: u64) -> Option<&mut u32> {
        if off >= STORE {
            self.store_refs.get_mut(((off - STORE) / PAGE) as usize)
        } else {
            self.refs.get_mut((off / PAGE) as usize)
        }
    }
}

/// The memory file.
pub struct MemoryFile {
    fd: OwnedFd,
    base: *mut u8,
    /// The store, mapped at `base + STORE` (None: big files stay in the
    /// memfd).
    store: Option<OwnedFd>,
    alloc: Mutex<Alloc>,
    /// Frames to give back to the host, sorted, sent to the reclaim thread
    /// (None if it could not be started: they are punched in place).
    reclaim: Option<std::sync::mpsc::Sender<Vec<u64>>>,
    /// Frames the reclaim thread has punched, to join `clean`.
    punched: std::sync::Arc<Mutex<Vec<u64>>>,
    /// Most frames in use at once (a container's memory limit).
    limit: std::sync::atomic::AtomicU64,
}

// SAFETY: `base` points to a shared mapping that lives as long as the
// MemoryFile; all accesses through it are raw copies (application memory is
// concurrently written by application threads anyway, so no Rust reference
// into it is ever created).
unsafe impl Send for MemoryFile {}
// SAFETY: as above.
unsafe impl Sync for MemoryFile {}

impl MemoryFile {
    /// Create the memfd and map it, with `store` (an unlinked host file
    /// open read-write, see the module's doc) mapped past it.
    pub fn new(store: Option<OwnedFd>) -> KResult<MemoryFile> {
        // SAFETY: the name is a NUL-terminated literal.
        let fd = unsafe { libc::memfd_create(c"runsc-memory".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: fd was just returned by memfd_create and is owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: plain calls on our own fds.
        let sized = |f: &OwnedFd| unsafe { libc::ftruncate(f.as_raw_fd(), RESERVE as i64) } == 0;
        if !sized(&fd) {
            return Err(Errno::last());
        }
        let store = store.filter(sized);
        let span = span_of(store.is_some()) as usize;
        // SAFETY: a fresh inaccessible reservation at an address the kernel
        // picks; the files' mappings replace parts of it below.
        let base = unsafe { libc::mmap(std::ptr::null_mut(), span, libc::PROT_NONE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE, -1, 0) };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let base = base as *mut u8;
        for (f, at) in std::iter::once((&fd, 0)).chain(store.iter().map(|s| (s, STORE))) {
            // SAFETY: a shared mapping of our own file over part of the
            // reservation just made, which nothing else uses.
            let p = unsafe {
                libc::mmap(
                    base.add(at as usize).cast(),
                    RESERVE as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_NORESERVE | libc::MAP_FIXED,
                    f.as_raw_fd(),
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                let e = Errno::last();
                // SAFETY: unmapping the reservation made above, whole.
                unsafe { libc::munmap(base.cast(), span) };
                return Err(e);
            }
        }
        let punched = std::sync::Arc::new(Mutex::new(Vec::new()));
        let reclaim = spawn_reclaimer(&fd, punched.clone());
        Ok(MemoryFile {
            fd,
            base,
            store,
            alloc: Mutex::new(Alloc {
                refs: Vec::new(),
                dirty: Vec::new(),
                clean: Vec::new(),
                used: 0,
                store_refs: Vec::new(),
                extent_live: Vec::new(),
                free_extents: Vec::new(),
            }),
            reclaim,
            punched,
            limit: std::sync::atomic::AtomicU64::new(u64::MAX),
        })
    }

    /// Allocate an extent of the store: EXTENT bytes of frames contiguous
    /// in it, one reference on each, reading as zeros, its disk blocks
    /// allocated. Returns its offset, or None without a store or when the
    /// host's disk is full (the caller uses memfd frames). Its frames are
    /// freed one by one, as any; the extent goes back to the host when the
    /// last one is.
    ///
    /// The blocks are allocated at once (fallocate, 10-20 us) so that no
    /// later write through a mapping of the store can meet a full disk: a
    /// shared mapping's page fault would then be a SIGBUS, in the sentry
    /// as in the application. It also spares the host's per-block
    /// reservation of delayed allocation: 100 MB of 1 MB writes took 28 ms
    /// against 37.
    pub fn alloc_extent(&self) -> KResult<Option<u64>> {
        let Some(store) = &self.store else { return Ok(None) };
        let ext = {
            let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
            self.within_limit(&a, EXTENT_FRAMES)?;
            let ext = match a.free_extents.pop() {
                Some(x) => x as usize,
                None => {
                    let x = a.extent_live.len();
                    if (x as u64 + 1) * EXTENT > RESERVE {
                        return Ok(None);
                    }
                    a.extent_live.push(0);
                    a.store_refs.resize((x + 1) * EXTENT_FRAMES, 0);
                    x
                }
            };
            a.store_refs[ext * EXTENT_FRAMES..(ext + 1) * EXTENT_FRAMES].fill(1);
            a.extent_live[ext] = EXTENT_FRAMES as u16;
            a.used += EXTENT_FRAMES as u64;
            ext
        };
        // SAFETY: fallocate on our own store over the extent just taken,
        // which nothing references yet.
        let r = unsafe { libc::fallocate(store.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, (ext as u64 * EXTENT) as i64, EXTENT as i64) };
        if r != 0 {
            // Nothing was written to it: it goes back as it was.
            let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
            a.store_refs[ext * EXTENT_FRAMES..(ext + 1) * EXTENT_FRAMES].fill(0);
            a.extent_live[ext] = 0;
            a.used -= EXTENT_FRAMES as u64;
            a.free_extents.push(ext as u64);
            return Ok(None);
        }
        Ok(Some(STORE + ext as u64 * EXTENT))
    }

    /// Where the frame at `off` lives on the host when it is in the store:
    /// the store's fd and the offset in it (for mapping it into an address
    /// space); None for the memfd's frames.
    pub fn in_store(&self, off: u64) -> Option<(i32, u64)> {
        match &self.store {
            Some(s) if off >= STORE => Some((s.as_raw_fd(), off - STORE)),
            _ => None,
        }
    }

    /// The store, for reading it straight into application memory.
    pub fn store_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.store.as_ref().map(std::os::fd::AsFd::as_fd)
    }

    /// The host fd and offset in it behind frame offset `off`.
    fn host_at(&self, off: u64) -> (i32, u64) {
        self.in_store(off).unwrap_or((self.fd.as_raw_fd(), off))
    }

    /// The memfd, for the platform.
    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Allocate `n` zeroed frames, contiguous when possible; returns their
    /// file offsets.
    pub fn alloc(&self, n: usize) -> KResult<Vec<u64>> {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        self.within_limit(&a, n)?;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let idx = match a.dirty.pop() {
                Some(i) => {
                    self.zero(i * PAGE, PAGE as usize);
                    i
                }
                None => match a.clean.pop().or_else(|| {
                    let mut p = self.punched.lock().unwrap_or_else(|e| e.into_inner());
                    a.clean.append(&mut p);
                    a.clean.pop()
                }) {
                    Some(i) => i,
                    None => {
                    let i = a.refs.len() as u64;
                    if (i + 1) * PAGE > RESERVE {
                        return Err(Errno::ENOMEM);
                    }
                        a.refs.push(0);
                        i
                    }
                },
            };
            a.refs[idx as usize] = 1;
            a.used += 1;
            out.push(idx * PAGE);
        }
        // Frames freed in ascending order come off the lists descending:
        // sorted, a batch is mostly contiguous and maps with one call.
        out.sort_unstable();
        Ok(out)
    }

    /// Allocate `n` zeroed frames that are contiguous in the file (so that
    /// they map with one call), from never-used space.
    pub fn alloc_contiguous(&self, n: usize) -> KResult<Vec<u64>> {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        self.within_limit(&a, n)?;
        let first = a.refs.len() as u64;
        if (first + n as u64) * PAGE > RESERVE {
            drop(a);
            return self.alloc(n);
        }
        a.refs.resize(first as usize + n, 1);
        a.used += n as u64;
        Ok((first..first + n as u64).map(|i| i * PAGE).collect())
    }

    /// Take another reference on a frame.
    pub fn incref(&self, off: u64) {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = a.slot(off) {
            *r += 1;
        }
    }

    /// Take another reference on each of `offs` (one lock for all).
    pub fn incref_all(&self, offs: &[u64]) {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        for &off in offs {
            if let Some(r) = a.slot(off) {
                *r += 1;
            }
        }
    }

    /// References held on a frame.
    pub fn refs(&self, off: u64) -> u32 {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        a.slot(off).map_or(0, |r| *r)
    }

    /// Drop references on frames; a frame whose count reaches zero is freed.
    pub fn decref_all(&self, offs: &[u64]) {
        let mut freed = Vec::new();
        let mut extents = Vec::new();
        {
            let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
            for &off in offs {
                let Some(r) = a.slot(off) else { continue };
                if *r == 0 {
                    continue;
                }
                *r -= 1;
                if *r != 0 {
                    continue;
                }
                if off < STORE {
                    freed.push(off);
                    continue;
                }
                let x = ((off - STORE) / EXTENT) as usize;
                a.extent_live[x] -= 1;
                if a.extent_live[x] == 0 {
                    extents.push(x as u64);
                }
            }
            a.used -= freed.len() as u64 + extents.len() as u64 * EXTENT_FRAMES as u64;
            a.dirty.extend(freed.iter().map(|off| off / PAGE));
            if a.dirty.len() > DIRTY_MAX {
                // Give the oldest half back to the host, in runs (reuse
                // pops the newest, still warm in the cache).
                let keep_from = a.dirty.len() - DIRTY_MAX / 2;
                let mut release: Vec<u64> = a.dirty.drain(..keep_from).collect();
                release.sort_unstable();
                // In the background: a process that frees 100 MB (rm of a
                // big file, an exit) does not wait the 30 ms the host
                // takes. The frames join `clean` once punched.
                let left = match &self.reclaim {
                    Some(tx) => tx.send(release).err().map(|e| e.0),
                    None => Some(release),
                };
                if let Some(release) = left {
                    punch_runs(self.fd.as_raw_fd(), &release);
                    a.clean.extend(release);
                }
            }
        }
        if let (Some(store), false) = (&self.store, extents.is_empty()) {
            // A freed extent goes back to the host at once (one call per
            // run of extents), to be reused from zero.
            let frames: Vec<u64> = extents.iter().flat_map(|&x| x * EXTENT_FRAMES as u64..(x + 1) * EXTENT_FRAMES as u64).collect();
            punch_runs(store.as_raw_fd(), &frames);
            self.alloc.lock().unwrap_or_else(|e| e.into_inner()).free_extents.extend(extents);
        }
    }

    /// Limit the memory in use to `bytes` (a container's memory limit);
    /// allocations past it fail with ENOMEM, which a fault turns into the
    /// out-of-memory kill of the faulting process.
    pub fn set_limit(&self, bytes: u64) {
        let pages = if bytes == u64::MAX { u64::MAX } else { bytes / PAGE };
        self.limit.store(pages, std::sync::atomic::Ordering::Relaxed);
    }

    /// The limit in bytes (u64::MAX: none).
    pub fn limit_bytes(&self) -> u64 {
        self.limit.load(std::sync::atomic::Ordering::Relaxed).saturating_mul(PAGE)
    }

    fn within_limit(&self, a: &Alloc, n: usize) -> KResult<()> {
        if a.used.saturating_add(n as u64) > self.limit.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Bytes in use.
    pub fn used_bytes(&self) -> u64 {
        self.alloc.lock().unwrap_or_else(|e| e.into_inner()).used * PAGE
    }

    /// Free memory as sysinfo and /proc/meminfo report it: what is left of
    /// REPORTED_TOTAL (the reservation itself is larger, so this saturates).
    pub fn free_bytes(&self) -> u64 {
        REPORTED_TOTAL.saturating_sub(self.used_bytes())
    }

    /// Bytes of the sentry's view.
    fn span(&self) -> u64 {
        span_of(self.store.is_some())
    }

    fn check(&self, off: u64, len: usize) {
        let end = off.checked_add(len as u64);
        let inside = |lo: u64, hi: u64| off >= lo && end.is_some_and(|e| e <= hi);
        assert!(inside(0, RESERVE) || (self.store.is_some() && inside(STORE, STORE + RESERVE)), "memory file range out of bounds");
    }

    /// Copy bytes out of the file at `off`.
    pub fn read(&self, off: u64, buf: &mut [u8]) {
        self.check(off, buf.len());
        // SAFETY: the range is inside our mapping (checked); a raw copy from
        // shared memory the application may be writing concurrently.
        unsafe { std::ptr::copy_nonoverlapping(self.base.add(off as usize), buf.as_mut_ptr(), buf.len()) }
    }

    /// Copy `pieces` (file offset, length) of the file, in order, to the
    /// contiguous range at `to`, with pwritev of our own mapping into our
    /// own memfd. Against a memmove after MADV_POPULATE_WRITE, the host
    /// allocates the destination's fresh pages without clearing them and
    /// does not map them in the sentry: a 100 MB file write went from
    /// 188 ms to about 150 ms. (The same with preadv for reads was slower
    /// than a memmove that faults the pages in.) Falls back to memmove if
    /// the host refuses.
    pub fn write_from_self(&self, pieces: &[(u64, usize)], mut at: u64) {
        let total: usize = pieces.iter().map(|p| p.1).sum();
        self.check(at, total);
        let mut i = 0;
        // How much of pieces[i] is already written.
        let mut skip = 0usize;
        while i < pieces.len() {
            let iov = self.iovecs(&pieces[i..], skip);
            let (fd, host_at) = self.host_at(at);
            // SAFETY: every iovec points into our own live mapping, and the
            // destination range is inside the file (checked).
            let r = unsafe { libc::pwritev(fd, iov.as_ptr(), iov.len() as i32, host_at as i64) };
            if r <= 0 {
                break;
            }
            at += r as u64;
            advance(pieces, &mut i, &mut skip, r as usize);
        }
        while i < pieces.len() {
            let (off, n) = pieces[i];
            let (off, n) = (off + skip as u64, n - skip);
            self.copy_within(off, at, n);
            at += n as u64;
            skip = 0;
            i += 1;
        }
    }

    /// Read host file `fd` from `at` into the file's `pieces` (offset,
    /// length), in order, with preadv into our own mapping: one host call
    /// per IOV_MAX pieces and no bounce buffer. Stops at the end of the
    /// host file; returns the bytes read (an error only if none were).
    pub fn read_into_self(&self, pieces: &[(u64, usize)], fd: std::os::fd::BorrowedFd<'_>, mut at: u64) -> KResult<usize> {
        let mut done = 0usize;
        let mut i = 0;
        let mut skip = 0usize;
        while i < pieces.len() {
            let iov = self.iovecs(&pieces[i..], skip);
            let want: usize = iov.iter().map(|v| v.iov_len).sum();
            // SAFETY: every iovec points into our own live mapping, which
            // the host writes; the caller holds the frames.
            let r = unsafe { libc::preadv(fd.as_raw_fd(), iov.as_ptr(), iov.len() as i32, at as i64) };
            if r < 0 {
                let e = nix::errno::Errno::last();
                if e == nix::errno::Errno::EINTR {
                    continue;
                }
                if done == 0 {
                    return Err(e.into());
                }
                break;
            }
            let r = r as usize;
            done += r;
            at += r as u64;
            if r < want {
                // The end of the file (a regular file reads short only there).
                break;
            }
            advance(pieces, &mut i, &mut skip, r);
        }
        Ok(done)
    }

    /// iovecs over our mapping for up to IOV_MAX of `pieces` (file offset,
    /// length), the first `skip` bytes of the first left out.
    fn iovecs(&self, pieces: &[(u64, usize)], skip: usize) -> Vec<libc::iovec> {
        const IOV_MAX: usize = 1024;
        pieces
            .iter()
            .take(IOV_MAX)
            .enumerate()
            .map(|(k, &(off, n))| {
                let s = if k == 0 { skip } else { 0 };
                self.check(off, n);
                // SAFETY: inside our mapping (checked above).
                libc::iovec { iov_base: unsafe { self.base.add(off as usize + s) }.cast(), iov_len: n - s }
            })
            .collect()
    }

    /// Copy `len` bytes within the file, from `from` to `to` (file pages
    /// to application pages and back, without a bounce buffer).
    pub fn copy_within(&self, from: u64, to: u64, len: usize) {
        self.check(from, len);
        self.check(to, len);
        // SAFETY: both ranges are inside our mapping (checked); a raw
        // memmove, since the application may map one frame at both ends
        // (a write from a mapping of the same file).
        unsafe { std::ptr::copy(self.base.add(from as usize), self.base.add(to as usize), len) }
    }

    /// Fill `[off, off + len)` of the file from the host fd `fd` at
    /// `file_off` with pread, straight into our mapping (no bounce buffer).
    /// Returns the bytes read; the rest is left as it was (freshly
    /// allocated frames are zero).
    pub fn fill_from(&self, off: u64, len: usize, fd: std::os::fd::BorrowedFd<'_>, file_off: u64) -> KResult<usize> {
        self.check(off, len);
        let mut done = 0;
        while done < len {
            // SAFETY: the range is inside our shared mapping (checked above),
            // which lives as long as `self`; the frames were just allocated
            // and nothing else references them yet.
            let dst = unsafe { std::slice::from_raw_parts_mut(self.base.add(off as usize + done), len - done) };
            match nix::sys::uio::pread(fd, dst, (file_off + done as u64) as i64) {
                Ok(0) => break,
                Ok(k) => done += k,
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(done)
    }

    /// Read host file `fd` from `file_off` into `frames` (zero-filled
    /// frames: bytes past the end of the file stay zero). The data goes
    /// through a small buffer and pwrite into the memory file, which
    /// allocates its pages without faulting them into our mapping: about
    /// half the cost of reading into the mapping on a VM.
    pub fn read_host(&self, frames: &[u64], fd: std::os::fd::BorrowedFd<'_>, file_off: u64) -> KResult<()> {
        const CHUNK: usize = 64 * 1024;
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; CHUNK]);
        }
        BUF.with(|b| {
            let mut buf = b.borrow_mut();
            let mut i = 0;
            while i < frames.len() {
                // A run of contiguous frames, at most CHUNK bytes.
                let mut j = i + 1;
                while j < frames.len() && frames[j] == frames[j - 1] + PAGE && (j - i + 1) * PAGE as usize <= CHUNK {
                    j += 1;
                }
                let len = (j - i) * PAGE as usize;
                let at = file_off + i as u64 * PAGE;
                let mut got = 0;
                while got < len {
                    match nix::sys::uio::pread(fd, &mut buf[got..len], (at + got as u64) as i64) {
                        Ok(0) => break,
                        Ok(k) => got += k,
                        Err(nix::errno::Errno::EINTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                if got == 0 {
                    break;
                }
                self.check(frames[i], got);
                let (fd, host_at) = self.host_at(frames[i]);
                // SAFETY: the memfd or the store, open for the life of self.
                let mfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
                let mut put = 0;
                while put < got {
                    match nix::sys::uio::pwrite(mfd, &buf[put..got], (host_at + put as u64) as i64) {
                        Ok(k) => put += k,
                        Err(nix::errno::Errno::EINTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                if got < len {
                    break;
                }
                i = j;
            }
            Ok(())
        })
    }

    /// Copy bytes into the file at `off`.
    pub fn write(&self, off: u64, buf: &[u8]) {
        self.check(off, buf.len());
        // SAFETY: as for read.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), self.base.add(off as usize), buf.len()) }
    }

    /// Atomically compare-and-exchange the aligned u32 at `off`; returns
    /// the value found (equal to `old` when the exchange happened).
    pub fn cmpxchg_u32(&self, off: u64, old: u32, new: u32) -> u32 {
        assert!(off % 4 == 0, "unaligned atomic");
        self.check(off, 4);
        // SAFETY: the 4 aligned bytes are inside our shared mapping, which
        // lives as long as `self`; the application and other sentry threads
        // only ever access them with plain or atomic machine accesses.
        let a = unsafe { std::sync::atomic::AtomicU32::from_ptr(self.base.add(off as usize).cast()) };
        match a.compare_exchange(old, new, std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst) {
            Ok(v) | Err(v) => v,
        }
    }

    /// Copy one frame to another.
    pub fn copy_frame(&self, from: u64, to: u64) {
        self.check(from, PAGE as usize);
        self.check(to, PAGE as usize);
        // SAFETY: two distinct in-bounds frames of our mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(from as usize), self.base.add(to as usize), PAGE as usize)
        }
    }

    /// Zero bytes at `off`.
    pub fn zero(&self, off: u64, len: usize) {
        self.check(off, len);
        // SAFETY: in-bounds range of our mapping.
        unsafe { std::ptr::write_bytes(self.base.add(off as usize), 0, len) }
    }
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        // SAFETY: unmapping the views made in new(); no references into
        // them exist.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.span() as usize);
        }
    }
}

/// Bytes of the sentry's view of the memory file: the memfd, and the
/// store past it when there is one.
fn span_of(with_store: bool) -> u64 {
    if with_store {
        STORE + RESERVE
    } else {
        RESERVE
    }
}

/// Move the position in `pieces` (index `i`, `skip` bytes into it) on by
/// `r` bytes transferred.
fn advance(pieces: &[(u64, usize)], i: &mut usize, skip: &mut usize, mut r: usize) {
    while r > 0 && *i < pieces.len() {
        let left = pieces[*i].1 - *skip;
        if r >= left {
            r -= left;
            *i += 1;
            *skip = 0;
        } else {
            *skip += r;
            r = 0;
        }
    }
}

/// Punch the sorted frame indices `frames` out of the memfd `fd`, one
/// call per run of consecutive frames.
fn punch_runs(fd: i32, frames: &[u64]) {
    let mut i = 0;
    while i < frames.len() {
        let mut j = i + 1;
        while j < frames.len() && frames[j] == frames[j - 1] + 1 {
            j += 1;
        }
        // SAFETY: punching a hole in our own memfd over frames that nobody
        // references any more.
        unsafe {
            libc::fallocate(
                fd,
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                (frames[i] * PAGE) as i64,
                ((j - i) as u64 * PAGE) as i64,
            );
        }
        i = j;
    }
}

/// The reclaim thread: punches the frames it is sent out of (a duplicate
/// of) the memfd `fd`, then hands them to `punched`. It ends with its
/// MemoryFile. None if it cannot be started.
fn spawn_reclaimer(fd: &OwnedFd, punched: std::sync::Arc<Mutex<Vec<u64>>>) -> Option<std::sync::mpsc::Sender<Vec<u64>>> {
    let fd = fd.try_clone().ok()?;
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u64>>();
    std::thread::Builder::new()
        .name("memfile-reclaim".into())
        .spawn(move || {
            for frames in rx {
                punch_runs(fd.as_raw_fd(), &frames);
                punched.lock().unwrap_or_else(|e| e.into_inner()).extend(frames);
            }
        })
        .ok()?;
    Some(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_store() -> MemoryFile {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .mode(0o600)
            .open(std::env::temp_dir())
            .expect("O_TMPFILE in the temporary directory");
        MemoryFile::new(Some(OwnedFd::from(f))).expect("memory file")
    }

    #[test]
    fn store_extents_are_written_freed_whole_and_reused_zeroed() {
        let mf = with_store();
        let x = mf.alloc_extent().expect("alloc").expect("an extent");
        assert!(x >= STORE && (x - STORE) % EXTENT == 0);
        assert_eq!(mf.used_bytes(), EXTENT, "an extent counts whole");
        let store = mf.store_fd().map(|f| f.as_raw_fd()).expect("a store");
        assert_eq!(mf.in_store(x + PAGE), Some((store, x - STORE + PAGE)));
        assert_eq!(mf.in_store(PAGE), None);
        // Written through the host (pwritev) and read through the view.
        let src = mf.alloc(1).expect("frame");
        mf.write(src[0], &[7u8; PAGE as usize]);
        mf.write_from_self(&[(src[0], PAGE as usize)], x + 3 * PAGE);
        let mut back = vec![0u8; PAGE as usize];
        mf.read(x + 3 * PAGE, &mut back);
        assert!(back.iter().all(|&b| b == 7));
        // Another reference on one frame keeps the extent alive when the
        // extent's own go.
        mf.incref(x + 3 * PAGE);
        let all: Vec<u64> = (0..EXTENT / PAGE).map(|i| x + i * PAGE).collect();
        mf.decref_all(&all);
        assert_eq!(mf.refs(x + 3 * PAGE), 1);
        assert_eq!(mf.used_bytes(), EXTENT + PAGE);
        mf.decref_all(&[x + 3 * PAGE]);
        assert_eq!(mf.used_bytes(), PAGE, "the extent went back");
        // Reused, and zero again (punched).
        let y = mf.alloc_extent().expect("alloc").expect("an extent");
        assert_eq!(y, x);
        mf.read(y + 3 * PAGE, &mut back);
        assert!(back.iter().all(|&b| b == 0));
    }

    #[test]
    fn without_a_store_there_are_no_extents() {
        let mf = MemoryFile::new(None).expect("memory file");
        assert_eq!(mf.alloc_extent().expect("alloc"), None);
        assert!(mf.store_fd().is_none());
    }

    #[test]
    fn write_from_self_gathers_pieces_in_order() {
        let mf = MemoryFile::new(None).expect("memory file");
        let src = mf.alloc(3).expect("frames");
        let dst = mf.alloc_contiguous(3).expect("frames");
        for (k, &f) in src.iter().enumerate() {
            mf.write(f, &vec![b'a' + k as u8; PAGE as usize]);
        }
        // Three pieces from scattered frames, one of them partial, to a
        // contiguous range that starts mid-page.
        let pieces = [(src[2] + 100, 500), (src[0], PAGE as usize), (src[1] + 7, 3000)];
        mf.write_from_self(&pieces, dst[0] + 10);
        let mut out = vec![0u8; 510 + PAGE as usize];
        mf.read(dst[0], &mut out);
        assert_eq!(&out[..10], &[0; 10], "before the range: untouched");
        assert!(out[10..510].iter().all(|&b| b == b'c'));
        assert!(out[510..510 + 4096].iter().all(|&b| b == b'a'));
        let mut tail = vec![0u8; 3000];
        mf.read(dst[0] + 10 + 500 + 4096, &mut tail);
        assert!(tail.iter().all(|&b| b == b'b'));
    }
}
