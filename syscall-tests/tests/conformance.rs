//! Conformance suite driver.
//!
//! For every `c/*.c` program: compile it with gcc, run it natively (every
//! case must print `ok`, otherwise the test itself is wrong), then run it
//! under every available platform through `runsc --platform=P do BINARY` and
//! compare case by case with the native run. A case the sandbox cannot pass
//! yet may be listed in `skip.txt` with a reason; it is printed as skipped.
//! All mismatches are collected and reported together at the end.
//!
//! Environment:
//! - `SYSCALL_TESTS_FILTER=substring`: only programs whose name contains it.
//! - `RUNSC_BIN`: the runsc binary (default `<workspace>/target/release/runsc`,
//!   then `<workspace>/target/debug/runsc`; `$CARGO_TARGET_DIR` is tried first
//!   when set).
//! - `RUNSC_EXTRA_FLAGS`: extra global flags (space separated) put before
//!   `do`, e.g. `--debug --strace` when chasing a failure.
//! - `SYSCALL_TESTS_TIMEOUT`: seconds per run (default 30).
//!
//! Run with `cargo test -p syscall-tests -- --nocapture` to see the
//! per-program summary lines.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Platforms the suite runs under, in order. Add new ones here and teach
/// [`platform_unavailable`] how to tell whether the machine has them.
const PLATFORMS: &[&str] = &["ptrace", "systrap"];

/// Time limit for one run of one program (native or sandboxed).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Compiler flags; the same as documented in README.md and harness.h.
const CFLAGS: &[&str] = &["-O1", "-Wall"];

// ---------------------------------------------------------------------------
// Output format
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Ok,
    NotOk,
}

#[derive(Clone, Debug)]
struct Case {
    verdict: Verdict,
    detail: String,
}

/// Parses a program's stdout: `ok NAME` / `not ok NAME: detail` lines, in
/// order. Lines starting with `#`, empty lines and a `skip all:` line (see
/// [`skipped_natively`]) are ignored; anything else is an error, as is a
/// name seen twice.
fn parse_output(stdout: &str) -> Result<Vec<(String, Case)>, String> {
    let mut cases = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, line) in stdout.lines().enumerate() {
        let (verdict, rest) = if let Some(rest) = line.strip_prefix("ok ") {
            (Verdict::Ok, rest)
        } else if let Some(rest) = line.strip_prefix("not ok ") {
            (Verdict::NotOk, rest)
        } else if line.trim().is_empty() || line.starts_with('#') || line.starts_with(SKIP_ALL) {
            continue;
        } else {
            return Err(format!("line {}: not a case line: {line:?}", i + 1));
        };
        let (name, detail) = match rest.split_once(':') {
            Some((name, detail)) => (name.trim(), detail.trim()),
            None => (rest.trim(), ""),
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("line {}: bad case name in {line:?}", i + 1));
        }
        if !seen.insert(name.to_string()) {
            return Err(format!("line {}: case {name:?} printed twice", i + 1));
        }
        cases.push((
            name.to_string(),
            Case {
                verdict,
                detail: detail.to_string(),
            },
        ));
    }
    Ok(cases)
}

/// A native run that cannot prove the program on this machine (IPv6
/// switched off on the host, say) prints `skip all: REASON` and no cases;
/// the program is then not run in the sandbox either, and the reason is
/// printed.
const SKIP_ALL: &str = "skip all:";

/// The reason of a native `skip all:` line.
fn skipped_natively(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|l| l.strip_prefix(SKIP_ALL)).map(|r| r.trim().to_string())
}

// ---------------------------------------------------------------------------
// Skip list
// ---------------------------------------------------------------------------

/// `program -> case -> reason`; case `*` skips the whole program in the
/// sandbox.
type SkipList = BTreeMap<String, BTreeMap<String, String>>;

