//! The vDSO image, built from `sentry/vdso/` by `sentry/build.rs`.
//!
//! The image is a complete ELF shared object (soname `linux-vdso.so.1`,
//! symbols `__vdso_clock_gettime`, `__vdso_gettimeofday`, `__vdso_time`,
//! `__vdso_getcpu`, `__vdso_clock_getres` and their weak un-prefixed aliases,
//! all version `LINUX_2.6`). Each function just executes `syscall`, so the
//! sentry serves it like any other system call; there is no data page.
//!
//! Invariants checked by the build: one read-only PT_LOAD at virtual address
//! 0 and file offset 0 covering the ELF header, no relocations, at most two
//! pages. So to install it, copy these bytes to a page-aligned `base` in the
//! application's address space, map `round_up(VDSO_IMAGE.len(), 4096)` bytes
//! there read + execute, and pass `base` as `AT_SYSINFO_EHDR` in the auxv.

/// The bytes of the vDSO ELF image.
pub static VDSO_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));
