//! The ELF checks and the memory layout of an executable, as pure
//! functions of its bytes (so that they can be fuzzed without a sandbox):
//! the header, the program headers, and for each PT_LOAD the file-backed
//! and anonymous ranges to map. Every computation on the file's numbers is
//! checked; anything that does not fit is ENOEXEC, never a panic.

use goblin::elf::header::{header64, EM_X86_64, ET_DYN, ET_EXEC};
use goblin::elf::program_header::{program_header64, PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR};
use platform::Prot;

use crate::errno::{Errno, KResult};
use crate::mm::PAGE;

/// What the header says.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    /// ET_DYN (position independent): loaded at a base.
    pub dynamic: bool,
    pub entry: u64,
    pub phoff: u64,
    pub phnum: usize,
}

impl Header {
    /// Bytes of the program header table.
    pub fn ph_bytes(&self) -> usize {
        self.phnum * program_header64::SIZEOF_PHDR
    }
}

/// The header of an x86-64 executable or shared object in `head`.
pub fn parse_header(head: &[u8]) -> KResult<Header> {
    let arr: &[u8; header64::SIZEOF_EHDR] = head.get(..header64::SIZEOF_EHDR).ok_or(Errno::ENOEXEC)?.try_into().map_err(|_| Errno::ENOEXEC)?;
    let eh = header64::Header::from_bytes(arr);
    if &eh.e_ident[..4] != b"\x7fELF" || eh.e_ident[4] != 2 || eh.e_ident[5] != 1 {
        return Err(Errno::ENOEXEC);
    }
    if eh.e_machine != EM_X86_64 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
        return Err(Errno::ENOEXEC);
    }
    if eh.e_phentsize as usize != program_header64::SIZEOF_PHDR || eh.e_phnum == 0 || eh.e_phnum > 512 {
        return Err(Errno::ENOEXEC);
    }
    Ok(Header { dynamic: eh.e_type == ET_DYN, entry: eh.e_entry, phoff: eh.e_phoff, phnum: eh.e_phnum as usize })
}

/// One PT_LOAD as mappings: `[start, file_end_page)` from the file at
/// `off`, the tail of the last file page past `file_end` zeroed when
/// writable, then anonymous memory `[anon_start, anon_end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub start: u64,
    pub file_end: u64,
    pub mem_end: u64,
    pub file_end_page: u64,
    pub off: u64,
    pub anon_start: u64,
    pub anon_end: u64,
    pub prot: Prot,
}

/// The whole image.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Added to every virtual address (0 for ET_EXEC).
    pub base: u64,
    pub segments: Vec<Segment>,
    /// PT_INTERP: file offset and length of the interpreter's path.
    pub interp: Option<(u64, usize)>,
    /// AT_PHDR (0 if the table is not in the image).
    pub phdr: u64,
    pub entry: u64,
    /// The first page past the image (the initial program break).
    pub brk: u64,
}

fn prot_of(flags: u32) -> Prot {
    Prot { read: flags & PF_R != 0, write: flags & PF_W != 0, exec: flags & PF_X != 0 }
}

fn page_up(v: u64) -> KResult<u64> {
    v.checked_add(PAGE - 1).map(|x| x & !(PAGE - 1)).ok_or(Errno::ENOEXEC)
}

