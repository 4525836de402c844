//! Confinement of runsc's own processes: the seccomp rule list of each
//! role (data: one rule per host syscall, with the reason it is needed,
//! compiled with seccompiler; anything else kills the process), and the
//! gofer's jail (its own mount, network, IPC and UTS namespaces, whose
//! root is a small tmpfs holding only /proc and the tree it serves).
//! `runsc help seccomp` prints the lists (docs/security.md is made from
//! it, so that the two cannot drift).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use seccompiler::{SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch};

/// One allowed host syscall.
pub struct Rule {
    pub name: &'static str,
    pub nr: i64,
    /// When set: argument `.0` must be one of `.1` (ioctl requests, fcntl
    /// commands).
    pub args: Option<(u8, &'static [u64])>,
    pub why: &'static str,
}

const fn rule(name: &'static str, nr: i64, why: &'static str) -> Rule {
    Rule { name, nr, args: None, why }
}

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
        args: Some((1, &[libc::F_GETFD as u64, libc::F_SETFD as u64, libc::F_GETFL as u64, libc::F_SETFL as u64, libc::F_DUPFD_CLOEXEC as u64])),
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

/// The compiled filter of `rules`: allowed calls pass, anything else
/// kills the whole process.
pub fn compile(rules: &[Rule]) -> anyhow::Result<seccompiler::BpfProgram> {
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for r in rules {
        let entry = map.entry(r.nr).or_default();
        if let Some((arg, values)) = r.args {
            for &v in values {
                let c = SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, v)?;
                entry.push(SeccompRule::new(vec![c])?);
            }
        }
    }
    let filter = SeccompFilter::new(map, SeccompAction::KillProcess, SeccompAction::Allow, TargetArch::x86_64)?;
    Ok(filter.try_into()?)
}

/// Install the filter of `rules` on every thread of this process (with
/// no_new_privs, which seccompiler sets first).
pub fn install(rules: &[Rule]) -> anyhow::Result<()> {
    let prog = compile(rules)?;
    seccompiler::apply_filter_all_threads(&prog).context("installing the seccomp filter")?;
    // The test-only hook: prove that the filter kills (tests/tests/confine.rs).
    if std::env::var_os("RUNSC_TEST_FORBIDDEN_SYSCALL").is_some() {
        #[allow(unsafe_code)]
        // SAFETY: getppid takes no arguments and touches no memory; under
        // the filter it does not return.
        unsafe {
            libc::syscall(libc::SYS_getppid);
        }
    }
    Ok(())
}

/// Jail the gofer serving `dir`: new mount, network, IPC and UTS
/// namespaces; a tmpfs root holding `/proc` and `/root`, the latter a
/// (recursive) bind of `dir` (read-only when `read_only`); pivot_root into
/// it, the host's tree let go. Returns the directory to serve, `/root`.
pub fn gofer_jail(dir: &Path, read_only: bool) -> anyhow::Result<PathBuf> {
    use nix::mount::{mount, umount2, MntFlags, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    if dir.starts_with("/proc") {
        anyhow::bail!("a gofer cannot serve {}", dir.display());
    }
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS)
        .context("unshare of the gofer's namespaces")?;
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).context("making mounts private")?;
    // The new root is a tmpfs staged on /proc (in this namespace only; a
    // mount over the served path would hide it from the bind below).
    let stage = Path::new("/proc");
    mount(Some("tmpfs"), stage, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("size=64k,mode=0755"))
        .context("the gofer's root tmpfs")?;
    std::fs::create_dir(stage.join("root")).context("making /root")?;
    std::fs::create_dir(stage.join("proc")).context("making /proc")?;
    mount(Some(dir), &stage.join("root"), none, MsFlags::MS_BIND | MsFlags::MS_REC, none).context("binding the served tree")?;
    if read_only {
        let flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
        mount(none, &stage.join("root"), none, flags, none).context("making the served tree read-only")?;
    }
    mount(Some("proc"), &stage.join("proc"), Some("proc"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC, none)
        .context("mounting /proc")?;
    nix::unistd::chdir(stage).context("chdir to the new root")?;
    nix::unistd::pivot_root(".", ".").context("pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH).context("letting go of the host's tree")?;
    nix::unistd::chdir("/").context("chdir /")?;
    Ok(PathBuf::from("/root"))
}

/// The rule lists as Markdown (docs/security.md's tables).
pub fn markdown() -> String {
    let mut out = String::new();
    for (role, rules) in [("gofer", GOFER)] {
        out += &format!("### {role}: {} host syscalls\n\n| syscall | arguments | why |\n|---|---|---|\n", rules.len());
        for r in rules {
            let args = match r.args {
                Some((i, v)) => format!("arg{i} in {v:?}"),
                None => "any".into(),
            };
            out += &format!("| {} | {args} | {} |\n", r.name, r.why);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_compile_and_stay_small() {
        assert!(compile(GOFER).is_ok());
        assert!(GOFER.len() < 40, "the gofer's target is under 40 syscalls");
        let mut names: Vec<&str> = GOFER.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), GOFER.len(), "one rule per syscall");
    }

    #[test]
    fn docs_security_shows_these_lists() {
        let doc = include_str!("../../docs/security.md");
        assert!(doc.contains(&markdown()), "docs/security.md is stale: regenerate its tables with `runsc help seccomp`");
    }
}
