//! Internet socket addresses: sockaddr_in / sockaddr_in6 as the
//! application writes them, the address a socket of each family shows
//! (an AF_INET6 socket sees IPv4 peers as ::ffff:a.b.c.d), what a bound
//! address covers, and the loopback-only routing of the sandbox.
//!
//! Inside the stack every address is canonical: an IPv4-mapped IPv6
//! address is the IPv4 address it maps.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::errno::{Errno, KResult};

/// AF_UNSPEC.
pub const AF_UNSPEC: u16 = 0;
/// AF_INET.
pub const AF_INET: u16 = 2;
/// AF_INET6.
pub const AF_INET6: u16 = 10;
/// sizeof(struct sockaddr_in).
pub const SIN_LEN: usize = 16;
/// sizeof(struct sockaddr_in6).
pub const SIN6_LEN: usize = 28;
/// The sockaddr_in6 of RFC 2133, without sin6_scope_id: still accepted.
pub const SIN6_LEN_RFC2133: usize = 24;

/// A socket's address family.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    /// AF_INET.
    V4,
    /// AF_INET6.
    V6,
}

impl Family {
    /// The AF_* number.
    pub fn domain(self) -> i32 {
        match self {
            Family::V4 => AF_INET as i32,
            Family::V6 => AF_INET6 as i32,
        }
    }
}

/// The canonical form of an address: IPv4-mapped IPv6 is IPv4.
pub fn canon_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// The canonical form of a socket address.
pub fn canon(sa: SocketAddr) -> SocketAddr {
    SocketAddr::new(canon_ip(sa.ip()), sa.port())
}

/// How a socket of `family` shows a canonical address.
pub fn show(family: Family, sa: SocketAddr) -> SocketAddr {
    match (family, sa.ip()) {
        (Family::V6, IpAddr::V4(v4)) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), sa.port()),
        _ => sa,
    }
}

/// The wildcard address of a family.
pub fn any(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// A sockaddr as the application wrote it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Parsed {
    /// AF_UNSPEC (connect: dissolve the association).
    Unspec,
    /// An address, in the form the bytes give (a v6 socket may be handed
    /// a sockaddr_in where Linux allows it).
    Addr(SocketAddr),
}

fn port_of(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[2], b[3]])
}

fn family_of(b: &[u8]) -> Option<u16> {
    (b.len() >= 2).then(|| u16::from_ne_bytes([b[0], b[1]]))
}

fn v4_of(b: &[u8]) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(b[4], b[5], b[6], b[7])), port_of(b))
}

/// The address of a sockaddr_in6 and its scope id (0 when the RFC 2133
/// form leaves it out).
fn v6_of(b: &[u8]) -> (SocketAddr, u32) {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[8..24]);
    let scope = if b.len() >= SIN6_LEN { u32::from_ne_bytes([b[24], b[25], b[26], b[27]]) } else { 0 };
    (SocketAddr::new(IpAddr::V6(Ipv6Addr::from(a)), port_of(b)), scope)
}

/// Is `ip` (canonical, IPv6) link-local, which needs a scope id.
fn link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// The address of bind(2), with Linux's checks in inet_bind/inet6_bind
/// order: the length, the family (AF_UNSPEC passes for 0.0.0.0 on an
/// AF_INET socket), then whether the address is one of the sandbox's.
pub fn parse_bind(family: Family, b: &[u8], v6only: bool) -> KResult<SocketAddr> {
    parse_bind_checked(family, b, v6only, true)
}

/// As [`parse_bind`] for a socket with IP_FREEBIND: any address.
pub fn parse_bind_any(family: Family, b: &[u8], v6only: bool) -> KResult<SocketAddr> {
    parse_bind_checked(family, b, v6only, false)
}

fn parse_bind_checked(family: Family, b: &[u8], v6only: bool, local_only: bool) -> KResult<SocketAddr> {
    match family {
        Family::V4 => {
            if b.len() < SIN_LEN {
                return Err(Errno::EINVAL);
            }
            let sa = v4_of(b);
            match family_of(b) {
                Some(AF_INET) => {}
                Some(AF_UNSPEC) if sa.ip().is_unspecified() => {}
                _ => return Err(Errno::EAFNOSUPPORT),
            }
            if local_only {
                bindable(sa.ip())?;
            }
            Ok(sa)
        }
        Family::V6 => {
            if b.len() < SIN6_LEN_RFC2133 {
                return Err(Errno::EINVAL);
            }
            if family_of(b) != Some(AF_INET6) {
                return Err(Errno::EAFNOSUPPORT);
            }
            let (sa, scope) = v6_of(b);
            let ip = canon_ip(sa.ip());
            if ip.is_ipv4() {
                if v6only {
                    return Err(Errno::EINVAL);
                }
            } else if link_local(ip) {
                // lo has no link-local address; without a scope id Linux
                // cannot even pick an interface.
                return Err(if scope == 0 { Errno::EINVAL } else if scope == LO_INDEX { Errno::EADDRNOTAVAIL } else { Errno::ENODEV });
            }
            if local_only {
                bindable(ip)?;
            }
            Ok(sa)
        }
    }
}

