//! inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch.

use std::sync::Arc;

use super::file::{get_file, install, read_path, resolve_at, AT_FDCWD};
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::fs::anon::AnonInode;
use crate::fs::inotify::{self as ino, Inotify};
use crate::vfs::path::Follow;
use crate::vfs::{oflags, perm, File};

fn init(sc: &mut Sc<'_>, flags: u64) -> KResult<u64> {
    if flags & !(oflags::O_NONBLOCK | oflags::O_CLOEXEC) as u64 != 0 {
        return Err(Errno::EINVAL);
    }
    let f = File::new(Inotify::new(), AnonInode::new(), b"anon_inode:inotify".to_vec(), oflags::O_RDONLY | (flags as u32 & oflags::O_NONBLOCK));
    install(sc.task, f, flags & oflags::O_CLOEXEC as u64 != 0)
}

/// Implements inotify_init(2).
pub fn sys_inotify_init(sc: &mut Sc<'_>, _a: [u64; 6]) -> KResult<u64> {
    init(sc, 0)
}

/// Implements inotify_init1(2).
pub fn sys_inotify_init1(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    init(sc, a[0])
}

/// The inotify instance of fd `fd` (EINVAL: another kind of file).
fn instance(sc: &Sc<'_>, fd: u64) -> KResult<Arc<Inotify>> {
    let f = get_file(sc.task, fd)?;
    let any: Arc<dyn std::any::Any + Send + Sync> = f.ops.clone();
    any.downcast::<Inotify>().map_err(|_| Errno::EINVAL)
}

/// Implements inotify_add_watch(2).
pub fn sys_inotify_add_watch(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let inst = instance(sc, a[0])?;
    let mask = a[2] as u32;
    if mask & ino::IN_ALL_EVENTS == 0 || (mask & ino::IN_MASK_ADD != 0 && mask & ino::IN_MASK_CREATE != 0) {
        return Err(Errno::EINVAL);
    }
    let p = read_path(sc.task, a[1])?;
    let follow = if mask & ino::IN_DONT_FOLLOW != 0 { Follow::No } else { Follow::Yes };
    let loc = resolve_at(sc.task, AT_FDCWD, &p, follow)?;
    let attr = loc.inode().stat()?;
    if mask & ino::IN_ONLYDIR != 0 && !attr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    perm::check(&sc.task.creds(), &attr, perm::MAY_READ)?;
    Ok(inst.add_watch(ino::key(loc.inode()), mask)? as u64)
}

/// Implements inotify_rm_watch(2).
pub fn sys_inotify_rm_watch(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    instance(sc, a[0])?.rm_watch(a[1] as i32)?;
    Ok(0)
}
