//! PIN entry points (spec §4.2).

use windows_sys::Win32::Security::Cryptography::CARD_DATA;
use windows_sys::core::PCWSTR;

use crate::abi::boundary::guard;
use crate::abi::card_data::{Entry, write_out};
use crate::abi::strings::wide;
use crate::auth::{GENERATE_SESSION_PIN, PIN_SILENT_CONTEXT, SESSION_PIN, check_pin_id};
use crate::error::{MdError, Result};
use crate::pins::{ROLE_ADMIN, ROLE_PIN_ALWAYS, ROLE_USER, pin_set};

/// Longest secret the module will read from the caller: a PIV PIN is at most 8 bytes and an admin
/// response one AES block. A longer one cannot be right and is answered `SCARD_W_WRONG_CHV` without
/// reading the buffer (callers have passed lengths like 0xFFFFFFFF).
const MAX_PIN_READ: u32 = 32;

/// Maps a legacy user name to its role.
fn role_of(user: &str) -> Result<u32> {
    match user {
        "user" => Ok(ROLE_USER),
        "admin" => Ok(ROLE_ADMIN),
        _ => Err(MdError::InvalidParameter("user id")),
    }
}

/// Reports the tries left when the failure carries them.
///
/// # Safety
/// `attempts` is NULL or writable.
pub(super) unsafe fn report_attempts(attempts: *mut u32, result: &Result<()>) {
    if let (false, Err(e)) = (attempts.is_null(), result)
        && let Some(n) = e.attempts_remaining()
    {
        // SAFETY: non-null and writable per the caller.
        unsafe { write_out(attempts, n) };
    }
}

/// The PIN bytes, or an empty slice (which the safe layer refuses as wrong) when the length is absurd.
///
/// # Safety
/// `pin` is non-null and readable for `len` bytes whenever `len <= MAX_PIN_READ`.
pub(super) unsafe fn pin_slice<'a>(pin: *const u8, len: u32) -> &'a [u8] {
    if len > MAX_PIN_READ {
        return &[];
    }
    // SAFETY: guaranteed by the caller for lengths up to MAX_PIN_READ.
    unsafe { std::slice::from_raw_parts(pin, len as usize) }
}

pub(crate) unsafe extern "system" fn card_authenticate_pin(
    cd: *const CARD_DATA,
    user: PCWSTR,
    pin: *const u8,
    pin_len: u32,
    attempts: *mut u32,
) -> u32 {
    guard("CardAuthenticatePin", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let role = role_of(&unsafe { wide(user) }?)?;
        if role == ROLE_ADMIN {
            return Err(MdError::InvalidParameter(
                "the administrator authenticates by challenge/response",
            ));
        }
        if pin.is_null() {
            return Err(MdError::InvalidParameter("pbPin is NULL"));
        }
        // SAFETY: `pin` is non-null; the caller provides `pin_len` bytes.
        let pin = unsafe { pin_slice(pin, pin_len) };
        let result = entry.with_context(|ctx| ctx.authenticate(role, pin));
        // SAFETY: `attempts` is NULL or writable.
        unsafe { report_attempts(attempts, &result) };
        result
    })
}

#[allow(clippy::too_many_arguments)]
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
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        check_pin_id(pin_id)?;
        if flags & !(GENERATE_SESSION_PIN | SESSION_PIN | PIN_SILENT_CONTEXT) != 0
            || flags & GENERATE_SESSION_PIN != 0 && flags & SESSION_PIN != 0
        {
            return Err(MdError::InvalidParameter("flags"));
        }
        if flags & GENERATE_SESSION_PIN != 0 {
            if session_pin.is_null() || session_pin_len.is_null() {
                return Err(MdError::InvalidParameter("session PIN output pointers"));
            }
            return Err(MdError::Unsupported(
                "session PINs (no secure channel on PIV cards)",
            ));
        }
        if flags & SESSION_PIN != 0 {
            return Err(MdError::Unsupported(
                "session PINs (no secure channel on PIV cards)",
            ));
        }
        if pin.is_null() || pin_len == 0 {
            return Err(MdError::InvalidParameter("pbPinData"));
        }
        // SAFETY: `pin` is non-null; the caller provides `pin_len` bytes.
        let pin = unsafe { pin_slice(pin, pin_len) };
        let result = entry.with_context(|ctx| ctx.authenticate(pin_id, pin));
        // SAFETY: `attempts` is NULL or writable.
        unsafe { report_attempts(attempts, &result) };
        result
    })
}

pub(crate) unsafe extern "system" fn card_deauthenticate(
    cd: *const CARD_DATA,
    user: PCWSTR,
    flags: u32,
) -> u32 {
    guard("CardDeauthenticate", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        let role = role_of(&unsafe { wide(user) }?)?;
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        let roles = if role == ROLE_USER {
            pin_set(ROLE_USER) | pin_set(ROLE_PIN_ALWAYS)
        } else {
            pin_set(role)
        };
        entry.with_context(|ctx| ctx.deauthenticate(roles))
    })
}

pub(crate) unsafe extern "system" fn card_deauthenticate_ex(
    cd: *const CARD_DATA,
    pin_set_arg: u32,
    flags: u32,
) -> u32 {
    guard("CardDeauthenticateEx", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        if pin_set_arg & !0xFF != 0 {
            return Err(MdError::InvalidParameter("PIN set"));
        }
        entry.with_context(|ctx| ctx.deauthenticate(pin_set_arg))
    })
}
