//! futex(2).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Sc;
use crate::kernel::wait::deadline_after;
use crate::errno::{Errno, KResult};
use crate::kernel::futex::{FutexWaiter, FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS};

/// Implements futex(2).
pub fn sys_futex(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (uaddr, op, val, timeout, uaddr2, val3) = (a[0], a[1] as u32, a[2] as u32, a[3], a[4], a[5] as u32);
    let cmd = op & 0x7f;
    let realtime = op & 256 != 0;
    if uaddr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    let t = sc.task;
    let mm = t.mm();
    let private = op & 128 != 0; // FUTEX_PRIVATE_FLAG
    let key = |addr: u64| mm.futex_key(addr, private);
    match cmd {
        0 | 9 => {
            // WAIT, WAIT_BITSET
            let bitset = if cmd == 9 { val3 } else { u32::MAX };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            // WAIT_BITSET's timeout is absolute (CLOCK_MONOTONIC or
            // CLOCK_REALTIME), WAIT's relative.
            let deadline = if cmd == 9 {
                abs_deadline(t, timeout, realtime)?
            } else if timeout != 0 {
                deadline_after(super::time::read_timespec(t, timeout)?)
            } else {
                None
            };
            futex_wait(t, uaddr, val, bitset, private, deadline, timeout != 0)
        }
        1 | 10 => {
            let bitset = if cmd == 10 { val3 } else { u32::MAX };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(t.kernel.futexes.wake(key(uaddr)?, val as usize, bitset) as u64)
        }
        3 | 4 => {
            // REQUEUE, CMP_REQUEUE
            if cmd == 4 {
                let v: u32 = mm.read_val(uaddr)?;
                if v != val3 {
                    return Err(Errno::EAGAIN);
                }
            }
            let n = t.kernel.futexes.wake(key(uaddr)?, val as usize, u32::MAX);
            let m = t.kernel.futexes.requeue(key(uaddr)?, key(uaddr2)?, timeout as usize);
            Ok((n + m) as u64)
        }
        5 => {
            // WAKE_OP: wake on uaddr, and on uaddr2 if the op's comparison holds.
            let oparg = (val3 >> 12) & 0xfff;
            let cmparg = val3 & 0xfff;
            let opc = (val3 >> 28) & 0xf;
            let cmp = (val3 >> 24) & 0xf;
            let arg = if opc & 8 != 0 { 1u32 << (oparg & 31) } else { oparg };
            if opc & 7 > 4 || cmp > 5 {
                return Err(Errno::ENOSYS);
            }
            // The read-modify-write of *uaddr2 is atomic, as in Linux.
            let mut old: u32 = mm.read_val(uaddr2)?;
            loop {
                let new = match opc & 7 {
                    0 => arg,
                    1 => old.wrapping_add(arg),
                    2 => old | arg,
                    3 => old & !arg,
                    _ => old ^ arg,
                };
                let found = mm.cmpxchg_u32(uaddr2, old, new)?;
                if found == old {
                    break;
                }
                old = found;
            }
            let n = t.kernel.futexes.wake(key(uaddr)?, val as usize, u32::MAX);
            let ok = match cmp {
                0 => old == cmparg,
                1 => old != cmparg,
                2 => (old as i32) < cmparg as i32,
                3 => (old as i32) <= cmparg as i32,
                4 => (old as i32) > cmparg as i32,
                5 => (old as i32) >= cmparg as i32,
                _ => return Err(Errno::ENOSYS),
            };
            let m = if ok { t.kernel.futexes.wake(key(uaddr2)?, timeout as usize, u32::MAX) } else { 0 };
            Ok((n + m) as u64)
        }
        6 | 13 => {
            // LOCK_PI's timeout is absolute on CLOCK_REALTIME; LOCK_PI2's
            // on CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME.
            let deadline = abs_deadline(t, timeout, cmd == 6 || realtime)?;
            let w = FutexWaiter::new(t.waker.clone(), t.tid(), u32::MAX, true, None);
            lock_pi(t, &mm, uaddr, key(uaddr)?, &w, deadline)
        }
        7 => unlock_pi(t, &mm, uaddr, key(uaddr)?),
        8 => {
            let k = key(uaddr)?;
            match t.kernel.futexes.with_queue(|m| try_acquire(t, &mm, uaddr, k, m, None)) {
                Ok(true) => Ok(0),
                // Linux answers EWOULDBLOCK, not futex(2)'s EBUSY.
                Ok(false) => Err(Errno::EAGAIN),
                Err(e) => Err(e),
            }
        }
        11 => {
            // WAIT_REQUEUE_PI: wait on uaddr until CMP_REQUEUE_PI moves us to
            // the PI futex uaddr2 (and we own it on return).
            let (k1, k2) = (key(uaddr)?, key(uaddr2)?);
            if k1 == k2 {
                return Err(Errno::EINVAL);
            }
            let deadline = abs_deadline(t, timeout, realtime)?;
            let w = FutexWaiter::new(t.waker.clone(), t.tid(), u32::MAX, false, Some(k2));
            enqueue_if_equal(t, &mm, uaddr, val, k1, &w)?;
            loop {
                let g = t.waker.gen();
                let requeued = w.pi.load(Ordering::SeqCst);
                if w.woken.load(Ordering::SeqCst) {
                    // Handed the PI lock, or woken by a plain FUTEX_WAKE.
                    return if requeued { Ok(0) } else { Err(Errno::EAGAIN) };
                }
                if requeued {
                    // Now a waiter of the PI futex: wait for it as LOCK_PI.
                    return lock_pi(t, &mm, uaddr2, k2, &w, deadline);
                }
                let stop = why_stop(t, deadline, Errno::ERESTARTSYS);
                if let Some(e) = stop {
                    t.kernel.futexes.dequeue(k1, &w);
                    if w.pi.load(Ordering::SeqCst) {
                        // Requeued meanwhile: leave the PI queue too.
                        t.kernel.futexes.dequeue(k2, &w);
                        if w.woken.load(Ordering::SeqCst) {
                            return Ok(0);
                        }
                    }
                    return Err(e);
                }
                t.waker.wait(g, deadline);
            }
        }
        12 => cmp_requeue_pi(t, &mm, (uaddr, key(uaddr)?), (uaddr2, key(uaddr2)?), val, timeout, val3),
        _ => Err(Errno::ENOSYS),
    }
}

