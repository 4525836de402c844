//! The memory manager: VMAs, the pages backing them (frames of the memory
//! file), demand faults with fault-around, copy-on-write across fork, and
//! typed copy-in/copy-out for the rest of the sentry.
//!
//! Lock order: `MemoryManager::inner` is taken before the memory file's
//! allocator lock; platform calls (injections) are made with `inner` held,
//! which serializes mapping changes of one address space.

mod fault;
mod mlock;
pub mod patch;
pub mod rmap;
pub mod io;
pub mod memfile;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use platform::{AddressSpace, Prot};

use crate::errno::{Errno, KResult};
pub use fault::FaultSig;
pub use memfile::{MemoryFile, EXTENT, PAGE};

/// Something that can back a private file mapping.
pub trait Mappable: Send + Sync {
    /// Frames holding the file's pages `[off, off + n pages)`, each with one
    /// new reference for the caller (bytes past the end of file read as
    /// zeros). A file may hand out frames it caches and shares between
    /// mappings; callers never write to a frame that others reference.
    fn frames(&self, mf: &Arc<MemoryFile>, off: u64, n: usize) -> KResult<Vec<u64>>;
    /// The path shown in /proc/[pid]/maps.
    fn map_name(&self) -> String;
    /// Device and inode shown in /proc/[pid]/maps.
    fn map_ids(&self) -> (u64, u64) {
        (0, 0)
    }
    /// A host fd whose content is this file's and stays so (a lower file
    /// of the overlay that was not copied up). Read-only private mappings
    /// of such a file are mapped from it directly by the platform: the
    /// host pages them in from its own page cache, with no copy into the
    /// memory file and no exit to the sentry per fault window.
    fn host_fd(&self) -> Option<Arc<std::os::fd::OwnedFd>> {
        None
    }
    /// The file's size now, for SIGBUS past its end (None: no such end).
    fn size(&self) -> Option<u64> {
        None
    }
    /// A key naming the file for [`rmap`] (None: it is never truncated).
    fn rmap_key(&self) -> Option<usize> {
        None
    }
    /// msync(2): pages of shared mappings reach the file's home (a host
    /// file written through).
    fn sync(&self) -> KResult<()> {
        Ok(())
    }
    /// A shared mapping of it may be made writable (Linux's VM_MAYWRITE):
    /// not when it was mapped through an fd not open for writing, or the
    /// file was sealed against writes; mprotect then says EACCES.
    fn may_write_shared(&self) -> bool {
        true
    }
}

/// Frames of a MAP_SHARED anonymous region (or a System V segment),
/// shared by every mapping of it; freed with the last mapping.
#[derive(Default)]
pub struct SharedAnon {
    frames: Mutex<BTreeMap<u64, u64>>,
    mf: std::sync::OnceLock<Arc<MemoryFile>>,
}

impl Drop for SharedAnon {
    fn drop(&mut self) {
        if let Some(mf) = self.mf.get() {
            let frames: Vec<u64> = self.frames.get_mut().unwrap_or_else(|e| e.into_inner()).values().copied().collect();
            mf.decref_all(&frames);
        }
    }
}

/// What backs a VMA.
#[derive(Clone)]
pub enum Backing {
    /// Private anonymous memory.
    Anon,
    /// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, /dev/zero).
    Shared(Arc<SharedAnon>, u64),
    /// A file mapping (private, or shared read-only), at a file offset.
    File(Arc<dyn Mappable>, u64),
}

/// A virtual memory area.
#[derive(Clone)]
pub struct Vma {
    /// End (exclusive).
    pub end: u64,
    /// Current protection.
    pub prot: Prot,
    /// MAP_SHARED.
    pub shared: bool,
    /// Backing.
    pub backing: Backing,
    /// Name for /proc/[pid]/maps ("[heap]", "[stack]", ...).
    pub name: Option<&'static str>,
    /// What fork does with it (madvise).
    pub fork: ForkAdvice,
    /// A read-only private file mapping served straight from this host fd
    /// (see [`Mappable::host_fd`]); its pages never enter `pages` except
    /// as the sentry's own copies for copy-in.
    pub direct: Option<Arc<std::os::fd::OwnedFd>>,
    /// The direct mapping is established in the platform.
    pub host_mapped: bool,
    /// mlock(2)ed (VM_LOCKED): counted against RLIMIT_MEMLOCK and in
    /// VmLck; not inherited by a fork's child.
    pub locked: bool,
}

