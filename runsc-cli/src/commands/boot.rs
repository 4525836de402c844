//! `runsc boot` (internal): the sandbox process of one OCI container.
//! `create` starts it and waits until it is ready; it builds the sandbox
//! over the bundle's root filesystem, then serves the container's control
//! socket: `start` runs the init process, `kill` signals it. When init
//! exits, the state says stopped with its status, and this process exits
//! with that status (what an engine watching the container's pid sees).

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::state::{self, Reply, Request, State};

/// Arguments of `boot`.
#[derive(Args, Debug)]
pub struct BootArgs {
    /// The bundle directory (absolute).
    #[arg(long)]
    bundle: PathBuf,
    /// The container id.
    #[arg(long)]
    id: String,
    /// A pipe to write one byte to once the control socket listens.
    #[arg(long)]
    ready_fd: i32,
    /// Where to send the terminal's master (process.terminal).
    #[arg(long)]
    console_socket: Option<PathBuf>,
}

/// Build the sandbox and serve the control socket until init exits.
pub fn run(cli: &crate::Cli, a: &BootArgs) -> anyhow::Result<i32> {
    super::init_logging(cli, "boot");
    // Not to be inherited by the gofers.
    nix::fcntl::fcntl(a.ready_fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC)).context("the ready fd is not open")?;
    #[allow(unsafe_code)]
    // SAFETY: the fd was checked open above; create handed it to us alone.
    let mut ready = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(a.ready_fd) });
    // What goes wrong before the sandbox is ready is create's error: the
    // message goes back through the pipe, for create to print once.
    let Setup { sb, spec, listener, root, sock, tty } = match setup(cli, a) {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.write_all(format!("E{e:#}\n").replace('\n', " ").trim_end().as_bytes());
            let _ = ready.write_all(b"\n");
            return Ok(1);
        }
    };
    ready.write_all(b"1").context("telling create we are ready")?;
    drop(ready);
    let ctx = Ctx { root, id: a.id.clone(), spec, kernel: sb.kernel.clone(), sock, tty };
    let mut started = false;
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        serve(&ctx, conn, &mut started);
    }
    Ok(0)
}

/// A built sandbox, and what serving it needs.
struct Setup {
    sb: crate::sandbox::Sandbox,
    spec: oci_spec::runtime::Spec,
    listener: UnixListener,
    /// The state root (through a held fd once the sandbox is jailed).
    root: PathBuf,
    sock: PathBuf,
    /// The terminal's slave, init's stdio with process.terminal.
    tty: Option<OwnedFd>,
}

/// A host pseudo-terminal for the container: its master goes to the
/// engine through `socket` (SCM_RIGHTS, as runc sends it), its slave is
/// returned for init's stdio.
pub fn console(socket: &std::path::Path) -> anyhow::Result<OwnedFd> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    use std::os::fd::AsRawFd;
    let pty = nix::pty::openpty(None, None).context("opening a pseudo-terminal")?;
    let s = state::connect_socket(socket).with_context(|| format!("connecting to the console socket {}", socket.display()))?;
    let name = b"/dev/ptmx";
    let iov = [std::io::IoSlice::new(name)];
    let fds = [pty.master.as_raw_fd()];
    sendmsg::<()>(s.as_raw_fd(), &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
        .context("sending the terminal to the console socket")?;
    Ok(pty.slave)
}

