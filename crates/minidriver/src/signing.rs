//! `CardSignData` (Smart Card Minidriver Specification 7.07 §4.7.5): the module pads (PKCS#1 v1.5, PSS) and
//! the card does the raw RSA; or the card signs a hash with ECDSA. RSA signatures go back little-endian,
//! ECDSA as big-endian `r ‖ s`.

use tessera_piv::PublicKey;
use windows_sys::Win32::Security::Cryptography::{
    CARD_BUFFER_SIZE_ONLY, CARD_PADDING_INFO_PRESENT, CARD_PADDING_NONE, CARD_PADDING_PKCS1,
    CARD_PADDING_PSS, CRYPT_NOHASHOID, CRYPT_TYPE2_FORMAT, CRYPT_X931_FORMAT,
};

use crate::containers::{Container, spec};
use crate::context::CardContext;
use crate::crypto::ecdsa;
use crate::crypto::hash::HashAlg;
use crate::crypto::padding;
use crate::error::{MdError, Result};
use crate::input::{CallerBytes, PaddingInfo};
use crate::pins::ROLE_PIN_ALWAYS;

/// Largest data a signing call may hand over (an RSA-4096 block is 512 bytes): longer data is not read.
pub(crate) const MAX_SIGNING_INPUT: u32 = 1024;
/// The padding types whose `pPaddingInfo` the module reads (`CARD_PADDING_NONE` has none).
pub(crate) const PADDINGS_WITH_INFO: [u32; 2] = [CARD_PADDING_PKCS1, CARD_PADDING_PSS];
/// Defined `CryptSignHash` flags the module does not do.
const UNSUPPORTED_SIGNING_FLAGS: u32 = CRYPT_TYPE2_FORMAT | CRYPT_X931_FORMAT;
/// Every `dwSigningFlags` bit the interface defines.
const KNOWN_SIGNING_FLAGS: u32 =
    CARD_PADDING_INFO_PRESENT | CARD_BUFFER_SIZE_ONLY | CRYPT_NOHASHOID | UNSUPPORTED_SIGNING_FLAGS;

/// `CARD_SIGNING_INFO` as the caller filled it (Smart Card Minidriver Specification 7.07 §4.7.5), read
/// by the ABI: nothing here is a pointer.
#[derive(Debug, Clone)]
pub(crate) struct SigningInfo<'a> {
    /// `dwVersion` (0 counts as 1).
    pub version: u32,
    /// `bContainerIndex`.
    pub container_index: u8,
    /// `dwKeySpec`.
    pub key_spec: u32,
    /// `dwSigningFlags`.
    pub signing_flags: u32,
    /// `aiHashAlg`.
    pub hash_alg: u32,
    /// `pbData` / `cbData`, read up to [`MAX_SIGNING_INPUT`] bytes.
    pub data: CallerBytes<'a>,
    /// `dwPaddingType` (version 2; 0 in version 1).
    pub padding_type: u32,
    /// What `pPaddingInfo` points to, read when the structure is version 2, `CARD_PADDING_INFO_PRESENT`
    /// is set, the type is one of [`PADDINGS_WITH_INFO`] and the pointer is not NULL.
    pub padding_info: Option<PaddingInfo<'a>>,
}

/// How an RSA signature is padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignPadding {
    /// PKCS#1 v1.5 with a DigestInfo for `hash` (`None`: the data is signed as given, e.g. a DigestInfo
    /// the caller built, or MD5‖SHA-1).
    Pkcs1 {
        /// The hash whose OID goes into the DigestInfo.
        hash: Option<HashAlg>,
        /// Sign the hash bare, without its DigestInfo (`CRYPT_NOHASHOID`).
        no_oid: bool,
    },
    /// RSASSA-PSS with MGF1 over `hash` and a random salt of `salt_len` bytes.
    Pss {
        /// Hash.
        hash: HashAlg,
        /// Salt length.
        salt_len: usize,
    },
    /// Raw RSA on a modulus-sized block (`CARD_PADDING_NONE`).
    None,
}

