//! Discretionary access checks by uid, gid and mode, as Linux makes them
//! with the filesystem ids (here the effective ones). Root (euid 0) holds
//! what CAP_DAC_OVERRIDE, CAP_FOWNER and CAP_CHOWN give it.

use super::{mode, Attr};
use crate::errno::{Errno, KResult};
use crate::kernel::task::Creds;

/// Execute or search.
pub const MAY_EXEC: u32 = 1;
/// Write.
pub const MAY_WRITE: u32 = 2;
/// Read.
pub const MAY_READ: u32 = 4;

/// Whether `c` may access a file of attributes `a` as `want` (MAY_* bits).
pub fn permitted(c: &Creds, a: &Attr, want: u32) -> bool {
    if c.euid == 0 {
        // Root reads and writes anything, and executes what has an x bit
        // (a directory is always searchable).
        return want & MAY_EXEC == 0 || a.is_dir() || a.mode & 0o111 != 0;
    }
    let granted = if c.euid == a.uid {
        a.mode >> 6
    } else if c.egid == a.gid || c.groups.contains(&a.gid) {
        a.mode >> 3
    } else {
        a.mode
    } & 7;
    want & !granted == 0
}

/// EACCES unless [`permitted`].
pub fn check(c: &Creds, a: &Attr, want: u32) -> KResult<()> {
    if permitted(c, a, want) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// The file's owner or root (what chmod and explicit utimes need).
pub fn owner_or_root(c: &Creds, a: &Attr) -> bool {
    c.euid == 0 || c.euid == a.uid
}

/// May `c` add or remove names in directory `dir`: write and search.
pub fn may_modify_dir(c: &Creds, dir: &Attr) -> KResult<()> {
    check(c, dir, MAY_WRITE | MAY_EXEC)
}

/// May `c` remove (or rename away) `victim` from `dir`: the directory's
/// permission, then the sticky bit (only the file's or the directory's
/// owner, or root).
pub fn may_delete(c: &Creds, dir: &Attr, victim: &Attr) -> KResult<()> {
    may_modify_dir(c, dir)?;
    if dir.mode & mode::S_ISVTX != 0 && c.euid != 0 && c.euid != victim.uid && c.euid != dir.uid {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// chown by `c` to `uid`/`gid` (None: unchanged) of a file of attributes
/// `a`: EPERM unless root, or the owner keeping the owner and choosing one
/// of its own groups.
pub fn may_chown(c: &Creds, a: &Attr, uid: Option<u32>, gid: Option<u32>) -> KResult<()> {
    if c.euid == 0 {
        return Ok(());
    }
    let uid_ok = uid.is_none_or(|u| u == a.uid && u == c.euid);
    let gid_ok = gid.is_none_or(|g| g == a.gid || (c.euid == a.uid && (g == c.egid || c.groups.contains(&g))));
    // Even a no-op change of the group needs ownership.
    let owner_ok = c.euid == a.uid || (uid.is_none() && gid.is_none());
    if uid_ok && gid_ok && owner_ok {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}
