//! UDP sockets: datagrams with their source addresses, delivered to the
//! best-matching bound socket of the stack (a connected socket only takes
//! datagrams from its peer), dropped when nobody is bound there (a
//! connected sender then finds ECONNREFUSED on its next call, as the ICMP
//! error would leave it on Linux) or when the receiver's queue is full.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use super::super::queue::MsgQueue;
use super::addr::{self, canon, Parsed, Scope};
use super::conn::wait_error;
use super::{Bound, InetSocket, ProtoState, POLLRDHUP, POLLRDNORM, POLLWRBAND, POLLWRNORM};
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::vfs::{POLLERR, POLLHUP, POLLIN, POLLOUT};

/// The largest payloads: 65535 less the IPv4 and UDP headers, or less the
/// UDP header only for IPv6 (whose header is not in its payload length).
const MAX_V4: usize = 65507;
const MAX_V6: usize = 65527;

/// What a datagram costs against SO_RCVBUF: Linux charges an skb's
/// truesize (the buffer rounded up to its allocation, with its
/// bookkeeping), so a queue holds fewer datagrams than bytes.
fn truesize(len: usize) -> usize {
    (len + 520).next_power_of_two() + 256
}

#[derive(Default)]
pub(super) struct UdpInner {
    bound: Option<Bound>,
    /// The connected peer (canonical).
    peer: Option<SocketAddr>,
    err: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
}

#[derive(Default)]
struct Rx {
    q: MsgQueue<SocketAddr>,
    /// Truesize of what is queued.
    cost: usize,
}

/// A UDP socket's state and receive queue (locked separately: senders
/// take only the queue).
#[derive(Default)]
pub(super) struct Udp {
    st: Mutex<UdpInner>,
    rx: Mutex<Rx>,
}

impl Udp {
    fn lock(&self) -> MutexGuard<'_, UdpInner> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rx(&self) -> MutexGuard<'_, Rx> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn bound(&self) -> Option<Bound> {
        self.lock().bound
    }

    pub(super) fn local(&self) -> Option<SocketAddr> {
        self.lock().bound.map(|b| b.local)
    }

    pub(super) fn peer(&self) -> Option<SocketAddr> {
        self.lock().peer
    }

    pub(super) fn take_error(&self) -> Option<Errno> {
        self.lock().err.take()
    }

    /// The size of the next datagram (FIONREAD).
    pub(super) fn next_len(&self) -> usize {
        self.rx().q.front().map_or(0, |m| m.data.len())
    }

    /// Linux's datagram_poll.
    pub(super) fn readiness(&self) -> u32 {
        let st = self.lock();
        let mut r = POLLOUT | POLLWRNORM | POLLWRBAND;
        if st.err.is_some() {
            r |= POLLERR;
        }
        if st.shut_rd {
            r |= POLLIN | POLLRDNORM | POLLRDHUP;
        }
        if st.shut_rd && st.shut_wr {
            r |= POLLHUP;
        }
        if !self.rx().q.is_empty() {
            r |= POLLIN | POLLRDNORM;
        }
        r
    }

    /// The file is closed: its binding, to be removed.
    pub(super) fn close(&self) -> Option<Bound> {
        let b = self.lock().bound.take();
        let dropped = self.rx().q.clear();
        drop(dropped);
        b
    }
}

impl InetSocket {
    fn udp(&self) -> KResult<&Udp> {
        match &self.proto {
            ProtoState::Udp(u) => Ok(u),
            ProtoState::Tcp(_) => Err(Errno::EINVAL),
        }
    }

    pub(super) fn udp_bind(self: &Arc<Self>, sa: SocketAddr) -> KResult<()> {
        let u = self.udp()?;
        let mut st = u.lock();
        if st.bound.is_some() {
            return Err(Errno::EINVAL);
        }
        st.bound = Some(self.bind_port(sa, true)?);
        Ok(())
    }

    fn udp_ensure_bound(self: &Arc<Self>, st: &mut UdpInner) -> KResult<Bound> {
        match st.bound {
            Some(b) => Ok(b),
            None => {
                let b = self.autobind()?;
                st.bound = Some(b);
                Ok(b)
            }
        }
    }

    pub(super) fn udp_connect(self: &Arc<Self>, p: Parsed) -> KResult<()> {
        let u = self.udp()?;
        let mut st = u.lock();
        let dst = match p {
            Parsed::Unspec => {
                // Dissolve: a port bind(2) did not name is given back, an
                // address it did not name goes back to the wildcard.
                st.peer = None;
                if let Some(mut b) = st.bound {
                    if !b.port_locked {
                        self.unbind(&b);
                        st.bound = None;
                    } else {
                        if !b.addr_locked {
                            b.local = SocketAddr::new(addr::any(self.family), b.local.port());
                            st.bound = Some(b);
                        }
                        let scope = self.claim(b.local.ip()).scope;
                        self.lock_table().update(b.handle, scope, None);
                    }
                }
                return Ok(());
            }
            Parsed::Addr(a) => canon(a),
        };
        let v6only = self.opts().v6only;
        let (src, dst) = self.route(dst, v6only)?;
        let mut b = self.udp_ensure_bound(&mut st)?;
        if b.local.ip().is_unspecified() {
            b.local = SocketAddr::new(src, b.local.port());
        } else if b.local.ip().is_ipv4() != dst.is_ipv4() {
            return Err(Errno::ENETUNREACH);
        }
        st.bound = Some(b);
        st.peer = Some(dst);
        self.lock_table().update(b.handle, Scope::One(b.local.ip()), Some(dst));
        Ok(())
    }

