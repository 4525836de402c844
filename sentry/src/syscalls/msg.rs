//! System V message queues: msgget, msgsnd, msgrcv, msgctl, with Linux's
//! limits, permission checks and blocking rules.

use std::sync::Arc;

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::ipc::{IpcPerm, Message, MsgQueue};
use crate::kernel::task::Task;

const IPC_CREAT: u64 = 0o1000;
const IPC_EXCL: u64 = 0o2000;
const IPC_NOWAIT: u64 = 0o4000;
const IPC_RMID: u64 = 0;
const IPC_SET: u64 = 1;
const IPC_STAT: u64 = 2;
const IPC_INFO: u64 = 3;
const MSG_STAT: u64 = 11;
const MSG_INFO: u64 = 12;
const MSG_STAT_ANY: u64 = 13;
const MSG_NOERROR: u64 = 0o10000;
const MSG_EXCEPT: u64 = 0o20000;
const MSG_COPY: u64 = 0o40000;
/// Linux's defaults (/proc/sys/kernel/msgmax, msgmnb, msgmni).
/// The limits the kernel.msgmax, msgmnb and msgmni sysctls set (Linux's
/// defaults 8192, 16384, 32000).
fn limits(t: &Task) -> (u64, u64, usize) {
    let s = &t.kernel.sysctls;
    (s.int("kernel.msgmax", 0, 8192), s.int("kernel.msgmnb", 0, 16384), s.int("kernel.msgmni", 0, 32000) as usize)
}
/// Capabilities consulted.
const CAP_IPC_OWNER: u32 = 15;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_SYS_RESOURCE: u32 = 24;

fn now() -> i64 {
    crate::vfs::now().0
}


