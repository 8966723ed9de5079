//! Write rights from the user PIN. Windows' CSP authenticates with the user PIN only, while a PIV card
//! accepts PUT DATA, GENERATE, IMPORT and SET MANAGEMENT KEY only after authentication with the
//! management key (9B). The module gets there in this order:
//!
//! 1. the administrator role is authenticated (`CardAuthenticateEx(ROLE_ADMIN)` answered the card's
//!    challenge): the card already grants writes;
//! 2. the PIN-protected management key (Yubico's convention, which ykman, yubico-piv-tool and Yubico's
//!    minidriver share): flag `02` in the admin data object 5FFF00, the key in the PIN-protected object
//!    5FC109 as `88 { 89 key }`, readable after VERIFY PIN;
//! 3. the factory-default management key (GET METADATA 9B says whether the key is still the default, so a
//!    card that tells is not asked in vain). With the policy `ProtectManagementKey` (see
//!    [`crate::policy`]) the default key is first replaced by a random key of the card's current
//!    algorithm, stored PIN-protected, so that only the PIN holder can write afterwards; with
//!    `BlockDefaultPuk` a PUK the card reports to be still the default (GET METADATA 81, which spends no
//!    try) is blocked at the same time;
//! 4. when the default key fails, the key in 5FC109 even without the flag (a protection interrupted
//!    before its last step), which the module then completes: the flag is raised in 5FFF00 (logged).
//!
//! Anything the module changes on its own is logged. A card with none of these ways answers
//! `SCARD_W_SECURITY_VIOLATION`, with a log line saying what the administrator must do.
//!
//! The protection is ordered so that an interruption at any APDU loses no key: the new key is stored in
//! 5FC109 first (no tool uses it yet, the flag is off), then set on the card (SET MANAGEMENT KEY), then
//! the module authenticates with it (which proves the card took it), then blocks a default PUK, and only
//! then raises the flag in 5FFF00. Cut after the first step, the card still has the default key; after
//! the second, the key is in 5FC109 and step 4 finds it.
//!
//! A change of a PIN-protected key (`CardChangeAuthenticatorEx` for the administrator) keeps the old
//! key beside the new one in 5FC109 until the card has the new one (see
//! [`tessera_piv::objects::ProtectedData`]). So the key in 5FC109 is tried first and, when the card
//! refuses it and the object still holds the key of an interrupted change, that one (one more
//! authentication, never more); 5FC109 is then repaired to the key the card took, and a previous key
//! left beside a current key that works is removed. Both repairs are logged.

use tessera_piv::objects::{AdminData, ObjectError, ProtectedData, tags};
use tessera_piv::{KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PivError};

use zeroize::Zeroizing;

use crate::context::CardContext;
use crate::error::{MdError, Result};

/// What the administrator must do when the module cannot write (logged with the refusal).
const ADVICE: &str = "writes need the card's management key: store it PIN-protected on the card \
    (`ykman piv access change-management-key --protect`, `yubico-piv-tool -a set-mgm-key --new-key-pin-protected`, \
    or `tessera management-key protect`), or authenticate the administrator (CardAuthenticateEx ROLE_ADMIN)";

/// How one way of authenticating the management key turned out.
enum Attempt {
    /// The card accepted the key.
    Accepted,
    /// The way does not apply or the card refused the key.
    NotThisWay,
}

impl CardContext {
    /// Makes sure the card grants writes (management key authenticated), by the ways listed in the module
    /// documentation, in their order.
    pub(crate) fn ensure_write_rights(&mut self) -> Result<()> {
        if self.auth.admin || self.auth.write_rights {
            return Ok(());
        }
        let algorithm = self.management_algorithm();
        let admin_data = self.admin_data()?;
        let flagged = admin_data
            .as_ref()
            .is_some_and(AdminData::management_key_protected);
        if flagged {
            if let Attempt::Accepted = self.try_protected_key(algorithm)? {
                return self.granted("the PIN-protected management key");
            }
            tracing::warn!(
                "the admin data says the management key is PIN-protected, but 5FC109 holds no usable key"
            );
        }
        if let Attempt::Accepted = self.try_default_key(algorithm)? {
            if self.policy.protect_default_management_key {
                self.protect_management_key(algorithm, admin_data)?;
                return self.granted("a new PIN-protected management key");
            }
            tracing::warn!(
                "writing with the factory-default management key: anyone holding the card can change it \
                 (the policy ProtectManagementKey is off)"
            );
            return self.granted("the factory-default management key");
        }
        if !flagged && let Attempt::Accepted = self.try_protected_key(algorithm)? {
            tracing::warn!(
                "5FC109 holds the management key although the admin data does not say so (a protection \
                 interrupted before its last step): raising the flag in 5FFF00"
            );
            self.granted("the PIN-protected management key (no flag)")?;
            let no_block = self
                .protected_data()?
                .is_some_and(|protected| protected.puk_noblock_on_upgrade());
            return match self.finish_protection(admin_data, no_block) {
                Err(MdError::Transport(t)) => Err(MdError::Transport(t)),
                Err(e) => {
                    tracing::warn!("raising the flag in 5FFF00 failed ({e}); tried again at the next write");
                    Ok(())
                }
                Ok(()) => Ok(()),
            };
        }
        tracing::error!("the card refuses writes: {ADVICE}");
        Err(MdError::SecurityViolation(
            "no management key: not PIN-protected and not the factory default",
        ))
    }

