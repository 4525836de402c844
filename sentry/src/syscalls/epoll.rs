//! eventfd and epoll.

use std::time::Duration;

use super::file::install;
use super::poll::{wait_files, with_sigmask};
use super::Sc;
use crate::errno::{Errno, KResult};
use std::sync::Arc;

use crate::fs::anon::{ep, AnonInode, Epoll, EventFd, SignalFd, TimerFd};
use crate::kernel::task::Task;
use crate::kernel::wait::deadline_after;
use crate::vfs::oflags::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::vfs::File;

const EFD_SEMAPHORE: u64 = 1;

fn new_eventfd(sc: &mut Sc<'_>, init: u64, flags: u64) -> KResult<u64> {
    if flags & !(EFD_SEMAPHORE | O_CLOEXEC as u64 | O_NONBLOCK as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = File::new(
        EventFd::new(init as u32 as u64, flags & EFD_SEMAPHORE != 0),
        AnonInode::new(),
        b"anon_inode:[eventfd]".to_vec(),
        O_RDWR | (flags as u32 & O_NONBLOCK),
    );
    install(sc.task, f, flags & O_CLOEXEC as u64 != 0)
}

/// Implements eventfd(2).
pub fn sys_eventfd(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    new_eventfd(sc, a[0], 0)
}

/// Implements eventfd2(2).
pub fn sys_eventfd2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    new_eventfd(sc, a[0], a[1])
}

fn new_epoll(sc: &mut Sc<'_>, cloexec: bool) -> KResult<u64> {
    let f = File::new(Epoll::new(), AnonInode::new(), b"anon_inode:[eventpoll]".to_vec(), O_RDWR);
    install(sc.task, f, cloexec)
}

/// Implements epoll_create(2).
pub fn sys_epoll_create(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    new_epoll(sc, false)
}

/// Implements epoll_create1(2).
pub fn sys_epoll_create1(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] & !(O_CLOEXEC as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    new_epoll(sc, a[0] != 0)
}

/// `struct epoll_event` is packed on x86-64: 4 bytes of events, 8 of data.
fn read_event(t: &Task, addr: u64) -> KResult<(u32, u64)> {
    let b: [u8; 12] = t.mm().read_val(addr)?;
    Ok((u32::from_ne_bytes(b[..4].try_into().unwrap_or_default()), u64::from_ne_bytes(b[4..].try_into().unwrap_or_default())))
}

/// Implements epoll_ctl(2).
pub fn sys_epoll_ctl(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (epfd, op, fd) = (a[0] as i32, a[1] as i32, a[2] as i32);
    let fds = sc.task.fds();
    let epf = fds.get(epfd)?;
    let target = fds.get(fd)?;
    let (events, data) = if op == 2 { (0, 0) } else { read_event(sc.task, a[3])? };
    let epoll = epf.ops.as_epoll().ok_or(Errno::EINVAL)?;
    if epfd == fd {
        return Err(Errno::EINVAL);
    }
    if !target.ops.pollable() {
        return Err(Errno::EPERM);
    }
    if events & ep::EPOLLEXCLUSIVE != 0 && (op == 3 || events & ep::EPOLLONESHOT != 0 || target.ops.as_epoll().is_some()) {
        return Err(Errno::EINVAL);
    }
    epoll.ctl(op, fd, &target, events & !ep::EPOLLWAKEUP, data)?;
    Ok(0)
}

fn do_wait(t: &Task, epfd: i32, out: u64, max: i32, timeout: Option<Duration>) -> KResult<u64> {
    if max <= 0 || max as usize > (i32::MAX as usize) / 12 {
        return Err(Errno::EINVAL);
    }
    let epf = t.fds().get(epfd)?;
    let epoll = epf.ops.as_epoll().ok_or(Errno::EINVAL)?;
    let deadline = timeout.and_then(deadline_after);
    let got = wait_files(t, deadline, || epoll.files(), || {
        let ev = epoll.collect(t, max as usize);
        Ok((!ev.is_empty()).then_some(ev))
    })?
    .unwrap_or_default();
    let mut buf = Vec::with_capacity(got.len() * 12);
    for (r, data) in &got {
        buf.extend_from_slice(&r.to_ne_bytes());
        buf.extend_from_slice(&data.to_ne_bytes());
    }
    t.mm().copy_out(out, &buf)?;
    Ok(got.len() as u64)
}