/// Linux's ipcperms: `flag` holds the wanted rwx bits (0o444 read, 0o222
/// write, or msgget's mode).
fn ipcperms(t: &Task, p: &IpcPerm, flag: u32) -> KResult<()> {
    let c = t.creds();
    let requested = (flag >> 6) | (flag >> 3) | flag;
    let mut granted = p.mode;
    if c.euid == p.cuid || c.euid == p.uid {
        granted >>= 6;
    } else if [p.cgid, p.gid].iter().any(|&g| g == c.egid || c.groups.contains(&g)) {
        granted >>= 3;
    }
    if requested & !granted & 0o7 != 0 && !t.capable(CAP_IPC_OWNER) {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// The owner, the creator, or CAP_SYS_ADMIN may change or remove.
fn may_modify(t: &Task, p: &IpcPerm) -> bool {
    let e = t.creds().euid;
    e == p.uid || e == p.cuid || t.capable(CAP_SYS_ADMIN)
}

/// Implements msgget(2).
pub fn sys_msgget(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (key, flags) = (a[0] as i32, a[1]);
    let t = sc.task;
    let mut tab = t.kernel.msgs.lock();
    if key != 0 {
        if let Some(&idx) = tab.by_key.get(&key) {
            if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            let q = &tab.queues[&idx];
            ipcperms(t, &q.perm, (flags & 0o777) as u32)?;
            return Ok(id_of(q, idx));
        }
        if flags & IPC_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
    }
    let (_, msgmnb, msgmni) = limits(t);
    if tab.queues.len() >= msgmni {
        return Err(Errno::ENOSPC);
    }
    let idx = (0..).find(|i| !tab.queues.contains_key(i)).unwrap_or(0);
    let seq = tab.seq;
    tab.seq = if seq == u16::MAX { 0 } else { seq + 1 };
    let c = t.creds();
    let q = MsgQueue {
        perm: IpcPerm { key, uid: c.euid, gid: c.egid, cuid: c.euid, cgid: c.egid, mode: (flags & 0o777) as u32, seq },
        msgs: Default::default(),
        cbytes: 0,
        qbytes: msgmnb,
        lspid: 0,
        lrpid: 0,
        stime: 0,
        rtime: 0,
        ctime: now(),
        wq: Default::default(),
    };
    let id = id_of(&q, idx);
    tab.queues.insert(idx, q);
    if key != 0 {
        tab.by_key.insert(key, idx);
    }
    Ok(id)
}

fn id_of(q: &MsgQueue, idx: i32) -> u64 {
    ((i32::from(q.perm.seq) << 15) | idx) as u64
}

/// A signal ends the wait: restarted only when no handler ran.
fn interrupted(e: Errno) -> Errno {
    if e == Errno::ERESTARTSYS {
        Errno::ERESTARTNOHAND
    } else {
        e
    }
}

fn queue_wq(t: &Task, id: i32) -> KResult<Arc<crate::kernel::wait::WaitQueue>> {
    Ok(t.kernel.msgs.lock().get_mut(id).ok_or(Errno::EINVAL)?.wq.clone())
}

/// Implements msgsnd(2).
pub fn sys_msgsnd(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (id, msgp, size, flags) = (a[0] as i32, a[1], a[2] as i64, a[3]);
    let t = sc.task;
    if size < 0 || size as u64 > limits(t).0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    let mtype: i64 = t.mm().read_val(msgp)?;
    if mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let mut text = vec![0u8; size as usize];
    t.mm().copy_in(msgp + 8, &mut text)?;
    let wq = queue_wq(t, id)?;
    let mut msg = Some(Message { mtype, text });
    let r = t.block_on(&wq, flags & IPC_NOWAIT != 0, None, || {
        let mut tab = t.kernel.msgs.lock();
        let Some(q) = tab.get_mut(id) else { return Some(Err(Errno::EIDRM)) };
        if let Err(e) = ipcperms(t, &q.perm, 0o222) {
            return Some(Err(e));
        }
        let len = size as u64;
        if q.cbytes + len > q.qbytes || q.msgs.len() as u64 + 1 > q.qbytes {
            return None;
        }
        q.cbytes += len;
        q.msgs.push_back(msg.take()?);
        q.lspid = t.tg.tgid;
        q.stime = now();
        Some(Ok(0))
    });
    wq.notify_all();
    r.map_err(interrupted)?
}

/// Where msgrcv finds its message: the index in the queue.
fn find(q: &MsgQueue, msgtyp: i64, flags: u64) -> Option<usize> {
    if flags & MSG_COPY != 0 {
        return usize::try_from(msgtyp).ok().filter(|&i| i < q.msgs.len());
    }
    if msgtyp == 0 {
        return if q.msgs.is_empty() { None } else { Some(0) };
    }
    if msgtyp > 0 {
        let except = flags & MSG_EXCEPT != 0;
        return q.msgs.iter().position(|m| (m.mtype == msgtyp) != except);
    }
    // The first message of the lowest type not above |msgtyp|.
    let limit = msgtyp.checked_neg().unwrap_or(i64::MAX);
    let mut best: Option<(usize, i64)> = None;
    for (i, m) in q.msgs.iter().enumerate() {
        if m.mtype <= limit && best.is_none_or(|(_, t)| m.mtype < t) {
            best = Some((i, m.mtype));
        }
    }
    best.map(|(i, _)| i)
}

/// Implements msgrcv(2).
pub fn sys_msgrcv(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (id, msgp, size, msgtyp, flags) = (a[0] as i32, a[1], a[2] as i64, a[3] as i64, a[4]);
    let t = sc.task;
    if size < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MSG_COPY != 0 && (flags & IPC_NOWAIT == 0 || flags & MSG_EXCEPT != 0) {
        return Err(Errno::EINVAL);
    }
    let wq = queue_wq(t, id)?;
    let r = t.block_on(&wq, flags & IPC_NOWAIT != 0, None, || {
        let mut tab = t.kernel.msgs.lock();
        let Some(q) = tab.get_mut(id) else { return Some(Err(Errno::EIDRM)) };
        if let Err(e) = ipcperms(t, &q.perm, 0o444) {
            return Some(Err(e));
        }
        let Some(i) = find(q, msgtyp, flags) else {
            return if flags & MSG_COPY != 0 { Some(Err(Errno::ENOMSG)) } else { None };
        };
        let m = &q.msgs[i];
        if m.text.len() as u64 > size as u64 && flags & MSG_NOERROR == 0 {
            return Some(Err(Errno::E2BIG));
        }
        if flags & MSG_COPY != 0 {
            return Some(Ok(Message { mtype: m.mtype, text: m.text.clone() }));
        }
        let m = q.msgs.remove(i)?;
        q.cbytes -= m.text.len() as u64;
        q.lrpid = t.tg.tgid;
        q.rtime = now();
        Some(Ok(m))
    });
    wq.notify_all();
    let m = match r {
        Ok(r) => r?,
        Err(Errno::EAGAIN) => return Err(Errno::ENOMSG),
        Err(e) => return Err(interrupted(e)),
    };
    let n = m.text.len().min(size as usize);
    t.mm().write_val(msgp, &m.mtype)?;
    t.mm().copy_out(msgp + 8, &m.text[..n])?;
    Ok(n as u64)
}

/// struct msqid64_ds (120 bytes).
fn msqid_ds(q: &MsgQueue) -> [u8; 120] {
    let mut b = [0u8; 120];
    b[..48].copy_from_slice(&q.perm.to_bytes(0));
    for (off, v) in [(48, q.stime as u64), (56, q.rtime as u64), (64, q.ctime as u64), (72, q.cbytes), (80, q.msgs.len() as u64), (88, q.qbytes)] {
        b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    }
    b[96..100].copy_from_slice(&q.lspid.to_ne_bytes());
    b[100..104].copy_from_slice(&q.lrpid.to_ne_bytes());
    b
}

/// Implements msgctl(2).
pub fn sys_msgctl(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    // IPC_64 (0x100) selects the layout every x86-64 caller uses.
    let (id, cmd, buf) = (a[0] as i32, a[1] & !0x100, a[2]);
    let t = sc.task;
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (msgmax, msgmnb, msgmni) = limits(t);
            let tab = t.kernel.msgs.lock();
            let (pool, map, tql) = if cmd == MSG_INFO {
                let msgs: usize = tab.queues.values().map(|q| q.msgs.len()).sum();
                let bytes: u64 = tab.queues.values().map(|q| q.cbytes).sum();
                (tab.queues.len() as i32, msgs as i32, bytes as i32)
            } else {
                ((msgmni as u64 * msgmnb / 1024) as i32, msgmnb as i32, msgmnb as i32)
            };
            let max_idx = tab.queues.keys().next_back().copied().unwrap_or(0);
            drop(tab);
            let info: [i32; 8] = [pool, map, msgmax as i32, msgmnb as i32, msgmni as i32, 16, tql, 0xffff];
            t.mm().write_val(buf, &info)?;
            Ok(max_idx as u64)
        }
        MSG_STAT | MSG_STAT_ANY => {
            let mut tab = t.kernel.msgs.lock();
            let q = tab.queues.get_mut(&id).ok_or(Errno::EINVAL)?;
            if cmd == MSG_STAT {
                ipcperms(t, &q.perm, 0o444)?;
            }
            let (b, full) = (msqid_ds(q), id_of(q, id));
            drop(tab);
            t.mm().copy_out(buf, &b)?;
            Ok(full)
        }
        IPC_STAT => {
            let mut tab = t.kernel.msgs.lock();
            let q = tab.get_mut(id).ok_or(Errno::EINVAL)?;
            ipcperms(t, &q.perm, 0o444)?;
            let b = msqid_ds(q);
            drop(tab);
            t.mm().copy_out(buf, &b)?;
            Ok(0)
        }
        IPC_SET => {
            let mut b = [0u8; 120];
            t.mm().copy_in(buf, &mut b)?;
            let word = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
            let qbytes = u64::from_ne_bytes(b[88..96].try_into().unwrap_or_default());
            let msgmnb = limits(t).1;
            let mut tab = t.kernel.msgs.lock();
            let q = tab.get_mut(id).ok_or(Errno::EINVAL)?;
            if !may_modify(t, &q.perm) {
                return Err(Errno::EPERM);
            }
            if qbytes > msgmnb && !t.capable(CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            q.perm.uid = word(4);
            q.perm.gid = word(8);
            q.perm.mode = (q.perm.mode & !0o777) | (word(20) & 0o777);
            q.qbytes = qbytes;
            q.ctime = now();
            let wq = q.wq.clone();
            drop(tab);
            wq.notify_all();
            Ok(0)
        }
        IPC_RMID => {
            let mut tab = t.kernel.msgs.lock();
            let q = tab.get_mut(id).ok_or(Errno::EINVAL)?;
            if !may_modify(t, &q.perm) {
                return Err(Errno::EPERM);
            }
            let (key, wq) = (q.perm.key, q.wq.clone());
            tab.queues.remove(&(id & 0x7fff));
            if key != 0 {
                tab.by_key.remove(&key);
            }
            drop(tab);
            wq.notify_all();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
