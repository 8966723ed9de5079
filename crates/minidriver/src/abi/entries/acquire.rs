//! `CardAcquireContext` (the only export the CSP looks up) and `CardDeleteContext`.

use tessera_piv::Transport;
use windows_sys::Win32::Security::Cryptography::CARD_DATA;

use crate::abi::boundary::guard;
use crate::abi::caller::bytes;
use crate::abi::card_data::{ContextCell, csp_members, swap_vendor_handle};
use crate::abi::pcsc_link::PcscLink;
use crate::abi::table;
use crate::acquire::{AcquireInfo, MAX_ATR_READ};
use crate::context::CardContext;
use crate::error::{MdError, Result};
use crate::link::{CardLink, Injected};
use crate::policy::WritePolicy;

/// Where the context's card traffic goes.
pub(crate) enum LinkSource {
    /// `SCardTransmit` on the CSP's `hScard`.
    Pcsc,
    /// An injected transport (the `builtin` constructor).
    Injected(Box<dyn Transport + Send>),
}

/// Initializes a context for the card in `card_data` (Smart Card Minidriver Specification 7.07 §4.1.1).
///
/// # Safety
/// `card_data` is NULL or points to a `CARD_DATA` of the size matching its `dwVersion`, filled by the
/// caller as the interface describes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CardAcquireContext(card_data: *mut CARD_DATA, flags: u32) -> u32 {
    guard("CardAcquireContext", || {
        crate::log::init(|| crate::log::settings(crate::abi::registry_setting));
        let policy = WritePolicy::from_settings(crate::abi::registry_setting);
        // SAFETY: forwarded contract of this function.
        unsafe { acquire(card_data, flags, LinkSource::Pcsc, policy) }
    })
}

/// The checks and binding shared by the export and the built-in constructor; the context writes to the
/// card as `policy` allows.
///
/// # Safety
/// As [`CardAcquireContext`].
pub(crate) unsafe fn acquire(
    cd: *mut CARD_DATA,
    flags: u32,
    source: LinkSource,
    policy: WritePolicy,
) -> Result<()> {
    if cd.is_null() {
        return Err(MdError::InvalidParameter("pCardData is NULL"));
    }
    // SAFETY: `cd` is non-null and points to the caller's CARD_DATA.
    let csp = unsafe { csp_members(cd) };
    let info = AcquireInfo {
        flags,
        requested_version: csp.dwVersion,
        // SAFETY: the caller promises `cbAtr` readable bytes at `pbAtr`; no more than 33 are read.
        atr: unsafe { bytes(csp.pbAtr, csp.cbAtr, MAX_ATR_READ) },
        has_card_name: !csp.pwszCardName.is_null(),
        has_memory_callbacks: csp.pfnCspAlloc.is_some()
            && csp.pfnCspReAlloc.is_some()
            && csp.pfnCspFree.is_some(),
        context_handle: csp.hSCardCtx,
        card_handle: csp.hScard,
    };
    let version = info.negotiate()?;
    let options = info.session_options();
    let link: Box<dyn CardLink> = match source {
        // SAFETY: `hScard` is the caller's non-zero card handle (checked by `negotiate`).
        LinkSource::Pcsc => Box::new(unsafe { PcscLink::new(csp.hScard) }),
        LinkSource::Injected(t) => Box::new(Injected(t)),
    };
    let cache = crate::abi::csp_cache::CallbackCache::of(&csp).map(|c| Box::new(c) as _);
    let mut context = CardContext::acquire_with_cache(crate::link::traced(link), version, options, cache)?;
    context.policy = policy;
    let handle = ContextCell::register(context);
    // SAFETY: `cd` is writable for the caller's version, which is at least `version`.
    unsafe { table::fill(cd, version) };
    // SAFETY: as above.
    let previous = unsafe { swap_vendor_handle(cd, handle) };
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
