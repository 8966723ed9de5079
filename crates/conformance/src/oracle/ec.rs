//! Elliptic curves on the CSP's side: ECDSA signatures (`r ‖ s`, big-endian) verified with `p256`/`p384`,
//! and software peer keys for ECDH whose shared secret the harness computes itself, to compare with what
//! the card and the module derive.

use p256::ecdsa::signature::hazmat::PrehashVerifier;

use super::hash::Hash;

/// A NIST curve the card supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Curve {
    /// P-256.
    P256,
    /// P-384.
    P384,
}

/// `BCRYPT_ECDH_PUBLIC_P256_MAGIC` (`ECK1`).
pub const ECDH_P256_MAGIC: u32 = 0x314B_4345;
/// `BCRYPT_ECDH_PUBLIC_P384_MAGIC` (`ECK3`).
pub const ECDH_P384_MAGIC: u32 = 0x334B_4345;
/// `BCRYPT_ECDSA_PUBLIC_P256_MAGIC` (`ECS1`).
pub const ECDSA_P256_MAGIC: u32 = 0x3153_4345;

impl Curve {
    /// Field (and coordinate) size in bytes.
    pub fn field_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }

    /// `AT_ECDSA_P256`/`AT_ECDSA_P384`.
    pub fn ecdsa_spec(self) -> u32 {
        match self {
            Self::P256 => 3,
            Self::P384 => 4,
        }
    }

    /// `AT_ECDHE_P256`/`AT_ECDHE_P384`.
    pub fn ecdh_spec(self) -> u32 {
        match self {
            Self::P256 => 6,
            Self::P384 => 7,
        }
    }

    /// The public ECDH magic of a peer blob on this curve.
    pub fn ecdh_magic(self) -> u32 {
        match self {
            Self::P256 => ECDH_P256_MAGIC,
            Self::P384 => ECDH_P384_MAGIC,
        }
    }

    /// `P-256` / `P-384`.
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
        }
    }
}

/// Checks an ECDSA signature in the interface's form (`r ‖ s`, each the field size, big-endian) over a
/// hash of any length, with the card's uncompressed point. The hash is used as FIPS 186-5 §6.4.1 says
/// (its leftmost bits when longer than the order; its value when shorter), which the verifier does.
pub fn verify_ecdsa(curve: Curve, point: &[u8], hash: &[u8], sig: &[u8]) -> Result<(), String> {
    if sig.len() != 2 * curve.field_len() {
        return Err(format!(
            "signature of {} bytes, expected r ‖ s of {}",
            sig.len(),
            2 * curve.field_len()
        ));
    }
    let r = match curve {
        Curve::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| e.to_string())?;
            let sig = p256::ecdsa::Signature::from_slice(sig).map_err(|e| e.to_string())?;
            key.verify_prehash(hash, &sig)
        }
        Curve::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| e.to_string())?;
            let sig = p384::ecdsa::Signature::from_slice(sig).map_err(|e| e.to_string())?;
            key.verify_prehash(hash, &sig)
        }
    };
    r.map_err(|_| format!("ECDSA {} signature does not verify", curve.name()))
}

/// A software ECDH key of the CSP's peer (e.g. a TLS server's ephemeral key), deterministic from a name.
#[derive(Clone)]
pub struct PeerKey {
    curve: Curve,
    scalar: Vec<u8>,
}

impl std::fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerKey({}, <test scalar>)", self.curve.name())
    }
}

impl PeerKey {
    /// The key whose scalar is derived from `name` (SHA-384 of it, reduced to a valid scalar by retrying
    /// with a counter).
    pub fn new(curve: Curve, name: &str) -> Self {
        for counter in 0u32.. {
            let seed = Hash::Sha384.digest(&[name.as_bytes(), &counter.to_be_bytes()]);
            let scalar = seed[..curve.field_len()].to_vec();
            let ok = match curve {
                Curve::P256 => p256::SecretKey::from_slice(&scalar).is_ok(),
                Curve::P384 => p384::SecretKey::from_slice(&scalar).is_ok(),
            };
            if ok {
                return Self { curve, scalar };
            }
        }
        unreachable!("a valid scalar is found within a few tries")
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The public point, uncompressed (`04 ‖ X ‖ Y`).
    pub fn public_point(&self) -> Vec<u8> {
        match self.curve {
            Curve::P256 => p256::SecretKey::from_slice(&self.scalar)
                .map(|k| k.public_key().to_sec1_bytes().to_vec())
                .unwrap_or_default(),
            Curve::P384 => p384::SecretKey::from_slice(&self.scalar)
                .map(|k| k.public_key().to_sec1_bytes().to_vec())
                .unwrap_or_default(),
        }
    }

    /// The public key as the `BCRYPT_ECCKEY_BLOB` the KSP hands to `CardConstructDHAgreement`.
    pub fn blob(&self) -> Vec<u8> {
        ecc_blob(
            self.curve.ecdh_magic(),
            self.curve.field_len(),
            &self.public_point(),
        )
    }

    /// The shared secret Z with the card's public point: the big-endian X coordinate of d·Q.
    pub fn shared_secret(&self, card_point: &[u8]) -> Result<Vec<u8>, String> {
        match self.curve {
            Curve::P256 => {
                let sk = p256::SecretKey::from_slice(&self.scalar).map_err(|e| e.to_string())?;
                let pk = p256::PublicKey::from_sec1_bytes(card_point).map_err(|e| e.to_string())?;
                let z = p256::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine());
                Ok(z.raw_secret_bytes().to_vec())
            }
            Curve::P384 => {
                let sk = p384::SecretKey::from_slice(&self.scalar).map_err(|e| e.to_string())?;
                let pk = p384::PublicKey::from_sec1_bytes(card_point).map_err(|e| e.to_string())?;
                let z = p384::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine());
                Ok(z.raw_secret_bytes().to_vec())
            }
        }
    }
}

/// A `BCRYPT_ECCKEY_BLOB` (magic, cbKey, X, Y) from an uncompressed point (the `04` dropped).
pub fn ecc_blob(magic: u32, field_len: usize, point: &[u8]) -> Vec<u8> {
    let mut b = magic.to_le_bytes().to_vec();
    b.extend((field_len as u32).to_le_bytes());
    b.extend_from_slice(point.get(1..).unwrap_or_default());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_agree_with_each_other() {
        for curve in [Curve::P256, Curve::P384] {
            let (a, b) = (PeerKey::new(curve, "a"), PeerKey::new(curve, "b"));
            let z1 = a.shared_secret(&b.public_point()).unwrap();
            let z2 = b.shared_secret(&a.public_point()).unwrap();
            assert_eq!(z1, z2);
            assert_eq!(z1.len(), curve.field_len());
            assert_eq!(a.blob().len(), 8 + 2 * curve.field_len());
        }
    }
}
