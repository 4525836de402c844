//! Socket options of internet sockets that are values kept on the socket
//! (SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPPROTO_UDP), with
//! Linux's defaults, ranges and errors. Options that read the socket's
//! state (SO_ERROR, SO_ACCEPTCONN, IPV6_V6ONLY after bind) are answered by
//! the socket before it asks here.

use std::time::Duration;

use super::addr::Family;
use crate::errno::{Errno, KResult};
use crate::net::OptVal;

/// Option levels.
pub const SOL_SOCKET: i32 = 1;
/// IPPROTO_IP.
pub const SOL_IP: i32 = 0;
/// IPPROTO_TCP.
pub const SOL_TCP: i32 = 6;
/// IPPROTO_UDP.
pub const SOL_UDP: i32 = 17;
/// IPPROTO_IPV6.
pub const SOL_IPV6: i32 = 41;

/// net.core.wmem_max and rmem_max at their Linux defaults.
const SYSCTL_BUF_MAX: u32 = 212_992;
/// SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF.
const MIN_SNDBUF: usize = 4608;
const MIN_RCVBUF: usize = 2304;
/// The send buffer an unlocked TCP socket grows to (tcp_wmem's maximum):
/// what a loopback writer can queue before it blocks.
pub const TCP_AUTOTUNED_SNDBUF: usize = 4 << 20;

/// The values.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct Opts {
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub dontroute: bool,
    pub oobinline: bool,
    pub passcred: bool,
    pub priority: i32,
    pub rcvlowat: i32,
    /// SO_LINGER: None off, Some(seconds).
    pub linger: Option<i32>,
    pub sndbuf: usize,
    pub rcvbuf: usize,
    /// Set by the application (Linux's SOCK_SNDBUF_LOCK): no autotuning.
    pub sndbuf_locked: bool,
    pub rcvtimeo: Option<Duration>,
    pub sndtimeo: Option<Duration>,
    /// SO_BINDTODEVICE.
    pub device: Vec<u8>,
    pub tos: i32,
    /// -1: the default (64).
    pub ttl: i32,
    pub pktinfo: bool,
    pub recverr: bool,
    pub recvtos: bool,
    pub mtu_discover: i32,
    pub freebind: bool,
    pub bind_no_port: bool,
    pub v6only: bool,
    pub hops: i32,
    pub tclass: i32,
    pub recvpktinfo6: bool,
    pub recverr6: bool,
    pub recvtclass: bool,
    pub mtu_discover6: i32,
    pub nodelay: bool,
    pub cork: bool,
    pub user_mss: i32,
    pub keepidle: i32,
    pub keepintvl: i32,
    pub keepcnt: i32,
    pub syncnt: i32,
    pub linger2: i32,
    pub defer_accept: i32,
    pub window_clamp: i32,
    pub quickack: bool,
    pub user_timeout: i32,
    pub notsent_lowat: i32,
    pub congestion: &'static str,
    pub udp_cork: bool,
}

impl Opts {
    /// Linux's defaults for a new socket.
    pub fn new(tcp: bool) -> Opts {
        Opts {
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            broadcast: false,
            dontroute: false,
            oobinline: false,
            passcred: false,
            priority: 0,
            rcvlowat: 1,
            linger: None,
            sndbuf: if tcp { 16384 } else { 212_992 },
            rcvbuf: if tcp { 131_072 } else { 212_992 },
            sndbuf_locked: false,
            rcvtimeo: None,
            sndtimeo: None,
            device: Vec::new(),
            tos: 0,
            ttl: -1,
            pktinfo: false,
            recverr: false,
            recvtos: false,
            mtu_discover: if tcp { 1 } else { 0 },
            freebind: false,
            bind_no_port: false,
            v6only: false,
            hops: -1,
            tclass: 0,
            recvpktinfo6: false,
            recverr6: false,
            recvtclass: false,
            mtu_discover6: if tcp { 1 } else { 0 },
            nodelay: false,
            cork: false,
            user_mss: 0,
            keepidle: 7200,
            keepintvl: 75,
            keepcnt: 9,
            syncnt: 6,
            linger2: 60,
            defer_accept: 0,
            window_clamp: 0,
            quickack: true,
            user_timeout: 0,
            notsent_lowat: -1,
            congestion: "cubic",
            udp_cork: false,
        }
    }

