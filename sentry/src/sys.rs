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
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
