//! Certificates and certificate requests signed by a key on the card. x509-cert's builders split
//! signing into `finalize` (the bytes to sign) and `assemble` (the signed object), so the card signs
//! in between: RSA keys get a PKCS#1 v1.5 SHA-256 block built here and put through the card's raw RSA
//! operation; EC keys sign the SHA-256 (P-256) or SHA-384 (P-384) hash and return the DER signature
//! X.509 wants.

use std::str::FromStr;
use std::time::Duration;

use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, SHA_256_WITH_RSA_ENCRYPTION};
use der::asn1::{Any, BitString};
use der::{Encode, EncodePem};
use sha2::Digest;
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey, SubjectPublicKeyInfoOwned,
};
use tessera_piv::{AlgorithmId, KeyRef, PublicKey, Transport};
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::name::Name;
use x509_cert::request::RequestBuilder;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use crate::errors::{CliError, CliResult, PivContext, Secret};
use tessera_conformance::fixture::FixedProfile;

/// DigestInfo prefix of SHA-256 (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0x04, 0x20,
];

/// A key on the card, as the builders see a signer.
pub struct CardKey {
    /// The PIV slot, when the key is used through tessera-piv; `None` when the card module holds the
    /// key (its container, not a slot, names it).
    slot: Option<KeyRef>,
    public_key: PublicKey,
    spki: SubjectPublicKeyInfoOwned,
}

/// The public half (what goes into the certificate or request).
#[derive(Clone)]
pub struct CardPublicKey(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for CardPublicKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::encode_msg(&self.0)?)
    }
}

impl signature::Keypair for CardKey {
    type VerifyingKey = CardPublicKey;

    fn verifying_key(&self) -> CardPublicKey {
        CardPublicKey(self.spki.clone())
    }
}

impl DynSignatureAlgorithmIdentifier for CardKey {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(match self.public_key.algorithm() {
            AlgorithmId::ECCP384 => AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA_384,
                parameters: None,
            },
            a if a.is_ecc() => AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA_256,
                parameters: None,
            },
            _ => AlgorithmIdentifierOwned {
                oid: SHA_256_WITH_RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
        })
    }
}

impl CardKey {
    /// The key in `slot`, whose public half is `public_key`.
    pub fn new(slot: KeyRef, public_key: PublicKey) -> CliResult<Self> {
        Self::with_slot(Some(slot), public_key)
    }

    /// A key the card module signs with (see [`self_signed_by`]); [`CardKey::sign`] refuses it.
    pub fn in_module_container(public_key: PublicKey) -> CliResult<Self> {
        Self::with_slot(None, public_key)
    }

    fn with_slot(slot: Option<KeyRef>, public_key: PublicKey) -> CliResult<Self> {
        let spki = tessera_conformance::fixture::spki_of(&public_key).map_err(CliError::Input)?;
        Ok(Self {
            slot,
            public_key,
            spki,
        })
    }

    /// The SubjectPublicKeyInfo.
    pub fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    /// Has the card sign `message` (PIN verified beforehand when the key's policy needs it).
    pub fn sign<T: Transport>(
        &self,
        session: &mut tessera_piv::Session<T>,
        message: &[u8],
    ) -> CliResult<Vec<u8>> {
        let algorithm = self.public_key.algorithm();
        let input = match &self.public_key {
            PublicKey::Rsa { .. } => {
                let hash = sha2::Sha256::digest(message);
                let len = algorithm.operation_len().unwrap_or(256);
                let t_len = SHA256_DIGEST_INFO.len() + hash.len();
                let mut block = vec![0xFF; len];
                block[0] = 0x00;
                block[1] = 0x01;
                block[len - t_len - 1] = 0x00;
                block[len - t_len..len - hash.len()].copy_from_slice(&SHA256_DIGEST_INFO);
                block[len - hash.len()..].copy_from_slice(&hash);
                block
            }
            PublicKey::Ecc { .. } if algorithm == AlgorithmId::ECCP384 => {
                sha2::Sha384::digest(message).to_vec()
            }
            PublicKey::Ecc { .. } => sha2::Sha256::digest(message).to_vec(),
        };
        let slot = self
            .slot
            .ok_or_else(|| CliError::Input("the key is in a card module container, not a PIV slot".into()))?;
        let signature = session
            .private_key_operation(slot, algorithm, &input)
            .secret(Secret::Pin)?;
        Ok(signature.to_vec())
    }
}

/// Parses an RFC 4514 distinguished name such as `CN=Alice,O=Example`.
pub fn parse_name(subject: &str) -> CliResult<Name> {
    Name::from_str(subject).map_err(|e| CliError::Input(format!("subject {subject:?}: {e}")))
}

fn x509_error(e: impl std::fmt::Display) -> CliError {
    CliError::Input(format!("building the certificate: {e}"))
}

/// A self-signed certificate (DER) for the key in `key`, valid for `days` from now, signed by the card.
pub fn self_signed<T: Transport>(
    session: &mut tessera_piv::Session<T>,
    key: &CardKey,
    subject: &str,
    days: u32,
) -> CliResult<Vec<u8>> {
    self_signed_by(key, subject, days, |tbs| key.sign(session, tbs))
}

/// A self-signed certificate (DER) for `key`, valid for `days` from now, whose signature `sign` makes
/// over the to-be-signed bytes: X.509's signature value (PKCS#1 v1.5 SHA-256 for RSA, a DER ECDSA
/// signature for EC keys), whoever computes it (the card through tessera-piv, or the card module).
pub fn self_signed_by(
    key: &CardKey,
    subject: &str,
    days: u32,
    sign: impl FnOnce(&[u8]) -> CliResult<Vec<u8>>,
) -> CliResult<Vec<u8>> {
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| CliError::Card(format!("random serial number: {e}")))?;
    serial[0] &= 0x7F;
    let serial = SerialNumber::new(&serial).map_err(x509_error)?;
    let validity = Validity::from_now(Duration::from_secs(u64::from(days) * 86_400)).map_err(x509_error)?;
    // Issuer = subject, no extensions (what yubico-piv-tool's `selfsign-certificate` makes), so Windows'
    // module uses RSA keys for signing and decryption and EC keys for ECDSA and ECDH.
    let subject = parse_name(subject)?;
    let profile = FixedProfile {
        issuer: subject.clone(),
        subject,
        extensions: Vec::new(),
    };
    let mut builder =
        CertificateBuilder::new(profile, serial, validity, key.spki().clone()).map_err(x509_error)?;
    let tbs = builder.finalize(key).map_err(x509_error)?;
    let signature = sign(&tbs)?;
    let certificate = builder
        .assemble(BitString::from_bytes(&signature).map_err(x509_error)?, key)
        .map_err(x509_error)?;
    certificate.to_der().map_err(x509_error)
}

/// A PKCS#10 certificate request (PEM) for the key in `key`, signed by the card.
pub fn request<T: Transport>(
    session: &mut tessera_piv::Session<T>,
    key: &CardKey,
    subject: &str,
) -> CliResult<String> {
    let mut builder = RequestBuilder::new(parse_name(subject)?).map_err(x509_error)?;
    let info = builder.finalize(key).map_err(x509_error)?;
    let signature = key.sign(session, &info)?;
    let request = builder
        .assemble(BitString::from_bytes(&signature).map_err(x509_error)?, key)
        .map_err(x509_error)?;
    request.to_pem(der::pem::LineEnding::LF).map_err(x509_error)
}
