//! Reading the caller's strings with bounds: ANSI file names and UTF-16 property, user and algorithm
//! names.

use crate::error::{MdError, Result};
use crate::input::CallerString;

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
    while unsafe { p.wrapping_add(len).read() } != 0 {
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

/// A NUL-terminated UTF-16 string, read unit by unit up to the terminator or [`MAX_STRING`] units.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated UTF-16 string (or `MAX_STRING + 1` readable units).
pub(crate) unsafe fn wide_units(p: *const u16) -> CallerString {
    if p.is_null() {
        return CallerString::Null;
    }
    let mut units = Vec::new();
    loop {
        // SAFETY: up to the terminator or the bound, within the caller's string.
        let unit = unsafe { p.wrapping_add(units.len()).read_unaligned() };
        if unit == 0 {
            return CallerString::Units(units);
        }
        units.push(unit);
        if units.len() > MAX_STRING {
            return CallerString::TooLong;
        }
    }
}

/// A mandatory UTF-16 name (a property or a legacy user name), as its units: NULL and a string without
/// a terminator within [`MAX_STRING`] are `SCARD_E_INVALID_PARAMETER`.
///
/// # Safety
/// As [`wide_units`].
pub(crate) unsafe fn wide(p: *const u16) -> Result<Vec<u16>> {
    // SAFETY: forwarded contract.
    match unsafe { wide_units(p) } {
        CallerString::Units(units) => Ok(units),
        CallerString::Null => Err(MdError::InvalidParameter("NULL string")),
        CallerString::TooLong => Err(MdError::InvalidParameter("string too long")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_bounded() {
        let long: Vec<u16> = std::iter::repeat_n(0x41, MAX_STRING + 1).chain([0]).collect();
        let short = [0x41, 0];
        // SAFETY: a NUL-terminated local string.
        let long = unsafe { wide_units(long.as_ptr()) };
        // SAFETY: as above.
        let short = unsafe { wide_units(short.as_ptr()) };
        // SAFETY: NULL is never read.
        let null = unsafe { wide(std::ptr::null()) };
        assert_eq!(long, CallerString::TooLong);
        assert_eq!(short, CallerString::Units(vec![0x41]));
        assert!(null.is_err());
    }
}
