//! POSIX message queue syscalls (mq_open and friends) over the sandbox's
//! mqueue directory ([`crate::fs::mqueue`]).

use std::sync::Arc;

use super::file::install;
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::fs::mqueue::{Notify, Queue, QueueFile, MQ_PRIO_MAX, SI_MESGQ};
use crate::kernel::signal::QueuedSignal;
use crate::kernel::task::Task;
use crate::vfs::oflags::{O_ACCMODE, O_CLOEXEC, O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY};
use crate::vfs::File;

/// CAP_SYS_RESOURCE lifts the sysctl limits up to Linux's hard ones.
const CAP_SYS_RESOURCE: u32 = 24;
const HARD_MSGMAX: u64 = 65536;
const HARD_MSGSIZEMAX: u64 = 16 << 20;


/// A queue name from the application: one component of at most NAME_MAX
/// bytes (glibc strips the leading '/').
fn read_name(t: &Task, addr: u64) -> KResult<Vec<u8>> {
    let name = t.mm().read_cstring(addr, 4096)?;
    if name.len() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.contains(&b'/') || name == b"." || name == b".." {
        return Err(Errno::EACCES);
    }
    Ok(name)
}

/// The queue behind `fd` (EBADF for any other file).
fn queue_file(t: &Task, fd: u64) -> KResult<(Arc<File>, Arc<Queue>)> {
    let f = t.fds().get(fd as i32)?;
    let any: Arc<dyn std::any::Any + Send + Sync> = f.inode.clone();
    let q = any.downcast::<Queue>().map_err(|_| Errno::EBADF)?;
    Ok((f, q))
}

/// A `struct mq_attr`: flags, maxmsg, msgsize, curmsgs.
fn read_attr(t: &Task, addr: u64) -> KResult<[i64; 4]> {
    let a: [i64; 8] = t.mm().read_val(addr)?;
    Ok([a[0], a[1], a[2], a[3]])
}

/// Implements mq_open(2).
pub fn sys_mq_open(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let name = read_name(t, a[0])?;
    let flags = a[1] as u32;
    let acc = flags & O_ACCMODE;
    if acc == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let dir = t.kernel.mqueues.clone();
    let q = match dir.get(&name) {
        Some(q) => {
            if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            let want = match acc {
                O_RDONLY => crate::vfs::perm::MAY_READ,
                O_WRONLY => crate::vfs::perm::MAY_WRITE,
                _ => crate::vfs::perm::MAY_READ | crate::vfs::perm::MAY_WRITE,
            };
            crate::vfs::perm::check(&t.creds(), &crate::vfs::Inode::stat(&*q)?, want)?;
            q
        }
        None if flags & O_CREAT == 0 => return Err(Errno::ENOENT),
        None => {
            let sys = &t.kernel.sysctls;
            let cap = t.capable(CAP_SYS_RESOURCE);
            let (maxmsg, msgsize) = if a[3] != 0 {
                let at = read_attr(t, a[3])?;
                if at[1] <= 0 || at[2] <= 0 {
                    return Err(Errno::EINVAL);
                }
                let (m, s) = (at[1] as u64, at[2] as u64);
                let (max_m, max_s) = if cap {
                    (HARD_MSGMAX, HARD_MSGSIZEMAX)
                } else {
                    (sys.int("fs.mqueue.msg_max", 0, 10), sys.int("fs.mqueue.msgsize_max", 0, 8192))
                };
                if m > max_m || s > max_s {
                    return Err(Errno::EINVAL);
                }
                (m as usize, s as usize)
            } else {
                crate::fs::mqueue::DEFAULT_ATTR
            };
            if !cap && dir.count() as u64 >= sys.int("fs.mqueue.queues_max", 0, 256) {
                return Err(Errno::ENOSPC);
            }
            let c = t.creds();
            dir.make(&name, maxmsg, msgsize, a[2] as u32 & !t.umask() & 0o7777, c.euid, c.egid)?
        }
    };
    let mut path = b"/".to_vec();
    path.extend_from_slice(&name);
    let ops = Arc::new(QueueFile { q: q.clone() });
    let f = File::new(ops, q, path, (flags & (O_ACCMODE | O_NONBLOCK)) | if acc == O_RDWR { O_RDWR } else { 0 });
    install(t, f, flags & O_CLOEXEC != 0)
}

