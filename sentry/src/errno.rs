//! Linux error numbers.
//!
//! `Errno` is a newtype over Linux's numbers rather than a 130-variant enum:
//! it converts to and from raw values without a fallible match, and every
//! value the host or the gofer reports stays representable.

/// A Linux errno.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $v:expr),* $(,)?) => {
        impl Errno { $(#[allow(missing_docs)] pub const $name: Errno = Errno($v);)* }
        fn name_of(e: i32) -> Option<&'static str> {
            match e { $($v => Some(stringify!($name)),)* _ => None }
        }
    };
}

errnos! {
    EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, ENOEXEC = 8,
    EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, ENOTBLK = 15,
    EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
    ENFILE = 23, EMFILE = 24, ENOTTY = 25, ETXTBSY = 26, EFBIG = 27, ENOSPC = 28, ESPIPE = 29,
    EROFS = 30, EMLINK = 31, EPIPE = 32, EDOM = 33, ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36,
    ENOLCK = 37, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENOMSG = 42, EIDRM = 43, ENODATA = 61, ETIME = 62,
    EOVERFLOW = 75, EILSEQ = 84, ENOTSOCK = 88, EDESTADDRREQ = 89, EMSGSIZE = 90,
    EPROTOTYPE = 91, ENOPROTOOPT = 92, EPROTONOSUPPORT = 93, ESOCKTNOSUPPORT = 94, EOPNOTSUPP = 95, EAFNOSUPPORT = 97,
    EADDRINUSE = 98, EADDRNOTAVAIL = 99, ENETDOWN = 100, ENETUNREACH = 101, ECONNABORTED = 103, ECONNRESET = 104,
    ENOBUFS = 105, EISCONN = 106, ENOTCONN = 107, ETIMEDOUT = 110, ECONNREFUSED = 111,
    EALREADY = 114, EINPROGRESS = 115, ESTALE = 116, EDQUOT = 122, ECANCELED = 125,
    ERESTARTSYS = 512, ERESTARTNOINTR = 513, ERESTARTNOHAND = 514, ERESTART_RESTARTBLOCK = 516,
}

impl Errno {
    /// The syscall return value for this error.
    pub fn ret(self) -> u64 {
        (-(self.0 as i64)) as u64
    }

    /// From a host errno.
    pub fn from_host(e: std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }

    /// The last host errno.
    pub fn last() -> Errno {
        Errno::from_host(std::io::Error::last_os_error())
    }
}

impl std::fmt::Debug for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match name_of(self.0) {
            Some(n) => f.write_str(n),
            None => write!(f, "errno {}", self.0),
        }
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl From<nix::errno::Errno> for Errno {
    fn from(e: nix::errno::Errno) -> Errno {
        Errno(e as i32)
    }
}

impl From<gofer::Error> for Errno {
    fn from(e: gofer::Error) -> Errno {
        Errno(e.errno())
    }
}

impl From<platform::Error> for Errno {
    fn from(e: platform::Error) -> Errno {
        tracing::warn!("platform error: {e}");
        match e {
            platform::Error::Injected { errno, .. } => Errno(errno),
            _ => Errno::EFAULT,
        }
    }
}

/// Result of sentry operations.
pub type KResult<T> = Result<T, Errno>;

/// Return early with an errno.
#[macro_export]
macro_rules! bail {
    ($e:ident) => {
        return Err($crate::errno::Errno::$e)
    };
}