    /// The send buffer that bounds a TCP writer.
    pub fn tcp_sndbuf(&self) -> usize {
        if self.sndbuf_locked {
            self.sndbuf
        } else {
            TCP_AUTOTUNED_SNDBUF
        }
    }

    /// The options inherited by an accepted connection.
    pub fn inherit(&self) -> Opts {
        self.clone()
    }
}

/// An int option's value from setsockopt's bytes: at least 4 of them
/// (EINVAL), or, where `byte_ok` (IPPROTO_IP's), one.
fn int_of(v: &[u8], byte_ok: bool) -> KResult<i32> {
    if v.len() >= 4 {
        Ok(i32::from_ne_bytes([v[0], v[1], v[2], v[3]]))
    } else if byte_ok && !v.is_empty() {
        Ok(v[0] as i32)
    } else {
        Err(Errno::EINVAL)
    }
}

fn in_range(v: i32, lo: i32, hi: i32) -> KResult<i32> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(Errno::EINVAL)
    }
}

/// A struct timeval (or __kernel_sock_timeval, the same on x86-64).
fn timeval(v: &[u8]) -> KResult<Option<Duration>> {
    if v.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let sec = i64::from_ne_bytes(v[..8].try_into().map_err(|_| Errno::EINVAL)?);
    let usec = i64::from_ne_bytes(v[8..16].try_into().map_err(|_| Errno::EINVAL)?);
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(Some(Duration::ZERO));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    Ok(Some(Duration::new(sec as u64, usec as u32 * 1000)))
}

fn timeval_bytes(d: Option<Duration>) -> Vec<u8> {
    let d = d.unwrap_or_default();
    let mut b = (d.as_secs() as i64).to_ne_bytes().to_vec();
    b.extend_from_slice(&(d.subsec_micros() as i64).to_ne_bytes());
    b
}

fn bool_of(v: &[u8], byte_ok: bool) -> KResult<bool> {
    int_of(v, byte_ok).map(|v| v != 0)
}

/// The answer for an unknown option at a level the socket has.
const UNKNOWN: Errno = Errno::ENOPROTOOPT;

