//! The kernel: global state, tasks, thread groups, signals, futexes.
//!
//! Lock order: Kernel::tasks, then ThreadGroup::state, then Task state locks;
//! MemoryManager locks are leaves with respect to these.

mod exec;
mod exit;
pub mod futex;
pub mod ipc;
pub mod jobctl;
pub mod signal;
pub mod sysctl;
pub mod task;
pub mod timers;
pub mod wait;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Instant;

use platform::Platform;

use crate::errno::{Errno, KResult};
use crate::mm::MemoryFile;
use crate::vfs::Inode;
use task::{Task, ThreadGroup};

static BOOT: OnceLock<(Instant, (i64, i64))> = OnceLock::new();

/// Wall-clock time the sandbox started.
pub fn boot_time() -> (i64, i64) {
    BOOT.get_or_init(|| (Instant::now(), crate::vfs::now())).1
}

/// Monotonic time since the sandbox started.
pub fn uptime() -> std::time::Duration {
    BOOT.get_or_init(|| (Instant::now(), crate::vfs::now())).0.elapsed()
}

/// Fill with random bytes.
pub fn fill_random(b: &mut [u8]) {
    crate::sys::getrandom(b);
}

/// Most tasks the sandbox runs at once (each is a host thread and a stub
/// thread); clone past it is EAGAIN.
pub const MAX_TASKS: usize = 4096;

/// Event counters, reported with --debug.
#[derive(Debug)]
pub struct Stats {
    /// Syscalls served.
    pub syscalls: std::sync::atomic::AtomicU64,
    /// Page faults handled (mapped, not signalled).
    pub faults: std::sync::atomic::AtomicU64,
    /// Wall time (ns) in the application, including the trip to it and back.
    pub app_ns: std::sync::atomic::AtomicU64,
    /// Wall time (ns) serving page faults.
    pub fault_ns: std::sync::atomic::AtomicU64,
    /// Wall time (ns) serving each syscall number (and how many).
    pub syscall_ns: [std::sync::atomic::AtomicU64; 512],
    #[allow(missing_docs)]
    pub syscall_n: [std::sync::atomic::AtomicU64; 512],
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            syscalls: Default::default(),
            faults: Default::default(),
            app_ns: Default::default(),
            fault_ns: Default::default(),
            syscall_ns: std::array::from_fn(|_| Default::default()),
            syscall_n: std::array::from_fn(|_| Default::default()),
        }
    }
}

impl Stats {
    /// The syscalls that took the most time: (number, count, total ns).
    pub fn top_syscalls(&self, n: usize) -> Vec<(usize, u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut v: Vec<(usize, u64, u64)> = (0..512)
            .map(|i| (i, self.syscall_n[i].load(Relaxed), self.syscall_ns[i].load(Relaxed)))
            .filter(|x| x.1 > 0)
            .collect();
        v.sort_by_key(|x| std::cmp::Reverse(x.2));
        v.truncate(n);
        v
    }
}

/// Options the sandbox was started with.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Log every syscall.
    pub strace: bool,
    /// Time the application, faults and each syscall number for the
    /// --debug report (three clock reads per exit otherwise skipped).
    pub timing: bool,
    /// The initial hostname.
    pub hostname: String,
    /// Reach the root's lower layer by directfs (host fds beneath a root
    /// fd the gofer donates) rather than a gofer message per operation.
    pub directfs: bool,
    /// `--network=host`: internet sockets are host sockets
    /// ([`crate::net::host`]) instead of the sandbox's loopback stack.
    pub network_host: bool,
}

/// The kernel.
pub struct Kernel {
    /// The platform.
    pub platform: Arc<dyn Platform>,
    /// The memory file.
    pub mf: Arc<MemoryFile>,
    /// The root filesystem.
    pub root: Arc<dyn Inode>,
    /// The initial mount namespace.
    pub ns: Arc<crate::vfs::mount::MountNs>,
    tasks: Mutex<HashMap<i32, Arc<Task>>>,
    groups: Mutex<HashMap<i32, Arc<ThreadGroup>>>,
    next_tid: AtomicI32,
    /// Options.
    pub opts: Options,
    /// Futexes.
    pub futexes: futex::Futexes,
    exit: Mutex<Option<i32>>,
    exit_cv: Condvar,
    unimplemented_logged: Mutex<HashSet<u64>>,
    /// Interval timers.
    pub timers: timers::Timers,
    /// System V shared memory.
    pub shm: ipc::Shm,
    /// System V semaphores.
    pub sems: ipc::Sems,
    /// System V message queues.
    pub msgs: ipc::Msgs,
    /// Counters for --debug: syscalls served, faults handled.
    pub stats: Stats,
    /// Most tasks at once (a container's pids limit).
    pids_limit: std::sync::atomic::AtomicU64,
    /// The sandbox's host and domain names (its UTS namespace).
    uts: Mutex<(Vec<u8>, Vec<u8>)>,
    /// The other sysctls set since boot.
    pub sysctls: sysctl::Sysctls,
    /// POSIX message queues (the mqueue filesystem's one directory).
    pub mqueues: Arc<crate::fs::mqueue::MqDir>,
    /// The memory filesystem memfd_create's files live in, unnamed.
    pub memfds: std::sync::OnceLock<Arc<crate::fs::overlay::Node>>,
    /// The sandbox's network stack (loopback only; one network namespace).
    pub net: Arc<crate::net::inet::Stack>,
}

