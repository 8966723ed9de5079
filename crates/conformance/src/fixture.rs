//! The card's known state: what the harness provisions through its own PIV session (keys generated on
//! the card, certificates made with `x509-cert`'s builder and signed by a software CA), or what it reads
//! back from a card it is told not to touch. Suites compare what the module reports with this.
//!
//! The default plan covers every case of the read-side suites; [`SlotPlan`] lists are open-ended, so the
//! cryptographic suites can add slots (every RSA size, P-384) without changing the provisioning code.

use std::str::FromStr;
use std::time::Duration;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1};
use der::asn1::{Any, BitString, UtcTime};
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use tessera_piv::objects::{
    AdminData, CertificateObject, Chuid, KeyHistory, ProtectedData, root_store, tags,
};
use tessera_piv::{
    AlgorithmId, KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PinPolicy, PinStatus, PublicKey,
    Session, TouchPolicy, Transport,
};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// The card's default PIN, PUK and management key (3DES), which provisioning assumes.
pub const DEFAULT_PIN: &[u8] = b"123456";
/// Default PUK.
pub const DEFAULT_PUK: &[u8] = b"12345678";
/// PIN tries of a fresh card.
pub const PIN_TRIES: u8 = 3;

/// The key usage a certificate announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CertUsage {
    /// No key-usage extension (any use).
    Unrestricted,
    /// digitalSignature only.
    SignOnly,
    /// digitalSignature + keyEncipherment (RSA dual use).
    SignAndEncrypt,
    /// digitalSignature + keyAgreement (EC).
    SignAndAgree,
    /// keyAgreement only (EC).
    AgreeOnly,
}

impl CertUsage {
    fn key_usage(self) -> Option<KeyUsage> {
        let bits = match self {
            Self::Unrestricted => return None,
            Self::SignOnly => KeyUsages::DigitalSignature.into(),
            Self::SignAndEncrypt => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
            Self::SignAndAgree => KeyUsages::DigitalSignature | KeyUsages::KeyAgreement,
            Self::AgreeOnly => KeyUsages::KeyAgreement.into(),
        };
        Some(KeyUsage(bits))
    }

    /// May the key sign?
    pub fn signs(self) -> bool {
        !matches!(self, Self::AgreeOnly)
    }

    /// May the key decrypt (RSA) ?
    pub fn encrypts(self) -> bool {
        matches!(self, Self::Unrestricted | Self::SignAndEncrypt)
    }

    /// May the key agree (EC)?
    pub fn agrees(self) -> bool {
        matches!(self, Self::Unrestricted | Self::SignAndAgree | Self::AgreeOnly)
    }
}

/// One slot to provision.
#[derive(Debug, Clone, Copy)]
pub struct SlotPlan {
    /// The PIV slot.
    pub slot: KeyRef,
    /// Key algorithm.
    pub algorithm: AlgorithmId,
    /// PIN policy of the generated key.
    pub pin_policy: PinPolicy,
    /// The certificate's usage, or `None` for a key without a certificate.
    pub certificate: Option<CertUsage>,
}

/// The plan: every key size the card supports, with the uses the suites need.
///
/// - 9A: RSA-2048, dual-use certificate (the exchange key that also signs), PIN once.
/// - 9C: P-256, sign-only certificate, PIN always (the PIN-always role).
/// - 9D: P-256 without a certificate (ECDSA and ECDH from the key alone).
/// - 9E: RSA-2048, sign-only certificate, no PIN.
/// - 82: P-384, signs and agrees (ECDSA + ECDH twin).
/// - 83, 84, 85: RSA-1024, RSA-3072, RSA-4096, dual use (exchange keys).
/// - 86: P-256, signs and agrees.
///
/// The retired slots are contiguous from 82 and all hold certificates: the Key History object counts
/// them, and it is the only way a host finds retired keys.
pub fn default_plan() -> Vec<SlotPlan> {
    let mut plan = issue4_plan();
    let retired = |n: u8| KeyRef::retired(n).unwrap_or(KeyRef::RETIRED_FIRST);
    for (n, algorithm, usage) in [
        (2, AlgorithmId::RSA1024, CertUsage::SignAndEncrypt),
        (3, AlgorithmId::RSA3072, CertUsage::SignAndEncrypt),
        (4, AlgorithmId::RSA4096, CertUsage::SignAndEncrypt),
        (5, AlgorithmId::ECCP256, CertUsage::SignAndAgree),
    ] {
        plan.push(SlotPlan {
            slot: retired(n),
            algorithm,
            pin_policy: PinPolicy::Once,
            certificate: Some(usage),
        });
    }
    plan
}

