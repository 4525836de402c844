//! Tasks (application threads) and thread groups (processes). Each task
//! runs on its own host thread, driving its platform context in a loop:
//! switch to the application, serve the syscall or fault, deliver signals.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use platform::{Context, CpuState, Exit, Interrupter};

use super::signal::{self, bit, sig, Pending, QueuedSignal, SigAction};
use super::wait::{WaitQueue, Waker};
use super::Kernel;
use crate::errno::{Errno, KResult};
use crate::mm::MemoryManager;
use crate::vfs::path::Location;
use crate::vfs::FdTable;

/// CAP_NET_ADMIN: configure the network (buffer sizes past the limits).
pub const CAP_NET_ADMIN: u32 = 12;

/// Credentials.
#[derive(Clone, Debug, Default)]
#[allow(missing_docs)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub groups: Vec<u32>,
}

/// Filesystem context: root, cwd, umask (shared by CLONE_FS).
#[derive(Clone)]
pub struct FsContext {
    /// Root.
    pub root: Location,
    /// Working directory.
    pub cwd: Location,
    /// umask.
    pub umask: u32,
}

/// Resource limit.
#[derive(Clone, Copy, Debug)]
pub struct Rlimit {
    /// Soft.
    pub cur: u64,
    /// Hard.
    pub max: u64,
}

/// Every capability Linux 6.x knows (CAP_LAST_CAP = 40), as root has them.
pub const ALL_CAPS: (u64, u64, u64) = ((1 << 41) - 1, (1 << 41) - 1, 0);

/// RLIM_INFINITY.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Thread-group state under one lock.
#[derive(Default)]
pub struct TgState {
    /// Live threads.
    pub live: usize,
    /// Set by exit_group or a fatal signal: the wait status all threads exit with.
    pub group_exit: Option<i32>,
    /// All threads gone; waiting to be reaped.
    pub zombie: bool,
    /// The final wait status.
    pub status: i32,
    /// Thread ids.
    pub threads: Vec<i32>,
    /// Stopped by a stop signal (job control).
    pub stopped: bool,
    /// A stop not yet collected by wait (WUNTRACED): the stop signal.
    pub stop_event: Option<i32>,
    /// A continue not yet collected by wait (WCONTINUED).
    pub cont_event: bool,
}

pub use super::signal::RestartBlock;

