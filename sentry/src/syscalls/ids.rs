//! Credentials, process groups, sessions and resource limits.

use std::sync::atomic::Ordering;

use std::sync::Arc;

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::{Creds, Rlimit, ThreadGroup};

/// Implements getuid(2).
pub fn sys_getuid(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    Ok(sc.task.creds().uid as u64)
}
/// Implements geteuid(2).
pub fn sys_geteuid(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    Ok(sc.task.creds().euid as u64)
}
/// Implements getgid(2).
pub fn sys_getgid(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    Ok(sc.task.creds().gid as u64)
}
/// Implements getegid(2).
pub fn sys_getegid(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    Ok(sc.task.creds().egid as u64)
}

/// Which id triple a call changes, and the capability it takes.
#[derive(Clone, Copy, PartialEq)]
enum Which {
    Uid,
    Gid,
}

fn ids_of(c: &mut Creds, w: Which) -> (&mut u32, &mut u32, &mut u32) {
    match w {
        Which::Uid => (&mut c.uid, &mut c.euid, &mut c.suid),
        Which::Gid => (&mut c.gid, &mut c.egid, &mut c.sgid),
    }
}

/// CAP_SETUID or CAP_SETGID in the effective set.
fn may_set(t: &crate::kernel::task::Task, w: Which) -> bool {
    let cap = if w == Which::Uid { 7 } else { 6 };
    t.capable(cap)
}

/// Change an id triple under the caller's credentials lock, then adjust
/// capabilities as Linux's cap_emulate_setxuid does for uid changes.
fn change_ids(sc: &Sc<'_>, w: Which, f: impl FnOnce(bool, &mut u32, &mut u32, &mut u32) -> KResult<()>) -> KResult<u64> {
    let t = sc.task;
    let privileged = may_set(t, w);
    let (old, new) = {
        let mut c = t.tg.creds.lock().unwrap_or_else(|e| e.into_inner());
        let old = (c.uid, c.euid, c.suid);
        let (r, e, s) = ids_of(&mut c, w);
        f(privileged, r, e, s)?;
        (old, (c.uid, c.euid, c.suid))
    };
    if w == Which::Uid {
        let mut caps = t.tg.caps.lock().unwrap_or_else(|e| e.into_inner());
        let had_root = old.0 == 0 || old.1 == 0 || old.2 == 0;
        let has_root = new.0 == 0 || new.1 == 0 || new.2 == 0;
        if had_root && !has_root && !t.tg.keepcaps.load(Ordering::Relaxed) {
            caps.0 = 0;
            caps.1 = 0;
        }
        if old.1 == 0 && new.1 != 0 {
            caps.0 = 0;
        }
        if old.1 != 0 && new.1 == 0 {
            caps.0 = caps.1;
        }
    }
    Ok(0)
}

/// setuid/setgid: with privilege all three ids change; without, only the
/// effective id, to the real or saved one.
fn set_id(sc: &Sc<'_>, id: u64, w: Which) -> KResult<u64> {
    let v = id as u32;
    if v == u32::MAX {
        return Err(Errno::EINVAL);
    }
    change_ids(sc, w, |privileged, real, eff, saved| {
        if privileged {
            (*real, *eff, *saved) = (v, v, v);
        } else if v == *real || v == *saved {
            *eff = v;
        } else {
            return Err(Errno::EPERM);
        }
        Ok(())
    })
}

/// Implements setuid(2).
pub fn sys_setuid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_id(sc, a[0], Which::Uid)
}

/// Implements setgid(2).
pub fn sys_setgid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_id(sc, a[0], Which::Gid)
}

/// setresuid/setresgid: -1 leaves an id unchanged; without privilege each
/// new id must be one of the current real, effective or saved ids.
fn set_res(sc: &Sc<'_>, new: [u64; 3], w: Which) -> KResult<u64> {
    let new = new.map(|v| v as u32);
    change_ids(sc, w, |privileged, real, eff, saved| {
        let cur = [*real, *eff, *saved];
        if !privileged && new.iter().any(|&v| v != u32::MAX && !cur.contains(&v)) {
            return Err(Errno::EPERM);
        }
        for (slot, v) in [real, eff, saved].into_iter().zip(new) {
            if v != u32::MAX {
                *slot = v;
            }
        }
        Ok(())
    })
}

