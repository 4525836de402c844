//! /proc/sys: one file per sysctl of [`crate::kernel::sysctl::TABLE`],
//! in directories by the dotted name's components. Reading shows the
//! value; a write at offset 0 sets it (root only, by the file's mode), as
//! `sysctl -w` and `echo V > /proc/sys/...` do.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use crate::errno::Errno;
use crate::fs::synth::{SynthDir, SynthFile};
use crate::kernel::sysctl::{Kind, TABLE};
use crate::kernel::Kernel;
use crate::vfs::Inode;

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
                children.insert(rest, file(k, name, kind));
            }
        }
    }
    for (sub, list) in subdirs {
        let p = format!("{prefix}{sub}.");
        children.insert(sub, dir(k, &p, &list));
    }
    SynthDir::fixed(children.into_iter().collect())
}

/// The file of sysctl `name`: its value and a newline.
fn file(k: &Weak<Kernel>, name: &'static str, kind: Kind) -> Arc<dyn Inode> {
    let kr = k.clone();
    let get = move || {
        let mut v = kr.upgrade().ok_or(Errno::ENOENT)?.sysctl(name)?.into_bytes();
        v.push(b'\n');
        Ok(v)
    };
    if kind == Kind::Fixed {
        return SynthFile::new(get);
    }
    let kw = k.clone();
    SynthFile::rw(get, move |v| kw.upgrade().ok_or(Errno::ENOENT)?.set_sysctl(name, v))
}