/// madvise's fork advice for a mapping; DONTFORK wins over WIPEONFORK.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkAdvice {
    /// MADV_DONTFORK: the child has no mapping there.
    pub dontfork: bool,
    /// MADV_WIPEONFORK: the child's mapping reads as zeroes.
    pub wipeonfork: bool,
}

impl Vma {
    fn backing_at(&self, start: u64, addr: u64) -> Backing {
        match &self.backing {
            Backing::Anon => Backing::Anon,
            Backing::Shared(s, off) => Backing::Shared(s.clone(), off + (addr - start)),
            Backing::File(f, off) => Backing::File(f.clone(), off + (addr - start)),
        }
    }
}

#[derive(Clone, Copy)]
struct Pte {
    frame: u64,
    mapped: Option<Prot>,
    /// The frame is known to be this page's alone (one reference, not a
    /// file's cache frame): a write to it needs no copy. Cleared when a
    /// fork shares it.
    own: bool,
}

/// The mutable state of an address space.
pub struct MmInner {
    vmas: BTreeMap<u64, Vma>,
    pages: BTreeMap<u64, Pte>,
    /// Start of the heap.
    pub brk_start: u64,
    /// Current program break.
    pub brk: u64,
    /// Where the next mmap without a hint goes (top-down).
    mmap_base: u64,
    /// argv/env ranges for /proc/[pid]/cmdline and environ.
    pub arg_start: u64,
    #[allow(missing_docs)]
    pub arg_end: u64,
    #[allow(missing_docs)]
    pub env_start: u64,
    #[allow(missing_docs)]
    pub env_end: u64,
    /// The auxv the loader wrote.
    pub auxv: Vec<(u64, u64)>,
    /// Syscall-site patching.
    patch: patch::Sites,
    /// mlockall(MCL_FUTURE): new mappings are locked.
    lock_future: bool,
}

/// An application address space.
pub struct MemoryManager {
    mf: Arc<MemoryFile>,
    /// The platform address space mirroring this one.
    pub as_: Arc<dyn AddressSpace>,
    inner: Mutex<MmInner>,
}

/// Pages populated around a fault in anonymous memory (each costs a frame).
const FAULT_AROUND: u64 = 16;
/// Pages mapped around a fault in a file mapping: its pages come from the
/// page cache, so a wide window costs no memory, only fewer exits.
const FILE_FAULT_AROUND: u64 = 64;
/// Address space left free above the program break by mmap placement.
const BRK_GAP: u64 = 64 << 20;
/// Top of the mmap area (below the stack).
pub const MMAP_TOP: u64 = 0x7fff_0000_0000;

fn page_down(a: u64) -> u64 {
    a & !(PAGE - 1)
}

fn page_up(a: u64) -> Option<u64> {
    a.checked_add(PAGE - 1).map(|x| x & !(PAGE - 1))
}

impl MemoryManager {
    /// Map `len` bytes of consecutive frames from `frame` at `addr` with
    /// `prot`: the memfd's through the platform's own mapping of it, the
    /// store's as the shared host file they are in.
    fn map_frames(&self, addr: u64, len: u64, frame: u64, prot: Prot) -> platform::Result<()> {
        match self.mf.in_store(frame) {
            Some((fd, off)) => self.as_.map_shared(addr, len, fd, off, prot),
            None => self.as_.map_file(addr, len, frame, prot),
        }
    }

    /// A new, empty address space.
    pub fn new(mf: Arc<MemoryFile>, as_: Arc<dyn AddressSpace>) -> MemoryManager {
        MemoryManager {
            mf,
            as_,
            inner: Mutex::new(MmInner {
                vmas: BTreeMap::new(),
                pages: BTreeMap::new(),
                brk_start: 0,
                brk: 0,
                mmap_base: MMAP_TOP,
                arg_start: 0,
                arg_end: 0,
                env_start: 0,
                env_end: 0,
                auxv: Vec::new(),
                patch: patch::Sites::default(),
                lock_future: false,
            }),
        }
    }

