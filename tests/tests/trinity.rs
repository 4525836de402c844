//! trinity, the Linux syscall fuzzer, run inside the sandbox as an
//! unprivileged user for a bounded time (issue 7): 60 s by default,
//! `RUNSC_TRINITY_SECS` to change it (the benchmark runs it longer).
//! Afterwards the same sandbox still serves a command and exits with that
//! command's status, and the host shows no trace of it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tests::runsc_path;

#[test]
fn trinity_leaves_the_sandbox_serving_and_the_host_untouched() {
    for tool in ["/usr/bin/trinity", "/usr/bin/setpriv"] {
        if !Path::new(tool).exists() {
            eprintln!("SKIP trinity_leaves_the_sandbox_serving_and_the_host_untouched: {tool} not found (apt-get install trinity util-linux)");
            return;
        }
    }
    let secs: u64 = std::env::var("RUNSC_TRINITY_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    // The log lives in the sandbox's /tmp (its memory layer): it must not
    // appear on the host.
    let log = format!("/tmp/runsc-trinity-{}.log", std::process::id());
    let _ = std::fs::remove_file(&log);
    // As nobody, socket fds off (trinity's socket cache crashes it here,
    // natively too). Then, in the same sandbox: a command, and our status.
    let script = format!(
        "cd /tmp && timeout -s KILL {secs} setpriv --reuid=65534 --regid=65534 --clear-groups -- \
         trinity -q -l off -a 64 -C 2 --disable-fds=sockets > {log} 2>&1; \
         echo \"trinity ended: $?\"; grep -Eo 'fd providers|[0-9]+ iterations|Ran [0-9]+ syscalls' {log} | tail -1; \
         echo served; exit 7"
    );
    let out = tests::run_with_timeout(
        Command::new(runsc_path()).arg(format!("--platform={}", tests::platform())).args(["do", "sh", "-c", &script]),
        Duration::from_secs(secs + 60),
    );
    let stdout = out.stdout_str();
    eprintln!("{stdout}");
    assert_eq!(out.status, 7, "the sandbox exits with the command's status: {out:?}");
    assert!(stdout.contains("served"), "the sandbox served a command after trinity: {out:?}");
    // It fuzzed: past its set-up, and either killed at the deadline while
    // still running or done with its own count.
    let fuzzed = stdout.contains("iterations") || stdout.contains("syscalls") || stdout.contains("fd providers");
    let ran = stdout.contains("trinity ended: 137") || stdout.contains("syscalls");
    assert!(fuzzed && ran, "trinity fuzzed until the deadline: {out:?}");
    assert!(!Path::new(&log).exists(), "nothing of the sandbox's reached the host's /tmp");
    // No fuzzer process outlives the sandbox.
    let left = Command::new("pgrep").args(["-x", "trinity"]).output().map(|o| o.stdout).unwrap_or_default();
    assert!(left.is_empty(), "trinity processes left on the host: {}", String::from_utf8_lossy(&left));
}
