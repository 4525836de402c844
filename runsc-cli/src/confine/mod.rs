//! Confinement of runsc's own processes. Each role has a seccomp rule
//! list (data: one rule per host syscall, with the reason it is needed,
//! compiled with seccompiler; anything else kills the process) and a jail
//! (namespaces and a root of its own): [`gofer`] for the gofers, [`sentry`]
//! for the sandbox process. `runsc help seccomp` prints the lists
//! (docs/security.md carries them, and a test keeps the two the same).

pub mod gofer;
pub mod sentry;

use std::collections::BTreeMap;

use anyhow::Context;
use seccompiler::{SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch};

/// What a rule lets through.
#[derive(Clone, Copy, Debug)]
pub enum Args {
    /// Any arguments.
    Any,
    /// Argument `.0` is one of `.1` (ioctl requests, fcntl commands).
    OneOf(u8, &'static [u64]),
    /// Argument `.0` masked with `.1` equals `.2` (a flag that must be
    /// set, or must be clear).
    Masked(u8, u64, u64),
    /// Not allowed: the call fails with this errno instead of killing
    /// (clone3, so that the C library falls back to clone, whose flags a
    /// filter can read).
    Fails(u32),
    /// When argument `.0` masked with `.1` equals `.2`, the call fails
    /// with errno `.3` (a call the C library makes by itself and does
    /// without, whose allowed form another rule gives).
    FailsWhen(u8, u64, u64, u32),
}

/// One host syscall of a rule list.
pub struct Rule {
    pub name: &'static str,
    pub nr: i64,
    pub args: Args,
    pub why: &'static str,
}

/// A rule allowing `nr` with any arguments.
pub const fn rule(name: &'static str, nr: i64, why: &'static str) -> Rule {
    Rule { name, nr, args: Args::Any, why }
}

/// The number of host syscalls `rules` allow in some form.
pub fn allowed(rules: &[&Rule]) -> usize {
    let mut nrs: Vec<i64> = rules.iter().filter(|r| !matches!(r.args, Args::Fails(_) | Args::FailsWhen(..))).map(|r| r.nr).collect();
    nrs.sort_unstable();
    nrs.dedup();
    nrs.len()
}

/// What happens on a syscall outside the list: the process is killed
/// (SIGSYS). `RUNSC_SECCOMP_LOG=1` (a development aid, for finding what a
/// new code path needs) logs it to the kernel's audit log instead.
fn mismatch_action() -> SeccompAction {
    if std::env::var_os("RUNSC_SECCOMP_LOG").is_some() {
        SeccompAction::Log
    } else {
        SeccompAction::KillProcess
    }
}

/// The compiled filters of `rules`, in the order to install them: when
/// some calls fail with an errno, a filter giving it; then the allow-list
/// (anything else kills the whole process). The kernel takes the stricter
/// answer of the two.
pub fn compile(rules: &[&Rule]) -> anyhow::Result<Vec<seccompiler::BpfProgram>> {
    let mut allow: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut fails: BTreeMap<u32, BTreeMap<i64, Vec<SeccompRule>>> = BTreeMap::new();
    for r in rules {
        let entry = allow.entry(r.nr).or_default();
        match r.args {
            Args::Any => {}
            Args::OneOf(arg, values) => {
                for &v in values {
                    let c = SeccompCondition::new(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, v)?;
                    entry.push(SeccompRule::new(vec![c])?);
                }
            }
            Args::Masked(arg, mask, value) => {
                let c = SeccompCondition::new(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(mask), value)?;
                entry.push(SeccompRule::new(vec![c])?);
            }
            Args::Fails(errno) => {
                fails.entry(errno).or_default().insert(r.nr, Vec::new());
            }
            Args::FailsWhen(arg, mask, value, errno) => {
                // Let through by the allow-list, answered by the errno filter.
                let c = || SeccompCondition::new(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(mask), value);
                entry.push(SeccompRule::new(vec![c()?])?);
                fails.entry(errno).or_default().entry(r.nr).or_default().push(SeccompRule::new(vec![c()?])?);
            }
        }
    }
    // The allow-list goes in last: seccomp(2) itself is not on it.
    let mut progs = Vec::new();
    for (errno, map) in fails {
        progs.push(SeccompFilter::new(map, SeccompAction::Allow, SeccompAction::Errno(errno), TargetArch::x86_64)?.try_into()?);
    }
    progs.push(SeccompFilter::new(allow, mismatch_action(), SeccompAction::Allow, TargetArch::x86_64)?.try_into()?);
    Ok(progs)
}

/// Install the filters of `rules` on every thread of this process (with
/// no_new_privs, which seccompiler sets first). `role` names it for the
/// test-only hook.
pub fn install(role: &str, rules: &[&Rule]) -> anyhow::Result<()> {
    // A panic from here on is reported without a backtrace: resolving one
    // reads the binary and /proc, which the filter does not allow, and the
    // process would die of SIGSYS before saying what went wrong.
    std::panic::set_hook(Box::new(|info| {
        let t = std::thread::current();
        eprintln!("runsc: thread '{}' {info}", t.name().unwrap_or("?"));
    }));
    for prog in compile(rules)? {
        seccompiler::apply_filter_all_threads(&prog).context("installing the seccomp filter")?;
    }
    // Test-only: a panic on a thread under the filter is reported and
    // caught (RUNSC_TEST_PANIC=gofer or sentry; tests/tests/confine.rs).
    if std::env::var_os("RUNSC_TEST_PANIC").is_some_and(|r| r == role) {
        let _ = std::thread::spawn(|| panic!("test panic under the {} filter", "seccomp")).join();
    }
    // The test-only hook: prove that the filter kills
    // (RUNSC_TEST_FORBIDDEN_SYSCALL=gofer or sentry; tests/tests/confine.rs).
    if std::env::var_os("RUNSC_TEST_FORBIDDEN_SYSCALL").is_some_and(|r| r == role) {
        #[allow(unsafe_code)]
        // SAFETY: getppid takes no arguments and touches no memory; under
        // the filter it does not return.
        unsafe {
            libc::syscall(libc::SYS_getppid);
        }
    }
    Ok(())
}

/// /proc's mount flags in a jail.
const PROC_FLAGS: nix::mount::MsFlags =
    nix::mount::MsFlags::MS_NOSUID.union(nix::mount::MsFlags::MS_NODEV).union(nix::mount::MsFlags::MS_NOEXEC);

/// Pivot into a new root: a tmpfs (mount data `tmpfs_data`) staged on
/// /proc (in this mount namespace only: a mount over a served path would
/// hide it), filled by `populate` (given the staging directory), and
/// holding a /proc of this process's pid namespace. The host's tree is
/// let go and the working directory is the new `/`.
fn pivot_into_tmpfs(tmpfs_data: &str, populate: impl FnOnce(&std::path::Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    use nix::mount::{mount, umount2, MntFlags, MsFlags};
    let none: Option<&str> = None;
    let stage = std::path::Path::new("/proc");
    mount(Some("tmpfs"), stage, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(tmpfs_data)).context("the new root's tmpfs")?;
    populate(stage)?;
    std::fs::create_dir(stage.join("proc")).context("making /proc")?;
    mount(Some("proc"), &stage.join("proc"), Some("proc"), PROC_FLAGS, none).context("mounting /proc")?;
    nix::unistd::chdir(stage).context("chdir to the new root")?;
    nix::unistd::pivot_root(".", ".").context("pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH).context("letting go of the host's tree")?;
    nix::unistd::chdir("/").context("chdir /")?;
    Ok(())
}

/// The rule lists as Markdown (docs/security.md's tables).
pub fn markdown() -> String {
    let mut out = String::new();
    for (role, rules) in roles() {
        let refs: Vec<&Rule> = rules.iter().collect();
        out += &format!("### {role}: {} host syscalls\n\n| syscall | arguments | why |\n|---|---|---|\n", allowed(&refs));
        for r in rules {
            let args = match r.args {
                Args::Any => "any".into(),
                Args::OneOf(i, v) => format!("arg{i} in {v:#x?}").replace(['\n', ' '], "").replace(',', ", "),
                Args::Masked(i, m, v) => format!("arg{i} & {m:#x} == {v:#x}"),
                Args::Fails(e) => format!("fails with errno {e}"),
                Args::FailsWhen(i, m, v, e) => format!("arg{i} & {m:#x} == {v:#x}: fails with errno {e}"),
            };
            out += &format!("| {} | {args} | {} |\n", r.name, r.why);
        }
        out.push('\n');
    }
    out
}

/// Every rule list, by role.
fn roles() -> [(&'static str, &'static [Rule]); 6] {
    [
        ("gofer", gofer::GOFER),
        ("sentry", sentry::SENTRY),
        ("sentry, platform systrap adds", sentry::SYSTRAP),
        ("sentry, platform ptrace adds", sentry::PTRACE),
        ("sentry, directfs adds", sentry::DIRECTFS),
        ("sentry, --network=host adds", sentry::HOST_NETWORK),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_compile_and_stay_small() {
        for (role, rules) in roles() {
            let refs: Vec<&Rule> = rules.iter().collect();
            assert!(compile(&refs).is_ok(), "{role}");
            let mut names: Vec<&str> = rules.iter().filter(|r| !matches!(r.args, Args::FailsWhen(..))).map(|r| r.name).collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "{role}: one rule per syscall (beside what fails)");
        }
        let gofer: Vec<&Rule> = gofer::GOFER.iter().collect();
        assert!(allowed(&gofer) < 40, "the gofer's target is under 40 syscalls");
        for platform in ["systrap", "ptrace"] {
            let n = allowed(&sentry::rules(platform, true, false));
            assert!(n < 60, "the sentry's target is under 60 syscalls ({platform} with directfs has {n})");
        }
    }

    /// The kernel's seccomp action cache (Linux 5.11+, kernel/seccomp.c
    /// `seccomp_is_const_allow`): a syscall whose every filter allows it
    /// whatever its arguments skips the filters altogether. This emulates
    /// the kernel's check over one program for `nr`.
    fn const_allow(prog: &[seccompiler::sock_filter], nr: u32) -> bool {
        const ARCH_X86_64: u32 = 0xc000_003e;
        let (mut pc, mut a) = (0usize, 0u32);
        while let Some(i) = prog.get(pc) {
            pc += 1;
            let k = i.k;
            match i.code {
                // ld [nr] / ld [arch]: anything else is not constant.
                0x20 => match k {
                    0 => a = nr,
                    4 => a = ARCH_X86_64,
                    _ => return false,
                },
                0x06 => return k == libc::SECCOMP_RET_ALLOW,
                0x05 => pc += k as usize,
                0x15 | 0x35 | 0x25 | 0x45 => {
                    let t = match i.code {
                        0x15 => a == k,
                        0x35 => a >= k,
                        0x25 => a > k,
                        _ => a & k != 0,
                    };
                    pc += if t { i.jt } else { i.jf } as usize;
                }
                0x54 => a &= k,
                _ => return false,
            }
        }
        false
    }

    #[test]
    fn the_hot_host_syscalls_skip_the_filters() {
        // What every sentry thread calls per application syscall (spins,
        // hand-offs, file data); each pass through the filters cost as much
        // as the call itself on this VM.
        let hot = [
            libc::SYS_sched_yield,
            libc::SYS_futex,
            libc::SYS_pread64,
            libc::SYS_preadv,
            libc::SYS_pwritev,
            libc::SYS_newfstatat,
            libc::SYS_getdents64,
            libc::SYS_close,
        ];
        for platform in ["systrap", "ptrace"] {
            let progs = compile(&sentry::rules(platform, true, false)).unwrap();
            for nr in hot {
                for p in &progs {
                    assert!(const_allow(p, nr as u32), "{platform}: syscall {nr} runs a filter");
                }
            }
            // Calls checked by argument do run them.
            assert!(!progs.iter().all(|p| const_allow(p, libc::SYS_openat as u32)), "{platform}: openat");
        }
    }

    #[test]
    fn a_sentry_list_names_each_syscall_once() {
        for platform in ["systrap", "ptrace"] {
            let rules = sentry::rules(platform, true, true);
            let mut nrs: Vec<i64> = rules.iter().filter(|r| !matches!(r.args, Args::FailsWhen(..))).map(|r| r.nr).collect();
            let n = nrs.len();
            nrs.sort();
            nrs.dedup();
            assert_eq!(nrs.len(), n, "{platform}: a syscall in two of the lists");
        }
    }

    #[test]
    fn docs_security_shows_these_lists() {
        let doc = include_str!("../../../docs/security.md");
        assert!(doc.contains(&markdown()), "docs/security.md is stale: regenerate its tables with `runsc help seccomp`");
    }
}
