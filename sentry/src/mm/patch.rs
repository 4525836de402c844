//! Syscall-site patching (docs/syscall-patching.md): a syscall site that
//! traps often is rewritten into a jump to a trampoline that enters the
//! platform directly (on systrap: without the SIGSYS delivery). Two forms:
//!
//! - *Long*: `mov $nr, %eax; syscall` (7 bytes) becomes `jmp *abs32`,
//!   through a cell of this address space's trap table. The table lies at
//!   0x60000-0x6ffff, so the third byte of every cell's address is 0x06,
//!   an invalid opcode: the patch is written in three steps and a thread
//!   that had run the old `mov` meets 0x06 where `syscall` was, traps with
//!   SIGILL there, and is restarted at the site
//!   ([`MemoryManager::patched_site_at`]).
//! - *Short*: glibc's `read` and its kind, a two-byte move into eax, then
//!   `syscall; cmp $imm32, %rax` (10 bytes), become `jmp +3` over three
//!   0x06 bytes to a `jmp rel32` into a trampoline table placed within
//!   reach of the site ("near" table). The trampoline runs the move, the
//!   syscall, the compare, and jumps back after the site. Both boundaries
//!   a thread may stand at inside the old code hold 0x06: where `syscall`
//!   was (the SIGILL is served as that syscall), and the compare, where a
//!   syscall in flight returns (the thread goes on at the trampoline's
//!   compare).

use std::collections::HashMap;

use super::*;
use crate::errno::{Errno, KResult};

/// The range the trap table may take.
const TABLE_LO: u64 = 0x60000;
const TABLE_HI: u64 = 0x70000;
/// The table: 4 pages of 64-byte slots.
const TABLE_LEN: u64 = 4 * PAGE;
const SLOT: u64 = 64;
/// Its name in /proc/[pid]/maps.
const TABLE_NAME: &str = "[syscall-trampolines]";
/// A site is patched when it traps for this time: a patch costs a private
/// copy of a page of text and two or three mappings in the platform
/// (tens of microseconds), which a site a short-lived process runs a few
/// times never wins back (50 fork+exec of /bin/true were 9% slower
/// patching at the third trap).
const PATCH_AT: u32 = 16;
/// Hit count of a site patched, or found not patchable.
const DONE: u32 = u32::MAX;
/// `jmp qword ptr [abs32]` without its address.
const JMP_ABS: [u8; 3] = [0xff, 0x24, 0x25];
/// The invalid opcode at the site's sixth byte once patched.
const BAD: u8 = 0x06;
/// restart_syscall(2).
const SYS_RESTART_SYSCALL: u64 = 219;
/// The short form's patch: `jmp +3`, three invalid bytes (the old
/// `syscall` at +2 and the old compare at +4), then `jmp rel32` (its
/// four address bytes follow).
const SHORT_PATCH: [u8; 6] = [0xeb, 0x03, BAD, BAD, BAD, 0xe9];
/// A short site's length.
const SHORT_LEN: u64 = 10;
/// Offset of the compare in a short site's trampoline (after the move,
/// `movabs rcx`, `movabs r11`, `jmp r11` and a `syscall` for restarts).
const SHORT_TAIL: u64 = 27;
/// Near tables an address space may have (each 4 pages, 256 sites).
const MAX_NEAR: usize = 8;
/// How far from its sites a near table is placed at most: well inside
/// a rel32 jump's reach.
const NEAR_REACH: u64 = 1 << 30;

/// An address space's patching state.
#[derive(Default)]
pub(super) struct Sites {
    /// The table's address (0: not mapped yet) and its next free slot.
    table: u64,
    next: u64,
    /// The near tables of short sites: start and next free slot.
    near: Vec<(u64, u64)>,
    /// Traps seen per site, by the address after its `syscall`.
    hits: HashMap<u64, u32>,
    /// No table can be placed (or the application replaced it): patching
    /// is off for this address space.
    off: bool,
}

impl Sites {
    /// The state a forked child starts with: the same table (the child's
    /// copy), no counts.
    pub(super) fn fork(&self) -> Sites {
        Sites { table: self.table, next: self.next, near: self.near.clone(), hits: HashMap::new(), off: self.off }
    }
}

/// What to do with a SIGILL at an invalid byte of a patched site.
pub enum PatchedTrap {
    /// Go on at this address (the long site itself, to run its jump
    /// again; a short site's trampoline, at its compare).
    Resume(u64),
    /// Serve a syscall with the thread's rax (a restart_syscall the signal
    /// code set up at a long site, or a short site's `syscall`), returning
    /// to this address.
    Syscall(u64),
}

