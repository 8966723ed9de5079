//! Private keys on the card: generation, import, storage form, and the three private-key operations
//! PIV offers (raw RSA, ECDSA on a hash, ECDH). RSA keys are kept as their primes, EC keys as their
//! scalar; both are rebuilt for each operation.

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::elliptic_curve::Generate;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BoxedUint, PrivateKey as RsaPrivateKey};
use serde::{Deserialize, Serialize};
use tessera_piv::{AlgorithmId, PublicKey};
use zeroize::Zeroizing;

use crate::error::VirtualCardError;
use crate::rng::CardRng;
use crate::secret::Secret;

/// The RSA public exponent the card uses and accepts (as YubiKeys do).
pub const RSA_EXPONENT: u32 = 65537;
const RSA_EXPONENT_BYTES: [u8; 3] = [0x01, 0x00, 0x01];

/// The asymmetric algorithms this card generates and imports.
pub const SUPPORTED_ALGORITHMS: [AlgorithmId; 6] = [
    AlgorithmId::RSA1024,
    AlgorithmId::RSA2048,
    AlgorithmId::RSA3072,
    AlgorithmId::RSA4096,
    AlgorithmId::ECCP256,
    AlgorithmId::ECCP384,
];

/// True when the card can hold a key of this algorithm.
pub fn is_supported(algorithm: AlgorithmId) -> bool {
    SUPPORTED_ALGORITHMS.contains(&algorithm)
}

/// Key material as the state file stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyMaterial {
    /// RSA: the two primes, big-endian (e = 65537).
    Rsa {
        /// First prime.
        p: Secret,
        /// Second prime.
        q: Secret,
    },
    /// NIST curve: the private scalar, big-endian, field-size bytes.
    Ec {
        /// The scalar.
        scalar: Secret,
    },
}

/// Why a private-key operation refused its input (the card answers `6A80`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadInput;

/// A usable private key.
pub enum PrivateKey {
    /// RSA of any supported size.
    Rsa(Box<RsaPrivateKey>),
    /// NIST P-256.
    P256(p256::SecretKey),
    /// NIST P-384.
    P384(p384::SecretKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rsa(k) => write!(f, "PrivateKey::Rsa({} bits, <redacted>)", k.size() * 8),
            Self::P256(_) => f.write_str("PrivateKey::P256(<redacted>)"),
            Self::P384(_) => f.write_str("PrivateKey::P384(<redacted>)"),
        }
    }
}

fn crypto_err(e: impl std::fmt::Display) -> VirtualCardError {
    VirtualCardError::Crypto(e.to_string())
}

/// `bytes` without leading zeros, left-padded to exactly `len` bytes; `None` if it does not fit.
pub(crate) fn fixed_width(bytes: &[u8], len: usize) -> Option<Zeroizing<Vec<u8>>> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let significant = bytes.get(start..)?;
    let pad = len.checked_sub(significant.len())?;
    let mut out = Zeroizing::new(vec![0u8; len]);
    out.get_mut(pad..)?.copy_from_slice(significant);
    Some(out)
}

impl PrivateKey {
    /// Generates a key of `algorithm` (which must be one of [`SUPPORTED_ALGORITHMS`]).
    pub fn generate(algorithm: AlgorithmId, rng: &mut CardRng) -> Result<Self, VirtualCardError> {
        match algorithm {
            AlgorithmId::ECCP256 => Ok(Self::P256(p256::SecretKey::generate_from_rng(rng.inner()))),
            AlgorithmId::ECCP384 => Ok(Self::P384(p384::SecretKey::generate_from_rng(rng.inner()))),
            a if a.is_rsa() => {
                let bits = a.key_bits().unwrap_or(2048) as usize;
                let key = RsaPrivateKey::new(rng.inner(), bits).map_err(crypto_err)?;
                Ok(Self::Rsa(Box::new(key)))
            }
            other => Err(VirtualCardError::Crypto(format!("cannot generate {other}"))),
        }
    }

