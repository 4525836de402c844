//! /proc/sys: one file per sysctl of [`crate::kernel::sysctl::TABLE`],
//! in directories by the dotted name's components. Reading shows the
//! value; a write at offset 0 sets it (root only, by the file's mode), as
//! `sysctl -w` and `echo V > /proc/sys/...` do.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use crate::errno::{Errno, KResult};
use crate::fs::synth::SynthDir;
use crate::kernel::sysctl::{Kind, TABLE};
use crate::kernel::task::Task;
use crate::kernel::Kernel;
use crate::vfs::{self, mode, Attr, FileOps, Inode};

/// The /proc/sys directory of kernel `k`.
pub fn new(k: &Arc<Kernel>) -> Arc<dyn Inode> {
    let names: Vec<(&'static str, Kind)> = TABLE.iter().map(|(n, _, kind)| (*n, *kind)).collect();
    dir(&Arc::downgrade(k), "", &names)
}

/// The directory of the sysctls under `prefix` (empty, or ending in '.').
fn dir(k: &Weak<Kernel>, prefix: &str, names: &[(&'static str, Kind)]) -> Arc<dyn Inode> {
    let mut children: BTreeMap<&'static str, Arc<dyn Inode>> = BTreeMap::new();
    let mut subdirs: BTreeMap<&'static str, Vec<(&'static str, Kind)>> = BTreeMap::new();
    for &(name, kind) in names {
        let rest = &name[prefix.len()..];
        match rest.find('.') {
            Some(i) => subdirs.entry(&name[prefix.len()..prefix.len() + i]).or_default().push((name, kind)),
            None => {
                let f = Arc::new(SysctlFile { ino: vfs::next_ino(), name, kind, k: k.clone() });
                children.insert(rest, f);
            }
        }
    }
    for (sub, list) in subdirs {
        let p = format!("{prefix}{sub}.");
        children.insert(sub, dir(k, &p, &list));
    }
    SynthDir::fixed(children.into_iter().collect())
}

/// One sysctl as a file.
struct SysctlFile {
    ino: u64,
    name: &'static str,
    kind: Kind,
    k: Weak<Kernel>,
}

impl Inode for SysctlFile {
    fn stat(&self) -> KResult<Attr> {
        let perm = if self.kind == Kind::Fixed { 0o444 } else { 0o644 };
        let t = crate::kernel::boot_time();
        Ok(Attr { ino: self.ino, dev: 0x5, mode: mode::S_IFREG | perm, nlink: 1, blksize: 4096, atime: t, mtime: t, ctime: t, ..Attr::default() })
    }

    fn open(self: Arc<Self>, flags: u32) -> KResult<Arc<dyn FileOps>> {
        if self.kind == Kind::Fixed && flags & vfs::oflags::O_ACCMODE != vfs::oflags::O_RDONLY {
            return Err(Errno::EACCES);
        }
        let k = self.k.upgrade().ok_or(Errno::ENOENT)?;
        let mut content = k.sysctl(self.name)?.into_bytes();
        content.push(b'\n');
        Ok(Arc::new(SysctlOpen { name: self.name, content, k: self.k.clone() }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open sysctl: the value when opened, and writes that set it.
struct SysctlOpen {
    name: &'static str,
    content: Vec<u8>,
    k: Weak<Kernel>,
}

impl FileOps for SysctlOpen {
    fn read(&self, t: &Task, buf: &mut [u8], off: u64, nb: bool) -> KResult<usize> {
        vfs::BytesFile(self.content.clone()).read(t, buf, off, nb)
    }

    fn write(&self, _t: &Task, buf: &[u8], off: u64, _nb: bool) -> KResult<usize> {
        // As Linux's strict mode: a write past the start changes nothing.
        if off == 0 {
            self.k.upgrade().ok_or(Errno::ENOENT)?.set_sysctl(self.name, buf)?;
        }
        Ok(buf.len())
    }

    fn pollable(&self) -> bool {
        false
    }
}
