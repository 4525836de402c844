//! Futexes, keyed by (address space, address) for private futexes and by
//! memory-file offset for shared ones. Priority-inheritance futexes
//! (FUTEX_LOCK_PI and friends) share the table: their waiters are marked
//! `pi`, and being woken means the lock was handed to them. Priorities are
//! not boosted (the sentry has no real-time scheduling to boost).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::wait::Waker;

/// A futex waiter.
pub struct FutexWaiter {
    /// Set when woken (for a PI waiter: the lock is now its own).
    pub woken: AtomicBool,
    /// The waiting task's waker.
    pub waker: Arc<Waker>,
    /// FUTEX_WAIT_BITSET mask.
    pub bitset: u32,
    /// The waiting thread.
    pub tid: i32,
    /// Waits for a PI lock (LOCK_PI, or requeued there by CMP_REQUEUE_PI).
    pub pi: AtomicBool,
    /// A PI waiter must look at the lock word again (its owner died).
    pub retry: AtomicBool,
    /// FUTEX_WAIT_REQUEUE_PI: the PI futex it may be requeued to.
    pub requeue_to: Option<(usize, u64)>,
    /// For a PI waiter: the owner it is waiting for.
    pub owner: std::sync::atomic::AtomicI32,
}

impl FutexWaiter {
    /// A waiter for the calling thread.
    pub fn new(waker: Arc<Waker>, tid: i32, bitset: u32, pi: bool, requeue_to: Option<(usize, u64)>) -> Arc<FutexWaiter> {
        Arc::new(FutexWaiter {
            woken: AtomicBool::new(false),
            waker,
            bitset,
            tid,
            pi: AtomicBool::new(pi),
            retry: AtomicBool::new(false),
            requeue_to,
            owner: std::sync::atomic::AtomicI32::new(0),
        })
    }

    fn wake(&self) {
        self.woken.store(true, Ordering::SeqCst);
        self.waker.notify();
    }
}

/// The bits of a PI futex word.
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
/// The owner died (robust futexes).
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// The owner's tid.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// The futex table.
#[derive(Default)]
pub struct Futexes {
    map: Mutex<HashMap<(usize, u64), Vec<Arc<FutexWaiter>>>>,
}

impl Futexes {
    /// Run `check` under the table lock and enqueue the waiter if it says so.
    pub fn enqueue(&self, key: (usize, u64), w: &Arc<FutexWaiter>, check: impl FnOnce() -> bool) -> bool {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if !check() {
            return false;
        }
        m.entry(key).or_default().push(w.clone());
        true
    }

    /// Remove a waiter (timeout, signal).
    pub fn dequeue(&self, key: (usize, u64), w: &Arc<FutexWaiter>) {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = m.get_mut(&key) {
            v.retain(|x| !Arc::ptr_eq(x, w));
            if v.is_empty() {
                m.remove(&key);
            }
        }
    }

    /// Wake up to `n` waiters whose bitset intersects `bitset`. PI
    /// waiters are never handed a lock this way: they look again at the
    /// lock word (a robust owner's death).
    pub fn wake(&self, key: (usize, u64), n: usize, bitset: u32) -> usize {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let mut woken = 0;
        if let Some(v) = m.get_mut(&key) {
            let mut i = 0;
            while i < v.len() && woken < n {
                if v[i].pi.load(Ordering::SeqCst) {
                    v[i].retry.store(true, Ordering::SeqCst);
                    v[i].waker.notify();
                    woken += 1;
                    i += 1;
                } else if v[i].bitset & bitset != 0 {
                    let w = v.remove(i);
                    w.wake();
                    woken += 1;
                } else {
                    i += 1;
                }
            }
            if v.is_empty() {
                m.remove(&key);
            }
        }
        woken
    }

    /// One line per futex with waiters (the SIGQUIT dump): its key, then
    /// each waiter's tid with `pi`, `woken`, `retry` marks and the owner it
    /// waits for.
    pub fn describe(&self) -> Vec<String> {
        let m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .map(|(k, v)| {
                let ws: Vec<String> = v
                    .iter()
                    .map(|w| {
                        let mut s = w.tid.to_string();
                        if w.pi.load(Ordering::SeqCst) {
                            s += &format!(" pi(owner {})", w.owner.load(Ordering::SeqCst));
                        }
                        if w.woken.load(Ordering::SeqCst) {
                            s += " woken";
                        }
                        if w.retry.load(Ordering::SeqCst) {
                            s += " retry";
                        }
                        s
                    })
                    .collect();
                format!("futex {:#x}/{:#x}: {}", k.0, k.1, ws.join(", "))
            })
            .collect()
    }

    /// Move up to `n` waiters from `from` to `to` (FUTEX_REQUEUE).
    pub fn requeue(&self, from: (usize, u64), to: (usize, u64), n: usize) -> usize {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut v) = m.remove(&from) else { return 0 };
        let k = n.min(v.len());
        let moved: Vec<_> = v.drain(..k).collect();
        if !v.is_empty() {
            m.insert(from, v);
        }
        m.entry(to).or_default().extend(moved);
        k
    }

    /// Run `f` on the waiters of `key` (and the table) under the table
    /// lock: the PI operations read and write the lock word there, so that
    /// a waiter's check and an unlock's handover cannot interleave.
    pub fn with_queue<R>(&self, f: impl FnOnce(&mut HashMap<(usize, u64), Vec<Arc<FutexWaiter>>>) -> R) -> R {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut m)
    }

    /// Tell the PI waiters whose lock `tid` held that it died: they take
    /// the lock over with FUTEX_OWNER_DIED (Linux's exit_pi_state_list).
    pub fn pi_owner_exited(&self, tid: i32) {
        let m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        for w in m.values().flatten() {
            if w.pi.load(Ordering::SeqCst) && w.owner.load(Ordering::SeqCst) == tid {
                w.retry.store(true, Ordering::SeqCst);
                w.waker.notify();
            }
        }
    }
}

/// Entries walked at most (Linux's ROBUST_LIST_LIMIT).
const ROBUST_LIST_LIMIT: usize = 2048;

/// Walk an exiting thread's robust futex list (set_robust_list): every
/// futex it still owns gets FUTEX_OWNER_DIED, and one waiter is woken, so
/// that robust mutexes report EOWNERDEAD to the next locker. A list the
/// application corrupted is simply abandoned where it breaks.
pub fn exit_robust_list(kernel: &super::Kernel, mm: &crate::mm::MemoryManager, tid: i32, head: u64) {
    if head == 0 {
        return;
    }
    let Ok(h) = mm.read_val::<[u64; 3]>(head) else { return };
    let (offset, pending) = (h[1] as i64, h[2] & !1);
    let death = |entry: u64| {
        let addr = entry.wrapping_add_signed(offset);
        let Ok(mut val) = mm.read_val::<u32>(addr) else { return };
        loop {
            if val & FUTEX_TID_MASK != tid as u32 {
                return;
            }
            let new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
            match mm.cmpxchg_u32(addr, val, new) {
                Ok(found) if found == val => break,
                Ok(found) => val = found,
                Err(_) => return,
            }
        }
        if val & FUTEX_WAITERS != 0 {
            if let Ok(k) = mm.futex_key(addr, false) {
                kernel.futexes.wake(k, 1, u32::MAX);
            }
        }
    };
    let mut entry = h[0] & !1;
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry == head || entry == 0 {
            break;
        }
        let Ok(next) = mm.read_val::<u64>(entry) else { break };
        if entry != pending {
            death(entry);
        }
        entry = next & !1;
    }
    if pending != 0 {
        death(pending);
    }
}