    /// Rebuilds a key from its stored form.
    pub fn from_material(algorithm: AlgorithmId, material: &KeyMaterial) -> Result<Self, VirtualCardError> {
        match material {
            KeyMaterial::Rsa { p, q } => {
                let half_bits = algorithm.key_bits().unwrap_or(0) / 2;
                Self::rsa_from_primes(p.expose(), q.expose(), half_bits).map_err(crypto_err)
            }
            KeyMaterial::Ec { scalar } => Self::ec_from_scalar(algorithm, scalar.expose())
                .ok_or_else(|| VirtualCardError::Crypto("stored EC scalar is invalid".into())),
        }
    }

    fn rsa_from_primes(p: &[u8], q: &[u8], half_bits: u32) -> Result<Self, rsa::Error> {
        let p = BoxedUint::from_be_slice(p, half_bits).map_err(|_| rsa::Error::InvalidPrime)?;
        let q = BoxedUint::from_be_slice(q, half_bits).map_err(|_| rsa::Error::InvalidPrime)?;
        let key = RsaPrivateKey::from_p_q(p, q, BoxedUint::from(RSA_EXPONENT))?;
        Ok(Self::Rsa(Box::new(key)))
    }

    fn ec_from_scalar(algorithm: AlgorithmId, scalar: &[u8]) -> Option<Self> {
        match algorithm {
            AlgorithmId::ECCP256 if scalar.len() == 32 => {
                p256::SecretKey::from_slice(scalar).ok().map(Self::P256)
            }
            AlgorithmId::ECCP384 if scalar.len() == 48 => {
                p384::SecretKey::from_slice(scalar).ok().map(Self::P384)
            }
            _ => None,
        }
    }

    /// IMPORT of an EC key: the scalar must be field-size bytes and a valid private key.
    pub fn import_ec(algorithm: AlgorithmId, scalar: &[u8]) -> Result<Self, BadInput> {
        Self::ec_from_scalar(algorithm, scalar).ok_or(BadInput)
    }

    /// IMPORT of an RSA key from its CRT components (each at most half the modulus size). The card
    /// rebuilds the key from p and q with e = 65537 and refuses components that do not belong to it.
    pub fn import_rsa(algorithm: AlgorithmId, parts: [&[u8]; 5]) -> Result<Self, BadInput> {
        let bits = algorithm
            .key_bits()
            .filter(|_| algorithm.is_rsa())
            .ok_or(BadInput)?;
        let half = (bits / 16) as usize;
        let [p, q, dp, dq, qinv] = parts;
        let p = fixed_width(p, half).ok_or(BadInput)?;
        let q = fixed_width(q, half).ok_or(BadInput)?;
        let key = Self::rsa_from_primes(&p, &q, bits / 2).map_err(|_| BadInput)?;
        let Self::Rsa(rsa_key) = &key else {
            return Err(BadInput);
        };
        if rsa_key.size() * 8 != bits as usize {
            return Err(BadInput);
        }
        let secret_bytes = |v: &BoxedUint| Zeroizing::new(v.to_be_bytes());
        let expected_dp = rsa_key.dp().map(secret_bytes).ok_or(BadInput)?;
        let expected_dq = rsa_key.dq().map(secret_bytes).ok_or(BadInput)?;
        let qinv_value = rsa_key.crt_coefficient().map(Zeroizing::new);
        let expected_qinv = qinv_value.as_deref().map(secret_bytes).ok_or(BadInput)?;
        for (given, expected) in [(dp, &expected_dp), (dq, &expected_dq), (qinv, &expected_qinv)] {
            let given = fixed_width(given, half).ok_or(BadInput)?;
            let expected = fixed_width(expected, half).ok_or(BadInput)?;
            if !Secret::from_zeroizing(given).ct_eq(&expected) {
                return Err(BadInput);
            }
        }
        Ok(key)
    }

    /// The stored form.
    pub fn to_material(&self) -> KeyMaterial {
        match self {
            Self::Rsa(k) => {
                let half = k.size() / 2;
                let prime = |i: usize| {
                    let bytes = Zeroizing::new(
                        k.primes()
                            .get(i)
                            .map(|p| p.as_ref().to_be_bytes())
                            .unwrap_or_default(),
                    );
                    Secret::from_zeroizing(fixed_width(&bytes, half).unwrap_or_default())
                };
                KeyMaterial::Rsa {
                    p: prime(0),
                    q: prime(1),
                }
            }
            Self::P256(k) => KeyMaterial::Ec {
                scalar: Secret::new(&Zeroizing::new(k.to_bytes())),
            },
            Self::P384(k) => KeyMaterial::Ec {
                scalar: Secret::new(&Zeroizing::new(k.to_bytes())),
            },
        }
    }