/// Issue 4's plan: RSA-2048 dual use in 9A, P-256 (signing) in 9C, a P-256 key without a certificate in
/// 9D, an RSA-2048 sign-only certificate in 9E, and a P-384 key that signs and agrees in retired slot 82.
pub fn issue4_plan() -> Vec<SlotPlan> {
    vec![
        SlotPlan {
            slot: KeyRef::AUTHENTICATION,
            algorithm: AlgorithmId::RSA2048,
            pin_policy: PinPolicy::Once,
            certificate: Some(CertUsage::SignAndEncrypt),
        },
        SlotPlan {
            slot: KeyRef::SIGNATURE,
            algorithm: AlgorithmId::ECCP256,
            pin_policy: PinPolicy::Always,
            certificate: Some(CertUsage::SignOnly),
        },
        SlotPlan {
            slot: KeyRef::KEY_MANAGEMENT,
            algorithm: AlgorithmId::ECCP256,
            pin_policy: PinPolicy::Once,
            certificate: None,
        },
        SlotPlan {
            slot: KeyRef::CARD_AUTHENTICATION,
            algorithm: AlgorithmId::RSA2048,
            pin_policy: PinPolicy::Never,
            certificate: Some(CertUsage::SignOnly),
        },
        SlotPlan {
            slot: KeyRef::RETIRED_FIRST,
            algorithm: AlgorithmId::ECCP384,
            pin_policy: PinPolicy::Once,
            certificate: Some(CertUsage::SignAndAgree),
        },
    ]
}

/// What one slot holds.
#[derive(Debug, Clone)]
pub struct SlotState {
    /// The slot.
    pub slot: KeyRef,
    /// The public key.
    pub public_key: PublicKey,
    /// The certificate as written (DER).
    pub certificate: Option<Vec<u8>>,
    /// Its usage (`Unrestricted` without a certificate).
    pub usage: CertUsage,
    /// The key's PIN policy, when known.
    pub pin_policy: Option<PinPolicy>,
}

impl SlotState {
    /// True for RSA keys.
    pub fn is_rsa(&self) -> bool {
        matches!(self.public_key, PublicKey::Rsa { .. })
    }

    /// RSA modulus or EC point X‖Y (what the Windows blobs carry), big-endian.
    pub fn key_material(&self) -> Vec<u8> {
        match &self.public_key {
            PublicKey::Rsa { modulus, .. } => modulus.clone(),
            PublicKey::Ecc { point, .. } => point.get(1..).unwrap_or_default().to_vec(),
        }
    }

    /// Key size in bits.
    pub fn key_bits(&self) -> u32 {
        self.public_key.algorithm().key_bits().unwrap_or(0)
    }
}

/// The card's known state.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The slots holding keys.
    pub slots: Vec<SlotState>,
    /// The CHUID GUID.
    pub chuid_guid: Option<[u8; 16]>,
    /// The root store written to 5FFF11.., when provisioned.
    pub roots: Option<Vec<u8>>,
    /// True when the harness provisioned the card (PIN/PUK/management key are the defaults).
    pub provisioned: bool,
}

impl Fixture {
    /// The slot state for `slot`.
    pub fn slot(&self, slot: KeyRef) -> Option<&SlotState> {
        self.slots.iter().find(|s| s.slot == slot)
    }
}

/// Provisioning failures.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A card command failed.
    #[error("{step}: {source}")]
    Card {
        /// What was being done.
        step: String,
        /// The error.
        #[source]
        source: tessera_piv::PivError,
    },
    /// A certificate could not be built.
    #[error("certificate for slot {slot}: {reason}")]
    Certificate {
        /// The slot.
        slot: KeyRef,
        /// Why.
        reason: String,
    },
}

fn card(step: impl Into<String>) -> impl FnOnce(tessera_piv::PivError) -> FixtureError {
    let step = step.into();
    move |source| FixtureError::Card { step, source }
}