    /// Runs a command that needs write rights (it carries no PIN): the rights are taken first, and when the
    /// card answers "security status not satisfied" although the module had taken them itself — another
    /// program selected the card in between, which ends a management-key authentication — they are
    /// taken again and the command is sent once more.
    pub(crate) fn write<T>(
        &mut self,
        mut op: impl FnMut(&mut tessera_piv::Session<Box<dyn crate::link::CardLink>>) -> tessera_piv::Result<T>,
    ) -> Result<T> {
        self.ensure_write_rights()?;
        match self.without_retry(&mut op) {
            Err(PivError::SecurityStatusNotSatisfied { .. })
                if self.auth.write_rights && !self.auth.admin =>
            {
                tracing::debug!("the card no longer grants writes: taking the rights again");
                self.auth.write_rights = false;
                self.ensure_write_rights()?;
                Ok(self.without_retry(op)?)
            }
            other => Ok(other?),
        }
    }

    fn granted(&mut self, how: &str) -> Result<()> {
        tracing::info!("write access with {how}");
        self.auth.write_rights = true;
        Ok(())
    }

    /// The admin data object 5FFF00, `None` when absent or unreadable (logged).
    pub(crate) fn admin_data(&mut self) -> Result<Option<AdminData>> {
        Ok(self.read_object(tags::YUBICO_ADMIN_DATA)?.and_then(|bytes| {
            AdminData::try_from(bytes.as_slice())
                .map_err(|e| tracing::warn!("admin data 5FFF00 unreadable, ignored: {e}"))
                .ok()
        }))
    }

    /// The PIN-protected data object 5FC109 (needs the verified PIN), `None` when absent or unreadable.
    pub(crate) fn protected_data(&mut self) -> Result<Option<ProtectedData>> {
        match self.protected_data_or_refusal() {
            Err(MdError::SecurityViolation(_)) => Ok(None),
            other => other,
        }
    }

    /// 5FC109 as [`Self::protected_data`] reads it, but `SecurityViolation` when the PIN is not verified
    /// or the card refuses the read: for a change that must not take "unreadable" for "empty".
    pub(crate) fn protected_data_or_refusal(&mut self) -> Result<Option<ProtectedData>> {
        if !self.auth.user {
            return Err(MdError::SecurityViolation(
                "5FC109 is read with the verified user PIN",
            ));
        }
        // The object holds management keys: its bytes are wiped once parsed.
        let bytes = self.read_object(tags::PRINTED_INFORMATION)?.map(Zeroizing::new);
        Ok(bytes.and_then(|bytes| {
            ProtectedData::try_from(bytes.as_slice())
                .map_err(|e| tracing::warn!("PIN-protected data 5FC109 unreadable, ignored: {e}"))
                .ok()
        }))
    }

    /// Writes 5FC109 (the management key authenticated).
    pub(crate) fn store_protected_data(&mut self, data: &ProtectedData) -> Result<()> {
        let encoded = encode_protected(data)?;
        Ok(self.without_retry(|s| s.put_data(tags::PRINTED_INFORMATION, &encoded))?)
    }

