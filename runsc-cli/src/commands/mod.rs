//! One module per subcommand.

pub mod boot;
pub mod gofer;
pub mod oci;
pub mod help;
pub mod install;
pub mod run_do;

/// Set up logging for a process role.
pub fn init_logging(cli: &crate::Cli, role: &str) {
    use tracing_subscriber::EnvFilter;
    let level = if cli.debug || cli.strace { "debug" } else { "error" };
    let filter = EnvFilter::try_from_env("RUNSC_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if let Some(dir) = &cli.debug_log {
        let _ = std::fs::create_dir_all(dir);
        if let Ok(f) = std::fs::File::create(dir.join(format!("runsc.{role}.{}.log", std::process::id()))) {
            let _ = builder.with_writer(std::sync::Mutex::new(f)).with_ansi(false).try_init();
            return;
        }
    }
    let _ = builder.with_writer(std::io::stderr).try_init();
}
