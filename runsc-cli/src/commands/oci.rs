//! The runc-compatible container commands: create, start, state, kill,
//! delete, run, list, wait, spec and features.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context};
use clap::Args;
use oci_spec::runtime::Spec;

use crate::confine::sentry::SandboxProcess;
use crate::state::{self, Request, State};

/// The OCI version we implement.
const OCI_VERSION: &str = "1.0.2";

/// Load and check `bundle/config.json`.
pub fn load_spec(bundle: &Path) -> anyhow::Result<Spec> {
    let path = bundle.join("config.json");
    if !path.is_file() {
        bail!("{}: no such file (is --bundle the bundle directory?)", path.display());
    }
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let spec: Spec = serde_json::from_slice(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let args = spec.process().as_ref().and_then(|p| p.args().clone()).unwrap_or_default();
    if args.is_empty() {
        bail!("{}: process.args must name the program to run", path.display());
    }
    Ok(spec)
}

/// The bundle's root filesystem (which must be a directory).
pub fn rootfs(spec: &Spec, bundle: &Path) -> anyhow::Result<PathBuf> {
    let root = spec.root().as_ref().map(|r| r.path().clone()).unwrap_or_else(|| PathBuf::from("rootfs"));
    let path = if root.is_absolute() { root } else { bundle.join(root) };
    if !path.is_dir() {
        bail!("root filesystem {} does not exist", path.display());
    }
    Ok(path)
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))
}

/// Arguments of `create` (and the creating half of `run`).
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The bundle directory.
    #[arg(long, short = 'b', default_value = ".")]
    bundle: PathBuf,
    /// Write the sandbox process's pid here.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// With process.terminal: the socket the terminal's master is sent to
    /// (SCM_RIGHTS), as runc does.
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// The container id.
    id: String,
}

/// Start the sandbox process for `a` and wait until it is ready; on any
/// failure nothing is left behind.
fn create(cli: &crate::Cli, a: &CreateArgs) -> anyhow::Result<SandboxProcess> {
    state::validate_id(&a.id)?;
    let bundle = absolute(&a.bundle)?;
    let spec = load_spec(&bundle)?;
    rootfs(&spec, &bundle)?;
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false);
    if terminal && a.console_socket.is_none() {
        bail!("process.terminal needs --console-socket");
    }
    if !terminal && a.console_socket.is_some() {
        bail!("--console-socket needs process.terminal in config.json");
    }
    std::fs::create_dir_all(&cli.root).with_context(|| format!("creating {}", cli.root.display()))?;
    let dir = state::dir(&cli.root, &a.id);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!("container \"{}\" already exists", a.id),
        Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
    }
    let r = spawn_sandbox(cli, a, &bundle, &spec);
    if r.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    r
}

