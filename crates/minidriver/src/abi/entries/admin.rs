//! The administrator's challenge/response entry points (spec §4.2.3, §4.2.4, §4.2.7): the PIV
//! management key as Windows' challenge/response PIN.

use windows_sys::Win32::Security::Cryptography::CARD_DATA;

use super::auth::{pin_slice, report_attempts};
use crate::abi::boundary::guard;
use crate::abi::card_data::{Entry, write_out};
use crate::error::{MdError, Result};
use crate::pins::ROLE_ADMIN;

pub(crate) unsafe extern "system" fn card_get_challenge(
    cd: *const CARD_DATA,
    out: *mut *mut u8,
    out_len: *mut u32,
) -> u32 {
    guard("CardGetChallenge", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        unsafe { challenge(&entry, out, out_len) }
    })
}

pub(crate) unsafe extern "system" fn card_get_challenge_ex(
    cd: *const CARD_DATA,
    pin_id: u32,
    out: *mut *mut u8,
    out_len: *mut u32,
    flags: u32,
) -> u32 {
    guard("CardGetChallengeEx", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if flags != 0 {
            return Err(MdError::InvalidParameter("dwFlags"));
        }
        if pin_id != ROLE_ADMIN {
            return Err(MdError::InvalidParameter(
                "only the administrator is a challenge/response PIN",
            ));
        }
        // SAFETY: as above.
        unsafe { challenge(&entry, out, out_len) }
    })
}

/// # Safety
/// `out` and `out_len` are NULL or writable.
unsafe fn challenge(entry: &Entry, out: *mut *mut u8, out_len: *mut u32) -> Result<()> {
    if out.is_null() || out_len.is_null() {
        return Err(MdError::InvalidParameter("NULL output pointer"));
    }
    let challenge = entry.with_context(|ctx| ctx.admin_challenge())?;
    let p = entry.alloc_copy(&challenge)?;
    // SAFETY: both checked non-null.
    unsafe {
        write_out(out, p);
        write_out(out_len, challenge.len() as u32);
    }
    Ok(())
}

pub(crate) unsafe extern "system" fn card_authenticate_challenge(
    cd: *const CARD_DATA,
    response: *const u8,
    response_len: u32,
    attempts: *mut u32,
) -> u32 {
    guard("CardAuthenticateChallenge", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if response.is_null() {
            return Err(MdError::InvalidParameter("pbResponseData is NULL"));
        }
        // SAFETY: `response` is non-null and readable for `response_len` bytes (not read when absurd).
        let response = unsafe { pin_slice(response, response_len) };
        let result = entry.with_context(|ctx| ctx.admin_response(response));
        // SAFETY: `attempts` is NULL or writable.
        unsafe { report_attempts(attempts, &result) };
        result
    })
}
