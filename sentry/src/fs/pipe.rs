//! Pipes.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::errno::{Errno, KResult};
use crate::kernel::signal::{sig, QueuedSignal};
use crate::kernel::task::Task;
use crate::kernel::wait::WaitQueue;
use crate::vfs::{self, mode, Attr, FileOps, Inode, POLLERR, POLLHUP, POLLIN, POLLOUT};

/// Default pipe capacity.
pub const PIPE_DEFAULT_SIZE: usize = 65536;
/// Largest capacity an unprivileged caller may set (/proc/sys/fs/pipe-max-size).
pub const PIPE_MAX_SIZE: usize = 1 << 20;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct State {
    buf: VecDeque<u8>,
    capacity: usize,
    readers: usize,
    writers: usize,
    /// Opens of each end ever made (a FIFO opener waits for the other
    /// side to have come, even if it has gone again).
    reader_opens: u64,
    writer_opens: u64,
    /// Someone polls the pipe (poll, select, epoll): every read and write
    /// then wakes, as Linux's pipe_poll_usage makes it, for edge-triggered
    /// epoll to see each new event.
    polled: bool,
}

/// A pipe: the inode both ends share.
pub struct Pipe {
    ino: u64,
    st: Mutex<State>,
    wq: WaitQueue,
}

