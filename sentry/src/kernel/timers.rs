//! Timers: ITIMER_REAL (alarm, setitimer) and POSIX timers (timer_create).
//! One kernel thread sleeps until the earliest deadline and sends the
//! signal: SIGALRM to the process, or a POSIX timer's own signal to its
//! process or thread.

use std::collections::{BinaryHeap, HashMap};
use std::cmp::Reverse;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use super::signal::{sig, QueuedSignal};
use super::task::send_group;
use super::Kernel;

/// Which timer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TimerKey {
    /// A process's ITIMER_REAL.
    Real(i32),
    /// A POSIX timer: (process, timer id).
    Posix(i32, i32),
}

#[derive(Clone, Copy)]
struct Armed {
    key: TimerKey,
    deadline: Instant,
    interval: Duration,
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    armed: HashMap<u64, Armed>,
    /// The armed entry of each timer.
    by_key: HashMap<TimerKey, u64>,
    next_id: u64,
    thread: bool,
}

/// The interval timers of the sandbox.
#[derive(Default)]
pub struct Timers {
    st: Mutex<State>,
    cv: Condvar,
}

impl Timers {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A timer's (time left, interval); zero when disarmed.
    pub fn get(&self, key: TimerKey) -> (Duration, Duration) {
        let st = self.lock();
        st.by_key
            .get(&key)
            .and_then(|id| st.armed.get(id))
            .map(|a| (a.deadline.saturating_duration_since(Instant::now()).max(Duration::from_nanos(1)), a.interval))
            .unwrap_or_default()
    }

    /// The process's ITIMER_REAL as (time left, interval).
    pub fn get_real(&self, tgid: i32) -> (Duration, Duration) {
        self.get(TimerKey::Real(tgid))
    }

    /// Arm (or with a zero value, disarm) a timer; returns the old
    /// (time left, interval).
    pub fn set(&self, kernel: &Arc<Kernel>, key: TimerKey, value: Duration, interval: Duration) -> (Duration, Duration) {
        let old = self.get(key);
        let mut st = self.lock();
        if let Some(id) = st.by_key.remove(&key) {
            st.armed.remove(&id);
        }
        if !value.is_zero() {
            let Some(deadline) = Instant::now().checked_add(value) else { return old };
            let id = st.next_id;
            st.next_id += 1;
            st.armed.insert(id, Armed { key, deadline, interval });
            st.by_key.insert(key, id);
            st.heap.push(Reverse((deadline, id)));
            if !st.thread {
                st.thread = true;
                let k = Arc::downgrade(kernel);
                let _ = std::thread::Builder::new().name("timers".into()).spawn(move || run(k));
            }
        }
        self.cv.notify_all();
        old
    }

    /// Arm or disarm the process's ITIMER_REAL.
    pub fn set_real(&self, kernel: &Arc<Kernel>, tgid: i32, value: Duration, interval: Duration) -> (Duration, Duration) {
        self.set(kernel, TimerKey::Real(tgid), value, interval)
    }
}

/// Deliver an expiry.
fn fire_timer(kernel: &Arc<Kernel>, key: TimerKey) {
    match key {
        TimerKey::Real(tgid) => {
            if let Some(tg) = kernel.group(tgid) {
                send_group(kernel, &tg, QueuedSignal { signo: sig::SIGALRM, code: 0x80, ..Default::default() });
            }
        }
        TimerKey::Posix(tgid, id) => {
            let Some(tg) = kernel.group(tgid) else { return };
            let Some(pt) = tg.posix_timers.lock().unwrap_or_else(|e| e.into_inner()).get(&id).copied() else { return };
            if pt.notify == SIGEV_NONE {
                return;
            }
            // SI_TIMER
            let q = QueuedSignal { signo: pt.signo, code: -2, pid: id, value: pt.value, ..Default::default() };
            match (pt.notify & SIGEV_THREAD_ID != 0).then(|| kernel.task(pt.tid)).flatten() {
                Some(t) => t.send_signal_thread(q),
                None => send_group(kernel, &tg, q),
            }
        }
    }
}

/// sigev_notify values.
pub const SIGEV_SIGNAL: i32 = 0;
#[allow(missing_docs)]
pub const SIGEV_NONE: i32 = 1;
#[allow(missing_docs)]
pub const SIGEV_THREAD_ID: i32 = 4;

/// A POSIX timer's notification.
#[derive(Clone, Copy, Debug)]
pub struct PosixTimer {
    /// Clock id.
    pub clock: i32,
    /// SIGEV_* mode.
    pub notify: i32,
    /// Signal.
    pub signo: i32,
    /// sigev_value.
    pub value: u64,
    /// Target thread for SIGEV_THREAD_ID.
    pub tid: i32,
}

fn run(k: Weak<Kernel>) {
    loop {
        let Some(kernel) = k.upgrade() else { return };
        let timers = &kernel.timers;
        let mut st = timers.lock();
        let now = Instant::now();
        let mut fire = Vec::new();
        while let Some(Reverse((deadline, id))) = st.heap.peek().copied() {
            if deadline > now {
                break;
            }
            st.heap.pop();
            let Some(a) = st.armed.get(&id).copied() else { continue };
            if a.deadline != deadline {
                continue;
            }
            fire.push(a.key);
            if a.interval.is_zero() {
                st.armed.remove(&id);
                st.by_key.remove(&a.key);
            } else if let Some(next) = deadline.checked_add(a.interval) {
                st.armed.insert(id, Armed { deadline: next, ..a });
                st.heap.push(Reverse((next, id)));
            }
        }
        let wait = st.heap.peek().map(|Reverse((d, _))| d.saturating_duration_since(now)).unwrap_or(Duration::from_secs(1));
        drop(st);
        for key in fire {
            fire_timer(&kernel, key);
        }
        let st = timers.lock();
        let timers_ref = &kernel.timers;
        let _ = timers_ref.cv.wait_timeout(st, wait);
    }
}
