//! Runs a few instructions in a stub: a syscall exit, a fault, a mapping.

use platform::{CpuState, Exit, Platform, Prot};
use platform_ptrace::PtracePlatform;

fn memfd() -> i32 {
    // SAFETY: the name is a valid C string; the fd is owned by this test.
    let fd = unsafe { libc::memfd_create(c"test-mem".as_ptr(), 0) };
    assert!(fd >= 0);
    // SAFETY: fd is the memfd just created.
    assert_eq!(unsafe { libc::ftruncate(fd, 1 << 20) }, 0);
    fd
}

#[test]
fn syscall_fault_and_interrupt() {
    let fd = memfd();
    // Code at file offset 0: mov eax, 39; syscall; mov rax,[0x5000]; ud2
    let code: [u8; 17] = [
        0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x50, 0, 0, 0x0f, 0x0b,
    ];
    // SAFETY: fd is a valid memfd; code is a live buffer.
    assert_eq!(unsafe { libc::pwrite(fd, code.as_ptr().cast(), code.len(), 0) }, code.len() as isize);
    let p = PtracePlatform::new(fd).expect("platform");
    let as_ = p.new_address_space().expect("as");
    as_.map_file(0x10000, 0x1000, 0, Prot::RX).expect("map");
    let mut ctx = p.new_context().expect("ctx");
    let mut cpu = CpuState::default();
    cpu.regs.cs = 0x33;
    cpu.regs.ss = 0x2b;
    cpu.regs.eflags = 0x202;
    cpu.regs.rip = 0x10000;
    let e = ctx.switch(&as_, &mut cpu).expect("switch");
    assert!(matches!(e, Exit::Syscall), "{e:?}");
    assert_eq!(cpu.regs.orig_rax, 39);
    cpu.regs.rax = 1234;
    let e = ctx.switch(&as_, &mut cpu).expect("switch");
    match e {
        Exit::Fault { addr, .. } => assert_eq!(addr, 0x5000),
        e => panic!("{e:?}"),
    }
    assert_eq!(cpu.regs.rax, 1234);
    // Map the page and retry: now the ud2 raises SIGILL.
    as_.map_file(0x5000, 0x1000, 0x1000, Prot::R).expect("map");
    let e = ctx.switch(&as_, &mut cpu).expect("switch");
    match e {
        Exit::Signal(si) => assert_eq!(si.signo, libc::SIGILL),
        e => panic!("{e:?}"),
    }
    assert_eq!(cpu.regs.rax, 0);
    // A second address space and a second host thread in the first one.
    let as2 = p.new_address_space().expect("as2");
    as2.map_file(0x10000, 0x1000, 0, Prot::RX).expect("map2");
    let as_c = as_.clone();
    let mut ctx2 = p.new_context().expect("ctx2");
    let t = std::thread::spawn(move || {
        let mut cpu = CpuState::default();
        cpu.regs.cs = 0x33;
        cpu.regs.ss = 0x2b;
        cpu.regs.eflags = 0x202;
        cpu.regs.rip = 0x10000;
        let e = ctx2.switch(&as_c, &mut cpu).expect("switch");
        assert!(matches!(e, Exit::Syscall));
        ctx2.release(&as_c);
    });
    t.join().unwrap();
    let start = std::time::Instant::now();
    let n = 2000;
    for _ in 0..n {
        cpu.regs.rip = 0x10000;
        let e = ctx.switch(&as_, &mut cpu).expect("switch");
        assert!(matches!(e, Exit::Syscall));
    }
    eprintln!("round trip {:?}", start.elapsed() / n);
    ctx.release(&as_);
}
