//! mincore(2), and mlock(2) and its kin: which mappings are locked (VM_LOCKED), within
//! RLIMIT_MEMLOCK for a task without CAP_IPC_LOCK. The sentry's memory
//! is the host's to page; a lock is the bookkeeping Linux shows (VmLck,
//! the limit, what a fork's child does not inherit), as gVisor's is.

use super::*;

impl MemoryManager {
    /// mincore(2)'s vector for `[addr, addr + len)` (`addr` page-aligned):
    /// 1 for a page that has its frame (touched, or read in), or that the
    /// host maps straight from a host file; 0 for one never touched.
    /// ENOMEM over a hole.
    pub fn resident(&self, addr: u64, len: u64) -> KResult<Vec<u8>> {
        let end = addr.checked_add(len).and_then(page_up).ok_or(Errno::ENOMEM)?;
        let m = self.lock();
        Self::check_mapped(&m, addr, end)?;
        let mut out = Vec::with_capacity(((end - addr) / PAGE) as usize);
        for (s, v) in m.vmas.range(..end).filter(|(_, v)| v.end > addr) {
            let (from, to) = ((*s).max(addr), v.end.min(end));
            let mut pg = from;
            while pg < to {
                out.push(u8::from(v.host_mapped || m.pages.contains_key(&pg)));
                pg += PAGE;
            }
        }
        Ok(out)
    }

    /// Bytes of locked mappings (VmLck).
    pub fn locked_bytes(&self) -> u64 {
        Self::locked_in(&self.lock())
    }

    fn locked_in(m: &MmInner) -> u64 {
        m.vmas.iter().filter(|(_, v)| v.locked).map(|(s, v)| v.end - s).sum()
    }

    /// mlock(2) of `[addr, addr + len)` (widened to whole pages); `limit`
    /// is RLIMIT_MEMLOCK in bytes, None for a task with CAP_IPC_LOCK.
    /// ENOMEM past the limit or over a hole in the range.
    pub fn mlock(&self, addr: u64, len: u64, limit: Option<u64>) -> KResult<()> {
        self.set_locked(addr, len, true, limit)
    }

    /// munlock(2): ENOMEM over a hole in the range.
    pub fn munlock(&self, addr: u64, len: u64) -> KResult<()> {
        self.set_locked(addr, len, false, None)
    }

    fn set_locked(&self, addr: u64, len: u64, lock: bool, limit: Option<u64>) -> KResult<()> {
        let start = page_down(addr);
        let end = addr.checked_add(len).and_then(page_up).ok_or(Errno::ENOMEM)?;
        if end == start {
            return Ok(());
        }
        let mut m = self.lock();
        if let (true, Some(limit)) = (lock, limit) {
            // What the range adds to what is locked already.
            let locked = Self::locked_in(&m);
            let already: u64 = m.vmas.range(..end).filter(|(s, v)| v.locked && v.end > start && **s < end).map(|(s, v)| v.end.min(end) - (*s).max(start)).sum();
            if locked + (end - start) - already > limit {
                return Err(Errno::ENOMEM);
            }
        }
        Self::check_mapped(&m, start, end)?;
        Self::split_at(&mut m, start);
        Self::split_at(&mut m, end);
        for (_, v) in m.vmas.range_mut(start..end) {
            v.locked = lock;
        }
        Ok(())
    }

    /// mlockall(2): lock every mapping now (`current`, ENOMEM when they
    /// pass `limit`) and every new one (`future`).
    pub fn mlockall(&self, current: bool, future: bool, limit: Option<u64>) -> KResult<()> {
        let mut m = self.lock();
        if current {
            let total: u64 = m.vmas.iter().map(|(s, v)| v.end - s).sum();
            if limit.is_some_and(|l| total > l) {
                return Err(Errno::ENOMEM);
            }
            for v in m.vmas.values_mut() {
                v.locked = true;
            }
        }
        m.lock_future = future;
        Ok(())
    }

    /// munlockall(2).
    pub fn munlockall(&self) {
        let mut m = self.lock();
        for v in m.vmas.values_mut() {
            v.locked = false;
        }
        m.lock_future = false;
    }
}
