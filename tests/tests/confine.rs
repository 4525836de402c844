//! Confinement of runsc's own processes (issue 7), seen from the host: the
//! gofer's and the sentry's seccomp filters kill on a syscall outside
//! their lists; a live container's gofers are filtered, jailed in a root
//! holding only /proc and the tree they serve, and cut off from the host's
//! network; a live sandbox process (`runsc boot`, and `runsc do`'s) is
//! filtered, pid 1 of its own pid namespace, in a root holding only its
//! /proc, with few capabilities.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::runsc_path;

/// `runsc gofer` serving / on one end of a socket pair (the other is
/// returned), with the test-only hook when `hook`.
fn gofer_on_socket(hook: bool) -> (std::process::Child, std::os::unix::net::UnixStream) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let fd = theirs.as_raw_fd();
    let mut cmd = Command::new(runsc_path());
    cmd.args(["gofer", "--dir", "/", "--fd", "3"]);
    if hook {
        cmd.env("RUNSC_TEST_FORBIDDEN_SYSCALL", "gofer");
    } else {
        cmd.env_remove("RUNSC_TEST_FORBIDDEN_SYSCALL");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: dup2 only duplicates an fd the child inherited from us.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("runsc gofer");
    drop(theirs);
    (child, ours)
}

#[test]
fn gofer_filter_kills_a_forbidden_syscall() {
    // The gofer with its test-only hook: right after its filter is in, it
    // makes one call outside the list (getppid).
    let (mut child, ours) = gofer_on_socket(true);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "the gofer was not killed");
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(ours);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGSYS), "{status:?}");

    // Without the hook it serves (and ends cleanly when the socket closes).
    let (mut child, ours) = gofer_on_socket(false);
    std::thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().expect("wait").is_none(), "the filtered gofer runs");
    drop(ours);
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
}

#[test]
fn sentry_filter_kills_a_forbidden_syscall() {
    // The sentry's hook fires once the sandbox is built: `runsc do`
    // reports the sandbox's death, and the command never runs.
    let out = tests::run(
        Command::new(runsc_path())
            .arg(format!("--platform={}", tests::platform()))
            .env("RUNSC_TEST_FORBIDDEN_SYSCALL", "sentry")
            .args(["do", "/bin/echo", "ran"]),
    );
    assert_eq!(out.status, 128 + libc::SIGSYS, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("killed by SIGSYS"), "{out:?}");
    // Without it, the same command runs under the filter.
    let out = tests::run(
        Command::new(runsc_path())
            .arg(format!("--platform={}", tests::platform()))
            .env_remove("RUNSC_TEST_FORBIDDEN_SYSCALL")
            .args(["do", "/bin/echo", "ran"]),
    );
    assert_eq!((out.status, out.stdout_str().as_str()), (0, "ran\n"), "{out:?}");
}

#[test]
fn a_sentry_panic_under_the_filter_is_reported_not_killed() {
    // With RUST_BACKTRACE set, the default panic hook would resolve a
    // backtrace (reading the binary and /proc), which the filter forbids:
    // the sandbox died of SIGSYS before saying what went wrong. The hook
    // panics on a thread once the filter is in, and the sandbox goes on.
    let out = tests::run(tests::runsc_command().env("RUNSC_TEST_PANIC", "sentry").env("RUST_BACKTRACE", "1").args(["do", "/bin/echo", "ran"]));
    assert_eq!((out.status, out.stdout_str().as_str()), (0, "ran\n"), "{out:?}");
    assert!(out.stderr_str().contains("panicked at") && out.stderr_str().contains("test panic under the seccomp filter"), "{out:?}");
}

/// The parent pid of process `pid` (0 if it is gone).
fn ppid_of(pid: &Path) -> i32 {
    let stat = std::fs::read_to_string(pid.join("stat")).unwrap_or_default();
    stat.rsplit(')').next().and_then(|s| s.split_whitespace().nth(1)).and_then(|p| p.parse().ok()).unwrap_or(0)
}

