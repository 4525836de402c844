//! Memory syscalls.

use std::sync::Arc;

use platform::Prot;

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::loader::NamedMapping;
use crate::mm::{Backing, PAGE};

const MAP_PRIVATE: u64 = 2;
const MAP_SHARED_VALIDATE: u64 = 3;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x100000;
const KNOWN: u64 = 0x3 | 0x10 | 0x20 | 0x100 | 0x800 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x80000 | 0x100000 | 0xfc00_0000;

/// ENOMEM if growing the address space by `len` bytes passes RLIMIT_AS.
fn check_as_limit(sc: &Sc<'_>, len: u64) -> KResult<()> {
    let limit = sc.task.tg.rlimit(9).cur;
    if limit != u64::MAX && sc.task.mm().total_vm().saturating_add(len) > limit {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

/// Implements mmap(2).
pub fn sys_mmap(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (addr, len, prot, flags, fd, off) = (a[0], a[1], a[2], a[3], a[4] as i32, a[5]);
    let kind = flags & 3;
    if kind == 0 || (kind == MAP_SHARED_VALIDATE && flags & !KNOWN != 0) {
        return Err(Errno::EINVAL);
    }
    if len == 0 || off % PAGE != 0 || prot & !0x7 & !0x0100_0000 & !0x0200_0000 != 0 {
        return Err(Errno::EINVAL);
    }
    if len > (1 << 46) {
        return Err(Errno::ENOMEM);
    }
    let fixed = flags & MAP_FIXED != 0;
    if (fixed || flags & MAP_FIXED_NOREPLACE != 0) && addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    check_as_limit(sc, len)?;
    let shared = kind != MAP_PRIVATE;
    let p = Prot::from_bits(prot);
    let mm = sc.task.mm();
    let (backing, shared) = if flags & MAP_ANONYMOUS != 0 {
        if shared {
            (Backing::Shared(Arc::new(Default::default()), 0), true)
        } else {
            (Backing::Anon, false)
        }
    } else {
        let f = sc.task.fds().get(fd)?;
        if f.is_path() || !f.readable() {
            return Err(Errno::EACCES);
        }
        let a = f.inode.stat()?;
        if a.kind() == crate::vfs::mode::S_IFCHR && a.rdev == (1 << 8 | 5) {
            if shared {
                (Backing::Shared(Arc::new(Default::default()), 0), true)
            } else {
                (Backing::Anon, false)
            }
        } else {
            if shared && p.write && !f.writable() {
                return Err(Errno::EACCES);
            }
            // A file sealed against writes maps shared only read-only, and
            // stays so (Linux clears VM_MAYWRITE).
            let sealed = f.inode.seals().is_ok_and(|s| s & crate::vfs::seals::WRITES != 0);
            if shared && p.write && sealed {
                return Err(Errno::EPERM);
            }
            let m = f.ops.mappable().ok_or(Errno::ENODEV)?;
            let path = String::from_utf8_lossy(&f.path).into_owned();
            let named = Arc::new(NamedMapping { inner: m, path, shared_write: f.writable() && !sealed });
            (Backing::File(named, off), shared)
        }
    };
    let rmap_key = match &backing {
        Backing::File(f, _) => f.rmap_key(),
        _ => None,
    };
    let start = mm.mmap(addr, len, p, fixed, flags & MAP_FIXED_NOREPLACE != 0, shared, backing, None)?;
    if let Some(k) = rmap_key {
        crate::mm::rmap::add(k, &mm);
    }
    // Program text the host serves from a host file is mapped now, by the
    // calling thread's own stub thread: cheaper than the fault that would
    // come at its first touch. (Read-only data stays lazy: a program often
    // never touches a library's, and the eager mapping costs as much as
    // the fault it saves.)
    if p.exec {
        mm.map_direct_now(start);
    }
    Ok(start)
}

/// Implements munmap(2).
pub fn sys_munmap(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    sc.task.mm().munmap(a[0], a[1])?;
    Ok(0)
}

/// Implements mprotect(2).
pub fn sys_mprotect(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[2] & !(7 | 0x0100_0000 | 0x0200_0000) != 0 {
        return Err(Errno::EINVAL);
    }
    sc.task.mm().mprotect(a[0], a[1], Prot::from_bits(a[2]))?;
    Ok(0)
}

/// Implements brk(2).
pub fn sys_brk(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let mm = sc.task.mm();
    // brk(0) and any refused request answer the current break; growth
    // beyond RLIMIT_AS is refused like that too.
    let cur = mm.brk(0);
    let growth = a[0].saturating_sub(cur.next_multiple_of(PAGE)).div_ceil(PAGE).saturating_mul(PAGE);
    if growth > 0 && check_as_limit(sc, growth).is_err() {
        return Ok(cur);
    }
    Ok(mm.brk(a[0]))
}

/// Implements mremap(2).
pub fn sys_mremap(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const MAYMOVE: u64 = 1;
    const FIXED: u64 = 2;
    const DONTUNMAP: u64 = 4;
    let flags = a[3];
    if flags & !(MAYMOVE | FIXED | DONTUNMAP) != 0 || (flags & (FIXED | DONTUNMAP) != 0 && flags & MAYMOVE == 0) {
        return Err(Errno::EINVAL);
    }
    check_as_limit(sc, a[2].saturating_sub(a[1]))?;
    let fixed = (flags & FIXED != 0).then_some(a[4]);
    sc.task.mm().mremap(a[0], a[1], a[2], flags & MAYMOVE != 0, fixed, flags & DONTUNMAP != 0)
}

/// Implements msync(2).
pub fn sys_msync(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] % PAGE != 0 || a[2] & !7 != 0 || (a[2] & 1 != 0 && a[2] & 4 != 0) {
        return Err(Errno::EINVAL);
    }
    // Shared file mappings map the very memory-file frames that hold the
    // file's content; only files written through to the host have more
    // to do (MS_ASYNC too: it is done at once).
    sc.task.mm().sync_range(a[0], a[1])?;
    Ok(0)
}

/// Implements madvise(2).
pub fn sys_madvise(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let valid = matches!(a[2], 0..=4 | 8..=21 | 100..=101);
    if !valid {
        return Err(Errno::EINVAL);
    }
    let mm = sc.task.mm();
    mm.require_mapped(a[0], a[1])?;
    match a[2] {
        4 => mm.dontneed(a[0], a[1])?,
        10 => mm.set_fork_advice(a[0], a[1], Some(true), None)?, // MADV_DONTFORK
        11 => mm.set_fork_advice(a[0], a[1], Some(false), None)?, // MADV_DOFORK
        18 => mm.set_fork_advice(a[0], a[1], None, Some(true))?, // MADV_WIPEONFORK
        19 => mm.set_fork_advice(a[0], a[1], None, Some(false))?, // MADV_KEEPONFORK
        _ => {}
    }
    // Other advice only hints at future use.
    Ok(0)
}

/// RLIMIT_MEMLOCK in bytes for the mlock family, None with CAP_IPC_LOCK;
/// EPERM when the task may lock nothing (Linux's `can_do_mlock`).
fn memlock_limit(sc: &Sc<'_>) -> KResult<Option<u64>> {
    const CAP_IPC_LOCK: u32 = 14;
    const RLIMIT_MEMLOCK: usize = 8;
    if sc.task.capable(CAP_IPC_LOCK) {
        return Ok(None);
    }
    match sc.task.tg.rlimit(RLIMIT_MEMLOCK).cur {
        0 => Err(Errno::EPERM),
        l => Ok(Some(l)),
    }
}

/// Implements mlock(2).
pub fn sys_mlock(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let limit = memlock_limit(sc)?;
    sc.task.mm().mlock(a[0], a[1], limit)?;
    Ok(0)
}

/// Implements mlock2(2): MLOCK_ONFAULT is the only flag (pages are not
/// faulted in by mlock here either way).
pub fn sys_mlock2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const MLOCK_ONFAULT: u64 = 1;
    if a[2] & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    sys_mlock(sc, a)
}

