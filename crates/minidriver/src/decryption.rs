//! `CardRSADecrypt` (Smart Card Minidriver Specification 7.07 §4.7.1): the card does raw RSA; padding is
//! removed by the CSP's `pfnCspUnpadData` when it offers one, else here in constant time.
//!
//! Byte order follows the interface and the certified implementations: the ciphertext arrives little-endian;
//! a raw result goes back little-endian; a plaintext whose padding the module removed goes back byte-reversed
//! too (as OpenSC and CardContact's certified module do), while the CSP's unpad callback receives the
//! little-endian raw block and its output is returned as it is.

use tessera_piv::PublicKey;
use windows_sys::Win32::Security::Cryptography::{
    CARD_PADDING_NONE, CARD_PADDING_OAEP, CARD_PADDING_PKCS1, CARD_RSA_KEY_DECRYPT_INFO_VERSION_TWO,
};
use zeroize::Zeroizing;

use crate::containers::spec;
use crate::context::CardContext;
use crate::crypto::hash::HashAlg;
use crate::crypto::padding;
use crate::error::{MdError, Result};
use crate::input::{CallerBytes, PaddingInfo};
use crate::signing::left_pad;

/// Largest ciphertext a decryption call may hand over (an RSA-4096 block is 512 bytes): a longer one is
/// not read.
pub(crate) const MAX_CIPHERTEXT: u32 = 1024;
/// Longest OAEP label read.
pub(crate) const MAX_OAEP_LABEL: u32 = 4096;
/// The padding types whose `pPaddingInfo` the module reads (only OAEP's carries anything it uses).
pub(crate) const PADDINGS_WITH_INFO: [u32; 1] = [CARD_PADDING_OAEP];

/// `CARD_RSA_DECRYPT_INFO` as the caller filled it (Smart Card Minidriver Specification 7.07 §4.7.1),
/// read by the ABI: nothing here is a pointer.
#[derive(Debug, Clone)]
pub(crate) struct RsaDecryptInfo<'a> {
    /// `dwVersion` (0 counts as 1).
    pub version: u32,
    /// `bContainerIndex`.
    pub container_index: u8,
    /// `dwKeySpec`.
    pub key_spec: u32,
    /// `pbData` / `cbData`, read up to [`MAX_CIPHERTEXT`] bytes.
    pub data: CallerBytes<'a>,
    /// `dwPaddingType` (version 2; 0 in version 1).
    pub padding_type: u32,
    /// What `pPaddingInfo` points to, read when the structure is version 2, the type is one of
    /// [`PADDINGS_WITH_INFO`] and the pointer is not NULL.
    pub padding_info: Option<PaddingInfo<'a>>,
}

/// A decryption request, already checked for the things that need no card.
#[derive(Debug, Clone)]
pub struct DecryptRequest {
    /// Container index.
    pub index: u8,
    /// `dwKeySpec`: an RSA key spec.
    pub key_spec: u32,
    /// The ciphertext, little-endian as the interface passes it (a copy: the caller's buffer receives
    /// the result).
    pub ciphertext: Zeroizing<Vec<u8>>,
    /// How the padding is removed.
    pub padding: DecryptPadding,
}

impl DecryptRequest {
    /// Checks a `CARD_RSA_DECRYPT_INFO` from a caller of `interface_version`: version (callers of
    /// version 7 pass structure version 2), data, key spec and padding.
    pub(crate) fn decode(info: RsaDecryptInfo<'_>, interface_version: u32) -> Result<Self> {
        let version = info.version.max(1);
        if version > CARD_RSA_KEY_DECRYPT_INFO_VERSION_TWO {
            return Err(MdError::RevisionMismatch("CARD_RSA_DECRYPT_INFO version"));
        }
        if version < CARD_RSA_KEY_DECRYPT_INFO_VERSION_TWO && interface_version >= 7 {
            return Err(MdError::RevisionMismatch(
                "version 7 callers must pass CARD_RSA_DECRYPT_INFO version 2",
            ));
        }
        let ciphertext = match info.data {
            CallerBytes::Read(data) => data,
            CallerBytes::Null { .. } => return Err(MdError::InvalidParameter("pbData is NULL")),
            CallerBytes::TooLong { .. } => return Err(MdError::InvalidParameter("cbData")),
        };
        if info.key_spec != spec::AT_KEYEXCHANGE && info.key_spec != spec::AT_SIGNATURE {
            return Err(MdError::InvalidParameter("RSA decryption needs an RSA key spec"));
        }
        let padding = if version < CARD_RSA_KEY_DECRYPT_INFO_VERSION_TWO {
            DecryptPadding::None
        } else {
            match info.padding_type {
                CARD_PADDING_NONE => DecryptPadding::None,
                CARD_PADDING_PKCS1 => DecryptPadding::Pkcs1,
                CARD_PADDING_OAEP => {
                    let padding_info = info
                        .padding_info
                        .as_ref()
                        .ok_or(MdError::InvalidParameter("pPaddingInfo is NULL"))?;
                    let hash = padding_info
                        .hash()?
                        .ok_or(MdError::InvalidParameter("OAEP without a hash"))?;
                    if hash == HashAlg::Md5Sha1 {
                        return Err(MdError::InvalidParameter("OAEP with MD5+SHA-1"));
                    }
                    let label = padding_info.label.optional("OAEP label")?.to_vec();
                    DecryptPadding::Oaep { hash, label }
                }
                _ => return Err(MdError::InvalidParameter("dwPaddingType")),
            }
        };
        Ok(Self {
            index: info.container_index,
            key_spec: info.key_spec,
            ciphertext: Zeroizing::new(ciphertext.to_vec()),
            padding,
        })
    }
}

