//! The key derivation functions of `CardDeriveKey` (CNG's `BCRYPT_KDF_*`), computed on the CSP's side
//! from a shared secret the harness knows (its software peer key): `HASH`, `HMAC`, `TLS_PRF` (TLS
//! 1.0/1.1 and 1.2) and `SP800_56A_CONCAT`. Each one is checked against published vectors in the tests
//! below, so that a disagreement with the module points at the module.

use hmac::{Hmac, KeyInit, Mac};

use super::hash::Hash;

/// `TLS1_PROTOCOL_VERSION`, `TLS1_1_PROTOCOL_VERSION`, `TLS1_2_PROTOCOL_VERSION`.
pub mod tls {
    /// TLS 1.0.
    pub const V1_0: u32 = 0x0301;
    /// TLS 1.1.
    pub const V1_1: u32 = 0x0302;
    /// TLS 1.2.
    pub const V1_2: u32 = 0x0303;
}

/// HMAC over the concatenation of `parts`.
pub fn hmac(hash: Hash, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut m) => {
                for p in parts {
                    m.update(p);
                }
                m.finalize().into_bytes().to_vec()
            }
            // HMAC takes keys of any length.
            Err(_) => Vec::new(),
        }
    }
    match hash {
        Hash::Md5 => run::<Hmac<md5::Md5>>(key, parts),
        Hash::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
        Hash::Sha224 => run::<Hmac<sha2::Sha224>>(key, parts),
        Hash::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts),
        Hash::Sha384 => run::<Hmac<sha2::Sha384>>(key, parts),
        Hash::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts),
    }
}

/// `BCRYPT_KDF_HASH`: H(prepend ‖ Z ‖ append).
pub fn kdf_hash(hash: Hash, z: &[u8], prepend: &[u8], append: &[u8]) -> Vec<u8> {
    hash.digest(&[prepend, z, append])
}

/// `BCRYPT_KDF_HMAC`: HMAC_key(prepend ‖ Z ‖ append).
pub fn kdf_hmac(hash: Hash, key: &[u8], z: &[u8], prepend: &[u8], append: &[u8]) -> Vec<u8> {
    hmac(hash, key, &[prepend, z, append])
}

/// `P_hash` of RFC 5246 §5.
fn p_hash(hash: Hash, secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + hash.len());
    let mut a = hmac(hash, secret, &[seed]);
    while out.len() < len {
        out.extend(hmac(hash, secret, &[&a, seed]));
        a = hmac(hash, secret, &[&a]);
    }
    out.truncate(len);
    out
}

/// The TLS 1.0/1.1 PRF (RFC 2246 §5): P_MD5 over the first half of the secret XOR P_SHA-1 over the
/// second half (the halves overlap by one byte for an odd length).
pub fn tls10_prf(secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let half = secret.len().div_ceil(2);
    let (s1, s2) = (&secret[..half], &secret[secret.len() - half..]);
    let ls = [label, seed].concat();
    p_hash(Hash::Md5, s1, &ls, len)
        .iter()
        .zip(p_hash(Hash::Sha1, s2, &ls, len))
        .map(|(a, b)| a ^ b)
        .collect()
}

/// The TLS 1.2 PRF (RFC 5246 §5) with SHA-256 or SHA-384.
pub fn tls12_prf(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    p_hash(hash, secret, &[label, seed].concat(), len)
}

