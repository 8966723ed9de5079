//! The workspace's one binding of winscard: pcsc-lite (`pcsc-sys`) on Linux and macOS, `winscard.dll`
//! (`windows-sys`) on Windows. [`BorrowedCard`](crate::BorrowedCard) exchanges APDUs on a handle through
//! it, [`RawContext`](crate::RawContext) and [`RawConnection`](crate::RawConnection) own handles through
//! it. Each function builds its own arguments from Rust values; the caller vouches only for the handles.
#![allow(
    unsafe_code,
    reason = "the winscard calls themselves; each block says why it is sound"
)]

use std::ptr;

use crate::protocol::{Disposition, Protocol};

#[cfg(not(windows))]
use pcsc_sys::{
    DWORD, LONG, SCARD_IO_REQUEST, SCARD_SCOPE_USER, SCARD_SHARE_SHARED, SCARDCONTEXT, SCARDHANDLE,
    SCardBeginTransaction, SCardConnect, SCardDisconnect, SCardEndTransaction, SCardEstablishContext,
    SCardReconnect, SCardReleaseContext, SCardStatus, SCardTransmit,
};
#[cfg(windows)]
use windows_sys::Win32::Security::Credentials::{
    SCARD_IO_REQUEST, SCARD_SCOPE_USER, SCARD_SHARE_SHARED, SCardBeginTransaction,
    SCardConnectW as SCardConnect, SCardDisconnect, SCardEndTransaction, SCardEstablishContext,
    SCardReconnect, SCardReleaseContext, SCardStatusW as SCardStatus, SCardTransmit,
};

use crate::codes::SCARD_E_INVALID_PARAMETER;

/// The C names of the Windows types, so both platforms read alike.
#[cfg(windows)]
#[allow(clippy::upper_case_acronyms, reason = "the C names of the types")]
mod c_types {
    pub(super) type DWORD = u32;
    pub(super) type LONG = i32;
    pub(super) type SCARDCONTEXT = usize;
    pub(super) type SCARDHANDLE = usize;
}
#[cfg(windows)]
use c_types::{DWORD, LONG, SCARDCONTEXT, SCARDHANDLE};

/// `SCARD_S_SUCCESS`.
const SUCCESS: LONG = 0;

/// `SCardEstablishContext(SCARD_SCOPE_USER)`: a new resource-manager context handle.
pub(crate) fn establish_context() -> Result<usize, u32> {
    let mut context: SCARDCONTEXT = 0;
    // SAFETY: both reserved pointers are NULL, as the function requires; `context` is a valid out-handle.
    let rv = unsafe { SCardEstablishContext(SCARD_SCOPE_USER, ptr::null(), ptr::null(), &mut context) };
    check(rv)?;
    Ok(from_raw(context))
}

/// `SCardReleaseContext`.
///
/// # Safety
/// `context` must be a context handle of this process that is not released yet; it is released now.
pub(crate) unsafe fn release_context(context: usize) -> Result<(), u32> {
    // SAFETY: the handle is live and released once (this function's contract).
    check(unsafe { SCardReleaseContext(raw(context)) })
}

/// `SCardConnect(reader, SCARD_SHARE_SHARED, T0|T1)`: the new card handle and its active protocol.
///
/// # Safety
/// `context` must be a live context handle of this process for the duration of the call.
pub(crate) unsafe fn connect(context: usize, reader: &str) -> Result<(usize, Option<Protocol>), u32> {
    let name = reader_name(reader).ok_or(SCARD_E_INVALID_PARAMETER)?;
    let mut card: SCARDHANDLE = 0;
    let mut active: DWORD = 0;
    // SAFETY: the context is live (this function's contract); the reader name is NUL-terminated and
    // outlives the call; both out-parameters are valid.
    let rv = unsafe {
        SCardConnect(
            raw(context),
            name.as_ptr(),
            SCARD_SHARE_SHARED,
            DWORD::from(Protocol::T0_OR_T1),
            &mut card,
            &mut active,
        )
    };
    check(rv)?;
    Ok((from_raw(card), protocol(active)))
}

/// `SCardDisconnect(handle, disposition)`.
///
/// # Safety
/// `handle` must be a connected card handle of this process whose context is live; it is disconnected
/// now and must not be used again.
pub(crate) unsafe fn disconnect(handle: usize, disposition: Disposition) -> Result<(), u32> {
    // SAFETY: the handle is live and disconnected once (this function's contract).
    check(unsafe { SCardDisconnect(raw(handle), DWORD::from(disposition.raw())) })
}

/// `SCardBeginTransaction`.
///
/// # Safety
/// As for [`transmit`].
pub(crate) unsafe fn begin_transaction(handle: usize) -> Result<(), u32> {
    // SAFETY: the handle is live (this function's contract).
    check(unsafe { SCardBeginTransaction(raw(handle)) })
}

/// `SCardEndTransaction(handle, disposition)`.
///
/// # Safety
/// As for [`transmit`].
pub(crate) unsafe fn end_transaction(handle: usize, disposition: Disposition) -> Result<(), u32> {
    // SAFETY: the handle is live (this function's contract).
    check(unsafe { SCardEndTransaction(raw(handle), DWORD::from(disposition.raw())) })
}

/// A reader name as the platform's `SCardConnect` takes it: NUL-terminated bytes on pcsc-lite, UTF-16
/// on Windows; `None` when the name holds a NUL.
#[cfg(not(windows))]
fn reader_name(name: &str) -> Option<std::ffi::CString> {
    std::ffi::CString::new(name).ok()
}

#[cfg(windows)]
fn reader_name(name: &str) -> Option<Vec<u16>> {
    if name.contains('\0') {
        return None;
    }
    Some(name.encode_utf16().chain(std::iter::once(0)).collect())
}

