//! Typed access to application memory. Every application pointer goes
//! through here; anything unmapped or not permitted is EFAULT.

use bytemuck::{Pod, Zeroable};

use super::{page_down, MemoryManager, MmInner, PAGE};
use crate::errno::{Errno, KResult};

/// Most pages a sentry write into fresh anonymous memory populates at once.
const MAX_POPULATE: u64 = 256;

/// Longest string accepted from the application (PATH_MAX-like bound).
pub const MAX_STRING: usize = 128 * 1024;

/// An iovec as the application lays it out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct IoVec {
    /// Base address.
    pub base: u64,
    /// Length.
    pub len: u64,
}

impl MemoryManager {
    /// Visit `[addr, addr+len)` page by page as (memory-file offset,
    /// length, offset into the caller's buffer). With `write`, pages are
    /// made private first and the VMA must be writable.
    pub(crate) fn for_each_page(&self, addr: u64, len: usize, write: bool, f: impl FnMut(u64, usize, usize)) -> KResult<()> {
        let mut m = self.lock();
        self.walk_pages(&mut m, addr, len, write, f)
    }

    /// [`for_each_page`](Self::for_each_page) under a lock the caller
    /// holds.
    pub(super) fn walk_pages(
        &self,
        m: &mut MmInner,
        addr: u64,
        len: usize,
        write: bool,
        mut f: impl FnMut(u64, usize, usize),
    ) -> KResult<()> {
        if len == 0 {
            return Ok(());
        }
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mut cur = addr;
        // The VMA of the page at hand, looked up again only past its end.
        let mut at: Option<(u64, super::Vma)> = None;
        while cur < end {
            let (start, vma) = match at.take() {
                Some((s, v)) if cur < v.end => (s, v),
                _ => {
                    let (s, v) = MemoryManager::vma_at(m, cur).ok_or(Errno::EFAULT)?;
                    if (write && !v.prot.write) || (!write && !v.prot.read && !v.prot.exec) {
                        return Err(Errno::EFAULT);
                    }
                    (s, v)
                }
            };
            // Pages present and ready, in a row, in one walk of the page
            // table: ready to read, and to write when shared or the
            // frame is the page's own (others take the fault path).
            let vend = vma.end.min(end);
            let mut expect = page_down(cur);
            for (&k, p) in m.pages.range(expect..vend) {
                if k != expect || !(!write || vma.shared || p.own) {
                    break;
                }
                let in_page = (cur - k) as usize;
                let n = ((PAGE as usize) - in_page).min((end - cur) as usize);
                f(p.frame + in_page as u64, n, (cur - addr) as usize);
                cur += n as u64;
                expect += PAGE;
            }
            if cur < vend {
                let page = page_down(cur);
                // A write into private anonymous memory never touched (a
                // fresh read buffer): the pages it covers, up to
                // MAX_POPULATE, get their frames in one batch.
                if write && !vma.shared && matches!(vma.backing, super::Backing::Anon) && !m.pages.contains_key(&page) {
                    let hi = vend.div_ceil(PAGE).saturating_mul(PAGE).min(page + MAX_POPULATE * PAGE);
                    let run = (page..hi).step_by(PAGE as usize).take_while(|p| !m.pages.contains_key(p)).count() as u64;
                    if run > 1 {
                        self.populate_anon(m, page, page + run * PAGE)?;
                        at = Some((start, vma));
                        continue;
                    }
                }
                let frame = self.fault_for_access(m, start, &vma, page, write)?;
                let in_page = (cur - page) as usize;
                let n = ((PAGE as usize) - in_page).min((end - cur) as usize);
                f(frame + in_page as u64, n, (cur - addr) as usize);
                cur += n as u64;
            }
            at = Some((start, vma));
        }
        Ok(())
    }

    /// Make `page` of `vma` (starting at `start`) present for an access
    /// by the sentry, private first for a write to a private mapping;
    /// returns its frame.
    fn fault_for_access(&self, m: &mut MmInner, start: u64, vma: &super::Vma, page: u64, write: bool) -> KResult<u64> {
        self.populate(m, start, vma, page).map_err(|_| Errno::EFAULT)?;
        if write && !vma.shared && self.make_private(m, page)? {
            // The stub still maps the old frame: remap the new one.
            let p = m.pages[&page];
            if p.mapped.is_some() {
                self.map_frames(page, PAGE, p.frame, vma.prot)?;
                if let Some(pte) = m.pages.get_mut(&page) {
                    pte.mapped = Some(vma.prot);
                }
            }
        }
        m.pages.get(&page).map(|p| p.frame).ok_or(Errno::EFAULT)
    }

