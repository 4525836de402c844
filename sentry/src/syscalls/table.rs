//! The x86-64 syscall table.

use super::{attr, dir, epoll, file, inotify, ipc, sched, futex, ids, lock, memfd, mm, mount, mqueue, splice, msg, poll, process, signal, socket, stat, time, wait, xattr, Handler};

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
    /// Support level.
    pub support: Support,
}

macro_rules! table {
    ($($nr:literal $name:ident => $h:expr, $sup:expr;)*) => {
        /// The table.
        pub static TABLE: &[Entry] = &[
            $(Entry { nr: $nr, name: stringify!($name), handler: $h, support: $sup },)*
        ];
    };
}

use Support::*;

/// Attribute changes not yet checked against the caller's ownership.
/// The access family's limits.
const ACCESS: Support = Partial("mode bits against real (or AT_EACCESS effective) ids and read-only mounts; uid 0 is privileged, capabilities are not consulted");

const NOSYS: Option<Handler> = None;

// Numbers with no handler are listed too (support `Unimplemented`), so that
// the table names every x86-64 syscall; they return ENOSYS.

table! {
    0 read => Some(file::sys_read), Full;
    1 write => Some(file::sys_write), Full;
    2 open => Some(file::sys_open), Full;
    3 close => Some(file::sys_close), Full;
    4 stat => Some(stat::sys_stat), Full;
    5 fstat => Some(stat::sys_fstat), Full;
    6 lstat => Some(stat::sys_lstat), Full;
    7 poll => Some(poll::sys_poll), Partial("polls host fds and sentry files by readiness, in slices");
    8 lseek => Some(file::sys_lseek), Partial("no SEEK_DATA/SEEK_HOLE");
    9 mmap => Some(mm::sys_mmap), Partial("MAP_SHARED of host stdio files is ENODEV");
    10 mprotect => Some(mm::sys_mprotect), Full;
    11 munmap => Some(mm::sys_munmap), Full;
    12 brk => Some(mm::sys_brk), Full;
    13 rt_sigaction => Some(signal::sys_rt_sigaction), Full;
    14 rt_sigprocmask => Some(signal::sys_rt_sigprocmask), Full;
    15 rt_sigreturn => Some(signal::sys_rt_sigreturn), Full;
    16 ioctl => Some(file::sys_ioctl), Partial("terminals (termios, winsize, job control, pty master requests), FIONREAD, FIONBIO, FIOCLEX/FIONCLEX; sockets: SIOCINQ, SIOCOUTQ and the requests that read lo (SIOCGIFCONF, SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFMTU, SIOCGIFHWADDR); changing an interface, TIOCVHANGUP and modem-line requests are ENOTTY");
    17 pread64 => Some(file::sys_pread64), Full;
    18 pwrite64 => Some(file::sys_pwrite64), Full;
    19 readv => Some(file::sys_readv), Full;
    20 writev => Some(file::sys_writev), Full;
    21 access => Some(stat::sys_access), ACCESS;
    22 pipe => Some(file::sys_pipe), Full;
    23 select => Some(poll::sys_select), Partial("as poll");
    24 sched_yield => Some(process::sys_sched_yield), Full;
    25 mremap => Some(mm::sys_mremap), Full;
    26 msync => Some(mm::sys_msync), Full;
    27 mincore => Some(mm::sys_mincore), Partial("a page is resident once it has its frame, or when the host maps it from a host file");
    28 madvise => Some(mm::sys_madvise), Partial("DONTNEED frees; other advice accepted");
    29 shmget => Some(ipc::sys_shmget), Full;
    30 shmat => Some(ipc::sys_shmat), Partial("attachments inherited by fork are not counted in shm_nattch");
    31 shmctl => Some(ipc::sys_shmctl), Partial("IPC_STAT, IPC_SET, IPC_RMID; no IPC_INFO/SHM_INFO/SHM_LOCK");
    32 dup => Some(file::sys_dup), Full;
    33 dup2 => Some(file::sys_dup2), Full;
    34 pause => Some(signal::sys_pause), Full;
    35 nanosleep => Some(time::sys_nanosleep), Full;
    36 getitimer => Some(time::sys_getitimer), Full;
    37 alarm => Some(time::sys_alarm), Full;
    38 setitimer => Some(time::sys_setitimer), Partial("CPU-time timers are sampled every 4 ms");
    39 getpid => Some(process::sys_getpid), Full;
    40 sendfile => Some(splice::sys_sendfile), Full;
    41 socket => Some(socket::sys_socket), Partial("AF_UNIX; AF_INET and AF_INET6 TCP and UDP on the sandbox's own loopback network (lo only), or host sockets with --network=host; SOCK_RAW EPERM (no CAP_NET_RAW), ICMP ping sockets EACCES; other families EAFNOSUPPORT (no AF_NETLINK, so ip and ifconfig cannot list lo)");
    42 connect => Some(socket::sys_connect), Partial("AF_UNIX paths and abstract names; AF_INET/AF_INET6 to loopback addresses (any other destination ENETUNREACH; a full accept queue makes connect wait until accept, not retry as SYNs)");
    43 accept => Some(socket::sys_accept), Full;
    44 sendto => Some(socket::sys_sendto), Partial("MSG_OOB (TCP urgent data) EOPNOTSUPP; MSG_MORE does not cork (each UDP send is its own datagram); MSG_CONFIRM ignored");
    45 recvfrom => Some(socket::sys_recvfrom), Partial("no TCP urgent data (MSG_OOB EINVAL); MSG_ERRQUEUE always EAGAIN");
    46 sendmsg => Some(socket::sys_sendmsg), Partial("SCM_RIGHTS and SCM_CREDENTIALS on AF_UNIX; IP-level control messages on internet sockets accepted and ignored; MSG_OOB EOPNOTSUPP");
    47 recvmsg => Some(socket::sys_recvmsg), Partial("SCM_RIGHTS and SCM_CREDENTIALS on AF_UNIX; internet sockets deliver no control messages (IP_PKTINFO, IP_RECVERR, timestamps)");
    48 shutdown => Some(socket::sys_shutdown), Full;
    49 bind => Some(socket::sys_bind), Partial("AF_UNIX paths and abstract names; AF_INET/AF_INET6 loopback, wildcard and (IPv4) multicast/broadcast addresses, others EADDRNOTAVAIL unless IP_FREEBIND; no TIME_WAIT, so a closed connection's port is free at once");
    50 listen => Some(socket::sys_listen), Full;
    51 getsockname => Some(socket::sys_getsockname), Full;
    52 getpeername => Some(socket::sys_getpeername), Full;
    53 socketpair => Some(socket::sys_socketpair), Partial("AF_UNIX only (AF_INET is EOPNOTSUPP, as in Linux)");
    54 setsockopt => Some(socket::sys_setsockopt), Partial("internet sockets: SOL_SOCKET, IP, IPV6, TCP and UDP options kept with Linux's defaults and ranges; those that shape packets (TCP_NODELAY, TCP_CORK, keepalive timers, IP_TOS, IP_TTL) change nothing on loopback; UDP_CORK is kept but each send stays its own datagram; multicast options and SO_TIMESTAMP ENOPROTOOPT; AF_UNIX buffer sizes are fixed");
    55 getsockopt => Some(socket::sys_getsockopt), Partial("as setsockopt; TCP_INFO carries the state only; SO_SNDBUF is not autotuned");
    56 clone => Some(process::sys_clone), Partial("namespace flags are EPERM");
    57 fork => Some(process::sys_fork), Full;
    58 vfork => Some(process::sys_vfork), Full;
    59 execve => Some(process::sys_execve), Full;
    60 exit => Some(process::sys_exit), Full;
    61 wait4 => Some(wait::sys_wait4), Partial("rusage: user and system time only");
    62 kill => Some(signal::sys_kill), Full;
    63 uname => Some(process::sys_uname), Full;
    64 semget => Some(ipc::sys_semget), Full;
    65 semop => Some(ipc::sys_semop), Full;
    66 semctl => Some(ipc::sys_semctl), Partial("IPC_STAT, IPC_RMID, GET/SET VAL and ALL, GETPID, GETNCNT, GETZCNT; no IPC_SET/IPC_INFO");
    67 shmdt => Some(ipc::sys_shmdt), Full;
    68 msgget => Some(msg::sys_msgget), Full;
    69 msgsnd => Some(msg::sys_msgsnd), Full;
    70 msgrcv => Some(msg::sys_msgrcv), Full;
    71 msgctl => Some(msg::sys_msgctl), Full;
    72 fcntl => Some(file::sys_fcntl), Partial("no leases");
    73 flock => Some(lock::sys_flock), Full;
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
    85 creat => Some(file::sys_creat), Full;
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
    98 getrusage => Some(time::sys_getrusage), Partial("user and system time and maxrss; other fields zero");
    99 sysinfo => Some(time::sys_sysinfo), Full;
    100 times => Some(time::sys_times), Full;
    101 ptrace => NOSYS, Unimplemented("not served yet");
    102 getuid => Some(ids::sys_getuid), Full;
    103 syslog => NOSYS, Unimplemented("not served yet");
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
    122 setfsuid => NOSYS, Unimplemented("not served yet");
    123 setfsgid => NOSYS, Unimplemented("not served yet");
    124 getsid => Some(ids::sys_getsid), Full;
    125 capget => Some(sched::sys_capget), Full;
    126 capset => Some(sched::sys_capset), Partial("the calling process only; capabilities do not yet gate other syscalls (euid 0 does)");
    127 rt_sigpending => Some(signal::sys_rt_sigpending), Full;
    128 rt_sigtimedwait => Some(signal::sys_rt_sigtimedwait), Full;
    129 rt_sigqueueinfo => Some(signal::sys_rt_sigqueueinfo), Full;
    130 rt_sigsuspend => Some(signal::sys_rt_sigsuspend), Full;
    131 sigaltstack => Some(signal::sys_sigaltstack), Partial("recorded; frames go on the altstack when SA_ONSTACK");
    132 utime => Some(attr::sys_utime), Full;
    133 mknod => Some(dir::sys_mknod), Partial("device nodes are EPERM: the sandbox makes none");
    134 uselib => NOSYS, Unimplemented("not served yet");
    135 personality => Some(mm::sys_personality), Partial("the persona is kept and inherited; of its flags only ADDR_NO_RANDOMIZE has an effect");
    136 ustat => NOSYS, Unimplemented("not served yet");
    137 statfs => Some(stat::sys_statfs), Full;
    138 fstatfs => Some(stat::sys_fstatfs), Full;
    139 sysfs => NOSYS, Unimplemented("not served yet");
    140 getpriority => Some(sched::sys_getpriority), Full;
    141 setpriority => Some(sched::sys_setpriority), Partial("recorded and read back; host threads keep the host's scheduling");
    142 sched_setparam => Some(sched::sys_sched_setparam), Partial("recorded and read back; host threads keep the host's scheduling");
    143 sched_getparam => Some(sched::sys_sched_getparam), Full;
    144 sched_setscheduler => Some(sched::sys_sched_setscheduler), Partial("recorded and read back; host threads keep the host's scheduling");
    145 sched_getscheduler => Some(sched::sys_sched_getscheduler), Full;
    146 sched_get_priority_max => Some(sched::sys_sched_get_priority_max), Full;
    147 sched_get_priority_min => Some(sched::sys_sched_get_priority_min), Full;
    148 sched_rr_get_interval => NOSYS, Unimplemented("not served yet");
    149 mlock => Some(mm::sys_mlock), Partial("locks are bookkeeping: RLIMIT_MEMLOCK, VmLck, not inherited; the host may still page");
    150 munlock => Some(mm::sys_munlock), Full;
    151 mlockall => Some(mm::sys_mlockall), Partial("as mlock");
    152 munlockall => Some(mm::sys_munlockall), Full;
    153 vhangup => NOSYS, Unimplemented("not served yet");
    154 modify_ldt => NOSYS, Unimplemented("not served yet");
    155 pivot_root => NOSYS, Unimplemented("comes with the filesystem issue");
    156 _sysctl => NOSYS, Unimplemented("not served yet");
    157 prctl => Some(process::sys_prctl), Partial("NAME, PDEATHSIG (sent when the parent process exits), DUMPABLE, NO_NEW_PRIVS, CHILD_SUBREAPER (adopts orphans), KEEPCAPS, CAPBSET_READ/DROP, SECUREBITS, TIMERSLACK, GET_TID_ADDRESS, THP_DISABLE; other options EINVAL");
    158 arch_prctl => Some(process::sys_arch_prctl), Partial("FS/GS base only");
    159 adjtimex => NOSYS, Unimplemented("not served yet");
    160 setrlimit => Some(ids::sys_setrlimit), Full;
    161 chroot => Some(mount::sys_chroot), Full;
    162 sync => Some(splice::sys_sync), Full;
    163 acct => NOSYS, Unimplemented("not served yet");
    164 settimeofday => Some(time::sys_settimeofday), Partial("the host clock is never set: EPERM");
    165 mount => Some(mount::sys_mount), Partial("tmpfs (size, mode, uid, gid), proc, sysfs, cgroup2 (the sandbox as one cgroup), mqueue, devpts (the one instance), bind (MS_REC copies submounts), move, remount of per-mount flags; propagation flags are accepted (namespaces never share mounts)");
    166 umount2 => Some(mount::sys_umount2), Full;
    167 swapon => NOSYS, Unimplemented("not served yet");
    168 swapoff => NOSYS, Unimplemented("not served yet");
    169 reboot => NOSYS, Unimplemented("not served yet");
    170 sethostname => Some(process::sys_sethostname), Full;
    171 setdomainname => Some(process::sys_setdomainname), Full;
    172 iopl => NOSYS, Unimplemented("not served yet");
    173 ioperm => NOSYS, Unimplemented("not served yet");
    174 create_module => NOSYS, Unimplemented("not served yet");
    175 init_module => NOSYS, Unimplemented("not served yet");
    176 delete_module => NOSYS, Unimplemented("not served yet");
    177 get_kernel_syms => NOSYS, Unimplemented("not served yet");
    178 query_module => NOSYS, Unimplemented("not served yet");
    179 quotactl => NOSYS, Unimplemented("not served yet");
    180 nfsservctl => NOSYS, Unimplemented("not served yet");
    181 getpmsg => NOSYS, Unimplemented("not served yet");
    182 putpmsg => NOSYS, Unimplemented("not served yet");
    183 afs_syscall => NOSYS, Unimplemented("not served yet");
    184 tuxcall => NOSYS, Unimplemented("not served yet");
    185 security => NOSYS, Unimplemented("not served yet");
    186 gettid => Some(process::sys_gettid), Full;
    187 readahead => Some(file::sys_readahead), Full;
    188 setxattr => Some(xattr::sys_setxattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    189 lsetxattr => Some(xattr::sys_lsetxattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    190 fsetxattr => Some(xattr::sys_fsetxattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    191 getxattr => Some(xattr::sys_getxattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    192 lgetxattr => Some(xattr::sys_lgetxattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    193 fgetxattr => Some(xattr::sys_fgetxattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    194 listxattr => Some(xattr::sys_listxattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    195 llistxattr => Some(xattr::sys_llistxattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    196 flistxattr => Some(xattr::sys_flistxattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    197 removexattr => Some(xattr::sys_removexattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    198 lremovexattr => Some(xattr::sys_lremovexattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    199 fremovexattr => Some(xattr::sys_fremovexattr), Partial("user.* kept in the memory layer; trusted.* and security.* for root; system.* EOPNOTSUPP");
    200 tkill => Some(signal::sys_tkill), Full;
    201 time => Some(time::sys_time), Full;
    202 futex => Some(futex::sys_futex), Partial("every operation; PI futexes hand locks over but do not boost priorities");
    203 sched_setaffinity => Some(sched::sys_sched_setaffinity), Partial("recorded and read back; host threads keep the host's scheduling");
    204 sched_getaffinity => Some(sched::sys_sched_getaffinity), Full;
    205 set_thread_area => NOSYS, Unimplemented("not served yet");
    206 io_setup => NOSYS, Unimplemented("not served yet");
    207 io_destroy => NOSYS, Unimplemented("not served yet");
    208 io_getevents => NOSYS, Unimplemented("not served yet");
    209 io_submit => NOSYS, Unimplemented("not served yet");
    210 io_cancel => NOSYS, Unimplemented("not served yet");
    211 get_thread_area => NOSYS, Unimplemented("not served yet");
    212 lookup_dcookie => NOSYS, Unimplemented("not served yet");
    213 epoll_create => Some(epoll::sys_epoll_create), Full;
    214 epoll_ctl_old => NOSYS, Unimplemented("event files come with the process-model issue");
    215 epoll_wait_old => NOSYS, Unimplemented("event files come with the process-model issue");
    216 remap_file_pages => NOSYS, Unimplemented("not served yet");
    217 getdents64 => Some(dir::sys_getdents64), Full;
    218 set_tid_address => Some(process::sys_set_tid_address), Full;
    219 restart_syscall => Some(time::sys_restart_syscall), Partial("resumes interrupted relative sleeps (nanosleep, clock_nanosleep) and timed futex waits; poll and select restart with their full timeout");
    220 semtimedop => Some(ipc::sys_semtimedop), Full;
    221 fadvise64 => Some(file::sys_fadvise64), Full;
    222 timer_create => Some(time::sys_timer_create), Partial("REALTIME, MONOTONIC, BOOTTIME and CPU-time clocks (sampled every 4 ms); SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE; no *_ALARM clocks");
    223 timer_settime => Some(time::sys_timer_settime), Full;
    224 timer_gettime => Some(time::sys_timer_gettime), Full;
    225 timer_getoverrun => Some(time::sys_timer_getoverrun), Full;
    226 timer_delete => Some(time::sys_timer_delete), Full;
    227 clock_settime => Some(time::sys_clock_settime), Partial("the host clock is never set: EPERM for CLOCK_REALTIME");
    228 clock_gettime => Some(time::sys_clock_gettime), Full;
    229 clock_getres => Some(time::sys_clock_getres), Full;
    230 clock_nanosleep => Some(time::sys_clock_nanosleep), Full;
    231 exit_group => Some(process::sys_exit_group), Full;
    232 epoll_wait => Some(epoll::sys_epoll_wait), Partial("edge-triggered reports follow wake-ups of the watched file");
    233 epoll_ctl => Some(epoll::sys_epoll_ctl), Full;
    234 tgkill => Some(signal::sys_tgkill), Full;
    235 utimes => Some(attr::sys_utimes), Full;
    236 vserver => NOSYS, Unimplemented("not served yet");
    237 mbind => NOSYS, Unimplemented("not served yet");
    238 set_mempolicy => NOSYS, Unimplemented("not served yet");
    239 get_mempolicy => NOSYS, Unimplemented("not served yet");
    240 mq_open => Some(mqueue::sys_mq_open), Partial("RLIMIT_MSGQUEUE is not charged");
    241 mq_unlink => Some(mqueue::sys_mq_unlink), Full;
    242 mq_timedsend => Some(mqueue::sys_mq_timedsend), Full;
    243 mq_timedreceive => Some(mqueue::sys_mq_timedreceive), Full;
    244 mq_notify => Some(mqueue::sys_mq_notify), Partial("SIGEV_NONE and SIGEV_SIGNAL; SIGEV_THREAD (a netlink socket in glibc) is ENOSYS; a registration ends when its description is released, not at each close");
    245 mq_getsetattr => Some(mqueue::sys_mq_getsetattr), Full;
    246 kexec_load => NOSYS, Unimplemented("not served yet");
    247 waitid => Some(wait::sys_waitid), Full;
    248 add_key => NOSYS, Unimplemented("not served yet");
    249 request_key => NOSYS, Unimplemented("not served yet");
    250 keyctl => NOSYS, Unimplemented("not served yet");
    251 ioprio_set => NOSYS, Unimplemented("not served yet");
    252 ioprio_get => NOSYS, Unimplemented("not served yet");
    253 inotify_init => Some(inotify::sys_inotify_init), Partial("events of changes made inside the sandbox");
    254 inotify_add_watch => Some(inotify::sys_inotify_add_watch), Partial("events of changes made inside the sandbox");
    255 inotify_rm_watch => Some(inotify::sys_inotify_rm_watch), Partial("events of changes made inside the sandbox");
    256 migrate_pages => NOSYS, Unimplemented("not served yet");
    257 openat => Some(file::sys_openat), Full;
    258 mkdirat => Some(dir::sys_mkdirat), Full;
    259 mknodat => Some(dir::sys_mknodat), Partial("device nodes are EPERM: the sandbox makes none");
    260 fchownat => Some(attr::sys_fchownat), Full;
    261 futimesat => Some(attr::sys_futimesat), Full;
    262 newfstatat => Some(stat::sys_newfstatat), Full;
    263 unlinkat => Some(dir::sys_unlinkat), Full;
    264 renameat => Some(dir::sys_renameat), Full;
    265 linkat => Some(dir::sys_linkat), Partial("AT_EMPTY_PATH unsupported");
    266 symlinkat => Some(dir::sys_symlinkat), Full;
    267 readlinkat => Some(dir::sys_readlinkat), Full;
    268 fchmodat => Some(attr::sys_fchmodat), Full;
    269 faccessat => Some(stat::sys_faccessat), ACCESS;
    270 pselect6 => Some(poll::sys_pselect6), Partial("as poll");
    271 ppoll => Some(poll::sys_ppoll), Partial("as poll");
    272 unshare => Some(mount::sys_unshare), Partial("CLONE_FILES, CLONE_FS and CLONE_NEWNS; other namespaces are EINVAL");
    273 set_robust_list => Some(process::sys_set_robust_list), Full;
    274 get_robust_list => Some(process::sys_get_robust_list), Full;
    275 splice => Some(splice::sys_splice), Full;
    276 tee => Some(splice::sys_tee), Full;
    277 sync_file_range => Some(splice::sys_sync_file_range), Full;
    278 vmsplice => Some(splice::sys_vmsplice), Partial("the pages are copied (SPLICE_F_GIFT changes nothing)");
    279 move_pages => NOSYS, Unimplemented("not served yet");
    280 utimensat => Some(attr::sys_utimensat), Full;
    281 epoll_pwait => Some(epoll::sys_epoll_pwait), Partial("as epoll_wait");
    282 signalfd => Some(epoll::sys_signalfd), Full;
    283 timerfd_create => Some(epoll::sys_timerfd_create), Partial("pollers wait in 10 ms slices; TFD_TIMER_CANCEL_ON_SET accepted, never fires");
    284 eventfd => Some(epoll::sys_eventfd), Full;
    285 fallocate => Some(attr::sys_fallocate), Partial("modes 0, KEEP_SIZE and PUNCH_HOLE|KEEP_SIZE; others EOPNOTSUPP");
    286 timerfd_settime => Some(epoll::sys_timerfd_settime), Partial("TFD_TIMER_CANCEL_ON_SET accepted, never fires");
    287 timerfd_gettime => Some(epoll::sys_timerfd_gettime), Full;
    288 accept4 => Some(socket::sys_accept4), Full;
    289 signalfd4 => Some(epoll::sys_signalfd4), Full;
    290 eventfd2 => Some(epoll::sys_eventfd2), Full;
    291 epoll_create1 => Some(epoll::sys_epoll_create1), Full;
    292 dup3 => Some(file::sys_dup3), Full;
    293 pipe2 => Some(file::sys_pipe2), Full;
    294 inotify_init1 => Some(inotify::sys_inotify_init1), Partial("events of changes made inside the sandbox");
    295 preadv => Some(file::sys_preadv), Full;
    296 pwritev => Some(file::sys_pwritev), Full;
    297 rt_tgsigqueueinfo => Some(signal::sys_rt_tgsigqueueinfo), Full;
    298 perf_event_open => NOSYS, Unimplemented("not served yet");
    299 recvmmsg => Some(socket::sys_recvmmsg), Full;
    300 fanotify_init => NOSYS, Unimplemented("not served yet");
    301 fanotify_mark => NOSYS, Unimplemented("not served yet");
    302 prlimit64 => Some(ids::sys_prlimit64), Full;
    303 name_to_handle_at => NOSYS, Unimplemented("comes with the filesystem issue");
    304 open_by_handle_at => NOSYS, Unimplemented("comes with the filesystem issue");
    305 clock_adjtime => NOSYS, Unimplemented("not served yet");
    306 syncfs => Some(splice::sys_syncfs), Full;
    307 sendmmsg => Some(socket::sys_sendmmsg), Full;
    308 setns => NOSYS, Unimplemented("not served yet");
    309 getcpu => Some(process::sys_getcpu), Full;
    310 process_vm_readv => NOSYS, Unimplemented("not served yet");
    311 process_vm_writev => NOSYS, Unimplemented("not served yet");
    312 kcmp => NOSYS, Unimplemented("not served yet");
    313 finit_module => NOSYS, Unimplemented("not served yet");
    314 sched_setattr => NOSYS, Unimplemented("not served yet");
    315 sched_getattr => NOSYS, Unimplemented("not served yet");
    316 renameat2 => Some(dir::sys_renameat2), Partial("RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT is EINVAL");
    317 seccomp => NOSYS, Unimplemented("not served yet");
    318 getrandom => Some(process::sys_getrandom), Full;
    319 memfd_create => Some(memfd::sys_memfd_create), Partial("MFD_HUGETLB is EINVAL");
    320 kexec_file_load => NOSYS, Unimplemented("not served yet");
    321 bpf => NOSYS, Unimplemented("not served yet");
    322 execveat => Some(process::sys_execveat), Full;
    323 userfaultfd => NOSYS, Unimplemented("not served yet");
    324 membarrier => NOSYS, Unimplemented("not served yet");
    325 mlock2 => Some(mm::sys_mlock2), Partial("as mlock");
    326 copy_file_range => Some(splice::sys_copy_file_range), Full;
    327 preadv2 => Some(file::sys_preadv), Partial("RWF_* flags other than RWF_HIPRI are EOPNOTSUPP");
    328 pwritev2 => Some(file::sys_pwritev), Partial("RWF_* flags other than RWF_HIPRI are EOPNOTSUPP");
    329 pkey_mprotect => NOSYS, Unimplemented("not served yet");
    330 pkey_alloc => NOSYS, Unimplemented("not served yet");
    331 pkey_free => NOSYS, Unimplemented("not served yet");
    332 statx => Some(stat::sys_statx), Partial("basic fields");
    333 io_pgetevents => NOSYS, Unimplemented("not served yet");
    334 rseq => NOSYS, Unimplemented("glibc falls back without rseq");
    424 pidfd_send_signal => Some(process::sys_pidfd_send_signal), Partial("siginfo must be NULL; the PIDFD_SIGNAL_* flags are EINVAL");
    425 io_uring_setup => NOSYS, Unimplemented("not served yet");
    426 io_uring_enter => NOSYS, Unimplemented("not served yet");
    427 io_uring_register => NOSYS, Unimplemented("not served yet");
    428 open_tree => NOSYS, Unimplemented("not served yet");
    429 move_mount => NOSYS, Unimplemented("not served yet");
    430 fsopen => NOSYS, Unimplemented("not served yet");
    431 fsconfig => NOSYS, Unimplemented("not served yet");
    432 fsmount => NOSYS, Unimplemented("not served yet");
    433 fspick => NOSYS, Unimplemented("not served yet");
    434 pidfd_open => Some(process::sys_pidfd_open), Full;
    435 clone3 => Some(process::sys_clone3), Partial("set_tid and cgroup are EINVAL");
    436 close_range => Some(file::sys_close_range), Full;
    437 openat2 => Some(file::sys_openat2), Full;
    438 pidfd_getfd => NOSYS, Unimplemented("not served yet");
    439 faccessat2 => Some(stat::sys_faccessat2), ACCESS;
    440 process_madvise => NOSYS, Unimplemented("not served yet");
    441 epoll_pwait2 => Some(epoll::sys_epoll_pwait2), Partial("as epoll_wait");
    442 mount_setattr => NOSYS, Unimplemented("not served yet");
    443 quotactl_fd => NOSYS, Unimplemented("not served yet");
    444 landlock_create_ruleset => NOSYS, Unimplemented("not served yet");
    445 landlock_add_rule => NOSYS, Unimplemented("not served yet");
    446 landlock_restrict_self => NOSYS, Unimplemented("not served yet");
    447 memfd_secret => NOSYS, Unimplemented("not served yet");
    448 process_mrelease => NOSYS, Unimplemented("not served yet");
    449 futex_waitv => NOSYS, Unimplemented("not served yet");
    450 set_mempolicy_home_node => NOSYS, Unimplemented("not served yet");
    451 cachestat => NOSYS, Unimplemented("not served yet");
    452 fchmodat2 => Some(attr::sys_fchmodat2), Full;
    453 map_shadow_stack => NOSYS, Unimplemented("not served yet");
    454 futex_wake => NOSYS, Unimplemented("not served yet");
    455 futex_wait => NOSYS, Unimplemented("not served yet");
    456 futex_requeue => NOSYS, Unimplemented("not served yet");
    457 statmount => NOSYS, Unimplemented("not served yet");
    458 listmount => NOSYS, Unimplemented("not served yet");
    459 lsm_get_self_attr => NOSYS, Unimplemented("not served yet");
    460 lsm_set_self_attr => NOSYS, Unimplemented("not served yet");
    461 lsm_list_modules => NOSYS, Unimplemented("not served yet");
    462 mseal => NOSYS, Unimplemented("not served yet");
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