    /// The key in 5FC109, then (when the card refuses it) the previous key an interrupted change left
    /// beside it; 5FC109 is left holding the key the card took, alone.
    fn try_protected_key(&mut self, algorithm: ManagementAlgorithm) -> Result<Attempt> {
        let Some(mut protected) = self.protected_data()? else {
            return Ok(Attempt::NotThisWay);
        };
        let current = usable(protected.management_key(algorithm), algorithm, "key");
        let previous = usable(
            protected.previous_management_key(algorithm),
            algorithm,
            "previous key",
        )
        .filter(|previous| current.as_ref() != Some(previous));
        if let Some(key) = &current
            && let Attempt::Accepted = self.authenticate_with(key)?
        {
            if protected.previous_management_key_bytes().is_some() {
                protected.set_previous_management_key(None);
                self.repair_protected_data(
                    &protected,
                    "removed from 5FC109 the previous management key an interrupted change had left \
                     beside the card's key",
                )?;
            }
            return Ok(Attempt::Accepted);
        }
        let Some(previous) = previous else {
            return Ok(Attempt::NotThisWay);
        };
        tracing::info!(
            "the card refuses the management key in 5FC109; trying the previous key an interrupted \
             management-key change left beside it"
        );
        if let Attempt::NotThisWay = self.authenticate_with(&previous)? {
            return Ok(Attempt::NotThisWay);
        }
        protected.set_management_key(Some(&previous));
        protected.set_previous_management_key(None);
        self.repair_protected_data(
            &protected,
            "a management-key change was interrupted before the card took the new key: 5FC109 again \
             holds the key the card has (the change must be made again)",
        )?;
        Ok(Attempt::Accepted)
    }

    /// Rewrites 5FC109 after a repair the module made on its own (logged). A refusal is logged and
    /// left for the next write (the object still leads to the card's key); a lost card is an error.
    fn repair_protected_data(&mut self, data: &ProtectedData, what: &str) -> Result<()> {
        match self.store_protected_data(data) {
            Ok(()) => {
                tracing::warn!("{what}");
                Ok(())
            }
            Err(MdError::Transport(t)) => Err(MdError::Transport(t)),
            Err(e) => {
                tracing::warn!("repairing 5FC109 failed ({e}); it is repaired at the next write");
                Ok(())
            }
        }
    }

    fn try_default_key(&mut self, algorithm: ManagementAlgorithm) -> Result<Attempt> {
        let told = self
            .read_vendor(|s| s.get_metadata(KeyRef::MANAGEMENT))
            .ok()
            .flatten()
            .flatten()
            .and_then(|m| m.is_default);
        if told == Some(false) {
            return Ok(Attempt::NotThisWay);
        }
        let Some(key) = ManagementKey::default_for(algorithm) else {
            return Ok(Attempt::NotThisWay);
        };
        self.authenticate_with(&key)
    }

    /// Mutual authentication with `key`; a refusal by the card is "not this way", a lost card an error.
    fn authenticate_with(&mut self, key: &ManagementKey) -> Result<Attempt> {
        match self.without_retry(|s| s.authenticate_management_key(key)) {
            Ok(()) => Ok(Attempt::Accepted),
            Err(PivError::Transport(t)) => Err(MdError::Transport(t)),
            Err(e) => {
                tracing::debug!("management key refused: {e}");
                Ok(Attempt::NotThisWay)
            }
        }
    }

    /// Replaces the (authenticated) factory-default key by a random PIN-protected key, in the order the
    /// module documentation gives. Needs the verified PIN (5FC109 is read and written under it).
    fn protect_management_key(
        &mut self,
        algorithm: ManagementAlgorithm,
        admin: Option<AdminData>,
    ) -> Result<()> {
        if !self.auth.user {
            tracing::error!(
                "the card has the factory-default management key and the policy ProtectManagementKey asks \
                 to replace it, which needs the PIN: verify the PIN first, or turn the policy off"
            );
            return Err(MdError::SecurityViolation(
                "protecting the management key needs the verified PIN",
            ));
        }
        let key = random_management_key(algorithm)?;
        let mut protected = self.protected_data()?.unwrap_or_default();
        protected.set_management_key(Some(&key));
        // No previous key: until the flag is raised the factory default is the way back, and a previous
        // key some tool kept here is not the card's.
        protected.set_previous_management_key(None);
        self.store_protected_data(&protected)?;
        self.without_retry(|s| s.set_management_key(&key, false))?;
        tracing::warn!(
            "replaced the factory-default management key by a random {algorithm:?} key kept in the \
             PIN-protected object 5FC109 (policy ProtectManagementKey)"
        );
        if let Attempt::NotThisWay = self.authenticate_with(&key)? {
            return Err(MdError::Unexpected(
                "the card does not accept the management key it was just given".into(),
            ));
        }
        self.finish_protection(admin, protected.puk_noblock_on_upgrade())
    }

