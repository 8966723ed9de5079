//! Key attestation (Yubico extension): the F9 attestation key, its self-signed CA certificate in object
//! 5FFF01, and the X.509 certificates ATTEST returns for keys generated on the card.
//!
//! A real YubiKey's F9 certificate chains to Yubico's PIV root and its F9 key is RSA-2048; this card
//! creates a self-signed P-256 authority instead (cheap to create for every fresh card) and signs with
//! ECDSA-SHA256 (P-384 keys imported into F9 sign with ECDSA-SHA384). The attestation certificates carry
//! Yubico's extensions so that tools which parse them find what they expect.

use std::str::FromStr;

use const_oid::ObjectIdentifier;
use der::asn1::{GeneralizedTime, OctetString, UtcTime};
use der::{DateTime, Encode};
use spki::SubjectPublicKeyInfoOwned;
use tessera_piv::{PinPolicy, TouchPolicy};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::error::VirtualCardError;
use crate::keys::PrivateKey;
use crate::rng::CardRng;

/// Subject of the card's attestation authority (the F9 certificate).
pub const AUTHORITY_SUBJECT: &str = "CN=Tessera Virtual PIV Attestation";
/// Yubico: firmware version, 3 raw bytes.
pub const OID_FIRMWARE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.3");
/// Yubico: serial number, a DER INTEGER.
pub const OID_SERIAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.7");
/// Yubico: PIN and touch policy, 2 raw bytes.
pub const OID_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.8");
/// Yubico: form factor, 1 raw byte.
pub const OID_FORM_FACTOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.9");
/// X.509 basic constraints (RFC 5280 §4.2.1.9).
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// X.509 key usage (RFC 5280 §4.2.1.3).
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// Form factor reported: 01 = USB-A keychain (Yubico defines no value for a virtual card).
pub const FORM_FACTOR: u8 = 0x01;

fn crypto_err(e: impl std::fmt::Display) -> VirtualCardError {
    VirtualCardError::Crypto(e.to_string())
}

/// A fixed validity, so that a seeded card is reproducible: 2024-01-01 until 9999-12-31 (the "no
/// well-defined expiration" value of RFC 5280 §4.1.2.5).
fn validity() -> Result<Validity, VirtualCardError> {
    let start = UtcTime::from_date_time(DateTime::new(2024, 1, 1, 0, 0, 0).map_err(crypto_err)?)
        .map_err(crypto_err)?;
    let end = GeneralizedTime::from_date_time(DateTime::new(9999, 12, 31, 23, 59, 59).map_err(crypto_err)?);
    Ok(Validity::new(Time::UtcTime(start), Time::GeneralTime(end)))
}

/// The two kinds of certificate the card makes.
enum Profile {
    /// The attestation authority's own certificate: self-signed (`name` is subject and issuer), with CA
    /// basic constraints and key usage.
    Authority { name: Name },
    /// An attestation certificate for `subject`, issued by the authority named `issuer`; its extensions
    /// are the builder's.
    Attestation { subject: Name, issuer: Name },
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        match self {
            Self::Authority { name } | Self::Attestation { issuer: name, .. } => name.clone(),
        }
    }

    fn get_subject(&self) -> Name {
        match self {
            Self::Authority { name } | Self::Attestation { subject: name, .. } => name.clone(),
        }
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        if let Self::Attestation { .. } = self {
            return Ok(Vec::new());
        }
        let basic = BasicConstraints {
            ca: true,
            path_len_constraint: None,
        };
        let usage = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        Ok(vec![
            Extension {
                extn_id: OID_BASIC_CONSTRAINTS,
                critical: true,
                extn_value: OctetString::new(basic.to_der()?)?,
            },
            Extension {
                extn_id: OID_KEY_USAGE,
                critical: true,
                extn_value: OctetString::new(usage.to_der()?)?,
            },
        ])
    }
}

fn serial_number(rng: &mut CardRng) -> Result<SerialNumber, VirtualCardError> {
    let mut bytes = rng.bytes(16);
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7F) | 0x01; // positive and of full length
    }
    SerialNumber::new(&bytes).map_err(crypto_err)
}

