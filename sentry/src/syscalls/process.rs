//! Process syscalls: clone, fork, execve, exit, wait, uname, prctl, arch_prctl.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use platform::CpuState;

use super::{Sc, JUST_RETURN};
use crate::errno::{Errno, KResult};
use crate::kernel::signal::{sig, SigAction, SIG_IGN};
use crate::kernel::task::{self, kill_group, Task, VforkDone};
use crate::mm::MemoryManager;

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_PTRACE: u64 = 0x2000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SYSVSEM: u64 = 0x40000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_UNTRACED: u64 = 0x800000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CLONE_IO: u64 = 0x8000_0000;
/// CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
/// CLONE_NEWPID, CLONE_NEWNET.
const NAMESPACES: u64 = 0x7e02_0000;

/// Start a task on its own host thread. A panic there is a sentry bug: it
/// is reported and ends the whole sandbox (status 128+SIGABRT) rather than
/// leaving the other tasks to hang on a half-updated kernel.
pub fn spawn(t: Arc<Task>, cpu: CpuState) -> KResult<()> {
    let ctx = t.kernel.platform.new_context()?;
    let (kernel, tid) = (t.kernel.clone(), t.tid());
    std::thread::Builder::new()
        .name(format!("task-{tid}"))
        .stack_size(1 << 20)
        .spawn(move || {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task::run(t, ctx, cpu))).is_err() {
                tracing::error!("sentry bug: task {tid} panicked; stopping the sandbox");
                eprintln!("runsc: internal error in the sentry (task {tid}); the sandbox is stopped");
                kernel.set_exit(sig::SIGABRT);
            }
        })
        .map_err(|_| Errno::EAGAIN)?;
    Ok(())
}

