//! Signal numbers, actions, sets, and the x86-64 signal frame.

use bytemuck::{Pod, Zeroable};
use std::time::Instant;

/// Number of signals (1..=64).
pub const NSIG: usize = 64;

#[allow(missing_docs)]
pub mod sig {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGQUIT: i32 = 3;
    pub const SIGILL: i32 = 4;
    pub const SIGTRAP: i32 = 5;
    pub const SIGABRT: i32 = 6;
    pub const SIGBUS: i32 = 7;
    pub const SIGFPE: i32 = 8;
    pub const SIGKILL: i32 = 9;
    pub const SIGUSR1: i32 = 10;
    pub const SIGSEGV: i32 = 11;
    pub const SIGUSR2: i32 = 12;
    pub const SIGPIPE: i32 = 13;
    pub const SIGALRM: i32 = 14;
    pub const SIGTERM: i32 = 15;
    pub const SIGCHLD: i32 = 17;
    pub const SIGCONT: i32 = 18;
    pub const SIGSTOP: i32 = 19;
    pub const SIGTSTP: i32 = 20;
    pub const SIGTTIN: i32 = 21;
    pub const SIGTTOU: i32 = 22;
    pub const SIGURG: i32 = 23;
    pub const SIGXCPU: i32 = 24;
    pub const SIGXFSZ: i32 = 25;
    pub const SIGVTALRM: i32 = 26;
    pub const SIGPROF: i32 = 27;
    pub const SIGWINCH: i32 = 28;
    pub const SIGSYS: i32 = 31;
}

/// The bit of signal `s` in a mask.
pub fn bit(s: i32) -> u64 {
    1u64 << (s - 1)
}

/// Signals that can be neither caught nor blocked.
pub const UNBLOCKABLE: u64 = (1 << (sig::SIGKILL - 1)) | (1 << (sig::SIGSTOP - 1));

/// What SIG_DFL does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Default {
    /// Terminate the thread group.
    Terminate,
    /// Terminate and dump core (status bit 0x80).
    Core,
    /// Ignore.
    Ignore,
    /// Stop the thread group.
    Stop,
    /// Continue.
    Continue,
}

/// The default action of a signal.
pub fn default_action(s: i32) -> Default {
    use sig::*;
    match s {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS => Default::Core,
        SIGCHLD | SIGURG | SIGWINCH => Default::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Default::Stop,
        SIGCONT => Default::Continue,
        _ => Default::Terminate,
    }
}

/// SIG_DFL.
pub const SIG_DFL: u64 = 0;
/// SIG_IGN.
pub const SIG_IGN: u64 = 1;
#[allow(missing_docs)]
pub const SA_SIGINFO: u64 = 4;
#[allow(missing_docs)]
pub const SA_NOCLDWAIT: u64 = 2;
#[allow(missing_docs)]
pub const SA_ONSTACK: u64 = 0x0800_0000;
#[allow(missing_docs)]
pub const SA_RESTART: u64 = 0x1000_0000;
#[allow(missing_docs)]
pub const SA_NODEFER: u64 = 0x4000_0000;
#[allow(missing_docs)]
pub const SA_RESETHAND: u64 = 0x8000_0000;
#[allow(missing_docs)]
pub const SA_RESTORER: u64 = 0x0400_0000;

/// `struct sigaction` as the kernel ABI lays it out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct SigAction {
    /// Handler, SIG_DFL or SIG_IGN.
    pub handler: u64,
    /// SA_* flags.
    pub flags: u64,
    /// Restorer (SA_RESTORER).
    pub restorer: u64,
    /// Mask during the handler.
    pub mask: u64,
}

/// A queued signal with its siginfo fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueuedSignal {
    /// Signal number.
    pub signo: i32,
    /// si_code.
    pub code: i32,
    /// Sender pid, or fault address for faults.
    pub pid: i32,
    /// Sender uid.
    pub uid: u32,
    /// si_addr for faults.
    pub addr: u64,
    /// For SIGCHLD: child status.
    pub status: i32,
    /// si_value (sigqueue, timers).
    pub value: u64,
}

/// What an interrupted syscall resumes with when restarted through
/// restart_syscall(2) after a signal that ran no handler.
#[derive(Clone, Copy, Debug)]
pub enum RestartBlock {
    /// A relative nanosleep/clock_nanosleep: sleep on to the same end,
    /// writing the time left to `rem` (when not 0) if interrupted again.
    Sleep {
        /// When the sleep ends.
        deadline: Option<Instant>,
        /// The application's `rem` pointer.
        rem: u64,
    },
    /// A timed FUTEX_WAIT: wait on to the same deadline.
    Futex {
        /// The futex word.
        uaddr: u64,
        /// The value it was expected to hold.
        val: u32,
        /// FUTEX_WAIT_BITSET mask.
        bitset: u32,
        /// FUTEX_PRIVATE_FLAG.
        private: bool,
        /// When the wait times out.
        deadline: Option<Instant>,
    },
}

/// Pending signals.
#[derive(Default, Debug)]
pub struct Pending {
    /// Bit mask.
    pub mask: u64,
    /// Queued infos, in order.
    pub queue: Vec<QueuedSignal>,
}

impl Pending {
    /// Queue a signal (standard signals are not queued twice).
    pub fn push(&mut self, s: QueuedSignal) {
        if self.mask & bit(s.signo) != 0 && s.signo < 32 {
            return;
        }
        self.mask |= bit(s.signo);
        self.queue.push(s);
    }

