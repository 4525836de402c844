//! Building a sandbox: the gofer process serving a root, the platform, the
//! memory file and the kernel. `runsc do` and `runsc boot` (the OCI
//! sandbox process) both start here.

use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

/// A running sandbox.
pub struct Sandbox {
    /// The kernel.
    pub kernel: Arc<sentry::kernel::Kernel>,
    gofers: Gofers,
    gofer: Arc<gofer::Client>,
    /// When building started.
    pub t0: Instant,
    directfs: bool,
}

/// The gofers of a sandbox, started before the sandbox process lets go
/// of the host's tree: the root's, and one per bind-mount source
/// directory and access.
pub struct Gofers {
    root: (std::process::Child, Arc<gofer::Client>),
    binds: Vec<BindGofer>,
    /// Each bind source: its directory, and its name in it when a file.
    sources: Vec<(std::path::PathBuf, std::path::PathBuf, Option<Vec<u8>>)>,
    t0: Instant,
}

struct BindGofer {
    dir: std::path::PathBuf,
    writable: bool,
    child: std::process::Child,
    client: Arc<gofer::Client>,
    /// Made at the first mount of the tree.
    root: Option<Arc<dyn sentry::vfs::Inode>>,
}

impl Gofers {
    /// Start the gofer of `root` (read-only: writes stay in the sentry's
    /// memory layer) and those of the bind mounts `binds` (source, and
    /// whether writable).
    pub fn spawn(cli: &crate::Cli, root: &Path, binds: &[(std::path::PathBuf, bool)]) -> anyhow::Result<Gofers> {
        let t0 = Instant::now();
        let mut g = Gofers { root: spawn_gofer(cli, root, false)?, binds: Vec::new(), sources: Vec::new(), t0 };
        tracing::debug!("gofer started in {:?}", t0.elapsed());
        for (source, writable) in binds {
            let meta = std::fs::metadata(source).with_context(|| format!("mount source {}", source.display()))?;
            let (dir, name) = if meta.is_dir() {
                (source.to_path_buf(), None)
            } else {
                let parent = source.parent().context("a mount source file has a directory")?;
                (parent.to_path_buf(), source.file_name().map(|n| n.as_encoded_bytes().to_vec()))
            };
            if !g.binds.iter().any(|b| b.dir == dir && b.writable == *writable) {
                let (child, client) = spawn_gofer(cli, &dir, *writable)?;
                g.binds.push(BindGofer { dir: dir.clone(), writable: *writable, child, client, root: None });
            }
            g.sources.push((source.clone(), dir, name));
        }
        Ok(g)
    }
}

/// Start a gofer serving `dir` for this sandbox (read-only unless
/// `writable`).
fn spawn_gofer(cli: &crate::Cli, dir: &Path, writable: bool) -> anyhow::Result<(std::process::Child, Arc<gofer::Client>)> {
    let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .context("socketpair for the gofer")?;
    nix::fcntl::fcntl(theirs.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()))?;
    let exe = std::env::current_exe().context("finding our own binary")?;
    let mut gofer_cmd = std::process::Command::new(&exe);
    gofer_cmd.arg("gofer").arg("--dir").arg(dir).args(["--fd", &theirs.as_raw_fd().to_string()]);
    if !writable {
        gofer_cmd.arg("--read-only");
    }
    if cli.debug {
        gofer_cmd.arg("--debug");
    }
    if let Some(d) = &cli.debug_log {
        gofer_cmd.arg("--debug-log").arg(d);
    }
    if nix::unistd::geteuid().is_root() {
        // Its own mount namespace before it runs a line of code: the
        // sandbox process's pivot_root to its empty root must not move
        // this process's root with it.
        #[allow(unsafe_code)]
        // SAFETY: unshare is async-signal-safe and touches no memory.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut gofer_cmd, || {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(std::io::Error::from)
            });
        }
    }
    let child = gofer_cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("starting the gofer")?;
    drop(theirs);
    Ok((child, Arc::new(gofer::Client::new(ours))))
}

/// Host fds the sentry's fd table has room for from the start.
const HOST_FD_TABLE: i32 = 8192;

