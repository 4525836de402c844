//! The message area shared by one stub thread and the sentry.
//!
//! Every stub thread owns an *area* of [`AREA_SIZE`] bytes in its process,
//! at [`area_addr`] of its slot: the first page is the message (below), the
//! rest is the thread's signal stack, on which the kernel builds the signal
//! frame of every trap. The area is a chunk of the platform's message file,
//! mapped shared in the stub and (all chunks at once) in the sentry, so the
//! sentry reads and writes the trapped registers, FPU state and siginfo
//! straight in the signal frame, and the stub returns to the application
//! with rt_sigreturn.
//!
//! The application can write its own areas (they are in its address space):
//! everything read from an area is untrusted, checked against the area's
//! bounds, and can only hurt the application's own threads.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use platform::{Error, Result};

use crate::contention;

/// Size of one stub thread's area: the message page and a signal stack.
pub const AREA_SIZE: u64 = 0x8000;
/// Size of the message at the start of an area.
pub const MSG_SIZE: u64 = 0x1000;
/// Where the stub code page lives in every stub process (the ptrace
/// platform's page, installed by the same code).
pub use platform_ptrace::stub::{STUB_ADDR, STUB_LEN, TASK_SIZE};
/// The window between the stub page and the areas where the host's vDSO
/// and its data pages are moved in every stub process.
pub const VDSO_WINDOW: u64 = STUB_ADDR + 0x2000;
/// Its size.
pub const VDSO_WINDOW_LEN: u64 = 0xe000;
/// Where slot 0's area starts; slot `i`'s is `i * AREA_SIZE` above.
pub const AREAS_BASE: u64 = STUB_ADDR + 0x10000;
/// Number of slots that fit below TASK_SIZE.
pub const MAX_SLOTS: u32 = ((TASK_SIZE - AREAS_BASE) / AREA_SIZE) as u32;

/// The stub address of slot `i`'s area.
pub const fn area_addr(i: u32) -> u64 {
    AREAS_BASE + i as u64 * AREA_SIZE
}

// Offsets of the message fields (the stub's assembly uses the same).
/// u32, the futex word: the state below.
pub const M_STATE: u64 = 0;
/// u32, nonzero while the stub sleeps on the state.
pub const M_STUB_SLEEP: u64 = 4;
/// u32, nonzero while the sentry sleeps on the state.
pub const M_SENTRY_SLEEP: u64 = 8;
/// u32, the signal number of the trap.
pub const M_SIGNO: u64 = 12;
/// u64, stub address of the trap's ucontext.
pub const M_UC: u64 = 16;
/// u64, stub address of the trap's siginfo.
pub const M_INFO: u64 = 24;
/// u64, the thread's fs base as the stub last read or set it.
pub const M_FS: u64 = 32;
/// u64, the fs base to run with.
pub const M_FS_NEW: u64 = 40;
/// u32, nonzero when the CPU has RDFSBASE/WRFSBASE for user code.
pub const M_FSGS: u64 = 48;
/// u32, spin iterations before the stub sleeps.
pub const M_SPIN: u64 = 52;
/// u64, the number of a syscall the stub is to execute.
pub const M_NR: u64 = 56;
/// u64 x 6, its arguments.
pub const M_ARGS: u64 = 64;
/// u64, its result.
pub const M_RET: u64 = 112;
/// u32, the thread id (CLONE_CHILD_SETTID), cleared by the kernel when the
/// thread exits (CLONE_CHILD_CLEARTID).
pub const M_CTID: u64 = 120;
/// stack_t for sigaltstack.
pub const M_SS: u64 = 128;
/// 8 zero bytes: the empty signal mask.
pub const M_ZERO: u64 = 160;
/// u64, TSC cycles past which a sched_yield of the stub's spin counts as
/// having run another thread (the CPUs are oversubscribed: sleep).
pub const M_YIELD_CYCLES: u64 = 168;
/// u32, a mask of spin rounds: both spins yield the CPU once per mask + 1
/// rounds (about every 15 us by default; see lib.rs).
pub const M_YIELD_MASK: u64 = 176;

