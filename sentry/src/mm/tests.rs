//! Unit tests of the memory manager against a fake address space that
//! records what the platform is asked to map.

use std::sync::{Arc, Mutex};

use platform::{AddressSpace, Prot};

use super::*;

#[derive(Default)]
struct FakeAs {
    /// page address -> (frame, prot) as the platform would map it.
    mapped: Mutex<BTreeMap<u64, (u64, Prot)>>,
}

impl AddressSpace for FakeAs {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn map_file(&self, addr: u64, len: u64, offset: u64, prot: Prot) -> platform::Result<()> {
        let mut m = self.mapped.lock().unwrap();
        for i in 0..len / PAGE {
            m.insert(addr + i * PAGE, (offset + i * PAGE, prot));
        }
        Ok(())
    }
    fn map_shared(&self, addr: u64, len: u64, _fd: i32, offset: u64, prot: Prot) -> platform::Result<()> {
        self.map_file(addr, len, offset, prot)
    }
    fn map_host(&self, addr: u64, len: u64, _fd: i32, offset: u64, prot: Prot) -> platform::Result<()> {
        let mut m = self.mapped.lock().unwrap();
        for i in 0..len / PAGE {
            m.insert(addr + i * PAGE, (u64::MAX - offset - i * PAGE, prot));
        }
        Ok(())
    }
    fn unmap(&self, addr: u64, len: u64) -> platform::Result<()> {
        let mut m = self.mapped.lock().unwrap();
        let keys: Vec<u64> = m.range(addr..addr + len).map(|(k, _)| *k).collect();
        for k in keys {
            m.remove(&k);
        }
        Ok(())
    }
    fn protect(&self, addr: u64, len: u64, prot: Prot) -> platform::Result<()> {
        let mut m = self.mapped.lock().unwrap();
        for (_, v) in m.range_mut(addr..addr + len) {
            v.1 = prot;
        }
        Ok(())
    }
}

fn new_mm(mf: &Arc<MemoryFile>) -> (MemoryManager, Arc<FakeAs>) {
    let fake = Arc::new(FakeAs::default());
    (MemoryManager::new(mf.clone(), fake.clone()), fake)
}

fn memfile() -> Arc<MemoryFile> {
    Arc::new(MemoryFile::new(None).expect("memfd"))
}

const A: u64 = 0x10_0000;

#[test]
fn copy_out_then_in_round_trips_across_pages() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, 3 * PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    let data: Vec<u8> = (0..6000).map(|i| i as u8).collect();
    mm.copy_out(A + 100, &data).unwrap();
    let mut back = vec![0u8; 6000];
    mm.copy_in(A + 100, &mut back).unwrap();
    assert_eq!(back, data);
}

#[test]
fn access_outside_any_vma_is_efault() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    let mut b = [0u8; 8];
    assert_eq!(mm.copy_in(A + PAGE - 4, &mut b), Err(Errno::EFAULT));
    assert_eq!(mm.copy_in(0, &mut b), Err(Errno::EFAULT));
    assert_eq!(mm.copy_in(u64::MAX - 2, &mut b), Err(Errno::EFAULT));
}

#[test]
fn write_to_read_only_vma_is_efault_for_the_sentry() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, PAGE, Prot::R, true, false, false, Backing::Anon, None).unwrap();
    assert_eq!(mm.copy_out(A, b"x"), Err(Errno::EFAULT));
}

#[test]
fn fault_maps_a_window_around_the_faulting_page() {
    let mf = memfile();
    let (mm, fake) = new_mm(&mf);
    mm.mmap(A, 64 * PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    mm.handle_fault(A + 32 * PAGE + 5, false).unwrap();
    let m = fake.mapped.lock().unwrap();
    assert_eq!(m.len() as u64, FAULT_AROUND);
    assert!(m.contains_key(&(A + 32 * PAGE)));
    assert!(m.values().all(|(_, p)| *p == Prot::RW));
}

#[test]
fn fault_outside_vma_is_maperr_and_in_prot_none_is_accerr() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, PAGE, Prot::NONE, true, false, false, Backing::Anon, None).unwrap();
    assert_eq!(mm.handle_fault(A + 2 * PAGE, false).unwrap_err(), FaultSig::segv(1));
    assert_eq!(mm.handle_fault(A, false).unwrap_err(), FaultSig::segv(2));
}