/// Implements mq_unlink(2).
pub fn sys_mq_unlink(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let name = read_name(sc.task, a[0])?;
    sc.task.kernel.mqueues.remove(&name)?;
    Ok(0)
}

/// An absolute CLOCK_REALTIME timeout (None: none); EINVAL if malformed.
fn deadline(t: &Task, addr: u64) -> KResult<Option<std::time::Instant>> {
    if addr == 0 {
        return Ok(None);
    }
    let d = super::time::read_timespec(t, addr)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(Some(std::time::Instant::now() + d.saturating_sub(now)))
}

/// Implements mq_timedsend(2).
pub fn sys_mq_timedsend(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (len, prio) = (a[2] as usize, a[3] as u32);
    if a[3] >= MQ_PRIO_MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let until = deadline(t, a[4])?;
    let (f, q) = queue_file(t, a[0])?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    if len > q.msgsize {
        return Err(Errno::EMSGSIZE);
    }
    let mut msg = vec![0u8; len];
    t.mm().copy_in(a[1], &mut msg)?;
    if let Some(n) = q.send(t, msg, prio, f.nonblock(), until)? {
        if let (Some((signo, value)), Some(tg)) = (n.signal, n.tg.upgrade()) {
            let s = QueuedSignal { signo, code: SI_MESGQ, pid: t.tg.tgid, uid: t.creds().uid, value, ..Default::default() };
            crate::kernel::task::send_group(&t.kernel, &tg, s);
        }
    }
    Ok(0)
}

/// Implements mq_timedreceive(2).
pub fn sys_mq_timedreceive(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let until = deadline(t, a[4])?;
    let (f, q) = queue_file(t, a[0])?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if (a[2] as usize) < q.msgsize {
        return Err(Errno::EMSGSIZE);
    }
    let (msg, prio) = q.receive(t, f.nonblock(), until)?;
    // As Linux: a message that cannot be copied out is lost.
    t.mm().copy_out(a[1], &msg)?;
    if a[3] != 0 {
        t.mm().write_val(a[3], &prio)?;
    }
    Ok(msg.len() as u64)
}

/// Implements mq_notify(2): SIGEV_NONE and SIGEV_SIGNAL (SIGEV_THREAD
/// needs a netlink socket, which the sandbox does not serve).
pub fn sys_mq_notify(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const SIGEV_SIGNAL: i32 = 0;
    const SIGEV_NONE: i32 = 1;
    let t = sc.task;
    let req = if a[1] != 0 {
        // struct sigevent: sigval, signo, notify, ...
        let ev: [u64; 2] = t.mm().read_val(a[1])?;
        let (signo, how) = (ev[1] as u32 as i32, (ev[1] >> 32) as i32);
        match how {
            SIGEV_NONE => Some(None),
            SIGEV_SIGNAL if (1..=64).contains(&signo) => Some(Some((signo, ev[0]))),
            SIGEV_SIGNAL => return Err(Errno::EINVAL),
            2 => return Err(Errno::ENOSYS),
            _ => return Err(Errno::EINVAL),
        }
    } else {
        None
    };
    let (f, q) = queue_file(t, a[0])?;
    let tgid = t.tg.tgid;
    let file = Arc::as_ptr(&f.ops) as *const () as usize;
    q.set_notify(tgid, req.map(|signal| Notify { tg: Arc::downgrade(&t.tg), tgid, signal, file }))?;
    Ok(0)
}

/// Implements mq_getsetattr(2): only O_NONBLOCK can be set.
pub fn sys_mq_getsetattr(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let new = if a[1] != 0 { Some(read_attr(t, a[1])?) } else { None };
    if new.is_some_and(|n| n[0] & !(O_NONBLOCK as i64) != 0) {
        return Err(Errno::EINVAL);
    }
    let (f, q) = queue_file(t, a[0])?;
    let old = [(f.flags() & O_NONBLOCK) as i64, q.maxmsg as i64, q.msgsize as i64, q.len() as i64, 0, 0, 0, 0];
    if let Some(n) = new {
        let cur = f.flags();
        f.flags.store((cur & !O_NONBLOCK) | (n[0] as u32 & O_NONBLOCK), std::sync::atomic::Ordering::Relaxed);
    }
    if a[2] != 0 {
        t.mm().write_val(a[2], &old)?;
    }
    Ok(0)
}
