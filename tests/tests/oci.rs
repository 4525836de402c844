//! The OCI runtime commands as an engine drives them (issue 6): spec,
//! create, state, start, kill, delete, run and list on a bundle whose root
//! filesystem is busybox, and their answers to bad input (one clear error
//! line, a non-zero exit, nothing left behind).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::{platform, runsc_path, shell_status, timeout, Outcome};

/// A bundle with a busybox root filesystem and a state root, both in a
/// fresh temporary directory (removed on drop).
struct Bundle {
    dir: PathBuf,
}

impl Bundle {
    fn new(name: &str, args: &[&str]) -> Option<Bundle> {
        let busybox = Path::new("/bin/busybox");
        if !busybox.is_file() {
            eprintln!("SKIP {name}: /bin/busybox not found (apt-get install busybox-static)");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("runsc-oci-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rootfs = dir.join("bundle/rootfs");
        for d in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
            std::fs::create_dir_all(rootfs.join(d)).expect("mkdir");
        }
        std::fs::copy(busybox, rootfs.join("bin/busybox")).expect("copy busybox");
        for applet in ["sh", "echo", "cat", "ls", "sleep", "id", "hostname", "true"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).expect("symlink");
        }
        let b = Bundle { dir };
        let out = b.runsc(&["spec", "--bundle", b.bundle().to_str().unwrap_or_default()]);
        assert_eq!(out.status, 0, "runsc spec: {out:?}");
        b.set_args(args);
        Some(b)
    }

    fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }

    fn root(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// Replace process.args in config.json.
    fn set_args(&self, args: &[&str]) {
        let path = self.bundle().join("config.json");
        let text = std::fs::read_to_string(&path).expect("config.json");
        let start = text.find("\"args\"").expect("args in config.json");
        let end = start + text[start..].find(']').expect("end of args") + 1;
        let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        let new = format!("{}\"args\": [{}]{}", &text[..start], quoted.join(", "), &text[end..]);
        std::fs::write(&path, new).expect("write config.json");
    }

    /// Run runsc with its output in files, not pipes: a created
    /// container's sandbox process keeps create's stdio (the container's),
    /// as runc's does, so a pipe would never reach end-of-file.
    fn runsc(&self, args: &[&str]) -> Outcome {
        self.runsc_with(None, args)
    }

    /// runsc with RLIMIT_NOFILE `nofile` (soft and hard), when given.
    fn runsc_with(&self, nofile: Option<u32>, args: &[&str]) -> Outcome {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let (out, err) = (self.dir.join(format!("out.{n}")), self.dir.join(format!("err.{n}")));
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(runsc_path());
                c
            }
            None => Command::new(runsc_path()),
        };
        cmd.arg(format!("--platform={}", platform())).arg("--root").arg(self.root()).args(args);
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"));
        let command = format!("{cmd:?}");
        let mut child = cmd.spawn().expect("runsc");
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > timeout() {
                let _ = child.kill();
                panic!("timed out: {command}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Outcome {
            status: shell_status(status),
            stdout: std::fs::read(&out).unwrap_or_default(),
            stderr: std::fs::read(&err).unwrap_or_default(),
            command,
        }
    }

    fn state(&self, id: &str) -> String {
        let out = self.runsc(&["state", id]);
        assert_eq!(out.status, 0, "state {id}: {out:?}");
        let s = out.stdout_str();
        let at = s.find("\"status\": \"").expect("status in the state") + 11;
        s[at..at + s[at..].find('"').expect("end of status")].to_string()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // Nothing may be left running.
        if let Ok(rd) = std::fs::read_dir(self.root()) {
            for e in rd.flatten() {
                let _ = self.runsc(&["delete", "--force", &e.file_name().to_string_lossy()]);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn lifecycle_create_start_kill_delete() {
    let Some(b) = Bundle::new("lifecycle", &["sleep", "100"]) else { return };
    let bundle = b.bundle();
    let pid_file = b.dir.join("pid");
    let out = b.runsc(&["create", "--bundle", bundle.to_str().unwrap(), "--pid-file", pid_file.to_str().unwrap(), "c1"]);
    assert_eq!(out.status, 0, "create: {out:?}");
    assert_eq!(b.state("c1"), "created");
    let pid: i32 = std::fs::read_to_string(&pid_file).expect("pid file").trim().parse().expect("a pid");
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "the sandbox process {pid} is gone");
    assert!(b.runsc(&["list", "-q"]).stdout_str().contains("c1"));
    assert_eq!(b.runsc(&["start", "c1"]).status, 0);
    assert_eq!(b.state("c1"), "running");
    let ex = b.runsc(&["exec", "c1", "sh", "-c", "echo in exec; id -u; exit 5"]);
    assert_eq!((ex.status, ex.stdout_str().as_str()), (5, "in exec\n0\n"), "{ex:?}");
    let ex = b.runsc(&["exec", "--user", "1000:1000", "c1", "id"]);
    assert_eq!(ex.stdout_str(), "uid=1000 gid=1000\n", "{ex:?}");
    assert_eq!(b.runsc(&["exec", "c1", "nosuch"]).status, 127);
    // The host pids, as runc gives them (the sandbox process here: this
    // bundle has no cgroupsPath).
    let ps = b.runsc(&["ps", "--format", "json", "c1"]);
    let st = b.runsc(&["state", "c1"]).stdout_str();
    let pid = st.split("\"pid\": ").nth(1).and_then(|s| s.split(',').next()).unwrap_or("?").trim().to_string();
    assert_eq!((ps.status, ps.stdout_str()), (0, format!("[{pid}]\n")), "{ps:?} {st}");
    let ps = b.runsc(&["ps", "c1"]);
    assert!(ps.stdout_str().contains(" sleep"), "{ps:?}");
    let ev = b.runsc(&["events", "--stats", "c1"]);
    assert!(ev.status == 0 && ev.stdout_str().contains("\"pids\":{\"current\":1}"), "{ev:?}");
    let pause = b.runsc(&["pause", "c1"]);
    assert!(pause.status != 0 && pause.stderr_str().contains("not supported"), "{pause:?}");
    let again = b.runsc(&["start", "c1"]);
    assert_ne!(again.status, 0, "a second start must fail: {again:?}");
    let del = b.runsc(&["delete", "c1"]);
    assert_ne!(del.status, 0, "delete of a running container must fail: {del:?}");
    let kill = b.runsc(&["kill", "c1", "TERM"]);
    assert_eq!(kill.status, 0, "{kill:?}");
    let wait = b.runsc(&["wait", "c1"]);
    assert_eq!(wait.status, 0, "{wait:?}");
    assert!(wait.stdout_str().contains("\"exitStatus\":143"), "{wait:?}");
    assert_eq!(b.state("c1"), "stopped");
    let kill = b.runsc(&["kill", "c1", "KILL"]);
    assert_ne!(kill.status, 0, "kill of a stopped container must fail: {kill:?}");
    assert_eq!(b.runsc(&["delete", "c1"]).status, 0);
    let gone = b.runsc(&["state", "c1"]);
    assert_ne!(gone.status, 0);
    assert!(gone.stderr_str().contains("does not exist"), "{gone:?}");
    assert!(!Path::new(&format!("/proc/{pid}")).exists() || std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| s.contains(") Z")).unwrap_or(true));
}

#[test]
fn run_prints_and_exits_with_the_status() {
    let Some(b) = Bundle::new("run", &["sh", "-c", "echo hello from $(hostname); id -u; id -G; umask; ulimit -Hn; exit 7"]) else { return };
    // The user's extra groups and umask, and an rlimit, from the spec.
    let cfg = b.bundle().join("config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replacen("\"uid\": 0,", "\"uid\": 0, \"umask\": 63, \"additionalGids\": [5, 7],", 1);
    let text = text.replacen("\"hard\": 1024", "\"hard\": 2048", 1);
    std::fs::write(&cfg, text).unwrap();
    let out = b.runsc(&["run", "--bundle", b.bundle().to_str().unwrap(), "r1"]);
    assert_eq!(out.status, 7, "{out:?}");
    assert_eq!(out.stdout_str(), "hello from runsc\n0\n0 5 7\n0077\n2048\n", "{out:?}");
    // run removes the container once it has exited.
    assert_eq!(b.runsc(&["list", "-q"]).stdout_str(), "");
}

/// Add a bind mount of `source` at `dest` with `options` to config.json.
fn add_bind(b: &Bundle, source: &Path, dest: &str, options: &str) {
    let path = b.bundle().join("config.json");
    let text = std::fs::read_to_string(&path).expect("config.json");
    let at = text.find("\"mounts\"").expect("mounts in config.json");
    let at = at + text[at..].find('[').expect("mounts list") + 1;
    let m = format!("{{\"destination\": {dest:?}, \"type\": \"bind\", \"source\": {:?}, \"options\": [{options}]}},", source.display().to_string());
    std::fs::write(&path, format!("{}{m}{}", &text[..at], &text[at..])).expect("write config.json");
}

#[test]
fn bind_mounts_write_through_to_the_host() {
    let script = "cat /data/f.txt; echo new > /data/new.txt; busybox mkdir /data/d; echo y > /data/d/y; \
                  busybox mv /data/f.txt /data/g.txt; busybox ln -s g.txt /data/l; echo more >> /data/l; \
                  busybox rm /data/gone; /data2/shared_map /data/m.bin; echo x > /ro/x";
    let Some(b) = Bundle::new("bind", &["sh", "-c", script]) else { return };
    let host = b.dir.join("host");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f.txt"), "host data\n").unwrap();
    std::fs::write(host.join("gone"), "").unwrap();
    let tools = b.dir.join("tools");
    tests::compile_c(&tools, "shared_map", include_str!("../c/shared_map.c"), &["-static"]);
    add_bind(&b, &host, "/data", "\"rbind\", \"rw\"");
    add_bind(&b, &tools, "/data2", "\"rbind\", \"ro\"");
    add_bind(&b, &tools, "/ro", "\"rbind\", \"ro\"");
    let out = b.runsc(&["run", "--bundle", b.bundle().to_str().unwrap(), "bind1"]);
    // Everything but the last command (a write to a read-only bind) worked.
    assert_eq!(out.status, 1, "{out:?}");
    assert!(out.stderr_str().contains("Read-only file system"), "{out:?}");
    assert_eq!(out.stdout_str(), "host data\npread sees: via mmap\nmapping sees: WRITE\n", "{out:?}");
    let read = |p: &str| std::fs::read(host.join(p)).unwrap_or_else(|e| panic!("{p} on the host: {e}"));
    assert_eq!(read("new.txt"), b"new\n");
    assert_eq!(read("d/y"), b"y\n");
    assert_eq!(read("g.txt"), b"host data\nmore\n");
    assert!(!host.join("f.txt").exists() && !host.join("gone").exists());
    assert_eq!(std::fs::read_link(host.join("l")).unwrap(), Path::new("g.txt"));
    let m = read("m.bin");
    assert_eq!((m.len(), &m[..8], &m[4096..4101]), (8192, &b"via mmap"[..], &b"WRITE"[..]));
    assert!(!tools.join("x").exists());
}

/// A writable bind mount of more files than the sentry and its gofers
/// have fds (256 each here): each file looked up kept its gofer fid (an
/// fd in the gofer) and each file read its host fd for good, and every
/// lookup past the limit failed with EMFILE. The files the sandbox holds
/// through all of it (an open file, its working directory, a file it
/// unlinked while open) keep working, and so do names it renamed.
#[test]
fn bind_mounts_of_more_files_than_the_sandbox_has_fds() {
    let script = "exec 3</data/d0/f0; rm /data/d0/f0; cd /data/d5; cat /data/*/* | wc -l; cat f1; \
                  busybox mv /data/d9 /data/moved; cat /data/*/* | wc -l; cat /data/moved/f1; cat <&3; \
                  busybox chmod 600 /data/d1/f1; busybox stat -c %a /data/d1/f1; cat f0; ls /data/d299";
    let Some(b) = Bundle::new("many", &["sh", "-c", script]) else { return };
    let host = b.dir.join("host");
    for d in 0..300 {
        std::fs::create_dir_all(host.join(format!("d{d}"))).unwrap();
        for f in 0..2 {
            std::fs::write(host.join(format!("d{d}/f{f}")), format!("{d}.{f}\n")).unwrap();
        }
    }
    add_bind(&b, &host, "/data", "\"rbind\", \"rw\"");
    let out = b.runsc_with(Some(256), &["run", "--bundle", b.bundle().to_str().unwrap(), "many1"]);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(out.stdout_str(), "599\n5.1\n599\n9.1\n0.0\n600\n5.0\nf0\nf1\n", "{out:?}");
    assert!(host.join("moved/f1").exists() && !host.join("d9").exists() && !host.join("d0/f0").exists());
}

/// Set linux.sysctl in config.json to `pairs`.
fn set_sysctls(b: &Bundle, pairs: &[(&str, &str)]) {
    let path = b.bundle().join("config.json");
    let mut text = std::fs::read_to_string(&path).expect("config.json");
    if let Some(old) = text.find("\"sysctl\": {") {
        let end = old + text[old..].find("},").expect("end of sysctl") + 2;
        text.replace_range(old..end, "");
    }
    let at = text.find("\"linux\"").expect("linux in config.json");
    let at = at + text[at..].find('{').expect("linux object") + 1;
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k:?}: {v:?}")).collect();
    std::fs::write(&path, format!("{}\"sysctl\": {{{}}},{}", &text[..at], body.join(", "), &text[at..])).expect("write config.json");
}