/// setreuid/setregid: the real id may become the effective one, the
/// effective id any of the three; the saved id follows the new effective id
/// when the real id is set or the effective id leaves the real one.
fn set_re(sc: &Sc<'_>, r: u64, e: u64, w: Which) -> KResult<u64> {
    let (r, e) = (r as u32, e as u32);
    change_ids(sc, w, |privileged, real, eff, saved| {
        if !privileged && ((r != u32::MAX && r != *real && r != *eff) || (e != u32::MAX && e != *real && e != *eff && e != *saved)) {
            return Err(Errno::EPERM);
        }
        let old_real = *real;
        if r != u32::MAX {
            *real = r;
        }
        if e != u32::MAX {
            *eff = e;
        }
        if r != u32::MAX || (e != u32::MAX && e != old_real) {
            *saved = *eff;
        }
        Ok(())
    })
}

fn get_res(sc: &Sc<'_>, ptrs: [u64; 3], w: Which) -> KResult<u64> {
    let mut c = sc.task.creds();
    let (r, e, s) = ids_of(&mut c, w);
    for (p, v) in ptrs.into_iter().zip([*r, *e, *s]) {
        sc.task.mm().write_val(p, &v)?;
    }
    Ok(0)
}

/// Implements setresuid(2).
pub fn sys_setresuid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_res(sc, [a[0], a[1], a[2]], Which::Uid)
}

/// Implements setresgid(2).
pub fn sys_setresgid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_res(sc, [a[0], a[1], a[2]], Which::Gid)
}

/// Implements setreuid(2).
pub fn sys_setreuid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_re(sc, a[0], a[1], Which::Uid)
}

/// Implements setregid(2).
pub fn sys_setregid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_re(sc, a[0], a[1], Which::Gid)
}

/// Implements getresuid(2).
pub fn sys_getresuid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    get_res(sc, [a[0], a[1], a[2]], Which::Uid)
}

/// Implements getresgid(2).
pub fn sys_getresgid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    get_res(sc, [a[0], a[1], a[2]], Which::Gid)
}

/// Implements getgroups(2).
pub fn sys_getgroups(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let g = sc.task.creds().groups;
    if (a[0] as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    if a[0] == 0 {
        return Ok(g.len() as u64);
    }
    if (a[0] as usize) < g.len() {
        return Err(Errno::EINVAL);
    }
    sc.task.mm().copy_out(a[1], bytemuck::cast_slice(&g))?;
    Ok(g.len() as u64)
}

/// Implements setgroups(2).
pub fn sys_setgroups(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] > 65536 {
        return Err(Errno::EINVAL);
    }
    let v: Vec<u32> = sc.task.mm().read_vec(a[1], a[0] as usize)?;
    if !may_set(sc.task, Which::Gid) {
        return Err(Errno::EPERM);
    }
    sc.task.tg.creds.lock().unwrap_or_else(|e| e.into_inner()).groups = v;
    Ok(0)
}

/// Implements setpgid(2).
pub fn sys_setpgid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let me = &sc.task.tg;
    let pid = if a[0] as i32 == 0 { me.tgid } else { a[0] as i32 };
    let pgid = if a[1] as i32 == 0 { pid } else { a[1] as i32 };
    if pid < 0 || pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let k = &sc.task.kernel;
    let g = k.group(pid).filter(|g| !g.st().zombie).ok_or(Errno::ESRCH)?;
    let my_sid = me.sid.load(Ordering::Relaxed);
    if g.tgid != me.tgid {
        // Only a child, which must not have run execve.
        if g.ppid.load(Ordering::Relaxed) != me.tgid {
            return Err(Errno::ESRCH);
        }
        if g.sid.load(Ordering::Relaxed) != my_sid {
            return Err(Errno::EPERM);
        }
        if g.did_exec.load(Ordering::Relaxed) {
            return Err(Errno::EACCES);
        }
    }
    // A session leader cannot move.
    if g.sid.load(Ordering::Relaxed) == g.tgid {
        return Err(Errno::EPERM);
    }
    // Joining an existing group: it must be in our session.
    if pgid != pid && !k.all_groups().iter().any(|o| o.pgid() == pgid && o.sid.load(Ordering::Relaxed) == my_sid && !o.st().zombie) {
        return Err(Errno::EPERM);
    }
    g.pgid_.store(pgid, Ordering::Relaxed);
    Ok(0)
}

/// Implements getpgid(2).
pub fn sys_getpgid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] == 0 {
        return Ok(sc.task.tg.pgid() as u64);
    }
    Ok(sc.task.kernel.group(a[0] as i32).ok_or(Errno::ESRCH)?.pgid() as u64)
}

