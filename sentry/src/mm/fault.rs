//! Application page faults: populating pages, breaking copy-on-write,
//! and mapping runs of pages into the platform address space.

use super::*;

/// A fault the application must get a signal for: SIGSEGV (si_code
/// SEGV_MAPERR 1, SEGV_ACCERR 2) or SIGBUS (BUS_ADRERR 2: a file page past
/// the end of the file).
#[derive(Debug, PartialEq, Eq)]
pub struct FaultSig {
    pub signo: i32,
    pub code: i32,
}

impl FaultSig {
    /// SIGSEGV with `code`.
    pub fn segv(code: i32) -> FaultSig {
        FaultSig { signo: 11, code }
    }

    /// Out of memory (a memory limit): the faulting process is killed.
    pub fn oom() -> FaultSig {
        FaultSig { signo: 9, code: 0 }
    }

    /// SIGBUS BUS_ADRERR.
    pub fn bus() -> FaultSig {
        FaultSig { signo: 7, code: 2 }
    }
}

impl MemoryManager {
    /// Give the missing pages of `[lo, hi)`, in private anonymous memory,
    /// fresh frames in one batch (sorted, so mostly contiguous in the
    /// memory file: a copy to or from them is a few long runs, not a run a
    /// page).
    pub(super) fn populate_anon(&self, m: &mut MmInner, lo: u64, hi: u64) -> KResult<()> {
        let missing: Vec<u64> = (lo..hi).step_by(PAGE as usize).filter(|p| !m.pages.contains_key(p)).collect();
        let frames = self.mf.alloc(missing.len())?;
        for (p, f) in missing.into_iter().zip(frames) {
            m.pages.insert(p, Pte { frame: f, mapped: None, own: true });
        }
        Ok(())
    }

    /// Bring the page at `page` into existence (not mapped in the
    /// platform). Returns its frame.
    pub(super) fn populate(&self, m: &mut MmInner, start: u64, vma: &Vma, page: u64) -> KResult<u64> {
        if let Some(p) = m.pages.get(&page) {
            return Ok(p.frame);
        }
        let frame = match vma.backing_at(start, page) {
            Backing::Anon => self.mf.alloc(1)?[0],
            Backing::Shared(s, off) => {
                let mut f = s.frames.lock().unwrap_or_else(|e| e.into_inner());
                match f.get(&off) {
                    Some(fr) => {
                        self.mf.incref(*fr);
                        *fr
                    }
                    None => {
                        let fr = self.mf.alloc(1)?[0];
                        // The SharedAnon keeps its own reference.
                        s.mf.get_or_init(|| self.mf.clone());
                        self.mf.incref(fr);
                        f.insert(off, fr);
                        fr
                    }
                }
            }
            Backing::File(file, off) => file.frames(&self.mf, off, 1)?[0],
        };
        let own = matches!(vma.backing, Backing::Anon);
        m.pages.insert(page, Pte { frame, mapped: None, own });
        Ok(frame)
    }

    /// Replace shared frames by private copies (references handed over).
    fn private_copies(&self, frames: Vec<u64>) -> KResult<Vec<u64>> {
        let copies = self.mf.alloc(frames.len())?;
        for (&from, &to) in frames.iter().zip(&copies) {
            self.mf.copy_frame(from, to);
        }
        self.mf.decref_all(&frames);
        Ok(copies)
    }

    /// New private frames holding `n` pages of host file `fd` from `off`
    /// (zeros past its end).
    fn read_private(&self, fd: &std::os::fd::OwnedFd, off: u64, n: usize) -> KResult<Vec<u64>> {
        let frames = self.mf.alloc(n)?;
        if let Err(e) = self.mf.read_host(&frames, std::os::fd::AsFd::as_fd(fd), off) {
            self.mf.decref_all(&frames);
            return Err(e);
        }
        Ok(frames)
    }

    /// Make the private page at `page` exclusively ours (break COW).
    /// Returns true if its frame changed.
    pub(super) fn make_private(&self, m: &mut MmInner, page: u64) -> KResult<bool> {
        let Some(p) = m.pages.get(&page).copied() else { return Ok(false) };
        if p.own {
            return Ok(false);
        }
        if self.mf.refs(p.frame) <= 1 {
            if let Some(pte) = m.pages.get_mut(&page) {
                pte.own = true;
            }
            return Ok(false);
        }
        let fr = self.mf.alloc(1)?[0];
        self.mf.copy_frame(p.frame, fr);
        self.mf.decref_all(&[p.frame]);
        m.pages.insert(page, Pte { frame: fr, mapped: p.mapped, own: true });
        Ok(true)
    }

