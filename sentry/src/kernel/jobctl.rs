//! Job control: group stop (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU with the
//! default action), SIGCONT, and the events a parent collects with
//! wait4(WUNTRACED/WCONTINUED) or waitid(WSTOPPED/WCONTINUED).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::signal::{self, bit, sig, QueuedSignal};
use super::task::{send_group, Task, ThreadGroup};
use super::Kernel;

/// SA_NOCLDSTOP: no SIGCHLD when children stop or continue.
const SA_NOCLDSTOP: u64 = 1;
/// CLD_STOPPED.
pub const CLD_STOPPED: i32 = 5;
/// CLD_CONTINUED.
pub const CLD_CONTINUED: i32 = 6;

/// Stop signals.
const STOP_MASK: u64 = (1 << (sig::SIGSTOP - 1)) | (1 << (sig::SIGTSTP - 1)) | (1 << (sig::SIGTTIN - 1)) | (1 << (sig::SIGTTOU - 1));

fn notify_parent(kernel: &Kernel, tg: &ThreadGroup, code: i32, status: i32) {
    let Some(p) = kernel.group(tg.ppid.load(Ordering::Relaxed)) else { return };
    if p.action(sig::SIGCHLD).flags & SA_NOCLDSTOP == 0 {
        send_group(kernel, &p, QueuedSignal { signo: sig::SIGCHLD, code, pid: tg.tgid, status, ..Default::default() });
    }
    p.child_wq.notify_all();
}

fn kick_all(kernel: &Kernel, tg: &ThreadGroup) {
    for tid in tg.st().threads.clone() {
        if let Some(t) = kernel.task(tid) {
            t.kick();
        }
    }
}

/// Stop the whole group for `signo` (a stop signal being delivered with
/// its default action).
pub fn stop_group(kernel: &Kernel, tg: &Arc<ThreadGroup>, signo: i32) {
    {
        let mut st = tg.st();
        if st.group_exit.is_some() || st.stopped {
            return;
        }
        st.stopped = true;
        st.stop_event = Some(signo);
        st.cont_event = false;
    }
    kick_all(kernel, tg);
    notify_parent(kernel, tg, CLD_STOPPED, signo);
}

/// SIGCONT generated for `tg`: resume it if stopped and drop pending stop
/// signals. Called before the SIGCONT itself is queued.
pub fn continue_group(kernel: &Kernel, tg: &Arc<ThreadGroup>) {
    discard(kernel, tg, STOP_MASK);
    let was_stopped = {
        let mut st = tg.st();
        let was = st.stopped;
        if was {
            st.stopped = false;
            st.stop_event = None;
            st.cont_event = true;
        }
        was
    };
    if was_stopped {
        kick_all(kernel, tg);
        notify_parent(kernel, tg, CLD_CONTINUED, sig::SIGCONT);
    }
}

/// A stop signal generated for `tg`: pending SIGCONTs are dropped.
pub fn on_stop_generated(kernel: &Kernel, tg: &ThreadGroup, signo: i32) {
    if bit(signo) & STOP_MASK != 0 {
        discard(kernel, tg, bit(sig::SIGCONT));
    }
}

/// Remove pending signals in `mask` from the group and all its threads.
fn discard(kernel: &Kernel, tg: &ThreadGroup, mask: u64) {
    let drop_from = |p: &mut signal::Pending| {
        p.mask &= !mask;
        p.queue.retain(|q| bit(q.signo) & mask == 0);
    };
    drop_from(&mut tg.pending.lock().unwrap_or_else(|e| e.into_inner()));
    for t in tg.st().threads.clone().into_iter().filter_map(|tid| kernel.task(tid)) {
        drop_from(&mut t.pending.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Block the calling task while its group is stopped (until SIGCONT or a
/// kill).
pub fn wait_while_stopped(task: &Task) {
    loop {
        let g = task.waker.gen();
        if !task.tg.st().stopped || task.killed.load(Ordering::SeqCst) {
            return;
        }
        task.waker.wait(g, None);
    }
}