/// u64, the area's own stub address (the trap entry finds its area
/// through the GS base, which every stub thread points at its area).
pub const M_SELF: u64 = 184;
/// u64, the application's rsp while the trap entry runs.
pub const M_APP_RSP: u64 = 192;
/// u32, nonzero from the trap entry to the return to the application: an
/// interrupt signal arriving then is dropped (the thread is on its way to
/// the sentry anyway, and a nested frame would replace the one posted).
pub const M_IN_TRAP: u64 = 200;
/// 48 bytes: the kernel's software-reserved bytes of a signal frame's
/// XSAVE area (struct _fpx_sw_bytes), copied into each frame the trap
/// entry builds, so that rt_sigreturn restores the full XSAVE state.
pub const M_SW: u64 = 208;
/// u32, set by the sentry with C_RUN: the frame is the trap entry's and
/// only rax changed (no FPU state written, no other register): the stub
/// returns to the application in user space, without rt_sigreturn.
pub const M_FAST: u64 = M_SW + 48;
/// u64, where that return jumps to.
pub const M_APP_RIP: u64 = M_FAST + 8;
/// u32, set by the sentry while it serves a long syscall that does not
/// block (see `Interrupt::busy`): a stub thread whose spin runs out spins
/// on instead of sleeping. Cleared with every command posted.
pub const M_KEEP: u64 = M_APP_RIP + 8;
/// u32, the CPU the stub thread last waited on (RDPID's value), or
/// u32::MAX: see [`same_cpu_yield`].
pub const M_STUB_CPU: u64 = M_KEEP + 8;
/// u32, the CPU the sentry thread last waited on, or u32::MAX.
pub const M_SENTRY_CPU: u64 = M_KEEP + 12;
/// u32, nonzero when the stub is to read and compare the CPUs (the CPU
/// has RDPID and [`same_cpu_yield`] is on).
pub const M_CPU_OK: u64 = M_KEEP + 16;
/// u64, the TSC when the sentry posted its last command.
pub const M_CMD_TSC: u64 = M_KEEP + 24;
/// u64, the TSC when the stub saw its last command.
pub const M_SEEN_TSC: u64 = M_KEEP + 32;
/// u64, the TSC when the stub posted its last trap or result.
pub const M_TRAP_TSC: u64 = M_KEEP + 40;
/// u32, the stub's spin count while nothing is oversubscribed (the
/// sentry copies it, or 0, into M_SPIN with each command: see
/// [`crate::contention`]).
pub const M_SPIN_CFG: u64 = M_KEEP + 48;
/// u32, the host scheduling policy the sentry last set for the stub
/// thread (see `contention::match_policy`).
pub const M_NORMAL: u64 = M_KEEP + 52;
/// The end of the message's fixed fields.
pub const M_END: u64 = M_KEEP + 56;

/// Where the trap entry builds its signal frame in the area: the XSAVE
/// area (64-byte aligned, up to 4 KB with its magic), the ucontext below
/// it, the siginfo after the ucontext.
pub const TRAP_XS: u64 = AREA_SIZE - 0x1000;
/// The trap entry's ucontext.
pub const TRAP_UC: u64 = TRAP_XS - 0x200;
/// The trap entry's siginfo.
pub const TRAP_SI: u64 = TRAP_UC + 0x140;

/// Stub to sentry: a trap; its frame is described by signo/uc/info.
pub const S_TRAPPED: u32 = 1;
/// Stub to sentry: the syscall asked for is done, its result in M_RET.
pub const S_DONE: u32 = 2;
/// Sentry to stub: return to the application.
pub const C_RUN: u32 = 3;
/// Sentry to stub: execute syscall M_NR(M_ARGS).
pub const C_SYSCALL: u32 = 4;
/// Sentry to stub: clone(M_ARGS) at the clone site; the child is born.
pub const C_CLONE: u32 = 5;
/// Sentry to stub: stop spinning and sleep until the next command (the
/// sentry thread is about to block).
pub const C_SLEEP: u32 = 6;

