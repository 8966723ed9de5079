//! Public keys as the card returns them: `7F49 { 81 modulus, 82 exponent }` for RSA and
//! `7F49 { 86 point }` for elliptic curves (SP 800-73-4 Part 2 §3.3.2, Table 10).

use std::fmt;

use crate::algorithm::AlgorithmId;
use crate::tlv::{self, TlvError};
use thiserror::Error;

/// Tag of the public-key template.
pub const TAG_PUBLIC_KEY_TEMPLATE: u32 = 0x7F49;

/// Why a public key from the card cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The TLV structure is broken.
    #[error(transparent)]
    Tlv(#[from] TlvError),
    /// The algorithm is not an asymmetric one this crate knows.
    #[error("algorithm {0:?} has no public key format")]
    UnsupportedAlgorithm(AlgorithmId),
    /// The modulus does not match the announced key size.
    #[error("RSA modulus of {actual} bytes, expected {expected}")]
    BadModulus {
        /// Bytes for the key size.
        expected: usize,
        /// Bytes received (without leading zeros).
        actual: usize,
    },
    /// The exponent is empty, too long or even.
    #[error("invalid RSA public exponent")]
    BadExponent,
    /// The point is not an uncompressed point of the right size (or a 32-byte 25519 key).
    #[error("EC point of {actual} bytes is not valid for {algorithm:?}")]
    BadPoint {
        /// Algorithm.
        algorithm: AlgorithmId,
        /// Bytes received.
        actual: usize,
    },
}

/// A public key read from a card.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA: big-endian modulus (no leading zero) and exponent.
    Rsa {
        /// Algorithm (fixes the modulus size).
        algorithm: AlgorithmId,
        /// Modulus, big-endian, exactly key-size bytes.
        modulus: Vec<u8>,
        /// Public exponent, big-endian.
        exponent: Vec<u8>,
    },
    /// NIST curves: the uncompressed point `04 ‖ X ‖ Y`; 25519: the 32-byte key.
    Ecc {
        /// Algorithm (P-256, P-384, Ed25519, X25519).
        algorithm: AlgorithmId,
        /// The point as the card encodes it.
        point: Vec<u8>,
    },
}

impl PublicKey {
    /// Parses the inner elements (`81`/`82` or `86`), as found inside `7F49` or in GET METADATA tag `04`.
    pub fn parse_inner(algorithm: AlgorithmId, inner: &[u8]) -> Result<Self, PublicKeyError> {
        let tlvs = tlv::parse_all(inner)?;
        if algorithm.is_rsa() {
            let expected = algorithm.operation_len().unwrap_or(0);
            let modulus = strip_leading_zeros(tlv::require(&tlvs, 0x81)?);
            if modulus.len() != expected {
                return Err(PublicKeyError::BadModulus {
                    expected,
                    actual: modulus.len(),
                });
            }
            let exponent = strip_leading_zeros(tlv::require(&tlvs, 0x82)?);
            if exponent.is_empty() || exponent.len() > 8 || exponent.last().is_some_and(|b| b & 1 == 0) {
                return Err(PublicKeyError::BadExponent);
            }
            Ok(Self::Rsa {
                algorithm,
                modulus: modulus.to_vec(),
                exponent: exponent.to_vec(),
            })
        } else if let Some(len) = point_len(algorithm) {
            let point = tlv::require(&tlvs, 0x86)?;
            let uncompressed_ok = algorithm.is_ecc() && point.first() == Some(&0x04);
            if point.len() != len || (algorithm.is_ecc() && !uncompressed_ok) {
                return Err(PublicKeyError::BadPoint {
                    algorithm,
                    actual: point.len(),
                });
            }
            Ok(Self::Ecc {
                algorithm,
                point: point.to_vec(),
            })
        } else {
            Err(PublicKeyError::UnsupportedAlgorithm(algorithm))
        }
    }

    /// Parses a full `7F49` template (the GENERATE response), rejecting trailing bytes.
    pub fn parse_template(algorithm: AlgorithmId, data: &[u8]) -> Result<Self, PublicKeyError> {
        let inner = tlv::parse_single(data, TAG_PUBLIC_KEY_TEMPLATE)?;
        Self::parse_inner(algorithm, inner)
    }

