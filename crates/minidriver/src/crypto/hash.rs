//! Hash algorithms as Windows names them: CAPI `ALG_ID`s (`aiHashAlg`) and CNG identifiers
//! (`pszAlgId`), with their DigestInfo prefixes (RFC 8017 §9.2 note 1).

use digest::Digest;
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use windows_sys::Win32::Security::Cryptography::{
    ALG_CLASS_HASH, CALG_MD5, CALG_SHA_256, CALG_SHA_384, CALG_SHA_512, CALG_SHA1, CALG_SSL3_SHAMD5,
};
use zeroize::Zeroizing;

use crate::error::{MdError, Result};

/// A hash the module can pad for and compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
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
    /// SSL3/TLS 1.0 MD5 ‖ SHA-1 (36 bytes, signed without an OID).
    Md5Sha1,
}

/// The class bits of an `ALG_ID` (wincrypt.h's `GET_ALG_CLASS` masks them).
const ALG_CLASS_MASK: u32 = 7 << 13;

impl HashAlg {
    /// From a CAPI `ALG_ID`: `Ok(None)` for 0 (no OID), `UNSUPPORTED_FEATURE` for a real hash algorithm the
    /// module does not sign with (MD2, MD4, MAC, HMAC, …), `INVALID_PARAMETER` for a value that is not a
    /// hash `ALG_ID` at all.
    pub fn from_alg_id(alg: u32) -> Result<Option<Self>> {
        Ok(Some(match alg {
            0 => return Ok(None),
            CALG_MD5 => Self::Md5,
            CALG_SHA1 => Self::Sha1,
            CALG_SSL3_SHAMD5 => Self::Md5Sha1,
            CALG_SHA_256 => Self::Sha256,
            CALG_SHA_384 => Self::Sha384,
            CALG_SHA_512 => Self::Sha512,
            a if a <= 0xFFFF && a & ALG_CLASS_MASK == ALG_CLASS_HASH => {
                return Err(MdError::Unsupported("hash algorithm"));
            }
            _ => return Err(MdError::InvalidParameter("aiHashAlg is not a hash ALG_ID")),
        }))
    }

    /// From a CNG algorithm identifier (`L"SHA256"`, …). `SHA224` is accepted too, though CNG has no
    /// constant for it. MD2/MD4 and other names are unsupported.
    pub fn from_cng_name(name: &str) -> Result<Self> {
        Ok(match name {
            "MD5" => Self::Md5,
            "SHA1" => Self::Sha1,
            "SHA224" => Self::Sha224,
            "SHA256" => Self::Sha256,
            "SHA384" => Self::Sha384,
            "SHA512" => Self::Sha512,
            _ => return Err(MdError::Unsupported("hash algorithm")),
        })
    }