/// One chunk of the message file as the sentry sees it.
#[derive(Clone, Copy)]
pub struct Msg {
    base: *mut u8,
    /// The stub address the chunk is mapped at.
    stub: u64,
}

// SAFETY: a Msg points into the message file's mapping, which lives as long
// as the platform and is only accessed through atomics and volatile copies.
unsafe impl Send for Msg {}
// SAFETY: as above.
unsafe impl Sync for Msg {}

impl Msg {
    /// `base` must point to AREA_SIZE bytes of the message file that stay
    /// mapped for the life of the returned value.
    pub(crate) fn new(base: *mut u8, stub: u64) -> Msg {
        Msg { base, stub }
    }

    fn u32_at(&self, off: u64) -> &AtomicU32 {
        // SAFETY: off is one of the M_* offsets, 4-aligned and inside the
        // message page of a live mapping (see `new`).
        unsafe { &*(self.base.add(off as usize) as *const AtomicU32) }
    }

    fn u64_at(&self, off: u64) -> &AtomicU64 {
        // SAFETY: as for u32_at, 8-aligned.
        unsafe { &*(self.base.add(off as usize) as *const AtomicU64) }
    }

    pub fn state(&self) -> &AtomicU32 {
        self.u32_at(M_STATE)
    }
    /// The posted frame is the one the trap entry builds (a patched
    /// syscall), not one of the kernel's.
    pub fn in_entry_frame(&self) -> bool {
        self.get(M_UC) == self.stub + TRAP_UC
    }

    /// A u64 field.
    pub fn get(&self, off: u64) -> u64 {
        self.u64_at(off).load(Ordering::Relaxed)
    }
    pub fn set(&self, off: u64, v: u64) {
        self.u64_at(off).store(v, Ordering::Relaxed)
    }
    pub fn get32(&self, off: u64) -> u32 {
        self.u32_at(off).load(Ordering::Relaxed)
    }
    pub fn set32(&self, off: u64, v: u32) {
        self.u32_at(off).store(v, Ordering::Relaxed)
    }