fn spawn_sandbox(cli: &crate::Cli, a: &CreateArgs, bundle: &Path, spec: &Spec) -> anyhow::Result<SandboxProcess> {
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    nix::fcntl::fcntl(wr.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()))?;
    let exe = std::env::current_exe().context("finding our own binary")?;
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    let mut arg = |a: &dyn AsRef<std::ffi::OsStr>| args.push(a.as_ref().to_os_string());
    arg(&"--root");
    arg(&cli.root);
    arg(&"--platform");
    arg(&cli.platform);
    arg(&format!("--directfs={}", cli.directfs));
    arg(&format!("--network={}", cli.network));
    if cli.debug {
        arg(&"--debug");
    }
    if cli.strace {
        arg(&"--strace");
    }
    if let Some(d) = &cli.debug_log {
        arg(&"--debug-log");
        arg(d);
    }
    for a in ["boot", "--bundle"] {
        arg(&a);
    }
    arg(&bundle);
    arg(&"--id");
    arg(&a.id);
    arg(&"--ready-fd");
    arg(&wr.as_raw_fd().to_string());
    let console = a.console_socket.as_ref().map(|c| absolute(c)).transpose()?;
    if let Some(c) = &console {
        arg(&"--console-socket");
        arg(c);
    }
    // As root, the sandbox process is pid 1 of new pid and mount
    // namespaces (it takes the others from the spec). It has its own
    // process group: the caller's terminal signals are not the
    // container's. With a console, the container's stdio is the terminal:
    // the sandbox process keeps none of ours (containerd's shim reads
    // create's output until its end, which a sandbox holding it would
    // never give).
    let flags = if nix::unistd::geteuid().is_root() { crate::confine::sentry::namespace_flags(false, false) } else { 0 };
    let child = SandboxProcess(crate::confine::sentry::spawn_in_namespaces(&exe, &args, flags, console.is_some())?);
    drop(wr);
    // "1", or "E" and a message up to a newline (the sandbox's forked
    // processes may hold the pipe open: never wait for its end).
    let mut answer = Vec::new();
    let mut pipe = std::fs::File::from(OwnedFd::from(rd));
    let mut byte = [0u8; 1];
    while pipe.read(&mut byte).unwrap_or(0) == 1 {
        if answer.is_empty() && byte[0] == b'1' || byte[0] == b'\n' {
            answer.push(byte[0]);
            break;
        }
        answer.push(byte[0]);
    }
    if answer.first() != Some(&b'1') {
        let _ = child.kill();
        let status = child.wait();
        if let Some(msg) = answer.strip_prefix(b"E") {
            bail!("{}", String::from_utf8_lossy(msg).trim_end());
        }
        bail!("the sandbox did not start ({})", status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()));
    }
    let st = State {
        oci_version: OCI_VERSION.into(),
        id: a.id.clone(),
        status: "created".into(),
        pid: child.id() as i32,
        bundle: bundle.to_string_lossy().into_owned(),
        annotations: spec.annotations().clone().unwrap_or_default().into_iter().collect(),
        created: state::now_rfc3339(),
        exit_status: None,
    };
    let finished = st
        .save(&cli.root)
        .and_then(|()| {
            use crate::hooks::{run, Stage};
            run(spec, Stage::CreateRuntime, &st)?;
            run(spec, Stage::CreateContainer, &st)?;
            run(spec, Stage::Prestart, &st)
        })
        .and_then(|()| match &a.pid_file {
            Some(p) => std::fs::write(p, child.id().to_string()).with_context(|| format!("writing {}", p.display())),
            None => Ok(()),
        });
    if let Err(e) = finished {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(child)
}

/// `runsc create`.
pub fn run_create(cli: &crate::Cli, a: &CreateArgs) -> anyhow::Result<i32> {
    create(cli, a)?;
    Ok(0)
}

/// Arguments naming one container.
#[derive(Args, Debug)]
pub struct IdArgs {
    /// The container id.
    id: String,
}

/// `runsc start`.
pub fn run_start(cli: &crate::Cli, a: &IdArgs) -> anyhow::Result<i32> {
    start(cli, &a.id)?;
    Ok(0)
}

/// Start a created container, with its start hooks.
fn start(cli: &crate::Cli, id: &str) -> anyhow::Result<()> {
    use crate::hooks::{run, Stage};
    let st = State::load(&cli.root, id)?;
    if st.status != "created" {
        bail!("cannot start a container that is {}", st.status);
    }
    let spec = load_spec(Path::new(&st.bundle))?;
    run(&spec, Stage::StartContainer, &st)?;
    state::call(&cli.root, id, &Request::Start)?;
    if let Err(e) = run(&spec, Stage::Poststart, &State::load(&cli.root, id)?) {
        tracing::warn!("{e:#}");
        eprintln!("runsc: warning: {e:#}");
    }
    Ok(())
}

/// `runsc state`.
pub fn run_state(cli: &crate::Cli, a: &IdArgs) -> anyhow::Result<i32> {
    let st = State::load(&cli.root, &a.id)?;
    println!("{}", serde_json::to_string_pretty(&st)?);
    Ok(0)
}