/// `BCRYPT_KDF_SP80056A_CONCAT` (SP 800-56A rev. 3 §5.8.2.1.1, one-step KDF with a hash): `len` bytes of
/// H(counter ‖ Z ‖ OtherInfo), counter = 1, 2, … as 32-bit big-endian.
pub fn concat(hash: Hash, z: &[u8], other_info: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + hash.len());
    let mut counter = 1u32;
    while out.len() < len {
        out.extend(hash.digest(&[&counter.to_be_bytes(), z, other_info]));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// The published vectors the harness's KDFs are checked against: (source, result). Run by the unit tests
/// and, at run time, by the `kdf` suite, so that a report shows the oracle was right on this machine.
pub fn published_vectors() -> Vec<(&'static str, Result<(), String>)> {
    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap_or_default()
    }
    fn same(got: Vec<u8>, want: Vec<u8>) -> Result<(), String> {
        if got == want && !want.is_empty() {
            Ok(())
        } else {
            Err(format!("got {}, want {}", hex::encode(got), hex::encode(want)))
        }
    }
    let z_7518 = [
        158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218,
        128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
    ];
    let other_7518 = [
        &h("00000007")[..],
        b"A128GCM",
        &h("00000005"),
        b"Alice",
        &h("00000003"),
        b"Bob",
        &h("00000080"),
    ]
    .concat();
    vec![
        (
            "RFC 4231 test case 2 (HMAC-SHA-256)",
            same(
                hmac(Hash::Sha256, b"Jefe", &[b"what do ya want for nothing?"]),
                h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ),
        ),
        (
            "TLS 1.2 PRF SHA-256 (IETF TLS list msg03416)",
            same(
                tls12_prf(
                    Hash::Sha256,
                    &h("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"),
                    b"test label",
                    &h("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"),
                    100,
                ),
                h(
                    "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95
                   32 9b 52 d4 e6 1e db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af
                   0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab 4f bc 91 66 6e 9d ef 9b
                   97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
                   87 34 7b 66",
                ),
            ),
        ),
        (
            "TLS 1.2 PRF SHA-384 (same published set)",
            same(
                tls12_prf(
                    Hash::Sha384,
                    &h("b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df"),
                    b"test label",
                    &h("cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65"),
                    148,
                ),
                h(
                    "7b 0c 18 e9 ce d4 10 ed 18 04 f2 cf a3 4a 33 6a 1c 14 df fb 49 00 bb 5f
                   d7 94 21 07 e8 1c 83 cd e9 ca 0f aa 60 be 9f e3 4f 82 b1 23 3c 91 46 a0
                   e5 34 cb 40 0f ed 27 00 88 4f 9d c2 36 f8 0e dd 8b fa 96 11 44 c9 e8 d7
                   92 ec a7 22 a7 b3 2f c3 d4 16 d4 73 eb c2 c5 fd 4a bf da d0 5d 91 84 25
                   9b 5b f8 cd 4d 90 fa 0d 31 e2 de c4 79 e4 f1 a2 60 66 f2 ee a9 a6 92 36
                   a3 e5 26 55 c9 e9 ae e6 91 c8 f3 a2 68 54 30 8d 5e aa 3b e8 5e 09 90 70
                   3d 73 e5 6f",
                ),
            ),
        ),
        (
            "TLS 1.0 PRF (\"PRF Testvector\", IETF TLS list msg01589)",
            same(
                tls10_prf(&[0xab; 48], b"PRF Testvector", &[0xcd; 64], 104),
                h(
                    "d3d4d1e349b5d515044666d51de32bab258cb521b6b053463e354832fd976754443bcf9a296519bc
                   289abcbc1187e4ebd31e602353776c408aafb74cbc85eff69255f9788faa184cbb957a9819d84a5d
                   7eb006eb459d3ae8de9810454b8b2d8f1afbc655a8c9a013",
                ),
            ),
        ),
        (
            "RFC 7518 Appendix C (Concat KDF, SHA-256)",
            same(
                concat(Hash::Sha256, &z_7518, &other_7518, 16),
                h("56aa8deaf8236d205c2228cd71a7101a"),
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracle_reproduces_every_published_vector() {
        let results = published_vectors();
        assert_eq!(results.len(), 5);
        for (source, r) in results {
            assert_eq!(r, Ok(()), "{source}");
        }
    }

    #[test]
    fn concat_counter_layout() {
        let z = [0x11u8; 32];
        let k = concat(Hash::Sha256, &z, b"info", 40);
        assert_eq!(&k[..32], &Hash::Sha256.digest(&[&[0, 0, 0, 1], &z, b"info"])[..]);
        assert_eq!(&k[32..], &Hash::Sha256.digest(&[&[0, 0, 0, 2], &z, b"info"])[..8]);
    }
}
