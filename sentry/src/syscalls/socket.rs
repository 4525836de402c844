//! Socket syscalls: the checks every family shares, sockaddr and msghdr
//! handling, and dispatch by family: AF_UNIX in `socket_unix`, AF_INET
//! and AF_INET6 to [`crate::net::inet`].

use std::any::Any;
use std::sync::Arc;

use super::file::install;
use super::socket_unix as unix;
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::net::inet::addr::Family;
use crate::net::host::HostSocket;
use crate::net::inet::InetSocket;
use crate::net::msg::{MSG_DONTWAIT, MSG_TRUNC, MSG_WAITFORONE};
use crate::net::unix::UnixSocket;
use crate::vfs::oflags::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::vfs::File;

const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
/// Linux's NPROTO: families past it are EAFNOSUPPORT before anything else.
const NPROTO: u64 = 46;
/// Linux's SOCK_MAX.
const SOCK_MAX: u64 = 11;
/// Linux's IPPROTO_MAX.
const IPPROTO_MAX: u64 = 263;
const SOCK_NONBLOCK: u64 = O_NONBLOCK as u64;
const SOCK_CLOEXEC: u64 = O_CLOEXEC as u64;
pub(super) const SOL_SOCKET: i32 = 1;
/// sizeof(struct sockaddr_storage): the longest address a call copies in.
const SOCKADDR_MAX: u64 = 128;
/// The most bytes one call moves (larger requests are short counts).
const IO_MAX: usize = 1 << 20;

/// A socket of one of the families served.
enum Sock {
    Unix(Arc<UnixSocket>),
    Inet(Arc<InetSocket>),
    Host(Arc<HostSocket>),
}

/// The socket behind `fd` (ENOTSOCK for other files).
fn sock_of(t: &Task, fd: u64) -> KResult<(Arc<File>, Sock)> {
    let f = t.fds().get(fd as i32)?;
    let ops: Arc<dyn Any + Send + Sync> = f.ops.clone();
    let s = match ops.downcast::<UnixSocket>() {
        Ok(u) => Sock::Unix(u),
        Err(ops) => match ops.downcast::<InetSocket>() {
            Ok(i) => Sock::Inet(i),
            Err(ops) => match ops.downcast::<HostSocket>() {
                Ok(h) => Sock::Host(h),
                Err(_) => return Err(Errno::ENOTSOCK),
            },
        },
    };
    Ok((f, s))
}

/// A sockaddr from application memory (Linux's move_addr_to_kernel).
fn read_sockaddr(t: &Task, addr: u64, len: u64) -> KResult<Vec<u8>> {
    if len as i32 as i64 != len as i64 || (len as i32) < 0 || len > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; len as usize];
    t.mm().copy_in(addr, &mut b)?;
    Ok(b)
}

