//! The ELF loader's checks and layout on arbitrary bytes: never a panic
//! (no overflow either: fuzz builds check arithmetic), and every layout
//! it accepts is one the memory manager can map: page-aligned ranges in
//! the user half, in order within each segment.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentry::loader::elf::{layout, parse_header};

const PAGE: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Ok(h) = parse_header(data) else { return };
    let Some(ph) = usize::try_from(h.phoff).ok().and_then(|o| data.get(o..o.checked_add(h.ph_bytes())?)) else { return };
    for hint in [0, 0x5555_5555_4000, 0x7fff_e000_0000] {
        let Ok(l) = layout(&h, ph, hint) else { continue };
        for s in &l.segments {
            assert_eq!(s.start % PAGE, 0);
            assert_eq!(s.file_end_page % PAGE, 0);
            assert_eq!(s.anon_end % PAGE, 0);
            assert!(s.start <= s.file_end_page && s.anon_start <= s.anon_end);
            assert!(s.file_end <= s.mem_end && s.anon_end <= 1 << 47);
        }
        assert!(l.brk % PAGE == 0 && l.brk <= 1 << 47);
    }
});