/// Puts the card in the known state: default PIN (unblocked with the default PUK when needed), default
/// 3DES management key (taken back from the PIN-protected data when it was replaced), the planned keys and certificates, no container map (the module synthesises
/// one), and optionally a root store.
pub fn provision<T: Transport>(
    session: &mut Session<T>,
    plan: &[SlotPlan],
    with_roots: bool,
) -> Result<Fixture, FixtureError> {
    session.select().map_err(card("SELECT"))?;
    let mgm = ManagementKey::default_for(ManagementAlgorithm::Tdes).ok_or_else(|| FixtureError::Card {
        step: "default management key".into(),
        source: tessera_piv::PivError::CardAuthenticationFailed,
    })?;
    if session.authenticate_management_key(&mgm).is_err() {
        take_back_protected_key(session, &mgm)?;
    }
    restore_pin(session)?;
    let ca = SoftwareCa::new();
    let mut slots = Vec::new();
    for p in plan {
        let public_key = session
            .generate_key_pair(p.slot, p.algorithm, p.pin_policy, TouchPolicy::Never)
            .map_err(card(format!("generate a key in slot {}", p.slot)))?;
        let tag = p.slot.certificate_object().unwrap_or(0);
        let certificate = match p.certificate {
            Some(usage) => {
                let der = ca.issue(p.slot, &public_key, usage)?;
                let object = CertificateObject::new(der.clone())
                    .encode()
                    .map_err(|e| card(format!("certificate object {tag:06X}"))(e.into()))?;
                session
                    .put_data(tag, &object)
                    .map_err(card(format!("write certificate {tag:06X}")))?;
                Some(der)
            }
            None => {
                // A leftover certificate would describe another key.
                let _ = session.put_data(tag, &[]);
                None
            }
        };
        slots.push(SlotState {
            slot: p.slot,
            public_key,
            certificate,
            usage: p.certificate.unwrap_or(CertUsage::Unrestricted),
            pin_policy: Some(p.pin_policy),
        });
    }
    // SP 800-73-4 Part 1 §3.3.2: the key history object counts the retired keys with on-card
    // certificates (they occupy 82, 83, … in order), which is how a host finds them.
    let retired = (1..=20u8)
        .take_while(|&n| {
            KeyRef::retired(n).is_some_and(|k| {
                slots
                    .iter()
                    .any(|s: &SlotState| s.slot == k && s.certificate.is_some())
            })
        })
        .count() as u8;
    let history = KeyHistory {
        keys_with_on_card_certs: retired,
        keys_with_off_card_certs: 0,
        off_card_cert_url: None,
    }
    .encode()
    .map_err(|e| card("key history object")(e.into()))?;
    session
        .put_data(tags::KEY_HISTORY, &history)
        .map_err(card("write the key history object"))?;
    let _ = session.put_data(tags::YUBICO_CONTAINER_MAP, &[]);
    let _ = session.put_data(FRESHNESS_OBJECT, &[]);
    // Keys a module enrolled in an earlier run, in the slots the plan leaves free.
    for slot in KeyRef::user_key_slots().filter(|s| s.is_retired() && !plan.iter().any(|p| p.slot == *s)) {
        let _ = session.delete_key(slot);
        let _ = session.put_data(slot.certificate_object().unwrap_or(0), &[]);
    }
    protect_management_key(session, &mgm)?;
    let roots = if with_roots {
        let blob = ca.root_store();
        let chunks = root_store::split(&blob).map_err(|e| card("split the root store")(e.into()))?;
        for (i, chunk) in chunks.iter().enumerate() {
            session
                .put_data(tags::YUBICO_ROOTS_FIRST + i as u32, chunk)
                .map_err(card("write the root store"))?;
        }
        Some(blob)
    } else {
        let _ = session.put_data(tags::YUBICO_ROOTS_FIRST, &[]);
        None
    };
    let chuid_guid = read_chuid_guid(session);
    Ok(Fixture {
        slots,
        chuid_guid,
        roots,
        provisioned: true,
    })
}