fn do_clone(sc: &mut Sc<'_>, flags: u64, stack: u64, ptid: u64, ctid: u64, tls: u64, pidfd_out: u64) -> KResult<u64> {
    let known = 0xff
        | CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_PIDFD
        | CLONE_PTRACE
        | CLONE_VFORK
        | CLONE_PARENT
        | CLONE_THREAD
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_DETACHED
        | CLONE_UNTRACED
        | CLONE_CHILD_SETTID
        | CLONE_IO
        | NAMESPACES;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0 || flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & NAMESPACES != 0 {
        return Err(Errno::EPERM);
    }
    if flags & CLONE_PIDFD != 0 && (flags & CLONE_THREAD != 0 || (pidfd_out == ptid && flags & CLONE_PARENT_SETTID != 0)) {
        return Err(Errno::EINVAL);
    }
    let t = sc.task;
    let k = t.kernel.clone();
    // RLIMIT_NPROC counts the caller's processes and threads; root is
    // exempt, as in Linux. Whatever the limits, the sandbox as a whole
    // never runs more than MAX_TASKS tasks: each costs the host a thread and
    // a stub, and a fork bomb must not reach the host.
    let tasks = k.task_count();
    let uid = t.creds().uid;
    if tasks >= crate::kernel::MAX_TASKS
        || tasks as u64 >= k.pids_limit()
        || (uid != 0 && k.tasks_of_uid(uid) as u64 >= t.tg.rlimit(6).cur)
    {
        return Err(Errno::EAGAIN);
    }
    // Everything that can fail is done before the child is registered in
    // its thread group and its parent's children.
    let mut cpu = sc.cpu.clone();
    sc.ctx.load_fp(&t.mm().as_, sc.cpu).map_err(|_| Errno::EAGAIN)?;
    cpu.fp = sc.cpu.fp.clone();
    cpu.fp_dirty = true;
    let tid = k.alloc_tid();
    let mm = if flags & CLONE_VM != 0 {
        t.mm()
    } else {
        let child = Arc::new(MemoryManager::new(k.mf.clone(), k.platform.new_address_space()?));
        t.mm().fork_into(&child)?;
        crate::mm::rmap::add_all(&child);
        child
    };
    let fds = if flags & CLONE_FILES != 0 { t.fds() } else { Arc::new(t.fds().fork()) };
    let fs = if flags & CLONE_FS != 0 {
        t.fs_shared()
    } else {
        Arc::new(Mutex::new(t.fs()))
    };
    let tg = if flags & CLONE_THREAD != 0 {
        t.tg.clone()
    } else {
        let ppid = if flags & CLONE_PARENT != 0 { t.tg.ppid.load(Ordering::Relaxed) } else { t.tg.tgid };
        let g = Task::new_group(tid, ppid, Some(&t.tg), (flags & 0xff) as i32);
        if flags & CLONE_SIGHAND != 0 {
            *g.sighand.lock().unwrap_or_else(|e| e.into_inner()) = t.tg.handlers();
        }
        if g.rlimit(0).cur != crate::kernel::task::RLIM_INFINITY {
            k.timers.watch_rlimit_cpu(&k, g.tgid, true);
        }
        let parent = if flags & CLONE_PARENT != 0 { k.group(ppid) } else { Some(t.tg.clone()) };
        if let Some(p) = parent {
            p.children.lock().unwrap_or_else(|e| e.into_inner()).push(g.clone());
        }
        g
    };
    let child = Task::new(tid, tg.clone(), k.clone(), mm.clone(), fds, fs, t.sigmask.load(Ordering::SeqCst));
    *child.altstack.lock().unwrap_or_else(|e| e.into_inner()) =
        if flags & CLONE_VM != 0 && flags & CLONE_VFORK == 0 { (0, 2, 0) } else { *t.altstack.lock().unwrap_or_else(|e| e.into_inner()) };
    {
        let mut st = tg.st();
        st.live += 1;
        st.threads.push(tid);
    }
    child.no_new_privs.store(t.no_new_privs.load(Ordering::Relaxed), Ordering::Relaxed);
    if flags & CLONE_CHILD_CLEARTID != 0 {
        child.clear_child_tid.store(ctid, Ordering::SeqCst);
    }
    // As in Linux, a bad tid pointer does not fail the clone: the child
    // exists by now, and the store is simply lost.
    if flags & CLONE_PARENT_SETTID != 0 {
        let _lost = t.mm().write_val(ptid, &tid);
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        let _lost = mm.write_val(ctid, &tid);
    }
    cpu.regs.rax = 0;
    if stack != 0 {
        cpu.regs.rsp = stack;
    }
    if flags & CLONE_SETTLS != 0 {
        cpu.regs.fs_base = tls;
    }
    let vfork = if flags & CLONE_VFORK != 0 {
        let v = Arc::new(VforkDone::default());
        *child.vfork.lock().unwrap_or_else(|e| e.into_inner()) = Some(v.clone());
        Some(v)
    } else {
        None
    };
    let child_tg = child.tg.clone();
    k.add_task(&child);
    spawn(child, cpu)?;
    if flags & CLONE_PIDFD != 0 {
        let fd = super::file::install(t, crate::fs::anon::PidFd::file(child_tg), true)?;
        t.mm().write_val(pidfd_out, &(fd as i32))?;
    }
    if let Some(v) = vfork {
        t.waker.going_idle();
        v.wait();
    }
    Ok(tid as u64)
}

/// Implements clone(2).
pub fn sys_clone(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    do_clone(sc, a[0], a[1], a[2], a[3], a[4], a[2])
}

/// Implements clone3(2): `struct clone_args` of at least 64 bytes (larger
/// ones must be zero past what is understood); set_tid and cgroup are not
/// served.
pub fn sys_clone3(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let size = a[1];
    if size < 64 || size > 4096 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; size as usize];
    sc.task.mm().copy_in(a[0], &mut raw)?;
    if raw.len() > 88 && raw[88..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let f = |i: usize| raw.get(i * 8..i * 8 + 8).map(|b| u64::from_ne_bytes(b.try_into().unwrap_or_default())).unwrap_or(0);
    let (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls) = (f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7));
    if f(8) != 0 || f(9) != 0 || f(10) != 0 || flags & 0xff != 0 || exit_signal > 64 || (stack == 0) != (stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    let top = if stack != 0 { stack.checked_add(stack_size).ok_or(Errno::EINVAL)? } else { 0 };
    do_clone(sc, flags | exit_signal, top, parent_tid, child_tid, tls, pidfd)
}