/// A signing request, already checked for the things that need no card.
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// Container index.
    pub index: u8,
    /// `dwKeySpec` (checked to be a defined, supported spec).
    pub key_spec: u32,
    /// RSA padding (ignored for ECDSA).
    pub padding: SignPadding,
    /// The hash (or block) to sign, as the CSP passes it.
    pub data: &'a [u8],
    /// `CARD_BUFFER_SIZE_ONLY`.
    pub size_only: bool,
}

/// The outcome of a signing call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    /// Only the size was asked for.
    Size(usize),
    /// The signature in the form Windows expects.
    Signature(Vec<u8>),
}

impl<'a> SignRequest<'a> {
    /// Checks a `CARD_SIGNING_INFO` for everything that needs no card: version, data, flags, key spec
    /// and padding. A NULL hash name in PSS padding information means SHA-1 (as OpenSC reads it); one in
    /// PKCS#1 padding information means the data is signed as given.
    pub(crate) fn decode(info: SigningInfo<'a>) -> Result<Self> {
        let version = info.version.max(1);
        if version > 2 {
            return Err(MdError::RevisionMismatch("CARD_SIGNING_INFO version"));
        }
        let data = match info.data {
            CallerBytes::Read(data) if !data.is_empty() => data,
            CallerBytes::TooLong { .. } => return Err(MdError::InvalidParameter("cbData")),
            _ => return Err(MdError::InvalidParameter("pbData")),
        };
        let flags = info.signing_flags;
        if flags & !KNOWN_SIGNING_FLAGS != 0 {
            return Err(MdError::InvalidParameter("dwSigningFlags"));
        }
        if flags & UNSUPPORTED_SIGNING_FLAGS != 0 {
            return Err(MdError::Unsupported("type 2 and X9.31 signature formats"));
        }
        spec::check(info.key_spec)?;
        let padding = if flags & CARD_PADDING_INFO_PRESENT != 0 {
            if version < 2 {
                return Err(MdError::RevisionMismatch(
                    "padding info needs CARD_SIGNING_INFO version 2",
                ));
            }
            let padding_info = || {
                info.padding_info
                    .as_ref()
                    .ok_or(MdError::InvalidParameter("pPaddingInfo is NULL"))
            };
            match info.padding_type {
                CARD_PADDING_NONE => SignPadding::None,
                CARD_PADDING_PKCS1 => SignPadding::Pkcs1 {
                    hash: padding_info()?.hash()?,
                    no_oid: false,
                },
                CARD_PADDING_PSS => {
                    let padding_info = padding_info()?;
                    let hash = padding_info.hash()?.unwrap_or(HashAlg::Sha1);
                    if hash == HashAlg::Md5Sha1 {
                        return Err(MdError::InvalidParameter("PSS with MD5+SHA-1"));
                    }
                    SignPadding::Pss {
                        hash,
                        salt_len: padding_info.salt_len as usize,
                    }
                }
                _ => return Err(MdError::InvalidParameter("dwPaddingType")),
            }
        } else {
            SignPadding::Pkcs1 {
                hash: HashAlg::from_alg_id(info.hash_alg)?,
                no_oid: flags & CRYPT_NOHASHOID != 0,
            }
        };
        Ok(Self {
            index: info.container_index,
            key_spec: info.key_spec,
            padding,
            data,
            size_only: flags & CARD_BUFFER_SIZE_ONLY != 0,
        })
    }
}

impl CardContext {
    /// `CardSignData`.
    pub(crate) fn sign(&mut self, req: &SignRequest<'_>) -> Result<Signed> {
        let container = self.container(req.index)?.clone();
        if !container.accepts_spec(req.key_spec) {
            return Err(MdError::InvalidParameter(
                "key spec does not match the container's key",
            ));
        }
        match &container.public_key {
            PublicKey::Rsa { modulus, .. } => {
                let k = modulus.len();
                let input = rsa_encoding(&req.padding, req.data, k)?;
                if req.size_only {
                    return Ok(Signed::Size(k));
                }
                let raw = self.private_key_operation(&container, &input)?;
                let mut sig = left_pad(&raw, k)?;
                sig.reverse();
                Ok(Signed::Signature(sig))
            }
            PublicKey::Ecc { algorithm, .. } => {
                let field = algorithm.operation_len().ok_or(MdError::Unsupported("curve"))?;
                if req.data.is_empty() {
                    return Err(MdError::InvalidParameter("empty hash"));
                }
                if req.size_only {
                    return Ok(Signed::Size(2 * field));
                }
                let der = self.private_key_operation(&container, &ecdsa::fit_hash(req.data, field))?;
                Ok(Signed::Signature(ecdsa::der_to_raw(&der, field)?))
            }
        }
    }

