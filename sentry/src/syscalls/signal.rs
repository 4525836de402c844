//! Signal syscalls and delivery (frames, rt_sigreturn, default actions).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytemuck::Zeroable;
use platform::{Context, CpuState};

use super::{Sc, JUST_RETURN};
use crate::errno::{Errno, KResult};
use crate::kernel::signal::*;
use crate::kernel::task::{kill_group, send_group, Task};

fn valid(s: u64) -> KResult<i32> {
    if s == 0 || s > 64 {
        return Err(Errno::EINVAL);
    }
    Ok(s as i32)
}

/// Implements rt_sigaction(2).
pub fn sys_rt_sigaction(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let s = valid(a[0])?;
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let new = if a[1] != 0 { Some(sc.task.mm().read_val::<SigAction>(a[1])?) } else { None };
    if new.is_some() && (s == sig::SIGKILL || s == sig::SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let h = sc.task.tg.handlers();
    let old = {
        let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
        let old = h[(s - 1) as usize];
        if let Some(mut n) = new {
            n.mask &= !UNBLOCKABLE;
            h[(s - 1) as usize] = n;
        }
        old
    };
    if a[2] != 0 {
        sc.task.mm().write_val(a[2], &old)?;
    }
    // Setting SIG_IGN discards pending instances.
    if let Some(n) = new {
        if n.handler == SIG_IGN || (n.handler == SIG_DFL && default_action(s) == Default::Ignore) {
            let mut p = sc.task.tg.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.mask &= !bit(s);
            p.queue.retain(|q| q.signo != s);
        }
    }
    Ok(0)
}

/// Implements rt_sigprocmask(2).
pub fn sys_rt_sigprocmask(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = sc.task.sigmask.load(Ordering::SeqCst);
    if a[1] != 0 {
        let set: u64 = sc.task.mm().read_val(a[1])?;
        let new = match a[0] {
            0 => old | set,
            1 => old & !set,
            2 => set,
            _ => return Err(Errno::EINVAL),
        };
        sc.task.sigmask.store(new & !UNBLOCKABLE, Ordering::SeqCst);
    } else if a[0] > 2 {
        return Err(Errno::EINVAL);
    }
    if a[2] != 0 {
        sc.task.mm().write_val(a[2], &old)?;
    }
    Ok(0)
}

/// Implements rt_sigpending(2).
pub fn sys_rt_sigpending(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[1] > 8 {
        return Err(Errno::EINVAL);
    }
    let t = sc.task.pending.lock().unwrap_or_else(|e| e.into_inner()).mask;
    let p = sc.task.tg.pending.lock().unwrap_or_else(|e| e.into_inner()).mask;
    let m = (t | p) & sc.task.sigmask.load(Ordering::SeqCst);
    sc.task.mm().write_val(a[0], &m)?;
    Ok(0)
}

/// Implements rt_sigsuspend(2).
pub fn sys_rt_sigsuspend(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = sc.task.mm().read_val(a[0])?;
    let old = sc.task.sigmask.swap(m & !UNBLOCKABLE, Ordering::SeqCst);
    *sc.task.saved_mask.lock().unwrap_or_else(|e| e.into_inner()) = Some(old);
    wait_for_signal(sc.task)
}

/// Implements pause(2).
pub fn sys_pause(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    wait_for_signal(sc.task)
}

/// Sleep until an unblocked signal is pending; the handler runs and the
/// call returns EINTR (ERESTARTNOHAND).
fn wait_for_signal(t: &Task) -> KResult<u64> {
    // With no deadline, sleep_until returns only once a signal is pending.
    let _interrupted = t.sleep_until(None);
    Err(Errno::ERESTARTNOHAND)
}

/// Implements sigaltstack(2).
pub fn sys_sigaltstack(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let old = *sc.task.altstack.lock().unwrap_or_else(|e| e.into_inner());
    if a[0] != 0 {
        let v: [u64; 3] = sc.task.mm().read_val(a[0])?;
        let flags = v[1] as i32;
        if flags & !(2 | (1 << 31)) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & 2 == 0 && v[2] < 2048 {
            return Err(Errno::ENOMEM);
        }
        *sc.task.altstack.lock().unwrap_or_else(|e| e.into_inner()) = (v[0], flags, v[2]);
    }
    if a[1] != 0 {
        let v: [u64; 3] = [old.0, old.1 as u32 as u64, old.2];
        sc.task.mm().write_val(a[1], &v)?;
    }
    Ok(0)
}

fn sender(t: &Task, s: i32) -> QueuedSignal {
    QueuedSignal { signo: s, code: 0, pid: t.tg.tgid, uid: t.creds().uid, ..std::default::Default::default() }
}

/// Implements kill(2).
pub fn sys_kill(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let pid = a[0] as i32;
    let s = a[1] as i32;
    if !(0..=64).contains(&s) {
        return Err(Errno::EINVAL);
    }
    let k = &sc.task.kernel;
    let targets: Vec<_> = if pid > 0 {
        vec![k.group(pid).filter(|g| !g.st().zombie).ok_or(Errno::ESRCH)?]
    } else {
        let pg = if pid == 0 { sc.task.tg.pgid() } else { -pid };
        let v: Vec<_> = k
            .all_groups()
            .into_iter()
            .filter(|g| !g.st().zombie && (pid == -1 && g.tgid != 1 || pid != -1 && g.pgid() == pg))
            .collect();
        if v.is_empty() {
            return Err(Errno::ESRCH);
        }
        v
    };
    if s != 0 {
        for g in targets {
            send_group(k, &g, sender(sc.task, s));
        }
    }
    Ok(0)
}

fn thread_kill(sc: &mut Sc<'_>, tgid: i32, tid: i32, s: u64) -> KResult<u64> {
    if tid <= 0 || (tgid != -1 && tgid <= 0) {
        return Err(Errno::EINVAL);
    }
    let s = if s == 0 { 0 } else { valid(s)? };
    let t = sc.task.kernel.task(tid).ok_or(Errno::ESRCH)?;
    if tgid != -1 && t.tg.tgid != tgid {
        return Err(Errno::ESRCH);
    }
    if s != 0 {
        let mut q = sender(sc.task, s);
        q.code = -6; // SI_TKILL
        if s == sig::SIGKILL {
            kill_group(&sc.task.kernel, &t.tg, sig::SIGKILL);
        } else {
            let act = t.tg.action(s);
            if act.handler != SIG_IGN && !(act.handler == SIG_DFL && default_action(s) == Default::Ignore) {
                t.send_signal_thread(q);
            }
        }
    }
    Ok(0)
}

/// Implements tgkill(2).
pub fn sys_tgkill(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    thread_kill(sc, a[0] as i32, a[1] as i32, a[2])
}

/// Implements tkill(2).
pub fn sys_tkill(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    thread_kill(sc, -1, a[0] as i32, a[1])
}

/// rt_sigqueueinfo and rt_tgsigqueueinfo: queue a signal with the caller's
/// siginfo. Only a process signalling itself may claim a kernel si_code.
fn queue_info(sc: &mut Sc<'_>, tgid: i32, tid: Option<i32>, s: u64, info: u64) -> KResult<u64> {
    let s = valid(s)?;
    let si: SigInfo = sc.task.mm().read_val(info)?;
    let t = sc.task;
    if (si.code >= 0 || si.code == -6) && tgid != t.tg.tgid {
        return Err(Errno::EPERM);
    }
    let q = si.to_queued(s);
    match tid {
        None => {
            let g = t.kernel.group(tgid).filter(|g| !g.st().zombie).ok_or(Errno::ESRCH)?;
            send_group(&t.kernel, &g, q);
        }
        Some(tid) => {
            let target = t.kernel.task(tid).filter(|x| x.tg.tgid == tgid).ok_or(Errno::ESRCH)?;
            target.send_signal_thread(q);
        }
    }
    Ok(0)
}

/// Implements rt_sigqueueinfo(2).
pub fn sys_rt_sigqueueinfo(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    queue_info(sc, a[0] as i32, None, a[1], a[2])
}

/// Implements rt_tgsigqueueinfo(2).
pub fn sys_rt_tgsigqueueinfo(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if (a[0] as i32) <= 0 || (a[1] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    queue_info(sc, a[0] as i32, Some(a[1] as i32), a[2], a[3])
}

/// Implements rt_sigtimedwait(2): take a pending signal of `set`, waiting
/// for one if none is pending.
pub fn sys_rt_sigtimedwait(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let t = sc.task;
    let set: u64 = t.mm().read_val(a[0])?;
    let set = set & !UNBLOCKABLE;
    let deadline = if a[2] != 0 { crate::kernel::wait::deadline_after(super::time::read_timespec(t, a[2])?) } else { None };
    let take = || t.take_pending(!set);
    let q = loop {
        let g = t.waker.gen();
        if let Some(q) = take() {
            break q;
        }
        if t.has_pending_signal() {
            return Err(Errno::EINTR);
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Err(Errno::EAGAIN);
        }
        t.waker.wait(g, deadline);
    };
    if a[1] != 0 {
        t.mm().write_val(a[1], &SigInfo::from_queued(&q))?;
    }
    Ok(q.signo as u64)
}

/// Implements rt_sigreturn(2).
pub fn sys_rt_sigreturn(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    let uc_addr = sc.cpu.regs.rsp;
    let mm = sc.task.mm();
    let uc: UContext = match mm.read_val(uc_addr) {
        Ok(u) => u,
        Err(_) => {
            crate::kernel::task::force_signal(sc.task, QueuedSignal { signo: sig::SIGSEGV, code: 0x80, ..std::default::Default::default() });
            return Err(JUST_RETURN);
        }
    };
    let m = &uc.mcontext;
    let r = &mut sc.cpu.regs;
    r.r8 = m.r8;
    r.r9 = m.r9;
    r.r10 = m.r10;
    r.r11 = m.r11;
    r.r12 = m.r12;
    r.r13 = m.r13;
    r.r14 = m.r14;
    r.r15 = m.r15;
    r.rdi = m.rdi;
    r.rsi = m.rsi;
    r.rbp = m.rbp;
    r.rbx = m.rbx;
    r.rdx = m.rdx;
    r.rax = m.rax;
    r.rcx = m.rcx;
    r.rsp = m.rsp;
    r.rip = m.rip;
    // User-modifiable flags only.
    r.eflags = (r.eflags & !0x40dd5) | (m.eflags & 0x40dd5);
    if m.fpstate != 0 {
        restore_fpstate(sc, &mm, m.fpstate);
    }
    sc.task.sigmask.store(uc.sigmask & !UNBLOCKABLE, Ordering::SeqCst);
    Err(JUST_RETURN)
}

const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Offset of `struct _fpx_sw_bytes` in the legacy area's reserved bytes.
const SW_BYTES: usize = 464;

/// Restore the FPU state from a signal frame: the whole XSAVE area when the
/// frame carries the XSAVE magic, else only the legacy FXSAVE part over the
/// thread's current state. A state the application broke is dropped (the
/// thread keeps its current one), never passed to the host unchecked.
fn restore_fpstate(sc: &mut Sc<'_>, mm: &crate::mm::MemoryManager, addr: u64) {
    let mm_as = mm.as_.clone();
    if sc.ctx.load_fp(&mm_as, sc.cpu).is_err() {
        return;
    }
    let cur_len = sc.cpu.fp.0.len();
    let mut legacy = [0u8; 512];
    if mm.copy_in(addr, &mut legacy).is_err() {
        return;
    }
    let magic1 = u32::from_ne_bytes(legacy[SW_BYTES..SW_BYTES + 4].try_into().unwrap_or_default());
    let xsize = u32::from_ne_bytes(legacy[SW_BYTES + 16..SW_BYTES + 20].try_into().unwrap_or_default()) as usize;
    let mut new = sc.cpu.fp.0.clone();
    if magic1 == FP_XSTATE_MAGIC1 && xsize >= 576 && xsize <= cur_len {
        let mut x = vec![0u8; xsize];
        if mm.copy_in(addr, &mut x).is_err() {
            return;
        }
        new[..xsize].copy_from_slice(&x);
    } else if new.len() >= 512 {
        new[..512].copy_from_slice(&legacy);
    }
    // The software-reserved bytes are the frame's, not the hardware's.
    new[SW_BYTES..512].fill(0);
    // Reserved MXCSR bits would make the host refuse the whole state.
    let mxcsr = u32::from_ne_bytes(new[24..28].try_into().unwrap_or_default()) & 0xffff;
    new[24..28].copy_from_slice(&mxcsr.to_ne_bytes());
    sc.cpu.fp.0 = new;
    sc.cpu.fp_dirty = true;
}

fn restart(cpu: &mut CpuState, handler: Option<&SigAction>) {
    // Only a stop at a syscall has a syscall result in rax: after a fault or
    // an interrupt orig_rax is -1 and rax is the application's own value.
    if cpu.regs.orig_rax as i64 == -1 {
        return;
    }
    let ret = cpu.regs.rax as i64;
    let e = -ret;
    let restartable = [Errno::ERESTARTSYS.0, Errno::ERESTARTNOINTR.0, Errno::ERESTARTNOHAND.0, Errno::ERESTART_RESTARTBLOCK.0];
    if !restartable.contains(&(e as i32)) || ret >= 0 {
        return;
    }
    let do_restart = match handler {
        None => true,
        Some(h) => {
            e as i32 == Errno::ERESTARTNOINTR.0 || (e as i32 == Errno::ERESTARTSYS.0 && h.flags & SA_RESTART != 0)
        }
    };
    if do_restart {
        // ERESTART_RESTARTBLOCK resumes through restart_syscall(2).
        cpu.regs.rax = if e as i32 == Errno::ERESTART_RESTARTBLOCK.0 { 219 } else { cpu.regs.orig_rax };
        cpu.regs.rip -= 2;
    } else {
        cpu.regs.rax = Errno::EINTR.ret();
    }
}

/// Deliver pending unblocked signals before returning to the application.
pub fn deliver_pending(task: &Arc<Task>, cpu: &mut CpuState, ctx: &mut Box<dyn Context>) {
    loop {
        let blocked = task.sigmask.load(Ordering::SeqCst);
        let q = task.take_pending(blocked);
        let Some(q) = q else {
            // No handler ran: restart an interrupted syscall transparently.
            restart(cpu, None);
            if let Some(m) = task.saved_mask.lock().unwrap_or_else(|e| e.into_inner()).take() {
                task.sigmask.store(m, Ordering::SeqCst);
            }
            return;
        };
        let h = task.tg.handlers();
        let act = {
            let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
            let a = h[(q.signo - 1) as usize];
            if a.handler > SIG_IGN && a.flags & SA_RESETHAND != 0 {
                h[(q.signo - 1) as usize] = SigAction::default();
            }
            a
        };
        if act.handler == SIG_IGN {
            continue;
        }
        if act.handler == SIG_DFL {
            match default_action(q.signo) {
                Default::Ignore | Default::Continue => continue,
                Default::Stop => {
                    // Terminal stops do not stop an orphaned process group
                    // (nobody could continue it); Linux discards them.
                    if q.signo != sig::SIGSTOP && crate::fs::tty::is_orphaned_pgrp(&task.kernel, task.tg.pgid()) {
                        continue;
                    }
                    // The task parks in the run loop once the remaining
                    // signals (and the syscall restart) are dealt with.
                    crate::kernel::jobctl::stop_group(&task.kernel, &task.tg, q.signo);
                    continue;
                }
                Default::Terminate => {
                    kill_group(&task.kernel, &task.tg, q.signo);
                    return;
                }
                Default::Core => {
                    // No core file is written yet, so the status never
                    // claims one (WCOREDUMP stays false, as when
                    // RLIMIT_CORE is 0).
                    kill_group(&task.kernel, &task.tg, q.signo);
                    return;
                }
            }
        }
        restart(cpu, Some(&act));
        if setup_frame(task, cpu, ctx, &q, &act).is_err() {
            kill_group(&task.kernel, &task.tg, sig::SIGSEGV);
            return;
        }
        return;
    }
}

fn setup_frame(task: &Arc<Task>, cpu: &mut CpuState, ctx: &mut Box<dyn Context>, q: &QueuedSignal, act: &SigAction) -> KResult<()> {
    let mm = task.mm();
    ctx.load_fp(&mm.as_, cpu).map_err(|_| Errno::EFAULT)?;
    let (ss_sp, ss_flags, ss_size) = *task.altstack.lock().unwrap_or_else(|e| e.into_inner());
    let on_alt = cpu.regs.rsp > ss_sp && cpu.regs.rsp <= ss_sp + ss_size;
    let mut sp = if act.flags & SA_ONSTACK != 0 && ss_flags & 2 == 0 && !on_alt { ss_sp + ss_size } else { cpu.regs.rsp - 128 };
    // The full XSAVE area, 64-byte aligned, followed by FP_XSTATE_MAGIC2.
    let xsize = cpu.fp.0.len().max(512) as u64;
    sp -= xsize + 4;
    sp &= !63;
    let fp_addr = sp;
    sp -= std::mem::size_of::<SigInfo>() as u64;
    sp &= !15;
    let si_addr = sp;
    sp -= std::mem::size_of::<UContext>() as u64;
    sp &= !15;
    let uc_addr = sp;
    sp -= 8;
    let saved_mask = task.saved_mask.lock().unwrap_or_else(|e| e.into_inner()).take();
    let mask = saved_mask.unwrap_or_else(|| task.sigmask.load(Ordering::SeqCst));
    let r = &cpu.regs;
    let mut uc = UContext::zeroed();
    uc.ss_sp = ss_sp;
    uc.ss_flags = ss_flags as u32;
    uc.ss_size = ss_size;
    uc.mcontext = SigContext {
        r8: r.r8,
        r9: r.r9,
        r10: r.r10,
        r11: r.r11,
        r12: r.r12,
        r13: r.r13,
        r14: r.r14,
        r15: r.r15,
        rdi: r.rdi,
        rsi: r.rsi,
        rbp: r.rbp,
        rbx: r.rbx,
        rdx: r.rdx,
        rax: r.rax,
        rcx: r.rcx,
        rsp: r.rsp,
        rip: r.rip,
        eflags: r.eflags,
        cs: 0x33,
        ss: 0x2b,
        trapno: if q.signo == sig::SIGSEGV { 14 } else { 0 },
        err: if q.signo == sig::SIGSEGV { 4 } else { 0 },
        cr2: q.addr,
        oldmask: mask,
        fpstate: fp_addr,
        ..SigContext::default()
    };
    uc.sigmask = mask;
    let mut xs = cpu.fp.0.clone();
    if xs.len() >= 576 {
        // struct _fpx_sw_bytes: the frame holds an XSAVE area.
        // { magic1, extended_size, xfeatures, xstate_size }
        let len = xs.len() as u32;
        let xfeatures = u64::from_ne_bytes(xs[512..520].try_into().unwrap_or_default()) | 3;
        xs[SW_BYTES..SW_BYTES + 4].copy_from_slice(&FP_XSTATE_MAGIC1.to_ne_bytes());
        xs[SW_BYTES + 4..SW_BYTES + 8].copy_from_slice(&(len + 4).to_ne_bytes());
        xs[SW_BYTES + 8..SW_BYTES + 16].copy_from_slice(&xfeatures.to_ne_bytes());
        xs[SW_BYTES + 16..SW_BYTES + 20].copy_from_slice(&len.to_ne_bytes());
        xs.extend_from_slice(&FP_XSTATE_MAGIC2.to_ne_bytes());
        uc.flags |= 1; // UC_FP_XSTATE
    }
    mm.copy_out(fp_addr, &xs)?;
    mm.write_val(si_addr, &SigInfo::from_queued(q))?;
    mm.write_val(uc_addr, &uc)?;
    mm.write_val(sp, &act.restorer)?;
    let r = &mut cpu.regs;
    r.rdi = q.signo as u64;
    r.rsi = si_addr;
    r.rdx = uc_addr;
    r.rax = 0;
    r.rip = act.handler;
    r.rsp = sp;
    r.eflags &= !0x400; // DF clear
    let mut newmask = mask | act.mask;
    if act.flags & SA_NODEFER == 0 {
        newmask |= bit(q.signo);
    }
    task.sigmask.store(newmask & !UNBLOCKABLE, Ordering::SeqCst);
    // Handlers start with a clean FPU control state, as Linux does.
    cpu.fp = platform::FpState::default();
    cpu.fp_dirty = true;
    Ok(())
}