/// Build the sandbox with the spec's mounts and listen on the control
/// socket.
fn setup(cli: &crate::Cli, a: &BootArgs) -> anyhow::Result<Setup> {
    if crate::sandbox::jailed() {
        crate::confine::sentry::own_proc()?;
    }
    let spec = super::oci::load_spec(&a.bundle)?;
    let rootfs = super::oci::rootfs(&spec, &a.bundle)?;
    // Into the container's host cgroup before anything is started, so
    // that the gofers and stub processes are in it too.
    if let Some(p) = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone()) {
        let dirs = crate::cgroup::join(&crate::cgroup::relative(&p.to_string_lossy()), std::process::id() as i32)?;
        state::save_cgroups(&cli.root, &a.id, &dirs)?;
    }
    enter_namespaces(&spec, cli.network == "host")?;
    let hostname = spec.hostname().clone().unwrap_or_else(|| {
        nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "runsc".into())
    });
    // Everything on the host the sandbox will need is opened now, before
    // it lets go of the host's tree: the terminal, the control socket, the
    // state directory, and the gofers (which alone see files from then on).
    let tty = match &a.console_socket {
        Some(c) => Some(console(c)?),
        None => None,
    };
    let sock = state::socket(&cli.root, &a.id);
    let _ = std::fs::remove_file(&sock);
    let listener = state::bind_socket(&sock).with_context(|| format!("listening on {}", sock.display()))?;
    crate::sandbox::reserve_host_fds();
    let gofers = crate::sandbox::Gofers::spawn(cli, &rootfs, &bind_sources(&spec)?)?;
    let root = if crate::sandbox::jailed() {
        let flags = nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
        let fd = nix::fcntl::open(&cli.root, flags, nix::sys::stat::Mode::empty()).context("opening the state directory")?;
        // Held for the life of the sandbox: its state, reached through
        // its own /proc once the host's tree is gone.
        PathBuf::from(format!("/proc/self/fd/{fd}"))
    } else {
        cli.root.clone()
    };
    let mf = crate::sandbox::memory_file(cli, &rootfs)?;
    crate::sandbox::jail(cli)?;
    let mut sb = crate::sandbox::build(cli, gofers, mf, hostname)?;
    if let Some(d) = spec.domainname() {
        sb.kernel.set_uts_name(false, d.clone().into_bytes());
    }
    apply_mounts(&mut sb, &spec)?;
    if let Some(l) = spec.linux() {
        // Sysctls are the sandbox's own: set in the sentry, never on the
        // host. One the sandbox lacks fails the container, as under runc.
        for (name, value) in l.sysctl().iter().flatten() {
            sb.kernel.set_sysctl(name, value.as_bytes()).map_err(|e| match e {
                sentry::errno::Errno::ENOENT => anyhow::anyhow!("sysctl {name:?} is not supported in the sandbox"),
                e => anyhow::anyhow!("sysctl {name}={value:?}: {e}"),
            })?;
        }
        for p in l.masked_paths().iter().flatten() {
            sentry::mask_path(&sb.kernel, p.as_bytes()).map_err(|e| anyhow::anyhow!("masking {p}: {e}"))?;
        }
        for p in l.readonly_paths().iter().flatten() {
            sentry::readonly_path(&sb.kernel, p.as_bytes()).map_err(|e| anyhow::anyhow!("making {p} read-only: {e}"))?;
        }
    }
    // Resources, enforced by the sentry: memory by its own accounting
    // (the faulting process is killed past the limit), pids at clone.
    if let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        if let Some(limit) = r.memory().as_ref().and_then(|m| m.limit()).filter(|&l| l > 0) {
            sb.kernel.mf.set_limit(limit as u64);
        }
        if let Some(p) = r.pids().as_ref().map(|p| p.limit()).filter(|&l| l > 0) {
            sb.kernel.set_pids_limit(p as u64);
        }
    }
    // init's working directory is made if missing, as runc does.
    if let Some(p) = spec.process() {
        let cwd = p.cwd().to_string_lossy().into_owned();
        sentry::make_dirs(&sb.kernel, cwd.as_bytes()).map_err(|e| anyhow::anyhow!("making the working directory {cwd}: {e}"))?;
    }
    if spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false) {
        sb.kernel.ns.root().set_flags(sentry::vfs::mount::ms::RDONLY);
    }
    crate::sandbox::install_filter(cli)?;
    let sock = state::socket(&root, &a.id);
    Ok(Setup { sb, spec, listener, root, sock, tty })
}