#[test]
fn sysctls_and_cgroupfs_are_the_sandboxs_own() {
    // /proc/sys is among the default spec's readonlyPaths, as runc's; the
    // spec's cgroup mount is the sandbox's cgroupfs.
    let script = "cat /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_local_port_range /proc/sys/kernel/domainname; \
                  cat /sys/fs/cgroup/pids.current /proc/self/cgroup; echo renamed > /proc/sys/kernel/hostname";
    let Some(b) = Bundle::new("sysctl", &["sh", "-c", script]) else { return };
    set_sysctls(&b, &[("kernel.shmmni", "8192"), ("net.ipv4.ip_local_port_range", "40000 50000"), ("kernel.domainname", "example.org")]);
    let out = b.runsc(&["run", "--bundle", b.bundle().to_str().unwrap(), "sysctl1"]);
    assert_eq!(out.status, 1, "{out:?}");
    assert_eq!(out.stdout_str(), "8192\n40000\t50000\nexample.org\n2\n0::/\n", "{out:?}");
    assert!(out.stderr_str().contains("Read-only file system"), "{out:?}");
    // Where /proc/sys is writable (runsc do), root sets a sysctl there,
    // and a malformed value is EINVAL.
    let script = "echo renamed > /proc/sys/kernel/hostname; hostname; echo 100 > /proc/sys/net/core/somaxconn; \
                  cat /proc/sys/net/core/somaxconn; echo 1 2 > /proc/sys/net/core/somaxconn || echo refused";
    let out = tests::run(&mut tests::sandboxed(&["sh", "-c", script]));
    assert_eq!(out.stdout_str(), "renamed\n100\nrefused\n", "{out:?}");
    // The host's values are untouched.
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap_or_default();
    assert_ne!(host.trim(), "8192");
    // One the sandbox lacks fails the container with one line.
    set_sysctls(&b, &[("kernel.no_such_thing", "1")]);
    let out = b.runsc(&["run", "--bundle", b.bundle().to_str().unwrap(), "sysctl2"]);
    assert_ne!(out.status, 0, "{out:?}");
    assert_eq!(out.stderr_lines().len(), 1, "{out:?}");
    assert!(out.stderr_str().contains("kernel.no_such_thing"), "{out:?}");
    assert_ne!(b.runsc(&["state", "sysctl2"]).status, 0, "nothing left behind");
}

