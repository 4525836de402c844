//! Real interpreters and toolchains through the sandbox, compared with the
//! same command run natively (issue 4's list): bash job control and traps,
//! python3 subprocess/threading/multiprocessing/asyncio/socketpair, perl
//! fork, sqlite3, gcc, make, git, node, timeout(1), xargs -P, ps -ef, top,
//! pgrep and job specs (`kill %1`); and from issue 5, sqlite3 in WAL mode
//! from two processes and flock(1). Files: git clone/gc/fsck with fixed
//! hashes, cp/cmp/sha256sum of large binaries, and file-heavy reads and the
//! tar round trip both with directfs (the default) and `--directfs=false`
//! (every file operation a gofer message).

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tests::{assert_outcomes_equal, assert_same, native, require_tool, run, runsc_command, sandboxed};

fn sh(script: &str) {
    assert_same(&["sh", "-c", script]);
}

#[test]
fn bash_functions_traps_and_wait() {
    assert_same(&[
        "bash",
        "-c",
        r#"f(){ echo "f$1"; }; f 1; trap 'echo trapped' USR1; kill -USR1 $$; sleep 0.1 & wait $!; echo "waited $?"; (exit 3); echo $?"#,
    ]);
}

#[test]
fn bash_background_jobs_and_kill() {
    assert_same(&["bash", "-c", "sleep 5 & pid=$!; kill -TERM $pid; wait $pid; echo status $?"]);
}

const PY: &str = "/usr/bin/python3";

