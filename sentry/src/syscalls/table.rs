//! The x86-64 syscall table.

use super::{attr, dir, file, futex, ids, mm, poll, process, signal, stat, time, wait, Handler};
use crate::errno::Errno;

/// How completely a syscall is served.
#[derive(Clone, Copy, Debug)]
pub enum Support {
    /// As Linux.
    Full,
    /// Served, with the named gaps.
    Partial(&'static str),
    /// Returns the errno; the note says why.
    Unimplemented(&'static str),
}

/// One syscall.
pub struct Entry {
    /// Number.
    pub nr: u64,
    /// Name.
    pub name: &'static str,
    /// Handler, or None when unimplemented.
    pub handler: Option<Handler>,
    /// Errno when unimplemented.
    pub errno: Errno,
    /// Support level.
    pub support: Support,
}

macro_rules! table {
    ($($nr:literal $name:ident => $h:expr, $sup:expr;)*) => {
        /// The table.
        pub static TABLE: &[Entry] = &[
            $(Entry { nr: $nr, name: stringify!($name), handler: $h, errno: Errno::ENOSYS, support: $sup },)*
        ];
    };
}

use Support::*;

const NOSYS: Option<Handler> = None;

table! {
    0 read => Some(file::sys_read), Full;
    1 write => Some(file::sys_write), Full;
    2 open => Some(file::sys_open), Partial("no O_TMPFILE");
    3 close => Some(file::sys_close), Full;
    4 stat => Some(stat::sys_stat), Full;
    5 fstat => Some(stat::sys_fstat), Full;
    6 lstat => Some(stat::sys_lstat), Full;
    7 poll => Some(poll::sys_poll), Partial("polls host fds and sentry files by readiness, in slices");
    8 lseek => Some(file::sys_lseek), Partial("no SEEK_DATA/SEEK_HOLE");
    9 mmap => Some(mm::sys_mmap), Partial("MAP_SHARED file mappings are private copies");
    10 mprotect => Some(mm::sys_mprotect), Full;
    11 munmap => Some(mm::sys_munmap), Full;
    12 brk => Some(mm::sys_brk), Full;
    13 rt_sigaction => Some(signal::sys_rt_sigaction), Full;
    14 rt_sigprocmask => Some(signal::sys_rt_sigprocmask), Full;
    15 rt_sigreturn => Some(signal::sys_rt_sigreturn), Partial("FXSAVE state only, no AVX state");
    16 ioctl => Some(file::sys_ioctl), Partial("terminal queries on host ttys, FIONREAD, FIOCLEX");
    17 pread64 => Some(file::sys_pread64), Full;
    18 pwrite64 => Some(file::sys_pwrite64), Full;
    19 readv => Some(file::sys_readv), Full;
    20 writev => Some(file::sys_writev), Full;
    21 access => Some(stat::sys_access), Partial("root: only existence and execute bits checked");
    22 pipe => Some(file::sys_pipe), Full;
    23 select => Some(poll::sys_select), Partial("as poll");
    24 sched_yield => Some(process::sys_sched_yield), Full;
    25 mremap => Some(mm::sys_mremap), Full;
    26 msync => Some(mm::sys_msync), Partial("no shared file mappings to write back");
    28 madvise => Some(mm::sys_madvise), Partial("DONTNEED frees; other advice accepted");
    32 dup => Some(file::sys_dup), Full;
    33 dup2 => Some(file::sys_dup2), Full;
    34 pause => Some(signal::sys_pause), Full;
    35 nanosleep => Some(time::sys_nanosleep), Full;
    37 alarm => NOSYS, Unimplemented("timers come with the process-model issue");
    39 getpid => Some(process::sys_getpid), Full;
    41 socket => NOSYS, Unimplemented("networking is not served yet");
    42 connect => NOSYS, Unimplemented("networking is not served yet");
    56 clone => Some(process::sys_clone), Partial("namespaces flags refused");
    57 fork => Some(process::sys_fork), Full;
    58 vfork => Some(process::sys_vfork), Full;
    59 execve => Some(process::sys_execve), Partial("other threads of a multi-threaded caller are not killed");
    60 exit => Some(process::sys_exit), Full;
    61 wait4 => Some(wait::sys_wait4), Partial("rusage is zeroed");
    62 kill => Some(signal::sys_kill), Full;
    63 uname => Some(process::sys_uname), Full;
    72 fcntl => Some(file::sys_fcntl), Partial("no locks, no leases");
    73 flock => NOSYS, Unimplemented("locks come with the filesystem issue");
    74 fsync => Some(file::sys_fsync), Full;
    75 fdatasync => Some(file::sys_fsync), Full;
    76 truncate => Some(attr::sys_truncate), Full;
    77 ftruncate => Some(attr::sys_ftruncate), Full;
    78 getdents => NOSYS, Unimplemented("only getdents64");
    79 getcwd => Some(dir::sys_getcwd), Full;
    80 chdir => Some(dir::sys_chdir), Full;
    81 fchdir => Some(dir::sys_fchdir), Full;
    82 rename => Some(dir::sys_rename), Full;
    83 mkdir => Some(dir::sys_mkdir), Full;
    84 rmdir => Some(dir::sys_rmdir), Full;
    86 link => Some(dir::sys_link), Full;
    87 unlink => Some(dir::sys_unlink), Full;
    88 symlink => Some(dir::sys_symlink), Full;
    89 readlink => Some(dir::sys_readlink), Full;
    90 chmod => Some(attr::sys_chmod), Full;
    91 fchmod => Some(attr::sys_fchmod), Full;
    92 chown => Some(attr::sys_chown), Full;
    93 fchown => Some(attr::sys_fchown), Full;
    94 lchown => Some(attr::sys_lchown), Full;
    95 umask => Some(attr::sys_umask), Full;
    96 gettimeofday => Some(time::sys_gettimeofday), Full;
    97 getrlimit => Some(ids::sys_getrlimit), Full;
    98 getrusage => Some(time::sys_getrusage), Partial("CPU times approximated by wall time");
    99 sysinfo => Some(time::sys_sysinfo), Full;
    100 times => Some(time::sys_times), Partial("CPU times approximated by wall time");
    102 getuid => Some(ids::sys_getuid), Full;
    104 getgid => Some(ids::sys_getgid), Full;
    105 setuid => Some(ids::sys_setuid), Partial("privilege is euid 0 (no capability sets yet)");
    106 setgid => Some(ids::sys_setgid), Partial("privilege is euid 0 (no capability sets yet)");
    107 geteuid => Some(ids::sys_geteuid), Full;
    108 getegid => Some(ids::sys_getegid), Full;
    109 setpgid => Some(ids::sys_setpgid), Full;
    110 getppid => Some(process::sys_getppid), Full;
    111 getpgrp => Some(ids::sys_getpgrp), Full;
    112 setsid => Some(ids::sys_setsid), Full;
    113 setreuid => Some(ids::sys_setreuid), Full;
    114 setregid => Some(ids::sys_setregid), Full;
    115 getgroups => Some(ids::sys_getgroups), Full;
    116 setgroups => Some(ids::sys_setgroups), Full;
    117 setresuid => Some(ids::sys_setresuid), Full;
    118 getresuid => Some(ids::sys_getresuid), Full;
    119 setresgid => Some(ids::sys_setresgid), Full;
    120 getresgid => Some(ids::sys_getresgid), Full;
    121 getpgid => Some(ids::sys_getpgid), Full;
    124 getsid => Some(ids::sys_getsid), Full;
    127 rt_sigpending => Some(signal::sys_rt_sigpending), Full;
    128 rt_sigtimedwait => Some(signal::sys_rt_sigtimedwait), Full;
    129 rt_sigqueueinfo => Some(signal::sys_rt_sigqueueinfo), Full;
    130 rt_sigsuspend => Some(signal::sys_rt_sigsuspend), Full;
    131 sigaltstack => Some(signal::sys_sigaltstack), Partial("recorded; frames go on the altstack when SA_ONSTACK");
    137 statfs => Some(stat::sys_statfs), Full;
    138 fstatfs => Some(stat::sys_fstatfs), Full;
    157 prctl => Some(process::sys_prctl), Partial("NAME, PDEATHSIG (sent when the parent process exits), DUMPABLE, NO_NEW_PRIVS, CHILD_SUBREAPER (adopts orphans); other options EINVAL");
    158 arch_prctl => Some(process::sys_arch_prctl), Partial("FS/GS base only");
    160 setrlimit => Some(ids::sys_setrlimit), Full;
    164 settimeofday => Some(time::sys_settimeofday), Partial("the host clock is never set: EPERM");
    186 gettid => Some(process::sys_gettid), Full;
    200 tkill => Some(signal::sys_tkill), Full;
    201 time => Some(time::sys_time), Full;
    202 futex => Some(futex::sys_futex), Partial("WAIT, WAKE, BITSET, REQUEUE, CMP_REQUEUE, WAKE_OP; no PI operations");
    204 sched_getaffinity => Some(process::sys_sched_getaffinity), Full;
    217 getdents64 => Some(dir::sys_getdents64), Full;
    218 set_tid_address => Some(process::sys_set_tid_address), Full;
    227 clock_settime => Some(time::sys_clock_settime), Partial("the host clock is never set: EPERM for CLOCK_REALTIME");
    228 clock_gettime => Some(time::sys_clock_gettime), Full;
    229 clock_getres => Some(time::sys_clock_getres), Full;
    230 clock_nanosleep => Some(time::sys_clock_nanosleep), Full;
    231 exit_group => Some(process::sys_exit_group), Full;
    234 tgkill => Some(signal::sys_tgkill), Full;
    247 waitid => Some(wait::sys_waitid), Full;
    257 openat => Some(file::sys_openat), Partial("no O_TMPFILE");
    258 mkdirat => Some(dir::sys_mkdirat), Full;
    260 fchownat => Some(attr::sys_fchownat), Full;
    262 newfstatat => Some(stat::sys_newfstatat), Full;
    263 unlinkat => Some(dir::sys_unlinkat), Full;
    264 renameat => Some(dir::sys_renameat), Full;
    265 linkat => Some(dir::sys_linkat), Partial("AT_EMPTY_PATH unsupported");
    266 symlinkat => Some(dir::sys_symlinkat), Full;
    267 readlinkat => Some(dir::sys_readlinkat), Full;
    268 fchmodat => Some(attr::sys_fchmodat), Full;
    269 faccessat => Some(stat::sys_faccessat), Full;
    270 pselect6 => Some(poll::sys_pselect6), Partial("as poll");
    271 ppoll => Some(poll::sys_ppoll), Partial("as poll");
    273 set_robust_list => Some(process::sys_set_robust_list), Full;
    274 get_robust_list => Some(process::sys_get_robust_list), Full;
    280 utimensat => Some(attr::sys_utimensat), Full;
    292 dup3 => Some(file::sys_dup3), Full;
    293 pipe2 => Some(file::sys_pipe2), Full;
    297 rt_tgsigqueueinfo => Some(signal::sys_rt_tgsigqueueinfo), Full;
    302 prlimit64 => Some(ids::sys_prlimit64), Full;
    309 getcpu => Some(process::sys_getcpu), Full;
    316 renameat2 => Some(dir::sys_renameat2), Partial("flags other than 0 are EINVAL");
    318 getrandom => Some(process::sys_getrandom), Full;
    332 statx => Some(stat::sys_statx), Partial("basic fields");
    334 rseq => NOSYS, Unimplemented("glibc falls back without rseq");
    435 clone3 => NOSYS, Unimplemented("glibc falls back to clone");
    436 close_range => Some(file::sys_close_range), Full;
    439 faccessat2 => Some(stat::sys_faccessat2), Full;
}

/// Find a syscall by number.
pub fn lookup(nr: u64) -> Option<&'static Entry> {
    static INDEX: std::sync::OnceLock<Vec<Option<&'static Entry>>> = std::sync::OnceLock::new();
    let idx = INDEX.get_or_init(|| {
        let mut v = vec![None; 512];
        for e in TABLE {
            v[e.nr as usize] = Some(e);
        }
        v
    });
    idx.get(nr as usize).copied().flatten()
}

/// The table as Markdown (docs/compatibility.md).
pub fn markdown() -> String {
    let mut s = String::from(
        "# Syscall compatibility (x86-64)\n\nGenerated from `sentry/src/syscalls/table.rs` by `runsc help syscalls --markdown`. \
         A number not listed returns ENOSYS and is logged once.\n\n| nr | name | support | note |\n|---|---|---|---|\n",
    );
    for e in TABLE {
        let (lvl, note) = match e.support {
            Support::Full => ("full", ""),
            Support::Partial(n) => ("partial", n),
            Support::Unimplemented(n) => ("unimplemented (ENOSYS)", n),
        };
        s.push_str(&format!("| {} | {} | {} | {} |\n", e.nr, e.name, lvl, note));
    }
    s
}