/// For a card whose default management key was replaced by a PIN-protected one (a module's write policy,
/// `ykman piv access change-management-key --protect`): the key read from 5FC109 after the default PIN,
/// tried as each algorithm it may be, then the default 3DES key set again.
fn take_back_protected_key<T: Transport>(
    session: &mut Session<T>,
    default: &ManagementKey,
) -> Result<(), FixtureError> {
    let refused = || FixtureError::Card {
        step: "authenticate with the default 3DES or the PIN-protected management key".into(),
        source: tessera_piv::PivError::CardAuthenticationFailed,
    };
    restore_pin(session)?;
    let pin = PaddedPin::new(DEFAULT_PIN).map_err(|_| refused())?;
    session
        .verify(KeyRef::PIN, &pin)
        .map_err(card("verify the default PIN"))?;
    let stored = session
        .get_data(tags::PRINTED_INFORMATION)
        .map_err(card("read the PIN-protected data 5FC109"))?
        .ok_or_else(refused)?;
    let protected =
        ProtectedData::try_from(stored.as_slice()).map_err(|e| card("PIN-protected data")(e.into()))?;
    let accepted = protected.candidate_algorithms().iter().any(|&algorithm| {
        protected
            .management_key(algorithm)
            .ok()
            .flatten()
            .is_some_and(|key| session.authenticate_management_key(&key).is_ok())
    });
    if !accepted {
        return Err(refused());
    }
    session
        .set_management_key(default, false)
        .map_err(card("set the default 3DES management key again"))
}

/// Tessera's freshness object (`cardcf` of the cards it writes to).
pub const FRESHNESS_OBJECT: u32 = 0x5F_FF20;

/// Stores `key` PIN-protected, the way ykman and Yubico's minidriver do (5FC109 `88 { 89 key }`, flag
/// `02` in the admin data 5FFF00). The fixture keeps the default key there: a module that writes with
/// the PIN-protected key writes with it after a PIN verification alone, every case that answers the
/// administrator's challenge with the default key still can, and a module policy about unprotected
/// default keys (replacing them, blocking a default PUK) finds nothing to act on.
pub fn protect_management_key<T: Transport>(
    session: &mut Session<T>,
    key: &ManagementKey,
) -> Result<(), FixtureError> {
    let protected = ProtectedData::with_management_key(key)
        .encode()
        .map_err(|e| card("PIN-protected data")(e.into()))?;
    session
        .put_data(tags::PRINTED_INFORMATION, &protected)
        .map_err(card("write the PIN-protected data 5FC109"))?;
    let mut admin = AdminData::default();
    admin.set_management_key_protected(true);
    let admin = admin.encode().map_err(|e| card("admin data")(e.into()))?;
    session
        .put_data(tags::YUBICO_ADMIN_DATA, &admin)
        .map_err(card("write the admin data 5FFF00"))
}

/// A certificate for `key` issued by the fixture's software CA, with `usage` (what a CA answers an
/// enrollment with).
pub fn issue_certificate(label: KeyRef, key: &PublicKey, usage: CertUsage) -> Result<Vec<u8>, String> {
    SoftwareCa::new()
        .issue(label, key, usage)
        .map_err(|e| e.to_string())
}

/// Makes the PIN the default one with all tries left: unblocks with the default PUK when blocked, and
/// verifies the default PIN (which resets the try counter). Used after cases that spend or block it.
pub fn restore_pin<T: Transport>(session: &mut Session<T>) -> Result<(), FixtureError> {
    let pin = PaddedPin::new(DEFAULT_PIN).map_err(|_| FixtureError::Card {
        step: "default PIN".into(),
        source: tessera_piv::PivError::Blocked,
    })?;
    let puk = PaddedPin::new(DEFAULT_PUK).map_err(|_| FixtureError::Card {
        step: "default PUK".into(),
        source: tessera_piv::PivError::Blocked,
    })?;
    if session.pin_status(KeyRef::PIN).map_err(card("PIN status"))? == PinStatus::Blocked {
        session
            .reset_retry_counter(&puk, &pin)
            .map_err(card("unblock the PIN with the default PUK"))?;
    }
    session
        .verify(KeyRef::PIN, &pin)
        .map_err(card("verify the default PIN"))?;
    // Leave the card logged out, as a CSP transaction would find it.
    let _ = session.logout(KeyRef::PIN);
    Ok(())
}

