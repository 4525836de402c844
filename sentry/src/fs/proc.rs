//! /proc: the sandbox's own processes and a few system files.

use std::sync::{Arc, Weak};

use super::synth::{SynthDir, SynthFile, SynthLink};
use crate::errno::{Errno, KResult};
use crate::kernel::Kernel;
use crate::vfs::path::Location;
use crate::vfs::Inode;

/// A location's path as the task reading /proc sees it (relative to its
/// root, as Linux's d_path).
fn as_seen(k: &Weak<Kernel>, l: &crate::vfs::path::Location) -> Vec<u8> {
    let reader = CURRENT.with(|c| c.get());
    match k.upgrade().and_then(|k| k.task(reader)) {
        Some(r) => l.path_from(&r.fs_root()),
        None => l.path(),
    }
}

/// What a magic link to the file at `at` reads as: its path now (renames
/// replayed) as the reader sees it, " (deleted)" once it has no name.
fn link_text(k: &Weak<Kernel>, at: &Location) -> Vec<u8> {
    let mut p = as_seen(k, &at.current());
    if at.inode().stat().is_ok_and(|a| a.nlink == 0) {
        p.extend_from_slice(b" (deleted)");
    }
    p
}

/// /proc/PID, or /proc/PID/task/TID when `thread` (which has no `task`
/// directory of its own, as in Linux: else a walk of /proc never ends).
fn pid_dir(k: &Weak<Kernel>, pid: i32, thread: bool) -> Arc<dyn Inode> {
    let kk = k.clone();
    let task = move || -> KResult<Arc<crate::kernel::task::Task>> {
        let k = kk.upgrade().ok_or(Errno::ESRCH)?;
        k.task(pid).ok_or(Errno::ESRCH)
    };
    let t1 = task.clone();
    let t2 = task.clone();
    let t3 = task.clone();
    let t4 = task.clone();
    let t5 = task.clone();
    let t6 = task.clone();
    let t7 = task.clone();
    let t8 = task.clone();
    let t9 = task.clone();
    let t10 = task.clone();
    let fdtask = task.clone();
    let fdk = k.clone();
    let fd_dir: Arc<dyn Inode> = SynthDir::new(move || {
        let Ok(t) = fdtask() else { return vec![] };
        let root = t.fs_root();
        t.fds()
            .list()
            .into_iter()
            .map(|(fd, f)| {
                let p = match f.at.get() {
                    Some(at) => link_text(&fdk, at),
                    None => f.path.clone(),
                };
                // Followed, the file itself: where it was opened, or (a
                // pipe, a socket, an unnamed file) a place of its own.
                let root = root.clone();
                let to = move || match f.at.get() {
                    Some(at) => Ok(at.current()),
                    None => Ok(Location::beside(&root, f.path.clone(), f.inode.clone())),
                };
                let l: Arc<dyn Inode> = SynthLink::jump(move || Ok(p.clone()), to);
                (fd.to_string().into_bytes(), l)
            })
            .collect()
    });
    let infotask = task.clone();
    let fdinfo_dir: Arc<dyn Inode> = SynthDir::new(move || {
        let Ok(t) = infotask() else { return vec![] };
        t.fds()
            .list()
            .into_iter()
            .map(|(fd, f)| {
                let cloexec = t.fds().cloexec(fd).unwrap_or(false);
                let flags = f.flags() | if cloexec { crate::vfs::oflags::O_CLOEXEC } else { 0 };
                let pos = *f.offset.lock().unwrap_or_else(|e| e.into_inner());
                let ino = f.inode.stat().map(|a| a.ino).unwrap_or(0);
                let text = format!("pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t1\nino:\t{ino}\n");
                let i: Arc<dyn Inode> = SynthFile::text(text);
                (fd.to_string().into_bytes(), i)
            })
            .collect()
    });
    let tasktask = task.clone();
    let wk_task = k.clone();
    let task_dir: Arc<dyn Inode> = SynthDir::new(move || {
        let Ok(t) = tasktask() else { return vec![] };
        let threads = t.tg.st().threads.clone();
        threads.into_iter().map(|tid| (tid.to_string().into_bytes(), pid_dir(&wk_task, tid, true))).collect()
    });
    let statm_task = task.clone();
    let statm: Arc<dyn Inode> = SynthFile::new(move || {
        let t = statm_task()?;
        let mm = t.mm();
        let vm: u64 = mm.vmas().iter().map(|(s, v)| v.end - s).sum::<u64>() / 4096;
        let rss = mm.resident_pages();
        Ok(format!("{vm} {rss} 0 0 0 {rss} 0\n").into_bytes())
    });
    let mi_task = task.clone();
    let mountinfo: Arc<dyn Inode> = SynthFile::new(move || Ok(mountinfo_text(&*mi_task()?).into_bytes()));
    let mounts_task = task.clone();
    let mounts: Arc<dyn Inode> = SynthFile::new(move || Ok(mounts_text(&*mounts_task()?).into_bytes()));
    let mut entries = vec![
        ("mountinfo", mountinfo),
        // The sandbox is one cgroup, the root of its cgroup namespace.
        ("cgroup", SynthFile::text("0::/\n")),
        ("syscall", {
            let t = task.clone();
            SynthFile::new(move || Ok(syscall_text(&*t()?).into_bytes()))
        }),
        ("fdinfo", fdinfo_dir),
        ("task", task_dir),
        ("statm", statm),
        ("mounts", mounts),
        ("exe", {
            // The executable itself when followed; its path as seen now
            // (renames replayed), " (deleted)" once it is gone.
            let (k, t) = (k.clone(), task.clone());
            let text = move || {
                let t = t1()?;
                let at = t.tg.exe_at.lock().unwrap_or_else(|e| e.into_inner()).clone();
                Ok(match at {
                    Some(at) => link_text(&k, &at),
                    None => t.tg.exe.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                })
            };
            SynthLink::jump(text, move || t()?.tg.exe_at.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|l| l.current()).ok_or(Errno::ENOENT))
        }),
        ("cwd", {
            let (k, t) = (k.clone(), t2.clone());
            SynthLink::jump(move || Ok(as_seen(&k, &t2()?.fs_cwd())), move || Ok(t()?.fs_cwd()))
        }),
        ("root", {
            let (k, t, tt) = (k.clone(), task.clone(), task.clone());
            SynthLink::jump(move || Ok(as_seen(&k, &t()?.fs_root())), move || Ok(tt()?.fs_root()))
        }),
        ("fd", fd_dir),
        ("cmdline", SynthFile::new(move || user_range(&*t3()?, |m| (m.arg_start, m.arg_end)))),
        ("environ", SynthFile::new(move || user_range(&*t4()?, |m| (m.env_start, m.env_end)))),
        (
            "auxv",
            SynthFile::new(move || {
                let t = t10()?;
                let auxv = t.mm().lock().auxv.clone();
                Ok(auxv.iter().flat_map(|(k, v)| k.to_ne_bytes().into_iter().chain(v.to_ne_bytes())).collect())
            }),
        ),
        (
            "comm",
            SynthFile::new(move || {
                let mut c = t9()?.tg.comm.lock().unwrap_or_else(|e| e.into_inner()).clone();
                c.push(b'\n');
                Ok(c)
            }),
        ),
        (
            "maps",
            SynthFile::new(move || {
                let t = t5()?;
                let mut out = String::new();
                for (s, v) in t.mm().vmas() {
                    let (name, off, dev, ino) = match &v.backing {
                        crate::mm::Backing::File(f, off) => {
                            let (d, i) = f.map_ids();
                            (f.map_name(), *off, d, i)
                        }
                        _ => (v.name.unwrap_or("").to_string(), 0, 0, 0),
                    };
                    let name = if name.is_empty() { v.name.unwrap_or("").to_string() } else { name };
                    out.push_str(&format!(
                        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {:<10} {}\n",
                        s,
                        v.end,
                        if v.prot.read { 'r' } else { '-' },
                        if v.prot.write { 'w' } else { '-' },
                        if v.prot.exec { 'x' } else { '-' },
                        if v.shared { 's' } else { 'p' },
                        off,
                        (dev >> 8) & 0xff,
                        dev & 0xff,
                        ino,
                        name
                    ));
                }
                // The host vDSO the platform maps above the application.
                for (s, e, perms, name) in t.kernel.platform.host_vdso().map(|v| v.maps).unwrap_or_default() {
                    out.push_str(&format!("{s:08x}-{e:08x} {perms} 00000000 00:00 {:<10} {name}\n", 0));
                }
                Ok(out.into_bytes())
            }),
        ),
        (
            "status",
            SynthFile::new(move || {
                let t = t6()?;
                let c = t.creds();
                let comm = String::from_utf8_lossy(&t.tg.comm.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
                let threads = t.tg.st().threads.len();
                let rss = t.mm().resident_pages() * 4;
                let lck = t.mm().locked_bytes() / 1024;
                let (eff, prm, inh) = *t.tg.caps.lock().unwrap_or_else(|e| e.into_inner());
                let bnd = t.tg.capbset.load(std::sync::atomic::Ordering::Relaxed);
                let groups: String = c.groups.iter().map(|g| format!("{g} ")).collect();
                Ok(format!(
                    "Name:\t{comm}\nUmask:\t{:04o}\nState:\t{} ({})\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0\nUid:\t{u}\t{eu}\t{su}\t{eu}\nGid:\t{g}\t{eg}\t{sg}\t{eg}\nFDSize:\t64\nGroups:\t{groups}\nVmLck:\t{lck} kB\nVmRSS:\t{rss} kB\nThreads:\t{threads}\nSigBlk:\t{:016x}\nCapInh:\t{inh:016x}\nCapPrm:\t{prm:016x}\nCapEff:\t{eff:016x}\nCapBnd:\t{bnd:016x}\nCapAmb:\t{:016x}\nNoNewPrivs:\t{}\nSeccomp:\t0\n",
                    t.umask(), state(&t).0, state(&t).1, t.tg.tgid, t.tid(), t.tg.ppid.load(std::sync::atomic::Ordering::Relaxed),
                    t.sigmask.load(std::sync::atomic::Ordering::Relaxed), 0,
                    u8::from(t.no_new_privs.load(std::sync::atomic::Ordering::Relaxed)),
                    u = c.uid, eu = c.euid, su = c.suid, g = c.gid, eg = c.egid, sg = c.sgid
                ).into_bytes())
            }),
        ),
        (
            "stat",
            SynthFile::new(move || {
                let t = t7()?;
                Ok(stat_line(&t).into_bytes())
            }),
        ),
        (
            "limits",
            SynthFile::new(move || {
                let t = t8()?;
                let names = ["Max cpu time", "Max file size", "Max data size", "Max stack size", "Max core file size",
                    "Max resident set", "Max processes", "Max open files", "Max locked memory", "Max address space",
                    "Max file locks", "Max pending signals", "Max msgqueue size", "Max nice priority",
                    "Max realtime priority", "Max realtime timeout"];
                let mut s = format!("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
                let units = ["seconds", "bytes", "bytes", "bytes", "bytes", "bytes", "processes", "files", "bytes", "bytes",
                    "locks", "signals", "bytes", "", "", "us"];
                for (i, (n, unit)) in names.iter().zip(units).enumerate() {
                    let l = t.tg.rlimit(i);
                    let f = |v: u64| if v == u64::MAX { "unlimited".to_string() } else { v.to_string() };
                    s.push_str(&format!("{:<25} {:<20} {:<20} {:<10}\n", n, f(l.cur), f(l.max), unit));
                }
                Ok(s.into_bytes())
            }),
        ),
    ];
    if thread {
        entries.retain(|(name, _)| *name != "task");
    }
    SynthDir::fixed(entries)
}

/// The mounts of `t`'s namespace that its root sees, with their points
/// as it sees them.
fn visible_mounts(t: &crate::kernel::task::Task) -> Vec<(Arc<crate::vfs::mount::Mount>, String)> {
    let root = t.fs_root();
    let rp = root.path();
    root.ns
        .list()
        .into_iter()
        .filter_map(|m| {
            let rel: &[u8] = if rp == b"/" {
                &m.point
            } else if m.point == rp {
                b"/"
            } else if m.point.starts_with(&rp) && m.point.get(rp.len()) == Some(&b'/') {
                &m.point[rp.len()..]
            } else {
                return None;
            };
            let point = String::from_utf8_lossy(rel).into_owned();
            Some((m, point))
        })
        .collect()
}

/// /proc/[pid]/mountinfo: id, parent id, device, root within the
/// filesystem, mount point, options, separator, type, source, super
/// options.
fn mountinfo_text(t: &crate::kernel::task::Task) -> String {
    visible_mounts(t)
        .iter()
        .map(|(m, point)| {
            let sopts = if m.read_only() { "ro" } else { "rw" };
            let extra = if m.fs_opts.is_empty() { String::new() } else { format!(",{}", m.fs_opts) };
            format!("{} {} 0:{} / {} {} - {} {} {}{}\n", m.id, m.parent, m.id + 20, point, m.opts(), m.fstype, m.source, sopts, extra)
        })
        .collect()
}

/// /proc/mounts: source, point, type, options.
fn mounts_text(t: &crate::kernel::task::Task) -> String {
    visible_mounts(t)
        .iter()
        .map(|(m, point)| {
            let extra = if m.fs_opts.is_empty() { String::new() } else { format!(",{}", m.fs_opts) };
            format!("{} {} {} {}{} 0 0\n", m.source, point, m.fstype, m.opts(), extra)
        })
        .collect()
}

/// The task's state letter and name: zombie, stopped by job control,
/// asleep in the sentry, or running.
pub(crate) fn state(t: &crate::kernel::task::Task) -> (char, &'static str) {
    let st = t.tg.st();
    if st.zombie {
        ('Z', "zombie")
    } else if st.stopped {
        ('T', "stopped")
    } else if t.waker.sleeping() {
        ('S', "sleeping")
    } else {
        ('R', "running")
    }
}

/// /proc/PID/syscall: the syscall the task is blocked in (number, six
/// arguments, stack pointer, program counter), or "running".
fn syscall_text(t: &crate::kernel::task::Task) -> String {
    match t.current_syscall() {
        Some((nr, a, sp, pc)) if t.waker.sleeping() => {
            let args: String = a.iter().map(|v| format!(" {v:#x}")).collect();
            format!("{nr}{args} {sp:#x} {pc:#x}\n")
        }
        _ => "running\n".into(),
    }
}

/// Clock ticks (USER_HZ, 100 per second) in a duration.
fn ticks(d: std::time::Duration) -> u128 {
    d.as_millis() / 10
}

/// /proc/[pid]/stat: the 52 fields of Linux's do_task_stat.
fn stat_line(t: &crate::kernel::task::Task) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let tg = &t.tg;
    let comm = String::from_utf8_lossy(&tg.comm.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    let (tty_nr, tpgid) = match crate::fs::tty::ctty_of(tg) {
        Some(term) => {
            let rdev = term.rdev();
            // new_encode_dev: minor low byte, major, then high minor bits.
            let (major, minor) = ((rdev >> 8) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & !0xff));
            ((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12), term.ctl().get().1)
        }
        None => (0, -1),
    };
    let (u, s) = tg.cpu_times(&t.kernel);
    let (cu, cs) = *tg.cpu_children.lock().unwrap_or_else(|e| e.into_inner());
    let threads = tg.st().threads.len();
    let mm = t.mm();
    let vsize: u64 = mm.vmas().iter().map(|(start, v)| v.end - start).sum();
    let rss = mm.resident_pages();
    let nice = tg.nice.load(Relaxed);
    let rlim = tg.rlimit(5).cur;
    format!(
        "{pid} ({comm}) {st} {ppid} {pgrp} {sid} {tty_nr} {tpgid} 4194304 0 0 0 0 {u} {s} {cu} {cs} {prio} {nice} {threads} 0 {start} {vsize} {rss} {rlim} 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        pid = t.tid(),
        st = state(t).0,
        ppid = tg.ppid.load(Relaxed),
        pgrp = tg.pgid(),
        sid = tg.sid.load(Relaxed),
        u = ticks(u),
        s = ticks(s),
        cu = ticks(cu),
        cs = ticks(cs),
        prio = 20 + nice,
        start = ticks(tg.start),
    )
}

