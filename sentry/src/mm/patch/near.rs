//! The near forms of patched syscall sites: an instruction, `syscall`,
//! `cmp $imm32, %rax`, rewritten into a `jmp rel32` to a trampoline in a
//! table within reach of the site (docs/syscall-patching.md).

use super::*;

/// Near tables an address space may have (each 4 pages, 256 sites).
const MAX_NEAR: usize = 8;
/// How far from its sites a near table is placed at most: well inside a
/// rel32 jump's reach.
const NEAR_REACH: u64 = 1 << 30;
/// `syscall`.
const SYSCALL: [u8; 2] = [0x0f, 0x05];
/// `cmp $imm32, %rax` without its immediate.
const CMP_RAX: [u8; 2] = [0x48, 0x3d];
/// `jmp rel32`.
const JMP_REL: u8 = 0xe9;

/// What comes before the `syscall`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Form {
    /// A two-byte move into eax (glibc's read: `xor %eax,%eax`). Patched
    /// into `jmp +3`, three 0x06 (the old `syscall` at +2 and the old
    /// compare at +4), `jmp rel32`.
    Move,
    /// syscall(3)'s last argument load, `mov 0x8(%rsp),%r9` (5 bytes).
    /// Patched into `jmp rel32` and eight 0x06 (the old `syscall` at +5,
    /// the old compare at +7).
    Wrapper,
}

impl Form {
    const ALL: [Form; 2] = [Form::Move, Form::Wrapper];

    /// Length of the instruction before `syscall`.
    fn lead(self) -> u64 {
        match self {
            Form::Move => 2,
            Form::Wrapper => 5,
        }
    }

    /// The site's length: the instruction, `syscall`, the compare.
    fn len(self) -> u64 {
        self.lead() + 8
    }

    /// Whether `b` (the site's first bytes) starts with this form's
    /// instruction: one the trampoline can run anywhere.
    fn lead_ok(self, b: &[u8]) -> bool {
        match self {
            Form::Move => match b {
                [0x31 | 0x33, 0xc0, ..] => true,
                // mov r32, %eax: register operands, eax the destination.
                [0x89, m, ..] => m & 0xc7 == 0xc0,
                [0x8b, m, ..] => m & 0xf8 == 0xc0,
                _ => false,
            },
            // (rsp-relative: the trampoline leaves rsp alone.)
            Form::Wrapper => b.starts_with(&[0x4c, 0x8b, 0x4c, 0x24, 0x08]),
        }
    }

    /// Whether `code` (at least `len` bytes) is an unpatched site.
    fn matches(self, code: &[u8]) -> bool {
        let l = self.lead() as usize;
        code.len() >= self.len() as usize && self.lead_ok(code) && code[l..l + 2] == SYSCALL && code[l + 2..l + 4] == CMP_RAX
    }

    /// Where the site's `jmp rel32` ends (its rel32 counts from there) and
    /// where its four address bytes start.
    fn jump(self) -> (u64, usize) {
        match self {
            Form::Move => (10, 6),
            Form::Wrapper => (5, 1),
        }
    }

    /// The patched site, its jump's rel32 `rel`.
    fn patched(self, rel: i32) -> Vec<u8> {
        let r = rel.to_le_bytes();
        match self {
            Form::Move => vec![0xeb, 0x03, BAD, BAD, BAD, JMP_REL, r[0], r[1], r[2], r[3]],
            Form::Wrapper => [&[JMP_REL][..], &r, &[BAD; 8]].concat(),
        }
    }

    /// If `code` (at least `len` bytes) is a site patched in this form:
    /// the trampoline its jump goes to, from a site at `site`.
    fn target(self, site: u64, code: &[u8]) -> Option<u64> {
        let (end, at) = self.jump();
        let rel = i32::from_le_bytes(code.get(at..at + 4)?.try_into().ok()?);
        (code.len() >= self.len() as usize && code[..self.len() as usize] == self.patched(rel)[..])
            .then(|| (site + end).wrapping_add_signed(rel as i64))
    }

    /// The compare's offset in the trampoline (after the instruction,
    /// `movabs rcx`, `movabs r11`, `jmp r11`, and a `syscall` for
    /// restarts).
    fn tail(self) -> u64 {
        self.lead() + 25
    }
}