/// Reads what the card holds without changing it (for `--module` runs without `--provision`).
pub fn discover<T: Transport>(session: &mut Session<T>) -> Result<Fixture, FixtureError> {
    session.select().map_err(card("SELECT"))?;
    let mut slots = Vec::new();
    for slot in KeyRef::user_key_slots() {
        let metadata = session.get_metadata(slot).ok().flatten();
        let certificate = slot
            .certificate_object()
            .and_then(|tag| session.get_data(tag).ok().flatten())
            .and_then(|content| CertificateObject::parse_present(&content).ok().flatten())
            .map(|o| o.certificate);
        let from_cert = certificate.as_deref().and_then(certificate_key);
        let public_key = metadata
            .as_ref()
            .and_then(|m| m.public_key.clone())
            .or_else(|| from_cert.as_ref().map(|(k, _)| k.clone()));
        let Some(public_key) = public_key else { continue };
        slots.push(SlotState {
            slot,
            public_key,
            usage: from_cert.map_or(CertUsage::Unrestricted, |(_, u)| u),
            certificate,
            pin_policy: metadata.and_then(|m| m.pin_policy),
        });
    }
    let chuid_guid = read_chuid_guid(session);
    Ok(Fixture {
        slots,
        chuid_guid,
        roots: None,
        provisioned: false,
    })
}

fn read_chuid_guid<T: Transport>(session: &mut Session<T>) -> Option<[u8; 16]> {
    let bytes = session.get_data(tags::CHUID).ok().flatten()?;
    Chuid::try_from(bytes.as_slice()).ok().map(|c| c.guid)
}

/// The public key and usage of a DER certificate (independent of the module's parser).
pub fn certificate_key(der: &[u8]) -> Option<(PublicKey, CertUsage)> {
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let tbs = cert.tbs_certificate();
    let spki = tbs.subject_public_key_info();
    let bits = spki.subject_public_key.as_bytes()?;
    let key = if spki.algorithm.oid == RSA_ENCRYPTION {
        let rsa = rsa_public_key_der(bits)?;
        PublicKey::Rsa {
            algorithm: AlgorithmId::rsa(rsa.0.len() as u32 * 8)?,
            modulus: rsa.0,
            exponent: rsa.1,
        }
    } else if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        let curve: ObjectIdentifier = spki.algorithm.parameters.as_ref()?.decode_as().ok()?;
        let algorithm = match curve {
            c if c == SECP_256_R_1 => AlgorithmId::ECCP256,
            c if c == SECP_384_R_1 => AlgorithmId::ECCP384,
            _ => return None,
        };
        PublicKey::Ecc {
            algorithm,
            point: bits.to_vec(),
        }
    } else {
        return None;
    };
    let usage = match tbs.get_extension::<KeyUsage>().ok()? {
        None => CertUsage::Unrestricted,
        Some((_, ku)) => match (ku.digital_signature(), ku.key_encipherment(), ku.key_agreement()) {
            (true, true, _) => CertUsage::SignAndEncrypt,
            (true, false, true) => CertUsage::SignAndAgree,
            (false, false, true) => CertUsage::AgreeOnly,
            _ => CertUsage::SignOnly,
        },
    };
    Some((key, usage))
}

/// `RSAPublicKey` → (modulus, exponent) without leading zeros.
fn rsa_public_key_der(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let body = tessera_piv::tlv::parse_single(der, 0x30).ok()?;
    let items = tessera_piv::tlv::parse_all(body).ok()?;
    let strip = |v: &[u8]| v[v.iter().position(|&b| b != 0).unwrap_or(v.len())..].to_vec();
    match items.as_slice() {
        [n, e] => Some((strip(n.value), strip(e.value))),
        _ => None,
    }
}

/// The SubjectPublicKeyInfo of a card key, built from its raw parts (also what `tessera` puts in the
/// certificates and requests it has the card sign).
pub fn spki_of(key: &PublicKey) -> Result<SubjectPublicKeyInfoOwned, String> {
    match key {
        PublicKey::Rsa {
            modulus, exponent, ..
        } => {
            let integer = |v: &[u8]| {
                let mut body = Vec::with_capacity(v.len() + 1);
                if v.first().is_some_and(|&b| b & 0x80 != 0) {
                    body.push(0);
                }
                body.extend_from_slice(v);
                tessera_piv::tlv::encode(0x02, &body)
            };
            let mut seq = integer(modulus).map_err(|e| e.to_string())?;
            seq.extend(integer(exponent).map_err(|e| e.to_string())?);
            let der = tessera_piv::tlv::encode(0x30, &seq).map_err(|e| e.to_string())?;
            Ok(SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                },
                subject_public_key: BitString::from_bytes(&der).map_err(|e| e.to_string())?,
            })
        }
        PublicKey::Ecc { algorithm, point } => {
            let curve = match *algorithm {
                AlgorithmId::ECCP256 => SECP_256_R_1,
                AlgorithmId::ECCP384 => SECP_384_R_1,
                other => return Err(format!("no certificate for algorithm {other:?}")),
            };
            Ok(SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: ID_EC_PUBLIC_KEY,
                    parameters: Some(Any::from(&curve)),
                },
                subject_public_key: BitString::from_bytes(point).map_err(|e| e.to_string())?,
            })
        }
    }
}

