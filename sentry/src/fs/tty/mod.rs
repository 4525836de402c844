//! Terminals: the job-control state every terminal carries (its session and
//! foreground process group), controlling terminals, the background
//! read/write checks (SIGTTIN, SIGTTOU), hangup, and /dev/tty. The line
//! discipline is in `ldisc`, pseudo-terminals in `pty`, attributes in
//! `termios`; the caller's own terminal (a host fd) is in fs/host.rs.

pub mod ldisc;
pub mod pty;
pub mod termios;

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::errno::{Errno, KResult};
use crate::kernel::signal::{self, bit, sig, QueuedSignal};
use crate::kernel::task::{send_group, Task, ThreadGroup};
use crate::kernel::Kernel;
use crate::vfs::{self, mode, Attr, FileOps, Inode};

/// ioctl numbers every terminal knows.
#[allow(missing_docs)]
pub mod ioctls {
    pub const TCGETS: u64 = 0x5401;
    pub const TCSETS: u64 = 0x5402;
    pub const TCSETSW: u64 = 0x5403;
    pub const TCSETSF: u64 = 0x5404;
    pub const TCGETA: u64 = 0x5405;
    pub const TCSETA: u64 = 0x5406;
    pub const TCSETAW: u64 = 0x5407;
    pub const TCSETAF: u64 = 0x5408;
    pub const TCSBRK: u64 = 0x5409;
    pub const TCXONC: u64 = 0x540a;
    pub const TCFLSH: u64 = 0x540b;
    pub const TIOCEXCL: u64 = 0x540c;
    pub const TIOCNXCL: u64 = 0x540d;
    pub const TIOCSCTTY: u64 = 0x540e;
    pub const TIOCGPGRP: u64 = 0x540f;
    pub const TIOCSPGRP: u64 = 0x5410;
    pub const TIOCOUTQ: u64 = 0x5411;
    pub const TIOCSTI: u64 = 0x5412;
    pub const TIOCGWINSZ: u64 = 0x5413;
    pub const TIOCSWINSZ: u64 = 0x5414;
    pub const TIOCMGET: u64 = 0x5415;
    pub const TIOCMBIS: u64 = 0x5416;
    pub const TIOCMBIC: u64 = 0x5417;
    pub const TIOCMSET: u64 = 0x5418;
    pub const FIONREAD: u64 = 0x541b;
    pub const TIOCPKT: u64 = 0x5420;
    pub const TIOCNOTTY: u64 = 0x5422;
    pub const TIOCSETD: u64 = 0x5423;
    pub const TIOCGETD: u64 = 0x5424;
    pub const TCSBRKP: u64 = 0x5425;
    pub const TIOCSBRK: u64 = 0x5427;
    pub const TIOCCBRK: u64 = 0x5428;
    pub const TIOCGSID: u64 = 0x5429;
    pub const TCGETS2: u64 = 0x802c_542a;
    pub const TCSETS2: u64 = 0x402c_542b;
    pub const TCSETSW2: u64 = 0x402c_542c;
    pub const TCSETSF2: u64 = 0x402c_542d;
    pub const TIOCGPTN: u64 = 0x8004_5430;
    pub const TIOCSPTLCK: u64 = 0x4004_5431;
    pub const TIOCGDEV: u64 = 0x8004_5432;
    pub const TIOCVHANGUP: u64 = 0x5437;
    pub const TIOCGPKT: u64 = 0x8004_5438;
    pub const TIOCGPTLCK: u64 = 0x8004_5439;
    pub const TIOCGEXCL: u64 = 0x8004_5440;
    pub const TIOCGPTPEER: u64 = 0x5441;
}

/// si_code SI_KERNEL: signals the terminal sends.
const SI_KERNEL: i32 = 0x80;

#[derive(Default)]
struct CtlState {
    /// The session this is the controlling terminal of (0: none).
    sid: i32,
    /// The foreground process group (0: none).
    pgrp: i32,
}

/// The job-control state of a terminal.
#[derive(Default)]
pub struct TtyCtl {
    st: Mutex<CtlState>,
}

impl TtyCtl {
    fn lock(&self) -> std::sync::MutexGuard<'_, CtlState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// (session, foreground group); 0 for none.
    pub fn get(&self) -> (i32, i32) {
        let s = self.lock();
        (s.sid, s.pgrp)
    }
    fn set(&self, sid: i32, pgrp: i32) {
        let mut s = self.lock();
        s.sid = sid;
        s.pgrp = pgrp;
    }
}

/// A terminal a process can have as its controlling terminal.
pub trait Terminal: Send + Sync {
    /// Its job-control state.
    fn ctl(&self) -> &TtyCtl;
    /// A new open of this terminal (for /dev/tty).
    fn reopen(self: Arc<Self>, task: &Task, flags: u32) -> KResult<Arc<dyn FileOps>>;
    /// TOSTOP is set: background writes raise SIGTTOU.
    fn tostop(&self) -> bool;
    /// Device number (/proc/[pid]/stat tty_nr).
    fn rdev(&self) -> u64;
}