/// How the padding of a decrypted block is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptPadding {
    /// Return the raw block (structure version 1, or `CARD_PADDING_NONE`).
    None,
    /// PKCS#1 v1.5 (type 2).
    Pkcs1,
    /// OAEP with MGF1 over `hash` and `label`.
    Oaep {
        /// Hash.
        hash: HashAlg,
        /// Label.
        label: Vec<u8>,
    },
}

/// What the caller gets back.
pub enum Decrypted {
    /// Bytes to write back into `pbData` (already in the interface's byte order).
    Data(Zeroizing<Vec<u8>>),
    /// The raw block (little-endian) for the CSP's unpad callback.
    ForCspUnpad(Zeroizing<Vec<u8>>),
}

/// The single code every padding failure maps to: the caller cannot tell one invalid padding from another.
pub const BAD_PADDING: MdError = MdError::InvalidValue;

impl CardContext {
    /// `CardRSADecrypt` with the container's RSA key. `csp_unpads` says whether the caller will hand the
    /// raw block to `pfnCspUnpadData`.
    pub(crate) fn rsa_decrypt(&mut self, request: &DecryptRequest, csp_unpads: bool) -> Result<Decrypted> {
        let DecryptRequest {
            index,
            key_spec,
            ciphertext: ciphertext_le,
            padding,
        } = request;
        let (index, key_spec) = (*index, *key_spec);
        let container = self.container(index)?.clone();
        let PublicKey::Rsa { modulus, .. } = &container.public_key else {
            return Err(MdError::InvalidParameter("the container's key is not an RSA key"));
        };
        if !container.accepts_spec(key_spec) {
            return Err(MdError::InvalidParameter(
                "key spec does not match the container's key",
            ));
        }
        if !container.decrypts {
            return Err(MdError::InvalidParameter(
                "the certificate's key usage does not allow decryption",
            ));
        }
        let k = modulus.len();
        if ciphertext_le.len() < k {
            return Err(MdError::InsufficientBuffer("ciphertext shorter than the modulus"));
        }
        if ciphertext_le.len() > k {
            return Err(MdError::InvalidParameter("ciphertext longer than the modulus"));
        }
        let input: Vec<u8> = ciphertext_le.iter().rev().copied().collect();
        let raw = Zeroizing::new(left_pad(&self.private_key_operation(&container, &input)?, k)?);
        let raw_le = || Zeroizing::new(raw.iter().rev().copied().collect::<Vec<u8>>());
        match padding {
            DecryptPadding::None => Ok(Decrypted::Data(raw_le())),
            _ if csp_unpads => Ok(Decrypted::ForCspUnpad(raw_le())),
            _ => Ok(Decrypted::Data(unpad(&raw, padding)?)),
        }
    }
}

/// Removes the padding of a raw (big-endian) RSA block in constant time and returns the plaintext in the
/// interface's byte order. Every invalid padding gives the same error, `SCARD_E_INVALID_VALUE`.
pub fn unpad(raw: &[u8], padding: &DecryptPadding) -> Result<Zeroizing<Vec<u8>>> {
    match padding {
        DecryptPadding::None => Ok(Zeroizing::new(raw.iter().rev().copied().collect())),
        DecryptPadding::Pkcs1 => finish(padding::pkcs1_v15_decrypt(raw)),
        DecryptPadding::Oaep { hash, label } => finish(padding::oaep_decrypt(raw, *hash, label)?),
    }
}

