//! OCI hooks, run on the host as the spec lists them, each with the
//! container's state JSON on its stdin and its own timeout.
//!
//! When: createRuntime, createContainer and prestart once the sandbox is
//! built (in `create`; a failure fails create); startContainer just before
//! `start` runs init (a failure fails start); poststart after it (a failure
//! is logged); poststop when the container is deleted (logged). runc runs
//! createContainer and startContainer inside the container's namespaces;
//! a sandbox has no host namespace of its own to enter yet, so they run
//! beside the others.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use oci_spec::runtime::{Hook, Spec};

use crate::state::State;

/// Which hooks.
#[derive(Clone, Copy, Debug)]
pub enum Stage {
    CreateRuntime,
    CreateContainer,
    Prestart,
    StartContainer,
    Poststart,
    Poststop,
}

fn hooks(spec: &Spec, stage: Stage) -> Vec<Hook> {
    let Some(h) = spec.hooks() else { return Vec::new() };
    #[allow(deprecated)]
    let list = match stage {
        Stage::CreateRuntime => h.create_runtime(),
        Stage::CreateContainer => h.create_container(),
        Stage::Prestart => h.prestart(),
        Stage::StartContainer => h.start_container(),
        Stage::Poststart => h.poststart(),
        Stage::Poststop => h.poststop(),
    };
    list.clone().unwrap_or_default()
}

/// Run the hooks of `stage` in order; the first failure is the error.
pub fn run(spec: &Spec, stage: Stage, st: &State) -> anyhow::Result<()> {
    let state = serde_json::to_vec(st)?;
    for h in hooks(spec, stage) {
        run_one(&h, &state).with_context(|| format!("{stage:?} hook {}", h.path().display()))?;
    }
    Ok(())
}

fn run_one(h: &Hook, state: &[u8]) -> anyhow::Result<()> {
    let args = h.args().clone().unwrap_or_default();
    let mut cmd = Command::new(h.path());
    if let Some(argv0) = args.first() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, argv0);
    }
    cmd.args(args.iter().skip(1)).env_clear();
    for kv in h.env().clone().unwrap_or_default() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().context("cannot start it")?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(state);
    }
    let limit = h.timeout().filter(|&t| t > 0).map(|t| Duration::from_secs(t as u64));
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("failed ({status})");
            }
            return Ok(());
        }
        if limit.is_some_and(|l| start.elapsed() > l) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
