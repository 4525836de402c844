//! Docker with runsc as a runtime (issue 8): a private dockerd (its data,
//! exec root and socket in a temporary directory, its daemon.json written
//! by `runsc install --config-file`), a busybox image made with `docker
//! import`, and the docker CLI's commands as a user types them. The daemon
//! and everything it started are stopped and removed at the end.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::{platform, runsc_path, Outcome};

/// A dockerd of the test's own; stopped, and its directory removed, on drop.
struct Daemon {
    dir: PathBuf,
    child: std::process::Child,
    docker: PathBuf,
}

impl Daemon {
    fn start(dockerd: &Path, docker: PathBuf) -> Daemon {
        // Short: unix socket paths beneath it must fit in 108 bytes.
        let dir = PathBuf::from(format!("/tmp/rd{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("daemon.json");
        // Another key, which install must keep.
        std::fs::write(&config, "{\"log-level\": \"warn\"}\n").unwrap();
        let plat = format!("--platform={}", platform());
        let inst = tests::run(Command::new(runsc_path()).args(["install", "--config-file"]).arg(&config).args(["--runtime", "runsc-test", "--", &plat]));
        assert_eq!(inst.status, 0, "runsc install: {inst:?}");
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(text.contains("\"log-level\": \"warn\"") && text.contains("runsc-test") && text.contains(&plat), "{text}");
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new(dockerd)
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .args(["--iptables=false", "--bridge=none", "--config-file"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd");
        let d = Daemon { dir, child, docker };
        let deadline = Instant::now() + Duration::from_secs(60);
        while d.docker(&["info"]).status != 0 {
            assert!(Instant::now() < deadline, "dockerd did not start: {}", d.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.docker);
        c.arg("-H").arg(format!("unix://{}", self.dir.join("docker.sock").display()));
        c
    }

    fn docker(&self, args: &[&str]) -> Outcome {
        tests::run(self.cmd().args(args))
    }

    /// `docker run --rm --runtime=runsc-test ARGS`.
    fn run(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["run", "--rm", "--runtime=runsc-test"];
        all.extend(args);
        self.docker(&all)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let ids = self.docker(&["ps", "-aq"]).stdout_str();
        for id in ids.split_whitespace() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A containerd shim outlives its daemon (it was seen once): stop
        // whatever still names the directory.
        for pid in pids_with(&self.dir.to_string_lossy()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        // Mounts the daemon left (overlay layers, its exec root).
        let prefix = self.dir.to_string_lossy().into_owned();
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut points: Vec<&str> = mounts.lines().filter_map(|l| l.split(' ').nth(1)).filter(|p| p.starts_with(&prefix)).collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = Command::new("umount").arg("-l").arg(p).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Host processes whose command line mentions `needle`: pid and command
/// line.
fn processes_matching(needle: &str) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse().ok()) else { continue };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let s = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if s.contains(needle) && !s.contains("cargo") {
            out.push((pid, s));
        }
    }
    out
}

/// Command lines of the host processes that mention `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    processes_matching(needle).into_iter().map(|p| p.1).collect()
}

/// Pids of the host processes that mention `needle` (not this one).
fn pids_with(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    processes_matching(needle).into_iter().map(|p| p.0).filter(|&p| p != me).collect()
}

#[test]
fn docker_cli_end_to_end() {
    let Some(dockerd) = tests::find_in_path("dockerd") else {
        eprintln!("SKIP docker_cli_end_to_end: dockerd not found (apt-get install docker.io)");
        return;
    };
    // The CLI that came with the daemon (a newer one elsewhere in PATH may
    // not speak its API version).
    let docker = [PathBuf::from("/usr/bin/docker")].into_iter().find(|p| p.is_file()).or_else(|| tests::find_in_path("docker"));
    let Some(docker) = docker else {
        eprintln!("SKIP docker_cli_end_to_end: docker not found (apt-get install docker.io)");
        return;
    };
    let busybox = Path::new("/bin/busybox");
    if !busybox.is_file() {
        eprintln!("SKIP docker_cli_end_to_end: /bin/busybox not found (apt-get install busybox-static)");
        return;
    }
    // Docker configures a container's network through its process's
    // namespace: the sandbox's must not be the host's (it once was, and
    // Docker turned the host's IPv6 off).
    let ipv6 = || std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6").unwrap_or_default();
    let ipv6_before = ipv6();
    let d = Daemon::start(&dockerd, docker);
    // The image: busybox with its applets linked.
    let rootfs = d.dir.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    for a in ["sh", "echo", "cat", "ls", "sleep", "id", "pwd", "head", "tr", "true", "nc"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    let tar = d.dir.join("rootfs.tar");
    assert!(Command::new("tar").arg("cf").arg(&tar).arg("-C").arg(&rootfs).arg(".").status().unwrap().success());
    let img = "runsc-docker-test";
    let imp = d.docker(&["import", tar.to_str().unwrap(), img]);
    assert_eq!(imp.status, 0, "docker import: {imp:?}");

    // run: output and exit status.
    let out = d.run(&[img, "sh", "-c", "echo hello from docker; exit 3"]);
    assert_eq!((out.status, out.stdout_str().as_str()), (3, "hello from docker\n"), "{out:?}");

    // -e, -w (made when missing, as runc does), -u.
    let out = d.run(&["-e", "FOO=bar", "-w", "/work/dir", "-u", "1000:1000", img, "sh", "-c", "echo $FOO; pwd; id -u; id -g"]);
    assert_eq!(out.stdout_str(), "bar\n/work/dir\n1000\n1000\n", "{out:?}");

    // -v HOSTDIR:/data, read and written.
    let host = d.dir.join("hostdir");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("in.txt"), "from the host\n").unwrap();
    let vol = format!("{}:/data", host.display());
    let out = d.run(&["-v", &vol, img, "sh", "-c", "cat /data/in.txt; echo from the container > /data/out.txt"]);
    assert_eq!((out.status, out.stdout_str().as_str()), (0, "from the host\n"), "{out:?}");
    assert_eq!(std::fs::read_to_string(host.join("out.txt")).unwrap_or_default(), "from the container\n");

    // --read-only and --tmpfs.
    let out = d.run(&["--read-only", "--tmpfs", "/scratch", img, "sh", "-c", "echo t > /scratch/f && cat /scratch/f; echo x > /f"]);
    assert!(out.status != 0 && out.stdout_str() == "t\n" && out.stderr_str().contains("Read-only file system"), "{out:?}");

    // --network=none and the daemon's default network: loopback inside
    // the sandbox either way (a listener and a client over 127.0.0.1).
    for net in ["--network=none", "--network=default"] {
        let script = tests::nc_loopback_script("/got");
        let out = d.run(&[net, img, "sh", "-c", &script]);
        assert_eq!((out.status, out.stdout_str().as_str()), (0, "listener exit 0\nover loopback\n"), "{net}: {out:?}");
    }

    // --memory, enforced by the sentry (the process is killed: 137), and
    // --pids-limit (fork fails).
    let out = d.run(&["--memory=64m", img, "sh", "-c", "cat /sys/fs/cgroup/memory.max; x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"]);
    assert_eq!(out.status, 137, "{out:?}");
    assert_eq!(out.stdout_str(), "67108864\n", "{out:?}");
    let out = d.run(&["--pids-limit", "5", img, "sh", "-c", "for i in 1 2 3 4 5 6; do sleep 1 & done; echo done"]);
    assert!(out.status != 0 && out.stderr_str().contains("can't fork"), "{out:?}");

    // run -d, then exec, logs, top, stats, stop; kill; rm -f.
    let id = d.docker(&["run", "-d", "--runtime=runsc-test", img, "sh", "-c", "echo started; while true; do sleep 1; done"]);
    assert_eq!(id.status, 0, "{id:?}");
    let id = id.stdout_str().trim().to_string();
    let ex = d.docker(&["exec", &id, "sh", "-c", "echo in exec; exit 4"]);
    assert_eq!((ex.status, ex.stdout_str().as_str()), (4, "in exec\n"), "{ex:?}");
    let ex = d.docker(&["exec", "-w", "/nonexistent", &id, "true"]);
    assert!(ex.status != 0 && ex.stderr_str().contains("no such file or directory"), "{ex:?}");
    let logs = d.docker(&["logs", &id]);
    assert_eq!(logs.stdout_str(), "started\n", "{logs:?}");
    // top and stats: the sandbox's host processes, from its cgroup.
    let top = d.docker(&["top", &id]);
    assert!(top.status == 0 && top.stdout_str().contains("runsc") && top.stdout_str().contains(" boot "), "{top:?}");
    let pid = d.docker(&["inspect", "-f", "{{.State.Pid}}", &id]).stdout_str().trim().to_string();
    let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/net")).map(|l| l.display().to_string()).unwrap_or_default();
    assert_ne!(ns(&pid), ns("self"), "the sandbox process is in a network namespace of its own");
    let stats = d.docker(&["stats", "--no-stream", "--format", "{{.Container}} {{.PIDs}}", &id]);
    let pids: u32 = stats.stdout_str().split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    assert!(stats.status == 0 && pids > 0, "{stats:?}");
    let stop = d.docker(&["stop", "-t", "2", &id]);
    assert_eq!(stop.status, 0, "{stop:?}");
    let st = d.docker(&["inspect", "-f", "{{.State.ExitCode}}", &id]);
    assert_eq!(st.stdout_str().trim(), "143", "{st:?}");
    let start = d.docker(&["start", &id]);
    assert_eq!(start.status, 0, "docker start of a stopped container: {start:?}");
    let kill = d.docker(&["kill", &id]);
    assert_eq!(kill.status, 0, "{kill:?}");
    let st = d.docker(&["wait", &id]);
    assert_eq!(st.stdout_str().trim(), "137", "{st:?}");
    let id2 = d.docker(&["run", "-d", "--runtime=runsc-test", img, "sleep", "100"]).stdout_str().trim().to_string();
    let rm = d.docker(&["rm", "-f", &id, &id2]);
    assert_eq!(rm.status, 0, "{rm:?}");

    // run -it through a pty (script(1) types into it).
    if let Some(script) = tests::find_in_path("script") {
        let line = format!(
            "printf 'echo typed; exit 5\\n' | {} -qec '{} -H unix://{} run -it --rm --runtime=runsc-test {img} sh' /dev/null",
            script.display(),
            d.docker.display(),
            d.dir.join("docker.sock").display()
        );
        let out = tests::run(Command::new("sh").arg("-c").arg(&line));
        assert_eq!(out.status, 5, "{out:?}");
        assert!(out.stdout_str().contains("typed"), "{out:?}");
    }

    // Bad input: an unknown runtime, an entrypoint that does not exist.
    let out = d.docker(&["run", "--rm", "--runtime=nosuch", img, "true"]);
    assert!(out.status != 0 && out.stderr_str().contains("nosuch"), "{out:?}");
    let out = d.run(&[img, "/nonexistent"]);
    assert_eq!(out.status, 127, "{out:?}");
    assert!(out.stderr_str().contains("\"/nonexistent\": stat /nonexistent: no such file or directory"), "{out:?}");
    assert_eq!(out.stderr_lines().iter().filter(|l| l.contains("docker: Error response")).count(), 1, "{out:?}");

    // Nothing is left: no container, no sandbox process.
    let ps = d.docker(&["ps", "-aq"]);
    assert_eq!(ps.stdout_str(), "", "{ps:?}");
    let left = processes_with(&format!("{}/exec", d.dir.display()));
    let sandboxes: Vec<&String> = left.iter().filter(|p| p.contains(" boot ")).collect();
    assert!(sandboxes.is_empty(), "sandboxes left: {sandboxes:?}");

    assert_eq!(ipv6(), ipv6_before, "the host's network settings are untouched");

    // uninstall takes the runtime out again, keeping the rest; a file that
    // is not JSON is refused and left as it was.
    let config = d.dir.join("daemon.json");
    let un = tests::run(Command::new(runsc_path()).args(["uninstall", "--config-file"]).arg(&config).args(["--runtime", "runsc-test"]));
    assert_eq!(un.status, 0, "{un:?}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("log-level") && !text.contains("runsc-test"), "{text}");
    std::fs::write(&config, "{ broken").unwrap();
    let bad = tests::run(Command::new(runsc_path()).args(["install", "--config-file"]).arg(&config));
    assert!(bad.status != 0 && bad.stderr_lines().len() == 1 && bad.stderr_str().contains("not valid JSON"), "{bad:?}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "{ broken");
}