    /// Copy `len` bytes from application address `addr` to the memory
    /// file's contiguous range at `to`, with one host write per run (see
    /// `MemoryFile::write_from_self`). For large writes into a file's page
    /// cache. Returns the bytes copied: all, or those before the first bad
    /// address (with EFAULT).
    pub fn copy_in_to_mf_run(&self, addr: u64, to: u64, len: usize) -> (usize, KResult<()>) {
        let mut m = self.lock();
        let (pieces, r) = self.runs(&mut m, addr, len, false);
        // Under the lock: the application's frames cannot be freed and
        // reused while they are read.
        self.memfile().write_from_self(&pieces, to);
        (pieces.iter().map(|p| p.1).sum(), r)
    }

    /// Read up to `len` bytes of host file `fd` at `off` straight into
    /// application memory at `addr` (one preadv into the sentry's mapping
    /// of the buffer's frames, no bounce buffer). EFAULT, with nothing
    /// read, if any part of the buffer is not writable, as a read through
    /// a buffer checks. Returns the bytes read.
    pub fn read_host_to(&self, addr: u64, len: usize, fd: std::os::fd::BorrowedFd<'_>, off: u64) -> KResult<usize> {
        let mut m = self.lock();
        let (pieces, r) = self.runs(&mut m, addr, len, true);
        r?;
        // Under the lock: the frames cannot be freed and reused meanwhile.
        self.memfile().read_into_self(&pieces, fd, off)
    }

    /// The memory-file runs (offset, length) behind `[addr, addr+len)`,
    /// consecutive pages joined, as far as the range is accessible (see
    /// [`walk_pages`](Self::walk_pages)), and the walk's result.
    pub(super) fn runs(&self, m: &mut MmInner, addr: u64, len: usize, write: bool) -> (Vec<(u64, usize)>, KResult<()>) {
        let mut pieces: Vec<(u64, usize)> = Vec::new();
        let r = self.walk_pages(m, addr, len, write, |o, n, _| match pieces.last_mut() {
            Some((p, l)) if *p + *l as u64 == o => *l += n,
            _ => pieces.push((o, n)),
        });
        (pieces, r)
    }

    /// Copy to application address `addr` from memory-file `chunks`
    /// (frame offset, or None for zeros, and length), in order, under one
    /// walk of the destination (one lock, not one per page). Returns the
    /// bytes copied: all, or those before the first bad address (with
    /// EFAULT).
    pub fn copy_out_from_chunks(&self, addr: u64, chunks: &[(Option<u64>, usize)]) -> (usize, KResult<()>) {
        let len: usize = chunks.iter().map(|c| c.1).sum();
        let mf = self.memfile().clone();
        let mut m = self.lock();
        let (mut i, mut used, mut copied) = (0usize, 0usize, 0usize);
        let r = self.walk_pages(&mut m, addr, len, true, |dst, n, _| {
            let mut done = 0;
            while done < n {
                let (src, clen) = chunks[i];
                let k = (clen - used).min(n - done);
                match src {
                    Some(f) => mf.copy_within(f + used as u64, dst + done as u64, k),
                    None => mf.zero(dst + done as u64, k),
                }
                done += k;
                used += k;
                if used == clen {
                    i += 1;
                    used = 0;
                }
            }
            copied += n;
        });
        (copied, r)
    }

    /// Copy `buf.len()` bytes from application address `addr`.
    pub fn copy_in(&self, addr: u64, buf: &mut [u8]) -> KResult<()> {
        let mf = self.memfile().clone();
        self.for_each_page(addr, buf.len(), false, |off, n, at| mf.read(off, &mut buf[at..at + n]))
    }

    /// Copy `buf` to application address `addr`.
    pub fn copy_out(&self, addr: u64, buf: &[u8]) -> KResult<()> {
        let mf = self.memfile().clone();
        self.for_each_page(addr, buf.len(), true, |off, n, at| mf.write(off, &buf[at..at + n]))
    }

    /// Copy `len` bytes from application address `addr` to the memory
    /// file at `to` (a file's page cache), without a bounce buffer.
    pub fn copy_in_to_mf(&self, addr: u64, to: u64, len: usize) -> KResult<()> {
        let mf = self.memfile().clone();
        self.for_each_page(addr, len, false, |off, n, at| mf.copy_within(off, to + at as u64, n))
    }

    /// Zero application memory at `addr` as a read of /dev/zero does: up
    /// to the first bad page, returning the bytes zeroed (EFAULT if none).
    pub fn zero_fill(&self, addr: u64, len: usize) -> KResult<usize> {
        let mf = self.memfile().clone();
        let mut done = 0;
        let r = self.for_each_page(addr, len, true, |off, n, at| {
            mf.zero(off, n);
            done = at + n;
        });
        match r {
            Err(e) if done == 0 && len > 0 => Err(e),
            _ => Ok(done),
        }
    }

