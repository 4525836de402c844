//! wait4(2) and waitid(2): collecting children that exited, stopped or
//! continued.

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::jobctl::{CLD_CONTINUED, CLD_STOPPED};
use crate::kernel::signal::{cld_code, sig};
use crate::kernel::task::{Task, ThreadGroup};

const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2; // WSTOPPED for waitid
const WEXITED: u64 = 4;
const WCONTINUED: u64 = 8;
const WNOWAIT: u64 = 0x0100_0000;
const WAIT_INTERNAL: u64 = 0x2000_0000 | 0x4000_0000 | 0x8000_0000; // __WNOTHREAD, __WALL, __WCLONE

/// (user, system) CPU time.
type CpuPair = (std::time::Duration, std::time::Duration);

/// What a wait collected.
#[derive(Clone, Copy)]
enum Event {
    /// Exited or killed, with the wait status.
    Exited(i32),
    /// Stopped by the signal.
    Stopped(i32),
    /// Continued.
    Continued,
}

impl Event {
    /// The wait4 status word.
    fn status(self) -> i32 {
        match self {
            Event::Exited(s) => s,
            Event::Stopped(sig) => (sig << 8) | 0x7f,
            Event::Continued => 0xffff,
        }
    }

    /// waitid's si_code and si_status.
    fn code(self) -> (i32, i32) {
        match self {
            Event::Exited(s) => cld_code(s),
            Event::Stopped(sig) => (CLD_STOPPED, sig),
            Event::Continued => (CLD_CONTINUED, sig::SIGCONT),
        }
    }
}

fn matches(t: &Task, c: &ThreadGroup, pid: i32) -> bool {
    match pid {
        -1 => true,
        0 => c.pgid() == t.tg.pgid(),
        p if p > 0 => c.tgid == p,
        p => c.pgid() == -p,
    }
}

/// Find a child event wanted by `opts` and (unless WNOWAIT) consume it:
/// a zombie is reaped, a stop or continue report is cleared. Ok(None) when
/// matching children exist but none has an event.
fn find_event(t: &Task, pid: i32, opts: u64) -> KResult<Option<(i32, Event, CpuPair)>> {
    let mut ch = t.tg.children.lock().unwrap_or_else(|e| e.into_inner());
    if !ch.iter().any(|c| matches(t, c, pid)) {
        return Err(Errno::ECHILD);
    }
    let consume = opts & WNOWAIT == 0;
    for i in 0..ch.len() {
        let c = ch[i].clone();
        if !matches(t, &c, pid) {
            continue;
        }
        let mut st = c.st();
        if st.zombie {
            if opts & WEXITED == 0 {
                continue;
            }
            let status = st.status;
            drop(st);
            // The child's time, and its reaped descendants'.
            let e = *c.cpu_exited.lock().unwrap_or_else(|e| e.into_inner());
            let d = *c.cpu_children.lock().unwrap_or_else(|e| e.into_inner());
            let total = (e.0 + d.0, e.1 + d.1);
            if consume {
                ch.remove(i);
                t.kernel.remove_group(c.tgid);
                let mut mine = t.tg.cpu_children.lock().unwrap_or_else(|e| e.into_inner());
                mine.0 += total.0;
                mine.1 += total.1;
            }
            return Ok(Some((c.tgid, Event::Exited(status), total)));
        }
        if opts & WUNTRACED != 0 {
            if let Some(s) = st.stop_event {
                if consume {
                    st.stop_event = None;
                }
                return Ok(Some((c.tgid, Event::Stopped(s), CpuPair::default())));
            }
        }
        if opts & WCONTINUED != 0 && st.cont_event {
            if consume {
                st.cont_event = false;
            }
            return Ok(Some((c.tgid, Event::Continued, CpuPair::default())));
        }
    }
    Ok(None)
}

fn wait_for(t: &Task, pid: i32, opts: u64) -> KResult<Option<(i32, Event, CpuPair)>> {
    t.block_on(&t.tg.child_wq, false, None, || match find_event(t, pid, opts) {
        Ok(Some(x)) => Some(Ok(Some(x))),
        Ok(None) if opts & WNOHANG != 0 => Some(Ok(None)),
        Ok(None) => None,
        Err(e) => Some(Err(e)),
    })?
}

/// Implements wait4(2).
pub fn sys_wait4(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let opts = a[2];
    if opts & !(WNOHANG | WUNTRACED | WCONTINUED | WAIT_INTERNAL) != 0 {
        return Err(Errno::EINVAL);
    }
    // As in Linux, a bad status pointer is EFAULT after the child is reaped.
    match wait_for(sc.task, a[0] as i32, opts | WEXITED)? {
        None => Ok(0),
        Some((pid, ev, (user, sys))) => {
            if a[1] != 0 {
                sc.task.mm().write_val(a[1], &ev.status())?;
            }
            if a[3] != 0 {
                sc.task.mm().write_val(a[3], &super::time::rusage(user, sys, 0))?;
            }
            Ok(pid as u64)
        }
    }
}

/// Implements waitid(2).
pub fn sys_waitid(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let (idtype, id, infop, opts) = (a[0], a[1] as i32, a[2], a[3]);
    if opts & !(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WAIT_INTERNAL) != 0
        || opts & (WUNTRACED | WEXITED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let pid = match idtype {
        0 => -1,
        1 if id > 0 => id,
        2 if id >= 0 => -id,
        3 => {
            // P_PIDFD
            let f = sc.task.fds().get(id)?;
            f.ops.as_pidfd().ok_or(Errno::EBADF)?.tg.tgid
        }
        _ => return Err(Errno::EINVAL),
    };
    let r = wait_for(sc.task, pid, opts)?;
    if infop != 0 {
        let mut si = [0u8; 128];
        if let Some((p, ev, _)) = r {
            let (code, st) = ev.code();
            si[0..4].copy_from_slice(&sig::SIGCHLD.to_ne_bytes());
            si[8..12].copy_from_slice(&code.to_ne_bytes());
            si[16..20].copy_from_slice(&p.to_ne_bytes());
            si[24..28].copy_from_slice(&st.to_ne_bytes());
        }
        sc.task.mm().copy_out(infop, &si)?;
    }
    Ok(0)
}