fn ms_timeout(ms: u64) -> Option<Duration> {
    let ms = ms as i32;
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

/// Implements epoll_wait(2).
pub fn sys_epoll_wait(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    do_wait(sc.task, a[0] as i32, a[1], a[2] as i32, ms_timeout(a[3]))
}

/// Implements epoll_pwait(2).
pub fn sys_epoll_pwait(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[4] != 0 && a[5] != 8 {
        return Err(Errno::EINVAL);
    }
    let t = sc.task.clone();
    with_sigmask(sc, a[4], || do_wait(&t, a[0] as i32, a[1], a[2] as i32, ms_timeout(a[3])))
}

/// Implements epoll_pwait2(2): the timeout is a timespec (NULL: forever).
pub fn sys_epoll_pwait2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[4] != 0 && a[5] != 8 {
        return Err(Errno::EINVAL);
    }
    let timeout = if a[3] == 0 { None } else { Some(super::time::read_timespec(sc.task, a[3])?) };
    let t = sc.task.clone();
    with_sigmask(sc, a[4], || do_wait(&t, a[0] as i32, a[1], a[2] as i32, timeout))
}


/// Implements timerfd_create(2).
pub fn sys_timerfd_create(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (clock, flags) = (a[0] as i32, a[1]);
    // CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME and the _ALARM ones.
    if ![0, 1, 7, 8, 9].contains(&clock) {
        return Err(Errno::EINVAL);
    }
    if flags & !(O_CLOEXEC as u64 | O_NONBLOCK as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = File::new(TimerFd::new(clock), AnonInode::new(), b"anon_inode:[timerfd]".to_vec(), O_RDWR | (flags as u32 & O_NONBLOCK));
    install(sc.task, f, flags & O_CLOEXEC as u64 != 0)
}

fn timerfd_of(t: &Task, fd: u64) -> KResult<Arc<File>> {
    let f = t.fds().get(fd as i32)?;
    if f.ops.as_timerfd().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}


/// Implements timerfd_settime(2) (TFD_TIMER_ABSTIME measured on the
/// timer's clock).
pub fn sys_timerfd_settime(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const ABSTIME: u64 = 1;
    const CANCEL_ON_SET: u64 = 2;
    if a[1] & !(ABSTIME | CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = timerfd_of(sc.task, a[0])?;
    let tfd = f.ops.as_timerfd().ok_or(Errno::EINVAL)?;
    let interval = super::time::read_timespec(sc.task, a[2])?;
    let mut value = super::time::read_timespec(sc.task, a[2] + 16)?;
    if a[1] & ABSTIME != 0 && !value.is_zero() {
        let now = super::time::clock_now(tfd.clock)?;
        let now = Duration::new(now.0 as u64, now.1 as u32);
        value = value.saturating_sub(now).max(Duration::from_nanos(1));
    }
    let old = tfd.set(value, interval);
    if a[3] != 0 {
        super::time::write_itimerspec(sc.task, a[3], old)?;
    }
    Ok(0)
}

/// Implements timerfd_gettime(2).
pub fn sys_timerfd_gettime(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = timerfd_of(sc.task, a[0])?;
    let cur = f.ops.as_timerfd().ok_or(Errno::EINVAL)?.get();
    super::time::write_itimerspec(sc.task, a[1], cur)?;
    Ok(0)
}

fn signalfd(sc: &mut Sc<'_>, fd: i32, maskp: u64, size: u64, flags: u64) -> KResult<u64> {
    if size != 8 || flags & !(O_CLOEXEC as u64 | O_NONBLOCK as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = sc.task.mm().read_val(maskp)?;
    let mask = mask & !crate::kernel::signal::UNBLOCKABLE;
    if fd != -1 {
        let f = sc.task.fds().get(fd)?;
        let s = f.ops.as_signalfd().ok_or(Errno::EINVAL)?;
        s.mask.store(mask, std::sync::atomic::Ordering::SeqCst);
        return Ok(fd as u64);
    }
    let ops = Arc::new(SignalFd { mask: std::sync::atomic::AtomicU64::new(mask) });
    let f = File::new(ops, AnonInode::new(), b"anon_inode:[signalfd]".to_vec(), O_RDWR | (flags as u32 & O_NONBLOCK));
    install(sc.task, f, flags & O_CLOEXEC as u64 != 0)
}

/// Implements signalfd(2).
pub fn sys_signalfd(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    signalfd(sc, a[0] as i32, a[1], a[2], 0)
}

/// Implements signalfd4(2).
pub fn sys_signalfd4(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    signalfd(sc, a[0] as i32, a[1], a[2], a[3])
}
