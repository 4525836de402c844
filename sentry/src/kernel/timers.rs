//! Interval timers (alarm, setitimer ITIMER_REAL): one kernel thread
//! sleeps until the earliest deadline and sends SIGALRM to the process.

use std::collections::{BinaryHeap, HashMap};
use std::cmp::Reverse;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use super::signal::{sig, QueuedSignal};
use super::task::send_group;
use super::Kernel;

#[derive(Clone, Copy)]
struct Armed {
    tgid: i32,
    deadline: Instant,
    interval: Duration,
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    armed: HashMap<u64, Armed>,
    /// The ITIMER_REAL timer id of each process.
    by_tgid: HashMap<i32, u64>,
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

    /// The process's ITIMER_REAL as (time left, interval).
    pub fn get_real(&self, tgid: i32) -> (Duration, Duration) {
        let st = self.lock();
        st.by_tgid
            .get(&tgid)
            .and_then(|id| st.armed.get(id))
            .map(|a| (a.deadline.saturating_duration_since(Instant::now()).max(Duration::from_micros(1)), a.interval))
            .unwrap_or_default()
    }

    /// Arm (or with a zero value, disarm) the process's ITIMER_REAL;
    /// returns the old (time left, interval).
    pub fn set_real(&self, kernel: &Arc<Kernel>, tgid: i32, value: Duration, interval: Duration) -> (Duration, Duration) {
        let old = self.get_real(tgid);
        let mut st = self.lock();
        if let Some(id) = st.by_tgid.remove(&tgid) {
            st.armed.remove(&id);
        }
        if !value.is_zero() {
            let Some(deadline) = Instant::now().checked_add(value) else { return old };
            let id = st.next_id;
            st.next_id += 1;
            st.armed.insert(id, Armed { tgid, deadline, interval });
            st.by_tgid.insert(tgid, id);
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
            fire.push(a.tgid);
            if a.interval.is_zero() {
                st.armed.remove(&id);
                st.by_tgid.remove(&a.tgid);
            } else if let Some(next) = deadline.checked_add(a.interval) {
                st.armed.insert(id, Armed { deadline: next, ..a });
                st.heap.push(Reverse((next, id)));
            }
        }
        let wait = st.heap.peek().map(|Reverse((d, _))| d.saturating_duration_since(now)).unwrap_or(Duration::from_secs(1));
        drop(st);
        for tgid in fire {
            if let Some(tg) = kernel.group(tgid) {
                send_group(&kernel, &tg, QueuedSignal { signo: sig::SIGALRM, code: 0x80, ..Default::default() });
            }
        }
        let st = timers.lock();
        let timers_ref = &kernel.timers;
        let _ = timers_ref.cv.wait_timeout(st, wait);
    }
}
