//! Confinement of runsc's own processes (issue 7), seen from the host: the
//! gofer's seccomp filter kills it on a syscall outside its list, and a
//! live container's gofers are filtered, jailed in a root holding only
//! /proc and the tree they serve, and cut off from the host's network.

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
        cmd.env("RUNSC_TEST_FORBIDDEN_SYSCALL", "1");
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
fn a_live_containers_gofers_are_filtered_and_jailed() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP a_live_containers_gofers_are_filtered_and_jailed: needs root (namespaces, pivot_root)");
        return;
    }
    let busybox = Path::new("/bin/busybox");
    if !busybox.is_file() {
        eprintln!("SKIP a_live_containers_gofers_are_filtered_and_jailed: /bin/busybox not found");
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
    let mut gofers = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid: i32 = stat.rsplit(')').next().and_then(|s| s.split_whitespace().nth(1)).and_then(|p| p.parse().ok()).unwrap_or(0);
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if ppid == pid && String::from_utf8_lossy(&cmdline).contains("gofer") {
            gofers.push(e.path());
        }
    }
    let result = std::panic::catch_unwind(|| {
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
