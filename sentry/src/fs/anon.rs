//! Anonymous files: eventfd and epoll.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::kernel::wait::WaitQueue;
use crate::vfs::{self, mode, Attr, File, FileOps, Inode, POLLIN, POLLOUT};

/// The inode every anonymous file shows (anon_inode:[...]).
pub struct AnonInode {
    ino: u64,
}

impl AnonInode {
    /// A fresh anonymous inode.
    pub fn new() -> Arc<AnonInode> {
        Arc::new(AnonInode { ino: vfs::next_ino() })
    }
}

impl Inode for AnonInode {
    fn stat(&self) -> KResult<Attr> {
        let t = crate::kernel::boot_time();
        Ok(Attr { ino: self.ino, dev: 0xd, mode: 0o600, nlink: 1, blksize: 4096, atime: t, mtime: t, ctime: t, ..Attr::default() })
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Err(Errno::ENXIO)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

const _: u32 = mode::S_IFREG;

/// An eventfd: a 64-bit counter.
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    wq: WaitQueue,
}

impl EventFd {
    /// A counter starting at `init`.
    pub fn new(init: u64, semaphore: bool) -> Arc<EventFd> {
        Arc::new(EventFd { count: Mutex::new(init), semaphore, wq: WaitQueue::default() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.count.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl FileOps for EventFd {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = task.block_on(&self.wq, nonblock, None, || {
            let mut c = self.lock();
            if *c == 0 {
                return None;
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            Some(v)
        })?;
        self.wq.notify_all();
        buf[..8].copy_from_slice(&v.to_ne_bytes());
        Ok(8)
    }

    fn write(&self, task: &Task, buf: &[u8], _off: u64, nonblock: bool) -> KResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = u64::from_ne_bytes(buf[..8].try_into().map_err(|_| Errno::EINVAL)?);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        task.block_on(&self.wq, nonblock, None, || {
            let mut c = self.lock();
            if u64::MAX - 1 - *c < v {
                return None;
            }
            *c += v;
            Some(())
        })?;
        self.wq.notify_all();
        Ok(8)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn readiness(&self) -> u32 {
        let c = *self.lock();
        let mut r = 0;
        if c > 0 {
            r |= POLLIN;
        }
        if c < u64::MAX - 1 {
            r |= POLLOUT;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }
}

#[allow(missing_docs)]
pub mod ep {
    pub const EPOLLIN: u32 = 0x1;
    pub const EPOLLERR: u32 = 0x8;
    pub const EPOLLHUP: u32 = 0x10;
    pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
    pub const EPOLLWAKEUP: u32 = 1 << 29;
    pub const EPOLLONESHOT: u32 = 1 << 30;
    pub const EPOLLET: u32 = 1 << 31;
}

struct Interest {
    file: Weak<File>,
    events: u32,
    data: u64,
    /// Edge-triggered bookkeeping: the file's event count and readiness
    /// when last reported.
    last_events: u64,
    last_ready: u32,
}

/// An epoll instance.
pub struct Epoll {
    interests: Mutex<BTreeMap<(i32, usize), Interest>>,
}

impl Epoll {
    /// An empty interest list.
    pub fn new() -> Arc<Epoll> {
        Arc::new(Epoll { interests: Mutex::new(BTreeMap::new()) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(i32, usize), Interest>> {
        self.interests.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// EPOLL_CTL_ADD (1), _DEL (2), _MOD (3).
    pub fn ctl(&self, op: i32, fd: i32, file: &Arc<File>, events: u32, data: u64) -> KResult<()> {
        let key = (fd, Arc::as_ptr(file) as usize);
        let mut m = self.lock();
        m.retain(|_, i| i.file.strong_count() > 0);
        match op {
            1 => {
                if m.contains_key(&key) {
                    return Err(Errno::EEXIST);
                }
                m.insert(key, Interest { file: Arc::downgrade(file), events, data, last_events: u64::MAX, last_ready: 0 });
            }
            2 => {
                m.remove(&key).ok_or(Errno::ENOENT)?;
            }
            3 => {
                let i = m.get_mut(&key).ok_or(Errno::ENOENT)?;
                if i.events & ep::EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                i.events = events;
                i.data = data;
                i.last_events = u64::MAX;
                i.last_ready = 0;
            }
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    }

    /// Collect up to `max` ready events, consuming edge-triggered and
    /// one-shot reports.
    pub fn collect(&self, task: &Task, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut m = self.lock();
        m.retain(|_, i| i.file.strong_count() > 0);
        for i in m.values_mut() {
            if out.len() >= max {
                break;
            }
            let Some(f) = i.file.upgrade() else { continue };
            let want = (i.events & 0xffff) | ep::EPOLLERR | ep::EPOLLHUP;
            if i.events & 0xffff == 0 && i.events & ep::EPOLLONESHOT != 0 {
                continue; // disarmed one-shot
            }
            let r = f.ops.readiness_for(task) & want;
            if r == 0 {
                i.last_ready = 0;
                continue;
            }
            if i.events & ep::EPOLLET != 0 {
                let ev = f.ops.wait_queue().map(|q| q.events()).unwrap_or(0);
                let new_bits = r & !i.last_ready != 0;
                if !new_bits && ev == i.last_events {
                    continue;
                }
                i.last_events = ev;
                i.last_ready = r;
            }
            if i.events & ep::EPOLLONESHOT != 0 {
                i.events &= !0xffff;
            }
            out.push((r, i.data));
        }
        out
    }

    /// The files watched, for blocking on their wait queues.
    pub fn files(&self) -> Vec<Arc<File>> {
        self.lock().values().filter_map(|i| i.file.upgrade()).collect()
    }
}

impl FileOps for Epoll {
    fn read(&self, _: &Task, _: &mut [u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _: &Task, _: &[u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EINVAL)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn readiness(&self) -> u32 {
        let m = self.lock();
        let any = m.values().any(|i| {
            i.file.upgrade().is_some_and(|f| f.ops.readiness() & ((i.events & 0xffff) | ep::EPOLLERR | ep::EPOLLHUP) != 0)
        });
        if any {
            POLLIN
        } else {
            0
        }
    }
    fn as_epoll(&self) -> Option<&Epoll> {
        Some(self)
    }
}

/// A timerfd: expirations are counted from the clock when read, so no
/// thread is needed; pollers wait in short slices (no wait queue).
pub struct TimerFd {
    /// CLOCK_REALTIME (0) or a monotonic clock.
    pub clock: i32,
    st: Mutex<TimerState>,
}

#[derive(Default, Clone, Copy)]
struct TimerState {
    /// Next expiry (None: disarmed).
    next: Option<std::time::Instant>,
    interval: std::time::Duration,
    /// Expirations counted but not read yet.
    pending: u64,
}

impl TimerFd {
    /// A disarmed timer.
    pub fn new(clock: i32) -> Arc<TimerFd> {
        Arc::new(TimerFd { clock, st: Mutex::new(TimerState::default()) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TimerState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count expirations up to now into `pending`.
    fn advance(st: &mut TimerState) {
        let now = std::time::Instant::now();
        if let Some(next) = st.next {
            if now >= next {
                if st.interval.is_zero() {
                    st.pending += 1;
                    st.next = None;
                } else {
                    let n = ((now - next).as_nanos() / st.interval.as_nanos()) as u64 + 1;
                    st.pending += n;
                    st.next = next.checked_add(st.interval * n as u32);
                }
            }
        }
    }

    /// (time to next expiry, interval), as timerfd_gettime reports.
    pub fn get(&self) -> (std::time::Duration, std::time::Duration) {
        let mut st = self.lock();
        Self::advance(&mut st);
        let left = st.next.map(|n| n.saturating_duration_since(std::time::Instant::now())).unwrap_or_default();
        (left, st.interval)
    }

    /// Arm with `value` from now (zero disarms) and `interval`; returns
    /// the old setting. Pending expirations are dropped.
    pub fn set(&self, value: std::time::Duration, interval: std::time::Duration) -> (std::time::Duration, std::time::Duration) {
        let old = self.get();
        let mut st = self.lock();
        st.pending = 0;
        st.interval = interval;
        st.next = if value.is_zero() { None } else { crate::kernel::wait::deadline_after(value) };
        old
    }
}

impl FileOps for TimerFd {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        loop {
            let g = task.waker.gen();
            let next = {
                let mut st = self.lock();
                Self::advance(&mut st);
                if st.pending > 0 {
                    let n = std::mem::take(&mut st.pending);
                    buf[..8].copy_from_slice(&n.to_ne_bytes());
                    return Ok(8);
                }
                st.next
            };
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            if task.has_pending_signal() {
                return Err(Errno::ERESTARTSYS);
            }
            task.waker.wait(g, next.or_else(|| crate::kernel::wait::deadline_after(std::time::Duration::from_secs(1))));
        }
    }
    fn write(&self, _: &Task, _: &[u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EINVAL)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn readiness(&self) -> u32 {
        let mut st = self.lock();
        Self::advance(&mut st);
        if st.pending > 0 {
            POLLIN
        } else {
            0
        }
    }
    fn as_timerfd(&self) -> Option<&TimerFd> {
        Some(self)
    }
}

/// A signalfd: reads take pending signals of its mask from the reader.
pub struct SignalFd {
    /// The signals it reports.
    pub mask: std::sync::atomic::AtomicU64,
}

impl FileOps for SignalFd {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        if buf.len() < 128 {
            return Err(Errno::EINVAL);
        }
        let mask = self.mask.load(std::sync::atomic::Ordering::SeqCst);
        let mut n = 0;
        loop {
            let g = task.waker.gen();
            while n + 128 <= buf.len() {
                let Some(q) = task.take_pending(!mask) else { break };
                buf[n..n + 128].copy_from_slice(&signalfd_siginfo(&q));
                n += 128;
            }
            if n > 0 {
                return Ok(n);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            if task.has_pending_signal() {
                return Err(Errno::ERESTARTSYS);
            }
            task.waker.wait(g, None);
        }
    }
    fn write(&self, _: &Task, _: &[u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EINVAL)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn as_signalfd(&self) -> Option<&SignalFd> {
        Some(self)
    }
    fn readiness_for(&self, task: &Task) -> u32 {
        let mask = self.mask.load(std::sync::atomic::Ordering::SeqCst);
        let p = task.pending.lock().unwrap_or_else(|e| e.into_inner()).mask | task.tg.pending.lock().unwrap_or_else(|e| e.into_inner()).mask;
        if p & mask != 0 {
            POLLIN
        } else {
            0
        }
    }
}

/// `struct signalfd_siginfo` (128 bytes).
fn signalfd_siginfo(q: &crate::kernel::signal::QueuedSignal) -> [u8; 128] {
    let mut b = [0u8; 128];
    b[0..4].copy_from_slice(&(q.signo as u32).to_ne_bytes());
    b[8..12].copy_from_slice(&q.code.to_ne_bytes());
    if q.code == crate::kernel::timers::SI_TIMER {
        // ssi_tid (the timer id) and ssi_overrun.
        b[24..28].copy_from_slice(&(q.pid as u32).to_ne_bytes());
        b[32..36].copy_from_slice(&q.uid.to_ne_bytes());
    } else {
        b[12..16].copy_from_slice(&(q.pid as u32).to_ne_bytes());
        b[16..20].copy_from_slice(&q.uid.to_ne_bytes());
    }
    b[40..44].copy_from_slice(&q.status.to_ne_bytes());
    // ssi_int and ssi_ptr both carry si_value.
    b[44..48].copy_from_slice(&(q.value as u32).to_ne_bytes());
    b[48..56].copy_from_slice(&q.value.to_ne_bytes());
    b[72..80].copy_from_slice(&q.addr.to_ne_bytes());
    b
}

/// A pidfd: a handle on a process; readable once it has exited.
pub struct PidFd {
    /// The process.
    pub tg: Arc<crate::kernel::task::ThreadGroup>,
}

impl PidFd {
    /// A new pidfd description for `tg`.
    pub fn file(tg: Arc<crate::kernel::task::ThreadGroup>) -> Arc<File> {
        File::new(Arc::new(PidFd { tg }), AnonInode::new(), b"anon_inode:[pidfd]".to_vec(), crate::vfs::oflags::O_RDWR)
    }
}

impl FileOps for PidFd {
    fn read(&self, _: &Task, _: &mut [u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _: &Task, _: &[u8], _: u64, _: bool) -> KResult<usize> {
        Err(Errno::EINVAL)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn readiness(&self) -> u32 {
        if self.tg.st().zombie {
            POLLIN
        } else {
            0
        }
    }
    fn as_pidfd(&self) -> Option<&PidFd> {
        Some(self)
    }
}