/// A short site's first two bytes: a move into eax that the trampoline
/// can run anywhere (`xor %eax,%eax`, or `mov` from another register).
fn short_move(b: [u8; 2]) -> bool {
    match b {
        [0x31 | 0x33, 0xc0] => true,
        // mov r32, %eax: register operands, eax the destination.
        [0x89, m] => m & 0xc7 == 0xc0,
        [0x8b, m] => m & 0xf8 == 0xc0,
        _ => false,
    }
}

/// Whether `code` (the 10 bytes from a site) is a short site: a move into
/// eax, `syscall`, `cmp $imm32, %rax`.
fn is_short_site(code: &[u8; 10]) -> bool {
    short_move([code[0], code[1]]) && code[2..4] == [0x0f, 0x05] && code[4..6] == [0x48, 0x3d]
}

impl MemoryManager {
    /// Count a syscall trapped at `rip` (just after its `syscall`) and
    /// patch the site when it has trapped often enough, if the platform has
    /// an entry for patched sites.
    pub fn note_syscall_site(&self, nr: u64, rip: u64) {
        let Some(entry) = self.as_.syscall_entry() else { return };
        let mut m = self.lock();
        if m.patch.off {
            return;
        }
        let h = m.patch.hits.entry(rip).or_insert(0);
        if *h == DONE {
            return;
        }
        *h += 1;
        if *h < PATCH_AT {
            return;
        }
        *h = DONE;
        let r = match self.patch_site(&mut m, rip.wrapping_sub(7), nr, entry) {
            Err(Errno::ENOEXEC) => self.patch_short_site(&mut m, rip.wrapping_sub(4), entry),
            r => r,
        };
        match r {
            Ok(()) => tracing::debug!("syscall site before {rip:#x} (syscall {nr}) patched"),
            Err(e) => tracing::debug!("syscall site before {rip:#x} not patched: {e:?}"),
        }
    }

    /// Whether a SIGILL at `rip` is a patched site's invalid byte, and
    /// what to do then (given the thread's rax).
    pub fn patched_site_at(&self, rip: u64, rax: u64) -> Option<PatchedTrap> {
        // (The lock also waits for a patch being written to be whole.)
        let (table, near) = {
            let m = self.lock();
            (m.patch.table, m.patch.near.clone())
        };
        if table != 0 {
            if let Some(site) = rip.checked_sub(5) {
                let mut code = [0u8; 7];
                if self.copy_in(site, &mut code).is_ok() {
                    let cell = u32::from_le_bytes([code[3], code[4], code[5], code[6]]) as u64;
                    if code[..3] == JMP_ABS && code[5] == BAD && (table..table + TABLE_LEN).contains(&cell) {
                        return Some(if rax == SYS_RESTART_SYSCALL {
                            PatchedTrap::Syscall(site + 7)
                        } else {
                            PatchedTrap::Resume(site)
                        });
                    }
                }
            }
        }
        // A short site, met where its `syscall` was (+2) or where its
        // compare was (+4).
        for (back, at_syscall) in [(2, true), (4, false)] {
            let Some(site) = rip.checked_sub(back) else { continue };
            let mut code = [0u8; SHORT_LEN as usize];
            if self.copy_in(site, &mut code).is_err() || code[..6] != SHORT_PATCH {
                continue;
            }
            let rel = i32::from_le_bytes([code[6], code[7], code[8], code[9]]) as i64;
            let tramp = (site + SHORT_LEN).wrapping_add_signed(rel);
            if !near.iter().any(|&(s, _)| (s..s + TABLE_LEN).contains(&tramp) && (tramp - s) % SLOT == 0) {
                continue;
            }
            let tail = tramp + SHORT_TAIL;
            return Some(if at_syscall { PatchedTrap::Syscall(tail) } else { PatchedTrap::Resume(tail) });
        }
        None
    }

