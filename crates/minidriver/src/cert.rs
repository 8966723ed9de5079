//! What the module needs from an X.509 certificate: the public key (to check and describe the slot's
//! key) and the key usage (to pick key specs). Parsed with RustCrypto's `x509-cert`.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1};
use der::Decode;
use tessera_piv::{AlgorithmId, PublicKey, tlv};
use x509_cert::Certificate;
use x509_cert::ext::pkix::KeyUsage;

use crate::error::{MdError, Result};

/// The key-usage bits that matter for Windows key specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// digitalSignature, nonRepudiation, keyCertSign or cRLSign.
    pub sign: bool,
    /// keyEncipherment or dataEncipherment (RSA decryption).
    pub encipher: bool,
    /// keyAgreement (ECDH).
    pub agree: bool,
}

impl Usage {
    /// No restriction: a certificate without a key-usage extension, or a key without a certificate.
    pub const ANY: Self = Self {
        sign: true,
        encipher: true,
        agree: true,
    };
}

/// A parsed certificate.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// The subject public key.
    pub public_key: PublicKey,
    /// Key usage (`Usage::ANY` when the extension is absent).
    pub usage: Usage,
}

fn bad(reason: impl Into<String>) -> MdError {
    MdError::CommDataLost(format!("certificate: {}", reason.into()))
}

/// Parses a DER certificate.
pub fn inspect(der: &[u8]) -> Result<CertInfo> {
    let cert = Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
    let tbs = cert.tbs_certificate();
    let spki = tbs.subject_public_key_info();
    let key_bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad("public key is not whole bytes"))?;
    let public_key = if spki.algorithm.oid == RSA_ENCRYPTION {
        rsa_public_key(key_bits)?
    } else if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .ok_or_else(|| bad("EC key without curve"))?
            .decode_as::<ObjectIdentifier>()
            .map_err(|e: der::Error| bad(e.to_string()))?;
        let algorithm = match curve {
            c if c == SECP_256_R_1 => AlgorithmId::ECCP256,
            c if c == SECP_384_R_1 => AlgorithmId::ECCP384,
            _ => return Err(MdError::Unsupported("certificate key on an unsupported curve")),
        };
        let expected = tessera_piv::public_key::point_len(algorithm).unwrap_or(0);
        if key_bits.len() != expected || key_bits.first() != Some(&0x04) {
            return Err(bad("EC point is not uncompressed or has the wrong size"));
        }
        PublicKey::Ecc {
            algorithm,
            point: key_bits.to_vec(),
        }
    } else {
        return Err(MdError::Unsupported("certificate key algorithm"));
    };
    let usage = match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => Usage {
            sign: ku.digital_signature() || ku.non_repudiation() || ku.key_cert_sign() || ku.crl_sign(),
            encipher: ku.key_encipherment() || ku.data_encipherment(),
            agree: ku.key_agreement(),
        },
        Ok(None) => Usage::ANY,
        Err(e) => return Err(bad(e.to_string())),
    };
    Ok(CertInfo { public_key, usage })
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
fn rsa_public_key(der: &[u8]) -> Result<PublicKey> {
    let body = tlv::parse_single(der, 0x30).map_err(|e| bad(e.to_string()))?;
    let elements = tlv::parse_all(body).map_err(|e| bad(e.to_string()))?;
    let [n, e] = elements.as_slice() else {
        return Err(bad("RSA public key is not two integers"));
    };
    if n.tag != 0x02 || e.tag != 0x02 {
        return Err(bad("RSA public key is not two integers"));
    }
    let modulus = strip(n.value);
    let algorithm = u32::try_from(modulus.len() * 8)
        .ok()
        .and_then(AlgorithmId::rsa)
        .ok_or(MdError::Unsupported("RSA key size"))?;
    Ok(PublicKey::Rsa {
        algorithm,
        modulus: modulus.to_vec(),
        exponent: strip(e.value).to_vec(),
    })
}

fn strip(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    &v[start..]
}
