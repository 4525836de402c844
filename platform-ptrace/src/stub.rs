//! The stub: a page of machine code mapped at [`STUB_ADDR`] in every stub
//! process, and the master stub from which all stub processes are cloned.
//!
//! Stub processes contain nothing but this page and the application's
//! mappings (of the memory file, and of read-only host files). They share
//! the sentry's fd table (CLONE_FILES, as gVisor's ptrace stubs do), so an
//! injected mmap names the sentry's own fd numbers and no fd ever has to
//! be passed to a stub. This gives the application no host access: under
//! PTRACE_SYSEMU no `syscall` it executes reaches the host. Application
//! code runs in them under PTRACE_SYSEMU, so every `syscall` it executes
//! stops for the sentry and is never run by the host. The only system calls
//! the host executes on a stub's behalf are the ones the platform injects at
//! [`Layout::inject`] (mmap, munmap, mprotect, clone, exit, prctl).

use crate::sys;
use platform::{Error, Result};

/// Where the stub page lives in every stub process (just above the highest
/// application address).
pub const STUB_ADDR: u64 = platform::MAX_USER_ADDR;
/// Size of the stub region.
pub const STUB_LEN: u64 = 0x1000;
/// Linux's TASK_SIZE on x86-64 with 4-level paging.
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;

std::arch::global_asm!(
    ".pushsection .text.runsc_stub, \"ax\"",
    ".balign 16",
    ".globl runsc_stub_start",
    "runsc_stub_start:",
    // Master entry: drop every mapping but the stub page.
    "mov eax, 11",
    "xor edi, edi",
    "movabs rsi, {stub_addr}",
    "syscall",
    "mov eax, 11",
    "movabs rdi, {stub_end}",
    "movabs rsi, {upper_len}",
    "syscall",
    // Stop for the tracer (the factory thread) with a trap, not a signal
    // sent by a syscall: under kvm_pvm, resuming a tracee at a new rip from
    // a syscall-exit stop after its vDSO is gone raises a #GP.
    "int3",
    "jmp 3f",
    // Injection site: the tracer points rip here with a syscall set up.
    ".globl runsc_stub_inject",
    "runsc_stub_inject:",
    "syscall",
    "int3",
    // Injection site for clone: the child (rax == 0) parks itself.
    ".globl runsc_stub_inject_clone",
    "runsc_stub_inject_clone:",
    "syscall",
    "test rax, rax",
    "jz 2f",
    "int3",
    "2:",
    // A new stub process or thread: die with the sentry.
    "mov eax, 157",
    "mov edi, 1",
    "mov esi, 9",
    "syscall",
    "3:",
    "mov eax, 34",
    "syscall",
    "jmp 3b",
    ".globl runsc_stub_end",
    "runsc_stub_end:",
    ".popsection",
    stub_addr = const STUB_ADDR,
    stub_end = const STUB_ADDR + STUB_LEN,
    upper_len = const TASK_SIZE - (STUB_ADDR + STUB_LEN),
);

extern "C" {
    /// glibc: offset of this thread's rseq area from the thread pointer.
    static __rseq_offset: isize;
    static runsc_stub_start: u8;
    static runsc_stub_inject: u8;
    static runsc_stub_inject_clone: u8;
    static runsc_stub_end: u8;
}

/// Addresses inside the stub page, valid in every stub process.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// `syscall; int3`.
    pub inject: u64,
    /// `syscall; test; jz child; int3`.
    pub inject_clone: u64,
}

fn code() -> (&'static [u8], Layout) {
    // The four symbols are labels in the global_asm block above, in one
    // section, in this order.
    // SAFETY: only their addresses are taken.
    unsafe {
        let start = &raw const runsc_stub_start as usize;
        let inject = &raw const runsc_stub_inject as usize;
        let inject_clone = &raw const runsc_stub_inject_clone as usize;
        let end = &raw const runsc_stub_end as usize;
        // SAFETY: [start, end) is the assembled code, readable text.
        let bytes = std::slice::from_raw_parts(start as *const u8, end - start);
        (
            bytes,
            Layout {
                inject: STUB_ADDR + (inject - start) as u64,
                inject_clone: STUB_ADDR + (inject_clone - start) as u64,
            },
        )
    }
}

