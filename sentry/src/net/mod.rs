//! Networking: AF_UNIX socket pairs so far.

pub mod unix;
