//! File seals of the overlay's memory files (memfds, tmpfs files), as
//! Linux's shmem files take them; enforced by the write paths
//! ([`State::sealed_against`]), setattr and mmap.

use super::{Node, State};
use crate::errno::{Errno, KResult};
use crate::vfs::{self, mode};

impl State {
    /// EPERM for a write of `len` bytes at `off` that the file's seals
    /// forbid: any write under F_SEAL_WRITE or F_SEAL_FUTURE_WRITE, one
    /// past the end under F_SEAL_GROW.
    pub(super) fn sealed_against(&self, off: u64, len: usize) -> KResult<()> {
        use vfs::seals::{F_SEAL_GROW, WRITES};
        if self.seals & WRITES != 0 && len > 0 {
            return Err(Errno::EPERM);
        }
        if self.seals & F_SEAL_GROW != 0 && off.saturating_add(len as u64) > self.attr.size {
            return Err(Errno::EPERM);
        }
        Ok(())
    }
}

impl Node {
    /// Set a memory file's seals (memfd_create's start).
    pub fn set_seals(&self, seals: u32) {
        self.lock().seals = seals;
    }

    /// F_GET_SEALS: a memory file's alone (tmpfs, memfd), EINVAL for the
    /// rest.
    pub(super) fn seals_now(&self) -> KResult<u32> {
        let st = self.lock();
        if self.fs.lower.is_some() || st.attr.kind() != mode::S_IFREG {
            return Err(Errno::EINVAL);
        }
        Ok(st.seals)
    }

    /// F_ADD_SEALS: EPERM once sealed, EBUSY for F_SEAL_WRITE while the
    /// file is mapped shared.
    pub(super) fn add_seals_now(&self, seals: u32) -> KResult<()> {
        use vfs::seals::{F_SEAL_SEAL, F_SEAL_WRITE};
        let now = self.seals_now()?;
        if now & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        // Asked without the node's lock: a fault takes an address space's
        // lock, then the file's.
        if seals & F_SEAL_WRITE != 0 && now & F_SEAL_WRITE == 0 && crate::mm::rmap::mapped_shared(self.rmap_key()) {
            return Err(Errno::EBUSY);
        }
        let mut st = self.lock();
        if st.seals & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        st.seals |= seals;
        Ok(())
    }
}
