//! Mounts, namespaces and roots: mount(2), umount2(2), chroot(2),
//! unshare(2).

use std::sync::Arc;

use super::file::{read_path, resolve_at, AT_FDCWD};
use super::Sc;
use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::vfs::mount::{ms, same_inode, Mount};
use crate::vfs::path::{Follow, Location};
use crate::vfs::{mode, Inode};

const CAP_SYS_CHROOT: u32 = 18;
const CAP_SYS_ADMIN: u32 = 21;

const MNT_FORCE: u64 = 1;
const MNT_DETACH: u64 = 2;
const MNT_EXPIRE: u64 = 4;
const UMOUNT_NOFOLLOW: u64 = 8;

const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_NEWNS: u64 = 0x20000;


/// A string argument of mount(2) (at most a page, as Linux copies).
fn read_arg(t: &Task, addr: u64) -> KResult<Option<Vec<u8>>> {
    if addr == 0 {
        return Ok(None);
    }
    let s = t.mm().read_cstring(addr, 4096)?;
    Ok(Some(s))
}

/// tmpfs options: the size limit in bytes and the root's mode, uid, gid.
#[derive(Debug, PartialEq, Eq)]
pub struct TmpfsOpts {
    pub size: Option<u64>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Parses tmpfs's comma-separated options (size=N[kmg%], nr_blocks,
/// nr_inodes, mode=octal, uid=, gid=); an unknown one is EINVAL, as Linux.
pub fn tmpfs_opts(data: &[u8]) -> KResult<TmpfsOpts> {
    let mut o = TmpfsOpts { size: None, mode: 0o1777, uid: 0, gid: 0 };
    let total = crate::mm::memfile::REPORTED_TOTAL;
    for opt in data.split(|&c| c == b',').filter(|s| !s.is_empty()) {
        let s = std::str::from_utf8(opt).map_err(|_| Errno::EINVAL)?;
        let (k, v) = s.split_once('=').unwrap_or((s, ""));
        let num = |v: &str| -> KResult<u64> {
            let (digits, mult) = match v.chars().last() {
                Some('k' | 'K') => (&v[..v.len() - 1], 1u64 << 10),
                Some('m' | 'M') => (&v[..v.len() - 1], 1 << 20),
                Some('g' | 'G') => (&v[..v.len() - 1], 1 << 30),
                Some('%') => return v[..v.len() - 1].parse::<u64>().map(|p| total / 100 * p).map_err(|_| Errno::EINVAL),
                _ => (v, 1),
            };
            digits.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)).ok_or(Errno::EINVAL)
        };
        match k {
            "size" => o.size = Some(num(v)?.div_ceil(4096) * 4096),
            "nr_blocks" => o.size = Some(num(v)?.saturating_mul(4096)),
            "nr_inodes" | "huge" | "mpol" | "inode64" | "inode32" | "noswap" | "quota" | "usrquota" | "grpquota" => {}
            "mode" => o.mode = u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)? & 0o7777,
            "uid" => o.uid = v.parse().map_err(|_| Errno::EINVAL)?,
            "gid" => o.gid = v.parse().map_err(|_| Errno::EINVAL)?,
            // Generic options the VFS takes out before the filesystem sees
            // them.
            "rw" | "ro" | "defaults" | "nosuid" | "suid" | "nodev" | "dev" | "noexec" | "exec" | "relatime" | "noatime" | "strictatime" => {}
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(o)
}

/// A new filesystem of type `fstype`: its root, and the options /proc
/// shows for it.
pub fn new_fs(k: &Arc<crate::kernel::Kernel>, fstype: &[u8], data: &[u8]) -> KResult<(Arc<dyn Inode>, String)> {
    match fstype {
        b"tmpfs" => {
            let o = tmpfs_opts(data)?;
            let root = crate::fs::overlay::Node::new_tmpfs_sized(o.mode, o.uid, o.gid, o.size, k.mf.clone());
            let mut opts = String::new();
            if let Some(s) = o.size {
                opts.push_str(&format!("size={}k,", s / 1024));
            }
            opts.push_str(&format!("mode={:o}", o.mode));
            Ok((root, opts))
        }
        b"proc" => Ok((crate::fs::proc::new(k), String::new())),
        b"sysfs" => Ok((crate::fs::sys::new(), String::new())),
        b"cgroup2" => Ok((crate::fs::cgroup::new(k), String::new())),
        b"mqueue" => Ok((k.mqueues.clone(), String::new())),
        b"devpts" => {
            // The one devpts instance (Linux's newinstance is not served).
            let root = k.root_location();
            let pts = k.resolve(&root, &root, b"/dev/pts", Follow::Yes, None)?;
            Ok((pts.inode().clone(), "mode=600,ptmxmode=000".into()))
        }
        _ => Err(Errno::ENODEV),
    }
}

