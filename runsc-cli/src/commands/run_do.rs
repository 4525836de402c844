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
pub fn run(cli: &crate::Cli, a: &DoArgs) -> anyhow::Result<i32> {
    super::init_logging(cli, "do");
    let hostname = nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "runsc".into());
    let sb = crate::sandbox::build(cli, std::path::Path::new("/"), hostname)?;

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
    let spec = sentry::InitSpec { argv, env, cwd, stdio, ids: (uid, gid), extras: Default::default() };
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