/// The bytes of a range of the task's memory the loader recorded (argv or
/// the environment).
fn user_range(t: &crate::kernel::task::Task, range: impl Fn(&crate::mm::MmInner) -> (u64, u64)) -> KResult<Vec<u8>> {
    let mm = t.mm();
    let (s, e) = range(&mm.lock());
    let mut b = vec![0u8; e.saturating_sub(s) as usize];
    mm.copy_in(s, &mut b)?;
    Ok(b)
}

/// Build /proc.
pub fn new(k: &Arc<Kernel>) -> Arc<dyn Inode> {
    let wk = Arc::downgrade(k);
    let wk3 = wk.clone();
    let wk4 = wk.clone();
    let sys = crate::fs::proc_sys::new(k);
    let fixed: Vec<(Vec<u8>, Arc<dyn Inode>)> = vec![
        (b"sys".to_vec(), sys),
        (b"cpuinfo".to_vec(), SynthFile::new(|| Ok(platform::read_proc("/proc/cpuinfo").unwrap_or_default().into_bytes()))),
        (
            b"meminfo".to_vec(),
            SynthFile::new(move || {
                let k = wk3.upgrade();
                let limit = k.as_ref().map_or(u64::MAX, |k| k.mf.limit_bytes());
                let total = crate::mm::memfile::REPORTED_TOTAL.min(limit) / 1024;
                let free = k.map_or(total, |k| (total * 1024).saturating_sub(k.mf.used_bytes()) / 1024);
                Ok(format!(
                    "MemTotal:       {total:>8} kB\nMemFree:        {:>8} kB\nMemAvailable:   {:>8} kB\nBuffers:               0 kB\nCached:                0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
                    free, free
                ).into_bytes())
            }),
        ),
        (
            b"stat".to_vec(),
            SynthFile::new(move || {
                let n = wk4.upgrade().map(|k| k.all_tasks().len()).unwrap_or(0);
                let (b, _) = crate::kernel::boot_time();
                Ok(format!("cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\nintr 0\nctxt 0\nbtime {b}\nprocesses {n}\nprocs_running 1\nprocs_blocked 0\n").into_bytes())
            }),
        ),
        (
            b"uptime".to_vec(),
            SynthFile::new(|| {
                let u = crate::kernel::uptime().as_secs_f64();
                Ok(format!("{u:.2} {u:.2}\n").into_bytes())
            }),
        ),
        (b"loadavg".to_vec(), SynthFile::new(|| Ok(b"0.00 0.00 0.00 1/1 1\n".to_vec()))),
        (b"filesystems".to_vec(), SynthFile::text("nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tcgroup2\nnodev\tdevpts\nnodev\tmqueue\n\toverlay\n")),
        (b"mounts".to_vec(), SynthLink::new(|| Ok(b"self/mounts".to_vec()))),
        (b"self".to_vec(), SynthLink::new(|| Err(Errno::ENOENT))),
    ];
    let wl = wk.clone();
    SynthDir::with_lookup(
        {
            let wk = wk.clone();
            let fixed = fixed.clone();
            move || {
                let mut v = fixed.clone();
                if let Some(k) = wk.upgrade() {
                    for g in k.all_groups() {
                        if !g.st().zombie {
                            v.push((g.tgid.to_string().into_bytes(), pid_dir(&wk, g.tgid, false)));
                        }
                    }
                }
                v
            }
        },
        move |name| {
            if name == b"self" || name == b"thread-self" {
                let tid = CURRENT.with(|c| c.get());
                let k = wl.upgrade()?;
                let t = k.task(tid)?;
                let target = if name == b"self" { t.tg.tgid.to_string() } else { format!("{}/task/{}", t.tg.tgid, tid) };
                let l: Arc<dyn Inode> = SynthLink::new(move || Ok(target.clone().into_bytes()));
                return Some(l);
            }
            let s = std::str::from_utf8(name).ok()?;
            let pid: i32 = s.parse().ok()?;
            let k = wl.upgrade()?;
            k.task(pid)?;
            Some(pid_dir(&wl, pid, false))
        },
    )
}

thread_local! {
    /// The task running on this host thread (for /proc/self).
    pub static CURRENT: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}