/// The children of `pid` whose command line contains `what` (or does not,
/// when `what` starts with `!`).
fn children(pid: i32, what: &str) -> Vec<std::path::PathBuf> {
    let (want, what) = match what.strip_prefix('!') {
        Some(w) => (false, w),
        None => (true, what),
    };
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if ppid_of(&e.path()) == pid && String::from_utf8_lossy(&cmdline).contains(what) == want {
            v.push(e.path());
        }
    }
    v
}

/// What a confined sandbox process (`/proc/PID` at `p`) shows the host:
/// its filter, its own pid, mount and network namespaces, a root holding
/// only /proc (no /usr, no /bin), and the three capabilities it keeps.
fn assert_sentry_confined(p: &Path) {
    let status = std::fs::read_to_string(p.join("status")).unwrap();
    assert!(status.contains("Seccomp:\t2"), "{}: {status}", p.display());
    assert!(status.contains("NoNewPrivs:\t1"), "{}: {status}", p.display());
    // CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER.
    assert!(status.contains("CapEff:\t000000000000000e"), "{}: {status}", p.display());
    assert!(status.contains("CapBnd:\t000000000000000e"), "{}: {status}", p.display());
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap_or("");
    assert!(nspid.trim_end().ends_with("\t1"), "pid 1 of its own pid namespace: {nspid}");
    for ns in ["pid", "mnt", "net", "ipc", "uts"] {
        let ours = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        assert_ne!(std::fs::read_link(p.join("ns").join(ns)).unwrap(), ours, "{}: its own {ns} namespace", p.display());
    }
    let top: Vec<String> = std::fs::read_dir(p.join("root")).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(top, ["proc"], "{}: the sandbox's root holds its /proc only", p.display());
    assert!(!p.join("root/usr").exists() && !p.join("root/bin").exists(), "the host's /usr and /bin are not visible");
    // Its /proc is its own pid namespace's: pid 1 is itself.
    let own = std::fs::read_to_string(p.join("root/proc/1/cmdline")).unwrap_or_default();
    assert!(own.contains("runsc"), "{own:?}");
}

