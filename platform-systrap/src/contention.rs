//! Whether the host's CPUs are oversubscribed, judged from hand-offs.
//!
//! Each side of a hand-off spins for the other before it sleeps on the
//! futex, and the sandbox runs SCHED_BATCH: both pay while every spinner
//! has a CPU. When other host threads want the CPUs too (two busy loops
//! on this two-CPU machine), a spinner is a runnable thread like them: it
//! is preempted, or its yield hands the CPU over for a whole time slice,
//! and a sleeper woken under SCHED_BATCH waits for the running thread's
//! slice to end. Either way the post waits milliseconds to be seen.
//! Python's start (the pyenv shim: bash, a dozen processes) beside two
//! busy loops took 31-40 s and more, against 0.3 s natively and 2 s on the
//! ptrace platform; the network tests timed out.
//!
//! So every hand-off is timed from its post to the moment the other side
//! saw it (TSC stamps in the message: see `Msg::post`, `Msg::wait_while`
//! and the stub's labels 3 and 7). One seen more than [`LATE_US`] after
//! its post means the waiter had no CPU for that long. Single ones happen
//! anyway (the host preempts this VM's CPUs; tar | cat alone sees one in
//! several thousand), so it takes [`LATE_IN_WINDOW`] of the last
//! [`WINDOW_LEN`] hand-offs of one sentry thread (two busy loops beside
//! make it one in 15). Then, for a while, neither side of any hand-off
//! spins (the stub is told through its message's spin count), and each
//! sentry thread and its stub thread run SCHED_OTHER ([`match_policy`]).
//! The while starts at [`HOLD_MIN_MS`] and doubles, up to
//! [`HOLD_MAX_MS`], each time lateness comes back within one while of the
//! last one's end; the hand-offs after it spin again, and so probe whether
//! the oversubscription is over.
//!
//! With both, Python's start beside two busy loops takes 1.9-2.3 s (17-24
//! s when spinning was judged but SCHED_BATCH kept); beside one, 0.63-0.79
//! s against 0.65-0.96. Alone nothing changes: interleaved medians of 11,
//! tar | cat 405 / 438 ms, python3 30 / 32 ms, fork+exec 77 / 75 ms
//! (judged / `RUNSC_SYSTRAP_LATE_US=0`).
//!
//! The state is the sentry's, for all its threads: oversubscription is
//! the host's, not one thread's. The application can write its own
//! messages' stamps; that only makes its own sandbox sleep instead of
//! spin.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use oversub::{Hold, Window};

/// A hand-off seen later than this after its post was late.
pub const LATE_US: u64 = 1000;
/// Hand-offs per window of one sentry thread.
pub const WINDOW_LEN: u32 = 512;
/// Late hand-offs in one window that make it oversubscription.
pub const LATE_IN_WINDOW: u32 = 8;
/// The first while without spinning.
pub const HOLD_MIN_MS: u64 = 20;
/// The longest.
pub const HOLD_MAX_MS: u64 = 1000;

/// TSC cycles per microsecond (0 until `init`: nothing is ever late).
static TSC_PER_US: AtomicU64 = AtomicU64::new(0);
/// The while without spinning, in TSC cycles; `started` counts the late
/// windows (--debug).
pub static HOLD: Hold = Hold::new();

/// Whether the sandbox was started under SCHED_BATCH (see `init`).
static BATCH: AtomicBool = AtomicBool::new(false);

std::thread_local! {
    /// The policy this sentry thread last set for itself: SCHED_OTHER
    /// (true), SCHED_BATCH (false), not yet (None).
    static NORMAL: Cell<Option<bool>> = const { Cell::new(None) };
    /// This thread's hand-offs, and the late ones among them.
    static WINDOW: Cell<Window> = const { Cell::new(Window::new()) };
}

/// Start judging, with the TSC's rate. `RUNSC_SYSTRAP_LATE_US=0` never
/// judges (always spin), for measuring. Called on the thread that made
/// the sandbox's scheduling policy, before any stub exists.
pub fn init(tsc_per_us: u64) {
    // SAFETY: sched_getscheduler only reads the calling thread's policy.
    BATCH.store(unsafe { libc::sched_getscheduler(0) } == libc::SCHED_BATCH, Ordering::Relaxed);
    let on = std::env::var("RUNSC_SYSTRAP_LATE_US").map_or(true, |v| v != "0");
    TSC_PER_US.store(if on { tsc_per_us } else { 0 }, Ordering::Relaxed);
}

