//! Clocks, sleeping, resource usage.

use std::time::{Duration, Instant};

use super::Sc;
use crate::kernel::task::Task;
use crate::kernel::wait::deadline_after;
use crate::errno::{Errno, KResult};

pub(super) fn clock_now(id: i32) -> KResult<(i64, i64)> {
    // The host's own clocks, each as the host's vDSO reads it (the
    // application may use that vDSO: both must agree).
    let host = match id {
        0 | 8 => libc::CLOCK_REALTIME,
        5 => libc::CLOCK_REALTIME_COARSE,
        1 => libc::CLOCK_MONOTONIC,
        4 => libc::CLOCK_MONOTONIC_RAW,
        6 => libc::CLOCK_MONOTONIC_COARSE,
        7 | 9 => libc::CLOCK_BOOTTIME,
        11 => libc::CLOCK_TAI,
        2 | 3 => libc::CLOCK_MONOTONIC,
        _ => return Err(Errno::EINVAL),
    };
    let ts = nix::time::clock_gettime(nix::time::ClockId::from_raw(host))?;
    Ok((ts.tv_sec(), ts.tv_nsec()))
}

/// The CPU time a CPU clock id measures: 2 (this process), 3 (this
/// thread), or a negative id naming a process or thread (clock_getcpuclockid,
/// pthread_getcpuclockid). CPUCLOCK_VIRT counts user time only.
fn cpu_clock(t: &Task, id: i32) -> KResult<Duration> {
    let sum = |(u, s): (Duration, Duration)| u + s;
    match id {
        2 => Ok(sum(t.tg.cpu_times(&t.kernel))),
        3 => Ok(sum(t.cpu_times())),
        id if id < 0 => {
            let pid = !(id >> 3);
            let thread = id & 4 != 0;
            let which = id & 3;
            if which == 3 {
                return Err(Errno::EINVAL);
            }
            let (u, s) = if thread {
                let task = if pid == 0 { t.kernel.task(t.tid()) } else { t.kernel.task(pid) };
                let task = task.filter(|x| x.tg.tgid == t.tg.tgid).ok_or(Errno::EINVAL)?;
                task.cpu_times()
            } else {
                let tg = if pid == 0 { Some(t.tg.clone()) } else { t.kernel.group(pid) };
                tg.filter(|g| !g.st().zombie).ok_or(Errno::EINVAL)?.cpu_times(&t.kernel)
            };
            Ok(if which == 1 { u } else { u + s })
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Implements clock_gettime(2).
pub fn sys_clock_gettime(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let id = a[0] as i32;
    let t = if id == 2 || id == 3 || id < 0 {
        let d = cpu_clock(sc.task, id)?;
        (d.as_secs() as i64, d.subsec_nanos() as i64)
    } else {
        clock_now(id)?
    };
    sc.task.mm().write_val(a[1], &[t.0, t.1])?;
    Ok(0)
}

/// Implements clock_getres(2).
pub fn sys_clock_getres(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let id = a[0] as i32;
    if id == 2 || id == 3 || id < 0 {
        cpu_clock(sc.task, id)?;
    } else {
        clock_now(id)?;
    }
    if a[1] != 0 {
        sc.task.mm().write_val(a[1], &[0i64, 1])?;
    }
    Ok(0)
}

/// Implements clock_settime(2). The sandbox never sets the host's clock:
/// CLOCK_REALTIME is EPERM (no CAP_SYS_TIME inside), every other clock
/// EINVAL, as Linux answers for clocks that cannot be set.
pub fn sys_clock_settime(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let ts: [i64; 2] = sc.task.mm().read_val(a[1])?;
    if a[0] as i32 != 0 {
        return Err(Errno::EINVAL);
    }
    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    Err(Errno::EPERM)
}

/// Implements settimeofday(2): as clock_settime, EPERM.
pub fn sys_settimeofday(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] != 0 {
        let tv: [i64; 2] = sc.task.mm().read_val(a[0])?;
        if tv[0] < 0 || !(0..1_000_000).contains(&tv[1]) {
            return Err(Errno::EINVAL);
        }
    }
    if a[1] != 0 {
        sc.task.mm().read_val::<[i32; 2]>(a[1])?;
    }
    Err(Errno::EPERM)
}

/// Implements gettimeofday(2).
pub fn sys_gettimeofday(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = clock_now(0)?;
    if a[0] != 0 {
        sc.task.mm().write_val(a[0], &[t.0, t.1 / 1000])?;
    }
    if a[1] != 0 {
        sc.task.mm().write_val(a[1], &[0i32, 0])?;
    }
    Ok(0)
}

/// Implements time(2).
pub fn sys_time(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = clock_now(0)?;
    if a[0] != 0 {
        sc.task.mm().write_val(a[0], &t.0)?;
    }
    Ok(t.0 as u64)
}

/// Read a `struct timespec` duration; EINVAL for a negative or
/// unnormalized one.
pub fn read_timespec(t: &Task, addr: u64) -> KResult<Duration> {
    let ts: [i64; 2] = t.mm().read_val(addr)?;
    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(ts[0] as u64, ts[1] as u32))
}

fn sleep(sc: &mut Sc<'_>, d: Duration, rem: u64) -> KResult<u64> {
    sleep_to(sc, deadline_after(d), rem)
}

/// Sleep until `deadline`. Interrupted, the time left goes to `rem` and
/// the sleep ends with ERESTART_RESTARTBLOCK: EINTR if a handler runs,
/// else restart_syscall(2) sleeps on to the same end (as after a stop and
/// a continue), as in Linux.
fn sleep_to(sc: &mut Sc<'_>, deadline: Option<Instant>, rem: u64) -> KResult<u64> {
    match sc.task.sleep_until(deadline) {
        Ok(()) => Ok(0),
        Err(_) => {
            if rem != 0 {
                let left = deadline.map_or(Duration::MAX, |dl| dl.saturating_duration_since(Instant::now()));
                let secs = left.as_secs().min(i64::MAX as u64) as i64;
                sc.task.mm().write_val(rem, &[secs, left.subsec_nanos() as i64])?;
            }
            *sc.task.restart_block.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(crate::kernel::task::RestartBlock::Sleep { deadline, rem });
            Err(Errno::ERESTART_RESTARTBLOCK)
        }
    }
}

/// Implements restart_syscall(2): resume the interrupted syscall's
/// restart block; with none, EINTR (as Linux's do_no_restart_syscall).
pub fn sys_restart_syscall(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    let block = sc.task.restart_block.lock().unwrap_or_else(|e| e.into_inner()).take();
    match block {
        Some(crate::kernel::task::RestartBlock::Sleep { deadline, rem }) => sleep_to(sc, deadline, rem),
        Some(crate::kernel::task::RestartBlock::Futex { uaddr, val, bitset, private, deadline }) => {
            super::futex::futex_wait(sc.task, uaddr, val, bitset, private, deadline, true)
        }
        None => Err(Errno::EINTR),
    }
}

/// Implements nanosleep(2).
pub fn sys_nanosleep(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let d = read_timespec(sc.task, a[0])?;
    sleep(sc, d, a[1])
}

/// Implements clock_nanosleep(2).
pub fn sys_clock_nanosleep(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let id = a[0] as i32;
    if a[1] & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    if id == 3 {
        // CLOCK_THREAD_CPUTIME_ID has no nanosleep in Linux.
        return Err(Errno::EOPNOTSUPP);
    }
    if let Some(clock) = cpu_clock_of(sc.task, id)? {
        return cpu_sleep(sc, clock, a[1] & 1 != 0, a[2], a[3]);
    }
    clock_now(id).map_err(|_| Errno::EINVAL)?;
    let d = read_timespec(sc.task, a[2])?;
    if a[1] & 1 != 0 {
        let now = clock_now(id)?;
        let now = Duration::new(now.0 as u64, now.1 as u32);
        let rel = d.saturating_sub(now);
        // An absolute sleep restarts with the same arguments.
        return match sc.task.sleep_until(deadline_after(rel)) {
            Ok(()) => Ok(0),
            Err(_) => Err(Errno::ERESTARTNOHAND),
        };
    }
    sleep(sc, d, a[3])
}

/// clock_nanosleep on a CPU-time clock: sleep (sampling the clock) until
/// it reaches the deadline. The caller's own thread clock never advances
/// while it sleeps, so Linux refuses it (EINVAL).
fn cpu_sleep(sc: &mut Sc<'_>, clock: CpuClock, abs: bool, req: u64, rem: u64) -> KResult<u64> {
    let t = sc.task;
    if matches!(clock, CpuClock::Thread { tid, .. } if tid == t.tid()) {
        return Err(Errno::EINVAL);
    }
    let d = read_timespec(t, req)?;
    let now = clock.now(&t.kernel).ok_or(Errno::EINVAL)?;
    let target = if abs { d } else { now + d };
    loop {
        let Some(now) = clock.now(&t.kernel) else { return Ok(0) };
        if now >= target {
            return Ok(0);
        }
        match t.sleep_until(deadline_after(Duration::from_millis(4))) {
            Ok(()) => {}
            Err(e) => {
                if !abs && rem != 0 {
                    let left = target.saturating_sub(now);
                    t.mm().write_val(rem, &[left.as_secs() as i64, left.subsec_nanos() as i64])?;
                }
                return Err(e);
            }
        }
    }
}

/// A `struct rusage` with user and system time (the other fields zero,
/// except the resident-set high-water mark, approximated by the current).
pub(super) fn rusage(user: Duration, sys: Duration, maxrss_kb: i64) -> [i64; 18] {
    let mut v = [0i64; 18];
    v[0] = user.as_secs() as i64;
    v[1] = user.subsec_micros() as i64;
    v[2] = sys.as_secs() as i64;
    v[3] = sys.subsec_micros() as i64;
    v[4] = maxrss_kb;
    v
}

/// Implements getrusage(2).
pub fn sys_getrusage(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let rss = (t.mm().resident_pages() * 4) as i64;
    let v = match a[0] as i32 {
        0 => {
            let (u, s) = t.tg.cpu_times(&t.kernel);
            rusage(u, s, rss)
        }
        1 => {
            let (u, s) = t.cpu_times();
            rusage(u, s, rss)
        }
        -1 => {
            let (u, s) = *t.tg.cpu_children.lock().unwrap_or_else(|e| e.into_inner());
            rusage(u, s, 0)
        }
        _ => return Err(Errno::EINVAL),
    };
    t.mm().write_val(a[1], &v)?;
    Ok(0)
}

/// Implements times(2): clock ticks of 1/100 s.
pub fn sys_times(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let ticks = |d: Duration| (d.as_millis() / 10) as i64;
    if a[0] != 0 {
        let t = sc.task;
        let (u, s) = t.tg.cpu_times(&t.kernel);
        let (cu, cs) = *t.tg.cpu_children.lock().unwrap_or_else(|e| e.into_inner());
        t.mm().write_val(a[0], &[ticks(u), ticks(s), ticks(cu), ticks(cs)])?;
    }
    Ok((crate::kernel::uptime().as_millis() / 10) as u64 + 100_000)
}

/// Implements sysinfo(2).
pub fn sys_sysinfo(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let mut b = [0u8; 112];
    let up = crate::kernel::uptime().as_secs() as i64;
    b[0..8].copy_from_slice(&up.to_ne_bytes());
    b[32..40].copy_from_slice(&crate::mm::memfile::REPORTED_TOTAL.to_ne_bytes());
    b[40..48].copy_from_slice(&sc.task.kernel.mf.free_bytes().to_ne_bytes());
    let procs = sc.task.kernel.all_tasks().len() as u16;
    b[80..82].copy_from_slice(&procs.to_ne_bytes());
    b[104..108].copy_from_slice(&1u32.to_ne_bytes());
    sc.task.mm().copy_out(a[0], &b)?;
    Ok(0)
}

/// Read a `struct itimerval` (interval, value) of timevals.
fn read_itimerval(t: &Task, addr: u64) -> KResult<(Duration, Duration)> {
    let v: [i64; 4] = t.mm().read_val(addr)?;
    let tv = |s: i64, us: i64| -> KResult<Duration> {
        if s < 0 || !(0..1_000_000).contains(&us) {
            return Err(Errno::EINVAL);
        }
        Ok(Duration::new(s as u64, us as u32 * 1000))
    };
    Ok((tv(v[0], v[1])?, tv(v[2], v[3])?))
}

fn write_itimerval(t: &Task, addr: u64, (left, interval): (Duration, Duration)) -> KResult<()> {
    let v: [i64; 4] =
        [interval.as_secs() as i64, interval.subsec_micros() as i64, left.as_secs() as i64, left.subsec_micros() as i64];
    t.mm().write_val(addr, &v)
}

/// The timer and clock setitimer's `which` names.
fn itimer(t: &Task, which: u64) -> KResult<(TimerKey, Option<CpuClock>)> {
    let tgid = t.tg.tgid;
    match which {
        0 => Ok((TimerKey::Real(tgid), None)),
        1 => Ok((TimerKey::Virtual(tgid), Some(CpuClock::Process { tgid, user_only: true }))),
        2 => Ok((TimerKey::Prof(tgid), Some(CpuClock::Process { tgid, user_only: false }))),
        _ => Err(Errno::EINVAL),
    }
}

/// Implements getitimer(2).
pub fn sys_getitimer(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (key, _) = itimer(sc.task, a[0])?;
    let cur = sc.task.kernel.timers.get(key);
    write_itimerval(sc.task, a[1], cur)?;
    Ok(0)
}

/// Implements setitimer(2): ITIMER_REAL counts wall time, ITIMER_VIRTUAL
/// the process's user time, ITIMER_PROF its user and system time.
pub fn sys_setitimer(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (key, clock) = itimer(sc.task, a[0])?;
    let (interval, value) = if a[1] != 0 { read_itimerval(sc.task, a[1])? } else { (Duration::ZERO, Duration::ZERO) };
    let k = &sc.task.kernel;
    let old = match clock {
        None => k.timers.set(k, key, value, interval),
        Some(c) => k.timers.set_cpu(k, key, c, value, interval),
    };
    if a[2] != 0 {
        write_itimerval(sc.task, a[2], old)?;
    }
    Ok(0)
}

/// Implements alarm(2): returns the seconds left of the previous alarm,
/// rounded to the nearest second but never 0 for a pending one.
pub fn sys_alarm(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let secs = a[0] as u32 as u64;
    let (left, _) = sc.task.kernel.timers.set_real(&sc.task.kernel, sc.task.tg.tgid, Duration::from_secs(secs), Duration::ZERO);
    if left.is_zero() {
        return Ok(0);
    }
    let mut s = left.as_secs();
    if left.subsec_micros() >= 500_000 || s == 0 {
        s += 1;
    }
    Ok(s)
}

use crate::kernel::timers::{CpuClock, PosixTimer, TimerKey, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD_ID};

/// The CPU-time clock a clock id names for a timer or a sleep: 2 (this
/// process), 3 (this thread) or a clock_getcpuclockid/pthread_getcpuclockid
/// id. None for wall clocks; EINVAL for ids naming nothing.
fn cpu_clock_of(t: &Task, id: i32) -> KResult<Option<CpuClock>> {
    match id {
        2 => Ok(Some(CpuClock::Process { tgid: t.tg.tgid, user_only: false })),
        3 => Ok(Some(CpuClock::Thread { tid: t.tid(), user_only: false })),
        id if id < 0 => {
            cpu_clock(t, id)?;
            let pid = !(id >> 3);
            let user_only = id & 3 == 1;
            Ok(Some(if id & 4 != 0 {
                CpuClock::Thread { tid: if pid == 0 { t.tid() } else { pid }, user_only }
            } else {
                CpuClock::Process { tgid: if pid == 0 { t.tg.tgid } else { pid }, user_only }
            }))
        }
        _ => Ok(None),
    }
}

/// Implements timer_create(2) on CLOCK_REALTIME, CLOCK_MONOTONIC,
/// CLOCK_BOOTTIME and the CPU-time clocks.
pub fn sys_timer_create(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let clock = a[0] as i32;
    let t = sc.task;
    let cpu = cpu_clock_of(t, clock)?;
    if cpu.is_none() && ![0, 1, 7].contains(&clock) {
        return Err(Errno::EINVAL);
    }
    let mut pt = PosixTimer { clock, notify: SIGEV_SIGNAL, signo: crate::kernel::signal::sig::SIGALRM, value: 0, tid: 0, cpu, overrun: 0, overrun_last: 0 };
    if a[1] != 0 {
        // struct sigevent: sigval, signo, notify, then the thread id.
        let ev: [u8; 20] = t.mm().read_val(a[1])?;
        pt.value = u64::from_ne_bytes(ev[0..8].try_into().unwrap_or_default());
        pt.signo = i32::from_ne_bytes(ev[8..12].try_into().unwrap_or_default());
        pt.notify = i32::from_ne_bytes(ev[12..16].try_into().unwrap_or_default());
        pt.tid = i32::from_ne_bytes(ev[16..20].try_into().unwrap_or_default());
        match pt.notify {
            SIGEV_NONE => {}
            SIGEV_SIGNAL | SIGEV_THREAD_ID => {
                if !(1..=64).contains(&pt.signo) {
                    return Err(Errno::EINVAL);
                }
                if pt.notify == SIGEV_THREAD_ID && t.kernel.task(pt.tid).filter(|x| x.tg.tgid == t.tg.tgid).is_none() {
                    return Err(Errno::EINVAL);
                }
            }
            _ => return Err(Errno::EINVAL),
        }
    }
    let mut timers = t.tg.posix_timers.lock().unwrap_or_else(|e| e.into_inner());
    let id = (0..).find(|i| !timers.contains_key(i)).unwrap_or(0);
    if a[1] == 0 {
        pt.value = id as u64;
    }
    timers.insert(id, pt);
    drop(timers);
    if let Err(e) = t.mm().write_val(a[2], &id) {
        t.tg.posix_timers.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        return Err(e);
    }
    Ok(0)
}

fn posix_timer(t: &Task, id: u64) -> KResult<PosixTimer> {
    t.tg.posix_timers.lock().unwrap_or_else(|e| e.into_inner()).get(&(id as i32)).copied().ok_or(Errno::EINVAL)
}

/// Write a `struct itimerspec` (interval, value).
pub(super) fn write_itimerspec(t: &Task, addr: u64, (left, interval): (Duration, Duration)) -> KResult<()> {
    let v: [i64; 4] = [interval.as_secs() as i64, interval.subsec_nanos() as i64, left.as_secs() as i64, left.subsec_nanos() as i64];
    t.mm().write_val(addr, &v)
}

/// Implements timer_settime(2) (TIMER_ABSTIME measured on the timer's clock).
pub fn sys_timer_settime(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let pt = posix_timer(t, a[0])?;
    if a[1] & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    let interval = read_timespec(t, a[2])?;
    let mut value = read_timespec(t, a[2] + 16)?;
    if a[1] & 1 != 0 && !value.is_zero() {
        let now = match pt.cpu {
            Some(c) => c.now(&t.kernel).unwrap_or_default(),
            None => {
                let now = clock_now(pt.clock)?;
                Duration::new(now.0 as u64, now.1 as u32)
            }
        };
        value = value.saturating_sub(now).max(Duration::from_nanos(1));
    }
    let key = TimerKey::Posix(t.tg.tgid, a[0] as i32);
    let old = match pt.cpu {
        Some(c) => t.kernel.timers.set_cpu(&t.kernel, key, c, value, interval),
        None => t.kernel.timers.set(&t.kernel, key, value, interval),
    };
    if a[3] != 0 {
        write_itimerspec(t, a[3], old)?;
    }
    Ok(0)
}

/// Implements timer_gettime(2).
pub fn sys_timer_gettime(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    posix_timer(t, a[0])?;
    write_itimerspec(t, a[1], t.kernel.timers.get(TimerKey::Posix(t.tg.tgid, a[0] as i32)))?;
    Ok(0)
}

/// Implements timer_getoverrun(2): the overruns of the last signal taken.
pub fn sys_timer_getoverrun(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    Ok(posix_timer(sc.task, a[0])?.overrun_last as u64)
}

/// Implements timer_delete(2).
pub fn sys_timer_delete(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    t.tg.posix_timers.lock().unwrap_or_else(|e| e.into_inner()).remove(&(a[0] as i32)).ok_or(Errno::EINVAL)?;
    t.kernel.timers.set(&t.kernel, TimerKey::Posix(t.tg.tgid, a[0] as i32), Duration::ZERO, Duration::ZERO);
    Ok(0)
}
