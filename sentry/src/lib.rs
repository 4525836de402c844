//! The sentry: the application kernel.
//!
//! It serves every system call of the sandboxed application through a
//! [`platform::Platform`], reads files only through the gofer, and never
//! trusts an application pointer (see [`mm::io`]).
#![deny(unsafe_code)]

pub mod errno;
pub mod fs;
pub mod kernel;
pub mod loader;
pub mod mm;
pub mod net;
pub mod syscalls;
mod sys;
pub mod vfs;

use std::sync::{Arc, Mutex};

use platform::CpuState;

use errno::{Errno, KResult};
use kernel::task::{FsContext, Task};
use kernel::Kernel;
use vfs::path::{Follow, Location};
use vfs::{File, FdTable};

/// What to run.
pub struct InitSpec {
    /// argv (argv[0] is the path searched).
    pub argv: Vec<Vec<u8>>,
    /// Environment.
    pub env: Vec<Vec<u8>>,
    /// Working directory.
    pub cwd: Vec<u8>,
    /// Host fds for 0, 1, 2.
    pub stdio: Vec<std::os::fd::OwnedFd>,
    /// uid, gid.
    pub ids: (u32, u32),
    /// What a container spec adds.
    pub extras: ProcessExtras,
}

/// The rest of an OCI process: supplementary groups, umask, rlimits,
/// no_new_privs.
#[derive(Clone, Debug, Default)]
pub struct ProcessExtras {
    /// Supplementary group ids.
    pub groups: Vec<u32>,
    /// The umask (default 022).
    pub umask: Option<u32>,
    /// (RLIMIT_* number, soft, hard).
    pub rlimits: Vec<(usize, u64, u64)>,
    /// prctl(PR_SET_NO_NEW_PRIVS) from the start.
    pub no_new_privs: bool,
    /// Capability sets as masks: (effective, permitted, inheritable,
    /// bounding); None keeps the defaults (all, for root).
    pub caps: Option<(u64, u64, u64, u64)>,
}

/// Linux's capability names, by number.
pub const CAPABILITY_NAMES: [&str; 41] = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
];

/// The mask of capability names ("CAP_CHOWN" or "CHOWN"); unknown names
/// are ignored, as runc warns and goes on.
pub fn capability_mask<'a>(names: impl IntoIterator<Item = &'a str>) -> u64 {
    names
        .into_iter()
        .filter_map(|n| {
            let n = n.strip_prefix("CAP_").unwrap_or(n);
            CAPABILITY_NAMES.iter().position(|c| c.eq_ignore_ascii_case(n))
        })
        .fold(0, |m, i| m | 1 << i)
}

/// Why the init process could not start.
#[derive(Debug)]
pub enum StartError {
    /// The command was not found (127).
    NotFound(Errno),
    /// The command could not be executed (126).
    NotExecutable(Errno),
    /// The working directory cannot be entered (126).
    Cwd(Errno),
    /// Anything else.
    Other(Errno),
}

/// Resolve a command name through PATH as a shell would.
fn find_command(k: &Kernel, root: &Location, cwd: &Location, name: &[u8], env: &[Vec<u8>]) -> Result<Vec<u8>, Errno> {
    if name.contains(&b'/') {
        return Ok(name.to_vec());
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix(b"PATH="))
        .map(|p| p.to_vec())
        .unwrap_or_else(|| b"/usr/local/bin:/usr/bin:/bin".to_vec());
    for dir in path.split(|&c| c == b':') {
        let mut cand = if dir.is_empty() { b".".to_vec() } else { dir.to_vec() };
        cand.push(b'/');
        cand.extend_from_slice(name);
        if let Ok(l) = k.resolve(root, cwd, &cand, Follow::Yes, None) {
            if l.inode().stat().is_ok_and(|a| !a.is_dir()) {
                return Ok(cand);
            }
        }
    }
    Err(Errno::ENOENT)
}

/// Start the init process (pid 1) and return once it runs.
pub fn start_init(k: &Arc<Kernel>, spec: InitSpec) -> Result<(), StartError> {
    start_process(k, spec).map(drop)
}

