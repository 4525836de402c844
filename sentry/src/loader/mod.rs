//! Program loading: ELF (static, static-PIE, dynamic through PT_INTERP),
//! `#!` scripts, the initial stack with argv, envp and auxv, and the vDSO.

pub mod elf;
mod vdso_image;

use std::sync::Arc;

use platform::Prot;

use crate::errno::{Errno, KResult};
use crate::kernel::task::Task;
use crate::mm::{Backing, Mappable, MemoryFile, MemoryManager, PAGE};
use crate::vfs::path::{Follow, Location};
use crate::vfs::{mode, File};

/// Where the stack ends.
const STACK_TOP: u64 = 0x7fff_f000_0000;
/// Stack size reserved.
const STACK_SIZE: u64 = 8 << 20;
/// Base for ET_DYN main programs.
const PIE_BASE: u64 = 0x5555_5555_4000;
/// Base for the interpreter.
const INTERP_BASE: u64 = 0x7fff_e000_0000;
/// Pages the stack top is moved down by, at random.
const STACK_RANDOM_PAGES: u64 = 1024;
/// The vDSO's address: below the lowest address the stack can reach, so
/// that the two never overlap whatever the stack's random offset.
const VDSO_BASE: u64 = STACK_TOP - STACK_RANDOM_PAGES * PAGE - STACK_SIZE - 0x10000;

/// A loaded image.
pub struct Loaded {
    /// Entry point to start at.
    pub entry: u64,
    /// Initial stack pointer.
    pub sp: u64,
    /// Executable path (for /proc/self/exe).
    pub exe: Vec<u8>,
    /// Where the executable is (what /proc/self/exe leads to).
    pub exe_at: Location,
    /// comm.
    pub comm: Vec<u8>,
}

