//! futex(2).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Sc;
use crate::kernel::wait::deadline_after;
use crate::errno::{Errno, KResult};
use crate::kernel::futex::FutexWaiter;

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
            let deadline = if timeout != 0 {
                let d = super::time::read_timespec(t, timeout)?;
                if cmd == 9 {
                    // Absolute on CLOCK_MONOTONIC or CLOCK_REALTIME.
                    let now = if realtime {
                        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
                    } else {
                        let n = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)?;
                        Duration::new(n.tv_sec() as u64, n.tv_nsec() as u32)
                    };
                    deadline_after(d.saturating_sub(now))
                } else {
                    deadline_after(d)
                }
            } else {
                None
            };
            let w = Arc::new(FutexWaiter { woken: Default::default(), waker: t.waker.clone(), bitset });
            let k = key(uaddr)?;
            let mut bad = None;
            let queued = t.kernel.futexes.enqueue(k, &w, || match mm.read_val::<u32>(uaddr) {
                Ok(v) => v == val,
                Err(e) => {
                    bad = Some(e);
                    false
                }
            });
            if let Some(e) = bad {
                return Err(e);
            }
            if !queued {
                return Err(Errno::EAGAIN);
            }
            loop {
                let g = t.waker.gen();
                if w.woken.load(Ordering::SeqCst) {
                    return Ok(0);
                }
                if t.has_pending_signal() {
                    t.kernel.futexes.dequeue(k, &w);
                    return if w.woken.load(Ordering::SeqCst) { Ok(0) } else { Err(Errno::ERESTARTSYS) };
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    t.kernel.futexes.dequeue(k, &w);
                    return if w.woken.load(Ordering::SeqCst) { Ok(0) } else { Err(Errno::ETIMEDOUT) };
                }
                t.waker.wait(g, deadline);
            }
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
        6..=8 | 11 | 12 => Err(Errno::ENOSYS),
        _ => Err(Errno::ENOSYS),
    }
}