    /// The algorithm identifier.
    pub fn algorithm(&self) -> AlgorithmId {
        match self {
            Self::Rsa(k) => AlgorithmId::rsa((k.size() * 8) as u32).unwrap_or(AlgorithmId::RSA2048),
            Self::P256(_) => AlgorithmId::ECCP256,
            Self::P384(_) => AlgorithmId::ECCP384,
        }
    }

    /// The public key in PIV encoding.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Rsa(k) => PublicKey::Rsa {
                algorithm: self.algorithm(),
                modulus: fixed_width(&k.n().as_ref().to_be_bytes(), k.size())
                    .map(|v| v.to_vec())
                    .unwrap_or_default(),
                exponent: RSA_EXPONENT_BYTES.to_vec(),
            },
            Self::P256(k) => PublicKey::Ecc {
                algorithm: AlgorithmId::ECCP256,
                point: k.public_key().to_sec1_bytes().to_vec(),
            },
            Self::P384(k) => PublicKey::Ecc {
                algorithm: AlgorithmId::ECCP384,
                point: k.public_key().to_sec1_bytes().to_vec(),
            },
        }
    }

    /// The public key as an X.509 SubjectPublicKeyInfo (for attestation certificates).
    pub fn subject_public_key_info(&self) -> Result<spki::SubjectPublicKeyInfoOwned, VirtualCardError> {
        use spki::EncodePublicKey;
        let der = match self {
            Self::Rsa(k) => k.to_public_key().to_public_key_der(),
            Self::P256(k) => k.public_key().to_public_key_der(),
            Self::P384(k) => k.public_key().to_public_key_der(),
        }
        .map_err(crypto_err)?;
        der::Decode::from_der(der.as_bytes()).map_err(crypto_err)
    }

    /// Raw RSA private operation (sign and decrypt are the same on a PIV card): the input must be exactly
    /// the modulus size and numerically below the modulus. Blinded with the card's RNG.
    pub fn rsa_raw(&self, input: &[u8], rng: &mut CardRng) -> Result<Zeroizing<Vec<u8>>, BadInput> {
        let Self::Rsa(k) = self else {
            return Err(BadInput);
        };
        if input.len() != k.size() {
            return Err(BadInput);
        }
        let c = BoxedUint::from_be_slice(input, k.n_bits_precision()).map_err(|_| BadInput)?;
        let m = Zeroizing::new(
            rsa::hazmat::rsa_decrypt_and_check(k.as_ref(), Some(rng.inner()), &c).map_err(|_| BadInput)?,
        );
        fixed_width(&Zeroizing::new(m.to_be_bytes()), k.size()).ok_or(BadInput)
    }

    /// ECDSA over a hash: the hash is truncated to the field size (or left-padded when shorter), and the
    /// signature is deterministic (RFC 6979) and DER-encoded.
    pub fn ecdsa_sign(&self, hash: &[u8]) -> Result<Vec<u8>, BadInput> {
        if hash.is_empty() {
            return Err(BadInput);
        }
        match self {
            Self::P256(k) => {
                let prehash = field_prehash(hash, 32).ok_or(BadInput)?;
                der_signature::<p256::ecdsa::DerSignature>(&p256::ecdsa::SigningKey::from(k), &prehash)
            }
            Self::P384(k) => {
                let prehash = field_prehash(hash, 48).ok_or(BadInput)?;
                der_signature::<p384::ecdsa::DerSignature>(&p384::ecdsa::SigningKey::from(k), &prehash)
            }
            Self::Rsa(_) => Err(BadInput),
        }
    }

    /// ECDH with an uncompressed peer point: the shared X coordinate.
    pub fn ecdh(&self, peer_point: &[u8]) -> Result<Zeroizing<Vec<u8>>, BadInput> {
        match self {
            Self::P256(k) if peer_point.len() == 65 && peer_point.first() == Some(&0x04) => {
                let peer = p256::PublicKey::from_sec1_bytes(peer_point).map_err(|_| BadInput)?;
                Ok(Zeroizing::new(
                    k.diffie_hellman(&peer).raw_secret_bytes().to_vec(),
                ))
            }
            Self::P384(k) if peer_point.len() == 97 && peer_point.first() == Some(&0x04) => {
                let peer = p384::PublicKey::from_sec1_bytes(peer_point).map_err(|_| BadInput)?;
                Ok(Zeroizing::new(
                    k.diffie_hellman(&peer).raw_secret_bytes().to_vec(),
                ))
            }
            _ => Err(BadInput),
        }
    }
}

