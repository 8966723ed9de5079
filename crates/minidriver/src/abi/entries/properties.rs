//! Property entry points (Smart Card Minidriver Specification 7.07 §4.5).

use std::mem::size_of;

use windows_sys::Win32::Security::Cryptography::{CARD_DATA, CONTAINER_INFO};
use windows_sys::core::PCWSTR;

use super::containers::fill_container_info;
use crate::abi::boundary::guard;
use crate::abi::caller::{CallerStruct, Out, bytes, copy_to};
use crate::abi::card_data::Entry;
use crate::abi::marshal::whole;
use crate::abi::names;
use crate::abi::strings::wide;
use crate::error::{MdError, Result};
use crate::input::no_flags;
use crate::properties::{ContainerProperty, MAX_SET_LEN, SetProperty};

/// A property's output: the caller's buffer of `room` bytes and the out-parameter for the size. The size
/// is reported even when the buffer is too small (`ERROR_INSUFFICIENT_BUFFER`).
struct PropertyOut {
    data: *mut u8,
    room: u32,
    len: Out<u32>,
}

impl PropertyOut {
    /// # Safety
    /// `data` is NULL or writable for `room` bytes; `len` is NULL or writable.
    unsafe fn new(data: *mut u8, room: u32, len: *mut u32) -> Result<Self> {
        if data.is_null() {
            return Err(MdError::InvalidParameter("NULL output pointer"));
        }
        // SAFETY: forwarded contract.
        let len = unsafe { Out::new(len, "NULL output pointer") }?;
        Ok(Self { data, room, len })
    }

    /// Reports the size `needed`; `ERROR_INSUFFICIENT_BUFFER` when the buffer is smaller.
    fn reserve(&self, needed: usize) -> Result<()> {
        self.len.set(needed as u32);
        if (self.room as usize) < needed {
            return Err(MdError::BufferTooSmall { needed });
        }
        Ok(())
    }

    /// Copies `value` into the buffer after reporting its size.
    fn deliver(&self, value: &[u8]) -> Result<()> {
        self.reserve(value.len())?;
        // SAFETY: the buffer holds `room >= value.len()` bytes.
        unsafe { copy_to(self.data, value) };
        Ok(())
    }

    /// `CCP_CONTAINER_INFO`: a `CONTAINER_INFO` in the buffer, whose version the caller set.
    fn container_info(&self, entry: &Entry, index: u8) -> Result<()> {
        self.reserve(size_of::<CONTAINER_INFO>())?;
        // SAFETY: the buffer holds at least a CONTAINER_INFO (just checked), the caller's memory.
        let info = unsafe { CallerStruct::versioned(self.data.cast(), "", whole::<CONTAINER_INFO>) }?;
        fill_container_info(entry, index, &info)
    }
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
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let property = names::card_property(&unsafe { wide(property) }?)?;
        // SAFETY: as above.
        let out = unsafe { PropertyOut::new(out, cb, len_out) }?;
        out.deliver(&entry.with_context(|ctx| ctx.get_property(property, flags))?)
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
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let property = names::card_property(&unsafe { wide(property) }?)?;
        // SAFETY: as above.
        let request = SetProperty::decode(
            property,
            unsafe { bytes(data, len, MAX_SET_LEN) },
            crate::abi::window_is_valid,
        )?;
        entry.with_context(|ctx| ctx.set_property(&request, flags))
    })
}

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
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let property = names::container_property(&unsafe { wide(property) }?)?;
        // SAFETY: as above.
        let out = unsafe { PropertyOut::new(out, cb, len_out) }?;
        no_flags(flags)?;
        match property {
            ContainerProperty::ContainerInfo => out.container_info(&entry, index),
            _ => out.deliver(&entry.with_context(|ctx| ctx.container_property(index, property))?),
        }
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
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let property = names::container_property(&unsafe { wide(property) }?)?;
        no_flags(flags)?;
        // SAFETY: as above.
        let data = unsafe { bytes(data, len, MAX_SET_LEN) };
        entry.with_context(|ctx| ctx.set_container_property(index, property, data))
    })
}
