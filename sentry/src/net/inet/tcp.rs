//! TCP sockets: binding, listening, the loopback handshake (a connect
//! puts the server's end in the listener's accept queue at once, or, when
//! the queue is full, waits as a SYN would be retried until accept makes
//! room), accept, shutdown and close. The bytes travel in a [`Conn`].
//!
//! What a socket reports follows Linux: a non-blocking connect answers
//! EINPROGRESS even though the loopback handshake is already done (the
//! next connect answers 0, the one after EISCONN); a refused
//! non-blocking connect leaves ECONNREFUSED pending; a fresh socket polls
//! POLLOUT|POLLHUP.

use std::collections::VecDeque;
use std::mem;
use std::net::SocketAddr;
use std::sync::{Arc, MutexGuard};

use super::addr::{canon, Parsed, Scope};
use super::conn::{wait_error, Conn, Phase, RecvFlags, CLIENT, SERVER};
use super::ports::Claim;
use super::{Bound, InetSocket, ProtoState, POLLRDHUP, POLLRDNORM, POLLWRNORM};
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::vfs::{POLLERR, POLLHUP, POLLIN, POLLOUT};

/// Linux's net.core.somaxconn: the largest backlog.
const SOMAXCONN: usize = 4096;
/// The MSS of a connection over lo (its MTU of 65536 less the headers).
const LO_MSS: i32 = 65483;
/// The MSS reported before a connection (TCP_MSS_DEFAULT).
const DEFAULT_MSS: i32 = 536;

/// A listening socket's queues.
pub(super) struct Listener {
    backlog: usize,
    /// Established connections waiting for accept.
    queue: VecDeque<Arc<InetSocket>>,
    /// Connections waiting for room in `queue` (their clients block in
    /// connect, as behind a SYN Linux would drop and the client resend).
    syn: VecDeque<(Arc<InetSocket>, Arc<Conn>)>,
}

/// A connection's endpoint.
pub(super) struct Endpoint {
    conn: Arc<Conn>,
    side: usize,
    /// Canonical addresses.
    local: SocketAddr,
    peer: SocketAddr,
}

pub(super) enum State {
    /// TCP_CLOSE: new, or after a failed connect or a disconnect.
    Closed,
    Listen(Listener),
    Connected(Endpoint),
}

/// A TCP socket's state.
pub(super) struct TcpInner {
    bound: Option<Bound>,
    state: State,
    /// sk_err while not connected (a refused non-blocking connect).
    err: Option<Errno>,
    /// sk_shutdown while not connected: reads see the end, writes EPIPE.
    shut_rd: bool,
    shut_wr: bool,
    /// connect(2) answered EINPROGRESS and has not yet reported how it
    /// ended (SS_CONNECTING).
    connecting: bool,
}

impl TcpInner {
    pub(super) fn new() -> TcpInner {
        TcpInner { bound: None, state: State::Closed, err: None, shut_rd: false, shut_wr: false, connecting: false }
    }
}