    /// GENERAL AUTHENTICATE with the container's key. A PIN-always authentication is consumed by it.
    pub(crate) fn private_key_operation(
        &mut self,
        container: &Container,
        input: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let (slot, algorithm) = (container.slot, container.public_key.algorithm());
        let result = self.read(|s| s.private_key_operation(slot, algorithm, input));
        if container.pin == ROLE_PIN_ALWAYS {
            self.auth.pin_always = false;
        }
        result
    }
}

/// The block the card signs, for a `k`-byte modulus.
fn rsa_encoding(padding: &SignPadding, data: &[u8], k: usize) -> Result<Vec<u8>> {
    let check_len = |hash: HashAlg| {
        if data.len() == hash.len() {
            Ok(())
        } else {
            Err(MdError::InvalidParameter("data is not a hash of that algorithm"))
        }
    };
    match *padding {
        SignPadding::Pkcs1 {
            hash: Some(hash),
            no_oid,
        } => {
            check_len(hash)?;
            let t = if no_oid {
                data.to_vec()
            } else {
                [hash.digest_info_prefix(), data].concat()
            };
            padding::pkcs1_v15_sign(&t, k)
        }
        SignPadding::Pkcs1 { hash: None, .. } => {
            if data.is_empty() {
                return Err(MdError::InvalidParameter("nothing to sign"));
            }
            padding::pkcs1_v15_sign(data, k)
        }
        SignPadding::Pss { hash, salt_len } => {
            check_len(hash)?;
            // Checked before the salt is allocated: cbSalt comes from the caller.
            if salt_len > k.saturating_sub(hash.len() + 2) {
                return Err(MdError::InvalidParameter("salt too long for the key"));
            }
            let mut salt = vec![0u8; salt_len];
            getrandom::fill(&mut salt)
                .map_err(|_| MdError::Unexpected("operating system RNG unavailable".into()))?;
            padding::pss_sign(hash, data, &salt, 8 * k, k)
        }
        SignPadding::None => {
            if data.len() != k {
                return Err(MdError::InvalidParameter(
                    "unpadded data must be one modulus-sized block",
                ));
            }
            Ok(data.to_vec())
        }
    }
}

