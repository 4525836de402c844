//! Whether the host's CPUs are oversubscribed, judged from late events.
//!
//! The sandbox's processes spin or poll for each other before they sleep:
//! a wake-up across CPUs costs tens of microseconds on a VM, a spin a few.
//! That holds while each spinner has a CPU. Beside busy host threads a
//! spinner is preempted, or its yield gives a whole time slice away, and
//! what it waits for is seen milliseconds late. Its users time what they
//! can (a hand-off from post to notice, a yield) and count the late ones
//! in a [`Window`] (one thread's) or a [`SharedWindow`] (a process's); when a window fills with late ones, a [`Hold`] says
//! "sleep at once" for a while, which doubles while the lateness keeps
//! coming back, and the first waits after it spin again and so probe
//! whether the load is gone. The users: platform-systrap's hand-offs
//! (`contention.rs`) and the gofer's polling (`gofer::polling`).

use std::sync::atomic::{AtomicU64, Ordering};

/// One thread's count of events and of the late ones among them. Single
/// late events happen anyway (the host preempts a VM's CPU now and then),
/// so only a window with enough of them counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    events: u32,
    late: u32,
}

impl Window {
    pub const fn new() -> Window {
        Window { events: 0, late: 0 }
    }

    /// Count one event. True when `needed` of the last `len` were late;
    /// the window then starts again, as it does after `len` events.
    pub fn count(&mut self, late: bool, len: u32, needed: u32) -> bool {
        let (events, late) = (self.events + 1, self.late + late as u32);
        let full = late >= needed;
        *self = if full || events >= len { Window::new() } else { Window { events, late } };
        full
    }
}

/// A [`Window`] shared by a process's threads, without a lock: a count
/// lost in a race only shifts the window.
#[derive(Debug, Default)]
pub struct SharedWindow(AtomicU64);

impl SharedWindow {
    pub const fn new() -> SharedWindow {
        SharedWindow(AtomicU64::new(0))
    }

    /// As [`Window::count`].
    pub fn count(&self, late: bool, len: u32, needed: u32) -> bool {
        let bits = self.0.load(Ordering::Relaxed);
        let mut w = Window { events: (bits >> 32) as u32, late: bits as u32 };
        let full = w.count(late, len, needed);
        self.0.store((w.events as u64) << 32 | w.late as u64, Ordering::Relaxed);
        full
    }
}

/// A while without spinning, shared by a process's threads; times are in
/// any one unit the user picks (TSC cycles, nanoseconds).
#[derive(Debug, Default)]
pub struct Hold {
    /// Until when nothing spins.
    until: AtomicU64,
    /// The length of the last while.
    len: AtomicU64,
    /// Windows found late so far (for --debug reports).
    pub started: AtomicU64,
}

impl Hold {
    pub const fn new() -> Hold {
        Hold { until: AtomicU64::new(0), len: AtomicU64::new(0), started: AtomicU64::new(0) }
    }

    /// Whether to sleep at once rather than spin at `t`.
    #[inline]
    pub fn on(&self, t: u64) -> bool {
        t < self.until.load(Ordering::Relaxed)
    }

    /// A window was late at `t`: hold for `min`, or for twice the last
    /// while (at most `max`) when `t` falls within one while of its end.
    /// A window late during a while (one that spun before it began, or a
    /// sleeper woken late) leaves it as it is. Threads racing here only
    /// pick one of their whiles.
    #[cold]
    pub fn start(&self, t: u64, min: u64, max: u64) {
        self.started.fetch_add(1, Ordering::Relaxed);
        let until = self.until.load(Ordering::Relaxed);
        if t < until {
            return;
        }
        let last = self.len.load(Ordering::Relaxed).max(min);
        let len = if t < until.saturating_add(last) { (last * 2).min(max) } else { min };
        self.len.store(len, Ordering::Relaxed);
        self.until.store(t + len, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_fills_with_enough_late_events_among_its_last() {
        let mut w = Window::new();
        // Three late ones per 8 events never fill a window needing 4.
        for _ in 0..5 {
            for i in 0..8 {
                assert!(!w.count(i < 3, 8, 4));
            }
        }
        // Four in a row do, and the window starts again.
        assert!(!w.count(true, 8, 4) && !w.count(true, 8, 4) && !w.count(true, 8, 4));
        assert!(w.count(true, 8, 4));
        assert_eq!(w, Window::new());
    }

    #[test]
    fn a_shared_window_counts_as_one_thread_s() {
        let (mut w, s) = (Window::new(), SharedWindow::new());
        for i in 0..40 {
            assert_eq!(w.count(i % 5 == 0, 8, 2), s.count(i % 5 == 0, 8, 2), "event {i}");
        }
    }

    #[test]
    fn a_hold_doubles_while_lateness_comes_back_and_shrinks_after() {
        let h = Hold::new();
        assert!(!h.on(0));
        h.start(1000, 10, 35);
        assert!(h.on(1009) && !h.on(1010));
        // Late again during the while: unchanged.
        h.start(1005, 10, 35);
        assert!(!h.on(1010));
        // Within one while of its end: 20, then 35 (the most).
        h.start(1015, 10, 35);
        assert!(h.on(1034) && !h.on(1035));
        h.start(1040, 10, 35);
        assert!(h.on(1074) && !h.on(1075));
        // Long after: 10 again.
        h.start(5000, 10, 35);
        assert!(h.on(5009) && !h.on(5010));
        assert_eq!(h.started.load(Ordering::Relaxed), 5);
    }
}
