//! Builds the vDSO image (sentry/vdso/) into `$OUT_DIR/vdso.so`, which
//! `loader::vdso_image` embeds with `include_bytes!`.
//!
//! The image is compiled with the host C compiler (`$SENTRY_VDSO_CC`, else
//! `$CC`, else `gcc`) and then checked, so a change to the C source or the
//! linker script that would break the loader's assumptions fails the build
//! rather than an application:
//!
//! - an x86-64 ELF shared object (ET_DYN),
//! - exactly one PT_LOAD segment, at virtual address 0 and file offset 0,
//!   not writable, with equal file and memory sizes (so the file's bytes are
//!   the memory image and it can be copied to any page-aligned address),
//! - no dynamic relocations (DT_REL, DT_RELA, DT_TEXTREL, DT_JMPREL),
//! - no writable section other than `.dynamic`,
//! - at most two pages.
//!
//! `SENTRY_VDSO_LINUX_VERSION` (e.g. `4.4.0`) sets the kernel version in the
//! image's "Linux" ELF note; keep it equal to the release uname(2) reports.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCES: [&str; 3] = ["vdso/vdso.c", "vdso/vdso.map", "vdso/vdso.lds"];
const PAGE_SIZE: u64 = 4096;
const MAX_PAGES: u64 = 2;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    for src in SOURCES {
        println!("cargo:rerun-if-changed={src}");
    }
    for var in ["SENTRY_VDSO_CC", "CC", "SENTRY_VDSO_LINUX_VERSION"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let out = out_dir.join("vdso.so");
    build(&manifest_dir.join("vdso"), &out);
    let image = std::fs::read(&out).unwrap_or_else(|e| panic!("read {}: {e}", out.display()));
    if let Err(msg) = check_image(&image) {
        panic!("vDSO image {} is unusable: {msg}", out.display());
    }
}

fn build(src_dir: &Path, out: &Path) {
    let cc = env::var("SENTRY_VDSO_CC")
        .or_else(|_| env::var("CC"))
        .unwrap_or_else(|_| "gcc".to_string());
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-O2",
        "-fPIC",
        "-shared",
        "-nostdlib",
        "-ffreestanding",
        "-fno-stack-protector",
        "-fno-asynchronous-unwind-tables",
        "-fno-unwind-tables",
        "-fcf-protection=none",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Wl,-soname=linux-vdso.so.1",
        "-Wl,--hash-style=both",
        "-Wl,-Bsymbolic",
        "-Wl,--no-undefined",
        "-Wl,-z,max-page-size=4096",
        "-Wl,-z,noexecstack",
        "-Wl,--build-id=sha1",
        "-Wl,--strip-debug",
    ]);
    if let Ok(version) = env::var("SENTRY_VDSO_LINUX_VERSION") {
        cmd.arg(format!(
            "-DVDSO_LINUX_VERSION_CODE={}",
            version_code(&version)
        ));
    }
    cmd.arg(format!(
        "-Wl,--version-script={}",
        src_dir.join("vdso.map").display()
    ))
    .arg(format!("-Wl,-T,{}", src_dir.join("vdso.lds").display()))
    .arg("-o")
    .arg(out)
    .arg(src_dir.join("vdso.c"));
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("cannot run C compiler `{cc}` to build the vDSO (install gcc): {e}")
    });
    if !status.success() {
        panic!("building the vDSO failed ({status}): {cmd:?}");
    }
}

/// "a.b.c" -> KERNEL_VERSION(a, b, c).
fn version_code(v: &str) -> u32 {
    let parts: Vec<u32> = v
        .split('.')
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| panic!("SENTRY_VDSO_LINUX_VERSION={v}: not a.b.c"))
        })
        .collect();
    match parts.as_slice() {
        [a, b, c] if *b < 256 && *c < 256 => (a << 16) | (b << 8) | c,
        _ => panic!("SENTRY_VDSO_LINUX_VERSION={v}: not a.b.c"),
    }
}

fn u16_at(b: &[u8], off: u64) -> Result<u16, String> {
    let o = usize::try_from(off).map_err(|_| "offset overflow")?;
    b.get(o..o + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| format!("truncated at {off:#x}"))
}

