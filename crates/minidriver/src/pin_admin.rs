//! PIN administration (Smart Card Minidriver Specification 7.07 §4.2.5–4.2.6, §4.2.10):
//! `CardChangeAuthenticator(Ex)` for the user PIN (CHANGE REFERENCE DATA 80), the PUK (PIN_ID 4,
//! CHANGE REFERENCE DATA 81) and the administrator's key (SET MANAGEMENT KEY, after the answer to the
//! card's challenge); `CardUnblockPin` and `CardChangeAuthenticatorEx(PIN_CHANGE_FLAG_UNBLOCK)` with the
//! PUK (RESET RETRY COUNTER).
//!
//! As for VERIFY, a PIN or PUK is never sent twice: each command goes to the card once, never again after
//! a failure or a reset, and the tries left are the card's (`63Cx`; 0 when blocked). Values that cannot
//! be right are refused before anything is sent: a current PIN or PUK that is not 6–8 bytes (or holds
//! the padding byte `FF`) fails as a wrong one, with the tries the card reports; a new one that breaks the
//! rules is `SCARD_E_INVALID_PARAMETER`. The rules for a new value are 6–8 bytes of printable ASCII on
//! cards that report a YubiKey firmware version (the YubiKey's own rule, minus control characters), and
//! 6–8 digits on others (SP 800-73-4 Part 2 §2.4.3: PIV PINs are numeric).
//!
//! PIV has no way to reset a PIN with the management key, so the challenge/response form of an unblock
//! answers `SCARD_E_UNSUPPORTED_FEATURE`. A changed PIN is left as the card leaves it: CHANGE REFERENCE
//! DATA does not verify the new PIN, and sending it again to do so would present it twice. After an
//! unblock the PIN is not verified. A new administrator key of 24 bytes keeps the card's algorithm
//! (3DES, or AES-192 on cards that use it); 16 and 32 bytes are AES-128 and AES-256.
//!
//! When the card keeps its management key PIN-protected (5FFF00 flag `02`, or 5FC109 holds a key and
//! the PIN is verified), the copy changes with the key, in an order that an interruption at any APDU
//! cannot break: 5FC109 gets the new key with the card's current key beside it (Tessera's "previous
//! key" element), then SET MANAGEMENT KEY, then 5FC109 the new key alone. Cut anywhere, one of the two
//! keys in 5FC109 is the card's, and the next write with the PIN finds it and repairs the object (see
//! [`crate::write_rights`]). The current key is the one of 5FC109 that encrypts the answered challenge
//! into the administrator's answer: a comparison in the module, no authentication spent. A protected
//! copy is read with the PIN only, so a PIN-protected key is changed only with the user PIN verified
//! in the same context: without it the change is refused (`SCARD_W_SECURITY_VIOLATION`), since a
//! copy written blind could hold a key the card does not have.

use tessera_piv::objects::{ProtectedData, tags};
use tessera_piv::{KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PinStatus};
use zeroize::Zeroizing;

use crate::context::CardContext;
use crate::error::{MdError, Result};
use crate::input::CallerBytes;
use crate::pins::{self, ROLE_ADMIN, ROLE_PIN_ALWAYS, ROLE_PUK, ROLE_USER};

use windows_sys::Win32::Security::Cryptography::{
    CARD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE as AUTHENTICATE_CHALLENGE_RESPONSE,
    CARD_AUTHENTICATE_PIN_PIN as AUTHENTICATE_PIN, CARD_PIN_SILENT_CONTEXT, PIN_CHANGE_FLAG_CHANGEPIN,
    PIN_CHANGE_FLAG_UNBLOCK,
};

const NO_MGM_UNBLOCK: &str = "PIV cannot reset a PIN with the management key: unblock with the PUK";

/// A checked PIN administration request (secrets wiped on drop, `Debug` shows none).
pub(crate) enum PinChange {
    /// A new user PIN, with the current one.
    ChangePin {
        /// Current PIN.
        current: Zeroizing<Vec<u8>>,
        /// New PIN.
        new: Zeroizing<Vec<u8>>,
    },
    /// A new PUK, with the current one.
    ChangePuk {
        /// Current PUK.
        current: Zeroizing<Vec<u8>>,
        /// New PUK.
        new: Zeroizing<Vec<u8>>,
    },
    /// A new user PIN set with the PUK.
    Unblock {
        /// The PUK.
        puk: Zeroizing<Vec<u8>>,
        /// New PIN.
        new_pin: Zeroizing<Vec<u8>>,
    },
    /// A new administrator (management) key, with the answer to the card's challenge.
    ChangeAdminKey {
        /// The challenge encrypted with the current key.
        response: Zeroizing<Vec<u8>>,
        /// The new key.
        new_key: Zeroizing<Vec<u8>>,
    },
}