    /// Output length in bytes.
    #[expect(clippy::len_without_is_empty, reason = "a digest length, not a collection")]
    pub fn len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
            Self::Md5Sha1 => 36,
        }
    }

    /// The DER `DigestInfo` prefix (empty for MD5‖SHA-1, which is signed bare).
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Self::Md5 => &[
                0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05,
                0x00, 0x04, 0x10,
            ],
            Self::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
            ],
            Self::Sha224 => &[
                0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04,
                0x05, 0x00, 0x04, 0x1c,
            ],
            Self::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
                0x05, 0x00, 0x04, 0x20,
            ],
            Self::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
                0x05, 0x00, 0x04, 0x30,
            ],
            Self::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
                0x05, 0x00, 0x04, 0x40,
            ],
            Self::Md5Sha1 => &[],
        }
    }

    /// Hashes the concatenation of `parts`. What was hashed may be secret (an ECDH value in the KDFs, a
    /// decrypted block in OAEP): the state wipes itself when dropped (RustCrypto's `zeroize` feature) and
    /// the hash is written straight into a buffer that is wiped when dropped.
    pub fn digest(self, parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            let mut out = Zeroizing::new(vec![0u8; <D as Digest>::output_size()]);
            // The buffer has the output's size by construction.
            if let Ok(output) = <&mut digest::Output<D>>::try_from(out.as_mut_slice()) {
                d.finalize_into(output);
            }
            out
        }
        match self {
            Self::Md5 => run::<Md5>(parts),
            Self::Sha1 => run::<Sha1>(parts),
            Self::Sha224 => run::<Sha224>(parts),
            Self::Sha256 => run::<Sha256>(parts),
            Self::Sha384 => run::<Sha384>(parts),
            Self::Sha512 => run::<Sha512>(parts),
            Self::Md5Sha1 => {
                let mut out = Zeroizing::new(Vec::with_capacity(36));
                out.extend_from_slice(&run::<Md5>(parts));
                out.extend_from_slice(&run::<Sha1>(parts));
                out
            }
        }
    }

    /// MGF1 (RFC 8017 B.2.1) with this hash: `len` bytes of mask from `seed` (in OAEP, a mask of the
    /// decrypted message: wiped when dropped, and reserved up front so that it never moves).
    pub fn mgf1(self, seed: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(len + self.len()));
        let mut counter: u32 = 0;
        while out.len() < len {
            out.extend_from_slice(&self.digest(&[seed, &counter.to_be_bytes()]));
            counter += 1;
        }
        out.truncate(len);
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_digest_state_wipes_itself_on_drop() {
        // A state that absorbed an ECDH secret (the KDFs), a decrypted block (OAEP) or a PIN-derived
        // value must not stay in freed memory: RustCrypto's `zeroize` feature wipes the hash states,
        // their block buffers, and through them the HMAC states built on them.
        fn wiped<T: zeroize::ZeroizeOnDrop>() {}
        wiped::<Md5>();
        wiped::<Sha1>();
        wiped::<Sha224>();
        wiped::<Sha256>();
        wiped::<Sha384>();
        wiped::<Sha512>();
        fn hmac_state_wiped<D: digest::block_api::EagerHash>()
        where
            D::Core: zeroize::ZeroizeOnDrop,
            digest::block_api::Buffer<D::Core>: zeroize::ZeroizeOnDrop,
        {
        }
        hmac_state_wiped::<Md5>();
        hmac_state_wiped::<Sha1>();
        hmac_state_wiped::<Sha256>();
        hmac_state_wiped::<Sha384>();
        hmac_state_wiped::<Sha512>();
    }

    use super::*;

    #[test]
    fn alg_id_classification_matches_cmck() {
        assert_eq!(HashAlg::from_alg_id(0x800C).unwrap(), Some(HashAlg::Sha256));
        assert_eq!(HashAlg::from_alg_id(0).unwrap(), None);
        assert!(
            matches!(HashAlg::from_alg_id(0x8005), Err(MdError::Unsupported(_))),
            "CALG_MAC"
        );
        assert!(
            matches!(HashAlg::from_alg_id(0x8001), Err(MdError::Unsupported(_))),
            "CALG_MD2"
        );
        assert!(matches!(
            HashAlg::from_alg_id(0x1000_0000),
            Err(MdError::InvalidParameter(_))
        ));
        assert!(
            matches!(HashAlg::from_alg_id(0x6610), Err(MdError::InvalidParameter(_))),
            "CALG_AES_256"
        );
    }

    #[test]
    fn digest_info_prefix_lengths_announce_the_hash() {
        for h in [
            HashAlg::Md5,
            HashAlg::Sha1,
            HashAlg::Sha224,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ] {
            let p = h.digest_info_prefix();
            assert_eq!(usize::from(p[1]) + 2, p.len() + h.len(), "{h:?}");
            assert_eq!(usize::from(*p.last().unwrap()), h.len());
            assert_eq!(h.digest(&[b"abc"]).len(), h.len());
        }
        assert_eq!(HashAlg::Md5Sha1.digest(&[b"x"]).len(), 36);
    }

    #[test]
    fn mgf1_known_answer() {
        // MGF1-SHA1("foo", 3) = 1ac907 (the vector used by PKCS#1 test suites).
        assert_eq!(*HashAlg::Sha1.mgf1(b"foo", 3), [0x1a, 0xc9, 0x07]);
        assert_eq!(*HashAlg::Sha1.mgf1(b"bar", 5), [0xbc, 0x0c, 0x65, 0x5e, 0x01]);
    }
}
