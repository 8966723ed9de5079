//! Key derivation functions of `CardDeriveKey` (Smart Card Minidriver Specification 7.07 §4.7.3, CNG
//! `BCRYPT_KDF_*`), applied to an ECDH secret Z (the big-endian X coordinate the card returns).

use digest::FixedOutput;
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use super::hash::HashAlg;
use crate::error::{MdError, Result};

/// HMAC with any of the module's hashes (not MD5‖SHA-1). Every output here is secret-derived.
pub fn hmac(hash: HashAlg, key: &[u8], parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>> {
    fn run<M: Mac + KeyInit + FixedOutput>(key: &[u8], parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>> {
        // HMAC accepts keys of every length; the error arm is never taken.
        let mut m = <M as KeyInit>::new_from_slice(key).map_err(|_| MdError::InvalidParameter("HMAC key"))?;
        for p in parts {
            Mac::update(&mut m, p);
        }
        // Straight into a buffer wiped on drop; the state (wiped on drop too) is consumed.
        let mut out = Zeroizing::new(vec![0u8; <M as digest::OutputSizeUser>::output_size()]);
        if let Ok(output) = <&mut digest::Output<M>>::try_from(out.as_mut_slice()) {
            FixedOutput::finalize_into(m, output);
        }
        Ok(out)
    }
    match hash {
        HashAlg::Md5 => run::<Hmac<Md5>>(key, parts),
        HashAlg::Sha1 => run::<Hmac<Sha1>>(key, parts),
        HashAlg::Sha224 => run::<Hmac<sha2::Sha224>>(key, parts),
        HashAlg::Sha256 => run::<Hmac<Sha256>>(key, parts),
        HashAlg::Sha384 => run::<Hmac<Sha384>>(key, parts),
        HashAlg::Sha512 => run::<Hmac<Sha512>>(key, parts),
        HashAlg::Md5Sha1 => Err(MdError::InvalidParameter("HMAC over MD5+SHA-1")),
    }
}

/// `BCRYPT_KDF_HASH`: H(prepend ‖ Z ‖ append).
pub fn kdf_hash(hash: HashAlg, z: &[u8], prepend: &[u8], append: &[u8]) -> Zeroizing<Vec<u8>> {
    hash.digest(&[prepend, z, append])
}

/// `BCRYPT_KDF_HMAC`: HMAC(key, prepend ‖ Z ‖ append).
pub fn kdf_hmac(
    hash: HashAlg,
    key: &[u8],
    z: &[u8],
    prepend: &[u8],
    append: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    hmac(hash, key, &[prepend, z, append])
}

/// TLS `P_hash` (RFC 5246 §5): `len` bytes. The output is reserved up front so that it never moves
/// (a reallocation would leave an unwiped copy behind).
fn p_hash(hash: HashAlg, secret: &[u8], seed: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + hash.len()));
    let mut a = hmac(hash, secret, &[seed])?;
    while out.len() < len {
        out.extend_from_slice(&hmac(hash, secret, &[&a, seed])?);
        a = hmac(hash, secret, &[&a])?;
    }
    out.truncate(len);
    Ok(out)
}

/// TLS protocol versions for `KDF_TLS_PRF_PROTOCOL`.
pub mod tls_version {
    /// TLS 1.0.
    pub const TLS1_0: u32 = windows_sys::Win32::Security::Cryptography::TLS1_0_PROTOCOL_VERSION;
    /// TLS 1.1.
    pub const TLS1_1: u32 = windows_sys::Win32::Security::Cryptography::TLS1_1_PROTOCOL_VERSION;
    /// TLS 1.2.
    pub const TLS1_2: u32 = windows_sys::Win32::Security::Cryptography::TLS1_2_PROTOCOL_VERSION;
}

/// `BCRYPT_KDF_TLS_PRF`: the TLS 1.0/1.1 PRF (MD5 ⊕ SHA-1 over the split secret, RFC 2246 §5) or the
/// TLS 1.2 PRF with SHA-256 or SHA-384 (RFC 5246 §5).
pub fn tls_prf(
    version: u32,
    hash: Option<HashAlg>,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let label_seed = [label, seed].concat();
    match version {
        tls_version::TLS1_0 | tls_version::TLS1_1 => {
            let half = secret.len().div_ceil(2);
            let (s1, s2) = (&secret[..half], &secret[secret.len() - half..]);
            let md5 = p_hash(HashAlg::Md5, s1, &label_seed, len)?;
            let sha = p_hash(HashAlg::Sha1, s2, &label_seed, len)?;
            Ok(Zeroizing::new(
                md5.iter().zip(sha.iter()).map(|(a, b)| a ^ b).collect(),
            ))
        }
        tls_version::TLS1_2 => {
            let hash = match hash.unwrap_or(HashAlg::Sha256) {
                h @ (HashAlg::Sha256 | HashAlg::Sha384) => h,
                _ => return Err(MdError::InvalidParameter("TLS 1.2 PRF hash")),
            };
            p_hash(hash, secret, &label_seed, len)
        }
        _ => Err(MdError::InvalidParameter("TLS PRF protocol version")),
    }
}

