//! System V shared memory: shmget, shmat, shmdt, shmctl.

use std::sync::Arc;

use platform::Prot;

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::ipc::Segment;
use crate::mm::{Backing, SharedAnon, PAGE};

const IPC_CREAT: u64 = 0o1000;
const IPC_EXCL: u64 = 0o2000;
const IPC_RMID: u64 = 0;
const IPC_SET: u64 = 1;
const IPC_STAT: u64 = 2;
const SHM_RDONLY: u64 = 0o10000;
const SHM_RND: u64 = 0o20000;
/// SHMMAX and SHMMIN as Linux sets them.
const SHMMAX: u64 = u64::MAX - (1 << 24);

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
    if size < 1 || size > SHMMAX {
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
