//! Mounts and mount namespaces.
//!
//! A mount is a filesystem root (any inode: a tmpfs, /proc, or for a bind
//! mount the very inode of the source) attached at a canonical path of a
//! namespace. Several mounts may be stacked on one path: the last one
//! hides the others until it is unmounted. A location belongs to the
//! deepest mount whose point prefixes its path and whose root is the inode
//! the walk actually passed through at that depth, so a location reached
//! before a mount was stacked (an open directory, a cwd) keeps its mount.
//!
//! Every task's root and cwd carry their namespace; `unshare(CLONE_NEWNS)`
//! gives the task a copy (new mount objects: flags changed in one copy do
//! not reach the other).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use super::path::Location;
use super::Inode;
use crate::errno::{Errno, KResult};

/// mount(2) flags.
pub mod ms {
    pub const RDONLY: u64 = 1;
    pub const NOSUID: u64 = 2;
    pub const NODEV: u64 = 4;
    pub const NOEXEC: u64 = 8;
    pub const SYNCHRONOUS: u64 = 16;
    pub const REMOUNT: u64 = 32;
    pub const MANDLOCK: u64 = 64;
    pub const DIRSYNC: u64 = 128;
    pub const NOSYMFOLLOW: u64 = 256;
    pub const NOATIME: u64 = 1024;
    pub const NODIRATIME: u64 = 2048;
    pub const BIND: u64 = 4096;
    pub const MOVE: u64 = 8192;
    pub const REC: u64 = 16384;
    pub const SILENT: u64 = 32768;
    pub const UNBINDABLE: u64 = 1 << 17;
    pub const PRIVATE: u64 = 1 << 18;
    pub const SLAVE: u64 = 1 << 19;
    pub const SHARED: u64 = 1 << 20;
    pub const RELATIME: u64 = 1 << 21;
    pub const STRICTATIME: u64 = 1 << 24;
    pub const LAZYTIME: u64 = 1 << 25;
    pub const NOUSER: u64 = 1 << 31;
    /// The per-mount flags a (bind) remount sets.
    pub const PER_MOUNT: u64 = RDONLY | NOSUID | NODEV | NOEXEC | NOATIME | NODIRATIME | RELATIME | NOSYMFOLLOW;
    /// Propagation changes.
    pub const PROPAGATION: u64 = UNBINDABLE | PRIVATE | SLAVE | SHARED;
    /// Accepted by mount(2): the magic number in the high half is ignored.
    pub const MAGIC_MASK: u64 = 0xffff_0000;
}

/// One mount.
pub struct Mount {
    /// The id /proc shows.
    pub id: u32,
    /// The mount this one is attached to (its own id for the root).
    pub parent: u32,
    /// The canonical mount point.
    pub point: Vec<u8>,
    /// The root of what is mounted.
    pub root: Arc<dyn Inode>,
    /// Filesystem type, as /proc/mounts shows it.
    pub fstype: String,
    /// Source, as /proc/mounts shows it.
    pub source: String,
    /// Filesystem options for /proc/mounts (after the per-mount ones).
    pub fs_opts: String,
    flags: AtomicU32,
    /// Marked by a first umount2(MNT_EXPIRE).
    pub expiring: AtomicBool,
}

fn next_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// EROFS if `loc` is in a read-only mount (Linux's mnt_want_write).
pub fn writable(loc: &Location) -> KResult<()> {
    if loc.ns.mount_of(loc).read_only() {
        return Err(Errno::EROFS);
    }
    Ok(())
}

