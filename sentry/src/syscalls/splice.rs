//! Moving data between files without the application's memory: sendfile,
//! copy_file_range, splice and tee; and the sync family.

use std::sync::Arc;

use super::file::{get_file, write_bytes};
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::fs::pipe::Pipe;
use crate::kernel::task::Task;
use crate::vfs::{mode, oflags, File, Source};

/// Largest transfer of one call, as Linux's MAX_RW_COUNT.
const MAX_RW: u64 = 0x7fff_f000;
/// Bytes moved per round.
const CHUNK: usize = 64 * 1024;

fn pipe_of(f: &File) -> Option<&Pipe> {
    f.inode.as_any().downcast_ref::<Pipe>()
}

/// Where a transfer reads or writes: an explicit offset (the file position
/// untouched) or the file position.
#[derive(Clone, Copy)]
enum At {
    Offset(u64),
    Position,
}

/// Move up to `len` bytes from `src` to `dst`. After the first round it
/// stops rather than wait, so that what moved is reported. Returns the
/// bytes moved (a source read at its file position is advanced by them).
fn transfer(t: &Task, src: &File, src_at: At, dst: &File, dst_at: At, len: u64, nonblock: bool) -> KResult<u64> {
    let len = len.min(MAX_RW);
    let seekable = src.ops.seekable();
    let mut rpos = match src_at {
        At::Offset(o) => o,
        At::Position if seekable => *src.offset.lock().unwrap_or_else(|e| e.into_inner()),
        At::Position => 0,
    };
    let mut wpos = match dst_at {
        At::Offset(o) => Some(o),
        At::Position => None,
    };
    let mut buf = vec![0u8; CHUNK.min(len as usize)];
    let mut total = 0u64;
    while total < len {
        let want = ((len - total) as usize).min(buf.len());
        let n = match src.ops.read(t, &mut buf[..want], rpos, nonblock || total > 0) {
            Ok(n) => n,
            Err(e) if total > 0 && (e == Errno::EAGAIN || e == Errno::ERESTARTSYS) => break,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        // A failed write ends the transfer; the source's position moves
        // only by what was written (it is set once, below).
        let w = match write_bytes(t, dst, Source::Kernel(&buf[..n]), wpos) {
            Ok(w) => w as usize,
            Err(_) if total > 0 => break,
            Err(e) => return Err(e),
        };
        total += w as u64;
        rpos += w as u64;
        if let Some(p) = wpos.as_mut() {
            *p += w as u64;
        }
        if w < n {
            break;
        }
    }
    if matches!(src_at, At::Position) && seekable {
        *src.offset.lock().unwrap_or_else(|e| e.into_inner()) = rpos;
    }
    Ok(total)
}

/// Read an optional loff_t offset argument: None for a NULL pointer.
fn offset_arg(t: &Task, addr: u64, negative: Errno) -> KResult<Option<u64>> {
    if addr == 0 {
        return Ok(None);
    }
    let o: i64 = t.mm().read_val(addr)?;
    if o < 0 {
        return Err(negative);
    }
    Ok(Some(o as u64))
}

fn at(o: Option<u64>) -> At {
    o.map_or(At::Position, At::Offset)
}

/// Implements sendfile(2).
pub fn sys_sendfile(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (out, inp) = (get_file(t, a[0])?, get_file(t, a[1])?);
    if !inp.readable() || !out.writable() {
        return Err(Errno::EBADF);
    }
    if out.flags() & oflags::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let off = offset_arg(t, a[2], Errno::EINVAL)?;
    if off.is_some() && !inp.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let n = transfer(t, &inp, at(off), &out, At::Position, a[3], out.nonblock())?;
    if let Some(o) = off {
        t.mm().write_val(a[2], &((o + n) as i64))?;
    }
    Ok(n)
}

/// Implements copy_file_range(2): between regular files.
pub fn sys_copy_file_range(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let (inp, out) = (get_file(t, a[0])?, get_file(t, a[2])?);
    if !inp.readable() || !out.writable() || out.flags() & oflags::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let (ki, ko) = (inp.inode.stat()?.kind(), out.inode.stat()?.kind());
    if ki == mode::S_IFDIR || ko == mode::S_IFDIR {
        return Err(Errno::EISDIR);
    }
    if ki != mode::S_IFREG || ko != mode::S_IFREG {
        return Err(Errno::EINVAL);
    }
    let off_in = offset_arg(t, a[1], Errno::EOVERFLOW)?;
    let off_out = offset_arg(t, a[3], Errno::EOVERFLOW)?;
    let len = a[4];
    let pos = |f: &Arc<File>, o: Option<u64>| o.unwrap_or_else(|| *f.offset.lock().unwrap_or_else(|e| e.into_inner()));
    let (pi, po) = (pos(&inp, off_in), pos(&out, off_out));
    if pi.checked_add(len).is_none() || po.checked_add(len).is_none() {
        return Err(Errno::EOVERFLOW);
    }
    // The same file: the ranges may not overlap.
    if Arc::ptr_eq(&inp.inode, &out.inode) && pi < po + len && po < pi + len {
        return Err(Errno::EINVAL);
    }
    let n = transfer(t, &inp, at(off_in), &out, at(off_out), len, false)?;
    if let Some(o) = off_in {
        t.mm().write_val(a[1], &((o + n) as i64))?;
    }
    if let Some(o) = off_out {
        t.mm().write_val(a[3], &((o + n) as i64))?;
    }
    Ok(n)
}

const SPLICE_F_NONBLOCK: u64 = 2;

/// Implements splice(2): one end a pipe.
pub fn sys_splice(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (inp, out) = (get_file(t, a[0])?, get_file(t, a[2])?);
    if !inp.readable() || !out.writable() {
        return Err(Errno::EBADF);
    }
    let (pin, pout) = (pipe_of(&inp).is_some(), pipe_of(&out).is_some());
    if !pin && !pout {
        return Err(Errno::EINVAL);
    }
    if (pin && a[1] != 0) || (pout && a[3] != 0) {
        return Err(Errno::ESPIPE);
    }
    if a[4] == 0 {
        return Ok(0);
    }
    let off_in = offset_arg(t, a[1], Errno::EINVAL)?;
    let off_out = offset_arg(t, a[3], Errno::EINVAL)?;
    if out.flags() & oflags::O_APPEND != 0 && off_out.is_some() {
        return Err(Errno::EINVAL);
    }
    let nonblock = a[5] & SPLICE_F_NONBLOCK != 0 || (pin && inp.nonblock());
    let n = transfer(t, &inp, at(off_in), &out, at(off_out), a[4], nonblock)?;
    if let Some(o) = off_in {
        t.mm().write_val(a[1], &((o + n) as i64))?;
    }
    if let Some(o) = off_out {
        t.mm().write_val(a[3], &((o + n) as i64))?;
    }
    Ok(n)
}

/// Implements tee(2): copy between two pipes without consuming.
pub fn sys_tee(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let (inp, out) = (get_file(t, a[0])?, get_file(t, a[1])?);
    if !inp.readable() || !out.writable() {
        return Err(Errno::EBADF);
    }
    let (Some(src), Some(_)) = (pipe_of(&inp), pipe_of(&out)) else { return Err(Errno::EINVAL) };
    if Arc::ptr_eq(&inp.inode, &out.inode) {
        return Err(Errno::EINVAL);
    }
    let len = a[2].min(MAX_RW) as usize;
    if len == 0 {
        return Ok(0);
    }
    let mut buf = vec![0u8; len.min(1 << 20)];
    let n = src.peek(t, &mut buf, a[3] & SPLICE_F_NONBLOCK != 0 || inp.nonblock())?;
    if n == 0 {
        return Ok(0);
    }
    write_bytes(t, &out, Source::Kernel(&buf[..n]), None)
}

/// Implements sync(2): the sandbox's files live in memory or are the
/// host's read-only lower files; there is nothing to write back.
pub fn sys_sync(_sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    Ok(0)
}

/// Implements syncfs(2), as sync on the fd's filesystem.
pub fn sys_syncfs(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    get_file(sc.task, a[0])?;
    Ok(0)
}

/// Implements sync_file_range(2).
pub fn sys_sync_file_range(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const VALID: u64 = 1 | 2 | 4;
    let f = get_file(sc.task, a[0])?;
    if a[3] & !VALID != 0 || (a[1] as i64) < 0 || (a[2] as i64) < 0 || (a[1] as i64).checked_add(a[2] as i64).is_none() {
        return Err(Errno::EINVAL);
    }
    let kind = f.inode.stat()?.kind();
    if kind != mode::S_IFREG && kind != mode::S_IFDIR && kind != mode::S_IFBLK && kind != mode::S_IFLNK {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}

/// Implements vmsplice(2): the application's iovecs into a pipe's write
/// end, or a pipe's read end into them: a writev or readv of the pipe, with
/// SPLICE_F_NONBLOCK as O_NONBLOCK for this call (pages are copied, so
/// SPLICE_F_GIFT changes nothing). EBADF for anything but a pipe.
pub fn sys_vmsplice(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const SPLICE_F_NONBLOCK: u64 = 2;
    const SPLICE_F_ALL: u64 = 0xf;
    let t = sc.task;
    let f = get_file(t, a[0])?;
    if a[3] & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if f.inode.as_any().downcast_ref::<Pipe>().is_none() || !(f.readable() || f.writable()) {
        return Err(Errno::EBADF);
    }
    let nb = f.nonblock() || a[3] & SPLICE_F_NONBLOCK != 0;
    let iovs = t.mm().read_iovecs(a[1], a[2])?;
    if f.writable() {
        let data = super::file::gather(t, &iovs)?;
        if data.is_empty() {
            return Ok(0);
        }
        return Ok(f.ops.write_from(t, Source::Kernel(&data), 0, nb)? as u64);
    }
    super::file::read_iovs(t, &f, iovs, None, nb)
}