/// `SCardTransmit` with the PCI header of `protocol` (what `SCARD_PCI_T0`/`SCARD_PCI_T1` point to);
/// returns the number of response bytes written to `receive`.
///
/// # Safety
/// `handle` must be a connected card handle of this process, for the duration of the call.
pub(crate) unsafe fn transmit(
    handle: usize,
    protocol: Protocol,
    apdu: &[u8],
    receive: &mut [u8],
) -> Result<usize, u32> {
    let send_pci = SCARD_IO_REQUEST {
        dwProtocol: DWORD::from(protocol.raw()),
        cbPciLength: dword(size_of::<SCARD_IO_REQUEST>())?,
    };
    let send_len = dword(apdu.len())?;
    let mut receive_len = dword(receive.len())?;
    // SAFETY: the handle is live (this function's contract). `send_pci` is a valid header; `apdu` is
    // readable for `send_len` bytes and `receive` writable for `receive_len` bytes, both lengths taken
    // from the slices; the receive PCI is optional (null); `receive_len` is a valid in/out DWORD.
    let rv = unsafe {
        SCardTransmit(
            raw(handle),
            &send_pci,
            apdu.as_ptr(),
            send_len,
            ptr::null_mut(),
            receive.as_mut_ptr(),
            &mut receive_len,
        )
    };
    check(rv)?;
    usize::try_from(receive_len).map_err(|_| SCARD_E_INVALID_PARAMETER)
}

/// `SCardReconnect(handle, SCARD_SHARE_SHARED, T0|T1, disposition)`; the new active protocol.
///
/// # Safety
/// As for [`transmit`].
pub(crate) unsafe fn reconnect(handle: usize, disposition: Disposition) -> Result<Option<Protocol>, u32> {
    let mut active: DWORD = 0;
    // SAFETY: the handle is live (this function's contract); `active` is a valid out DWORD.
    let rv = unsafe {
        SCardReconnect(
            raw(handle),
            SCARD_SHARE_SHARED,
            DWORD::from(Protocol::T0_OR_T1),
            DWORD::from(disposition.raw()),
            &mut active,
        )
    };
    check(rv)?;
    Ok(protocol(active))
}

/// The handle's active protocol, by `SCardStatus` (reader name and ATR not fetched).
///
/// # Safety
/// As for [`transmit`].
pub(crate) unsafe fn active_protocol(handle: usize) -> Result<Option<Protocol>, u32> {
    let mut reader_len: DWORD = 0;
    let mut state: DWORD = 0;
    let mut active: DWORD = 0;
    let mut atr_len: DWORD = 0;
    // SAFETY: the handle is live (this function's contract). With null name and ATR buffers the
    // resource manager only writes the needed lengths to `reader_len` and `atr_len`; every out-pointer
    // is a valid DWORD.
    let rv = unsafe {
        SCardStatus(
            raw(handle),
            ptr::null_mut(),
            &mut reader_len,
            &mut state,
            &mut active,
            ptr::null_mut(),
            &mut atr_len,
        )
    };
    check(rv)?;
    Ok(protocol(active))
}

/// A handle as the platform's `SCARDHANDLE`/`SCARDCONTEXT` (the same type) and back. On pcsc-lite it is
/// a `long`: callers keep it in a `usize` (as `CARD_DATA::hScard` does), and the cast back restores the
/// original bits.
#[allow(
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::useless_conversion,
    clippy::unnecessary_cast,
    reason = "a `long` on pcsc-lite, a `usize` on Windows: the cast is the identity on the bits"
)]
mod handle_bits {
    use super::SCARDHANDLE;

    pub(super) fn raw(handle: usize) -> SCARDHANDLE {
        handle as SCARDHANDLE
    }

    pub(super) fn from_raw(handle: SCARDHANDLE) -> usize {
        handle as usize
    }
}
use handle_bits::{from_raw, raw};

/// A `LONG` result as `Ok` or the `SCARD_*` code. The codes are 32-bit values; pcsc-lite returns them
/// in a 64-bit `long` on LP64 systems, so the low 32 bits are the code.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the code is the low 32 bits of the `long`"
)]
fn check(rv: LONG) -> Result<(), u32> {
    if rv == SUCCESS { Ok(()) } else { Err(rv as u32) }
}

fn dword(len: usize) -> Result<DWORD, u32> {
    DWORD::try_from(len).map_err(|_| SCARD_E_INVALID_PARAMETER)
}

/// `DWORD` is `u32` on Windows and macOS but `u64` on Linux, hence the conversion.
#[allow(clippy::useless_conversion, reason = "`DWORD` is `u64` on Linux")]
fn protocol(active: DWORD) -> Option<Protocol> {
    u32::try_from(active).ok().and_then(Protocol::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_survive_the_long_return_type() {
        #[allow(
            overflowing_literals,
            clippy::cast_possible_wrap,
            reason = "the code as winscard's signed `LONG` carries it"
        )]
        let reset = 0x8010_0068_u32 as i32 as LONG;
        assert_eq!(check(reset), Err(0x8010_0068));
        assert_eq!(check(SUCCESS), Ok(()));
        #[cfg(all(not(windows), target_pointer_width = "64", not(target_os = "macos")))]
        assert_eq!(check(0x8010_0068), Err(0x8010_0068));
    }

    #[test]
    fn handles_round_trip_through_usize() {
        let original: SCARDHANDLE = raw(0x0001_2345);
        let carried = from_raw(original);
        assert_eq!(raw(carried), original);
    }

    #[test]
    fn only_t0_and_t1_are_usable_protocols() {
        assert_eq!(protocol(1), Some(Protocol::T0));
        assert_eq!(protocol(2), Some(Protocol::T1));
        assert_eq!(protocol(4), None);
        assert_eq!(protocol(0), None);
    }
}
