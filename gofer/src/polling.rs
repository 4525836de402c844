//! Whether polling for the other side of a request pays, judged from the
//! yields between polls.
//!
//! Each side of a gofer exchange polls its socket for a short while,
//! yielding the CPU between polls, before it sleeps in recvmsg: a wake-up
//! across CPUs costs tens of microseconds on a VM, a request a few. That
//! holds while the CPUs have room. Beside busy host threads, a yield hands
//! the CPU to one of them for its whole time slice (2-4 ms here), and
//! every request paid that: the tar round trip of /usr/include without
//! directfs, beside two busy loops, took over 40 s (17 s without polling,
//! 2 s natively).
//!
//! So a yield that took longer than [`LONG_YIELD_US`] ran another thread
//! for that long, and [`LONG_IN_WINDOW`] of them among a process's last
//! [`WINDOW_LEN`] yields stop its polling for a while
//! ([`oversub::Hold`]): [`PAUSE_MIN_MS`], doubling up to [`PAUSE_MAX_MS`]
//! each time it comes back within one while of the last one's end. Each
//! process (the sentry's client, a gofer server) judges for itself.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use oversub::{Hold, SharedWindow};

/// A yield longer than this ran another thread for a time slice.
pub const LONG_YIELD_US: u64 = 1000;
/// Yields per window.
pub const WINDOW_LEN: u32 = 64;
/// Long yields in one window that stop the polling.
pub const LONG_IN_WINDOW: u32 = 2;
/// The first pause.
pub const PAUSE_MIN_MS: u64 = 20;
/// The longest.
pub const PAUSE_MAX_MS: u64 = 1000;

/// The pause, in nanoseconds since the process first asked ([`now`]).
pub static PAUSE: Hold = Hold::new();

/// The process's yields, and the long ones among them.
static WINDOW: SharedWindow = SharedWindow::new();

/// Nanoseconds since the process first asked.
pub fn now() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Whether to sleep at once rather than poll, at `t` (see [`now`]).
pub fn paused(t: u64) -> bool {
    PAUSE.on(t)
}

/// A yield between polls took `took`, ending at `t`.
pub fn yielded(took: Duration, t: u64) {
    if WINDOW.count(took > Duration::from_micros(LONG_YIELD_US), WINDOW_LEN, LONG_IN_WINDOW) {
        PAUSE.start(t, PAUSE_MIN_MS * 1_000_000, PAUSE_MAX_MS * 1_000_000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_yields_pause_the_polling_for_a_doubling_while() {
        let ms = 1_000_000;
        let (short, long) = (Duration::from_micros(5), Duration::from_millis(3));
        let t0 = 1_000_000 * ms;
        // Short yields, and one long one among them per window: no pause.
        for w in 0..3 {
            yielded(long, t0 + w);
            for _ in 1..WINDOW_LEN {
                yielded(short, t0 + w);
            }
        }
        assert!(!paused(t0 + 10));
        // Two long ones in a window: PAUSE_MIN_MS without polling.
        let t1 = t0 + ms;
        yielded(long, t1);
        yielded(long, t1);
        assert!(paused(t1 + 1) && !paused(t1 + PAUSE_MIN_MS * ms));
        // Again soon after its end: twice as long.
        let t2 = t1 + PAUSE_MIN_MS * ms + 5 * ms;
        yielded(long, t2);
        yielded(long, t2);
        assert!(paused(t2 + 2 * PAUSE_MIN_MS * ms - 1) && !paused(t2 + 2 * PAUSE_MIN_MS * ms));
        // Long after: the shortest again.
        let t3 = t2 + 100 * PAUSE_MAX_MS * ms;
        yielded(long, t3);
        yielded(long, t3);
        assert!(paused(t3 + PAUSE_MIN_MS * ms - 1) && !paused(t3 + PAUSE_MIN_MS * ms));
    }
}
