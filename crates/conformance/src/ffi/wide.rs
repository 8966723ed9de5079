//! NUL-terminated strings for the ABI: UTF-16 (`LPCWSTR`) and single-byte (`LPCSTR`).

/// `s` as a NUL-terminated UTF-16 buffer.
pub fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// `s` as a NUL-terminated byte buffer.
pub fn ansi(s: &[u8]) -> Vec<u8> {
    s.iter().copied().chain([0]).collect()
}

/// Reads a NUL-terminated UTF-16 string of at most `max` units; `None` when NULL or unterminated.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated UTF-16 string (or at least `max + 1` readable units).
pub(crate) unsafe fn read_wide(p: *const u16, max: usize) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let mut units = Vec::new();
    loop {
        // SAFETY: within the terminated string or the bound, per the contract.
        let u = unsafe { p.wrapping_add(units.len()).read_unaligned() };
        if u == 0 {
            return String::from_utf16(&units).ok();
        }
        units.push(u);
        if units.len() > max {
            return None;
        }
    }
}