    /// The protection a page may be mapped with now.
    pub(super) fn effective_prot(&self, vma: &Vma, frame: u64) -> Prot {
        if vma.prot.write && !vma.shared && self.mf.refs(frame) > 1 {
            vma.prot.without_write()
        } else {
            vma.prot
        }
    }

    /// Map pages `[from, to)` that exist but are not mapped, in runs.
    fn map_range(&self, m: &mut MmInner, vma: &Vma, from: u64, to: u64) -> KResult<()> {
        let mut run: Option<(u64, u64, u64, Prot)> = None; // (start, end, frame0, prot)
        let keys: Vec<u64> = m.pages.range(from..to).map(|(k, _)| *k).collect();
        for k in keys {
            let Some(p) = m.pages.get(&k).copied() else { continue };
            let prot = self.effective_prot(vma, p.frame);
            if p.mapped == Some(prot) {
                if let Some((s, e, f, pr)) = run.take() {
                    self.map_frames(s, e - s, f, pr)?;
                }
                continue;
            }
            if let Some(pte) = m.pages.get_mut(&k) {
                pte.mapped = Some(prot);
            }
            run = match run {
                Some((s, e, f, pr)) if e == k && f + (e - s) == p.frame && pr == prot => Some((s, k + PAGE, f, pr)),
                Some((s, e, f, pr)) => {
                    self.map_frames(s, e - s, f, pr)?;
                    Some((k, k + PAGE, p.frame, prot))
                }
                None => Some((k, k + PAGE, p.frame, prot)),
            };
        }
        if let Some((s, e, f, pr)) = run {
            self.map_frames(s, e - s, f, pr)?;
        }
        Ok(())
    }

    /// Map every direct mapping not yet in the platform (those the host
    /// refuses fall back to the page cache).
    fn map_direct_all(&self, m: &mut MmInner) {
        let todo: Vec<u64> = m.vmas.iter().filter(|(_, v)| v.direct.is_some() && !v.host_mapped && v.prot != Prot::NONE).map(|(s, _)| *s).collect();
        for start in todo {
            let Some(v) = m.vmas.get_mut(&start) else { continue };
            let (Some(fd), Backing::File(_, off)) = (&v.direct, &v.backing) else { continue };
            let fd = std::os::fd::AsRawFd::as_raw_fd(&**fd);
            if self.as_.map_host(start, v.end - start, fd, *off, v.prot).is_ok() {
                v.host_mapped = true;
            } else {
                v.direct = None;
            }
        }
    }