/// The spec's network, IPC and UTS namespaces for the sandbox process:
/// the one at `path` (an engine's, which it has set up) joined, or a new
/// one. Engines configure a container's network through its process's
/// namespace, which must not be the host's. One the spec does not name is
/// new all the same (the sandbox's network, IPC and names are the
/// sentry's own), except the network with `--network=host`. The pid and
/// mount namespaces were made with this process.
fn enter_namespaces(spec: &oci_spec::runtime::Spec, host_network: bool) -> anyhow::Result<()> {
    use nix::sched::CloneFlags;
    use oci_spec::runtime::LinuxNamespaceType as T;
    let mut missing = CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS;
    if !host_network {
        missing |= CloneFlags::CLONE_NEWNET;
    }
    for ns in spec.linux().as_ref().and_then(|l| l.namespaces().clone()).unwrap_or_default() {
        let flag = match ns.typ() {
            T::Network => CloneFlags::CLONE_NEWNET,
            T::Ipc => CloneFlags::CLONE_NEWIPC,
            T::Uts => CloneFlags::CLONE_NEWUTS,
            _ => continue,
        };
        missing.remove(flag);
        match ns.path() {
            Some(p) => {
                let f = std::fs::File::open(p).with_context(|| format!("opening the {:?} namespace {}", ns.typ(), p.display()))?;
                nix::sched::setns(f, flag).with_context(|| format!("joining the {:?} namespace {}", ns.typ(), p.display()))?;
            }
            None => nix::sched::unshare(flag).with_context(|| format!("a new {:?} namespace", ns.typ()))?,
        }
    }
    if nix::unistd::geteuid().is_root() && !missing.is_empty() {
        nix::sched::unshare(missing).context("new namespaces for the sandbox")?;
    }
    Ok(())
}

/// The bind mounts of the spec: source, and whether writable.
fn bind_sources(spec: &oci_spec::runtime::Spec) -> anyhow::Result<Vec<(PathBuf, bool)>> {
    let mut v = Vec::new();
    for m in spec.mounts().iter().flatten() {
        if let Some(src) = bind_source(m)? {
            let opts = m.options().clone().unwrap_or_default();
            v.push((src, mount_flags(&opts) & libc::MS_RDONLY == 0));
        }
    }
    Ok(v)
}

/// The source of a bind mount (type "bind", or option bind or rbind);
/// None for another kind of mount.
fn bind_source(m: &oci_spec::runtime::Mount) -> anyhow::Result<Option<PathBuf>> {
    let opts = m.options().as_deref().unwrap_or_default();
    if m.typ().as_deref() != Some("bind") && !opts.iter().any(|o| o == "bind" || o == "rbind") {
        return Ok(None);
    }
    let dest = m.destination().display();
    m.source().clone().map(Some).with_context(|| format!("the bind mount at {dest} has no source"))
}

/// The per-mount flags of a mount's options.
fn mount_flags(opts: &[String]) -> u64 {
    use sentry::vfs::mount::ms;
    opts.iter().fold(0, |f, o| {
        f | match o.as_str() {
            "ro" => ms::RDONLY,
            "nosuid" => ms::NOSUID,
            "nodev" => ms::NODEV,
            "noexec" => ms::NOEXEC,
            "noatime" => ms::NOATIME,
            _ => 0,
        }
    })
}

/// The spec's mounts: bind mounts through gofers of their own; tmpfs,
/// proc, sysfs, devpts, cgroup and mqueue from the sentry. What the
/// sandbox already has in place (its /dev, /proc, /sys, /dev/pts,
/// /dev/shm, /dev/mqueue) stays; other mount types are skipped with a log line.
fn apply_mounts(sb: &mut crate::sandbox::Sandbox, spec: &oci_spec::runtime::Spec) -> anyhow::Result<()> {
    const BUILT_IN: &[(&str, &str)] =
        &[("/dev", "tmpfs"), ("/proc", "proc"), ("/sys", "sysfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"), ("/dev/mqueue", "mqueue")];
    for m in spec.mounts().iter().flatten() {
        let dest = m.destination().to_string_lossy().into_owned();
        let typ = m.typ().clone().unwrap_or_default();
        let opts = m.options().clone().unwrap_or_default();
        let flags = mount_flags(&opts);
        if let Some(src) = bind_source(m)? {
            sb.bind(&src, &dest, flags)?;
            continue;
        }
        if BUILT_IN.contains(&(dest.as_str(), typ.as_str())) {
            continue;
        }
        match typ.as_str() {
            "tmpfs" | "proc" | "sysfs" | "devpts" | "cgroup" | "cgroup2" | "mqueue" => {
                // The sandbox's cgroupfs is version 2 whatever the spec
                // asks (runc does the same on a cgroup v2 host).
                let typ = if typ == "cgroup" { "cgroup2" } else { typ.as_str() };
                let data: Vec<&str> = opts.iter().map(String::as_str).filter(|o| o.contains('=')).collect();
                sentry::mount_fs(&sb.kernel, dest.as_bytes(), typ, &data.join(","), flags)
                    .map_err(|e| anyhow::anyhow!("mounting {typ} at {dest}: {e}"))?;
            }
            _ => tracing::warn!("mount of type {typ:?} at {dest} is not served; skipped"),
        }
    }
    Ok(())
}

