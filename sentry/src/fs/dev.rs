//! /dev: null, zero, full, random, urandom, tty, ptmx and pts, the stdio
//! links, shm.

use std::sync::Arc;

use super::overlay::Node;
use super::synth::{CharDev, SynthDir, SynthLink};
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::mm::{Backing, SharedAnon};
use crate::vfs::{FileOps, Inode, Source};

struct Null;
impl FileOps for Null {
    fn read(&self, _: &Task, _: &mut [u8], _: u64, _: bool) -> KResult<usize> {
        Ok(0)
    }
    fn write(&self, _: &Task, b: &[u8], _: u64, _: bool) -> KResult<usize> {
        Ok(b.len())
    }
    fn write_from(&self, _: &Task, src: Source<'_>, _: u64, _: bool) -> KResult<usize> {
        // Like Linux's write_null: the buffer is never read.
        Ok(src.len())
    }
    fn position_always_zero(&self) -> bool {
        true
    }
}

/// /dev/zero (also /dev/full's read side).
pub struct Zero {
    full: bool,
}
impl FileOps for Zero {
    fn read(&self, _: &Task, b: &mut [u8], _: u64, _: bool) -> KResult<usize> {
        b.fill(0);
        Ok(b.len())
    }
    fn read_to(&self, t: &Task, addr: u64, len: usize, _: u64, _: bool) -> KResult<usize> {
        // Straight into the application's pages, no buffer.
        t.mm().zero_fill(addr, len)
    }
    fn write(&self, _: &Task, b: &[u8], _: u64, _: bool) -> KResult<usize> {
        if self.full {
            return Err(Errno::ENOSPC);
        }
        Ok(b.len())
    }
    fn position_always_zero(&self) -> bool {
        true
    }
}

impl Zero {
    /// Backing for mmap of /dev/zero: shared anonymous memory.
    pub fn backing() -> Backing {
        Backing::Shared(Arc::new(SharedAnon::default()), 0)
    }
}

struct Random;
impl FileOps for Random {
    fn read(&self, _: &Task, b: &mut [u8], _: u64, _: bool) -> KResult<usize> {
        crate::kernel::fill_random(b);
        Ok(b.len())
    }
    fn write(&self, _: &Task, b: &[u8], _: u64, _: bool) -> KResult<usize> {
        Ok(b.len())
    }
}

/// Build /dev; `mqueue` is the sandbox's mqueue directory (mounted at
/// /dev/mqueue, as on a Linux host).
pub fn new(mf: Arc<crate::mm::MemoryFile>, mqueue: Arc<dyn Inode>) -> Arc<dyn Inode> {
    let shm: Arc<dyn Inode> = Node::new_tmpfs(0o1777, mf);
    let devpts = super::tty::pty::Devpts::new();
    let ptmx: Arc<dyn Inode> = devpts.ptmx();
    let pts: Arc<dyn Inode> = Arc::new(super::tty::pty::PtsDir(devpts));
    SynthDir::fixed(vec![
        ("null", CharDev::new(1, 3, || Arc::new(Null))),
        ("zero", CharDev::new(1, 5, || Arc::new(Zero { full: false }))),
        ("full", CharDev::new(1, 7, || Arc::new(Zero { full: true }))),
        ("random", CharDev::new(1, 8, || Arc::new(Random))),
        ("urandom", CharDev::new(1, 9, || Arc::new(Random))),
        ("stdin", SynthLink::new(|| Ok(b"/proc/self/fd/0".to_vec()))),
        ("stdout", SynthLink::new(|| Ok(b"/proc/self/fd/1".to_vec()))),
        ("stderr", SynthLink::new(|| Ok(b"/proc/self/fd/2".to_vec()))),
        ("fd", SynthLink::new(|| Ok(b"/proc/self/fd".to_vec()))),
        ("shm", shm),
        ("pts", pts),
        ("mqueue", mqueue),
        ("ptmx", ptmx),
        ("tty", super::tty::DevTty::new()),
    ])
}
