//! Pseudo-terminals: /dev/ptmx makes a master and a replica (/dev/pts/N in
//! the devpts directory). What the master writes is the replica's input,
//! through the line discipline; what the replica writes is processed and
//! read from the master. Closing the master hangs the replica up; closing
//! every replica makes master reads fail with EIO.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::ldisc::Ldisc;
use super::termios::{cc, Termios, TERMIO_SIZE, TERMIOS2_SIZE, TERMIOS_SIZE};
use super::{check_change, ctl_ioctl, ioctls::*, kill_pgrp, Terminal, TtyCtl};
use crate::errno::{Errno, KResult};
use crate::kernel::signal::sig;
use crate::kernel::task::Task;
use crate::kernel::wait::WaitQueue;
use crate::kernel::Kernel;
use crate::vfs::{self, mode, oflags, Attr, DirEntry, DirFile, File, FileOps, Inode, POLLERR, POLLHUP, POLLIN, POLLOUT};

/// Major number of pty replicas (UNIX98_PTY_SLAVE_MAJOR).
const PTS_MAJOR: u64 = 136;
/// Device number of the devpts filesystem in stat.
const DEVPTS_DEV: u64 = 0x17;
/// Group that owns replicas (tty), as Docker's devpts mount sets it.
const TTY_GID: u32 = 5;
/// POLLPRI.
const POLLPRI: u32 = 2;
/// TIOCPKT status bits.
const TIOCPKT_FLUSHREAD: u8 = 1;
const TIOCPKT_FLUSHWRITE: u8 = 2;

struct PtyState {
    ld: Ldisc,
    winsize: [u8; 8],
    /// TIOCSPTLCK: the replica cannot be opened.
    locked: bool,
    /// The master is open; once closed the replica is hung up.
    master_open: bool,
    /// Open replica descriptions.
    replicas: usize,
    /// Every replica that was opened has been closed.
    other_closed: bool,
    /// TIOCPKT on the master, and status bits not yet read.
    packet: bool,
    pkt_status: u8,
    /// TIOCEXCL on the replica.
    exclusive: bool,
}

/// One pseudo-terminal pair.
pub struct Pty {
    index: u32,
    st: Mutex<PtyState>,
    wq: WaitQueue,
    ctl: TtyCtl,
    kernel: Weak<Kernel>,
    devpts: Weak<Devpts>,
    node: Arc<PtsNode>,
}

