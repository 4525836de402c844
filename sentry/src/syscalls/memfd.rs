//! memfd_create(2): unnamed files in memory (the seals they take are the
//! overlay's memory nodes', `fcntl` F_ADD_SEALS/F_GET_SEALS in `file`).

use super::Sc;
use crate::errno::{Errno, KResult};
use crate::vfs::oflags::O_RDWR;
use crate::vfs::{File, Inode};

/// Implements memfd_create(2): an unnamed file in memory, read-write,
/// that /proc shows as "/memfd:NAME (deleted)". Its seals: F_SEAL_SEAL
/// (none may be added) unless MFD_ALLOW_SEALING; MFD_NOEXEC_SEAL makes it
/// 0666 and F_SEAL_EXEC-sealed (and sealable). MFD_HUGETLB is EINVAL (no
/// huge-page filesystem here, as a kernel without hugetlbfs says).
pub fn sys_memfd_create(sc: &mut Sc<'_>, a: [u64; 6]) -> KResult<u64> {
    const MFD_CLOEXEC: u64 = 1;
    const MFD_ALLOW_SEALING: u64 = 2;
    const MFD_HUGETLB: u64 = 4;
    const MFD_NOEXEC_SEAL: u64 = 8;
    const MFD_EXEC: u64 = 0x10;
    /// Longest name (Linux's MFD_NAME_MAX_LEN: NAME_MAX less "memfd:").
    const NAME_MAX: usize = 249;
    let flags = a[1] as u32 as u64;
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC) != 0
        || flags & MFD_HUGETLB != 0
        || flags & (MFD_EXEC | MFD_NOEXEC_SEAL) == MFD_EXEC | MFD_NOEXEC_SEAL
    {
        return Err(Errno::EINVAL);
    }
    let t = sc.task;
    let name = t.mm().read_cstring(a[0], NAME_MAX).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::EINVAL } else { e })?;
    let fs = t.kernel.memfds.get_or_init(|| crate::fs::overlay::Node::new_tmpfs(0o1777, t.kernel.mf.clone()));
    let c = t.creds();
    let noexec = flags & MFD_NOEXEC_SEAL != 0;
    let inode = fs.create_unnamed(if noexec { 0o666 } else { 0o777 }, c.euid, c.egid)?;
    let node = inode.as_any().downcast_ref::<crate::fs::overlay::Node>().ok_or(Errno::EIO)?;
    use crate::vfs::seals::{F_SEAL_EXEC, F_SEAL_SEAL};
    node.set_seals(match (noexec, flags & MFD_ALLOW_SEALING != 0) {
        (true, _) => F_SEAL_EXEC,
        (false, true) => 0,
        (false, false) => F_SEAL_SEAL,
    });
    let ops = inode.clone().open_task(t, O_RDWR)?;
    let mut path = b"/memfd:".to_vec();
    path.extend_from_slice(&name);
    path.extend_from_slice(b" (deleted)");
    super::file::install(t, File::new(ops, inode, path, O_RDWR), flags & MFD_CLOEXEC != 0)
}
