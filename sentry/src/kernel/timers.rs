//! Timers: ITIMER_REAL (alarm, setitimer), ITIMER_VIRTUAL and ITIMER_PROF,
//! POSIX timers on wall and CPU-time clocks (timer_create), and RLIMIT_CPU.
//! One kernel thread sleeps until the earliest wall-clock deadline and
//! sends the signal; while any CPU-time timer or CPU limit is armed it
//! also wakes every `CPU_TICK` to sample the CPU time it measures (as
//! Linux checks them on its scheduler tick).

use std::collections::{BinaryHeap, HashMap, HashSet};
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
    /// A process's ITIMER_VIRTUAL.
    Virtual(i32),
    /// A process's ITIMER_PROF.
    Prof(i32),
}

/// How often CPU-time timers are sampled (Linux's tick at HZ=250 is 4 ms).
const CPU_TICK: Duration = Duration::from_millis(4);

/// What a CPU-time timer measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuClock {
    /// A process: user time only (`user_only`, ITIMER_VIRTUAL) or user
    /// plus system time.
    Process {
        #[allow(missing_docs)]
        tgid: i32,
        #[allow(missing_docs)]
        user_only: bool,
    },
    /// One thread.
    Thread {
        #[allow(missing_docs)]
        tid: i32,
        #[allow(missing_docs)]
        user_only: bool,
    },
}

impl CpuClock {
    /// The time on this clock now; None once its process or thread is gone.
    pub fn now(&self, kernel: &Kernel) -> Option<Duration> {
        let ((u, s), user_only) = match *self {
            CpuClock::Process { tgid, user_only } => {
                let tg = kernel.group(tgid).filter(|g| !g.st().zombie)?;
                (tg.cpu_times(kernel), user_only)
            }
            CpuClock::Thread { tid, user_only } => (kernel.task(tid)?.cpu_times(), user_only),
        };
        Some(if user_only { u } else { u + s })
    }
}

#[derive(Clone, Copy)]
struct CpuArmed {
    clock: CpuClock,
    /// Fires when the clock reaches this.
    expires: Duration,
    interval: Duration,
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
    /// Armed CPU-time timers.
    cpu: HashMap<TimerKey, CpuArmed>,
    /// Processes with a finite RLIMIT_CPU.
    rlimit_cpu: HashSet<i32>,
}

/// The interval timers of the sandbox.
#[derive(Default)]
pub struct Timers {
    st: Mutex<State>,
    cv: Condvar,
    /// The kernel, once the thread runs (for sampling CPU clocks).
    kernel: Mutex<Weak<Kernel>>,
}

impl Timers {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A timer's (time left, interval); zero when disarmed.
    pub fn get(&self, key: TimerKey) -> (Duration, Duration) {
        let st = self.lock();
        if let Some(c) = st.cpu.get(&key).copied() {
            drop(st);
            let Some(kernel) = self.kernel.lock().unwrap_or_else(|e| e.into_inner()).upgrade() else { return Default::default() };
            let now = c.clock.now(&kernel).unwrap_or_default();
            return (c.expires.saturating_sub(now).max(Duration::from_nanos(1)), c.interval);
        }
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
        st.cpu.remove(&key);
        if !value.is_zero() {
            let Some(deadline) = Instant::now().checked_add(value) else { return old };
            let id = st.next_id;
            st.next_id += 1;
            st.armed.insert(id, Armed { key, deadline, interval });
            st.by_key.insert(key, id);
            st.heap.push(Reverse((deadline, id)));
            self.ensure_thread(&mut st, kernel);
        }
        self.cv.notify_all();
        old
    }

    /// Arm or disarm the process's ITIMER_REAL.
    pub fn set_real(&self, kernel: &Arc<Kernel>, tgid: i32, value: Duration, interval: Duration) -> (Duration, Duration) {
        self.set(kernel, TimerKey::Real(tgid), value, interval)
    }