/// Whether two inodes are the same object.
pub fn same_inode(a: &Arc<dyn Inode>, b: &Arc<dyn Inode>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

impl Mount {
    fn new(parent: Option<u32>, point: &[u8], root: Arc<dyn Inode>, fstype: &str, source: &str, fs_opts: &str, flags: u64) -> Mount {
        let id = next_id();
        Mount {
            id,
            parent: parent.unwrap_or(id),
            point: point.to_vec(),
            root,
            fstype: fstype.into(),
            source: source.into(),
            fs_opts: fs_opts.into(),
            flags: AtomicU32::new((flags & ms::PER_MOUNT) as u32),
            expiring: AtomicBool::new(false),
        }
    }

    /// The per-mount flags (`ms::PER_MOUNT` bits).
    pub fn flags(&self) -> u64 {
        u64::from(self.flags.load(Ordering::Relaxed))
    }

    /// Replace the per-mount flags (a bind remount).
    pub fn set_flags(&self, f: u64) {
        self.flags.store((f & ms::PER_MOUNT) as u32, Ordering::Relaxed);
    }

    /// Mounted read-only.
    pub fn read_only(&self) -> bool {
        self.flags() & ms::RDONLY != 0
    }

    /// The per-mount options as /proc shows them ("rw,nosuid,relatime").
    pub fn opts(&self) -> String {
        let f = self.flags();
        let mut s = String::from(if f & ms::RDONLY != 0 { "ro" } else { "rw" });
        for (bit, name) in [(ms::NOSUID, "nosuid"), (ms::NODEV, "nodev"), (ms::NOEXEC, "noexec"), (ms::NOATIME, "noatime"), (ms::NODIRATIME, "nodiratime")] {
            if f & bit != 0 {
                s.push(',');
                s.push_str(name);
            }
        }
        if f & ms::NOATIME == 0 {
            s.push_str(",relatime");
        }
        s
    }

    fn copy(&self) -> Mount {
        Mount {
            id: next_id(),
            parent: self.parent,
            point: self.point.clone(),
            root: self.root.clone(),
            fstype: self.fstype.clone(),
            source: self.source.clone(),
            fs_opts: self.fs_opts.clone(),
            flags: AtomicU32::new(self.flags.load(Ordering::Relaxed)),
            expiring: AtomicBool::new(false),
        }
    }
}

/// A mount namespace: the root mount and the mounts on top, by point.
pub struct MountNs {
    root: Arc<Mount>,
    table: RwLock<HashMap<Vec<u8>, Vec<Arc<Mount>>>>,
    /// The last component of every point in `table` (remade whenever it
    /// changes), for [`MountNs::maybe_point`]: every component a walk
    /// passes is checked against it.
    ends: RwLock<std::collections::HashSet<Vec<u8>>>,
}

/// The last components of the points of `t`.
fn ends_of(t: &HashMap<Vec<u8>, Vec<Arc<Mount>>>) -> std::collections::HashSet<Vec<u8>> {
    t.keys().filter_map(|p| p.rsplit(|&c| c == b'/').next()).filter(|e| !e.is_empty()).map(<[u8]>::to_vec).collect()
}

impl MountNs {
    /// A namespace whose root mount is `root`.
    pub fn new(root: Arc<dyn Inode>, fstype: &str, source: &str, flags: u64) -> Arc<MountNs> {
        Arc::new(MountNs { root: Arc::new(Mount::new(None, b"/", root, fstype, source, "", flags)), table: RwLock::new(HashMap::new()), ends: RwLock::default() })
    }

    /// The root mount.
    pub fn root(&self) -> &Arc<Mount> {
        &self.root
    }

    /// The inode mounted on top at `point`, if any.
    pub fn at(&self, point: &[u8]) -> Option<Arc<dyn Inode>> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        if t.is_empty() {
            return None;
        }
        t.get(point).and_then(|v| v.last()).map(|m| m.root.clone())
    }

    /// Whether a mount point ends in the component `name`: a walk builds
    /// the child's path and looks it up only then.
    pub fn maybe_point(&self, name: &[u8]) -> bool {
        self.ends.read().unwrap_or_else(|e| e.into_inner()).contains(name)
    }

    /// Attach `root` at the location `at` (on top of what is there).
    pub fn add(&self, at: &Location, root: Arc<dyn Inode>, fstype: &str, source: &str, fs_opts: &str, flags: u64) -> Arc<Mount> {
        let parent = self.mount_of(at).id;
        self.insert(Mount::new(Some(parent), &at.path(), root, fstype, source, fs_opts, flags))
    }

    /// Attach `root` at the canonical path `point`, on the root mount.
    pub fn add_path(&self, point: &[u8], root: Arc<dyn Inode>, fstype: &str, source: &str, fs_opts: &str, flags: u64) -> Arc<Mount> {
        self.insert(Mount::new(Some(self.root.id), point, root, fstype, source, fs_opts, flags))
    }

    fn insert(&self, m: Mount) -> Arc<Mount> {
        let m = Arc::new(m);
        let mut t = self.table.write().unwrap_or_else(|e| e.into_inner());
        t.entry(m.point.clone()).or_default().push(m.clone());
        *self.ends.write().unwrap_or_else(|e| e.into_inner()) = ends_of(&t);
        m
    }

    /// The mount the location `loc` is in: the deepest one it walked
    /// through.
    pub fn mount_of(&self, loc: &Location) -> Arc<Mount> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        if !t.is_empty() {
            let mut path = loc.path();
            for depth in (1..=loc.names.len()).rev() {
                if let Some(stack) = t.get(&path) {
                    if let Some(m) = stack.iter().rev().find(|m| same_inode(&m.root, &loc.inodes[depth])) {
                        return m.clone();
                    }
                }
                let cut = path.len() - loc.names[depth - 1].len() - 1;
                path.truncate(cut.max(1));
            }
        }
        self.root.clone()
    }

    /// The mount whose root `loc` is exactly, if any (umount's target).
    pub fn mount_rooted_at(&self, loc: &Location) -> Option<Arc<Mount>> {
        if loc.names.is_empty() {
            return None;
        }
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        t.get(&loc.path())?.iter().rev().find(|m| same_inode(&m.root, loc.inode())).cloned()
    }

    /// Detach the mount `m` (and every mount beneath its point, as
    /// MNT_DETACH of a tree does).
    pub fn remove(&self, m: &Arc<Mount>) {
        let mut t = self.table.write().unwrap_or_else(|e| e.into_inner());
        if let Some(stack) = t.get_mut(&m.point) {
            stack.retain(|x| !Arc::ptr_eq(x, m));
            if stack.is_empty() {
                t.remove(&m.point);
            }
        }
        let mut prefix = m.point.clone();
        prefix.push(b'/');
        t.retain(|p, _| !p.starts_with(&prefix));
        *self.ends.write().unwrap_or_else(|e| e.into_inner()) = ends_of(&t);
    }

    /// Whether a mount sits beneath `m`'s point (it cannot be unmounted
    /// without MNT_DETACH then).
    pub fn has_children(&self, m: &Mount) -> bool {
        let mut prefix = m.point.clone();
        prefix.push(b'/');
        self.table.read().unwrap_or_else(|e| e.into_inner()).keys().any(|p| p.starts_with(&prefix))
    }

    /// A copy for `unshare(CLONE_NEWNS)`.
    pub fn copy(&self) -> Arc<MountNs> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        let table = t.iter().map(|(p, v)| (p.clone(), v.iter().map(|m| Arc::new(m.copy())).collect())).collect();
        let ends = RwLock::new(ends_of(&table));
        Arc::new(MountNs { root: Arc::new(self.root.copy()), table: RwLock::new(table), ends })
    }

    /// MS_BIND|MS_REC: copy every mount beneath `from` (a canonical path;
    /// taken from `src`, the namespace of the source) beneath `to`, in
    /// mount order, flags and all. `top` maps the source's mount id to the
    /// new bind mount's, so that the copies hang from their copied parents.
    pub fn copy_submounts(&self, src: &MountNs, from: &[u8], to: &[u8], top: (u32, u32)) {
        let mut ids = HashMap::from([top]);
        let mut prefix = from.to_vec();
        if prefix.last() != Some(&b'/') {
            prefix.push(b'/');
        }
        let under: Vec<Arc<Mount>> = src.list().into_iter().skip(1).filter(|m| m.point.starts_with(&prefix)).collect();
        for m in under {
            let mut point = to.to_vec();
            if point.last() != Some(&b'/') {
                point.push(b'/');
            }
            point.extend_from_slice(&m.point[prefix.len()..]);
            let mut c = m.copy();
            c.point = point;
            c.parent = ids.get(&m.parent).copied().unwrap_or(top.1);
            ids.insert(m.id, c.id);
            self.insert(c);
        }
    }

    /// Every mount, the root first, then by id.
    pub fn list(&self) -> Vec<Arc<Mount>> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<Arc<Mount>> = t.values().flatten().cloned().collect();
        v.sort_by_key(|m| m.id);
        v.insert(0, self.root.clone());
        v
    }

}
