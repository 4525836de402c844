//! `runsc gofer` (internal): serve a root filesystem over an inherited socket.

use std::os::fd::{FromRawFd, OwnedFd};

use anyhow::Context;
use clap::Args;

/// Arguments of `gofer`.
#[derive(Args, Debug)]
pub struct GoferArgs {
    /// Directory to serve as the root.
    #[arg(long)]
    dir: std::path::PathBuf,
    /// The socket fd inherited from the parent.
    #[arg(long)]
    fd: i32,
    /// Serve read-only.
    #[arg(long)]
    read_only: bool,
}

/// Serve until the sentry closes the socket.
pub fn run(cli: &crate::Cli, a: &GoferArgs) -> anyhow::Result<i32> {
    super::init_logging(cli, "gofer");
    nix::fcntl::fcntl(a.fd, nix::fcntl::FcntlArg::F_GETFD).context("gofer socket fd is not open")?;
    #[allow(unsafe_code)]
    // SAFETY: the fd was checked open above and is inherited from our parent
    // for this process alone to own.
    let sock = unsafe { OwnedFd::from_raw_fd(a.fd) };
    // Jailed (as root) when it serves less than the whole host: its root
    // is then a tmpfs with /proc and the served tree alone. Filtered always.
    let dir = if nix::unistd::geteuid().is_root() && a.dir != std::path::Path::new("/") {
        crate::confine::gofer::gofer_jail(&a.dir, a.read_only)?
    } else {
        a.dir.clone()
    };
    let rules: Vec<&crate::confine::Rule> = crate::confine::gofer::GOFER.iter().collect();
    let confine = || crate::confine::install("gofer", &rules).map_err(|e| std::io::Error::other(format!("{e:#}")));
    gofer::serve_confined(sock, &dir, gofer::ServerOptions { read_only: a.read_only }, confine).context("gofer failed")?;
    Ok(0)
}
