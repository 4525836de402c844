//! AF_INET and AF_INET6 sockets on the sandbox's own loopback network:
//! TCP (`tcp`, with the connection itself in `conn`) and UDP (`udp`), over
//! one port table per protocol in a [`Stack`] (one per sandbox, held by the
//! kernel). Nothing leaves the sandbox: the only interface is lo, with
//! 127.0.0.0/8 and ::1; any other destination is unreachable.
//!
//! Lock order: a socket's protocol state, then (for a TCP client) the
//! listener's, then (for a listener) its unaccepted connections', then a
//! port table; a connection's lock, a UDP receive queue and the options
//! are taken last and never held while taking another.
//! An `Arc<InetSocket>` taken from a table is dropped after the table's
//! lock (its Drop takes the lock to leave the table).

pub mod addr;
mod conn;
mod opts;
mod ports;
mod tcp;
mod udp;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use addr::{canon, to_bytes, Family, Scope};
use opts::Opts;
use ports::{Claim, Handle, PortTable, Proto};

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::kernel::wait::{deadline_after, WaitQueue};
use crate::net::msg;
use crate::net::OptVal;
use crate::vfs::{FileOps, Source};

/// Readiness bits beyond the basic four.
pub const POLLRDNORM: u32 = 0x40;
/// Writable (normal data).
pub const POLLWRNORM: u32 = 0x100;
/// Writable (priority band).
pub const POLLWRBAND: u32 = 0x200;
/// The peer shut down writing (or we shut down reading).
pub const POLLRDHUP: u32 = 0x2000;

/// The network stack of a sandbox: its ports.
pub struct Stack {
    tcp: Mutex<PortTable<InetSocket>>,
    udp: Mutex<PortTable<InetSocket>>,
}

impl Stack {
    /// A stack with nothing bound.
    pub fn new() -> Arc<Stack> {
        Arc::new(Stack { tcp: Mutex::new(PortTable::new(Proto::Tcp)), udp: Mutex::new(PortTable::new(Proto::Udp)) })
    }
}

/// Where a socket is bound.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound {
    /// The local address (canonical); the wildcard until a connection
    /// picks a source.
    local: SocketAddr,
    handle: Handle,
    /// bind(2) named the port (SOCK_BINDPORT_LOCK): a disconnect keeps it.
    port_locked: bool,
    /// bind(2) named an address (SOCK_BINDADDR_LOCK).
    addr_locked: bool,
}

enum ProtoState {
    Tcp(Mutex<tcp::TcpInner>),
    Udp(udp::Udp),
}

/// An internet socket.
pub struct InetSocket {
    family: Family,
    stack: Arc<Stack>,
    /// The creator's uid (SO_REUSEPORT shares a port within one uid).
    uid: u32,
    wq: Arc<WaitQueue>,
    opts: Mutex<Opts>,
    proto: ProtoState,
}

/// What a receive returns.
pub struct Received {
    /// The bytes (none for a TCP MSG_TRUNC).
    pub data: Vec<u8>,
    /// Bytes consumed (stream) or the datagram's full length.
    pub len: usize,
    /// The sender's address as this socket shows it (datagrams).
    pub from: Option<Vec<u8>>,
}

impl InetSocket {
    /// A new socket: TCP when `tcp`, else UDP.
    pub fn new(stack: Arc<Stack>, family: Family, tcp: bool, uid: u32) -> Arc<InetSocket> {
        Self::with_opts(stack, family, tcp, uid, Opts::new(tcp))
    }

    fn with_opts(stack: Arc<Stack>, family: Family, tcp: bool, uid: u32, opts: Opts) -> Arc<InetSocket> {
        let proto = if tcp { ProtoState::Tcp(Mutex::new(tcp::TcpInner::new())) } else { ProtoState::Udp(udp::Udp::default()) };
        Arc::new(InetSocket { family, stack, uid, wq: Arc::new(WaitQueue::default()), opts: Mutex::new(opts), proto })
    }

