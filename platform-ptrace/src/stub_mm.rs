//! The mapping operations of an address space whose stub process executes
//! host system calls on the sentry's request (the ptrace platform injects
//! them, systrap hands them to a trapped stub thread): one place for the
//! mmap, munmap and mprotect calls both platforms make.

use platform::{Error, Prot, Result};

/// A stub process that runs host system calls for the sentry.
pub trait StubSyscalls {
    /// Run `nr(args)` in the stub process; a negative result is
    /// [`Error::Injected`] naming `op`.
    fn stub_syscall(&self, op: &'static str, nr: i64, args: [u64; 6]) -> Result<u64>;
    /// The memory file's fd number in the stub's fd table.
    fn memfd(&self) -> i32;

    /// [`platform::AddressSpace::map_file`].
    fn stub_map_file(&self, addr: u64, len: u64, offset: u64, prot: Prot) -> Result<()> {
        self.stub_map_shared(addr, len, self.memfd(), offset, prot)
    }

    /// [`platform::AddressSpace::map_shared`] (the sentry's fd number is
    /// valid in the stub, as for [`stub_map_host`](Self::stub_map_host)).
    fn stub_map_shared(&self, addr: u64, len: u64, fd: i32, offset: u64, prot: Prot) -> Result<()> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let r = self.stub_syscall("mmap", libc::SYS_mmap, [addr, len, prot.bits(), flags, fd as u64, offset])?;
        if r != addr {
            return Err(Error::Injected { op: "mmap", errno: libc::EFAULT });
        }
        Ok(())
    }

    /// [`platform::AddressSpace::map_host`]. Stub processes share the
    /// sentry's fd table, so the sentry's fd number is valid in the stub.
    fn stub_map_host(&self, addr: u64, len: u64, fd: i32, offset: u64, prot: Prot) -> Result<()> {
        if prot.write {
            return Err(Error::Injected { op: "mmap(host file)", errno: libc::EACCES });
        }
        let flags = (libc::MAP_PRIVATE | libc::MAP_FIXED) as u64;
        let r = self.stub_syscall("mmap(host file)", libc::SYS_mmap, [addr, len, prot.bits(), flags, fd as u64, offset])?;
        if r != addr {
            return Err(Error::Injected { op: "mmap(host file)", errno: libc::EFAULT });
        }
        Ok(())
    }

    /// [`platform::AddressSpace::unmap`].
    fn stub_unmap(&self, addr: u64, len: u64) -> Result<()> {
        self.stub_syscall("munmap", libc::SYS_munmap, [addr, len, 0, 0, 0, 0]).map(|_| ())
    }

    /// [`platform::AddressSpace::protect`].
    fn stub_protect(&self, addr: u64, len: u64, prot: Prot) -> Result<()> {
        self.stub_syscall("mprotect", libc::SYS_mprotect, [addr, len, prot.bits(), 0, 0, 0]).map(|_| ())
    }
}
