//! poll, ppoll, select, pselect6.

use std::sync::Arc;

use super::Sc;
use crate::vfs::File;
use crate::kernel::wait::deadline_after;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use bytemuck::{Pod, Zeroable};
use std::time::{Duration, Instant};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

/// Wait until `check` finds something ready among `files` (it returns
/// Some), the deadline passes (`check` is asked once more and its answer,
/// possibly None, returned), or a signal arrives (ERESTARTNOHAND). Files
/// with a wait queue wake the task; host fds and files without one are
/// polled in 10 ms slices.
pub(super) fn wait_files<R>(
    t: &Task,
    deadline: Option<Instant>,
    mut files: impl FnMut() -> Vec<Arc<File>>,
    mut check: impl FnMut() -> KResult<Option<R>>,
) -> KResult<Option<R>> {
    loop {
        let g = t.waker.gen();
        if let Some(r) = check()? {
            return Ok(Some(r));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        if t.has_pending_signal() {
            return Err(Errno::ERESTARTNOHAND);
        }
        let watched = files();
        for f in &watched {
            if let Some(q) = f.ops.wait_queue() {
                q.add(&t.waker);
            }
        }
        let slow = watched.iter().any(|f| f.ops.host_fd().is_some() || f.ops.wait_queue().is_none());
        let slice = Instant::now() + Duration::from_millis(if slow { 10 } else { 1000 });
        t.waker.wait(g, Some(deadline.map_or(slice, |d| d.min(slice))));
        for f in &watched {
            if let Some(q) = f.ops.wait_queue() {
                q.remove(&t.waker);
            }
        }
    }
}

fn do_poll(t: &Task, fds_addr: u64, n: u64, timeout: Option<Duration>) -> KResult<u64> {
    if n > t.tg.rlimit(7).cur.max(1024) {
        return Err(Errno::EINVAL);
    }
    let mut pfds: Vec<PollFd> = t.mm().read_vec(fds_addr, n as usize)?;
    let deadline = timeout.and_then(deadline_after);
    let fds = t.fds();
    let files = || pfds_files(&fds, &pfds);
    let mut scan = pfds.clone();
    let scan_once = |pf: &mut Vec<PollFd>| -> u64 {
        let mut ready = 0;
        for p in pf.iter_mut() {
            p.revents = 0;
            if p.fd < 0 {
                continue;
            }
            p.revents = match fds.get(p.fd) {
                Err(_) => 0x20, // POLLNVAL
                Ok(f) => (f.ops.readiness_for(t) & ((p.events as u32) | crate::vfs::POLLERR | crate::vfs::POLLHUP)) as i16,
            };
            if p.revents != 0 {
                ready += 1;
            }
        }
        ready
    };
    let r = wait_files(t, deadline, files, || {
        let n = scan_once(&mut scan);
        Ok((n > 0).then_some(n))
    })?;
    if r.is_none() {
        scan_once(&mut scan);
    }
    pfds = scan;
    t.mm().copy_out(fds_addr, bytemuck::cast_slice(&pfds))?;
    Ok(r.unwrap_or(0))
}

fn pfds_files(fds: &crate::vfs::FdTable, pfds: &[PollFd]) -> Vec<Arc<File>> {
    pfds.iter().filter(|p| p.fd >= 0).filter_map(|p| fds.get(p.fd).ok()).collect()
}

/// Implements poll(2).
pub fn sys_poll(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let to = a[2] as i32;
    let timeout = if to < 0 { None } else { Some(Duration::from_millis(to as u64)) };
    do_poll(sc.task, a[0], a[1], timeout)
}

fn read_timespec(t: &Task, addr: u64) -> KResult<Option<Duration>> {
    if addr == 0 {
        return Ok(None);
    }
    super::time::read_timespec(t, addr).map(Some)
}

fn write_timespec(t: &Task, addr: u64, d: Duration) -> KResult<()> {
    t.mm().write_val(addr, &[d.as_secs() as i64, d.subsec_nanos() as i64])
}

/// Implements ppoll(2). As Linux, the time left is written back.
pub fn sys_ppoll(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let timeout = read_timespec(sc.task, a[2])?;
    let start = Instant::now();
    let r = with_sigmask(sc, a[3], || do_poll(sc.task, a[0], a[1], timeout));
    if let Some(d) = timeout {
        write_timespec(sc.task, a[2], d.saturating_sub(start.elapsed()))?;
    }
    r
}

pub(super) fn with_sigmask(sc: &Sc<'_>, maskp: u64, f: impl FnOnce() -> KResult<u64>) -> KResult<u64> {
    if maskp == 0 {
        return f();
    }
    let m: u64 = sc.task.mm().read_val(maskp)?;
    let old = sc.task.sigmask.swap(m & !crate::kernel::signal::UNBLOCKABLE, std::sync::atomic::Ordering::SeqCst);
    let r = f();
    if r == Err(Errno::ERESTARTNOHAND) || r == Err(Errno::EINTR) {
        *sc.task.saved_mask.lock().unwrap_or_else(|e| e.into_inner()) = Some(old);
    } else {
        sc.task.sigmask.store(old, std::sync::atomic::Ordering::SeqCst);
    }
    r
}

fn do_select(t: &Task, n: u64, sets: [u64; 3], timeout: Option<Duration>) -> KResult<u64> {
    if n > 1024 {
        return Err(Errno::EINVAL);
    }
    let words = n.div_ceil(64) as usize;
    let mut ins: [Vec<u64>; 3] = [vec![0; words], vec![0; words], vec![0; words]];
    for i in 0..3 {
        if sets[i] != 0 && words > 0 {
            ins[i] = t.mm().read_vec(sets[i], words)?;
        }
    }
    let mut pfds = Vec::new();
    for fd in 0..n as usize {
        let mut ev = 0i16;
        if ins[0].get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0) {
            ev |= 1;
        }
        if ins[1].get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0) {
            ev |= 4;
        }
        if ins[2].get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0) {
            ev |= 2;
        }
        if ev != 0 {
            t.fds().get(fd as i32)?;
            pfds.push(PollFd { fd: fd as i32, events: ev, revents: 0 });
        }
    }
    // Poll through a scratch copy kept in the sentry.
    let deadline = timeout.and_then(deadline_after);
    loop {
        let g = t.waker.gen();
        let mut outs: [Vec<u64>; 3] = [vec![0; words], vec![0; words], vec![0; words]];
        let mut count = 0;
        for p in &pfds {
            let f = t.fds().get(p.fd)?;
            let r = f.ops.readiness_for(t);
            let fd = p.fd as usize;
            if p.events & 1 != 0 && r & (1 | 16 | 8) != 0 {
                outs[0][fd / 64] |= 1 << (fd % 64);
                count += 1;
            }
            if p.events & 4 != 0 && r & (4 | 8) != 0 {
                outs[1][fd / 64] |= 1 << (fd % 64);
                count += 1;
            }
        }
        if count > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            for i in 0..3 {
                if sets[i] != 0 && words > 0 {
                    t.mm().copy_out(sets[i], bytemuck::cast_slice(&outs[i]))?;
                }
            }
            return Ok(count);
        }
        if t.has_pending_signal() {
            return Err(Errno::ERESTARTNOHAND);
        }
        let slice = Instant::now() + Duration::from_millis(10);
        t.waker.wait(g, Some(deadline.map(|d| d.min(slice)).unwrap_or(slice)));
    }
}

