//! Persistent state: what a YubiKey keeps in flash, and what the state file holds.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use tessera_piv::mgm::DEFAULT_MANAGEMENT_KEY;
use tessera_piv::pin::{DEFAULT_PIN, DEFAULT_PUK};
use tessera_piv::{AlgorithmId, KeyRef, ManagementAlgorithm, PaddedPin, PinPolicy, TouchPolicy};
use zeroize::Zeroizing;

use crate::attestation;
use crate::config::CardConfig;
use crate::error::VirtualCardError;
use crate::keys::{KeyMaterial, PrivateKey};
use crate::rng::CardRng;
use crate::secret::Secret;
use crate::state::fresh::{DISCOVERY_OBJECT, ccc_template, chuid_template};

/// Version of the state file format.
pub const FORMAT_VERSION: u32 = 1;
/// Tries a fresh card gives the PIN and the PUK.
pub const DEFAULT_RETRIES: u8 = 3;
/// The attestation certificate object.
pub const ATTESTATION_OBJECT: u32 = 0x5FFF01;

/// A PIN or PUK with its retry counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// The 8-byte padded value.
    pub value: Secret,
    /// Tries after a reset of the counter.
    pub retries_total: u8,
    /// Tries left; 0 = blocked.
    pub retries_left: u8,
}

impl Credential {
    fn new(value: &[u8], retries: u8) -> Self {
        let padded = PaddedPin::new(value)
            .map(|p| Secret::new(p.as_bytes()))
            .unwrap_or_default();
        Self {
            value: padded,
            retries_total: retries,
            retries_left: retries,
        }
    }

    /// True when no tries are left.
    pub fn is_blocked(&self) -> bool {
        self.retries_left == 0
    }

    /// True when the value is `default` (padded).
    pub fn is_value(&self, default: &[u8]) -> bool {
        PaddedPin::new(default).is_ok_and(|p| self.value.ct_eq(p.as_bytes()))
    }
}

/// The card-administration key (9B).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagementKeyState {
    /// Algorithm identifier (03 3DES, 08/0A/0C AES).
    pub algorithm: u8,
    /// Key bytes.
    pub key: Secret,
    /// Touch policy set with SET MANAGEMENT KEY (recorded; touch is simulated).
    pub touch: TouchPolicy,
}

impl ManagementKeyState {
    fn default_for(algorithm: ManagementAlgorithm) -> Self {
        Self {
            algorithm: algorithm.id().0,
            key: Secret::new(&DEFAULT_MANAGEMENT_KEY),
            touch: TouchPolicy::Never,
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Option<ManagementAlgorithm> {
        AlgorithmId(self.algorithm).management()
    }

    /// True while the key is the factory key bytes.
    pub fn is_default(&self) -> bool {
        self.key.ct_eq(&DEFAULT_MANAGEMENT_KEY)
    }
}

/// Where a key came from (GET METADATA tag 03; ATTEST works only for generated keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOrigin {
    /// GENERATE ASYMMETRIC KEY PAIR.
    Generated,
    /// IMPORT ASYMMETRIC KEY.
    Imported,
}

/// A private key in a slot with its policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Algorithm identifier.
    pub algorithm: u8,
    /// PIN policy (resolved: never `Default`).
    pub pin_policy: PinPolicy,
    /// Touch policy (resolved: never `Default`).
    pub touch_policy: TouchPolicy,
    /// Generated or imported.
    pub origin: KeyOrigin,
    /// The private key.
    pub material: KeyMaterial,
}

impl StoredKey {
    /// Stores `key` with its policies.
    pub fn new(
        key: &PrivateKey,
        pin_policy: PinPolicy,
        touch_policy: TouchPolicy,
        origin: KeyOrigin,
    ) -> Self {
        Self {
            algorithm: key.algorithm().0,
            pin_policy,
            touch_policy,
            origin,
            material: key.to_material(),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> AlgorithmId {
        AlgorithmId(self.algorithm)
    }

    /// Rebuilds the usable key.
    pub fn private_key(&self) -> Result<PrivateKey, VirtualCardError> {
        PrivateKey::from_material(self.algorithm(), &self.material)
    }
}

/// A data object's value (the bytes inside `53`, or inside `7E`/`7F61`). May hold secrets (5FC109 keeps
/// a management key), so it is zeroized on drop and `Debug` shows only its length. Stored as hex.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectValue(Secret);

impl ObjectValue {
    /// Takes ownership of `bytes` (no copy is left behind).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Secret::from_zeroizing(Zeroizing::new(bytes)))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.expose()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for an empty value (which PUT DATA uses to delete an object).
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl fmt::Debug for ObjectValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectValue(<{} bytes>)", self.len())
    }
}

/// Everything the card keeps across power cycles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistentState {
    /// [`FORMAT_VERSION`].
    pub format: u32,
    /// GET SERIAL answer.
    pub serial: u32,
    /// GET VERSION answer.
    pub version: [u8; 3],
    /// The PIV PIN (80).
    pub pin: Credential,
    /// The PUK (81).
    pub puk: Credential,
    /// The management key (9B).
    pub management: ManagementKeyState,
    /// The management-key algorithm RESET restores.
    pub default_management_algorithm: u8,
    /// Private keys by slot.
    pub keys: BTreeMap<u8, StoredKey>,
    /// Data objects by tag.
    pub objects: BTreeMap<u32, ObjectValue>,
}