impl Kernel {
    /// A kernel over a platform and a root filesystem.
    pub fn new(platform: Arc<dyn Platform>, mf: Arc<MemoryFile>, root: Arc<dyn Inode>, opts: Options) -> Arc<Kernel> {
        // Wake-ups a syscall put off go out once its application thread
        // runs again (see wait::defer_wakeups).
        platform::set_after_resume(wait::flush_deferred);
        boot_time();
        Arc::new(Kernel {
            platform,
            mf,
            ns: crate::vfs::mount::MountNs::new(root.clone(), "overlay", "overlay", 0),
            root,
            tasks: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
            next_tid: AtomicI32::new(1),
            futexes: futex::Futexes::default(),
            exit: Mutex::new(None),
            exit_cv: Condvar::new(),
            unimplemented_logged: Mutex::new(HashSet::new()),
            stats: Stats::default(),
            timers: timers::Timers::default(),
            shm: ipc::Shm::default(),
            sems: ipc::Sems::default(),
            msgs: ipc::Msgs::default(),
            pids_limit: std::sync::atomic::AtomicU64::new(u64::MAX),
            uts: Mutex::new((opts.hostname.clone().into_bytes(), b"(none)".to_vec())),
            sysctls: sysctl::Sysctls::default(),
            mqueues: Arc::default(),
            memfds: std::sync::OnceLock::new(),
            net: crate::net::inet::Stack::new(),
            opts,
        })
    }

    /// Mount `fs` of type `fstype` at the absolute path `path` of the
    /// initial namespace, as the sandbox is built (the point need not
    /// exist in the directory beneath, as for /dev/console).
    pub fn mount(&self, path: &[u8], fs: Arc<dyn Inode>, fstype: &str) {
        self.ns.add_path(path, fs, fstype, fstype, "", 0);
    }

    /// The root location of the initial namespace.
    pub fn root_location(&self) -> crate::vfs::path::Location {
        crate::vfs::path::Location::root(self.root.clone(), self.ns.clone())
    }

    /// Limit the tasks (processes and threads) to `n`: clone and fork
    /// answer EAGAIN at the limit, as a pids cgroup does.
    pub fn set_pids_limit(&self, n: u64) {
        self.pids_limit.store(n, Ordering::Relaxed);
    }

    /// The pids limit (u64::MAX: none).
    pub fn pids_limit(&self) -> u64 {
        self.pids_limit.load(Ordering::Relaxed)
    }

    /// Send `signo` to the init process (pid 1), or with `all` to every
    /// process, as `runsc kill` asks; false if there is no such process.
    pub fn signal_from_host(&self, signo: i32, all: bool) -> bool {
        let groups: Vec<Arc<ThreadGroup>> = if all { self.all_groups() } else { self.group(1).into_iter().collect() };
        let mut any = false;
        for g in groups {
            if g.st().zombie {
                continue;
            }
            any = true;
            task::send_group(self, &g, signal::QueuedSignal { signo, code: 0, ..Default::default() });
        }
        any
    }

    /// Allocate a thread id.
    pub fn alloc_tid(&self) -> i32 {
        self.next_tid.fetch_add(1, Ordering::Relaxed)
    }