    /// Reset the message for a thread about to be born in it.
    pub fn init(&self, t: &crate::Tuning) {
        for off in (0..M_END).step_by(8) {
            self.set(off, 0);
        }
        self.set(M_SELF, self.stub);
        for (i, c) in t.sw.chunks(8).enumerate() {
            self.set(M_SW + 8 * i as u64, u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])));
        }
        self.set(M_YIELD_CYCLES, t.yield_cycles);
        self.set32(M_YIELD_MASK, t.yield_mask);
        self.set(M_FS, u64::MAX);
        self.set32(M_FSGS, t.fsgs as u32);
        self.set32(M_SPIN, t.spin_stub);
        self.set32(M_SPIN_CFG, t.spin_stub);
        self.set32(M_NORMAL, u32::MAX);
        self.set32(M_STUB_CPU, u32::MAX);
        self.set32(M_SENTRY_CPU, u32::MAX);
        self.set32(M_CPU_OK, same_cpu_yield() as u32);
    }

    /// The sentry pointer for `len` bytes at stub address `addr`, if they
    /// lie inside this area (the address comes from the stub, untrusted).
    pub fn translate(&self, addr: u64, len: u64) -> Option<*mut u8> {
        let off = addr.checked_sub(self.stub)?;
        (off.checked_add(len)? <= AREA_SIZE).then(|| {
            // SAFETY: off + len is inside the area's AREA_SIZE bytes.
            unsafe { self.base.add(off as usize) }
        })
    }

    /// The sentry's syscall is long and will not block (M_KEEP).
    pub fn keep_spinning(&self) {
        if contention::sleep_at_once(contention::now()) {
            return;
        }
        self.u32_at(M_KEEP).store(1, Ordering::Relaxed);
    }

    /// Record the CPU this sentry thread waits on (when `same_cpu`), for
    /// the stub to compare with its own; returns it (u32::MAX - 1, which
    /// matches nothing, when not comparing).
    fn note_cpu(&self, same_cpu: bool) -> u32 {
        if !same_cpu {
            return u32::MAX - 1;
        }
        let me = current_cpu();
        if self.get32(M_SENTRY_CPU) != me {
            self.set32(M_SENTRY_CPU, me);
        }
        me
    }

    /// Hand the stub command `cmd`.
    pub fn post(&self, cmd: u32) {
        self.u32_at(M_KEEP).store(0, Ordering::Relaxed);
        let t = contention::now();
        let spin = if contention::sleep_at_once(t) { 0 } else { self.get32(M_SPIN_CFG) };
        if self.get32(M_SPIN) != spin {
            self.set32(M_SPIN, spin);
        }
        self.set(M_CMD_TSC, t);
        self.state().swap(cmd, Ordering::SeqCst);
        if self.u32_at(M_STUB_SLEEP).load(Ordering::SeqCst) != 0 {
            futex_wake(self.state());
        }
    }

    /// Wait for the answer to command `v`, just posted to stub thread
    /// `tid`, as [`Msg::wait_for_change`] does. Both hand-offs (the
    /// command seen by the stub, its answer by this thread) are timed for
    /// [`contention`], and this thread does not spin while hand-offs are
    /// late.
    pub fn wait_while(&self, v: u32, spin: u32, tid: i32, alive: &dyn Fn() -> bool) -> Result<u32> {
        let posted = self.get(M_CMD_TSC);
        let contended = contention::sleep_at_once(posted);
        contention::match_policy(contended, tid, self.u32_at(M_NORMAL));
        let spin = if contended { 0 } else { spin };
        let s = self.wait_for_change(v, spin, alive)?;
        contention::seen(posted, self.get(M_SEEN_TSC));
        contention::seen(self.get(M_TRAP_TSC), contention::now());
        Ok(s)
    }

    /// Wait while the state is `v`: spin `spin` rounds, then sleep on the
    /// futex, asking `alive` whether the stub thread still exists whenever
    /// a sleep times out. Returns the new state.
    pub fn wait_for_change(&self, v: u32, spin: u32, alive: &dyn Fn() -> bool) -> Result<u32> {
        let mask = self.u32_at(M_YIELD_MASK).load(Ordering::Relaxed);
        let same_cpu = same_cpu_yield();
        let mut me = self.note_cpu(same_cpu);
        for i in 0..spin {
            let s = self.state().load(Ordering::Acquire);
            if s != v {
                return Ok(s);
            }
            std::hint::spin_loop();
            // Never keep a runnable thread off this CPU for long, and when
            // the stub thread last waited on this very CPU, not at all: it
            // cannot run while this spins here. Once a yield gave the CPU
            // to another thread (it took long), the CPUs are
            // oversubscribed: sleep rather than spin on.
            if i & mask == mask || (same_cpu && self.get32(M_STUB_CPU) == me) {
                let t = std::time::Instant::now();
                std::thread::yield_now();
                if yield_gave_way(t.elapsed()) {
                    break;
                }
                me = self.note_cpu(same_cpu);
            }
        }
        let sleep = self.u32_at(M_SENTRY_SLEEP);
        loop {
            sleep.swap(1, Ordering::SeqCst);
            let s = self.state().load(Ordering::SeqCst);
            if s != v {
                sleep.store(0, Ordering::Relaxed);
                return Ok(s);
            }
            let timed_out = futex_wait(self.state(), v, Duration::from_millis(200));
            sleep.store(0, Ordering::Relaxed);
            let s = self.state().load(Ordering::SeqCst);
            if s != v {
                return Ok(s);
            }
            if timed_out && !alive() {
                return Err(Error::StubDied(0));
            }
        }
    }
}