    /// Zero `len` bytes at `addr` (EFAULT unless all of them).
    pub fn zero_out(&self, addr: u64, len: usize) -> KResult<()> {
        match self.zero_fill(addr, len)? {
            n if n == len => Ok(()),
            _ => Err(Errno::EFAULT),
        }
    }

    /// Atomically compare-and-exchange an aligned u32 of application
    /// memory; returns the value found. EINVAL if unaligned, EFAULT if not
    /// writable.
    pub fn cmpxchg_u32(&self, addr: u64, old: u32, new: u32) -> KResult<u32> {
        if addr % 4 != 0 {
            return Err(Errno::EINVAL);
        }
        let mf = self.memfile().clone();
        let mut found = 0;
        self.for_each_page(addr, 4, true, |off, _, _| found = mf.cmpxchg_u32(off, old, new))?;
        Ok(found)
    }

    /// The futex key of `addr`: private futexes (and any futex in private
    /// memory) are keyed by address space and address; a shared futex in
    /// shared memory by its place in the memory file, so that every process
    /// mapping it finds the same waiters.
    pub fn futex_key(&self, addr: u64, private: bool) -> KResult<(usize, u64)> {
        let own = (self as *const MemoryManager as usize, addr);
        if private || !self.is_shared_at(addr)? {
            return Ok(own);
        }
        let mut key = None;
        self.for_each_page(addr, 4, false, |off, _, _| key = Some((0usize, off)))?;
        key.ok_or(Errno::EFAULT)
    }

    /// Read a plain-data value.
    pub fn read_val<T: Pod>(&self, addr: u64) -> KResult<T> {
        let mut v = T::zeroed();
        self.copy_in(addr, bytemuck::bytes_of_mut(&mut v))?;
        Ok(v)
    }

    /// Write a plain-data value.
    pub fn write_val<T: Pod>(&self, addr: u64, v: &T) -> KResult<()> {
        self.copy_out(addr, bytemuck::bytes_of(v))
    }

    /// Read `n` values.
    pub fn read_vec<T: Pod>(&self, addr: u64, n: usize) -> KResult<Vec<T>> {
        let mut v = vec![T::zeroed(); n];
        self.copy_in(addr, bytemuck::cast_slice_mut(&mut v))?;
        Ok(v)
    }

    /// Read a NUL-terminated string of at most `max` bytes (without the
    /// NUL); longer is ENAMETOOLONG.
    pub fn read_cstring(&self, addr: u64, max: usize) -> KResult<Vec<u8>> {
        // Copied straight into the result, a piece at a time, never across
        // a page (nothing past the terminator's page is touched): first to
        // the next FIRST-byte boundary, which holds most paths whole, then
        // a page at a time. (A zeroed page per call, as before, cost more
        // than the copy: glibc grows a thread's arena with an mprotect.)
        const FIRST: u64 = 256;
        let mut out: Vec<u8> = Vec::new();
        let mut cur = addr;
        loop {
            let n = if out.is_empty() { FIRST - cur % FIRST } else { PAGE - cur % PAGE } as usize;
            let at = out.len();
            out.resize(at + n, 0);
            self.copy_in(cur, &mut out[at..])?;
            let nul = out[at..].iter().position(|&b| b == 0);
            if let Some(i) = nul {
                out.truncate(at + i);
            }
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            if nul.is_some() {
                return Ok(out);
            }
            cur = cur.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
    }

    /// Read a NULL-terminated array of string pointers (argv, envp).
    pub fn read_string_array(&self, addr: u64) -> KResult<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        if addr == 0 {
            return Ok(out);
        }
        let mut total = 0usize;
        for i in 0.. {
            let p: u64 = self.read_val(addr + i * 8)?;
            if p == 0 {
                break;
            }
            let s = self.read_cstring(p, MAX_STRING)?;
            total += s.len() + 1;
            if total > 2 * 1024 * 1024 || i > 100_000 {
                return Err(Errno::E2BIG);
            }
            out.push(s);
        }
        Ok(out)
    }

    /// Read an iovec array; checks the count like Linux (EINVAL over 1024).
    pub fn read_iovecs(&self, addr: u64, count: u64) -> KResult<Vec<IoVec>> {
        if count > 1024 {
            return Err(Errno::EINVAL);
        }
        let v: Vec<IoVec> = self.read_vec(addr, count as usize)?;
        let mut total: u64 = 0;
        for iov in &v {
            if iov.len > i64::MAX as u64 {
                return Err(Errno::EINVAL);
            }
            total = total.checked_add(iov.len).ok_or(Errno::EINVAL)?;
            if total > i64::MAX as u64 {
                return Err(Errno::EINVAL);
            }
        }
        Ok(v)
    }
}
