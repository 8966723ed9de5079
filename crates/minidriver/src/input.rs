//! What the ABI read from the caller, as plain values: buffers, strings and padding information. The
//! safe decoders ([`SignRequest::decode`](crate::signing::SignRequest::decode) and the like) judge them,
//! in the order the interface's checks go, so that one input decides one error whatever else is wrong.

use crate::crypto::hash::HashAlg;
use crate::error::{MdError, Result};

/// A caller's input buffer (a `pb…` with its `cb…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallerBytes<'a> {
    /// The pointer was NULL; `len` is what the caller gave with it.
    Null {
        /// The length the caller gave.
        len: u32,
    },
    /// Longer than the module reads for this argument: not read.
    TooLong {
        /// The length the caller gave.
        len: u32,
    },
    /// The bytes.
    Read(&'a [u8]),
}

impl<'a> CallerBytes<'a> {
    /// The bytes, an empty slice for NULL with a zero length (the interface's "no data"), else `what`.
    pub(crate) fn optional(self, what: &'static str) -> Result<&'a [u8]> {
        match self {
            Self::Read(bytes) => Ok(bytes),
            Self::Null { len: 0 } => Ok(&[]),
            Self::Null { .. } | Self::TooLong { .. } => Err(MdError::InvalidParameter(what)),
        }
    }
}

/// A caller's NUL-terminated UTF-16 string, as its units (without the terminator).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum CallerString {
    /// A NULL pointer.
    #[default]
    Null,
    /// No terminator within the longest string the interface defines: not read further.
    TooLong,
    /// The units.
    Units(Vec<u16>),
}

impl CallerString {
    /// The string, `None` for NULL.
    pub(crate) fn decode(&self) -> Result<Option<String>> {
        match self {
            Self::Null => Ok(None),
            Self::TooLong => Err(MdError::InvalidParameter("string too long")),
            Self::Units(units) => String::from_utf16(units)
                .map(Some)
                .map_err(|_| MdError::InvalidParameter("string is not UTF-16")),
        }
    }
}

/// What `pPaddingInfo` pointed to: the members of the `BCRYPT_PKCS1_PADDING_INFO`,
/// `BCRYPT_PSS_PADDING_INFO` or `BCRYPT_OAEP_PADDING_INFO` that `dwPaddingType` names (the members the
/// others lack are left at their defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PaddingInfo<'a> {
    /// `pszAlgId`.
    pub alg_id: CallerString,
    /// `cbSalt` (PSS).
    pub salt_len: u32,
    /// `pbLabel` / `cbLabel` (OAEP).
    pub label: CallerBytes<'a>,
}

impl Default for PaddingInfo<'_> {
    fn default() -> Self {
        Self {
            alg_id: CallerString::Null,
            salt_len: 0,
            label: CallerBytes::Null { len: 0 },
        }
    }
}

impl PaddingInfo<'_> {
    /// The hash `pszAlgId` names: a CNG algorithm name, or `SHAMD5` for the SSL3 MD5‖SHA-1 hash;
    /// `None` for NULL.
    pub(crate) fn hash(&self) -> Result<Option<HashAlg>> {
        match self.alg_id.decode()? {
            None => Ok(None),
            Some(name) if name == "SHAMD5" => Ok(Some(HashAlg::Md5Sha1)),
            Some(name) => HashAlg::from_cng_name(&name).map(Some),
        }
    }
}

/// A reserved `dwFlags`: anything but zero is `SCARD_E_INVALID_PARAMETER`.
pub(crate) fn no_flags(flags: u32) -> Result<()> {
    if flags == 0 {
        Ok(())
    } else {
        Err(MdError::InvalidParameter("dwFlags"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> CallerString {
        CallerString::Units(s.encode_utf16().collect())
    }

    #[test]
    fn padding_hash_names() {
        let info = |alg_id| PaddingInfo {
            alg_id,
            ..PaddingInfo::default()
        };
        assert_eq!(info(units("SHA256")).hash().unwrap(), Some(HashAlg::Sha256));
        assert_eq!(info(units("SHAMD5")).hash().unwrap(), Some(HashAlg::Md5Sha1));
        assert_eq!(info(CallerString::Null).hash().unwrap(), None);
        assert!(info(units("WHIRLPOOL")).hash().is_err());
        assert!(info(CallerString::TooLong).hash().is_err());
        assert!(
            info(CallerString::Units(vec![0xD800])).hash().is_err(),
            "a lone surrogate"
        );
    }

    #[test]
    fn optional_bytes() {
        assert_eq!(CallerBytes::Null { len: 0 }.optional("x").unwrap(), &[] as &[u8]);
        assert!(CallerBytes::Null { len: 1 }.optional("x").is_err());
        assert!(CallerBytes::TooLong { len: 9 }.optional("x").is_err());
        assert_eq!(CallerBytes::Read(&[1]).optional("x").unwrap(), &[1]);
        assert!(no_flags(1).is_err());
    }
}
