//! The private-key blobs of `CardCreateContainer(Ex)` with `CARD_CREATE_CONTAINER_KEY_IMPORT`
//! (Smart Card Minidriver Specification 7.07 §4.4.1): a CryptoAPI `PRIVATEKEYBLOB` for RSA and a CNG
//! `BCRYPT_ECCKEY_BLOB` with a private magic for elliptic curves. The module hands the private key to the
//! card with Yubico's IMPORT ASYMMETRIC KEY and keeps no copy: every buffer here wipes itself.
//!
//! ```text
//! PRIVATEKEYBLOB (little-endian)                   BCRYPT_ECCKEY_BLOB (integers big-endian)
//!   BLOBHEADER { bType 07, bVersion 02, 00 00,        ULONG dwMagic  ECS2/ECS4 (ECDSA), ECK2/ECK4 (ECDH)
//!                ALG_ID aiKeyAlg }                    ULONG cbKey    32 or 48
//!   RSAPUBKEY  { 'RSA2', bitlen, pubexp }            X[cbKey] Y[cbKey] d[cbKey]
//!   modulus[n] prime1[n/2] prime2[n/2]
//!   exponent1[n/2] exponent2[n/2] coefficient[n/2]
//!   privateExponent[n]                               (n = bitlen / 8)
//! ```

use tessera_piv::{AlgorithmId, PublicKey};
use zeroize::Zeroizing;

use crate::containers::spec;
use crate::error::{MdError, Result};
use crate::keyblob::{CALG_RSA_KEYX, CALG_RSA_SIGN};

/// `PRIVATEKEYBLOB`.
const PRIVATEKEYBLOB: u8 = 0x07;
/// `'RSA2'`.
const RSA2: u32 = 0x3241_5352;
/// `BCRYPT_ECDSA_PRIVATE_P256_MAGIC` ('ECS2').
const ECDSA_P256_PRIVATE: u32 = 0x3253_4345;
/// `BCRYPT_ECDSA_PRIVATE_P384_MAGIC` ('ECS4').
const ECDSA_P384_PRIVATE: u32 = 0x3453_4345;
/// `BCRYPT_ECDH_PRIVATE_P256_MAGIC` ('ECK2').
const ECDH_P256_PRIVATE: u32 = 0x324B_4345;
/// `BCRYPT_ECDH_PRIVATE_P384_MAGIC` ('ECK4').
const ECDH_P384_PRIVATE: u32 = 0x344B_4345;
/// The public exponent PIV cards import (YubiKey requires it).
const F4: u32 = 65_537;
/// Largest RSA key a PIV card holds.
const MAX_RSA_BITS: u32 = 4096;

/// Private key material to import, big-endian, wiped on drop. `Debug` shows no secret.
pub(crate) struct ImportedKey {
    /// The card algorithm.
    pub algorithm: AlgorithmId,
    /// The public key (for the container until the card reports it).
    pub public_key: PublicKey,
    /// RSA: p, q, dp, dq, qinv; EC: the scalar alone.
    parts: Vec<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for ImportedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl ImportedKey {
    /// The material as IMPORT ASYMMETRIC KEY takes it.
    pub(crate) fn as_import(&self) -> tessera_piv::commands::ImportKey<'_> {
        use tessera_piv::commands::ImportKey;
        match self.parts.as_slice() {
            [p, q, dp, dq, qinv] => ImportKey::Rsa { p, q, dp, dq, qinv },
            [scalar, ..] => ImportKey::Ecc { scalar },
            [] => ImportKey::Ecc { scalar: &[] },
        }
    }
}

/// How many bytes of the caller's blob to read first: enough for [`blob_len`] to tell the whole size.
pub(crate) fn header_len(key_spec: u32) -> usize {
    if is_rsa(key_spec) { 20 } else { 8 }
}