/// Reverses the message: the whole buffer is reversed (the message then sits at the end), and a
/// constant-time shift brings it to the front; the verdict is the only branch.
fn finish(decoded: padding::Decoded) -> Result<Zeroizing<Vec<u8>>> {
    let n = decoded.message.len();
    let len = decoded.len.min(n);
    let reversed: Zeroizing<Vec<u8>> = Zeroizing::new(decoded.message.iter().rev().copied().collect());
    let mut out = padding::shift_left(&reversed, n - len);
    if bool::from(decoded.valid) {
        out.truncate(len);
        Ok(out)
    } else {
        Err(BAD_PADDING)
    }
}

#[cfg(test)]
mod tests {
    use windows_sys::Win32::Security::Cryptography::{AT_ECDHE_P256, AT_SIGNATURE};

    use super::*;
    use crate::codes::{ERROR_REVISION_MISMATCH, SCARD_E_INVALID_PARAMETER};
    use crate::input::CallerString;

    const BLOCK: [u8; 128] = [3; 128];

    fn info(
        version: u32,
        padding_type: u32,
        padding_info: Option<PaddingInfo<'static>>,
    ) -> RsaDecryptInfo<'static> {
        RsaDecryptInfo {
            version,
            container_index: 2,
            key_spec: AT_SIGNATURE,
            data: CallerBytes::Read(&BLOCK),
            padding_type,
            padding_info,
        }
    }

    fn oaep(name: &str, label: CallerBytes<'static>) -> Option<PaddingInfo<'static>> {
        Some(PaddingInfo {
            alg_id: CallerString::Units(name.encode_utf16().collect()),
            label,
            ..PaddingInfo::default()
        })
    }

    #[test]
    fn version_one_is_raw_and_only_for_callers_before_version_seven() {
        let raw = DecryptRequest::decode(info(1, 0, None), 6).unwrap();
        assert_eq!((raw.padding, raw.ciphertext.len()), (DecryptPadding::None, 128));
        let code = |i, interface| DecryptRequest::decode(i, interface).unwrap_err().code();
        assert_eq!(code(info(1, 0, None), 7), ERROR_REVISION_MISMATCH);
        assert_eq!(code(info(3, 0, None), 7), ERROR_REVISION_MISMATCH);
    }

    #[test]
    fn oaep_needs_a_hash_and_takes_a_label() {
        let r = DecryptRequest::decode(
            info(2, CARD_PADDING_OAEP, oaep("SHA256", CallerBytes::Read(b"L"))),
            7,
        )
        .unwrap();
        assert_eq!(
            r.padding,
            DecryptPadding::Oaep {
                hash: HashAlg::Sha256,
                label: b"L".to_vec()
            }
        );
        let no_label = DecryptRequest::decode(
            info(2, CARD_PADDING_OAEP, oaep("SHA1", CallerBytes::Null { len: 0 })),
            7,
        );
        assert!(matches!(no_label.unwrap().padding, DecryptPadding::Oaep { label, .. } if label.is_empty()));
        let code = |i| DecryptRequest::decode(i, 7).unwrap_err().code();
        assert_eq!(code(info(2, CARD_PADDING_OAEP, None)), SCARD_E_INVALID_PARAMETER);
        assert_eq!(
            code(info(2, CARD_PADDING_OAEP, Some(PaddingInfo::default()))),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(info(
                2,
                CARD_PADDING_OAEP,
                oaep("SHAMD5", CallerBytes::Null { len: 0 })
            )),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(info(
                2,
                CARD_PADDING_OAEP,
                oaep("SHA1", CallerBytes::Null { len: 4 })
            )),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(info(
                2,
                CARD_PADDING_OAEP,
                oaep("SHA1", CallerBytes::TooLong { len: 5000 })
            )),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(code(info(2, 0x40, None)), SCARD_E_INVALID_PARAMETER);
        assert_eq!(
            code(RsaDecryptInfo {
                key_spec: AT_ECDHE_P256,
                ..info(2, CARD_PADDING_PKCS1, None)
            }),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(RsaDecryptInfo {
                data: CallerBytes::Null { len: 0 },
                ..info(2, CARD_PADDING_PKCS1, None)
            }),
            SCARD_E_INVALID_PARAMETER
        );
    }
}