impl InetSocket {
    fn tcp(&self) -> Option<MutexGuard<'_, TcpInner>> {
        match &self.proto {
            ProtoState::Tcp(m) => Some(m.lock().unwrap_or_else(|e| e.into_inner())),
            ProtoState::Udp(_) => None,
        }
    }

    fn tcp_or_inval(&self) -> KResult<MutexGuard<'_, TcpInner>> {
        self.tcp().ok_or(Errno::EINVAL)
    }

    pub(super) fn tcp_bind(self: &Arc<Self>, sa: SocketAddr) -> KResult<()> {
        let mut st = self.tcp_or_inval()?;
        if st.bound.is_some() || !matches!(st.state, State::Closed) {
            return Err(Errno::EINVAL);
        }
        st.bound = Some(self.bind_port(sa, true)?);
        Ok(())
    }

    pub(super) fn tcp_listen(self: &Arc<Self>, backlog: i32) -> KResult<()> {
        let mut st = self.tcp_or_inval()?;
        let backlog = if backlog < 0 { SOMAXCONN } else { (backlog as usize).min(SOMAXCONN) };
        let connecting = st.connecting;
        match &mut st.state {
            State::Connected(_) => return Err(Errno::EINVAL),
            State::Listen(l) => {
                l.backlog = backlog;
                return Ok(());
            }
            State::Closed if connecting => return Err(Errno::EINVAL),
            State::Closed => {}
        }
        let b = match st.bound {
            Some(b) => b,
            None => {
                let b = self.autobind()?;
                st.bound = Some(b);
                b
            }
        };
        self.lock_table().listen(b.handle)?;
        st.state = State::Listen(Listener { backlog, queue: VecDeque::new(), syn: VecDeque::new() });
        st.shut_rd = false;
        st.shut_wr = false;
        Ok(())
    }

    pub(super) fn tcp_connect(self: &Arc<Self>, task: &Task, p: Parsed, nonblock: bool) -> KResult<()> {
        let mut st = self.tcp_or_inval()?;
        let dst = match p {
            Parsed::Unspec => {
                self.tcp_disconnect(&mut st);
                return Ok(());
            }
            Parsed::Addr(a) => canon(a),
        };
        match &st.state {
            State::Listen(_) => return Err(Errno::EISCONN),
            State::Connected(ep) => {
                let conn = ep.conn.clone();
                return match conn.phase() {
                    Phase::Established if st.connecting => {
                        st.connecting = false;
                        Ok(())
                    }
                    Phase::Established => Err(Errno::EISCONN),
                    Phase::Refused => {
                        let e = conn.take_err(CLIENT).unwrap_or(Errno::ECONNABORTED);
                        self.tcp_disconnect(&mut st);
                        Err(e)
                    }
                    Phase::Connecting if nonblock => Err(Errno::EALREADY),
                    Phase::Connecting => {
                        drop(st);
                        self.tcp_wait_connected(task, conn)
                    }
                };
            }
            State::Closed if st.connecting => {
                // The outcome of a refused non-blocking connect, reported once.
                let e = st.err.take().unwrap_or(Errno::ECONNABORTED);
                self.tcp_disconnect(&mut st);
                return Err(e);
            }
            State::Closed => {}
        }
        let v6only = self.opts().v6only;
        let (src, dst) = self.route(dst, v6only)?;
        let b = match st.bound {
            Some(b) => b,
            None => {
                let b = self.bind_port(SocketAddr::new(src, 0), false)?;
                st.bound = Some(b);
                b
            }
        };
        let local_ip = if b.local.ip().is_unspecified() { src } else { b.local.ip() };
        if local_ip.is_ipv4() != dst.is_ipv4() {
            return Err(Errno::ENETUNREACH);
        }
        let local = SocketAddr::new(local_ip, b.local.port());
        let listener = if dst.port() == 0 { None } else { self.stack.tcp.lock().unwrap_or_else(|e| e.into_inner()).lookup(dst.ip(), dst.port(), Some(local), true) };
        let conn = listener.as_ref().and_then(|l| l.tcp_offer(self, local, dst));
        drop(listener);
        let Some(conn) = conn else {
            if nonblock {
                st.err = Some(Errno::ECONNREFUSED);
                st.shut_rd = true;
                st.shut_wr = true;
                st.connecting = true;
                self.wq.notify_all();
                return Err(Errno::EINPROGRESS);
            }
            self.tcp_disconnect(&mut st);
            return Err(Errno::ECONNREFUSED);
        };
        st.state = State::Connected(Endpoint { conn: conn.clone(), side: CLIENT, local, peer: dst });
        // Pollers (an edge-triggered epoll among them) see it writable.
        self.wq.notify_all();
        if nonblock {
            st.connecting = true;
            return Err(Errno::EINPROGRESS);
        }
        if conn.phase() == Phase::Established {
            return Ok(());
        }
        drop(st);
        self.tcp_wait_connected(task, conn)
    }

    /// A blocking connect waits for room in the listener's queue.
    fn tcp_wait_connected(&self, task: &Task, conn: Arc<Conn>) -> KResult<()> {
        let deadline = self.deadline(false);
        let r = task.block_on(&self.wq, false, deadline, || match conn.phase() {
            Phase::Connecting => None,
            p => Some(p),
        });
        let mut st = self.tcp_or_inval()?;
        match r {
            Ok(Phase::Established) => {
                st.connecting = false;
                Ok(())
            }
            Ok(_) => {
                let e = conn.take_err(CLIENT).unwrap_or(Errno::ECONNREFUSED);
                self.tcp_disconnect(&mut st);
                Err(e)
            }
            // A timeout leaves the attempt going, as Linux's does.
            Err(Errno::ETIMEDOUT) => {
                st.connecting = true;
                Err(Errno::EINPROGRESS)
            }
            Err(e) => {
                st.connecting = true;
                Err(wait_error(e, deadline.is_some()))
            }
        }
    }

    /// A client at `from` connects to this listener at `to`: the server's
    /// end goes to the accept queue (or waits for room in it). None when
    /// this socket no longer listens.
    fn tcp_offer(self: &Arc<Self>, client: &InetSocket, from: SocketAddr, to: SocketAddr) -> Option<Arc<Conn>> {
        let mut st = self.tcp()?;
        let State::Listen(l) = &mut st.state else { return None };
        let opts = self.opts().inherit();
        let (reuseaddr, reuseport) = (opts.reuseaddr, opts.reuseport);
        let server_bufs = (opts.rcvbuf, opts.tcp_sndbuf());
        let child = InetSocket::with_opts(self.stack.clone(), self.family, true, self.uid, opts);
        let client_bufs = {
            let o = client.opts();
            (o.rcvbuf, o.tcp_sndbuf())
        };
        let full = l.queue.len() > l.backlog;
        let conn = Conn::new([client.wq.clone(), child.wq.clone()], [client_bufs, server_bufs], !full);
        // The accepted socket shares the listener's port.
        let claim = Claim { scope: Scope::One(to.ip()), reuseaddr, reuseport, uid: self.uid };
        let handle = self.lock_table().insert(to.port(), claim, Arc::downgrade(&child));
        if let Some(mut c) = child.tcp() {
            c.bound = Some(Bound { local: to, handle, port_locked: true, addr_locked: true });
            c.state = State::Connected(Endpoint { conn: conn.clone(), side: SERVER, local: to, peer: from });
        }
        if full {
            l.syn.push_back((child, conn.clone()));
        } else {
            l.queue.push_back(child);
            drop(st);
            self.wq.notify_all();
        }
        Some(conn)
    }

    pub(super) fn tcp_accept(self: &Arc<Self>, task: &Task, nonblock: bool) -> KResult<Arc<InetSocket>> {
        let deadline = self.deadline(true);
        let mut gone = Vec::new();
        let r = task.block_on(&self.wq, nonblock, deadline, || {
            let mut st = self.tcp()?;
            let State::Listen(l) = &mut st.state else { return Some(Err(Errno::EINVAL)) };
            let s = l.queue.pop_front()?;
            // Room opened: a waiting connection completes.
            while l.queue.len() <= l.backlog {
                let Some((child, conn)) = l.syn.pop_front() else { break };
                if conn.establish() {
                    l.queue.push_back(child);
                } else {
                    gone.push(child);
                }
            }
            Some(Ok(s))
        });
        drop(gone);
        match r {
            Ok(r) => r,
            Err(e) => Err(wait_error(e, deadline.is_some())),
        }
    }

    /// Stop listening: connections never accepted are reset, connects
    /// still waiting refused.
    fn tcp_stop_listening(&self, st: &mut TcpInner) {
        if let State::Listen(l) = mem::replace(&mut st.state, State::Closed) {
            if let Some(b) = st.bound {
                self.lock_table().unlisten(b.handle);
            }
            for child in l.queue {
                child.tcp_end(true);
            }
            for (child, conn) in l.syn {
                conn.refuse();
                drop(child);
            }
        }
    }

    /// Back to TCP_CLOSE (connect with AF_UNSPEC, a failed connect, a
    /// listener's SHUT_RD): a connection is reset, and a port that bind(2)
    /// did not name is given back.
    fn tcp_disconnect(&self, st: &mut TcpInner) {
        match mem::replace(&mut st.state, State::Closed) {
            State::Listen(l) => {
                st.state = State::Listen(l);
                self.tcp_stop_listening(st);
            }
            State::Connected(ep) => ep.conn.close(ep.side, true),
            State::Closed => {}
        }
        st.shut_rd = false;
        st.shut_wr = false;
        st.connecting = false;
        if let Some(b) = st.bound {
            if !b.port_locked {
                self.unbind(&b);
                st.bound = None;
            }
        }
        self.wq.notify_all();
    }

    fn tcp_endpoint(&self) -> Option<(Arc<Conn>, usize)> {
        match &self.tcp()?.state {
            State::Connected(ep) => Some((ep.conn.clone(), ep.side)),
            _ => None,
        }
    }

    pub(super) fn tcp_send(&self, task: &Task, data: Vec<u8>, nonblock: bool) -> KResult<usize> {
        if let Some((conn, side)) = self.tcp_endpoint() {
            return conn.send(side, task, data, nonblock, self.deadline(false));
        }
        let mut st = self.tcp_or_inval()?;
        match st.err.take() {
            Some(e) => Err(e),
            None => Err(Errno::EPIPE),
        }
    }

    pub(super) fn tcp_recv(&self, task: &Task, max: usize, f: RecvFlags, nonblock: bool) -> KResult<(Vec<u8>, usize)> {
        if let Some((conn, side)) = self.tcp_endpoint() {
            return conn.recv(side, task, max, f, nonblock, self.deadline(true));
        }
        let mut st = self.tcp_or_inval()?;
        if let Some(e) = st.err.take() {
            return Err(e);
        }
        if st.shut_rd {
            return Ok((Vec::new(), 0));
        }
        Err(Errno::ENOTCONN)
    }

    pub(super) fn tcp_shutdown(&self, rd: bool, wr: bool) -> KResult<()> {
        let mut st = self.tcp_or_inval()?;
        match &st.state {
            State::Connected(ep) => {
                if ep.conn.phase() == Phase::Connecting {
                    self.tcp_disconnect(&mut st);
                } else {
                    ep.conn.shutdown(ep.side, rd, wr);
                }
                Ok(())
            }
            State::Listen(_) => {
                if rd {
                    self.tcp_stop_listening(&mut st);
                    self.wq.notify_all();
                }
                Ok(())
            }
            State::Closed => {
                // Linux records the shutdown even so (it wakes pollers).
                st.shut_rd |= rd;
                st.shut_wr |= wr;
                self.wq.notify_all();
                Err(Errno::ENOTCONN)
            }
        }
    }

    pub(super) fn tcp_local(&self) -> Option<SocketAddr> {
        let st = self.tcp()?;
        match &st.state {
            State::Connected(ep) => Some(ep.local),
            _ => st.bound.map(|b| b.local),
        }
    }

    pub(super) fn tcp_bound(&self) -> Option<Bound> {
        self.tcp()?.bound
    }

    /// The address at the other end, whatever became of the connection.
    pub(super) fn tcp_remote(&self) -> Option<SocketAddr> {
        match &self.tcp()?.state {
            State::Connected(ep) => Some(ep.peer),
            _ => None,
        }
    }

    pub(super) fn tcp_peer(&self) -> Option<SocketAddr> {
        let st = self.tcp()?;
        match &st.state {
            State::Connected(ep) if ep.conn.phase() == Phase::Established && !ep.conn.is_reset(ep.side) => Some(ep.peer),
            _ => None,
        }
    }

    pub(super) fn tcp_listening(&self) -> bool {
        self.tcp().is_some_and(|st| matches!(st.state, State::Listen(_)))
    }

    pub(super) fn tcp_take_error(&self) -> Option<Errno> {
        let mut st = self.tcp()?;
        if let Some(e) = st.err.take() {
            return Some(e);
        }
        match &st.state {
            State::Connected(ep) => ep.conn.take_err(ep.side),
            _ => None,
        }
    }

    pub(super) fn tcp_inq(&self) -> KResult<usize> {
        let st = self.tcp_or_inval()?;
        match &st.state {
            State::Listen(_) => Err(Errno::EINVAL),
            State::Connected(ep) => Ok(ep.conn.inq(ep.side)),
            State::Closed => Ok(0),
        }
    }

    pub(super) fn tcp_mss(&self) -> i32 {
        let user = self.opts().user_mss;
        let connected = self.tcp().is_some_and(|st| matches!(st.state, State::Connected(_)));
        match (connected, user) {
            (true, 0) => LO_MSS,
            (true, u) => u.min(LO_MSS),
            (false, 0) => DEFAULT_MSS,
            (false, u) => u,
        }
    }

    /// TCP_INFO: struct tcp_info with its state; the counters of a real
    /// TCP are not kept.
    pub(super) fn tcp_info(&self) -> Vec<u8> {
        let mut v = vec![0u8; 232];
        v[0] = match self.tcp().map(|st| match &st.state {
            State::Closed => 7,
            State::Listen(_) => 10,
            State::Connected(ep) => ep.conn.tcp_state(ep.side),
        }) {
            Some(s) => s,
            None => 7,
        };
        v
    }

    pub(super) fn tcp_set_bufs(&self, rcvbuf: usize, sndbuf: usize) {
        if let Some((conn, side)) = self.tcp_endpoint() {
            conn.set_bufs(side, rcvbuf, sndbuf);
        }
    }

    pub(super) fn tcp_readiness(&self) -> u32 {
        let Some(st) = self.tcp() else { return 0 };
        match &st.state {
            State::Listen(l) => {
                if l.queue.is_empty() {
                    0
                } else {
                    POLLIN | POLLRDNORM
                }
            }
            State::Connected(ep) => ep.conn.readiness(ep.side),
            State::Closed => {
                let mut r = POLLOUT | POLLWRNORM | POLLHUP;
                if st.shut_rd {
                    r |= POLLIN | POLLRDNORM | POLLRDHUP;
                }
                if st.err.is_some() {
                    r |= POLLERR;
                }
                r
            }
        }
    }

    /// The file is closed (or an unaccepted connection dropped): the peer
    /// sees a FIN, or a reset under SO_LINGER of 0.
    pub(super) fn tcp_close(&self) {
        let linger0 = self.opts().linger == Some(0);
        self.tcp_end(linger0);
    }

    /// Close, resetting the connection when `abort`.
    fn tcp_end(&self, abort: bool) {
        let Some(mut st) = self.tcp() else { return };
        match mem::replace(&mut st.state, State::Closed) {
            State::Listen(l) => {
                st.state = State::Listen(l);
                self.tcp_stop_listening(&mut st);
            }
            State::Connected(ep) => ep.conn.close(ep.side, abort),
            State::Closed => {}
        }
        if let Some(b) = st.bound.take() {
            self.unbind(&b);
        }
    }
}