/// A certificate profile whose names and extensions are fixed before the builder asks for them: what
/// every certificate the harness, the bench and the CLI make needs (x509-cert's builders take a
/// [`BuilderProfile`]).
pub struct FixedProfile {
    /// The issuer's name (the subject's for a self-signed certificate).
    pub issuer: Name,
    /// The subject's name.
    pub subject: Name,
    /// The extensions, in order.
    pub extensions: Vec<Extension>,
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

/// The software CA that signs the fixture's certificates (P-256, fixed key: the chain need not verify
/// anywhere, but the certificates are deterministic apart from the card's keys).
struct SoftwareCa {
    key: p256::ecdsa::SigningKey,
    name: Name,
}

impl SoftwareCa {
    fn new() -> Self {
        let seed: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"tessera-conformance test CA").into();
        let key = p256::ecdsa::SigningKey::from_slice(&seed).unwrap_or_else(|_| {
            // SHA-256 output is a valid P-256 scalar with overwhelming probability; a fixed fallback.
            p256::ecdsa::SigningKey::from_slice(&[1; 32]).unwrap_or_else(|_| unreachable_key())
        });
        let name = Name::from_str("CN=Tessera Conformance Test CA,O=Tessera").unwrap_or_default();
        Self { key, name }
    }

    fn validity() -> Validity {
        let from = UtcTime::from_unix_duration(Duration::from_secs(1_735_689_600)).ok(); // 2025-01-01
        let to = UtcTime::from_unix_duration(Duration::from_secs(2_051_222_400)).ok(); // 2035-01-01
        match (from, to) {
            (Some(from), Some(to)) => Validity::new(Time::UtcTime(from), Time::UtcTime(to)),
            _ => Validity::from_now(Duration::from_secs(3600 * 24 * 365))
                .unwrap_or_else(|_| unreachable_validity()),
        }
    }

    fn issue(&self, slot: KeyRef, key: &PublicKey, usage: CertUsage) -> Result<Vec<u8>, FixtureError> {
        let bad = |reason: String| FixtureError::Certificate { slot, reason };
        let subject = Name::from_str(&format!("CN=Tessera conformance slot {},O=Tessera", slot.name()))
            .map_err(|e| bad(e.to_string()))?;
        let extensions = match usage.key_usage() {
            Some(ku) => vec![ku.to_extension(&subject, &[]).map_err(|e| bad(e.to_string()))?],
            None => Vec::new(),
        };
        let profile = FixedProfile {
            issuer: self.name.clone(),
            subject,
            extensions,
        };
        let builder = CertificateBuilder::new(
            profile,
            SerialNumber::from(u32::from(slot.0) + 0x1000),
            Self::validity(),
            spki_of(key).map_err(bad)?,
        )
        .map_err(|e| bad(e.to_string()))?;
        let cert = builder
            .build::<_, p256::ecdsa::DerSignature>(&self.key)
            .map_err(|e| bad(e.to_string()))?;
        cert.to_der().map_err(|e| bad(e.to_string()))
    }

    /// A root store blob: the CA's own certificate bytes, twice over to span two objects when large.
    fn root_store(&self) -> Vec<u8> {
        let mut blob = b"tessera-conformance msroots:".to_vec();
        blob.extend((0..2600u32).map(|i| (i % 251) as u8));
        blob
    }
}

#[allow(clippy::panic, reason = "a fixed, valid test key cannot fail to parse")]
fn unreachable_key() -> p256::ecdsa::SigningKey {
    panic!("no valid P-256 test key")
}

#[allow(clippy::panic, reason = "a fixed, valid validity period cannot fail to build")]
fn unreachable_validity() -> Validity {
    panic!("no certificate validity")
}