    fn ensure_thread(&self, st: &mut State, kernel: &Arc<Kernel>) {
        if !st.thread {
            st.thread = true;
            *self.kernel.lock().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(kernel);
            let k = Arc::downgrade(kernel);
            let _ = std::thread::Builder::new().name("timers".into()).spawn(move || run(k));
        }
    }

    /// Arm (or with a zero value, disarm) a CPU-time timer on `clock`;
    /// returns the old (time left, interval).
    pub fn set_cpu(&self, kernel: &Arc<Kernel>, key: TimerKey, clock: CpuClock, value: Duration, interval: Duration) -> (Duration, Duration) {
        let old = self.get(key);
        let now = clock.now(kernel).unwrap_or_default();
        let mut st = self.lock();
        if let Some(id) = st.by_key.remove(&key) {
            st.armed.remove(&id);
        }
        st.cpu.remove(&key);
        if !value.is_zero() {
            st.cpu.insert(key, CpuArmed { clock, expires: now + value, interval });
            self.ensure_thread(&mut st, kernel);
        }
        self.cv.notify_all();
        old
    }

    /// Watch (or stop watching) a process's RLIMIT_CPU.
    pub fn watch_rlimit_cpu(&self, kernel: &Arc<Kernel>, tgid: i32, finite: bool) {
        let mut st = self.lock();
        if finite {
            st.rlimit_cpu.insert(tgid);
            self.ensure_thread(&mut st, kernel);
        } else {
            st.rlimit_cpu.remove(&tgid);
        }
        self.cv.notify_all();
    }

    /// Disarm every timer of an exiting process.
    pub fn process_exit(&self, kernel: &Arc<Kernel>, tgid: i32) {
        for key in [TimerKey::Real(tgid), TimerKey::Virtual(tgid), TimerKey::Prof(tgid)] {
            self.set(kernel, key, Duration::ZERO, Duration::ZERO);
        }
        self.lock().rlimit_cpu.remove(&tgid);
    }

    /// Sample the CPU clocks: fire the timers that expired and enforce
    /// RLIMIT_CPU. Returns whether anything still needs sampling.
    fn check_cpu(&self, kernel: &Arc<Kernel>) -> bool {
        let (armed, watched): (Vec<(TimerKey, CpuArmed)>, Vec<i32>) = {
            let st = self.lock();
            (st.cpu.iter().map(|(k, a)| (*k, *a)).collect(), st.rlimit_cpu.iter().copied().collect())
        };
        let mut fire = Vec::new();
        for (key, a) in armed {
            let now = a.clock.now(kernel);
            let mut st = self.lock();
            let Some(cur) = st.cpu.get_mut(&key) else { continue };
            if cur.expires != a.expires {
                continue;
            }
            match now {
                None => {
                    st.cpu.remove(&key);
                }
                Some(now) if now >= a.expires => {
                    fire.push(key);
                    if a.interval.is_zero() {
                        st.cpu.remove(&key);
                    } else {
                        cur.expires += a.interval;
                    }
                }
                Some(_) => {}
            }
        }
        for key in fire {
            fire_timer(kernel, key);
        }
        for tgid in watched {
            if !check_rlimit_cpu(kernel, tgid) {
                self.lock().rlimit_cpu.remove(&tgid);
            }
        }
        let st = self.lock();
        !st.cpu.is_empty() || !st.rlimit_cpu.is_empty()
    }
}

