//! Test support: card contexts over the in-process virtual card, and an independent PIV session to the
//! same card to prepare it and to check what the module left on it.
#![allow(clippy::unwrap_used, reason = "tests: a failure is a panic with its message")]

use tessera_piv::objects::{AdminData, CertificateObject, ProtectedData, tags};
use tessera_piv::{
    AlgorithmId, KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PinPolicy, PublicKey, Session,
    SlotMetadata, TouchPolicy, Transport, TransportError,
};
use tessera_virtual_card::{CardConfig, SharedCard, VirtualCard};

use crate::context::CardContext;
use crate::link::Injected;
use crate::pins::ROLE_USER;
use crate::policy::WritePolicy;

/// The default PIN of a fresh card.
pub const PIN: &[u8] = b"123456";
/// The default PUK.
pub const PUK: &[u8] = b"12345678";

/// A fresh virtual card (a YubiKey 5.7 with the 3DES default management key).
pub fn card(seed: u64) -> SharedCard {
    SharedCard::new(VirtualCard::new(CardConfig::seeded(seed)).unwrap())
}

/// A context on `card` with `policy`.
pub fn context(card: &SharedCard, policy: WritePolicy) -> CardContext {
    context_over(Box::new(card.connect()), policy)
}

/// A context over `transport` with `policy`.
pub fn context_over(transport: Box<dyn Transport + Send>, policy: WritePolicy) -> CardContext {
    let mut ctx = CardContext::acquire(
        Box::new(Injected(transport)),
        7,
        tessera_piv::SessionOptions::default(),
    )
    .unwrap();
    ctx.policy = policy;
    ctx
}

/// A context on `card` with the user PIN verified.
pub fn logged_in(card: &SharedCard, policy: WritePolicy) -> CardContext {
    let mut ctx = context(card, policy);
    ctx.authenticate(&crate::auth::Authentication {
        role: ROLE_USER,
        secret: PIN,
    })
    .unwrap();
    ctx
}

/// Another program's session to the card (SELECTed).
pub fn session(card: &SharedCard) -> Session<Box<dyn Transport + Send>> {
    let mut s: Session<Box<dyn Transport + Send>> = Session::new(Box::new(card.connect()));
    s.select().unwrap();
    s
}

/// A 3DES management key of the 24 bytes `first`, `first + 1`, ….
pub fn tdes_key(first: u8) -> ManagementKey {
    ManagementKey::new(
        ManagementAlgorithm::Tdes,
        &(first..first + 24).collect::<Vec<u8>>(),
    )
    .unwrap()
}

/// The default 3DES management key.
pub fn default_key() -> ManagementKey {
    ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap()
}

/// Generates a key in `slot` through another program's session, returning the public key.
pub fn generate(card: &SharedCard, slot: KeyRef, algorithm: AlgorithmId) -> PublicKey {
    let mut s = session(card);
    s.authenticate_management_key(&default_key()).unwrap();
    s.generate_key_pair(slot, algorithm, PinPolicy::Once, TouchPolicy::Never)
        .unwrap()
}

/// The card's attestation of the key in `slot`: a real certificate of that public key.
pub fn attestation(card: &SharedCard, slot: KeyRef) -> Vec<u8> {
    session(card).attest(slot).unwrap()
}

/// Stores `der` as the certificate of `slot` through another program's session (`key` authenticates).
pub fn put_certificate(card: &SharedCard, key: &ManagementKey, slot: KeyRef, der: &[u8]) {
    let mut s = session(card);
    s.authenticate_management_key(key).unwrap();
    let object = CertificateObject::new(der.to_vec()).encode().unwrap();
    s.put_data(slot.certificate_object().unwrap(), &object).unwrap();
}