const LO_INDEX: u32 = crate::net::iface::LO_INDEX as u32;

/// Whether a socket may bind `ip` (canonical): the loopback addresses,
/// the wildcards, and IPv4 multicast and broadcast, as Linux allows them
/// whatever the interface.
fn bindable(ip: IpAddr) -> KResult<()> {
    let ok = match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || v6.is_multicast(),
    };
    if ok {
        Ok(())
    } else {
        Err(Errno::EADDRNOTAVAIL)
    }
}

/// The address of connect(2) (both protocols): AF_UNSPEC dissolves;
/// otherwise the family's own sockaddr, of at least its length.
pub fn parse_connect(family: Family, b: &[u8]) -> KResult<Parsed> {
    match family_of(b) {
        None => return Err(Errno::EINVAL),
        Some(AF_UNSPEC) => return Ok(Parsed::Unspec),
        Some(_) => {}
    }
    parse_dest(family, b).map(Parsed::Addr)
}

fn parse_dest(family: Family, b: &[u8]) -> KResult<SocketAddr> {
    match family {
        Family::V4 => {
            if b.len() < SIN_LEN {
                return Err(Errno::EINVAL);
            }
            if family_of(b) != Some(AF_INET) {
                return Err(Errno::EAFNOSUPPORT);
            }
            Ok(v4_of(b))
        }
        Family::V6 => {
            if b.len() < SIN6_LEN_RFC2133 {
                return Err(Errno::EINVAL);
            }
            if family_of(b) != Some(AF_INET6) {
                return Err(Errno::EAFNOSUPPORT);
            }
            Ok(v6_of(b).0)
        }
    }
}

/// The destination of a UDP sendto/sendmsg, as udp_sendmsg and
/// udpv6_sendmsg read it: None for AF_UNSPEC on a v6 socket (use the
/// connected peer). A v4 socket takes AF_UNSPEC as AF_INET; a v6 socket
/// takes a sockaddr_in too; port 0 is EINVAL.
pub fn parse_sendto(family: Family, b: &[u8]) -> KResult<Option<SocketAddr>> {
    let fam = family_of(b).ok_or(Errno::EINVAL)?;
    let sa = match (family, fam) {
        (Family::V4, AF_INET | AF_UNSPEC) | (Family::V6, AF_INET) => {
            if b.len() < SIN_LEN {
                return Err(Errno::EINVAL);
            }
            v4_of(b)
        }
        (Family::V4, _) => return Err(Errno::EAFNOSUPPORT),
        (Family::V6, AF_UNSPEC) => return Ok(None),
        (Family::V6, AF_INET6) => {
            if b.len() < SIN6_LEN_RFC2133 {
                return Err(Errno::EINVAL);
            }
            v6_of(b).0
        }
        (Family::V6, _) => return Err(Errno::EINVAL),
    };
    if sa.port() == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(sa))
}

/// The sockaddr bytes of an address as a socket of `family` shows it.
pub fn to_bytes(family: Family, sa: SocketAddr) -> Vec<u8> {
    match show(family, sa) {
        SocketAddr::V4(a) => {
            let mut b = vec![0u8; SIN_LEN];
            b[..2].copy_from_slice(&AF_INET.to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.ip().octets());
            b
        }
        SocketAddr::V6(a) => {
            let mut b = vec![0u8; SIN6_LEN];
            b[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[8..24].copy_from_slice(&a.ip().octets());
            b
        }
    }
}

/// The route to `dst` (canonical) in a sandbox whose only interface is
/// lo: the source address and the destination (a wildcard destination
/// means this host, as in Linux). Anything else is unreachable.
pub fn route(dst: IpAddr) -> KResult<(IpAddr, IpAddr)> {
    match dst {
        IpAddr::V4(v4) if v4.is_unspecified() || v4.is_loopback() => {
            let d = if v4.is_unspecified() { Ipv4Addr::LOCALHOST } else { v4 };
            Ok((IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(d)))
        }
        IpAddr::V6(v6) if v6.is_unspecified() || v6.is_loopback() => Ok((IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST))),
        _ => Err(Errno::ENETUNREACH),
    }
}

