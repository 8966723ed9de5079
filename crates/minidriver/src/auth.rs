//! PIN authentication and de-authentication (Smart Card Minidriver Specification 7.07 §4.2).
//!
//! A PIN is never sent twice. Before it goes, the module must know that the PIV application is
//! selected: a card reset through the CSP's own handle (the certification kit's Reconnect sequence)
//! loses the selection without an error, and a VERIFY sent then would reach no application. When the
//! PIV application answered this transaction's `cardcf` read (with which the CSP begins every
//! transaction), or the exchange just before in the same entry call (the discovery object read that
//! names the PIN), the VERIFY goes at once; otherwise an empty VERIFY (which spends no try) asks
//! first, re-selecting when no application answers it, and a blocked PIN is reported without being
//! sent. A VERIFY that no application takes all the same (a reset through the CSP's own handle after
//! that read) spends no try: it is reported as the reset (`SCARD_W_RESET_CARD`), and the PIN is not
//! sent again. A wrong PIN is answered `63Cx` with the tries left and a blocked one `6983` (NIST
//! SP 800-73-4 Part 2 §3.2.1). PINs that cannot be right (not 6–8 bytes, or containing `FF`) are refused
//! without being sent; like any failed authentication they log the role out, on the card too, and
//! report the card's tries left.

use tessera_piv::{KeyRef, PaddedPin, PinStatus};
use windows_sys::Win32::Security::Cryptography::{
    CARD_AUTHENTICATE_GENERATE_SESSION_PIN as GENERATE_SESSION_PIN,
    CARD_AUTHENTICATE_SESSION_PIN as SESSION_PIN, CARD_PIN_SILENT_CONTEXT as PIN_SILENT_CONTEXT,
    PIN_SET_ALL_ROLES,
};

use crate::context::CardContext;
use crate::error::{MdError, Result};
use crate::input::{CallerBytes, no_flags};
use crate::pins::{self, ROLE_ADMIN, ROLE_EVERYONE, ROLE_PIN_ALWAYS, ROLE_PUK, ROLE_USER};

/// Longest secret the module reads from the caller: a PIV PIN is at most 8 bytes and an administrator's
/// response one AES block. A longer one cannot be right: it is refused as wrong (`SCARD_W_WRONG_CHV`)
/// without being read (callers have passed lengths like 0xFFFFFFFF).
pub(crate) const MAX_SECRET_READ: u32 = 32;

/// Checks a `PIN_ID` argument (1–7; 0 is ROLE_EVERYONE, which has no secret).
pub fn check_pin_id(pin_id: u32) -> Result<()> {
    if (1..pins::MAX_PINS).contains(&pin_id) {
        Ok(())
    } else {
        Err(MdError::InvalidParameter("PIN identifier"))
    }
}

/// An authentication: a role and its secret (a PIN, or the response to the administrator's challenge).
pub(crate) struct Authentication<'a> {
    /// The role.
    pub role: u32,
    /// The PIN or response; empty when the caller's was too long to be right (refused as wrong).
    pub secret: &'a [u8],
}

/// The secret as the caller gave it: NULL is `null`, a secret too long to be right reads as empty.
fn secret<'a>(secret: CallerBytes<'a>, null: &'static str) -> Result<&'a [u8]> {
    match secret {
        CallerBytes::Read(secret) => Ok(secret),
        CallerBytes::TooLong { .. } => Ok(&[]),
        CallerBytes::Null { .. } => Err(MdError::InvalidParameter(null)),
    }
}

impl<'a> Authentication<'a> {
    /// `CardAuthenticatePin` (Smart Card Minidriver Specification 7.07 §4.2.2) for the role the legacy
    /// user name names: the user's PIN (the administrator answers a challenge instead, §4.2.4).
    pub(crate) fn legacy(role: u32, pin: CallerBytes<'a>) -> Result<Self> {
        if role == ROLE_ADMIN {
            return Err(MdError::InvalidParameter(
                "the administrator authenticates by challenge/response",
            ));
        }
        Ok(Self {
            role,
            secret: secret(pin, "pbPin is NULL")?,
        })
    }