/// Give the sentry its host fds: the RLIMIT_NOFILE soft limit raised to
/// the hard one (the sandbox's own limits are the sentry's, not these),
/// a share of them for the overlays to keep open between reads, and an fd
/// table of [`HOST_FD_TABLE`] slots (or the limit, if lower) grown now,
/// while the process has a single thread: Linux grows a table that several
/// threads share only after an RCU grace period (`expand_fdtable` calls
/// `synchronize_rcu`), about 12 ms here, once per doubling, and never
/// shrinks it. Grown on demand, the sentry's table (a host fd per lower
/// file in use and per directory walked) cost a walk of /usr/include's
/// 8800 files six grace periods, some 75 ms. The table costs 8 bytes of
/// kernel memory a slot. Must run before the sandbox starts any thread.
pub fn reserve_host_fds() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((1024, 1024));
    let limit = if hard > soft && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() { hard } else { soft };
    sentry::fs::handles::set_kept_fds((limit / 8).min(4096) as usize);
    let last = (limit.min(HOST_FD_TABLE as u64) as i32) - 1;
    // dup2 to the last slot makes the kernel size the table for it; the
    // close leaves the table as it is.
    if last > 2 && nix::unistd::dup2(2, last).is_ok() {
        let _ = nix::unistd::close(last);
    }
}

/// On each SIGQUIT, print what every task is doing to stderr (a hang's
/// post-mortem, as gVisor's `runsc debug --stacks`); the sandbox goes on.
fn dump_on_sigquit(kernel: std::sync::Weak<sentry::kernel::Kernel>, quit: nix::sys::signal::SigSet) {
    let spawned = std::thread::Builder::new().name("sigquit".into()).spawn(move || {
        while quit.wait().is_ok() {
            let Some(k) = kernel.upgrade() else { return };
            eprint!("{}", sentry::debug_dump(&k));
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("no SIGQUIT dump thread: {e}");
    }
}

/// The memory file, with its store as `--overlay-medium` says (see
/// `sentry::mm::memfile`), made before [`jail`]: the store is an unlinked
/// file of a host directory, `rootfs` for the `self` medium.
pub fn memory_file(cli: &crate::Cli, rootfs: &Path) -> anyhow::Result<Arc<sentry::mm::MemoryFile>> {
    let (dir, required) = match cli.overlay_medium.as_str() {
        "memory" => (None, false),
        "self" => (Some(rootfs.to_path_buf()), false),
        m => match m.strip_prefix("dir=") {
            Some(d) if d.starts_with('/') => (Some(std::path::PathBuf::from(d)), true),
            _ => bail!("--overlay-medium {m:?}: expected memory, self or dir=/ABSOLUTE/PATH"),
        },
    };
    let store = match dir {
        None => None,
        Some(d) => {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_TMPFILE).mode(0o600).open(&d) {
                Ok(f) => Some(std::os::fd::OwnedFd::from(f)),
                Err(e) if required => bail!("the overlay's store in {}: {e}", d.display()),
                Err(e) => {
                    tracing::debug!("no overlay store in {} ({e}): big files stay in memory", d.display());
                    None
                }
            }
        }
    };
    Ok(Arc::new(sentry::mm::MemoryFile::new(store).map_err(|e| anyhow::anyhow!("memory file: {e}"))?))
}

/// Build the kernel over `gofers`' root, on memory file `mf`.
pub fn build(cli: &crate::Cli, gofers: Gofers, mf: Arc<sentry::mm::MemoryFile>, hostname: String) -> anyhow::Result<Sandbox> {
    if !["ptrace", "systrap"].contains(&cli.platform.as_str()) {
        bail!("platform {:?} is not available (available: ptrace, systrap)", cli.platform);
    }
    // SIGQUIT is taken by a thread of ours (below), not by the process:
    // blocked before any thread is made, so that all inherit it.
    let quit = nix::sys::signal::SigSet::from(nix::sys::signal::Signal::SIGQUIT);
    quit.thread_block().context("blocking SIGQUIT")?;
    let t0 = gofers.t0;
    let client = gofers.root.1.clone();
    batch_scheduling();
    let platform: Arc<dyn platform::Platform> = if cli.platform == "systrap" {
        Arc::new(platform_systrap::SystrapPlatform::new(mf.fd()).context("starting the systrap platform")?)
    } else {
        Arc::new(platform_ptrace::PtracePlatform::new(mf.fd()).context("starting the ptrace platform")?)
    };
    tracing::debug!("platform ready at {:?}", t0.elapsed());
    let opts = sentry::kernel::Options {
        strace: cli.strace,
        timing: cli.debug,
        hostname,
        directfs: cli.directfs,
        network_host: cli.network == "host",
    };
    let kernel = sentry::new_kernel(platform, mf, client.clone(), opts).map_err(|e| anyhow::anyhow!("building the kernel: {e}"))?;
    dump_on_sigquit(Arc::downgrade(&kernel), quit);
    tracing::debug!("kernel ready at {:?}", t0.elapsed());
    Ok(Sandbox { kernel, gofers, gofer: client, t0, directfs: cli.directfs })
}

/// Put this thread, and so every thread and process of the sandbox made
/// after it (task threads, the platform's stub processes and its factory),
/// under SCHED_BATCH: the host scheduler then never preempts one of them
/// for another that wakes up (only ticks and yields switch them). Every
/// hand-off of the sandbox spins and yields, so a woken thread waits a few
/// microseconds at most for a CPU; what it stops is a wake-up (a pipe's
/// reader, say) taking the CPU from a sentry thread in the middle of a
/// syscall, which the woken thread then waits on anyway. tar | cat of
/// /usr/include, interleaved medians of 9: 875 -> 676 ms. The sandboxed
/// application sees none of it (its scheduling policies are the
/// sentry's). `RUNSC_SCHED_BATCH=0` leaves the policy alone, for measuring.
fn batch_scheduling() {
    if std::env::var("RUNSC_SCHED_BATCH").is_ok_and(|v| v == "0") {
        return;
    }
    let param = libc::sched_param { sched_priority: 0 };
    #[allow(unsafe_code)]
    // SAFETY: sched_setscheduler reads the sched_param it is given, which
    // lives across the call.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if r != 0 {
        tracing::debug!("SCHED_BATCH: {}", std::io::Error::last_os_error());
    }
}

