//! `runsc help syscalls` and `runsc help seccomp`.

use clap::Args;

/// Arguments of `help`.
#[derive(Args, Debug)]
pub struct HelpArgs {
    /// Topic: "syscalls" (the sentry's table) or "seccomp" (the host
    /// syscalls runsc's own processes may make).
    topic: String,
    /// Print Markdown (docs/compatibility.md).
    #[arg(long)]
    markdown: bool,
}

/// Print the topic.
pub fn run(a: &HelpArgs) -> anyhow::Result<i32> {
    match a.topic.as_str() {
        "syscalls" => {
            if a.markdown {
                print!("{}", sentry::syscalls::table::markdown());
            } else {
                for e in sentry::syscalls::table::TABLE {
                    let (lvl, note) = match e.support {
                        sentry::syscalls::table::Support::Full => ("full", ""),
                        sentry::syscalls::table::Support::Partial(n) => ("partial", n),
                        sentry::syscalls::table::Support::Unimplemented(n) => ("ENOSYS", n),
                    };
                    println!("{:>4} {:<20} {:<8} {}", e.nr, e.name, lvl, note);
                }
            }
            Ok(0)
        }
        "seccomp" => {
            print!("{}", crate::confine::markdown());
            Ok(0)
        }
        t => anyhow::bail!("unknown help topic {t:?} (try: syscalls, seccomp)"),
    }
}