#[test]
fn bad_input_gives_one_error_line_and_leaves_nothing() {
    let Some(b) = Bundle::new("bad", &["true"]) else { return };
    let bundle = b.bundle();
    let bundle = bundle.to_str().unwrap();
    let check = |out: &Outcome, want: &str| {
        assert_ne!(out.status, 0, "{out:?}");
        let err = out.stderr_str();
        assert_eq!(err.lines().count(), 1, "one error line: {out:?}");
        assert!(err.contains(want), "want {want:?}: {out:?}");
        assert_eq!(b.runsc(&["list", "-q"]).stdout_str(), "", "something was left behind");
    };
    check(&b.runsc(&["start", "nosuch"]), "does not exist");
    check(&b.runsc(&["kill", "nosuch", "KILL"]), "does not exist");
    check(&b.runsc(&["delete", "nosuch"]), "does not exist");
    check(&b.runsc(&["create", "--bundle", bundle, "bad/id"]), "invalid container id");
    let missing = b.dir.join("nowhere");
    check(&b.runsc(&["create", "--bundle", missing.to_str().unwrap(), "m1"]), "config.json");
    std::fs::write(b.bundle().join("config.json.good"), std::fs::read(b.bundle().join("config.json")).unwrap()).unwrap();
    std::fs::write(b.bundle().join("config.json"), "{ not json").unwrap();
    check(&b.runsc(&["create", "--bundle", bundle, "j1"]), "line 1");
    std::fs::rename(b.bundle().join("config.json.good"), b.bundle().join("config.json")).unwrap();
    std::fs::rename(b.bundle().join("rootfs"), b.bundle().join("rootfs.away")).unwrap();
    check(&b.runsc(&["create", "--bundle", bundle, "r1"]), "does not exist");
    std::fs::rename(b.bundle().join("rootfs.away"), b.bundle().join("rootfs")).unwrap();
    check(&b.runsc(&["kill", "x", "NOSIG"]), "invalid signal");
    // A duplicate id.
    assert_eq!(b.runsc(&["create", "--bundle", bundle, "d1"]).status, 0);
    let dup = b.runsc(&["create", "--bundle", bundle, "d1"]);
    assert_ne!(dup.status, 0);
    assert!(dup.stderr_str().contains("already exists"), "{dup:?}");
    assert_eq!(b.runsc(&["delete", "--force", "d1"]).status, 0);
}