#[test]
fn repeated_fault_on_a_fully_mapped_page_is_accerr() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, PAGE, Prot::R, true, false, false, Backing::Anon, None).unwrap();
    mm.handle_fault(A, false).unwrap();
    // Once: another thread may have just mapped it. Twice: a real violation.
    assert!(mm.handle_fault(A, false).is_ok());
    assert_eq!(mm.handle_fault(A, true).unwrap_err(), FaultSig::segv(2));
}

#[test]
fn fork_shares_frames_copy_on_write() {
    let mf = memfile();
    let (parent, pfake) = new_mm(&mf);
    parent.mmap(A, PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    parent.copy_out(A, b"before").unwrap();
    parent.handle_fault(A, false).unwrap();
    let (child, cfake) = new_mm(&mf);
    parent.fork_into(&child).unwrap();
    // The parent's writable mapping became read-only.
    assert_eq!(pfake.mapped.lock().unwrap()[&A].1, Prot::R);
    // The child's first write fault maps it read-only (shared frame)...
    child.handle_fault(A, false).unwrap();
    assert_eq!(cfake.mapped.lock().unwrap()[&A].1, Prot::R);
    // ...and the second, a write to a read-only page, breaks the sharing.
    child.handle_fault(A, false).unwrap();
    let (cframe, cprot) = cfake.mapped.lock().unwrap()[&A];
    assert_eq!(cprot, Prot::RW);
    assert_ne!(cframe, pfake.mapped.lock().unwrap()[&A].0);
    child.copy_out(A, b"child!").unwrap();
    let mut b = [0u8; 6];
    parent.copy_in(A, &mut b).unwrap();
    assert_eq!(&b, b"before");
    child.copy_in(A, &mut b).unwrap();
    assert_eq!(&b, b"child!");
}

#[test]
fn sentry_write_to_shared_cow_page_remaps_it_in_the_platform() {
    let mf = memfile();
    let (parent, pfake) = new_mm(&mf);
    parent.mmap(A, PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    parent.handle_fault(A, false).unwrap();
    let (child, _) = new_mm(&mf);
    parent.fork_into(&child).unwrap();
    let old = pfake.mapped.lock().unwrap()[&A].0;
    parent.copy_out(A, b"x").unwrap();
    let (new, prot) = pfake.mapped.lock().unwrap()[&A];
    assert_ne!(new, old);
    assert_eq!(prot, Prot::RW);
}

#[test]
fn munmap_frees_frames_and_unmaps() {
    let mf = memfile();
    let (mm, fake) = new_mm(&mf);
    mm.mmap(A, 4 * PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    mm.handle_fault(A, false).unwrap();
    let used = mf.used_bytes();
    assert!(used > 0);
    mm.munmap(A, 4 * PAGE).unwrap();
    assert_eq!(mf.used_bytes(), 0);
    assert!(fake.mapped.lock().unwrap().is_empty());
    assert_eq!(mm.munmap(A + 1, PAGE), Err(Errno::EINVAL));
    assert_eq!(mm.munmap(A, 0), Err(Errno::EINVAL));
}

#[test]
fn mprotect_splits_vmas_and_needs_the_whole_range_mapped() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, 4 * PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    mm.mprotect(A + PAGE, PAGE, Prot::R).unwrap();
    let v = mm.vmas();
    assert_eq!(v.len(), 3);
    assert_eq!(v[1].0, A + PAGE);
    assert_eq!(v[1].1.prot, Prot::R);
    assert_eq!(mm.mprotect(A, 8 * PAGE, Prot::R), Err(Errno::ENOMEM));
    assert_eq!(mm.mprotect(A + 1, PAGE, Prot::R), Err(Errno::EINVAL));
}

#[test]
fn mremap_grows_in_place_or_moves_with_contents() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    mm.copy_out(A, b"keep").unwrap();
    assert_eq!(mm.mremap(A, PAGE, 2 * PAGE, false, None, false).unwrap(), A);
    // Block further growth, then grow with MAYMOVE.
    mm.mmap(A + 2 * PAGE, PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    assert_eq!(mm.mremap(A, 2 * PAGE, 4 * PAGE, false, None, false), Err(Errno::ENOMEM));
    let new = mm.mremap(A, 2 * PAGE, 4 * PAGE, true, None, false).unwrap();
    assert_ne!(new, A);
    let mut b = [0u8; 4];
    mm.copy_in(new, &mut b).unwrap();
    assert_eq!(&b, b"keep");
    assert_eq!(mm.copy_in(A, &mut b), Err(Errno::EFAULT));
}

#[test]
fn read_cstring_stops_at_nul_and_bounds_length() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, 2 * PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    mm.copy_out(A + PAGE - 3, b"abcdef\0").unwrap();
    assert_eq!(mm.read_cstring(A + PAGE - 3, 100).unwrap(), b"abcdef");
    assert_eq!(mm.read_cstring(A + PAGE - 3, 3), Err(Errno::ENAMETOOLONG));
    // Longer than the first piece and across the page: 5000 bytes.
    let long: Vec<u8> = (0..5000).map(|i| b'a' + (i % 26) as u8).collect();
    mm.copy_out(A + 100, &long).unwrap();
    mm.copy_out(A + 5100, b"\0").unwrap();
    assert_eq!(mm.read_cstring(A + 100, 8192).unwrap(), long);
    assert_eq!(mm.read_cstring(A + 100, 4999), Err(Errno::ENAMETOOLONG));
    // The terminator on the mapping's last byte: nothing past it is read.
    mm.copy_out(A + 2 * PAGE - 300, &long[..299]).unwrap();
    mm.copy_out(A + 2 * PAGE - 1, b"\0").unwrap();
    assert_eq!(mm.read_cstring(A + 2 * PAGE - 300, 8192).unwrap(), &long[..299]);
    // No terminator before the end of the mapping: EFAULT.
    mm.copy_out(A + 2 * PAGE - 1, b"x").unwrap();
    assert_eq!(mm.read_cstring(A + 2 * PAGE - 300, 8192), Err(Errno::EFAULT));
}

#[test]
fn dontneed_zeroes_private_pages() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    mm.copy_out(A, b"data").unwrap();
    mm.dontneed(A, PAGE).unwrap();
    let mut b = [1u8; 4];
    mm.copy_in(A, &mut b).unwrap();
    assert_eq!(b, [0; 4]);
}

#[test]
fn a_sentry_write_into_fresh_memory_takes_frames_in_one_batch() {
    let mf = memfile();
    let (mm, _) = new_mm(&mf);
    mm.mmap(A, 64 * PAGE, Prot::RW, true, false, false, Backing::Anon, None).unwrap();
    // Frames freed out of order (a process that exited), to be reused.
    let scattered: Vec<u64> = mf.alloc(32).unwrap();
    let odd: Vec<u64> = scattered.iter().copied().step_by(2).collect();
    let even: Vec<u64> = scattered.iter().copied().skip(1).step_by(2).collect();
    mf.decref_all(&odd);
    mf.decref_all(&even);
    let data = vec![7u8; 40 * PAGE as usize];
    mm.copy_out(A + 10, &data).unwrap();
    let mut m = mm.lock();
    let (runs, r) = mm.runs(&mut m, A, 41 * PAGE as usize, false);
    r.unwrap();
    // One page at a time, the 41 pages took 41 runs of frames; in one
    // sorted batch, a handful.
    assert!(runs.len() <= 3, "{} runs: {runs:?}", runs.len());
    drop(m);
    let mut back = vec![0u8; data.len()];
    mm.copy_in(A + 10, &mut back).unwrap();
    assert_eq!(back, data);
}
