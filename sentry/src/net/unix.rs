//! AF_UNIX socket pairs (stream, datagram, seqpacket) with fd passing
//! (SCM_RIGHTS) and the sender's credentials.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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

#[derive(Default)]
struct ChanState {
    msgs: VecDeque<Message>,
    bytes: usize,
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

/// One end of a socket pair.
pub struct UnixSocket {
    /// Type.
    pub kind: Kind,
    rx: Arc<Chan>,
    tx: Arc<Chan>,
    /// The peer's credentials (SO_PEERCRED): the creator of the pair.
    pub peer_creds: (i32, u32, u32),
    shut_rd: AtomicBool,
    shut_wr: AtomicBool,
}

impl UnixSocket {
    /// A connected pair.
    pub fn pair(kind: Kind, creds: (i32, u32, u32)) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        let a = Arc::new(Chan::default());
        let b = Arc::new(Chan::default());
        let mk = |rx: &Arc<Chan>, tx: &Arc<Chan>| {
            Arc::new(UnixSocket {
                kind,
                rx: rx.clone(),
                tx: tx.clone(),
                peer_creds: creds,
                shut_rd: AtomicBool::new(false),
                shut_wr: AtomicBool::new(false),
            })
        };
        (mk(&a, &b), mk(&b, &a))
    }

    /// Send one message; returns bytes sent. `nosignal` is MSG_NOSIGNAL.
    pub fn send(&self, task: &Task, msg: Message, nonblock: bool, nosignal: bool) -> KResult<usize> {
        let len = msg.data.len();
        if self.kind != Kind::Stream && len > CAPACITY {
            return Err(Errno::EMSGSIZE);
        }
        let mut msg = Some(msg);
        let r = task.block_on(&self.tx.wq, nonblock, None, || {
            let mut st = self.tx.lock();
            if st.read_closed || self.shut_wr.load(Ordering::SeqCst) {
                return Some(Err(Errno::EPIPE));
            }
            // A stream takes what fits; packets go whole or wait.
            let room = CAPACITY.saturating_sub(st.bytes);
            if room == 0 || (self.kind != Kind::Stream && room < len) {
                return None;
            }
            let mut m = msg.take()?;
            let n = if self.kind == Kind::Stream { m.data.len().min(room) } else { m.data.len() };
            m.data.truncate(n);
            st.bytes += n;
            st.msgs.push_back(m);
            Some(Ok(n))
        });
        self.tx.wq.notify_all();
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
            if st.msgs.is_empty() {
                if st.write_closed || self.shut_rd.load(Ordering::SeqCst) {
                    return Some((Vec::new(), Vec::new(), (0, 0, 0), 0));
                }
                return None;
            }
            if self.kind != Kind::Stream {
                let m = if peek { st.msgs.front().map(|m| Message { data: m.data.clone(), files: m.files.clone(), creds: m.creds }) } else { st.msgs.pop_front() }?;
                if !peek {
                    st.bytes -= m.data.len();
                }
                let full = m.data.len();
                let mut data = m.data;
                data.truncate(max);
                return Some((data, m.files, m.creds, full));
            }
            let mut out = Vec::new();
            let mut files = Vec::new();
            let mut creds = st.msgs.front().map(|m| m.creds).unwrap_or_default();
            let mut i = 0;
            while out.len() < max && i < st.msgs.len() {
                if !st.msgs[i].files.is_empty() && !out.is_empty() {
                    break; // files arrive with the first byte of their message
                }
                let take = (max - out.len()).min(st.msgs[i].data.len());
                out.extend_from_slice(&st.msgs[i].data[..take]);
                creds = st.msgs[i].creds;
                if !peek {
                    files.append(&mut st.msgs[i].files);
                    st.msgs[i].data.drain(..take);
                    st.bytes -= take;
                    if st.msgs[i].data.is_empty() {
                        st.msgs.remove(i);
                        continue;
                    }
                }
                i += 1;
            }
            let n = out.len();
            Some((out, files, creds, n))
        })?;
        // Writers blocked on this direction, and pollers of the peer that
        // wait for room, may go on.
        self.rx.wq.notify_all();
        self.tx.wq.notify_all();
        Ok(r)
    }

    /// shutdown(2): SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2.
    pub fn shutdown(&self, how: u64) -> KResult<()> {
        if how > 2 {
            return Err(Errno::EINVAL);
        }
        if how != 1 {
            self.shut_rd.store(true, Ordering::SeqCst);
            self.rx.lock().read_closed = true;
        }
        if how != 0 {
            self.shut_wr.store(true, Ordering::SeqCst);
            self.tx.lock().write_closed = true;
        }
        self.rx.wq.notify_all();
        self.tx.wq.notify_all();
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
        let rx = self.rx.lock();
        let tx = self.tx.lock();
        let mut r = 0;
        if !rx.msgs.is_empty() || rx.write_closed || self.shut_rd.load(Ordering::SeqCst) {
            r |= POLLIN;
        }
        if !tx.read_closed && tx.bytes < CAPACITY {
            r |= POLLOUT;
        }
        if rx.write_closed && tx.read_closed {
            r |= POLLHUP;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        // Both directions matter to a poller; readers and writers of either
        // notify both queues, so the receive queue suffices.
        Some(&self.rx.wq)
    }

    fn as_unix(&self) -> Option<&UnixSocket> {
        Some(self)
    }

    fn on_close(&self) {
        self.tx.lock().write_closed = true;
        self.rx.lock().read_closed = true;
        // Files in flight to us are released with the messages.
        self.rx.lock().msgs.clear();
        self.rx.wq.notify_all();
        self.tx.wq.notify_all();
    }
}