/// Implements pidfd_open(2).
pub fn sys_pidfd_open(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const PIDFD_NONBLOCK: u64 = 0o4000;
    if a[1] & !PIDFD_NONBLOCK != 0 || (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    let tg = sc.task.kernel.group(a[0] as i32).ok_or(Errno::ESRCH)?;
    super::file::install(sc.task, crate::fs::anon::PidFd::file(tg), true)
}

/// Implements pidfd_send_signal(2) (info must be NULL).
pub fn sys_pidfd_send_signal(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[3] != 0 || a[2] != 0 {
        return Err(Errno::EINVAL);
    }
    let f = sc.task.fds().get(a[0] as i32)?;
    let tg = f.ops.as_pidfd().ok_or(Errno::EBADF)?.tg.clone();
    if tg.st().zombie {
        return Err(Errno::ESRCH);
    }
    let s = a[1] as i32;
    if !(0..=64).contains(&s) {
        return Err(Errno::EINVAL);
    }
    if s != 0 {
        let c = sc.task.creds();
        crate::kernel::task::send_group(
            &sc.task.kernel,
            &tg,
            crate::kernel::signal::QueuedSignal { signo: s, pid: sc.task.tg.tgid, uid: c.uid, ..Default::default() },
        );
    }
    Ok(0)
}

/// Implements fork(2).
pub fn sys_fork(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    do_clone(sc, sig::SIGCHLD as u64, 0, 0, 0, 0, 0)
}

/// Implements vfork(2).
pub fn sys_vfork(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    do_clone(sc, CLONE_VM | CLONE_VFORK | sig::SIGCHLD as u64, 0, 0, 0, 0, 0)
}

/// Implements execve(2).
pub fn sys_execve(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let mm = t.mm();
    let path = mm.read_cstring(a[0], crate::vfs::path::PATH_MAX)?;
    let argv = mm.read_string_array(a[1])?;
    let envp = mm.read_string_array(a[2])?;
    drop(mm);
    exec_into(sc, &path, None, argv, envp)
}

/// Implements execveat(2): the file `path` names relative to `dirfd`, or
/// with AT_EMPTY_PATH and an empty path the file `dirfd` is; named
/// "/dev/fd/N" (or "/dev/fd/N/PATH") for the new image as Linux does
/// (its AT_EXECFN, a script's interpreter's argument, its comm).
pub fn sys_execveat(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const AT_EMPTY_PATH: u64 = 0x1000;
    const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    let t = sc.task;
    let (dirfd, flags) = (a[0] as i32, a[4]);
    let mm = t.mm();
    let path = mm.read_cstring(a[1], crate::vfs::path::PATH_MAX)?;
    // The name is taken first (an empty one without AT_EMPTY_PATH is
    // ENOENT), then the flags are checked.
    if path.is_empty() && flags & AT_EMPTY_PATH == 0 {
        return Err(Errno::ENOENT);
    }
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let argv = mm.read_string_array(a[2])?;
    let envp = mm.read_string_array(a[3])?;
    drop(mm);
    let follow = if flags & AT_SYMLINK_NOFOLLOW != 0 { crate::vfs::path::Follow::No } else { crate::vfs::path::Follow::Yes };
    let loc = if path.is_empty() {
        let f = t.fds().get(dirfd)?;
        super::file::file_location(t, &f).or_else(|_| Ok::<_, Errno>(crate::vfs::path::Location::beside(&t.fs_root(), f.path.clone(), f.inode.clone())))?
    } else {
        super::file::resolve_at(t, dirfd, &path, follow)?
    };
    if loc.inode().stat()?.kind() == crate::vfs::mode::S_IFLNK {
        return Err(Errno::ELOOP);
    }
    let name = match (path.first(), dirfd) {
        (Some(b'/'), _) | (Some(_), super::file::AT_FDCWD) => path,
        (None, _) => format!("/dev/fd/{dirfd}").into_bytes(),
        (Some(_), _) => [format!("/dev/fd/{dirfd}/").into_bytes(), path].concat(),
    };
    exec_into(sc, &name, Some(loc), argv, envp)
}

/// Replace the task's image (shared by execve and the initial start).
pub fn exec_into(sc: &mut Sc<'_>, path: &[u8], at: Option<crate::vfs::path::Location>, argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> KResult<u64> {
    let t = sc.task;
    // Loading takes a while; the stub thread sleeps meanwhile rather than
    // spin for an answer (the next switch wakes it).
    t.waker.going_idle();
    let (new_mm, loaded) = crate::loader::exec(t, path, at, argv, envp)?;
    // The point of no return: the other threads go, then the old image.
    t.de_thread()?;
    {
        // Robust futexes of the old image are released as at exit.
        let old_mm = t.mm();
        let robust = t.robust_list.swap(0, Ordering::SeqCst);
        crate::kernel::futex::exit_robust_list(&t.kernel, &old_mm, t.tid(), robust);
    }
    let old = t.set_mm(new_mm);
    sc.ctx.release(&old.as_);
    drop(old);
    // A table shared with another process (CLONE_FILES) is unshared first.
    if Arc::strong_count(&t.fds()) > 2 {
        t.set_fds(Arc::new(t.fds().fork()));
    }
    for f in t.fds().close_on_exec() {
        super::lock::closed(t, &f);
    }
    {
        // Handlers shared with another process (CLONE_SIGHAND) are
        // unshared; handled signals go back to their default action.
        let mut sh = t.tg.sighand.lock().unwrap_or_else(|e| e.into_inner());
        let mut h = *sh.lock().unwrap_or_else(|e| e.into_inner());
        // As Linux's flush_signal_handlers: an ignored signal stays
        // ignored, but every action loses its flags, mask and restorer.
        for a in h.iter_mut() {
            let ignored = a.handler == SIG_IGN;
            *a = SigAction::default();
            if ignored {
                a.handler = SIG_IGN;
            }
        }
        *sh = Arc::new(std::sync::Mutex::new(h));
    }
    *t.altstack.lock().unwrap_or_else(|e| e.into_inner()) = (0, 2, 0);
    // POSIX timers do not survive execve (interval timers do).
    let ids: Vec<i32> = t.tg.posix_timers.lock().unwrap_or_else(|e| e.into_inner()).drain().map(|(id, _)| id).collect();
    for id in ids {
        let z = std::time::Duration::ZERO;
        t.kernel.timers.set(&t.kernel, crate::kernel::timers::TimerKey::Posix(t.tg.tgid, id), z, z);
    }
    *t.tg.exe.lock().unwrap_or_else(|e| e.into_inner()) = loaded.exe;
    *t.tg.exe_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(loaded.exe_at);
    *t.tg.comm.lock().unwrap_or_else(|e| e.into_inner()) = loaded.comm;
    t.clear_child_tid.store(0, Ordering::SeqCst);
    t.tg.did_exec.store(true, Ordering::Relaxed);
    exec_capabilities(&t.tg);
    let mut cpu = CpuState::default();
    cpu.regs = platform::Regs { cs: 0x33, ss: 0x2b, eflags: 0x202, ..Default::default() };
    cpu.regs.rip = loaded.entry;
    cpu.regs.rsp = loaded.sp;
    cpu.fp_dirty = true;
    *sc.cpu = cpu;
    if let Some(v) = t.vfork.lock().unwrap_or_else(|e| e.into_inner()).take() {
        v.release();
    }
    Err(JUST_RETURN)
}

/// Capabilities across execve without file capabilities: a process
/// whose real or effective uid is 0 gets the bounding set as permitted
/// (effective too if its effective uid is 0); anyone else gets none.
/// PR_SET_KEEPCAPS is cleared.
fn exec_capabilities(tg: &crate::kernel::task::ThreadGroup) {
    tg.keepcaps.store(false, Ordering::Relaxed);
    let (uid, euid) = {
        let c = tg.creds.lock().unwrap_or_else(|e| e.into_inner());
        (c.uid, c.euid)
    };
    let bset = tg.capbset.load(Ordering::Relaxed);
    let mut caps = tg.caps.lock().unwrap_or_else(|e| e.into_inner());
    if uid == 0 || euid == 0 {
        caps.1 = bset | (caps.2 & bset);
        caps.0 = if euid == 0 { caps.1 } else { 0 };
    } else {
        caps.0 = 0;
        caps.1 = 0;
    }
}

/// Implements exit(2).
pub fn sys_exit(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    {
        let mut st = t.tg.st();
        if st.live == 1 && st.group_exit.is_none() {
            st.group_exit = Some(((a[0] & 0xff) << 8) as i32);
        }
    }
    t.killed.store(true, Ordering::SeqCst);
    Err(JUST_RETURN)
}

/// Implements exit_group(2).
pub fn sys_exit_group(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    kill_group(&sc.task.kernel, &sc.task.tg, ((a[0] & 0xff) << 8) as i32);
    Err(JUST_RETURN)
}

/// Implements getpid(2).
pub fn sys_getpid(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    Ok(sc.task.tg.tgid as u64)
}

/// Implements getppid(2).
pub fn sys_getppid(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    Ok(sc.task.tg.ppid.load(Ordering::Relaxed) as u64)
}

/// Implements gettid(2).
pub fn sys_gettid(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    Ok(sc.task.tid() as u64)
}

/// Implements set_tid_address(2).
pub fn sys_set_tid_address(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    sc.task.clear_child_tid.store(a[0], Ordering::SeqCst);
    Ok(sc.task.tid() as u64)
}

/// Implements set_robust_list(2).
pub fn sys_set_robust_list(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    sc.task.robust_list.store(a[0], Ordering::SeqCst);
    Ok(0)
}

/// Implements get_robust_list(2).
pub fn sys_get_robust_list(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = if a[0] == 0 { sc.task.clone() } else { sc.task.kernel.task(a[0] as i32).ok_or(Errno::ESRCH)? };
    sc.task.mm().write_val(a[1], &t.robust_list.load(Ordering::SeqCst))?;
    sc.task.mm().write_val(a[2], &24u64)?;
    Ok(0)
}

/// Implements uname(2).
pub fn sys_uname(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let mut b = [0u8; 65 * 6];
    let k = &sc.task.kernel;
    let (host, domain) = (k.hostname(), k.domainname());
    let fields: [&[u8]; 6] =
        [b"Linux", &host, b"4.4.0", b"#1 SMP Sun Jan 10 15:06:54 PST 2016", b"x86_64", &domain];
    for (i, f) in fields.iter().enumerate() {
        let n = f.len().min(64);
        b[i * 65..i * 65 + n].copy_from_slice(&f[..n]);
    }
    sc.task.mm().copy_out(a[0], &b)?;
    Ok(0)
}

fn set_uts(sc: &mut Sc<'_>, a: [u64; 6], host: bool) -> KResult<u64> {
    if a[1] > 64 {
        return Err(Errno::EINVAL);
    }
    if sc.task.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    let mut name = vec![0u8; a[1] as usize];
    sc.task.mm().copy_in(a[0], &mut name)?;
    sc.task.kernel.set_uts_name(host, name);
    Ok(0)
}

/// Implements sethostname(2): the sandbox's own name, never the host's.
pub fn sys_sethostname(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_uts(sc, a, true)
}

/// Implements setdomainname(2).
pub fn sys_setdomainname(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    set_uts(sc, a, false)
}

/// Implements arch_prctl(2).
pub fn sys_arch_prctl(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    match a[0] {
        0x1002 => {
            if a[1] >= 0x8000_0000_0000 {
                return Err(Errno::EPERM);
            }
            sc.cpu.regs.fs_base = a[1];
            Ok(0)
        }
        0x1001 => {
            if a[1] >= 0x8000_0000_0000 {
                return Err(Errno::EPERM);
            }
            sc.cpu.regs.gs_base = a[1];
            Ok(0)
        }
        0x1003 => {
            sc.task.mm().write_val(a[1], &sc.cpu.regs.fs_base)?;
            Ok(0)
        }
        0x1004 => {
            sc.task.mm().write_val(a[1], &sc.cpu.regs.gs_base)?;
            Ok(0)
        }
        0x3001 => Err(Errno::ENODEV), // ARCH_GET_CPUID-style requests
        _ => Err(Errno::EINVAL),
    }
}

/// CAP_LAST_CAP on Linux 6.x.
const LAST_CAP: u64 = 40;

fn has_cap(sc: &Sc<'_>, cap: u32) -> bool {
    sc.task.capable(cap)
}

/// Implements prctl(2).
pub fn sys_prctl(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    match a[0] {
        15 => {
            // PR_SET_NAME
            let mut n = sc.task.mm().read_cstring(a[1], 4096)?;
            n.truncate(15);
            *sc.task.tg.comm.lock().unwrap_or_else(|e| e.into_inner()) = n;
            Ok(0)
        }
        16 => {
            let mut n = sc.task.tg.comm.lock().unwrap_or_else(|e| e.into_inner()).clone();
            n.resize(16, 0);
            sc.task.mm().copy_out(a[1], &n)?;
            Ok(0)
        }
        1 => {
            // PR_SET_PDEATHSIG
            if a[1] > 64 {
                return Err(Errno::EINVAL);
            }
            sc.task.pdeathsig.store(a[1] as i32, Ordering::Relaxed);
            Ok(0)
        }
        2 => {
            sc.task.mm().write_val(a[1], &sc.task.pdeathsig.load(Ordering::Relaxed))?;
            Ok(0)
        }
        3 => Ok(sc.task.tg.dumpable.load(Ordering::Relaxed) as u64),
        4 => {
            if a[1] > 1 {
                return Err(Errno::EINVAL);
            }
            sc.task.tg.dumpable.store(a[1] == 1, Ordering::Relaxed);
            Ok(0)
        }
        36 => {
            sc.task.tg.subreaper.store(a[1] != 0, Ordering::Relaxed);
            Ok(0)
        }
        37 => {
            sc.task.mm().write_val(a[1], &(sc.task.tg.subreaper.load(Ordering::Relaxed) as i32))?;
            Ok(0)
        }
        7 => Ok(sc.task.tg.keepcaps.load(Ordering::Relaxed) as u64),
        8 => {
            // PR_SET_KEEPCAPS
            if a[1] > 1 {
                return Err(Errno::EINVAL);
            }
            sc.task.tg.keepcaps.store(a[1] == 1, Ordering::Relaxed);
            Ok(0)
        }
        23 => {
            // PR_CAPBSET_READ
            if a[1] > LAST_CAP {
                return Err(Errno::EINVAL);
            }
            Ok((sc.task.tg.capbset.load(Ordering::Relaxed) >> a[1]) & 1)
        }
        24 => {
            // PR_CAPBSET_DROP needs CAP_SETPCAP.
            if a[1] > LAST_CAP {
                return Err(Errno::EINVAL);
            }
            if !has_cap(sc, 8) {
                return Err(Errno::EPERM);
            }
            sc.task.tg.capbset.fetch_and(!(1 << a[1]), Ordering::Relaxed);
            Ok(0)
        }
        27 => Ok(sc.task.tg.securebits.load(Ordering::Relaxed)),
        28 => {
            // PR_SET_SECUREBITS: the six defined bits, with CAP_SETPCAP.
            if a[1] & !0x3f != 0 {
                return Err(Errno::EINVAL);
            }
            if !has_cap(sc, 8) {
                return Err(Errno::EPERM);
            }
            sc.task.tg.securebits.store(a[1], Ordering::Relaxed);
            Ok(0)
        }
        29 => {
            // PR_SET_TIMERSLACK: 0 restores the default.
            let v = if a[1] == 0 { 50_000 } else { a[1] };
            sc.task.timerslack.store(v, Ordering::Relaxed);
            Ok(0)
        }
        30 => Ok(sc.task.timerslack.load(Ordering::Relaxed)),
        40 => {
            // PR_GET_TID_ADDRESS
            sc.task.mm().write_val(a[1], &sc.task.clear_child_tid.load(Ordering::SeqCst))?;
            Ok(0)
        }
        41 => {
            // PR_SET_THP_DISABLE
            if a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            sc.task.tg.thp_disable.store(a[1] != 0, Ordering::Relaxed);
            Ok(0)
        }
        42 => {
            if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(sc.task.tg.thp_disable.load(Ordering::Relaxed) as u64)
        }
        38 => {
            // PR_SET_NO_NEW_PRIVS: only ever set, never cleared.
            if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            sc.task.no_new_privs.store(true, Ordering::Relaxed);
            Ok(0)
        }
        39 => {
            if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(sc.task.no_new_privs.load(Ordering::Relaxed) as u64)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Implements sched_yield(2).
pub fn sys_sched_yield(_sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    std::thread::yield_now();
    Ok(0)
}

/// Implements getcpu(2).
pub fn sys_getcpu(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    if a[0] != 0 {
        sc.task.mm().write_val(a[0], &0u32)?;
    }
    if a[1] != 0 {
        sc.task.mm().write_val(a[1], &0u32)?;
    }
    Ok(0)
}

/// Implements getrandom(2). Fills up to the first unwritable page: a
/// partial fill returns its length, none at all is EFAULT.
pub fn sys_getrandom(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const VALID: u64 = 1 | 2 | 4; // GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE
    if a[2] & !VALID != 0 || a[2] & 6 == 6 {
        return Err(Errno::EINVAL);
    }
    let n = (a[1] as usize).min(33_554_431);
    let mut b = vec![0u8; n.min(1 << 20)];
    crate::kernel::fill_random(&mut b);
    let mm = sc.task.mm();
    let mut done = 0;
    while done < b.len() {
        let page_left = (4096 - (a[0] + done as u64) % 4096) as usize;
        let chunk = page_left.min(b.len() - done);
        match mm.copy_out(a[0] + done as u64, &b[done..done + chunk]) {
            Ok(()) => done += chunk,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done as u64)
}
