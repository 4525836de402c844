//! Path resolution: a walk component by component from the root or a
//! starting directory, with `..` handled on the walked stack (never above
//! the root), symlinks followed up to 40 times (ELOOP), and mount points
//! looked up by canonical path.

use std::sync::Arc;

use super::mount::{same_inode, MountNs};
use super::{mode, perm, Attr, Inode};
use crate::kernel::task::Creds;
use crate::errno::{Errno, KResult};
use crate::kernel::Kernel;

/// Longest path accepted.
pub const PATH_MAX: usize = 4096;
/// Longest name.
pub const NAME_MAX: usize = 255;
const MAX_SYMLINKS: usize = 40;

/// A resolved location: the canonical path and the inodes along it (the
/// root first).
#[derive(Clone)]
pub struct Location {
    /// Names from the root.
    pub names: Vec<Vec<u8>>,
    /// Inodes from the root; one more than `names`.
    pub inodes: Vec<Arc<dyn Inode>>,
    /// The mount namespace the location was reached in.
    pub ns: Arc<MountNs>,
    /// The count of renames its names are current to (see [`super::moves`]).
    pub gen: u64,
}

impl Location {
    /// The root location.
    pub fn root(root: Arc<dyn Inode>, ns: Arc<MountNs>) -> Location {
        Location { names: Vec::new(), inodes: vec![root], ns, gen: super::moves::done() }
    }

    /// Whether this is the same place as `other` (not merely the same
    /// path: a mount may have been stacked on it since).
    pub fn same(&self, other: &Location) -> bool {
        self.names == other.names && same_inode(self.inode(), other.inode())
    }

    /// Whether `root` is this location or one of its ancestors.
    pub fn is_beneath(&self, root: &Location) -> bool {
        let n = root.names.len();
        self.names.len() >= n && self.names[..n] == root.names[..] && same_inode(&self.inodes[n], root.inode())
    }

    /// The path as seen by a task whose root is `root`: relative to it, or
    /// "(unreachable)" and the full path for a place outside it (Linux's
    /// d_path).
    pub fn path_from(&self, root: &Location) -> Vec<u8> {
        if !self.is_beneath(root) {
            let mut p = b"(unreachable)".to_vec();
            p.extend_from_slice(&self.path());
            return p;
        }
        let mut p = Vec::new();
        for n in &self.names[root.names.len()..] {
            p.push(b'/');
            p.extend_from_slice(n);
        }
        if p.is_empty() {
            p.push(b'/');
        }
        p
    }

    /// The inode designated.
    pub fn inode(&self) -> &Arc<dyn Inode> {
        self.inodes.last().expect("a location always has the root")
    }

    /// The canonical absolute path.
    pub fn path(&self) -> Vec<u8> {
        if self.names.is_empty() {
            return b"/".to_vec();
        }
        let mut p = Vec::new();
        for n in &self.names {
            p.push(b'/');
            p.extend_from_slice(n);
        }
        p
    }

    /// A place for a file with no path of its own (a pipe, a socket, an
    /// unnamed file): `inode`, as if named `name` in `root`.
    pub fn beside(root: &Location, name: Vec<u8>, inode: Arc<dyn Inode>) -> Location {
        let mut l = root.clone();
        l.push(name, inode);
        l
    }

    fn push(&mut self, name: Vec<u8>, inode: Arc<dyn Inode>) {
        self.names.push(name);
        self.inodes.push(inode);
    }

    fn pop(&mut self) {
        if !self.names.is_empty() {
            self.names.pop();
            self.inodes.pop();
        }
    }
}

/// How to treat the final component.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Follow a final symlink.
    Yes,
    /// Do not (lstat, O_NOFOLLOW, unlink).
    No,
}

/// openat2's RESOLVE_* restrictions on a walk.
#[derive(Clone, Default)]
pub struct Walk {
    /// RESOLVE_BENEATH: never leave this directory (EXDEV).
    pub beneath: Option<Location>,
    /// RESOLVE_NO_SYMLINKS: ELOOP at any symlink.
    pub no_symlinks: bool,
    /// RESOLVE_NO_MAGICLINKS: ELOOP at a /proc magic link.
    pub no_magic: bool,
    /// RESOLVE_NO_XDEV: EXDEV when crossing a mount.
    pub no_xdev: bool,
    /// RESOLVE_BENEATH or RESOLVE_IN_ROOT: a magic link is EXDEV.
    pub scoped: bool,
}

/// Result of resolving the parent of a path: the directory and last name.
pub struct Parent {
    /// The directory.
    pub dir: Location,
    /// Final component ("" for "/", "." or ".." are reported as is).
    pub name: Vec<u8>,
    /// The path ended with '/'.
    pub trailing_slash: bool,
}