/// Implements mount(2).
pub fn sys_mount(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let source = read_arg(t, a[0])?;
    let fstype = read_arg(t, a[2])?;
    let mut flags = a[3];
    // The old magic number in the high half means nothing any more.
    if flags & ms::MAGIC_MASK == 0xc0ed_0000 {
        flags &= !ms::MAGIC_MASK;
    }
    let target = read_path(t, a[1])?;
    let data = read_arg(t, a[4])?.unwrap_or_default();
    let at = resolve_at(t, AT_FDCWD, &target, Follow::Yes)?;
    if flags & ms::NOUSER != 0 {
        return Err(Errno::EINVAL);
    }
    if !t.capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let ns = at.ns.clone();
    if flags & ms::REMOUNT != 0 {
        let m = mount_rooted_at(&at).ok_or(Errno::EINVAL)?;
        m.set_flags(flags);
        return Ok(0);
    }
    if flags & ms::PROPAGATION != 0 {
        // Mounts never propagate between this sandbox's namespaces (each
        // unshare copies them), so every mount is private already; the
        // point must still be a mount.
        mount_rooted_at(&at).ok_or(Errno::EINVAL)?;
        return Ok(0);
    }
    let source_loc = |t: &Task| -> KResult<Location> {
        let s = source.as_deref().ok_or(Errno::EFAULT)?;
        resolve_at(t, AT_FDCWD, s, Follow::Yes)
    };
    if flags & ms::MOVE != 0 {
        let from = source_loc(t)?;
        let m = ns.mount_rooted_at(&from).ok_or(Errno::EINVAL)?;
        check_kinds(m.root.as_ref(), at.inode().as_ref())?;
        ns.remove(&m);
        ns.add(&at, m.root.clone(), &m.fstype, &m.source, &m.fs_opts, m.flags());
        return Ok(0);
    }
    if flags & ms::BIND != 0 {
        let from = source_loc(t)?;
        check_kinds(from.inode().as_ref(), at.inode().as_ref())?;
        let of = from.ns.mount_of(&from);
        let src = String::from_utf8_lossy(&from.path()).into_owned();
        let m = ns.add(&at, from.inode().clone(), &of.fstype, &src, &of.fs_opts, flags);
        if flags & ms::REC != 0 {
            ns.copy_submounts(&from.ns, &from.path(), &m.point, (of.id, m.id));
        }
        return Ok(0);
    }
    let fstype = fstype.ok_or(Errno::EFAULT)?;
    let (root, opts) = new_fs(&t.kernel, &fstype, &data)?;
    if !at.inode().stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let fstype = String::from_utf8_lossy(&fstype).into_owned();
    let source = source.map(|s| String::from_utf8_lossy(&s).into_owned()).unwrap_or_else(|| "none".into());
    ns.add(&at, root, &fstype, &source, &opts, flags);
    Ok(0)
}

/// The mount rooted exactly at `at`, the namespace's root mount for "/".
fn mount_rooted_at(at: &Location) -> Option<Arc<Mount>> {
    if at.names.is_empty() {
        return Some(at.ns.root().clone());
    }
    at.ns.mount_rooted_at(at)
}

/// A directory may be mounted only on a directory, anything else only on
/// a non-directory.
fn check_kinds(what: &dyn Inode, on: &dyn Inode) -> KResult<()> {
    if what.stat()?.is_dir() != on.stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(())
}