impl PersistentState {
    /// A card as it leaves the factory: default PIN, PUK and management key, an attestation key with its
    /// certificate, and CHUID, CCC and discovery objects.
    pub fn fresh(config: &CardConfig, rng: &mut CardRng) -> Result<Self, VirtualCardError> {
        let (authority_key, authority_cert) = attestation::create_authority(rng)?;
        let mut state = Self {
            format: FORMAT_VERSION,
            serial: config.serial,
            version: config.version,
            pin: Credential::new(DEFAULT_PIN, DEFAULT_RETRIES),
            puk: Credential::new(DEFAULT_PUK, DEFAULT_RETRIES),
            management: ManagementKeyState::default_for(config.management_algorithm),
            default_management_algorithm: config.management_algorithm.id().0,
            keys: BTreeMap::new(),
            objects: BTreeMap::new(),
        };
        state.keys.insert(
            KeyRef::ATTESTATION.0,
            StoredKey::new(
                &authority_key,
                PinPolicy::Never,
                TouchPolicy::Never,
                KeyOrigin::Imported,
            ),
        );
        let cert_object = tessera_piv::tlv::encode(0x70, &authority_cert)
            .map_err(|e| VirtualCardError::Crypto(e.to_string()))?;
        state
            .objects
            .insert(ATTESTATION_OBJECT, ObjectValue::new(cert_object));
        state.add_identity_objects(rng);
        Ok(state)
    }

    fn add_identity_objects(&mut self, rng: &mut CardRng) {
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&rng.bytes(16));
        let mut card_id = [0u8; 14];
        card_id.copy_from_slice(&rng.bytes(14));
        self.objects.insert(
            tessera_piv::objects::tags::CHUID,
            ObjectValue::new(chuid_template(&guid)),
        );
        self.objects.insert(
            tessera_piv::objects::tags::CCC,
            ObjectValue::new(ccc_template(&card_id)),
        );
        let discovery = DISCOVERY_OBJECT.get(2..).unwrap_or_default().to_vec();
        self.objects
            .insert(tessera_piv::objects::tags::DISCOVERY, ObjectValue::new(discovery));
    }

    /// The Yubico RESET: every key, object and credential back to factory values, except the attestation
    /// key and certificate, the serial and the version. New CHUID and CCC identifiers are drawn.
    pub fn reset_application(&mut self, rng: &mut CardRng) {
        let attestation_key = self.keys.remove(&KeyRef::ATTESTATION.0);
        let attestation_cert = self.objects.remove(&ATTESTATION_OBJECT);
        self.keys.clear();
        self.objects.clear();
        if let Some(key) = attestation_key {
            self.keys.insert(KeyRef::ATTESTATION.0, key);
        }
        if let Some(cert) = attestation_cert {
            self.objects.insert(ATTESTATION_OBJECT, cert);
        }
        self.pin = Credential::new(DEFAULT_PIN, DEFAULT_RETRIES);
        self.puk = Credential::new(DEFAULT_PUK, DEFAULT_RETRIES);
        let algorithm = AlgorithmId(self.default_management_algorithm)
            .management()
            .unwrap_or(ManagementAlgorithm::Tdes);
        self.management = ManagementKeyState::default_for(algorithm);
        self.add_identity_objects(rng);
    }

    /// Sets PIN and PUK to their defaults with new try counts (SET PIN RETRIES).
    pub fn set_retries(&mut self, pin_tries: u8, puk_tries: u8) {
        self.pin = Credential::new(DEFAULT_PIN, pin_tries);
        self.puk = Credential::new(DEFAULT_PUK, puk_tries);
    }

    /// Bytes used by data objects (the storage the card budgets).
    pub fn object_bytes(&self) -> usize {
        self.objects.values().map(ObjectValue::len).sum()
    }

    /// Checks the invariants a state file must meet to be loaded.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != FORMAT_VERSION {
            return Err(format!("format {} (expected {FORMAT_VERSION})", self.format));
        }
        for (name, c) in [("PIN", &self.pin), ("PUK", &self.puk)] {
            if c.value.expose().len() != 8 || c.retries_left > c.retries_total || c.retries_total == 0 {
                return Err(format!("{name} record is inconsistent"));
            }
        }
        let Some(alg) = self.management.algorithm() else {
            return Err("unknown management key algorithm".into());
        };
        if self.management.key.expose().len() != alg.key_len() {
            return Err("management key has the wrong length".into());
        }
        for (slot, key) in &self.keys {
            if !KeyRef(*slot).is_key_slot() {
                return Err(format!("key in non-key slot {slot:02X}"));
            }
            key.private_key()
                .map_err(|e| format!("key in slot {slot:02X}: {e}"))?;
        }
        Ok(())
    }
}