    /// Take the lowest-numbered pending signal not in `blocked`.
    pub fn take(&mut self, blocked: u64) -> Option<QueuedSignal> {
        let ready = self.mask & !blocked;
        if ready == 0 {
            return None;
        }
        let signo = ready.trailing_zeros() as i32 + 1;
        let i = self.queue.iter().position(|q| q.signo == signo)?;
        let q = self.queue.remove(i);
        if !self.queue.iter().any(|x| x.signo == signo) {
            self.mask &= !bit(signo);
        }
        Some(q)
    }
}

/// The SIGCHLD si_code and si_status for a wait status: CLD_EXITED with the
/// exit code, CLD_DUMPED or CLD_KILLED with the signal.
pub fn cld_code(status: i32) -> (i32, i32) {
    if status & 0x7f == 0 {
        (1, (status >> 8) & 0xff)
    } else if status & 0x80 != 0 {
        (3, status & 0x7f)
    } else {
        (2, status & 0x7f)
    }
}

/// siginfo_t, 128 bytes.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct SigInfo {
    /// si_signo.
    pub signo: i32,
    /// si_errno.
    pub errno: i32,
    /// si_code.
    pub code: i32,
    pad0: i32,
    /// The union (pid/uid/status or addr).
    pub fields: [u64; 14],
}

impl SigInfo {
    /// The queued signal an application-supplied siginfo describes.
    pub fn to_queued(&self, signo: i32) -> QueuedSignal {
        QueuedSignal {
            signo,
            code: self.code,
            pid: self.fields[0] as u32 as i32,
            uid: (self.fields[0] >> 32) as u32,
            value: self.fields[1],
            ..QueuedSignal::default()
        }
    }

    /// Build from a queued signal.
    pub fn from_queued(q: &QueuedSignal) -> SigInfo {
        let mut si = SigInfo::zeroed();
        si.signo = q.signo;
        si.code = q.code;
        match q.signo {
            sig::SIGSEGV | sig::SIGBUS | sig::SIGILL | sig::SIGFPE | sig::SIGTRAP if q.code > 0 => {
                si.fields[0] = q.addr;
            }
            sig::SIGCHLD => {
                si.fields[0] = (q.pid as u32 as u64) | ((q.uid as u64) << 32);
                si.fields[1] = q.status as u32 as u64;
            }
            _ => {
                si.fields[0] = (q.pid as u32 as u64) | ((q.uid as u64) << 32);
                si.fields[1] = q.value;
            }
        }
        si
    }
}

/// `struct sigcontext` (x86-64).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default)]
#[allow(missing_docs)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    pub err: u64,
    pub trapno: u64,
    pub oldmask: u64,
    pub cr2: u64,
    pub fpstate: u64,
    pub reserved: [u64; 8],
}

/// `struct ucontext` (x86-64), with a 64-bit sigmask.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default)]
#[allow(missing_docs)]
pub struct UContext {
    pub flags: u64,
    pub link: u64,
    pub ss_sp: u64,
    pub ss_flags: u32,
    pub pad: u32,
    pub ss_size: u64,
    pub mcontext: SigContext,
    pub sigmask: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(signo: i32) -> QueuedSignal {
        QueuedSignal { signo, ..QueuedSignal::default() }
    }

    #[test]
    fn take_returns_lowest_unblocked_signal_first() {
        let mut p = Pending::default();
        p.push(q(sig::SIGUSR2));
        p.push(q(sig::SIGHUP));
        p.push(q(sig::SIGTERM));
        assert_eq!(p.take(bit(sig::SIGHUP)).map(|s| s.signo), Some(sig::SIGUSR2));
        assert_eq!(p.take(0).map(|s| s.signo), Some(sig::SIGHUP));
        assert_eq!(p.take(0).map(|s| s.signo), Some(sig::SIGTERM));
        assert!(p.take(0).is_none());
        assert_eq!(p.mask, 0);
    }

    #[test]
    fn standard_signals_do_not_queue_twice_but_realtime_ones_do() {
        let mut p = Pending::default();
        p.push(q(sig::SIGUSR1));
        p.push(q(sig::SIGUSR1));
        p.push(q(40));
        p.push(q(40));
        assert_eq!(p.queue.len(), 3);
        assert_eq!(p.take(0).map(|s| s.signo), Some(sig::SIGUSR1));
        assert!(p.take(bit(40)).is_none(), "40 is blocked");
        assert_eq!(p.take(0).map(|s| s.signo), Some(40));
        assert_eq!(p.mask, bit(40), "one instance of signal 40 is still queued");
    }

    #[test]
    fn cld_codes_follow_the_wait_status() {
        assert_eq!(cld_code(3 << 8), (1, 3)); // exited 3
        assert_eq!(cld_code(sig::SIGKILL), (2, sig::SIGKILL)); // killed
        assert_eq!(cld_code(sig::SIGSEGV | 0x80), (3, sig::SIGSEGV)); // dumped
    }

    #[test]
    fn default_actions_match_signal7() {
        assert_eq!(default_action(sig::SIGSEGV), Default::Core);
        assert_eq!(default_action(sig::SIGCHLD), Default::Ignore);
        assert_eq!(default_action(sig::SIGTSTP), Default::Stop);
        assert_eq!(default_action(sig::SIGCONT), Default::Continue);
        assert_eq!(default_action(sig::SIGTERM), Default::Terminate);
        assert_eq!(default_action(40), Default::Terminate);
    }

    #[test]
    fn siginfo_round_trips_a_sigqueue_value() {
        let mut s = QueuedSignal { signo: sig::SIGUSR1, code: -1, pid: 7, uid: 3, value: 1234, ..QueuedSignal::default() };
        let si = SigInfo::from_queued(&s);
        s.status = 0;
        let back = si.to_queued(sig::SIGUSR1);
        assert_eq!((back.code, back.pid, back.uid, back.value), (s.code, s.pid, s.uid, s.value));
    }
}
