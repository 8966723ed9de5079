//! Reading the caller's strings with bounds: ANSI file names and UTF-16 property and user names.

use crate::error::{MdError, Result};

/// No name, property or user id the interface defines is longer than this; a longer string is invalid,
/// and the bound keeps a missing terminator from sending the module through the caller's memory.
pub(crate) const MAX_STRING: usize = 256;

/// An optional NUL-terminated ANSI string (`None` for NULL).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string (or to at least `MAX_STRING + 1` readable bytes).
pub(crate) unsafe fn ansi_opt<'a>(p: *const u8) -> Result<Option<&'a [u8]>> {
    if p.is_null() {
        return Ok(None);
    }
    let mut len = 0;
    // SAFETY: reading byte by byte up to the terminator or the bound, within the caller's string.
    while unsafe { p.add(len).read() } != 0 {
        len += 1;
        if len > MAX_STRING {
            return Err(MdError::InvalidParameter("string too long"));
        }
    }
    // SAFETY: the `len` bytes before the terminator are readable, as just checked.
    Ok(Some(unsafe { std::slice::from_raw_parts(p, len) }))
}

/// A mandatory ANSI string.
///
/// # Safety
/// As [`ansi_opt`].
pub(crate) unsafe fn ansi<'a>(p: *const u8) -> Result<&'a [u8]> {
    // SAFETY: forwarded contract.
    unsafe { ansi_opt(p) }?.ok_or(MdError::InvalidParameter("NULL string"))
}

/// A mandatory NUL-terminated UTF-16 string, decoded.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated UTF-16 string (or `MAX_STRING + 1` readable units).
pub(crate) unsafe fn wide(p: *const u16) -> Result<String> {
    if p.is_null() {
        return Err(MdError::InvalidParameter("NULL string"));
    }
    let mut units = Vec::new();
    loop {
        // SAFETY: reading unit by unit up to the terminator or the bound.
        let u = unsafe { p.add(units.len()).read_unaligned() };
        if u == 0 {
            break;
        }
        units.push(u);
        if units.len() > MAX_STRING {
            return Err(MdError::InvalidParameter("string too long"));
        }
    }
    String::from_utf16(&units).map_err(|_| MdError::InvalidParameter("string is not UTF-16"))
}

/// A caller buffer as a slice (`None` when the pointer is NULL). A zero length gives an empty slice.
///
/// # Safety
/// `p` is NULL or valid for reading `len` bytes.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: u32) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    Some(unsafe { std::slice::from_raw_parts(p, len as usize) })
}
