//! The AF_UNIX side of the socket syscalls: sockaddr_un names (paths
//! become socket nodes in the filesystem, abstract names live only in the
//! table), SCM_RIGHTS and SCM_CREDENTIALS, and the family's options.

use std::sync::Arc;

use super::file::install;
use super::socket::SOL_SOCKET;
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::net::unix::{Kind, Message, UnixSocket};
use crate::net::msg::{MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_PEEK, MSG_TRUNC};
use crate::net::OptVal;
use crate::vfs::oflags::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::vfs::File;

/// AF_UNIX.
pub const AF_UNIX: u64 = 1;
const SOCK_NONBLOCK: u64 = O_NONBLOCK as u64;
const SOCK_CLOEXEC: u64 = O_CLOEXEC as u64;
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;
/// Files one message may carry (Linux's SCM_MAX_FD).
const SCM_MAX_FD: usize = 253;

/// The socket type of the low bits of socket(2)'s type.
pub(super) fn kind_of(t: u64) -> KResult<Kind> {
    match t & 0xf {
        1 => Ok(Kind::Stream),
        2 | 3 => Ok(Kind::Dgram), // AF_UNIX treats SOCK_RAW as SOCK_DGRAM
        5 => Ok(Kind::SeqPacket),
        0 | 11.. => Err(Errno::EINVAL),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

pub(super) fn creds_of(t: &Task) -> (i32, u32, u32) {
    let c = t.creds();
    (t.tg.tgid, c.uid, c.gid)
}

/// socket(2) for AF_UNIX.
pub(super) fn create(t: &Task, ty: u64, proto: u64, flags: u32, cloexec: bool) -> KResult<u64> {
    let kind = kind_of(ty)?;
    if proto != 0 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    install(t, crate::net::socket_file(t, UnixSocket::new(kind, creds_of(t)), flags), cloexec)
}

/// A sockaddr_un as a bound-name key: "\0name" for abstract names, the
/// path otherwise (resolved by the caller).
enum Addr {
    Abstract(Vec<u8>),
    Path(Vec<u8>),
}

fn read_addr(t: &Task, addr: u64, len: u64) -> KResult<Addr> {
    if !(2..=110).contains(&len) {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; len as usize];
    t.mm().copy_in(addr, &mut b)?;
    if u16::from_ne_bytes([b[0], b[1]]) as u64 != AF_UNIX {
        return Err(Errno::EINVAL);
    }
    let path = &b[2..];
    if path.is_empty() {
        return Err(Errno::EINVAL);
    }
    if path[0] == 0 {
        return Ok(Addr::Abstract(path.to_vec()));
    }
    let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
    Ok(Addr::Path(path[..end].to_vec()))
}

/// The bound-name key of an address for connect/sendto: a path must name
/// a socket node.
fn resolve_addr(t: &Task, a: Addr) -> KResult<Vec<u8>> {
    match a {
        Addr::Abstract(n) => Ok(n),
        Addr::Path(p) => {
            let loc = super::file::resolve_at(t, -100, &p, crate::vfs::path::Follow::Yes)?;
            if loc.inode().stat()?.kind() != crate::vfs::mode::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            Ok(loc.path())
        }
    }
}

/// bind(2): a path creates a socket node (EADDRINUSE if the name
/// exists); an abstract name is only in the table.
pub(super) fn bind(t: &Task, s: &Arc<UnixSocket>, addr: u64, len: u64) -> KResult<()> {
    // As in Linux, a path's node is made (EADDRINUSE if it exists) before
    // an already bound socket is refused.
    let bound = s.name().is_some();
    let key = match read_addr(t, addr, len)? {
        Addr::Abstract(n) => n,
        Addr::Path(p) => {
            let parent = super::file::parent_at(t, -100, &p)?;
            let umask = t.umask();
            let c = t.creds();
            parent
                .dir
                .inode()
                .mknod(&parent.name, crate::vfs::mode::S_IFSOCK | (0o777 & !umask), 0, c.euid, c.egid)
                .map_err(|e| if e == Errno::EEXIST { Errno::EADDRINUSE } else { e })?;
            let mut loc = parent.dir.path();
            if loc.len() > 1 {
                loc.push(b'/');
            }
            loc.extend_from_slice(&parent.name);
            if bound {
                let _ = parent.dir.inode().unlink(&parent.name, false);
                return Err(Errno::EINVAL);
            }
            loc
        }
    };
    s.bind(key)
}

/// connect(2).
pub(super) fn connect(t: &Task, s: &Arc<UnixSocket>, addr: u64, len: u64, nonblock: bool) -> KResult<()> {
    let key = resolve_addr(t, read_addr(t, addr, len)?)?;
    s.connect(t, &key, nonblock)
}

/// The sockaddr_un of a name (unnamed: the family only).
pub(super) fn name_bytes(name: Option<Vec<u8>>) -> Vec<u8> {
    let mut sa = (AF_UNIX as u16).to_ne_bytes().to_vec();
    if let Some(n) = name {
        sa.extend_from_slice(&n);
        if n.first() != Some(&0) {
            sa.push(0);
        }
    }
    sa
}

/// Send on a connected socket.
pub(super) fn send(t: &Task, f: &File, s: &UnixSocket, data: Vec<u8>, files: Vec<Arc<File>>, creds: Option<(i32, u32, u32)>, flags: u64) -> KResult<u64> {
    let creds = creds.unwrap_or_else(|| creds_of(t));
    let nonblock = f.nonblock() || flags & MSG_DONTWAIT != 0;
    Ok(s.send(t, Message { data, files, creds }, nonblock, flags & MSG_NOSIGNAL != 0)? as u64)
}

/// sendto(2) with an address (datagram sockets; connected ones EISCONN).
pub(super) fn send_to(t: &Task, f: &File, s: &UnixSocket, data: Vec<u8>, flags: u64, addr: u64, len: u64) -> KResult<u64> {
    if s.kind != Kind::Dgram {
        return Err(Errno::EISCONN);
    }
    let key = resolve_addr(t, read_addr(t, addr, len)?)?;
    let nonblock = f.nonblock() || flags & MSG_DONTWAIT != 0;
    Ok(s.send_to(t, &key, Message { data, files: Vec::new(), creds: creds_of(t) }, nonblock)? as u64)
}

/// recvfrom(2): the peer is unnamed, so only the family is reported.
pub(super) fn recv_from(t: &Task, f: &File, s: &UnixSocket, a: [u64; 6]) -> KResult<u64> {
    let flags = a[3];
    let nonblock = f.nonblock() || flags & MSG_DONTWAIT != 0;
    let (data, _files, _, full) = s.recv(t, (a[2] as usize).min(1 << 20), nonblock, flags & MSG_PEEK != 0)?;
    t.mm().copy_out(a[1], &data)?;
    if a[4] != 0 && a[5] != 0 {
        let len: u32 = t.mm().read_val(a[5])?;
        if len >= 2 {
            t.mm().write_val(a[4], &(AF_UNIX as u16))?;
        }
        t.mm().write_val(a[5], &2u32)?;
    }
    Ok(if flags & MSG_TRUNC != 0 { full } else { data.len() } as u64)
}

/// The control messages of sendmsg(2): files (SCM_RIGHTS) and claimed
/// credentials (SCM_CREDENTIALS, others' only when privileged).
pub(super) fn parse_control(t: &Task, control: u64, controllen: u64) -> KResult<(Vec<Arc<File>>, Option<(i32, u32, u32)>)> {
    let mut files = Vec::new();
    let mut claimed = None;
    let mut off = 0u64;
    while off + 16 <= controllen {
        let hdr: [u64; 2] = t.mm().read_val(control + off)?;
        let (len, level, ty) = (hdr[0], hdr[1] as u32 as i32, (hdr[1] >> 32) as i32);
        if len < 16 || off + len > controllen {
            return Err(Errno::EINVAL);
        }
        if level == SOL_SOCKET && ty == SCM_RIGHTS {
            let n = ((len - 16) / 4) as usize;
            if files.len() + n > SCM_MAX_FD {
                return Err(Errno::EINVAL);
            }
            let fds: Vec<i32> = t.mm().read_vec(control + off + 16, n)?;
            for fd in fds {
                files.push(t.fds().get(fd)?);
            }
        } else if level == SOL_SOCKET && ty == SCM_CREDENTIALS {
            if len < 28 {
                return Err(Errno::EINVAL);
            }
            let c: [u32; 3] = t.mm().read_val(control + off + 16)?;
            let mine = t.creds();
            // Only a privileged sender may claim other credentials.
            if mine.euid != 0 && (c[0] as i32 != t.tg.tgid || (c[1] != mine.uid && c[1] != mine.euid) || (c[2] != mine.gid && c[2] != mine.egid)) {
                return Err(Errno::EPERM);
            }
            claimed = Some((c[0] as i32, c[1], c[2]));
        } else {
            return Err(Errno::EINVAL);
        }
        off += (len + 7) & !7;
    }
    Ok((files, claimed))
}

/// recvmsg(2), with SCM_RIGHTS and SCM_CREDENTIALS. `h` is the msghdr.
pub(super) fn recvmsg(t: &Task, f: &File, s: &UnixSocket, msghdr: u64, h: [u64; 7], flags: u64) -> KResult<u64> {
    let (iov, iovlen, control, controllen) = (h[2], h[3], h[4], h[5]);
    let iovs = t.mm().read_iovecs(iov, iovlen)?;
    let want: usize = iovs.iter().map(|v| v.len as usize).sum::<usize>().min(1 << 20);
    let nonblock = f.nonblock() || flags & MSG_DONTWAIT != 0;
    let (data, files, creds, full) = s.recv(t, want, nonblock, flags & MSG_PEEK != 0)?;
    crate::net::scatter(t, &iovs, &data)?;
    let mut out_flags = 0u32;
    if full > data.len() {
        out_flags |= MSG_TRUNC as u32;
    }
    let mut clen = 0u64;
    // SO_PASSCRED: the sender's credentials come first, as in Linux.
    if s.passcred.load(std::sync::atomic::Ordering::Relaxed) {
        if controllen >= 28 {
            let hdr: [u64; 2] = [28, (SOL_SOCKET as u32 as u64) | ((SCM_CREDENTIALS as u32 as u64) << 32)];
            t.mm().write_val(control, &hdr)?;
            t.mm().write_val(control + 16, &[creds.0 as u32, creds.1, creds.2])?;
            clen = 32;
        } else {
            out_flags |= MSG_CTRUNC as u32;
        }
    }
    if !files.is_empty() {
        let room = if controllen >= clen + 16 { ((controllen - clen - 16) / 4) as usize } else { 0 };
        let cloexec = flags & MSG_CMSG_CLOEXEC != 0;
        let mut fds = Vec::new();
        for (i, file) in files.into_iter().enumerate() {
            if i >= room {
                out_flags |= MSG_CTRUNC as u32;
                break;
            }
            match install(t, file, cloexec) {
                Ok(fd) => fds.push(fd as i32),
                Err(_) => {
                    out_flags |= MSG_CTRUNC as u32;
                    break;
                }
            }
        }
        if !fds.is_empty() {
            let len = 16 + 4 * fds.len() as u64;
            let hdr: [u64; 2] = [len, (SOL_SOCKET as u32 as u64) | ((SCM_RIGHTS as u32 as u64) << 32)];
            t.mm().write_val(control + clen, &hdr)?;
            t.mm().copy_out(control + clen + 16, bytemuck::cast_slice(&fds))?;
            clen += (len + 7) & !7;
        }
    }
    // msg_controllen and msg_flags.
    t.mm().write_val(msghdr + 40, &clen)?;
    t.mm().write_val(msghdr + 48, &out_flags)?;
    Ok(if flags & MSG_TRUNC != 0 { full } else { data.len() } as u64)
}

/// getsockopt(2) at SOL_SOCKET: SO_TYPE, SO_ERROR, SO_PEERCRED, SO_DOMAIN,
/// SO_ACCEPTCONN, SO_PASSCRED, SO_SNDBUF and SO_RCVBUF.
pub(super) fn getsockopt(s: &UnixSocket, level: i32, name: u64) -> KResult<OptVal> {
    if level != SOL_SOCKET {
        // AF_UNIX has no options of its own.
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(match name {
        3 => OptVal::Int(s.kind as i32),                 // SO_TYPE
        4 => OptVal::Int(0),                             // SO_ERROR
        30 => OptVal::Int(s.is_listening() as i32),      // SO_ACCEPTCONN
        39 => OptVal::Int(AF_UNIX as i32),               // SO_DOMAIN
        38 => OptVal::Int(0),                            // SO_PROTOCOL
        7 | 8 => OptVal::Int(212_992),                   // SO_SNDBUF, SO_RCVBUF
        16 => OptVal::Int(s.passcred.load(std::sync::atomic::Ordering::Relaxed) as i32), // SO_PASSCRED
        17 => {
            // SO_PEERCRED: struct ucred { pid, uid, gid }
            let (pid, uid, gid) = s.peer_creds();
            let mut v = pid.to_ne_bytes().to_vec();
            v.extend_from_slice(&uid.to_ne_bytes());
            v.extend_from_slice(&gid.to_ne_bytes());
            OptVal::Bytes(v)
        }
        _ => return Err(Errno::ENOPROTOOPT),
    })
}

/// setsockopt(2): buffer sizes and SO_PASSCRED are accepted (buffers
/// keep their fixed size), others ENOPROTOOPT.
pub(super) fn setsockopt(s: &UnixSocket, level: i32, name: u64, v: &[u8]) -> KResult<()> {
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    if v.len() < 4 {
        return Err(Errno::EINVAL);
    }
    let x = i32::from_ne_bytes([v[0], v[1], v[2], v[3]]);
    match name {
        16 => {
            // SO_PASSCRED
            s.passcred.store(x != 0, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
        7 | 8 | 32 | 33 => Ok(()),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// Implements socketpair(2) for AF_UNIX (other families EOPNOTSUPP).
pub fn sys_socketpair(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (domain, ty, proto, sv) = (a[0], a[1], a[2], a[3]);
    if ty & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if domain != AF_UNIX {
        return Err(Errno::EOPNOTSUPP);
    }
    let kind = kind_of(ty)?;
    if proto != 0 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let t = sc.task;
    let (x, y) = UnixSocket::pair(kind, creds_of(t));
    let fl = O_RDWR | (ty as u32 & O_NONBLOCK);
    let cloexec = ty & SOCK_CLOEXEC != 0;
    let fx = install(t, crate::net::socket_file(t, x, fl), cloexec)?;
    let fy = match install(t, crate::net::socket_file(t, y, fl), cloexec) {
        Ok(f) => f,
        Err(e) => {
            let _ = t.fds().remove(fx as i32);
            return Err(e);
        }
    };
    if let Err(e) = t.mm().write_val(sv, &[fx as i32, fy as i32]) {
        let _ = t.fds().remove(fx as i32);
        let _ = t.fds().remove(fy as i32);
        return Err(e);
    }
    Ok(0)
}
