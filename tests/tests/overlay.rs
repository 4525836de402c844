//! The overlay over the host's root (issue 5, item 3): a write copies a
//! large lower file up whole, keeping its mode and owner; attribute changes
//! of a lower file; a deleted lower directory made again is opaque (none of
//! the lower entries show through); a renamed lower directory keeps its
//! content; and none of it reaches the host.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use tests::{run, sandboxed};

/// A regular lower file of at least 1 MB that everyone can read.
fn big_lower_file() -> Option<String> {
    let dirs = ["/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/lib"];
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(d) else { continue };
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_file() && m.len() >= 1 << 20 && m.mode() & 0o004 != 0 && std::fs::File::open(e.path()).is_ok() {
                return Some(e.path().to_string_lossy().into_owned());
            }
        }
    }
    None
}

fn sha256(path: &str) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

#[test]
fn copy_up_of_a_large_file_keeps_mode_and_owner() {
    let Some(f) = big_lower_file() else {
        eprintln!("SKIP copy_up_of_a_large_file_keeps_mode_and_owner: no lower file over 1 MB");
        return;
    };
    let host = std::fs::metadata(&f).expect("stat");
    let host_sum = sha256(&f);
    let size = host.len();
    let script = format!(
        r#"f='{f}'
cp "$f" /tmp/runsc-orig-$$
printf x >> "$f"
stat -c '%a %u %g %s' "$f"
cmp -n {size} "$f" /tmp/runsc-orig-$$ && echo prefix-same
tail -c 1 "$f"; echo
touch -d @1000000000 "$f"; stat -c %Y "$f"
chmod 600 "$f"; stat -c %a "$f"
exec 3>>"$f"; printf y >&3; exec 3>&-; stat -c %s "$f""#
    );
    let out = run(&mut sandboxed(&["sh", "-c", &script]));
    assert_eq!(out.status, 0, "{out:?}");
    let want = format!(
        "{:o} {} {} {}\nprefix-same\nx\n1000000000\n600\n{}\n",
        host.mode() & 0o7777,
        host.uid(),
        host.gid(),
        size + 1,
        size + 2
    );
    assert_eq!(out.stdout_str(), want, "{out:?}");
    let after = std::fs::metadata(&f).expect("stat after");
    assert_eq!((after.len(), after.mode(), after.mtime()), (host.len(), host.mode(), host.mtime()), "the host file changed");
    assert_eq!(sha256(&f), host_sum, "the host file's content changed");
}

#[test]
fn deleted_lower_directories_made_again_are_opaque() {
    // Two lower directories with entries, under /usr/share.
    let mut dirs: Vec<String> = std::fs::read_dir("/usr/share")
        .expect("/usr/share")
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some()))
        .map(|e| e.path().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    if dirs.len() < 2 {
        eprintln!("SKIP deleted_lower_directories_made_again_are_opaque: /usr/share has under two non-empty directories");
        return;
    }
    let (a, b) = (&dirs[0], &dirs[1]);
    let count_b = std::fs::read_dir(b).expect("read b").count();
    let script = format!(
        r#"rm -rf '{a}' && test ! -e '{a}' && echo removed
mkdir '{a}' && ls -A '{a}' | wc -l
touch '{a}/new' && ls -A '{a}'
mv '{b}' /tmp/runsc-moved-$$ && test ! -e '{b}' && ls -A /tmp/runsc-moved-$$ | wc -l
mkdir '{b}' && ls -A '{b}' | wc -l
rmdir '{b}' && mv /tmp/runsc-moved-$$ '{b}' && ls -A '{b}' | wc -l"#
    );
    let out = run(&mut sandboxed(&["sh", "-c", &script]));
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(out.stdout_str(), format!("removed\n0\nnew\n{count_b}\n0\n{count_b}\n"), "{out:?}");
    assert!(Path::new(a).is_dir() && std::fs::read_dir(a).expect("a").next().is_some(), "{a} changed on the host");
    assert!(!Path::new(&format!("{a}/new")).exists(), "a write reached the host");
}