    /// The inner elements (`81 ‖ 82` or `86`).
    pub fn encode_inner(&self) -> Vec<u8> {
        let built = match self {
            Self::Rsa {
                modulus, exponent, ..
            } => tlv::Builder::new().tlv(0x81, modulus).tlv(0x82, exponent),
            Self::Ecc { point, .. } => tlv::Builder::new().tlv(0x86, point),
        };
        // Moduli and points are far below the 64 KiB TLV limit.
        built.finish().unwrap_or_default()
    }

    /// The whole `7F49` template.
    pub fn encode_template(&self) -> Vec<u8> {
        tlv::encode(TAG_PUBLIC_KEY_TEMPLATE, &self.encode_inner()).unwrap_or_default()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> AlgorithmId {
        match self {
            Self::Rsa { algorithm, .. } | Self::Ecc { algorithm, .. } => *algorithm,
        }
    }
}

/// Encoded length of the public value for the curve algorithms.
pub const fn point_len(algorithm: AlgorithmId) -> Option<usize> {
    match algorithm.0 {
        0x11 => Some(65),
        0x14 => Some(97),
        0xE0 | 0xE1 => Some(32),
        _ => None,
    }
}

/// `v` without its leading zero bytes (big-endian integers as cards and hosts pad them).
pub(crate) fn strip_leading_zeros(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    &v[start..]
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa {
                algorithm,
                modulus,
                exponent,
            } => write!(
                f,
                "PublicKey::Rsa({algorithm:?}, n={}…, e={})",
                crate::hex::HexBytes(&modulus[..modulus.len().min(8)]),
                crate::hex::HexBytes(exponent)
            ),
            Self::Ecc { algorithm, point } => {
                write!(
                    f,
                    "PublicKey::Ecc({algorithm:?}, {})",
                    crate::hex::HexBytes(point)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_generate_responses() {
        // RSA-2048 as a YubiKey answers GENERATE (Yubico's PIV command reference):
        // 7F49 82 01 09 81 82 01 00 <n> 82 03 01 00 01.
        let mut n = vec![0xC3u8; 256];
        n[255] = 0x01;
        let mut resp = vec![0x7F, 0x49, 0x82, 0x01, 0x09, 0x81, 0x82, 0x01, 0x00];
        resp.extend_from_slice(&n);
        resp.extend_from_slice(&[0x82, 0x03, 0x01, 0x00, 0x01]);
        let key = PublicKey::parse_template(AlgorithmId::RSA2048, &resp).unwrap();
        assert_eq!(key.encode_template(), resp);
        // EC P-256: 7F49 43 86 41 04 <X><Y>.
        let mut ec = vec![0x7F, 0x49, 0x43, 0x86, 0x41, 0x04];
        ec.extend_from_slice(&[0x11; 64]);
        let key = PublicKey::parse_template(AlgorithmId::ECCP256, &ec).unwrap();
        assert_eq!(key.encode_template(), ec);
    }

    #[test]
    fn rejects_inconsistent_keys() {
        let bad_point = [0x7F, 0x49, 0x05, 0x86, 0x03, 0x04, 0x01, 0x02];
        assert!(matches!(
            PublicKey::parse_template(AlgorithmId::ECCP256, &bad_point),
            Err(PublicKeyError::BadPoint { .. })
        ));
        let short_n = [0x7F, 0x49, 0x08, 0x81, 0x01, 0x05, 0x82, 0x03, 0x01, 0x00, 0x01];
        assert!(matches!(
            PublicKey::parse_template(AlgorithmId::RSA1024, &short_n),
            Err(PublicKeyError::BadModulus {
                expected: 128,
                actual: 1
            })
        ));
        assert!(matches!(
            PublicKey::parse_template(AlgorithmId::TDES, &[0x7F, 0x49, 0x00]),
            Err(PublicKeyError::UnsupportedAlgorithm(_))
        ));
    }
}
