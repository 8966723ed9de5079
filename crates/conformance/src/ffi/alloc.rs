//! The CSP's memory callbacks (`pfnCspAlloc`, `pfnCspReAlloc`, `pfnCspFree`) as a counting allocator:
//! every outstanding block is tracked, so a leak, a free of a foreign pointer or a double free is seen;
//! allocation failure can be injected on demand (the Nth allocation, or all of them).
//!
//! The callbacks carry no context pointer, so the tracker is process-wide. A [`Harness`] holds
//! [`exclusive`] for its lifetime so that two harnesses in one process (parallel tests) cannot disturb
//! each other's counts.
//!
//! [`Harness`]: crate::harness::Harness

use std::alloc::{Layout, alloc_zeroed, dealloc, realloc};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use windows_sys::Win32::Security::Cryptography::{PFN_CSP_ALLOC, PFN_CSP_FREE, PFN_CSP_REALLOC};

/// Alignment of every block (what `HeapAlloc` gives on x64).
const ALIGN: usize = 16;
/// Largest block the harness hands out; a module asking for more is misbehaving.
const MAX_BLOCK: usize = 64 * 1024 * 1024;

#[derive(Default)]
struct Tracker {
    /// Live blocks: address → size.
    live: BTreeMap<usize, usize>,
    /// Misuse seen since the last [`take_anomalies`].
    anomalies: Vec<String>,
}

static TRACKER: Mutex<Option<Tracker>> = Mutex::new(None);
static EXCLUSIVE: Mutex<()> = Mutex::new(());
/// Allocation calls (alloc and realloc) since the process started.
static CALLS: AtomicU64 = AtomicU64::new(0);
/// When non-zero: the allocation call with this number (see `CALLS`) fails.
static FAIL_AT: AtomicU64 = AtomicU64::new(0);
/// Every allocation fails while set.
static FAIL_ALL: AtomicBool = AtomicBool::new(false);
/// Allocations that failed on purpose.
static INJECTED: AtomicU64 = AtomicU64::new(0);

fn tracker() -> MutexGuard<'static, Option<Tracker>> {
    TRACKER.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn with_tracker<R>(f: impl FnOnce(&mut Tracker) -> R) -> R {
    let mut guard = tracker();
    f(guard.get_or_insert_with(Tracker::default))
}

/// Serialises users of the process-wide allocator (one harness at a time).
pub fn exclusive() -> MutexGuard<'static, ()> {
    EXCLUSIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The three callbacks for `CARD_DATA`.
pub fn callbacks() -> (PFN_CSP_ALLOC, PFN_CSP_REALLOC, PFN_CSP_FREE) {
    (Some(csp_alloc), Some(csp_realloc), Some(csp_free))
}

/// Decides whether this allocation call fails on purpose.
fn should_fail() -> bool {
    let n = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    let at = FAIL_AT.load(Ordering::SeqCst);
    let fail = FAIL_ALL.load(Ordering::SeqCst) || (at != 0 && n == at);
    if fail {
        INJECTED.fetch_add(1, Ordering::SeqCst);
    }
    fail
}

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.max(1), ALIGN).ok()
}

