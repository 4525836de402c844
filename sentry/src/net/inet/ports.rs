//! The port table of one protocol: who is bound where, the bind conflict
//! rules of Linux (SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY, wildcards),
//! ephemeral ports, and the lookups that find a listener for a new
//! connection or the receiver of a datagram.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};

use super::addr::Scope;
use crate::errno::{Errno, KResult};

/// The ephemeral range (Linux's default ip_local_port_range).
pub const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;

/// Which conflict rules apply.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proto {
    /// TCP: SO_REUSEADDR shares a port only with sockets that do not listen.
    Tcp,
    /// UDP: SO_REUSEADDR shares a port outright.
    Udp,
}

/// What a binding claims.
#[derive(Clone, Copy, Debug)]
pub struct Claim {
    /// The addresses it covers.
    pub scope: Scope,
    /// SO_REUSEADDR.
    pub reuseaddr: bool,
    /// SO_REUSEPORT.
    pub reuseport: bool,
    /// The owner's uid (SO_REUSEPORT shares only within one uid).
    pub uid: u32,
}

/// One bound socket.
pub struct Entry<T> {
    id: u64,
    /// What it claims.
    pub claim: Claim,
    /// A TCP socket that listens.
    pub listening: bool,
    /// A connected UDP socket's peer (canonical): only datagrams from
    /// there reach it.
    pub peer: Option<SocketAddr>,
    owner: Weak<T>,
}

/// The bindings of one protocol in one network stack.
pub struct PortTable<T> {
    proto: Proto,
    ports: HashMap<u16, Vec<Entry<T>>>,
    next_id: u64,
    /// Where the next ephemeral search starts.
    cursor: u32,
}

/// A binding's handle: its port and id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Handle {
    /// The port.
    pub port: u16,
    id: u64,
}

impl<T> PortTable<T> {
    /// An empty table.
    pub fn new(proto: Proto) -> Self {
        PortTable { proto, ports: HashMap::new(), next_id: 1, cursor: 0 }
    }

    /// Whether a new claim `c` conflicts with `e` (Linux's
    /// inet_bind_conflict for TCP, udp_lib_lport_inuse for UDP).
    fn conflicts(&self, c: &Claim, e: &Entry<T>) -> bool {
        if !c.scope.overlaps(&e.claim.scope) {
            return false;
        }
        let share_port = c.reuseport && e.claim.reuseport && c.uid == e.claim.uid;
        let share_addr = c.reuseaddr && e.claim.reuseaddr && (self.proto == Proto::Udp || !e.listening);
        !(share_addr || share_port)
    }

    fn free(&self, port: u16, c: &Claim, except: Option<u64>) -> bool {
        self.ports.get(&port).is_none_or(|v| v.iter().all(|e| Some(e.id) == except || !self.conflicts(c, e)))
    }

    /// Bind `owner` at `port` (0: an ephemeral port): EADDRINUSE when the
    /// port is taken, as bind(2) reports it (EADDRINUSE too when no
    /// ephemeral port is left, as Linux's bind does).
    pub fn bind(&mut self, port: u16, c: Claim, owner: Weak<T>) -> KResult<Handle> {
        let port = if port == 0 { self.ephemeral(&c).ok_or(Errno::EADDRINUSE)? } else { port };
        if !self.free(port, &c, None) {
            return Err(Errno::EADDRINUSE);
        }
        Ok(self.insert(port, c, owner))
    }

    /// Add a binding without checking (a connection accepted on a
    /// listener's port shares it, as Linux's inet_inherit_port does).
    pub fn insert(&mut self, port: u16, c: Claim, owner: Weak<T>) -> Handle {
        let id = self.next_id;
        self.next_id += 1;
        self.ports.entry(port).or_default().push(Entry { id, claim: c, listening: false, peer: None, owner });
        Handle { port, id }
    }

    fn ephemeral(&mut self, c: &Claim) -> Option<u16> {
        let (lo, hi) = (*EPHEMERAL.start() as u32, *EPHEMERAL.end() as u32);
        let n = hi - lo + 1;
        for i in 0..n {
            // A stride prime to the range's size spreads consecutive
            // choices as Linux's randomised search does.
            let port = (lo + (self.cursor + i * 7919) % n) as u16;
            if self.ports.get(&port).is_none_or(|v| v.is_empty()) || self.free(port, c, None) {
                self.cursor = (self.cursor + (i + 1) * 7919) % n;
                return Some(port);
            }
        }
        None
    }

    fn entry(&mut self, h: Handle) -> Option<&mut Entry<T>> {
        self.ports.get_mut(&h.port)?.iter_mut().find(|e| e.id == h.id)
    }

    /// listen(2) on a bound TCP socket: checked again, as Linux's
    /// inet_csk_listen_start does (two SO_REUSEADDR sockets may share a
    /// port, but only one may listen on it).
    pub fn listen(&mut self, h: Handle) -> KResult<()> {
        let Some(c) = self.entry(h).map(|e| e.claim) else { return Err(Errno::EINVAL) };
        if !self.free(h.port, &c, Some(h.id)) {
            return Err(Errno::EADDRINUSE);
        }
        if let Some(e) = self.entry(h) {
            e.listening = true;
        }
        Ok(())
    }

    /// Stop listening.
    pub fn unlisten(&mut self, h: Handle) {
        if let Some(e) = self.entry(h) {
            e.listening = false;
        }
    }

