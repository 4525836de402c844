//! The overlay's open regular files and their mappings.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use super::*;

/// An open overlay regular file.
pub struct OvFile {
    pub(super) node: Arc<Node>,
}

impl FileOps for OvFile {
    fn read(&self, _t: &Task, buf: &mut [u8], off: u64, _nb: bool) -> KResult<usize> {
        let mut st = self.node.lock();
        if !st.upper {
            let fd = self.node.host_fd(&mut st)?;
            drop(st);
            loop {
                match nix::sys::uio::pread(&*fd, buf, off as i64) {
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
        self.node.copy_up(&mut st)?;
        let end = off.checked_add(buf.len() as u64).ok_or(Errno::EFBIG)?;
        if end > (1 << 36) {
            return Err(Errno::EFBIG);
        }
        let fs = self.node.fs.clone();
        let mut cur = off;
        while cur < end {
            let pg = cur & !(PAGE - 1);
            let n = ((pg + PAGE).min(end) - cur) as usize;
            let f = match st.frame_for(&fs, pg) {
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
        for &f in &out {
            mf.incref(f);
        }
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