    /// Lock the state.
    pub fn lock(&self) -> MutexGuard<'_, MmInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The memory file.
    pub fn memfile(&self) -> &Arc<MemoryFile> {
        &self.mf
    }

    // ---- VMA arithmetic -------------------------------------------------

    /// The VMA containing `addr`, with its start.
    fn vma_at(m: &MmInner, addr: u64) -> Option<(u64, Vma)> {
        m.vmas.range(..=addr).next_back().filter(|(_, v)| v.end > addr).map(|(s, v)| (*s, v.clone()))
    }

    /// The fault-around window of `page` within `vma` starting at `start`.
    /// For read-only file mappings it is the aligned block of the file that
    /// holds the page, so that the page cache fills and maps whole blocks.
    fn fault_window(page: u64, start: u64, vma: &Vma) -> (u64, u64) {
        if let (Backing::File(_, off), false) = (&vma.backing, vma.prot.write) {
            let block = FILE_FAULT_AROUND * PAGE;
            let file_off = off + (page - start);
            let lo = page - (file_off % block);
            return (lo.max(start), lo.saturating_add(block).min(vma.end));
        }
        (page.saturating_sub(FAULT_AROUND / 2 * PAGE).max(start), (page + FAULT_AROUND / 2 * PAGE).min(vma.end))
    }

    /// Split VMAs so that `addr` is a boundary.
    fn split_at(m: &mut MmInner, addr: u64) {
        let found = m.vmas.range(..addr).next_back().map(|(s, v)| (*s, v.clone()));
        if let Some((start, vma)) = found {
            if vma.end > addr {
                let mut right = vma.clone();
                right.backing = vma.backing_at(start, addr);
                if let Some(v) = m.vmas.get_mut(&start) {
                    v.end = addr;
                }
                m.vmas.insert(addr, right);
            }
        }
    }

    /// Remove `[start, end)` from VMAs, pages and the platform.
    fn unmap_locked(&self, m: &mut MmInner, start: u64, end: u64) -> KResult<()> {
        Self::split_at(m, start);
        Self::split_at(m, end);
        let keys: Vec<u64> = m.vmas.range(start..end).map(|(k, _)| *k).collect();
        let mut any_mapped = false;
        for k in keys {
            any_mapped |= m.vmas.remove(&k).is_some_and(|v| v.host_mapped);
        }
        let pages: Vec<(u64, Pte)> = m.pages.range(start..end).map(|(k, p)| (*k, *p)).collect();
        let mut frames = Vec::with_capacity(pages.len());
        for (k, p) in pages {
            m.pages.remove(&k);
            frames.push(p.frame);
            any_mapped |= p.mapped.is_some();
        }
        self.mf.decref_all(&frames);
        if any_mapped {
            self.as_.unmap(start, end - start)?;
        }
        Ok(())
    }

    /// Whether `[start, end)` overlaps no VMA.
    fn is_free(m: &MmInner, start: u64, end: u64) -> bool {
        if let Some((_, v)) = m.vmas.range(..end).next_back() {
            if v.end > start {
                return false;
            }
        }
        true
    }

    /// Find a free range of `len` bytes, top-down below mmap_base.
    fn find_free(m: &MmInner, len: u64) -> KResult<u64> {
        let mut top = m.mmap_base;
        loop {
            let start = top.checked_sub(len).ok_or(Errno::ENOMEM)?;
            // Keep room above the program break for the heap to grow.
            if start < platform::MIN_USER_ADDR.max(m.brk.saturating_add(BRK_GAP)) {
                return Err(Errno::ENOMEM);
            }
            match m.vmas.range(..top).next_back() {
                Some((s, v)) if v.end > start => top = *s,
                _ => return Ok(start),
            }
        }
    }

