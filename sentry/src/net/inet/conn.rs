//! A loopback TCP connection: both endpoints' receive queues and the
//! state TCP would carry in its segments (FIN, RST, the errors they leave)
//! under one lock. A write is one copy into the peer's queue and a wake-up
//! of the peer's wait queue; a read that frees room wakes the writer's.
//!
//! What each side shows follows Linux's tcp_poll, tcp_recvmsg and
//! tcp_sendmsg: `rcv_shut`/`snd_shut` are sk_shutdown's two bits, `fin`
//! is SOCK_DONE (the peer's FIN arrived), `err` is sk_err (set by a reset,
//! returned once), `reset` is TCP_CLOSE after a reset.
//!
//! Lock order: a socket's state lock, then this one; nothing is locked
//! while this one is held.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::super::queue::MsgQueue;
use super::{POLLRDHUP, POLLRDNORM, POLLWRNORM};
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::kernel::wait::WaitQueue;
use crate::vfs::{POLLERR, POLLHUP, POLLIN, POLLOUT};

/// One endpoint's half.
struct Side {
    /// Bytes sent to this side, not read yet.
    rx: MsgQueue<()>,
    /// This side's SO_RCVBUF and SO_SNDBUF: what may be queued for it is
    /// its receive buffer plus its peer's send buffer (TCP keeps the
    /// excess in the sender; here it waits in the receiver's queue).
    rcvbuf: usize,
    sndbuf: usize,
    rcv_shut: bool,
    snd_shut: bool,
    fin: bool,
    err: Option<Errno>,
    /// The endpoint's file is gone.
    closed: bool,
    /// Reset: the connection is over for this side (TCP_CLOSE).
    reset: bool,
}

impl Side {
    fn new(rcvbuf: usize, sndbuf: usize) -> Side {
        Side { rx: MsgQueue::default(), rcvbuf, sndbuf, rcv_shut: false, snd_shut: false, fin: false, err: None, closed: false, reset: false }
    }

    /// A reset arrives: Linux's tcp_reset (EPIPE once the peer's FIN
    /// came, as in CLOSE_WAIT) and tcp_done.
    fn reset(&mut self) {
        if self.reset || self.closed {
            return;
        }
        self.err = Some(if self.fin { Errno::EPIPE } else { Errno::ECONNRESET });
        self.rcv_shut = true;
        self.snd_shut = true;
        self.reset = true;
    }
}

struct State {
    /// The handshake completed (the server side is in the accept queue).
    established: bool,
    /// The client's attempt failed before that (the listener went away).
    refused: bool,
    sides: [Side; 2],
}

/// Where a connection is, as its client sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// Waiting for room in the listener's accept queue (SYN_SENT).
    Connecting,
    /// Connected (whatever happened since).
    Established,
    /// Refused before it was established.
    Refused,
}

/// The client's side index; the server's is 1.
pub const CLIENT: usize = 0;
/// The accepted side's index.
pub const SERVER: usize = 1;

/// recv(2) flags that matter to a stream.
#[derive(Clone, Copy, Default)]
pub struct RecvFlags {
    /// MSG_PEEK.
    pub peek: bool,
    /// MSG_WAITALL.
    pub waitall: bool,
    /// MSG_TRUNC: consume without copying.
    pub trunc: bool,
}

/// A connection.
pub struct Conn {
    st: Mutex<State>,
    /// Each endpoint's wait queue (its socket's).
    wq: [Arc<WaitQueue>; 2],
}

/// The error of a wait that ended without its condition: a timeout
/// (SO_RCVTIMEO/SO_SNDTIMEO) is EAGAIN, and a signal during a timed wait
/// is EINTR, never restarted (Linux's sock_intr_errno).
pub fn wait_error(e: Errno, timed: bool) -> Errno {
    match e {
        Errno::ETIMEDOUT => Errno::EAGAIN,
        Errno::ERESTARTSYS if timed => Errno::EINTR,
        e => e,
    }
}

impl Conn {
    /// A connection between a client and a server endpoint; `bufs` are
    /// each side's (SO_RCVBUF, SO_SNDBUF).
    pub fn new(wq: [Arc<WaitQueue>; 2], bufs: [(usize, usize); 2], established: bool) -> Arc<Conn> {
        let sides = [Side::new(bufs[0].0, bufs[0].1), Side::new(bufs[1].0, bufs[1].1)];
        Arc::new(Conn { st: Mutex::new(State { established, refused: false, sides }), wq })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self, side: usize) {
        self.wq[side].notify_all();
    }

