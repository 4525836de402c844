//! AF_UNIX sockets (stream, datagram, seqpacket): pairs, and sockets bound
//! to filesystem paths or abstract names that listen, connect and accept;
//! fd passing (SCM_RIGHTS) and the peer's credentials.
//!
//! Each socket owns its receive channel; a connected socket's transmit
//! channel is its peer's receive channel. Bound names live in one table
//! for the sandbox (a path is also a socket node in the filesystem).

use std::collections::{HashMap, VecDeque};

use super::queue::MsgQueue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::errno::{Errno, KResult};
use crate::kernel::signal::{sig, QueuedSignal};
use crate::kernel::task::Task;
use crate::kernel::wait::WaitQueue;
use crate::vfs::{File, FileOps, POLLHUP, POLLIN, POLLOUT};

/// Socket types.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// SOCK_STREAM.
    Stream = 1,
    /// SOCK_DGRAM.
    Dgram = 2,
    /// SOCK_SEQPACKET.
    SeqPacket = 5,
}

/// Bytes a direction holds before writers block (Linux's default wmem).
const CAPACITY: usize = 212_992;

/// One message in flight.
pub struct Message {
    /// Payload.
    pub data: Vec<u8>,
    /// Passed files (SCM_RIGHTS).
    pub files: Vec<Arc<File>>,
    /// Sender pid, uid, gid (SCM_CREDENTIALS / SO_PEERCRED).
    pub creds: (i32, u32, u32),
}

/// What travels beside a message's bytes.
struct Anc {
    files: Vec<Arc<File>>,
    creds: (i32, u32, u32),
}

#[derive(Default)]
struct ChanState {
    q: MsgQueue<Anc>,
    /// The writing side shut down or closed: readers see EOF.
    write_closed: bool,
    /// The reading side shut down or closed: writers get EPIPE.
    read_closed: bool,
}

/// One direction of a pair.
#[derive(Default)]
pub struct Chan {
    st: Mutex<ChanState>,
    wq: WaitQueue,
}

impl Chan {
    fn lock(&self) -> std::sync::MutexGuard<'_, ChanState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An AF_UNIX socket.
pub struct UnixSocket {
    /// Type.
    pub kind: Kind,
    rx: Arc<Chan>,
    tx: Mutex<Option<Arc<Chan>>>,
    /// The creator's credentials (what a peer sees as SO_PEERCRED).
    own_creds: (i32, u32, u32),
    /// The peer's credentials (SO_PEERCRED).
    peer_creds: Mutex<(i32, u32, u32)>,
    /// The bound name ("\0abstract" or a canonical path), if any.
    name: Mutex<Option<Vec<u8>>>,
    /// The peer's bound name, if any.
    peer_name: Mutex<Option<Vec<u8>>>,
    /// Connections waiting for accept, when listening.
    listen: Mutex<Option<(usize, VecDeque<Arc<UnixSocket>>)>>,
    shut_rd: AtomicBool,
    shut_wr: AtomicBool,
    /// SO_PASSCRED: receive the sender's credentials with each message.
    pub passcred: AtomicBool,
}

/// Bound names of the sandbox.
fn names() -> &'static Mutex<HashMap<Vec<u8>, Weak<UnixSocket>>> {
    static NAMES: OnceLock<Mutex<HashMap<Vec<u8>, Weak<UnixSocket>>>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

/// The live socket bound to `name`.
pub fn lookup(name: &[u8]) -> Option<Arc<UnixSocket>> {
    names().lock().unwrap_or_else(|e| e.into_inner()).get(name).and_then(Weak::upgrade)
}

impl UnixSocket {
    /// A new unbound, unconnected socket.
    pub fn new(kind: Kind, creds: (i32, u32, u32)) -> Arc<UnixSocket> {
        Arc::new(UnixSocket {
            kind,
            rx: Arc::new(Chan::default()),
            tx: Mutex::new(None),
            own_creds: creds,
            peer_creds: Mutex::new((0, u32::MAX, u32::MAX)),
            name: Mutex::new(None),
            peer_name: Mutex::new(None),
            listen: Mutex::new(None),
            shut_rd: AtomicBool::new(false),
            shut_wr: AtomicBool::new(false),
            passcred: AtomicBool::new(false),
        })
    }