/// A thread group (process).
pub struct ThreadGroup {
    /// Process id.
    pub tgid: i32,
    /// Parent's tgid.
    pub ppid: AtomicI32,
    /// Process group.
    pub pgid_: AtomicI32,
    /// Session.
    pub sid: AtomicI32,
    /// Signal handlers (shared by CLONE_SIGHAND).
    pub sighand: Mutex<Arc<Mutex<[SigAction; 64]>>>,
    /// Process-directed pending signals.
    pub pending: Mutex<Pending>,
    /// State.
    pub state: Mutex<TgState>,
    /// Notified when a child changes state.
    pub child_wq: WaitQueue,
    /// Notified when one of its threads exits (an execve waits there for
    /// the others to go).
    pub thread_exit_wq: WaitQueue,
    /// Children.
    pub children: Mutex<Vec<Arc<ThreadGroup>>>,
    /// Signal sent to the parent at exit.
    pub exit_signal: AtomicI32,
    /// Credentials.
    pub creds: Mutex<Creds>,
    /// Resource limits.
    pub rlimits: Mutex<[Rlimit; 16]>,
    /// Executable path.
    pub exe: Mutex<Vec<u8>>,
    /// Where the executable is (/proc/PID/exe leads there, even once it
    /// is deleted or renamed); None before the first exec.
    pub exe_at: Mutex<Option<Location>>,
    /// Command name (comm).
    pub comm: Mutex<Vec<u8>>,
    /// PR_SET_DUMPABLE.
    pub dumpable: AtomicBool,
    /// SEM_UNDO adjustments: (set, semaphore) -> value to add back at exit.
    pub sem_undo: Mutex<std::collections::HashMap<(i32, usize), i32>>,
    /// POSIX timers by id.
    pub posix_timers: Mutex<std::collections::HashMap<i32, super::timers::PosixTimer>>,
    /// System V segments attached: address -> (id, size).
    pub shm_attached: Mutex<std::collections::HashMap<u64, (i32, u64)>>,
    /// sched_setscheduler policy and priority.
    pub sched: Mutex<(i32, i32)>,
    /// sched_setaffinity mask (0: every CPU).
    pub affinity: AtomicU64,
    /// Nice value (setpriority).
    pub nice: AtomicI32,
    /// Capability sets (effective, permitted, inheritable).
    pub caps: Mutex<(u64, u64, u64)>,
    /// CPU time (user, system) of threads that exited.
    pub cpu_exited: Mutex<(Duration, Duration)>,
    /// CPU time (user, system) of reaped children and their descendants.
    pub cpu_children: Mutex<(Duration, Duration)>,
    /// PR_SET_CHILD_SUBREAPER: orphaned descendants are reparented here.
    pub subreaper: AtomicBool,
    /// The controlling terminal.
    pub ctty: Mutex<Option<Arc<dyn crate::fs::tty::Terminal>>>,
    /// execve has run since fork (setpgid on it is EACCES).
    pub did_exec: AtomicBool,
    /// PR_SET_KEEPCAPS: leaving uid 0 keeps the permitted capabilities.
    pub keepcaps: AtomicBool,
    /// Time since boot when it was created (/proc/[pid]/stat starttime).
    pub start: Duration,
    /// The capability bounding set (PR_CAPBSET_READ/DROP).
    pub capbset: AtomicU64,
    /// personality(2)'s persona (ADDR_NO_RANDOMIZE keeps the stack where
    /// it is at the next exec).
    pub persona: std::sync::atomic::AtomicU32,
    /// PR_SET_SECUREBITS.
    pub securebits: AtomicU64,
    /// PR_SET_THP_DISABLE.
    pub thp_disable: AtomicBool,
}

impl ThreadGroup {
    /// Process group id.
    pub fn pgid(&self) -> i32 {
        self.pgid_.load(Ordering::Relaxed)
    }

