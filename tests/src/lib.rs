//! Helpers for end-to-end tests: find the `runsc` binary, run a command
//! natively and inside the sandbox with a timeout, compare the two, compile
//! small C programs with the host's gcc.
//!
//! The tests themselves live in `tests/tests/*.rs`. Everything here is std
//! only, so the `syscall-tests` crate can copy or depend on the same pattern.
//!
//! Environment knobs:
//! - `RUNSC_BIN`: the runsc binary to test (default: `<target>/release/runsc`,
//!   then `<target>/debug/runsc`).
//! - `RUNSC_PLATFORM`: platform passed as `--platform=` (default `ptrace`).
//! - `RUNSC_EXTRA_FLAGS`: extra global flags, space separated, put before
//!   `do` (e.g. `--debug --strace` when chasing a failure).
//! - `RUNSC_E2E_TIMEOUT`: seconds per command (default 30).

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// Per-command time limit unless `RUNSC_E2E_TIMEOUT` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent directory")
        .to_path_buf()
}

/// Cargo's target directory, found from the running test executable
/// (`<target>/<profile>/deps/<test>-<hash>`), so `CARGO_TARGET_DIR` is
/// honoured; falls back to `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .filter(|t| t.join("release").is_dir() || t.join("debug").is_dir())
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The runsc binary under test: `$RUNSC_BIN`, else `<target>/release/runsc`,
/// else `<target>/debug/runsc`. Panics with instructions if none exists.
///
/// Note that Debian's gVisor package installs a different program also
/// called `runsc`; this never looks on `PATH`.
pub fn runsc_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("RUNSC_BIN") {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "RUNSC_BIN={} does not exist", p.display());
            return p;
        }
        let mut tried = Vec::new();
        for target in [target_dir(), workspace_root().join("target")] {
            for profile in ["release", "debug"] {
                let p = target.join(profile).join("runsc");
                if p.is_file() {
                    return p;
                }
                tried.push(p.display().to_string());
            }
        }
        panic!(
            "runsc binary not found (tried {}); build it first with \
             `cargo build --release` (or -p runsc-cli), or set RUNSC_BIN",
            tried.join(", ")
        );
    })
}

/// The platform the sandbox runs on (`$RUNSC_PLATFORM`, default `systrap`,
/// the default platform of runsc).
pub fn platform() -> String {
    std::env::var("RUNSC_PLATFORM").unwrap_or_else(|_| "systrap".to_string())
}

