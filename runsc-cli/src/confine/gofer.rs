//! The gofer's confinement: its rule list and its jail (its own mount,
//! network, IPC and UTS namespaces, whose root is a small tmpfs holding
//! only /proc and the tree it serves).

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{rule, Args, Rule};

/// The gofer, once it serves: file metadata and data fds beneath its
/// root, and its socket to the sentry.
pub const GOFER: &[Rule] = &[
    rule("recvmsg", libc::SYS_recvmsg, "requests from the sentry"),
    rule("sendmsg", libc::SYS_sendmsg, "replies, with donated fds (SCM_RIGHTS)"),
    rule("poll", libc::SYS_poll, "waiting for the next request"),
    rule("sched_yield", libc::SYS_sched_yield, "the short spin before sleeping on the socket"),
    rule("openat", libc::SYS_openat, "walks and opens, one component at a time with O_NOFOLLOW"),
    rule("newfstatat", libc::SYS_newfstatat, "attributes (fstatat with AT_EMPTY_PATH on fids)"),
    rule("fstatfs", libc::SYS_fstatfs, "statfs of a fid"),
    rule("getdents64", libc::SYS_getdents64, "directory listings"),
    rule("lseek", libc::SYS_lseek, "rewinding a directory for a listing"),
    rule("readlinkat", libc::SYS_readlinkat, "symlink targets"),
    rule("close", libc::SYS_close, "closing fids and donated fds"),
    Rule {
        name: "fcntl",
        nr: libc::SYS_fcntl,
        args: Args::OneOf(1, &[libc::F_GETFD as u64, libc::F_SETFD as u64, libc::F_GETFL as u64, libc::F_SETFL as u64, libc::F_DUPFD_CLOEXEC as u64]),
        why: "fd flags and close-on-exec duplicates only",
    },
    rule("mkdirat", libc::SYS_mkdirat, "mkdir"),
    rule("mknodat", libc::SYS_mknodat, "mknod of regular files, FIFOs and sockets (devices are refused before)"),
    rule("symlinkat", libc::SYS_symlinkat, "symlink"),
    rule("linkat", libc::SYS_linkat, "hard links"),
    rule("unlinkat", libc::SYS_unlinkat, "unlink and rmdir"),
    rule("renameat", libc::SYS_renameat, "rename"),
    rule("fchmodat", libc::SYS_fchmodat, "chmod through /proc/self/fd"),
    rule("fchownat", libc::SYS_fchownat, "chown, and the owner of new files"),
    rule("truncate", libc::SYS_truncate, "truncate through /proc/self/fd"),
    rule("utimensat", libc::SYS_utimensat, "file times"),
    rule("getxattr", libc::SYS_getxattr, "user.* extended attributes through /proc/self/fd"),
    rule("setxattr", libc::SYS_setxattr, "user.* extended attributes"),
    rule("listxattr", libc::SYS_listxattr, "user.* extended attributes"),
    rule("removexattr", libc::SYS_removexattr, "user.* extended attributes"),
    rule("fgetxattr", libc::SYS_fgetxattr, "user.* extended attributes of open files"),
    rule("flistxattr", libc::SYS_flistxattr, "user.* extended attributes of open files"),
    rule("write", libc::SYS_write, "log lines to stderr"),
    rule("mmap", libc::SYS_mmap, "the allocator"),
    rule("munmap", libc::SYS_munmap, "the allocator"),
    rule("mremap", libc::SYS_mremap, "the allocator"),
    rule("brk", libc::SYS_brk, "the allocator"),
    rule("madvise", libc::SYS_madvise, "the allocator"),
    rule("futex", libc::SYS_futex, "the standard library's locks"),
    rule("rt_sigprocmask", libc::SYS_rt_sigprocmask, "the standard library"),
    rule("sigaltstack", libc::SYS_sigaltstack, "the standard library's exit"),
    rule("exit", libc::SYS_exit, "exit"),
    rule("exit_group", libc::SYS_exit_group, "exit"),
];

/// Jail the gofer serving `dir`: new mount, network, IPC and UTS
/// namespaces; a tmpfs root holding `/proc` and `/root`, the latter a
/// (recursive) bind of `dir` (read-only when `read_only`); pivot_root into
/// it, the host's tree let go. Returns the directory to serve, `/root`.
pub fn gofer_jail(dir: &Path, read_only: bool) -> anyhow::Result<PathBuf> {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    if dir.starts_with("/proc") {
        anyhow::bail!("a gofer cannot serve {}", dir.display());
    }
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS)
        .context("unshare of the gofer's namespaces")?;
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).context("making mounts private")?;
    super::pivot_into_tmpfs("size=64k,mode=0755", |stage| {
        std::fs::create_dir(stage.join("root")).context("making /root")?;
        mount(Some(dir), &stage.join("root"), none, MsFlags::MS_BIND | MsFlags::MS_REC, none).context("binding the served tree")?;
        if read_only {
            let flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
            mount(none, &stage.join("root"), none, flags, none).context("making the served tree read-only")?;
        }
        Ok(())
    })?;
    Ok(PathBuf::from("/root"))
}

