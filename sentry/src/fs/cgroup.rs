//! cgroupfs (cgroup v2): the sandbox is one cgroup, seen from inside its
//! cgroup namespace as the root of the hierarchy (/proc/PID/cgroup says
//! "0::/"). Its files report what the sentry itself enforces and counts:
//! the memory limit and use of the memory file, the pids limit and the
//! task count, the CPU time of the sandbox's processes. memory.max and
//! pids.max are writable (root), and change the limits the sentry
//! enforces; child cgroups are not served (mkdir is EPERM, as in a
//! cgroup whose hierarchy is not delegated).

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::errno::{Errno, KResult};
use crate::fs::synth::{SynthDir, SynthFile};
use crate::kernel::Kernel;
use crate::vfs::Inode;

/// A limit as cgroup files show it: "max" or the number.
fn limit_text(v: u64) -> Vec<u8> {
    if v == u64::MAX {
        b"max\n".to_vec()
    } else {
        format!("{v}\n").into_bytes()
    }
}

/// Parse "max" or a number, with memparse's K/M/G/T suffixes when
/// `suffixes` (memory.max accepts them).
fn parse_limit(v: &[u8], suffixes: bool) -> KResult<u64> {
    let s = std::str::from_utf8(v).map_err(|_| Errno::EINVAL)?.trim();
    if s == "max" {
        return Ok(u64::MAX);
    }
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if suffixes && c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(Errno::EINVAL),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    num.parse::<u64>().map_err(|_| Errno::EINVAL)?.checked_mul(mult).ok_or(Errno::EINVAL)
}

/// The sandbox's CPU time: its live processes' and what they have
/// collected from the children they waited for.
fn cpu_usage(k: &Kernel) -> (Duration, Duration) {
    let (mut u, mut s) = (Duration::ZERO, Duration::ZERO);
    for g in k.all_groups() {
        let (gu, gs) = g.cpu_times(k);
        let (cu, cs) = *g.cpu_children.lock().unwrap_or_else(|e| e.into_inner());
        u += gu + cu;
        s += gs + cs;
    }
    (u, s)
}

/// A new cgroupfs of kernel `k`.
pub fn new(k: &Arc<Kernel>) -> Arc<dyn Inode> {
    let w: Weak<Kernel> = Arc::downgrade(k);
    let getter = |f: fn(&Kernel) -> Vec<u8>| {
        let w = w.clone();
        move || Ok(f(&*w.upgrade().ok_or(Errno::ENOENT)?))
    };
    let setter = |f: fn(&Kernel, &[u8]) -> KResult<()>| {
        let w = w.clone();
        move |v: &[u8]| f(&*w.upgrade().ok_or(Errno::ENOENT)?, v)
    };
    let with = |f: fn(&Kernel) -> Vec<u8>| SynthFile::new(getter(f));
    let files: Vec<(&'static str, Arc<dyn Inode>)> = vec![
        ("cgroup.controllers", SynthFile::text("cpu memory pids\n")),
        ("cgroup.events", SynthFile::text("populated 1\nfrozen 0\n")),
        ("cgroup.max.depth", SynthFile::text("max\n")),
        ("cgroup.max.descendants", SynthFile::text("max\n")),
        (
            "cgroup.procs",
            with(|k| k.all_groups().iter().map(|g| format!("{}\n", g.tgid)).collect::<String>().into_bytes()),
        ),
        ("cgroup.stat", SynthFile::text("nr_descendants 0\nnr_dying_descendants 0\n")),
        ("cgroup.subtree_control", SynthFile::text("\n")),
        (
            "cgroup.threads",
            with(|k| k.all_tasks().iter().map(|t| format!("{}\n", t.tid())).collect::<String>().into_bytes()),
        ),
        ("cgroup.type", SynthFile::text("domain\n")),
        ("cpu.max", SynthFile::text("max 100000\n")),
        (
            "cpu.stat",
            with(|k| {
                let (u, s) = cpu_usage(k);
                let us = |d: Duration| d.as_micros() as u64;
                format!("usage_usec {}\nuser_usec {}\nsystem_usec {}\n", us(u + s), us(u), us(s)).into_bytes()
            }),
        ),
        ("cpu.weight", SynthFile::text("100\n")),
        ("memory.current", with(|k| format!("{}\n", k.mf.used_bytes()).into_bytes())),
        ("memory.high", SynthFile::text("max\n")),
        ("memory.low", SynthFile::text("0\n")),
        (
            "memory.max",
            SynthFile::rw(
                getter(|k| limit_text(k.mf.limit_bytes())),
                setter(|k, v| {
                    k.mf.set_limit(parse_limit(v, true)?);
                    Ok(())
                }),
            ),
        ),
        ("memory.min", SynthFile::text("0\n")),
        ("pids.current", with(|k| format!("{}\n", k.task_count()).into_bytes())),
        (
            "pids.max",
            SynthFile::rw(
                getter(|k| limit_text(k.pids_limit())),
                setter(|k, v| {
                    k.set_pids_limit(parse_limit(v, false)?);
                    Ok(())
                }),
            ),
        ),
    ];
    SynthDir::fixed(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_as_cgroup_files_do() {
        assert_eq!(parse_limit(b"max\n", true).unwrap(), u64::MAX);
        assert_eq!(parse_limit(b"64M\n", true).unwrap(), 64 << 20);
        assert_eq!(parse_limit(b"4096", true).unwrap(), 4096);
        assert_eq!(parse_limit(b"64M", false).unwrap_err(), Errno::EINVAL);
        assert_eq!(parse_limit(b"-1", true).unwrap_err(), Errno::EINVAL);
        assert_eq!(limit_text(u64::MAX), b"max\n");
    }
}
