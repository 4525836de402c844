//! Filesystem implementations.

pub mod anon;
pub mod cgroup;
pub mod dev;
pub mod handles;
pub mod host;
pub mod inotify;
pub mod mqueue;
pub mod overlay;
pub mod passthrough;
pub mod pipe;
pub mod proc;
pub mod proc_sys;
pub mod synth;
pub mod sys;
pub mod tty;
