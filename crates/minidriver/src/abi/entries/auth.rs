//! PIN entry points (Smart Card Minidriver Specification 7.07 §4.2).

use windows_sys::Win32::Security::Cryptography::CARD_DATA;
use windows_sys::core::PCWSTR;

use crate::abi::boundary::guard;
use crate::abi::caller::{Out, bytes};
use crate::abi::card_data::Entry;
use crate::abi::names;
use crate::abi::strings::wide;
use crate::auth::{Authentication, MAX_SECRET_READ, deauthentication, legacy_deauthentication};
use crate::error::Result;

/// Runs an authentication and reports the tries left through `pcAttemptsRemaining` (when the caller
/// gave one) when the failure carries them.
pub(super) fn authenticate(
    entry: &Entry,
    authentication: &Authentication<'_>,
    attempts: Option<Out<u32>>,
) -> Result<()> {
    let result = entry.with_context(|ctx| ctx.authenticate(authentication));
    if let (Some(out), Err(e)) = (attempts, &result)
        && let Some(n) = e.attempts_remaining()
    {
        out.set(n);
    }
    result
}

pub(crate) unsafe extern "system" fn card_authenticate_pin(
    cd: *const CARD_DATA,
    user: PCWSTR,
    pin: *const u8,
    pin_len: u32,
    attempts: *mut u32,
) -> u32 {
    guard("CardAuthenticatePin", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let role = names::legacy_user(&unsafe { wide(user) }?)?;
        // SAFETY: as above; a PIN too long to be right is not read.
        let authentication = Authentication::legacy(role, unsafe { bytes(pin, pin_len, MAX_SECRET_READ) })?;
        // SAFETY: as above.
        authenticate(&entry, &authentication, unsafe { Out::optional(attempts) })
    })
}

pub(crate) unsafe extern "system" fn card_authenticate_ex(
    cd: *const CARD_DATA,
    pin_id: u32,
    flags: u32,
    pin: *const u8,
    pin_len: u32,
    session_pin: *mut *mut u8,
    session_pin_len: *mut u32,
    attempts: *mut u32,
) -> u32 {
    guard("CardAuthenticateEx", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        let session_pin_outputs = !session_pin.is_null() && !session_pin_len.is_null();
        // SAFETY: as above; a PIN too long to be right is not read.
        let pin = unsafe { bytes(pin, pin_len, MAX_SECRET_READ) };
        let authentication = Authentication::ex(pin_id, flags, pin, session_pin_outputs)?;
        // SAFETY: as above.
        authenticate(&entry, &authentication, unsafe { Out::optional(attempts) })
    })
}

pub(crate) unsafe extern "system" fn card_deauthenticate(
    cd: *const CARD_DATA,
    user: PCWSTR,
    flags: u32,
) -> u32 {
    guard("CardDeauthenticate", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let roles = legacy_deauthentication(names::legacy_user(&unsafe { wide(user) }?)?, flags)?;
        entry.with_context(|ctx| ctx.deauthenticate(roles))
    })
}

pub(crate) unsafe extern "system" fn card_deauthenticate_ex(
    cd: *const CARD_DATA,
    pin_set: u32,
    flags: u32,
) -> u32 {
    guard("CardDeauthenticateEx", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        let roles = deauthentication(pin_set, flags)?;
        entry.with_context(|ctx| ctx.deauthenticate(roles))
    })
}