/// Map the stub page at [`STUB_ADDR`] in this (the sentry's) process, so that
/// a forked master inherits it. Returns the layout.
pub fn install() -> Result<Layout> {
    let (bytes, layout) = code();
    install_page(bytes)?;
    Ok(layout)
}

/// Map `code` read + execute as the stub page at [`STUB_ADDR`] in this
/// process (every platform's stub code lives there).
pub fn install_page(code: &[u8]) -> Result<()> {
    assert!(code.len() as u64 <= STUB_LEN);
    // MAP_FIXED_NOREPLACE never replaces an existing mapping.
    // SAFETY: so the new anonymous page belongs to nobody else.
    let p = unsafe {
        libc::mmap(
            STUB_ADDR as *mut libc::c_void,
            STUB_LEN as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED || p as u64 != STUB_ADDR {
        return Err(sys::host_error("mmap(stub page)"));
    }
    // SAFETY: p is a fresh writable mapping of STUB_LEN >= code.len().
    unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), p as *mut u8, code.len()) };
    // SAFETY: p is the mapping we just made.
    if unsafe { libc::mprotect(p, STUB_LEN as usize, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
        return Err(sys::host_error("mprotect(stub page)"));
    }
    Ok(())
}

/// In a child forked from the sentry that is about to unmap everything:
/// drop the rseq registration inherited from glibc, whose area goes with
/// the unmapping (the kernel would otherwise kill the stub with SIGSEGV
/// the first time it returns to it after being scheduled). Only a raw
/// system call: safe in the forked child.
pub fn unregister_rseq() {
    let tp: usize;
    // SAFETY: reads the thread pointer; no memory is touched.
    unsafe { std::arch::asm!("mov {}, fs:0", out(reg) tp) };
    // SAFETY: __rseq_offset is glibc's constant for this thread's layout.
    let area = tp.wrapping_add_signed(unsafe { __rseq_offset });
    for len in [32u32, 20] {
        // The kernel only compares `area` with the registered one.
        // SAFETY: rseq unregistration with integer arguments.
        if unsafe { libc::syscall(libc::SYS_rseq, area, len, 1u32, 0x5305_3053u32) } == 0 {
            break;
        }
    }
}

/// Fork the master stub from the calling thread, which becomes its tracer.
/// The master holds only the stub page and shares the sentry's fd table.
/// Returns once the master has stopped itself, ready for injection.
pub fn fork_master() -> Result<sys::Tid> {
    // A fork-like clone (no CLONE_VM: the child gets a copy of our memory)
    // that also shares the fd table; the child closes no fd (the table is
    // ours).
    // The child only makes async-signal-safe raw system calls and then
    // jumps into the stub page, never returning into Rust.
    // SAFETY: so nothing in the copied memory is used twice.
    let pid = unsafe {
        libc::syscall(libc::SYS_clone, (libc::CLONE_FILES | libc::SIGCHLD) as u64, 0u64, 0u64, 0u64, 0u64)
    } as i32;
    if pid < 0 {
        return Err(sys::host_error("fork(master stub)"));
    }
    if pid == 0 {
        // The jump target is the stub code installed before the fork.
        // SAFETY: raw syscalls with integer arguments in the fresh child.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            unregister_rseq();
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize);
            std::arch::asm!("jmp {}", in(reg) STUB_ADDR, options(noreturn));
        }
    }
    let status = sys::wait(pid)?;
    if !libc::WIFSTOPPED(status) || libc::WSTOPSIG(status) != libc::SIGTRAP {
        return Err(Error::StubDied(pid));
    }
    Ok(pid)
}
