//! The CSP's data cache (`pfnCspCacheAddFile`, `pfnCspCacheLookupFile`, `pfnCspCacheDeleteFile` and
//! `pvCacheContext`), behaving like the Base CSP's: entries are keyed by their tag, and the whole cache is
//! dropped when the `cardid` or `cardcf` read at the start of a transaction differs from the values it was
//! filled under. A lookup miss returns `ERROR_NOT_FOUND` (1168); a hit returns a copy allocated with the
//! CSP allocator, which the module must free with `pfnCspFree` (the allocator's leak check sees it if it
//! does not).

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, MutexGuard};

use windows_sys::Win32::Security::Cryptography::{
    PFN_CSP_CACHE_ADD_FILE, PFN_CSP_CACHE_DELETE_FILE, PFN_CSP_CACHE_LOOKUP_FILE,
};
use windows_sys::core::PCWSTR;

use super::alloc;
use super::wide::read_wide;
use crate::codes::{ERROR_NOT_FOUND, SCARD_E_INVALID_PARAMETER, SCARD_E_NO_MEMORY};

/// Longest tag accepted.
const MAX_TAG: usize = 256;
/// Largest entry accepted.
const MAX_ENTRY: u32 = 1024 * 1024;

/// What the cache saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Successful adds.
    pub adds: u64,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups answered `ERROR_NOT_FOUND`.
    pub misses: u64,
    /// Deletes.
    pub deletes: u64,
    /// Times the whole cache was dropped because cardid/cardcf changed.
    pub invalidations: u64,
    /// Calls with bad arguments (NULL tag, non-zero flags).
    pub misuse: u64,
}

#[derive(Debug, Default)]
struct State {
    freshness: Option<(Vec<u8>, Vec<u8>)>,
    entries: BTreeMap<String, Vec<u8>>,
    stats: CacheStats,
}

/// One CSP data cache (the Base CSP keeps one per card).
#[derive(Debug, Default)]
pub struct DataCache {
    state: Mutex<State>,
}

impl DataCache {
    /// An empty cache.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the CSP does at the start of a transaction with the freshly read `cardid` and `cardcf`:
    /// keep the entries when both are unchanged, drop them otherwise. Returns true when dropped.
    pub fn begin_transaction(&self, card_id: &[u8], cardcf: &[u8]) -> bool {
        let mut s = self.lock();
        let now = (card_id.to_vec(), cardcf.to_vec());
        let changed = s.freshness.as_ref() != Some(&now);
        if changed {
            if !s.entries.is_empty() {
                s.stats.invalidations += 1;
            }
            s.entries.clear();
            s.freshness = Some(now);
        }
        changed
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        self.lock().stats
    }

    /// The tags present.
    pub fn tags(&self) -> Vec<String> {
        self.lock().entries.keys().cloned().collect()
    }

    /// Adds an entry directly (as the CSP does for files it read itself).
    pub fn insert(&self, tag: &str, data: &[u8]) {
        self.lock().entries.insert(tag.to_owned(), data.to_vec());
    }

    /// An entry's content.
    pub fn get(&self, tag: &str) -> Option<Vec<u8>> {
        self.lock().entries.get(tag).cloned()
    }

    /// The three callbacks and the context pointer for `CARD_DATA`. The pointer stays valid as long as
    /// the `Arc` is alive; [`crate::ffi::calls::Context`] keeps a clone.
    pub fn callbacks(
        self: &Arc<Self>,
    ) -> (
        PFN_CSP_CACHE_ADD_FILE,
        PFN_CSP_CACHE_LOOKUP_FILE,
        PFN_CSP_CACHE_DELETE_FILE,
        *mut c_void,
    ) {
        (
            Some(cache_add),
            Some(cache_lookup),
            Some(cache_delete),
            Arc::as_ptr(self) as *mut c_void,
        )
    }
}

/// The cache behind `pvCacheContext` and the tag, or `None` (counted as misuse) when either is bad.
///
/// # Safety
/// `ctx` is NULL or the pointer [`DataCache::callbacks`] gave out, still alive; `tag` is NULL or a
/// NUL-terminated UTF-16 string.
unsafe fn entry<'a>(ctx: *const c_void, tag: PCWSTR, flags: u32) -> Option<(&'a DataCache, String)> {
    if ctx.is_null() {
        return None;
    }
    // SAFETY: per the contract, `ctx` is a live `DataCache`.
    let cache = unsafe { &*(ctx as *const DataCache) };
    // SAFETY: per the contract.
    let tag = unsafe { read_wide(tag, MAX_TAG) };
    match (tag, flags) {
        (Some(tag), 0) if !tag.is_empty() => Some((cache, tag)),
        _ => {
            cache.lock().stats.misuse += 1;
            None
        }
    }
}