/// Arguments of `kill`.
#[derive(Args, Debug)]
pub struct KillArgs {
    /// Send the signal to every process of the container.
    #[arg(long, short = 'a')]
    all: bool,
    /// The container id.
    id: String,
    /// The signal: a name (KILL, SIGKILL) or a number.
    #[arg(default_value = "SIGTERM")]
    signal: String,
}

/// A signal by name (with or without SIG) or number.
pub fn parse_signal(s: &str) -> anyhow::Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        bail!("invalid signal {s:?}");
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    nix::sys::signal::Signal::from_str(&name).map(|sig| sig as i32).map_err(|_| anyhow::anyhow!("invalid signal {s:?}"))
}

/// `runsc kill`.
pub fn run_kill(cli: &crate::Cli, a: &KillArgs) -> anyhow::Result<i32> {
    let signo = parse_signal(&a.signal)?;
    let st = State::load(&cli.root, &a.id)?;
    if st.status == "stopped" {
        bail!("container \"{}\" is not running", a.id);
    }
    state::call(&cli.root, &a.id, &Request::Kill { signo, all: a.all })?;
    Ok(0)
}

/// Arguments of `delete`.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill a running container first.
    #[arg(long, short = 'f')]
    force: bool,
    /// The container id.
    id: String,
}

/// Remove container `id`, killing its sandbox process if `force` or it was
/// only created.
fn delete(cli: &crate::Cli, id: &str, force: bool) -> anyhow::Result<()> {
    let st = match State::load(&cli.root, id) {
        Ok(st) => st,
        // As runc: --force of a container that is not there (already
        // deleted, or a create that died half way) succeeds, and removes
        // whatever directory is left.
        Err(_) if force && state::validate_id(id).is_ok() => {
            let _ = std::fs::remove_dir_all(state::dir(&cli.root, id));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if st.status == "running" && !force {
        bail!("cannot delete container \"{id}\" that is running (use --force)");
    }
    if state::alive(st.pid) {
        let pid = nix::unistd::Pid::from_raw(st.pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        // Wait for it to go (it may not be our child).
        for _ in 0..500 {
            if !state::alive(st.pid) {
                break;
            }
            let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    // Whatever is left in the container's cgroup goes with it.
    let cgroups = state::cgroups(&cli.root, id);
    for pid in crate::cgroup::procs(&cgroups) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    crate::cgroup::remove(&cgroups);
    if let Ok(spec) = load_spec(Path::new(&st.bundle)) {
        let stopped = State { status: "stopped".into(), ..st.clone() };
        if let Err(e) = crate::hooks::run(&spec, crate::hooks::Stage::Poststop, &stopped) {
            eprintln!("runsc: warning: {e:#}");
        }
    }
    std::fs::remove_dir_all(state::dir(&cli.root, id)).with_context(|| format!("removing container \"{id}\""))?;
    Ok(())
}

/// `runsc delete`.
pub fn run_delete(cli: &crate::Cli, a: &DeleteArgs) -> anyhow::Result<i32> {
    delete(cli, &a.id, a.force)?;
    Ok(0)
}

/// Arguments of `run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Return once the container has started.
    #[arg(long, short = 'd')]
    detach: bool,
    #[command(flatten)]
    create: CreateArgs,
}

/// `runsc run`: create, start, and unless detached wait for the exit and
/// delete the container; the exit status is the container's.
pub fn run_run(cli: &crate::Cli, a: &RunArgs) -> anyhow::Result<i32> {
    let child = create(cli, &a.create)?;
    let id = &a.create.id;
    if let Err(e) = start(cli, id) {
        let _ = child.wait();
        let _ = delete(cli, id, true);
        return Err(e);
    }
    if a.detach {
        return Ok(0);
    }
    let status = child.wait().context("waiting for the sandbox")?;
    let code = State::load(&cli.root, id).ok().and_then(|s| s.exit_status).or(status.code()).unwrap_or(1);
    delete(cli, id, true)?;
    Ok(code)
}

/// Arguments of `list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only the ids.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// table or json.
    #[arg(long, short = 'f', default_value = "table")]
    format: String,
}

/// `runsc list`.
pub fn run_list(cli: &crate::Cli, a: &ListArgs) -> anyhow::Result<i32> {
    let all = State::list(&cli.root);
    if a.quiet {
        for s in &all {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string(&all)?),
        "table" => {
            println!("{:<12} {:<10} {:<10} {:<40} {:<30} OWNER", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
            for s in &all {
                println!("{:<12} {:<10} {:<10} {:<40} {:<30} root", s.id, s.pid, s.status, s.bundle, s.created);
            }
        }
        f => bail!("invalid format {f:?} (table or json)"),
    }
    Ok(0)
}

/// `runsc wait`: until the container stops; prints its exit status.
pub fn run_wait(cli: &crate::Cli, a: &IdArgs) -> anyhow::Result<i32> {
    loop {
        let st = State::load(&cli.root, &a.id)?;
        if st.status == "stopped" {
            let code = st.exit_status.unwrap_or(-1);
            println!("{}", serde_json::json!({ "id": st.id, "exitStatus": code }));
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Arguments of `spec`.
#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Where to write config.json.
    #[arg(long, short = 'b', default_value = ".")]
    bundle: PathBuf,
}

/// `runsc spec`: a starting config.json (runs `sh` in ./rootfs).
pub fn run_spec(a: &SpecArgs) -> anyhow::Result<i32> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("{} already exists", path.display());
    }
    let mut spec = Spec::default();
    spec.set_hostname(Some("runsc".into()));
    let text = serde_json::to_string_pretty(&spec)?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(0)
}

/// `runsc features`: what this runtime serves, as runc prints it.
pub fn run_features() -> anyhow::Result<i32> {
    let f = serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": [],
        "mountOptions": ["ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec", "relatime", "noatime"],
        "linux": {
            "namespaces": ["mount", "pid", "ipc", "uts", "network"],
            "capabilities": [],
            "cgroup": { "v1": false, "v2": false, "systemd": false, "systemdUser": false },
            "seccomp": { "enabled": false },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false }
        },
        "annotations": { "io.github.runsc-rs.sandbox": "user-space kernel" }
    });
    println!("{}", serde_json::to_string_pretty(&f)?);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_signal;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("sigusr1").unwrap(), 10);
        assert_eq!(parse_signal("2").unwrap(), 2);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("65").is_err());
    }
}

