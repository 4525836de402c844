//! Scheduling parameters, priorities and capabilities. The sentry does not
//! reschedule anything by them (host threads keep the host's policy); it
//! records them per thread group with Linux's checks, so that what a
//! program sets it reads back.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::{Task, ThreadGroup};

const SCHED_OTHER: i32 = 0;
const SCHED_FIFO: i32 = 1;
const SCHED_RR: i32 = 2;
const SCHED_BATCH: i32 = 3;
const SCHED_IDLE: i32 = 5;
const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

fn target(t: &Task, pid: u64) -> KResult<Arc<ThreadGroup>> {
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 {
        return Ok(t.tg.clone());
    }
    t.kernel.task(pid).map(|x| x.tg.clone()).ok_or(Errno::ESRCH)
}

fn priority_range(policy: i32) -> KResult<(i32, i32)> {
    match policy {
        SCHED_FIFO | SCHED_RR => Ok((1, 99)),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => Ok((0, 0)),
        _ => Err(Errno::EINVAL),
    }
}

/// Implements sched_get_priority_max(2).
pub fn sys_sched_get_priority_max(_sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    Ok(priority_range(a[0] as i32)?.1 as u64)
}

/// Implements sched_get_priority_min(2).
pub fn sys_sched_get_priority_min(_sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    Ok(priority_range(a[0] as i32)?.0 as u64)
}

/// Implements sched_getscheduler(2).
pub fn sys_sched_getscheduler(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    Ok(target(sc.task, a[0])?.sched.lock().unwrap_or_else(|e| e.into_inner()).0 as u64)
}

/// Implements sched_getparam(2).
pub fn sys_sched_getparam(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let tg = target(sc.task, a[0])?;
    let prio = tg.sched.lock().unwrap_or_else(|e| e.into_inner()).1;
    sc.task.mm().write_val(a[1], &prio)?;
    Ok(0)
}