/// Makes `key` the card's management key, PIN-protected the way ykman does it.
pub fn protect_with(card: &SharedCard, key: &ManagementKey) {
    let mut s = session(card);
    s.verify(KeyRef::PIN, &PaddedPin::new(PIN).unwrap()).unwrap();
    s.authenticate_management_key(&default_key()).unwrap();
    s.put_data(
        tags::PRINTED_INFORMATION,
        &ProtectedData::with_management_key(key).encode().unwrap(),
    )
    .unwrap();
    s.set_management_key(key, false).unwrap();
    let mut admin = AdminData::default();
    admin.set_management_key_protected(true);
    s.put_data(tags::YUBICO_ADMIN_DATA, &admin.encode().unwrap())
        .unwrap();
}

/// Sets a management key that is neither the default nor PIN-protected.
pub fn set_private_key(card: &SharedCard, key: &ManagementKey) {
    let mut s = session(card);
    s.authenticate_management_key(&default_key()).unwrap();
    s.set_management_key(key, false).unwrap();
}

/// A card that keeps no Yubico vendor objects and knows no YubiKey instruction, as standard PIV cards
/// (and Nitrokey, for the objects) are: `6A80` for GET/PUT DATA of 5FFFxx, `6D00` for GET VERSION,
/// GET SERIAL, GET METADATA.
pub struct PlainPiv<T>(pub T);

impl<T: Transport> Transport for PlainPiv<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let ins = apdu.get(1).copied().unwrap_or(0);
        if [0xFD, 0xF8, 0xF7].contains(&ins) {
            return Ok(vec![0x6D, 0x00]);
        }
        if names_a_vendor_object(apdu) {
            return Ok(vec![0x6A, 0x80]);
        }
        self.0.transmit(apdu)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.0.reset()
    }
}

/// Whether `apdu` is a GET or PUT DATA of a Yubico vendor object: its data field, in the short or the
/// extended form, starts with `5C 03 5F FF xx`.
pub fn names_a_vendor_object(apdu: &[u8]) -> bool {
    tessera_piv::ParsedCommand::parse(apdu)
        .is_ok_and(|c| matches!(c.ins, 0xCB | 0xDB) && c.data.starts_with(&[0x5C, 0x03, 0x5F, 0xFF]))
}

/// Checks an RSA PKCS#1 v1.5 SHA-256 signature (big-endian) with the `rsa` crate.
pub fn verify_rsa_sha256(key: &PublicKey, hash: &[u8], signature_be: &[u8]) {
    use rsa::BoxedUint;
    let PublicKey::Rsa {
        modulus, exponent, ..
    } = key
    else {
        panic!("not an RSA key: {key:?}");
    };
    let n = BoxedUint::from_be_slice(modulus, (modulus.len() * 8) as u32).unwrap();
    let e = BoxedUint::from_be_slice(exponent, 64).unwrap();
    let public = rsa::PublicKey::new_with_size_limits(n, e, 1024..=4096).unwrap();
    public
        .verify(
            rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha256>(),
            hash,
            signature_be,
        )
        .expect("the signature verifies with the rsa crate");
}

/// Checks a P-256 ECDSA signature (`r ‖ s`) over a SHA-256 hash with the `p256` crate.
pub fn verify_p256(key: &PublicKey, hash: &[u8], signature: &[u8]) {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let PublicKey::Ecc { point, .. } = key else {
        panic!("not an EC key: {key:?}");
    };
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(signature).unwrap();
    key.verify_prehash(hash, &sig)
        .expect("the signature verifies with the p256 crate");
}

/// A certificate of the key in `slot` (from GET METADATA), issued by a fixed software CA, with a filler
/// extension that makes its DER about `size` bytes: repetitive (compresses well) or, with
/// `incompressible`, pseudo-random.
pub fn padded_certificate(card: &SharedCard, slot: KeyRef, size: usize, incompressible: bool) -> Vec<u8> {
    let SlotMetadata::Present(m) = session(card).slot_metadata(slot).unwrap() else {
        panic!("slot {slot} holds no key");
    };
    filler_certificate(spki_of(&m.public_key.unwrap()), size, incompressible)
}

