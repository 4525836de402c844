//! /sys (sysfs): what common tools read: the CPUs (online, possible,
//! present, and a directory per CPU), and the cgroup mount point.

use std::sync::Arc;

use super::synth::{SynthDir, SynthFile};
use crate::vfs::Inode;

/// The CPUs the sandbox shows: the host's online ones.
fn cpu_count() -> usize {
    crate::sys::cpu_count()
}

/// "0-N\n" (or "0\n" for one CPU), as Linux prints a CPU list.
pub fn cpu_list(n: usize) -> String {
    if n <= 1 {
        "0\n".into()
    } else {
        format!("0-{}\n", n - 1)
    }
}

/// Build a sysfs root.
pub fn new() -> Arc<dyn Inode> {
    let list = cpu_list(cpu_count());
    let cpu = SynthDir::new({
        let list = list.clone();
        move || {
            let mut v: Vec<(Vec<u8>, Arc<dyn Inode>)> = vec![
                (b"online".to_vec(), SynthFile::text(list.clone())),
                (b"possible".to_vec(), SynthFile::text(list.clone())),
                (b"present".to_vec(), SynthFile::text(list.clone())),
                (b"kernel_max".to_vec(), SynthFile::text("8191\n")),
            ];
            for i in 0..cpu_count() {
                let d: Arc<dyn Inode> = SynthDir::fixed(vec![("online", SynthFile::text("1\n"))]);
                v.push((format!("cpu{i}").into_bytes(), d));
            }
            v
        }
    });
    let system = SynthDir::fixed(vec![("cpu", cpu as Arc<dyn Inode>)]);
    let devices = SynthDir::fixed(vec![("system", system as Arc<dyn Inode>)]);
    let cgroup: Arc<dyn Inode> = SynthDir::fixed(vec![]);
    let fs = SynthDir::fixed(vec![("cgroup", cgroup)]);
    let kernel = SynthDir::fixed(vec![("mm", SynthDir::fixed(vec![]) as Arc<dyn Inode>)]);
    SynthDir::fixed(vec![
        ("devices", devices as Arc<dyn Inode>),
        ("fs", fs as Arc<dyn Inode>),
        ("kernel", kernel as Arc<dyn Inode>),
        ("class", SynthDir::fixed(vec![]) as Arc<dyn Inode>),
        ("bus", SynthDir::fixed(vec![]) as Arc<dyn Inode>),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_lists_read_as_linux_prints_them() {
        assert_eq!(super::cpu_list(1), "0\n");
        assert_eq!(super::cpu_list(2), "0-1\n");
        assert_eq!(super::cpu_list(64), "0-63\n");
    }
}
