//! End-to-end: real programs run natively and through
//! `runsc --platform=P do` (P: `$RUNSC_PLATFORM`, default systrap), with
//! stdout and exit status compared.
//!
//! Needs the runsc binary (`cargo build --release` first, or RUNSC_BIN) and
//! gcc; busybox (package busybox-static) is optional and its test is skipped
//! with a printed reason when absent. Knobs: see the `tests` crate docs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tests::{
    assert_same, assert_same_with, compile_c, platform, require_tool, run, run_with_timeout, runsc_command, sandboxed,
};

fn tmpdir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e");
    std::fs::create_dir_all(&d).expect("create CARGO_TARGET_TMPDIR/e2e");
    d
}

// ---------------------------------------------------------------- basics

#[test]
fn bin_true() {
    assert_same(&["/bin/true"]);
}

#[test]
fn bin_false() {
    let (native, _) = assert_same(&["/bin/false"]);
    assert_eq!(native.status, 1);
}

#[test]
fn echo_hello() {
    let (native, _) = assert_same(&["echo", "hello"]);
    assert_eq!(native.stdout_str(), "hello\n");
}

// ---------------------------------------------------------------- C programs

/// printf, argv, an environment variable, a few MB of malloc'ed memory
/// (touched and checksummed), exit code 3.
const HELLO_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    printf("hello from C, argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    const char *v = getenv("RUNSC_E2E_VAR");
    printf("RUNSC_E2E_VAR=%s\n", v ? v : "(unset)");

    size_t n = 8u << 20;
    unsigned char *p = malloc(n);
    if (!p) { perror("malloc"); return 1; }
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 2654435761u >> 13);
    unsigned long sum = 0;
    for (size_t i = 0; i < n; i += 4093) sum = sum * 31 + p[i];
    char *q = realloc(p, 2 * n);
    if (!q) { perror("realloc"); return 1; }
    memset(q + n, 1, n);
    for (size_t i = n; i < 2 * n; i += 4096) sum += q[i];
    printf("checksum=%lu\n", sum);
    free(q);
    fflush(stdout);
    return 3;
}
"#;

fn c_program_case(name: &str, flags: &[&str]) {
    let exe = compile_c(&tmpdir(), name, HELLO_C, flags);
    let exe = exe.to_str().expect("utf-8 path");
    let (native, _) = assert_same_with(&[exe, "one", "two words", ""], |c| {
        c.env("RUNSC_E2E_VAR", "forty two");
    });
    assert_eq!(native.status, 3);
    assert!(native.stdout_str().contains("RUNSC_E2E_VAR=forty two"));
}

#[test]
fn c_dynamic() {
    c_program_case("hello_dynamic", &[]);
}

#[test]
fn c_static() {
    c_program_case("hello_static", &["-static"]);
}

#[test]
fn c_static_pie() {
    c_program_case("hello_static_pie", &["-static-pie", "-fPIE"]);
}

const THREADS_C: &str = r#"
#include <pthread.h>
#include <stdio.h>

#define N 4
static long results[N];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long shared;

static void *worker(void *arg) {
    long id = (long)arg, sum = 0;
    for (long i = 0; i < 2000000; i++) sum += i % (id + 2);
    results[id] = sum;
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&lock);
        shared++;
        pthread_mutex_unlock(&lock);
    }
    return (void *)(id * 10);
}

int main(void) {
    pthread_t t[N];
    for (long i = 0; i < N; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i)) { perror("pthread_create"); return 1; }
    for (long i = 0; i < N; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        printf("thread %ld: sum=%ld ret=%ld\n", i, results[i], (long)ret);
    }
    printf("shared=%ld\n", shared);
    return 0;
}
"#;

#[test]
fn c_pthreads() {
    let exe = compile_c(&tmpdir(), "threads", THREADS_C, &["-pthread"]);
    let (native, _) = assert_same(&[exe]);
    assert!(native.stdout_str().contains("shared=40000"));
}

// ---------------------------------------------------------------- shells

#[test]
fn shebang_script() {
    let script = tmpdir().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho \"script: $# args: $*\"\nexit 5\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (native, _) = assert_same(&[script.as_os_str(), "a".as_ref(), "b c".as_ref()]);
    assert_eq!(native.status, 5);
}

