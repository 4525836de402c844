//! A thread's exit: clear_child_tid and robust futexes, leaving the
//! address space, and for the last thread of a process its zombie state,
//! the reparenting of its children and the parent's notification (the
//! sandbox ends with init).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use platform::Context;

use super::signal::{self, sig, QueuedSignal};
use super::task::{kill_group, send_group, Task, ThreadGroup};
use super::Kernel;
use crate::vfs::FdTable;

/// The process that adopts the orphans of `tg`: the nearest live ancestor
/// that is a child subreaper, else init.
fn find_reaper(kernel: &Kernel, tg: &ThreadGroup) -> Option<Arc<ThreadGroup>> {
    let mut ppid = tg.ppid.load(Ordering::Relaxed);
    while let Some(p) = kernel.group(ppid) {
        if p.subreaper.load(Ordering::Relaxed) && !p.st().zombie {
            return Some(p);
        }
        ppid = p.ppid.load(Ordering::Relaxed);
    }
    kernel.group(1)
}

/// Exit one thread: clear_child_tid, leave the address space, and if it was
/// the last thread, turn the group into a zombie and tell the parent.
pub fn exit_task(task: &Arc<Task>, ctx: &mut Box<dyn Context>) {
    // The stub thread will not run this task again: it sleeps now rather
    // than spin on through the teardown, taking a CPU from the living.
    task.waker.going_idle();
    // The sandbox ends with init: report its status before the teardown
    // below (releasing the stub thread, freeing memory), which changes
    // nothing the caller of runsc can see.
    if task.tg.tgid == 1 {
        let st = task.tg.st();
        if st.live == 1 {
            task.kernel.set_exit(st.group_exit.unwrap_or(0));
        }
    }
    let mm = task.mm();
    let robust = task.robust_list.swap(0, Ordering::SeqCst);
    super::futex::exit_robust_list(&task.kernel, &mm, task.tid(), robust);
    // As Linux's futex_exit_release: PI waiters take the lock over before
    // anyone woken by clear_child_tid can look at a lock word.
    task.futex_dead.store(true, Ordering::SeqCst);
    task.kernel.futexes.pi_owner_exited(task.tid());
    let ctid = task.clear_child_tid.load(Ordering::SeqCst);
    if ctid != 0 && mm.write_val(ctid, &0u32).is_ok() {
        if let Ok(k) = mm.futex_key(ctid, false) {
            task.kernel.futexes.wake(k, 1, u32::MAX);
        }
    }
    ctx.release(&mm.as_);
    {
        let (u, s) = task.cpu_times();
        let mut e = task.tg.cpu_exited.lock().unwrap_or_else(|e| e.into_inner());
        e.0 += u;
        e.1 += s;
    }
    if let Some(v) = task.vfork.lock().unwrap_or_else(|e| e.into_inner()).take() {
        v.release();
    }
    let kernel = task.kernel.clone();
    kernel.remove_task(task.tid());
    task.set_fds(Arc::new(FdTable::default()));
    let tg = task.tg.clone();
    let last = {
        let mut st = tg.st();
        st.live -= 1;
        st.threads.retain(|&t| t != task.tid());
        st.live == 0
    };
    if !last {
        tg.thread_exit_wq.notify_all();
        return;
    }
    let status = tg.st().group_exit.unwrap_or(0);
    drop(mm);
    crate::fs::tty::disassociate(&kernel, &tg, true);
    kernel.timers.process_exit(&kernel, tg.tgid);
    let ids: Vec<i32> = tg.posix_timers.lock().unwrap_or_else(|e| e.into_inner()).drain().map(|(id, _)| id).collect();
    for id in ids {
        kernel.timers.set(&kernel, super::timers::TimerKey::Posix(tg.tgid, id), Duration::ZERO, Duration::ZERO);
    }
    let undo = std::mem::take(&mut *tg.sem_undo.lock().unwrap_or_else(|e| e.into_inner()));
    if !undo.is_empty() {
        crate::syscalls::ipc::sem_exit(&kernel, undo);
    }
    // Reparent children to init.
    let orphans: Vec<Arc<ThreadGroup>> = std::mem::take(&mut *tg.children.lock().unwrap_or_else(|e| e.into_inner()));
    if tg.tgid == 1 {
        kernel.set_exit(status);
        for t in kernel.all_tasks() {
            kill_group(&kernel, &t.tg, sig::SIGKILL);
        }
    } else if let Some(reaper) = find_reaper(&kernel, &tg) {
        for o in &orphans {
            o.ppid.store(reaper.tgid, Ordering::Relaxed);
            for tid in o.st().threads.clone() {
                let Some(t) = kernel.task(tid) else { continue };
                let s = t.pdeathsig.load(Ordering::Relaxed);
                if s != 0 {
                    t.send_signal_thread(QueuedSignal { signo: s, ..Default::default() });
                }
            }
        }
        let any_zombie = orphans.iter().any(|o| o.st().zombie);
        reaper.children.lock().unwrap_or_else(|e| e.into_inner()).extend(orphans);
        if any_zombie {
            reaper.child_wq.notify_all();
        }
    }
    let ppid = tg.ppid.load(Ordering::Relaxed);
    let parent = kernel.group(ppid);
    let autoreap = parent.as_ref().is_none_or(|p| {
        let a = p.action(sig::SIGCHLD);
        a.handler == signal::SIG_IGN || a.flags & signal::SA_NOCLDWAIT != 0
    });
    {
        let mut st = tg.st();
        st.zombie = true;
        st.status = status;
    }
    // Its POSIX record locks go with it.
    crate::vfs::locks::process_exited(tg.tgid);
    match parent {
        Some(p) if !autoreap => {
            let esig = tg.exit_signal.load(Ordering::Relaxed);
            if esig > 0 {
                let (code, st) = signal::cld_code(status);
                send_group(&kernel, &p, QueuedSignal { signo: esig, code, pid: tg.tgid, status: st, ..Default::default() });
            }
            p.child_wq.notify_all();
        }
        Some(p) => {
            p.children.lock().unwrap_or_else(|e| e.into_inner()).retain(|c| !Arc::ptr_eq(c, &tg));
            kernel.remove_group(tg.tgid);
            p.child_wq.notify_all();
        }
        None => kernel.remove_group(tg.tgid),
    }
}