/// Linux's RLIMIT_CPU: SIGKILL at the hard limit; at the soft limit
/// SIGXCPU, and the soft limit moves up a second so that it comes again
/// every second. Returns false when there is nothing left to watch.
fn check_rlimit_cpu(kernel: &Arc<Kernel>, tgid: i32) -> bool {
    let Some(tg) = kernel.group(tgid).filter(|g| !g.st().zombie) else { return false };
    let lim = tg.rlimit(0);
    if lim.cur == super::task::RLIM_INFINITY {
        return false;
    }
    let (u, s) = tg.cpu_times(kernel);
    let used = u + s;
    if lim.max != super::task::RLIM_INFINITY && used >= Duration::from_secs(lim.max) {
        super::task::kill_group(kernel, &tg, sig::SIGKILL);
        return false;
    }
    if used >= Duration::from_secs(lim.cur) {
        send_group(kernel, &tg, QueuedSignal { signo: sig::SIGXCPU, code: 0x80, ..Default::default() });
        let mut l = tg.rlimits.lock().unwrap_or_else(|e| e.into_inner());
        if l[0].cur < l[0].max {
            l[0].cur += 1;
        }
    }
    true
}

/// Deliver an expiry.
fn fire_timer(kernel: &Arc<Kernel>, key: TimerKey) {
    match key {
        TimerKey::Real(tgid) => {
            if let Some(tg) = kernel.group(tgid) {
                send_group(kernel, &tg, QueuedSignal { signo: sig::SIGALRM, code: 0x80, ..Default::default() });
            }
        }
        TimerKey::Virtual(tgid) | TimerKey::Prof(tgid) => {
            let signo = if matches!(key, TimerKey::Virtual(_)) { sig::SIGVTALRM } else { sig::SIGPROF };
            if let Some(tg) = kernel.group(tgid) {
                send_group(kernel, &tg, QueuedSignal { signo, code: 0x80, ..Default::default() });
            }
        }
        TimerKey::Posix(tgid, id) => {
            let Some(tg) = kernel.group(tgid) else { return };
            let mut timers = tg.posix_timers.lock().unwrap_or_else(|e| e.into_inner());
            let Some(pt) = timers.get_mut(&id) else { return };
            if pt.notify == SIGEV_NONE {
                return;
            }
            // While its signal is still queued, an expiry is an overrun,
            // reported with the signal when it is taken (Linux's it_overrun).
            let queued = |p: &crate::kernel::signal::Pending| p.queue.iter().any(|q| q.code == SI_TIMER && q.pid == id);
            let target = (pt.notify & SIGEV_THREAD_ID != 0).then(|| kernel.task(pt.tid)).flatten();
            let pending = queued(&tg.pending.lock().unwrap_or_else(|e| e.into_inner()))
                || target.as_ref().is_some_and(|t| queued(&t.pending.lock().unwrap_or_else(|e| e.into_inner())));
            if pending {
                pt.overrun = pt.overrun.saturating_add(1).min(i32::MAX as u32);
                return;
            }
            let pt = *pt;
            drop(timers);
            let q = QueuedSignal { signo: pt.signo, code: SI_TIMER, pid: id, value: pt.value, ..Default::default() };
            match target {
                Some(t) => t.send_signal_thread(q),
                None => send_group(kernel, &tg, q),
            }
        }
    }
}

/// si_code of a POSIX timer's signal (its si_tid is the timer id, its
/// si_overrun the overruns).
pub const SI_TIMER: i32 = -2;

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
    /// For a timer on a CPU-time clock: what it measures.
    pub cpu: Option<CpuClock>,
    /// Expiries while its signal was queued, not yet reported.
    pub overrun: u32,
    /// The overruns reported with the last signal taken (timer_getoverrun).
    pub overrun_last: u32,
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
        let mut wait = st.heap.peek().map(|Reverse((d, _))| d.saturating_duration_since(now)).unwrap_or(Duration::from_secs(1));
        let sample = !st.cpu.is_empty() || !st.rlimit_cpu.is_empty();
        drop(st);
        for key in fire {
            fire_timer(&kernel, key);
        }
        if sample && timers.check_cpu(&kernel) {
            wait = wait.min(CPU_TICK);
        }
        let st = timers.lock();
        let timers_ref = &kernel.timers;
        let _ = timers_ref.cv.wait_timeout(st, wait);
    }
}
