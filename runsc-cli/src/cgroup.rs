//! The host cgroup of a container's sandbox: the spec's
//! `linux.cgroupsPath`, made under every mounted hierarchy (cgroup v1's
//! controllers, or the v2 unified one) as runc makes it, with the sandbox
//! process moved in before it starts anything, so that the gofers and the
//! platform's stub processes are counted there too. Engines read a
//! container's memory, CPU and pids from it (`docker stats`) and its
//! processes (`docker top`, through `runsc ps --format json`). Resource
//! limits are the sentry's own (see the memory and pids limits in boot);
//! the host cgroup accounts.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Mount points of the cgroup hierarchies: (v2, path) for each, from
/// /proc/self/mountinfo. A v1 hierarchy named only (name=systemd) counts
/// too, as runc joins it.
fn hierarchies() -> Vec<(bool, PathBuf)> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else { return Vec::new() };
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let fstype = right.split(' ').next().unwrap_or("");
        let point = left.split(' ').nth(4).unwrap_or("");
        match fstype {
            "cgroup2" => out.push((true, PathBuf::from(point))),
            "cgroup" => out.push((false, PathBuf::from(point))),
            _ => {}
        }
    }
    // On a hybrid host the unified hierarchy holds no controllers; a
    // pure v2 host has only it.
    if out.iter().any(|(v2, _)| !v2) {
        out.retain(|(v2, _)| !v2);
    }
    out
}

/// The spec's cgroupsPath as a path beneath a hierarchy's root: a plain
/// path ("/docker/ID"), or systemd's "slice:prefix:name" (podman and
/// docker with the systemd driver) as systemd lays it out
/// ("a-b.slice" is "a.slice/a-b.slice", the unit "prefix-name.scope").
pub fn relative(cgroups_path: &str) -> PathBuf {
    let parts: Vec<&str> = cgroups_path.split(':').collect();
    if let [slice, prefix, name] = parts[..] {
        if !cgroups_path.starts_with('/') {
            let mut p = PathBuf::new();
            let slice = if slice.is_empty() { "system.slice" } else { slice };
            let stem = slice.trim_end_matches(".slice");
            let mut acc = String::new();
            for (i, part) in stem.split('-').enumerate() {
                if i > 0 {
                    acc.push('-');
                }
                acc.push_str(part);
                if acc != "-" && !acc.is_empty() {
                    p.push(format!("{acc}.slice"));
                }
            }
            let unit = if prefix.is_empty() { format!("{name}.scope") } else { format!("{prefix}-{name}.scope") };
            p.push(unit);
            return p;
        }
    }
    PathBuf::from(cgroups_path.trim_start_matches('/'))
}

/// Make the cgroup `rel` in every hierarchy and move `pid` into it;
/// returns the directories made (or found).
pub fn join(rel: &Path, pid: i32) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for (_, root) in hierarchies() {
        let dir = root.join(rel);
        std::fs::create_dir_all(&dir).with_context(|| format!("making the cgroup {}", dir.display()))?;
        // A v1 cpuset cgroup takes tasks only once it has CPUs and memory
        // nodes: its parent's, as runc gives it.
        if root.join("cpuset.cpus").exists() || root.ends_with("cpuset") {
            inherit_cpuset(&root, rel);
        }
        std::fs::write(dir.join("cgroup.procs"), pid.to_string())
            .with_context(|| format!("moving the sandbox into {}", dir.display()))?;
        dirs.push(dir);
    }
    Ok(dirs)
}

/// Fill empty cpuset.cpus and cpuset.mems down the path from the root.
fn inherit_cpuset(root: &Path, rel: &Path) {
    let mut parent = root.to_path_buf();
    for c in rel.components() {
        let child = parent.join(c);
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let empty = std::fs::read_to_string(child.join(f)).map(|s| s.trim().is_empty()).unwrap_or(false);
            if empty {
                if let Ok(v) = std::fs::read_to_string(parent.join(f)) {
                    let _ = std::fs::write(child.join(f), v.trim());
                }
            }
        }
        parent = child;
    }
}

/// The host pids in the cgroup (its first directory).
pub fn procs(dirs: &[PathBuf]) -> Vec<i32> {
    let Some(d) = dirs.first() else { return Vec::new() };
    let text = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Remove the cgroup's directories (once its processes are gone; a few
/// tries, as the kernel lets go of exited tasks a moment later).
pub fn remove(dirs: &[PathBuf]) {
    for d in dirs {
        for _ in 0..50 {
            match std::fs::remove_dir(d) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_runc_lays_them_out() {
        assert_eq!(relative("/docker/abc"), PathBuf::from("docker/abc"));
        assert_eq!(relative("machine.slice:libpod:abc"), PathBuf::from("machine.slice/libpod-abc.scope"));
        assert_eq!(relative("user-1000.slice:docker:x"), PathBuf::from("user.slice/user-1000.slice/docker-x.scope"));
        assert_eq!(relative(":docker:x"), PathBuf::from("system.slice/docker-x.scope"));
    }
}