    fn patch_site(&self, m: &mut MmInner, site: u64, nr: u64, entry: u64) -> KResult<()> {
        let nr = u32::try_from(nr).map_err(|_| Errno::EINVAL)?;
        let mut code = [0u8; 7];
        let mf = self.mf.clone();
        self.walk_pages(m, site, 7, false, |off, n, at| mf.read(off, &mut code[at..at + n]))?;
        if code[0] != 0xb8 || code[1..5] != nr.to_le_bytes() || code[5..] != [0x0f, 0x05] {
            return Err(Errno::ENOEXEC);
        }
        for a in [site, site + 6] {
            let (_, v) = Self::vma_at(m, a).ok_or(Errno::EFAULT)?;
            if v.shared {
                // Patching would write the file.
                return Err(Errno::EACCES);
            }
        }
        let table = self.trap_table(m)?;
        if m.patch.next + SLOT > table + TABLE_LEN {
            m.patch.off = true;
            return Err(Errno::ENOSPC);
        }
        let slot = m.patch.next;
        m.patch.next += SLOT;
        // The cell (the slot's first 8 bytes) holds the trampoline's
        // address, right after it:
        //   mov eax, nr; movabs rcx, site+7; movabs r11, entry; jmp r11
        let mut t = Vec::with_capacity(36);
        t.extend_from_slice(&(slot + 8).to_le_bytes());
        t.push(0xb8);
        t.extend_from_slice(&nr.to_le_bytes());
        t.extend_from_slice(&[0x48, 0xb9]);
        t.extend_from_slice(&(site + 7).to_le_bytes());
        t.extend_from_slice(&[0x49, 0xbb]);
        t.extend_from_slice(&entry.to_le_bytes());
        t.extend_from_slice(&[0x41, 0xff, 0xe3]);
        self.poke(m, slot, &t)?;
        let cell = (slot as u32).to_le_bytes();
        debug_assert_eq!(cell[2], BAD);
        // 1: the invalid byte where `syscall` starts; 2: the jump's
        // bytes after the first (the sixth stays 0x06); 3: the first.
        self.poke(m, site + 5, &[BAD])?;
        self.poke(m, site + 1, &[JMP_ABS[1], JMP_ABS[2], cell[0], cell[1], cell[2], cell[3]])?;
        self.poke(m, site, &[JMP_ABS[0]])?;
        Ok(())
    }

    /// Patch the short site at `site` (see the module's documentation).
    fn patch_short_site(&self, m: &mut MmInner, site: u64, entry: u64) -> KResult<()> {
        let mut code = [0u8; SHORT_LEN as usize];
        let mf = self.mf.clone();
        self.walk_pages(m, site, code.len(), false, |off, n, at| mf.read(off, &mut code[at..at + n]))?;
        if !is_short_site(&code) {
            return Err(Errno::ENOEXEC);
        }
        for a in [site, site + SHORT_LEN - 1] {
            let (_, v) = Self::vma_at(m, a).ok_or(Errno::EFAULT)?;
            if v.shared {
                return Err(Errno::EACCES);
            }
        }
        let slot = self.near_slot(m, site)?;
        let back = site + SHORT_LEN;
        let rel_to = |from: u64, to: u64| i32::try_from(to.wrapping_sub(from) as i64).map_err(|_| Errno::ERANGE);
        let there = rel_to(site + SHORT_LEN, slot)?;
        let home = rel_to(slot + SHORT_TAIL + 21, back)?;
        // The trampoline:
        //   <the site's move>; movabs rcx, tail; movabs r11, entry; jmp r11
        //   syscall                       (where a restart lands: tail - 2)
        //   tail: <the site's compare>; movabs rcx, site+4; jmp site+10
        // rcx is left as the site's own `syscall` would have left it.
        let mut t = Vec::with_capacity(48);
        t.extend_from_slice(&code[..2]);
        t.extend_from_slice(&[0x48, 0xb9]);
        t.extend_from_slice(&(slot + SHORT_TAIL).to_le_bytes());
        t.extend_from_slice(&[0x49, 0xbb]);
        t.extend_from_slice(&entry.to_le_bytes());
        t.extend_from_slice(&[0x41, 0xff, 0xe3, 0x0f, 0x05]);
        debug_assert_eq!(t.len() as u64, SHORT_TAIL);
        t.extend_from_slice(&code[4..10]);
        t.extend_from_slice(&[0x48, 0xb9]);
        t.extend_from_slice(&(site + 4).to_le_bytes());
        t.push(0xe9);
        t.extend_from_slice(&home.to_le_bytes());
        self.poke(m, slot, &t)?;
        // 1: the invalid byte where `syscall` starts; 2: the rest after the
        // move (the old compare's first byte invalid too, the jump); 3: the
        // short jump over the invalid bytes.
        let rel = there.to_le_bytes();
        self.poke(m, site + 2, &[BAD])?;
        self.poke(m, site + 3, &[BAD, BAD, SHORT_PATCH[5], rel[0], rel[1], rel[2], rel[3]])?;
        self.poke(m, site, &SHORT_PATCH[..2])?;
        Ok(())
    }