/// Implements munlock(2).
pub fn sys_munlock(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    sc.task.mm().munlock(a[0], a[1])?;
    Ok(0)
}

/// Implements mlockall(2).
pub fn sys_mlockall(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const MCL_CURRENT: u64 = 1;
    const MCL_FUTURE: u64 = 2;
    const MCL_ONFAULT: u64 = 4;
    let flags = a[0];
    if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || flags == MCL_ONFAULT {
        return Err(Errno::EINVAL);
    }
    let limit = memlock_limit(sc)?;
    sc.task.mm().mlockall(flags & MCL_CURRENT != 0, flags & MCL_FUTURE != 0, limit)?;
    Ok(0)
}

/// Implements munlockall(2).
pub fn sys_munlockall(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    sc.task.mm().munlockall();
    Ok(0)
}

/// Implements mincore(2).
pub fn sys_mincore(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    // A chunk at a time: the range may be terabytes of reservation.
    const CHUNK: u64 = (1 << 16) * PAGE;
    let mm = sc.task.mm();
    let end = a[0].checked_add(a[1]).ok_or(Errno::ENOMEM)?;
    let (mut at, mut out) = (a[0], a[2]);
    while at < end {
        let n = (end - at).min(CHUNK);
        let vec = mm.resident(at, n)?;
        mm.copy_out(out, &vec)?;
        (at, out) = (at + n, out + vec.len() as u64);
    }
    Ok(0)
}

/// Implements personality(2): the persona is kept and inherited, and
/// 0xffffffff asks for it; ADDR_NO_RANDOMIZE is honoured at exec.
pub fn sys_personality(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let want = a[0] as u32;
    let p = &sc.task.tg.persona;
    if want == 0xffff_ffff {
        return Ok(p.load(std::sync::atomic::Ordering::Relaxed) as u64);
    }
    Ok(p.swap(want, std::sync::atomic::Ordering::Relaxed) as u64)
}