/// Implements select(2).
pub fn sys_select(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let timeout = if a[4] == 0 {
        None
    } else {
        let tv: [i64; 2] = sc.task.mm().read_val(a[4])?;
        if tv[0] < 0 || !(0..1_000_000).contains(&tv[1]) {
            return Err(Errno::EINVAL);
        }
        Some(Duration::new(tv[0] as u64, tv[1] as u32 * 1000))
    };
    let start = Instant::now();
    let r = do_select(sc.task, a[0], [a[1], a[2], a[3]], timeout);
    // As Linux, the time left goes back to the timeval, whatever the outcome.
    if let Some(d) = timeout {
        let left = d.saturating_sub(start.elapsed());
        let tv: [i64; 2] = [left.as_secs() as i64, left.subsec_micros() as i64];
        sc.task.mm().write_val(a[4], &tv)?;
    }
    r
}

/// Implements pselect6(2).
pub fn sys_pselect6(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let timeout = read_timespec(sc.task, a[4])?;
    let maskp = if a[5] != 0 { sc.task.mm().read_val::<u64>(a[5])? } else { 0 };
    let start = Instant::now();
    let r = with_sigmask(sc, maskp, || do_select(sc.task, a[0], [a[1], a[2], a[3]], timeout));
    if let Some(d) = timeout {
        let left = d.saturating_sub(start.elapsed());
        write_timespec(sc.task, a[4], left)?;
    }
    r
}