/// The time-stamp counter.
#[inline]
pub fn now() -> u64 {
    // SAFETY: rdtsc only reads the time-stamp counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Whether hand-offs are to sleep at once rather than spin at TSC `t`.
#[inline]
pub fn sleep_at_once(t: u64) -> bool {
    HOLD.on(t)
}

/// A hand-off posted at TSC `posted` was seen at `seen`.
pub fn seen(posted: u64, seen: u64) {
    let per_us = TSC_PER_US.load(Ordering::Relaxed);
    if per_us == 0 || posted == 0 || seen <= posted {
        return;
    }
    let mut w = WINDOW.get();
    let full = w.count(seen - posted > LATE_US * per_us, WINDOW_LEN, LATE_IN_WINDOW);
    WINDOW.set(w);
    if full {
        HOLD.start(seen, HOLD_MIN_MS * 1000 * per_us, HOLD_MAX_MS * 1000 * per_us);
    }
}

/// SCHED_BATCH is the sandbox's policy while hand-offs are on time
/// (runsc-cli's `batch_scheduling` says what it gains). A thread under it
/// never preempts another when it wakes: with busy host threads on every
/// CPU, a woken stub or sentry thread waited for the running one's time
/// slice to end (2-4 ms here). So while hand-offs are late
/// (`contended`), this sentry thread and the stub thread `tid` it hands
/// off to run SCHED_OTHER, and they go back once the while is over.
/// `stub_normal` is the stub's message's note of what was last set for
/// it: 0 batch, 1 normal, anything else not yet.
pub fn match_policy(contended: bool, tid: i32, stub_normal: &AtomicU32) {
    if BATCH.load(Ordering::Relaxed) {
        switch_policies(contended, tid, stub_normal);
    }
}

fn switch_policies(contended: bool, tid: i32, stub_normal: &AtomicU32) {
    if NORMAL.get() != Some(contended) {
        set_policy(0, contended);
        NORMAL.set(Some(contended));
    }
    if stub_normal.load(Ordering::Relaxed) != contended as u32 {
        set_policy(tid, contended);
        stub_normal.store(contended as u32, Ordering::Relaxed);
    }
}

#[cold]
fn set_policy(tid: i32, normal: bool) {
    let param = libc::sched_param { sched_priority: 0 };
    let policy = if normal { libc::SCHED_OTHER } else { libc::SCHED_BATCH };
    // A stub thread that is gone fails with ESRCH, which changes nothing.
    // SAFETY: sched_setscheduler reads the live sched_param it is given.
    unsafe { libc::sched_setscheduler(tid, policy, &param) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_of_late_hand_offs_stop_the_spinning_for_a_doubling_while() {
        init(1000);
        let per_ms = 1000 * 1000;
        let late_ones = |t: u64, n: u32| {
            for _ in 0..n {
                seen(t - 2 * per_ms, t);
            }
        };
        let t0 = 1_000_000 * per_ms;
        // Quick hand-offs change nothing, nor do a few late ones among
        // them.
        for i in 0..2 * WINDOW_LEN as u64 {
            seen(t0 + i * 1000, t0 + i * 1000 + 10 * 1000);
        }
        late_ones(t0 + per_ms, LATE_IN_WINDOW - 1);
        for i in 0..WINDOW_LEN as u64 {
            seen(t0 + i * 1000, t0 + i * 1000 + 10 * 1000);
        }
        assert!(!sleep_at_once(t0 + per_ms + 1));
        // A window with enough late ones: no spinning for HOLD_MIN_MS.
        let t1 = t0 + 10 * per_ms;
        late_ones(t1, LATE_IN_WINDOW);
        assert!(sleep_at_once(t1 + 1));
        assert!(!sleep_at_once(t1 + HOLD_MIN_MS * per_ms));
        // Late again soon after: twice as long.
        let t2 = t1 + HOLD_MIN_MS * per_ms + 5 * per_ms;
        late_ones(t2, LATE_IN_WINDOW);
        assert!(sleep_at_once(t2 + 2 * HOLD_MIN_MS * per_ms - 1));
        assert!(!sleep_at_once(t2 + 2 * HOLD_MIN_MS * per_ms));
        // Late long after: back to the shortest.
        let t3 = t2 + 100 * HOLD_MAX_MS * per_ms;
        late_ones(t3, LATE_IN_WINDOW);
        assert!(sleep_at_once(t3 + HOLD_MIN_MS * per_ms - 1));
        assert!(!sleep_at_once(t3 + HOLD_MIN_MS * per_ms));
        // Stamps that make no sense (none, or the wrong way round) count
        // for nothing.
        let t4 = t3 + 100 * HOLD_MAX_MS * per_ms;
        for _ in 0..2 * LATE_IN_WINDOW {
            seen(0, t4);
            seen(t4 + per_ms, t4);
        }
        assert!(!sleep_at_once(t4));
    }

    #[test]
    fn a_contended_thread_and_its_stub_leave_batch_and_come_back() {
        let policy = |tid: i32| {
            // SAFETY: sched_getscheduler only reads a thread's policy.
            unsafe { libc::sched_getscheduler(tid) }
        };
        std::thread::spawn(move || {
            set_policy(0, false);
            // The "stub": another thread, made under SCHED_BATCH.
            let (tx, rx) = std::sync::mpsc::channel();
            let (done_tx, done) = std::sync::mpsc::channel::<()>();
            let stub = std::thread::spawn(move || {
                // SAFETY: gettid has no arguments.
                tx.send(unsafe { libc::gettid() }).unwrap();
                let _ = done.recv();
            });
            let tid = rx.recv().unwrap();
            assert_eq!((policy(0), policy(tid)), (libc::SCHED_BATCH, libc::SCHED_BATCH));
            let note = AtomicU32::new(u32::MAX);
            switch_policies(true, tid, &note);
            assert_eq!((policy(0), policy(tid), note.load(Ordering::Relaxed)), (libc::SCHED_OTHER, libc::SCHED_OTHER, 1));
            switch_policies(false, tid, &note);
            assert_eq!((policy(0), policy(tid), note.load(Ordering::Relaxed)), (libc::SCHED_BATCH, libc::SCHED_BATCH, 0));
            drop(done_tx);
            stub.join().unwrap();
        })
        .join()
        .unwrap();
    }
}
