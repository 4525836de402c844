//! POSIX message queues and the mqueue filesystem that names them: one
//! directory per sandbox (its IPC namespace), whose files are the queues
//! mq_open(3) opens. Messages come out highest priority first, in order of
//! arrival within a priority. A read(2) of a queue's file shows its
//! status line, as on Linux.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::errno::{Errno, KResult};
use crate::kernel::task::{Task, ThreadGroup};
use crate::kernel::wait::WaitQueue;
use crate::vfs::{self, mode, Attr, DirEntry, DirFile, FileOps, Inode, POLLIN, POLLOUT};

/// Priorities are below this.
pub const MQ_PRIO_MAX: u32 = 32768;
/// si_code of a queue's notification signal.
pub const SI_MESGQ: i32 = -3;
/// Linux's DFLT_MSG and DFLT_MSGSIZE: a queue made without attributes.
pub const DEFAULT_ATTR: (usize, usize) = (10, 8192);

/// What mq_notify registered.
pub struct Notify {
    /// The registering process.
    pub tg: Weak<ThreadGroup>,
    pub tgid: i32,
    /// None: SIGEV_NONE; else the signal and its value.
    pub signal: Option<(i32, u64)>,
    /// The open queue it was made through (its [`QueueFile`]'s address):
    /// the registration ends when that description is released.
    pub file: usize,
}

#[derive(Default)]
struct QState {
    /// (inverted priority, arrival) -> message.
    msgs: BTreeMap<(u32, u64), Vec<u8>>,
    seq: u64,
    bytes: usize,
    notify: Option<Notify>,
    /// Tasks blocked in a receive (a notification waits while there are).
    receivers: usize,
}

/// One message queue: its attributes, messages and waiters. It is also
/// the inode the mqueue directory names.
pub struct Queue {
    pub maxmsg: usize,
    pub msgsize: usize,
    st: Mutex<QState>,
    /// Senders, receivers and pollers.
    pub wq: WaitQueue,
    attr: Mutex<Attr>,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.lock().msgs.len()
    }

    /// Queue `msg` at `prio` (the caller checked size and priority);
    /// blocks while the queue is full. Returns the notification to fire,
    /// if this message made one due.
    pub fn send(&self, t: &Task, msg: Vec<u8>, prio: u32, nonblock: bool, deadline: Option<std::time::Instant>) -> KResult<Option<Notify>> {
        let mut msg = Some(msg);
        let fire = t.block_on(&self.wq, nonblock, deadline, || {
            let mut st = self.lock();
            if st.msgs.len() >= self.maxmsg {
                return None;
            }
            let m = msg.take()?;
            let was_empty = st.msgs.is_empty();
            st.seq += 1;
            let seq = st.seq;
            st.bytes += m.len();
            st.msgs.insert((u32::MAX - prio, seq), m);
            // As Linux: the notification fires for a message into an
            // empty queue that no receiver is waiting for, and is spent.
            Some(if was_empty && st.receivers == 0 { st.notify.take() } else { None })
        })?;
        self.touch();
        self.wq.notify_all();
        Ok(fire)
    }

    /// Take the highest-priority message (blocks while empty).
    pub fn receive(&self, t: &Task, nonblock: bool, deadline: Option<std::time::Instant>) -> KResult<(Vec<u8>, u32)> {
        self.lock().receivers += 1;
        let r = t.block_on(&self.wq, nonblock, deadline, || {
            let mut st = self.lock();
            let ((inv, _), m) = st.msgs.pop_first()?;
            st.bytes -= m.len();
            Some((m, u32::MAX - inv))
        });
        self.lock().receivers -= 1;
        let r = r?;
        self.touch();
        self.wq.notify_all();
        Ok(r)
    }

    /// mq_notify: register (EBUSY if anyone has, the caller too), or with
    /// None take the caller's registration off.
    pub fn set_notify(&self, tgid: i32, n: Option<Notify>) -> KResult<()> {
        let mut st = self.lock();
        // A registration whose process is gone counts as none.
        if st.notify.as_ref().is_some_and(|cur| cur.tg.strong_count() == 0) {
            st.notify = None;
        }
        match n {
            Some(_) if st.notify.is_some() => return Err(Errno::EBUSY),
            Some(n) => st.notify = Some(n),
            None if st.notify.as_ref().is_some_and(|cur| cur.tgid == tgid) => st.notify = None,
            None => {}
        }
        Ok(())
    }

    /// Forget a registration made through the open queue `file`, now
    /// released.
    fn drop_notify_from(&self, file: usize) {
        let mut st = self.lock();
        if st.notify.as_ref().is_some_and(|n| n.file == file) {
            st.notify = None;
        }
    }

    fn touch(&self) {
        let mut a = self.attr.lock().unwrap_or_else(|e| e.into_inner());
        a.mtime = vfs::now();
        a.ctime = a.mtime;
    }

    /// The status line a read of the queue's file shows.
    fn status(&self) -> String {
        let st = self.lock();
        let (signo, pid, how) = match &st.notify {
            Some(Notify { signal: Some((s, _)), tgid, .. }) => (*s, *tgid, 0),
            Some(Notify { signal: None, tgid, .. }) => (0, *tgid, 1),
            None => (0, 0, 0),
        };
        format!("QSIZE:{:<10} NOTIFY:{how:<5} SIGNO:{signo:<5} NOTIFY_PID:{pid:<6}\n", st.bytes)
    }
}

