//! The gofer crate's error type, shared by the client and the server.

use crate::protocol::ProtocolError;

/// A failed gofer operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// the gofer reported errno {0}
    #[error("the gofer reported errno {0}")]
    Errno(i32),
    /// gofer socket failed
    #[error("gofer socket failed: {0}")]
    Transport(#[source] std::io::Error),
    /// gofer peer closed the connection
    #[error("gofer peer closed the connection")]
    Disconnected,
    /// bad gofer message
    #[error("bad gofer message: {0}")]
    Protocol(#[from] ProtocolError),
    /// cannot open the served root
    #[error("cannot open the served root: {0}")]
    Root(#[source] std::io::Error),
}

impl Error {
    /// The errno to give the application: the server's own errno, or EIO
    /// when the channel to the gofer is broken.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Errno(e) => *e,
            Error::Transport(_) | Error::Disconnected | Error::Protocol(_) | Error::Root(_) => {
                libc::EIO
            }
        }
    }

    pub(crate) fn transport(e: nix::errno::Errno) -> Error {
        Error::Transport(std::io::Error::from(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_passes_server_errno_through() {
        assert_eq!(Error::Errno(libc::ENOENT).errno(), libc::ENOENT);
    }

    #[test]
    fn broken_channel_is_eio() {
        assert_eq!(Error::Disconnected.errno(), libc::EIO);
        assert_eq!(Error::Protocol(ProtocolError::Truncated).errno(), libc::EIO);
        assert_eq!(Error::transport(nix::errno::Errno::EPIPE).errno(), libc::EIO);
    }
}