/// The hash as a field-size integer: leftmost `len` bytes when longer (FIPS 186 truncation), left-padded
/// with zeros when shorter.
fn field_prehash(hash: &[u8], len: usize) -> Option<Vec<u8>> {
    if hash.len() >= len {
        return hash.get(..len).map(<[u8]>::to_vec);
    }
    let mut out = vec![0u8; len - hash.len()];
    out.extend_from_slice(hash);
    Some(out)
}

/// A deterministic ECDSA signature over a field-size prehash, in the signer's DER encoding.
fn der_signature<Sig: AsRef<[u8]>>(
    signer: &impl PrehashSigner<Sig>,
    prehash: &[u8],
) -> Result<Vec<u8>, BadInput> {
    let sig = signer.sign_prehash(prehash).map_err(|_| BadInput)?;
    Ok(sig.as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_pads_and_trims() {
        assert_eq!(*fixed_width(&[0, 0, 1, 2], 3).unwrap(), vec![0, 1, 2]);
        assert_eq!(*fixed_width(&[1, 2], 4).unwrap(), vec![0, 0, 1, 2]);
        assert!(fixed_width(&[1, 2, 3], 2).is_none());
        assert_eq!(*fixed_width(&[], 2).unwrap(), vec![0, 0]);
    }

    #[test]
    fn ec_keys_round_trip_through_material() {
        let mut rng = CardRng::seeded(7);
        for alg in [AlgorithmId::ECCP256, AlgorithmId::ECCP384] {
            let key = PrivateKey::generate(alg, &mut rng).unwrap();
            let back = PrivateKey::from_material(alg, &key.to_material()).unwrap();
            assert_eq!(back.public_key(), key.public_key());
            let PublicKey::Ecc { point, .. } = key.public_key() else {
                panic!()
            };
            assert_eq!(point[0], 0x04);
            assert_eq!(Some(point.len()), tessera_piv::public_key::point_len(alg));
        }
    }

    #[test]
    fn rsa_key_round_trips_and_imports_from_crt() {
        let mut rng = CardRng::seeded(8);
        let key = PrivateKey::generate(AlgorithmId::RSA1024, &mut rng).unwrap();
        let material = key.to_material();
        let back = PrivateKey::from_material(AlgorithmId::RSA1024, &material).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let PrivateKey::Rsa(k) = &key else { panic!() };
        let KeyMaterial::Rsa { p, q } = &material else {
            panic!()
        };
        let dp = k.dp().unwrap().to_be_bytes();
        let dq = k.dq().unwrap().to_be_bytes();
        let qinv = k.crt_coefficient().unwrap().to_be_bytes();
        let imported =
            PrivateKey::import_rsa(AlgorithmId::RSA1024, [p.expose(), q.expose(), &dp, &dq, &qinv]).unwrap();
        assert_eq!(imported.public_key(), key.public_key());
        // A wrong CRT exponent is refused.
        let mut bad = dp.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 2;
        assert!(
            PrivateKey::import_rsa(AlgorithmId::RSA1024, [p.expose(), q.expose(), &bad, &dq, &qinv]).is_err()
        );
        // Raw RSA: input must be the modulus size and below n.
        assert!(key.rsa_raw(&[1; 127], &mut rng).is_err());
        assert!(key.rsa_raw(&[0xFF; 128], &mut rng).is_err());
        let out = key.rsa_raw(&[0x01; 128], &mut rng).unwrap();
        assert_eq!(out.len(), 128);
    }
}