    /// `CardAuthenticateEx` (§4.2.6). Session PINs need a secure channel PIV cards do not have;
    /// `session_pin_outputs` says whether the caller gave the outputs a generated one would need.
    pub(crate) fn ex(
        pin_id: u32,
        flags: u32,
        pin: CallerBytes<'a>,
        session_pin_outputs: bool,
    ) -> Result<Self> {
        check_pin_id(pin_id)?;
        if flags & !(GENERATE_SESSION_PIN | SESSION_PIN | PIN_SILENT_CONTEXT) != 0
            || flags & GENERATE_SESSION_PIN != 0 && flags & SESSION_PIN != 0
        {
            return Err(MdError::InvalidParameter("flags"));
        }
        if flags & GENERATE_SESSION_PIN != 0 && !session_pin_outputs {
            return Err(MdError::InvalidParameter("session PIN output pointers"));
        }
        if flags & (GENERATE_SESSION_PIN | SESSION_PIN) != 0 {
            return Err(MdError::Unsupported(
                "session PINs (no secure channel on PIV cards)",
            ));
        }
        let secret = match pin {
            CallerBytes::Read([]) | CallerBytes::Null { .. } => Err(MdError::InvalidParameter("pbPinData")),
            pin => secret(pin, "pbPinData"),
        }?;
        Ok(Self { role: pin_id, secret })
    }

    /// `CardAuthenticateChallenge` (§4.2.4): the administrator's response.
    pub(crate) fn challenge_response(response: CallerBytes<'a>) -> Result<Self> {
        Ok(Self {
            role: ROLE_ADMIN,
            secret: secret(response, "pbResponseData is NULL")?,
        })
    }
}

/// The roles a `CardDeauthenticate` (§4.2.5) for a legacy user logs out: the user's PIN is both
/// ROLE_USER and ROLE_PIN_ALWAYS.
pub(crate) fn legacy_deauthentication(role: u32, flags: u32) -> Result<u32> {
    if flags != 0 {
        return Err(MdError::InvalidParameter("flags"));
    }
    Ok(if role == ROLE_USER {
        pins::pin_set(ROLE_USER) | pins::pin_set(ROLE_PIN_ALWAYS)
    } else {
        pins::pin_set(role)
    })
}

/// The roles a `CardDeauthenticateEx` (§4.2.8) names: a PIN set of the eight roles.
pub(crate) fn deauthentication(pin_set: u32, flags: u32) -> Result<u32> {
    no_flags(flags)?;
    if pin_set & !PIN_SET_ALL_ROLES != 0 {
        return Err(MdError::InvalidParameter("PIN set"));
    }
    Ok(pin_set)
}

impl CardContext {
    /// `CardAuthenticatePin`/`CardAuthenticateEx` with a plaintext PIN, or for the administrator the
    /// response to the challenge of `CardGetChallenge(Ex)`.
    pub(crate) fn authenticate(&mut self, authentication: &Authentication<'_>) -> Result<()> {
        let pin = authentication.secret;
        match authentication.role {
            ROLE_USER | ROLE_PIN_ALWAYS => self.verify_pin(pin),
            ROLE_ADMIN => self.admin_response(pin),
            ROLE_PUK => Err(MdError::Unsupported(
                "the PUK only unblocks the PIN; it cannot be verified alone",
            )),
            ROLE_EVERYONE => Err(MdError::InvalidParameter("ROLE_EVERYONE has no PIN")),
            _ => Err(MdError::InvalidParameter("no such PIN on this card")),
        }
    }

    fn verify_pin(&mut self, pin: &[u8]) -> Result<()> {
        let reference = self.pin_reference()?;
        let padded = match PaddedPin::new(pin) {
            Ok(padded) if pins::plausible_pin(pin) => padded,
            _ => return Err(self.refuse_unsent(reference)),
        };
        if !self.piv_selection_proven() {
            self.tries_unless_blocked(reference)?;
        }
        let result = self.without_retry(|s| s.verify(reference, &padded));
        match result {
            Ok(()) => {
                self.auth.user = true;
                self.auth.pin_always = true;
                Ok(())
            }
            Err(e) if crate::retry::lost_selection(&e) => {
                // No application took the PIN (no try spent): the card was reset through the CSP's own
                // handle, which no status word tells. Reported as the reset it was, so that the CSP
                // authenticates again; the module does not send the PIN a second time itself.
                tracing::debug!("VERIFY reached no application ({e}): reported as a card reset");
                self.session.note_reset();
                self.sync_resets();
                Err(MdError::Transport(tessera_piv::TransportError::CardReset))
            }
            Err(e) => {
                self.forget_user();
                Err(e.into())
            }
        }
    }