/// An absolute futex timeout (None: no timeout).
fn abs_deadline(t: &crate::kernel::task::Task, timeout: u64, realtime: bool) -> KResult<Option<Instant>> {
    if timeout == 0 {
        return Ok(None);
    }
    let d = super::time::read_timespec(t, timeout)?;
    let now = if realtime {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
    } else {
        let n = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)?;
        Duration::new(n.tv_sec() as u64, n.tv_nsec() as u32)
    };
    Ok(deadline_after(d.saturating_sub(now)))
}

type Queues = std::collections::HashMap<(usize, u64), Vec<Arc<FutexWaiter>>>;

/// Other PI waiters queued on `k` than `me`.
fn pi_waiters(m: &Queues, k: (usize, u64), me: i32) -> usize {
    m.get(&k).map_or(0, |v| v.iter().filter(|w| w.pi.load(Ordering::SeqCst) && !w.woken.load(Ordering::SeqCst) && w.tid != me).count())
}

/// Queue `w` on `k` if the word at `uaddr` still holds `val` (checked
/// under the table lock): EAGAIN if not, EFAULT if unreadable.
fn enqueue_if_equal(
    t: &crate::kernel::task::Task,
    mm: &crate::mm::MemoryManager,
    uaddr: u64,
    val: u32,
    k: (usize, u64),
    w: &Arc<FutexWaiter>,
) -> KResult<()> {
    let mut bad = None;
    let queued = t.kernel.futexes.enqueue(k, w, || match mm.read_val::<u32>(uaddr) {
        Ok(v) => v == val,
        Err(e) => {
            bad = Some(e);
            false
        }
    });
    match (bad, queued) {
        (Some(e), _) => Err(e),
        (None, false) => Err(Errno::EAGAIN),
        (None, true) => Ok(()),
    }
}

/// FUTEX_WAIT and WAIT_BITSET: sleep while the word at `uaddr` is `val`.
/// A signal ends an untimed wait with ERESTARTSYS (restarted under
/// SA_RESTART) and a timed one with ERESTART_RESTARTBLOCK (EINTR after a
/// handler, else resumed to the same deadline), as in Linux.
pub fn futex_wait(
    t: &crate::kernel::task::Task,
    uaddr: u64,
    val: u32,
    bitset: u32,
    private: bool,
    deadline: Option<Instant>,
    timed: bool,
) -> KResult<u64> {
    let mm = t.mm();
    let w = FutexWaiter::new(t.waker.clone(), t.tid(), bitset, false, None);
    let k = mm.futex_key(uaddr, private)?;
    enqueue_if_equal(t, &mm, uaddr, val, k, &w)?;
    loop {
        let g = t.waker.gen();
        if w.woken.load(Ordering::SeqCst) {
            return Ok(0);
        }
        if t.has_pending_signal() {
            t.kernel.futexes.dequeue(k, &w);
            if w.woken.load(Ordering::SeqCst) {
                return Ok(0);
            }
            if !timed {
                return Err(Errno::ERESTARTSYS);
            }
            *t.restart_block.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(crate::kernel::task::RestartBlock::Futex { uaddr, val, bitset, private, deadline });
            return Err(Errno::ERESTART_RESTARTBLOCK);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            t.kernel.futexes.dequeue(k, &w);
            return if w.woken.load(Ordering::SeqCst) { Ok(0) } else { Err(Errno::ETIMEDOUT) };
        }
        t.waker.wait(g, deadline);
    }
}