#[test]
fn a_live_runsc_do_sandbox_is_confined() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP a_live_runsc_do_sandbox_is_confined: needs root (namespaces, pivot_root)");
        return;
    }
    let mut child = Command::new(runsc_path())
        .arg(format!("--platform={}", tests::platform()))
        .args(["do", "/bin/sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("runsc do");
    let me = child.id() as i32;
    // `runsc do` relays; its child is the sandbox process.
    let deadline = Instant::now() + Duration::from_secs(20);
    let sandbox = loop {
        let s = children(me, "!gofer");
        if s.len() == 1 && !children(pid_of(&s[0]), "gofer").is_empty() {
            break s[0].clone();
        }
        assert!(Instant::now() < deadline, "no sandbox process under {me}");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Built once the command runs (its stub is a grandchild).
    while !std::fs::read_to_string(sandbox.join("status")).unwrap_or_default().contains("Seccomp:\t2") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let result = std::panic::catch_unwind(|| {
        assert_sentry_confined(&sandbox);
        assert_tasks_batch_scheduled(&sandbox);
        assert_fd_table_grown(&sandbox);
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// The sandbox process's task threads (`task-N`) run SCHED_BATCH (3), the
/// policy runsc sets before the platform starts (docs/architecture.md),
/// or SCHED_OTHER (0): on systrap a thread whose hand-offs were late (the
/// host's CPUs oversubscribed, as under a loaded test run) leaves batch
/// until it hands off on time again (platform-systrap's contention.rs).
fn assert_tasks_batch_scheduled(p: &Path) {
    let mut tasks = 0;
    for t in std::fs::read_dir(p.join("task")).unwrap().flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("task-") {
            continue;
        }
        tasks += 1;
        // Field 41 of stat, the 39th after the command's closing paren.
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        let policy = stat.rsplit(')').next().and_then(|s| s.split_whitespace().nth(38)).unwrap_or("?").to_string();
        let contended = policy == "0" && tests::platform() == "systrap";
        assert!(policy == "3" || contended, "{} ({}): scheduling policy {policy}", t.path().display(), comm.trim());
    }
    assert!(tasks > 0, "no task thread in {}", p.display());
}

/// The sandbox process's host fd table was grown before its threads
/// started (runsc-cli's `reserve_host_fds`): FDSize is 8192 slots, or the
/// RLIMIT_NOFILE hard limit if lower, with only a few dozen fds open.
fn assert_fd_table_grown(p: &Path) {
    let status = std::fs::read_to_string(p.join("status")).unwrap_or_default();
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse::<u64>().ok());
    let size = field("FDSize:").expect("FDSize in status");
    let limits = std::fs::read_to_string(p.join("limits")).unwrap_or_default();
    let hard = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("Max open files in limits");
    assert!(size >= hard.min(8192), "{}: FDSize {size}, hard limit {hard}", p.display());
}

/// The pid of `/proc/PID`.
fn pid_of(p: &Path) -> i32 {
    p.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[test]
fn a_live_containers_sandbox_and_gofers_are_confined() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP a_live_containers_sandbox_and_gofers_are_confined: needs root (namespaces, pivot_root)");
        return;
    }
    let busybox = Path::new("/bin/busybox");
    if !busybox.is_file() {
        eprintln!("SKIP a_live_containers_sandbox_and_gofers_are_confined: /bin/busybox not found");
        return;
    }
    let dir = std::env::temp_dir().join(format!("runsc-confine-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rootfs = dir.join("bundle/rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sleep")).unwrap();
    // A file beside the rootfs: no gofer may see it.
    std::fs::write(dir.join("bundle/secret"), "host only").unwrap();
    let root = dir.join("state");
    let runsc = |args: &[&str]| {
        tests::run(Command::new(runsc_path()).arg(format!("--platform={}", tests::platform())).arg("--root").arg(&root).args(args))
    };
    let bundle = dir.join("bundle");
    let spec = runsc(&["spec", "--bundle", bundle.to_str().unwrap()]);
    assert_eq!(spec.status, 0, "{spec:?}");
    let cfg = bundle.join("config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let at = text.find("\"args\"").unwrap();
    let end = at + text[at..].find(']').unwrap() + 1;
    std::fs::write(&cfg, format!("{}\"args\": [\"sleep\", \"30\"]{}", &text[..at], &text[end..])).unwrap();
    // run --detach keeps our stdio in the sandbox: give it files.
    let out = Command::new(runsc_path())
        .arg(format!("--platform={}", tests::platform()))
        .arg("--root")
        .arg(&root)
        .args(["run", "--detach", "--bundle", bundle.to_str().unwrap(), "jail1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("runsc run");
    assert!(out.success(), "{out:?}");
    let state = runsc(&["state", "jail1"]).stdout_str();
    let pid: i32 = state.split("\"pid\": ").nth(1).and_then(|s| s.split(',').next()).and_then(|p| p.trim().parse().ok()).expect("pid");
    // The sandbox process's children that are gofers.
    let gofers = children(pid, "gofer");
    let result = std::panic::catch_unwind(|| {
        assert_sentry_confined(&Path::new("/proc").join(pid.to_string()));
        assert!(!gofers.is_empty(), "no gofer found under {pid}");
        let own_net = std::fs::read_link("/proc/self/ns/net").unwrap();
        for g in &gofers {
            let status = std::fs::read_to_string(g.join("status")).unwrap();
            assert!(status.contains("Seccomp:\t2"), "{}: {status}", g.display());
            let mut top: Vec<String> = std::fs::read_dir(g.join("root")).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
            top.sort();
            assert_eq!(top, ["proc", "root"], "{}: the jail holds /proc and the served tree only", g.display());
            assert!(g.join("root/root/bin/busybox").exists(), "the served tree is there");
            assert!(!g.join("root/root/../secret").exists() && !g.join("root/secret").exists(), "nothing beside it");
            assert_ne!(std::fs::read_link(g.join("ns/net")).unwrap(), own_net, "the gofer has no network of the host's");
        }
    });
    let _ = runsc(&["delete", "--force", "jail1"]);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// From inside an OCI container whose rootfs is a directory, with a
/// writable volume whose host directory lies beside it, every attempt to
/// read a host file beside the rootfs fails (tests/c/escape.c lists them:
/// `..`, symlinks absolute and relative, /proc magic links, a chroot
/// escape, hard links, O_PATH and openat2, a bind of "/.."), with the
/// gofers' fast path (directfs) and without.
#[test]
fn escapes_from_a_container_fail() {
    let busybox = Path::new("/bin/busybox");
    if !busybox.is_file() {
        eprintln!("SKIP escapes_from_a_container_fail: /bin/busybox not found");
        return;
    }
    let dir = std::env::temp_dir().join(format!("runsc-escape-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bundle = dir.join("bundle");
    let rootfs = bundle.join("rootfs");
    for d in ["bin", "tmp", "proc", "dev", "sys"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::write(bundle.join("secret"), "SECRET_MARK\n").unwrap();
    std::fs::write(dir.join("secret"), "SECRET_MARK\n").unwrap();
    let vol = bundle.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    let exe = tests::compile_c(&dir.join("build"), "escape", include_str!("../c/escape.c"), &["-static"]);
    std::fs::copy(&exe, rootfs.join("bin/escape")).unwrap();
    let root = dir.join("state");
    let runsc = |extra: &[&str], args: &[&str]| {
        let mut c = Command::new(runsc_path());
        c.arg(format!("--platform={}", tests::platform())).arg("--root").arg(&root).args(extra).args(args);
        c.stdin(Stdio::null());
        tests::run(&mut c)
    };
    assert_eq!(runsc(&[], &["spec", "--bundle", bundle.to_str().unwrap()]).status, 0);
    let cfg = bundle.join("config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let at = text.find("\"args\"").unwrap();
    let end = at + text[at..].find(']').unwrap() + 1;
    let text = format!("{}\"args\": [\"/bin/escape\"]{}", &text[..at], &text[end..]);
    // The secret's host path, given to the attacker.
    let env_at = text.find("\"env\"").unwrap();
    let env_at = env_at + text[env_at..].find('[').unwrap() + 1;
    let text = format!("{}\"SECRET_PATH={}\", {}", &text[..env_at], bundle.join("secret").display(), &text[env_at..]);
    let at = text.find("\"mounts\"").unwrap();
    let at = at + text[at..].find('[').unwrap() + 1;
    let m = format!("{{\"destination\": \"/data\", \"type\": \"bind\", \"source\": {:?}, \"options\": [\"rbind\", \"rw\"]}},", vol.display().to_string());
    std::fs::write(&cfg, format!("{}{m}{}", &text[..at], &text[at..])).unwrap();
    for (i, directfs) in ["--directfs=true", "--directfs=false"].into_iter().enumerate() {
        let out = runsc(&[directfs], &["run", "--bundle", bundle.to_str().unwrap(), &format!("esc{i}")]);
        assert_eq!(out.status, 0, "{directfs}: {out:?}");
        let text = out.stdout_str();
        assert!(!text.contains("ESCAPED") && text.ends_with("0 escaped\ndone\n"), "{directfs}: {text}\n{}", out.stderr_str());
        // The volume's host side has only what was made inside it.
        for e in std::fs::read_dir(&vol).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_file() {
                let content = std::fs::read_to_string(e.path()).unwrap_or_default();
                assert!(!content.contains("SECRET_MARK"), "{}: {content}", e.path().display());
            }
        }
        for e in std::fs::read_dir(&vol).unwrap().flatten() {
            let p = e.path();
            if std::fs::symlink_metadata(&p).map(|m| m.is_dir()).unwrap_or(false) {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
