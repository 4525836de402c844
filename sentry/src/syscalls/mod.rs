//! System call dispatch. The table (in [`table`]) is data: one line per
//! syscall with its handler and support level; docs/compatibility.md and
//! `runsc help syscalls` are generated from it.

pub mod attr;
pub mod dir;
pub mod epoll;
pub mod file;
pub mod futex;
pub mod inotify;
pub mod ids;
pub mod ipc;
pub mod lock;
pub mod memfd;
pub mod mm;
pub mod mount;
pub mod mqueue;
pub mod msg;
pub mod poll;
pub mod process;
pub mod sched;
pub mod signal;
pub mod socket;
mod socket_unix;
pub mod splice;
pub mod stat;
mod strace;
pub mod table;
pub mod time;
pub mod wait;
pub mod xattr;

use std::sync::Arc;

use platform::{Context, CpuState};

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;

/// Returned by handlers that set the registers themselves (execve,
/// rt_sigreturn): rax is left alone.
pub const JUST_RETURN: Errno = Errno(-1000);

/// Everything a handler may touch.
pub struct Sc<'a> {
    /// The calling task.
    pub task: &'a Arc<Task>,
    /// Its registers.
    pub cpu: &'a mut CpuState,
    /// Its platform context.
    pub ctx: &'a mut Box<dyn Context>,
}

/// A syscall handler.
pub type Handler = fn(&mut Sc<'_>, [u64; 6]) -> KResult<u64>;

/// Serve the syscall in `cpu`.
pub fn dispatch(task: &Arc<Task>, cpu: &mut CpuState, ctx: &mut Box<dyn Context>) {
    let nr = cpu.regs.orig_rax;
    let r = &cpu.regs;
    let args = [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9];
    let entry = table::lookup(nr);
    task.note_syscall(Some((nr, &args, r.rsp, r.rip)));
    let decoded = task.kernel.opts.strace.then(|| strace::args(task, entry, &args));
    let res = match entry {
        Some(e) => match e.handler {
            Some(h) => {
                let mut sc = Sc { task, cpu, ctx };
                h(&mut sc, args)
            }
            None => {
                task.kernel.log_unimplemented(nr, e.name);
                Err(Errno::ENOSYS)
            }
        },
        None => {
            task.kernel.log_unimplemented(nr, "unknown");
            Err(Errno::ENOSYS)
        }
    };
    task.note_syscall(None);
    if let Some(d) = &decoded {
        strace::log(task, entry, nr, d, &res);
    }
    match res {
        Ok(v) => cpu.regs.rax = v,
        Err(e) if e == JUST_RETURN => {}
        Err(e) => cpu.regs.rax = e.ret(),
    }
}
