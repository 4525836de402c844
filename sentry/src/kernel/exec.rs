//! execve's part of the task model: Linux's de_thread, which leaves the
//! exec'ing thread alone in its group (and, for a non-leader, with the
//! leader's thread id).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::task::Task;
use crate::errno::{Errno, KResult};

impl Task {
    /// Linux's de_thread, for execve: kill every other thread of the
    /// group and wait until they are gone (only the caller's own death
    /// interrupts the wait: EINTR, and the caller dies); a caller that is
    /// not the leader then takes over the leader's thread id.
    pub fn de_thread(self: &Arc<Task>) -> KResult<()> {
        let tg = &self.tg;
        tg.thread_exit_wq.add(&self.waker);
        let r = loop {
            let g = self.waker.gen();
            if self.killed.load(Ordering::SeqCst) || tg.st().group_exit.is_some() {
                break Err(Errno::EINTR);
            }
            let others: Vec<i32> = tg.st().threads.iter().copied().filter(|&x| x != self.tid()).collect();
            if others.is_empty() {
                break Ok(());
            }
            // Threads created meanwhile are caught on the next round.
            for tid in others {
                if let Some(o) = self.kernel.task(tid) {
                    o.killed.store(true, Ordering::SeqCst);
                    o.kick();
                }
            }
            self.waker.wait(g, super::wait::deadline_after(Duration::from_millis(50)));
        };
        tg.thread_exit_wq.remove(&self.waker);
        r?;
        let old = self.tid();
        if old != tg.tgid {
            self.kernel.retid(self, tg.tgid);
            let mut st = tg.st();
            for t in st.threads.iter_mut() {
                if *t == old {
                    *t = tg.tgid;
                }
            }
            drop(st);
            crate::fs::proc::CURRENT.with(|c| c.set(tg.tgid));
        }
        Ok(())
    }
}