struct Ctx {
    root: PathBuf,
    id: String,
    spec: oci_spec::runtime::Spec,
    kernel: Arc<sentry::kernel::Kernel>,
    sock: PathBuf,
    /// The terminal's slave, init's stdio with process.terminal.
    tty: Option<OwnedFd>,
}

impl Ctx {
    fn stopped(&self, code: i32) -> ! {
        stopped(&self.root, &self.id, &self.sock, code)
    }
}

/// Held while a request that can end the container (a kill) is served
/// and answered: the end waits for it, so that `runsc kill` gets its
/// answer before the process exits (it got EOF once, under load).
static ANSWERING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Record the end and leave with `code`.
fn stopped(root: &std::path::Path, id: &str, sock: &std::path::Path, code: i32) -> ! {
    let _answered = ANSWERING.lock().unwrap_or_else(|e| e.into_inner());
    let _ = State::update(root, id, |st| {
        st.status = "stopped".into();
        st.exit_status = Some(code);
    });
    let _ = std::fs::remove_file(sock);
    std::process::exit(code)
}

fn reply(conn: &mut UnixStream, error: Option<String>) {
    send_reply(conn, &Reply { error, ..Reply::default() });
}

fn send_reply(conn: &mut UnixStream, r: &Reply) {
    let mut line = serde_json::to_vec(r).unwrap_or_default();
    line.push(b'\n');
    let _ = conn.write_all(&line);
}

