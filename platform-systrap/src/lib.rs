//! The systrap platform.
//!
//! Application threads run in stub processes as on the ptrace platform, but
//! nothing traces them: a seccomp filter turns each of their system calls
//! into SIGSYS, the stub's signal handler posts the trap in the thread's
//! message area (shared memory, see [`msg`]), and the sentry host thread
//! that runs the application thread, spinning briefly and then sleeping on
//! a futex, reads and rewrites the registers in the signal frame itself.
//! Faults and other traps come the same way. Mapping changes are executed
//! by the trapped stub thread itself on command (or by the process's first
//! thread, which does nothing else), so they cost a hand-off through shared
//! memory rather than a ptrace round trip.
//!
//! Only the creation of a stub process uses ptrace: the factory thread
//! clones it from the master stub by injection, as the ptrace platform
//! does.

mod address_space;
pub mod contention;
mod context;
pub mod filter;
mod frame;
mod msg;
mod stub;

use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc, Mutex};

pub use address_space::SystrapAddressSpace;
pub use context::SystrapContext;
use platform::{AddressSpace, Context, Error, Platform, Result};
use platform_ptrace::inject::{self, Seen};
use platform_ptrace::sys::{self, Tid};

/// Hand-offs to a stub thread through its message so far (--debug).
pub static COMMANDS: AtomicU64 = AtomicU64::new(0);

/// Requests to the factory thread, which owns the master stub.
enum FactoryRequest {
    /// A new stub process, its threads born.
    NewProcess { reply: mpsc::SyncSender<Result<Born>> },
    /// Kill and reap a stub process, then free its chunks (the pair of its
    /// first two areas, and the others).
    Reap { pid: Tid, pair: u32, chunks: Vec<u32> },
}

/// A new stub process, cloned from the master; its two first threads are
/// being born (the address space waits for each before its first use, so
/// the sentry goes on loading the program meanwhile).
pub(crate) struct Born {
    pub pid: Tid,
    /// Chunks `pair` (the leader's, slot 0) and `pair + 1` (slot 1).
    pub pair: u32,
}

/// How the stubs and the sentry run, measured or chosen at start: what
/// every message is initialized with (see `Msg::init`).
#[derive(Clone, Copy)]
pub(crate) struct Tuning {
    /// WRFSBASE/RDFSBASE are usable in user mode.
    pub(crate) fsgs: bool,
    /// Spin rounds before sleeping: the stub's, the sentry's.
    pub(crate) spin_stub: u32,
    pub(crate) spin_sentry: u32,
    /// See msg::M_YIELD_CYCLES and M_YIELD_MASK.
    pub(crate) yield_cycles: u64,
    pub(crate) yield_mask: u32,
    /// The kernel's XSAVE description for signal frames (msg::M_SW); all
    /// zero when syscall sites are not patched.
    pub(crate) sw: [u8; 48],
}

impl Tuning {
    /// Syscall sites may be patched to jump to the stub's trap entry.
    fn patching(&self) -> bool {
        self.sw != [0; 48]
    }
}

/// State shared by everything of one platform instance.
pub(crate) struct Shared {
    layout: stub::Layout,
    /// The memory file's fd, the same number in the sentry and in every
    /// stub process (they share one fd table).
    memfd: i32,
    msgs: Arc<msg::MsgFile>,
    factory: Mutex<mpsc::Sender<FactoryRequest>>,
    tuning: Tuning,
    /// The host's vDSO, moved into every stub process.
    vdso: Option<stub::VdsoMove>,
    /// Stub processes whose application has gone, its memory unmapped,
    /// their threads idle: the next address spaces.
    pub(crate) recycled: Mutex<Vec<address_space::Recycled>>,
}

impl Shared {
    fn factory(&self, req: FactoryRequest) -> Result<()> {
        self.factory.lock().map_err(|_| Error::StubDied(0))?.send(req).map_err(|_| Error::StubDied(0))
    }
}

/// The systrap platform.
pub struct SystrapPlatform {
    shared: Arc<Shared>,
}

/// Whether the host can run this platform: seccomp filters with
/// SECCOMP_RET_TRAP.
pub fn available() -> std::result::Result<(), String> {
    match std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail") {
        Ok(s) if s.split_whitespace().any(|a| a == "trap") => Ok(()),
        Ok(s) => Err(format!("seccomp has no trap action here (actions: {})", s.trim())),
        Err(e) => Err(format!("no seccomp filters here (/proc/sys/kernel/seccomp/actions_avail: {e})")),
    }
}