    /// Lock state.
    pub fn st(&self) -> MutexGuard<'_, TgState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The handler table.
    pub fn handlers(&self) -> Arc<Mutex<[SigAction; 64]>> {
        self.sighand.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The action for a signal.
    pub fn action(&self, s: i32) -> SigAction {
        self.handlers().lock().unwrap_or_else(|e| e.into_inner())[(s - 1) as usize]
    }

    /// CPU time of the whole group: live threads and exited ones.
    pub fn cpu_times(&self, kernel: &Kernel) -> (Duration, Duration) {
        let (mut u, mut s) = *self.cpu_exited.lock().unwrap_or_else(|e| e.into_inner());
        for tid in self.st().threads.clone() {
            if let Some(t) = kernel.task(tid) {
                let (tu, ts) = t.cpu_times();
                u += tu;
                s += ts;
            }
        }
        (u, s)
    }

    /// An rlimit.
    pub fn rlimit(&self, r: usize) -> Rlimit {
        self.rlimits.lock().unwrap_or_else(|e| e.into_inner())[r]
    }
}

/// Default rlimits.
pub fn default_rlimits() -> [Rlimit; 16] {
    let inf = Rlimit { cur: RLIM_INFINITY, max: RLIM_INFINITY };
    let mut r = [inf; 16];
    r[3] = Rlimit { cur: 8 << 20, max: RLIM_INFINITY }; // STACK
    r[4] = Rlimit { cur: 0, max: RLIM_INFINITY }; // CORE
    r[6] = Rlimit { cur: 4096, max: 4096 }; // NPROC
    r[7] = Rlimit { cur: 1024, max: 4096 }; // NOFILE
    r[8] = Rlimit { cur: 8 << 20, max: 8 << 20 }; // MEMLOCK
    r[11] = Rlimit { cur: 4096, max: 4096 }; // SIGPENDING
    r[12] = Rlimit { cur: 819200, max: 819200 }; // MSGQUEUE
    r
}

/// A vfork parent waits on this until the child execs or exits.
#[derive(Default)]
pub struct VforkDone {
    done: Mutex<bool>,
    cv: Condvar,
}

impl VforkDone {
    /// Release the parent.
    pub fn release(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }
    /// Wait for release.
    pub fn wait(&self) {
        let mut d = self.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*d {
            d = self.cv.wait(d).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Task {
    /// Note the syscall `nr` with `args` as being served (None: done).
    pub fn note_syscall(&self, call: Option<(u64, &[u64; 6], u64, u64)>) {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.in_syscall;
        match call {
            Some((nr, args, sp, pc)) => {
                for (slot, v) in s[1..7].iter().zip(args) {
                    slot.store(*v, Relaxed);
                }
                s[7].store(sp, Relaxed);
                s[8].store(pc, Relaxed);
                s[0].store(nr + 1, Relaxed);
            }
            None => s[0].store(0, Relaxed),
        }
    }

    /// The syscall being served: number, arguments, sp, pc.
    pub fn current_syscall(&self) -> Option<(u64, [u64; 6], u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.in_syscall;
        let nr = s[0].load(Relaxed).checked_sub(1)?;
        let a: [u64; 6] = std::array::from_fn(|i| s[i + 1].load(Relaxed));
        Some((nr, a, s[7].load(Relaxed), s[8].load(Relaxed)))
    }
}

/// An application thread.
pub struct Task {
    /// Thread id (changes once, when a non-leader thread execs and takes
    /// over the leader's id).
    tid_: AtomicI32,
    /// Its thread group.
    pub tg: Arc<ThreadGroup>,
    /// The kernel.
    pub kernel: Arc<Kernel>,
    mm: Mutex<Arc<MemoryManager>>,
    fds: Mutex<Arc<FdTable>>,
    fs: Mutex<Arc<Mutex<FsContext>>>,
    /// Blocked signals.
    pub sigmask: AtomicU64,
    /// Mask to restore after a sigsuspend-style wait, once a handler ran.
    pub saved_mask: Mutex<Option<u64>>,
    /// Thread-directed pending signals.
    pub pending: Mutex<Pending>,
    /// set_tid_address / CLONE_CHILD_CLEARTID.
    pub clear_child_tid: AtomicU64,
    /// set_robust_list head.
    pub robust_list: AtomicU64,
    /// Its futexes are released (robust list walked, PI locks given up):
    /// a PI lock word naming it is an owner that died (Linux's
    /// FUTEX_STATE_DEAD), even while the task is still in the table.
    pub futex_dead: AtomicBool,
    /// Wakes this task from blocking waits.
    pub waker: Arc<Waker>,
    /// The syscall being served, for /proc/PID/syscall and the SIGQUIT
    /// dump: number + 1 (0: none), its six arguments, sp and pc.
    pub in_syscall: [std::sync::atomic::AtomicU64; 9],
    interrupter: Mutex<Option<Interrupter>>,
    /// Set when the task must exit (group exit, SIGKILL).
    pub killed: AtomicBool,
    /// For a vfork child: the parent's wait.
    pub vfork: Mutex<Option<Arc<VforkDone>>>,
    /// sigaltstack (sp, flags, size).
    pub altstack: Mutex<(u64, i32, u64)>,
    /// PR_SET_PDEATHSIG: sent to this task when its parent process exits.
    pub pdeathsig: AtomicI32,
    /// PR_SET_NO_NEW_PRIVS (inherited across fork and execve).
    pub no_new_privs: AtomicBool,
    /// PR_SET_TIMERSLACK, in ns.
    pub timerslack: AtomicU64,
    /// How restart_syscall(2) resumes the syscall that was interrupted
    /// with ERESTART_RESTARTBLOCK (Linux's restart_block).
    pub restart_block: Mutex<Option<RestartBlock>>,
    /// Reads the CPU time of the task's application code.
    app_cpu: Mutex<Option<Arc<dyn platform::AppCpuTime>>>,
    /// The host thread serving the task (its time is the task's system time).
    host_tid: AtomicI32,
}

impl Task {
    /// Thread id.
    pub fn tid(&self) -> i32 {
        self.tid_.load(Ordering::Relaxed)
    }

    /// Change the thread id (only [`Kernel::retid`] does, under the task
    /// table's lock).
    pub(super) fn set_tid(&self, tid: i32) {
        self.tid_.store(tid, Ordering::SeqCst);
    }

    /// A new task.
    pub fn new(
        tid: i32,
        tg: Arc<ThreadGroup>,
        kernel: Arc<Kernel>,
        mm: Arc<MemoryManager>,
        fds: Arc<FdTable>,
        fs: Arc<Mutex<FsContext>>,
        sigmask: u64,
    ) -> Arc<Task> {
        Arc::new(Task {
            tid_: AtomicI32::new(tid),
            tg,
            kernel,
            mm: Mutex::new(mm),
            fds: Mutex::new(fds),
            fs: Mutex::new(fs),
            sigmask: AtomicU64::new(sigmask),
            saved_mask: Mutex::new(None),
            pending: Mutex::new(Pending::default()),
            clear_child_tid: AtomicU64::new(0),
            robust_list: AtomicU64::new(0),
            futex_dead: AtomicBool::new(false),
            waker: Arc::new(Waker::default()),
            in_syscall: Default::default(),
            interrupter: Mutex::new(None),
            killed: AtomicBool::new(false),
            vfork: Mutex::new(None),
            altstack: Mutex::new((0, 2, 0)),
            pdeathsig: AtomicI32::new(0),
            no_new_privs: AtomicBool::new(false),
            timerslack: AtomicU64::new(50_000),
            restart_block: Mutex::new(None),
            app_cpu: Mutex::new(None),
            host_tid: AtomicI32::new(0),
        })
    }

    /// A new thread group.
    pub fn new_group(tgid: i32, ppid: i32, parent: Option<&ThreadGroup>, exit_signal: i32) -> Arc<ThreadGroup> {
        let (handlers, creds, rlimits, exe, comm, pgid, sid) = match parent {
            Some(p) => (
                *p.handlers().lock().unwrap_or_else(|e| e.into_inner()),
                p.creds.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                *p.rlimits.lock().unwrap_or_else(|e| e.into_inner()),
                p.exe.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                p.comm.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                p.pgid(),
                p.sid.load(Ordering::Relaxed),
            ),
            None => ([SigAction::default(); 64], Creds::default(), default_rlimits(), Vec::new(), Vec::new(), tgid, tgid),
        };
        Arc::new(ThreadGroup {
            tgid,
            ppid: AtomicI32::new(ppid),
            pgid_: AtomicI32::new(pgid),
            sid: AtomicI32::new(sid),
            sighand: Mutex::new(Arc::new(Mutex::new(handlers))),
            pending: Mutex::new(Pending::default()),
            state: Mutex::new(TgState::default()),
            child_wq: WaitQueue::default(),
            thread_exit_wq: WaitQueue::default(),
            children: Mutex::new(Vec::new()),
            exit_signal: AtomicI32::new(exit_signal),
            creds: Mutex::new(creds),
            rlimits: Mutex::new(rlimits),
            exe: Mutex::new(exe),
            exe_at: Mutex::new(parent.and_then(|p| p.exe_at.lock().unwrap_or_else(|e| e.into_inner()).clone())),
            comm: Mutex::new(comm),
            dumpable: AtomicBool::new(true),
            sem_undo: Mutex::new(std::collections::HashMap::new()),
            posix_timers: Mutex::new(std::collections::HashMap::new()),
            shm_attached: Mutex::new(parent.map(|p| p.shm_attached.lock().unwrap_or_else(|e| e.into_inner()).clone()).unwrap_or_default()),
            sched: Mutex::new(parent.map(|p| *p.sched.lock().unwrap_or_else(|e| e.into_inner())).unwrap_or((0, 0))),
            affinity: AtomicU64::new(parent.map(|p| p.affinity.load(Ordering::Relaxed)).unwrap_or(0)),
            nice: AtomicI32::new(parent.map(|p| p.nice.load(Ordering::Relaxed)).unwrap_or(0)),
            caps: Mutex::new(parent.map(|p| *p.caps.lock().unwrap_or_else(|e| e.into_inner())).unwrap_or(ALL_CAPS)),
            cpu_exited: Mutex::new(Default::default()),
            cpu_children: Mutex::new(Default::default()),
            subreaper: AtomicBool::new(false),
            ctty: Mutex::new(parent.and_then(crate::fs::tty::ctty_of)),
            did_exec: AtomicBool::new(false),
            keepcaps: AtomicBool::new(parent.is_some_and(|p| p.keepcaps.load(Ordering::Relaxed))),
            start: super::uptime(),
            capbset: AtomicU64::new(parent.map_or(ALL_CAPS.1, |p| p.capbset.load(Ordering::Relaxed))),
            persona: std::sync::atomic::AtomicU32::new(parent.map_or(0, |p| p.persona.load(Ordering::Relaxed))),
            securebits: AtomicU64::new(parent.map_or(0, |p| p.securebits.load(Ordering::Relaxed))),
            thp_disable: AtomicBool::new(parent.is_some_and(|p| p.thp_disable.load(Ordering::Relaxed))),
        })
    }

    /// The address space.
    pub fn mm(&self) -> Arc<MemoryManager> {
        self.mm.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replace the address space (execve); returns the old one.
    pub fn set_mm(&self, mm: Arc<MemoryManager>) -> Arc<MemoryManager> {
        std::mem::replace(&mut *self.mm.lock().unwrap_or_else(|e| e.into_inner()), mm)
    }

    /// The fd table.
    pub fn fds(&self) -> Arc<FdTable> {
        self.fds.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replace the fd table.
    pub fn set_fds(&self, f: Arc<FdTable>) -> Arc<FdTable> {
        std::mem::replace(&mut *self.fds.lock().unwrap_or_else(|e| e.into_inner()), f)
    }

    /// The filesystem context (shared object).
    pub fn fs_shared(&self) -> Arc<Mutex<FsContext>> {
        self.fs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Give the task its own filesystem context (unshare(CLONE_FS)).
    pub fn set_fs(&self, fs: Arc<Mutex<FsContext>>) {
        *self.fs.lock().unwrap_or_else(|e| e.into_inner()) = fs;
    }

    /// The root (a copy of that location only).
    pub fn fs_root(&self) -> Location {
        let fs = self.fs_shared();
        let mut fs = fs.lock().unwrap_or_else(|e| e.into_inner());
        if fs.root.gen != crate::vfs::moves::done() {
            fs.root = fs.root.current();
        }
        fs.root.clone()
    }

    /// The working directory (a copy of that location only), where renames
    /// since it was set put it.
    pub fn fs_cwd(&self) -> Location {
        let fs = self.fs_shared();
        let mut fs = fs.lock().unwrap_or_else(|e| e.into_inner());
        if fs.cwd.gen != crate::vfs::moves::done() {
            fs.cwd = fs.cwd.current();
        }
        fs.cwd.clone()
    }

    /// The umask.
    pub fn umask(&self) -> u32 {
        self.fs_shared().lock().unwrap_or_else(|e| e.into_inner()).umask
    }

    /// A snapshot of the filesystem context.
    pub fn fs(&self) -> FsContext {
        self.fs_shared().lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Install the interrupter of the running context.
    pub fn set_interrupter(&self, i: Interrupter) {
        self.waker.set_idle_hook(i.clone());
        *self.interrupter.lock().unwrap_or_else(|e| e.into_inner()) = Some(i);
    }

    /// Make the task notice something: wake a blocking wait and interrupt
    /// application code.
    pub fn kick(&self) {
        self.waker.notify();
        if let Some(i) = self.interrupter.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            i.interrupt();
        }
    }

    /// CPU time so far: (user: the application's own code, system: the
    /// sentry serving it).
    pub fn cpu_times(&self) -> (Duration, Duration) {
        let user = self.app_cpu.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|c| c.app_cpu_time()).unwrap_or_default();
        let tid = self.host_tid.load(Ordering::Relaxed);
        let sys = if tid != 0 { Duration::from_nanos(crate::sys::thread_cpu_ns(tid)) } else { Duration::ZERO };
        (user, sys)
    }

    /// Whether the task's effective capabilities hold `cap`.
    pub fn capable(&self, cap: u32) -> bool {
        self.tg.caps.lock().unwrap_or_else(|e| e.into_inner()).0 & (1 << cap) != 0
    }

    /// Credentials snapshot.
    pub fn creds(&self) -> Creds {
        self.tg.creds.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Take the lowest-numbered pending signal not in `blocked`: the
    /// thread's own queue first, then the process's.
    pub fn take_pending(&self, blocked: u64) -> Option<QueuedSignal> {
        let q = self.pending.lock().unwrap_or_else(|e| e.into_inner()).take(blocked);
        let mut q = q.or_else(|| self.tg.pending.lock().unwrap_or_else(|e| e.into_inner()).take(blocked))?;
        if q.code == super::timers::SI_TIMER {
            // The timer's overruns go out with its signal (si_overrun).
            if let Some(pt) = self.tg.posix_timers.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&q.pid) {
                q.uid = pt.overrun;
                pt.overrun_last = pt.overrun;
                pt.overrun = 0;
            }
        }
        Some(q)
    }

    /// Whether an unblocked signal is pending (or the task must exit).
    pub fn has_pending_signal(&self) -> bool {
        if self.killed.load(Ordering::SeqCst) {
            return true;
        }
        let blocked = self.sigmask.load(Ordering::SeqCst);
        let t = self.pending.lock().unwrap_or_else(|e| e.into_inner()).mask;
        let p = self.tg.pending.lock().unwrap_or_else(|e| e.into_inner()).mask;
        (t | p) & !blocked != 0
    }

    /// Queue a thread-directed signal.
    pub fn send_signal_thread(&self, s: QueuedSignal) {
        if s.signo == sig::SIGKILL {
            kill_group(&self.kernel, &self.tg, sig::SIGKILL);
            return;
        }
        if s.signo == sig::SIGCONT {
            super::jobctl::continue_group(&self.kernel, &self.tg);
        }
        super::jobctl::on_stop_generated(&self.kernel, &self.tg, s.signo);
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).push(s);
        self.kick();
    }

    /// Block until `check` returns Some, a signal arrives (ERESTARTSYS), or
    /// the deadline passes (ETIMEDOUT). `nonblock` makes a not-ready check
    /// EAGAIN.
    pub fn block_on<R>(
        &self,
        wq: &WaitQueue,
        nonblock: bool,
        deadline: Option<Instant>,
        mut check: impl FnMut() -> Option<R>,
    ) -> KResult<R> {
        if let Some(r) = check() {
            return Ok(r);
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        wq.add(&self.waker);
        let r = loop {
            let g = self.waker.gen();
            if let Some(r) = check() {
                break Ok(r);
            }
            if self.has_pending_signal() {
                break Err(Errno::ERESTARTSYS);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break Err(Errno::ETIMEDOUT);
            }
            self.waker.wait(g, deadline);
        };
        wq.remove(&self.waker);
        r
    }

    /// Sleep until the deadline (None: forever) or a signal.
    pub fn sleep_until(&self, deadline: Option<Instant>) -> KResult<()> {
        loop {
            let g = self.waker.gen();
            if self.has_pending_signal() {
                return Err(Errno::EINTR);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(());
            }
            self.waker.wait(g, deadline);
        }
    }
}

/// Send a process-directed signal to a thread group.
pub fn send_group(kernel: &Kernel, tg: &Arc<ThreadGroup>, s: QueuedSignal) {
    if s.signo == sig::SIGKILL {
        kill_group(kernel, tg, sig::SIGKILL);
        return;
    }
    if s.signo == 0 {
        return;
    }
    if s.signo == sig::SIGCONT {
        super::jobctl::continue_group(kernel, tg);
    }
    super::jobctl::on_stop_generated(kernel, tg, s.signo);
    // Ignored signals are discarded at generation, unless blocked: a
    // blocked signal stays pending for sigwait and signalfd.
    let act = tg.action(s.signo);
    let threads = tg.st().threads.clone();
    if act.handler == signal::SIG_IGN
        || (act.handler == signal::SIG_DFL && signal::default_action(s.signo) == signal::Default::Ignore)
    {
        let blocked = threads
            .iter()
            .filter_map(|&tid| kernel.task(tid))
            .any(|t| t.sigmask.load(Ordering::SeqCst) & bit(s.signo) != 0);
        if !blocked {
            return;
        }
    }
    tg.pending.lock().unwrap_or_else(|e| e.into_inner()).push(s);
    // Wake a thread that does not block it, or else all of them (a
    // thread polling a signalfd must look again).
    let tasks: Vec<Arc<Task>> = threads.iter().filter_map(|&tid| kernel.task(tid)).collect();
    match tasks.iter().find(|t| t.sigmask.load(Ordering::SeqCst) & bit(s.signo) == 0) {
        Some(t) => t.kick(),
        None => tasks.iter().for_each(|t| t.waker.notify()),
    }
}

/// Make every thread of a group exit with wait status `status`.
pub fn kill_group(kernel: &Kernel, tg: &Arc<ThreadGroup>, status: i32) {
    let threads = {
        let mut st = tg.st();
        if st.group_exit.is_none() {
            st.group_exit = Some(status);
        }
        st.threads.clone()
    };
    for tid in threads {
        if let Some(t) = kernel.task(tid) {
            t.killed.store(true, Ordering::SeqCst);
            t.kick();
        }
    }
}

/// The run loop of a task on its host thread.
pub fn run(task: Arc<Task>, mut ctx: Box<dyn Context>, mut cpu: CpuState) {
    task.set_interrupter(ctx.interrupter());
    *task.app_cpu.lock().unwrap_or_else(|e| e.into_inner()) = Some(ctx.cpu_time());
    task.host_tid.store(nix::unistd::gettid().as_raw(), Ordering::Relaxed);
    crate::fs::proc::CURRENT.with(|c| c.set(task.tid()));
    let mut last_fault = (0u64, 0u64);
    let timing = task.kernel.opts.timing;
    // Wake-ups a syscall makes go out once the application runs again, on
    // platforms that say when that is; on others they are never put off.
    let defer = ctx.calls_after_resume() && super::wait::deferring();
    loop {
        if task.killed.load(Ordering::SeqCst) {
            break;
        }
        crate::syscalls::signal::deliver_pending(&task, &mut cpu, &mut ctx);
        super::jobctl::wait_while_stopped(&task);
        if task.killed.load(Ordering::SeqCst) {
            break;
        }
        let mm = task.mm();
        let stats = &task.kernel.stats;
        // Only --debug reads the clock around each exit.
        let t0 = timing.then(Instant::now);
        let exit = ctx.switch(&mm.as_, &mut cpu);
        // (Put-off wake-ups went out once the application ran; not if the
        // switch returned before that.)
        super::wait::flush_deferred();
        let t1 = t0.map(|t0| {
            let t1 = Instant::now();
            stats.app_ns.fetch_add((t1 - t0).as_nanos() as u64, Ordering::Relaxed);
            t1
        });
        match exit {
            Ok(Exit::Syscall) => {
                last_fault = (0, 0);
                stats.syscalls.fetch_add(1, Ordering::Relaxed);
                let nr = (cpu.regs.orig_rax as usize) & 511;
                if !ctx.entered_directly() {
                    mm.note_syscall_site(cpu.regs.orig_rax, cpu.regs.rip);
                }
                if defer {
                    super::wait::defer_wakeups();
                }
                crate::syscalls::dispatch(&task, &mut cpu, &mut ctx);
                if let Some(t1) = t1 {
                    stats.syscall_n[nr].fetch_add(1, Ordering::Relaxed);
                    stats.syscall_ns[nr].fetch_add(t1.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
            }
            Ok(Exit::Fault { addr, ip, .. }) => {
                let repeated = last_fault == (addr, ip);
                stats.faults.fetch_add(1, Ordering::Relaxed);
                last_fault = (addr, ip);
                match mm.handle_fault(addr, repeated) {
                    Err(f) if f.signo == sig::SIGKILL => {
                        // The memory limit: the out-of-memory kill.
                        tracing::warn!("out of memory: killed process {} ({} bytes in use)", task.tg.tgid, task.kernel.mf.used_bytes());
                        kill_group(&task.kernel, &task.tg, sig::SIGKILL);
                    }
                    Err(f) => {
                        tracing::debug!("task {}: signal {} at {addr:#x} ip {ip:#x} code {}", task.tid(), f.signo, f.code);
                        force_signal(&task, QueuedSignal { signo: f.signo, code: f.code, addr, ..Default::default() });
                    }
                    Ok(()) => {}
                }
                if let Some(t1) = t1 {
                    stats.fault_ns.fetch_add(t1.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
            }
            Ok(Exit::Signal(si)) => {
                // A thread that met a syscall site while it was being
                // patched, or a syscall restarted there.
                let patched = if si.signo == sig::SIGILL { mm.patched_site_at(cpu.regs.rip, cpu.regs.rax) } else { None };
                match patched {
                    Some(crate::mm::patch::PatchedTrap::Resume(at)) => {
                        cpu.regs.rip = at;
                        continue;
                    }
                    Some(crate::mm::patch::PatchedTrap::Syscall(ret)) => {
                        cpu.regs.rip = ret;
                        cpu.regs.orig_rax = cpu.regs.rax;
                        crate::syscalls::dispatch(&task, &mut cpu, &mut ctx);
                        continue;
                    }
                    None => {}
                }
                tracing::debug!("task {}: trap {:?} at ip {:#x}", task.tid(), si, cpu.regs.rip);
                force_signal(&task, QueuedSignal { signo: si.signo, code: si.code, addr: si.addr, ..Default::default() })
            }
            Ok(Exit::Interrupted) => {}
            Err(e) => {
                tracing::error!("task {}: platform failure: {e}", task.tid());
                kill_group(&task.kernel, &task.tg, sig::SIGKILL);
            }
        }
    }
    super::wait::flush_deferred();
    exit_task(&task, &mut ctx);
}

/// Deliver a synchronous signal caused by the task itself: if it is
/// blocked or ignored, the default action applies (as Linux's force_sig).
pub fn force_signal(task: &Task, s: QueuedSignal) {
    let h = task.tg.handlers();
    {
        let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
        let a = &mut h[(s.signo - 1) as usize];
        let blocked = task.sigmask.load(Ordering::SeqCst) & bit(s.signo) != 0;
        if a.handler == signal::SIG_IGN || blocked {
            a.handler = signal::SIG_DFL;
        }
    }
    task.sigmask.fetch_and(!bit(s.signo), Ordering::SeqCst);
    task.pending.lock().unwrap_or_else(|e| e.into_inner()).push(s);
}

pub use super::exit::exit_task;