/// Whether this process can confine itself: it is root, and pid 1 of the
/// pid namespace it was made in (with its own mount namespace and /proc).
pub fn jailed() -> bool {
    nix::unistd::geteuid().is_root() && nix::unistd::getpid().as_raw() == 1
}

/// Before the kernel is built (so that every thread it makes inherits
/// this): let go of the host's tree and drop capabilities, when
/// [`jailed`]. Every host path the sandbox needs must be open by now.
pub fn jail(cli: &crate::Cli) -> anyhow::Result<()> {
    if jailed() {
        crate::confine::sentry::jail()?;
        crate::confine::sentry::drop_capabilities(cli.network == "host")?;
    }
    Ok(())
}

/// Once the sandbox is built, before any application code runs: the
/// sentry's seccomp filter, on every thread.
pub fn install_filter(cli: &crate::Cli) -> anyhow::Result<()> {
    crate::confine::install("sentry", &crate::confine::sentry::rules(&cli.platform, cli.directfs, cli.network == "host"))
}

impl Sandbox {
    /// Bind-mount the host file or directory `source` at `dest`: served by
    /// a gofer of its own (one per source directory and access; a file's
    /// is its directory's). Writes reach the host (the tree is written
    /// through), unless the mount is read-only.
    pub fn bind(&mut self, source: &Path, dest: &str, flags: u64) -> anyhow::Result<()> {
        let writable = flags & libc::MS_RDONLY == 0;
        let (dir, name) = match self.gofers.sources.iter().find(|(s, _, _)| s == source) {
            Some((_, d, n)) => (d.clone(), n.clone()),
            None => bail!("mount source {} has no gofer", source.display()),
        };
        let Some(g) = self.gofers.binds.iter_mut().find(|b| b.dir == dir && b.writable == writable) else {
            bail!("mount source {} has no gofer", source.display());
        };
        let root = match &g.root {
            Some(r) => r.clone(),
            None => {
                let (client, mf) = (g.client.clone(), self.kernel.mf.clone());
                let root: Arc<dyn sentry::vfs::Inode> = if writable {
                    sentry::fs::passthrough::Node::new_root(client, mf).map(|n| n as _)
                } else {
                    sentry::fs::overlay::Node::new_root(client, mf, self.directfs).map(|n| n as _)
                }
                .map_err(|e| anyhow::anyhow!("serving {}: {e}", dir.display()))?;
                g.root = Some(root.clone());
                root
            }
        };
        let inode = match name {
            Some(n) => root.lookup(&n).map_err(|e| anyhow::anyhow!("mount source {}: {e}", source.display()))?,
            None => root,
        };
        let src = source.to_string_lossy();
        sentry::mount_inode(&self.kernel, dest.as_bytes(), inode, &src, flags)
            .map_err(|e| anyhow::anyhow!("mounting {} at {dest}: {e}", source.display()))
    }

