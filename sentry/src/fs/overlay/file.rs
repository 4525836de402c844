//! The overlay's open regular files and their mappings.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use super::*;

/// An open overlay regular file.
pub struct OvFile {
    pub(super) node: Arc<Node>,
    /// The lower file's host fd, from the first read of this open file on
    /// (whatever the overlay keeps or drops meanwhile).
    pub(super) fd: std::sync::OnceLock<Arc<OwnedFd>>,
}

impl OvFile {
    /// The host fd to read the lower file from (the node locked as `st`).
    fn lower_fd(&self, st: &mut State) -> KResult<Arc<OwnedFd>> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd.clone());
        }
        let fd = self.node.host_fd(st)?;
        Ok(self.fd.get_or_init(|| fd).clone())
    }

    /// When every piece of `chunks` (frame, length) is in the memory
    /// file's store: the store and its runs there (offset in the store,
    /// length), consecutive pieces joined.
    fn store_runs(&self, chunks: &[(Option<u64>, usize)]) -> Option<(std::os::fd::BorrowedFd<'_>, Vec<(u64, usize)>)> {
        let mf = &self.node.fs.mf;
        let fd = mf.store_fd()?;
        let mut runs: Vec<(u64, usize)> = Vec::new();
        for &(f, n) in chunks {
            let (_, o) = mf.in_store(f?)?;
            match runs.last_mut() {
                Some((p, l)) if *p + *l as u64 == o => *l += n,
                _ => runs.push((o, n)),
            }
        }
        Some((fd, runs))
    }
}