/// podman with our runtime and no runtime flags (only the ulimits this
/// machine needs), on an image imported from a busybox rootfs, with its
/// own storage (vfs driver) in a temporary directory: run with output and
/// status; run -d, ps, stop, rm.
#[test]
fn podman_run_and_detached_lifecycle() {
    let Some(podman) = tests::find_in_path("podman") else {
        eprintln!("SKIP podman_run_and_detached_lifecycle: podman not found (apt-get install podman)");
        return;
    };
    let Some(b) = Bundle::new("podman", &["true"]) else { return };
    let store = b.dir.join("storage");
    let tar = b.dir.join("rootfs.tar");
    let ok = Command::new("tar").arg("cf").arg(&tar).arg("-C").arg(b.bundle().join("rootfs")).arg(".").status().expect("tar");
    assert!(ok.success());
    let runsc = runsc_path().to_string_lossy().into_owned();
    // podman's global flags: its own storage, and runsc as the runtime.
    let globals: Vec<String> = vec![
        "--root".into(),
        store.join("root").to_string_lossy().into_owned(),
        "--runroot".into(),
        store.join("run").to_string_lossy().into_owned(),
        "--storage-driver=vfs".into(),
        "--cgroup-manager=cgroupfs".into(),
        "--events-backend=file".into(),
        "--runtime".into(),
        runsc.clone(),
        format!("--runtime-flag=platform={}", platform()),
    ];
    let pod = |args: &[&str]| -> Outcome { tests::run(Command::new(&podman).args(&globals).args(args)) };
    // `podman ARGS` on a terminal (script(1)), typing "echo typed; exit
    // CODE" into it; None without script(1).
    let pod_tty = |args: &str, code: i32| -> Option<Outcome> {
        let script = tests::find_in_path("script")?;
        let line = format!(
            "printf 'echo typed; exit {code}\\n' | {} -qec '{} {} {args}' /dev/null",
            script.display(),
            podman.display(),
            globals.join(" ")
        );
        Some(tests::run(Command::new("sh").arg("-c").arg(&line)))
    };
    let img = "localhost/runsc-busybox-test:latest";
    let imp = pod(&["import", tar.to_str().unwrap(), img]);
    assert_eq!(imp.status, 0, "podman import: {imp:?}");
    let ul = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
    let mut args = vec!["run", "--rm"];
    args.extend(ul);
    args.extend([img, "sh", "-c", "echo hello from podman; exit 3"]);
    let out = pod(&args);
    assert_eq!(out.status, 3, "{out:?}");
    assert_eq!(out.stdout_str(), "hello from podman\n", "{out:?}");

    // podman's default network: loopback inside the sandbox (a listener
    // and a client over 127.0.0.1), the sandbox process in podman's
    // network namespace.
    let mut args = vec!["run", "--rm"];
    args.extend(ul);
    let script = tests::nc_loopback_script("/got");
    args.extend([img, "sh", "-c", &script]);
    let out = pod(&args);
    assert_eq!((out.status, out.stdout_str().as_str()), (0, "listener exit 0\nover loopback\n"), "{out:?}");

    // A host directory bind-mounted, and tmpfs from the command line.
    let host = b.dir.join("hostdir");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f.txt"), "host data\n").unwrap();
    let vol = format!("{}:/data", host.display());
    let mut args = vec!["run", "--rm"];
    args.extend(ul);
    args.extend(["-v", &vol, "--tmpfs", "/scratch:size=64k", img, "sh", "-c", "cat /data/f.txt; grep -c ' /scratch tmpfs ' /proc/mounts; cat /etc/hostname | wc -c; echo from the container > /data/out.txt"]);
    let out = pod(&args);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(std::fs::read_to_string(host.join("out.txt")).ok().as_deref(), Some("from the container\n"), "{out:?}");
    let lines: Vec<String> = out.stdout_str().lines().map(String::from).collect();
    assert_eq!(lines.first().map(String::as_str), Some("host data"), "{out:?}");
    assert_eq!(lines.get(1).map(String::as_str), Some("1"), "{out:?}");

    // The spec's capabilities: podman's default set, without SYS_ADMIN
    // (mount is refused), as runc shows it in /proc/self/status.
    let mut args = vec!["run", "--rm"];
    args.extend(ul);
    args.extend([img, "sh", "-c", "grep CapEff /proc/self/status; mount -t tmpfs none /tmp"]);
    let out = pod(&args);
    assert!(out.stdout_str().contains("CapEff:\t00000000800405fb"), "{out:?}");
    assert!(out.status != 0 && out.stderr_str().contains("permission denied"), "{out:?}");

    // The spec's readonlyPaths (podman lists /proc/sys among them).
    let mut args = vec!["run", "--rm"];
    args.extend(ul);
    args.extend([img, "sh", "-c", "echo x > /proc/sys/kernel/hostname"]);
    let out = pod(&args);
    assert!(out.status != 0 && out.stderr_str().contains("Read-only file system"), "{out:?}");

    // Resources enforced by the sentry: a memory limit (MemTotal shows it;
    // past it the process is killed, 137) and a pids limit (fork fails).
    let mut args = vec!["run", "--rm", "--memory=64m"];
    args.extend(ul);
    args.extend([img, "sh", "-c", "grep MemTotal /proc/meminfo; cat /sys/fs/cgroup/memory.max; x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"]);
    let out = pod(&args);
    assert_eq!(out.status, 137, "{out:?}");
    assert!(out.stdout_str().contains("65536 kB") && !out.stdout_str().contains("survived"), "{out:?}");
    // The cgroupfs podman mounts shows the limit.
    assert!(out.stdout_str().contains("\n67108864\n"), "{out:?}");
    let mut args = vec!["run", "--rm", "--pids-limit", "5"];
    args.extend(ul);
    args.extend([img, "sh", "-c", "cat /sys/fs/cgroup/pids.max; grep -c mqueue /proc/mounts; for i in 1 2 3 4 5 6 7; do sleep 1 & done; echo done"]);
    let out = pod(&args);
    assert!(out.status != 0 && out.stderr_str().contains("can't fork"), "{out:?}");
    assert!(out.stdout_str().starts_with("5\n1\n"), "podman mounts the mqueue fs: {out:?}");

    // run -it through a pty (script(1) gives podman its terminal).
    if let Some(out) = pod_tty(&format!("run --rm -it {} {img} sh", ul.join(" ")), 5) {
        assert_eq!(out.status, 5, "{out:?}");
        assert!(out.stdout_str().replace('\r', "").contains("\ntyped\n"), "{out:?}");
    } else {
        eprintln!("SKIP podman run -it: script(1) not found (apt-get install bsdutils)");
    }

    let mut args = vec!["run", "-d"];
    args.extend(ul);
    args.extend([img, "sleep", "100"]);
    let run = pod(&args);
    assert_eq!(run.status, 0, "podman run -d: {run:?}");
    let id = run.stdout_str().trim().to_string();
    let ps = pod(&["ps", "--format", "{{.ID}} {{.Status}}"]);
    assert!(ps.stdout_str().contains(&id[..12]) && ps.stdout_str().contains("Up"), "{ps:?}");
    let ex = pod(&["exec", &id, "sh", "-c", "echo in podman exec; exit 4"]);
    assert_eq!((ex.status, ex.stdout_str().as_str()), (4, "in podman exec\n"), "{ex:?}");
    // exec -it through a pty (conmon passes --tty --console-socket --detach).
    if let Some(out) = pod_tty(&format!("exec -it {id} sh"), 6) {
        assert_eq!(out.status, 6, "{out:?}");
        assert!(out.stdout_str().replace('\r', "").contains("\ntyped\n"), "{out:?}");
    }
    let stop = pod(&["stop", "-t", "2", &id]);
    assert_eq!(stop.status, 0, "{stop:?}");
    let ps = pod(&["ps", "-a", "--format", "{{.ID}} {{.Status}}"]);
    assert!(ps.stdout_str().contains("Exited (143)"), "{ps:?}");
    assert_eq!(pod(&["rm", &id]).status, 0);
    assert_eq!(pod(&["ps", "-a", "-q"]).stdout_str(), "");
    let _ = pod(&["rmi", "-f", img]);
}

