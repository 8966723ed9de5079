//! The administrator's challenge/response entry points (Smart Card Minidriver Specification 7.07
//! §4.2.3, §4.2.4, §4.2.7): the PIV management key as Windows' challenge/response PIN.

use windows_sys::Win32::Security::Cryptography::CARD_DATA;

use super::auth::authenticate;
use crate::abi::boundary::guard;
use crate::abi::caller::{BufferOut, Out, bytes};
use crate::abi::card_data::Entry;
use crate::admin::check_challenge_request;
use crate::auth::{Authentication, MAX_SECRET_READ};
use crate::error::Result;

/// Hands the card's challenge to the caller in a CSP buffer.
fn challenge(entry: &Entry, out: BufferOut) -> Result<()> {
    let challenge = entry.with_context(|ctx| ctx.admin_challenge())?;
    out.hand_over(entry.csp_copy(&challenge)?);
    Ok(())
}

pub(crate) unsafe extern "system" fn card_get_challenge(
    cd: *const CARD_DATA,
    out: *mut *mut u8,
    out_len: *mut u32,
) -> u32 {
    guard("CardGetChallenge", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above.
        challenge(&entry, unsafe { BufferOut::new(out, out_len) }?)
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
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        check_challenge_request(pin_id, flags)?;
        // SAFETY: as above.
        challenge(&entry, unsafe { BufferOut::new(out, out_len) }?)
    })
}

pub(crate) unsafe extern "system" fn card_authenticate_challenge(
    cd: *const CARD_DATA,
    response: *const u8,
    response_len: u32,
    attempts: *mut u32,
) -> u32 {
    guard("CardAuthenticateChallenge", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: as above; a response too long to be right is not read.
        let response =
            Authentication::challenge_response(unsafe { bytes(response, response_len, MAX_SECRET_READ) })?;
        // SAFETY: as above.
        authenticate(&entry, &response, unsafe { Out::optional(attempts) })
    })
}