/// Wait for a process started by [`start_process`] to exit; its wait
/// status. (It has no parent in the sandbox: it is reaped by nobody but
/// stays a zombie the caller can read.)
pub fn wait_process(tg: &kernel::task::ThreadGroup) -> i32 {
    loop {
        {
            let st = tg.st();
            if st.zombie {
                return st.status;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Start a process from outside the sandbox (the first one is init, pid
/// 1; later ones are `runsc exec`'s) and return once it runs.
pub fn start_process(k: &Arc<Kernel>, spec: InitSpec) -> Result<Arc<kernel::task::ThreadGroup>, StartError> {
    let root = k.root_location();
    // As runc's: a working directory that cannot be entered fails the
    // start (init's is made beforehand when missing).
    let cwd = k.resolve(&root, &root, &spec.cwd, Follow::Yes, None).map_err(StartError::Cwd)?;
    if !cwd.inode().stat().map_err(StartError::Cwd)?.is_dir() {
        return Err(StartError::Cwd(Errno::ENOTDIR));
    }
    let umask = spec.extras.umask.unwrap_or(0o022) & 0o777;
    let fs = Arc::new(Mutex::new(FsContext { root: root.clone(), cwd: cwd.clone(), umask }));
    let fds = Arc::new(FdTable::default());
    let mut ttys = Vec::new();
    let mut stdin_tty = None;
    let mut console = false;
    for (i, fd) in spec.stdio.into_iter().enumerate() {
        let h = fs::host::HostFile::with_ttys(fd, &mut ttys);
        if i == 0 {
            stdin_tty = h.terminal();
        }
        // The caller's terminal appears as /dev/console, as runc binds a
        // container's terminal there.
        let path = if h.terminal().is_some() {
            // (Init's terminal only: an exec'd process's is its own.)
            if !console && k.group(1).is_none() {
                k.mount(b"/dev/console", h.clone(), "devpts");
                console = true;
            }
            b"/dev/console".to_vec()
        } else {
            format!("host:[{i}]").into_bytes()
        };
        let inode: Arc<dyn vfs::Inode> = h.clone();
        let f = File::new(h, inode, path, vfs::oflags::O_RDWR);
        fds.install_at(i as i32, f, false);
    }
    let tid = k.alloc_tid();
    let tg = Task::new_group(tid, 0, None, 17);
    // The caller's terminal is init's controlling terminal, as for a
    // shell started on it.
    if let Some(term) = stdin_tty {
        fs::tty::set_initial_ctty(&tg, term);
    }
    {
        let mut rl = tg.rlimits.lock().unwrap_or_else(|e| e.into_inner());
        for &(r, cur, max) in &spec.extras.rlimits {
            if let Some(slot) = rl.get_mut(r) {
                *slot = kernel::task::Rlimit { cur: cur.min(max), max };
            }
        }
    }
    {
        let mut c = tg.creds.lock().unwrap_or_else(|e| e.into_inner());
        c.groups = spec.extras.groups.clone();
        c.uid = spec.ids.0;
        c.euid = spec.ids.0;
        c.suid = spec.ids.0;
        c.gid = spec.ids.1;
        c.egid = spec.ids.1;
        c.sgid = spec.ids.1;
    }
    let as_ = k.platform.new_address_space().map_err(|e| StartError::Other(e.into()))?;
    let mm = Arc::new(mm::MemoryManager::new(k.mf.clone(), as_));
    let task = Task::new(tid, tg.clone(), k.clone(), mm, fds, fs, 0);
    {
        let mut st = tg.st();
        st.live = 1;
        st.threads.push(tid);
    }
    let name = spec.argv.first().cloned().ok_or(StartError::NotFound(Errno::ENOENT))?;
    let path = find_command(k, &root, &cwd, &name, &spec.env).map_err(StartError::NotFound)?;
    let loaded = loader::exec(&task, &path, None, spec.argv, spec.env).map_err(|e| match e {
        Errno::ENOENT | Errno::ENOTDIR => StartError::NotFound(e),
        Errno::EACCES | Errno::ENOEXEC | Errno::EISDIR | Errno::EPERM => StartError::NotExecutable(e),
        e => StartError::Other(e),
    });
    let (mm, l) = loaded?;
    task.set_mm(mm);
    *tg.exe.lock().unwrap_or_else(|e| e.into_inner()) = l.exe;
    *tg.exe_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(l.exe_at);
    *tg.comm.lock().unwrap_or_else(|e| e.into_inner()) = l.comm;
    let mut cpu = CpuState::default();
    cpu.regs = platform::Regs { cs: 0x33, ss: 0x2b, eflags: 0x202, rip: l.entry, rsp: l.sp, ..Default::default() };
    cpu.fp_dirty = true;
    if let Some((eff, perm, inh, bounding)) = spec.extras.caps {
        tg.capbset.store(bounding, std::sync::atomic::Ordering::Relaxed);
        *tg.caps.lock().unwrap_or_else(|e| e.into_inner()) = (eff & perm, perm, inh);
    }
    if spec.extras.no_new_privs {
        task.no_new_privs.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    k.add_task(&task);
    syscalls::process::spawn(task, cpu).map_err(StartError::Other)?;
    Ok(tg)
}

/// The location `path` (absolute) of the initial namespace, created if
/// missing (parents as directories, the last one as a directory or an
/// empty file), as runc makes a container's mount points.
/// Make the directory `path` and any missing parents (root's, mode 0755),
/// as runc makes a container's working directory.
pub fn make_dirs(k: &Arc<Kernel>, path: &[u8]) -> KResult<()> {
    if !mount_point(k, path, true)?.inode().stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(())
}

fn mount_point(k: &Arc<Kernel>, path: &[u8], dir: bool) -> KResult<vfs::path::Location> {
    let root = k.root_location();
    match k.resolve(&root, &root, path, Follow::Yes, None) {
        Err(Errno::ENOENT) => {}
        r => return r,
    }
    let mut at = root.clone();
    let comps: Vec<&[u8]> = path.split(|&c| c == b'/').filter(|c| !c.is_empty()).collect();
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let next = match k.resolve(&root, &at, c, Follow::Yes, None) {
            Ok(l) => l,
            Err(Errno::ENOENT) => {
                if last && !dir {
                    at.inode().create(c, 0o644, 0, 0)?;
                } else {
                    at.inode().mkdir(c, 0o755, 0, 0)?;
                }
                k.resolve(&root, &at, c, Follow::Yes, None)?
            }
            Err(e) => return Err(e),
        };
        at = next;
    }
    Ok(at)
}

/// Mount a new `fstype` filesystem (tmpfs, proc, sysfs, devpts) with the
/// comma-separated `data` options at `path`, as a container's spec asks.
pub fn mount_fs(k: &Arc<Kernel>, path: &[u8], fstype: &str, data: &str, flags: u64) -> KResult<()> {
    let (fs, opts) = syscalls::mount::new_fs(k, fstype.as_bytes(), data.as_bytes())?;
    let at = mount_point(k, path, true)?;
    k.ns.add(&at, fs, fstype, fstype, &opts, flags);
    Ok(())
}

/// Mount `inode` (a bind mount's source) at `path`.
pub fn mount_inode(k: &Arc<Kernel>, path: &[u8], inode: Arc<dyn vfs::Inode>, source: &str, flags: u64) -> KResult<()> {
    let dir = inode.stat()?.is_dir();
    let at = mount_point(k, path, dir)?;
    if at.inode().stat()?.is_dir() != dir {
        return Err(Errno::ENOTDIR);
    }
    k.ns.add(&at, inode, "bind", source, "", flags);
    Ok(())
}

/// The location of `path` in the initial namespace; None if it does not
/// exist.
fn existing(k: &Arc<Kernel>, path: &[u8]) -> KResult<Option<vfs::path::Location>> {
    let root = k.root_location();
    match k.resolve(&root, &root, path, Follow::Yes, None) {
        Ok(l) => Ok(Some(l)),
        Err(Errno::ENOENT | Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Hide `path` as runc's maskedPaths do: an empty read-only tmpfs over a
/// directory, /dev/null over anything else; a path that does not exist is
/// left alone.
pub fn mask_path(k: &Arc<Kernel>, path: &[u8]) -> KResult<()> {
    let Some(at) = existing(k, path)? else { return Ok(()) };
    let root = k.root_location();
    let ro = vfs::mount::ms::RDONLY;
    if at.inode().stat()?.is_dir() {
        let empty = fs::overlay::Node::new_tmpfs_sized(0o555, 0, 0, Some(0), k.mf.clone());
        k.ns.add(&at, empty, "tmpfs", "tmpfs", "size=0k", ro);
    } else {
        let null = k.resolve(&root, &root, b"/dev/null", Follow::Yes, None)?;
        k.ns.add(&at, null.inode().clone(), "devtmpfs", "devtmpfs", "", ro);
    }
    Ok(())
}

/// Make `path` read-only as runc's readonlyPaths do (a read-only bind of
/// itself); a path that does not exist is left alone.
pub fn readonly_path(k: &Arc<Kernel>, path: &[u8]) -> KResult<()> {
    let Some(at) = existing(k, path)? else { return Ok(()) };
    let fstype = at.ns.mount_of(&at).fstype.clone();
    k.ns.add(&at, at.inode().clone(), &fstype, &fstype, "", vfs::mount::ms::RDONLY);
    Ok(())
}

/// Build the kernel with the standard mounts (/proc, /dev).
pub fn new_kernel(
    platform: Arc<dyn platform::Platform>,
    mf: Arc<mm::MemoryFile>,
    gofer: Arc<gofer::Client>,
    opts: kernel::Options,
) -> KResult<Arc<Kernel>> {
    let root = fs::overlay::Node::new_root(gofer, mf.clone(), opts.directfs)?;
    // Counted now, while the host's files may still be read.
    sys::cpu_count();
    let k = Kernel::new(platform, mf, root, opts);
    k.mount(b"/proc", fs::proc::new(&k), "proc");
    k.mount(b"/dev", fs::dev::new(k.mf.clone(), k.mqueues.clone()), "tmpfs");
    // /dev/shm, /dev/pts and /dev/mqueue are mounts of their own, as in a
    // container.
    let root = k.root_location();
    for (point, fstype) in [(&b"/dev/shm"[..], "tmpfs"), (&b"/dev/pts"[..], "devpts"), (&b"/dev/mqueue"[..], "mqueue")] {
        let at = k.resolve(&root, &root, point, vfs::path::Follow::No, None)?;
        k.ns.add(&at, at.inode().clone(), fstype, fstype, "", vfs::mount::ms::NOSUID | vfs::mount::ms::NODEV);
    }
    // The sandbox's own /sys: what tools read (the CPU lists), none of the
    // host's devices.
    k.mount(b"/sys", fs::sys::new(), "sysfs");
    Ok(k)
}

/// What every task of the sandbox is doing, for a hang's post-mortem
/// (runsc prints it on SIGQUIT): each task's state and the syscall it is
/// in, then the futexes with waiters.
pub fn debug_dump(k: &kernel::Kernel) -> String {
    let mut out = String::from("runsc: sandbox state (SIGQUIT)\n");
    for t in k.all_tasks() {
        let comm = String::from_utf8_lossy(&t.tg.comm.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
        let (st, _) = fs::proc::state(&t);
        let call = match t.current_syscall() {
            Some((nr, a, _, pc)) => {
                let name = syscalls::table::lookup(nr).map_or("?", |e| e.name);
                format!("in {name}({:#x}, {:#x}, {:#x}, {:#x}) at pc {pc:#x}", a[0], a[1], a[2], a[3])
            }
            None => "in the application".into(),
        };
        out += &format!("  task {} ({comm}) of {}: {st}, {call}\n", t.tid(), t.tg.tgid);
    }
    for line in k.futexes.describe() {
        out += &format!("  {line}\n");
    }
    out
}