/// Same terminal (pointer identity of the trait objects' data).
pub fn same(a: &Arc<dyn Terminal>, b: &Arc<dyn Terminal>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

/// The controlling terminal of a process.
pub fn ctty_of(tg: &ThreadGroup) -> Option<Arc<dyn Terminal>> {
    tg.ctty.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

fn is_ctty(task: &Task, term: &Arc<dyn Terminal>) -> bool {
    ctty_of(&task.tg).is_some_and(|c| same(&c, term))
}

fn is_leader(tg: &ThreadGroup) -> bool {
    tg.sid.load(Ordering::Relaxed) == tg.tgid
}

/// Send `signo` from the terminal to every live process of group `pgid`.
pub fn kill_pgrp(kernel: &Kernel, pgid: i32, signo: i32) {
    if pgid <= 0 {
        return;
    }
    for g in kernel.all_groups() {
        if g.pgid() == pgid && !g.st().zombie {
            send_group(kernel, &g, QueuedSignal { signo, code: SI_KERNEL, ..Default::default() });
        }
    }
}

/// A process group is orphaned when no member has a parent in another
/// group of the same session (POSIX; Linux's will_become_orphaned_pgrp).
pub fn is_orphaned_pgrp(kernel: &Kernel, pgid: i32) -> bool {
    for g in kernel.all_groups() {
        if g.pgid() != pgid || g.st().zombie {
            continue;
        }
        if let Some(p) = kernel.group(g.ppid.load(Ordering::Relaxed)) {
            if p.pgid() != pgid && p.sid.load(Ordering::Relaxed) == g.sid.load(Ordering::Relaxed) {
                return false;
            }
        }
    }
    true
}

/// Linux's __tty_check_change: a process in a background group of its
/// controlling terminal that reads it (SIGTTIN) or changes it (SIGTTOU)
/// gets the signal, or EIO when the signal cannot stop it.
pub fn check_change(task: &Task, term: &Arc<dyn Terminal>, signo: i32) -> KResult<()> {
    if !is_ctty(task, term) {
        return Ok(());
    }
    let (_, fg) = term.ctl().get();
    let pgid = task.tg.pgid();
    if fg == 0 || fg == pgid {
        return Ok(());
    }
    let blocked = task.sigmask.load(Ordering::SeqCst) & bit(signo) != 0;
    if blocked || task.tg.action(signo).handler == signal::SIG_IGN {
        return if signo == sig::SIGTTIN { Err(Errno::EIO) } else { Ok(()) };
    }
    if is_orphaned_pgrp(&task.kernel, pgid) {
        return Err(Errno::EIO);
    }
    kill_pgrp(&task.kernel, pgid, signo);
    Err(Errno::ERESTARTSYS)
}

/// Opening a terminal without O_NOCTTY: a session leader with no
/// controlling terminal acquires it if it belongs to no session.
pub fn open_maybe_acquire(task: &Task, term: &Arc<dyn Terminal>, readable: bool) {
    let tg = &task.tg;
    if !is_leader(tg) || !readable || ctty_of(tg).is_some() {
        return;
    }
    let ctl = term.ctl();
    let mut s = ctl.lock();
    if s.sid != 0 {
        return;
    }
    s.sid = tg.tgid;
    s.pgrp = tg.pgid();
    drop(s);
    *tg.ctty.lock().unwrap_or_else(|e| e.into_inner()) = Some(term.clone());
}

/// Make `term` the controlling terminal of `tg`'s session from the start
/// (init and the caller's terminal).
pub fn set_initial_ctty(tg: &ThreadGroup, term: Arc<dyn Terminal>) {
    term.ctl().set(tg.sid.load(Ordering::Relaxed), tg.pgid());
    *tg.ctty.lock().unwrap_or_else(|e| e.into_inner()) = Some(term);
}

/// Clear the controlling terminal of every process in session `sid`.
fn session_clear(kernel: &Kernel, sid: i32) {
    for g in kernel.all_groups() {
        if g.sid.load(Ordering::Relaxed) == sid {
            *g.ctty.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

/// Linux's disassociate_ctty: a session leader gives up its terminal
/// (TIOCNOTTY, or `on_exit` when it exits). The foreground group gets
/// SIGHUP (and SIGCONT unless exiting); the whole session loses it.
pub fn disassociate(kernel: &Kernel, tg: &ThreadGroup, on_exit: bool) {
    if !is_leader(tg) {
        return;
    }
    let Some(term) = ctty_of(tg) else { return };
    let (_, fg) = term.ctl().get();
    if fg != 0 {
        kill_pgrp(kernel, fg, sig::SIGHUP);
        if !on_exit {
            kill_pgrp(kernel, fg, sig::SIGCONT);
        }
    }
    session_clear(kernel, tg.sid.load(Ordering::Relaxed));
    term.ctl().set(0, 0);
}

/// The terminal hangs up (its pty master closed): the session leader
/// gets SIGHUP and SIGCONT, and the session loses its terminal.
pub fn hangup(kernel: &Kernel, ctl: &TtyCtl) {
    let (sid, _) = ctl.get();
    if sid == 0 {
        return;
    }
    session_clear(kernel, sid);
    ctl.set(0, 0);
    if let Some(leader) = kernel.group(sid).filter(|g| g.sid.load(Ordering::Relaxed) == sid && !g.st().zombie) {
        for s in [sig::SIGHUP, sig::SIGCONT] {
            send_group(kernel, &leader, QueuedSignal { signo: s, code: SI_KERNEL, ..Default::default() });
        }
    }
}

/// The job-control ioctls, shared by every terminal. `from_master`: the
/// request came through a pty master, which may query the replica's
/// state without being a controlling terminal. None: not one of these.
pub fn ctl_ioctl(task: &Task, term: &Arc<dyn Terminal>, from_master: bool, cmd: u64, arg: u64) -> Option<KResult<u64>> {
    use ioctls::*;
    let r = match cmd {
        TIOCSCTTY => set_ctty(task, term, arg, from_master),
        TIOCNOTTY => {
            if from_master || !is_ctty(task, term) {
                Err(Errno::ENOTTY)
            } else {
                disassociate(&task.kernel, &task.tg, false);
                *task.tg.ctty.lock().unwrap_or_else(|e| e.into_inner()) = None;
                Ok(0)
            }
        }
        TIOCGPGRP => {
            if !from_master && !is_ctty(task, term) {
                Err(Errno::ENOTTY)
            } else {
                task.mm().write_val(arg, &term.ctl().get().1).map(|_| 0)
            }
        }
        TIOCSPGRP => set_pgrp(task, term, arg),
        TIOCGSID => {
            let (sid, _) = term.ctl().get();
            if (!from_master && !is_ctty(task, term)) || sid == 0 {
                Err(Errno::ENOTTY)
            } else {
                task.mm().write_val(arg, &sid).map(|_| 0)
            }
        }
        _ => return None,
    };
    Some(r)
}

fn set_ctty(task: &Task, term: &Arc<dyn Terminal>, arg: u64, from_master: bool) -> KResult<u64> {
    if from_master {
        // A pty master as a controlling terminal is not modelled.
        return Err(Errno::EPERM);
    }
    let tg = &task.tg;
    let my_sid = tg.sid.load(Ordering::Relaxed);
    let (sid, _) = term.ctl().get();
    if is_leader(tg) && sid == my_sid {
        return Ok(0);
    }
    if !is_leader(tg) || ctty_of(tg).is_some() {
        return Err(Errno::EPERM);
    }
    if sid != 0 {
        let admin = task.capable(21);
        if arg != 1 || !admin {
            return Err(Errno::EPERM);
        }
        session_clear(&task.kernel, sid);
    }
    term.ctl().set(my_sid, tg.pgid());
    *tg.ctty.lock().unwrap_or_else(|e| e.into_inner()) = Some(term.clone());
    Ok(0)
}

fn set_pgrp(task: &Task, term: &Arc<dyn Terminal>, arg: u64) -> KResult<u64> {
    match check_change(task, term, sig::SIGTTOU) {
        Err(Errno::EIO) => return Err(Errno::ENOTTY),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    let want: i32 = task.mm().read_val(arg)?;
    if want < 0 {
        return Err(Errno::EINVAL);
    }
    let my_sid = task.tg.sid.load(Ordering::Relaxed);
    if !is_ctty(task, term) || term.ctl().get().0 != my_sid {
        return Err(Errno::ENOTTY);
    }
    let k = &task.kernel;
    let groups = k.all_groups();
    let member = groups
        .iter()
        .find(|g| g.pgid() == want && !g.st().zombie)
        .or_else(|| groups.iter().find(|g| g.tgid == want))
        .ok_or(Errno::ESRCH)?;
    if member.sid.load(Ordering::Relaxed) != my_sid {
        return Err(Errno::EPERM);
    }
    term.ctl().set(my_sid, want);
    Ok(0)
}

/// /dev/tty: opens the caller's controlling terminal (ENXIO without one).
pub struct DevTty {
    ino: u64,
}

impl DevTty {
    /// The node.
    pub fn new() -> Arc<DevTty> {
        Arc::new(DevTty { ino: vfs::next_ino() })
    }

}

impl Inode for DevTty {
    fn stat(&self) -> KResult<Attr> {
        let t = crate::kernel::boot_time();
        Ok(Attr {
            ino: self.ino,
            dev: 0x5,
            mode: mode::S_IFCHR | 0o666,
            nlink: 1,
            rdev: 5 << 8,
            blksize: 4096,
            atime: t,
            mtime: t,
            ctime: t,
            ..Attr::default()
        })
    }
    fn open(self: Arc<Self>, _flags: u32) -> KResult<Arc<dyn FileOps>> {
        // Without a task there is no controlling terminal.
        Err(Errno::ENXIO)
    }
    fn open_task(self: Arc<Self>, task: &Task, flags: u32) -> KResult<Arc<dyn FileOps>> {
        let term = ctty_of(&task.tg).ok_or(Errno::ENXIO)?;
        term.reopen(task, flags)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