impl Kernel {
    /// The child `name` of `loc`, whose attributes are `a` (its inode's
    /// when None), and whether it is a mount's root.
    fn step(&self, loc: &Location, a: Option<Attr>, name: &[u8], creds: Option<&Creds>) -> KResult<(Arc<dyn Inode>, bool)> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let dir = loc.inode();
        let a = match a {
            Some(a) => a,
            None => dir.stat()?,
        };
        if !a.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        // Search permission on every directory walked through.
        if let Some(c) = creds {
            perm::check(c, &a, perm::MAY_EXEC)?;
        }
        if loc.ns.maybe_point(name) {
            let mut child_path = loc.path();
            if child_path.len() > 1 {
                child_path.push(b'/');
            } else {
                child_path.clear();
                child_path.push(b'/');
            }
            child_path.extend_from_slice(name);
            if let Some(m) = loc.ns.at(&child_path) {
                return Ok((m, true));
            }
        }
        Ok((dir.lookup(name)?, false))
    }

    /// Resolve `path` starting at `start` (used for relative paths) with
    /// `root` as "/", checking search permission for `creds` (None: the
    /// sentry's own walks, such as re-resolving an open directory).
    pub fn resolve(&self, root: &Location, start: &Location, path: &[u8], follow: Follow, creds: Option<&Creds>) -> KResult<Location> {
        self.resolve_with(root, start, path, follow, creds, &Walk::default())
    }

    /// [`Kernel::resolve`] under openat2's restrictions `walk`.
    pub fn resolve_with(&self, root: &Location, start: &Location, path: &[u8], follow: Follow, creds: Option<&Creds>, walk: &Walk) -> KResult<Location> {
        let mut budget = MAX_SYMLINKS;
        self.resolve_inner(root, start, path, follow, &mut budget, creds, walk)
    }

    fn resolve_inner(
        &self,
        root: &Location,
        start: &Location,
        path: &[u8],
        follow: Follow,
        budget: &mut usize,
        creds: Option<&Creds>,
        walk: &Walk,
    ) -> KResult<Location> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if path[0] == b'/' && walk.beneath.is_some() {
            return Err(Errno::EXDEV);
        }
        // From where the start is now, if renames moved it.
        let mut loc = if path[0] == b'/' { root.current() } else { start.current() };
        let trailing_slash = path.ends_with(b"/");
        let comps: Vec<&[u8]> = path.split(|&c| c == b'/').filter(|c| !c.is_empty()).collect();
        let n = comps.len();
        // The attributes of loc's inode, when the last step read them.
        let mut here: Option<Attr> = None;
        for (i, comp) in comps.into_iter().enumerate() {
            let last = i + 1 == n;
            let known = here.take();
            match comp {
                b"." => {
                    if !loc.inode().stat()?.is_dir() {
                        return Err(Errno::ENOTDIR);
                    }
                }
                b".." => {
                    if !loc.inode().stat()?.is_dir() {
                        return Err(Errno::ENOTDIR);
                    }
                    if walk.beneath.as_ref().is_some_and(|b| loc.same(b)) {
                        return Err(Errno::EXDEV);
                    }
                    // ".." of the root stays there; elsewhere (even in a
                    // cwd outside a chroot) it goes up.
                    if !loc.same(root) {
                        if walk.no_xdev && loc.ns.mount_rooted_at(&loc).is_some() {
                            return Err(Errno::EXDEV);
                        }
                        loc.pop();
                    }
                }
                _ => {
                    let (child, mount) = self.step(&loc, known, comp, creds)?;
                    if mount && walk.no_xdev {
                        return Err(Errno::EXDEV);
                    }
                    let a = child.stat()?;
                    if a.kind() == mode::S_IFLNK && (!last || follow == Follow::Yes || trailing_slash) {
                        if walk.no_symlinks || (walk.no_magic && child.magic_link()) {
                            return Err(Errno::ELOOP);
                        }
                        if *budget == 0 {
                            return Err(Errno::ELOOP);
                        }
                        *budget -= 1;
                        if let Some(to) = child.magic_target() {
                            if walk.scoped {
                                return Err(Errno::EXDEV);
                            }
                            loc = to?;
                            continue;
                        }
                        let target = child.readlink()?;
                        loc = self.resolve_inner(root, &loc, &target, Follow::Yes, budget, creds, walk)?;
                        continue;
                    }
                    loc.push(comp.to_vec(), child);
                    here = Some(a);
                }
            }
        }
        if trailing_slash && !loc.inode().stat()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(loc)
    }

    /// Resolve all but the last component.
    pub fn resolve_parent(&self, root: &Location, start: &Location, path: &[u8], creds: Option<&Creds>) -> KResult<Parent> {
        self.resolve_parent_with(root, start, path, creds, &Walk::default())
    }

    /// [`Kernel::resolve_parent`] under openat2's restrictions `walk`.
    pub fn resolve_parent_with(&self, root: &Location, start: &Location, path: &[u8], creds: Option<&Creds>, walk: &Walk) -> KResult<Parent> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let trailing_slash = path.ends_with(b"/");
        let trimmed: &[u8] = {
            let mut t = path;
            while t.len() > 1 && t.ends_with(b"/") {
                t = &t[..t.len() - 1];
            }
            t
        };
        let (dir_part, name) = match trimmed.iter().rposition(|&c| c == b'/') {
            Some(0) => (&b"/"[..], &trimmed[1..]),
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        let dir = if dir_part.is_empty() { start.clone() } else { self.resolve_with(root, start, dir_part, Follow::Yes, creds, walk)? };
        if !dir.inode().stat()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(Parent { dir, name: name.to_vec(), trailing_slash })
    }
}