    /// A free trampoline slot within reach of `site`, in a near table
    /// mapped on first need in a free part of the address space.
    fn near_slot(&self, m: &mut MmInner, site: u64) -> KResult<u64> {
        let near = |s: u64| s.abs_diff(site) < NEAR_REACH;
        // Tables the application mapped over are dropped (their sites stay
        // as they are, as the long form's do).
        m.patch.near.retain(|&(s, _)| m.vmas.get(&s).is_some_and(|v| v.name == Some(TABLE_NAME) && v.end == s + TABLE_LEN));
        if let Some(t) = m.patch.near.iter_mut().find(|(s, next)| near(*s) && *next + SLOT <= *s + TABLE_LEN) {
            let slot = t.1;
            t.1 += SLOT;
            return Ok(slot);
        }
        if m.patch.near.len() >= MAX_NEAR {
            return Err(Errno::ENOSPC);
        }
        // The first free range below the site (then above it), in steps of
        // 64 KiB: next to the library or below the program, out of the
        // way of the mmap area, and never where the heap grows (from its
        // start to the room mmap keeps free above the break).
        let lo = platform::MIN_USER_ADDR.max(site.saturating_sub(NEAR_REACH));
        let hi = MMAP_TOP.min(site.saturating_add(NEAR_REACH));
        let heap = m.brk_start.min(m.brk)..m.brk.saturating_add(BRK_GAP);
        let step = 4 * TABLE_LEN;
        let base = site & !(step - 1);
        let below = (1..).map(|i| base.wrapping_sub(i * step)).take_while(|&s| s >= lo && s < base);
        let above = (1..).map(|i| base + i * step).take_while(|&s| s + TABLE_LEN <= hi);
        let start = below
            .chain(above)
            .filter(|&s| s + TABLE_LEN <= heap.start || s >= heap.end)
            .find(|&s| Self::is_free(m, s, s + TABLE_LEN))
            .ok_or(Errno::ENOMEM)?;
        self.insert_table(m, start);
        m.patch.near.push((start, start + SLOT));
        Ok(start)
    }

    /// Record a trampoline table at `start` as a private r-x VMA.
    fn insert_table(&self, m: &mut MmInner, start: u64) {
        m.vmas.insert(
            start,
            Vma {
                end: start + TABLE_LEN,
                prot: Prot::RX,
                shared: false,
                backing: Backing::Anon,
                name: Some(TABLE_NAME),
                fork: ForkAdvice::default(),
                direct: None,
                host_mapped: false,
            },
        );
    }

    /// The trap table, mapped on first use in a free part of its range.
    fn trap_table(&self, m: &mut MmInner) -> KResult<u64> {
        if m.patch.table != 0 {
            let ours = m.vmas.get(&m.patch.table).is_some_and(|v| v.name == Some(TABLE_NAME) && v.end == m.patch.table + TABLE_LEN);
            if !ours {
                // The application mapped over it.
                m.patch.off = true;
                return Err(Errno::EEXIST);
            }
            return Ok(m.patch.table);
        }
        let Some(start) = (TABLE_LO..TABLE_HI).step_by(TABLE_LEN as usize).find(|&s| Self::is_free(m, s, s + TABLE_LEN)) else {
            m.patch.off = true;
            return Err(Errno::ENOMEM);
        };
        self.insert_table(m, start);
        m.patch.table = start;
        m.patch.next = start;
        Ok(start)
    }

    /// Write `data` at `addr` whatever the protection, as a debugger's poke:
    /// into private copies of the pages (a page of a host-served mapping
    /// is split off it first), mapped again in the platform.
    fn poke(&self, m: &mut MmInner, addr: u64, data: &[u8]) -> KResult<()> {
        let mut done = 0;
        while done < data.len() {
            let at = addr + done as u64;
            let page = page_down(at);
            let n = ((page + PAGE - at) as usize).min(data.len() - done);
            let (start, vma) = Self::vma_at(m, at).ok_or(Errno::EFAULT)?;
            if vma.shared {
                return Err(Errno::EACCES);
            }
            let (start, vma) = if vma.direct.is_some() {
                // This page leaves the host-served mapping: the rest of it
                // stays as it is in the platform.
                Self::split_at(m, page);
                Self::split_at(m, page + PAGE);
                if let Some(v) = m.vmas.get_mut(&page) {
                    v.direct = None;
                    v.host_mapped = false;
                }
                Self::vma_at(m, at).ok_or(Errno::EFAULT)?
            } else {
                (start, vma)
            };
            let before = m.pages.get(&page).and_then(|p| p.mapped);
            self.populate(m, start, &vma, page)?;
            let copied = self.make_private(m, page)?;
            let frame = m.pages.get(&page).map(|p| p.frame).ok_or(Errno::EFAULT)?;
            self.mf.write(frame + (at - page), &data[done..done + n]);
            let prot = self.effective_prot(&vma, frame);
            // The platform maps the frame unless it already does (the
            // second and third steps of a patch write the same page).
            if copied || before != Some(prot) {
                self.map_frames(page, PAGE, frame, prot)?;
                if let Some(p) = m.pages.get_mut(&page) {
                    p.mapped = Some(prot);
                }
            }
            done += n;
        }
        Ok(())
    }
}