impl Opts {
    /// getsockopt of a kept value. `tcp` and `family` say which levels
    /// exist (others: EOPNOTSUPP).
    pub fn get(&self, level: i32, name: i32, tcp: bool, family: Family) -> KResult<OptVal> {
        use OptVal::{Bytes, Int};
        let b = |x: bool| Int(x as i32);
        Ok(match level {
            SOL_SOCKET => match name {
                2 => b(self.reuseaddr),
                5 => b(self.dontroute),
                6 => b(self.broadcast),
                7 => Int(self.sndbuf as i32),
                8 => Int(self.rcvbuf as i32),
                9 => b(self.keepalive),
                10 => b(self.oobinline),
                12 => Int(self.priority),
                13 => {
                    let mut v = (self.linger.is_some() as i32).to_ne_bytes().to_vec();
                    v.extend_from_slice(&self.linger.unwrap_or(0).to_ne_bytes());
                    Bytes(v)
                }
                15 => b(self.reuseport),
                16 => b(self.passcred),
                18 => Int(self.rcvlowat),
                19 => Int(1), // SO_SNDLOWAT
                20 | 66 => Bytes(timeval_bytes(self.rcvtimeo)),
                21 | 67 => Bytes(timeval_bytes(self.sndtimeo)),
                25 => Bytes(self.device.clone()),
                _ => return Err(UNKNOWN),
            },
            SOL_IP => match name {
                1 => OptVal::IpInt(self.tos),
                2 => OptVal::IpInt(if self.ttl < 0 { 64 } else { self.ttl }),
                8 => OptVal::IpInt(self.pktinfo as i32),
                10 => OptVal::IpInt(self.mtu_discover),
                11 => OptVal::IpInt(self.recverr as i32),
                13 => OptVal::IpInt(self.recvtos as i32),
                15 => OptVal::IpInt(self.freebind as i32),
                24 => OptVal::IpInt(self.bind_no_port as i32),
                _ => return Err(UNKNOWN),
            },
            SOL_IPV6 if family == Family::V6 => match name {
                16 => Int(if self.hops < 0 { 64 } else { self.hops }),
                23 => Int(self.mtu_discover6),
                25 => b(self.recverr6),
                26 => b(self.v6only),
                49 => b(self.recvpktinfo6),
                66 => b(self.recvtclass),
                67 => Int(self.tclass),
                _ => return Err(UNKNOWN),
            },
            SOL_TCP if tcp => match name {
                1 => b(self.nodelay),
                3 => b(self.cork),
                4 => Int(self.keepidle),
                5 => Int(self.keepintvl),
                6 => Int(self.keepcnt),
                7 => Int(self.syncnt),
                8 => Int(self.linger2),
                9 => Int(self.defer_accept),
                10 => Int(self.window_clamp),
                12 => b(self.quickack),
                13 => {
                    let mut v = self.congestion.as_bytes().to_vec();
                    v.resize(16, 0);
                    Bytes(v)
                }
                18 => Int(self.user_timeout),
                25 => Int(if self.notsent_lowat < 0 { -1 } else { self.notsent_lowat }),
                _ => return Err(UNKNOWN),
            },
            SOL_UDP if !tcp => match name {
                1 => b(self.udp_cork),
                _ => return Err(UNKNOWN),
            },
            _ => return Err(Errno::EOPNOTSUPP),
        })
    }

