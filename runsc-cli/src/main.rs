//! runsc: the sandbox's command-line interface.
#![deny(unsafe_code)]

mod commands;
mod sandbox;

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
    /// Network mode (only "none" is served yet).
    #[arg(long, global = true, default_value = "none")]
    pub network: String,
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
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("runsc: {e:#}");
            std::process::exit(1);
        }
    }
}