    /// SO_DOMAIN.
    pub fn domain(&self) -> i32 {
        self.family.domain()
    }

    fn is_tcp(&self) -> bool {
        matches!(self.proto, ProtoState::Tcp(_))
    }

    /// SO_TYPE.
    pub fn sock_type(&self) -> i32 {
        if self.is_tcp() {
            1
        } else {
            2
        }
    }

    /// SO_PROTOCOL.
    pub fn protocol(&self) -> i32 {
        if self.is_tcp() {
            6
        } else {
            17
        }
    }

    fn opts(&self) -> MutexGuard<'_, Opts> {
        self.opts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn table(&self) -> &Mutex<PortTable<InetSocket>> {
        if self.is_tcp() {
            &self.stack.tcp
        } else {
            &self.stack.udp
        }
    }

    fn lock_table(&self) -> MutexGuard<'_, PortTable<InetSocket>> {
        self.table().lock().unwrap_or_else(|e| e.into_inner())
    }

    fn claim(&self, ip: IpAddr) -> Claim {
        let o = self.opts();
        Claim { scope: Scope::of(self.family, ip, o.v6only), reuseaddr: o.reuseaddr, reuseport: o.reuseport, uid: self.uid }
    }

    /// Take a port for `sa` (canonical; port 0: an ephemeral one).
    fn bind_port(self: &Arc<Self>, sa: SocketAddr, named: bool) -> KResult<Bound> {
        let claim = self.claim(sa.ip());
        let handle = self.lock_table().bind(sa.port(), claim, Arc::downgrade(self))?;
        Ok(Bound { local: SocketAddr::new(sa.ip(), handle.port), handle, port_locked: named && sa.port() != 0, addr_locked: named && !sa.ip().is_unspecified() })
    }

    /// Bind to the wildcard on an ephemeral port (listen, connect and
    /// sendto on an unbound socket).
    fn autobind(self: &Arc<Self>) -> KResult<Bound> {
        self.bind_port(SocketAddr::new(addr::any(self.family), 0), false)
    }

    fn unbind(&self, b: &Bound) {
        self.lock_table().remove(b.handle);
    }

    /// The deadline of a wait under SO_RCVTIMEO (`recv`) or SO_SNDTIMEO.
    fn deadline(&self, recv: bool) -> Option<Instant> {
        let o = self.opts();
        let t = if recv { o.rcvtimeo } else { o.sndtimeo };
        t.and_then(deadline_after)
    }

    /// bind(2).
    pub fn bind(self: &Arc<Self>, b: &[u8]) -> KResult<()> {
        let (v6only, freebind) = {
            let o = self.opts();
            (o.v6only, o.freebind)
        };
        let sa = match addr::parse_bind(self.family, b, v6only) {
            // IP_FREEBIND lets a socket bind an address the host lacks.
            Err(Errno::EADDRNOTAVAIL) if freebind => addr::parse_bind_any(self.family, b, v6only)?,
            r => r?,
        };
        let sa = canon(sa);
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_bind(sa),
            ProtoState::Udp(_) => self.udp_bind(sa),
        }
    }

    /// listen(2).
    pub fn listen(self: &Arc<Self>, backlog: i32) -> KResult<()> {
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_listen(backlog),
            ProtoState::Udp(_) => Err(Errno::EOPNOTSUPP),
        }
    }

    /// connect(2).
    pub fn connect(self: &Arc<Self>, task: &Task, b: &[u8], nonblock: bool) -> KResult<()> {
        let p = addr::parse_connect(self.family, b)?;
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_connect(task, p, nonblock),
            ProtoState::Udp(_) => self.udp_connect(p),
        }
    }

    /// The route and source for a connection from this socket to `dst`
    /// (canonical), as its family allows.
    fn route(&self, dst: SocketAddr, v6only: bool) -> KResult<(IpAddr, SocketAddr)> {
        if self.family == Family::V6 && v6only && dst.is_ipv4() {
            return Err(Errno::ENETUNREACH);
        }
        let (src, ip) = addr::route(dst.ip())?;
        Ok((src, SocketAddr::new(ip, dst.port())))
    }

    /// accept(2)/accept4(2): the new socket and its peer's address.
    pub fn accept(self: &Arc<Self>, task: &Task, nonblock: bool) -> KResult<(Arc<InetSocket>, Vec<u8>)> {
        match &self.proto {
            ProtoState::Tcp(_) => {
                let s = self.tcp_accept(task, nonblock)?;
                // The peer's address even if it has reset the connection
                // meanwhile (getpeername would say ENOTCONN).
                let peer = s.tcp_remote().unwrap_or_else(|| SocketAddr::new(addr::any(self.family), 0));
                Ok((s, to_bytes(self.family, peer)))
            }
            ProtoState::Udp(_) => Err(Errno::EOPNOTSUPP),
        }
    }

    /// send/sendto/sendmsg: `to` is the destination's bytes, if given.
    pub fn send(self: &Arc<Self>, task: &Task, data: Vec<u8>, to: Option<&[u8]>, flags: u64, nonblock: bool) -> KResult<usize> {
        let nonblock = nonblock || flags & msg::MSG_DONTWAIT != 0;
        match &self.proto {
            ProtoState::Tcp(_) => {
                if flags & msg::MSG_OOB != 0 {
                    // Urgent data is not served.
                    return Err(Errno::EOPNOTSUPP);
                }
                self.tcp_write(task, data, nonblock, flags & msg::MSG_NOSIGNAL != 0)
            }
            ProtoState::Udp(_) => {
                if flags & msg::MSG_OOB != 0 {
                    return Err(Errno::EOPNOTSUPP);
                }
                let to = match to {
                    Some(b) => addr::parse_sendto(self.family, b)?,
                    None => None,
                };
                self.udp_send(data, to)
            }
        }
    }

    /// recv/recvfrom/recvmsg of up to `max` bytes.
    pub fn recv(&self, task: &Task, max: usize, flags: u64, nonblock: bool) -> KResult<Received> {
        let nonblock = nonblock || flags & msg::MSG_DONTWAIT != 0;
        if flags & msg::MSG_ERRQUEUE != 0 {
            // Nothing is ever queued on the error queue.
            return Err(Errno::EAGAIN);
        }
        match &self.proto {
            ProtoState::Tcp(_) => {
                if flags & msg::MSG_OOB != 0 {
                    return Err(Errno::EINVAL);
                }
                let f = conn::RecvFlags { peek: flags & msg::MSG_PEEK != 0, waitall: flags & msg::MSG_WAITALL != 0, trunc: flags & msg::MSG_TRUNC != 0 };
                let (data, len) = self.tcp_recv(task, max, f, nonblock)?;
                Ok(Received { data, len, from: None })
            }
            ProtoState::Udp(_) => {
                let (mut data, src) = self.udp_recv(task, flags & msg::MSG_PEEK != 0, nonblock)?;
                let len = data.len();
                data.truncate(max);
                Ok(Received { data, len, from: Some(to_bytes(self.family, src)) })
            }
        }
    }

    /// shutdown(2).
    pub fn shutdown(&self, how: u64) -> KResult<()> {
        if how > 2 {
            return Err(Errno::EINVAL);
        }
        let (rd, wr) = (how != 1, how != 0);
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_shutdown(rd, wr),
            ProtoState::Udp(_) => self.udp_shutdown(rd, wr),
        }
    }

    /// getsockname(2): the bound address (the wildcard and port 0 when
    /// unbound).
    pub fn sockname(&self) -> Vec<u8> {
        let local = match &self.proto {
            ProtoState::Tcp(_) => self.tcp_local(),
            ProtoState::Udp(u) => u.local(),
        };
        to_bytes(self.family, local.unwrap_or_else(|| SocketAddr::new(addr::any(self.family), 0)))
    }

    /// getpeername(2).
    pub fn peername(&self) -> KResult<Vec<u8>> {
        let peer = match &self.proto {
            ProtoState::Tcp(_) => self.tcp_peer(),
            ProtoState::Udp(u) => u.peer(),
        };
        peer.map(|p| to_bytes(self.family, p)).ok_or(Errno::ENOTCONN)
    }

    /// getsockopt(2).
    pub fn getsockopt(&self, level: i32, name: i32) -> KResult<OptVal> {
        use opts::{SOL_IP, SOL_IPV6, SOL_SOCKET, SOL_TCP};
        match (level, name) {
            (SOL_SOCKET, 3) => return Ok(OptVal::Int(self.sock_type())),
            (SOL_SOCKET, 38) => return Ok(OptVal::Int(self.protocol())),
            (SOL_SOCKET, 39) => return Ok(OptVal::Int(self.domain())),
            (SOL_SOCKET, 4) => return Ok(OptVal::Int(self.take_error().map_or(0, |e| e.0))),
            (SOL_SOCKET, 30) => return Ok(OptVal::Int(self.tcp_listening() as i32)),
            (SOL_SOCKET, 17) => {
                // SO_PEERCRED: no process stands behind an internet peer.
                let mut v = 0i32.to_ne_bytes().to_vec();
                v.extend_from_slice(&u32::MAX.to_ne_bytes());
                v.extend_from_slice(&u32::MAX.to_ne_bytes());
                return Ok(OptVal::Bytes(v));
            }
            (SOL_TCP, 2) if self.is_tcp() => return Ok(OptVal::Int(self.tcp_mss())),
            (SOL_TCP, 11) if self.is_tcp() => return Ok(OptVal::Bytes(self.tcp_info())),
            (SOL_IP, 14) | (SOL_IPV6, 24) => {
                // IP_MTU, IPV6_MTU: lo's, once connected.
                if level == SOL_IPV6 && self.family == Family::V4 {
                    return Err(Errno::EOPNOTSUPP);
                }
                return if self.peername().is_ok() { Ok(OptVal::Int(crate::net::iface::LO_MTU)) } else { Err(Errno::ENOTCONN) };
            }
            _ => {}
        }
        self.opts().get(level, name, self.is_tcp(), self.family)
    }

    /// setsockopt(2).
    pub fn setsockopt(&self, task: &Task, level: i32, name: i32, v: &[u8]) -> KResult<()> {
        use opts::{SOL_IPV6, SOL_SOCKET};
        match (level, name) {
            (SOL_SOCKET, 3 | 4 | 17 | 19 | 30 | 38 | 39) => return Err(Errno::ENOPROTOOPT),
            (SOL_IPV6, 26) if self.family == Family::V6 && self.is_bound() => return Err(Errno::EINVAL),
            _ => {}
        }
        let privileged = task.capable(crate::kernel::task::CAP_NET_ADMIN);
        let (rcvbuf, sndbuf, reuseaddr, reuseport) = {
            let mut o = self.opts();
            o.set(level, name, v, self.is_tcp(), self.family, privileged)?;
            (o.rcvbuf, o.tcp_sndbuf(), o.reuseaddr, o.reuseport)
        };
        match (level, name) {
            (SOL_SOCKET, 7 | 8 | 32 | 33) => self.tcp_set_bufs(rcvbuf, sndbuf),
            (SOL_SOCKET, 2 | 15) => {
                if let Some(h) = self.handle() {
                    self.lock_table().set_reuse(h, reuseaddr, reuseport);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn is_bound(&self) -> bool {
        self.handle().is_some()
    }

    /// The socket's port table entry, if bound.
    fn handle(&self) -> Option<Handle> {
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_bound().map(|b| b.handle),
            ProtoState::Udp(u) => u.bound().map(|b| b.handle),
        }
    }

    /// SO_ERROR: the pending error, cleared.
    fn take_error(&self) -> Option<Errno> {
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_take_error(),
            ProtoState::Udp(u) => u.take_error(),
        }
    }

    /// FIONREAD: a stream's unread bytes, a datagram socket's next
    /// datagram's size.
    fn inq(&self) -> KResult<usize> {
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_inq(),
            ProtoState::Udp(u) => Ok(u.next_len()),
        }
    }
}