/// What a bound address covers, for conflicts and for delivery.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// 0.0.0.0 (or ::ffff:0.0.0.0): every IPv4 address.
    AnyV4,
    /// :: with IPV6_V6ONLY: every IPv6 address.
    AnyV6,
    /// :: without IPV6_V6ONLY: every address.
    AnyDual,
    /// One address (canonical).
    One(IpAddr),
}

impl Scope {
    /// The scope of a socket of `family` bound to `ip` (as the socket
    /// holds it).
    pub fn of(family: Family, ip: IpAddr, v6only: bool) -> Scope {
        let c = canon_ip(ip);
        match (family, c) {
            (_, IpAddr::V4(v4)) if v4.is_unspecified() => Scope::AnyV4,
            (Family::V6, IpAddr::V6(v6)) if v6.is_unspecified() => {
                if v6only {
                    Scope::AnyV6
                } else {
                    Scope::AnyDual
                }
            }
            _ => Scope::One(c),
        }
    }

    /// Whether the scope covers the canonical address `ip`.
    pub fn has(&self, ip: IpAddr) -> bool {
        match self {
            Scope::AnyV4 => ip.is_ipv4(),
            Scope::AnyV6 => ip.is_ipv6(),
            Scope::AnyDual => true,
            Scope::One(a) => *a == ip,
        }
    }

    /// A wildcard.
    pub fn is_any(&self) -> bool {
        !matches!(self, Scope::One(_))
    }

    /// Whether the two cover a common address.
    pub fn overlaps(&self, o: &Scope) -> bool {
        match (self, o) {
            (Scope::One(a), other) | (other, Scope::One(a)) => other.has(*a),
            (Scope::AnyDual, _) | (_, Scope::AnyDual) => true,
            (a, b) => a == b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sin(fam: u16, port: u16, ip: [u8; 4]) -> Vec<u8> {
        let mut b = vec![0u8; 16];
        b[..2].copy_from_slice(&fam.to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&ip);
        b
    }

    #[test]
    fn bind_v4_errors_in_linux_order() {
        assert_eq!(parse_bind(Family::V4, &sin(AF_INET, 1, [127, 0, 0, 1])[..15], false), Err(Errno::EINVAL));
        assert_eq!(parse_bind(Family::V4, &sin(AF_INET6, 1, [127, 0, 0, 1]), false), Err(Errno::EAFNOSUPPORT));
        assert_eq!(parse_bind(Family::V4, &sin(AF_INET, 1, [8, 8, 8, 8]), false), Err(Errno::EADDRNOTAVAIL));
        assert!(parse_bind(Family::V4, &sin(AF_UNSPEC, 1, [0, 0, 0, 0]), false).is_ok());
        assert_eq!(parse_bind(Family::V4, &sin(AF_UNSPEC, 1, [127, 0, 0, 1]), false), Err(Errno::EAFNOSUPPORT));
        assert!(parse_bind(Family::V4, &sin(AF_INET, 1, [127, 0, 0, 9]), false).is_ok());
    }

    #[test]
    fn v6_sockets_show_v4_peers_mapped() {
        let sa: SocketAddr = "127.0.0.1:80".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(show(Family::V6, sa).to_string(), "[::ffff:127.0.0.1]:80");
        assert_eq!(canon(show(Family::V6, sa)), sa);
    }

    #[test]
    fn scopes_overlap_as_linux_binds_conflict() {
        let lo4 = Scope::One("127.0.0.1".parse().unwrap_or_else(|_| unreachable!()));
        assert!(Scope::AnyDual.overlaps(&lo4));
        assert!(!Scope::AnyV6.overlaps(&lo4));
        assert!(Scope::AnyV4.overlaps(&lo4));
        assert!(!Scope::AnyV4.overlaps(&Scope::AnyV6));
        assert!(Scope::AnyV4.overlaps(&Scope::AnyDual));
        assert!(!lo4.overlaps(&Scope::One("::1".parse().unwrap_or_else(|_| unreachable!()))));
    }

    #[test]
    fn only_loopback_routes() {
        assert!(route("8.8.8.8".parse().unwrap_or_else(|_| unreachable!())).is_err());
        let (src, dst) = route("0.0.0.0".parse().unwrap_or_else(|_| unreachable!())).unwrap_or_else(|_| unreachable!());
        assert_eq!((src.to_string(), dst.to_string()), ("127.0.0.1".into(), "127.0.0.1".into()));
    }
}
