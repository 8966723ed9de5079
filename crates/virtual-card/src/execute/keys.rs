//! Key management: GENERATE, and the Yubico IMPORT, MOVE/DELETE KEY, GET METADATA and ATTEST.

use tessera_piv::commands::{KeyOrigin as WireOrigin, Metadata};
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, StatusWord, TouchPolicy};

use super::Engine;
use crate::attestation::{self, AttestedKey};
use crate::command::{ImportMaterial, Reply};
use crate::keys::PrivateKey;
use crate::state::{KeyOrigin, StoredKey};

/// The PIN policy a slot gets when the host asks for the default: 9C ALWAYS, 9E and F9 NEVER, else ONCE.
pub fn default_pin_policy(slot: KeyRef) -> PinPolicy {
    match slot {
        KeyRef::SIGNATURE => PinPolicy::Always,
        KeyRef::CARD_AUTHENTICATION | KeyRef::ATTESTATION => PinPolicy::Never,
        _ => PinPolicy::Once,
    }
}

fn resolve(slot: KeyRef, pin: PinPolicy, touch: TouchPolicy) -> (PinPolicy, TouchPolicy) {
    let pin = if pin == PinPolicy::Default {
        default_pin_policy(slot)
    } else {
        pin
    };
    let touch = if touch == TouchPolicy::Default {
        TouchPolicy::Never
    } else {
        touch
    };
    (pin, touch)
}

impl Engine {
    pub(super) fn generate(
        &mut self,
        slot: KeyRef,
        algorithm: AlgorithmId,
        pin_policy: PinPolicy,
        touch_policy: TouchPolicy,
    ) -> Reply {
        self.require_management()?;
        let key = PrivateKey::generate(algorithm, &mut self.rng).map_err(|_| StatusWord::UNKNOWN_ERROR)?;
        let (pin, touch) = resolve(slot, pin_policy, touch_policy);
        let public = key.public_key().encode_template();
        self.persistent_mut()
            .keys
            .insert(slot.0, StoredKey::new(&key, pin, touch, KeyOrigin::Generated));
        Ok(public)
    }

    pub(super) fn import(
        &mut self,
        slot: KeyRef,
        algorithm: AlgorithmId,
        material: &ImportMaterial,
        pin_policy: PinPolicy,
        touch_policy: TouchPolicy,
    ) -> Reply {
        self.require_management()?;
        let key = match material {
            ImportMaterial::Rsa { parts } => {
                let [p, q, dp, dq, qinv] = parts;
                PrivateKey::import_rsa(
                    algorithm,
                    [p.expose(), q.expose(), dp.expose(), dq.expose(), qinv.expose()],
                )
            }
            ImportMaterial::Ec { scalar } => PrivateKey::import_ec(algorithm, scalar.expose()),
        }
        .map_err(|_| StatusWord::INCORRECT_DATA)?;
        let (pin, touch) = resolve(slot, pin_policy, touch_policy);
        self.persistent_mut()
            .keys
            .insert(slot.0, StoredKey::new(&key, pin, touch, KeyOrigin::Imported));
        Ok(Vec::new())
    }

    pub(super) fn move_key(&mut self, from: KeyRef, to: Option<KeyRef>) -> Reply {
        self.require_management()?;
        if !self.persistent.keys.contains_key(&from.0) {
            return Err(StatusWord::NOT_FOUND);
        }
        let keys = &mut self.persistent_mut().keys;
        let key = keys.remove(&from.0);
        if let (Some(to), Some(key)) = (to, key) {
            keys.insert(to.0, key);
        }
        Ok(Vec::new())
    }

    pub(super) fn metadata(&mut self, reference: KeyRef) -> Reply {
        let metadata = match reference {
            KeyRef::PIN | KeyRef::PUK => {
                let (credential, default) = if reference == KeyRef::PIN {
                    (&self.persistent.pin, tessera_piv::pin::DEFAULT_PIN)
                } else {
                    (&self.persistent.puk, tessera_piv::pin::DEFAULT_PUK)
                };
                Metadata {
                    algorithm: Some(AlgorithmId::PIN),
                    is_default: Some(credential.is_value(default)),
                    retries: Some((credential.retries_total, credential.retries_left)),
                    ..Metadata::default()
                }
            }
            KeyRef::MANAGEMENT => {
                let management = &self.persistent.management;
                Metadata {
                    algorithm: Some(AlgorithmId(management.algorithm)),
                    pin_policy: Some(PinPolicy::Never),
                    touch_policy: Some(management.touch),
                    is_default: Some(management.is_default()),
                    ..Metadata::default()
                }
            }
            slot => {
                let stored = self.persistent.keys.get(&slot.0).ok_or(StatusWord::NOT_FOUND)?;
                let key = stored.private_key().map_err(|_| StatusWord::UNKNOWN_ERROR)?;
                Metadata {
                    algorithm: Some(stored.algorithm()),
                    pin_policy: Some(stored.pin_policy),
                    touch_policy: Some(stored.touch_policy),
                    origin: Some(match stored.origin {
                        KeyOrigin::Generated => WireOrigin::Generated,
                        KeyOrigin::Imported => WireOrigin::Imported,
                    }),
                    public_key: Some(key.public_key()),
                    ..Metadata::default()
                }
            }
        };
        Ok(metadata.encode())
    }

    pub(super) fn attest(&mut self, slot: KeyRef) -> Reply {
        // A YubiKey answers 6A80 for an empty slot and for an imported key: there is nothing to attest.
        let stored = self
            .persistent
            .keys
            .get(&slot.0)
            .ok_or(StatusWord::INCORRECT_DATA)?;
        if stored.origin != KeyOrigin::Generated {
            return Err(StatusWord::INCORRECT_DATA);
        }
        let key = stored.private_key().map_err(|_| StatusWord::UNKNOWN_ERROR)?;
        let authority = self
            .persistent
            .keys
            .get(&KeyRef::ATTESTATION.0)
            .ok_or(StatusWord::INCORRECT_DATA)?;
        let authority_key = authority.private_key().map_err(|_| StatusWord::UNKNOWN_ERROR)?;
        let authority_cert = self
            .persistent
            .objects
            .get(&crate::state::ATTESTATION_OBJECT)
            .and_then(|object| tessera_piv::tlv::parse_all(object.as_bytes()).ok())
            .and_then(|elements| tessera_piv::tlv::find(&elements, 0x70).map(<[u8]>::to_vec));
        let attested = AttestedKey {
            slot: slot.0,
            key: &key,
            pin_policy: stored.pin_policy,
            touch_policy: stored.touch_policy,
        };
        let (serial, version) = (self.persistent.serial, self.persistent.version);
        attestation::attest(
            attested,
            &authority_key,
            authority_cert.as_deref(),
            serial,
            version,
            &mut self.rng,
        )
        .map_err(|_| StatusWord::INCORRECT_DATA)
    }
}
