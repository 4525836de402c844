//! Extended attributes: set/get/list/remove, each by path (following
//! symlinks), by path without following (l*) and by fd (f*).
//!
//! Namespaces as Linux serves them: user.* on regular files and
//! directories with the file's read (get) or write (set) permission;
//! trusted.* and security.* for root only; system.* (ACLs) and anything
//! else is EOPNOTSUPP.

use std::sync::Arc;

use super::file::{get_file, resolve_at, AT_FDCWD};
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::vfs::path::Follow;
use crate::vfs::{mode, perm, Inode};

const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: usize = 65536;
const XATTR_LIST_MAX: usize = 65536;

/// Which file a call names.
enum Target {
    Path(u64, Follow),
    Fd(u64),
}

fn inode_of(t: &Task, target: &Target, writes: bool) -> KResult<Arc<dyn Inode>> {
    match *target {
        Target::Path(addr, follow) => {
            let p = super::file::read_path(t, addr)?;
            let loc = resolve_at(t, AT_FDCWD, &p, follow)?;
            if writes {
                crate::vfs::mount::writable(&loc)?;
            }
            Ok(loc.inode().clone())
        }
        Target::Fd(fd) => Ok(get_file(t, fd)?.inode.clone()),
    }
}

/// The attribute name at `addr` (ERANGE if empty or too long).
fn read_name(t: &Task, addr: u64) -> KResult<Vec<u8>> {
    let name = match t.mm().read_cstring(addr, XATTR_NAME_MAX) {
        Ok(n) => n,
        Err(Errno::ENAMETOOLONG) => return Err(Errno::ERANGE),
        Err(e) => return Err(e),
    };
    if name.is_empty() {
        return Err(Errno::ERANGE);
    }
    Ok(name)
}

/// Check the namespace of `name` for access `want` (MAY_READ or
/// MAY_WRITE) to a file of attributes `a`.
fn check(t: &Task, name: &[u8], a: &crate::vfs::Attr, want: u32) -> KResult<()> {
    let c = t.creds();
    if name.starts_with(b"trusted.") || name.starts_with(b"security.") {
        if c.euid != 0 {
            return Err(if want == perm::MAY_WRITE { Errno::EPERM } else { Errno::ENODATA });
        }
        return Ok(());
    }
    if !name.starts_with(b"user.") {
        return Err(Errno::EOPNOTSUPP);
    }
    let kind = a.kind();
    if kind != mode::S_IFREG && kind != mode::S_IFDIR {
        return Err(if want == perm::MAY_WRITE { Errno::EPERM } else { Errno::ENODATA });
    }
    perm::check(&c, a, want)
}

fn set(t: &Task, target: Target, a: [u64; 6], first: usize) -> KResult<u64> {
    let (name_addr, value, size, flags) = (a[first], a[first + 1], a[first + 2], a[first + 3]);
    if flags & !3 != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(t, name_addr)?;
    if size as usize > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut v = vec![0u8; size as usize];
    t.mm().copy_in(value, &mut v)?;
    let inode = inode_of(t, &target, true)?;
    check(t, &name, &inode.stat()?, perm::MAY_WRITE)?;
    inode.setxattr(&name, &v, flags as i32)?;
    Ok(0)
}

fn get(t: &Task, target: Target, a: [u64; 6], first: usize) -> KResult<u64> {
    let (name_addr, value, size) = (a[first], a[first + 1], a[first + 2]);
    let name = read_name(t, name_addr)?;
    let inode = inode_of(t, &target, false)?;
    check(t, &name, &inode.stat()?, perm::MAY_READ)?;
    sized_reply(t, value, size, &inode.getxattr(&name)?)
}

/// The reply of getxattr and listxattr: `size` 0 asks only for the
/// length; a buffer too small for `v` is ERANGE.
fn sized_reply(t: &Task, addr: u64, size: u64, v: &[u8]) -> KResult<u64> {
    if size == 0 {
        return Ok(v.len() as u64);
    }
    if (size as usize) < v.len() {
        return Err(Errno::ERANGE);
    }
    t.mm().copy_out(addr, v)?;
    Ok(v.len() as u64)
}

fn list(t: &Task, target: Target, a: [u64; 6], first: usize) -> KResult<u64> {
    let (list_addr, size) = (a[first], a[first + 1]);
    let inode = inode_of(t, &target, false)?;
    let root = t.creds().euid == 0;
    let mut out = Vec::new();
    for n in inode.listxattr()? {
        if !root && n.starts_with(b"trusted.") {
            continue;
        }
        out.extend_from_slice(&n);
        out.push(0);
    }
    if out.len() > XATTR_LIST_MAX {
        return Err(Errno::E2BIG);
    }
    sized_reply(t, list_addr, size, &out)
}

fn remove(t: &Task, target: Target, a: [u64; 6], first: usize) -> KResult<u64> {
    let name = read_name(t, a[first])?;
    let inode = inode_of(t, &target, true)?;
    check(t, &name, &inode.stat()?, perm::MAY_WRITE)?;
    inode.removexattr(&name)?;
    Ok(0)
}

macro_rules! variants {
    ($op:ident, $path:ident, $lpath:ident, $fd:ident, $what:literal) => {
        #[doc = concat!("Implements ", $what, "(2).")]
        pub fn $path(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
            $op(sc.task, Target::Path(a[0], Follow::Yes), a, 1)
        }
        #[doc = concat!("Implements l", $what, "(2).")]
        pub fn $lpath(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
            $op(sc.task, Target::Path(a[0], Follow::No), a, 1)
        }
        #[doc = concat!("Implements f", $what, "(2).")]
        pub fn $fd(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
            $op(sc.task, Target::Fd(a[0]), a, 1)
        }
    };
}

variants!(set, sys_setxattr, sys_lsetxattr, sys_fsetxattr, "setxattr");
variants!(get, sys_getxattr, sys_lgetxattr, sys_fgetxattr, "getxattr");
variants!(list, sys_listxattr, sys_llistxattr, sys_flistxattr, "listxattr");
variants!(remove, sys_removexattr, sys_lremovexattr, sys_fremovexattr, "removexattr");