/// The whole blob's size, from its first [`header_len`] bytes; a header no card key could have is
/// refused here, before more of the caller's memory is read.
pub(crate) fn blob_len(key_spec: u32, header: &[u8]) -> Result<usize> {
    let dword = |at: usize| -> Result<u32> {
        header
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or(MdError::InvalidParameter("key blob header too short"))
    };
    if is_rsa(key_spec) {
        if header.first() != Some(&PRIVATEKEYBLOB) || dword(8)? != RSA2 {
            return Err(MdError::InvalidParameter("not a PRIVATEKEYBLOB"));
        }
        let bits = dword(12)?;
        if bits == 0 || bits > MAX_RSA_BITS || bits % 16 != 0 {
            return Err(MdError::InvalidParameter("RSA key size in the blob"));
        }
        Ok(20 + 9 * (bits as usize / 16))
    } else {
        let (_, len) = ec_magic(key_spec, dword(0)?)?;
        if dword(4)? as usize != len {
            return Err(MdError::InvalidParameter("cbKey does not match the curve"));
        }
        Ok(8 + 3 * len)
    }
}

/// Parses a whole blob for `key_spec` (and `key_bits` when not 0).
pub(crate) fn parse(key_spec: u32, key_bits: u32, blob: &[u8]) -> Result<ImportedKey> {
    let len = blob_len(key_spec, blob.get(..header_len(key_spec)).unwrap_or(blob))?;
    if blob.len() != len {
        return Err(MdError::InvalidParameter("key blob length"));
    }
    if is_rsa(key_spec) {
        parse_rsa(key_spec, key_bits, blob)
    } else {
        parse_ec(key_spec, key_bits, blob)
    }
}

fn is_rsa(key_spec: u32) -> bool {
    matches!(key_spec, spec::AT_KEYEXCHANGE | spec::AT_SIGNATURE)
}

/// The curve's algorithm and field length for a private magic that fits `key_spec`.
fn ec_magic(key_spec: u32, magic: u32) -> Result<(AlgorithmId, usize)> {
    match (key_spec, magic) {
        (spec::AT_ECDSA_P256, ECDSA_P256_PRIVATE) | (spec::AT_ECDHE_P256, ECDH_P256_PRIVATE) => {
            Ok((AlgorithmId::ECCP256, 32))
        }
        (spec::AT_ECDSA_P384, ECDSA_P384_PRIVATE) | (spec::AT_ECDHE_P384, ECDH_P384_PRIVATE) => {
            Ok((AlgorithmId::ECCP384, 48))
        }
        _ => Err(MdError::InvalidParameter(
            "the blob's magic is not a private key of that key spec",
        )),
    }
}

/// A little-endian field, reversed into a wiping buffer.
fn big_endian(le: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(le.len()));
    out.extend(le.iter().rev());
    out
}

fn parse_rsa(key_spec: u32, key_bits: u32, blob: &[u8]) -> Result<ImportedKey> {
    let dword = |at: usize| u32::from_le_bytes([blob[at], blob[at + 1], blob[at + 2], blob[at + 3]]);
    let expected_alg = if key_spec == spec::AT_KEYEXCHANGE {
        CALG_RSA_KEYX
    } else {
        CALG_RSA_SIGN
    };
    if dword(4) != expected_alg || blob[1] != 0x02 {
        return Err(MdError::InvalidParameter(
            "the blob's algorithm does not match the key spec",
        ));
    }
    let bits = dword(12);
    if key_bits != 0 && key_bits != bits {
        return Err(MdError::InvalidParameter("the blob's size is not dwKeySize"));
    }
    if dword(16) != F4 {
        return Err(MdError::Unsupported(
            "PIV cards import RSA keys with the exponent 65537 only",
        ));
    }
    let algorithm = AlgorithmId::rsa(bits).ok_or(MdError::Unsupported("RSA key size"))?;
    let n = bits as usize / 8;
    let half = n / 2;
    let mut at = 20;
    let mut take = |len: usize| {
        let field = &blob[at..at + len];
        at += len;
        field
    };
    let modulus = take(n).iter().rev().copied().collect::<Vec<u8>>();
    // prime1 = p, prime2 = q, exponent1 = dp, exponent2 = dq, coefficient = qinv.
    let parts: Vec<Zeroizing<Vec<u8>>> = (0..5).map(|_| big_endian(take(half))).collect();
    Ok(ImportedKey {
        algorithm,
        public_key: PublicKey::Rsa {
            algorithm,
            modulus,
            exponent: F4.to_be_bytes()[1..].to_vec(),
        },
        parts,
    })
}