#[test]
fn sh_exit_42() {
    let (native, _) = assert_same(&["sh", "-c", "exit 42"]);
    assert_eq!(native.status, 42);
}

#[test]
fn sh_killed_by_sigsegv() {
    // Run in the scratch directory so a native core dump cannot land in the
    // source tree.
    let dir = tmpdir();
    let (native, _) = assert_same_with(&["sh", "-c", "kill -SEGV $$"], |c| {
        c.current_dir(&dir);
    });
    assert_eq!(native.status, 139);
}

#[test]
fn sh_sort_pipeline() {
    assert_same(&["sh", "-c", "seq 1 20000 | sort -r | head -3"]);
}

#[test]
fn bash_subshells() {
    let (native, _) = assert_same(&["bash", "-c", r#"x=$(echo a; (echo b)); echo "$x" $((6*7))"#]);
    assert_eq!(native.stdout_str(), "a\nb 42\n");
}

#[test]
fn env_i() {
    let (native, _) = assert_same(&["env", "-i", "A=1", "env"]);
    assert_eq!(native.stdout_str(), "A=1\n");
}

#[test]
fn busybox_pipelines() {
    let busybox = Path::new("/bin/busybox");
    if !busybox.is_file() {
        eprintln!(
            "SKIP busybox_pipelines: /bin/busybox not found (apt-get install busybox-static)"
        );
        return;
    }
    assert_same(&[
        "/bin/busybox",
        "sh",
        "-c",
        "busybox seq 1 1000 | busybox grep 7 | busybox wc -l; \
         echo a b c | busybox tr a-z A-Z; \
         busybox ls /etc | busybox sort | busybox head -5; \
         busybox printf '%s\\n' x y z | busybox sed s/y/Y/ | busybox md5sum; \
         busybox cat /etc/os-release | busybox awk -F= '{print $1}' | busybox sort -u",
    ]);
}

// ---------------------------------------------------------------- files

#[test]
fn cat_os_release() {
    assert_same(&["cat", "/etc/os-release"]);
}

#[test]
fn ls_la_etc() {
    assert_same(&["ls", "-la", "/etc/"]);
}

#[test]
fn ls_recursive_linux_headers() {
    if !Path::new("/usr/include/linux").is_dir() {
        eprintln!("SKIP ls_recursive_linux_headers: /usr/include/linux missing (apt-get install linux-libc-dev)");
        return;
    }
    assert_same(&["ls", "-R", "/usr/include/linux"]);
}

#[test]
fn find_copyright_files() {
    assert_same(&["find", "/usr/share/doc", "-name", "copyright"]);
}

#[test]
fn sha256sum_3mb_file() {
    if !require_tool(
        "sha256sum_3mb_file",
        "sha256sum",
        "apt-get install coreutils",
    ) {
        return;
    }
    let path = tmpdir().join("blob-3mb");
    // Deterministic, incompressible-looking contents (xorshift).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let data: Vec<u8> = (0..3 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&path, data).unwrap();
    assert_same(&["sha256sum".as_ref(), path.as_os_str()]);
}

#[test]
fn dev_zero_md5sum() {
    let (native, _) = assert_same(&[
        "sh",
        "-c",
        "dd if=/dev/zero bs=1M count=8 2>/dev/null | md5sum",
    ]);
    assert!(native
        .stdout_str()
        .starts_with("96995b58d4cbf6aaa9041b4f00c7f6ae"));
}

#[test]
fn dev_urandom_count() {
    let (native, _) = assert_same(&["sh", "-c", "head -c 100000 /dev/urandom | wc -c"]);
    assert_eq!(native.stdout_str().trim(), "100000");
}

#[test]
fn tmp_write_stays_in_sandbox() {
    let name = format!("/tmp/runsc-e2e-overlay-check-{}", std::process::id());
    let host = Path::new(&name);
    let _ = std::fs::remove_file(host);
    let script = format!("echo data > {name}; cat {name}");
    let out = run(&mut sandboxed(&["sh", "-c", &script]));
    let leaked = host.exists();
    let _ = std::fs::remove_file(host);
    assert_eq!(
        (out.status, out.stdout_str().as_str()),
        (0, "data\n"),
        "write then read of {name} inside the sandbox; stderr:\n{}",
        out.stderr_str()
    );
    assert!(
        !leaked,
        "{name} written inside the sandbox appeared on the host"
    );
}

// ---------------------------------------------------------------- bad input

/// Exactly one non-empty line on stderr, mentioning `needle`.
fn assert_one_error_line(out: &tests::Outcome, needle: &str) {
    let lines = out.stderr_lines();
    assert!(
        lines.len() == 1 && lines[0].contains(needle),
        "`{}`: want one stderr line mentioning {needle:?}, got:\n{}",
        out.command,
        out.stderr_str()
    );
}

#[test]
fn missing_program_is_127() {
    let out = run(&mut sandboxed(&["/nonexistent"]));
    assert_eq!(out.status, 127, "stderr:\n{}", out.stderr_str());
    assert!(out.stdout.is_empty());
    assert_one_error_line(&out, "/nonexistent");
}

#[test]
fn non_executable_file_is_126() {
    let file = tmpdir().join("not-executable.sh");
    std::fs::write(&file, "#!/bin/sh\necho should not run\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&mut sandboxed(&[&file]));
    assert_eq!(out.status, 126, "stderr:\n{}", out.stderr_str());
    assert!(out.stdout.is_empty());
    assert_one_error_line(&out, "not-executable.sh");
}

#[test]
fn unknown_flag_is_one_line_error() {
    let mut cmd: Command = runsc_command();
    cmd.args(["--no-such-flag", "do", "/bin/true"]);
    let out = run(&mut cmd);
    assert_ne!(out.status, 0, "unknown flag accepted");
    assert!(out.stdout.is_empty());
    assert_one_error_line(&out, "no-such-flag");
}

// ---------------------------------------------------------------- robustness

/// Every syscall number with garbage arguments, each in a child; the
/// sandbox must keep serving the caller and end with its own status (a
/// sentry panic would end it with 134).
#[test]
fn garbage_syscalls_leave_the_sandbox_serving() {
    let src = include_str!("../c/garbage_syscalls.c");
    let exe = compile_c(&tmpdir(), "garbage_syscalls", src, &[]);
    let out = run_with_timeout(&mut sandboxed(&[exe]), Duration::from_secs(240));
    assert_eq!(out.stdout_str(), "alive\n", "stderr: {}", out.stderr_str());
    assert_eq!(out.status, 7, "stderr: {}", out.stderr_str());
}

// ---------------------------------------------------------------- confinement

/// A program that finds a `syscall` instruction in the systrap stub page
/// (mapped read + execute above the application's addresses) and jumps to
/// it with getpid's number: only the stub's own system calls may be made
/// from there, so the stub filter kills the process. Nothing it does after
/// the jump runs; the sandbox goes on.
const STUB_JUMP_C: &str = r#"
#include <stdio.h>
int main(void) {
    volatile unsigned char *page = (volatile unsigned char *)0x7ffff0000000UL;
    unsigned long site = 0;
    for (int i = 0; i < 4095; i++)
        if (page[i] == 0x0f && page[i + 1] == 0x05) { site = (unsigned long)(page + i); break; }
    if (!site) { puts("no syscall instruction in the stub page"); return 2; }
    puts("jumping"); fflush(stdout);
    long r;
    __asm__ volatile("call *%1" : "=a"(r) : "r"(site), "a"(39L) : "rcx", "r11", "memory");
    printf("returned %ld\n", r);
    return 0;
}
"#;

#[test]
fn systrap_stub_page_syscalls_are_confined() {
    if platform() != "systrap" {
        println!("skipped: the stub filter is systrap's (platform {})", platform());
        return;
    }
    let exe = compile_c(&tmpdir(), "stub_jump", STUB_JUMP_C, &[]);
    let script = format!("{}; echo status=$?; echo alive", exe.display());
    let out = run(&mut sandboxed(&["sh", "-c", &script]));
    let stdout = out.stdout_str();
    assert_eq!(out.status, 0, "the sandbox must go on: {out:?}");
    assert!(stdout.contains("jumping"), "{stdout}");
    assert!(!stdout.contains("returned"), "a syscall from the stub page came back: {stdout}");
    assert!(stdout.contains("alive"), "{stdout}");
    let status: i32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("status="))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {stdout}"));
    assert!(status > 128, "the program must be killed, got status {status}");
}
