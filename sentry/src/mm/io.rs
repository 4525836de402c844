//! Typed access to application memory. Every application pointer goes
//! through here; anything unmapped or not permitted is EFAULT.

use bytemuck::{Pod, Zeroable};

use super::MemoryManager;
use crate::errno::{Errno, KResult};

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

    /// Copy `len` bytes of the memory file at `from` to application
    /// address `addr`.
    pub fn copy_out_from_mf(&self, addr: u64, from: u64, len: usize) -> KResult<()> {
        let mf = self.memfile().clone();
        self.for_each_page(addr, len, true, |off, n, at| mf.copy_within(from + at as u64, off, n))
    }

    /// Zero `len` bytes at `addr`.
    pub fn zero_out(&self, addr: u64, len: usize) -> KResult<()> {
        let mf = self.memfile().clone();
        self.for_each_page(addr, len, true, |off, n, _| mf.zero(off, n))
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
        let mut out = Vec::new();
        let mut cur = addr;
        loop {
            // Read up to the end of the page at most, to never fault past
            // the terminator.
            let chunk = (4096 - (cur % 4096)) as usize;
            let mut buf = vec![0u8; chunk];
            self.copy_in(cur, &mut buf)?;
            if let Some(i) = buf.iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..i]);
                if out.len() > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                return Ok(out);
            }
            out.extend_from_slice(&buf);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            cur = cur.checked_add(chunk as u64).ok_or(Errno::EFAULT)?;
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