/// The CPU this thread runs on, as RDPID reads it (Linux keeps the CPU
/// number in TSC_AUX). Only called when [`same_cpu_yield`] holds.
fn current_cpu() -> u32 {
    let v: u64;
    // SAFETY: RDPID only reads TSC_AUX into a register; same_cpu_yield
    // checked with CPUID that the CPU has the instruction.
    unsafe { std::arch::asm!("rdpid {}", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v as u32
}

/// Whether each side of a hand-off yields at once, instead of spinning,
/// when the other last waited on the same CPU: the other thread cannot
/// run there until this one gives the CPU up, so a spin only delays it.
/// On two CPUs shared by two busy sandboxed processes this is the common
/// case (each stub and its sentry thread share a CPU). Needs RDPID
/// (CPUID.7.0:ECX bit 22); `RUNSC_SYSTRAP_SAME_CPU=0` turns it off, for
/// measuring.
pub fn same_cpu_yield() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        // (Leaf 7 exists when leaf 0 reports it.)
        let rdpid = std::arch::x86_64::__cpuid(0).eax >= 7 && std::arch::x86_64::__cpuid_count(7, 0).ecx & (1 << 22) != 0;
        rdpid && std::env::var("RUNSC_SYSTRAP_SAME_CPU").map_or(true, |v| v != "0")
    })
}

/// Whether a sched_yield that took `d` ran another thread: a yield with
/// nothing else to run returns in well under a microsecond.
fn yield_gave_way(d: Duration) -> bool {
    !spin_through_yields() && d > yield_gave_way_after()
}

/// A yield longer than this ran another thread: the CPUs count as
/// oversubscribed (RUNSC_SYSTRAP_GAVE_WAY_US, default 4, for measuring).
/// At 20 us a quick syscall after a long one (an empty getdents or a
/// close after a cold directory listing) found its stub awake more often
/// (6-13 -> 1.3-2.2 us), with no change in fork+exec, python3 or tar |
/// cat; but under the test suite's load (two dozen sandboxes on two CPUs)
/// the longer spins starved other sandboxes: two timing tests failed
/// within the hour. 4 stays.
pub fn yield_gave_way_after() -> Duration {
    static D: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *D.get_or_init(|| {
        Duration::from_micros(std::env::var("RUNSC_SYSTRAP_GAVE_WAY_US").ok().and_then(|v| v.parse().ok()).unwrap_or(4))
    })
}

/// `RUNSC_SPIN_THROUGH_YIELDS` set: spin on however long yields take (to
/// measure against).
pub fn spin_through_yields() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("RUNSC_SPIN_THROUGH_YIELDS").is_some())
}

/// FUTEX_WAKE on a word of shared memory (not FUTEX_PRIVATE: the stub
/// waits on its own mapping of the same file page).
fn futex_wake(word: &AtomicU32) {
    // SAFETY: the address is a live, aligned u32; the kernel only uses it
    // as a futex key.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1, 0usize, 0usize, 0u32);
    }
}

/// FUTEX_WAIT while `*word == v`, at most `limit`; true if it timed out.
fn futex_wait(word: &AtomicU32, v: u32, limit: Duration) -> bool {
    let ts = libc::timespec { tv_sec: limit.as_secs() as _, tv_nsec: limit.subsec_nanos() as _ };
    // SAFETY: the address is a live, aligned u32 and ts a live timespec.
    let r = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, v, &ts as *const libc::timespec, 0usize, 0u32) };
    r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT)
}

/// The message file: one chunk of AREA_SIZE per live stub thread of the
/// sandbox, mapped once in the sentry.
pub struct MsgFile {
    pub fd: i32,
    base: *mut u8,
    free: std::sync::Mutex<Vec<u32>>,
    /// Free pairs of chunks (c, c+1), by their first.
    free_pairs: std::sync::Mutex<Vec<u32>>,
    next: AtomicU32,
    chunks: u32,
}

// SAFETY: the mapping is shared memory accessed only through Msg (atomics);
// the allocator state is behind a mutex or atomic.
unsafe impl Send for MsgFile {}
// SAFETY: as above.
unsafe impl Sync for MsgFile {}

