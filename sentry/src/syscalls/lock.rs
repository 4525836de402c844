//! flock(2) and the record-lock commands of fcntl(2) (see vfs::locks).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::vfs::locks::{self, Kind, Owner};
use crate::vfs::{oflags, File};

const F_RDLCK: i16 = 0;
const F_WRLCK: i16 = 1;
const F_UNLCK: i16 = 2;
const F_GETLK: u64 = 5;
const F_SETLKW: u64 = 7;
const F_OFD_GETLK: u64 = 36;
const F_OFD_SETLK: u64 = 37;
const F_OFD_SETLKW: u64 = 38;

/// struct flock on x86-64.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Flock {
    l_type: i16,
    l_whence: i16,
    _pad: u32,
    l_start: i64,
    l_len: i64,
    l_pid: i32,
    _pad2: u32,
}

/// A description opened with O_PATH takes no locks.
fn lockable(f: &File) -> KResult<()> {
    if f.flags() & oflags::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    Ok(())
}

/// The byte range `[start, end)` a struct flock names (`end` u64::MAX: to
/// the end of file), with Linux's errors.
fn range(t: &Task, f: &File, l: &Flock) -> KResult<(u64, u64)> {
    let base: i64 = match l.l_whence {
        0 => 0,
        1 => *f.offset.lock().unwrap_or_else(|e| e.into_inner()) as i64,
        2 => f.inode.stat()?.size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let _ = t;
    let start = base.checked_add(l.l_start).ok_or(Errno::EOVERFLOW)?;
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    match l.l_len {
        0 => Ok((start as u64, u64::MAX)),
        n if n > 0 => {
            // The last byte, start + n - 1, must fit in an off_t.
            if n - 1 > i64::MAX - start {
                return Err(Errno::EOVERFLOW);
            }
            Ok((start as u64, (start + n - 1) as u64 + 1))
        }
        n => {
            let s = start.checked_add(n).ok_or(Errno::EINVAL)?;
            if s < 0 {
                return Err(Errno::EINVAL);
            }
            Ok((s as u64, start as u64))
        }
    }
}

/// fcntl's F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ forms on `f`.
pub fn fcntl_lock(sc: &mut Sc<'_>, f: &Arc<File>, cmd: u64, arg: u64) -> KResult<u64> {
    let t = sc.task;
    let mut l: Flock = t.mm().read_val(arg)?;
    lockable(f)?;
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    if ofd && l.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = match l.l_type {
        F_RDLCK => Kind::Read,
        F_WRLCK => Kind::Write,
        F_UNLCK => Kind::Unlock,
        _ => return Err(Errno::EINVAL),
    };
    let (start, end) = range(t, f, &l)?;
    let key = locks::inode_key(f);
    let (owner, pid) = if ofd { (Owner::Ofd(locks::ofd_key(f)), -1) } else { (Owner::Process(t.tg.tgid), t.tg.tgid) };
    if cmd == F_GETLK || cmd == F_OFD_GETLK {
        if kind == Kind::Unlock {
            return Err(Errno::EINVAL);
        }
        match locks::test(key, owner, start, end, kind) {
            None => l.l_type = F_UNLCK,
            Some(c) => {
                l.l_type = if c.write { F_WRLCK } else { F_RDLCK };
                l.l_whence = 0;
                l.l_start = c.start as i64;
                l.l_len = if c.end == u64::MAX { 0 } else { (c.end - c.start) as i64 };
                l.l_pid = c.pid;
            }
        }
        t.mm().write_val(arg, &l)?;
        return Ok(0);
    }
    let acc = f.flags() & oflags::O_ACCMODE;
    match kind {
        Kind::Read if acc == oflags::O_WRONLY => return Err(Errno::EBADF),
        Kind::Write if acc == oflags::O_RDONLY => return Err(Errno::EBADF),
        _ => {}
    }
    if ofd {
        f.locked.store(true, Ordering::Relaxed);
    }
    let wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
    locks::set(t, key, owner, pid, start, end, kind, wait)?;
    Ok(0)
}

/// Implements flock(2).
pub fn sys_flock(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_NB: u64 = 4;
    const LOCK_UN: u64 = 8;
    let f = sc.task.fds().get(a[0] as i32)?;
    let op = a[1] as u32 as u64;
    let lock = match op & !LOCK_NB {
        LOCK_SH => Some(false),
        LOCK_EX => Some(true),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    lockable(&f)?;
    f.locked.store(true, Ordering::Relaxed);
    locks::flock(sc.task, locks::inode_key(&f), locks::ofd_key(&f), lock, op & LOCK_NB != 0)?;
    Ok(0)
}

/// The process closed `f` through one of its fds: its POSIX locks on the
/// file go (whatever other fds still refer to it).
pub fn closed(t: &Task, f: &File) {
    locks::closed(locks::inode_key(f), t.tg.tgid);
}