/// One attempt to take the PI lock at `uaddr` for `t` (under the table
/// lock). Ok(true): taken. Ok(false): owned by someone else, and when
/// `queue` is given, FUTEX_WAITERS is set and the waiter queued.
fn try_acquire(
    t: &crate::kernel::task::Task,
    mm: &crate::mm::MemoryManager,
    uaddr: u64,
    k: (usize, u64),
    m: &mut Queues,
    queue: Option<&Arc<FutexWaiter>>,
) -> KResult<bool> {
    let tid = t.tid() as u32;
    let mut val: u32 = mm.read_val(uaddr)?;
    loop {
        let owner = val & FUTEX_TID_MASK;
        let retry = queue.is_some_and(|w| w.retry.swap(false, Ordering::SeqCst));
        let owner_gone = owner != 0 && t.kernel.task(owner as i32).is_none_or(|o| o.futex_dead.load(Ordering::SeqCst));
        let new = if owner == 0 || (owner_gone && (retry || val & FUTEX_OWNER_DIED != 0)) {
            // Free, or its owner died: ours (a dead owner leaves OWNER_DIED).
            let died = if owner_gone { FUTEX_OWNER_DIED } else { val & FUTEX_OWNER_DIED };
            let waiters = if pi_waiters(m, k, t.tid()) > 0 { FUTEX_WAITERS } else { 0 };
            tid | died | waiters
        } else if owner == tid {
            return Err(Errno::EDEADLK);
        } else if owner_gone {
            return Err(Errno::ESRCH);
        } else {
            let Some(w) = queue else { return Ok(false) };
            if val & FUTEX_WAITERS == 0 {
                let found = mm.cmpxchg_u32(uaddr, val, val | FUTEX_WAITERS)?;
                if found != val {
                    val = found;
                    continue;
                }
            }
            w.owner.store(owner as i32, Ordering::SeqCst);
            let q = m.entry(k).or_default();
            if !q.iter().any(|x| Arc::ptr_eq(x, w)) {
                q.push(w.clone());
            }
            return Ok(false);
        };
        let found = mm.cmpxchg_u32(uaddr, val, new)?;
        if found == val {
            return Ok(true);
        }
        val = found;
    }
}

/// FUTEX_LOCK_PI: take the lock or wait until an unlock hands it over.
/// A signal restarts the call (ERESTARTNOINTR), as in Linux.
fn lock_pi(
    t: &crate::kernel::task::Task,
    mm: &crate::mm::MemoryManager,
    uaddr: u64,
    k: (usize, u64),
    w: &Arc<FutexWaiter>,
    deadline: Option<Instant>,
) -> KResult<u64> {
    let futexes = &t.kernel.futexes;
    loop {
        if w.woken.load(Ordering::SeqCst) {
            return Ok(0);
        }
        if futexes.with_queue(|m| try_acquire(t, mm, uaddr, k, m, Some(w)))? {
            futexes.dequeue(k, w);
            return Ok(0);
        }
        loop {
            let g = t.waker.gen();
            if w.woken.load(Ordering::SeqCst) {
                return Ok(0);
            }
            if w.retry.load(Ordering::SeqCst) {
                break;
            }
            let stop = why_stop(t, deadline, Errno::ERESTARTNOINTR);
            if let Some(e) = stop {
                futexes.dequeue(k, w);
                return if w.woken.load(Ordering::SeqCst) { Ok(0) } else { Err(e) };
            }
            t.waker.wait(g, deadline);
        }
    }
}