fn u32_at(b: &[u8], off: u64) -> Result<u32, String> {
    let o = usize::try_from(off).map_err(|_| "offset overflow")?;
    b.get(o..o + 4)
        .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
        .ok_or_else(|| format!("truncated at {off:#x}"))
}

fn u64_at(b: &[u8], off: u64) -> Result<u64, String> {
    let o = usize::try_from(off).map_err(|_| "offset overflow")?;
    b.get(o..o + 8)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap()))
        .ok_or_else(|| format!("truncated at {off:#x}"))
}

fn check_image(b: &[u8]) -> Result<(), String> {
    const ET_DYN: u16 = 3;
    const EM_X86_64: u16 = 62;
    const PT_LOAD: u32 = 1;
    const PT_DYNAMIC: u32 = 2;
    const PF_W: u32 = 2;
    const SHF_WRITE: u64 = 1;
    const SHT_DYNAMIC: u32 = 6;
    const DT_NULL: u64 = 0;
    const DT_RELA: u64 = 7;
    const DT_REL: u64 = 17;
    const DT_TEXTREL: u64 = 22;
    const DT_JMPREL: u64 = 23;

    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return Err("not a little-endian ELF64 file".into());
    }
    if u16_at(b, 16)? != ET_DYN || u16_at(b, 18)? != EM_X86_64 {
        return Err("not an x86-64 shared object".into());
    }
    let phoff = u64_at(b, 32)?;
    let shoff = u64_at(b, 40)?;
    let phentsize = u64::from(u16_at(b, 54)?);
    let phnum = u64::from(u16_at(b, 56)?);
    let shentsize = u64::from(u16_at(b, 58)?);
    let shnum = u64::from(u16_at(b, 60)?);

    let mut loads = 0;
    let mut dynamic = None;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let p_type = u32_at(b, ph)?;
        let p_flags = u32_at(b, ph + 4)?;
        let p_offset = u64_at(b, ph + 8)?;
        let p_vaddr = u64_at(b, ph + 16)?;
        let p_filesz = u64_at(b, ph + 32)?;
        let p_memsz = u64_at(b, ph + 40)?;
        match p_type {
            PT_LOAD => {
                loads += 1;
                if p_offset != 0 || p_vaddr != 0 {
                    return Err(format!(
                        "PT_LOAD at offset {p_offset:#x} vaddr {p_vaddr:#x}, want 0/0"
                    ));
                }
                if p_flags & PF_W != 0 {
                    return Err("PT_LOAD is writable".into());
                }
                if p_filesz != p_memsz {
                    return Err(format!(
                        "PT_LOAD filesz {p_filesz:#x} != memsz {p_memsz:#x} (.bss?)"
                    ));
                }
                if p_memsz > MAX_PAGES * PAGE_SIZE {
                    return Err(format!(
                        "PT_LOAD is {p_memsz} bytes, more than {MAX_PAGES} pages"
                    ));
                }
            }
            PT_DYNAMIC => dynamic = Some((p_offset, p_filesz)),
            _ => {}
        }
    }
    if loads != 1 {
        return Err(format!("{loads} PT_LOAD segments, want exactly 1"));
    }
    let (dyn_off, dyn_size) = dynamic.ok_or("no PT_DYNAMIC")?;
    let mut off = dyn_off;
    while off + 16 <= dyn_off + dyn_size {
        match u64_at(b, off)? {
            DT_NULL => break,
            DT_RELA | DT_REL | DT_TEXTREL | DT_JMPREL => {
                return Err(
                    "has dynamic relocations (global data or a libc call in vdso.c?)".into(),
                )
            }
            _ => {}
        }
        off += 16;
    }
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        let sh_type = u32_at(b, sh + 4)?;
        let sh_flags = u64_at(b, sh + 8)?;
        let sh_size = u64_at(b, sh + 32)?;
        if sh_flags & SHF_WRITE != 0 && sh_type != SHT_DYNAMIC && sh_size != 0 {
            return Err(format!("section {i} is writable (global data in vdso.c?)"));
        }
    }
    if b.len() as u64 > MAX_PAGES * PAGE_SIZE {
        return Err(format!(
            "file is {} bytes, more than {MAX_PAGES} pages",
            b.len()
        ));
    }
    Ok(())
}
