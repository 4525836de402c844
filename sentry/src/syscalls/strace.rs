//! `--strace`: one log line per syscall with its arguments decoded (paths
//! and strings read from the caller, fds and counts in decimal, flags and
//! signals by name) and its result (a value, or -1 and the errno's name).

use super::table::Entry;
use crate::errno::Errno;
use crate::kernel::task::Task;

/// How to show one argument.
#[derive(Clone, Copy)]
enum Arg {
    /// A number in hex (addresses, masks).
    Hex,
    /// A size or offset, in decimal.
    Dec,
    /// A C int (fds, pids, exit codes), in decimal.
    Int,
    /// A NUL-terminated string in application memory.
    Str,
    /// A buffer in application memory whose length is argument `n`.
    Buf(usize),
    /// open(2) flags.
    OpenFlags,
    /// A signal number.
    Signal,
    /// A NULL-terminated array of strings (argv, envp).
    StrArray,
}

use Arg::*;

/// Argument formats of the syscalls worth decoding; others show in hex.
fn formats(name: &str) -> &'static [Arg] {
    match name {
        "read" => &[Int, Hex, Dec],
        "pread64" => &[Int, Hex, Dec, Dec],
        "write" => &[Int, Buf(2), Dec],
        "pwrite64" => &[Int, Buf(2), Dec, Dec],
        "open" => &[Str, OpenFlags, Hex],
        "openat" => &[Int, Str, OpenFlags, Hex],
        "close" | "fsync" | "fdatasync" | "fchdir" | "dup" => &[Int],
        "fstat" => &[Int, Hex],
        "stat" | "lstat" | "access" | "chdir" | "unlink" | "rmdir" | "mkdir" | "chmod" | "truncate" | "statfs" => {
            &[Str, Hex]
        }
        "newfstatat" | "faccessat" | "faccessat2" | "unlinkat" | "mkdirat" | "fchmodat" | "statx" => {
            &[Int, Str, Hex, Hex, Hex]
        }
        "readlink" => &[Str, Hex, Dec],
        "readlinkat" => &[Int, Str, Hex, Dec],
        "rename" | "link" | "symlink" => &[Str, Str],
        "renameat" | "renameat2" | "linkat" => &[Int, Str, Int, Str, Hex],
        "symlinkat" => &[Str, Int, Str],
        "execve" => &[Str, StrArray, Hex],
        "lseek" => &[Int, Dec, Int],
        "dup2" | "dup3" => &[Int, Int, Hex],
        "fcntl" | "ioctl" => &[Int, Hex, Hex],
        "getdents64" | "readv" | "writev" => &[Int, Hex, Dec],
        "mmap" => &[Hex, Dec, Hex, Hex, Int, Hex],
        "munmap" | "mprotect" | "madvise" | "msync" => &[Hex, Dec, Hex],
        "kill" | "tkill" => &[Int, Signal],
        "tgkill" => &[Int, Int, Signal],
        "rt_sigaction" => &[Signal, Hex, Hex, Dec],
        "wait4" => &[Int, Hex, Hex, Hex],
        "exit" | "exit_group" => &[Int],
        "pipe2" => &[Hex, OpenFlags],
        _ => &[Hex, Hex, Hex, Hex, Hex, Hex],
    }
}

const OPEN_FLAGS: &[(u64, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];

const SIGNALS: [&str; 32] = [
    "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
    "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
    "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
    "SIGSYS",
];

/// Quote bytes as strace does, cut at `max`.
fn quote(b: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    for &c in b.iter().take(max) {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    if b.len() > max {
        s.push_str("...");
    }
    s
}

fn show(t: &Task, f: Arg, args: &[u64; 6], v: u64) -> String {
    match f {
        Hex => format!("{v:#x}"),
        Dec => format!("{}", v as i64),
        Int => format!("{}", v as i32),
        Str => match t.mm().read_cstring(v, 4096) {
            Ok(s) => quote(&s, 256),
            Err(_) => format!("{v:#x}"),
        },
        Buf(n) => {
            let len = (args[n] as usize).min(64);
            let mut b = vec![0u8; len];
            match t.mm().copy_in(v, &mut b) {
                Ok(()) => quote(&b, 32).replace("\"...", "\"") + if args[n] as usize > 32 { "..." } else { "" },
                Err(_) => format!("{v:#x}"),
            }
        }
        OpenFlags => {
            let mut parts = vec![["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][(v & 3) as usize].to_string()];
            let mut rest = v & !3;
            for &(bit, n) in OPEN_FLAGS {
                if rest & bit != 0 {
                    parts.push(n.to_string());
                    rest &= !bit;
                }
            }
            if rest != 0 {
                parts.push(format!("{rest:#o}"));
            }
            parts.join("|")
        }
        Signal => SIGNALS.get(v as usize).map(|s| s.to_string()).unwrap_or_else(|| format!("SIGRT{}", v as i64 - 32)),
        StrArray => match t.mm().read_string_array(v) {
            Ok(a) => format!("[{}]", a.iter().take(8).map(|s| quote(s, 64)).collect::<Vec<_>>().join(", ")),
            Err(_) => format!("{v:#x}"),
        },
    }
}

/// Decode the arguments before the call (execve replaces the memory they
/// point into).
pub fn args(t: &Task, entry: Option<&Entry>, args: &[u64; 6]) -> String {
    let fmts = formats(entry.map(|e| e.name).unwrap_or(""));
    fmts.iter().enumerate().map(|(i, f)| show(t, *f, args, args[i])).collect::<Vec<_>>().join(", ")
}

/// Log the finished call.
pub fn log(t: &Task, entry: Option<&Entry>, nr: u64, decoded: &str, res: &Result<u64, Errno>) {
    let name = entry.map(|e| e.name.to_string()).unwrap_or_else(|| format!("syscall_{nr}"));
    let shown = match res {
        Ok(v) if *v > 0xffff_ffff => format!("{v:#x}"),
        Ok(v) => format!("{v}"),
        Err(e) if *e == super::JUST_RETURN => "?".to_string(),
        Err(e) => {
            let text = std::io::Error::from_raw_os_error(e.0).to_string();
            format!("-1 {e:?} ({})", text.split(" (os error").next().unwrap_or(&text))
        }
    };
    tracing::info!(target: "strace", "[{:>4}] {name}({decoded}) = {shown}", t.tid());
}
