//! Futexes, keyed by (address space, address) for private futexes and by
//! memory-file offset for shared ones... for now both use the address space
//! and address, which serves threads of one process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::wait::Waker;

/// A futex waiter.
pub struct FutexWaiter {
    /// Set when woken.
    pub woken: AtomicBool,
    /// The waiting task's waker.
    pub waker: Arc<Waker>,
    /// FUTEX_WAIT_BITSET mask.
    pub bitset: u32,
}

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

    /// Wake up to `n` waiters whose bitset intersects `bitset`.
    pub fn wake(&self, key: (usize, u64), n: usize, bitset: u32) -> usize {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let mut woken = 0;
        if let Some(v) = m.get_mut(&key) {
            let mut i = 0;
            while i < v.len() && woken < n {
                if v[i].bitset & bitset != 0 {
                    let w = v.remove(i);
                    w.woken.store(true, Ordering::SeqCst);
                    w.waker.notify();
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
}

const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
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
