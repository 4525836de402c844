//! The gofer: the file-access protocol, the server that alone sees the
//! container's root filesystem, and the client the sentry uses.
//!
//! The server and the client talk over a SOCK_SEQPACKET socketpair, one
//! request and one reply per exchange (see [`protocol`]). Host fds for
//! opened files are donated with SCM_RIGHTS, so file data never passes
//! through messages.
//!
//! All `unsafe` code lives in the private `sys` module.

#![deny(unsafe_code)]

pub mod client;
pub mod direct;
pub mod error;
pub mod polling;
pub mod protocol;
pub mod server;
mod sys;

pub use client::Client;
pub use error::Error;
pub use protocol::*;
pub use server::{serve, serve_confined, ServerOptions};