/// A small certificate of the key `spki` describes.
pub fn padded_certificate_of(spki: &spki::SubjectPublicKeyInfoOwned) -> Vec<u8> {
    filler_certificate(spki.clone(), 0, false)
}

fn filler_certificate(spki: spki::SubjectPublicKeyInfoOwned, size: usize, incompressible: bool) -> Vec<u8> {
    use std::str::FromStr;
    use std::time::Duration;

    use der::Encode;
    use der::asn1::OctetString;
    use x509_cert::builder::profile::BuilderProfile;
    use x509_cert::builder::{Builder, CertificateBuilder};
    use x509_cert::ext::Extension;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::time::Validity;

    struct Filler {
        name: Name,
        filler: Vec<u8>,
    }
    impl BuilderProfile for Filler {
        fn get_issuer(&self, _subject: &Name) -> Name {
            self.name.clone()
        }
        fn get_subject(&self) -> Name {
            self.name.clone()
        }
        fn build_extensions(
            &self,
            _spk: spki::SubjectPublicKeyInfoRef<'_>,
            _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
            _tbs: &x509_cert::certificate::TbsCertificate,
        ) -> x509_cert::builder::Result<Vec<Extension>> {
            Ok(vec![Extension {
                extn_id: const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
                critical: false,
                extn_value: OctetString::new(self.filler.clone()).unwrap(),
            }])
        }
    }

    let mut state = 0x1234_5678u32;
    let filler: Vec<u8> = (0..size.saturating_sub(420))
        .map(|i| {
            if incompressible {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            } else {
                (i % 7) as u8
            }
        })
        .collect();
    let profile = Filler {
        name: Name::from_str("CN=Tessera test").unwrap(),
        filler,
    };
    let issuer = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
    let validity = Validity::from_now(Duration::from_secs(3600)).unwrap();
    let builder = CertificateBuilder::new(profile, SerialNumber::from(1u32), validity, spki).unwrap();
    let cert = builder.build::<_, p256::ecdsa::DerSignature>(&issuer).unwrap();
    cert.to_der().unwrap()
}

/// The SubjectPublicKeyInfo of a card key.
pub fn spki_of(key: &PublicKey) -> spki::SubjectPublicKeyInfoOwned {
    use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1};
    use der::asn1::{Any, BitString};
    use spki::AlgorithmIdentifierOwned;
    match key {
        PublicKey::Rsa {
            modulus, exponent, ..
        } => {
            let integer = |v: &[u8]| {
                let mut body = Vec::new();
                if v.first().is_some_and(|&b| b & 0x80 != 0) {
                    body.push(0);
                }
                body.extend_from_slice(v);
                tessera_piv::tlv::encode(0x02, &body).unwrap()
            };
            let mut seq = integer(modulus);
            seq.extend(integer(exponent));
            let der = tessera_piv::tlv::encode(0x30, &seq).unwrap();
            spki::SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                },
                subject_public_key: BitString::from_bytes(&der).unwrap(),
            }
        }
        PublicKey::Ecc { algorithm, point } => spki::SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: ID_EC_PUBLIC_KEY,
                parameters: Some(Any::from(if *algorithm == AlgorithmId::ECCP384 {
                    &SECP_384_R_1
                } else {
                    &SECP_256_R_1
                })),
            },
            subject_public_key: BitString::from_bytes(point).unwrap(),
        },
    }
}

/// A transport that keeps a copy of every command APDU, for tests that check what went to the card.
pub struct Recorded<T> {
    inner: T,
    commands: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl<T> Recorded<T> {
    /// `inner`, and the list its commands are copied to.
    pub fn new(inner: T) -> (Self, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
        let commands = std::sync::Arc::default();
        (
            Self {
                inner,
                commands: std::sync::Arc::clone(&commands),
            },
            commands,
        )
    }
}

impl<T: Transport> Transport for Recorded<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.commands.lock().unwrap().push(apdu.to_vec());
        self.inner.transmit(apdu)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}

