//! `runsc do CMD`: a sandbox around the host's root, read-only, with a
//! memory layer on top, running CMD in the caller's cwd and environment.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

/// Arguments of `do`.
#[derive(Args, Debug)]
pub struct DoArgs {
    /// Working directory inside the sandbox (default: the caller's).
    #[arg(long)]
    cwd: Option<String>,
    /// Extra or overriding environment variables (K=V).
    #[arg(long = "env")]
    env: Vec<String>,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    cmd: Vec<std::ffi::OsString>,
}

/// Run the command; returns its exit status (128+N if killed by signal N).
pub fn run(cli: &crate::Cli, a: &DoArgs) -> anyhow::Result<i32> {
    super::init_logging(cli, "do");
    if !["ptrace", "systrap"].contains(&cli.platform.as_str()) {
        bail!("platform {:?} is not available (available: ptrace, systrap)", cli.platform);
    }
    // The gofer: a separate process that alone sees the host's files.
    let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .context("socketpair for the gofer")?;
    nix::fcntl::fcntl(theirs.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()))?;
    let exe = std::env::current_exe().context("finding our own binary")?;
    let mut gofer_cmd = std::process::Command::new(&exe);
    gofer_cmd.args(["gofer", "--root", "/", "--read-only", "--fd", &theirs.as_raw_fd().to_string()]);
    if cli.debug {
        gofer_cmd.arg("--debug");
    }
    if let Some(d) = &cli.debug_log {
        gofer_cmd.arg("--debug-log").arg(d);
    }
    let t0 = std::time::Instant::now();
    let mut gofer_child = gofer_cmd.stdin(std::process::Stdio::null()).spawn().context("starting the gofer")?;
    drop(theirs);
    let client = Arc::new(gofer::Client::new(ours));
    let gofer_stats = client.clone();

    let mf = Arc::new(sentry::mm::MemoryFile::new().map_err(|e| anyhow::anyhow!("memory file: {e}"))?);
    tracing::debug!("gofer started in {:?}", t0.elapsed());
    let platform: Arc<dyn platform::Platform> = if cli.platform == "systrap" {
        Arc::new(platform_systrap::SystrapPlatform::new(mf.fd()).context("starting the systrap platform")?)
    } else {
        Arc::new(platform_ptrace::PtracePlatform::new(mf.fd()).context("starting the ptrace platform")?)
    };
    tracing::debug!("platform ready at {:?}", t0.elapsed());
    let hostname = nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "runsc".into());
    let opts = sentry::kernel::Options { strace: cli.strace, timing: cli.debug, hostname, directfs: cli.directfs };
    let kernel = sentry::new_kernel(platform, mf, client, opts).map_err(|e| anyhow::anyhow!("building the kernel: {e}"))?;

    let cwd = match &a.cwd {
        Some(c) => c.clone().into_bytes(),
        None => std::env::current_dir().map(|p| p.into_os_string().into_encoded_bytes()).unwrap_or_else(|_| b"/".to_vec()),
    };
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    for kv in &a.env {
        let (k, v) = kv.split_once('=').with_context(|| format!("--env {kv:?}: expected K=V"))?;
        env.retain(|(ek, _)| ek != k);
        env.push((k.to_string(), v.to_string()));
    }
    let env: Vec<Vec<u8>> = env.into_iter().map(|(k, v)| format!("{k}={v}").into_bytes()).collect();
    let argv: Vec<Vec<u8>> = a.cmd.iter().map(|s| s.clone().into_encoded_bytes()).collect();
    let mut stdio: Vec<OwnedFd> = Vec::new();
    for fd in 0..3 {
        let b = nix::unistd::dup(fd).with_context(|| format!("dup of fd {fd}"))?;
        #[allow(unsafe_code)]
        // SAFETY: `b` was just returned by dup and is owned by nobody else.
        stdio.push(unsafe { std::os::fd::FromRawFd::from_raw_fd(b) });
    }
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let name = String::from_utf8_lossy(&argv[0]).into_owned();
    let spec = sentry::InitSpec { argv, env, cwd, stdio, ids: (uid, gid) };
    tracing::debug!("kernel ready at {:?}", t0.elapsed());
    let code = match sentry::start_init(&kernel, spec) {
        Ok(()) => {
            tracing::debug!("init started at {:?}", t0.elapsed());
            let status = kernel.wait_exit();
            tracing::debug!("init exited at {:?}", t0.elapsed());
            tracing::debug!(
                "sandbox done: {} syscalls, {} faults, {} injected host syscalls",
                kernel.stats.syscalls.load(std::sync::atomic::Ordering::Relaxed),
                kernel.stats.faults.load(std::sync::atomic::Ordering::Relaxed),
                platform_ptrace::injected_syscalls() + platform_systrap::COMMANDS.load(std::sync::atomic::Ordering::Relaxed)
            );
            tracing::debug!(
                "gofer: {} round trips, {:.2} ms",
                gofer_stats.calls.load(std::sync::atomic::Ordering::Relaxed),
                gofer_stats.call_ns.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6
            );
            tracing::debug!("injected by syscall number: {:?}", platform_ptrace::injected_by_nr());
            let st = &kernel.stats;
            let ms = |ns: u64| ns as f64 / 1e6;
            tracing::debug!(
                "time: application {:.2} ms, faults {:.2} ms, syscalls (number, count, ms): {:?}",
                ms(st.app_ns.load(std::sync::atomic::Ordering::Relaxed)),
                ms(st.fault_ns.load(std::sync::atomic::Ordering::Relaxed)),
                st.top_syscalls(12).iter().map(|&(nr, n, ns)| (nr, n, (ms(ns) * 100.0).round() / 100.0)).collect::<Vec<_>>()
            );
            if status & 0x7f == 0 {
                (status >> 8) & 0xff
            } else {
                128 + (status & 0x7f)
            }
        }
        Err(sentry::StartError::NotFound(_)) => {
            eprintln!("runsc: {name}: command not found");
            127
        }
        Err(sentry::StartError::NotExecutable(e)) => {
            eprintln!("runsc: {name}: cannot execute: {}", std::io::Error::from_raw_os_error(e.0));
            126
        }
        Err(sentry::StartError::Other(e)) => {
            eprintln!("runsc: {name}: {}", std::io::Error::from_raw_os_error(e.0));
            126
        }
    };
    // The gofer ends when its socket closes at our exit; killing it now
    // spares a wait on its teardown.
    let _ = gofer_child.kill();
    Ok(code)
}