    /// The last steps of a protection, with the card's management key authenticated and kept in 5FC109:
    /// a factory-default PUK blocked where the policy asks it, then the flag raised in 5FFF00 (the other
    /// fields kept), after which other tools look for the key in 5FC109. `no_block`: 5FC109 asks that
    /// the PUK be left alone.
    fn finish_protection(&mut self, admin: Option<AdminData>, no_block: bool) -> Result<()> {
        let mut admin = admin.unwrap_or_default();
        if self.policy.block_default_puk && !no_block && self.block_default_puk()? {
            admin.set_puk_blocked(true);
        }
        admin.set_management_key_protected(true);
        let encoded = admin
            .encode()
            .map_err(|e| MdError::Unexpected(format!("5FFF00: {e}")))?;
        self.without_retry(|s| s.put_data(tags::YUBICO_ADMIN_DATA, &encoded))?;
        Ok(())
    }

    /// Blocks the PUK when GET METADATA 81 reports it to be the factory default (no try is spent to find
    /// out, and a card that does not tell keeps its PUK): wrong PUKs are presented until the card says
    /// it is blocked. Returns whether it blocked it.
    fn block_default_puk(&mut self) -> Result<bool> {
        let metadata = self
            .read_vendor(|s| s.get_metadata(KeyRef::PUK))
            .ok()
            .flatten()
            .flatten();
        let Some(metadata) = metadata.filter(|m| m.is_default == Some(true)) else {
            return Ok(false);
        };
        let tries = metadata.retries.map_or(3, |(_, left)| left).min(15);
        // Neither value is the default PUK, which the card holds: each presentation is a wrong one.
        let wrong = PaddedPin::from_padded(b"00000000");
        let also_wrong = PaddedPin::from_padded(b"99999999");
        for _ in 0..=tries {
            match self.without_retry(|s| s.change_reference_data(KeyRef::PUK, &wrong, &also_wrong)) {
                Err(PivError::WrongPin { retries: 0 } | PivError::Blocked) => {
                    tracing::warn!(
                        "blocked the PUK, which was still the factory default (policy BlockDefaultPuk): \
                         the PIN can no longer be unblocked with it"
                    );
                    return Ok(true);
                }
                Err(PivError::WrongPin { .. }) => {}
                Err(PivError::Transport(t)) => return Err(MdError::Transport(t)),
                Err(e) => {
                    tracing::warn!("the default PUK could not be blocked: {e}");
                    return Ok(false);
                }
                Ok(()) => {
                    // Impossible with a default PUK; the PUK now is the second value, unknown to anyone
                    // but this log's reader.
                    tracing::error!("the card took a wrong PUK: its PUK was not the default");
                    return Ok(false);
                }
            }
        }
        tracing::warn!("the PUK was not blocked after {tries} wrong tries");
        Ok(false)
    }

    /// Ends management-key rights the module obtained on its own (with the user's PIN): they belong to
    /// the user's session. An unanswered new management-key exchange replaces the authentication.
    pub(crate) fn drop_write_rights(&mut self) {
        if !self.auth.write_rights {
            return;
        }
        self.auth.write_rights = false;
        if self.auth.admin {
            return;
        }
        let algorithm = self.management_algorithm();
        if let Err(e) = self.without_retry(|s| s.management_challenge(algorithm)) {
            tracing::debug!("ending the management-key rights failed ({e}); the card keeps them until reset");
        }
    }
}

/// 5FC109's content, wiped on drop.
pub(crate) fn encode_protected(data: &ProtectedData) -> Result<Zeroizing<Vec<u8>>> {
    data.encode()
        .map_err(|e| MdError::Unexpected(format!("5FC109: {e}")))
}

/// A key read from 5FC109, or `None` (logged, never shown) when it is not a key of `algorithm`.
fn usable(
    key: std::result::Result<Option<ManagementKey>, ObjectError>,
    algorithm: ManagementAlgorithm,
    what: &str,
) -> Option<ManagementKey> {
    key.map_err(|e| tracing::warn!("the {what} in 5FC109 is not a {algorithm:?} key: {e}"))
        .ok()
        .flatten()
}