/// Arguments of `exec`.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// The process to run, as config.json's `process` (JSON file).
    #[arg(long)]
    process: Option<PathBuf>,
    /// Working directory (default: the container's).
    #[arg(long)]
    cwd: Option<String>,
    /// Environment variables to add (K=V).
    #[arg(long = "env", short = 'e')]
    env: Vec<String>,
    /// UID[:GID] to run as.
    #[arg(long, short = 'u')]
    user: Option<String>,
    /// Run on a terminal: a new one sent to --console-socket, or else the
    /// caller's own.
    #[arg(long, short = 't')]
    tty: bool,
    /// Return at once; a waiter process (whose pid --pid-file gets) exits
    /// with the process's status.
    #[arg(long, short = 'd')]
    detach: bool,
    /// Write the waiter's pid here (with --detach) or ours.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// With --tty: where the new terminal's master is sent (SCM_RIGHTS).
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// The --process file is ours (a detached exec's copy): remove it once
    /// read.
    #[arg(long = "process-is-copy", hide = true)]
    process_is_copy: bool,
    /// The container id.
    id: String,
    /// The command and its arguments (without --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// `runsc exec`: run a process in a running container; the exit status is
/// the process's.
pub fn run_exec(cli: &crate::Cli, a: &ExecArgs) -> anyhow::Result<i32> {
    let st = State::load(&cli.root, &a.id)?;
    if st.status != "running" {
        bail!("cannot exec in a container that is {}", st.status);
    }
    let spec = load_spec(Path::new(&st.bundle))?;
    let base = spec.process().clone().unwrap_or_default();
    let p = match &a.process {
        Some(f) => {
            let text = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            if a.process_is_copy {
                let _ = std::fs::remove_file(f);
            }
            serde_json::from_slice::<oci_spec::runtime::Process>(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?
        }
        None => base.clone(),
    };
    let terminal = a.tty || (a.process.is_some() && p.terminal().unwrap_or(false));
    if a.console_socket.is_some() && !terminal {
        bail!("--console-socket needs --tty (or process.terminal)");
    }
    if terminal && a.detach && a.console_socket.is_none() {
        bail!("exec --tty --detach needs --console-socket");
    }
    let args = if a.process.is_some() { p.args().clone().unwrap_or_default() } else { a.args.clone() };
    if args.is_empty() {
        bail!("exec needs a command (arguments or --process)");
    }
    if a.detach {
        return exec_detached(cli, a);
    }
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &a.env {
        let k = kv.split_once('=').map(|(k, _)| k).with_context(|| format!("--env {kv:?}: expected K=V"))?;
        env.retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(k));
        env.push(kv.clone());
    }
    let cwd = a.cwd.clone().unwrap_or_else(|| p.cwd().to_string_lossy().into_owned());
    let (mut uid, mut gid) = (p.user().uid(), p.user().gid());
    if let Some(u) = &a.user {
        let (us, gs) = u.split_once(':').unwrap_or((u, ""));
        uid = us.parse().with_context(|| format!("--user {u:?}: expected UID[:GID]"))?;
        if !gs.is_empty() {
            gid = gs.parse().with_context(|| format!("--user {u:?}: expected UID[:GID]"))?;
        }
    }
    if let Some(f) = &a.pid_file {
        std::fs::write(f, std::process::id().to_string()).with_context(|| format!("writing {}", f.display()))?;
    }
    let req = Request::Exec { args, env, cwd, uid, gid };
    // With a terminal: a new pty whose master goes to the console socket,
    // or else the caller's own terminal.
    let tty = match (&a.console_socket, terminal) {
        (Some(sock), true) => Some(super::boot::console(sock)?),
        _ => None,
    };
    let fds = match &tty {
        Some(t) => [t.as_raw_fd(); 3],
        None => [0, 1, 2],
    };
    let r = state::call_with_fds(&cli.root, &a.id, &req, &fds)?;
    if let Some(e) = r.error {
        // As a shell: 127 for a command not found, 126 for one that
        // cannot run.
        eprintln!("runsc: {e}");
        return Ok(r.exit.unwrap_or(126));
    }
    r.exit.context("the sandbox did not say how the process ended")
}

