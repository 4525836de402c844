//! runsc: the sandbox's command-line interface.
#![deny(unsafe_code)]

mod cgroup;
mod commands;
mod confine;
mod hooks;
mod sandbox;
mod state;

use clap::{Parser, Subcommand};

/// A user-space kernel sandbox for unmodified Linux programs.
#[derive(Parser, Debug)]
#[command(name = "runsc", version, disable_help_subcommand = true)]
pub struct Cli {
    /// Platform that runs application code: systrap (the default) or
    /// ptrace.
    #[arg(long, global = true, default_value = "systrap")]
    pub platform: String,
    /// Log debug messages.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Directory for debug logs (one file per process role).
    #[arg(long = "debug-log", global = true)]
    pub debug_log: Option<std::path::PathBuf>,
    /// Log every syscall with its arguments and result.
    #[arg(long, global = true)]
    pub strace: bool,
    /// Directfs: the sentry reads the root's files from host fds beneath a
    /// root fd the gofer donates (no gofer round trip per lookup or open).
    /// `--directfs=false` sends every file operation to the gofer.
    #[arg(long, global = true, default_value_t = true, action = clap::ArgAction::Set)]
    pub directfs: bool,
    /// The directory of container state.
    #[arg(long, global = true, default_value = "/run/runsc")]
    pub root: std::path::PathBuf,
    /// A file errors are also written to (as engines ask with --log).
    #[arg(long, global = true)]
    pub log: Option<std::path::PathBuf>,
    /// The format of --log: text or json.
    #[arg(long = "log-format", global = true, default_value = "text")]
    pub log_format: String,
    /// Accepted for runc compatibility (cgroups are not used).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Network: `sandbox` (the default) and `none` both give the sandbox
    /// a network of its own with lo only (127.0.0.1/8 and ::1) and no way
    /// out; `host` passes internet sockets through to host sockets of the
    /// sandbox process's network namespace (the engine's, for a
    /// container; the host's under `runsc do`).
    #[arg(long, global = true, default_value = "sandbox", value_parser = ["sandbox", "none", "host"])]
    pub network: String,
    /// Where big files (2 MiB and more) of the root overlay's memory layer
    /// keep their data, as gVisor's overlay2 mediums: `self` (the
    /// default: an unlinked host file in the container's root directory,
    /// `/` under `runsc do`; memory where that cannot be made), `dir=PATH`
    /// (an unlinked host file in PATH), or `memory`.
    #[arg(long = "overlay-medium", global = true, default_value = "self")]
    pub overlay_medium: String,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run a command in a sandbox built around the host's root (read-only,
    /// with a memory layer on top).
    Do(commands::run_do::DoArgs),
    /// Show help on a topic: `runsc help syscalls [--markdown]`.
    Help(commands::help::HelpArgs),
    /// Serve a root filesystem to a sentry (internal).
    #[command(hide = true)]
    Gofer(commands::gofer::GoferArgs),
    /// The sandbox process of a container (internal).
    #[command(hide = true)]
    Boot(commands::boot::BootArgs),
    /// Create a container from a bundle (start runs it).
    Create(commands::oci::CreateArgs),
    /// Run a created container's process.
    Start(commands::oci::IdArgs),
    /// Print a container's state (JSON).
    State(commands::oci::IdArgs),
    /// Send a signal to a container's process (or all, with --all).
    Kill(commands::oci::KillArgs),
    /// Remove a container.
    Delete(commands::oci::DeleteArgs),
    /// Create and start a container, and wait for it unless --detach.
    Run(commands::oci::RunArgs),
    /// List the containers.
    List(commands::oci::ListArgs),
    /// Wait for a container to stop; print its exit status.
    Wait(commands::oci::IdArgs),
    /// Run a process in a running container.
    Exec(commands::oci::ExecArgs),
    /// List a container's processes.
    Ps(commands::oci::PsArgs),
    /// Stats events of a container (--stats: once).
    Events(commands::oci::EventsArgs),
    /// Freeze a container (not supported yet: says so).
    Pause(commands::oci::IdArgs),
    /// Thaw a container (not supported yet: says so).
    Resume(commands::oci::IdArgs),
    /// Write a starting config.json.
    Spec(commands::oci::SpecArgs),
    /// Print what the runtime supports (JSON).
    Features,
    /// Add this runsc as a runtime to Docker's daemon.json.
    Install(commands::install::InstallArgs),
    /// Take a runtime out of Docker's daemon.json.
    Uninstall(commands::install::UninstallArgs),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    std::process::exit(0);
                }
                _ => {
                    let msg = e.to_string();
                    let first = msg.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
                    eprintln!("runsc: {first}");
                    std::process::exit(2);
                }
            }
        }
    };
    let code = match &cli.cmd {
        Cmd::Do(a) => commands::run_do::run(&cli, a),
        Cmd::Help(a) => commands::help::run(a),
        Cmd::Gofer(a) => commands::gofer::run(&cli, a),
        Cmd::Boot(a) => commands::boot::run(&cli, a),
        Cmd::Create(a) => commands::oci::run_create(&cli, a),
        Cmd::Start(a) => commands::oci::run_start(&cli, a),
        Cmd::State(a) => commands::oci::run_state(&cli, a),
        Cmd::Kill(a) => commands::oci::run_kill(&cli, a),
        Cmd::Delete(a) => commands::oci::run_delete(&cli, a),
        Cmd::Run(a) => commands::oci::run_run(&cli, a),
        Cmd::List(a) => commands::oci::run_list(&cli, a),
        Cmd::Wait(a) => commands::oci::run_wait(&cli, a),
        Cmd::Spec(a) => commands::oci::run_spec(a),
        Cmd::Exec(a) => commands::oci::run_exec(&cli, a),
        Cmd::Ps(a) => commands::oci::run_ps(&cli, a),
        Cmd::Events(a) => commands::oci::run_events(&cli, a),
        Cmd::Pause(a) => commands::oci::run_pause(&cli, a, "pause"),
        Cmd::Resume(a) => commands::oci::run_pause(&cli, a, "resume"),
        Cmd::Features => commands::oci::run_features(),
        Cmd::Install(a) => commands::install::run_install(a),
        Cmd::Uninstall(a) => commands::install::run_uninstall(a),
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            let msg = format!("{e:#}");
            eprintln!("runsc: {msg}");
            log_error(&cli, &msg);
            std::process::exit(1);
        }
    }
}

/// Also write an error to --log, as JSON with --log-format=json (engines
/// read the runtime's errors from there).
fn log_error(cli: &Cli, msg: &str) {
    use std::io::Write;
    let Some(path) = &cli.log else { return };
    let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) else { return };
    let line = if cli.log_format == "json" {
        serde_json::json!({ "level": "error", "msg": msg }).to_string()
    } else {
        format!("level=error msg={msg:?}")
    };
    let _ = writeln!(f, "{line}");
}