/// The management-key authentications among `commands`: GENERAL AUTHENTICATE 9B asking for the
/// card's witness (`7C 02 80 00`), the first step of each.
pub fn management_authentications(commands: &[Vec<u8>]) -> usize {
    commands
        .iter()
        .filter_map(|c| tessera_piv::ParsedCommand::parse(c).ok())
        .filter(|c| c.ins == 0x87 && c.p2 == 0x9B && c.data.as_slice() == [0x7C, 0x02, 0x80, 0x00])
        .count()
}

/// Whether `command` is a PUT DATA of 5FC109 (data `5C 03 5FC109 53 L value`, short or extended form).
pub fn writes_protected_data(command: &[u8]) -> bool {
    protected_data_written(command).is_some()
}

/// The values written to 5FC109 among `commands`, in order.
pub fn protected_data_writes(commands: &[Vec<u8>]) -> Vec<ProtectedData> {
    commands
        .iter()
        .filter_map(|c| protected_data_written(c))
        .map(|value| ProtectedData::try_from(value.as_slice()).unwrap())
        .collect()
}

fn protected_data_written(command: &[u8]) -> Option<Vec<u8>> {
    let c = tessera_piv::ParsedCommand::parse(command).ok()?;
    let object = c.data.strip_prefix(&[0x5C, 0x03, 0x5F, 0xC1, 0x09])?;
    (c.ins == 0xDB).then(|| tessera_piv::tlv::parse_single(object, 0x53).unwrap().to_vec())
}

/// The PIN-protected data 5FC109 as another program reads it with the PIN.
pub fn stored_protected_data(card: &SharedCard) -> ProtectedData {
    let mut s = session(card);
    s.verify(KeyRef::PIN, &PaddedPin::new(PIN).unwrap()).unwrap();
    let data = s.get_data(tags::PRINTED_INFORMATION).unwrap().unwrap();
    ProtectedData::try_from(data.as_slice()).unwrap()
}

/// The admin data object 5FFF00 as another program reads it.
pub fn stored_admin_data(card: &SharedCard) -> AdminData {
    let data = session(card).get_data(tags::YUBICO_ADMIN_DATA).unwrap().unwrap();
    AdminData::try_from(data.as_slice()).unwrap()
}

/// Writes `admin` to 5FFF00 through another program's session, with the card's management key `key`.
pub fn put_admin_data(card: &SharedCard, key: &ManagementKey, admin: &AdminData) {
    let mut s = session(card);
    s.authenticate_management_key(key).unwrap();
    s.put_data(tags::YUBICO_ADMIN_DATA, &admin.encode().unwrap())
        .unwrap();
}

/// A card whose management key is `card_key`, PIN-protected, with 5FC109 as a cut key change leaves it:
/// `current` in 89 and `previous` beside it.
pub fn protect_mid_change(
    card: &SharedCard,
    card_key: &ManagementKey,
    current: &ManagementKey,
    previous: &ManagementKey,
) {
    protect_with(card, card_key);
    let mut s = session(card);
    s.verify(KeyRef::PIN, &PaddedPin::new(PIN).unwrap()).unwrap();
    s.authenticate_management_key(card_key).unwrap();
    let mut data = ProtectedData::with_management_key(current);
    data.set_previous_management_key(Some(previous));
    s.put_data(tags::PRINTED_INFORMATION, &data.encode().unwrap())
        .unwrap();
}

/// A context over `card` whose commands are recorded, with the user PIN verified when `pin` (the
/// record starts after it).
pub fn recorded(
    card: &SharedCard,
    pin: bool,
) -> (CardContext, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    let (link, commands) = Recorded::new(card.connect());
    let mut ctx = context_over(Box::new(link), WritePolicy::hands_off());
    if pin {
        ctx.authenticate(&crate::auth::Authentication {
            role: ROLE_USER,
            secret: PIN,
        })
        .unwrap();
    }
    commands.lock().unwrap().clear();
    (ctx, commands)
}