struct StaticBytes(&'static [u8]);

impl Mappable for StaticBytes {
    fn frames(&self, mf: &Arc<MemoryFile>, off: u64, n: usize) -> KResult<Vec<u64>> {
        let frames = mf.alloc(n)?;
        for (i, &f) in frames.iter().enumerate() {
            let o = (off as usize + i * PAGE as usize).min(self.0.len());
            let len = (PAGE as usize).min(self.0.len() - o);
            mf.write(f, &self.0[o..o + len]);
        }
        Ok(frames)
    }
    fn map_name(&self) -> String {
        "[vdso]".into()
    }
}

/// A file mapping that remembers its path for /proc/[pid]/maps.
pub struct NamedMapping {
    /// The file's mapping.
    pub inner: Arc<dyn Mappable>,
    /// Its path.
    pub path: String,
    /// A shared mapping of it may be made writable (see
    /// [`Mappable::may_write_shared`]).
    pub shared_write: bool,
}

impl Mappable for NamedMapping {
    fn frames(&self, mf: &Arc<MemoryFile>, off: u64, n: usize) -> KResult<Vec<u64>> {
        self.inner.frames(mf, off, n)
    }
    fn map_name(&self) -> String {
        self.path.clone()
    }
    fn map_ids(&self) -> (u64, u64) {
        self.inner.map_ids()
    }
    fn size(&self) -> Option<u64> {
        self.inner.size()
    }
    fn rmap_key(&self) -> Option<usize> {
        self.inner.rmap_key()
    }
    fn host_fd(&self) -> Option<Arc<std::os::fd::OwnedFd>> {
        self.inner.host_fd()
    }
    fn sync(&self) -> KResult<()> {
        self.inner.sync()
    }
    fn may_write_shared(&self) -> bool {
        self.shared_write
    }
}

fn open_exec(task: &Task, path: &[u8]) -> KResult<(Arc<File>, Location)> {
    let fs = task.fs();
    let loc = task.kernel.resolve(&fs.root, &fs.cwd, path, Follow::Yes, Some(&task.creds()))?;
    open_exec_at(task, loc)
}

/// Open the file at `loc` for execution.
fn open_exec_at(task: &Task, loc: Location) -> KResult<(Arc<File>, Location)> {
    let inode = loc.inode().clone();
    let a = inode.stat()?;
    if a.is_dir() || a.kind() != mode::S_IFREG {
        return Err(Errno::EACCES);
    }
    // Execute permission for the caller (root: any x bit).
    crate::vfs::perm::check(&task.creds(), &a, crate::vfs::perm::MAY_EXEC)?;
    let ops = inode.clone().open(0)?;
    Ok((File::new(ops, inode, loc.path(), 0), loc))
}

fn read_at(task: &Task, f: &File, off: u64, len: usize) -> KResult<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = f.ops.read(task, &mut buf[done..], off + done as u64, false)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

struct Image {
    entry: u64,
    phdr: u64,
    phnum: u64,
    base: u64,
    interp: Option<Vec<u8>>,
    brk: u64,
}

/// Map an ELF file into `mm`. `base_hint` is used for ET_DYN.
fn load_elf(task: &Task, mm: &MemoryManager, f: &Arc<File>, head: &[u8], base_hint: u64) -> KResult<Image> {
    let h = elf::parse_header(head)?;
    let phbytes = read_at(task, f, h.phoff, h.ph_bytes())?;
    let l = elf::layout(&h, &phbytes, base_hint)?;
    let mapping: Arc<dyn Mappable> = Arc::new(NamedMapping {
        inner: f.ops.mappable().ok_or(Errno::EACCES)?,
        path: String::from_utf8_lossy(&f.path).into_owned(),
        shared_write: false,
    });
    let interp = match l.interp {
        Some((off, len)) => {
            let mut s = read_at(task, f, off, len)?;
            if let Some(i) = s.iter().position(|&c| c == 0) {
                s.truncate(i);
            }
            Some(s)
        }
        None => None,
    };
    for seg in &l.segments {
        if seg.file_end_page > seg.start {
            let len = seg.file_end_page - seg.start;
            mm.mmap(seg.start, len, seg.prot, true, false, false, Backing::File(mapping.clone(), seg.off), None)?;
        }
        // Zero the tail of the last file page, then map anonymous bss.
        if seg.mem_end > seg.file_end {
            if seg.file_end < seg.file_end_page && seg.prot.write {
                mm.zero_out(seg.file_end, (seg.file_end_page - seg.file_end) as usize)?;
            }
            if seg.anon_end > seg.anon_start {
                mm.mmap(seg.anon_start, seg.anon_end - seg.anon_start, seg.prot, true, false, false, Backing::Anon, None)?;
            }
        }
    }
    Ok(Image { entry: l.entry, phdr: l.phdr, phnum: h.phnum as u64, base: l.base, interp, brk: l.brk })
}

/// Execute `path` in `task`: build a new address space. On success the
/// caller installs it and starts at `entry` with `sp`.
/// Load `path` (or, when given, the file at `at`, which `path` names:
/// execveat's "/dev/fd/N") into a new address space.
pub fn exec(
    task: &Task,
    path: &[u8],
    at: Option<Location>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> KResult<(Arc<MemoryManager>, Loaded)> {
    let mut at = at;
    // comm is the last component of the name execve was given (before
    // `#!` or symlinks are followed), as Linux sets it; for a file given
    // by its fd alone (execveat's "/dev/fd/N"), the file's own name (a
    // memfd's "memfd:NAME").
    let named: &[u8] = match &at {
        Some(l) if path.starts_with(b"/dev/fd/") && !path[8..].contains(&b'/') => {
            let last = l.names.last().map(|n| n.as_slice()).unwrap_or(path);
            let last = last.rsplit(|&c| c == b'/').next().unwrap_or(last);
            last.strip_suffix(b" (deleted)").unwrap_or(last)
        }
        _ => path,
    };
    let comm: Vec<u8> = named.rsplit(|&c| c == b'/').next().unwrap_or(named).iter().take(15).copied().collect();
    let mut path = path.to_vec();
    let mut argv = argv;
    for _depth in 0..5 {
        let (f, loc) = match at.take() {
            Some(l) => open_exec_at(task, l)?,
            None => open_exec(task, &path)?,
        };
        let head = read_at(task, &f, 0, 256)?;
        if head.starts_with(b"#!") {
            let line_end = head.iter().position(|&c| c == b'\n').unwrap_or(head.len());
            let line = &head[2..line_end];
            let line: Vec<u8> = line.to_vec();
            let trimmed: Vec<&[u8]> = line.split(|&c| c == b' ' || c == b'\t').filter(|s| !s.is_empty()).collect();
            if trimmed.is_empty() {
                return Err(Errno::ENOEXEC);
            }
            let interp = trimmed[0].to_vec();
            let rest: Vec<u8> = {
                // Everything after the interpreter is one argument.
                let s = line.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(0);
                let after = &line[s + interp.len()..];
                let a: &[u8] = trim(after);
                a.to_vec()
            };
            let mut nargv = vec![interp.clone()];
            if !rest.is_empty() {
                nargv.push(rest);
            }
            nargv.push(path.clone());
            nargv.extend(argv.into_iter().skip(1));
            argv = nargv;
            path = interp;
            continue;
        }
        if head.len() < 4 || &head[..4] != b"\x7fELF" {
            return Err(Errno::ENOEXEC);
        }
        let mm = Arc::new(MemoryManager::new(task.kernel.mf.clone(), task.kernel.platform.new_address_space()?));
        let img = load_elf(task, &mm, &f, &head, PIE_BASE)?;
        let (entry, at_base) = match &img.interp {
            Some(ip) => {
                let (inf, _) = open_exec(task, ip)?;
                let ihead = read_at(task, &inf, 0, 64)?;
                let ii = load_elf(task, &mm, &inf, &ihead, INTERP_BASE)?;
                (ii.entry, ii.base)
            }
            None => (img.entry, 0),
        };
        {
            let mut m = mm.lock();
            m.brk_start = img.brk;
            m.brk = img.brk;
        }
        // The vDSO: the host's, when the platform maps it in every address
        // space (its clocks are the sentry's and need no system call),
        // else ours.
        let vdso_base = match task.kernel.platform.host_vdso() {
            Some(v) => v.base,
            None => {
                let vdso = vdso_image::VDSO_IMAGE;
                let vlen = (vdso.len() as u64).div_ceil(PAGE) * PAGE;
                // Both fixed mappings refuse to replace anything: an overlap
                // in this layout is a bug to report, never a mapping to
                // clobber silently.
                mm.mmap(VDSO_BASE, vlen, Prot::RX, false, true, false, Backing::File(Arc::new(StaticBytes(vdso)), 0), Some("[vdso]"))?;
                VDSO_BASE
            }
        };
        // The stack.
        let mut rnd = [0u8; 8];
        crate::kernel::fill_random(&mut rnd);
        // personality(ADDR_NO_RANDOMIZE), as setarch -R and gdb set it.
        const ADDR_NO_RANDOMIZE: u32 = 0x0040000;
        let fixed = task.tg.persona.load(std::sync::atomic::Ordering::Relaxed) & ADDR_NO_RANDOMIZE != 0;
        let top = if fixed { STACK_TOP } else { STACK_TOP - (u64::from_le_bytes(rnd) % STACK_RANDOM_PAGES) * PAGE };
        mm.mmap(top - STACK_SIZE, STACK_SIZE, Prot::RW, false, true, false, Backing::Anon, Some("[stack]"))?;
        let exe = loc.path();
        let auxv_base = vec![
            (3u64, img.phdr),  // AT_PHDR
            (4, 56),           // AT_PHENT
            (5, img.phnum),    // AT_PHNUM
            (6, PAGE),         // AT_PAGESZ
            (7, at_base),      // AT_BASE
            (8, 0),            // AT_FLAGS
            (9, img.entry),    // AT_ENTRY
            (11, task.creds().uid as u64),
            (12, task.creds().euid as u64),
            (13, task.creds().gid as u64),
            (14, task.creds().egid as u64),
            (16, hwcap()),     // AT_HWCAP
            (17, 100),         // AT_CLKTCK
            (23, 0),           // AT_SECURE
            (33, vdso_base),   // AT_SYSINFO_EHDR
        ];
        let sp = build_stack(&mm, top, &argv, &envp, &exe, auxv_base)?;
        return Ok((mm, Loaded { entry, sp, exe, exe_at: loc, comm }));
    }
    Err(Errno::ELOOP)
}

fn trim(s: &[u8]) -> &[u8] {
    let a = s.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(s.len());
    let b = s.iter().rposition(|&c| c != b' ' && c != b'\t' && c != b'\r').map(|i| i + 1).unwrap_or(a);
    if b < a {
        &s[a..a]
    } else {
        &s[a..b]
    }
}

fn hwcap() -> u64 {
    // CPUID leaf 1 EDX, as Linux reports in AT_HWCAP.
    let r = std::arch::x86_64::__cpuid(1);
    r.edx as u64
}

/// Lay out argv, envp and auxv on the new stack; returns the initial sp.
fn build_stack(
    mm: &MemoryManager,
    top: u64,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    exe: &[u8],
    mut auxv: Vec<(u64, u64)>,
) -> KResult<u64> {
    let mut sp = top;
    let push_bytes = |sp: &mut u64, b: &[u8]| -> KResult<u64> {
        *sp -= b.len() as u64;
        mm.copy_out(*sp, b)?;
        Ok(*sp)
    };
    let mut exe_z = exe.to_vec();
    exe_z.push(0);
    let execfn = push_bytes(&mut sp, &exe_z)?;
    let mut env_ptrs = Vec::new();
    let env_end = sp;
    for e in envp.iter().rev() {
        let mut z = e.clone();
        z.push(0);
        env_ptrs.push(push_bytes(&mut sp, &z)?);
    }
    env_ptrs.reverse();
    let env_start = sp;
    let arg_end = sp;
    let mut arg_ptrs = Vec::new();
    for a in argv.iter().rev() {
        let mut z = a.clone();
        z.push(0);
        arg_ptrs.push(push_bytes(&mut sp, &z)?);
    }
    arg_ptrs.reverse();
    let arg_start = sp;
    let mut rnd = [0u8; 16];
    crate::kernel::fill_random(&mut rnd);
    sp &= !15;
    let random = push_bytes(&mut sp, &rnd)?;
    let platform = push_bytes(&mut sp, b"x86_64\0")?;
    auxv.push((25, random)); // AT_RANDOM
    auxv.push((31, execfn)); // AT_EXECFN
    auxv.push((15, platform)); // AT_PLATFORM
    auxv.push((0, 0));
    let words = 1 + arg_ptrs.len() + 1 + env_ptrs.len() + 1 + auxv.len() * 2;
    sp &= !15;
    if words % 2 == 1 {
        sp -= 8;
    }
    sp -= (words * 8) as u64;
    let mut v: Vec<u64> = Vec::with_capacity(words);
    v.push(argv.len() as u64);
    v.extend(&arg_ptrs);
    v.push(0);
    v.extend(&env_ptrs);
    v.push(0);
    for (k, val) in &auxv {
        v.push(*k);
        v.push(*val);
    }
    mm.copy_out(sp, bytemuck::cast_slice(&v))?;
    let mut m = mm.lock();
    m.arg_start = arg_start;
    m.arg_end = arg_end;
    m.env_start = env_start;
    m.env_end = env_end;
    m.auxv = auxv;
    Ok(sp)
}