    /// A connected pair.
    pub fn pair(kind: Kind, creds: (i32, u32, u32)) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        let a = Self::new(kind, creds);
        let b = Self::new(kind, creds);
        Self::join(&a, &b);
        (a, b)
    }

    /// Connect two sockets to each other.
    fn join(a: &Arc<UnixSocket>, b: &Arc<UnixSocket>) {
        *a.tx.lock().unwrap_or_else(|e| e.into_inner()) = Some(b.rx.clone());
        *b.tx.lock().unwrap_or_else(|e| e.into_inner()) = Some(a.rx.clone());
        *a.peer_creds.lock().unwrap_or_else(|e| e.into_inner()) = b.own_creds;
        *b.peer_creds.lock().unwrap_or_else(|e| e.into_inner()) = a.own_creds;
        *a.peer_name.lock().unwrap_or_else(|e| e.into_inner()) = b.name.lock().unwrap_or_else(|e| e.into_inner()).clone();
        *b.peer_name.lock().unwrap_or_else(|e| e.into_inner()) = a.name.lock().unwrap_or_else(|e| e.into_inner()).clone();
    }

    fn tx(&self) -> Option<Arc<Chan>> {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// SO_PEERCRED.
    pub fn peer_creds(&self) -> (i32, u32, u32) {
        *self.peer_creds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// SO_ACCEPTCONN: whether listen(2) was called.
    pub fn is_listening(&self) -> bool {
        self.listen.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// The bound name.
    pub fn name(&self) -> Option<Vec<u8>> {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The peer's bound name.
    pub fn peer_name(&self) -> Option<Vec<u8>> {
        self.peer_name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Bind to `name` (EINVAL if already bound, EADDRINUSE if taken).
    pub fn bind(self: &Arc<Self>, name: Vec<u8>) -> KResult<()> {
        let mut mine = self.name.lock().unwrap_or_else(|e| e.into_inner());
        if mine.is_some() {
            return Err(Errno::EINVAL);
        }
        let mut n = names().lock().unwrap_or_else(|e| e.into_inner());
        if n.get(&name).and_then(Weak::upgrade).is_some() {
            return Err(Errno::EADDRINUSE);
        }
        n.insert(name.clone(), Arc::downgrade(self));
        *mine = Some(name);
        Ok(())
    }

    /// listen(2).
    pub fn listen(&self, backlog: i32) -> KResult<()> {
        if self.kind == Kind::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        if self.tx().is_some() {
            return Err(Errno::EINVAL);
        }
        let backlog = backlog.clamp(0, 4096) as usize;
        let mut l = self.listen.lock().unwrap_or_else(|e| e.into_inner());
        match l.as_mut() {
            Some(q) => q.0 = backlog,
            None => *l = Some((backlog, VecDeque::new())),
        }
        Ok(())
    }

    /// connect(2) to the socket bound at `name`.
    pub fn connect(self: &Arc<Self>, task: &Task, name: &[u8], nonblock: bool) -> KResult<()> {
        let target = lookup(name).ok_or(Errno::ECONNREFUSED)?;
        if target.kind != self.kind {
            return Err(if self.kind == Kind::Dgram { Errno::EPROTOTYPE } else { Errno::ECONNREFUSED });
        }
        if self.kind == Kind::Dgram {
            *self.tx.lock().unwrap_or_else(|e| e.into_inner()) = Some(target.rx.clone());
            *self.peer_name.lock().unwrap_or_else(|e| e.into_inner()) = Some(name.to_vec());
            return Ok(());
        }
        if self.tx().is_some() {
            return Err(Errno::EISCONN);
        }
        if target.listen.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            return Err(Errno::ECONNREFUSED);
        }
        let server = UnixSocket::new(self.kind, target.own_creds);
        *server.name.lock().unwrap_or_else(|e| e.into_inner()) = target.name();
        let mut server = Some(server);
        task.block_on(&target.rx.wq, nonblock, None, || {
            let mut l = target.listen.lock().unwrap_or_else(|e| e.into_inner());
            let Some((backlog, q)) = l.as_mut() else { return Some(Err(Errno::ECONNREFUSED)) };
            if q.len() > *backlog {
                return None;
            }
            let s = server.take()?;
            UnixSocket::join(self, &s);
            q.push_back(s);
            Some(Ok(()))
        })
        .map_err(|e| if e == Errno::EAGAIN { Errno::EAGAIN } else { e })??;
        target.rx.wq.notify_all();
        Ok(())
    }

    /// accept(2): the next queued connection.
    pub fn accept(&self, task: &Task, nonblock: bool) -> KResult<Arc<UnixSocket>> {
        if self.listen.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            return Err(Errno::EINVAL);
        }
        let s = task.block_on(&self.rx.wq, nonblock, None, || {
            self.listen.lock().unwrap_or_else(|e| e.into_inner()).as_mut().and_then(|(_, q)| q.pop_front())
        })?;
        self.rx.wq.notify_all();
        Ok(s)
    }

    /// Send a datagram to the socket bound at `name`.
    pub fn send_to(&self, task: &Task, name: &[u8], msg: Message, nonblock: bool) -> KResult<usize> {
        let target = lookup(name).ok_or(Errno::ECONNREFUSED)?;
        if target.kind != self.kind {
            return Err(Errno::EPROTOTYPE);
        }
        self.send_on(task, target.rx.clone(), msg, nonblock, true)
    }

    /// Send one message; returns bytes sent. `nosignal` is MSG_NOSIGNAL.
    pub fn send(&self, task: &Task, msg: Message, nonblock: bool, nosignal: bool) -> KResult<usize> {
        let tx = self.tx().ok_or(Errno::ENOTCONN)?;
        self.send_on(task, tx, msg, nonblock, nosignal)
    }

    fn send_on(&self, task: &Task, tx: Arc<Chan>, msg: Message, nonblock: bool, nosignal: bool) -> KResult<usize> {
        let len = msg.data.len();
        if self.kind != Kind::Stream && len > CAPACITY {
            return Err(Errno::EMSGSIZE);
        }
        let mut msg = Some(msg);
        let r = task.block_on(&tx.wq, nonblock, None, || {
            let mut st = tx.lock();
            if st.read_closed || self.shut_wr.load(Ordering::SeqCst) {
                return Some(Err(Errno::EPIPE));
            }
            // A stream takes what fits; packets go whole or wait.
            let room = CAPACITY.saturating_sub(st.q.bytes());
            if room == 0 || (self.kind != Kind::Stream && room < len) {
                return None;
            }
            let mut m = msg.take()?;
            let n = if self.kind == Kind::Stream { m.data.len().min(room) } else { m.data.len() };
            m.data.truncate(n);
            st.q.push(m.data, Anc { files: m.files, creds: m.creds });
            Some(Ok(n))
        });
        tx.wq.notify_all();
        match r {
            Ok(Err(Errno::EPIPE)) | Err(Errno::EPIPE) => {
                if !nosignal {
                    task.send_signal_thread(QueuedSignal { signo: sig::SIGPIPE, ..Default::default() });
                }
                Err(Errno::EPIPE)
            }
            Ok(r) => r,
            Err(e) => Err(e),
        }
    }

    /// Receive up to `max` bytes: a stream gathers bytes across messages
    /// (stopping before one that carries files), a packet socket returns
    /// one message (the rest is dropped unless `peek`; the full length is
    /// reported for MSG_TRUNC). Returns (data, files, creds, full length).
    pub fn recv(&self, task: &Task, max: usize, nonblock: bool, peek: bool) -> KResult<(Vec<u8>, Vec<Arc<File>>, (i32, u32, u32), usize)> {
        let r = task.block_on(&self.rx.wq, nonblock, None, || {
            let mut st = self.rx.lock();
            if st.q.is_empty() {
                if st.write_closed || self.shut_rd.load(Ordering::SeqCst) {
                    return Some((Vec::new(), Vec::new(), (0, 0, 0), 0));
                }
                return None;
            }
            if self.kind != Kind::Stream {
                if peek {
                    let m = st.q.front()?;
                    let full = m.data.len();
                    let data = m.data[..full.min(max)].to_vec();
                    return Some((data, m.anc.files.clone(), m.anc.creds, full));
                }
                let m = st.q.pop()?;
                let full = m.data.len();
                let mut data = m.data;
                data.truncate(max);
                return Some((data, m.anc.files, m.anc.creds, full));
            }
            let mut files = Vec::new();
            let mut creds = (0, 0, 0);
            // Files arrive with the first byte of their message: a read
            // stops before a message that carries any.
            let (out, n) = st.q.read_stream(max, peek, false, |anc, started| {
                if started && !anc.files.is_empty() {
                    return false;
                }
                creds = anc.creds;
                if !peek {
                    files.append(&mut anc.files);
                }
                true
            });
            Some((out, files, creds, n))
        })?;
        // Writers blocked on this direction, and pollers of the peer that
        // wait for room, may go on.
        self.rx.wq.notify_all();
        if let Some(tx) = self.tx() {
            tx.wq.notify_all();
        }
        Ok(r)
    }

    /// shutdown(2): SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2.
    pub fn shutdown(&self, how: u64) -> KResult<()> {
        if how > 2 {
            return Err(Errno::EINVAL);
        }
        let tx = self.tx().ok_or(Errno::ENOTCONN)?;
        if how != 1 {
            self.shut_rd.store(true, Ordering::SeqCst);
            self.rx.lock().read_closed = true;
        }
        if how != 0 {
            self.shut_wr.store(true, Ordering::SeqCst);
            tx.lock().write_closed = true;
        }
        self.rx.wq.notify_all();
        tx.wq.notify_all();
        Ok(())
    }
}

impl FileOps for UnixSocket {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        let (data, _files, _, _) = self.recv(task, buf.len(), nonblock, false)?;
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn write(&self, task: &Task, buf: &[u8], _off: u64, nonblock: bool) -> KResult<usize> {
        let creds = (task.tg.tgid, task.creds().uid, task.creds().gid);
        self.send(task, Message { data: buf.to_vec(), files: Vec::new(), creds }, nonblock, false)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn readiness(&self) -> u32 {
        if let Some((_, q)) = self.listen.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return if q.is_empty() { 0 } else { POLLIN };
        }
        let rx = self.rx.lock();
        let mut r = 0;
        if !rx.q.is_empty() || rx.write_closed || self.shut_rd.load(Ordering::SeqCst) {
            r |= POLLIN;
        }
        match self.tx() {
            Some(tx) => {
                let tx = tx.lock();
                if !tx.read_closed && tx.q.bytes() < CAPACITY {
                    r |= POLLOUT;
                }
                if rx.write_closed && tx.read_closed {
                    r |= POLLHUP;
                }
            }
            None if self.kind == Kind::Dgram => r |= POLLOUT,
            None => {}
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        // Both directions matter to a poller; readers and writers of either
        // notify both queues, so the receive queue suffices.
        Some(&self.rx.wq)
    }

    fn read_vectored(&self, task: &Task, iovs: &[crate::mm::io::IoVec], nonblock: bool) -> Option<KResult<usize>> {
        Some(super::recv_into_iovecs(task, iovs, |max| Ok(self.recv(task, max, nonblock, false)?.0)))
    }

    fn ioctl(&self, task: &Task, cmd: u64, arg: u64) -> KResult<u64> {
        super::iface::ioctl(task, cmd, arg, false)
    }

    fn on_close(&self) {
        if let Some(tx) = self.tx() {
            tx.lock().write_closed = true;
            tx.wq.notify_all();
        }
        self.rx.lock().read_closed = true;
        // Files in flight to us are released with the messages.
        let dropped = self.rx.lock().q.clear();
        drop(dropped);
        self.rx.wq.notify_all();
        // Connections never accepted are refused.
        if let Some((_, q)) = self.listen.lock().unwrap_or_else(|e| e.into_inner()).take() {
            for s in q {
                s.on_close();
            }
        }
        if let Some(n) = self.name() {
            let mut names = names().lock().unwrap_or_else(|e| e.into_inner());
            if names.get(&n).is_some_and(|w| std::ptr::eq(w.as_ptr(), self)) {
                names.remove(&n);
            }
        }
    }
}