/// FUTEX_UNLOCK_PI: hand the lock to the first PI waiter, or free it.
fn unlock_pi(t: &crate::kernel::task::Task, mm: &crate::mm::MemoryManager, uaddr: u64, k: (usize, u64)) -> KResult<u64> {
    t.kernel.futexes.with_queue(|m| {
        let mut val: u32 = mm.read_val(uaddr)?;
        loop {
            if val & FUTEX_TID_MASK != t.tid() as u32 {
                return Err(Errno::EPERM);
            }
            let next = m.get(&k).and_then(|v| v.iter().position(|w| w.pi.load(Ordering::SeqCst) && !w.woken.load(Ordering::SeqCst)));
            let new = match next {
                // As Linux's wake_futex_pi: FUTEX_WAITERS stays set while
                // the lock is handed over, waiters or not, so the heir's
                // unlock comes back to the kernel.
                Some(i) => m[&k][i].tid as u32 | FUTEX_WAITERS,
                None => 0,
            };
            let found = mm.cmpxchg_u32(uaddr, val, new)?;
            if found != val {
                val = found;
                continue;
            }
            if let (Some(i), Some(v)) = (next, m.get_mut(&k)) {
                let w = v.remove(i);
                w.woken.store(true, Ordering::SeqCst);
                w.waker.notify();
                if v.is_empty() {
                    m.remove(&k);
                }
            }
            return Ok(0);
        }
    })
}

/// FUTEX_CMP_REQUEUE_PI: take the PI futex at `to` for the first waiter of
/// `from` if it is free (waking it), and move up to `nr_requeue` others
/// (or all, first included, when it is not) to wait for it.
fn cmp_requeue_pi(
    t: &crate::kernel::task::Task,
    mm: &crate::mm::MemoryManager,
    (uaddr, k1): (u64, (usize, u64)),
    (uaddr2, k2): (u64, (usize, u64)),
    nr_wake: u32,
    nr_requeue: u64,
    val3: u32,
) -> KResult<u64> {
    if nr_wake != 1 || (nr_requeue as i32) < 0 || k1 == k2 {
        return Err(Errno::EINVAL);
    }
    let nr_requeue = nr_requeue as i32 as usize;
    t.kernel.futexes.with_queue(|m| {
        if mm.read_val::<u32>(uaddr)? != val3 {
            return Err(Errno::EAGAIN);
        }
        let waiters: Vec<Arc<FutexWaiter>> = m.get(&k1).cloned().unwrap_or_default();
        if waiters.iter().any(|w| w.requeue_to != Some(k2)) {
            return Err(Errno::EINVAL);
        }
        let mut done = 0;
        let mut rest = waiters.as_slice();
        if let Some(first) = waiters.first() {
            // Take uaddr2 for the first waiter if it is free.
            let mut val: u32 = mm.read_val(uaddr2)?;
            while val & FUTEX_TID_MASK == 0 {
                // Linux's proxy lock always sets FUTEX_WAITERS.
                let new = first.tid as u32 | (val & FUTEX_OWNER_DIED) | FUTEX_WAITERS;
                let found = mm.cmpxchg_u32(uaddr2, val, new)?;
                if found == val {
                    first.pi.store(true, Ordering::SeqCst);
                    first.woken.store(true, Ordering::SeqCst);
                    first.waker.notify();
                    done = 1;
                    rest = &waiters[1..];
                    break;
                }
                val = found;
            }
        }
        let moving: Vec<Arc<FutexWaiter>> = rest.iter().take(nr_requeue + usize::from(done == 0)).cloned().collect();
        if !moving.is_empty() {
            // The PI futex gets FUTEX_WAITERS.
            let mut val: u32 = mm.read_val(uaddr2)?;
            while val & FUTEX_WAITERS == 0 {
                let found = mm.cmpxchg_u32(uaddr2, val, val | FUTEX_WAITERS)?;
                if found == val {
                    break;
                }
                val = found;
            }
            let owner = (val & FUTEX_TID_MASK) as i32;
            for w in &moving {
                w.owner.store(owner, Ordering::SeqCst);
                w.pi.store(true, Ordering::SeqCst);
                w.waker.notify();
            }
        }
        let gone: Vec<Arc<FutexWaiter>> = waiters.iter().take(done + moving.len()).cloned().collect();
        if let Some(v) = m.get_mut(&k1) {
            v.retain(|w| !gone.iter().any(|g| Arc::ptr_eq(g, w)));
            if v.is_empty() {
                m.remove(&k1);
            }
        }
        m.entry(k2).or_default().extend(moving.iter().cloned());
        Ok((done + moving.len()) as u64)
    })
}

/// Why a futex wait must end now: `on_signal` with a signal pending,
/// ETIMEDOUT past the deadline, or None to sleep on.
fn why_stop(t: &crate::kernel::task::Task, deadline: Option<Instant>, on_signal: Errno) -> Option<Errno> {
    if t.has_pending_signal() {
        Some(on_signal)
    } else if deadline.is_some_and(|d| Instant::now() >= d) {
        Some(Errno::ETIMEDOUT)
    } else {
        None
    }
}