    /// SO_REUSEADDR and SO_REUSEPORT changed after bind: Linux reads them
    /// at each conflict check.
    pub fn set_reuse(&mut self, h: Handle, reuseaddr: bool, reuseport: bool) {
        if let Some(e) = self.entry(h) {
            e.claim.reuseaddr = reuseaddr;
            e.claim.reuseport = reuseport;
        }
    }

    /// Change what a binding covers and its peer (a UDP connect).
    pub fn update(&mut self, h: Handle, scope: Scope, peer: Option<SocketAddr>) {
        if let Some(e) = self.entry(h) {
            e.claim.scope = scope;
            e.peer = peer;
        }
    }

    /// Remove a binding.
    pub fn remove(&mut self, h: Handle) {
        if let Some(v) = self.ports.get_mut(&h.port) {
            v.retain(|e| e.id != h.id);
            if v.is_empty() {
                self.ports.remove(&h.port);
            }
        }
    }

    /// The best match for a packet to `dst`:`port` from `src`: bindings
    /// of one address beat wildcards, a connected socket whose peer is
    /// `src` beats both, an IPv4 socket beats a dual-stack one for IPv4;
    /// `listening` picks TCP listeners. Among equals the newest wins.
    pub fn lookup(&self, dst: IpAddr, port: u16, src: Option<SocketAddr>, listening: bool) -> Option<Arc<T>> {
        let v = self.ports.get(&port)?;
        let mut best: Option<(i32, &Entry<T>)> = None;
        for e in v {
            if e.listening != listening || !e.claim.scope.has(dst) {
                continue;
            }
            let mut score = 0;
            if let Some(p) = e.peer {
                if Some(p) != src {
                    continue;
                }
                score += 8;
            }
            if !e.claim.scope.is_any() {
                score += 4;
            }
            if e.claim.scope != Scope::AnyDual {
                score += 1;
            }
            if best.is_none_or(|(b, _)| score >= b) && e.owner.strong_count() > 0 {
                best = Some((score, e));
            }
        }
        best.and_then(|(_, e)| e.owner.upgrade())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(scope: &str, reuseaddr: bool) -> Claim {
        let scope = match scope {
            "any4" => Scope::AnyV4,
            "any6" => Scope::AnyV6,
            "dual" => Scope::AnyDual,
            ip => Scope::One(ip.parse().unwrap_or_else(|_| unreachable!())),
        };
        Claim { scope, reuseaddr, reuseport: false, uid: 0 }
    }

    #[test]
    fn tcp_reuseaddr_shares_a_port_until_one_listens() {
        let owner = Arc::new(());
        let mut t: PortTable<()> = PortTable::new(Proto::Tcp);
        let a = t.bind(5000, claim("127.0.0.1", true), Arc::downgrade(&owner)).unwrap_or_else(|_| unreachable!());
        assert_eq!(t.bind(5000, claim("any4", false), Arc::downgrade(&owner)), Err(Errno::EADDRINUSE));
        let b = t.bind(5000, claim("any4", true), Arc::downgrade(&owner)).unwrap_or_else(|_| unreachable!());
        assert_eq!(t.listen(a), Ok(()));
        assert_eq!(t.listen(b), Err(Errno::EADDRINUSE));
        // The wildcard binding covers 127.0.0.2 too.
        assert_eq!(t.bind(5000, claim("127.0.0.2", false), Arc::downgrade(&owner)), Err(Errno::EADDRINUSE));
        t.remove(b);
        assert_eq!(t.bind(5000, claim("127.0.0.2", false), Arc::downgrade(&owner)).map(|h| h.port), Ok(5000));
    }

    #[test]
    fn v6only_wildcard_does_not_take_the_v4_port() {
        let owner = Arc::new(());
        let mut t: PortTable<()> = PortTable::new(Proto::Tcp);
        t.bind(80, claim("127.0.0.1", false), Arc::downgrade(&owner)).unwrap_or_else(|_| unreachable!());
        assert_eq!(t.bind(80, claim("dual", false), Arc::downgrade(&owner)), Err(Errno::EADDRINUSE));
        assert!(t.bind(80, claim("any6", false), Arc::downgrade(&owner)).is_ok());
    }

    #[test]
    fn ephemeral_ports_are_in_range_and_distinct() {
        let owner = Arc::new(());
        let mut t: PortTable<()> = PortTable::new(Proto::Udp);
        let a = t.bind(0, claim("any4", false), Arc::downgrade(&owner)).unwrap_or_else(|_| unreachable!());
        let b = t.bind(0, claim("any4", false), Arc::downgrade(&owner)).unwrap_or_else(|_| unreachable!());
        assert!(EPHEMERAL.contains(&a.port) && EPHEMERAL.contains(&b.port) && a.port != b.port);
    }

    #[test]
    fn lookup_prefers_the_exact_address() {
        let wild = Arc::new(1);
        let exact = Arc::new(2);
        let mut t: PortTable<i32> = PortTable::new(Proto::Udp);
        t.bind(53, claim("any4", true), Arc::downgrade(&wild)).unwrap_or_else(|_| unreachable!());
        t.bind(53, claim("127.0.0.1", true), Arc::downgrade(&exact)).unwrap_or_else(|_| unreachable!());
        let ip = "127.0.0.1".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(t.lookup(ip, 53, None, false).map(|a| *a), Some(2));
        let other = "127.0.0.3".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(t.lookup(other, 53, None, false).map(|a| *a), Some(1));
    }
}