    /// Register a task.
    pub fn add_task(&self, t: &Arc<Task>) {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).insert(t.tid(), t.clone());
        if t.tid() == t.tg.tgid {
            self.groups.lock().unwrap_or_else(|e| e.into_inner()).insert(t.tid(), t.tg.clone());
        }
    }

    /// Move a task to thread id `tid` (a non-leader thread that execs
    /// takes over its leader's id once the leader is gone).
    pub fn retid(&self, t: &Arc<Task>, tid: i32) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.remove(&t.tid());
        t.set_tid(tid);
        tasks.insert(tid, t.clone());
    }

    /// Unregister a task.
    pub fn remove_task(&self, tid: i32) {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).remove(&tid);
    }

    /// Forget a reaped thread group.
    pub fn remove_group(&self, tgid: i32) {
        self.groups.lock().unwrap_or_else(|e| e.into_inner()).remove(&tgid);
    }

    /// Look up a task.
    pub fn task(&self, tid: i32) -> Option<Arc<Task>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).get(&tid).cloned()
    }

    /// Look up a thread group.
    pub fn group(&self, tgid: i32) -> Option<Arc<ThreadGroup>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner()).get(&tgid).cloned()
    }

    /// Live tasks.
    pub fn task_count(&self) -> usize {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Live tasks whose real uid is `uid` (RLIMIT_NPROC).
    pub fn tasks_of_uid(&self, uid: u32) -> usize {
        let tasks: Vec<Arc<Task>> = self.tasks.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        tasks.iter().filter(|t| t.creds().uid == uid).count()
    }

    /// Every live task.
    pub fn all_tasks(&self) -> Vec<Arc<Task>> {
        let mut v: Vec<Arc<Task>> = self.tasks.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        v.sort_by_key(|t| t.tid());
        v
    }

    /// Every thread group (live or zombie).
    pub fn all_groups(&self) -> Vec<Arc<ThreadGroup>> {
        let mut v: Vec<Arc<ThreadGroup>> =
            self.groups.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        v.sort_by_key(|g| g.tgid);
        v
    }

    /// The init process exited with wait status `status`: the sandbox ends.
    pub fn set_exit(&self, status: i32) {
        let mut e = self.exit.lock().unwrap_or_else(|e| e.into_inner());
        if e.is_none() {
            *e = Some(status);
        }
        self.exit_cv.notify_all();
    }

    /// Wait for the sandbox to end; returns init's wait status.
    pub fn wait_exit(&self) -> i32 {
        let mut e = self.exit.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(s) = *e {
                return s;
            }
            e = self.exit_cv.wait(e).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The host name (uname nodename).
    pub fn hostname(&self) -> Vec<u8> {
        self.uts.lock().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    /// The NIS domain name.
    pub fn domainname(&self) -> Vec<u8> {
        self.uts.lock().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    /// Set the host name (`host` true) or the domain name.
    pub fn set_uts_name(&self, host: bool, name: Vec<u8>) {
        let mut u = self.uts.lock().unwrap_or_else(|e| e.into_inner());
        if host {
            u.0 = name;
        } else {
            u.1 = name;
        }
    }

    /// The value of sysctl `name` (dotted, or with slashes) as /proc/sys
    /// shows it, without the newline; ENOENT for one the sandbox lacks.
    pub fn sysctl(&self, name: &str) -> KResult<String> {
        let (name, _, kind) = sysctl::lookup(&sysctl::normalize(name)).ok_or(Errno::ENOENT)?;
        Ok(match (kind, name) {
            (sysctl::Kind::Uts, "kernel.hostname") => String::from_utf8_lossy(&self.hostname()).into_owned(),
            (sysctl::Kind::Uts, _) => String::from_utf8_lossy(&self.domainname()).into_owned(),
            _ => self.sysctls.get(name),
        })
    }

    /// Set sysctl `name` (dotted, or with slashes) to `value`: ENOENT for
    /// one the sandbox lacks, EPERM for a read-only one, EINVAL for a
    /// malformed value.
    pub fn set_sysctl(&self, name: &str, value: &[u8]) -> KResult<()> {
        let (name, _, kind) = sysctl::lookup(&sysctl::normalize(name)).ok_or(Errno::ENOENT)?;
        let v = sysctl::canonical(kind, value)?;
        match (kind, name) {
            (sysctl::Kind::Uts, "kernel.hostname") => self.set_uts_name(true, v.into_bytes()),
            (sysctl::Kind::Uts, _) => self.set_uts_name(false, v.into_bytes()),
            _ => self.sysctls.store(name, v),
        }
        Ok(())
    }

    /// Log an unimplemented syscall once.
    pub fn log_unimplemented(&self, nr: u64, name: &str) {
        if self.unimplemented_logged.lock().unwrap_or_else(|e| e.into_inner()).insert(nr) {
            tracing::warn!("unimplemented syscall {nr} ({name})");
        }
    }
}
