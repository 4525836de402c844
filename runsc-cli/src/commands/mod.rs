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
        // Sandbox processes are small pids of their own namespaces: the
        // time keeps their names apart.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let name = format!("runsc.{role}.{}.{}{:09}.log", std::process::id(), t.as_secs(), t.subsec_nanos());
        if let Ok(f) = std::fs::File::create(dir.join(name)) {
            let _ = builder.with_writer(std::sync::Mutex::new(f)).with_ansi(false).try_init();
            return;
        }
    }
    let _ = builder.with_writer(std::io::stderr).try_init();
}
