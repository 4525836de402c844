//! Blocking: each task has a [`Waker`]; objects that tasks wait for keep a
//! [`WaitQueue`] of wakers to notify. A waiter takes the waker's generation,
//! checks its condition, and sleeps only if the generation is unchanged, so
//! no wake-up is lost between the check and the sleep.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The instant `d` from now; None (no deadline) when that is past what the
/// clock can represent, as for a timeout of years.
pub fn deadline_after(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
}

/// Wakes one task.
#[derive(Default)]
pub struct Waker {
    /// The generation, and how many threads sleep on `cv` (a notify with
    /// none skips the host futex call).
    gen: Mutex<(u64, u32)>,
    cv: Condvar,
    /// The task is asleep in `wait` (state S in /proc).
    sleeping: std::sync::atomic::AtomicBool,
    /// The task's platform interrupter, told when the task blocks.
    idle: Mutex<Option<platform::Interrupter>>,
}

impl Waker {
    /// The current generation.
    pub fn gen(&self) -> u64 {
        self.gen.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Wake the task.
    pub fn notify(&self) {
        let mut g = self.gen.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        if g.1 > 0 {
            self.cv.notify_all();
        }
    }

    /// Tell `i` whenever the task blocks (see [`platform::Interrupt::idle`]).
    pub fn set_idle_hook(&self, i: platform::Interrupter) {
        *self.idle.lock().unwrap_or_else(|e| e.into_inner()) = Some(i);
    }

    /// The task is about to block (wake-ups it put off go out first).
    pub fn going_idle(&self) {
        flush_deferred();
        self.tell_platform(|i| i.idle());
    }

    /// The task's syscall will compute for a while without blocking.
    pub fn going_busy(&self) {
        self.tell_platform(|i| i.busy());
    }

    fn tell_platform(&self, f: impl FnOnce(&platform::Interrupter)) {
        if let Some(i) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            f(i);
        }
    }

    /// Sleep until the generation differs from `seen` or `deadline` passes.
    pub fn wait(&self, seen: u64, deadline: Option<Instant>) {
        // Wake-ups this thread put off go out before it sleeps (and before
        // the check: one may be what it waits for).
        flush_deferred();
        if self.gen() != seen {
            return;
        }
        // (going_idle without its flush: done just above.)
        self.tell_platform(|i| i.idle());
        self.sleeping.store(true, std::sync::atomic::Ordering::Relaxed);
        self.wait_inner(seen, deadline);
        self.sleeping.store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Asleep in `wait`.
    pub fn sleeping(&self) -> bool {
        self.sleeping.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn wait_inner(&self, seen: u64, deadline: Option<Instant>) {
        let mut g = self.gen.lock().unwrap_or_else(|e| e.into_inner());
        while g.0 == seen {
            g.1 += 1;
            match deadline {
                None => g = self.cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        g.1 -= 1;
                        return;
                    }
                    g = self.cv.wait_timeout(g, d - now).unwrap_or_else(|e| e.into_inner()).0;
                }
            }
            g.1 -= 1;
        }
    }

    /// Sleep for at most `d`.
    pub fn wait_for(&self, seen: u64, d: Duration) {
        self.wait(seen, deadline_after(d));
    }
}

/// The tasks waiting for one object.
#[derive(Default)]
pub struct WaitQueue {
    wakers: Mutex<Vec<Arc<Waker>>>,
    /// Bumped at every notification: an edge-triggered epoll reports a file
    /// again only after a new event.
    events: std::sync::atomic::AtomicU64,
}

impl WaitQueue {
    /// Register a waker.
    pub fn add(&self, w: &Arc<Waker>) {
        self.wakers.lock().unwrap_or_else(|e| e.into_inner()).push(w.clone());
    }

    /// Unregister a waker.
    pub fn remove(&self, w: &Arc<Waker>) {
        let mut v = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = v.iter().position(|x| Arc::ptr_eq(x, w)) {
            v.swap_remove(i);
        }
    }

    /// Events so far.
    pub fn events(&self) -> u64 {
        self.events.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Wake every registered task (from a syscall on a platform that
    /// resumes first: once the caller runs again, see [`defer_wakeups`]).
    pub fn notify_all(&self) {
        self.events.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if wakers.is_empty() {
            return;
        }
        let deferred = DEFERRED.with(|d| match d.borrow_mut().as_mut() {
            Some(list) => {
                list.extend(wakers.iter().cloned());
                true
            }
            None => false,
        });
        if !deferred {
            for w in wakers.iter() {
                w.notify();
            }
        }
    }
}

thread_local! {
    /// Wake-ups put off while this thread serves a syscall (None: not
    /// putting any off).
    static DEFERRED: std::cell::RefCell<Option<Vec<Arc<Waker>>>> = const { std::cell::RefCell::new(None) };
}

/// Whether wake-ups may be put off at all (`RUNSC_DEFER_WAKEUPS=0`: never,
/// for measuring).
pub fn deferring() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("RUNSC_DEFER_WAKEUPS").map_or(true, |v| v != "0"))
}

/// Put this thread's wait-queue wake-ups off until [`flush_deferred`]: a
/// futex wake of another thread costs the waker microseconds here, which
/// the caller's own return need not wait for. Whatever blocks flushes
/// first ([`Waker::wait`]), so nothing waits on a wake-up held back.
pub fn defer_wakeups() {
    DEFERRED.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(Vec::new());
        }
    });
}

/// Send the wake-ups put off, and stop putting them off.
pub fn flush_deferred() {
    let Some(list) = DEFERRED.with(|d| d.borrow_mut().take()) else { return };
    for w in list {
        w.notify();
    }
}