    /// The client's view of the handshake.
    pub fn phase(&self) -> Phase {
        let st = self.lock();
        if st.refused {
            Phase::Refused
        } else if st.established {
            Phase::Established
        } else {
            Phase::Connecting
        }
    }

    /// The listener took the server side into its accept queue; false if
    /// the client gave up meanwhile.
    pub fn establish(&self) -> bool {
        let mut st = self.lock();
        if st.sides[CLIENT].closed || st.refused {
            return false;
        }
        st.established = true;
        drop(st);
        self.notify(CLIENT);
        true
    }

    /// The listener went away before the connection was established: the
    /// client's SYN is answered with a reset.
    pub fn refuse(&self) {
        let mut st = self.lock();
        if st.established {
            drop(st);
            self.close(SERVER, true);
            return;
        }
        st.refused = true;
        let c = &mut st.sides[CLIENT];
        c.err = Some(Errno::ECONNREFUSED);
        c.rcv_shut = true;
        c.snd_shut = true;
        c.reset = true;
        drop(st);
        self.notify(CLIENT);
    }

    /// The side was reset (TCP_CLOSE: it has no peer any more).
    pub fn is_reset(&self, side: usize) -> bool {
        self.lock().sides[side].reset
    }

    /// The TCP state number a side would be in (TCP_INFO's tcpi_state).
    pub fn tcp_state(&self, side: usize) -> u8 {
        let st = self.lock();
        let me = &st.sides[side];
        match (st.established, me.reset, me.fin, me.snd_shut) {
            (false, false, _, _) => 2,    // SYN_SENT
            (_, true, _, _) => 7,         // CLOSE
            (true, _, false, false) => 1, // ESTABLISHED
            (true, _, true, false) => 8,  // CLOSE_WAIT
            (true, _, false, true) => 5,  // FIN_WAIT2
            (true, _, true, true) => 6,   // TIME_WAIT
        }
    }

    /// Take the pending error (SO_ERROR, or the next call's).
    pub fn take_err(&self, side: usize) -> Option<Errno> {
        self.lock().sides[side].err.take()
    }

    /// Bytes waiting to be read (FIONREAD).
    pub fn inq(&self, side: usize) -> usize {
        self.lock().sides[side].rx.bytes()
    }

    /// New buffer sizes for one side (setsockopt on a connected socket).
    pub fn set_bufs(&self, side: usize, rcvbuf: usize, sndbuf: usize) {
        let mut st = self.lock();
        st.sides[side].rcvbuf = rcvbuf;
        st.sides[side].sndbuf = sndbuf;
        drop(st);
        self.notify(side);
        self.notify(1 - side);
    }

    /// Send bytes from `side`; returns how many went, or the error (EPIPE
    /// is the caller's to turn into SIGPIPE). A blocking send waits until
    /// all went, returning what went if interrupted.
    pub fn send(&self, side: usize, task: &Task, data: Vec<u8>, nonblock: bool, deadline: Option<Instant>) -> KResult<usize> {
        let len = data.len();
        let mut data = Some(data);
        let mut done = 0;
        let mut reset = false;
        loop {
            let r = task.block_on(&self.wq[side], nonblock, deadline, || {
                let mut st = self.lock();
                let st = &mut *st;
                let (me, peer) = pair(&mut st.sides, side);
                if let Some(e) = me.err.take() {
                    return Some(Err(e));
                }
                if me.snd_shut {
                    return Some(Err(Errno::EPIPE));
                }
                if !st.established {
                    return None;
                }
                if peer.closed {
                    // The peer's kernel answers data for a closed socket
                    // with a reset; the bytes are gone.
                    me.reset();
                    reset = true;
                    return Some(Ok(len - done));
                }
                let room = (peer.rcvbuf + me.sndbuf).saturating_sub(peer.rx.bytes());
                if room == 0 {
                    return None;
                }
                let n = room.min(len - done);
                match data.take() {
                    Some(v) if done == 0 && n == len => peer.rx.push_stream_vec(v, (), |_, _| true),
                    Some(v) => {
                        peer.rx.push_stream(&v[done..done + n], (), |_, _| true);
                        data = Some(v);
                    }
                    None => return Some(Ok(0)),
                }
                Some(Ok(n))
            });
            match r {
                Ok(Ok(n)) => {
                    done += n;
                    self.notify(1 - side);
                    if done >= len {
                        if reset {
                            // Our own pollers see the error.
                            self.notify(side);
                        }
                        return Ok(done);
                    }
                }
                Ok(Err(e)) | Err(e) => {
                    if done > 0 {
                        return Ok(done);
                    }
                    return Err(wait_error(e, deadline.is_some()));
                }
            }
        }
    }

