//! System V IPC: shared memory (shmget, shmat, shmdt, shmctl) and semaphores (semget, semop, semtimedop, semctl).

use std::cell::Cell;
use std::sync::Arc;

use platform::Prot;

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::ipc::{Segment, Sem, SemSet};
use crate::mm::{Backing, SharedAnon, PAGE};

const IPC_CREAT: u64 = 0o1000;
const IPC_EXCL: u64 = 0o2000;
const IPC_RMID: u64 = 0;
const IPC_SET: u64 = 1;
const IPC_STAT: u64 = 2;
const SHM_RDONLY: u64 = 0o10000;
const SHM_RND: u64 = 0o20000;

fn now() -> i64 {
    crate::vfs::now().0
}

/// Implements shmget(2).
pub fn sys_shmget(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (key, size, flags) = (a[0] as i32, a[1], a[2]);
    let t = sc.task;
    let shm = &t.kernel.shm;
    let mut tab = shm.lock();
    if key != 0 {
        if let Some(&id) = tab.by_key.get(&key) {
            if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if size > tab.segs[&id].size {
                return Err(Errno::EINVAL);
            }
            return Ok(id as u64);
        }
        if flags & IPC_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
    }
    // kernel.shmmax (Linux's default: u64::MAX - 2^24).
    if size < 1 || size > t.kernel.sysctls.int("kernel.shmmax", 0, u64::MAX - (1 << 24)) {
        return Err(Errno::EINVAL);
    }
    let id = tab.next_id;
    tab.next_id += 1;
    let c = t.creds();
    tab.segs.insert(
        id,
        Segment {
            key,
            size,
            mem: Arc::new(SharedAnon::default()),
            mode: (flags & 0o777) as u32,
            uid: c.euid,
            gid: c.egid,
            cpid: t.tg.tgid,
            lpid: 0,
            nattch: 0,
            removed: false,
            atime: 0,
            dtime: 0,
            ctime: now(),
        },
    );
    if key != 0 {
        tab.by_key.insert(key, id);
    }
    Ok(id as u64)
}

/// Implements shmat(2).
pub fn sys_shmat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (id, mut addr, flags) = (a[0] as i32, a[1], a[2]);
    let t = sc.task;
    if addr % PAGE != 0 {
        if flags & SHM_RND == 0 {
            return Err(Errno::EINVAL);
        }
        addr &= !(PAGE - 1);
    }
    let (mem, size) = {
        let tab = t.kernel.shm.lock();
        let s = tab.segs.get(&id).ok_or(Errno::EINVAL)?;
        (s.mem.clone(), s.size)
    };
    let prot = if flags & SHM_RDONLY != 0 { Prot::R } else { Prot::RW };
    let at = t.mm().mmap(addr, size, prot, addr != 0, false, true, Backing::Shared(mem, 0), None)?;
    t.tg.shm_attached.lock().unwrap_or_else(|e| e.into_inner()).insert(at, (id, size));
    let mut tab = t.kernel.shm.lock();
    if let Some(s) = tab.segs.get_mut(&id) {
        s.nattch += 1;
        s.lpid = t.tg.tgid;
        s.atime = now();
    }
    Ok(at)
}

/// Implements shmdt(2).
pub fn sys_shmdt(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (id, size) = t.tg.shm_attached.lock().unwrap_or_else(|e| e.into_inner()).remove(&a[0]).ok_or(Errno::EINVAL)?;
    t.mm().munmap(a[0], size)?;
    let mut tab = t.kernel.shm.lock();
    let gone = match tab.segs.get_mut(&id) {
        Some(s) => {
            s.nattch = s.nattch.saturating_sub(1);
            s.lpid = t.tg.tgid;
            s.dtime = now();
            s.removed && s.nattch == 0
        }
        None => false,
    };
    if gone {
        tab.segs.remove(&id);
    }
    Ok(0)
}

