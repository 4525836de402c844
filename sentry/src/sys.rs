//! The few raw host calls the sentry makes that have no safe wrapper.
#![allow(unsafe_code)]

/// ioctl with a buffer argument. The caller guarantees that `cmd` reads or
/// writes at most `buf.len()` bytes.
pub fn ioctl_buf(fd: i32, cmd: u64, buf: &mut [u8]) -> i32 {
    // SAFETY: per the contract above, the kernel accesses only `buf`.
    unsafe { libc::ioctl(fd, cmd as libc::c_ulong, buf.as_mut_ptr()) }
}

/// ioctl whose argument is an integer, not a pointer (TCFLSH, TCXONC,
/// TCSBRK): the kernel touches no memory of ours.
pub fn ioctl_int(fd: i32, cmd: u64, arg: u64) -> i32 {
    // SAFETY: the argument is passed by value; no memory is accessed.
    unsafe { libc::ioctl(fd, cmd as libc::c_ulong, arg as libc::c_ulong) }
}

/// Fill a buffer from the host's getrandom.
pub fn getrandom(buf: &mut [u8]) {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: writes at most buf.len()-done bytes into buf.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n > 0 {
            done += n as usize;
        }
    }
}

/// CPU time a thread of this process has run, in ns (its schedstat).
pub fn thread_cpu_ns(tid: i32) -> u64 {
    platform::thread_cpu_ns("self", tid)
}

/// The host CPUs the sandbox may use, counted once: the first call
/// (while the kernel is built) reads the host's /proc and /sys, which the
/// confined sentry can no longer open.
pub fn cpu_count() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}
