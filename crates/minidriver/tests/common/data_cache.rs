//! A CSP data cache for the tests: entries by (`pvCacheContext`, tag), as the Base CSP keeps one cache
//! per card. A hit is a copy from the CSP allocator, which the module frees.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::sync::Mutex;

use windows_sys::Win32::Security::Cryptography::CARD_DATA;

static ENTRIES: Mutex<BTreeMap<(usize, String), Vec<u8>>> = Mutex::new(BTreeMap::new());
const ERROR_NOT_FOUND: u32 = 1168;

fn tag_of(tag: *const u16) -> String {
    let mut units = Vec::new();
    loop {
        // SAFETY: the module passes a NUL-terminated UTF-16 tag, read up to its NUL.
        let at = unsafe { tag.add(units.len()) };
        // SAFETY: as above.
        let unit = unsafe { at.read() };
        if unit == 0 {
            break;
        }
        units.push(unit);
    }
    String::from_utf16(&units).unwrap()
}

unsafe extern "system" fn add(
    cx: *const c_void,
    tag: *const u16,
    flags: u32,
    data: *const u8,
    len: u32,
) -> u32 {
    assert_eq!(flags, 0);
    // SAFETY: the module passes `len` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(data, len as usize) }.to_vec();
    ENTRIES.lock().unwrap().insert((cx.addr(), tag_of(tag)), bytes);
    0
}

unsafe extern "system" fn lookup(
    cx: *const c_void,
    tag: *const u16,
    flags: u32,
    data: *mut *mut u8,
    len: *mut u32,
) -> u32 {
    assert_eq!(flags, 0);
    let entries = ENTRIES.lock().unwrap();
    let Some(bytes) = entries.get(&(cx.addr(), tag_of(tag))) else {
        return ERROR_NOT_FOUND;
    };
    // SAFETY: the test allocator; the module frees the block with `csp_free`.
    let block = unsafe { super::csp_alloc(bytes.len().max(1)) }.cast::<u8>();
    // SAFETY: a fresh block of at least `bytes.len()` bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), block, bytes.len()) };
    // SAFETY: the module's out-parameter.
    unsafe { data.write(block) };
    // SAFETY: as above.
    unsafe { len.write(bytes.len() as u32) };
    0
}

/// Gives `cd` the cache numbered `id`.
pub fn attach(cd: &mut CARD_DATA, id: usize) {
    cd.pfnCspCacheAddFile = Some(add);
    cd.pfnCspCacheLookupFile = Some(lookup);
    cd.pvCacheContext = std::ptr::without_provenance_mut(id);
}

/// How many container scan records cache `id` holds (the card facts record is not counted).
pub fn entries(id: usize) -> usize {
    entries_tagged(id, "tessera-container-scan")
}

/// How many records cache `id` holds under `tag`.
pub fn entries_tagged(id: usize, tag: &str) -> usize {
    ENTRIES
        .lock()
        .unwrap()
        .keys()
        .filter(|(cx, t)| *cx == id && t == tag)
        .count()
}
