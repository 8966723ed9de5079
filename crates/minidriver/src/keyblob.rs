//! Public-key blobs for `CONTAINER_INFO` (Smart Card Minidriver Specification 7.07 §4.6.4, and
//! cardmod.h): the CAPI `PUBLICKEYBLOB` (`BLOBHEADER`, `RSAPUBKEY`, little-endian modulus) for RSA and the
//! CNG `BCRYPT_ECCKEY_BLOB` (big-endian X and Y) for elliptic curves.

use tessera_piv::{AlgorithmId, PublicKey};
use windows_sys::Win32::Security::Cryptography::{
    BCRYPT_ECDH_PUBLIC_P256_MAGIC, BCRYPT_ECDH_PUBLIC_P384_MAGIC, BCRYPT_ECDSA_PUBLIC_P256_MAGIC,
    BCRYPT_ECDSA_PUBLIC_P384_MAGIC, CUR_BLOB_VERSION, PUBLICKEYBLOB,
};
pub use windows_sys::Win32::Security::Cryptography::{CALG_RSA_KEYX, CALG_RSA_SIGN};

use crate::error::{MdError, Result};

/// `RSAPUBKEY.magic` of a public key: `'RSA1'` (wincrypt.h names no constant for it).
const RSA1: u32 = u32::from_le_bytes(*b"RSA1");

/// The ECDSA public magics (`ECS1`, `ECS3`) and ECDH public magics (`ECK1`, `ECK3`) of bcrypt.h.
pub const ECDSA_P256_MAGIC: u32 = BCRYPT_ECDSA_PUBLIC_P256_MAGIC;
/// As [`ECDSA_P256_MAGIC`].
pub const ECDSA_P384_MAGIC: u32 = BCRYPT_ECDSA_PUBLIC_P384_MAGIC;
/// As [`ECDSA_P256_MAGIC`].
pub const ECDH_P256_MAGIC: u32 = BCRYPT_ECDH_PUBLIC_P256_MAGIC;
/// As [`ECDSA_P256_MAGIC`].
pub const ECDH_P384_MAGIC: u32 = BCRYPT_ECDH_PUBLIC_P384_MAGIC;

/// How the key is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobRole {
    /// RSA signature key (`CALG_RSA_SIGN`) or ECDSA key.
    Signature,
    /// RSA exchange key (`CALG_RSA_KEYX`) or ECDH key.
    Exchange,
}

/// Encodes `key` as Windows expects it in `CONTAINER_INFO`.
pub fn encode(key: &PublicKey, role: BlobRole) -> Result<Vec<u8>> {
    match key {
        PublicKey::Rsa {
            modulus, exponent, ..
        } => {
            let exp = exponent_u32(exponent)?;
            let bits = u32::try_from(modulus.len() * 8).map_err(|_| MdError::Unexpected("modulus".into()))?;
            let alg = if role == BlobRole::Exchange {
                CALG_RSA_KEYX
            } else {
                CALG_RSA_SIGN
            };
            let mut out = Vec::with_capacity(20 + modulus.len());
            out.extend_from_slice(&[PUBLICKEYBLOB as u8, CUR_BLOB_VERSION as u8, 0, 0]);
            out.extend_from_slice(&alg.to_le_bytes());
            out.extend_from_slice(&RSA1.to_le_bytes());
            out.extend_from_slice(&bits.to_le_bytes());
            out.extend_from_slice(&exp.to_le_bytes());
            out.extend(modulus.iter().rev());
            Ok(out)
        }
        PublicKey::Ecc { algorithm, point } => {
            let (magic, len) = match (*algorithm, role) {
                (AlgorithmId::ECCP256, BlobRole::Signature) => (ECDSA_P256_MAGIC, 32),
                (AlgorithmId::ECCP384, BlobRole::Signature) => (ECDSA_P384_MAGIC, 48),
                (AlgorithmId::ECCP256, BlobRole::Exchange) => (ECDH_P256_MAGIC, 32),
                (AlgorithmId::ECCP384, BlobRole::Exchange) => (ECDH_P384_MAGIC, 48),
                _ => return Err(MdError::Unsupported("key algorithm has no Windows blob")),
            };
            let Some(xy) = point.strip_prefix(&[0x04]).filter(|xy| xy.len() == 2 * len) else {
                return Err(MdError::CommDataLost("EC point has the wrong form".into()));
            };
            let mut out = Vec::with_capacity(8 + xy.len());
            out.extend_from_slice(&magic.to_le_bytes());
            out.extend_from_slice(&(len as u32).to_le_bytes());
            out.extend_from_slice(xy);
            Ok(out)
        }
    }
}

fn exponent_u32(e: &[u8]) -> Result<u32> {
    if e.len() > 4 {
        return Err(MdError::Unsupported("RSA public exponent larger than 32 bits"));
    }
    Ok(e.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_publickeyblob_layout() {
        let mut n = vec![0u8; 256];
        n[0] = 0xC0;
        n[255] = 0x0B;
        let key = PublicKey::Rsa {
            algorithm: AlgorithmId::RSA2048,
            modulus: n,
            exponent: vec![1, 0, 1],
        };
        let blob = encode(&key, BlobRole::Exchange).unwrap();
        assert_eq!(blob.len(), 276);
        assert_eq!(&blob[..8], &[0x06, 0x02, 0x00, 0x00, 0x00, 0xA4, 0x00, 0x00]);
        assert_eq!(&blob[8..12], b"RSA1");
        assert_eq!(&blob[12..20], &[0x00, 0x08, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00]);
        assert_eq!((blob[20], blob[275]), (0x0B, 0xC0), "modulus little-endian");
        let sig = encode(&key, BlobRole::Signature).unwrap();
        assert_eq!(&sig[4..8], &[0x00, 0x24, 0x00, 0x00]);
    }

    #[test]
    fn ecc_blob_layout() {
        let mut point = vec![0x04];
        point.extend(1..=64u8);
        let key = PublicKey::Ecc {
            algorithm: AlgorithmId::ECCP256,
            point,
        };
        let blob = encode(&key, BlobRole::Signature).unwrap();
        assert_eq!(blob.len(), 72);
        assert_eq!(&blob[..8], &[0x45, 0x43, 0x53, 0x31, 0x20, 0, 0, 0]);
        assert_eq!(blob[8], 1);
        let dh = encode(&key, BlobRole::Exchange).unwrap();
        assert_eq!(&dh[..4], b"ECK1");
        let bad = PublicKey::Ecc {
            algorithm: AlgorithmId::ECCP384,
            point: vec![0x04; 65],
        };
        assert!(encode(&bad, BlobRole::Signature).is_err());
    }
}
