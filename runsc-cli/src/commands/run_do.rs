//! `runsc do CMD`: a sandbox around the host's root, read-only, with a
//! memory layer on top, running CMD in the caller's cwd and environment.

use std::os::fd::OwnedFd;

use anyhow::Context;
use clap::Args;

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
/// As root, the sandbox is a child made in new namespaces (pid 1 of its
/// own pid namespace, which it confines); this process relays signals to
/// it and its exit status back.
pub fn run(cli: &crate::Cli, a: &DoArgs) -> anyhow::Result<i32> {
    super::init_logging(cli, "do");
    if nix::unistd::geteuid().is_root() {
        use crate::confine::sentry;
        let blocked = relayed_signals();
        if let Some(child) = sentry::fork_in_namespaces(sentry::namespace_flags(true, cli.network == "host"), &blocked)? {
            return Ok(relay(child, &blocked));
        }
        sentry::own_proc()?;
    }
    let hostname = nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "runsc".into());
    let cwd = match &a.cwd {
        Some(c) => c.clone().into_bytes(),
        None => std::env::current_dir().map(|p| p.into_os_string().into_encoded_bytes()).unwrap_or_else(|_| b"/".to_vec()),
    };
    crate::sandbox::reserve_host_fds();
    let gofers = crate::sandbox::Gofers::spawn(cli, std::path::Path::new("/"), &[])?;
    let mf = crate::sandbox::memory_file(cli, std::path::Path::new("/"))?;
    crate::sandbox::jail(cli)?;
    let sb = crate::sandbox::build(cli, gofers, mf, hostname)?;
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
    let spec = sentry::InitSpec { argv, env, cwd, stdio, ids: (uid, gid), extras: Default::default() };
    crate::sandbox::install_filter(cli)?;
    let code = match crate::sandbox::start_init(&sb.kernel, spec) {
        Ok(()) => {
            tracing::debug!("init started at {:?}", sb.t0.elapsed());
            let status = sb.kernel.wait_exit();
            tracing::debug!("init exited at {:?}", sb.t0.elapsed());
            sb.report();
            crate::sandbox::exit_code(status)
        }
        Err((msg, code)) => {
            eprintln!("runsc: {msg}");
            code
        }
    };
    sb.finish();
    Ok(code)
}

/// The signals the parent of a confined sandbox takes to relay.
fn relayed_signals() -> nix::sys::signal::SigSet {
    use nix::sys::signal::Signal::*;
    let mut set = nix::sys::signal::SigSet::empty();
    for s in [SIGCHLD, SIGQUIT, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE] {
        set.add(s);
    }
    set
}

/// Wait for the sandbox `child`, and give its exit status. A SIGQUIT
/// someone sends us is passed on (the sandbox prints its tasks); one from
/// the terminal reached it already. The sandbox is pid 1 of its namespace
/// and so deaf to signals it does not handle: any other signal that would
/// have killed `runsc do` kills the sandbox, and then us by that signal.
fn relay(child: i32, set: &nix::sys::signal::SigSet) -> i32 {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    let pid = nix::unistd::Pid::from_raw(child);
    loop {
        // SAFETY: siginfo_t is plain data, and all zeroes is a valid value.
        #[allow(unsafe_code)]
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid signal set and `info` a live siginfo_t.
        #[allow(unsafe_code)]
        let signo = unsafe { libc::sigwaitinfo(set.as_ref(), &mut info) };
        let Ok(sig) = Signal::try_from(signo) else { continue };
        match sig {
            Signal::SIGCHLD => match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, code)) => return code,
                Ok(WaitStatus::Signaled(_, s, _)) => {
                    eprintln!("runsc: the sandbox was killed by {s}");
                    return 128 + s as i32;
                }
                Err(_) => return 1,
                Ok(_) => {}
            },
            Signal::SIGQUIT if info.si_code <= 0 => {
                let _ = kill(pid, Signal::SIGQUIT);
            }
            Signal::SIGQUIT => {}
            _ => {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                let _ = set.thread_unblock();
                let _ = nix::sys::signal::raise(sig);
                return 128 + sig as i32;
            }
        }
    }
}