/// Write a sockaddr and its length (Linux's move_addr_to_user): as much
/// as the caller's length allows, and the full length after it.
fn put_addr(t: &Task, addr: u64, lenp: u64, sa: &[u8]) -> KResult<()> {
    let len: u32 = t.mm().read_val(lenp)?;
    if (len as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (len as usize).min(sa.len());
    if n > 0 {
        t.mm().copy_out(addr, &sa[..n])?;
    }
    t.mm().write_val(lenp, &(sa.len() as u32))
}

/// Implements socket(2): AF_UNIX, AF_INET and AF_INET6.
pub fn sys_socket(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (domain, ty, proto) = (a[0] as u32 as u64, a[1] as u32 as u64, a[2] as u32 as u64);
    if ty & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if domain >= NPROTO {
        return Err(Errno::EAFNOSUPPORT);
    }
    if ty & 0xf >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    let flags = O_RDWR | (ty as u32 & O_NONBLOCK);
    let cloexec = ty & SOCK_CLOEXEC != 0;
    let family = match domain {
        unix::AF_UNIX => return unix::create(sc.task, ty, proto, flags, cloexec),
        AF_INET => Family::V4,
        AF_INET6 => Family::V6,
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    if proto >= IPPROTO_MAX {
        return Err(Errno::EINVAL);
    }
    let tcp = match (ty & 0xf, proto) {
        (1, 0 | 6) => true,
        (2, 0 | 17) => false,
        // Ping sockets: no group may open them (ping_group_range "1 0").
        (2, 1 | 58) => return Err(Errno::EACCES),
        (1 | 2, _) => return Err(Errno::EPROTONOSUPPORT),
        // Raw sockets need CAP_NET_RAW, which the sandbox does not give.
        (3, _) => return Err(Errno::EPERM),
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    let t = sc.task;
    if t.kernel.opts.network_host {
        let s = HostSocket::new(domain as i32, (ty & 0xf) as i32, proto as i32)?;
        return install(t, crate::net::socket_file(t, s, flags), cloexec);
    }
    let s = InetSocket::new(t.kernel.net.clone(), family, tcp, t.creds().euid);
    install(t, crate::net::socket_file(t, s, flags), cloexec)
}

/// Implements bind(2).
pub fn sys_bind(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (_, s) = sock_of(sc.task, a[0])?;
    match s {
        Sock::Unix(u) => unix::bind(sc.task, &u, a[1], a[2])?,
        Sock::Inet(i) => i.bind(&read_sockaddr(sc.task, a[1], a[2])?)?,
        Sock::Host(h) => h.bind(&read_sockaddr(sc.task, a[1], a[2])?)?,
    }
    Ok(0)
}

/// Implements listen(2).
pub fn sys_listen(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (_, s) = sock_of(sc.task, a[0])?;
    match s {
        Sock::Unix(u) => u.listen(a[1] as i32)?,
        Sock::Inet(i) => i.listen(a[1] as i32)?,
        Sock::Host(h) => h.listen(a[1] as i32)?,
    }
    Ok(0)
}

fn do_accept(sc: &mut Sc<'_>, a: [u64; 6], flags: u64) -> KResult<u64> {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let t = sc.task;
    let (f, s) = sock_of(t, a[0])?;
    let fl = O_RDWR | (flags as u32 & O_NONBLOCK);
    // As Linux: the address goes out before the fd is installed; a bad
    // address loses the connection.
    let ops: Arc<dyn crate::vfs::FileOps> = match s {
        Sock::Unix(u) => {
            let n = u.accept(t, f.nonblock())?;
            if a[1] != 0 {
                put_addr(t, a[1], a[2], &unix::name_bytes(n.peer_name()))?;
            }
            n
        }
        Sock::Inet(i) => {
            let (n, peer) = i.accept(t, f.nonblock())?;
            if a[1] != 0 {
                put_addr(t, a[1], a[2], &peer)?;
            }
            n
        }
        Sock::Host(h) => {
            let (n, peer) = h.accept(t, f.nonblock())?;
            if a[1] != 0 {
                put_addr(t, a[1], a[2], &peer)?;
            }
            n
        }
    };
    install(t, crate::net::socket_file(t, ops, fl), flags & SOCK_CLOEXEC != 0)
}

/// Implements accept(2).
pub fn sys_accept(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    do_accept(sc, a, 0)
}

/// Implements accept4(2).
pub fn sys_accept4(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    do_accept(sc, a, a[3])
}

/// Implements connect(2).
pub fn sys_connect(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (f, s) = sock_of(sc.task, a[0])?;
    match s {
        Sock::Unix(u) => unix::connect(sc.task, &u, a[1], a[2], f.nonblock())?,
        Sock::Inet(i) => i.connect(sc.task, &read_sockaddr(sc.task, a[1], a[2])?, f.nonblock())?,
        Sock::Host(h) => h.connect(sc.task, &read_sockaddr(sc.task, a[1], a[2])?, f.nonblock())?,
    }
    Ok(0)
}

/// Implements getsockname(2).
pub fn sys_getsockname(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (_, s) = sock_of(sc.task, a[0])?;
    let name = match s {
        Sock::Unix(u) => unix::name_bytes(u.name()),
        Sock::Inet(i) => i.sockname(),
        Sock::Host(h) => h.sockname()?,
    };
    put_addr(sc.task, a[1], a[2], &name)?;
    Ok(0)
}

/// Implements getpeername(2).
pub fn sys_getpeername(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (_, s) = sock_of(sc.task, a[0])?;
    let name = match s {
        Sock::Unix(u) => unix::name_bytes(u.peer_name()),
        Sock::Inet(i) => i.peername()?,
        Sock::Host(h) => h.peername()?,
    };
    put_addr(sc.task, a[1], a[2], &name)?;
    Ok(0)
}

/// Implements socketpair(2).
pub fn sys_socketpair(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    unix::sys_socketpair(sc, a)
}

/// Implements sendto(2).
pub fn sys_sendto(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (f, s) = sock_of(t, a[0])?;
    let mut data = vec![0u8; (a[2] as usize).min(IO_MAX)];
    t.mm().copy_in(a[1], &mut data)?;
    match s {
        Sock::Unix(u) if a[4] != 0 => unix::send_to(t, &f, &u, data, a[3], a[4], a[5]),
        Sock::Unix(u) => unix::send(t, &f, &u, data, Vec::new(), None, a[3]),
        Sock::Inet(i) => {
            let to = if a[4] != 0 { Some(read_sockaddr(t, a[4], a[5])?) } else { None };
            Ok(i.send(t, data, to.as_deref(), a[3], f.nonblock())? as u64)
        }
        Sock::Host(h) => {
            let to = if a[4] != 0 { Some(read_sockaddr(t, a[4], a[5])?) } else { None };
            Ok(h.send(t, &data, to.as_deref(), a[3], f.nonblock())? as u64)
        }
    }
}

/// Implements recvfrom(2).
pub fn sys_recvfrom(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (f, s) = sock_of(t, a[0])?;
    let max = (a[2] as usize).min(IO_MAX);
    // A stream's MSG_TRUNC discards without touching the buffer.
    if a[3] & MSG_TRUNC == 0 && !matches!(s, Sock::Unix(_)) {
        t.mm().check_access(a[1], max, true)?;
    }
    let r = match s {
        Sock::Unix(u) => return unix::recv_from(t, &f, &u, a),
        Sock::Inet(i) => i.recv(t, max, a[3], f.nonblock())?,
        Sock::Host(h) => h.recv(t, max, a[3], f.nonblock())?,
    };
    t.mm().copy_out(a[1], &r.data)?;
    if a[4] != 0 {
        put_addr(t, a[4], a[5], r.from.as_deref().unwrap_or_default())?;
    }
    Ok(if a[3] & MSG_TRUNC != 0 { r.len } else { r.data.len() } as u64)
}

/// `struct msghdr`: name, namelen, iov, iovlen, control, controllen, flags.
fn read_msghdr(t: &Task, addr: u64) -> KResult<[u64; 7]> {
    t.mm().read_val(addr)
}

/// The bytes of a msghdr's iovecs.
fn gather(t: &Task, iov: u64, iovlen: u64) -> KResult<Vec<u8>> {
    let mut data = Vec::new();
    for v in t.mm().read_iovecs(iov, iovlen)? {
        let n = (v.len as usize).min(IO_MAX.saturating_sub(data.len()));
        let at = data.len();
        data.resize(at + n, 0);
        t.mm().copy_in(v.base, &mut data[at..])?;
    }
    Ok(data)
}

/// Control messages of an internet socket: well formed, and none of
/// SOL_SOCKET's (SCM_RIGHTS is AF_UNIX's); IP-level ones are accepted and
/// have no effect.
fn check_inet_control(t: &Task, control: u64, controllen: u64) -> KResult<()> {
    let mut off = 0u64;
    while off + 16 <= controllen {
        let hdr: [u64; 2] = t.mm().read_val(control + off)?;
        let (len, level) = (hdr[0], hdr[1] as u32 as i32);
        if len < 16 || off + len > controllen || level == SOL_SOCKET {
            return Err(Errno::EINVAL);
        }
        off += (len + 7) & !7;
    }
    Ok(())
}

/// Implements sendmsg(2).
pub fn sys_sendmsg(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (f, s) = sock_of(t, a[0])?;
    let h = read_msghdr(t, a[1])?;
    let (name, namelen, control, controllen) = (h[0], h[1] as u32 as u64, h[4], h[5]);
    let data = gather(t, h[2], h[3])?;
    match s {
        Sock::Unix(u) => {
            let (files, creds) = unix::parse_control(t, control, controllen)?;
            unix::send(t, &f, &u, data, files, creds, a[2])
        }
        Sock::Inet(i) => {
            check_inet_control(t, control, controllen)?;
            let to = if name != 0 && namelen != 0 { Some(read_sockaddr(t, name, namelen.min(SOCKADDR_MAX))?) } else { None };
            Ok(i.send(t, data, to.as_deref(), a[2], f.nonblock())? as u64)
        }
        Sock::Host(h) => {
            check_inet_control(t, control, controllen)?;
            let to = if name != 0 && namelen != 0 { Some(read_sockaddr(t, name, namelen.min(SOCKADDR_MAX))?) } else { None };
            Ok(h.send(t, &data, to.as_deref(), a[2], f.nonblock())? as u64)
        }
    }
}

/// Implements recvmsg(2).
pub fn sys_recvmsg(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (f, s) = sock_of(t, a[0])?;
    let flags = a[2];
    let h = read_msghdr(t, a[1])?;
    if let Sock::Unix(u) = &s {
        return unix::recvmsg(t, &f, u, a[1], h, flags);
    }
    let iovs = t.mm().read_iovecs(h[2], h[3])?;
    let room = crate::net::check_iovecs(t, &iovs)?;
    let r = match s {
        Sock::Inet(i) => i.recv(t, room.min(IO_MAX), flags, f.nonblock())?,
        Sock::Host(hs) => hs.recv(t, room.min(IO_MAX), flags, f.nonblock())?,
        Sock::Unix(_) => return Err(Errno::ENOTSOCK),
    };
    crate::net::scatter(t, &iovs, &r.data)?;
    if h[0] != 0 {
        // msg_name and msg_namelen.
        let from = r.from.as_deref().unwrap_or_default();
        let n = (h[1] as u32 as usize).min(from.len());
        if n > 0 {
            t.mm().copy_out(h[0], &from[..n])?;
        }
        t.mm().write_val(a[1] + 8, &(from.len() as u32))?;
    }
    let out_flags: u32 = if r.len > r.data.len() && r.from.is_some() { MSG_TRUNC as u32 } else { 0 };
    t.mm().write_val(a[1] + 40, &0u64)?;
    t.mm().write_val(a[1] + 48, &out_flags)?;
    Ok(if flags & MSG_TRUNC != 0 { r.len } else { r.data.len() } as u64)
}

/// sizeof(struct mmsghdr): a msghdr and the count of its message.
const MMSGHDR: u64 = 64;
/// The most messages one call takes (UIO_MAXIOV).
const MMSG_MAX: u64 = 1024;

/// Implements sendmmsg(2): sendmsg per message until one fails; the
/// count sent, or the first message's error.
pub fn sys_sendmmsg(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    sock_of(sc.task, a[0])?;
    let n = a[2].min(MMSG_MAX);
    let mut done = 0;
    while done < n {
        let h = a[1] + done * MMSGHDR;
        match sys_sendmsg(sc, [a[0], h, a[3], 0, 0, 0]) {
            Ok(len) => sc.task.mm().write_val(h + 56, &(len as u32))?,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        done += 1;
    }
    Ok(done)
}

/// Implements recvmmsg(2): recvmsg per message; with MSG_WAITFORONE only
/// the first waits; the timeout is looked at after each message, as
/// Linux does.
pub fn sys_recvmmsg(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    sock_of(sc.task, a[0])?;
    let deadline = if a[4] != 0 { Some(std::time::Instant::now() + super::time::read_timespec(sc.task, a[4])?) } else { None };
    let n = a[2].min(MMSG_MAX);
    let mut flags = a[3] & !MSG_WAITFORONE;
    let mut done = 0;
    while done < n {
        let h = a[1] + done * MMSGHDR;
        match sys_recvmsg(sc, [a[0], h, flags, 0, 0, 0]) {
            Ok(len) => sc.task.mm().write_val(h + 56, &(len as u32))?,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        done += 1;
        if a[3] & MSG_WAITFORONE != 0 {
            flags |= MSG_DONTWAIT;
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            break;
        }
    }
    Ok(done)
}

/// Implements shutdown(2).
pub fn sys_shutdown(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (_, s) = sock_of(sc.task, a[0])?;
    match s {
        Sock::Unix(u) => u.shutdown(a[1])?,
        Sock::Inet(i) => i.shutdown(a[1])?,
        Sock::Host(h) => h.shutdown(a[1])?,
    }
    Ok(0)
}

/// Implements getsockopt(2).
pub fn sys_getsockopt(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (_, s) = sock_of(t, a[0])?;
    let level = a[1] as i32;
    // The length is read first: a bad one costs nothing (SO_ERROR stays).
    let len: u32 = t.mm().read_val(a[4])?;
    if (len as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let val = match s {
        Sock::Unix(u) => unix::getsockopt(&u, level, a[2])?,
        Sock::Inet(i) => i.getsockopt(level, a[2] as i32)?,
        Sock::Host(h) => h.getsockopt(level, a[2] as i32, len as usize)?,
    };
    let out = val.encode(len as usize);
    t.mm().copy_out(a[3], &out)?;
    t.mm().write_val(a[4], &(out.len() as u32))?;
    Ok(0)
}

/// Implements setsockopt(2).
pub fn sys_setsockopt(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (_, s) = sock_of(t, a[0])?;
    let optlen = a[4] as i32;
    if optlen < 0 {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![0u8; (optlen as usize).min(4096)];
    t.mm().copy_in(a[3], &mut v)?;
    match s {
        Sock::Unix(u) => unix::setsockopt(&u, a[1] as i32, a[2], &v)?,
        Sock::Inet(i) => i.setsockopt(t, a[1] as i32, a[2] as i32, &v)?,
        Sock::Host(h) => h.setsockopt(a[1] as i32, a[2] as i32, &v)?,
    }
    Ok(0)
}