impl MemoryManager {
    /// Patch the near site that trapped with `rip` after its `syscall`, if
    /// the code there is one (ENOEXEC if not).
    pub(super) fn patch_near_site(&self, m: &mut MmInner, rip: u64, entry: u64) -> KResult<()> {
        let mut code = [0u8; 16];
        let mut found = None;
        let mf = self.mf.clone();
        for f in Form::ALL {
            let Some(site) = rip.checked_sub(f.lead() + 2) else { continue };
            let n = f.len() as usize;
            if self.walk_pages(m, site, n, false, |off, k, at| mf.read(off, &mut code[at..at + k])).is_ok() && f.matches(&code[..n]) {
                found = Some((f, site));
                break;
            }
        }
        let (f, site) = found.ok_or(Errno::ENOEXEC)?;
        let (len, lead) = (f.len(), f.lead());
        for a in [site, site + len - 1] {
            let (_, v) = Self::vma_at(m, a).ok_or(Errno::EFAULT)?;
            if v.shared {
                // Patching would write the file.
                return Err(Errno::EACCES);
            }
        }
        let slot = self.near_slot(m, site)?;
        let rel_to = |from: u64, to: u64| i32::try_from(to.wrapping_sub(from) as i64).map_err(|_| Errno::ERANGE);
        let there = rel_to(site + f.jump().0, slot)?;
        let tail = slot + f.tail();
        let home = rel_to(tail + 21, site + len)?;
        // The trampoline:
        //   <the site's instruction>; movabs rcx, tail; movabs r11, entry;
        //   jmp r11; syscall (where a restart lands: tail - 2)
        //   tail: <the site's compare>; movabs rcx, <after the syscall>;
        //   jmp <after the site>
        // rcx is left as the site's own `syscall` would have left it.
        let l = lead as usize;
        let mut t = Vec::with_capacity(64);
        t.extend_from_slice(&code[..l]);
        t.extend_from_slice(&[0x48, 0xb9]);
        t.extend_from_slice(&tail.to_le_bytes());
        t.extend_from_slice(&[0x49, 0xbb]);
        t.extend_from_slice(&entry.to_le_bytes());
        t.extend_from_slice(&[0x41, 0xff, 0xe3]);
        t.extend_from_slice(&SYSCALL);
        debug_assert_eq!(t.len() as u64, f.tail());
        t.extend_from_slice(&code[l + 2..l + 8]);
        t.extend_from_slice(&[0x48, 0xb9]);
        t.extend_from_slice(&(site + lead + 2).to_le_bytes());
        t.push(JMP_REL);
        t.extend_from_slice(&home.to_le_bytes());
        debug_assert!(t.len() as u64 <= SLOT);
        self.poke(m, slot, &t)?;
        // Written so that no thread ever runs a mix of old and new bytes:
        // first 0x06 over the old `syscall` and compare (a thread there
        // traps, and its SIGILL waits for this lock), then the rest, the
        // first bytes last.
        let new = f.patched(there);
        match f {
            Form::Move => {
                self.poke(m, site + 2, &[BAD])?;
                self.poke(m, site + 3, &new[3..])?;
                self.poke(m, site, &new[..2])?;
            }
            Form::Wrapper => {
                // The old instruction is as long as the jump: its first
                // byte is made invalid while the jump's address goes in.
                self.poke(m, site + 5, &new[5..])?;
                self.poke(m, site, &[BAD])?;
                self.poke(m, site + 1, &new[1..5])?;
                self.poke(m, site, &new[..1])?;
            }
        }
        Ok(())
    }

    /// What a SIGILL at `rip` means if it is at a near site's invalid
    /// byte: where `syscall` was (served as that syscall), where the
    /// compare was (go on at the trampoline's compare), or (a syscall(3)
    /// site, while it was being written) its first byte (run it again).
    /// `near` are the address space's near tables.
    pub(super) fn near_site_trap(&self, rip: u64, near: &[(u64, u64)]) -> Option<PatchedTrap> {
        let ours = |t: u64| near.iter().any(|&(s, _)| (s..s + TABLE_LEN).contains(&t) && (t - s) % SLOT == 0);
        for f in Form::ALL {
            let lead = f.lead();
            for back in [lead, lead + 2, 0] {
                if back == 0 && f != Form::Wrapper {
                    continue;
                }
                let Some(site) = rip.checked_sub(back) else { continue };
                let mut code = [0u8; 16];
                let code = &mut code[..f.len() as usize];
                if self.copy_in(site, code).is_err() {
                    continue;
                }
                let Some(tramp) = f.target(site, code).filter(|&t| ours(t)) else { continue };
                let tail = tramp + f.tail();
                return Some(match back {
                    0 => PatchedTrap::Resume(site),
                    b if b == lead => PatchedTrap::Syscall(tail),
                    _ => PatchedTrap::Resume(tail),
                });
            }
        }
        None
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_read_and_syscall3_are_near_sites() {
        let read = [0x31, 0xc0, 0x0f, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff];
        assert!(Form::Move.matches(&read));
        assert!(!Form::Wrapper.matches(&read));
        let wrapper = [0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x0f, 0x05, 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff];
        assert!(Form::Wrapper.matches(&wrapper));
        // A move into another register, or a memory operand, is not one.
        assert!(!Form::Move.matches(&[0x89, 0xc2, 0x0f, 0x05, 0x48, 0x3d, 0, 0, 0, 0]));
        assert!(!Form::Move.matches(&[0x8b, 0x07, 0x0f, 0x05, 0x48, 0x3d, 0, 0, 0, 0]));
        assert!(Form::Move.matches(&[0x89, 0xd0, 0x0f, 0x05, 0x48, 0x3d, 0, 0, 0, 0]));
        // No compare after the syscall.
        assert!(!Form::Move.matches(&[0x31, 0xc0, 0x0f, 0x05, 0xc3, 0, 0, 0, 0, 0]));
    }

    #[test]
    fn patched_sites_lead_to_their_trampoline() {
        for f in Form::ALL {
            let site = 0x7f00_0000_1000u64;
            let tramp = 0x7eff_ff00_0040u64;
            let rel = (tramp.wrapping_sub(site + f.jump().0)) as i64 as i32;
            let code = f.patched(rel);
            assert_eq!(code.len() as u64, f.len());
            assert_eq!(f.target(site, &code), Some(tramp));
            // Both old boundaries inside the site are invalid bytes.
            assert_eq!(code[f.lead() as usize], BAD);
            assert_eq!(code[f.lead() as usize + 2], BAD);
            let other = if f == Form::Move { Form::Wrapper } else { Form::Move };
            assert_eq!(other.target(site, &code[..other.len().min(code.len() as u64) as usize]), None);
        }
    }
}