fn sign(builder: CertificateBuilder<Profile>, signer: &PrivateKey) -> Result<Vec<u8>, VirtualCardError> {
    let cert = match signer {
        PrivateKey::P256(k) => builder
            .build::<_, p256::ecdsa::DerSignature>(&p256::ecdsa::SigningKey::from(k))
            .map_err(crypto_err)?,
        PrivateKey::P384(k) => builder
            .build::<_, p384::ecdsa::DerSignature>(&p384::ecdsa::SigningKey::from(k))
            .map_err(crypto_err)?,
        PrivateKey::Rsa(_) => {
            return Err(VirtualCardError::Crypto(
                "attestation with an RSA F9 key is not supported".into(),
            ));
        }
    };
    cert.to_der().map_err(crypto_err)
}

/// Creates the attestation authority: a P-256 key and its self-signed CA certificate (DER).
pub fn create_authority(rng: &mut CardRng) -> Result<(PrivateKey, Vec<u8>), VirtualCardError> {
    let key = PrivateKey::generate(tessera_piv::AlgorithmId::ECCP256, rng)?;
    let name = Name::from_str(AUTHORITY_SUBJECT).map_err(crypto_err)?;
    let profile = Profile::Authority { name };
    let builder = CertificateBuilder::new(
        profile,
        serial_number(rng)?,
        validity()?,
        key.subject_public_key_info()?,
    )
    .map_err(crypto_err)?;
    let cert = sign(builder, &key)?;
    Ok((key, cert))
}

/// What an attestation certificate states about the attested key.
#[derive(Debug, Clone, Copy)]
pub struct AttestedKey<'a> {
    /// The slot (for the subject `CN=YubiKey PIV Attestation <slot>`).
    pub slot: u8,
    /// The key.
    pub key: &'a PrivateKey,
    /// Its PIN policy (resolved, never Default).
    pub pin_policy: PinPolicy,
    /// Its touch policy (resolved, never Default).
    pub touch_policy: TouchPolicy,
}

/// Builds the ATTEST answer: a certificate for `attested`, issued by the authority whose certificate is
/// `authority_cert` (its subject becomes the issuer) and signed with `authority_key`.
pub fn attest(
    attested: AttestedKey<'_>,
    authority_key: &PrivateKey,
    authority_cert: Option<&[u8]>,
    serial: u32,
    version: [u8; 3],
    rng: &mut CardRng,
) -> Result<Vec<u8>, VirtualCardError> {
    let issuer =
        match authority_cert.and_then(|der| <x509_cert::Certificate as der::Decode>::from_der(der).ok()) {
            Some(cert) => cert.tbs_certificate().subject().clone(),
            None => Name::from_str(AUTHORITY_SUBJECT).map_err(crypto_err)?,
        };
    let subject =
        Name::from_str(&format!("CN=YubiKey PIV Attestation {:02x}", attested.slot)).map_err(crypto_err)?;
    let spki: SubjectPublicKeyInfoOwned = attested.key.subject_public_key_info()?;
    let mut builder = CertificateBuilder::new(
        Profile::Attestation { subject, issuer },
        serial_number(rng)?,
        validity()?,
        spki,
    )
    .map_err(crypto_err)?;
    let serial_der = der::asn1::Uint::new(&serial.to_be_bytes())
        .map_err(crypto_err)?
        .to_der()
        .map_err(crypto_err)?;
    let extensions = [
        (OID_FIRMWARE, version.to_vec()),
        (OID_SERIAL, serial_der),
        (
            OID_POLICY,
            vec![attested.pin_policy.to_byte(), attested.touch_policy.to_byte()],
        ),
        (OID_FORM_FACTOR, vec![FORM_FACTOR]),
    ];
    for (oid, value) in extensions {
        builder
            .add_extension(Extension {
                extn_id: oid,
                critical: false,
                extn_value: OctetString::new(value).map_err(crypto_err)?,
            })
            .map_err(crypto_err)?;
    }
    sign(builder, authority_key)
}