impl std::fmt::Debug for PinChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ChangePin { .. } => "PinChange::ChangePin",
            Self::ChangePuk { .. } => "PinChange::ChangePuk",
            Self::Unblock { .. } => "PinChange::Unblock",
            Self::ChangeAdminKey { .. } => "PinChange::ChangeAdminKey",
        })
    }
}

fn secret(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(bytes.to_vec())
}

/// A current PIN or PUK, or a challenge's answer: NULL or empty is invalid; one too long to be right
/// (not read) is kept empty, which fails as a wrong one.
fn current(value: CallerBytes<'_>, what: &'static str) -> Result<Zeroizing<Vec<u8>>> {
    match value {
        CallerBytes::Read([]) | CallerBytes::Null { .. } => Err(MdError::InvalidParameter(what)),
        CallerBytes::Read(bytes) => Ok(Zeroizing::new(bytes.to_vec())),
        CallerBytes::TooLong { .. } => Ok(Zeroizing::new(Vec::new())),
    }
}

/// A new PIN, PUK or key: NULL, empty or too long is invalid.
fn new_value<'a>(value: CallerBytes<'a>, what: &'static str) -> Result<&'a [u8]> {
    match value {
        CallerBytes::Read(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(MdError::InvalidParameter(what)),
    }
}

fn no_retry_count(retry_count: u32) -> Result<()> {
    if retry_count == 0 {
        Ok(())
    } else {
        Err(MdError::InvalidParameter(
            "the module does not change retry limits",
        ))
    }
}

/// A new PIN or PUK on any card: 6–8 printable ASCII characters.
fn check_new_value(value: &[u8]) -> Result<()> {
    if (6..=8).contains(&value.len()) && value.iter().all(|b| (0x20..0x7F).contains(b)) {
        Ok(())
    } else {
        Err(MdError::InvalidParameter(
            "a new PIN or PUK is 6–8 printable ASCII characters",
        ))
    }
}

impl PinChange {
    /// `CardChangeAuthenticatorEx`.
    pub(crate) fn from_ex(
        flags: u32,
        authenticating: u32,
        authenticating_data: CallerBytes<'_>,
        target: u32,
        target_data: CallerBytes<'_>,
        retry_count: u32,
    ) -> Result<Self> {
        let kind = flags & !CARD_PIN_SILENT_CONTEXT;
        if kind != PIN_CHANGE_FLAG_UNBLOCK && kind != PIN_CHANGE_FLAG_CHANGEPIN {
            return Err(MdError::InvalidParameter("flags: UNBLOCK or CHANGEPIN"));
        }
        crate::auth::check_pin_id(authenticating)?;
        crate::auth::check_pin_id(target)?;
        let listed = |role: u32| pins::LISTED_ROLES & pins::pin_set(role) != 0;
        if !listed(authenticating) || !listed(target) {
            return Err(MdError::InvalidParameter("no such PIN on this card"));
        }
        if kind == PIN_CHANGE_FLAG_UNBLOCK {
            if authenticating == target {
                return Err(MdError::InvalidParameter("an unblock names two different PINs"));
            }
            return match (authenticating, target) {
                (ROLE_ADMIN, ROLE_USER | ROLE_PIN_ALWAYS) => Err(MdError::Unsupported(NO_MGM_UNBLOCK)),
                (ROLE_PUK, ROLE_USER | ROLE_PIN_ALWAYS) => {
                    no_retry_count(retry_count)?;
                    let puk = current(authenticating_data, "pbAuthenticatingPinData")?;
                    let new_pin = new_value(target_data, "pbTargetData")?;
                    check_new_value(new_pin)?;
                    Ok(Self::Unblock {
                        puk,
                        new_pin: secret(new_pin),
                    })
                }
                _ => Err(MdError::InvalidParameter(
                    "only the PUK unblocks, and only the user PIN",
                )),
            };
        }
        if authenticating != target {
            return Err(MdError::InvalidParameter("a PIN is changed with itself"));
        }
        no_retry_count(retry_count)?;
        if target == ROLE_PIN_ALWAYS {
            return Err(MdError::Unsupported(
                "the PIN-always role is the user PIN: change ROLE_USER",
            ));
        }
        let old = current(authenticating_data, "pbAuthenticatingPinData")?;
        let new = new_value(target_data, "pbTargetData")?;
        match target {
            ROLE_USER => Self::change_pin(old, new),
            ROLE_PUK => {
                check_new_value(new)?;
                Ok(Self::ChangePuk {
                    current: old,
                    new: secret(new),
                })
            }
            _ => Self::change_admin_key(old, new),
        }
    }

    /// `CardChangeAuthenticator` (`role` from the user name: ROLE_USER or ROLE_ADMIN).
    pub(crate) fn from_legacy(
        role: u32,
        old: CallerBytes<'_>,
        new: CallerBytes<'_>,
        retry_count: u32,
        flags: u32,
    ) -> Result<Self> {
        match (flags, role) {
            (AUTHENTICATE_PIN, ROLE_USER) => {
                no_retry_count(retry_count)?;
                let old = current(old, "pbCurrentAuthenticator")?;
                Self::change_pin(old, new_value(new, "pbNewAuthenticator")?)
            }
            (AUTHENTICATE_CHALLENGE_RESPONSE, ROLE_ADMIN) => {
                no_retry_count(retry_count)?;
                let old = current(old, "pbCurrentAuthenticator")?;
                Self::change_admin_key(old, new_value(new, "pbNewAuthenticator")?)
            }
            (AUTHENTICATE_PIN | AUTHENTICATE_CHALLENGE_RESPONSE, _) => Err(MdError::InvalidParameter(
                "the user changes a PIN, the administrator a challenge/response key",
            )),
            _ => Err(MdError::InvalidParameter("flags")),
        }
    }

    /// `CardUnblockPin` (`role` from the user name).
    pub(crate) fn from_unblock(
        role: u32,
        authentication: CallerBytes<'_>,
        new_pin: CallerBytes<'_>,
        retry_count: u32,
        flags: u32,
    ) -> Result<Self> {
        if role != ROLE_USER {
            return Err(MdError::Unsupported("only the user PIN can be unblocked"));
        }
        match flags {
            AUTHENTICATE_CHALLENGE_RESPONSE => Err(MdError::Unsupported(NO_MGM_UNBLOCK)),
            AUTHENTICATE_PIN => {
                no_retry_count(retry_count)?;
                let puk = current(authentication, "pbAuthenticationData")?;
                let new_pin = new_value(new_pin, "pbNewPinData")?;
                check_new_value(new_pin)?;
                Ok(Self::Unblock {
                    puk,
                    new_pin: secret(new_pin),
                })
            }
            _ => Err(MdError::InvalidParameter("flags")),
        }
    }

    fn change_pin(current: Zeroizing<Vec<u8>>, new: &[u8]) -> Result<Self> {
        check_new_value(new)?;
        Ok(Self::ChangePin {
            current,
            new: secret(new),
        })
    }

    fn change_admin_key(response: Zeroizing<Vec<u8>>, new_key: &[u8]) -> Result<Self> {
        if !matches!(new_key.len(), 16 | 24 | 32) {
            return Err(MdError::InvalidParameter(
                "an administrator key is 16, 24 or 32 bytes",
            ));
        }
        Ok(Self::ChangeAdminKey {
            response,
            new_key: secret(new_key),
        })
    }
}

/// The padded form of a current PIN or PUK, `None` when it cannot be right (then it is not sent).
fn padded_current(value: &[u8]) -> Option<PaddedPin> {
    pins::plausible_pin(value)
        .then(|| PaddedPin::new(value).ok())
        .flatten()
}

impl CardContext {
    /// Carries out a PIN administration request.
    pub(crate) fn change_authenticator(&mut self, change: PinChange) -> Result<()> {
        match change {
            PinChange::ChangePin { current, new } => self.change_pin(&current, &new),
            PinChange::ChangePuk { current, new } => self.change_puk(&current, &new),
            PinChange::Unblock { puk, new_pin } => self.unblock_pin(&puk, &new_pin),
            PinChange::ChangeAdminKey { response, new_key } => self.change_admin_key(&response, &new_key),
        }
    }

    /// The card-specific rule for a new PIN or PUK: digits only on cards that are not YubiKeys.
    fn check_new_for_card(&mut self, value: &[u8]) -> Result<PaddedPin> {
        if self.version().is_none() && !value.iter().all(u8::is_ascii_digit) {
            return Err(MdError::InvalidParameter("this card takes PINs of 6–8 digits"));
        }
        PaddedPin::new(value).map_err(|_| MdError::InvalidParameter("new PIN or PUK"))
    }

    /// The PIN's status (an empty VERIFY, no try spent); also re-selects a card that lost its selection.
    fn pin_tries(&mut self) -> Result<Option<u32>> {
        let reference = self.pin_reference()?;
        match self.read(|s| s.pin_status(reference))? {
            PinStatus::Blocked => Err(MdError::PinBlocked),
            PinStatus::NotVerified { retries } => Ok(Some(u32::from(retries))),
            PinStatus::Verified => Ok(None),
        }
    }

    /// The PUK's tries left, when the card reports them (GET METADATA 81, no try spent).
    fn puk_tries(&mut self) -> Option<u32> {
        self.read_vendor(|s| s.get_metadata(KeyRef::PUK))
            .ok()
            .flatten()
            .flatten()
            .and_then(|m| m.retries)
            .map(|(_, left)| u32::from(left))
    }

    fn change_pin(&mut self, current: &[u8], new: &[u8]) -> Result<()> {
        let reference = self.pin_reference()?;
        let new = self.check_new_for_card(new)?;
        let tries = self.pin_tries()?;
        let Some(current) = padded_current(current) else {
            self.forget_user();
            return Err(MdError::WrongPin { remaining: tries });
        };
        let result = self.without_retry(|s| s.change_reference_data(reference, &current, &new));
        if let Err(e) = result {
            self.forget_user();
            return Err(e.into());
        }
        tracing::info!("user PIN changed");
        Ok(())
    }

    fn change_puk(&mut self, current: &[u8], new: &[u8]) -> Result<()> {
        let new = self.check_new_for_card(new)?;
        self.pin_tries().or_else(|e| match e {
            MdError::PinBlocked => Ok(None),
            e => Err(e),
        })?;
        let Some(current) = padded_current(current) else {
            return Err(MdError::WrongPin {
                remaining: self.puk_tries(),
            });
        };
        self.without_retry(|s| s.change_reference_data(KeyRef::PUK, &current, &new))?;
        tracing::info!("PUK changed");
        Ok(())
    }

    fn unblock_pin(&mut self, puk: &[u8], new_pin: &[u8]) -> Result<()> {
        let new_pin = self.check_new_for_card(new_pin)?;
        self.pin_tries().or_else(|e| match e {
            MdError::PinBlocked => Ok(None),
            e => Err(e),
        })?;
        let result = match padded_current(puk) {
            Some(puk) => self
                .without_retry(|s| s.reset_retry_counter(&puk, &new_pin))
                .map_err(MdError::from),
            None => Err(MdError::WrongPin {
                remaining: self.puk_tries(),
            }),
        };
        // Either way the PIN is not verified now (a reset retry counter does not verify it).
        self.forget_user();
        result?;
        tracing::info!("user PIN unblocked with the PUK");
        Ok(())
    }

    fn change_admin_key(&mut self, response: &[u8], new_key: &[u8]) -> Result<()> {
        let current = self.management_algorithm();
        let algorithm = match new_key.len() {
            16 => ManagementAlgorithm::Aes128,
            32 => ManagementAlgorithm::Aes256,
            _ if current == ManagementAlgorithm::Aes192 => ManagementAlgorithm::Aes192,
            _ => ManagementAlgorithm::Tdes,
        };
        let key = ManagementKey::new(algorithm, new_key)
            .map_err(|_| MdError::InvalidParameter("a weak or malformed administrator key"))?;
        let answered = self.answer_admin_challenge(response)?;
        let copy = self.protected_copy_for(&answered, &key)?;
        // A failed answer does not say whether the command took effect: each step is sent again once,
        // while the administrator's authentication lasts (a reset ends it, and the retry then fails
        // without effect). Whatever is cut, 5FC109 holds the card's key, new or old.
        if let Some(copy) = &copy {
            self.send_twice(|s| s.put_data(tags::PRINTED_INFORMATION, &copy.during))?;
        }
        self.send_twice(|s| s.set_management_key(&key, false))?;
        if let Some(copy) = &copy {
            match self.send_twice(|s| s.put_data(tags::PRINTED_INFORMATION, &copy.done)) {
                Ok(()) => tracing::info!("the new administrator key is stored PIN-protected (5FC109) too"),
                // The card has the new key and 5FC109 leads to it: the next write with the PIN
                // removes the old key.
                Err(e) => tracing::warn!(
                    "the card has the new administrator key, but removing the old one from 5FC109 \
                     failed ({e}); the next write with the PIN does it"
                ),
            }
        }
        self.management_algorithm = Some(algorithm);
        tracing::info!("administrator (management) key changed ({algorithm:?})");
        Ok(())
    }
}

/// The PIN-protected copy's content during an administrator-key change and after it.
struct ProtectedCopy {
    /// The new key, the card's current key beside it.
    during: Zeroizing<Vec<u8>>,
    /// The new key alone.
    done: Zeroizing<Vec<u8>>,
}

impl CardContext {
    /// What 5FC109 must hold while the key becomes `new` and after, or `None` when the card keeps no
    /// PIN-protected copy. Refused when the admin data says the key is PIN-protected but the copy
    /// cannot be read (PIN not verified).
    fn protected_copy_for(
        &mut self,
        answered: &crate::admin::AnsweredChallenge,
        new: &ManagementKey,
    ) -> Result<Option<ProtectedCopy>> {
        let flagged = self.admin_data()?.is_some_and(|a| a.management_key_protected());
        if !flagged && !self.auth.user {
            return Ok(None);
        }
        let stored = match self.protected_data_or_refusal() {
            Ok(stored) => stored,
            Err(MdError::SecurityViolation(_)) if flagged => {
                tracing::error!(
                    "the management key is PIN-protected (5FFF00): change it with the user PIN verified \
                     in the same context (CardAuthenticateEx ROLE_USER), so that its copy in 5FC109 \
                     changes with it"
                );
                return Err(MdError::SecurityViolation(
                    "a PIN-protected management key changes only with the user PIN verified",
                ));
            }
            Err(MdError::SecurityViolation(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !flagged
            && stored
                .as_ref()
                .and_then(ProtectedData::management_key_bytes)
                .is_none()
        {
            return Ok(None);
        }
        let mut data = stored.unwrap_or_default();
        // The card's key now: whichever key of 5FC109 answered the challenge (a key an interrupted
        // change left as the previous one may be it).
        let algorithm = answered.algorithm();
        let current = [
            data.management_key(algorithm),
            data.previous_management_key(algorithm),
        ]
        .into_iter()
        .filter_map(|key| key.ok().flatten())
        .find(|key| answered.answered_by(key));
        if current.is_none() {
            tracing::warn!(
                "5FC109 does not hold the card's management key: it gets the new key, with no key to go \
                 back to if the change is cut"
            );
        }
        data.set_management_key(Some(new));
        data.set_previous_management_key(current.as_ref());
        let during = crate::write_rights::encode_protected(&data)?;
        data.set_previous_management_key(None);
        let done = crate::write_rights::encode_protected(&data)?;
        Ok(Some(ProtectedCopy { during, done }))
    }

    /// A command that changes the card, sent once more when its answer is a failure (it may have taken
    /// effect, and sending it again changes nothing then); the first failure is returned when the
    /// second attempt fails too.
    fn send_twice(
        &mut self,
        mut op: impl FnMut(&mut tessera_piv::Session<Box<dyn crate::link::CardLink>>) -> tessera_piv::Result<()>,
    ) -> Result<()> {
        let Err(first) = self.without_retry(&mut op) else {
            return Ok(());
        };
        tracing::warn!("changing the administrator key: a command failed ({first}); sending it again");
        self.without_retry(op).map_err(|_| MdError::from(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::*;

    #[allow(non_snake_case, reason = "short for CallerBytes::Read in the tables below")]
    fn R(bytes: &[u8]) -> CallerBytes<'_> {
        CallerBytes::Read(bytes)
    }

    fn code(r: Result<PinChange>) -> u32 {
        r.map(|_| 0).unwrap_or_else(|e| e.code())
    }

    #[test]
    fn requests_are_checked_without_the_card() {
        assert!(matches!(
            PinChange::from_ex(2, 1, R(b"123456"), 1, R(b"654321"), 0),
            Ok(PinChange::ChangePin { .. })
        ));
        assert!(matches!(
            PinChange::from_ex(1 | 0x40, 4, R(b"12345678"), 1, R(b"654321"), 0),
            Ok(PinChange::Unblock { .. })
        ));
        assert!(matches!(
            PinChange::from_ex(2, 4, R(b"12345678"), 4, R(b"87654321"), 0),
            Ok(PinChange::ChangePuk { .. })
        ));
        assert!(matches!(
            PinChange::from_ex(2, 2, R(&[0; 8]), 2, R(&[1; 24]), 0),
            Ok(PinChange::ChangeAdminKey { .. })
        ));
        // (dwFlags, authenticating PIN id, its data, target PIN id, new data, retries) and the code.
        type Refused = (u32, u32, &'static [u8], u32, &'static [u8], u32, u32);
        let refused: [Refused; 13] = [
            (3, 1, b"123456", 1, b"654321", 0, SCARD_E_INVALID_PARAMETER),
            (0, 1, b"123456", 1, b"654321", 0, SCARD_E_INVALID_PARAMETER),
            (1, 1, b"123456", 1, b"654321", 0, SCARD_E_INVALID_PARAMETER),
            (1, 2, &[0; 8], 1, b"654321", 0, SCARD_E_UNSUPPORTED_FEATURE),
            (2, 1, b"123456", 4, b"654321", 0, SCARD_E_INVALID_PARAMETER),
            (2, 1, b"123456", 1, b"12345", 0, SCARD_E_INVALID_PARAMETER),
            (2, 1, b"123456", 1, b"123456789", 0, SCARD_E_INVALID_PARAMETER),
            (2, 1, b"123456", 1, b"12345\x01", 0, SCARD_E_INVALID_PARAMETER),
            (2, 1, b"123456", 1, b"654321", 3, SCARD_E_INVALID_PARAMETER),
            (2, 5, b"123456", 5, b"654321", 0, SCARD_E_INVALID_PARAMETER),
            (2, 8, b"123456", 8, b"654321", 0, SCARD_E_INVALID_PARAMETER),
            (2, 3, b"123456", 3, b"654321", 0, SCARD_E_UNSUPPORTED_FEATURE),
            (2, 2, &[0; 8], 2, &[1; 20], 0, SCARD_E_INVALID_PARAMETER),
        ];
        for (flags, auth, data, target, new, retries, expected) in refused {
            let got = code(PinChange::from_ex(flags, auth, R(data), target, R(new), retries));
            assert_eq!(
                got, expected,
                "flags {flags}, PIN {auth} -> {target}, retries {retries}"
            );
        }
        // The legacy forms.
        assert!(PinChange::from_legacy(ROLE_USER, R(b"123456"), R(b"654321"), 0, 2).is_ok());
        assert_eq!(
            code(PinChange::from_legacy(ROLE_ADMIN, R(b"1"), R(b"654321"), 0, 2)),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(PinChange::from_legacy(ROLE_USER, R(b"1"), R(b"654321"), 0, 1)),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(PinChange::from_legacy(ROLE_USER, R(b"1"), R(b"654321"), 0, 4)),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(PinChange::from_unblock(
                ROLE_USER,
                R(b"12345678"),
                R(b"654321"),
                0,
                1
            )),
            SCARD_E_UNSUPPORTED_FEATURE
        );
        assert_eq!(
            code(PinChange::from_unblock(
                ROLE_ADMIN,
                R(b"12345678"),
                R(b"654321"),
                0,
                2
            )),
            SCARD_E_UNSUPPORTED_FEATURE
        );
        assert_eq!(
            code(PinChange::from_unblock(
                ROLE_USER,
                R(b"12345678"),
                R(b"654321"),
                1,
                2
            )),
            SCARD_E_INVALID_PARAMETER
        );
        assert!(PinChange::from_unblock(ROLE_USER, R(b"12345678"), R(b"654321"), 0, 2).is_ok());
    }

    mod administrator_key {
        use tessera_piv::ManagementKey;

        use super::*;
        use crate::testing;

        use crate::testing::tdes_key as key;

        /// Answers a new challenge with `current` and asks for `new`.
        fn change(ctx: &mut CardContext, current: &ManagementKey, new: &ManagementKey) -> u32 {
            let challenge = ctx.admin_challenge().unwrap();
            let response = current.encrypt_block(&challenge).unwrap();
            PinChange::from_ex(2, ROLE_ADMIN, R(&response), ROLE_ADMIN, R(new.as_bytes()), 0)
                .and_then(|c| ctx.change_authenticator(c))
                .map_or_else(|e| e.code(), |()| 0)
        }

        /// The order of the writes: 5FC109 (P), SET MANAGEMENT KEY (S), any other PUT DATA (?).
        fn writes(commands: &[Vec<u8>]) -> String {
            commands
                .iter()
                .filter_map(|c| match tessera_piv::ParsedCommand::parse(c).ok()?.ins {
                    0xDB if testing::writes_protected_data(c) => Some('P'),
                    0xDB => Some('?'),
                    0xFF => Some('S'),
                    _ => None,
                })
                .collect()
        }

        #[test]
        fn a_pin_protected_key_changes_with_the_old_key_kept_beside_the_new_one_until_the_card_has_it() {
            let card = testing::card(50);
            let (old, new) = (key(1), key(41));
            testing::protect_with(&card, &old);
            let (mut ctx, commands) = testing::recorded(&card, true);
            assert_eq!(change(&mut ctx, &old, &new), 0);
            let commands = commands.lock().unwrap();
            assert_eq!(writes(&commands), "PSP");
            let copies = testing::protected_data_writes(&commands);
            let during = &copies[0];
            assert_eq!(during.management_key_bytes(), Some(new.as_bytes()));
            assert_eq!(during.previous_management_key_bytes(), Some(old.as_bytes()));
            assert_eq!(copies[1], ProtectedData::with_management_key(&new));
            assert_eq!(
                testing::management_authentications(&commands),
                0,
                "the old key is recognised from the answered challenge, not tried on the card"
            );
            drop(commands);
            assert_eq!(
                testing::stored_protected_data(&card),
                ProtectedData::with_management_key(&new)
            );
            testing::session(&card).authenticate_management_key(&new).unwrap();
        }

        #[test]
        fn after_a_cut_change_the_previous_key_kept_is_the_one_that_answered_the_challenge() {
            let card = testing::card(51);
            let (old, cut, new) = (key(1), key(81), key(41));
            // A change to `cut` was interrupted before the card took it: the card still has `old`.
            testing::protect_mid_change(&card, &old, &cut, &old);
            let (mut ctx, commands) = testing::recorded(&card, true);
            assert_eq!(change(&mut ctx, &old, &new), 0);
            let copies = testing::protected_data_writes(&commands.lock().unwrap());
            assert_eq!(copies[0].management_key_bytes(), Some(new.as_bytes()));
            assert_eq!(copies[0].previous_management_key_bytes(), Some(old.as_bytes()));
            assert_eq!(
                testing::stored_protected_data(&card),
                ProtectedData::with_management_key(&new)
            );
        }

        #[test]
        fn a_pin_protected_key_is_not_changed_without_the_pin() {
            let card = testing::card(52);
            let (old, new) = (key(1), key(41));
            testing::protect_with(&card, &old);
            let (mut ctx, commands) = testing::recorded(&card, false);
            assert_eq!(change(&mut ctx, &old, &new), SCARD_W_SECURITY_VIOLATION);
            assert_eq!(writes(&commands.lock().unwrap()), "", "nothing written");
            testing::session(&card).authenticate_management_key(&old).unwrap();
            assert_eq!(
                testing::stored_protected_data(&card),
                ProtectedData::with_management_key(&old)
            );
        }

        #[test]
        fn a_key_that_is_not_pin_protected_changes_without_the_pin_and_without_a_copy() {
            let card = testing::card(53);
            let (old, new) = (key(1), key(41));
            testing::set_private_key(&card, &old);
            let (mut ctx, commands) = testing::recorded(&card, false);
            assert_eq!(change(&mut ctx, &old, &new), 0);
            assert_eq!(writes(&commands.lock().unwrap()), "S");
            testing::session(&card).authenticate_management_key(&new).unwrap();
        }
    }
}