/// A new tracked block of `size` zeroed bytes, or NULL.
fn allocate(size: usize, failable: bool) -> *mut u8 {
    if failable && should_fail() {
        return std::ptr::null_mut();
    }
    if size > MAX_BLOCK {
        with_tracker(|t| t.anomalies.push(format!("pfnCspAlloc asked for {size} bytes")));
        return std::ptr::null_mut();
    }
    let Some(layout) = layout(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `layout` has a non-zero size.
    let p = unsafe { alloc_zeroed(layout) };
    if !p.is_null() {
        with_tracker(|t| t.live.insert(p as usize, size));
    }
    p
}

/// `PFN_CSP_ALLOC`.
unsafe extern "system" fn csp_alloc(size: usize) -> *mut c_void {
    allocate(size, true).cast()
}

/// `PFN_CSP_REALLOC`: contents kept up to the new size; NULL `address` allocates.
unsafe extern "system" fn csp_realloc(address: *const c_void, size: usize) -> *mut c_void {
    if address.is_null() {
        return allocate(size, true).cast();
    }
    if should_fail() {
        return std::ptr::null_mut();
    }
    let key = address as usize;
    let (Some(old), Some(new_layout)) = (with_tracker(|t| t.live.get(&key).copied()), layout(size)) else {
        with_tracker(|t| {
            t.anomalies.push(format!(
                "pfnCspReAlloc of {key:#x}, which the CSP did not allocate (or freed)"
            ))
        });
        return std::ptr::null_mut();
    };
    if size > MAX_BLOCK {
        return std::ptr::null_mut();
    }
    let Some(old_layout) = layout(old) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `address` is a live block of this allocator with `old_layout` (looked up above), and the
    // new size is non-zero and bounded.
    let p = unsafe { realloc(address as *mut u8, old_layout, new_layout.size()) };
    if !p.is_null() {
        with_tracker(|t| {
            t.live.remove(&key);
            t.live.insert(p as usize, size);
        });
    }
    p.cast()
}

/// `PFN_CSP_FREE`: a pointer that is not a live block is recorded as an anomaly and left alone.
unsafe extern "system" fn csp_free(address: *const c_void) {
    if address.is_null() {
        return;
    }
    let key = address as usize;
    let Some(size) = with_tracker(|t| t.live.remove(&key)) else {
        with_tracker(|t| {
            t.anomalies.push(format!(
                "pfnCspFree of {key:#x}, which is not a live CSP block (foreign pointer or double free)"
            ))
        });
        return;
    };
    if let Some(layout) = layout(size) {
        // SAFETY: the block was allocated by this allocator with this layout and was live until now.
        unsafe { dealloc(address as *mut u8, layout) };
    }
}

/// The live blocks now (address → size).
pub fn snapshot() -> BTreeMap<usize, usize> {
    with_tracker(|t| t.live.clone())
}

/// Blocks live now that were not live in `before`.
pub fn leaked_since(before: &BTreeMap<usize, usize>) -> Vec<(usize, usize)> {
    let keys: BTreeSet<&usize> = before.keys().collect();
    with_tracker(|t| {
        t.live
            .iter()
            .filter(|(k, _)| !keys.contains(k))
            .map(|(k, v)| (*k, *v))
            .collect()
    })
}

/// Number of live blocks.
pub fn live_count() -> usize {
    with_tracker(|t| t.live.len())
}

/// The misuse recorded since the last call (foreign frees, double frees, absurd sizes).
pub fn take_anomalies() -> Vec<String> {
    with_tracker(|t| std::mem::take(&mut t.anomalies))
}

/// Records a misuse found by the harness itself (e.g. a bad length reported for a buffer).
pub fn record_anomaly(what: String) {
    with_tracker(|t| t.anomalies.push(what));
}

/// Makes the `n`th allocation call from now fail (1 = the next one); 0 disarms.
pub fn fail_nth(n: u64) {
    let base = CALLS.load(Ordering::SeqCst);
    FAIL_AT.store(if n == 0 { 0 } else { base + n }, Ordering::SeqCst);
}

/// Makes every allocation fail (or stops doing so).
pub fn fail_all(on: bool) {
    FAIL_ALL.store(on, Ordering::SeqCst);
}

/// Stops every failure injection.
pub fn disarm() {
    FAIL_ALL.store(false, Ordering::SeqCst);
    FAIL_AT.store(0, Ordering::SeqCst);
}

/// Allocation calls so far (alloc and realloc).
pub fn allocation_calls() -> u64 {
    CALLS.load(Ordering::SeqCst)
}

/// Allocations failed on purpose so far.
pub fn injected_failures() -> u64 {
    INJECTED.load(Ordering::SeqCst)
}

/// Copies a buffer the module returned and frees it with the CSP's free, as the CSP does. The pointer
/// is dereferenced only if it is a live block of this allocator at least `len` bytes long; anything else
/// is an error (and the block, if live, is still freed).
#[allow(
    clippy::not_unsafe_ptr_arg_deref,
    reason = "the pointer is an address the module handed back; it is looked up in the tracker before any \
              access, so a foreign or stale value is an error, not a dereference"
)]
pub fn take_buffer(p: *mut u8, len: usize) -> Result<Vec<u8>, String> {
    if p.is_null() {
        return Err("the module returned a NULL buffer".into());
    }
    let Some(size) = with_tracker(|t| t.live.get(&(p as usize)).copied()) else {
        return Err(format!(
            "the module returned {:#x}, which is not a live pfnCspAlloc block",
            p as usize
        ));
    };
    let result = if len <= size {
        // SAFETY: `p` is a live block of this allocator of `size >= len` bytes; nothing else frees it
        // while the harness holds it (the module handed it over).
        Ok(unsafe { std::slice::from_raw_parts(p, len) }.to_vec())
    } else {
        Err(format!("the module reported {len} bytes in a {size}-byte block"))
    };
    // SAFETY: freeing through the callback, which checks liveness again.
    unsafe { csp_free(p.cast()) };
    result
}

/// True when `p` is a live block (used to detect a buffer returned together with an error).
pub fn is_live(p: *const u8) -> bool {
    !p.is_null() && with_tracker(|t| t.live.contains_key(&(p as usize)))
}

/// Frees `p` if it is a live block; returns whether it was.
#[allow(
    clippy::not_unsafe_ptr_arg_deref,
    reason = "the pointer is looked up in the tracker before it is freed"
)]
pub fn free_if_live(p: *const u8) -> bool {
    if is_live(p) {
        // SAFETY: `p` is a live block of this allocator.
        unsafe { csp_free(p.cast()) };
        true
    } else {
        false
    }
}

/// A tracked copy of `data` (what the cache hands out); NULL when allocation fails.
pub(crate) fn alloc_copy(data: &[u8]) -> *mut u8 {
    let p = allocate(data.len(), true);
    if !p.is_null() {
        // SAFETY: `p` is a fresh block of at least `data.len()` bytes, disjoint from `data`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_frees_and_detects_misuse() {
        let _g = exclusive();
        let before = snapshot();
        let (a, _, f) = callbacks();
        let (a, f) = (a.unwrap(), f.unwrap());
        // SAFETY: the harness's own callbacks.
        let p = unsafe { a(10) } as *mut u8;
        assert!(is_live(p));
        assert_eq!(leaked_since(&before).len(), 1);
        assert_eq!(take_buffer(p, 10).unwrap(), vec![0; 10]);
        assert!(leaked_since(&before).is_empty());
        // SAFETY: a double free is detected, not performed.
        unsafe { f(p.cast()) };
        let anomalies = take_anomalies();
        assert_eq!(anomalies.len(), 1, "{anomalies:?}");
        fail_nth(2);
        // SAFETY: as above.
        let x = unsafe { a(1) };
        // SAFETY: as above.
        let y = unsafe { a(1) };
        assert!(!x.is_null() && y.is_null());
        // SAFETY: freeing what was allocated.
        unsafe { f(x) };
        fail_all(true);
        // SAFETY: as above.
        assert!(unsafe { a(1) }.is_null());
        disarm();
        assert!(leaked_since(&before).is_empty());
    }
}