/// A terminal container: create sends the pty's master to the console
/// socket (SCM_RIGHTS, as runc); init runs on the slave as its
/// controlling terminal; output comes with the tty's CR-LF; input is read.
#[test]
fn console_socket_receives_the_terminal() {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::io::{Read, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let Some(b) = Bundle::new("console", &["sh", "-c", "tty; echo hello; read x; echo got $x; exit 6"]) else { return };
    let cfg = b.bundle().join("config.json");
    let text = std::fs::read_to_string(&cfg).unwrap().replacen("\"terminal\": false", "\"terminal\": true", 1);
    assert!(text.contains("\"terminal\": true"), "no terminal field to set");
    std::fs::write(&cfg, text).unwrap();
    let sock = b.dir.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind console socket");
    let out = b.runsc(&["create", "--bundle", b.bundle().to_str().unwrap(), "--console-socket", sock.to_str().unwrap(), "t1"]);
    assert_eq!(out.status, 0, "create: {out:?}");
    let (conn, _) = listener.accept().expect("the sandbox connects");
    let mut buf = [0u8; 256];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty()).expect("recvmsg");
    let mut master = None;
    for c in msg.cmsgs().expect("cmsgs") {
        if let ControlMessageOwned::ScmRights(v) = c {
            // SAFETY: the kernel just gave us this fd.
            master = v.first().map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    let mut master = std::fs::File::from(master.expect("a terminal fd"));
    assert_eq!(b.runsc(&["start", "t1"]).status, 0);
    let mut seen = Vec::new();
    let read_until = |master: &mut std::fs::File, seen: &mut Vec<u8>, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !String::from_utf8_lossy(seen).contains(want) {
            assert!(Instant::now() < deadline, "no {want:?} on the terminal: {:?}", String::from_utf8_lossy(seen));
            let mut chunk = [0u8; 256];
            match master.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
            }
        }
    };
    read_until(&mut master, &mut seen, "hello\r\n");
    master.write_all(b"abc\n").unwrap();
    read_until(&mut master, &mut seen, "got abc\r\n");
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.starts_with("/dev/"), "tty names a terminal: {text:?}");
    let wait = b.runsc(&["wait", "t1"]);
    assert!(wait.stdout_str().contains("\"exitStatus\":6"), "{wait:?} {text:?}");
}

