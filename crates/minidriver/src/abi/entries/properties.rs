//! Property entry points (spec §4.5).

use std::mem::size_of;

use windows_sys::Win32::Security::Cryptography::{CARD_DATA, CONTAINER_INFO};
use windows_sys::core::PCWSTR;

use super::check_struct_version;
use super::containers::fill_container_info;
use crate::abi::boundary::guard;
use crate::abi::card_data::{Entry, read_version, write_out};
use crate::abi::strings::{bytes, wide};
use crate::error::{MdError, Result};
use crate::properties::name;

/// Largest value a caller may set (a window handle or a context string).
const MAX_SET_LEN: u32 = 4096;

/// Copies `value` into the caller's buffer after reporting its size.
///
/// # Safety
/// `out` is writable for `cb` bytes; `len_out` is writable.
unsafe fn deliver(value: &[u8], out: *mut u8, cb: u32, len_out: *mut u32) -> Result<()> {
    let needed = value.len();
    // SAFETY: checked non-null by the caller.
    unsafe { write_out(len_out, needed as u32) };
    if (cb as usize) < needed {
        return Err(MdError::BufferTooSmall { needed });
    }
    // SAFETY: `out` has room for `needed` bytes, as just checked.
    unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), out, needed) };
    Ok(())
}

pub(crate) unsafe extern "system" fn card_get_property(
    cd: *const CARD_DATA,
    property: PCWSTR,
    out: *mut u8,
    cb: u32,
    len_out: *mut u32,
    flags: u32,
) -> u32 {
    guard("CardGetProperty", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let property = unsafe { wide(property) }?;
        if out.is_null() || len_out.is_null() {
            return Err(MdError::InvalidParameter("NULL output pointer"));
        }
        let value = entry.with_context(|ctx| ctx.get_property(&property, flags))?;
        // SAFETY: `out` is writable for `cb` bytes and `len_out` is non-null, per the interface.
        unsafe { deliver(&value, out, cb, len_out) }
    })
}

pub(crate) unsafe extern "system" fn card_set_property(
    cd: *const CARD_DATA,
    property: PCWSTR,
    data: *const u8,
    len: u32,
    flags: u32,
) -> u32 {
    guard("CardSetProperty", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let property = unsafe { wide(property) }?;
        if len > MAX_SET_LEN {
            return Err(MdError::InvalidParameter("cbDataLen"));
        }
        // SAFETY: `data` is NULL or readable for `len` bytes.
        let data = unsafe { bytes(data, len) };
        if data.is_none() && property != name::PIN_CONTEXT_STRING {
            return Err(MdError::InvalidParameter("pbData is NULL"));
        }
        if property == name::PARENT_WINDOW
            && let Some(d) = data
            && d.len() == size_of::<usize>()
        {
            let hwnd = usize::from_le_bytes(d.try_into().unwrap_or_default());
            if !crate::abi::window_is_valid(hwnd) {
                return Err(MdError::InvalidParameter("not a window"));
            }
        }
        entry.with_context(|ctx| ctx.set_property(&property, data, flags))
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "system" fn card_get_container_property(
    cd: *const CARD_DATA,
    index: u8,
    property: PCWSTR,
    out: *mut u8,
    cb: u32,
    len_out: *mut u32,
    flags: u32,
) -> u32 {
    guard("CardGetContainerProperty", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let property = unsafe { wide(property) }?;
        if out.is_null() || len_out.is_null() {
            return Err(MdError::InvalidParameter("NULL output pointer"));
        }
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        if property == name::CONTAINER_INFO {
            let needed = size_of::<CONTAINER_INFO>();
            // SAFETY: `len_out` is non-null.
            unsafe { write_out(len_out, needed as u32) };
            if (cb as usize) < needed {
                return Err(MdError::BufferTooSmall { needed });
            }
            // SAFETY: `out` holds at least a CONTAINER_INFO whose version the caller set.
            check_struct_version(unsafe { read_version(out.cast()) }, 1)?;
            // SAFETY: as above.
            return unsafe { fill_container_info(&entry, index, out.cast()) };
        }
        let value = entry.with_context(|ctx| ctx.container_property(index, &property))?;
        // SAFETY: `out` is writable for `cb` bytes and `len_out` is non-null.
        unsafe { deliver(&value, out, cb, len_out) }
    })
}

pub(crate) unsafe extern "system" fn card_set_container_property(
    cd: *const CARD_DATA,
    index: u8,
    property: PCWSTR,
    data: *const u8,
    len: u32,
    flags: u32,
) -> u32 {
    guard("CardSetContainerProperty", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let property = unsafe { wide(property) }?;
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        if len > MAX_SET_LEN {
            return Err(MdError::InvalidParameter("cbDataLen"));
        }
        // SAFETY: `data` is NULL or readable for `len` bytes.
        let data = unsafe { bytes(data, len) }.ok_or(MdError::InvalidParameter("pbData is NULL"))?;
        entry.with_context(|ctx| ctx.set_container_property(index, &property, data))
    })
}