/// Parses `skip.txt`: `program case  # reason` per line; `#` lines and blank
/// lines are comments. A reason is required.
fn parse_skip_list(text: &str) -> Result<SkipList, String> {
    let mut skips = SkipList::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (entry, reason) = match line.split_once('#') {
            Some((entry, reason)) => (entry.trim(), reason.trim()),
            None => (line, ""),
        };
        if reason.is_empty() {
            return Err(format!(
                "skip.txt line {}: {raw:?} has no reason (`program case  # reason`)",
                i + 1
            ));
        }
        let words: Vec<&str> = entry.split_whitespace().collect();
        let [program, case] = words[..] else {
            return Err(format!(
                "skip.txt line {}: {raw:?} is not `program case  # reason`",
                i + 1
            ));
        };
        skips
            .entry(program.to_string())
            .or_default()
            .insert(case.to_string(), reason.to_string());
    }
    Ok(skips)
}

// ---------------------------------------------------------------------------
// Running things
// ---------------------------------------------------------------------------

struct Outcome {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    timed_out: bool,
    elapsed: Duration,
}

impl Outcome {
    fn describe_status(&self) -> String {
        if self.timed_out {
            return format!("timed out after {:?} (killed)", self.elapsed);
        }
        match self.status {
            Some(s) if s.code().is_some() => format!("exit status {}", s.code().unwrap_or(-1)),
            Some(s) => format!("killed by signal {}", s.signal().unwrap_or(0)),
            None => "no status".to_string(),
        }
    }

    fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    fn stderr_tail(&self, lines: usize) -> String {
        let all: Vec<&str> = self.stderr.lines().collect();
        let from = all.len().saturating_sub(lines);
        all[from..].join("\n")
    }
}

/// Signal `sig` (kill(1)'s "-NAME") to the process `pid`.
fn signal_pid(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// SIGKILL to the process group `pgid`, via kill(1) to stay std-only.
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn reader<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Runs `cmd` in its own process group with stdout/stderr captured. On
/// timeout the whole group is killed and the outcome marked `timed_out`.
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Result<Outcome, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let pid = child.id();
    let out_rx = reader(child.stdout.take().expect("piped stdout"));
    let err_rx = reader(child.stderr.take().expect("piped stderr"));
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for {cmd:?}: {e}")),
        }
        if start.elapsed() >= limit {
            timed_out = true;
            // runsc prints what every task of the sandbox is doing on
            // SIGQUIT: the post-mortem of a hang, in its stderr.
            signal_pid(pid, "-QUIT");
            thread::sleep(Duration::from_millis(500));
            kill_group(pid);
            let _ = child.kill();
            break child.wait().ok();
        }
        thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    // Something left behind in the group may still hold the pipes open: give
    // it until the deadline (plus a little), then kill the group.
    let mut collect = |rx: mpsc::Receiver<Vec<u8>>| -> Vec<u8> {
        let left = limit.saturating_sub(start.elapsed()) + Duration::from_secs(1);
        match rx.recv_timeout(left) {
            Ok(v) => v,
            Err(_) => {
                timed_out = true;
                kill_group(pid);
                rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default()
            }
        }
    };
    let stdout = collect(out_rx);
    let stderr = collect(err_rx);
    Ok(Outcome {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
        elapsed,
    })
}

fn timeout() -> Duration {
    std::env::var("SYSCALL_TESTS_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

// ---------------------------------------------------------------------------
// Locations
// ---------------------------------------------------------------------------

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_root() -> PathBuf {
    crate_dir()
        .parent()
        .expect("syscall-tests lives inside the workspace")
        .to_path_buf()
}

fn build_dir() -> PathBuf {
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join("syscall-tests")
}

fn find_runsc() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("RUNSC_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("RUNSC_BIN={} does not exist", p.display()))
        };
    }
    let mut targets = Vec::new();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        let t = PathBuf::from(t);
        targets.push(if t.is_absolute() {
            t
        } else {
            workspace_root().join(t)
        });
    }
    targets.push(workspace_root().join("target"));
    let mut tried = Vec::new();
    for t in &targets {
        for profile in ["release", "debug"] {
            let p = t.join(profile).join("runsc");
            if p.is_file() {
                return Ok(p);
            }
            tried.push(p.display().to_string());
        }
    }
    Err(format!(
        "the runsc binary was not found (tried {}). Run `cargo build --release` first \
         (or point RUNSC_BIN at a runsc binary).",
        tried.join(", ")
    ))
}

