//! The sandbox process's confinement (`runsc boot`, and `runsc do`'s
//! sentry): fresh pid and mount namespaces made when it is started
//! ([`spawn_in_namespaces`], [`fork_in_namespaces`]); its own /proc
//! ([`own_proc`]); once the sandbox is built, a read-only tmpfs root
//! holding only that /proc ([`jail`]), the capabilities it no longer needs
//! dropped ([`drop_capabilities`]), and its seccomp rule list: [`SENTRY`]
//! plus what the platform, directfs and host networking add ([`rules`]).
//!
//! The platform lists live here, beside the sentry's, rather than in the
//! platform crates: a rule list is reviewed as one table, and the platform
//! crates stay free of seccompiler.
use std::ffi::CString;
use std::path::Path;
use anyhow::Context;
use super::{rule, Args, Rule};
/// glibc's clone flags for a new thread (pthread_create): the only clone
/// the sentry makes once it is confined.
const THREAD_CLONE_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_SETTLS
    | libc::CLONE_PARENT_SETTID
    | libc::CLONE_CHILD_CLEARTID) as u64;
/// Terminal ioctls the sentry makes on the host terminal it was given as
/// stdio (the sandbox's console), and FIONREAD on host fds.
const IOCTLS: &[u64] = &[
    libc::TCGETS,
    libc::TCSETS,
    libc::TCSETSW,
    libc::TCSETSF,
    libc::TIOCGWINSZ,
    libc::TIOCSWINSZ,
    libc::TIOCGPGRP,
    libc::TIOCSPGRP,
    libc::FIONREAD,
    libc::FIONBIO,
];
/// fcntl commands: fd flags, status flags and close-on-exec duplicates.
const FCNTLS: &[u64] = &[
    libc::F_GETFD as u64,
    libc::F_SETFD as u64,
    libc::F_GETFL as u64,
    libc::F_SETFL as u64,
    libc::F_DUPFD_CLOEXEC as u64,
];
const PROT_EXEC: u64 = libc::PROT_EXEC as u64;
const O_NOFOLLOW: u64 = libc::O_NOFOLLOW as u64;
/// The sentry, whatever its platform.
pub const SENTRY: &[Rule] = &[
    rule("read", libc::SYS_read, "host fds: the console, pipes to the engine, the gofer's donated files"),
    rule("write", libc::SYS_write, "host fds: the console, logs, donated files"),
    rule("pread64", libc::SYS_pread64, "file data from donated host fds"),
    rule("pwrite64", libc::SYS_pwrite64, "file data to donated host fds (bind mounts written through)"),
    rule("pwritev", libc::SYS_pwritev, "file writes that are large or fill new pages, copied into the memory file by the host, one call per run of pages"),
    rule("preadv", libc::SYS_preadv, "reads of lower files and of the overlay's store straight into the application's pages, one call per read"),
    rule("lseek", libc::SYS_lseek, "offsets of host fds; rewinding a directory"),
    rule("fsync", libc::SYS_fsync, "fsync of files on bind mounts, which are the host's"),
    rule("close", libc::SYS_close, "host fds"),
    rule("dup", libc::SYS_dup, "stdio of a process started through the control socket"),
    rule("statx", libc::SYS_statx, "sizes of host fds (the standard library's metadata)"),
    rule("newfstatat", libc::SYS_newfstatat, "attributes of host fds and (directfs) of names beneath them, never following symlinks"),
    Rule { name: "fcntl", nr: libc::SYS_fcntl, args: Args::OneOf(1, FCNTLS), why: "fd and status flags, close-on-exec duplicates" },
    Rule { name: "ioctl", nr: libc::SYS_ioctl, args: Args::OneOf(1, IOCTLS), why: "terminal ioctls on a host console; FIONREAD" },
    Rule { name: "mmap", nr: libc::SYS_mmap, args: Args::Masked(2, PROT_EXEC, 0), why: "the memory file and the allocator; never executable" },
    Rule { name: "mprotect", nr: libc::SYS_mprotect, args: Args::Masked(2, PROT_EXEC, 0), why: "thread stack guards; never executable" },
    rule("munmap", libc::SYS_munmap, "the memory file and the allocator"),
    rule("mremap", libc::SYS_mremap, "the allocator"),
    rule("madvise", libc::SYS_madvise, "releasing memory-file and allocator pages"),
    rule("brk", libc::SYS_brk, "the allocator"),
    rule("fallocate", libc::SYS_fallocate, "the memory file: punching freed pages, allocating the store's extents"),
    rule("ftruncate", libc::SYS_ftruncate, "the memory file: growing it; a regular file the caller gave as stdio, opened again with O_TRUNC"),
    rule("poll", libc::SYS_poll, "waiting on host fds (the console, the gofer, host sockets)"),
    rule("futex", libc::SYS_futex, "locks, and waits shared with stubs"),
    rule("sched_yield", libc::SYS_sched_yield, "spinning before sleeping"),
    rule("clock_nanosleep", libc::SYS_clock_nanosleep, "sleeps (nanosleep and timers of the application)"),
    rule("gettid", libc::SYS_gettid, "thread ids"),
    rule("getpid", libc::SYS_getpid, "the sentry's own pid (signalling its own threads)"),
    rule("tgkill", libc::SYS_tgkill, "interrupting a thread of ours or a stub thread"),
    rule("rt_sigprocmask", libc::SYS_rt_sigprocmask, "signal masks"),
    rule("rt_sigtimedwait", libc::SYS_rt_sigtimedwait, "the SIGQUIT dump thread"),
    rule("sigaltstack", libc::SYS_sigaltstack, "threads' signal stacks, set up and torn down by the standard library"),
    rule("sched_getaffinity", libc::SYS_sched_getaffinity, "the C library, at thread creation"),
    Rule { name: "clone", nr: libc::SYS_clone, args: Args::OneOf(0, &[THREAD_CLONE_FLAGS]), why: "new threads only (pthread_create's flags)" },
    Rule { name: "clone3", nr: libc::SYS_clone3, args: Args::Fails(libc::ENOSYS as u32), why: "its flags are in memory a filter cannot read: the C library falls back to clone" },
    rule("set_robust_list", libc::SYS_set_robust_list, "new threads (the C library registers their robust futex list)"),
    rule("rseq", libc::SYS_rseq, "new threads (the C library registers each one's restartable sequence, and aborts if it cannot)"),
    rule("exit", libc::SYS_exit, "thread exit"),
    rule("exit_group", libc::SYS_exit_group, "exit"),
    rule("getrandom", libc::SYS_getrandom, "the application's getrandom and /dev/urandom"),
    rule("sendmsg", libc::SYS_sendmsg, "gofer requests, with fds"),
    rule("sendto", libc::SYS_sendto, "replies on the control socket; send and sendto on host sockets (--network=host)"),
    rule("recvmsg", libc::SYS_recvmsg, "gofer replies with donated fds; control requests"),
    rule("accept4", libc::SYS_accept4, "the control socket (runsc start, exec, kill, ps)"),
    Rule {
        name: "openat",
        nr: libc::SYS_openat,
        args: Args::Masked(2, O_NOFOLLOW, O_NOFOLLOW),
        why: "with O_NOFOLLOW only: state files through a held directory fd; /proc of its own pid namespace",
    },
    Rule {
        name: "openat",
        nr: libc::SYS_openat,
        args: Args::FailsWhen(2, O_NOFOLLOW, 0, libc::EACCES as u32),
        why: "without O_NOFOLLOW: refused (the C library's malloc reads /proc/sys/vm/overcommit_memory once, and does without it)",
    },
    rule("rename", libc::SYS_rename, "state.json replaced atomically"),
    rule("unlink", libc::SYS_unlink, "the control socket removed at exit"),
    rule("flock", libc::SYS_flock, "the state file's lock"),
    Rule { name: "prctl", nr: libc::SYS_prctl, args: Args::OneOf(0, &[libc::PR_SET_NAME as u64]), why: "thread names" },
];
/// What the systrap platform adds.
pub const SYSTRAP: &[Rule] = &[
    rule("ptrace", libc::SYS_ptrace, "stub processes: made through their master, which is traced"),
    rule("wait4", libc::SYS_wait4, "stub processes' stops and exits"),
    rule("kill", libc::SYS_kill, "killing a stub process"),
    Rule {
        name: "sched_setscheduler",
        nr: libc::SYS_sched_setscheduler,
        args: Args::OneOf(1, &[libc::SCHED_OTHER as u64, libc::SCHED_BATCH as u64]),
        why: "a sentry thread and its stub thread leave SCHED_BATCH while the host's CPUs are oversubscribed, and go back after",
    },
];
/// What the ptrace platform adds.
pub const PTRACE: &[Rule] = &[
    rule("ptrace", libc::SYS_ptrace, "every application syscall and fault (PTRACE_SYSEMU)"),
    rule("wait4", libc::SYS_wait4, "stub threads' stops"),
    rule("kill", libc::SYS_kill, "killing a stub process"),
    rule("sched_setaffinity", libc::SYS_sched_setaffinity, "pinning a stub thread beside its tracer"),
];
/// What directfs adds: metadata read straight from host fds beneath the
/// root fd the gofer donated (opens are the base list's O_NOFOLLOW openat).
pub const DIRECTFS: &[Rule] = &[
    rule("getdents64", libc::SYS_getdents64, "directory listings"),
    rule("readlinkat", libc::SYS_readlinkat, "symlink targets"),
    rule("fstatfs", libc::SYS_fstatfs, "statfs of the root"),
    rule("flistxattr", libc::SYS_flistxattr, "user.* extended attributes"),
    rule("fgetxattr", libc::SYS_fgetxattr, "user.* extended attributes"),
];
/// What `--network=host` adds: the sandbox's TCP and UDP sockets are host
/// sockets (of the sandbox's network namespace).
pub const HOST_NETWORK: &[Rule] = &[
    Rule { name: "socket", nr: libc::SYS_socket, args: Args::OneOf(0, &[libc::AF_INET as u64, libc::AF_INET6 as u64]), why: "IPv4 and IPv6 sockets only" },
    rule("bind", libc::SYS_bind, "bind"),
    rule("connect", libc::SYS_connect, "connect"),
    rule("listen", libc::SYS_listen, "listen"),
    rule("getsockname", libc::SYS_getsockname, "getsockname"),
    rule("getpeername", libc::SYS_getpeername, "getpeername"),
    rule("setsockopt", libc::SYS_setsockopt, "socket options"),
    rule("getsockopt", libc::SYS_getsockopt, "socket options"),
    rule("shutdown", libc::SYS_shutdown, "shutdown"),
    rule("recvfrom", libc::SYS_recvfrom, "recv and recvfrom"),
];
/// The sentry's rules for `platform`, with directfs and host networking
/// as chosen.
pub fn rules(platform: &str, directfs: bool, host_network: bool) -> Vec<&'static Rule> {
    let mut v: Vec<&Rule> = SENTRY.iter().collect();
    v.extend(if platform == "ptrace" { PTRACE } else { SYSTRAP });
    if directfs {
        v.extend(DIRECTFS);
    }
    if host_network {
        v.extend(HOST_NETWORK);
    }
    v
}
/// The namespaces a sandbox process is made in: pid and mount always;
/// network, IPC and UTS too for `runsc do` (`boot` takes those from the
/// spec). Only root can make them.
pub fn namespace_flags(with_net_ipc_uts: bool, host_network: bool) -> libc::c_int {
    let mut f = libc::CLONE_NEWPID | libc::CLONE_NEWNS;
    if with_net_ipc_uts {
        f |= libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
        if !host_network {
            f |= libc::CLONE_NEWNET;
        }
    }
    f
}
/// Start `exe` with `args` in new namespaces `flags` (pid 1 of its pid
/// namespace), in a process group of its own, with stdio on /dev/null when
/// `null_stdio`. Returns its pid. Fds not marked close-on-exec are
/// inherited, as with `Command`.
pub fn spawn_in_namespaces(exe: &Path, args: &[std::ffi::OsString], flags: libc::c_int, null_stdio: bool) -> anyhow::Result<i32> {
    use std::os::unix::ffi::OsStrExt;
    let cstr = |b: &[u8]| CString::new(b).context("a NUL byte in an argument");
    let path = cstr(exe.as_os_str().as_bytes())?;
    let mut argv = vec![path.clone()];
    for a in args {
        argv.push(cstr(a.as_bytes())?);
    }
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let null = if null_stdio { Some(std::fs::File::open("/dev/null").context("opening /dev/null")?) } else { None };
    let null_fd = null.as_ref().map(std::os::fd::AsRawFd::as_raw_fd).unwrap_or(-1);
    #[allow(unsafe_code)]
    // SAFETY: a fork-like clone (no CLONE_VM, no new stack): the child has
    // a copy of our memory, in which `argv_ptrs` and the strings it points
    // to stay valid; it makes only async-signal-safe calls (setpgid, dup2,
    // execv, _exit) and never returns into Rust.
    let pid = unsafe {
        let pid = libc::syscall(libc::SYS_clone, (flags | libc::SIGCHLD) as u64, 0u64, 0u64, 0u64, 0u64);
        if pid == 0 {
            libc::setpgid(0, 0);
            if null_fd >= 0 {
                for fd in 0..3 {
                    libc::dup2(null_fd, fd);
                }
            }
            libc::execv(argv_ptrs[0], argv_ptrs.as_ptr());
            libc::_exit(127);
        }
        pid
    };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("starting the sandbox process in new namespaces");
    }
    Ok(pid as i32)
}
/// Fork this (single-threaded) process into new namespaces `flags`.
/// Returns the child's pid in the parent, `None` in the child, which dies
/// with its parent. Signals in `blocked` stay blocked in the parent (to be
/// relayed) and are unblocked in the child.
pub fn fork_in_namespaces(flags: libc::c_int, blocked: &nix::sys::signal::SigSet) -> anyhow::Result<Option<i32>> {
    let old = blocked.thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK).context("blocking signals")?;
    #[allow(unsafe_code)]
    // SAFETY: a fork-like clone of a process that has one thread: the
    // child goes on with a copy of its memory, as after fork(2).
    let pid = unsafe { libc::syscall(libc::SYS_clone, (flags | libc::SIGCHLD) as u64, 0u64, 0u64, 0u64, 0u64) };
    if pid < 0 {
        let _ = old.thread_set_mask();
        return Err(std::io::Error::last_os_error()).context("forking the sandbox into new namespaces");
    }
    if pid > 0 {
        return Ok(Some(pid as i32));
    }
    old.thread_set_mask().context("restoring the signal mask")?;
    #[allow(unsafe_code)]
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    Ok(None)
}
/// In a new pid and mount namespace: make every mount private and mount a
/// /proc of the new pid namespace, so that /proc/PID is the pids this
/// process sees (its stubs' and gofers').
pub fn own_proc() -> anyhow::Result<()> {
    use nix::mount::mount;
    let none: Option<&str> = None;
    mount(none, "/", none, MS_REC_PRIVATE, none).context("making mounts private")?;
    mount(Some("proc"), "/proc", Some("proc"), super::PROC_FLAGS, none).context("mounting the sandbox's /proc")?;
    Ok(())
}
const MS_REC_PRIVATE: nix::mount::MsFlags = nix::mount::MsFlags::MS_REC.union(nix::mount::MsFlags::MS_PRIVATE);
/// Let go of the host's tree: the root becomes a read-only tmpfs holding
/// only /proc (of the sandbox's pid namespace). Called after [`own_proc`],
/// once every host path the sandbox needs is open.
pub fn jail() -> anyhow::Result<()> {
    use nix::mount::{mount, MsFlags};
    super::pivot_into_tmpfs("size=16k,mode=0555", |_| Ok(()))?;
    let none: Option<&str> = None;
    let ro = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(none, "/", none, ro, none).context("making the root read-only")?;
    Ok(())
}
/// Capabilities the sentry keeps: reading the root's files whatever
/// their owner and mode (directfs opens them with the sentry's
/// credentials), and binding low ports with host networking.
fn kept_capabilities(host_network: bool) -> u64 {
    // capability(7) numbers.
    const CAP_DAC_OVERRIDE: u64 = 1;
    const CAP_DAC_READ_SEARCH: u64 = 2;
    const CAP_FOWNER: u64 = 3;
    const CAP_NET_BIND_SERVICE: u64 = 10;
    let mut keep = 1 << CAP_DAC_OVERRIDE | 1 << CAP_DAC_READ_SEARCH | 1 << CAP_FOWNER;
    if host_network {
        keep |= 1 << CAP_NET_BIND_SERVICE;
    }
    keep
}
/// Drop every capability but [`kept_capabilities`], from the bounding,
/// ambient, inheritable, permitted and effective sets.
pub fn drop_capabilities(host_network: bool) -> anyhow::Result<()> {
    let keep = kept_capabilities(host_network);
    #[allow(unsafe_code)]
    // SAFETY: prctl with integer arguments.
    unsafe {
        for cap in 0..64 {
            if keep & (1 << cap) == 0 && libc::prctl(libc::PR_CAPBSET_READ, cap) == 1 && libc::prctl(libc::PR_CAPBSET_DROP, cap) != 0 {
                return Err(std::io::Error::last_os_error()).context("dropping a bounding capability");
            }
        }
        libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    }
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header { version: 0x2008_0522, pid: 0 };
    let lo = Data { effective: keep as u32, permitted: keep as u32, inheritable: 0 };
    let hi = Data { effective: (keep >> 32) as u32, permitted: (keep >> 32) as u32, inheritable: 0 };
    let data = [lo, hi];
    #[allow(unsafe_code)]
    // SAFETY: capset reads a version-3 header and two data structs, which
    // live on this stack for the call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).context("capset");
    }
    Ok(())
}
/// A sandbox process started by [`spawn_in_namespaces`] (our child).
pub struct SandboxProcess(pub i32);
impl SandboxProcess {
    /// Its host pid.
    pub fn id(&self) -> u32 {
        self.0 as u32
    }
    /// SIGKILL it.
    pub fn kill(&self) -> std::io::Result<()> {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0), nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::from)
    }
    /// Wait for it to end.
    pub fn wait(&self) -> std::io::Result<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        let mut status = 0;
        loop {
            #[allow(unsafe_code)]
            // SAFETY: waitpid on our own child, with a live int for the status.
            let r = unsafe { libc::waitpid(self.0, &mut status, 0) };
            if r == self.0 {
                return Ok(std::process::ExitStatus::from_raw(status));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}