impl SystrapPlatform {
    /// Start the platform over the memory file `memfd`: install the stub
    /// page and start the factory thread with its master stub.
    pub fn new(memfd: i32) -> Result<SystrapPlatform> {
        available().map_err(|why| {
            tracing::error!("systrap: {why}");
            Error::Host { op: "seccomp trap", errno: libc::ENOSYS }
        })?;
        let layout = stub::install()?;
        let vdso = stub::plan_vdso();
        if vdso.is_none() {
            tracing::debug!("systrap: the host vDSO cannot be moved into stubs; the sentry's is used");
        }
        let msgs = Arc::new(msg::MsgFile::new(msg::MAX_SLOTS.min(8192))?);
        // SAFETY: getauxval only reads the auxiliary vector.
        let hwcap2 = unsafe { libc::getauxval(libc::AT_HWCAP2) };
        let fsgs = hwcap2 & 2 != 0; // HWCAP2_FSGSBASE
        let per_us = spins_per_us();
        let tsc_rate = tsc_per_us();
        // How long each side spins for the other before sleeping on the
        // futex: a futex wake-up of a thread on another CPU costs 50-100 us
        // on a VM like this one's, a spin round trip 5. Both spins yield
        // the CPU every 64 rounds. (Knobs for measuring, in microseconds.)
        let knob = |name: &str, default: u32| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        let stub_us = knob("RUNSC_SYSTRAP_STUB_SPIN_US", 100);
        let sentry_us = knob("RUNSC_SYSTRAP_SENTRY_SPIN_US", 200);
        // How often the spins yield (a power of two of rounds: 512, about
        // 15 us, by default). A yield costs about 1 us here even with
        // nothing else to run, and a hand-off that lands during one waits
        // for it; but on two CPUs a spinner that yields late keeps the
        // thread it waits for (or the factory) off a CPU. Before a spinner
        // yielded at once to a peer on its own CPU (msg::same_cpu_yield),
        // that cost process starts: yielding every 2 / 5 / 10 / 25 us, 50
        // fork+exec took 112 / 110-131 / 141 / 183 ms, tar | cat 1529 /
        // 1361 / 1246 / 1143 ms. Since, with SCHED_BATCH, interleaved
        // medians of 11-15 for 2 / 4 / 8 / 16 us: tar | cat 770 / 744 /
        // 699 (658) / (662) ms, fork+exec 125 / 97 / 105 ms, python3
        // 56 / - / 55 / 69 ms.
        let yield_us = knob("RUNSC_SYSTRAP_YIELD_US", 8);
        let yield_mask = (per_us * yield_us).max(1).next_power_of_two() - 1;
        let tuning = Tuning {
            fsgs,
            spin_stub: (per_us * stub_us).min(10_000_000),
            spin_sentry: (per_us * sentry_us).min(10_000_000),
            yield_mask,
            sw: if std::env::var("RUNSC_SYSTRAP_PATCH").is_ok_and(|v| v == "0") { [0; 48] } else { frame::xsave_description() },
            yield_cycles: if msg::spin_through_yields() {
                u64::MAX
            } else {
                tsc_rate * msg::yield_gave_way_after().as_micros() as u64
            },
        };
        contention::init(tsc_rate);
        let (tx, rx) = mpsc::channel::<FactoryRequest>();
        let (forked_tx, forked) = mpsc::channel::<()>();
        let msgs2 = msgs.clone();
        let vdso2 = vdso.clone();
        std::thread::Builder::new()
            .name("systrap-factory".into())
            .spawn(move || factory(layout, vdso2, msgs2, tuning, rx, forked_tx))
            .map_err(|_| Error::Host { op: "spawn factory thread", errno: libc::EAGAIN })?;
        // The master is forked before we return: the sentry's own seccomp
        // filter, which goes in once the sandbox is built, must not be
        // inherited by it. The first stub process is made while the
        // sentry goes on starting; a failure there fails the first request.
        let _ = forked.recv();
        let shared = Arc::new(Shared {
            layout,
            memfd,
            msgs,
            factory: Mutex::new(tx),
            tuning,
            recycled: Mutex::new(Vec::new()),
            vdso,
        });
        tracing::debug!("systrap: fsgsbase {fsgs}, {per_us} spins per us, yield mask {yield_mask:#x}");
        Ok(SystrapPlatform { shared })
    }
}

/// How many rounds of a pause loop take a microsecond here.
/// TSC cycles per microsecond, measured over a millisecond.
fn tsc_per_us() -> u64 {
    // SAFETY: rdtsc only reads the time-stamp counter.
    let tsc = || unsafe { core::arch::x86_64::_rdtsc() };
    let (t0, c0) = (std::time::Instant::now(), tsc());
    while t0.elapsed() < std::time::Duration::from_millis(1) {
        std::hint::spin_loop();
    }
    let (ns, c) = (t0.elapsed().as_nanos().max(1) as u64, tsc() - c0);
    (c * 1000 / ns).max(1)
}

