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
use crate::pin_admin::PinChange;

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

/// Carries out a PIN change or unblock and reports the tries left through `pcAttemptsRemaining` (when the
/// caller gave one) when the failure carries them.
fn change(entry: &Entry, change: PinChange, attempts: Option<Out<u32>>) -> Result<()> {
    let result = entry.with_context(|ctx| ctx.change_authenticator(change));
    if let (Some(out), Err(e)) = (attempts, &result)
        && let Some(n) = e.attempts_remaining()
    {
        out.set(n);
    }
    result
}

pub(crate) unsafe extern "system" fn card_unblock_pin(
    cd: *const CARD_DATA,
    user: PCWSTR,
    auth: *const u8,
    auth_len: u32,
    new_pin: *const u8,
    new_pin_len: u32,
    retry_count: u32,
    flags: u32,
) -> u32 {
    guard("CardUnblockPin", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let role = names::legacy_user(&unsafe { wide(user) }?)?;
        // SAFETY: as above; secrets too long to be right are not read.
        let (auth, new_pin) = (unsafe { bytes(auth, auth_len, MAX_SECRET_READ) }, unsafe {
            bytes(new_pin, new_pin_len, MAX_SECRET_READ)
        });
        change(
            &entry,
            PinChange::from_unblock(role, auth, new_pin, retry_count, flags)?,
            None,
        )
    })
}

pub(crate) unsafe extern "system" fn card_change_authenticator(
    cd: *const CARD_DATA,
    user: PCWSTR,
    current: *const u8,
    current_len: u32,
    new: *const u8,
    new_len: u32,
    retry_count: u32,
    flags: u32,
    attempts: *mut u32,
) -> u32 {
    guard("CardChangeAuthenticator", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let role = names::legacy_user(&unsafe { wide(user) }?)?;
        // SAFETY: as above; secrets too long to be right are not read.
        let (current, new) = (unsafe { bytes(current, current_len, MAX_SECRET_READ) }, unsafe {
            bytes(new, new_len, MAX_SECRET_READ)
        });
        let request = PinChange::from_legacy(role, current, new, retry_count, flags)?;
        // SAFETY: as above.
        change(&entry, request, unsafe { Out::optional(attempts) })
    })
}

pub(crate) unsafe extern "system" fn card_change_authenticator_ex(
    cd: *const CARD_DATA,
    flags: u32,
    authenticating: u32,
    auth: *const u8,
    auth_len: u32,
    target: u32,
    target_data: *const u8,
    target_len: u32,
    retry_count: u32,
    attempts: *mut u32,
) -> u32 {
    guard("CardChangeAuthenticatorEx", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above; secrets too long to be right are not read.
        let (auth, data) = (unsafe { bytes(auth, auth_len, MAX_SECRET_READ) }, unsafe {
            bytes(target_data, target_len, MAX_SECRET_READ)
        });
        let request = PinChange::from_ex(flags, authenticating, auth, target, data, retry_count)?;
        // SAFETY: as above.
        change(&entry, request, unsafe { Out::optional(attempts) })
    })
}