impl Inode for Queue {
    fn stat(&self) -> KResult<Attr> {
        let mut a = *self.attr.lock().unwrap_or_else(|e| e.into_inner());
        a.size = self.lock().bytes as u64;
        Ok(a)
    }

    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Ok(Arc::new(QueueFile { q: self }))
    }

    fn setattr(&self, s: &vfs::SetAttr) -> KResult<()> {
        let mut a = self.attr.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = s.mode {
            a.mode = mode::S_IFREG | (m & 0o7777);
        }
        if let Some(u) = s.uid {
            a.uid = u;
        }
        if let Some(g) = s.gid {
            a.gid = g;
        }
        a.ctime = vfs::now();
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open queue (mq_open, or open(2) of its file).
pub struct QueueFile {
    pub q: Arc<Queue>,
}

impl FileOps for QueueFile {
    fn read(&self, t: &Task, buf: &mut [u8], off: u64, nb: bool) -> KResult<usize> {
        vfs::BytesFile(self.q.status().into_bytes()).read(t, buf, off, nb)
    }

    fn write(&self, _t: &Task, _buf: &[u8], _off: u64, _nb: bool) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    fn readiness(&self) -> u32 {
        let n = self.q.len();
        let mut r = 0;
        if n > 0 {
            r |= POLLIN;
        }
        if n < self.q.maxmsg {
            r |= POLLOUT;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.q.wq)
    }

    fn on_close(&self) {
        self.q.drop_notify_from(self as *const QueueFile as usize);
    }
}

/// The mqueue directory of a sandbox: every queue by name.
pub struct MqDir {
    ino: u64,
    queues: Mutex<BTreeMap<Vec<u8>, Arc<Queue>>>,
}

impl Default for MqDir {
    fn default() -> Self {
        MqDir { ino: vfs::next_ino(), queues: Mutex::new(BTreeMap::new()) }
    }
}

impl MqDir {
    fn map(&self) -> MutexGuard<'_, BTreeMap<Vec<u8>, Arc<Queue>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues that have a name.
    pub fn count(&self) -> usize {
        self.map().len()
    }

    /// The queue `name`, if any.
    pub fn get(&self, name: &[u8]) -> Option<Arc<Queue>> {
        self.map().get(name).cloned()
    }

    /// Make queue `name` (EEXIST if taken) with `maxmsg` messages of at
    /// most `msgsize` bytes.
    pub fn make(&self, name: &[u8], maxmsg: usize, msgsize: usize, m: u32, uid: u32, gid: u32) -> KResult<Arc<Queue>> {
        let mut map = self.map();
        if map.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let t = vfs::now();
        let attr = Attr {
            ino: vfs::next_ino(),
            dev: 0x13,
            mode: mode::S_IFREG | (m & 0o7777),
            nlink: 1,
            uid,
            gid,
            blksize: 4096,
            atime: t,
            mtime: t,
            ctime: t,
            ..Attr::default()
        };
        let q = Arc::new(Queue { maxmsg, msgsize, st: Mutex::default(), wq: WaitQueue::default(), attr: Mutex::new(attr) });
        map.insert(name.to_vec(), q.clone());
        Ok(q)
    }

    /// mq_unlink: the name goes; open descriptors keep the queue.
    pub fn remove(&self, name: &[u8]) -> KResult<()> {
        self.map().remove(name).map(drop).ok_or(Errno::ENOENT)
    }
}

impl Inode for MqDir {
    fn stat(&self) -> KResult<Attr> {
        let t = crate::kernel::boot_time();
        Ok(Attr { ino: self.ino, dev: 0x13, mode: mode::S_IFDIR | 0o1777, nlink: 2, blksize: 4096, atime: t, mtime: t, ctime: t, ..Attr::default() })
    }

    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Ok(Arc::new(DirFile))
    }

    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        Ok(self.get(name).ok_or(Errno::ENOENT)?)
    }

    fn readdir(&self) -> KResult<Vec<DirEntry>> {
        Ok(self
            .map()
            .iter()
            .map(|(n, q)| DirEntry { name: n.clone(), ino: q.attr.lock().unwrap_or_else(|e| e.into_inner()).ino, kind: 8 })
            .collect())
    }

    fn create(&self, name: &[u8], m: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        Ok(self.make(name, DEFAULT_ATTR.0, DEFAULT_ATTR.1, m, uid, gid)?)
    }

    fn unlink(&self, name: &[u8], dir: bool) -> KResult<()> {
        if dir {
            return Err(Errno::ENOTDIR);
        }
        self.remove(name)
    }

    fn statfs(&self) -> KResult<vfs::FsStat> {
        const MQUEUE_MAGIC: u64 = 0x1980_0202;
        Ok(vfs::FsStat { magic: MQUEUE_MAGIC, ..vfs::FsStat::memory() })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