/// SIOCINQ (FIONREAD).
const SIOCINQ: u64 = 0x541b;
/// SIOCOUTQ (TIOCOUTQ).
const SIOCOUTQ: u64 = 0x5411;

impl FileOps for InetSocket {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        let r = self.recv(task, buf.len(), 0, nonblock)?;
        let n = r.data.len();
        buf[..n].copy_from_slice(&r.data);
        Ok(n)
    }

    fn read_to(&self, task: &Task, addr: u64, len: usize, _off: u64, nonblock: bool) -> KResult<usize> {
        task.mm().check_access(addr, len, true)?;
        let r = self.recv(task, len, 0, nonblock)?;
        task.mm().copy_out(addr, &r.data)?;
        Ok(r.data.len())
    }

    fn read_vectored(&self, task: &Task, iovs: &[crate::mm::io::IoVec], nonblock: bool) -> Option<KResult<usize>> {
        Some(crate::net::recv_into_iovecs(task, iovs, |max| Ok(self.recv(task, max, 0, nonblock)?.data)))
    }

    fn write(&self, task: &Task, buf: &[u8], _off: u64, nonblock: bool) -> KResult<usize> {
        self.send_self(task, buf.to_vec(), nonblock)
    }

    fn write_from(&self, task: &Task, src: Source<'_>, _off: u64, nonblock: bool) -> KResult<usize> {
        let data = match src {
            Source::Kernel(b) => b.to_vec(),
            Source::User { addr, len } => {
                let mut b = vec![0u8; len];
                task.mm().copy_in(addr, &mut b)?;
                b
            }
        };
        self.send_self(task, data, nonblock)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn ioctl(&self, task: &Task, cmd: u64, arg: u64) -> KResult<u64> {
        match cmd {
            SIOCINQ => {
                let n = self.inq()? as i32;
                task.mm().write_val(arg, &n)?;
                Ok(0)
            }
            SIOCOUTQ => {
                // Sent bytes are in the peer's queue at once: none wait here.
                task.mm().write_val(arg, &0i32)?;
                Ok(0)
            }
            _ => crate::net::iface::ioctl(task, cmd, arg, true),
        }
    }

    fn readiness(&self) -> u32 {
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_readiness(),
            ProtoState::Udp(u) => u.readiness(),
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }

    fn on_close(&self) {
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_close(),
            ProtoState::Udp(u) => {
                if let Some(b) = u.close() {
                    self.unbind(&b);
                }
            }
        }
    }
}

impl InetSocket {
    /// A TCP send; EPIPE also raises SIGPIPE unless `nosignal`.
    fn tcp_write(&self, task: &Task, data: Vec<u8>, nonblock: bool, nosignal: bool) -> KResult<usize> {
        let r = self.tcp_send(task, data, nonblock);
        if r == Err(Errno::EPIPE) && !nosignal {
            task.send_signal_thread(crate::kernel::signal::QueuedSignal { signo: crate::kernel::signal::sig::SIGPIPE, ..Default::default() });
        }
        r
    }

    /// write(2) and friends: a send without an address or flags (a UDP
    /// socket must be connected, hence bound: no Arc is needed to bind).
    fn send_self(&self, task: &Task, data: Vec<u8>, nonblock: bool) -> KResult<usize> {
        match &self.proto {
            ProtoState::Tcp(_) => self.tcp_write(task, data, nonblock, false),
            ProtoState::Udp(_) => self.udp_send_connected(data),
        }
    }
}

impl Drop for InetSocket {
    fn drop(&mut self) {
        // A socket never closed through a file (an unaccepted connection)
        // leaves the table here.
        self.on_close();
    }
}