/// Why `platform` cannot run on this machine, or None when it can.
fn platform_unavailable(platform: &str) -> Option<String> {
    match platform {
        "ptrace" => {
            let path = "/proc/sys/kernel/yama/ptrace_scope";
            let scope = match std::fs::read_to_string(path) {
                Ok(s) => s.trim().to_string(),
                // No Yama: classic ptrace rules, a parent may trace its child.
                Err(_) => return None,
            };
            match scope.as_str() {
                // 0: classic; 1: only descendants, which is what runsc traces.
                "0" | "1" => None,
                "2" if running_as_root() => None,
                "2" => Some(format!(
                    "{path} is 2 (admin-only attach) and the tests are not running as root"
                )),
                other => Some(format!(
                    "{path} is {other}: ptrace is disabled on this machine"
                )),
            }
        }
        "systrap" => match std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail") {
            Ok(s) if s.split_whitespace().any(|a| a == "trap") => platform_unavailable("ptrace"),
            Ok(s) => Some(format!("seccomp has no trap action here (actions: {})", s.trim())),
            Err(e) => Some(format!("no seccomp filters here: {e}")),
        },
        other => Some(format!("no availability check for platform {other:?}")),
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------

fn programs(filter: Option<&str>) -> Vec<(String, PathBuf)> {
    let dir = crate_dir().join("c");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_string();
            Some((name, p))
        })
        .filter(|(name, _)| match filter {
            Some(f) => name.contains(f),
            None => true,
        })
        .collect();
    out.sort();
    out
}