fn parse_ec(key_spec: u32, key_bits: u32, blob: &[u8]) -> Result<ImportedKey> {
    let magic = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]);
    let (algorithm, len) = ec_magic(key_spec, magic)?;
    if key_bits != 0 && key_bits as usize != 8 * len {
        return Err(MdError::InvalidParameter("dwKeySize does not match the curve"));
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(&blob[8..8 + 2 * len]);
    let scalar = Zeroizing::new(blob[8 + 2 * len..8 + 3 * len].to_vec());
    Ok(ImportedKey {
        algorithm,
        public_key: PublicKey::Ecc { algorithm, point },
        parts: vec![scalar],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_blob(bits: u32, alg: u32) -> Vec<u8> {
        let mut b = vec![PRIVATEKEYBLOB, 0x02, 0, 0];
        b.extend_from_slice(&alg.to_le_bytes());
        b.extend_from_slice(&RSA2.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(&F4.to_le_bytes());
        let n = bits as usize / 8;
        for (i, len) in [n, n / 2, n / 2, n / 2, n / 2, n / 2, n].into_iter().enumerate() {
            b.extend((0..len).map(|j| (i * 16 + j % 16) as u8));
        }
        b
    }

    #[test]
    fn rsa_blobs_are_checked_and_reversed() {
        let blob = rsa_blob(1024, CALG_RSA_KEYX);
        assert_eq!(blob_len(spec::AT_KEYEXCHANGE, &blob[..20]).unwrap(), blob.len());
        let key = parse(spec::AT_KEYEXCHANGE, 1024, &blob).unwrap();
        assert_eq!(key.algorithm, AlgorithmId::RSA1024);
        let tessera_piv::commands::ImportKey::Rsa { p, qinv, .. } = key.as_import() else {
            panic!("RSA material");
        };
        assert_eq!(p.len(), 64);
        assert_eq!(p[63], 16, "prime1 reversed: its first byte is last");
        assert_eq!(qinv[0], 5 * 16 + 15);
        let PublicKey::Rsa {
            modulus, exponent, ..
        } = &key.public_key
        else {
            panic!("RSA key");
        };
        assert_eq!((modulus[127], exponent.as_slice()), (0, &[1, 0, 1][..]));
        // The signature spec wants CALG_RSA_SIGN; sizes and lengths must agree.
        assert!(matches!(
            parse(spec::AT_SIGNATURE, 0, &blob),
            Err(MdError::InvalidParameter(_))
        ));
        assert!(parse(spec::AT_KEYEXCHANGE, 2048, &blob).is_err());
        assert!(parse(spec::AT_KEYEXCHANGE, 0, &blob[..blob.len() - 1]).is_err());
        assert!(blob_len(spec::AT_KEYEXCHANGE, &rsa_blob(8192, CALG_RSA_KEYX)[..20]).is_err());
    }

    #[test]
    fn ec_blobs_need_the_private_magic_of_their_spec() {
        let mut blob = ECDSA_P256_PRIVATE.to_le_bytes().to_vec();
        blob.extend_from_slice(&32u32.to_le_bytes());
        blob.extend((0..96).map(|i| i as u8));
        assert_eq!(blob_len(spec::AT_ECDSA_P256, &blob[..8]).unwrap(), 104);
        let key = parse(spec::AT_ECDSA_P256, 0, &blob).unwrap();
        let tessera_piv::commands::ImportKey::Ecc { scalar } = key.as_import() else {
            panic!("EC material");
        };
        assert_eq!(scalar[0], 64);
        assert!(
            parse(spec::AT_ECDHE_P256, 0, &blob).is_err(),
            "an ECDSA blob for ECDH"
        );
        assert!(parse(spec::AT_ECDSA_P384, 0, &blob).is_err());
        assert!(parse(spec::AT_ECDSA_P256, 384, &blob).is_err());
    }
}