    /// Map the VMA at `start` in the platform now if the host serves it
    /// (see [`Vma::direct`]); a mapping the host refuses is served from the
    /// page cache on its faults.
    pub fn map_direct_now(&self, start: u64) {
        let mut m = self.lock();
        let Some(v) = m.vmas.get_mut(&start) else { return };
        let (Some(fd), Backing::File(_, off)) = (&v.direct, &v.backing) else { return };
        if v.host_mapped || v.prot == Prot::NONE {
            return;
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(&**fd);
        if self.as_.map_host(start, v.end - start, fd, *off, v.prot).is_ok() {
            v.host_mapped = true;
        } else {
            v.direct = None;
        }
    }

    /// Handle an application page fault at `addr`. `Err(FaultSig)` means
    /// the application gets SIGSEGV with that si_code.
    ///
    /// `repeated` says the same instruction faulted at the same address on
    /// the previous exit: ptrace does not report the access type, so a fault
    /// on a page already mapped with its full protection is taken as a race
    /// with another thread that just mapped it, unless it repeats.
    pub fn handle_fault(&self, addr: u64, repeated: bool) -> Result<(), FaultSig> {
        let mut m = self.lock();
        let Some((start, vma)) =
            Self::vma_at(&m, addr)
        else {
            return Err(FaultSig::segv(1)); // SEGV_MAPERR
        };
        if vma.prot == Prot::NONE {
            return Err(FaultSig::segv(2)); // SEGV_ACCERR
        }
        if vma.direct.is_some() {
            if vma.host_mapped {
                // The host serves this mapping: a write or exec it refused
                // (or, the first time, a race with another thread that has
                // just mapped it).
                return if repeated { Err(FaultSig::segv(2)) } else { Ok(()) };
            }
            // Map it, and with it the address space's other direct
            // mappings (a program's and its libraries' text and read-only
            // data, mapped at exec): one exit instead of one each. One the
            // host refused (a noexec mount, say) is served from the page
            // cache below like any private file mapping.
            self.map_direct_all(&mut m);
            if m.vmas.get(&start).is_some_and(|v| v.host_mapped) {
                return Ok(());
            }
        }
        let page = page_down(addr);
        // A page of a file mapping wholly past the end of the file: SIGBUS
        // (the window below stops at the end, so that such pages are never
        // mapped and each access faults).
        let mut eof = u64::MAX;
        if let Backing::File(file, off) = &vma.backing {
            if let Some(size) = file.size() {
                let end_off = size.div_ceil(PAGE) * PAGE;
                eof = if end_off > *off { start.saturating_add(end_off - off) } else { start };
                if page >= eof && !m.pages.contains_key(&page) {
                    return Err(FaultSig::bus());
                }
            }
        }
        match m.pages.get(&page).copied() {
            None => {
                // Populate around the fault, up to the end of the file.
                let (lo, hi) = Self::fault_window(page, start, &vma);
                let hi = hi.min(eof.max(page + PAGE));
                // Allocate anonymous pages of the window in one contiguous batch.
                if matches!(vma.backing, Backing::Anon) {
                    self.populate_anon(&mut m, lo, hi).map_err(|e| {
                        if e == crate::errno::Errno::ENOMEM { FaultSig::oom() } else { FaultSig::segv(2) }
                    })?;
                } else if let Backing::File(..) = vma.backing {
                    // Ask the file for each run of missing pages at once.
                    let mut p = lo;
                    while p < hi {
                        if m.pages.contains_key(&p) {
                            p += PAGE;
                            continue;
                        }
                        let mut end = p + PAGE;
                        while end < hi && !m.pages.contains_key(&end) {
                            end += PAGE;
                        }
                        let Backing::File(file, off) = vma.backing_at(start, p) else { unreachable!() };
                        let n = ((end - p) / PAGE) as usize;
                        // A writable private mapping gets its own copies at
                        // once: ptrace does not tell reads from writes, and
                        // mapping the shared frames read-only would cost a
                        // second fault at the first write. Copies of a host
                        // file are read straight into them, not through the
                        // page cache (one copy instead of two).
                        let private = vma.prot.write && !vma.shared;
                        let got = if private {
                            match file.host_fd() {
                                Some(fd) => self.read_private(&fd, off, n),
                                None => file.frames(&self.mf, off, n).and_then(|f| self.private_copies(f)),
                            }
                        } else {
                            file.frames(&self.mf, off, n)
                        };
                        match got {
                            Ok(frames) => {
                                for (i, f) in frames.into_iter().enumerate() {
                                    m.pages.insert(p + i as u64 * PAGE, Pte { frame: f, mapped: None, own: private });
                                }
                            }
                            Err(_) if !(p..end).contains(&page) => {}
                            Err(_) => return Err(FaultSig::segv(2)),
                        }
                        p = end;
                    }
                } else {
                    for p in (lo..hi).step_by(PAGE as usize) {
                        if self.populate(&mut m, start, &vma, p).is_err() && p == page {
                            return Err(FaultSig::segv(2));
                        }
                    }
                }
                self.map_range(&mut m, &vma, lo, hi).map_err(|_| FaultSig::segv(2))
            }
            Some(p) => match p.mapped {
                None => {
                    let (lo, hi) = Self::fault_window(page, start, &vma);
                    self.map_range(&mut m, &vma, lo, hi).map_err(|_| FaultSig::segv(2))
                }
                Some(mapped) => {
                    // Mapped already: a write to a read-only mapping of a
                    // writable private page (copy-on-write), or a real
                    // protection fault.
                    if vma.prot.write && !mapped.write {
                        if !vma.shared {
                            self.make_private(&mut m, page).map_err(|_| FaultSig::segv(2))?;
                        }
                        let fr = m.pages[&page].frame;
                        if let Some(pte) = m.pages.get_mut(&page) {
                            pte.mapped = Some(vma.prot);
                        }
                        self.map_frames(page, PAGE, fr, vma.prot).map_err(|_| FaultSig::segv(2))
                    } else if mapped == vma.prot && !repeated {
                        Ok(())
                    } else {
                        Err(FaultSig::segv(2))
                    }
                }
            },
        }
    }
}