/// The card's raw RSA result as exactly `k` bytes (some cards drop leading zeros).
pub(crate) fn left_pad(raw: &[u8], k: usize) -> Result<Vec<u8>> {
    if raw.len() > k {
        return Err(MdError::CommDataLost("RSA result longer than the modulus".into()));
    }
    let mut out = vec![0u8; k - raw.len()];
    out.extend_from_slice(raw);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use windows_sys::Win32::Security::Cryptography::{AT_ECDSA_P521, AT_KEYEXCHANGE, CALG_SHA_256};

    use super::*;
    use crate::codes::{ERROR_REVISION_MISMATCH, SCARD_E_INVALID_PARAMETER, SCARD_E_UNSUPPORTED_FEATURE};
    use crate::input::CallerString;

    const HASH: [u8; 32] = [7; 32];

    fn info(
        flags: u32,
        padding_type: u32,
        padding_info: Option<PaddingInfo<'static>>,
    ) -> SigningInfo<'static> {
        SigningInfo {
            version: 2,
            container_index: 1,
            key_spec: AT_KEYEXCHANGE,
            signing_flags: flags,
            hash_alg: CALG_SHA_256,
            data: CallerBytes::Read(&HASH),
            padding_type,
            padding_info,
        }
    }

    fn alg(name: &str) -> Option<PaddingInfo<'static>> {
        Some(PaddingInfo {
            alg_id: CallerString::Units(name.encode_utf16().collect()),
            salt_len: 32,
            ..PaddingInfo::default()
        })
    }

    fn code(info: SigningInfo<'_>) -> u32 {
        SignRequest::decode(info).unwrap_err().code()
    }

    #[test]
    fn without_padding_information_the_alg_id_names_the_hash() {
        let r = SignRequest::decode(info(CARD_BUFFER_SIZE_ONLY, 0, None)).unwrap();
        assert_eq!(
            r.padding,
            SignPadding::Pkcs1 {
                hash: Some(HashAlg::Sha256),
                no_oid: false
            }
        );
        assert!(r.size_only);
        let bare = SignRequest::decode(info(CRYPT_NOHASHOID, 0, None)).unwrap();
        assert!(matches!(bare.padding, SignPadding::Pkcs1 { no_oid: true, .. }));
    }

    #[test]
    fn a_null_hash_name_means_sha1_for_pss_and_the_data_as_given_for_pkcs1() {
        let null = Some(PaddingInfo::default());
        let pss =
            SignRequest::decode(info(CARD_PADDING_INFO_PRESENT, CARD_PADDING_PSS, null.clone())).unwrap();
        assert_eq!(
            pss.padding,
            SignPadding::Pss {
                hash: HashAlg::Sha1,
                salt_len: 0
            }
        );
        let pkcs1 = SignRequest::decode(info(CARD_PADDING_INFO_PRESENT, CARD_PADDING_PKCS1, null)).unwrap();
        assert_eq!(
            pkcs1.padding,
            SignPadding::Pkcs1 {
                hash: None,
                no_oid: false
            }
        );
        let named =
            SignRequest::decode(info(CARD_PADDING_INFO_PRESENT, CARD_PADDING_PSS, alg("SHA384"))).unwrap();
        assert_eq!(
            named.padding,
            SignPadding::Pss {
                hash: HashAlg::Sha384,
                salt_len: 32
            }
        );
    }

    #[test]
    fn each_input_decides_its_error_in_the_interfaces_order() {
        let present = CARD_PADDING_INFO_PRESENT;
        assert_eq!(
            code(SigningInfo {
                version: 3,
                ..info(0, 0, None)
            }),
            ERROR_REVISION_MISMATCH
        );
        assert_eq!(
            code(SigningInfo {
                data: CallerBytes::Read(&[]),
                ..info(0, 0, None)
            }),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(SigningInfo {
                data: CallerBytes::TooLong { len: 2000 },
                ..info(0, 0, None)
            }),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(code(info(0x8000, 0, None)), SCARD_E_INVALID_PARAMETER);
        assert_eq!(
            code(info(CRYPT_X931_FORMAT, 0, None)),
            SCARD_E_UNSUPPORTED_FEATURE
        );
        // An unsupported key spec comes before a bad hash name.
        let p521 = SigningInfo {
            key_spec: AT_ECDSA_P521,
            ..info(
                present,
                CARD_PADDING_PSS,
                Some(PaddingInfo {
                    alg_id: CallerString::TooLong,
                    ..PaddingInfo::default()
                }),
            )
        };
        assert_eq!(code(p521), SCARD_E_UNSUPPORTED_FEATURE);
        assert_eq!(
            code(SigningInfo {
                version: 1,
                ..info(present, CARD_PADDING_PSS, None)
            }),
            ERROR_REVISION_MISMATCH
        );
        assert_eq!(
            code(info(present, CARD_PADDING_PSS, None)),
            SCARD_E_INVALID_PARAMETER,
            "NULL pPaddingInfo"
        );
        assert_eq!(
            code(info(present, 0x40, alg("SHA256"))),
            SCARD_E_INVALID_PARAMETER,
            "dwPaddingType"
        );
        assert_eq!(
            code(info(present, CARD_PADDING_PSS, alg("SHAMD5"))),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(info(present, CARD_PADDING_PSS, alg("MD4"))),
            SCARD_E_UNSUPPORTED_FEATURE
        );
    }
}