/// A random management key of `algorithm` (a weak 3DES key, improbable, is drawn again).
fn random_management_key(algorithm: ManagementAlgorithm) -> Result<ManagementKey> {
    for _ in 0..8 {
        let mut bytes = Zeroizing::new(vec![0u8; algorithm.key_len()]);
        getrandom::fill(&mut bytes)
            .map_err(|_| MdError::Unexpected("operating system RNG unavailable".into()))?;
        if let Ok(key) = ManagementKey::new(algorithm, &bytes) {
            return Ok(key);
        }
    }
    Err(MdError::Unexpected("no usable random management key".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a failure is a panic with its message")]

    use tessera_piv::objects::{AdminData, tags};

    use crate::codes::SCARD_W_SECURITY_VIOLATION;
    use crate::testing;

    use crate::testing::tdes_key as key;

    #[test]
    fn a_change_cut_before_the_card_took_the_new_key_falls_back_to_the_previous_key_and_repairs_5fc109() {
        let card = testing::card(40);
        let (old, new) = (key(1), key(41));
        testing::protect_mid_change(&card, &old, &new, &old);
        let (mut ctx, commands) = testing::recorded(&card, true);
        ctx.ensure_write_rights().unwrap();
        let commands = commands.lock().unwrap();
        assert_eq!(
            testing::management_authentications(&commands),
            2,
            "the key in 89, then the previous one: one fallback"
        );
        // Repaired: the key the card has, alone, in Yubico's form.
        let stored = testing::stored_protected_data(&card);
        assert_eq!(stored.management_key_bytes(), Some(old.as_bytes()));
        assert_eq!(stored.previous_management_key_bytes(), None);
        assert_eq!(testing::protected_data_writes(&commands), [stored]);
        drop(commands);
        // The rights are real: the card takes a write.
        let mut admin = AdminData::default();
        admin.set_management_key_protected(true);
        let admin = admin.encode().unwrap();
        ctx.write(|s| s.put_data(tags::YUBICO_ADMIN_DATA, &admin))
            .unwrap();
    }

    #[test]
    fn a_change_cut_after_the_card_took_the_new_key_keeps_it_and_drops_the_previous_key() {
        let card = testing::card(41);
        let (old, new) = (key(1), key(41));
        testing::protect_mid_change(&card, &new, &new, &old);
        let (mut ctx, commands) = testing::recorded(&card, true);
        ctx.ensure_write_rights().unwrap();
        let commands = commands.lock().unwrap();
        assert_eq!(
            testing::management_authentications(&commands),
            1,
            "the key in 89 works: the previous one is not tried"
        );
        let stored = testing::stored_protected_data(&card);
        assert_eq!(stored.management_key_bytes(), Some(new.as_bytes()));
        assert_eq!(
            stored.previous_management_key_bytes(),
            None,
            "the old key is wiped"
        );
        assert_eq!(testing::protected_data_writes(&commands).len(), 1);
    }

    #[test]
    fn a_protection_cut_before_the_flag_is_completed_with_the_key_found_in_5fc109() {
        let card = testing::card(43);
        let protected_key = key(41);
        testing::protect_with(&card, &protected_key);
        // The flag never reached 5FFF00.
        testing::put_admin_data(&card, &protected_key, &AdminData::default());
        let (mut ctx, commands) = testing::recorded(&card, true);
        ctx.ensure_write_rights().unwrap();
        let commands = commands.lock().unwrap();
        // GET METADATA says the key is not the default: only the key in 5FC109 is tried.
        assert_eq!(testing::management_authentications(&commands), 1);
        assert!(testing::protected_data_writes(&commands).is_empty());
        drop(commands);
        let admin = testing::stored_admin_data(&card);
        assert!(admin.management_key_protected(), "the flag is raised");
        // A second context goes the flagged way at once.
        let (mut ctx, commands) = testing::recorded(&card, true);
        ctx.ensure_write_rights().unwrap();
        assert_eq!(testing::management_authentications(&commands.lock().unwrap()), 1);
    }

    #[test]
    fn when_neither_key_is_the_cards_nothing_is_rewritten_and_writes_are_refused() {
        let card = testing::card(42);
        let (other, new, old) = (key(81), key(41), key(1));
        testing::protect_mid_change(&card, &other, &new, &old);
        let (mut ctx, commands) = testing::recorded(&card, true);
        let err = ctx.ensure_write_rights().unwrap_err();
        assert_eq!(err.code(), SCARD_W_SECURITY_VIOLATION);
        let commands = commands.lock().unwrap();
        // Two keys of 5FC109 tried, the default not (GET METADATA says the key is not the default).
        assert_eq!(testing::management_authentications(&commands), 2);
        assert!(testing::protected_data_writes(&commands).is_empty());
        let stored = testing::stored_protected_data(&card);
        assert_eq!(stored.management_key_bytes(), Some(new.as_bytes()));
        assert_eq!(stored.previous_management_key_bytes(), Some(old.as_bytes()));
    }
}
