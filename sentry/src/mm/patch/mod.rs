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
//! - *Near* forms ([`near`]): an instruction the trampoline can run
//!   anywhere, then `syscall; cmp $imm32, %rax`: glibc's `read` (`xor
//!   %eax,%eax` first, 10 bytes) and `syscall(3)` (`mov 0x8(%rsp),%r9`
//!   first, 13 bytes). The site jumps with a rel32 into a trampoline table
//!   placed within reach of it (a "near" table). The trampoline runs the
//!   instruction, the syscall and the compare, and jumps back after the
//!   site. Every boundary a thread may stand at inside the old code holds
//!   0x06: where `syscall` was (the SIGILL is served as that syscall), and
//!   the compare, where a syscall in flight returns (the thread goes on
//!   at the trampoline's compare).

use std::collections::HashMap;

mod near;

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

/// An address space's patching state.
#[derive(Default)]
pub(super) struct Sites {
    /// The table's address (0: not mapped yet) and its next free slot.
    table: u64,
    next: u64,
    /// The near tables: start and next free slot.
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
    /// Go on at this address (a site itself, to run its jump again; a
    /// near site's trampoline, at its compare).
    Resume(u64),
    /// Serve a syscall with the thread's rax (a restart_syscall the signal
    /// code set up at a long site, or a near site's `syscall`), returning
    /// to this address.
    Syscall(u64),
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
            Err(Errno::ENOEXEC) => self.patch_near_site(&mut m, rip, entry),
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
        self.long_site_trap(rip, rax, table).or_else(|| self.near_site_trap(rip, &near))
    }

    /// A SIGILL at the sixth byte of a long site through the trap table at
    /// `table` (0: none): its jump runs again, or a restart_syscall the
    /// signal code set up there is served.
    fn long_site_trap(&self, rip: u64, rax: u64, table: u64) -> Option<PatchedTrap> {
        let site = rip.checked_sub(5).filter(|_| table != 0)?;
        let mut code = [0u8; 7];
        self.copy_in(site, &mut code).ok()?;
        let cell = u32::from_le_bytes([code[3], code[4], code[5], code[6]]) as u64;
        if code[..3] != JMP_ABS || code[5] != BAD || !(table..table + TABLE_LEN).contains(&cell) {
            return None;
        }
        Some(if rax == SYS_RESTART_SYSCALL { PatchedTrap::Syscall(site + 7) } else { PatchedTrap::Resume(site) })
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

    /// Record a trampoline table at `start` as a private r-x VMA.
    pub(super) fn insert_table(&self, m: &mut MmInner, start: u64) {
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
                locked: false,
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