    /// Implements mmap(2) after argument checks: map `len` bytes.
    pub fn mmap(
        &self,
        addr: u64,
        len: u64,
        prot: Prot,
        fixed: bool,
        noreplace: bool,
        shared: bool,
        backing: Backing,
        name: Option<&'static str>,
    ) -> KResult<u64> {
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut m = self.lock();
        let start = if fixed || noreplace {
            let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            if end > platform::MAX_USER_ADDR || addr < platform::MIN_USER_ADDR.min(PAGE) {
                return Err(Errno::ENOMEM);
            }
            if noreplace && !Self::is_free(&m, addr, end) {
                return Err(Errno::EEXIST);
            }
            self.unmap_locked(&mut m, addr, end)?;
            addr
        } else if addr != 0
            && addr >= platform::MIN_USER_ADDR
            && addr.checked_add(len).is_some_and(|e| e <= platform::MAX_USER_ADDR)
            && Self::is_free(&m, page_down(addr), page_down(addr) + len)
        {
            page_down(addr)
        } else {
            Self::find_free(&m, len)?
        };
        // Read-only private mappings of unchanging host files are mapped
        // from the host fd on their first fault.
        let direct = match &backing {
            Backing::File(f, _) if !shared && !prot.write => f.host_fd(),
            _ => None,
        };
        let locked = m.lock_future;
        m.vmas.insert(
            start,
            Vma { end: start + len, prot, shared, backing, name, fork: ForkAdvice::default(), direct, host_mapped: false, locked },
        );
        Ok(start)
    }

    /// Implements munmap(2).
    pub fn munmap(&self, addr: u64, len: u64) -> KResult<()> {
        if addr % PAGE != 0 || len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = page_up(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::EINVAL)?;
        if end > platform::MAX_USER_ADDR {
            return Err(Errno::EINVAL);
        }
        let mut m = self.lock();
        self.unmap_locked(&mut m, addr, end)
    }

    /// Implements mprotect(2).
    pub fn mprotect(&self, addr: u64, len: u64, prot: Prot) -> KResult<()> {
        if addr % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        let end = page_up(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::ENOMEM)?;
        if end == addr {
            return Ok(());
        }
        let mut m = self.lock();
        Self::check_mapped(&m, addr, end)?;
        if prot.write {
            let denied = m.vmas.range(..end).rev().take_while(|(_, v)| v.end > addr).filter(|(_, v)| v.shared).any(|(_, v)| match &v.backing {
                Backing::File(f, _) => !f.may_write_shared(),
                _ => false,
            });
            if denied {
                return Err(Errno::EACCES);
            }
        }
        Self::split_at(&mut m, addr);
        Self::split_at(&mut m, end);
        if !prot.write {
            return self.reduce_prot(&mut m, addr, end, prot);
        }
        let mut any = false;
        for (_, v) in m.vmas.range_mut(addr..end) {
            v.prot = prot;
            // A direct mapping made writable becomes an ordinary private
            // file mapping: its pages come through the page cache now.
            v.direct = None;
            any |= v.host_mapped;
            v.host_mapped = false;
        }
        // Drop platform mappings of the range; they are re-established with
        // the new protection (and copy-on-write) on the next fault.
        for (_, p) in m.pages.range_mut(addr..end) {
            any |= p.mapped.is_some();
            p.mapped = None;
        }
        if any {
            self.as_.unmap(addr, end - addr)?;
        }
        Ok(())
    }