    /// Log what the sandbox did (--debug).
    pub fn report(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let kernel = &self.kernel;
        tracing::debug!(
            "sandbox done: {} syscalls, {} faults, {} injected host syscalls",
            kernel.stats.syscalls.load(Relaxed),
            kernel.stats.faults.load(Relaxed),
            platform_ptrace::injected_syscalls() + platform_systrap::COMMANDS.load(Relaxed)
        );
        tracing::debug!("systrap: {} windows of late hand-offs (the CPUs oversubscribed)", platform_systrap::contention::HOLD.started.load(Relaxed));
        tracing::debug!("gofer: {} round trips, {:.2} ms", self.gofer.calls.load(Relaxed), self.gofer.call_ns.load(Relaxed) as f64 / 1e6);
        tracing::debug!("injected by syscall number: {:?}", platform_ptrace::injected_by_nr());
        let st = &kernel.stats;
        let ms = |ns: u64| ns as f64 / 1e6;
        tracing::debug!(
            "time: application {:.2} ms, faults {:.2} ms, syscalls (number, count, ms): {:?}",
            ms(st.app_ns.load(Relaxed)),
            ms(st.fault_ns.load(Relaxed)),
            st.top_syscalls(12).iter().map(|&(nr, n, ns)| (nr, n, (ms(ns) * 100.0).round() / 100.0)).collect::<Vec<_>>()
        );
    }

    /// Stop the gofer (it would end anyway when its socket closes at our
    /// exit; killing it spares a wait on its teardown).
    pub fn finish(mut self) {
        let _ = self.gofers.root.0.kill();
        let _ = self.gofers.root.0.wait();
        for mut b in self.gofers.binds.drain(..) {
            let _ = b.child.kill();
            let _ = b.child.wait();
        }
        // The process exits next: the host frees the memory file at once.
        // Dropping the kernel would give its pages back one run at a time
        // (a sandbox that wrote 100 MB spent 20 ms here).
        std::mem::forget(self);
    }
}

/// The shell's exit status for a wait status: the code, or 128+N for a
/// signal N.
pub fn exit_code(status: i32) -> i32 {
    if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    }
}

/// Start init; on failure, the message and the shell's status for it (127
/// not found, 126 not executable).
pub fn start_init(kernel: &Arc<sentry::kernel::Kernel>, spec: sentry::InitSpec) -> Result<(), (String, i32)> {
    start_process(kernel, spec).map(drop)
}

/// An errno in runc's (Go's) words: "no such file or directory".
fn errno_words(e: sentry::errno::Errno) -> String {
    let s = std::io::Error::from_raw_os_error(e.0).to_string();
    s.split(" (os error").next().unwrap_or(&s).to_lowercase()
}

/// Start a process (init first, then exec's); on failure, as
/// [`start_init`].
pub fn start_process(
    kernel: &Arc<sentry::kernel::Kernel>,
    spec: sentry::InitSpec,
) -> Result<Arc<sentry::kernel::task::ThreadGroup>, (String, i32)> {
    let name = String::from_utf8_lossy(spec.argv.first().map(|a| a.as_slice()).unwrap_or(b"")).into_owned();
    let cwd = String::from_utf8_lossy(&spec.cwd).into_owned();
    match sentry::start_process(kernel, spec) {
        Err(sentry::StartError::Cwd(e)) => Err((format!("chdir to cwd ({cwd:?}) set in config.json failed: {}", errno_words(e)), 126)),
        Ok(tg) => Ok(tg),
        // runc's words, which engines read: Docker gives 127 for "no such
        // file or directory" and "executable file not found", 126 for
        // "permission denied".
        Err(sentry::StartError::NotFound(_)) if name.contains('/') => {
            Err((format!("exec: {name:?}: stat {name}: no such file or directory"), 127))
        }
        Err(sentry::StartError::NotFound(_)) => Err((format!("exec: {name:?}: executable file not found in $PATH"), 127)),
        Err(sentry::StartError::NotExecutable(e)) => Err((format!("exec: {name:?}: {}", errno_words(e)), 126)),
        Err(sentry::StartError::Other(e)) => Err((format!("{name}: {}", std::io::Error::from_raw_os_error(e.0)), 126)),
    }
}