/// Big files of the overlay live in its store (see --overlay-medium): the
/// same bytes come back whichever the medium, including a store on a disk
/// that fills up halfway (then the rest stays in memory), a file shared
/// between a mapping and read(2), and nothing is left in the store's
/// directory on the host.
#[test]
fn big_files_are_the_same_in_every_overlay_medium() {
    let script = r#"f=/tmp/runsc-big-$$
i=0; while [ $i -lt 12 ]; do printf 'block %07d ' $i; head -c 1048564 /dev/zero | tr '\0' "$(echo ABCDEFGHIJKLMNOPQRST | cut -c$((i % 20 + 1)))"; i=$((i + 1)); done > $f
md5sum < $f
dd if=$f bs=4096 skip=1023 count=2 2>/dev/null | md5sum
truncate -s 3000000 $f; md5sum < $f
truncate -s 9000000 $f; md5sum < $f
rm $f"#;
    let native = run(&mut tests::native(&["sh", "-c", script]));
    assert_eq!(native.status, 0, "{native:?}");
    let mut mediums: Vec<(String, Option<std::path::PathBuf>)> = vec![("self".into(), None), ("memory".into(), None)];
    // A store directory on a 4 MiB tmpfs (root only): two extents fit,
    // then the disk is full.
    let small = std::env::temp_dir().join(format!("runsc-small-store-{}", std::process::id()));
    let mounted = nix::unistd::geteuid().is_root()
        && std::fs::create_dir_all(&small).is_ok()
        && nix::mount::mount(Some("tmpfs"), &small, Some("tmpfs"), nix::mount::MsFlags::empty(), Some("size=4m")).is_ok();
    if mounted {
        mediums.push((format!("dir={}", small.display()), Some(small.clone())));
    } else {
        eprintln!("SKIP the full-disk store: mounting a small tmpfs needs root");
    }
    for (medium, dir) in &mediums {
        let mut cmd = tests::runsc_command();
        cmd.arg(format!("--overlay-medium={medium}")).args(["do", "sh", "-c", script]);
        let out = run(&mut cmd);
        assert_eq!(out.status, 0, "--overlay-medium={medium}: {out:?}");
        assert_eq!(out.stdout_str(), native.stdout_str(), "--overlay-medium={medium}: {out:?}");
        if let Some(d) = dir {
            assert_eq!(std::fs::read_dir(d).expect("store dir").count(), 0, "the store left a name in {}", d.display());
        }
    }
    if mounted {
        let _ = nix::mount::umount(&small);
        let _ = std::fs::remove_dir(&small);
    }
    let mut bad = tests::runsc_command();
    bad.args(["--overlay-medium=disk", "do", "true"]);
    let out = run(&mut bad);
    assert_ne!(out.status, 0, "a bad medium is refused: {out:?}");
    assert!(out.stderr_str().contains("overlay-medium"), "{out:?}");
}

/// A lower file is read up to the size the sandbox looked up, as its stat
/// shows: bytes the host appends later are not read (and a read at that
/// size ends there without asking the host), while the file's first bytes
/// still come from the host.
#[test]
fn lower_files_read_up_to_the_size_looked_up() {
    use std::io::{BufRead, BufReader, Write};
    let dir = std::env::temp_dir().join(format!("runsc-lower-size-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("grows");
    std::fs::write(&f, "0123456789").unwrap();
    let p = f.to_string_lossy().into_owned();
    // Stat, wait for a line on stdin, then read it whole twice (the second
    // read of cat at the size) and the size again.
    let script = format!("stat -c %s {p}; read go; cat {p}; echo; wc -c < {p}; stat -c %s {p}");
    let mut child = sandboxed(&["sh", "-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runsc");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "10", "the size before");
    std::fs::OpenOptions::new().append(true).open(&f).unwrap().write_all(b"abcdef").unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "{rest}");
    assert_eq!(rest, "0123456789\n10\n10\n", "what the sandbox read after the host appended");
}

/// The sentry keeps a bounded number of lower files' and directories'
/// host fds open (directfs), or gofer fids, each an fd in the gofer
/// (`--directfs=false`): a sandbox walks more directories and reads more
/// files than the sentry and gofer may hold fds (here 256, from
/// `prlimit`), each once, and then again, and every walk and read
/// succeeds. When each directory walked and each file read kept its host
/// fd or fid for good, those past the limit failed with EMFILE.
#[test]
fn more_files_read_than_the_sentry_has_fds() {
    let dir = std::env::temp_dir().join(format!("runsc-many-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for d in 0..300 {
        std::fs::create_dir_all(dir.join(format!("d{d}"))).unwrap();
        for f in 0..2 {
            std::fs::write(dir.join(format!("d{d}/f{f}")), format!("{d}.{f}\n")).unwrap();
        }
    }
    let d = dir.display();
    let script = format!("cat {d}/*/* | wc -l; cat {d}/d7/f1; cat {d}/*/* | wc -l; ls {d}/d299");
    let mut outs = Vec::new();
    for flags in [&[][..], &["--directfs=false"][..]] {
        let mut inner = tests::runsc_command();
        inner.args(flags).arg("do").args(["sh", "-c", &script]);
        let mut cmd = std::process::Command::new("prlimit");
        cmd.arg("--nofile=256:256").arg("--").arg(inner.get_program()).args(inner.get_args());
        outs.push((flags, run(&mut cmd)));
    }
    let _ = std::fs::remove_dir_all(&dir);
    for (flags, out) in outs {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status, 0, "{flags:?}: {err}");
        assert_eq!(out.stdout_str(), "600\n7.1\n600\nf0\nf1\n", "{flags:?}: {err}");
    }
}

/// A listing of a lower directory holds each name once: the lower's
/// entries (less one deleted; one deleted and made again keeps its place),
/// then the names new to it, sorted; and two listings agree.
#[test]
fn listings_hold_lower_and_new_entries_once() {
    let dir = std::env::temp_dir().join(format!("runsc-listing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for n in ["a", "b", "c", "d"] {
        std::fs::write(dir.join(n), n).unwrap();
    }
    let d = dir.display();
    let script = format!("cat {d}/a {d}/b >/dev/null; rm {d}/b {d}/c; echo new > {d}/b; touch {d}/z {d}/m; ls -f {d} > /tmp/l1; ls -f {d} > /tmp/l2; cmp /tmp/l1 /tmp/l2 && cat /tmp/l1");
    let out = run(&mut sandboxed(&["sh", "-c", &script]));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status, 0, "{}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<String> = out.stdout_str().lines().map(str::to_string).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, [".", "..", "a", "b", "d", "m", "z"], "{names:?}");
    // The names new to the directory come last, by name (b, made again,
    // keeps its place among the lower's).
    assert_eq!(names[names.len() - 2..], ["m", "z"], "{names:?}");
}