    /// mprotect to a protection without write (a RELRO segment, a guard
    /// page): every page mapped in the platform stays mapped, with `prot`
    /// (which needs no copy-on-write care), changed run by run; nothing
    /// faults again.
    fn reduce_prot(&self, m: &mut MmInner, addr: u64, end: u64, prot: Prot) -> KResult<()> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for (&s, v) in m.vmas.range_mut(addr..end) {
            v.prot = prot;
            if v.host_mapped {
                runs.push((s, v.end));
            }
        }
        for (&k, p) in m.pages.range_mut(addr..end) {
            if p.mapped.is_some() {
                p.mapped = Some(prot);
                match runs.last_mut() {
                    Some(r) if r.1 == k => r.1 = k + PAGE,
                    _ => runs.push((k, k + PAGE)),
                }
            }
        }
        for (s, e) in runs {
            self.as_.protect(s, e - s, prot)?;
        }
        Ok(())
    }

    /// madvise DONTFORK/DOFORK (`dontfork`) or WIPEONFORK/KEEPONFORK
    /// (`wipeonfork`) over a mapped range. WIPEONFORK is EINVAL on a
    /// shared or file mapping, as in Linux.
    pub fn set_fork_advice(&self, addr: u64, len: u64, dontfork: Option<bool>, wipeonfork: Option<bool>) -> KResult<()> {
        let end = page_up(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::ENOMEM)?;
        let mut m = self.lock();
        Self::check_mapped(&m, addr, end)?;
        let not_private_anon = |v: &Vma| v.shared || !matches!(v.backing, Backing::Anon);
        if wipeonfork == Some(true) && m.vmas.range(..end).any(|(s, v)| v.end > addr && *s < end && not_private_anon(v)) {
            return Err(Errno::EINVAL);
        }
        Self::split_at(&mut m, addr);
        Self::split_at(&mut m, end);
        for (_, v) in m.vmas.range_mut(addr..end) {
            v.fork.dontfork = dontfork.unwrap_or(v.fork.dontfork);
            v.fork.wipeonfork = wipeonfork.unwrap_or(v.fork.wipeonfork);
        }
        Ok(())
    }

    /// Whether `addr` lies in a MAP_SHARED mapping (EFAULT if unmapped).
    pub fn is_shared_at(&self, addr: u64) -> KResult<bool> {
        Self::vma_at(&self.lock(), addr).map(|(_, v)| v.shared).ok_or(Errno::EFAULT)
    }

    /// ENOMEM unless every page of `[addr, end)` is mapped.
    fn check_mapped(m: &MmInner, addr: u64, end: u64) -> KResult<()> {
        let mut cur = addr;
        for (s, v) in m.vmas.range(..end) {
            if v.end <= cur {
                continue;
            }
            if *s > cur {
                return Err(Errno::ENOMEM);
            }
            cur = v.end;
        }
        if cur < end {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// EFAULT unless every byte of `[addr, addr+len)` lies in a mapping
    /// that permits the access (a write, or a read). Checked before a read
    /// consumes data it could not deliver (a pipe's bytes stay queued when
    /// the buffer is bad, as in Linux).
    pub fn check_access(&self, addr: u64, len: usize, write: bool) -> KResult<()> {
        if len == 0 {
            return Ok(());
        }
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let m = self.lock();
        let mut cur = addr;
        while cur < end {
            let (_, v) = Self::vma_at(&m, cur).ok_or(Errno::EFAULT)?;
            if (write && !v.prot.write) || (!write && !v.prot.read && !v.prot.exec) {
                return Err(Errno::EFAULT);
            }
            cur = v.end;
        }
        Ok(())
    }

    /// ENOMEM unless every page of `[addr, addr+len)` is mapped (madvise,
    /// msync, mincore).
    pub fn require_mapped(&self, addr: u64, len: u64) -> KResult<()> {
        let end = page_up(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::ENOMEM)?;
        Self::check_mapped(&self.lock(), addr, end)
    }

    /// Implements msync(2) past its checks: every file shared-mapped in
    /// `[addr, addr + len)` is told to write its pages back.
    pub fn sync_range(&self, addr: u64, len: u64) -> KResult<()> {
        let end = page_up(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::ENOMEM)?;
        let files: Vec<Arc<dyn Mappable>> = {
            let m = self.lock();
            Self::check_mapped(&m, addr, end)?;
            m.vmas
                .range(..end)
                .filter(|(s, v)| v.end > addr && **s < end && v.shared)
                .filter_map(|(_, v)| match &v.backing {
                    Backing::File(f, _) => Some(f.clone()),
                    _ => None,
                })
                .collect()
        };
        for f in files {
            f.sync()?;
        }
        Ok(())
    }

    /// Implements madvise(MADV_DONTNEED): private pages read back as zeros
    /// (or file contents) afterwards.
    pub fn dontneed(&self, addr: u64, len: u64) -> KResult<()> {
        let end = page_up(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::EINVAL)?;
        let mut m = self.lock();
        let mut drop_pages = Vec::new();
        for (k, p) in m.pages.range(addr..end) {
            let shared = m.vmas.range(..=*k).next_back().is_some_and(|(_, v)| v.shared);
            if !shared {
                drop_pages.push((*k, *p));
            }
        }
        let mut frames = Vec::new();
        for (k, p) in &drop_pages {
            m.pages.remove(k);
            frames.push(p.frame);
            if p.mapped.is_some() {
                self.as_.unmap(*k, PAGE)?;
            }
        }
        self.mf.decref_all(&frames);
        Ok(())
    }

    /// Implements mremap(2). `fixed` is MREMAP_FIXED's new address;
    /// `dontunmap` (MREMAP_DONTUNMAP) leaves the old range mapped but empty.
    pub fn mremap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
        dontunmap: bool,
    ) -> KResult<u64> {
        if old % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::EINVAL)?;
        if new_len == 0 || old_len == 0 || (dontunmap && old_len != new_len) {
            return Err(Errno::EINVAL);
        }
        if let Some(new) = fixed {
            let end = new.checked_add(new_len).ok_or(Errno::EINVAL)?;
            if new % PAGE != 0 || end > platform::MAX_USER_ADDR || (new < old + old_len && old < end) {
                return Err(Errno::EINVAL);
            }
        }
        let mut m = self.lock();
        let (vstart, vma) = Self::vma_at(&m, old).ok_or(Errno::EFAULT)?;
        if old + old_len > vma.end {
            return Err(Errno::EFAULT);
        }
        if dontunmap && (vma.shared || !matches!(vma.backing, Backing::Anon)) {
            return Err(Errno::EINVAL);
        }
        if let Some(new) = fixed {
            self.unmap_locked(&mut m, new, new + new_len)?;
            let moved = old_len.min(new_len);
            if new_len < old_len {
                self.unmap_locked(&mut m, old + new_len, old + old_len)?;
            }
            self.move_locked(&mut m, old, moved, new, new_len, dontunmap)?;
            return Ok(new);
        }
        if new_len <= old_len && !dontunmap {
            self.unmap_locked(&mut m, old + new_len, old + old_len)?;
            return Ok(old);
        }
        // Grow in place if the space after is free.
        if !dontunmap
            && old + old_len == vma.end
            && old.checked_add(new_len).is_some_and(|e| e <= platform::MAX_USER_ADDR)
            && Self::is_free(&m, vma.end, old + new_len)
        {
            let mut host_mapped = false;
            if let Some(v) = m.vmas.get_mut(&vstart) {
                v.end = old + new_len;
                host_mapped = std::mem::take(&mut v.host_mapped);
            }
            if host_mapped {
                // The direct mapping is made again, whole, on the next fault.
                self.as_.unmap(vstart, old + old_len - vstart)?;
            }
            return Ok(old);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let new = Self::find_free(&m, new_len)?;
        self.move_locked(&mut m, old, old_len, new, new_len, dontunmap)?;
        Ok(new)
    }

    /// Move `[old, old+len)` (inside one VMA) and its pages to `new`, the
    /// VMA ending at `new+new_len`. With `keep_old` the old range stays
    /// mapped, empty.
    fn move_locked(&self, m: &mut MmInner, old: u64, len: u64, new: u64, new_len: u64, keep_old: bool) -> KResult<()> {
        Self::split_at(m, old);
        Self::split_at(m, old + len);
        let mut moved = if keep_old { m.vmas.get(&old).cloned() } else { m.vmas.remove(&old) }.ok_or(Errno::EFAULT)?;
        moved.end = new + new_len;
        let mut any = std::mem::take(&mut moved.host_mapped);
        m.vmas.insert(new, moved);
        let pages: Vec<(u64, Pte)> = m.pages.range(old..old + len).map(|(k, p)| (*k, *p)).collect();
        for (k, p) in pages {
            m.pages.remove(&k);
            any |= p.mapped.is_some();
            m.pages.insert(new + (k - old), Pte { mapped: None, ..p });
        }
        if any {
            self.as_.unmap(old, len)?;
        }
        Ok(())
    }

    /// Implements brk(2).
    pub fn brk(&self, new: u64) -> u64 {
        let mut m = self.lock();
        let cur = m.brk;
        if new < m.brk_start || new > m.brk_start + (1 << 40) {
            return cur;
        }
        let old_top = page_up(cur).unwrap_or(cur);
        let new_top = match page_up(new) {
            Some(t) => t,
            None => return cur,
        };
        if new_top > old_top {
            if !Self::is_free(&m, old_top, new_top) {
                return cur;
            }
            let locked = m.lock_future;
            m.vmas.insert(
                old_top,
                Vma {
                    end: new_top,
                    prot: Prot::RW,
                    shared: false,
                    backing: Backing::Anon,
                    name: Some("[heap]"),
                    fork: ForkAdvice::default(),
                    direct: None,
                    host_mapped: false,
                    locked,
                },
            );
            // Merge with the previous heap VMA for a tidy maps listing.
            Self::merge_heap(&mut m, old_top);
        } else if new_top < old_top && self.unmap_locked(&mut m, new_top, old_top).is_err() {
            return cur;
        }
        m.brk = new;
        new
    }

    fn merge_heap(m: &mut MmInner, at: u64) {
        let prev = m.vmas.range(..at).next_back().map(|(s, v)| (*s, v.clone()));
        if let (Some((ps, pv)), Some(cur)) = (prev, m.vmas.get(&at).cloned()) {
            if pv.end == at && pv.name == Some("[heap]") && matches!(pv.backing, Backing::Anon) && pv.fork == cur.fork && pv.locked == cur.locked {
                m.vmas.remove(&at);
                if let Some(v) = m.vmas.get_mut(&ps) {
                    v.end = cur.end;
                }
            }
        }
    }

    // ---- Sentry access to application memory ----------------------------

    // ---- Fork, listing --------------------------------------------------

    /// Copy this address space into `child` for fork: shared mappings stay
    /// shared, private pages become copy-on-write in both.
    pub fn fork_into(&self, child: &MemoryManager) -> KResult<()> {
        let mut m = self.lock();
        let mut c = child.lock();
        c.vmas = m
            .vmas
            .iter()
            .filter(|(_, v)| !v.fork.dontfork)
            .map(|(s, v)| (*s, Vma { host_mapped: false, locked: false, ..v.clone() }))
            .collect();
        c.brk_start = m.brk_start;
        c.brk = m.brk;
        c.mmap_base = m.mmap_base;
        c.arg_start = m.arg_start;
        c.arg_end = m.arg_end;
        c.env_start = m.env_start;
        c.env_end = m.env_end;
        c.auxv = m.auxv.clone();
        c.patch = m.patch.fork();
        let mut to_protect: Vec<(u64, u64)> = Vec::new();
        let keys: Vec<(u64, Pte)> = m.pages.iter().map(|(k, p)| (*k, *p)).collect();
        let mut shared_frames = Vec::with_capacity(keys.len());
        for (k, p) in keys {
            // The child gets no pages of DONTFORK (unmapped) and WIPEONFORK
            // (zero-filled on its first touch) mappings.
            let copied = m.vmas.range(..=k).next_back().is_some_and(|(_, v)| v.fork == ForkAdvice::default());
            if !copied {
                continue;
            }
            shared_frames.push(p.frame);
            c.pages.insert(k, Pte { frame: p.frame, mapped: None, own: false });
            if let Some(pte) = m.pages.get_mut(&k) {
                pte.own = false;
            }
            if let Some(prot) = p.mapped {
                if prot.write {
                    let shared = m.vmas.range(..=k).next_back().is_some_and(|(_, v)| v.shared);
                    if !shared {
                        if let Some(pte) = m.pages.get_mut(&k) {
                            pte.mapped = Some(prot.without_write());
                        }
                        match to_protect.last_mut() {
                            Some((s, e)) if *e == k => *e = k + PAGE,
                            _ => to_protect.push((k, k + PAGE)),
                        }
                    }
                }
            }
        }
        // The child's references, one lock for all.
        self.mf.incref_all(&shared_frames);
        // Write-protect the parent's private writable pages, by run.
        for (s, e) in to_protect {
            let prot = m.vmas.range(..=s).next_back().map(|(_, v)| v.prot).unwrap_or(Prot::R);
            self.as_.protect(s, e - s, prot.without_write())?;
        }
        Ok(())
    }

    /// The VMAs, for /proc/[pid]/maps.
    pub fn vmas(&self) -> Vec<(u64, Vma)> {
        self.lock().vmas.iter().map(|(s, v)| (*s, v.clone())).collect()
    }

    /// Bytes of address space mapped (for RLIMIT_AS).
    pub fn total_vm(&self) -> u64 {
        self.lock().vmas.iter().map(|(s, v)| v.end - s).sum()
    }

    /// Resident pages.
    pub fn resident_pages(&self) -> usize {
        self.lock().pages.len()
    }
}

impl Drop for MemoryManager {
    fn drop(&mut self) {
        let m = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        let frames: Vec<u64> = m.pages.values().map(|p| p.frame).collect();
        self.mf.decref_all(&frames);
    }
}