unsafe extern "system" fn cache_add(
    ctx: *const c_void,
    tag: PCWSTR,
    flags: u32,
    data: *const u8,
    len: u32,
) -> u32 {
    // SAFETY: the module passes back the context pointer it was given, and its own tag string.
    let Some((cache, tag)) = (unsafe { entry(ctx, tag, flags) }) else {
        return SCARD_E_INVALID_PARAMETER;
    };
    if (data.is_null() && len != 0) || len > MAX_ENTRY {
        cache.lock().stats.misuse += 1;
        return SCARD_E_INVALID_PARAMETER;
    }
    let bytes = if len == 0 {
        Vec::new()
    } else {
        // SAFETY: the module owns `len` readable bytes at `data` for the call (non-null, bounded).
        unsafe { std::slice::from_raw_parts(data, len as usize) }.to_vec()
    };
    let mut s = cache.lock();
    s.entries.insert(tag, bytes);
    s.stats.adds += 1;
    0
}

unsafe extern "system" fn cache_lookup(
    ctx: *const c_void,
    tag: PCWSTR,
    flags: u32,
    data_out: *mut *mut u8,
    len_out: *mut u32,
) -> u32 {
    // SAFETY: as for `cache_add`.
    let Some((cache, tag)) = (unsafe { entry(ctx, tag, flags) }) else {
        return SCARD_E_INVALID_PARAMETER;
    };
    if data_out.is_null() || len_out.is_null() {
        cache.lock().stats.misuse += 1;
        return SCARD_E_INVALID_PARAMETER;
    }
    let found = {
        let mut s = cache.lock();
        let found = s.entries.get(&tag).cloned();
        if found.is_some() {
            s.stats.hits += 1;
        } else {
            s.stats.misses += 1;
        }
        found
    };
    let Some(bytes) = found else {
        return ERROR_NOT_FOUND;
    };
    let p = alloc::alloc_copy(&bytes);
    if p.is_null() {
        return SCARD_E_NO_MEMORY;
    }
    // SAFETY: both out-pointers are non-null and, per the interface, writable.
    unsafe { data_out.write_unaligned(p) };
    // SAFETY: as above.
    unsafe { len_out.write_unaligned(bytes.len() as u32) };
    0
}

unsafe extern "system" fn cache_delete(ctx: *const c_void, tag: PCWSTR, flags: u32) -> u32 {
    // SAFETY: as for `cache_add`.
    let Some((cache, tag)) = (unsafe { entry(ctx, tag, flags) }) else {
        return SCARD_E_INVALID_PARAMETER;
    };
    let mut s = cache.lock();
    s.stats.deletes += 1;
    if s.entries.remove(&tag).is_some() {
        0
    } else {
        ERROR_NOT_FOUND
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::wide::wide;

    #[test]
    fn callbacks_follow_the_csp_protocol() {
        let _g = alloc::exclusive();
        let cache = DataCache::new();
        let (add, lookup, delete, ctx) = cache.callbacks();
        let (add, lookup, delete) = (add.unwrap(), lookup.unwrap(), delete.unwrap());
        let tag = wide("CP_CARD_UUID");
        let mut p: *mut u8 = std::ptr::null_mut();
        let mut len = 0u32;
        let lookup = |flags, p: &mut *mut u8, len: &mut u32| {
            // SAFETY: the harness's own callback, with its own tag and out-parameters.
            unsafe { lookup(ctx, tag.as_ptr(), flags, p, len) }
        };
        assert_eq!(lookup(0, &mut p, &mut len), ERROR_NOT_FOUND);
        // SAFETY: the harness's own callback, with its own tag and data.
        assert_eq!(unsafe { add(ctx, tag.as_ptr(), 0, b"abc".as_ptr(), 3) }, 0);
        assert_eq!(lookup(1, &mut p, &mut len), SCARD_E_INVALID_PARAMETER);
        assert_eq!(lookup(0, &mut p, &mut len), 0);
        assert_eq!(alloc::take_buffer(p, len as usize).unwrap(), b"abc");
        assert!(
            cache.begin_transaction(&[1; 16], &[0; 6]),
            "first transaction fills the key"
        );
        cache.insert("x", b"1");
        assert!(!cache.begin_transaction(&[1; 16], &[0; 6]));
        assert!(cache.get("x").is_some());
        assert!(
            cache.begin_transaction(&[1; 16], &[0, 1, 0, 0, 0, 0]),
            "cardcf changed"
        );
        assert!(cache.get("x").is_none());
        // SAFETY: as above.
        assert_eq!(unsafe { delete(ctx, tag.as_ptr(), 0) }, ERROR_NOT_FOUND);
        let stats = cache.stats();
        assert_eq!(
            (stats.hits, stats.misses, stats.invalidations, stats.misuse),
            // Two drops: the entry added before any transaction, and "x" after cardcf changed.
            (1, 1, 2, 1)
        );
    }
}