/// Hooks run on the host with the state on stdin: createRuntime,
/// createContainer, prestart and startContainer before init, poststart
/// after, poststop at delete; a failing createRuntime hook fails create
/// and leaves nothing.
#[test]
fn hooks_run_in_order_with_the_state() {
    let Some(b) = Bundle::new("hooks", &["sh", "-c", "exit 0"]) else { return };
    let log = b.dir.join("hooks.log");
    let hook = |stage: &str| {
        format!(
            r#"{{"path": "/bin/sh", "args": ["sh", "-c", "read -r s || true; case \"$s\" in *'\"id\"'*) echo {stage} >> {log};; esac"]}}"#,
            log = log.display()
        )
    };
    let stages = ["createRuntime", "createContainer", "prestart", "startContainer", "poststart", "poststop"];
    let hooks: Vec<String> = stages.iter().map(|s| format!("\"{s}\": [{}]", hook(s))).collect();
    let cfg = b.bundle().join("config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let good = text.replacen('{', &format!("{{\"hooks\": {{{}}},", hooks.join(",")), 1);
    std::fs::write(&cfg, &good).unwrap();
    let out = b.runsc(&["run", "--bundle", b.bundle().to_str().unwrap(), "h1"]);
    assert_eq!(out.status, 0, "{out:?}");
    let ran = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(ran.lines().collect::<Vec<_>>(), stages, "{out:?}");

    let failing = text.replacen('{', r#"{"hooks": {"createRuntime": [{"path": "/bin/false"}]},"#, 1);
    std::fs::write(&cfg, failing).unwrap();
    let out = b.runsc(&["create", "--bundle", b.bundle().to_str().unwrap(), "h2"]);
    assert_ne!(out.status, 0, "{out:?}");
    assert!(out.stderr_str().contains("hook"), "{out:?}");
    assert_eq!(b.runsc(&["list", "-q"]).stdout_str(), "", "a failed create left something");
}

/// containerd (the road to Kubernetes): a containerd of the test's own
/// (socket, root and state in a temporary directory), an image imported
/// from a busybox rootfs (through podman save), and `ctr run --runc-binary
/// runsc` with output and exit status, as the runc shim drives it.
#[test]
fn containerd_ctr_run() {
    let (Some(containerd), Some(ctr), Some(podman)) =
        (tests::find_in_path("containerd"), tests::find_in_path("ctr"), tests::find_in_path("podman"))
    else {
        eprintln!("SKIP containerd_ctr_run: containerd, ctr or podman not found (apt-get install containerd podman)");
        return;
    };
    let Some(b) = Bundle::new("containerd", &["true"]) else { return };
    let d = b.dir.join("containerd");
    std::fs::create_dir_all(&d).unwrap();
    let sock = d.join("containerd.sock");
    let config = format!(
        "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n[grpc]\n  address = \"{sock}\"\n",
        root = d.join("root").display(),
        state = d.join("state").display(),
        sock = sock.display()
    );
    std::fs::write(d.join("config.toml"), config).unwrap();
    let log = std::fs::File::create(d.join("log")).unwrap();
    let mut daemon = Command::new(containerd)
        .arg("--config")
        .arg(d.join("config.toml"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("containerd");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(std::mem::replace(&mut daemon, Command::new("true").spawn().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "containerd did not start: {}", std::fs::read_to_string(d.join("log")).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(50));
    }
    // The image: a busybox rootfs, imported into podman's own storage and
    // saved as a docker archive for ctr.
    // (podman refuses a runroot over 50 characters)
    let store = b.dir.join("p");
    let tar = d.join("rootfs.tar");
    let archive = d.join("image.tar");
    assert!(Command::new("tar").arg("cf").arg(&tar).arg("-C").arg(b.bundle().join("rootfs")).arg(".").status().unwrap().success());
    let pod = |args: &[&str]| {
        let mut c = Command::new(&podman);
        c.arg("--root")
            .arg(store.join("root"))
            .arg("--runroot")
            .arg(store.join("run"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .args(args);
        tests::run(&mut c)
    };
    let img = "localhost/runsc-ctr-test:latest";
    let imported = pod(&["import", tar.to_str().unwrap(), img]);
    assert_eq!(imported.status, 0, "{imported:?}");
    let saved = pod(&["save", "--format", "docker-archive", "-o", archive.to_str().unwrap(), img]);
    assert_eq!(saved.status, 0, "{saved:?}");
    let ctr_cmd = |args: &[&str]| {
        let mut c = Command::new(&ctr);
        c.arg("-a").arg(&sock).args(["-n", "runsc-test"]).args(args);
        tests::run(&mut c)
    };
    let imp = ctr_cmd(&["image", "import", archive.to_str().unwrap()]);
    assert_eq!(imp.status, 0, "{imp:?}");
    let runsc = runsc_path().to_string_lossy().into_owned();
    // (ctr passes no runtime flags: this runs on the default platform.)
    let out = ctr_cmd(&["run", "--rm", "--runc-binary", &runsc, img, "ctr1", "sh", "-c", "echo hello from containerd; exit 4"]);
    assert_eq!(out.status, 4, "{out:?}");
    assert_eq!(out.stdout_str(), "hello from containerd\n", "{out:?}");
    let left = ctr_cmd(&["container", "ls", "-q"]);
    assert_eq!(left.stdout_str(), "", "{left:?}");
    let _ = pod(&["rmi", "-f", img]);
}