    /// setsockopt of a kept value; `privileged` is CAP_NET_ADMIN.
    pub fn set(&mut self, level: i32, name: i32, v: &[u8], tcp: bool, family: Family, privileged: bool) -> KResult<()> {
        match level {
            SOL_SOCKET => self.set_socket(name, v, privileged),
            SOL_IP => self.set_ip(name, v, tcp),
            SOL_IPV6 if family == Family::V6 => self.set_ipv6(name, v),
            SOL_TCP if tcp => self.set_tcp(name, v),
            SOL_UDP if !tcp => match name {
                1 => {
                    self.udp_cork = bool_of(v, false)?;
                    Ok(())
                }
                _ => Err(UNKNOWN),
            },
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn set_socket(&mut self, name: i32, v: &[u8], privileged: bool) -> KResult<()> {
        match name {
            13 => {
                if v.len() < 8 {
                    return Err(Errno::EINVAL);
                }
                let on = int_of(&v[..4], false)?;
                let secs = int_of(&v[4..8], false)?;
                self.linger = (on != 0).then_some(secs.max(0));
                return Ok(());
            }
            20 | 66 => {
                self.rcvtimeo = timeval(v)?;
                return Ok(());
            }
            21 | 67 => {
                self.sndtimeo = timeval(v)?;
                return Ok(());
            }
            25 => {
                let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
                let name = &v[..end];
                if !name.is_empty() && name != b"lo" {
                    return Err(Errno::ENODEV);
                }
                self.device = name.to_vec();
                return Ok(());
            }
            _ => {}
        }
        let x = int_of(v, false)?;
        let on = x != 0;
        match name {
            2 => self.reuseaddr = on,
            5 => self.dontroute = on,
            6 => self.broadcast = on,
            7 | 32 => {
                if name == 32 && !privileged {
                    return Err(Errno::EPERM);
                }
                let want = if name == 7 { (x as u32).min(SYSCTL_BUF_MAX) } else { x.max(0) as u32 };
                self.sndbuf = (want as usize * 2).max(MIN_SNDBUF);
                self.sndbuf_locked = true;
            }
            8 | 33 => {
                if name == 33 && !privileged {
                    return Err(Errno::EPERM);
                }
                let want = if name == 8 { (x as u32).min(SYSCTL_BUF_MAX) } else { x.max(0) as u32 };
                self.rcvbuf = (want as usize * 2).max(MIN_RCVBUF);
            }
            9 => self.keepalive = on,
            10 => self.oobinline = on,
            12 => {
                if !(0..=6).contains(&x) && !privileged {
                    return Err(Errno::EPERM);
                }
                self.priority = x;
            }
            15 => self.reuseport = on,
            16 => self.passcred = on,
            18 => self.rcvlowat = if x < 0 { i32::MAX } else { x.max(1) },
            _ => return Err(UNKNOWN),
        }
        Ok(())
    }

    fn set_ip(&mut self, name: i32, v: &[u8], tcp: bool) -> KResult<()> {
        let x = match name {
            1 | 2 | 8 | 10 | 11 | 13 | 15 | 24 => int_of(v, true)?,
            _ => return Err(UNKNOWN),
        };
        let on = x != 0;
        match name {
            1 => {
                // TCP keeps the ECN bits its own (Linux's ip_setsockopt).
                self.tos = if tcp { (x & !3) | (self.tos & 3) } else { x } & 0xff;
            }
            2 => self.ttl = if x == -1 { -1 } else { in_range(x, 1, 255)? },
            8 => self.pktinfo = on,
            10 => self.mtu_discover = in_range(x, 0, 5)?,
            11 => self.recverr = on,
            13 => self.recvtos = on,
            15 => self.freebind = on,
            _ => self.bind_no_port = on,
        }
        Ok(())
    }

    fn set_ipv6(&mut self, name: i32, v: &[u8]) -> KResult<()> {
        let x = match name {
            16 | 23 | 25 | 26 | 49 | 66 | 67 => int_of(v, false)?,
            _ => return Err(UNKNOWN),
        };
        let on = x != 0;
        match name {
            16 => self.hops = in_range(x, -1, 255)?,
            23 => self.mtu_discover6 = in_range(x, 0, 5)?,
            25 => self.recverr6 = on,
            26 => self.v6only = on,
            49 => self.recvpktinfo6 = on,
            66 => self.recvtclass = on,
            _ => self.tclass = if x == -1 { 0 } else { in_range(x, 0, 255)? },
        }
        Ok(())
    }

    fn set_tcp(&mut self, name: i32, v: &[u8]) -> KResult<()> {
        if name == 13 {
            // TCP_CONGESTION: a name; the sandbox has cubic and reno.
            let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
            self.congestion = match &v[..end] {
                b"cubic" => "cubic",
                b"reno" => "reno",
                _ => return Err(Errno::ENOENT),
            };
            return Ok(());
        }
        let x = int_of(v, false)?;
        let on = x != 0;
        match name {
            1 => self.nodelay = on,
            2 => self.user_mss = if x == 0 { 0 } else { in_range(x, 88, 32767)? },
            3 => self.cork = on,
            4 => self.keepidle = in_range(x, 1, 32767)?,
            5 => self.keepintvl = in_range(x, 1, 32767)?,
            6 => self.keepcnt = in_range(x, 1, 127)?,
            7 => self.syncnt = in_range(x, 1, 127)?,
            8 => self.linger2 = if x < 0 { -1 } else { x.min(120) },
            9 => self.defer_accept = x.max(0),
            10 => self.window_clamp = if x < 0 { return Err(Errno::EINVAL) } else { x },
            12 => self.quickack = on,
            18 => self.user_timeout = if x < 0 { return Err(Errno::EINVAL) } else { x },
            25 => self.notsent_lowat = x,
            _ => return Err(UNKNOWN),
        }
        Ok(())
    }
}