impl Pipe {
    /// A new pipe with no ends open.
    pub fn new() -> Arc<Pipe> {
        Arc::new(Pipe {
            ino: vfs::next_ino(),
            st: Mutex::new(State {
                buf: VecDeque::new(),
                capacity: PIPE_DEFAULT_SIZE,
                readers: 0,
                writers: 0,
                reader_opens: 0,
                writer_opens: 0,
                polled: false,
            }),
            wq: WaitQueue::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Current capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }

    /// F_SETPIPE_SZ: round up to a power-of-two number of pages; EBUSY if
    /// the data held would not fit, EPERM past the limit unless privileged.
    pub fn set_capacity(&self, want: usize, privileged: bool) -> KResult<usize> {
        if want > 1 << 31 {
            return Err(Errno::EINVAL);
        }
        let size = want.max(PIPE_BUF).next_power_of_two();
        if size > PIPE_MAX_SIZE && !privileged {
            return Err(Errno::EPERM);
        }
        let mut st = self.lock();
        if size < st.buf.len() {
            return Err(Errno::EBUSY);
        }
        st.capacity = size;
        drop(st);
        self.wq.notify_all();
        Ok(size)
    }

    /// Open the read end.
    /// Copy up to `buf.len()` bytes without consuming them (tee), waiting
    /// for data as a read does; 0 once no writer is left.
    pub fn peek(&self, task: &Task, buf: &mut [u8], nonblock: bool) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        task.block_on(&self.wq, nonblock, None, || {
            let st = self.lock();
            if !st.buf.is_empty() {
                let n = buf.len().min(st.buf.len());
                let (a, b) = front(&st.buf, n);
                buf[..a.len()].copy_from_slice(a);
                buf[a.len()..n].copy_from_slice(b);
                Some(n)
            } else if st.writers == 0 {
                Some(0)
            } else {
                None
            }
        })
    }

    pub fn reader(self: &Arc<Self>) -> Arc<PipeEnd> {
        self.end(true, false)
    }

    fn end(self: &Arc<Self>, read: bool, write: bool) -> Arc<PipeEnd> {
        {
            let mut st = self.lock();
            if read {
                st.readers += 1;
                st.reader_opens += 1;
            }
            if write {
                st.writers += 1;
                st.writer_opens += 1;
            }
        }
        self.wq.notify_all();
        Arc::new(PipeEnd { pipe: self.clone(), read, write })
    }

    /// Open a FIFO with this pipe as its buffer, as Linux does: for
    /// reading, wait for a writer (not with O_NONBLOCK); for writing, wait
    /// for a reader (ENXIO with O_NONBLOCK); for both, at once.
    pub fn open_fifo(self: &Arc<Self>, task: &Task, read: bool, write: bool, nonblock: bool) -> KResult<Arc<PipeEnd>> {
        let end = self.end(read, write);
        if read && write {
            return Ok(end);
        }
        let (seen, other) = {
            let st = self.lock();
            if read { (st.writer_opens, st.writers) } else { (st.reader_opens, st.readers) }
        };
        if other > 0 {
            return Ok(end);
        }
        if nonblock {
            if write {
                end.on_close();
                return Err(Errno::ENXIO);
            }
            return Ok(end);
        }
        let r = task.block_on(&self.wq, false, None, || {
            let st = self.lock();
            let opens = if read { st.writer_opens } else { st.reader_opens };
            (opens != seen).then_some(())
        });
        match r {
            Ok(()) => Ok(end),
            Err(e) => {
                end.on_close();
                Err(e)
            }
        }
    }

    /// Open the write end.
    pub fn writer(self: &Arc<Self>) -> Arc<PipeEnd> {
        self.end(false, true)
    }
}

impl Inode for Pipe {
    fn stat(&self) -> KResult<Attr> {
        let t = crate::kernel::boot_time();
        Ok(Attr {
            ino: self.ino,
            dev: 0xc,
            mode: mode::S_IFIFO | 0o600,
            nlink: 1,
            blksize: 4096,
            atime: t,
            mtime: t,
            ctime: t,
            ..Attr::default()
        })
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Err(Errno::ENXIO)
    }
    /// Opened again through /proc/PID/fd/N (`/dev/stdin`): a new end of
    /// the same pipe. Unlike a FIFO's, it never waits for the other side
    /// (Linux's `fifo_open` waits only when the inode is not pipefs').
    fn open_task(self: Arc<Self>, _task: &crate::kernel::task::Task, flags: u32) -> KResult<Arc<dyn FileOps>> {
        let acc = flags & crate::vfs::oflags::O_ACCMODE;
        Ok(self.end(acc != crate::vfs::oflags::O_WRONLY, acc != crate::vfs::oflags::O_RDONLY))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Writable for poll: room for an atomic write (PIPE_BUF), as Linux's
/// pipe has a free page slot.
fn writable(st: &State) -> bool {
    st.capacity.saturating_sub(st.buf.len()) >= PIPE_BUF
}

/// After a read of `n` bytes: whether it made the pipe writable (the only
/// change a blocked writer or POLLOUT waiter waits for). As Linux's
/// pipe_read wakes writers only when it frees a slot, a read of a few bytes
/// from a full pipe wakes no one.
fn room_opened(st: &State, n: usize) -> bool {
    writable(st) && st.capacity.saturating_sub(st.buf.len() + n) < PIPE_BUF
}

/// The first `n` bytes of a pipe's buffer, as the (at most) two slices
/// they lie in.
fn front(buf: &VecDeque<u8>, n: usize) -> (&[u8], &[u8]) {
    let (a, b) = buf.as_slices();
    let from_a = n.min(a.len());
    (&a[..from_a], &b[..n - from_a])
}

/// One end of a pipe.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    read: bool,
    write: bool,
}

impl PipeEnd {
    /// Write `len` bytes, which `fill(dst, at)` copies into `dst` from
    /// offset `at` of the source, as pipe_write does: writes up to
    /// PIPE_BUF are atomic, larger ones go in as room opens; a fault
    /// after some bytes went in ends the write with their count.
    fn write_with(&self, task: &Task, len: usize, nonblock: bool, fill: impl Fn(&mut [u8], usize) -> KResult<()>) -> KResult<usize> {
        if !self.write {
            return Err(Errno::EBADF);
        }
        let p = &self.pipe;
        let mut done = 0;
        loop {
            let r = task.block_on(&p.wq, nonblock, None, || {
                let mut st = p.lock();
                if st.readers == 0 {
                    return Some(Err(Errno::EPIPE));
                }
                let room = st.capacity.saturating_sub(st.buf.len());
                let left = len - done;
                // Small writes are atomic: wait for room for all of them.
                if room == 0 || (left <= PIPE_BUF && room < left) {
                    return None;
                }
                let n = room.min(left);
                let was_empty = st.buf.is_empty();
                let st_polled = st.polled;
                let old = st.buf.len();
                st.buf.resize(old + n, 0);
                if let Err(e) = fill_tail(&mut st.buf, old, done, &fill) {
                    st.buf.truncate(old);
                    return Some(Err(e));
                }
                drop(st);
                // Readers wait only for an empty pipe (as Linux's
                // pipe_write wakes them only if it was empty).
                if was_empty || st_polled {
                    p.wq.notify_all();
                }
                Some(Ok(n))
            });
            match r {
                Ok(Ok(n)) => {
                    done += n;
                    if done == len {
                        return Ok(done);
                    }
                }
                Ok(Err(Errno::EPIPE)) => {
                    task.send_signal_thread(QueuedSignal { signo: sig::SIGPIPE, code: 0, ..Default::default() });
                    return Err(Errno::EPIPE);
                }
                Ok(Err(e)) | Err(e) => {
                    if done > 0 {
                        return Ok(done);
                    }
                    return Err(e);
                }
            }
        }
    }
}

impl PipeEnd {
    /// Read up to `len` bytes, waiting for data as pipe_read does: `take`
    /// copies out the first bytes of the buffer (the ring's two pieces, in
    /// order) under the pipe's lock (nothing takes a pipe's lock under the
    /// memory manager's), and they are consumed only if it succeeds; 0
    /// once no writer is left.
    fn read_with(&self, task: &Task, len: usize, nonblock: bool, mut take: impl FnMut(&[u8], &[u8]) -> KResult<()>) -> KResult<usize> {
        if len == 0 {
            return Ok(0);
        }
        let p = &self.pipe;
        task.block_on(&p.wq, nonblock, None, || {
            let mut st = p.lock();
            if !st.buf.is_empty() {
                let n = len.min(st.buf.len());
                let (a, b) = front(&st.buf, n);
                if let Err(e) = take(a, b) {
                    return Some(Err(e));
                }
                st.buf.drain(..n);
                let wake = room_opened(&st, n) || st.polled;
                drop(st);
                if wake {
                    p.wq.notify_all();
                }
                return Some(Ok(n));
            }
            if st.writers == 0 {
                return Some(Ok(0));
            }
            None
        })?
    }
}

/// Fill the buffer's bytes from `old` to its end with the source's from
/// `at` on (the tail may wrap around the ring).
fn fill_tail(buf: &mut VecDeque<u8>, old: usize, at: usize, fill: &impl Fn(&mut [u8], usize) -> KResult<()>) -> KResult<()> {
    let (a, b) = buf.as_mut_slices();
    if old >= a.len() {
        return fill(&mut b[old - a.len()..], at);
    }
    let first = a.len() - old;
    fill(&mut a[old..], at)?;
    fill(b, at + first)
}

impl FileOps for PipeEnd {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        if !self.read {
            return Err(Errno::EBADF);
        }
        self.read_with(task, buf.len(), nonblock, |a, b| {
            buf[..a.len()].copy_from_slice(a);
            buf[a.len()..a.len() + b.len()].copy_from_slice(b);
            Ok(())
        })
    }