/// Implements getpgrp(2).
pub fn sys_getpgrp(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    Ok(sc.task.tg.pgid() as u64)
}

/// Implements setsid(2).
pub fn sys_setsid(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    let tg = &sc.task.tg;
    // EPERM when any process group already has our pid as its id.
    if tg.pgid() == tg.tgid || sc.task.kernel.all_groups().iter().any(|g| g.pgid() == tg.tgid) {
        return Err(Errno::EPERM);
    }
    tg.pgid_.store(tg.tgid, Ordering::Relaxed);
    tg.sid.store(tg.tgid, Ordering::Relaxed);
    *tg.ctty.lock().unwrap_or_else(|e| e.into_inner()) = None;
    Ok(tg.tgid as u64)
}

/// Implements getsid(2).
pub fn sys_getsid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] == 0 {
        return Ok(sc.task.tg.sid.load(Ordering::Relaxed) as u64);
    }
    Ok(sc.task.kernel.group(a[0] as i32).ok_or(Errno::ESRCH)?.sid.load(Ordering::Relaxed) as u64)
}

fn rlimit_get(sc: &Sc<'_>, tg: &ThreadGroup, r: u64, addr: u64) -> KResult<()> {
    if r >= 16 {
        return Err(Errno::EINVAL);
    }
    let l = tg.rlimit(r as usize);
    sc.task.mm().write_val(addr, &[l.cur, l.max])
}

fn rlimit_set(tg: &ThreadGroup, r: u64, new: [u64; 2], privileged: bool) -> KResult<()> {
    if r >= 16 || new[0] > new[1] {
        return Err(Errno::EINVAL);
    }
    let mut l = tg.rlimits.lock().unwrap_or_else(|e| e.into_inner());
    if new[1] > l[r as usize].max && !privileged {
        return Err(Errno::EPERM);
    }
    if r == 7 && new[1] > 1 << 20 {
        return Err(Errno::EPERM);
    }
    l[r as usize] = Rlimit { cur: new[0], max: new[1] };
    Ok(())
}

/// Implements getrlimit(2).
pub fn sys_getrlimit(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    rlimit_get(sc, &sc.task.tg, a[0], a[1])?;
    Ok(0)
}

/// CAP_SYS_RESOURCE: raise hard limits.
fn may_raise(sc: &Sc<'_>) -> bool {
    sc.task.capable(24)
}

/// After a limit changed: RLIMIT_CPU is enforced by the timer thread.
fn rlimit_changed(sc: &Sc<'_>, tg: &ThreadGroup, r: u64) {
    if r == 0 {
        let finite = tg.rlimit(0).cur != crate::kernel::task::RLIM_INFINITY;
        sc.task.kernel.timers.watch_rlimit_cpu(&sc.task.kernel, tg.tgid, finite);
    }
}

/// Implements setrlimit(2).
pub fn sys_setrlimit(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let new: [u64; 2] = sc.task.mm().read_val(a[1])?;
    rlimit_set(&sc.task.tg, a[0], new, may_raise(sc))?;
    rlimit_changed(sc, &sc.task.tg, a[0]);
    Ok(0)
}

/// Implements prlimit64(2).
pub fn sys_prlimit64(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let tg = if a[0] == 0 { sc.task.tg.clone() } else { sc.task.kernel.group(a[0] as i32).ok_or(Errno::ESRCH)? };
    if a[1] >= 16 {
        return Err(Errno::EINVAL);
    }
    let new = if a[2] != 0 { Some(sc.task.mm().read_val::<[u64; 2]>(a[2])?) } else { None };
    if !Arc::ptr_eq(&tg, &sc.task.tg) && !may_raise(sc) {
        // Linux's check_prlimit_permission: all of the target's ids must
        // be the caller's real ids.
        let (me, them) = (sc.task.creds(), tg.creds.lock().unwrap_or_else(|e| e.into_inner()).clone());
        let same = [them.uid, them.euid, them.suid].iter().all(|&u| u == me.uid)
            && [them.gid, them.egid, them.sgid].iter().all(|&g| g == me.gid);
        if !same {
            return Err(Errno::EPERM);
        }
    }
    if a[3] != 0 {
        rlimit_get(sc, &tg, a[1], a[3])?;
    }
    if let Some(n) = new {
        rlimit_set(&tg, a[1], n, may_raise(sc))?;
        rlimit_changed(sc, &tg, a[1]);
    }
    Ok(0)
}