/// `exec --detach`: the same exec, without --detach, in a waiter process
/// of its own that keeps our stdio; its pid goes to --pid-file.
fn exec_detached(cli: &crate::Cli, a: &ExecArgs) -> anyhow::Result<i32> {
    let exe = std::env::current_exe().context("finding our own binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--root").arg(&cli.root).arg("exec");
    if let Some(p) = &a.process {
        // The engine may remove its file as soon as we return (containerd's
        // shim does): the waiter reads a copy of ours.
        let copy = crate::state::dir(&cli.root, &a.id).join(format!("exec-{}-{}.json", std::process::id(), a.id.len()));
        std::fs::copy(p, &copy).with_context(|| format!("reading {}", p.display()))?;
        cmd.arg("--process").arg(&copy).arg("--process-is-copy");
    }
    if let Some(c) = &a.cwd {
        cmd.arg("--cwd").arg(c);
    }
    for e in &a.env {
        cmd.arg("--env").arg(e);
    }
    if let Some(u) = &a.user {
        cmd.arg("--user").arg(u);
    }
    // A terminal is made here and its master sent before we return (an
    // engine waits for it); the waiter runs on the slave as its stdio.
    if let Some(c) = &a.console_socket {
        let slave = super::boot::console(c)?;
        let io = |fd: &OwnedFd| -> anyhow::Result<std::process::Stdio> { Ok(fd.try_clone()?.into()) };
        cmd.stdin(io(&slave)?).stdout(io(&slave)?).stderr(io(&slave)?);
        cmd.arg("--tty");
    }
    cmd.arg(&a.id).arg("--").args(&a.args);
    cmd.process_group(0);
    let child = cmd.spawn().context("starting the exec waiter")?;
    if let Some(f) = &a.pid_file {
        std::fs::write(f, child.id().to_string()).with_context(|| format!("writing {}", f.display()))?;
    }
    Ok(0)
}