/// `BCRYPT_KDF_SP80056A_CONCAT`: the single-step KDF of SP 800-56A rev. 3 §5.8.2.1 with a hash:
/// `K = H(1 ‖ Z ‖ OtherInfo) ‖ H(2 ‖ Z ‖ OtherInfo) ‖ …`, truncated to `len` bytes.
pub fn sp800_56a_concat(
    hash: HashAlg,
    z: &[u8],
    other_info: &[u8],
    len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    if len == 0 {
        return Err(MdError::InvalidParameter("derived key length"));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(len + hash.len()));
    let mut counter: u32 = 1;
    while out.len() < len {
        out.extend_from_slice(&hash.digest(&[&counter.to_be_bytes(), z, other_info]));
        counter = counter
            .checked_add(1)
            .ok_or(MdError::InvalidParameter("derived key length"))?;
    }
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hmac_rfc4231_case_2() {
        let mac = hmac(HashAlg::Sha256, b"Jefe", &[b"what do ya want ", b"for nothing?"]).unwrap();
        assert_eq!(
            *mac,
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn tls12_prf_sha256_vector() {
        // The widely used TLS 1.2 PRF test vector (IETF TLS list, "PRF Testvector", SHA-256).
        let secret = hex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = hex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = tls_prf(
            tls_version::TLS1_2,
            Some(HashAlg::Sha256),
            &secret,
            b"test label",
            &seed,
            100,
        )
        .unwrap();
        assert_eq!(
            *out,
            hex("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
                 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
                 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
                 87 34 7b 66")
        );
    }

    #[test]
    fn tls12_prf_sha384_vector() {
        let secret = hex("b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df");
        let seed = hex("cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65");
        let out = tls_prf(
            tls_version::TLS1_2,
            Some(HashAlg::Sha384),
            &secret,
            b"test label",
            &seed,
            148,
        )
        .unwrap();
        assert_eq!(
            &out[..16],
            &hex("7b 0c 18 e9 ce d4 10 ed 18 04 f2 cf a3 4a 33 6a")[..]
        );
        assert_eq!(out.len(), 148);
    }

    #[test]
    fn tls10_prf_vector() {
        // The TLS 1.0/1.1 PRF test vector published with the TLS 1.2 ones ("PRF Testvector").
        let out = tls_prf(
            tls_version::TLS1_0,
            None,
            &[0xab; 48],
            b"PRF Testvector",
            &[0xcd; 64],
            104,
        )
        .unwrap();
        assert_eq!(
            *out,
            hex("d3d4d1e349b5d515044666d51de32bab258cb521b6b053463e354832fd976754443bcf9a296519bc289abcbc1187e4eb
                 d31e602353776c408aafb74cbc85eff69255f9788faa184cbb957a9819d84a5d7eb006eb459d3ae8de9810454b8b2d8f
                 1afbc655a8c9a013")
        );
    }

    #[test]
    fn concat_kdf_rfc7518_appendix_c() {
        // RFC 7518 Appendix C (ECDH-ES with the NIST SP 800-56A Concat KDF, SHA-256).
        let z = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163,
            218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let other_info = [
            &hex("00000007")[..],
            b"A128GCM",
            &hex("00000005"),
            b"Alice",
            &hex("00000003"),
            b"Bob",
            &hex("00000080"),
        ]
        .concat();
        let k = sp800_56a_concat(HashAlg::Sha256, &z, &other_info, 16).unwrap();
        assert_eq!(*k, hex("56aa8deaf8236d205c2228cd71a7101a")); // "VqqN6vgjbSBcIijNcacQGg"
    }

    #[test]
    fn concat_kdf_counter_layout() {
        let z = [0x11u8; 32];
        let k = sp800_56a_concat(HashAlg::Sha256, &z, b"info", 40).unwrap();
        let first = HashAlg::Sha256.digest(&[&[0, 0, 0, 1], &z, b"info"]);
        let second = HashAlg::Sha256.digest(&[&[0, 0, 0, 2], &z, b"info"]);
        assert_eq!(&k[..32], &first[..]);
        assert_eq!(&k[32..], &second[..8]);
    }
}