    /// Receive up to `max` bytes into `side`'s hands. Returns the bytes
    /// (none with MSG_TRUNC) and their count.
    pub fn recv(&self, side: usize, task: &Task, max: usize, f: RecvFlags, nonblock: bool, deadline: Option<Instant>) -> KResult<(Vec<u8>, usize)> {
        let mut out: Vec<u8> = Vec::new();
        let mut got = 0;
        loop {
            let want = max - got;
            let r = task.block_on(&self.wq[side], nonblock, deadline, || {
                let mut st = self.lock();
                let me = &mut st.sides[side];
                if !me.rx.is_empty() {
                    let r = me.rx.read_stream(want, f.peek, f.trunc, |_, _| true);
                    return Some(Ok(r));
                }
                // tcp_recvmsg's order: FIN, then the error, then a shutdown.
                if me.fin {
                    return Some(Ok((Vec::new(), 0)));
                }
                if let Some(e) = me.err.take() {
                    return Some(Err(e));
                }
                if me.rcv_shut {
                    return Some(Ok((Vec::new(), 0)));
                }
                None
            });
            match r {
                Ok(Ok((v, n))) => {
                    if n > 0 && !f.peek {
                        // Room opened for the peer's writers.
                        self.notify(1 - side);
                    }
                    if out.is_empty() {
                        out = v;
                    } else {
                        out.extend_from_slice(&v);
                    }
                    got += n;
                    if n == 0 || got >= max || !f.waitall || f.peek {
                        return Ok((out, got));
                    }
                }
                Ok(Err(e)) | Err(e) => {
                    if got > 0 {
                        return Ok((out, got));
                    }
                    return Err(wait_error(e, deadline.is_some()));
                }
            }
        }
    }

    /// shutdown(2) from `side`.
    pub fn shutdown(&self, side: usize, rd: bool, wr: bool) {
        let mut st = self.lock();
        let established = st.established;
        let (me, peer) = pair(&mut st.sides, side);
        if rd {
            me.rcv_shut = true;
        }
        if wr && !me.snd_shut {
            me.snd_shut = true;
            if established && !peer.closed {
                peer.fin = true;
                peer.rcv_shut = true;
            }
        }
        drop(st);
        self.notify(side);
        self.notify(1 - side);
    }

    /// The endpoint `side` is closed: a FIN for its peer, or a reset when
    /// `abort` (SO_LINGER of 0, a disconnect, a listener's unaccepted
    /// connection) or when it leaves bytes unread, as Linux's tcp_close.
    pub fn close(&self, side: usize, abort: bool) {
        let mut st = self.lock();
        let established = st.established;
        let (me, peer) = pair(&mut st.sides, side);
        if me.closed {
            return;
        }
        let unread = !me.rx.is_empty();
        me.closed = true;
        me.rx.clear();
        if established && !peer.closed {
            if abort || unread {
                peer.reset();
            } else if !me.snd_shut {
                peer.fin = true;
                peer.rcv_shut = true;
            }
        }
        me.rcv_shut = true;
        me.snd_shut = true;
        drop(st);
        self.notify(1 - side);
    }

    /// What poll reports for `side` (Linux's tcp_poll).
    pub fn readiness(&self, side: usize) -> u32 {
        let st = self.lock();
        let me = &st.sides[side];
        let peer = &st.sides[1 - side];
        let mut r = 0;
        if (me.rcv_shut && me.snd_shut) || me.reset {
            r |= POLLHUP;
        }
        if me.rcv_shut {
            r |= POLLIN | POLLRDNORM | POLLRDHUP;
        }
        if st.established || me.reset {
            if !me.rx.is_empty() {
                r |= POLLIN | POLLRDNORM;
            }
            let room = (peer.rcvbuf + me.sndbuf).saturating_sub(peer.rx.bytes());
            if me.snd_shut || peer.closed || room > 0 {
                r |= POLLOUT | POLLWRNORM;
            }
        }
        if me.err.is_some() {
            r |= POLLERR;
        }
        r
    }
}

fn pair(sides: &mut [Side; 2], side: usize) -> (&mut Side, &mut Side) {
    let (a, b) = sides.split_at_mut(1);
    if side == 0 {
        (&mut a[0], &mut b[0])
    } else {
        (&mut b[0], &mut a[0])
    }
}