/// Implements shmctl(2): IPC_STAT, IPC_SET, IPC_RMID.
pub fn sys_shmctl(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (id, cmd, buf) = (a[0] as i32, a[1] & 0xff, a[2]);
    let t = sc.task;
    let mut tab = t.kernel.shm.lock();
    let seg = tab.segs.get_mut(&id).ok_or(Errno::EINVAL)?;
    match cmd {
        IPC_STAT => {
            let mut b = [0u8; 112];
            b[0..4].copy_from_slice(&seg.key.to_ne_bytes());
            b[4..8].copy_from_slice(&seg.uid.to_ne_bytes());
            b[8..12].copy_from_slice(&seg.gid.to_ne_bytes());
            b[12..16].copy_from_slice(&seg.uid.to_ne_bytes());
            b[16..20].copy_from_slice(&seg.gid.to_ne_bytes());
            let mode = seg.mode | if seg.removed { 0o1000 } else { 0 }; // SHM_DEST
            b[20..24].copy_from_slice(&mode.to_ne_bytes());
            b[48..56].copy_from_slice(&seg.size.to_ne_bytes());
            b[56..64].copy_from_slice(&seg.atime.to_ne_bytes());
            b[64..72].copy_from_slice(&seg.dtime.to_ne_bytes());
            b[72..80].copy_from_slice(&seg.ctime.to_ne_bytes());
            b[80..84].copy_from_slice(&seg.cpid.to_ne_bytes());
            b[84..88].copy_from_slice(&seg.lpid.to_ne_bytes());
            b[88..96].copy_from_slice(&seg.nattch.to_ne_bytes());
            drop(tab);
            t.mm().copy_out(buf, &b)?;
            Ok(0)
        }
        IPC_SET => {
            let b: [u32; 6] = t.mm().read_val(buf)?;
            seg.uid = b[1];
            seg.gid = b[2];
            seg.mode = b[5] & 0o777;
            seg.ctime = now();
            Ok(0)
        }
        IPC_RMID => {
            seg.removed = true;
            let (key, gone) = (seg.key, seg.nattch == 0);
            if key != 0 {
                tab.by_key.remove(&key);
            }
            if gone {
                tab.segs.remove(&id);
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

const IPC_NOWAIT: i16 = 0o4000;
const SEM_UNDO: i16 = 0x1000;
const SEMMSL: u64 = 32000;
const SEMVMX: i32 = 32767;
const GETPID: u64 = 11;
const GETVAL: u64 = 12;
const GETALL: u64 = 13;
const GETNCNT: u64 = 14;
const GETZCNT: u64 = 15;
const SETVAL: u64 = 16;
const SETALL: u64 = 17;

/// Implements semget(2).
pub fn sys_semget(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (key, nsems, flags) = (a[0] as i32, a[1] as i32, a[2]);
    let t = sc.task;
    let mut tab = t.kernel.sems.lock();
    if key != 0 {
        if let Some(&id) = tab.by_key.get(&key) {
            if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if nsems as usize > tab.sets[&id].sems.len() {
                return Err(Errno::EINVAL);
            }
            return Ok(id as u64);
        }
        if flags & IPC_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
    }
    // kernel.sem's first field, SEMMSL.
    if nsems <= 0 || nsems as u64 > t.kernel.sysctls.int("kernel.sem", 0, SEMMSL) {
        return Err(Errno::EINVAL);
    }
    let id = tab.next_id;
    tab.next_id += 1;
    let c = t.creds();
    tab.sets.insert(
        id,
        SemSet {
            key,
            sems: vec![Sem::default(); nsems as usize],
            mode: (flags & 0o777) as u32,
            uid: c.euid,
            gid: c.egid,
            otime: 0,
            ctime: now(),
            removed: false,
            wq: Default::default(),
        },
    );
    if key != 0 {
        tab.by_key.insert(key, id);
    }
    Ok(id as u64)
}

/// Implements semop(2).
pub fn sys_semop(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    semop(sc, a[0] as i32, a[1], a[2], None)
}

/// Implements semtimedop(2).
pub fn sys_semtimedop(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let timeout = if a[3] != 0 { Some(super::time::read_timespec(sc.task, a[3])?) } else { None };
    semop(sc, a[0] as i32, a[1], a[2], timeout)
}

/// Apply all operations at once or none: each wait for its condition
/// (value large enough, or zero) unless IPC_NOWAIT. SEM_UNDO adjustments
/// are kept per process and undone at its exit.
fn semop(sc: &mut Sc<'_>, id: i32, sops: u64, nsops: u64, timeout: Option<std::time::Duration>) -> KResult<u64> {
    if nsops == 0 {
        return Err(Errno::EINVAL);
    }
    if nsops > 500 {
        return Err(Errno::E2BIG);
    }
    let t = sc.task;
    let raw: Vec<u16> = t.mm().read_vec(sops, nsops as usize * 3)?;
    let ops: Vec<(usize, i16, i16)> = raw.chunks(3).map(|c| (c[0] as usize, c[1] as i16, c[2] as i16)).collect();
    let wq = {
        let tab = t.kernel.sems.lock();
        let set = tab.sets.get(&id).ok_or(Errno::EINVAL)?;
        if ops.iter().any(|o| o.0 >= set.sems.len()) {
            return Err(Errno::EFBIG);
        }
        set.wq.clone()
    };
    let deadline = timeout.and_then(crate::kernel::wait::deadline_after);
    // The semaphore this task is counted as waiting on (GETNCNT/GETZCNT).
    let waiting: Cell<Option<(usize, bool)>> = Cell::new(None);
    let r = t.block_on(&wq, false, deadline, || {
        let mut tab = t.kernel.sems.lock();
        let Some(set) = tab.sets.get_mut(&id) else { return Some(Err(Errno::EIDRM)) };
        if set.removed {
            return Some(Err(Errno::EIDRM));
        }
        if let Some(w) = waiting.take() {
            count_waiter(set, w, false);
        }
        let mut vals: Vec<i32> = set.sems.iter().map(|s| s.val).collect();
        let mut block = |n: usize, zero: bool, flg: i16| {
            if flg & IPC_NOWAIT != 0 {
                return Some(Err(Errno::EAGAIN));
            }
            waiting.set(Some((n, zero)));
            count_waiter(set, (n, zero), true);
            None
        };
        for &(n, op, flg) in &ops {
            let v = vals[n] + op as i32;
            if v > SEMVMX {
                return Some(Err(Errno::ERANGE));
            }
            if v < 0 {
                return block(n, false, flg);
            }
            if op == 0 && v != 0 {
                return block(n, true, flg);
            }
            vals[n] = v;
        }
        let pid = t.tg.tgid;
        for (s, v) in set.sems.iter_mut().zip(vals) {
            s.val = v;
        }
        for &(n, op, flg) in &ops {
            set.sems[n].pid = pid;
            if flg & SEM_UNDO != 0 && op != 0 {
                *t.tg.sem_undo.lock().unwrap_or_else(|e| e.into_inner()).entry((id, n)).or_insert(0) -= op as i32;
            }
        }
        set.otime = now();
        Some(Ok(()))
    });
    if let Some(w) = waiting.take() {
        if let Some(set) = t.kernel.sems.lock().sets.get_mut(&id) {
            count_waiter(set, w, false);
        }
    }
    wq.notify_all();
    match r {
        Ok(r) => r.map(|()| 0),
        Err(Errno::ETIMEDOUT) => Err(Errno::EAGAIN),
        // semop is never restarted after a signal handler (semop(2)).
        Err(Errno::ERESTARTSYS) => Err(Errno::EINTR),
        Err(e) => Err(e),
    }
}

/// Count (or stop counting) a waiter for semaphore `w.0` to grow, or to
/// reach zero when `w.1`.
fn count_waiter(set: &mut SemSet, (n, zero): (usize, bool), add: bool) {
    let s = &mut set.sems[n];
    let c = if zero { &mut s.zcnt } else { &mut s.ncnt };
    *c = if add { *c + 1 } else { c.saturating_sub(1) };
}

/// Undo a process's SEM_UNDO adjustments (at its exit).
pub fn sem_exit(kernel: &crate::kernel::Kernel, undo: std::collections::HashMap<(i32, usize), i32>) {
    let mut tab = kernel.sems.lock();
    for ((id, n), adj) in undo {
        if let Some(set) = tab.sets.get_mut(&id) {
            if let Some(s) = set.sems.get_mut(n) {
                s.val = (s.val + adj).clamp(0, SEMVMX);
            }
            set.wq.notify_all();
        }
    }
}

/// Implements semctl(2).
pub fn sys_semctl(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (id, num, cmd, arg) = (a[0] as i32, a[1] as usize, a[2] & 0xff, a[3]);
    let t = sc.task;
    let mut tab = t.kernel.sems.lock();
    let set = tab.sets.get_mut(&id).ok_or(Errno::EINVAL)?;
    let n = set.sems.len();
    let one = |num: usize| if num < n { Ok(num) } else { Err(Errno::EINVAL) };
    match cmd {
        IPC_RMID => {
            set.removed = true;
            let (key, wq) = (set.key, set.wq.clone());
            tab.sets.remove(&id);
            if key != 0 {
                tab.by_key.remove(&key);
            }
            drop(tab);
            wq.notify_all();
            Ok(0)
        }
        IPC_STAT => {
            let mut b = [0u8; 104];
            b[0..4].copy_from_slice(&set.key.to_ne_bytes());
            b[4..8].copy_from_slice(&set.uid.to_ne_bytes());
            b[8..12].copy_from_slice(&set.gid.to_ne_bytes());
            b[12..16].copy_from_slice(&set.uid.to_ne_bytes());
            b[16..20].copy_from_slice(&set.gid.to_ne_bytes());
            b[20..24].copy_from_slice(&set.mode.to_ne_bytes());
            b[48..56].copy_from_slice(&set.otime.to_ne_bytes());
            b[64..72].copy_from_slice(&set.ctime.to_ne_bytes());
            b[80..88].copy_from_slice(&(n as u64).to_ne_bytes());
            drop(tab);
            t.mm().copy_out(arg, &b)?;
            Ok(0)
        }
        GETVAL => Ok(set.sems[one(num)?].val as u64),
        GETPID => Ok(set.sems[one(num)?].pid as u64),
        GETNCNT => Ok(set.sems[one(num)?].ncnt as u64),
        GETZCNT => Ok(set.sems[one(num)?].zcnt as u64),
        GETALL => {
            let v: Vec<u16> = set.sems.iter().map(|s| s.val as u16).collect();
            drop(tab);
            t.mm().copy_out(arg, bytemuck::cast_slice(&v))?;
            Ok(0)
        }
        SETVAL => {
            let i = one(num)?;
            let v = arg as i32;
            if !(0..=SEMVMX).contains(&v) {
                return Err(Errno::ERANGE);
            }
            set.sems[i].val = v;
            set.sems[i].pid = t.tg.tgid;
            set.ctime = now();
            let wq = set.wq.clone();
            drop(tab);
            wq.notify_all();
            Ok(0)
        }
        SETALL => {
            drop(tab);
            let v: Vec<u16> = t.mm().read_vec(arg, n)?;
            if v.iter().any(|&x| x as i32 > SEMVMX) {
                return Err(Errno::ERANGE);
            }
            let mut tab = t.kernel.sems.lock();
            let set = tab.sets.get_mut(&id).ok_or(Errno::EIDRM)?;
            for (s, x) in set.sems.iter_mut().zip(v) {
                s.val = x as i32;
            }
            set.ctime = now();
            let wq = set.wq.clone();
            drop(tab);
            wq.notify_all();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