/// Whether anything of the sandbox (a cwd, a root, an open file) is in
/// the mount `m` of the namespace `at.ns`.
fn busy(t: &Task, at: &Location, m: &Mount) -> bool {
    let k = &t.kernel;
    let depth = at.names.len();
    let inside = |l: &Location| {
        Arc::ptr_eq(&l.ns, &at.ns) && l.names.len() >= depth && l.names[..depth] == at.names[..] && same_inode(&l.inodes[depth], &m.root)
    };
    for g in k.all_groups() {
        let tids = g.st().threads.clone();
        for tid in tids {
            let Some(task) = k.task(tid) else { continue };
            let fs = task.fs();
            if inside(&fs.cwd) || inside(&fs.root) {
                return true;
            }
            if task.fds().list().iter().any(|(_, f)| f.at.get().is_some_and(&inside)) {
                return true;
            }
        }
    }
    false
}

/// Implements umount2(2).
pub fn sys_umount2(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let flags = a[1];
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(t, a[0])?;
    let follow = if flags & UMOUNT_NOFOLLOW != 0 { Follow::No } else { Follow::Yes };
    let at = resolve_at(t, AT_FDCWD, &path, follow)?;
    if !t.capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let m = at.ns.mount_rooted_at(&at).ok_or(Errno::EINVAL)?;
    if flags & MNT_DETACH == 0 && (busy(t, &at, &m) || at.ns.has_children(&m)) {
        return Err(Errno::EBUSY);
    }
    if flags & MNT_EXPIRE != 0 && !m.expiring.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Err(Errno::EAGAIN);
    }
    at.ns.remove(&m);
    Ok(0)
}

/// Implements chroot(2).
pub fn sys_chroot(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let path = read_path(t, a[0])?;
    let loc = resolve_at(t, AT_FDCWD, &path, Follow::Yes)?;
    let attr = loc.inode().stat()?;
    if attr.kind() != mode::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    crate::vfs::perm::check(&t.creds(), &attr, crate::vfs::perm::MAY_EXEC)?;
    if !t.capable(CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    t.fs_shared().lock().unwrap_or_else(|e| e.into_inner()).root = loc;
    Ok(0)
}

/// Implements unshare(2): the fd table, the filesystem context, and a
/// copy of the mount namespace. Other namespaces are not served (EINVAL).
pub fn sys_unshare(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    let t = sc.task;
    let mut flags = a[0];
    if flags & !(CLONE_FS | CLONE_FILES | CLONE_NEWNS) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_NEWNS != 0 {
        if !t.capable(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        flags |= CLONE_FS;
    }
    if flags & CLONE_FILES != 0 {
        t.set_fds(Arc::new(t.fds().fork()));
    }
    if flags & CLONE_FS != 0 {
        let mut fs = t.fs();
        if flags & CLONE_NEWNS != 0 {
            let ns = fs.root.ns.copy();
            fs.root = rebase(&fs.root, &ns);
            fs.cwd = rebase(&fs.cwd, &ns);
        }
        t.set_fs(Arc::new(std::sync::Mutex::new(fs)));
    }
    Ok(0)
}

/// The same place in the copy `ns` of its namespace (the copy has the
/// same mounted inodes at the same points).
fn rebase(l: &Location, ns: &Arc<crate::vfs::mount::MountNs>) -> Location {
    Location { names: l.names.clone(), inodes: l.inodes.clone(), ns: ns.clone(), gen: l.gen }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_options_parse_like_linux() {
        let o = tmpfs_opts(b"size=64k,mode=0700,uid=5,gid=6").unwrap();
        assert_eq!(o, TmpfsOpts { size: Some(65536), mode: 0o700, uid: 5, gid: 6 });
        assert_eq!(tmpfs_opts(b"size=1m").unwrap().size, Some(1 << 20));
        assert_eq!(tmpfs_opts(b"size=100").unwrap().size, Some(4096));
        assert_eq!(tmpfs_opts(b"").unwrap().mode, 0o1777);
        assert_eq!(tmpfs_opts(b"bogus=1"), Err(Errno::EINVAL));
        assert_eq!(tmpfs_opts(b"size=x"), Err(Errno::EINVAL));
        assert_eq!(tmpfs_opts(b"mode=9"), Err(Errno::EINVAL));
    }
}