/// Arguments of `ps`.
#[derive(Args, Debug)]
pub struct PsArgs {
    /// table or json (the pids).
    #[arg(long, short = 'f', default_value = "table")]
    format: String,
    /// The container id.
    id: String,
}

/// `runsc ps`: the container's processes (a table of their pids inside the
/// sandbox; with --format json the host pids, as runc gives them).
pub fn run_ps(cli: &crate::Cli, a: &PsArgs) -> anyhow::Result<i32> {
    let st = State::load(&cli.root, &a.id)?;
    if st.status == "stopped" {
        bail!("container \"{}\" is not running", a.id);
    }
    let r = state::call_with_fds(&cli.root, &a.id, &Request::Ps, &[])?;
    if let Some(e) = r.error {
        bail!("{e}");
    }
    let procs = r.processes.unwrap_or_default();
    match a.format.as_str() {
        // As runc's: the host pids of the container (engines give them to
        // the host's ps: `docker top`), here the sandbox's processes (its
        // cgroup's, or the sandbox process when it has no cgroup).
        "json" => {
            let mut pids = crate::cgroup::procs(&state::cgroups(&cli.root, &a.id));
            if pids.is_empty() {
                pids.push(st.pid);
            }
            println!("{}", serde_json::to_string(&pids)?)
        }
        "table" => {
            println!("{:>8} {:>8} {:>8} CMD", "UID", "PID", "PPID");
            for (pid, ppid, uid, cmd) in &procs {
                println!("{uid:>8} {pid:>8} {ppid:>8} {cmd}");
            }
        }
        f => bail!("invalid format {f:?} (table or json)"),
    }
    Ok(0)
}

/// Arguments of `events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Print one stats event and exit.
    #[arg(long)]
    stats: bool,
    /// Seconds between stats events.
    #[arg(long, default_value = "5")]
    interval: u64,
    /// The container id.
    id: String,
}

/// `runsc events`: stats events (memory in use by the sandbox, process
/// count), once with --stats or every --interval seconds until it stops.
pub fn run_events(cli: &crate::Cli, a: &EventsArgs) -> anyhow::Result<i32> {
    loop {
        let st = State::load(&cli.root, &a.id)?;
        if st.status == "stopped" {
            if a.stats {
                bail!("container \"{}\" is not running", a.id);
            }
            return Ok(0);
        }
        let r = state::call_with_fds(&cli.root, &a.id, &Request::Stats, &[])?;
        if let Some(e) = r.error {
            bail!("{e}");
        }
        let (mem, pids) = r.stats.unwrap_or_default();
        let ev = serde_json::json!({
            "type": "stats",
            "id": a.id,
            "data": { "memory": { "usage": { "usage": mem } }, "pids": { "current": pids } }
        });
        println!("{ev}");
        if a.stats {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_secs(a.interval.max(1)));
    }
}

/// `runsc pause` / `resume`: not served, said plainly.
pub fn run_pause(_cli: &crate::Cli, a: &IdArgs, what: &str) -> anyhow::Result<i32> {
    bail!("{what} is not supported yet (container \"{}\" is left as it is)", a.id)
}