fn set_sched(sc: &mut Sc<'_>, pid: u64, policy: Option<i32>, param: u64) -> KResult<u64> {
    if param == 0 {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = sc.task.mm().read_val(param)?;
    let tg = target(sc.task, pid)?;
    let mut s = tg.sched.lock().unwrap_or_else(|e| e.into_inner());
    let policy = policy.map(|p| p & !SCHED_RESET_ON_FORK).unwrap_or(s.0);
    let (lo, hi) = priority_range(policy)?;
    if prio < lo || prio > hi {
        return Err(Errno::EINVAL);
    }
    if (policy == SCHED_FIFO || policy == SCHED_RR) && sc.task.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    *s = (policy, prio);
    Ok(0)
}

/// Implements sched_setscheduler(2).
pub fn sys_sched_setscheduler(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_sched(sc, a[0], Some(a[1] as i32), a[2])
}

/// Implements sched_setparam(2).
pub fn sys_sched_setparam(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_sched(sc, a[0], None, a[1])
}

/// Implements sched_setaffinity(2): the mask must name a CPU the sandbox
/// has; it is recorded and read back by sched_getaffinity.
pub fn sys_sched_setaffinity(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let tg = target(sc.task, a[0])?;
    let n = (a[1] as usize).min(128);
    let mut bytes = vec![0u8; n];
    sc.task.mm().copy_in(a[2], &mut bytes)?;
    let mut mask = 0u64;
    for (i, b) in bytes.iter().take(8).enumerate() {
        mask |= (*b as u64) << (8 * i);
    }
    let mask = mask & online_mask();
    if mask == 0 {
        return Err(Errno::EINVAL);
    }
    tg.affinity.store(mask, Ordering::Relaxed);
    Ok(0)
}

fn online_mask() -> u64 {
    let n = crate::sys::cpu_count().min(64);
    if n == 64 {
        u64::MAX
    } else {
        (1 << n) - 1
    }
}

/// Implements sched_getaffinity(2).
pub fn sys_sched_getaffinity(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[1] < 8 || a[1] % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let tg = target(sc.task, a[0])?;
    let m = tg.affinity.load(Ordering::Relaxed);
    let mask = if m == 0 { online_mask() } else { m };
    sc.task.mm().write_val(a[2], &mask)?;
    Ok(8)
}

const PRIO_PROCESS: u64 = 0;
const PRIO_PGRP: u64 = 1;
const PRIO_USER: u64 = 2;

fn prio_targets(t: &Task, which: u64, who: u64) -> KResult<Vec<Arc<ThreadGroup>>> {
    let who = who as u32 as i32;
    let all = t.kernel.all_groups().into_iter().filter(|g| !g.st().zombie);
    let v: Vec<_> = match which {
        PRIO_PROCESS => vec![target(t, who as u64).map_err(|_| Errno::ESRCH)?],
        PRIO_PGRP => {
            let pg = if who == 0 { t.tg.pgid() } else { who };
            all.filter(|g| g.pgid() == pg).collect()
        }
        PRIO_USER => {
            let uid = if who == 0 { t.creds().uid } else { who as u32 };
            all.filter(|g| g.creds.lock().unwrap_or_else(|e| e.into_inner()).uid == uid).collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if v.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(v)
}

/// Implements getpriority(2): returns 20 - nice of the highest priority.
pub fn sys_getpriority(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let best = prio_targets(sc.task, a[0], a[1])?.iter().map(|g| g.nice.load(Ordering::Relaxed)).min().unwrap_or(0);
    Ok((20 - best) as u64)
}

/// Implements setpriority(2): nice is clamped to -20..19; lowering it
/// needs privilege.
pub fn sys_setpriority(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let nice = (a[2] as i32).clamp(-20, 19);
    let root = sc.task.creds().euid == 0;
    for g in prio_targets(sc.task, a[0], a[1])? {
        if nice < g.nice.load(Ordering::Relaxed) && !root {
            return Err(Errno::EACCES);
        }
        g.nice.store(nice, Ordering::Relaxed);
    }
    Ok(0)
}

const CAP_V1: u32 = 0x1998_0330;
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;

/// (effective, permitted, inheritable) as 64-bit sets.
fn cap_header(sc: &Sc<'_>, hdr: u64) -> KResult<(usize, i32)> {
    let h: [u32; 2] = sc.task.mm().read_val(hdr)?;
    let words = match h[0] {
        CAP_V1 => 1,
        CAP_V2 | CAP_V3 => 2,
        _ => {
            sc.task.mm().write_val(hdr, &[CAP_V3, h[1]])?;
            return Err(Errno::EINVAL);
        }
    };
    Ok((words, h[1] as i32))
}

/// Implements capget(2).
pub fn sys_capget(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (words, pid) = cap_header(sc, a[0])?;
    if a[1] == 0 {
        return Ok(0);
    }
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let tg = target(sc.task, pid as u64)?;
    let (e, p, i) = *tg.caps.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::new();
    for w in 0..words {
        for set in [e, p, i] {
            out.extend_from_slice(&((set >> (32 * w)) as u32).to_ne_bytes());
        }
    }
    sc.task.mm().copy_out(a[1], &out)?;
    Ok(0)
}

/// Implements capset(2) for the calling process: permitted may only
/// shrink, effective must stay within permitted, inheritable within
/// inheritable | permitted.
pub fn sys_capset(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (words, pid) = cap_header(sc, a[0])?;
    if pid != 0 && pid != sc.task.tid() {
        return Err(Errno::EPERM);
    }
    let raw: Vec<u32> = sc.task.mm().read_vec(a[1], 3 * words)?;
    let get = |k: usize| (0..words).fold(0u64, |acc, w| acc | (raw[w * 3 + k] as u64) << (32 * w));
    let (ne, np, ni) = (get(0), get(1), get(2));
    let mut caps = sc.task.tg.caps.lock().unwrap_or_else(|e| e.into_inner());
    let (_, p, i) = *caps;
    if np & !p != 0 || ne & !np != 0 || ni & !(i | p) != 0 {
        return Err(Errno::EPERM);
    }
    *caps = (ne, np, ni);
    Ok(0)
}
