//! Hash algorithms by the names Windows gives them: CNG identifiers (`pszAlgId`), CAPI `ALG_ID`s
//! (`aiHashAlg`), and the DigestInfo prefix of PKCS#1 v1.5 signatures (taken from the `rsa` crate, which
//! derives it from each hash's OID: the harness does not copy the module's table).

use digest::Digest;

/// A hash the harness computes and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hash {
    /// MD5.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// The SHA-1 and SHA-2 hashes (what OAEP, PSS and ECDSA are tested with).
pub const SHA: [Hash; 5] = [Hash::Sha1, Hash::Sha224, Hash::Sha256, Hash::Sha384, Hash::Sha512];

/// `CALG_SSL3_SHAMD5`: MD5 ‖ SHA-1, signed without an OID.
pub const CALG_SSL3_SHAMD5: u32 = 0x8008;
/// `CALG_MAC`: a hash-class `ALG_ID` that is not a digest a card signs.
pub const CALG_MAC: u32 = 0x8005;
/// `CALG_MD2`.
pub const CALG_MD2: u32 = 0x8001;
/// `CALG_MD4`.
pub const CALG_MD4: u32 = 0x8002;

impl Hash {
    /// The CNG algorithm identifier (`BCRYPT_*_ALGORITHM`; `SHA224` has no CNG constant but is the name
    /// the pattern gives).
    pub fn cng_name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA1",
            Self::Sha224 => "SHA224",
            Self::Sha256 => "SHA256",
            Self::Sha384 => "SHA384",
            Self::Sha512 => "SHA512",
        }
    }

    /// The CAPI `ALG_ID` (`CALG_*`), where CAPI has one (it has none for SHA-224).
    pub fn calg(self) -> Option<u32> {
        match self {
            Self::Md5 => Some(0x8003),
            Self::Sha1 => Some(0x8004),
            Self::Sha224 => None,
            Self::Sha256 => Some(0x800C),
            Self::Sha384 => Some(0x800D),
            Self::Sha512 => Some(0x800E),
        }
    }

    /// A short name for case names (`sha256`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha224 => "sha224",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Output length in bytes.
    #[allow(clippy::len_without_is_empty, reason = "a digest length, not a collection")]
    pub fn len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The hash of the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Self::Md5 => run::<md5::Md5>(parts),
            Self::Sha1 => run::<sha1::Sha1>(parts),
            Self::Sha224 => run::<sha2::Sha224>(parts),
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
        }
    }

    /// The PKCS#1 v1.5 signature scheme of the `rsa` crate for this hash (DigestInfo from the OID).
    pub fn pkcs1_scheme(self) -> rsa::pkcs1v15::Pkcs1v15Sign {
        use rsa::pkcs1v15::Pkcs1v15Sign;
        match self {
            Self::Md5 => Pkcs1v15Sign::new::<md5::Md5>(),
            Self::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
            Self::Sha224 => Pkcs1v15Sign::new::<sha2::Sha224>(),
            Self::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
            Self::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
            Self::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
        }
    }

    /// The DER `DigestInfo` of `hash` (prefix from the OID, then the hash).
    pub fn digest_info(self, hash: &[u8]) -> Vec<u8> {
        [&self.pkcs1_scheme().prefix[..], hash].concat()
    }

    /// A deterministic "message hash" for test cases: the hash of a name, so that every case signs
    /// something different and reproducible.
    pub fn of(self, what: &str) -> Vec<u8> {
        self.digest(&[b"tessera-conformance:", what.as_bytes()])
    }
}

/// MD5 ‖ SHA-1 of `data` (the 36-byte SSL3/TLS 1.0 client-authentication hash).
pub fn md5_sha1(data: &[u8]) -> Vec<u8> {
    [Hash::Md5.digest(&[data]), Hash::Sha1.digest(&[data])].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_info_prefix_from_oid() {
        // RFC 8017 §9.2 note 1: the SHA-256 DigestInfo prefix.
        let p = Hash::Sha256.digest_info(&[]);
        assert_eq!(
            p,
            [
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
                0x05, 0x00, 0x04, 0x20
            ]
        );
        for h in [Hash::Md5, Hash::Sha1, Hash::Sha224, Hash::Sha384, Hash::Sha512] {
            let p = h.digest_info(&[]);
            assert_eq!(usize::from(p[1]) + 2, p.len() + h.len(), "{h:?}");
            assert_eq!(h.digest(&[b"abc"]).len(), h.len());
        }
    }

    #[test]
    fn known_answers() {
        assert_eq!(
            hex::encode(Hash::Sha1.digest(&[b"abc"])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(Hash::Md5.digest(&[b"abc"])),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(md5_sha1(b"abc").len(), 36);
    }
}