/// The per-command timeout (`$RUNSC_E2E_TIMEOUT` seconds, default 30).
pub fn timeout() -> Duration {
    std::env::var("RUNSC_E2E_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// A command that runs `argv` directly on the host.
pub fn native<S: AsRef<OsStr>>(argv: &[S]) -> Command {
    let (prog, args) = argv.split_first().expect("empty argv");
    let mut cmd = Command::new(prog);
    cmd.args(args);
    cmd
}

/// A command that runs `argv` in the sandbox:
/// `runsc --platform=<platform> [extra flags] do argv...`.
pub fn sandboxed<S: AsRef<OsStr>>(argv: &[S]) -> Command {
    let mut cmd = runsc_command();
    cmd.arg("do").args(argv);
    cmd
}

/// `runsc --platform=<platform> [extra flags]`, ready for a subcommand.
pub fn runsc_command() -> Command {
    let mut cmd = Command::new(runsc_path());
    cmd.arg(format!("--platform={}", platform()));
    if let Ok(extra) = std::env::var("RUNSC_EXTRA_FLAGS") {
        cmd.args(extra.split_whitespace());
    }
    cmd
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit status in shell terms: the exit code, or 128+N if the
    /// process was killed by signal N (what runsc itself reports).
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The command line, for messages.
    pub command: String,
}

impl Outcome {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The non-empty lines of stderr.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr_str()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Shell-style status: code, or 128 + signal number.
pub fn shell_status(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => panic!("process neither exited nor was signalled: {status:?}"),
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&shell_quote(&a.to_string_lossy()));
    }
    s
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` with stdin from /dev/null and stdout/stderr captured, in its
/// own process group. If it has not finished after `limit`, the whole group
/// is killed with SIGKILL and this panics (a hang is a failure).
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Outcome {
    let command = describe(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Own process group, so a timeout can kill runsc and everything it
        // started (gofer, sentry, stubs) at once.
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    let pid = child.id();
    let mut out_pipe = child.stdout.take().expect("stdout piped");
    let mut err_pipe = child.stderr.take().expect("stderr piped");
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });

    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() >= limit => {
                kill_group(pid);
                let _ = child.kill();
                let _ = child.wait();
                // Processes of the group may still hold the pipes; they were
                // killed too, so the readers finish.
                let stdout = out_reader.join().unwrap_or_default();
                let stderr = err_reader.join().unwrap_or_default();
                panic!(
                    "timed out after {limit:?}, killed: `{command}`\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    String::from_utf8_lossy(&stdout),
                    String::from_utf8_lossy(&stderr)
                );
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for `{command}`: {e}"),
        }
    };
    // Anything the command left running in its group would keep the pipes
    // open forever; give it the same deadline, then kill it.
    let stdout = join_or_kill(out_reader, pid, start, limit);
    let stderr = join_or_kill(err_reader, pid, start, limit);
    Outcome {
        status: shell_status(status),
        stdout,
        stderr,
        command,
    }
}

fn join_or_kill(
    reader: thread::JoinHandle<Vec<u8>>,
    pgid: u32,
    start: Instant,
    limit: Duration,
) -> Vec<u8> {
    while !reader.is_finished() {
        if start.elapsed() >= limit {
            kill_group(pgid);
        }
        thread::sleep(Duration::from_millis(5));
    }
    reader.join().unwrap_or_default()
}

/// SIGKILL to process group `pgid`, via kill(1) to stay std-only.
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Runs `cmd` with the default timeout.
pub fn run(cmd: &mut Command) -> Outcome {
    run_with_timeout(cmd, timeout())
}

/// Runs `argv` natively and in the sandbox, after `configure` has been
/// applied to both commands (environment, working directory, ...), and
/// asserts that stdout and the exit status are equal. On a mismatch both
/// stderrs are printed. Returns the two outcomes (native, sandboxed).
#[track_caller]
pub fn assert_same_with<S, F>(argv: &[S], configure: F) -> (Outcome, Outcome)
where
    S: AsRef<OsStr>,
    F: Fn(&mut Command),
{
    let mut n = native(argv);
    configure(&mut n);
    let native = run(&mut n);
    let mut s = sandboxed(argv);
    configure(&mut s);
    let sandbox = run(&mut s);
    assert_outcomes_equal(&native, &sandbox);
    (native, sandbox)
}

/// `assert_same_with` with nothing to configure.
#[track_caller]
pub fn assert_same<S: AsRef<OsStr>>(argv: &[S]) -> (Outcome, Outcome) {
    assert_same_with(argv, |_| {})
}

/// Asserts equal stdout and status; the message shows both sides.
#[track_caller]
pub fn assert_outcomes_equal(native: &Outcome, sandbox: &Outcome) {
    let same_out = native.stdout == sandbox.stdout;
    let same_status = native.status == sandbox.status;
    if same_out && same_status {
        return;
    }
    let mut msg = String::new();
    let _ = writeln!(msg, "sandbox differs from native");
    let _ = writeln!(msg, "native:  `{}`", native.command);
    let _ = writeln!(msg, "sandbox: `{}`", sandbox.command);
    if !same_status {
        let _ = writeln!(
            msg,
            "exit status: native {} sandbox {}",
            native.status, sandbox.status
        );
    }
    if !same_out {
        let _ = writeln!(msg, "{}", stdout_diff(&native.stdout, &sandbox.stdout));
    }
    let _ = writeln!(msg, "--- native stderr ---\n{}", native.stderr_str());
    let _ = writeln!(msg, "--- sandbox stderr ---\n{}", sandbox.stderr_str());
    panic!("{msg}");
}

/// A short description of how two outputs differ: sizes, the first
/// differing line, and both outputs (truncated) for context.
fn stdout_diff(a: &[u8], b: &[u8]) -> String {
    const SHOW: usize = 4000;
    let a_s = String::from_utf8_lossy(a);
    let b_s = String::from_utf8_lossy(b);
    let mut msg = format!(
        "stdout differs: native {} bytes, sandbox {} bytes\n",
        a.len(),
        b.len()
    );
    let (al, bl): (Vec<_>, Vec<_>) = (a_s.lines().collect(), b_s.lines().collect());
    if let Some(i) = (0..al.len().max(bl.len())).find(|&i| al.get(i) != bl.get(i)) {
        let _ = writeln!(
            msg,
            "first difference at line {}:\n  native:  {:?}\n  sandbox: {:?}",
            i + 1,
            al.get(i).copied().unwrap_or("<end of output>"),
            bl.get(i).copied().unwrap_or("<end of output>")
        );
    }
    let cut = |s: &str| -> String {
        if s.len() > SHOW {
            let mut end = SHOW;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}\n... ({} more bytes)", &s[..end], s.len() - end)
        } else {
            s.to_string()
        }
    };
    let _ = write!(
        msg,
        "--- native stdout ---\n{}\n--- sandbox stdout ---\n{}",
        cut(&a_s),
        cut(&b_s)
    );
    msg
}

/// Where an executable is, searching `PATH` (no `which` dependency).
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// True if `tool` exists; otherwise prints why the test is skipped and
/// returns false, so the test can `return` early (never silently).
pub fn require_tool(test: &str, tool: &str, hint: &str) -> bool {
    if find_in_path(tool).is_some() {
        return true;
    }
    eprintln!("SKIP {test}: `{tool}` not found ({hint})");
    false
}

/// A shell script for busybox: `busybox nc -l` in the background, a
/// second nc that connects over 127.0.0.1 (retried until the listener is
/// up) and sends "over loopback", then the listener's exit status and
/// what it received, which it writes to `out`.
///
/// The listener runs `cat` on the connection (`-e`) rather than copying
/// its own stdin to it: a plain `nc -l` shuts its side down as soon as its
/// stdin (/dev/null in the background) ends, and the client quits on that
/// end, before its own stdin (a pipe from echo) has been read when echo is
/// slow to run. On a loaded machine that lost the line natively as well.
pub fn nc_loopback_script(out: &str) -> String {
    format!(
        r#"P=$((20000 + $$ % 10000))
busybox nc -l -p $P -e busybox sh -c "busybox cat > {out}" & srv=$!
i=0; until echo "over loopback" | busybox nc 127.0.0.1 $P 2>/dev/null; do
  i=$((i+1)); [ $i -gt 100 ] && break; busybox sleep 0.1; done
wait $srv; echo "listener exit $?"; busybox cat {out}"#
    )
}

/// Compiles `source` (C) with gcc into `<dir>/<name>` with `flags` added,
/// and returns the path. Panics with gcc's output if compilation fails.
///
/// Call it with `env!("CARGO_TARGET_TMPDIR")` from an integration test.
/// Concurrent tests must use different names.
pub fn compile_c(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, source).unwrap_or_else(|e| panic!("write {}: {e}", src.display()));
    let out = Command::new("gcc")
        .args(["-O2", "-Wall", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(flags)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gcc (install it: apt-get install gcc): {e}"));
    assert!(
        out.status.success(),
        "gcc failed for {} with {:?}:\n{}",
        src.display(),
        flags,
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_status_of_signal_is_128_plus_n() {
        let out = run_with_timeout(&mut native(&["sh", "-c", "kill -TERM $$"]), DEFAULT_TIMEOUT);
        assert_eq!(out.status, 128 + 15);
    }

    #[test]
    fn run_captures_stdout_and_code() {
        let out = run_with_timeout(
            &mut native(&["sh", "-c", "echo hi; echo err >&2; exit 7"]),
            DEFAULT_TIMEOUT,
        );
        assert_eq!(
            (out.status, out.stdout_str().as_str(), out.stderr_lines()),
            (7, "hi\n", vec!["err".to_string()])
        );
    }

    #[test]
    #[should_panic(expected = "timed out")]
    fn run_kills_on_timeout() {
        run_with_timeout(
            &mut native(&["sh", "-c", "sleep 1000 & sleep 1000"]),
            Duration::from_millis(300),
        );
    }

    #[test]
    fn shell_quote_quotes_only_when_needed() {
        assert_eq!(shell_quote("ls"), "ls");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