impl Pty {
    fn lock(&self) -> MutexGuard<'_, PtyState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn signal_fg(&self, sigs: &[i32]) {
        if sigs.is_empty() {
            return;
        }
        let Some(k) = self.kernel.upgrade() else { return };
        let (_, fg) = self.ctl.get();
        for &s in sigs {
            kill_pgrp(&k, fg, s);
        }
    }

    fn open_replica(self: &Arc<Self>, task: Option<&Task>) -> KResult<Arc<Replica>> {
        let mut st = self.lock();
        if !st.master_open || st.locked {
            return Err(Errno::EIO);
        }
        if st.exclusive && task.is_some_and(|t| t.creds().euid != 0) {
            return Err(Errno::EBUSY);
        }
        st.replicas += 1;
        st.other_closed = false;
        drop(st);
        self.wq.notify_all();
        Ok(Arc::new(Replica { pty: self.clone() }))
    }

    fn as_terminal(self: &Arc<Self>) -> Arc<dyn Terminal> {
        self.clone()
    }

    /// ioctls on either end. `master`: through the master.
    fn ioctl(self: &Arc<Self>, task: &Task, master: bool, cmd: u64, arg: u64) -> KResult<u64> {
        let term = self.as_terminal();
        if let Some(r) = ctl_ioctl(task, &term, master, cmd, arg) {
            return r;
        }
        let mm = task.mm();
        let int_arg = || -> KResult<i32> { mm.read_val::<i32>(arg) };
        match cmd {
            TCGETS | TCGETS2 | TCGETA => {
                let t = self.lock().ld.t;
                let b = match cmd {
                    TCGETA => t.to_termio(),
                    _ => t.to_bytes(cmd == TCGETS2),
                };
                mm.copy_out(arg, &b)?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF | TCSETS2 | TCSETSW2 | TCSETSF2 | TCSETA | TCSETAW | TCSETAF => {
                check_change(task, &term, sig::SIGTTOU)?;
                let size = match cmd {
                    TCSETA | TCSETAW | TCSETAF => TERMIO_SIZE,
                    TCSETS2 | TCSETSW2 | TCSETSF2 => TERMIOS2_SIZE,
                    _ => TERMIOS_SIZE,
                };
                let mut b = vec![0u8; size];
                mm.copy_in(arg, &mut b)?;
                let mut st = self.lock();
                let t = match cmd {
                    TCSETA | TCSETAW | TCSETAF => {
                        let mut t = st.ld.t;
                        t.set_termio(&b);
                        t
                    }
                    _ => Termios::from_bytes(&b, size == TERMIOS2_SIZE),
                };
                if matches!(cmd, TCSETSF | TCSETSF2 | TCSETAF) {
                    st.ld.flush_input();
                }
                st.ld.set_termios(t);
                let sigs = st.ld.process_pending();
                drop(st);
                self.wq.notify_all();
                self.signal_fg(&sigs);
                Ok(0)
            }
            TIOCGWINSZ => {
                let w = self.lock().winsize;
                mm.copy_out(arg, &w)?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let mut w = [0u8; 8];
                mm.copy_in(arg, &mut w)?;
                let changed = {
                    let mut st = self.lock();
                    let c = st.winsize != w;
                    st.winsize = w;
                    c
                };
                if changed {
                    self.signal_fg(&[sig::SIGWINCH]);
                }
                Ok(0)
            }
            FIONREAD => {
                let st = self.lock();
                let n = if master { st.ld.out.len() } else { st.ld.readable() };
                mm.write_val(arg, &(n as i32))?;
                Ok(0)
            }
            TIOCOUTQ => {
                // A pty has no driver output buffer (Linux reports 0).
                mm.write_val(arg, &0i32)?;
                Ok(0)
            }
            TCFLSH => {
                check_change(task, &term, sig::SIGTTOU)?;
                let how = arg;
                if how > 2 {
                    return Err(Errno::EINVAL);
                }
                let mut st = self.lock();
                // Through the master, "input" is the replica's output.
                let (flush_in, flush_out) = (how == 0 || how == 2, how == 1 || how == 2);
                let (replica_in, replica_out) = if master { (flush_out, flush_in) } else { (flush_in, flush_out) };
                if replica_in {
                    st.ld.flush_input();
                    if st.packet {
                        st.pkt_status |= TIOCPKT_FLUSHWRITE;
                    }
                }
                if replica_out {
                    st.ld.out.clear();
                    if st.packet {
                        st.pkt_status |= TIOCPKT_FLUSHREAD;
                    }
                }
                drop(st);
                self.wq.notify_all();
                Ok(0)
            }
            TCXONC => {
                check_change(task, &term, sig::SIGTTOU)?;
                match arg {
                    0 => self.lock().ld.stopped = true,
                    1 => self.lock().ld.stopped = false,
                    2 | 3 => {}
                    _ => return Err(Errno::EINVAL),
                }
                self.wq.notify_all();
                Ok(0)
            }
            TCSBRK | TCSBRKP | TIOCSBRK | TIOCCBRK => {
                check_change(task, &term, sig::SIGTTOU)?;
                Ok(0)
            }
            TIOCEXCL | TIOCNXCL => {
                self.lock().exclusive = cmd == TIOCEXCL;
                Ok(0)
            }
            TIOCGEXCL => {
                let v = self.lock().exclusive as i32;
                mm.write_val(arg, &v)?;
                Ok(0)
            }
            TIOCGETD => {
                mm.write_val(arg, &0i32)?;
                Ok(0)
            }
            TIOCSETD => match int_arg()? {
                0 => Ok(0),
                _ => Err(Errno::EINVAL),
            },
            TIOCGDEV => {
                let minor = u64::from(self.index);
                let dev = (minor & 0xff) | (PTS_MAJOR << 8) | ((minor & !0xff) << 12);
                mm.write_val(arg, &(dev as u32))?;
                Ok(0)
            }
            TIOCSTI => {
                let admin = task.capable(21);
                let is_ctty = super::ctty_of(&task.tg).is_some_and(|c| super::same(&c, &term));
                if (master || !is_ctty) && !admin {
                    return Err(Errno::EPERM);
                }
                let c: u8 = mm.read_val(arg)?;
                let (_, sigs) = self.lock().ld.write_input(&[c]);
                self.wq.notify_all();
                self.signal_fg(&sigs);
                Ok(0)
            }
            TIOCGPTN | TIOCSPTLCK | TIOCGPTLCK | TIOCPKT | TIOCGPKT | TIOCGPTPEER if master => {
                self.master_ioctl(task, cmd, arg)
            }
            // Linux's tty_ioctl answers this on any tty end, and a replica
            // is not a master.
            TIOCGPTPEER => Err(Errno::EIO),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn master_ioctl(self: &Arc<Self>, task: &Task, cmd: u64, arg: u64) -> KResult<u64> {
        let mm = task.mm();
        match cmd {
            TIOCGPTN => mm.write_val(arg, &self.index).map(|_| 0),
            TIOCSPTLCK => {
                let v: i32 = mm.read_val(arg)?;
                self.lock().locked = v != 0;
                Ok(0)
            }
            TIOCGPTLCK => {
                let v = self.lock().locked as i32;
                mm.write_val(arg, &v).map(|_| 0)
            }
            TIOCPKT => {
                let v: i32 = mm.read_val(arg)?;
                let mut st = self.lock();
                st.packet = v != 0;
                st.pkt_status = 0;
                Ok(0)
            }
            TIOCGPKT => {
                let v = self.lock().packet as i32;
                mm.write_val(arg, &v).map(|_| 0)
            }
            TIOCGPTPEER => {
                let flags = arg as u32;
                let allowed = oflags::O_ACCMODE | oflags::O_NOCTTY | oflags::O_NONBLOCK | oflags::O_CLOEXEC;
                if flags & !allowed != 0 {
                    return Err(Errno::EINVAL);
                }
                let ops = self.open_replica(Some(task))?;
                let term = self.as_terminal();
                let f = File::new(ops, self.node.clone(), self.node.path(), flags | oflags::O_LARGEFILE);
                let readable = f.readable();
                let fd = crate::syscalls::file::install(task, f, flags & oflags::O_CLOEXEC != 0)?;
                if flags & oflags::O_NOCTTY == 0 {
                    super::open_maybe_acquire(task, &term, readable);
                }
                Ok(fd)
            }
            _ => Err(Errno::ENOTTY),
        }
    }
}

impl Terminal for Pty {
    fn ctl(&self) -> &TtyCtl {
        &self.ctl
    }
    fn reopen(self: Arc<Self>, task: &Task, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Ok(self.open_replica(Some(task))?)
    }
    fn tostop(&self) -> bool {
        self.lock().ld.t.l(super::termios::lflag::TOSTOP)
    }
    fn rdev(&self) -> u64 {
        self.node.stat().map(|a| a.rdev).unwrap_or(0)
    }
}

/// The master side, as an open file.
pub struct Master {
    pty: Arc<Pty>,
}

impl Master {
    /// The pty index.
    pub fn index(&self) -> u32 {
        self.pty.index
    }
}

impl FileOps for Master {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let pty = &self.pty;
        let r = task.block_on(&pty.wq, nonblock, None, || {
            let mut st = pty.lock();
            if st.packet && st.pkt_status != 0 {
                buf[0] = st.pkt_status;
                st.pkt_status = 0;
                return Some(Ok(1));
            }
            if !st.ld.out.is_empty() {
                let skip = usize::from(st.packet);
                let n = (buf.len() - skip).min(st.ld.out.len());
                if skip == 1 {
                    buf[0] = 0;
                }
                for (d, s) in buf[skip..].iter_mut().zip(st.ld.out.drain(..n)) {
                    *d = s;
                }
                return Some(Ok(n + skip));
            }
            if st.other_closed {
                return Some(Err(Errno::EIO));
            }
            None
        })?;
        pty.wq.notify_all();
        r
    }

    fn write(&self, task: &Task, buf: &[u8], _off: u64, nonblock: bool) -> KResult<usize> {
        let pty = &self.pty;
        let mut done = 0;
        while done < buf.len() {
            let r = task.block_on(&pty.wq, nonblock, None, || {
                let mut st = pty.lock();
                if st.ld.input_room() == 0 {
                    return None;
                }
                Some(st.ld.write_input(&buf[done..]))
            });
            match r {
                Ok((n, sigs)) => {
                    done += n;
                    pty.wq.notify_all();
                    pty.signal_fg(&sigs);
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn ioctl(&self, task: &Task, cmd: u64, arg: u64) -> KResult<u64> {
        self.pty.ioctl(task, true, cmd, arg)
    }

    fn readiness(&self) -> u32 {
        let st = self.pty.lock();
        let mut r = 0;
        if !st.ld.out.is_empty() {
            r |= POLLIN;
        }
        if st.packet && st.pkt_status != 0 {
            r |= POLLIN | POLLPRI;
        }
        if st.ld.input_room() > 0 {
            r |= POLLOUT;
        }
        if st.other_closed {
            r |= POLLHUP;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.wq)
    }

    fn on_close(&self) {
        let pty = &self.pty;
        {
            let mut st = pty.lock();
            st.master_open = false;
            st.ld.flush_input();
            st.ld.out.clear();
        }
        pty.wq.notify_all();
        if let Some(k) = pty.kernel.upgrade() {
            super::hangup(&k, &pty.ctl);
        }
        if let Some(d) = pty.devpts.upgrade() {
            d.ptys.lock().unwrap_or_else(|e| e.into_inner()).remove(&pty.index);
        }
    }
}

/// The replica side, as an open file.
pub struct Replica {
    pty: Arc<Pty>,
}

impl Replica {
    fn hung_up(&self) -> bool {
        !self.pty.lock().master_open
    }

    fn read_canonical(&self, task: &Task, buf: &mut [u8], nonblock: bool) -> KResult<usize> {
        let pty = &self.pty;
        task.block_on(&pty.wq, nonblock, None, || {
            let mut st = pty.lock();
            if !st.master_open {
                return Some(0);
            }
            if st.ld.read_ready(1) {
                return Some(st.ld.read(buf));
            }
            None
        })
    }

    /// Non-canonical read with Linux's VMIN/VTIME rules.
    fn read_raw(&self, task: &Task, buf: &mut [u8], nonblock: bool) -> KResult<usize> {
        let pty = &self.pty;
        let (min, time) = {
            let st = pty.lock();
            (usize::from(st.ld.t.cc[cc::VMIN]), u64::from(st.ld.t.cc[cc::VTIME]))
        };
        let tenths = Duration::from_millis(100 * time);
        // VMIN 0: return whatever is there, waiting at most VTIME for it.
        let (target, mut deadline) = if min == 0 {
            (1, if time == 0 { Some(Instant::now()) } else { Some(Instant::now() + tenths) })
        } else {
            (min.min(buf.len()), None)
        };
        let mut got = 0;
        loop {
            let r = task.block_on(&pty.wq, nonblock && got == 0, deadline, || {
                let mut st = pty.lock();
                if !st.master_open {
                    return Some(0);
                }
                if st.ld.read_ready(1) {
                    return Some(st.ld.read(&mut buf[got..]));
                }
                None
            });
            match r {
                Ok(0) => return Ok(got),
                Ok(n) => {
                    got += n;
                    if got >= target || got == buf.len() {
                        return Ok(got);
                    }
                    if min > 0 && time > 0 {
                        deadline = Some(Instant::now() + tenths);
                    }
                }
                Err(Errno::ETIMEDOUT) => return Ok(got),
                Err(Errno::EAGAIN) if got > 0 => return Ok(got),
                Err(e) if got == 0 => return Err(e),
                Err(_) => return Ok(got),
            }
            if nonblock {
                return Ok(got);
            }
        }
    }
}

impl FileOps for Replica {
    fn read(&self, task: &Task, buf: &mut [u8], _off: u64, nonblock: bool) -> KResult<usize> {
        let term = self.pty.as_terminal();
        check_change(task, &term, sig::SIGTTIN)?;
        if self.hung_up() || buf.is_empty() {
            return Ok(0);
        }
        let canon = self.pty.lock().ld.t.canon();
        let n = if canon { self.read_canonical(task, buf, nonblock)? } else { self.read_raw(task, buf, nonblock)? };
        // Room freed: take in input the writer left pending.
        let sigs = self.pty.lock().ld.process_pending();
        self.pty.wq.notify_all();
        self.pty.signal_fg(&sigs);
        Ok(n)
    }

    fn write(&self, task: &Task, buf: &[u8], _off: u64, nonblock: bool) -> KResult<usize> {
        if self.hung_up() {
            return Err(Errno::EIO);
        }
        let term = self.pty.as_terminal();
        if term.tostop() {
            check_change(task, &term, sig::SIGTTOU)?;
        }
        let pty = &self.pty;
        let mut done = 0;
        while done < buf.len() {
            let r = task.block_on(&pty.wq, nonblock, None, || {
                let mut st = pty.lock();
                if !st.master_open {
                    return Some(Err(Errno::EIO));
                }
                if st.ld.output_room() == 0 || st.ld.stopped {
                    return None;
                }
                Some(Ok(st.ld.write_output(&buf[done..])))
            });
            match r {
                Ok(Ok(n)) => {
                    done += n;
                    pty.wq.notify_all();
                }
                Ok(Err(e)) | Err(e) if done == 0 => return Err(e),
                _ => break,
            }
        }
        Ok(done)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn ioctl(&self, task: &Task, cmd: u64, arg: u64) -> KResult<u64> {
        if self.hung_up() {
            return Err(if cmd == TIOCSPGRP { Errno::ENOTTY } else { Errno::EIO });
        }
        self.pty.ioctl(task, false, cmd, arg)
    }

    fn readiness(&self) -> u32 {
        let st = self.pty.lock();
        if !st.master_open {
            return POLLIN | POLLOUT | POLLERR | POLLHUP;
        }
        let t = st.ld.t;
        let min = if !t.canon() && t.cc[cc::VTIME] == 0 && t.cc[cc::VMIN] > 0 { usize::from(t.cc[cc::VMIN]) } else { 1 };
        let mut r = 0;
        if st.ld.read_ready(min) {
            r |= POLLIN;
        }
        if st.ld.output_room() > 0 && !st.ld.stopped {
            r |= POLLOUT;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.wq)
    }

    fn as_tty(&self) -> Option<Arc<dyn Terminal>> {
        Some(self.pty.as_terminal())
    }

    fn on_close(&self) {
        {
            let mut st = self.pty.lock();
            st.replicas = st.replicas.saturating_sub(1);
            if st.replicas == 0 {
                st.other_closed = true;
            }
        }
        self.pty.wq.notify_all();
    }
}

/// The devpts instance: live pairs by index.
pub struct Devpts {
    ptys: Mutex<BTreeMap<u32, Weak<Pty>>>,
    ino: u64,
    ptmx: Arc<Ptmx>,
}

impl Devpts {
    /// A new, empty instance.
    pub fn new() -> Arc<Devpts> {
        Arc::new_cyclic(|me| Devpts {
            ptys: Mutex::new(BTreeMap::new()),
            ino: vfs::next_ino(),
            ptmx: Arc::new(Ptmx { ino: vfs::next_ino(), devpts: me.clone(), mode: 0o666 }),
        })
    }

    /// /dev/ptmx.
    pub fn ptmx(&self) -> Arc<Ptmx> {
        self.ptmx.clone()
    }

    fn live(&self) -> Vec<Arc<Pty>> {
        self.ptys.lock().unwrap_or_else(|e| e.into_inner()).values().filter_map(Weak::upgrade).collect()
    }

    fn get(&self, index: u32) -> Option<Arc<Pty>> {
        self.ptys.lock().unwrap_or_else(|e| e.into_inner()).get(&index).and_then(Weak::upgrade)
    }

    /// A new pair with the lowest free index.
    fn alloc(self: &Arc<Self>, task: &Task) -> Arc<Pty> {
        let mut map = self.ptys.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, w| w.strong_count() > 0);
        let index = (0u32..).find(|i| !map.contains_key(i)).unwrap_or(0);
        let c = task.creds();
        let pty = Arc::new_cyclic(|me: &Weak<Pty>| Pty {
            index,
            st: Mutex::new(PtyState {
                ld: Ldisc::new(Termios::default()),
                winsize: [0; 8],
                locked: true,
                master_open: true,
                replicas: 0,
                other_closed: false,
                packet: false,
                pkt_status: 0,
                exclusive: false,
            }),
            wq: WaitQueue::default(),
            ctl: TtyCtl::default(),
            kernel: Arc::downgrade(&task.kernel),
            devpts: Arc::downgrade(self),
            node: Arc::new(PtsNode {
                pty: me.clone(),
                index,
                uid: c.euid,
                time: vfs::now(),
            }),
        });
        map.insert(index, Arc::downgrade(&pty));
        pty
    }
}

/// The /dev/pts directory.
pub struct PtsDir(pub Arc<Devpts>);

impl Inode for PtsDir {
    fn stat(&self) -> KResult<Attr> {
        let t = crate::kernel::boot_time();
        Ok(Attr {
            ino: self.0.ino,
            dev: DEVPTS_DEV,
            mode: mode::S_IFDIR | 0o755,
            nlink: 2,
            blksize: 1024,
            atime: t,
            mtime: t,
            ctime: t,
            ..Attr::default()
        })
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        Ok(Arc::new(DirFile))
    }
    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        if name == b"ptmx" {
            return Ok(self.0.ptmx());
        }
        let s = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        if s.is_empty() || (s.len() > 1 && s.starts_with('0')) {
            return Err(Errno::ENOENT);
        }
        let i: u32 = s.parse().map_err(|_| Errno::ENOENT)?;
        Ok(self.0.get(i).ok_or(Errno::ENOENT)?.node.clone())
    }
    fn readdir(&self) -> KResult<Vec<DirEntry>> {
        let mut v: Vec<DirEntry> = self
            .0
            .live()
            .iter()
            .map(|p| DirEntry { name: p.index.to_string().into_bytes(), ino: p.node.ino(), kind: vfs::dtype_of(mode::S_IFCHR) })
            .collect();
        v.insert(0, DirEntry { name: b"ptmx".to_vec(), ino: self.0.ptmx.ino, kind: vfs::dtype_of(mode::S_IFCHR) });
        Ok(v)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// /dev/pts/N.
pub struct PtsNode {
    pty: Weak<Pty>,
    index: u32,
    uid: u32,
    time: (i64, i64),
}

impl PtsNode {
    fn ino(&self) -> u64 {
        // Linux numbers devpts inodes from 3 after the root and ptmx.
        u64::from(self.index) + 3
    }

    fn path(&self) -> Vec<u8> {
        format!("/dev/pts/{}", self.index).into_bytes()
    }
}

impl Inode for PtsNode {
    fn stat(&self) -> KResult<Attr> {
        Ok(Attr {
            ino: self.ino(),
            dev: DEVPTS_DEV,
            mode: mode::S_IFCHR | 0o620,
            nlink: 1,
            uid: self.uid,
            gid: TTY_GID,
            rdev: (PTS_MAJOR << 8) | u64::from(self.index & 0xff) | (u64::from(self.index & !0xff) << 12),
            blksize: 1024,
            atime: self.time,
            mtime: self.time,
            ctime: self.time,
            ..Attr::default()
        })
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        let pty = self.pty.upgrade().ok_or(Errno::EIO)?;
        Ok(pty.open_replica(None)?)
    }
    fn open_task(self: Arc<Self>, task: &Task, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        let pty = self.pty.upgrade().ok_or(Errno::EIO)?;
        Ok(pty.open_replica(Some(task))?)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// /dev/ptmx (and /dev/pts/ptmx): each open makes a new pair.
pub struct Ptmx {
    ino: u64,
    devpts: Weak<Devpts>,
    mode: u32,
}

impl Inode for Ptmx {
    fn stat(&self) -> KResult<Attr> {
        let t = crate::kernel::boot_time();
        Ok(Attr {
            ino: self.ino,
            dev: 0x5,
            mode: mode::S_IFCHR | self.mode,
            nlink: 1,
            rdev: (5 << 8) | 2,
            blksize: 4096,
            atime: t,
            mtime: t,
            ctime: t,
            ..Attr::default()
        })
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        // Needs the opening task (open_task).
        Err(Errno::ENXIO)
    }
    fn open_task(self: Arc<Self>, task: &Task, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        let d = self.devpts.upgrade().ok_or(Errno::ENXIO)?;
        Ok(Arc::new(Master { pty: d.alloc(task) }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