fn serve(ctx: &Ctx, mut conn: UnixStream, started: &mut bool) {
    let (req, fds) = match state::receive(&conn) {
        Ok(x) => x,
        Err(e) => return reply(&mut conn, Some(format!("{e:#}"))),
    };
    match req {
        Request::Ps => {
            let mut procs = Vec::new();
            for g in ctx.kernel.all_groups() {
                if g.st().zombie {
                    continue;
                }
                let comm = String::from_utf8_lossy(&g.comm.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
                let uid = g.creds.lock().unwrap_or_else(|e| e.into_inner()).uid;
                procs.push((g.tgid, g.ppid.load(std::sync::atomic::Ordering::Relaxed), uid, comm));
            }
            send_reply(&mut conn, &Reply { processes: Some(procs), ..Reply::default() });
        }
        Request::Stats => {
            let live = ctx.kernel.all_groups().iter().filter(|g| !g.st().zombie).count() as u64;
            send_reply(&mut conn, &Reply { stats: Some((ctx.kernel.mf.used_bytes(), live)), ..Reply::default() });
        }
        Request::Exec { .. } if !*started => reply(&mut conn, Some("cannot exec in a container that has not started".into())),
        Request::Exec { args, env, cwd, uid, gid } => {
            if fds.len() != 3 {
                return reply(&mut conn, Some("exec needs the three stdio fds".into()));
            }
            let spec = sentry::InitSpec {
                argv: args.into_iter().map(String::into_bytes).collect(),
                env: env.into_iter().map(String::into_bytes).collect(),
                cwd: cwd.into_bytes(),
                stdio: fds,
                ids: (uid, gid),
                extras: ctx.spec.process().as_ref().map(extras).unwrap_or_default(),
            };
            match crate::sandbox::start_process(&ctx.kernel, spec) {
                Ok(tg) => {
                    // Answer when it exits, from a thread of its own.
                    std::thread::spawn(move || {
                        let code = crate::sandbox::exit_code(sentry::wait_process(&tg));
                        send_reply(&mut conn, &Reply { exit: Some(code), ..Reply::default() });
                    });
                }
                Err((msg, code)) => send_reply(&mut conn, &Reply { error: Some(msg), exit: Some(code), ..Reply::default() }),
            }
        }
        Request::Start if *started => reply(&mut conn, Some("the container has already been started".into())),
        Request::Start => match init_spec(&ctx.spec, ctx.tty.as_ref()).and_then(|s| crate::sandbox::start_init(&ctx.kernel, s)) {
            Ok(()) => {
                *started = true;
                let _ = State::update(&ctx.root, &ctx.id, |st| st.status = "running".into());
                reply(&mut conn, None);
                let kernel = ctx.kernel.clone();
                let (root, id, sock) = (ctx.root.clone(), ctx.id.clone(), ctx.sock.clone());
                std::thread::spawn(move || {
                    let code = crate::sandbox::exit_code(kernel.wait_exit());
                    stopped(&root, &id, &sock, code)
                });
            }
            Err((msg, code)) => {
                reply(&mut conn, Some(msg));
                ctx.stopped(code)
            }
        },
        Request::Kill { signo, .. } if !*started => {
            // A created container has no process yet: killing it ends it.
            reply(&mut conn, None);
            ctx.stopped(128 + signo)
        }
        Request::Kill { signo, all } => {
            let _answering = ANSWERING.lock().unwrap_or_else(|e| e.into_inner());
            let err = (!ctx.kernel.signal_from_host(signo, all)).then(|| "no such process".to_string());
            reply(&mut conn, err);
        }
    }
}

/// The init process from the spec's `process`, on this process's stdio.
fn init_spec(spec: &oci_spec::runtime::Spec, tty: Option<&OwnedFd>) -> Result<sentry::InitSpec, (String, i32)> {
    let p = spec.process().as_ref().ok_or(("config.json has no process".to_string(), 126))?;
    let argv: Vec<Vec<u8>> = p.args().clone().unwrap_or_default().into_iter().map(String::into_bytes).collect();
    if argv.is_empty() {
        return Err(("config.json: process.args is empty".into(), 126));
    }
    let env = p.env().clone().unwrap_or_default().into_iter().map(String::into_bytes).collect();
    let cwd = p.cwd().to_string_lossy().into_owned().into_bytes();
    let mut stdio = Vec::new();
    for fd in 0..3 {
        let from = tty.map(std::os::fd::AsRawFd::as_raw_fd).unwrap_or(fd);
        let d = nix::unistd::dup(from).map_err(|e| (format!("dup of fd {from}: {e}"), 126))?;
        #[allow(unsafe_code)]
        // SAFETY: `d` was just returned by dup and is owned by nobody else.
        stdio.push(unsafe { OwnedFd::from_raw_fd(d) });
    }
    Ok(sentry::InitSpec { argv, env, cwd, stdio, ids: (p.user().uid(), p.user().gid()), extras: extras(p) })
}

/// Supplementary groups, umask, rlimits (applied by the sentry: the host's
/// limits are not touched) and noNewPrivileges of an OCI process.
fn extras(p: &oci_spec::runtime::Process) -> sentry::ProcessExtras {
    use oci_spec::runtime::PosixRlimitType as T;
    let number = |t: T| -> usize {
        match t {
            T::RlimitCpu => 0,
            T::RlimitFsize => 1,
            T::RlimitData => 2,
            T::RlimitStack => 3,
            T::RlimitCore => 4,
            T::RlimitRss => 5,
            T::RlimitNproc => 6,
            T::RlimitNofile => 7,
            T::RlimitMemlock => 8,
            T::RlimitAs => 9,
            T::RlimitLocks => 10,
            T::RlimitSigpending => 11,
            T::RlimitMsgqueue => 12,
            T::RlimitNice => 13,
            T::RlimitRtprio => 14,
            T::RlimitRttime => 15,
        }
    };
    sentry::ProcessExtras {
        groups: p.user().additional_gids().clone().unwrap_or_default(),
        umask: p.user().umask(),
        rlimits: p.rlimits().iter().flatten().map(|r| (number(r.typ()), r.soft(), r.hard())).collect(),
        no_new_privs: p.no_new_privileges().unwrap_or(false),
        caps: p.capabilities().as_ref().map(|c| {
            let mask = |set: &Option<oci_spec::runtime::Capabilities>| {
                let names: Vec<String> = set.iter().flatten().map(|c| c.to_string()).collect();
                sentry::capability_mask(names.iter().map(String::as_str))
            };
            (mask(c.effective()), mask(c.permitted()), mask(c.inheritable()), mask(c.bounding()))
        }),
    }
}