impl MsgFile {
    /// Create the file with room for `chunks` stub threads and map it.
    pub fn new(chunks: u32) -> Result<MsgFile> {
        let host = platform_ptrace::sys::host_error;
        // SAFETY: the name is a NUL-terminated literal.
        let fd = unsafe { libc::memfd_create(c"runsc-systrap".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(host("memfd_create(message file)"));
        }
        let len = chunks as u64 * AREA_SIZE;
        // SAFETY: fd is the memfd just created.
        if unsafe { libc::ftruncate(fd, len as i64) } != 0 {
            return Err(host("ftruncate(message file)"));
        }
        // SAFETY: a fresh shared mapping of our own memfd; nothing else is
        // at the address the kernel picks.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len as usize, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0) };
        if p == libc::MAP_FAILED {
            return Err(host("mmap(message file)"));
        }
        Ok(MsgFile {
            fd,
            base: p.cast(),
            free: std::sync::Mutex::new(Vec::new()),
            free_pairs: std::sync::Mutex::new(Vec::new()),
            next: AtomicU32::new(0),
            chunks,
        })
    }

    /// A free chunk.
    pub fn alloc(&self) -> Result<u32> {
        if let Some(c) = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(c);
        }
        let c = self.next.fetch_add(1, Ordering::Relaxed);
        if c >= self.chunks {
            return Err(Error::Host { op: "allocate a stub thread area", errno: libc::EAGAIN });
        }
        Ok(c)
    }

    /// Two consecutive free chunks (a new process's first two areas, mapped
    /// with one mmap); returns the first.
    pub fn alloc_pair(&self) -> Result<u32> {
        if let Some(c) = self.free_pairs.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(c);
        }
        let c = self.next.fetch_add(2, Ordering::Relaxed);
        if c + 1 >= self.chunks {
            return Err(Error::Host { op: "allocate a stub process's areas", errno: libc::EAGAIN });
        }
        Ok(c)
    }

    /// Return a pair from [`alloc_pair`](Self::alloc_pair), as `release`.
    pub fn release_pair(&self, c: u32) {
        self.punch(&[c, c + 1]);
        self.free_pairs.lock().unwrap_or_else(|e| e.into_inner()).push(c);
    }

    /// Return chunks whose stub threads are all gone, zeroed and their
    /// memory given back.
    pub fn release(&self, chunks: &[u32]) {
        self.punch(chunks);
        self.free.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(chunks);
    }

    fn punch(&self, chunks: &[u32]) {
        for &c in chunks {
            // SAFETY: fd is our memfd; punching a hole only zeroes and frees
            // the chunk's pages.
            unsafe {
                libc::fallocate(self.fd, libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, c as i64 * AREA_SIZE as i64, AREA_SIZE as i64);
            }
        }
    }

    /// Chunk `c` as mapped in the stub at slot `slot`'s area.
    pub fn msg(&self, c: u32, slot: u32) -> Msg {
        assert!(c < self.chunks);
        // SAFETY: c is below the number of chunks the mapping holds.
        Msg::new(unsafe { self.base.add(c as usize * AREA_SIZE as usize) }, area_addr(slot))
    }

    /// The file offset of chunk `c`.
    pub fn offset(c: u32) -> u64 {
        c as u64 * AREA_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RDPID reads the CPU number Linux keeps in TSC_AUX (with the NUMA
    /// node above bit 12): pinned to each allowed CPU in turn, this
    /// thread reads that CPU.
    #[test]
    fn current_cpu_is_the_cpu_the_thread_runs_on() {
        if !same_cpu_yield() {
            eprintln!("SKIP current_cpu_is_the_cpu_the_thread_runs_on: no RDPID (or RUNSC_SYSTRAP_SAME_CPU=0)");
            return;
        }
        let allowed = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("affinity");
        let mut seen = 0;
        for cpu in 0..nix::sched::CpuSet::count() {
            if !allowed.is_set(cpu).unwrap_or(false) {
                continue;
            }
            let mut one = nix::sched::CpuSet::new();
            one.set(cpu).unwrap();
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &one).expect("pin");
            assert_eq!(current_cpu() & 0xfff, cpu as u32, "pinned to CPU {cpu}");
            seen += 1;
        }
        nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &allowed).expect("unpin");
        assert!(seen > 0);
    }
}