/// The layout of the image whose header is `h` and program headers
/// `phbytes`, an ET_DYN one placed so that its lowest page is at
/// `base_hint`. Addresses stay below 2^47.
pub fn layout(h: &Header, phbytes: &[u8], base_hint: u64) -> KResult<Layout> {
    const TOP: u64 = 1 << 47;
    if phbytes.len() != h.ph_bytes() {
        return Err(Errno::ENOEXEC);
    }
    let phdrs = program_header64::ProgramHeader::from_bytes(phbytes, h.phnum);
    let loads: Vec<_> = phdrs.iter().filter(|p| p.p_type == PT_LOAD).collect();
    if loads.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    let mut lo = u64::MAX;
    let mut hi = 0u64;
    for p in &loads {
        if p.p_filesz > p.p_memsz || (p.p_vaddr % PAGE) != (p.p_offset % PAGE) {
            return Err(Errno::ENOEXEC);
        }
        lo = lo.min(p.p_vaddr & !(PAGE - 1));
        hi = hi.max(p.p_vaddr.checked_add(p.p_memsz).ok_or(Errno::ENOEXEC)?);
    }
    if hi <= lo || hi - lo > (1 << 36) {
        return Err(Errno::ENOEXEC);
    }
    let base = if h.dynamic { base_hint.wrapping_sub(lo) } else { 0 };
    // Every address of the image, based, must stay in the user half.
    let at = |v: u64| -> KResult<u64> {
        let a = if h.dynamic { v.checked_sub(lo).and_then(|d| base_hint.checked_add(d)) } else { Some(v) };
        a.filter(|&a| a < TOP).ok_or(Errno::ENOEXEC)
    };
    let mut interp = None;
    for p in phdrs.iter().filter(|p| p.p_type == PT_INTERP) {
        if p.p_filesz > 4096 || p.p_filesz < 2 {
            return Err(Errno::ENOEXEC);
        }
        interp = Some((p.p_offset, p.p_filesz as usize));
    }
    let mut segments = Vec::with_capacity(loads.len());
    let mut brk = 0;
    for p in &loads {
        let vaddr = at(p.p_vaddr)?;
        let start = vaddr & !(PAGE - 1);
        let file_end = vaddr.checked_add(p.p_filesz).ok_or(Errno::ENOEXEC)?;
        let mem_end = vaddr.checked_add(p.p_memsz).ok_or(Errno::ENOEXEC)?;
        let file_end_page = page_up(file_end)?;
        let anon_start = file_end_page.max(start);
        let anon_end = page_up(mem_end)?;
        if anon_end > TOP {
            return Err(Errno::ENOEXEC);
        }
        segments.push(Segment {
            start,
            file_end,
            mem_end,
            file_end_page,
            off: p.p_offset & !(PAGE - 1),
            anon_start,
            anon_end: anon_end.max(anon_start),
            prot: prot_of(p.p_flags),
        });
        brk = brk.max(anon_end);
    }
    // AT_PHDR: the PT_PHDR segment, or the table inside the first load
    // that holds it.
    let phdr = match phdrs.iter().find(|p| p.p_type == PT_PHDR) {
        Some(p) => base.wrapping_add(p.p_vaddr),
        None => loads
            .iter()
            .find(|p| p.p_offset <= h.phoff && h.phoff - p.p_offset < p.p_filesz)
            .map(|p| base.wrapping_add(p.p_vaddr).wrapping_add(h.phoff - p.p_offset))
            .unwrap_or(0),
    };
    Ok(Layout { base, segments, interp, phdr, entry: base.wrapping_add(h.entry), brk })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ET_EXEC header and one PT_LOAD.
    fn image(vaddr: u64, filesz: u64, memsz: u64) -> (Vec<u8>, Vec<u8>) {
        let mut eh = vec![0u8; 64];
        eh[..4].copy_from_slice(b"\x7fELF");
        eh[4] = 2;
        eh[5] = 1;
        eh[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        eh[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        eh[24..32].copy_from_slice(&vaddr.to_le_bytes());
        eh[32..40].copy_from_slice(&64u64.to_le_bytes());
        eh[54..56].copy_from_slice(&56u16.to_le_bytes());
        eh[56..58].copy_from_slice(&1u16.to_le_bytes());
        let mut ph = vec![0u8; 56];
        ph[..4].copy_from_slice(&PT_LOAD.to_le_bytes());
        ph[4..8].copy_from_slice(&(PF_R | PF_X).to_le_bytes());
        ph[16..24].copy_from_slice(&vaddr.to_le_bytes());
        ph[32..40].copy_from_slice(&filesz.to_le_bytes());
        ph[40..48].copy_from_slice(&memsz.to_le_bytes());
        (eh, ph)
    }

    #[test]
    fn a_plain_image_lays_out() {
        let (eh, ph) = image(0x400000, 0x1234, 0x3000);
        let h = parse_header(&eh).unwrap();
        let l = layout(&h, &ph, 0).unwrap();
        assert_eq!(l.segments[0].start, 0x400000);
        assert_eq!(l.segments[0].file_end_page, 0x402000);
        assert_eq!((l.segments[0].anon_start, l.segments[0].anon_end), (0x402000, 0x403000));
        assert_eq!(l.brk, 0x403000);
    }

    #[test]
    fn huge_or_wrapping_numbers_are_enoexec() {
        for (v, f, m) in [(u64::MAX - 10, 5, 5), (0x400000, 1, u64::MAX), (1 << 47, 1, 1), (0x400000, 10, 5)] {
            let (eh, ph) = image(v & !(PAGE - 1), f, m);
            let h = parse_header(&eh).unwrap();
            assert_eq!(layout(&h, &ph, 0).unwrap_err(), Errno::ENOEXEC, "{v:#x} {f:#x} {m:#x}");
        }
        assert_eq!(parse_header(&[0x7f, b'E']).unwrap_err(), Errno::ENOEXEC);
    }
}
