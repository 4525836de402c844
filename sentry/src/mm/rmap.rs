//! Which address spaces map which files, so that truncating a file takes
//! the pages past its new end out of every mapping (they SIGBUS from then
//! on, as in Linux), private copies included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use super::*;

static MAPS: Mutex<Option<HashMap<usize, Vec<Weak<MemoryManager>>>>> = Mutex::new(None);

/// `mm` maps the file whose [`Mappable::rmap_key`] is `key`.
pub fn add(key: usize, mm: &Arc<MemoryManager>) {
    let mut g = MAPS.lock().unwrap_or_else(|e| e.into_inner());
    let list = g.get_or_insert_with(HashMap::new).entry(key).or_default();
    list.retain(|w| w.strong_count() > 0);
    if !list.iter().any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(mm))) {
        list.push(Arc::downgrade(mm));
    }
}

/// Register every file `mm` maps (a fork's child).
pub fn add_all(mm: &Arc<MemoryManager>) {
    let keys: Vec<usize> = mm
        .lock()
        .vmas
        .values()
        .filter_map(|v| match &v.backing {
            Backing::File(f, _) => f.rmap_key(),
            _ => None,
        })
        .collect();
    for k in keys {
        add(k, mm);
    }
}

/// Whether some address space maps the file `key` shared (a memfd then
/// cannot be sealed against writes). Call without the file's own lock.
pub fn mapped_shared(key: usize) -> bool {
    let mms: Vec<Arc<MemoryManager>> = {
        let g = MAPS.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = g.as_ref().and_then(|map| map.get(&key)) else { return false };
        list.iter().filter_map(|w| w.upgrade()).collect()
    };
    mms.iter().any(|mm| {
        mm.lock().vmas.values().any(|v| v.shared && matches!(&v.backing, Backing::File(f, _) if f.rmap_key() == Some(key)))
    })
}

/// The file `key` was cut to `size` bytes. Call without the file's own
/// lock held: a fault holds an address space's lock while it asks the file
/// for pages.
pub fn truncated(key: usize, size: u64) {
    let mms: Vec<Arc<MemoryManager>> = {
        let mut g = MAPS.lock().unwrap_or_else(|e| e.into_inner());
        let Some(map) = g.as_mut() else { return };
        let Some(list) = map.get_mut(&key) else { return };
        list.retain(|w| w.strong_count() > 0);
        let live: Vec<_> = list.iter().filter_map(|w| w.upgrade()).collect();
        if list.is_empty() {
            map.remove(&key);
        }
        live
    };
    for mm in mms {
        mm.drop_file_pages_from(key, size);
    }
}

impl MemoryManager {
    /// Take out of this address space every page of a mapping of file
    /// `key` at or past the page holding byte `size`'s end.
    fn drop_file_pages_from(&self, key: usize, size: u64) {
        let end_off = size.div_ceil(PAGE) * PAGE;
        let mut m = self.lock();
        let cuts: Vec<(u64, u64)> = m
            .vmas
            .iter()
            .filter_map(|(&s, v)| match &v.backing {
                Backing::File(f, off) if f.rmap_key() == Some(key) && v.direct.is_none() => {
                    let from = if end_off > *off { s.saturating_add(end_off - off) } else { s };
                    (from < v.end).then_some((from, v.end))
                }
                _ => None,
            })
            .collect();
        for (from, to) in cuts {
            let keys: Vec<u64> = m.pages.range(from..to).map(|(k, _)| *k).collect();
            let mut mapped = false;
            let mut frames = Vec::with_capacity(keys.len());
            for k in keys {
                if let Some(p) = m.pages.remove(&k) {
                    mapped |= p.mapped.is_some();
                    frames.push(p.frame);
                }
            }
            self.mf.decref_all(&frames);
            if mapped {
                let _ = self.as_.unmap(from, to - from);
            }
        }
    }
}
