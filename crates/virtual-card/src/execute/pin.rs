//! PIN and PUK: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, and the Yubico SET PIN RETRIES and
//! RESET.
//!
//! Every PIN or PUK check spends the try and saves it before comparing (see [`Engine::execute`] on
//! saving), as a card's EEPROM counter is written before the comparison.
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

    /// The record itself; the caller saves explicitly (see [`check_credential`](Self::check_credential)).
    fn credential_mut(&mut self, which: PinReference) -> &mut Credential {
        match which {
            PinReference::Pin => &mut self.persistent.pin,
            PinReference::Puk => &mut self.persistent.puk,
        }
    }

    /// Checks `value` against the PIN or PUK the way a card must, so that no failure hands out a free
    /// guess: the try is spent and saved first, and only then compared. `63Cx` for a wrong value, `6983`
    /// when blocked, `6581` (nothing compared) when the spent try cannot be saved; the try then stays
    /// spent in memory. On a match the counter is restored and `on_match` changes the PIN and PUK records
    /// (a new value); that is saved as well, and if it cannot be, memory goes back to what the file
    /// holds — the spent try — and the answer is `6581`.
    fn check_credential(
        &mut self,
        which: PinReference,
        value: &Secret,
        on_match: impl FnOnce(&mut Credential, &mut Credential),
    ) -> Result<(), StatusWord> {
        if self.credential(which).is_blocked() {
            if self.unsaved {
                // A block whose save failed earlier reaches the file as soon as the store works again.
                let _ = self.save();
            }
            return Err(StatusWord::AUTH_METHOD_BLOCKED);
        }
        let credential = self.credential_mut(which);
        credential.retries_left = credential.retries_left.saturating_sub(1);
        let left = credential.retries_left;
        self.save()?;
        if self.credential(which).value != *value {
            return Err(StatusWord::verify_failed(left));
        }
        let spent = (self.persistent.pin.clone(), self.persistent.puk.clone());
        let credential = self.credential_mut(which);
        credential.retries_left = credential.retries_total;
        on_match(&mut self.persistent.pin, &mut self.persistent.puk);
        if let Err(failure) = self.save() {
            (self.persistent.pin, self.persistent.puk) = spent;
            self.unsaved = false;
            return Err(failure);
        }
        Ok(())
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
                let result = self.check_credential(PinReference::Pin, &value, |_, _| {});
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
        self.check_credential(which, current, |pin, puk| match which {
            PinReference::Pin => pin.value = new.clone(),
            PinReference::Puk => puk.value = new.clone(),
        })?;
        Ok(Vec::new())
    }

    pub(super) fn reset_retry_counter(&mut self, puk: &Secret, new_pin: &Secret) -> Reply {
        if !is_valid_new_value(new_pin.expose()) {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        self.check_credential(PinReference::Puk, puk, |pin, _| {
            pin.value = new_pin.clone();
            pin.retries_left = pin.retries_total;
        })?;
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
    use std::path::{Path, PathBuf};

    use tessera_piv::pin::{DEFAULT_PIN, DEFAULT_PUK};

    use super::*;
    use crate::command::Command;
    use crate::config::CardConfig;
    use crate::rng::CardRng;
    use crate::state::PersistentState;
    use crate::store::{Store, faults, parse_state};

    fn padded(value: &[u8]) -> Secret {
        Secret::new(tessera_piv::PaddedPin::new(value).unwrap().as_bytes())
    }

    fn card_file(dir: &Path) -> PathBuf {
        dir.join("card.json")
    }

    fn file_engine(dir: &Path) -> Engine {
        let mut rng = CardRng::seeded(5);
        let (store, state) = Store::open_file(&card_file(dir), &CardConfig::seeded(5), &mut rng).unwrap();
        Engine::new(state, rng, store)
    }

    fn saved(dir: &Path) -> PersistentState {
        let path = card_file(dir);
        parse_state(&path, &std::fs::read(&path).unwrap()).unwrap()
    }

    /// Runs `command` with the first save succeeding (the spent try) and the second failing.
    fn with_second_save_failing(engine: &mut Engine, command: Command) -> Reply {
        faults::fail_after(Some(1));
        let reply = engine.execute(command);
        faults::fail_after(None);
        reply
    }

    #[test]
    fn a_right_pin_whose_counter_reset_cannot_be_saved_verifies_nothing_and_keeps_the_try_spent() {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = file_engine(dir.path());
        let verify = || Command::Verify(Verify::Pin(padded(DEFAULT_PIN)));
        assert_eq!(
            with_second_save_failing(&mut engine, verify()),
            Err(StatusWord::MEMORY_FAILURE)
        );
        assert!(!engine.volatile().pin_verified && !engine.volatile().pin_just_verified);
        assert_eq!(engine.persistent().pin.retries_left, 2);
        assert_eq!(
            &saved(dir.path()),
            engine.persistent(),
            "memory is what the file holds"
        );
        // With a working store the PIN verifies and the counter is full again, in memory and in the file.
        assert_eq!(engine.execute(verify()), Ok(Vec::new()));
        assert!(engine.volatile().pin_verified);
        assert_eq!(saved(dir.path()).pin.retries_left, 3);
    }

    #[test]
    fn a_new_pin_or_puk_that_cannot_be_saved_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = file_engine(dir.path());
        for (reference, current) in [(PinReference::Pin, DEFAULT_PIN), (PinReference::Puk, DEFAULT_PUK)] {
            let change = Command::ChangeReference {
                reference,
                current: padded(current),
                new: padded(b"24682468"),
            };
            assert_eq!(
                with_second_save_failing(&mut engine, change),
                Err(StatusWord::MEMORY_FAILURE)
            );
            assert!(engine.credential(reference).is_value(current));
            assert_eq!(engine.credential(reference).retries_left, 2);
            assert_eq!(&saved(dir.path()), engine.persistent());
        }
        let unblock = Command::ResetRetryCounter {
            puk: padded(DEFAULT_PUK),
            new_pin: padded(b"24682468"),
        };
        assert_eq!(
            with_second_save_failing(&mut engine, unblock),
            Err(StatusWord::MEMORY_FAILURE)
        );
        assert!(engine.persistent().pin.is_value(DEFAULT_PIN));
        assert_eq!(engine.persistent().puk.retries_left, 1);
        assert_eq!(&saved(dir.path()), engine.persistent());
    }

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
