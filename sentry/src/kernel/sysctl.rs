//! The sandbox's sysctls: the namespaced kernel parameters a container may
//! set (an OCI spec's `linux.sysctl`, or a write under /proc/sys), each
//! with Linux's default. The UTS names live in the kernel's UTS state;
//! the rest are kept here. The System V IPC limits (kernel.msg*,
//! kernel.shmmax, kernel.sem) and the fs.mqueue limits are read by what
//! they govern; the net.* values are kept and shown only (the loopback
//! stack uses Linux's defaults for its port range and backlog).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::errno::{Errno, KResult};

/// How a value is checked when set.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A string of at most 64 bytes (the UTS names).
    Uts,
    /// One integer.
    Int,
    /// A fixed number of integers, separated by whitespace.
    Ints(usize),
    /// Read-only.
    Fixed,
}

/// Every sysctl the sandbox has: name, Linux's default, kind.
pub const TABLE: &[(&str, &str, Kind)] = &[
    ("fs.mqueue.msg_max", "10", Kind::Int),
    ("fs.mqueue.msgsize_max", "8192", Kind::Int),
    ("fs.mqueue.queues_max", "256", Kind::Int),
    ("kernel.domainname", "", Kind::Uts),
    ("kernel.hostname", "", Kind::Uts),
    ("kernel.msgmax", "8192", Kind::Int),
    ("kernel.msgmnb", "16384", Kind::Int),
    ("kernel.msgmni", "32000", Kind::Int),
    ("kernel.ngroups_max", "65536", Kind::Fixed),
    ("kernel.osrelease", "4.4.0", Kind::Fixed),
    ("kernel.ostype", "Linux", Kind::Fixed),
    ("kernel.pid_max", "4194304", Kind::Fixed),
    ("kernel.sem", "32000\t1024000000\t500\t32000", Kind::Ints(4)),
    ("kernel.shmall", "18446744073692774399", Kind::Int),
    ("kernel.shmmax", "18446744073692774399", Kind::Int),
    ("kernel.shmmni", "4096", Kind::Int),
    ("net.core.somaxconn", "4096", Kind::Int),
    ("net.ipv4.ip_forward", "0", Kind::Int),
    ("net.ipv4.ip_local_port_range", "32768\t60999", Kind::Ints(2)),
    ("net.ipv4.ip_unprivileged_port_start", "1024", Kind::Int),
    ("net.ipv4.ping_group_range", "1\t0", Kind::Ints(2)),
    ("net.ipv4.tcp_fin_timeout", "60", Kind::Int),
    ("net.ipv4.tcp_keepalive_intvl", "75", Kind::Int),
    ("net.ipv4.tcp_keepalive_probes", "9", Kind::Int),
    ("net.ipv4.tcp_keepalive_time", "7200", Kind::Int),
    ("net.ipv4.tcp_syncookies", "1", Kind::Int),
    ("net.ipv6.conf.all.disable_ipv6", "0", Kind::Int),
    ("net.ipv6.conf.default.disable_ipv6", "0", Kind::Int),
];

/// The name in dotted form ("kernel.shmmax" for "kernel/shmmax" too).
pub fn normalize(name: &str) -> String {
    name.trim_matches('/').replace('/', ".")
}

/// The entry of `name` (dotted).
pub fn lookup(name: &str) -> Option<(&'static str, &'static str, Kind)> {
    TABLE.iter().find(|(n, _, _)| *n == name).copied()
}

/// `value` checked against `kind` and put in the form /proc/sys shows
/// (integers separated by tabs), or EINVAL.
pub fn canonical(kind: Kind, value: &[u8]) -> KResult<String> {
    let s = std::str::from_utf8(value).map_err(|_| Errno::EINVAL)?;
    match kind {
        Kind::Fixed => Err(Errno::EPERM),
        Kind::Uts => {
            // As Linux: one trailing newline is not part of the name.
            let s = s.strip_suffix('\n').unwrap_or(s);
            if s.len() > 64 {
                return Err(Errno::EINVAL);
            }
            Ok(s.to_string())
        }
        Kind::Int | Kind::Ints(_) => {
            let want = if let Kind::Ints(n) = kind { n } else { 1 };
            let nums: Vec<&str> = s.split_whitespace().collect();
            if nums.len() != want {
                return Err(Errno::EINVAL);
            }
            for n in &nums {
                // Non-negative values up to u64 (shmmax), or negative i64.
                if n.parse::<u64>().is_err() && n.parse::<i64>().is_err() {
                    return Err(Errno::EINVAL);
                }
            }
            Ok(nums.join("\t"))
        }
    }
}

/// The values set since boot (the rest are at their defaults).
#[derive(Default)]
pub struct Sysctls {
    set: Mutex<BTreeMap<&'static str, String>>,
}

impl Sysctls {
    /// The value of a non-UTS sysctl `name` (an entry of [`TABLE`]).
    pub fn get(&self, name: &'static str) -> String {
        if let Some(v) = self.set.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            return v.clone();
        }
        lookup(name).map(|(_, d, _)| d.to_string()).unwrap_or_default()
    }

    /// One integer of `name`'s value (`i`-th), or `default`.
    pub fn int(&self, name: &'static str, i: usize, default: u64) -> u64 {
        self.get(name).split_whitespace().nth(i).and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// Store a checked value.
    pub fn store(&self, name: &'static str, value: String) {
        self.set.lock().unwrap_or_else(|e| e.into_inner()).insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_canonical() {
        assert_eq!(canonical(Kind::Int, b"5\n").unwrap(), "5");
        assert_eq!(canonical(Kind::Ints(2), b"1000  2000\n").unwrap(), "1000\t2000");
        assert_eq!(canonical(Kind::Ints(2), b"1000").unwrap_err(), Errno::EINVAL);
        assert_eq!(canonical(Kind::Int, b"x").unwrap_err(), Errno::EINVAL);
        assert_eq!(canonical(Kind::Uts, b"box\n").unwrap(), "box");
        assert_eq!(canonical(Kind::Uts, &[b'a'; 65]).unwrap_err(), Errno::EINVAL);
        assert_eq!(canonical(Kind::Fixed, b"1").unwrap_err(), Errno::EPERM);
        assert_eq!(normalize("/net/ipv4/ip_forward"), "net.ipv4.ip_forward");
    }

    #[test]
    fn defaults_then_stored_values() {
        let s = Sysctls::default();
        assert_eq!(s.int("net.ipv4.ip_local_port_range", 1, 0), 60999);
        s.store("net.ipv4.ip_local_port_range", "2000\t3000".into());
        assert_eq!(s.int("net.ipv4.ip_local_port_range", 0, 0), 2000);
    }
}