fn compile(name: &str, src: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let bin = out_dir.join(name);
    let output = Command::new("gcc")
        .args(CFLAGS)
        .arg("-I")
        .arg(src.parent().expect("source has a directory"))
        .arg("-o")
        .arg(&bin)
        .arg(src)
        .arg("-lpthread")
        .output()
        .map_err(|e| format!("cannot run gcc (is it installed?): {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("gcc failed for {}:\n{stderr}", src.display()));
    }
    if !stderr.trim().is_empty() {
        println!("warning: gcc warnings for {name}:\n{stderr}");
    }
    Ok(bin)
}

#[derive(Default)]
struct Tally {
    passed: usize,
    skipped: usize,
    failed: usize,
}

#[test]
fn conformance() {
    let filter = std::env::var("SYSCALL_TESTS_FILTER")
        .ok()
        .filter(|f| !f.is_empty());
    let programs = programs(filter.as_deref());
    assert!(
        !programs.is_empty(),
        "no programs in {}/c match SYSCALL_TESTS_FILTER={:?}",
        crate_dir().display(),
        filter
    );
    if let Some(f) = &filter {
        println!(
            "SYSCALL_TESTS_FILTER={f:?}: running {} program(s)",
            programs.len()
        );
    }
    let skip_path = crate_dir().join("skip.txt");
    let skip_text = std::fs::read_to_string(&skip_path).unwrap_or_default();
    let skips = parse_skip_list(&skip_text).unwrap_or_else(|e| panic!("{e}"));
    let limit = timeout();

    let out_dir = build_dir();
    std::fs::create_dir_all(&out_dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", out_dir.display()));

    let mut platforms = Vec::new();
    for &p in PLATFORMS {
        match platform_unavailable(p) {
            None => platforms.push(p),
            Some(why) => println!("platform {p}: SKIPPED: {why}"),
        }
    }
    // Everything that went wrong, reported together at the end.
    let mut failures: Vec<String> = Vec::new();
    let runsc = if platforms.is_empty() {
        println!("no platform available: only the native runs are checked");
        None
    } else {
        match find_runsc() {
            Ok(p) => Some(p),
            Err(e) => {
                // Still run everything natively, then fail with the reason.
                println!("{e}");
                failures.push(e);
                platforms.clear();
                None
            }
        }
    };
    let extra_flags: Vec<String> = std::env::var("RUNSC_EXTRA_FLAGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();

    let mut summary: Vec<String> = Vec::new();
    let program_names: BTreeSet<&str> = programs.iter().map(|(n, _)| n.as_str()).collect();

    for (name, src) in &programs {
        let bin = match compile(name, src, &out_dir) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };

        // Native: proves the test right.
        let native = match run_with_timeout(Command::new(&bin).current_dir(&out_dir), limit) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{name} [native]: {e}"));
                continue;
            }
        };
        let native_cases = match parse_output(&native.stdout) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name} [native]: bad output: {e}"));
                continue;
            }
        };
        if let Some(reason) = skipped_natively(&native.stdout) {
            if native.success() && native_cases.is_empty() {
                println!("{name}: SKIPPED on this machine: {reason}");
                summary.push(format!("{name:<14} [native] SKIPPED on this machine: {reason}"));
                continue;
            }
        }
        let mut native_bad = Vec::new();
        if !native.success() {
            native_bad.push(format!("{} (must exit 0)", native.describe_status()));
        }
        if native_cases.is_empty() {
            native_bad.push("printed no cases".to_string());
        }
        for (case, c) in &native_cases {
            if c.verdict != Verdict::Ok {
                native_bad.push(format!("{case}: not ok natively: {}", c.detail));
            }
        }
        if !native_bad.is_empty() {
            let mut msg = format!(
                "{name} [native]: the test itself is wrong on this machine:\n    {}",
                native_bad.join("\n    ")
            );
            if !native.stderr.trim().is_empty() {
                let _ = write!(msg, "\n    stderr: {}", native.stderr_tail(10));
            }
            failures.push(msg);
            summary.push(format!(
                "{name:<14} [native] FAILED ({} problems)",
                native_bad.len()
            ));
            continue;
        }
        summary.push(format!(
            "{name:<14} [native] {} cases ok ({:.2}s)",
            native_cases.len(),
            native.elapsed.as_secs_f64()
        ));

        let empty = BTreeMap::new();
        let prog_skips = skips.get(name.as_str()).unwrap_or(&empty);
        for (case, reason) in prog_skips {
            if case != "*" && !native_cases.iter().any(|(n, _)| n == case) {
                println!("warning: skip.txt names {name} {case} ({reason}), which the program does not print");
            }
        }

        for &platform in &platforms {
            let runsc = runsc
                .as_ref()
                .expect("runsc found when a platform is available");
            if let Some(reason) = prog_skips.get("*") {
                println!("{name} [{platform}]: SKIPPED whole program: {reason}");
                summary.push(format!(
                    "{name:<14} [{platform}] SKIPPED whole program ({} cases): {reason}",
                    native_cases.len()
                ));
                continue;
            }
            let mut cmd = Command::new(runsc);
            cmd.arg(format!("--platform={platform}"))
                .args(&extra_flags)
                .arg("do")
                .arg(&bin)
                .current_dir(&out_dir);
            let sandboxed = match run_with_timeout(&mut cmd, limit) {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{name} [{platform}]: {e}"));
                    continue;
                }
            };
            let mut problems: Vec<String> = Vec::new();
            let mut tally = Tally::default();
            let mut missing: Vec<&str> = Vec::new();
            let sandbox_cases: BTreeMap<String, Case> = match parse_output(&sandboxed.stdout) {
                Ok(c) => c.into_iter().collect(),
                Err(e) => {
                    problems.push(format!("unparsable output ({e})"));
                    BTreeMap::new()
                }
            };
            for (case, _) in &native_cases {
                let got = sandbox_cases.get(case);
                if let Some(reason) = prog_skips.get(case) {
                    tally.skipped += 1;
                    let now_passes = got.is_some_and(|c| c.verdict == Verdict::Ok);
                    println!(
                        "{name} [{platform}] {case}: skipped ({reason}){}",
                        if now_passes {
                            " -- passes now, remove it from skip.txt"
                        } else {
                            ""
                        }
                    );
                    continue;
                }
                match got {
                    Some(c) if c.verdict == Verdict::Ok => tally.passed += 1,
                    Some(c) => {
                        tally.failed += 1;
                        problems.push(format!("{case}: not ok: {}", c.detail));
                    }
                    None => {
                        tally.failed += 1;
                        missing.push(case.as_str());
                    }
                }
            }
            match missing.len() {
                0 => {}
                n if n == native_cases.len() => problems.push(format!(
                    "printed none of its {n} cases (did the program run at all?)"
                )),
                n if n <= 5 => {
                    for case in &missing {
                        problems.push(format!("{case}: missing from the sandboxed output"));
                    }
                }
                n => problems.push(format!(
                    "{n} cases missing from the sandboxed output (crashed or stopped early?), \
                     from {} on: {}, ...",
                    missing[0],
                    missing[..5].join(", ")
                )),
            }
            for case in sandbox_cases.keys() {
                if !native_cases.iter().any(|(n, _)| n == case) {
                    problems.push(format!("{case}: printed in the sandbox but not natively"));
                }
            }
            if !sandboxed.success() {
                problems.push(format!(
                    "program {} in the sandbox (natively: exit status 0)",
                    sandboxed.describe_status()
                ));
            }
            summary.push(format!(
                "{name:<14} [{platform}] {} passed, {} skipped, {} FAILED of {} cases ({:.2}s){}",
                tally.passed,
                tally.skipped,
                tally.failed,
                native_cases.len(),
                sandboxed.elapsed.as_secs_f64(),
                if problems.is_empty() {
                    ""
                } else {
                    "  <-- mismatch"
                }
            ));
            if !problems.is_empty() {
                let mut msg = format!("{name} [{platform}]:\n    {}", problems.join("\n    "));
                let tail = sandboxed.stderr_tail(if sandboxed.timed_out { 60 } else { 15 });
                if !tail.trim().is_empty() {
                    let _ = write!(
                        msg,
                        "\n    --- runsc stderr (tail) ---\n    {}",
                        tail.replace('\n', "\n    ")
                    );
                }
                failures.push(msg);
            }
        }
    }

    for program in skips.keys() {
        if filter.is_none() && !program_names.contains(program.as_str()) {
            println!("warning: skip.txt names program {program:?}, which does not exist in c/");
        }
    }

    println!("\n=== syscall conformance summary ===");
    for line in &summary {
        println!("{line}");
    }
    if !failures.is_empty() {
        panic!(
            "\n{} program run(s) did not match:\n\n{}\n",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

// ---------------------------------------------------------------------------
// Tests of the driver itself
// ---------------------------------------------------------------------------

#[test]
fn parse_output_reads_ok_and_not_ok_lines() {
    let cases = parse_output("ok a\n# comment\nnot ok b: errno EFAULT: x\n\nok c_d\n").unwrap();
    let names: Vec<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b", "c_d"]);
    assert_eq!(cases[1].1.verdict, Verdict::NotOk);
    assert_eq!(cases[1].1.detail, "errno EFAULT: x");
}

#[test]
fn parse_output_rejects_duplicates_and_stray_lines() {
    assert!(parse_output("ok a\nok a\n").is_err());
    assert!(parse_output("ok a\nhello\n").is_err());
}

#[test]
fn skip_all_line_is_read_and_not_a_case() {
    let out = "# probing\nskip all: no IPv6 loopback here\n";
    assert_eq!(skipped_natively(out).as_deref(), Some("no IPv6 loopback here"));
    assert!(parse_output(out).unwrap().is_empty());
    assert_eq!(skipped_natively("ok a\n"), None);
}

#[test]
fn skip_list_requires_a_reason() {
    let s = parse_skip_list("# header\n\nrw pipe_read  # not yet\nmmap_anon *  # whole\n").unwrap();
    assert_eq!(s["rw"]["pipe_read"], "not yet");
    assert_eq!(s["mmap_anon"]["*"], "whole");
    assert!(parse_skip_list("rw pipe_read\n").is_err());
    assert!(parse_skip_list("rw  # no case\n").is_err());
}

#[test]
fn skip_file_parses() {
    let path = crate_dir().join("skip.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    parse_skip_list(&text).unwrap_or_else(|e| panic!("{e}"));
}
