//! Socket syscalls (AF_UNIX socket pairs so far).

use std::sync::Arc;

use super::file::install;
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::fs::anon::AnonInode;
use crate::kernel::task::Task;
use crate::net::unix::{Kind, Message, UnixSocket};
use crate::vfs::oflags::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::vfs::File;

const AF_UNIX: u64 = 1;
const SOCK_NONBLOCK: u64 = O_NONBLOCK as u64;
const SOCK_CLOEXEC: u64 = O_CLOEXEC as u64;
const MSG_PEEK: u64 = 2;
const MSG_CTRUNC: u32 = 8;
const MSG_TRUNC: u64 = 0x20;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_NOSIGNAL: u64 = 0x4000;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;
const SOL_SOCKET: i32 = 1;
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;
/// Files one message may carry (Linux's SCM_MAX_FD).
const SCM_MAX_FD: usize = 253;

fn kind_of(t: u64) -> KResult<Kind> {
    match t & 0xf {
        1 => Ok(Kind::Stream),
        2 | 3 => Ok(Kind::Dgram), // AF_UNIX treats SOCK_RAW as SOCK_DGRAM
        5 => Ok(Kind::SeqPacket),
        0 | 11.. => Err(Errno::EINVAL),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

fn sock_flags(ty: u64) -> KResult<(Kind, u32, bool)> {
    if ty & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((kind_of(ty)?, O_RDWR | (ty as u32 & O_NONBLOCK), ty & SOCK_CLOEXEC != 0))
}

fn creds_of(t: &Task) -> (i32, u32, u32) {
    let c = t.creds();
    (t.tg.tgid, c.uid, c.gid)
}

fn socket_file_for(s: Arc<UnixSocket>, flags: u32) -> Arc<File> {
    File::new(s, AnonInode::new(), b"socket:[unix]".to_vec(), flags)
}

/// Implements socket(2) for AF_UNIX; other families are not served yet.
pub fn sys_socket(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (kind, fl, cloexec) = sock_flags(a[1])?;
    if a[0] != AF_UNIX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if a[2] != 0 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    install(sc.task, socket_file_for(UnixSocket::new(kind, creds_of(sc.task)), fl), cloexec)
}

/// A sockaddr_un as a bound-name key: "\0name" for abstract names, the
/// path otherwise (resolved by the caller).
enum Addr {
    Abstract(Vec<u8>),
    Path(Vec<u8>),
}

fn read_addr(t: &Task, addr: u64, len: u64) -> KResult<Addr> {
    if len < 2 || len > 110 {
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

/// Implements bind(2): a path creates a socket node (EADDRINUSE if the
/// name exists); an abstract name is only in the table.
pub fn sys_bind(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    // As in Linux, a path's node is made (EADDRINUSE if it exists) before
    // an already bound socket is refused.
    let bound = sock(&f).name().is_some();
    let key = match read_addr(sc.task, a[1], a[2])? {
        Addr::Abstract(n) => n,
        Addr::Path(p) => {
            let parent = super::file::parent_at(sc.task, -100, &p)?;
            let umask = sc.task.umask();
            let c = sc.task.creds();
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
    unix_arc(&f)?.bind(key)?;
    Ok(0)
}

/// The Arc of the socket behind a file (bind and connect need it).
fn unix_arc(f: &Arc<File>) -> KResult<Arc<UnixSocket>> {
    let ops: Arc<dyn std::any::Any + Send + Sync> = f.ops.clone();
    ops.downcast::<UnixSocket>().map_err(|_| Errno::ENOTSOCK)
}

/// Implements listen(2).
pub fn sys_listen(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    sock(&f).listen(a[1] as i32)?;
    Ok(0)
}

fn do_accept(sc: &mut Sc<'_>, a: [u64; 6], flags: u64) -> KResult<u64> {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = socket_file(sc.task, a[0])?;
    let s = sock(&f).accept(sc.task, f.nonblock())?;
    if a[1] != 0 && a[2] != 0 {
        write_name(sc.task, a[1], a[2], s.peer_name())?;
    }
    let fl = O_RDWR | (flags as u32 & O_NONBLOCK);
    install(sc.task, socket_file_for(s, fl), flags & SOCK_CLOEXEC != 0)
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
    let f = socket_file(sc.task, a[0])?;
    let key = resolve_addr(sc.task, read_addr(sc.task, a[1], a[2])?)?;
    unix_arc(&f)?.connect(sc.task, &key, f.nonblock())?;
    Ok(0)
}

/// Write a sockaddr_un for `name` (unnamed: the family only) and its length.
fn write_name(t: &Task, addr: u64, lenp: u64, name: Option<Vec<u8>>) -> KResult<()> {
    let len: u32 = t.mm().read_val(lenp)?;
    if (len as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let mut sa = (AF_UNIX as u16).to_ne_bytes().to_vec();
    if let Some(n) = name {
        sa.extend_from_slice(&n);
        if n.first() != Some(&0) {
            sa.push(0);
        }
    }
    let n = (len as usize).min(sa.len());
    t.mm().copy_out(addr, &sa[..n])?;
    let full = if sa.len() > 2 && sa[2] != 0 { sa.len() } else { sa.len() };
    t.mm().write_val(lenp, &(full as u32))?;
    Ok(())
}

/// Implements socketpair(2) for AF_UNIX.
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
    let c = t.creds();
    let (x, y) = UnixSocket::pair(kind, (t.tg.tgid, c.uid, c.gid));
    let fl = O_RDWR | (ty as u32 & O_NONBLOCK);
    let cloexec = ty & SOCK_CLOEXEC != 0;
    let fx = install(t, File::new(x, AnonInode::new(), b"socket:[unix]".to_vec(), fl), cloexec)?;
    let fy = match install(t, File::new(y, AnonInode::new(), b"socket:[unix]".to_vec(), fl), cloexec) {
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

fn socket_file(t: &Task, fd: u64) -> KResult<Arc<File>> {
    let f = t.fds().get(fd as i32)?;
    if f.ops.as_unix().is_none() {
        return Err(Errno::ENOTSOCK);
    }
    Ok(f)
}

fn sock(f: &File) -> &UnixSocket {
    f.ops.as_unix().expect("checked by socket_file")
}

fn do_send(t: &Task, f: &File, data: Vec<u8>, files: Vec<Arc<File>>, flags: u64) -> KResult<u64> {
    let creds = (t.tg.tgid, t.creds().uid, t.creds().gid);
    let nonblock = f.nonblock() || flags & MSG_DONTWAIT != 0;
    Ok(sock(f).send(t, Message { data, files, creds }, nonblock, flags & MSG_NOSIGNAL != 0)? as u64)
}

/// Implements sendto(2) (connected sockets: the address must be NULL).
pub fn sys_sendto(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    let mut data = vec![0u8; (a[2] as usize).min(1 << 20)];
    sc.task.mm().copy_in(a[1], &mut data)?;
    if a[4] != 0 {
        let s = sock(&f);
        if s.kind != Kind::Dgram {
            return Err(Errno::EISCONN);
        }
        let key = resolve_addr(sc.task, read_addr(sc.task, a[4], a[5])?)?;
        let creds = creds_of(sc.task);
        let nonblock = f.nonblock() || a[3] & MSG_DONTWAIT != 0;
        return Ok(s.send_to(sc.task, &key, Message { data, files: Vec::new(), creds }, nonblock)? as u64);
    }
    do_send(sc.task, &f, data, Vec::new(), a[3])
}

/// Implements recvfrom(2).
pub fn sys_recvfrom(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    let flags = a[3];
    let nonblock = f.nonblock() || flags & MSG_DONTWAIT != 0;
    let (data, _files, _, full) = sock(&f).recv(sc.task, (a[2] as usize).min(1 << 20), nonblock, flags & MSG_PEEK != 0)?;
    sc.task.mm().copy_out(a[1], &data)?;
    if a[4] != 0 && a[5] != 0 {
        // An unnamed peer: only the family.
        let len: u32 = sc.task.mm().read_val(a[5])?;
        if len >= 2 {
            sc.task.mm().write_val(a[4], &(AF_UNIX as u16))?;
        }
        sc.task.mm().write_val(a[5], &2u32)?;
    }
    Ok(if flags & MSG_TRUNC != 0 { full } else { data.len() } as u64)
}

/// `struct msghdr` fields: (iov, iovlen, control, controllen).
fn read_msghdr(t: &Task, addr: u64) -> KResult<[u64; 7]> {
    t.mm().read_val(addr)
}

/// Implements sendmsg(2), with SCM_RIGHTS.
pub fn sys_sendmsg(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    let t = sc.task;
    let h = read_msghdr(t, a[1])?;
    let (iov, iovlen, control, controllen) = (h[2], h[3], h[4], h[5]);
    let mut data = Vec::new();
    for v in t.mm().read_iovecs(iov, iovlen)? {
        let mut b = vec![0u8; v.len as usize];
        t.mm().copy_in(v.base, &mut b)?;
        data.extend_from_slice(&b);
    }
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
    match claimed {
        Some(creds) => {
            let nonblock = f.nonblock() || a[2] & MSG_DONTWAIT != 0;
            Ok(sock(&f).send(t, Message { data, files, creds }, nonblock, a[2] & MSG_NOSIGNAL != 0)? as u64)
        }
        None => do_send(t, &f, data, files, a[2]),
    }
}

/// Implements recvmsg(2), with SCM_RIGHTS.
pub fn sys_recvmsg(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    let t = sc.task;
    let flags = a[2];
    let h = read_msghdr(t, a[1])?;
    let (iov, iovlen, control, controllen) = (h[2], h[3], h[4], h[5]);
    let iovs = t.mm().read_iovecs(iov, iovlen)?;
    let want: usize = iovs.iter().map(|v| v.len as usize).sum::<usize>().min(1 << 20);
    let nonblock = f.nonblock() || flags & MSG_DONTWAIT != 0;
    let (data, files, creds, full) = sock(&f).recv(t, want, nonblock, flags & MSG_PEEK != 0)?;
    let mut at = 0;
    for v in &iovs {
        if at >= data.len() {
            break;
        }
        let n = (v.len as usize).min(data.len() - at);
        t.mm().copy_out(v.base, &data[at..at + n])?;
        at += n;
    }
    let mut out_flags = 0u32;
    if full > data.len() {
        out_flags |= MSG_TRUNC as u32;
    }
    let mut clen = 0u64;
    // SO_PASSCRED: the sender's credentials come first, as in Linux.
    if sock(&f).passcred.load(std::sync::atomic::Ordering::Relaxed) {
        if controllen >= 28 {
            let hdr: [u64; 2] = [28, (SOL_SOCKET as u32 as u64) | ((SCM_CREDENTIALS as u32 as u64) << 32)];
            t.mm().write_val(control, &hdr)?;
            t.mm().write_val(control + 16, &[creds.0 as u32, creds.1, creds.2])?;
            clen = 32;
        } else {
            out_flags |= MSG_CTRUNC;
        }
    }
    if !files.is_empty() {
        let room = if controllen >= clen + 16 { ((controllen - clen - 16) / 4) as usize } else { 0 };
        let cloexec = flags & MSG_CMSG_CLOEXEC != 0;
        let mut fds = Vec::new();
        for (i, file) in files.into_iter().enumerate() {
            if i >= room {
                out_flags |= MSG_CTRUNC;
                break;
            }
            match install(t, file, cloexec) {
                Ok(fd) => fds.push(fd as i32),
                Err(_) => {
                    out_flags |= MSG_CTRUNC;
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
    t.mm().write_val(a[1] + 40, &clen)?;
    t.mm().write_val(a[1] + 48, &out_flags)?;
    Ok(if flags & MSG_TRUNC != 0 { full } else { data.len() } as u64)
}

/// Implements shutdown(2).
pub fn sys_shutdown(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    sock(&f).shutdown(a[1])?;
    Ok(0)
}

/// Implements getsockopt(2): SO_TYPE, SO_ERROR, SO_PEERCRED, SO_DOMAIN,
/// SO_ACCEPTCONN, SO_SNDBUF and SO_RCVBUF at SOL_SOCKET.
pub fn sys_getsockopt(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    let s = sock(&f);
    if a[1] as i32 != SOL_SOCKET {
        // AF_UNIX has no options of its own.
        return Err(Errno::EOPNOTSUPP);
    }
    let t = sc.task;
    let len: u32 = t.mm().read_val(a[4])?;
    let val: Vec<u8> = match a[2] {
        3 => (s.kind as i32).to_ne_bytes().to_vec(), // SO_TYPE
        4 => 0i32.to_ne_bytes().to_vec(),            // SO_ERROR
        30 => (s.is_listening() as i32).to_ne_bytes().to_vec(), // SO_ACCEPTCONN
        39 => (AF_UNIX as i32).to_ne_bytes().to_vec(), // SO_DOMAIN
        7 | 8 => 212_992i32.to_ne_bytes().to_vec(),  // SO_SNDBUF, SO_RCVBUF
        16 => (s.passcred.load(std::sync::atomic::Ordering::Relaxed) as i32).to_ne_bytes().to_vec(), // SO_PASSCRED
        17 => {
            // SO_PEERCRED: struct ucred { pid, uid, gid }
            let (pid, uid, gid) = s.peer_creds();
            let mut v = pid.to_ne_bytes().to_vec();
            v.extend_from_slice(&uid.to_ne_bytes());
            v.extend_from_slice(&gid.to_ne_bytes());
            v
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    let n = (len as usize).min(val.len());
    t.mm().copy_out(a[3], &val[..n])?;
    t.mm().write_val(a[4], &(n as u32))?;
    Ok(0)
}

/// Implements setsockopt(2): buffer sizes and SO_PASSCRED are accepted
/// (buffers keep their fixed size), others ENOPROTOOPT.
pub fn sys_setsockopt(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    if a[1] as i32 != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    if a[4] < 4 {
        return Err(Errno::EINVAL);
    }
    let v = sc.task.mm().read_val::<i32>(a[3])?;
    match a[2] {
        16 => {
            // SO_PASSCRED
            sock(&f).passcred.store(v != 0, std::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        7 | 8 | 32 | 33 => Ok(0),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// Implements getsockname(2).
pub fn sys_getsockname(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    write_name(sc.task, a[1], a[2], sock(&f).name())?;
    Ok(0)
}

/// Implements getpeername(2).
pub fn sys_getpeername(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let f = socket_file(sc.task, a[0])?;
    write_name(sc.task, a[1], a[2], sock(&f).peer_name())?;
    Ok(0)
}
