//! PIN and PUK: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, and the Yubico SET PIN RETRIES and
//! RESET.
//!
//! New values follow the YubiKey rules: 6–8 bytes, `FF` padding only at the end, ASCII (≤ 7F) bytes;
//! otherwise `6985` without spending a try (as the Yubico documentation gives for a new value that
//! fails the length or character rules). No complexity policy is enforced.

use tessera_piv::StatusWord;

use super::Engine;
use crate::command::{PinReference, Reply, Verify};
use crate::secret::Secret;
use crate::state::Credential;

/// True when `block` is an acceptable new PIN or PUK: 6–8 ASCII bytes, then only `FF` padding.
pub fn is_valid_new_value(block: &[u8]) -> bool {
    let len = block.iter().position(|&b| b == 0xFF).unwrap_or(block.len());
    let (value, padding) = block.split_at(len);
    block.len() == 8
        && (6..=8).contains(&len)
        && padding.iter().all(|&b| b == 0xFF)
        && value.iter().all(|&b| b <= 0x7F)
}

impl Engine {
    fn credential(&self, which: PinReference) -> &Credential {
        match which {
            PinReference::Pin => &self.persistent.pin,
            PinReference::Puk => &self.persistent.puk,
        }
    }

    fn credential_mut(&mut self, which: PinReference) -> &mut Credential {
        match which {
            PinReference::Pin => &mut self.persistent_mut().pin,
            PinReference::Puk => &mut self.persistent_mut().puk,
        }
    }

    /// Checks `value` against the PIN or PUK, counting a failure; `63Cx` or `6983` when it does not match.
    fn check_credential(&mut self, which: PinReference, value: &Secret) -> Result<(), StatusWord> {
        let credential = self.credential(which);
        if credential.is_blocked() {
            return Err(StatusWord::AUTH_METHOD_BLOCKED);
        }
        if credential.value == *value {
            if credential.retries_left != credential.retries_total {
                let c = self.credential_mut(which);
                c.retries_left = c.retries_total;
            }
            return Ok(());
        }
        let c = self.credential_mut(which);
        c.retries_left = c.retries_left.saturating_sub(1);
        Err(StatusWord::verify_failed(c.retries_left))
    }

    pub(super) fn verify(&mut self, verify: Verify) -> Reply {
        match verify {
            Verify::Status => {
                let pin = &self.persistent.pin;
                if pin.is_blocked() {
                    Err(StatusWord::AUTH_METHOD_BLOCKED)
                } else if self.volatile.pin_verified {
                    Ok(Vec::new())
                } else {
                    Err(StatusWord::verify_failed(pin.retries_left))
                }
            }
            Verify::Logout => {
                self.volatile.pin_verified = false;
                self.volatile.pin_just_verified = false;
                Ok(Vec::new())
            }
            Verify::Pin(value) => {
                let result = self.check_credential(PinReference::Pin, &value);
                self.volatile.pin_verified = result.is_ok();
                self.volatile.pin_just_verified = result.is_ok();
                result.map(|()| Vec::new())
            }
        }
    }

    pub(super) fn change_reference(&mut self, which: PinReference, current: &Secret, new: &Secret) -> Reply {
        if !is_valid_new_value(new.expose()) {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        self.check_credential(which, current)?;
        self.credential_mut(which).value = new.clone();
        Ok(Vec::new())
    }

    pub(super) fn reset_retry_counter(&mut self, puk: &Secret, new_pin: &Secret) -> Reply {
        if !is_valid_new_value(new_pin.expose()) {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        self.check_credential(PinReference::Puk, puk)?;
        let pin = &mut self.persistent_mut().pin;
        pin.value = new_pin.clone();
        pin.retries_left = pin.retries_total;
        Ok(Vec::new())
    }

    pub(super) fn set_pin_retries(&mut self, pin_tries: u8, puk_tries: u8) -> Reply {
        self.require_management()?;
        if !self.volatile.pin_verified {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        self.persistent_mut().set_retries(pin_tries, puk_tries);
        self.volatile.pin_verified = false;
        self.volatile.pin_just_verified = false;
        Ok(Vec::new())
    }

    pub(super) fn reset_application(&mut self) -> Reply {
        if !(self.persistent.pin.is_blocked() && self.persistent.puk.is_blocked()) {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        self.dirty = true;
        self.persistent.reset_application(&mut self.rng);
        self.volatile.clear_security();
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_new_value;

    #[test]
    fn new_value_rules() {
        assert!(is_valid_new_value(b"123456\xff\xff"));
        assert!(is_valid_new_value(b"12345678"));
        assert!(is_valid_new_value(b"abcdefg\xff"));
        assert!(!is_valid_new_value(b"12345\xff\xff\xff"));
        assert!(!is_valid_new_value(b"123\xff456\xff"));
        assert!(!is_valid_new_value(b"1234567\x80"));
        assert!(!is_valid_new_value(b"123456\xff"));
    }
}
