//! `CardAcquireContext` (the only export the CSP looks up) and `CardDeleteContext`.

use std::ptr::{addr_of, addr_of_mut};

use tessera_piv::Transport;
use windows_sys::Win32::Security::Cryptography::CARD_DATA;

use crate::abi::boundary::guard;
use crate::abi::card_data::{ContextCell, swap_vendor_handle};
use crate::abi::pcsc_link::PcscLink;
use crate::abi::table;
use crate::atr::{Atr, AtrError};
use crate::context::{CardContext, IMPLEMENTED_VERSION, MINIMUM_VERSION};
use crate::error::{MdError, Result};
use crate::link::{CardLink, Injected};

/// `CARD_SECURE_KEY_INJECTION_NO_CARD_MODE`.
const NO_CARD_MODE: u32 = 0x1;

/// Where the context's card traffic goes.
pub(crate) enum LinkSource {
    /// `SCardTransmit` on the CSP's `hScard`.
    Pcsc,
    /// An injected transport (the `builtin` constructor).
    Injected(Box<dyn Transport + Send>),
}

/// Initializes a context for the card in `card_data` (spec §4.1.1).
///
/// # Safety
/// `card_data` is NULL or points to a `CARD_DATA` of the size matching its `dwVersion`, filled by the
/// caller as the interface describes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CardAcquireContext(card_data: *mut CARD_DATA, flags: u32) -> u32 {
    guard("CardAcquireContext", || {
        crate::log::init(|| crate::log::settings(crate::abi::registry_setting));
        // SAFETY: forwarded contract of this function.
        unsafe { acquire(card_data, flags, LinkSource::Pcsc) }
    })
}

/// The checks and binding shared by the export and the built-in constructor.
///
/// # Safety
/// As [`CardAcquireContext`].
pub(crate) unsafe fn acquire(cd: *mut CARD_DATA, flags: u32, source: LinkSource) -> Result<()> {
    if cd.is_null() {
        return Err(MdError::InvalidParameter("pCardData is NULL"));
    }
    if flags & !NO_CARD_MODE != 0 {
        return Err(MdError::InvalidParameter("unknown flags"));
    }
    if flags & NO_CARD_MODE != 0 {
        return Err(MdError::Unsupported("secure key injection (no-card mode)"));
    }
    // SAFETY: `cd` is non-null; members 0–13 exist in every version of CARD_DATA.
    let (requested, atr_ptr, atr_len, name, alloc, realloc, free, hctx, hcard) = unsafe {
        (
            addr_of!((*cd).dwVersion).read(),
            addr_of!((*cd).pbAtr).read(),
            addr_of!((*cd).cbAtr).read(),
            addr_of!((*cd).pwszCardName).read(),
            addr_of!((*cd).pfnCspAlloc).read(),
            addr_of!((*cd).pfnCspReAlloc).read(),
            addr_of!((*cd).pfnCspFree).read(),
            addr_of!((*cd).hSCardCtx).read(),
            addr_of!((*cd).hScard).read(),
        )
    };
    if requested < MINIMUM_VERSION {
        return Err(MdError::RevisionMismatch("CARD_DATA version below 4"));
    }
    if alloc.is_none() || realloc.is_none() || free.is_none() {
        return Err(MdError::InvalidParameter("memory callbacks"));
    }
    if atr_ptr.is_null() {
        return Err(MdError::InvalidParameter("pbAtr is NULL"));
    }
    if name.is_null() {
        return Err(MdError::InvalidParameter("pwszCardName is NULL"));
    }
    if atr_len == 0 || atr_len as usize > crate::atr::MAX_ATR_LEN {
        return Err(MdError::InvalidParameter("cbAtr"));
    }
    if hctx == 0 || hcard == 0 {
        return Err(MdError::InvalidHandle);
    }
    // SAFETY: the caller promises `cbAtr` readable bytes at `pbAtr` (bounded to 33 above).
    let atr = unsafe { std::slice::from_raw_parts(atr_ptr, atr_len as usize) };
    match Atr::parse(atr) {
        Ok(_) => {}
        Err(AtrError::BadInitialCharacter(_) | AtrError::BadChecksum) => {
            return Err(MdError::UnknownCard("invalid ATR"));
        }
        Err(AtrError::BadLength(_) | AtrError::Truncated | AtrError::Trailing(_)) => {
            return Err(MdError::InvalidParameter("cbAtr does not match the ATR"));
        }
    }
    let version = requested.min(IMPLEMENTED_VERSION);
    let link: Box<dyn CardLink> = match source {
        // SAFETY: `hcard` is the caller's non-zero card handle (checked above).
        LinkSource::Pcsc => Box::new(unsafe { PcscLink::new(hcard) }),
        LinkSource::Injected(t) => Box::new(Injected(t)),
    };
    let context = CardContext::acquire(crate::link::traced(link), version)?;
    let handle = ContextCell::register(context);
    // SAFETY: `cd` is writable for the caller's version, which is at least `version`; the table fill
    // writes only members of `version`.
    let previous = unsafe {
        addr_of_mut!((*cd).dwVersion).write(version);
        table::fill(cd, version);
        swap_vendor_handle(cd, handle)
    };
    // A context acquired earlier on this CARD_DATA is no longer reachable: it is released as a delete
    // would. Anything else that was there (a CSP that does not clear its structure) is not the module's
    // and is left alone.
    if ContextCell::release(previous) {
        tracing::debug!("CARD_DATA held a context from an earlier acquire: released");
    }
    tracing::info!("context acquired (interface version {version})");
    Ok(())
}

/// Frees the context. No card I/O: the card may be gone, and this is not called in a transaction.
pub(crate) unsafe extern "system" fn card_delete_context(cd: *mut CARD_DATA) -> u32 {
    guard("CardDeleteContext", || {
        if cd.is_null() {
            return Err(MdError::InvalidParameter("pCardData is NULL"));
        }
        // SAFETY: `cd` is non-null and points to the caller's CARD_DATA. Clearing the field first makes
        // a second (or racing) delete a clean INVALID_PARAMETER.
        let handle = unsafe { swap_vendor_handle(cd, 0) };
        if ContextCell::release(handle) {
            Ok(())
        } else {
            Err(MdError::InvalidParameter("no context to delete"))
        }
    })
}
