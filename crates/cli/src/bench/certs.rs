//! Certificates the bench writes: the one an enrollment stores (about 1.5 KB, the size of a typical
//! enterprise logon certificate with its extensions) and the one "another tool" puts in place of a
//! slot's certificate. Issued by a software CA with a fixed P-256 key: what matters is the card's public
//! key inside and the size, not a chain anyone trusts.

use std::str::FromStr;
use std::time::Duration;

use der::asn1::{OctetString, UtcTime};
use der::{Encode, oid::ObjectIdentifier};
use tessera_conformance::fixture::FixedProfile;
use tessera_piv::PublicKey;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// An extension of no meaning to anyone, non-critical, which brings the certificate to the size asked
/// for: under the private enterprise number RFC 5612 sets aside for examples (32473).
const FILLER_EXTENSION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.1");

/// The filler extension of `len` bytes (none when 0).
fn filler(len: usize) -> Result<Vec<Extension>, String> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let inner = OctetString::new(vec![0x5A; len])
        .and_then(|o| o.to_der())
        .map_err(|e| e.to_string())?;
    Ok(vec![Extension {
        extn_id: FILLER_EXTENSION,
        critical: false,
        extn_value: OctetString::new(inner).map_err(|e| e.to_string())?,
    }])
}

/// The bench's certificate authority.
pub struct BenchCa {
    key: p256::ecdsa::SigningKey,
    name: Name,
}

impl BenchCa {
    /// The CA (its key derived from a fixed label).
    pub fn new() -> Result<Self, String> {
        let seed: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"tessera bench CA").into();
        let key = p256::ecdsa::SigningKey::from_slice(&seed).map_err(|e| e.to_string())?;
        let name = Name::from_str("CN=Tessera Bench CA,O=Tessera").map_err(|e| e.to_string())?;
        Ok(Self { key, name })
    }

    /// A certificate for `key` named `subject` (RFC 4514), at least `min_len` bytes long (DER).
    pub fn issue(
        &self,
        subject: &str,
        key: &PublicKey,
        serial: u32,
        min_len: usize,
    ) -> Result<Vec<u8>, String> {
        let plain = self.build(subject, key, serial, 0)?;
        if plain.len() >= min_len {
            return Ok(plain);
        }
        // The filler's own headers (extension SEQUENCE, OID, two OCTET STRING headers, and the
        // extensions wrapper when it is the only one) take some 60 bytes; the second try settles it.
        let mut filler = min_len - plain.len();
        for _ in 0..4 {
            let der = self.build(subject, key, serial, filler)?;
            if der.len() >= min_len {
                if der.len() - min_len < 8 || filler == 1 {
                    return Ok(der);
                }
                filler -= (der.len() - min_len).min(filler - 1);
            } else {
                filler += min_len - der.len();
            }
        }
        self.build(subject, key, serial, filler)
    }

    fn build(
        &self,
        subject: &str,
        key: &PublicKey,
        serial: u32,
        filler_len: usize,
    ) -> Result<Vec<u8>, String> {
        let profile = FixedProfile {
            issuer: self.name.clone(),
            subject: Name::from_str(subject).map_err(|e| e.to_string())?,
            extensions: filler(filler_len)?,
        };
        let spki = tessera_conformance::fixture::spki_of(key)?;
        let builder = CertificateBuilder::new(profile, SerialNumber::from(serial), validity()?, spki)
            .map_err(|e| e.to_string())?;
        let cert = builder
            .build::<_, p256::ecdsa::DerSignature>(&self.key)
            .map_err(|e| e.to_string())?;
        cert.to_der().map_err(|e| e.to_string())
    }
}

/// 2025-01-01 to 2035-01-01: fixed, so runs are comparable.
fn validity() -> Result<Validity, String> {
    let at = |secs| {
        UtcTime::from_unix_duration(Duration::from_secs(secs))
            .map(Time::UtcTime)
            .map_err(|e| e.to_string())
    };
    Ok(Validity::new(at(1_735_689_600)?, at(2_051_222_400)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_piv::AlgorithmId;

    #[test]
    fn an_enrollment_certificate_is_one_and_a_half_kilobytes_and_carries_the_key() {
        let point = p256::SecretKey::from_slice(&[7; 32])
            .unwrap()
            .public_key()
            .to_sec1_bytes()
            .to_vec();
        let key = PublicKey::Ecc {
            algorithm: AlgorithmId::ECCP256,
            point: point.clone(),
        };
        let ca = BenchCa::new().unwrap();
        let der = ca.issue("CN=bench enrollment", &key, 7, 1536).unwrap();
        assert!((1536..1544).contains(&der.len()), "{} bytes", der.len());
        let (found, _) = tessera_conformance::fixture::certificate_key(&der).unwrap();
        assert_eq!(found, key);
        let short = ca.issue("CN=bench replacement", &key, 8, 0).unwrap();
        assert!(short.len() < 600, "{} bytes", short.len());
    }
}