    /// A PIN refused without being sent still fails the authentication, and a failed authentication
    /// logs the role out (§4.2.6): a PIN the card holds as verified is logged out there too. The tries
    /// left are the card's, from the status query (an empty VERIFY, which spends no try), asked again
    /// once the logout made the card tell them; a blocked PIN is reported blocked.
    fn refuse_unsent(&mut self, reference: KeyRef) -> MdError {
        let remaining = match self.tries_unless_blocked(reference) {
            Ok(Some(retries)) => Some(u32::from(retries)),
            Ok(None) => match self.log_out_pin(reference) {
                Ok(()) => match self.read(|s| s.pin_status(reference)) {
                    Ok(PinStatus::NotVerified { retries }) => Some(u32::from(retries)),
                    Ok(PinStatus::Blocked) => Some(0),
                    Ok(PinStatus::Verified) | Err(_) => None,
                },
                Err(e) => {
                    tracing::warn!("a refused PIN could not log the verified PIN out: {e}");
                    None
                }
            },
            Err(e) => return e,
        };
        self.forget_user();
        MdError::WrongPin { remaining }
    }

    /// The PIN status query (an empty VERIFY, which spends no try) before a PIN goes or is refused: the
    /// tries left, `None` when the PIN is verified. A blocked PIN (`SCARD_W_CHV_BLOCKED`) or a failed
    /// query ends the user's authentication here.
    fn tries_unless_blocked(&mut self, reference: KeyRef) -> Result<Option<u8>> {
        match self.read(|s| s.pin_status(reference)) {
            Ok(PinStatus::NotVerified { retries }) => Ok(Some(retries)),
            Ok(PinStatus::Verified) => Ok(None),
            Ok(PinStatus::Blocked) => {
                self.forget_user();
                Err(MdError::PinBlocked)
            }
            Err(e) => {
                self.forget_user();
                Err(e)
            }
        }
    }

    /// Logs the PIN out on the card with VERIFY `FF`; a card that cannot is selected again, which resets
    /// its security status, and checked. `SCARD_E_UNSUPPORTED_FEATURE` when the PIN is still verified
    /// after that: only a reset can log it out.
    fn log_out_pin(&mut self, reference: KeyRef) -> Result<()> {
        if self.without_retry(|s| s.logout(reference)).is_ok() {
            self.forget_user();
            return Ok(());
        }
        self.reselect_and_check(reference)
    }

    /// A fresh SELECT, which resets the card's security status (PIN and management key), then the PIN
    /// status query to check that it did.
    fn reselect_and_check(&mut self, reference: KeyRef) -> Result<()> {
        self.session.mark_deselected();
        let status = self.read(|s| {
            s.select()?;
            s.pin_status(reference)
        })?;
        self.forget_user();
        self.auth = pins::AuthState::default();
        self.pending_challenge = None;
        if status == PinStatus::Verified {
            return Err(MdError::Unsupported("this card cannot log out without a reset"));
        }
        Ok(())
    }

    /// The user PIN is no longer verified: ROLE_USER and ROLE_PIN_ALWAYS are gone, and with them every
    /// ECDH agreement (an agreement must not outlive the authentication it was made under).
    pub(crate) fn forget_user(&mut self) {
        self.auth.user = false;
        self.auth.pin_always = false;
        self.auth.write_rights = false;
        self.wipe_agreements();
    }

    /// `CardDeauthenticateEx` for a PIN set: each role asked for is logged out, and only those.
    ///
    /// * ROLE_USER / ROLE_PIN_ALWAYS (one PIV PIN): VERIFY `FF`; a card that cannot is selected again and
    ///   checked (see [`log_out_pin`](Self::log_out_pin)).
    /// * ROLE_ADMIN: the management key's rights end with a new management-key authentication that is
    ///   left unanswered (the card replaces the earlier authentication with the new exchange), which
    ///   keeps a verified PIN; when the PIN is not kept, or the card refuses the new exchange, the
    ///   application is selected again and checked.
    /// * ROLE_PUK, ROLE_EVERYONE: nothing to do, no card traffic (the module never leaves the PUK
    ///   verified).
    ///
    /// `SCARD_E_UNSUPPORTED_FEATURE` when the PIN is still verified after a fresh SELECT: only a reset
    /// logs it out, and the CSP resets the card on that answer.
    pub(crate) fn deauthenticate(&mut self, roles: u32) -> Result<()> {
        let user = roles & (pins::pin_set(ROLE_USER) | pins::pin_set(ROLE_PIN_ALWAYS)) != 0;
        let admin = roles & pins::pin_set(ROLE_ADMIN) != 0;
        if !user && !admin {
            return Ok(());
        }
        let reference = self.pin_reference()?;
        if user {
            // Write rights the module took with the user's PIN end with it, on the card too.
            self.drop_write_rights();
            self.log_out_pin(reference)?;
        }
        if admin {
            self.log_out_admin(reference)?;
        }
        Ok(())
    }