fn spins_per_us() -> u32 {
    let n = 2_000u32;
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::spin_loop();
        std::hint::black_box(());
    }
    let ns = t.elapsed().as_nanos().max(1) as u64;
    ((n as u64 * 1000 / ns) as u32).max(1)
}

/// The factory thread: forks the master stub (so this thread is its tracer
/// and the parent thread of every stub process), clones new stub processes
/// from it on request, and reaps them. The first process is made at once,
/// while the sentry is still starting. (Keeping one ready ahead of every
/// request was slower here: on two CPUs, making it in the background takes
/// the CPU from the process that was just started.)
fn factory(
    layout: stub::Layout,
    vdso: Option<stub::VdsoMove>,
    msgs: Arc<msg::MsgFile>,
    tuning: Tuning,
    rx: mpsc::Receiver<FactoryRequest>,
    forked: mpsc::Sender<()>,
) {
    let master = stub::fork_master(&layout, vdso.as_ref());
    let _ = forked.send(());
    let master = match master {
        Ok(pid) => pid,
        Err(e) => {
            tracing::error!("systrap: cannot start the master stub: {e}");
            // Fail every request (the channel closes when we return).
            for req in rx {
                if let FactoryRequest::NewProcess { reply } = req {
                    let _ = reply.send(Err(Error::Host { op: "start the systrap master stub", errno: libc::EIO }));
                }
            }
            return;
        }
    };
    let mut seen = Seen::default();
    let mut first = make_process(master, &layout, &msgs, tuning, &mut seen).ok();
    for req in rx {
        match req {
            FactoryRequest::NewProcess { reply } => {
                let r = match first.take() {
                    Some(b) => Ok(b),
                    None => make_process(master, &layout, &msgs, tuning, &mut seen),
                };
                let _ = reply.send(r);
            }
            FactoryRequest::Reap { pid, pair, chunks } => reap(&msgs, pid, pair, &chunks),
        }
    }
    if let Some(b) = first {
        reap(&msgs, b.pid, b.pair, &[]);
    }
    sys::kill_process(master);
    let _ = sys::wait(master);
}

/// Kill and reap stub process `pid`, then free its chunks.
fn reap(msgs: &msg::MsgFile, pid: Tid, pair: u32, chunks: &[u32]) {
    sys::kill_process(pid);
    while sys::wait(pid).is_ok() {}
    msgs.release_pair(pair);
    msgs.release(chunks);
}

/// A new stub process, its two first threads on their way to birth.
fn make_process(master: Tid, layout: &stub::Layout, msgs: &msg::MsgFile, tuning: Tuning, seen: &mut Seen) -> Result<Born> {
    let pair = msgs.alloc_pair()?;
    let (m0, m1) = (msgs.msg(pair, 0), msgs.msg(pair + 1, 1));
    m0.init(&tuning);
    m1.init(&tuning);
    match new_process(master, layout, msgs.fd, pair, seen) {
        Ok(pid) => Ok(Born { pid, pair }),
        Err(e) => {
            msgs.release_pair(pair);
            Err(e)
        }
    }
}

/// Clone a stub process from the master with chunks `pair` and `pair + 1`
/// as its first two threads' areas (mapped in the master first, so the
/// child inherits them).
fn new_process(master: Tid, layout: &stub::Layout, msgs_fd: i32, pair: u32, seen: &mut Seen) -> Result<Tid> {
    let area = msg::area_addr(0);
    let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
    let args = [area, 2 * msg::AREA_SIZE, prot, flags, msgs_fd as u64, msg::MsgFile::offset(pair)];
    let r = inject::raw(master, layout.inject, libc::SYS_mmap, args, seen)?;
    if r as u64 != area {
        return Err(Error::Injected { op: "mmap(stub area)", errno: (-r) as i32 });
    }
    let top = area + msg::AREA_SIZE - 64;
    let r = inject::raw(master, layout.inject_clone, libc::SYS_clone, [filter::PROCESS_CLONE_FLAGS, top, 0, 0, 0, 0], seen)?;
    if r <= 0 {
        return Err(Error::Injected { op: "clone(stub process)", errno: (-r) as i32 });
    }
    Ok(r as Tid)
}

impl Platform for SystrapPlatform {
    fn name(&self) -> &'static str {
        "systrap"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>> {
        Ok(Arc::new(SystrapAddressSpace::new(self.shared.clone())?))
    }

    fn new_context(&self) -> Result<Box<dyn Context>> {
        Ok(Box::new(SystrapContext::new(self.shared.clone())))
    }

    fn host_vdso(&self) -> Option<platform::HostVdso> {
        let v = self.shared.vdso.as_ref()?;
        Some(platform::HostVdso { base: v.base, maps: v.moves.iter().map(|m| (m.2, m.2 + m.1, m.3, m.4.clone())).collect() })
    }
}