    fn read_to(&self, task: &Task, addr: u64, len: usize, _off: u64, nonblock: bool) -> KResult<usize> {
        if !self.read {
            return Err(Errno::EBADF);
        }
        let mm = task.mm();
        mm.check_access(addr, len, true)?;
        // Straight from the pipe's buffer into the application's memory.
        self.read_with(task, len, nonblock, |a, b| mm.copy_out(addr, a).and_then(|()| mm.copy_out(addr + a.len() as u64, b)))
    }

    fn write(&self, task: &Task, buf: &[u8], _off: u64, nonblock: bool) -> KResult<usize> {
        self.write_with(task, buf.len(), nonblock, |dst, at| {
            dst.copy_from_slice(&buf[at..at + dst.len()]);
            Ok(())
        })
    }

    fn write_from(&self, task: &Task, src: vfs::Source<'_>, off: u64, nonblock: bool) -> KResult<usize> {
        match src {
            vfs::Source::Kernel(b) => self.write(task, b, off, nonblock),
            // Straight from the application's memory into the buffer.
            vfs::Source::User { addr, len } => {
                let mm = task.mm();
                self.write_with(task, len, nonblock, |dst, at| mm.copy_in(addr + at as u64, dst))
            }
        }
    }

    fn seekable(&self) -> bool {
        false
    }

    fn ioctl(&self, task: &Task, cmd: u64, arg: u64) -> KResult<u64> {
        if cmd == libc::FIONREAD {
            let n = self.pipe.lock().buf.len() as i32;
            task.mm().write_val(arg, &n)?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn readiness(&self) -> u32 {
        let mut st = self.pipe.lock();
        st.polled = true;
        let mut r = 0;
        if self.write {
            if st.readers == 0 {
                r |= POLLERR;
            }
            if writable(&st) {
                r |= POLLOUT;
            }
        }
        if self.read {
            if !st.buf.is_empty() {
                r |= POLLIN;
            }
            if st.writers == 0 {
                r |= POLLHUP;
            }
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.wq)
    }

    fn on_close(&self) {
        {
            let mut st = self.pipe.lock();
            if self.write {
                st.writers -= 1;
            }
            if self.read {
                st.readers -= 1;
            }
        }
        self.pipe.wq.notify_all();
    }
}