    /// Ends the management key's rights (see [`deauthenticate`](Self::deauthenticate)).
    fn log_out_admin(&mut self, reference: KeyRef) -> Result<()> {
        self.pending_challenge = None;
        if self.auth.user {
            let algorithm = self.management_algorithm();
            match self.without_retry(|s| s.management_challenge(algorithm)) {
                Ok(_unanswered) => {
                    self.auth.admin = false;
                    return Ok(());
                }
                Err(e) => tracing::debug!("a new management-key exchange was refused ({e}): re-selecting"),
            }
        }
        self.reselect_and_check(reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{SCARD_E_INVALID_PARAMETER, SCARD_E_UNSUPPORTED_FEATURE};

    #[test]
    fn authenticate_ex_checks_the_pin_id_the_flags_then_the_pin() {
        let pin = CallerBytes::Read(b"123456");
        let ok = Authentication::ex(ROLE_USER, PIN_SILENT_CONTEXT, pin, false).unwrap();
        assert_eq!((ok.role, ok.secret), (ROLE_USER, &b"123456"[..]));
        let code = |pin_id, flags, pin, outputs| {
            Authentication::ex(pin_id, flags, pin, outputs)
                .err()
                .map(|e| e.code())
        };
        assert_eq!(code(0, 0, pin, false), Some(SCARD_E_INVALID_PARAMETER));
        assert_eq!(code(ROLE_USER, 1, pin, false), Some(SCARD_E_INVALID_PARAMETER));
        assert_eq!(
            code(ROLE_USER, GENERATE_SESSION_PIN | SESSION_PIN, pin, true),
            Some(SCARD_E_INVALID_PARAMETER)
        );
        assert_eq!(
            code(ROLE_USER, GENERATE_SESSION_PIN, pin, false),
            Some(SCARD_E_INVALID_PARAMETER)
        );
        assert_eq!(
            code(ROLE_USER, GENERATE_SESSION_PIN, pin, true),
            Some(SCARD_E_UNSUPPORTED_FEATURE)
        );
        assert_eq!(
            code(ROLE_USER, SESSION_PIN, CallerBytes::Null { len: 0 }, false),
            Some(SCARD_E_UNSUPPORTED_FEATURE)
        );
        assert_eq!(
            code(ROLE_USER, 0, CallerBytes::Read(&[]), false),
            Some(SCARD_E_INVALID_PARAMETER)
        );
        assert_eq!(
            code(ROLE_USER, 0, CallerBytes::Null { len: 6 }, false),
            Some(SCARD_E_INVALID_PARAMETER)
        );
        let absurd = Authentication::ex(ROLE_USER, 0, CallerBytes::TooLong { len: u32::MAX }, false).unwrap();
        assert!(
            absurd.secret.is_empty(),
            "too long to be right: refused as wrong, never read"
        );
    }

    #[test]
    fn the_legacy_calls_name_their_roles() {
        assert!(Authentication::legacy(ROLE_ADMIN, CallerBytes::Read(b"123456")).is_err());
        assert!(Authentication::legacy(ROLE_USER, CallerBytes::Null { len: 0 }).is_err());
        assert_eq!(legacy_deauthentication(ROLE_USER, 0).unwrap(), 0b1010);
        assert_eq!(legacy_deauthentication(ROLE_ADMIN, 0).unwrap(), 0b100);
        assert!(legacy_deauthentication(ROLE_USER, 1).is_err());
        assert_eq!(deauthentication(0xFF, 0).unwrap(), 0xFF);
        assert!(deauthentication(0x100, 0).is_err());
    }
}