    /// write(2) on a UDP socket: to the connected peer.
    pub(super) fn udp_send_connected(&self, data: Vec<u8>) -> KResult<usize> {
        let u = self.udp()?;
        let st = u.lock();
        if st.peer.is_none() {
            return Err(Errno::EDESTADDRREQ);
        }
        drop(st);
        self.udp_send_from(data, None)
    }

    pub(super) fn udp_send(self: &Arc<Self>, data: Vec<u8>, to: Option<SocketAddr>) -> KResult<usize> {
        let u = self.udp()?;
        {
            let mut st = u.lock();
            if to.is_none() && st.peer.is_none() {
                return Err(Errno::EDESTADDRREQ);
            }
            self.udp_ensure_bound(&mut st)?;
        }
        self.udp_send_from(data, to)
    }

    /// Send a datagram from this (bound) socket to `to` or its peer.
    fn udp_send_from(&self, data: Vec<u8>, to: Option<SocketAddr>) -> KResult<usize> {
        let u = self.udp()?;
        let len = data.len();
        if len > 0xffff {
            return Err(Errno::EMSGSIZE);
        }
        let (v6only, broadcast) = {
            let o = self.opts();
            (o.v6only, o.broadcast)
        };
        let mut st = u.lock();
        let dst = match to {
            Some(d) => canon(d),
            None => st.peer.ok_or(Errno::EDESTADDRREQ)?,
        };
        if let std::net::IpAddr::V4(v4) = dst.ip() {
            if v4.is_broadcast() && !broadcast {
                return Err(Errno::EACCES);
            }
        }
        let (src_ip, dst) = self.route(dst, v6only)?;
        if len > if dst.is_ipv4() { MAX_V4 } else { MAX_V6 } {
            return Err(Errno::EMSGSIZE);
        }
        // What allocating the packet checks (sock_alloc_send_pskb).
        if st.shut_wr {
            return Err(Errno::EPIPE);
        }
        if let Some(e) = st.err.take() {
            return Err(e);
        }
        let b = st.bound.ok_or(Errno::EDESTADDRREQ)?;
        let src = SocketAddr::new(if b.local.ip().is_unspecified() { src_ip } else { b.local.ip() }, b.local.port());
        let to_peer = st.peer == Some(dst);
        drop(st);
        let target = self.stack.udp.lock().unwrap_or_else(|e| e.into_inner()).lookup(dst.ip(), dst.port(), Some(src), false);
        match target {
            Some(t) => t.udp_deliver(data, src),
            None if to_peer => {
                u.lock().err = Some(Errno::ECONNREFUSED);
                self.wq.notify_all();
            }
            None => {}
        }
        Ok(len)
    }

    /// A datagram from `src` (canonical) arrives: queued unless the queue
    /// already holds SO_RCVBUF's worth.
    fn udp_deliver(&self, data: Vec<u8>, src: SocketAddr) {
        let Ok(u) = self.udp() else { return };
        let rcvbuf = self.opts().rcvbuf;
        let mut rx = u.rx();
        if rx.cost > rcvbuf {
            return;
        }
        rx.cost += truesize(data.len());
        rx.q.push(data, src);
        drop(rx);
        self.wq.notify_all();
    }

    /// The next datagram and its source (canonical).
    pub(super) fn udp_recv(&self, task: &Task, peek: bool, nonblock: bool) -> KResult<(Vec<u8>, SocketAddr)> {
        let u = self.udp()?;
        let deadline = self.deadline(true);
        let r = task.block_on(&self.wq, nonblock, deadline, || {
            {
                // A pending error comes first (Linux's __skb_recv_udp).
                let mut st = u.lock();
                if let Some(e) = st.err.take() {
                    return Some(Err(e));
                }
            }
            {
                let mut rx = u.rx();
                if peek {
                    if let Some(m) = rx.q.front() {
                        return Some(Ok((m.data.clone(), m.anc)));
                    }
                } else if let Some(m) = rx.q.pop() {
                    rx.cost = rx.cost.saturating_sub(truesize(m.data.len()));
                    return Some(Ok((m.data, m.anc)));
                }
            }
            // After SHUT_RD a blocking read ends; a non-blocking one still
            // answers EAGAIN.
            if !nonblock && u.lock().shut_rd {
                let any = SocketAddr::new(addr::any(self.family), 0);
                return Some(Ok((Vec::new(), any)));
            }
            None
        });
        match r {
            Ok(r) => r,
            Err(e) => Err(wait_error(e, deadline.is_some())),
        }
    }

    pub(super) fn udp_shutdown(&self, rd: bool, wr: bool) -> KResult<()> {
        let u = self.udp()?;
        let mut st = u.lock();
        // Recorded even when unconnected (it wakes blocked readers), but
        // then answered ENOTCONN, as Linux does.
        st.shut_rd |= rd;
        st.shut_wr |= wr;
        let connected = st.peer.is_some();
        drop(st);
        self.wq.notify_all();
        if connected {
            Ok(())
        } else {
            Err(Errno::ENOTCONN)
        }
    }
}