#[test]
fn python_subprocess_threading_asyncio() {
    if !require_tool("python_subprocess_threading_asyncio", PY, "apt-get install python3") {
        return;
    }
    assert_same(&[
        PY,
        "-c",
        r#"
import subprocess, threading, asyncio, socket
print(subprocess.run(["echo", "sub"], capture_output=True).stdout)
out = []
ts = [threading.Thread(target=out.append, args=(i,)) for i in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print(sorted(out))
async def main():
    await asyncio.sleep(0.01)
    return "aio"
print(asyncio.run(main()))
a, b = socket.socketpair(); a.sendall(b"pair"); print(b.recv(4))
"#,
    ]);
}

#[test]
fn python_multiprocessing_pool() {
    if !require_tool("python_multiprocessing_pool", PY, "apt-get install python3") {
        return;
    }
    assert_same(&[PY, "-c", "import multiprocessing as m\nwith m.Pool(2) as p: print(p.map(abs, [-1, -2, -3]))"]);
}

#[test]
fn perl_fork_waitpid() {
    if !require_tool("perl_fork_waitpid", "perl", "apt-get install perl") {
        return;
    }
    assert_same(&["perl", "-e", r#"my $p = fork; if (!$p) { exit 3 } waitpid($p, 0); print $? >> 8, "\n""#]);
}

#[test]
fn sqlite3_in_memory() {
    if !require_tool("sqlite3_in_memory", "sqlite3", "apt-get install sqlite3") {
        return;
    }
    assert_same(&["sqlite3", ":memory:", "create table t(a); insert into t values(1),(2),(3); select sum(a), count(*) from t;"]);
}

/// Two processes writing one database file in WAL mode: fcntl record
/// locks and a MAP_SHARED mapping of the -shm file, shared between them.
/// (It once failed one run in eight: two processes creating the WAL at
/// once each got a file of their own, until the overlay's create checked
/// and inserted the name under one lock.)
#[test]
fn sqlite3_wal_two_writers() {
    if !require_tool("sqlite3_wal_two_writers", "sqlite3", "apt-get install sqlite3") {
        return;
    }
    sh(r#"d=/tmp/runsc-wal-$$; mkdir -p $d && cd $d && sqlite3 db "PRAGMA journal_mode=WAL; CREATE TABLE t(x);" >/dev/null &&
for p in 1 2; do ( for i in $(seq 1 25); do sqlite3 -cmd ".timeout 10000" db "INSERT INTO t VALUES($p$i);" || echo fail; done ) & done; wait;
sqlite3 db "SELECT count(*), sum(x > 200) FROM t; PRAGMA integrity_check;"; cd /; rm -rf $d"#);
}

/// A named pipe between two processes (mkfifo), and du/find over a
/// directory of 600 files made inside the sandbox.
#[test]
fn mkfifo_du_find() {
    sh(r#"d=/tmp/runsc-fifo-$$; mkdir -p $d && cd $d && mkfifo p && (echo through the fifo > p &) && cat p;
i=0; while [ $i -lt 600 ]; do echo $i > f$i; i=$((i+1)); done; find . -type f | wc -l; find . -type p; du -b f599 f42; cd /; rm -rf $d"#);
}

/// python3's shutil.copy2 (copystat copies extended attributes) and
/// copytree, and os.scandir, on files made inside the sandbox.
#[test]
fn python3_shutil_copytree_scandir() {
    assert_same(&[
        "/usr/bin/python3",
        "-c",
        r#"import os, shutil, tempfile
d = tempfile.mkdtemp()
os.makedirs(d + "/src/a/b")
for i, p in enumerate(["src/x", "src/a/y", "src/a/b/z"]):
    open(os.path.join(d, p), "w").write(str(i) * (i + 1))
os.setxattr(d + "/src/x", "user.note", b"kept")
shutil.copy2(d + "/src/x", d + "/copy")
print(os.getxattr(d + "/copy", "user.note"))
shutil.copytree(d + "/src", d + "/dst")
for root, dirs, files in sorted(os.walk(d + "/dst")):
    print(os.path.relpath(root, d), sorted(dirs), sorted(files))
print(sorted((e.name, e.is_dir()) for e in os.scandir(d + "/dst")))
shutil.rmtree(d)"#,
    ]);
}

/// `runsc [flags] do argv...`: like `sandboxed`, with global flags such
/// as `--directfs=false` before `do`.
fn sandboxed_with<S: AsRef<std::ffi::OsStr>>(flags: &[&str], argv: &[S]) -> Command {
    let mut cmd = runsc_command();
    cmd.args(flags).arg("do").args(argv);
    cmd
}

/// A tar round trip of /usr/include through a pipe, compared with diff -r,
/// and nothing of it (or of any other write) reaching the host.
#[test]
fn tar_round_trip_stays_in_the_sandbox() {
    tar_round_trip("default", &[]);
}

/// The same through the gofer: every lookup, open and read of the lower
/// layer a gofer message.
#[test]
fn tar_round_trip_without_directfs() {
    tar_round_trip("gofer", &["--directfs=false"]);
}

fn tar_round_trip(tag: &str, flags: &[&str]) {
    let pid = std::process::id();
    let dir = format!("/tmp/runsc-tar-{tag}-{pid}");
    let written = format!("/tmp/runsc-written-{tag}-{pid}");
    let script = format!(
        "mkdir -p {dir} && cd {dir} && tar cf - -C /usr include | tar xf - && diff -r /usr/include {dir}/include && echo same; echo x > {written}; ls {dir}"
    );
    let out = run(&mut sandboxed_with(flags, &["sh", "-c", &script]));
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(out.stdout_str(), "same\ninclude\n", "{out:?}");
    assert!(!Path::new(&dir).exists(), "{dir} appeared on the host");
    assert!(!Path::new(&written).exists(), "a write reached the host");
}

/// Reads of many small files: the first 500 headers in find's (readdir)
/// order and in sorted order, concatenated and hashed; `ls -lR` of a big
/// directory; every entry's type, mode, link count, size, mtime (to the
/// nanosecond) and link target; du's apparent size and blocks. Run natively,
/// in the sandbox with directfs (the default) and with `--directfs=false`.
const FILE_HEAVY_SCRIPT: &str = r#"find /usr/include -name '*.h' | head -500 | xargs cat | sha256sum
find /usr/include -name '*.h' | LC_ALL=C sort | head -500 | xargs cat | sha256sum
ls -lR /usr/include/linux | sha256sum
find /usr/include -printf '%y %m %n %s %T@ %P -> %l\n' | LC_ALL=C sort | sha256sum
du -s --apparent-size /usr/include; du -s /usr/include"#;

#[test]
fn file_heavy_reads_with_and_without_directfs() {
    if !Path::new("/usr/include/linux").is_dir() {
        eprintln!("SKIP file_heavy_reads_with_and_without_directfs: no /usr/include/linux (apt-get install linux-libc-dev)");
        return;
    }
    let argv = ["sh", "-c", FILE_HEAVY_SCRIPT];
    let host = run(&mut native(&argv));
    assert_eq!(host.status, 0, "natively: {host:?}");
    assert_eq!(host.stdout_str().lines().count(), 6, "natively: {host:?}");
    let direct = run(&mut sandboxed(&argv));
    assert_outcomes_equal(&host, &direct);
    let gofer = run(&mut sandboxed_with(&["--directfs=false"], &argv));
    assert_outcomes_equal(&host, &gofer);
}

/// The `n` largest regular files under `roots` of `min..=max` bytes that
/// can be opened, largest first: symlinks are not followed and a file
/// with several hard links counts once.
fn largest_files(roots: &[&str], n: usize, min: u64, max: u64) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut dirs: Vec<PathBuf> = roots.iter().map(PathBuf::from).collect();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            // DirEntry::metadata does not follow symlinks.
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                dirs.push(entry.path());
            } else if meta.is_file() && (min..=max).contains(&meta.len()) && seen.insert((meta.dev(), meta.ino())) {
                found.push((meta.len(), entry.path()));
            }
        }
    }
    found.sort_by(|a, b| b.cmp(a));
    found
        .into_iter()
        .map(|(_, path)| path)
        .filter(|path| std::fs::File::open(path).is_ok())
        .take(n)
        .collect()
}

/// Copies each file given after the directory into it under its number,
/// cmp's it with the original, `cp -p`s the first and shows that mode,
/// owner and mtime are kept, then hashes the copies. With an empty
/// directory argument (the native run) it works in a mktemp -d directory
/// and removes it; the sandboxed run leaves its directory behind, which
/// must then not be on the host.
const CP_SCRIPT: &str = r#"set -e
d=$1; shift
if [ -z "$d" ]; then d=$(mktemp -d /tmp/runsc-cp-XXXXXX); trap 'rm -rf "$d"' EXIT; else mkdir "$d"; fi
i=0
for f in "$@"; do i=$((i+1)); cp "$f" "$d/$i"; cmp "$f" "$d/$i"; echo "$i copied, cmp $?"; done
cp -p "$1" "$d/p"; cmp "$1" "$d/p"
stat -c '%a %u %g %Y' "$1" "$d/p"
cd "$d"; sha256sum $(seq 1 $i) p"#;

/// The five largest files of 1 to 64 MiB under /usr/bin and /usr/lib
/// (the cap keeps the memory layer and the run time small) copied into
/// the sandbox's memory layer, compared, `cp -p`'d and hashed, as natively.
#[test]
fn cp_cmp_large_files_stays_in_the_sandbox() {
    const TEST: &str = "cp_cmp_large_files_stays_in_the_sandbox";
    if !require_tool(TEST, "cmp", "apt-get install diffutils") || !require_tool(TEST, "sha256sum", "apt-get install coreutils") {
        return;
    }
    let files = largest_files(&["/usr/bin", "/usr/lib"], 5, 1 << 20, 64 << 20);
    if files.is_empty() {
        eprintln!("SKIP {TEST}: no readable regular file of 1 to 64 MiB under /usr/bin or /usr/lib");
        return;
    }
    let dir = format!("/tmp/runsc-cpdir-{}", std::process::id());
    assert!(!Path::new(&dir).exists(), "{dir} is already on the host; remove it");
    let argv = |d: &str| -> Vec<OsString> {
        ["sh", "-c", CP_SCRIPT, "sh", d]
            .into_iter()
            .map(OsString::from)
            .chain(files.iter().map(|f| f.clone().into_os_string()))
            .collect()
    };
    let host = run(&mut native(&argv("")[..]));
    assert_eq!(host.status, 0, "natively: {host:?}");
    assert!(host.stdout_str().contains(&format!("{} copied, cmp 0\n", files.len())), "natively: {host:?}");
    let sandbox = run(&mut sandboxed(&argv(&dir)[..]));
    assert_outcomes_equal(&host, &sandbox);
    assert!(!Path::new(&dir).exists(), "{dir}, written in the sandbox, appeared on the host");
}

/// flock(1): a lock held by one process, refused to another, then free.
#[test]
fn flock_utility() {
    if !require_tool("flock_utility", "flock", "apt-get install util-linux") {
        return;
    }
    // The holder keeps the lock until the second try is over (markers,
    // not sleeps: under load a 0.2 s head start was not always enough).
    sh(r#"f=/tmp/runsc-flock-$$; ( flock -n 9 && echo got; touch $f.held; while [ ! -e $f.done ]; do sleep 0.05; done ) 9>$f & while [ ! -e $f.held ]; do sleep 0.05; done; flock -n $f -c 'echo second'; echo "busy $?"; touch $f.done; wait; flock -n $f -c 'echo free'; rm -f $f $f.held $f.done"#);
}

#[test]
fn gcc_compiles_and_runs_inside() {
    if !require_tool("gcc_compiles_and_runs_inside", "gcc", "apt-get install gcc") {
        return;
    }
    // Paths in /tmp: inside the sandbox they live in its memory layer.
    sh("d=/tmp/runsc-gcc-$$; mkdir -p $d && printf 'int main(){return 7;}' > $d/t.c && gcc -o $d/t $d/t.c && $d/t; echo $?; rm -rf $d");
}

#[test]
fn make_runs_a_rule() {
    if !require_tool("make_runs_a_rule", "make", "apt-get install make") {
        return;
    }
    sh("d=/tmp/runsc-make-$$; mkdir -p $d && printf 'all: a\\n\\techo built $$<\\na:\\n\\ttouch a\\n' > $d/Makefile && make -s -C $d; rm -rf $d");
}

#[test]
fn git_init_add_commit_log() {
    if !require_tool("git_init_add_commit_log", "git", "apt-get install git") {
        return;
    }
    sh("d=/tmp/runsc-git-$$; git init -q $d && cd $d && echo a > a && git add a && git -c user.name=t -c user.email=t@e commit -qm first && echo b >> a && git -c user.name=t -c user.email=t@e commit -qam second && git log --format=%s; rm -rf $d");
}

/// A repository made, cloned (a local clone hardlinks the objects),
/// committed to in the clone, gc'ed (loose objects packed and deleted) and
/// fsck'ed. Fixed author, committer, dates and no global or system config
/// make every hash deterministic, so it is compared with the native run.
const GIT_CLONE_SCRIPT: &str = r#"set -e
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_DATE='2001-02-03T04:05:06+0000' GIT_COMMITTER_DATE='2001-02-03T04:05:06+0000'
d=$(mktemp -d /tmp/runsc-git-clone-XXXXXX); cd $d
git init -q -b main src; cd src
git config user.name Tester; git config user.email tester@example.com
mkdir -p sub/deep; echo one > a; printf 'two\n' > sub/b; seq 1 2000 > sub/deep/nums; ln -s a link; printf '#!/bin/sh\n' > run.sh; chmod +x run.sh
git add .; git commit -q -m first
cd ..; git clone -q src dst; cd dst
git config user.name Tester; git config user.email tester@example.com
echo three >> a; git rm -q sub/b; seq 5 3000 > sub/deep/nums; echo new > c; git add -A; git commit -q -m second
git gc -q; git fsck --strict --no-progress
git log --oneline | wc -l
git log --format='%H %s'
git rev-parse HEAD^{tree} HEAD main~1
git count-objects -v | grep -E '^(count|size|in-pack|packs|prune-packable|garbage):'
git status --porcelain | wc -l
git -C ../src rev-parse HEAD
cd /; rm -rf $d"#;

#[test]
fn git_clone_commit_gc_fsck() {
    if !require_tool("git_clone_commit_gc_fsck", "git", "apt-get install git") {
        return;
    }
    let (host, _) = assert_same(&["sh", "-c", GIT_CLONE_SCRIPT]);
    let out = host.stdout_str();
    assert_eq!(host.status, 0, "natively: {host:?}");
    assert!(out.starts_with("2\n") && out.contains("count: 0\n") && out.contains("packs: 1\n"), "natively: {out}");
}

#[test]
fn node_timers_promises_child_process() {
    if !require_tool("node_timers_promises_child_process", "node", "apt-get install nodejs") {
        return;
    }
    assert_same(&[
        "node",
        "-e",
        r#"const cp = require("child_process");
Promise.resolve(1).then(v => console.log("promise", v));
cp.exec("echo child", (e, o) => { console.log(o.trim()); setTimeout(() => console.log("timer"), 10); });
require("fs").writeFileSync("/tmp/runsc-node-" + process.pid, "x"); console.log(require("fs").readFileSync("/tmp/runsc-node-" + process.pid, "utf8"));
require("fs").unlinkSync("/tmp/runsc-node-" + process.pid);"#,
    ]);
}

#[test]
fn timeout_kills_after_its_limit() {
    sh("timeout 0.2 sleep 5; echo $?");
}

#[test]
fn xargs_parallel() {
    sh("seq 12 | xargs -P 4 -n 1 echo | sort -n | tr '\\n' ' '");
}

/// ps inside shows the sandbox's own processes with the sandbox's pids:
/// pid 1 is the command itself (this differs from native by design).
#[test]
fn ps_shows_the_sandbox_processes() {
    if !require_tool("ps_shows_the_sandbox_processes", "ps", "apt-get install procps") {
        return;
    }
    let out = run(&mut sandboxed(&["sh", "-c", "ps -e -o pid=,ppid=,comm= | sort -n"]));
    assert_eq!(out.status, 0, "stderr: {}", out.stderr_str());
    let lines: Vec<String> = out.stdout_str().lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(lines.first().map(String::as_str), Some("1 0 sh"), "{lines:?}");
    assert!(lines.iter().any(|l| l.ends_with(" 1 ps")), "{lines:?}");
}

/// `ps -ef`, `top -b -n 1` and `pgrep` inside see the sandbox's own
/// processes by the sandbox's pids.
#[test]
fn ps_ef_top_and_pgrep_inside() {
    if !require_tool("ps_ef_top_and_pgrep_inside", "top", "apt-get install procps") {
        return;
    }
    let script = "sleep 3 & ps -ef; echo ---; top -b -n 1; echo ---; pgrep -l sleep; echo rc $?; kill $!";
    let out = run(&mut sandboxed(&["sh", "-c", script]));
    assert_eq!(out.status, 0, "stderr: {}", out.stderr_str());
    let text = out.stdout_str();
    let parts: Vec<&str> = text.split("---\n").collect();
    assert_eq!(parts.len(), 3, "{text}");
    let ps: Vec<Vec<&str>> = parts[0].lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(ps[0][..3], ["UID", "PID", "PPID"], "{text}");
    assert!(ps.iter().any(|f| f[1] == "1" && f[2] == "0" && f[7..].join(" ").starts_with("sh -c sleep 3")), "{text}");
    assert!(ps.iter().any(|f| f[2] == "1" && f[7..] == ["sleep", "3"]), "{text}");
    assert!(ps.iter().any(|f| f[2] == "1" && f[7..] == ["ps", "-ef"]), "{text}");
    let top = parts[1];
    assert!(top.lines().any(|l| l.starts_with("Tasks:")), "{top}");
    assert!(top.lines().any(|l| l.split_whitespace().next() == Some("1") && l.ends_with(" sh")), "{top}");
    assert!(top.lines().any(|l| l.ends_with(" top")), "{top}");
    let sleep_pid = ps.iter().find(|f| f[7..] == ["sleep", "3"]).map(|f| f[1]).unwrap_or("?");
    assert_eq!(parts[2], format!("{sleep_pid} sleep\nrc 0\n"), "{text}");
}

/// Job control from a script: `kill %1` and `wait`, as natively.
#[test]
fn bash_kill_job_spec() {
    assert_same(&["bash", "-c", "set -m; sleep 5 & sleep 0.2; kill %1; sleep 0.3; wait; echo status $?; jobs; sleep 0.2 & wait %1; echo waited $?"]);
}