/// Read the store `fd`'s `runs` into application memory from `addr` on,
/// with one preadv each straight into the application's pages (as a native
/// read from the page cache: the sentry maps none of the file's pages).
/// Returns the bytes read and, when short, the error.
fn read_store_runs(t: &Task, fd: std::os::fd::BorrowedFd<'_>, addr: u64, runs: &[(u64, usize)]) -> (usize, KResult<()>) {
    let mut done = 0usize;
    for &(o, n) in runs {
        match t.mm().read_host_to(addr + done as u64, n, fd, o) {
            Ok(k) => {
                done += k;
                if k < n {
                    break;
                }
            }
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

impl FileOps for OvFile {
    fn read(&self, _t: &Task, buf: &mut [u8], off: u64, _nb: bool) -> KResult<usize> {
        let mut st = self.node.lock();
        if !st.upper {
            let len = st.lower_read_len(off, buf.len());
            if len == 0 {
                return Ok(0);
            }
            let fd = self.lower_fd(&mut st)?;
            drop(st);
            loop {
                match nix::sys::uio::pread(&*fd, &mut buf[..len], off as i64) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    r => return Ok(r?),
                }
            }
        }
        let mf = &self.node.fs.mf;
        let end = (off.saturating_add(buf.len() as u64)).min(st.attr.size);
        let mut cur = off;
        while cur < end {
            let pg = cur & !(PAGE - 1);
            let n = ((pg + PAGE).min(end) - cur) as usize;
            let at = (cur - off) as usize;
            match st.cache.get(&pg) {
                Some(&f) => mf.read(f + (cur - pg), &mut buf[at..at + n]),
                None => buf[at..at + n].fill(0),
            }
            cur += n as u64;
        }
        Ok(end.saturating_sub(off) as usize)
    }

    fn write(&self, _t: &Task, buf: &[u8], off: u64, _nb: bool) -> KResult<usize> {
        let mut st = self.node.lock();
        st.sealed_against(off, buf.len())?;
        self.node.copy_up(&mut st)?;
        let end = off.checked_add(buf.len() as u64).ok_or(Errno::EFBIG)?;
        if end > (1 << 36) {
            return Err(Errno::EFBIG);
        }
        let fs = self.node.fs.clone();
        let big = st.attr.size.max(end) >= EXTENT;
        let mut cur = off;
        while cur < end {
            let pg = cur & !(PAGE - 1);
            let n = ((pg + PAGE).min(end) - cur) as usize;
            let f = match st.frame_for(&fs, pg, big) {
                Ok(f) => f,
                // Out of room (a tmpfs's size): what fits is written.
                Err(e) if cur == off => return Err(e),
                Err(_) => break,
            };
            let at = (cur - off) as usize;
            fs.mf.write(f + (cur - pg), &buf[at..at + n]);
            cur += n as u64;
        }
        st.attr.size = st.attr.size.max(cur);
        st.attr.mtime = vfs::now();
        st.attr.ctime = st.attr.mtime;
        Ok((cur - off) as usize)
    }

    fn read_to(&self, t: &Task, addr: u64, len: usize, off: u64, _nb: bool) -> KResult<usize> {
        // The overlay's own content: straight from the page cache to the
        // application, the frames held (not the node's lock) while copying,
        // since the buffer may be a mapping of this very file.
        let (frames, held, end) = {
            let mut st = self.node.lock();
            if !st.upper {
                let len = st.lower_read_len(off, len);
                if len == 0 {
                    return Ok(0);
                }
                // The lower file's content: read from the host straight
                // into the application's buffer.
                let fd = self.lower_fd(&mut st)?;
                drop(st);
                return t.mm().read_host_to(addr, len, fd.as_fd(), off);
            }
            let end = off.saturating_add(len as u64).min(st.attr.size);
            let mf = &self.node.fs.mf;
            // One walk of the cache over the range (holes are None).
            let mut frames = Vec::new();
            let mut pg = off & !(PAGE - 1);
            let mut cached = st.cache.range(pg..end.max(pg)).peekable();
            while pg < end {
                let f = cached.next_if(|&(&k, _)| k == pg).map(|(_, &f)| f);
                frames.push((pg, f));
                pg += PAGE;
            }
            let held: Vec<u64> = frames.iter().filter_map(|&(_, f)| f).collect();
            mf.incref_all(&held);
            (frames, held, end)
        };
        // One copy over the whole range (zeros for holes).
        let chunks: Vec<(Option<u64>, usize)> = frames
            .iter()
            .filter_map(|&(pg, f)| {
                let (from, to) = (off.max(pg), end.min(pg + PAGE));
                (from < to).then(|| (f.map(|f| f + (from - pg)), (to - from) as usize))
            })
            .collect();
        let (n, res) = match self.store_runs(&chunks) {
            Some((fd, runs)) => read_store_runs(t, fd, addr, &runs),
            None => t.mm().copy_out_from_chunks(addr, &chunks),
        };
        let done = off + n as u64;
        self.node.fs.mf.decref_all(&held);
        match res {
            Err(e) if done == off => Err(e),
            _ => Ok(done.saturating_sub(off) as usize),
        }
    }

    fn write_from(&self, t: &Task, src: vfs::Source<'_>, off: u64, nb: bool) -> KResult<usize> {
        let (addr, len) = match src {
            vfs::Source::User { addr, len } => (addr, len),
            vfs::Source::Kernel(b) => return self.write(t, b, off, nb),
        };
        if len == 0 {
            return self.write(t, &[], off, nb);
        }
        let end = off.checked_add(len as u64).ok_or(Errno::EFBIG)?;
        if end > (1 << 36) {
            return Err(Errno::EFBIG);
        }
        // The frames of the range, allocated (up to a tmpfs's limit) and
        // held under the lock; the copy from the application runs without
        // it (the buffer may be a mapping of this file).
        let fs = self.node.fs.clone();
        let mut fresh = false;
        let (frames, held) = {
            let mut st = self.node.lock();
            st.sealed_against(off, len)?;
            self.node.copy_up(&mut st)?;
            let big = st.attr.size.max(end) >= EXTENT;
            let mut frames = Vec::with_capacity(((end - (off & !(PAGE - 1))) / PAGE + 1) as usize);
            let mut pg = off & !(PAGE - 1);
            while pg < end {
                let got = match st.cache.get(&pg) {
                    Some(&f) => Ok(f),
                    None => {
                        fresh = true;
                        st.frame_for(&fs, pg, big)
                    }
                };
                match got {
                    Ok(f) => frames.push((pg, f)),
                    Err(e) if frames.is_empty() => return Err(e),
                    Err(_) => break,
                }
                pg += PAGE;
            }
            let held: Vec<u64> = frames.iter().map(|&(_, f)| f).collect();
            fs.mf.incref_all(&held);
            (frames, held)
        };
        let mm = t.mm();
        let mut done = off;
        let mut res = Ok(());
        // Through the host (pwritev from the sentry's mapping of the
        // buffer) when the write is large or fills new frames: the host
        // allocates those without clearing them or faulting them into the
        // sentry's mapping (a fault and a clear per page, otherwise).
        let large = frames.len() >= 16 || fresh;
        let mut k = 0;
        while k < frames.len() {
            // A run of frames consecutive in the file: one copy (and, for a
            // large write, one host write) for all of it.
            let (pg, f) = frames[k];
            let mut n = 1;
            while large && k + n < frames.len() && frames[k + n].1 == f + n as u64 * PAGE {
                n += 1;
            }
            let (from, to) = (done.max(pg), end.min(pg + n as u64 * PAGE));
            if large {
                let (n, r) = mm.copy_in_to_mf_run(addr + (from - off), f + (from - pg), (to - from) as usize);
                done = from + n as u64;
                res = r;
            } else {
                res = mm.copy_in_to_mf(addr + (from - off), f + (from - pg), (to - from) as usize);
                if res.is_ok() {
                    done = to;
                }
            }
            if res.is_err() {
                break;
            }
            k += n;
        }
        fs.mf.decref_all(&held);
        if done == off {
            res?;
        }
        let mut st = self.node.lock();
        st.attr.size = st.attr.size.max(done);
        st.attr.mtime = vfs::now();
        st.attr.ctime = st.attr.mtime;
        Ok((done - off) as usize)
    }

    fn mappable(&self) -> Option<Arc<dyn Mappable>> {
        Some(Arc::new(OvMapping { node: self.node.clone() }))
    }

    fn pollable(&self) -> bool {
        false
    }
}

struct OvMapping {
    node: Arc<Node>,
}

impl Mappable for OvMapping {
    fn frames(&self, mf: &Arc<MemoryFile>, off: u64, n: usize) -> KResult<Vec<u64>> {
        let mut st = self.node.lock();
        self.node.fill_from_lower(&mut st, off, n)?;
        let out: Vec<u64> = (0..n).map(|i| st.cache[&(off + i as u64 * PAGE)]).collect();
        mf.incref_all(&out);
        Ok(out)
    }

    fn map_name(&self) -> String {
        String::new()
    }

    fn map_ids(&self) -> (u64, u64) {
        let a = self.node.lock().attr;
        (a.dev, a.ino)
    }

    fn size(&self) -> Option<u64> {
        Some(self.node.lock().attr.size)
    }

    fn rmap_key(&self) -> Option<usize> {
        Some(self.node.rmap_key())
    }

    fn host_fd(&self) -> Option<Arc<OwnedFd>> {
        // Only a lower regular file that was never copied up: its content
        // is the host file's. A later copy-up leaves existing mappings on
        // the lower file, as Linux's overlayfs does.
        let mut st = self.node.lock();
        if st.upper || st.attr.kind() != vfs::mode::S_IFREG {
            return None;
        }
        self.node.host_fd(&mut st).ok()
    }
}
