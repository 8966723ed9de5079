//! `CARD_DH_AGREEMENT_INFO` and `CARD_DERIVE_KEY` as the caller filled them, and the checks that turn
//! them into requests (Smart Card Minidriver Specification 7.07 §4.7.2 and §4.7.3).

use windows_sys::Win32::Security::Cryptography::{
    BCRYPTBUFFER_VERSION, CARD_BUFFER_SIZE_ONLY, CARD_DERIVE_KEY_VERSION, CARD_DERIVE_KEY_VERSION_TWO,
    CARD_DH_AGREEMENT_INFO_VERSION, CARD_RETURN_KEY_HANDLE, KDF_USE_SECRET_AS_HMAC_KEY_FLAG,
};

use super::param;
use crate::error::{MdError, Result};
use crate::input::{CallerBytes, CallerString, no_flags};

/// Largest peer public key read (a P-384 `BCRYPT_ECCKEY_BLOB` is 104 bytes).
pub(crate) const MAX_PEER_KEY: u32 = 1024;
/// Largest single KDF parameter read.
pub(crate) const MAX_KDF_PARAMETER: u32 = 4096;
/// Most KDF parameters read.
pub(crate) const MAX_KDF_PARAMETERS: u32 = 32;

/// `CARD_DH_AGREEMENT_INFO` as the caller filled it, read by the ABI.
#[derive(Debug, Clone)]
pub(crate) struct DhAgreementInfo<'a> {
    /// `dwVersion`.
    pub version: u32,
    /// `bContainerIndex`.
    pub container_index: u8,
    /// `dwFlags`.
    pub flags: u32,
    /// `pbPublicKey` / `dwPublicKey`, read up to [`MAX_PEER_KEY`] bytes.
    pub public_key: CallerBytes<'a>,
}

/// A `CardConstructDHAgreement` request.
#[derive(Debug, Clone, Copy)]
pub struct AgreementRequest<'a> {
    /// The container of the private key.
    pub index: u8,
    /// The peer's `BCRYPT_ECCKEY_BLOB`.
    pub peer_blob: &'a [u8],
}

impl<'a> AgreementRequest<'a> {
    /// Checks the structure: version 2, no flags, a public key.
    pub(crate) fn decode(info: DhAgreementInfo<'a>) -> Result<Self> {
        if info.version != CARD_DH_AGREEMENT_INFO_VERSION {
            return Err(MdError::RevisionMismatch(
                "CARD_DH_AGREEMENT_INFO must be version 2",
            ));
        }
        no_flags(info.flags)?;
        match info.public_key {
            CallerBytes::Read(blob) if !blob.is_empty() => Ok(Self {
                index: info.container_index,
                peer_blob: blob,
            }),
            _ => Err(MdError::InvalidParameter("public key")),
        }
    }
}

/// `CARD_DERIVE_KEY` as the caller filled it, read by the ABI.
#[derive(Debug, Clone)]
pub(crate) struct DeriveKeyInfo<'a> {
    /// `dwVersion`.
    pub version: u32,
    /// `dwFlags`.
    pub flags: u32,
    /// `pwszKDF`.
    pub kdf: CallerString,
    /// `bSecretAgreementIndex`.
    pub agreement_index: u8,
    /// `pParameterList`, `None` when NULL.
    pub parameters: Option<ParameterList<'a>>,
    /// `pbDerivedKey` is not NULL: the caller gives the buffer.
    pub has_output_buffer: bool,
    /// `cbDerivedKey`.
    pub output_len: u32,
    /// `dwKeyLen` (version 2; 0 in version 1), in bits.
    pub key_len_bits: u32,
}

/// A `BCryptBufferDesc` as the caller filled it.
#[derive(Debug, Clone)]
pub(crate) struct ParameterList<'a> {
    /// `ulVersion`.
    pub version: u32,
    /// `cBuffers`.
    pub count: u32,
    /// Each `BCryptBuffer`'s `BufferType` and bytes (read up to [`MAX_KDF_PARAMETER`]); `None` when the
    /// array was not read: a version other than `BCRYPTBUFFER_VERSION`, more than
    /// [`MAX_KDF_PARAMETERS`] buffers, or a NULL array with a count.
    pub buffers: Option<Vec<(u32, CallerBytes<'a>)>>,
}

/// Which agreement a derivation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgreementRef {
    /// `bSecretAgreementIndex`.
    Index(u8),
    /// An NCrypt secret handle (`KDF_NCRYPT_SECRET_HANDLE`): the KSP's `pfnCspGetDHAgreement` names the
    /// agreement it stands for (§3.2.3).
    SecretHandle(usize),
}

/// Where the derived key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerivedKeyOutput {
    /// `CARD_BUFFER_SIZE_ONLY`: only its length.
    SizeOnly,
    /// `pbDerivedKey` was NULL: the module allocates with the CSP's allocator (as OpenSC does).
    Allocate,
    /// Into the caller's `pbDerivedKey`, which holds `len` bytes.
    CallerBuffer {
        /// `cbDerivedKey` as the caller gave it.
        len: u32,
    },
}

/// A key-derivation request.
#[derive(Clone)]
pub struct DeriveRequest<'a> {
    /// The agreement.
    pub agreement: AgreementRef,
    /// `pwszKDF`.
    pub kdf: String,
    /// `KDF_USE_SECRET_AS_HMAC_KEY_FLAG` was given.
    pub secret_as_hmac_key: bool,
    /// The parameters (type, value), the secret handle already taken out.
    pub params: Vec<(u32, &'a [u8])>,
    /// The derived length the caller asked for, when it did (version 2 `dwKeyLen` in bytes, or the
    /// caller's buffer for the concatenation KDF).
    pub requested_len: Option<usize>,
    /// Where the key goes.
    pub output: DerivedKeyOutput,
}

/// Parameter values (an HMAC key, secret prepend/append bytes) may be secret: only their types and
/// lengths are shown.
impl std::fmt::Debug for DeriveRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params: Vec<(u32, usize)> = self.params.iter().map(|(t, v)| (*t, v.len())).collect();
        f.debug_struct("DeriveRequest")
            .field("agreement", &self.agreement)
            .field("kdf", &self.kdf)
            .field("secret_as_hmac_key", &self.secret_as_hmac_key)
            .field("params (type, length)", &params)
            .field("requested_len", &self.requested_len)
            .field("output", &self.output)
            .finish()
    }
}

impl<'a> DeriveRequest<'a> {
    /// Checks the structure: version, flags (secure-key-injection handles are not supported), the KDF
    /// name and the parameter list, and works out the length asked for and where the key goes.
    pub(crate) fn decode(info: DeriveKeyInfo<'a>) -> Result<Self> {
        if !(CARD_DERIVE_KEY_VERSION..=CARD_DERIVE_KEY_VERSION_TWO).contains(&info.version) {
            return Err(MdError::RevisionMismatch("CARD_DERIVE_KEY version"));
        }
        let flags = info.flags;
        if flags & !(KDF_USE_SECRET_AS_HMAC_KEY_FLAG | CARD_RETURN_KEY_HANDLE | CARD_BUFFER_SIZE_ONLY) != 0 {
            return Err(MdError::InvalidParameter("dwFlags"));
        }
        if flags & CARD_RETURN_KEY_HANDLE != 0 {
            return Err(if info.version < CARD_DERIVE_KEY_VERSION_TWO {
                MdError::InvalidParameter("CARD_RETURN_KEY_HANDLE needs version 2")
            } else {
                MdError::Unsupported("symmetric key handles (secure key injection)")
            });
        }
        let kdf = info
            .kdf
            .decode()?
            .ok_or(MdError::InvalidParameter("NULL string"))?;
        let (params, secret_handle) = parameters(info.parameters)?;
        let requested_len = if info.key_len_bits > 0 {
            Some(info.key_len_bits.div_ceil(8) as usize)
        } else if kdf == "SP800_56A_CONCAT" && info.has_output_buffer && info.output_len > 0 {
            Some(info.output_len as usize)
        } else {
            None
        };
        let output = if flags & CARD_BUFFER_SIZE_ONLY != 0 {
            DerivedKeyOutput::SizeOnly
        } else if info.has_output_buffer {
            DerivedKeyOutput::CallerBuffer { len: info.output_len }
        } else {
            DerivedKeyOutput::Allocate
        };
        Ok(Self {
            agreement: secret_handle.map_or(
                AgreementRef::Index(info.agreement_index),
                AgreementRef::SecretHandle,
            ),
            kdf,
            secret_as_hmac_key: flags & KDF_USE_SECRET_AS_HMAC_KEY_FLAG != 0,
            params,
            requested_len,
            output,
        })
    }

    /// Only the length is asked for.
    pub fn size_only(&self) -> bool {
        self.output == DerivedKeyOutput::SizeOnly
    }
}

/// The KDF parameters, and the secret handle when one of them is one.
type Parameters<'a> = (Vec<(u32, &'a [u8])>, Option<usize>);

fn parameters(list: Option<ParameterList<'_>>) -> Result<Parameters<'_>> {
    let Some(list) = list else {
        return Ok((Vec::new(), None));
    };
    let buffers = match list.buffers {
        Some(buffers) if list.version == BCRYPTBUFFER_VERSION && list.count <= MAX_KDF_PARAMETERS => buffers,
        _ => return Err(MdError::InvalidParameter("parameter list")),
    };
    let mut params = Vec::with_capacity(buffers.len());
    let mut handle = None;
    for (kind, value) in buffers {
        let value = value.optional("parameter buffer")?;
        if kind != param::SECRET_HANDLE {
            params.push((kind, value));
            continue;
        }
        match <[u8; size_of::<usize>()]>::try_from(value) {
            Ok(bytes) if handle.is_none() => handle = Some(usize::from_ne_bytes(bytes)),
            _ => return Err(MdError::InvalidParameter("secret handle parameter")),
        }
    }
    Ok((params, handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(parameters: Option<ParameterList<'_>>) -> DeriveKeyInfo<'_> {
        DeriveKeyInfo {
            version: 2,
            flags: 0,
            kdf: CallerString::Units("SP800_56A_CONCAT".encode_utf16().collect()),
            agreement_index: 3,
            parameters,
            has_output_buffer: true,
            output_len: 20,
            key_len_bits: 0,
        }
    }

    #[test]
    fn the_concatenation_kdf_takes_its_length_from_the_callers_buffer() {
        let request = DeriveRequest::decode(info(None)).unwrap();
        assert_eq!(request.requested_len, Some(20));
        assert_eq!(request.output, DerivedKeyOutput::CallerBuffer { len: 20 });
        assert_eq!(request.agreement, AgreementRef::Index(3));
        let bits = DeriveRequest::decode(DeriveKeyInfo {
            key_len_bits: 129,
            flags: CARD_BUFFER_SIZE_ONLY,
            ..info(None)
        })
        .unwrap();
        assert_eq!(
            (bits.requested_len, bits.output),
            (Some(17), DerivedKeyOutput::SizeOnly)
        );
    }

    #[test]
    fn a_secret_handle_parameter_names_the_agreement() {
        let handle = 0x1234usize.to_ne_bytes();
        let list = |buffers| ParameterList {
            version: 0,
            count: 2,
            buffers,
        };
        let request = DeriveRequest::decode(info(Some(list(Some(vec![
            (param::SECRET_HANDLE, CallerBytes::Read(&handle)),
            (param::PARTYUINFO, CallerBytes::Read(b"u")),
        ])))))
        .unwrap();
        assert_eq!(request.agreement, AgreementRef::SecretHandle(0x1234));
        assert_eq!(request.params, [(param::PARTYUINFO, &b"u"[..])]);
        for bad in [
            Some(vec![(param::SECRET_HANDLE, CallerBytes::Read(&handle[..4]))]),
            Some(vec![
                (param::SECRET_HANDLE, CallerBytes::Read(&handle)),
                (param::SECRET_HANDLE, CallerBytes::Read(&handle)),
            ]),
            Some(vec![(param::PARTYUINFO, CallerBytes::Null { len: 1 })]),
            Some(vec![(param::PARTYUINFO, CallerBytes::TooLong { len: 5000 })]),
            None,
        ] {
            let err = DeriveRequest::decode(info(Some(list(bad.clone())))).unwrap_err();
            assert!(matches!(err, MdError::InvalidParameter(_)), "{bad:?}: {err}");
        }
    }

    #[test]
    fn version_and_flags_come_before_the_kdf_name() {
        let no_name = |version, flags| DeriveKeyInfo {
            version,
            flags,
            kdf: CallerString::TooLong,
            ..info(None)
        };
        let code = |i| DeriveRequest::decode(i).unwrap_err().code();
        assert_eq!(code(no_name(3, 0)), crate::codes::ERROR_REVISION_MISMATCH);
        assert_eq!(
            code(no_name(2, CARD_RETURN_KEY_HANDLE)),
            crate::codes::SCARD_E_UNSUPPORTED_FEATURE
        );
        assert_eq!(
            code(no_name(1, CARD_RETURN_KEY_HANDLE)),
            crate::codes::SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(code(no_name(2, 0)), crate::codes::SCARD_E_INVALID_PARAMETER);
    }

    #[test]
    fn agreement_info_needs_version_two_and_a_key() {
        let info = |version, flags, public_key| DhAgreementInfo {
            version,
            container_index: 1,
            flags,
            public_key,
        };
        let blob = [1u8; 72];
        let ok = AgreementRequest::decode(info(2, 0, CallerBytes::Read(&blob))).unwrap();
        assert_eq!((ok.index, ok.peer_blob.len()), (1, 72));
        let code = |i| AgreementRequest::decode(i).unwrap_err().code();
        assert_eq!(
            code(info(1, 0, CallerBytes::Read(&blob))),
            crate::codes::ERROR_REVISION_MISMATCH
        );
        assert_eq!(
            code(info(2, 1, CallerBytes::Read(&blob))),
            crate::codes::SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(info(2, 0, CallerBytes::Read(&[]))),
            crate::codes::SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(info(2, 0, CallerBytes::TooLong { len: 2000 })),
            crate::codes::SCARD_E_INVALID_PARAMETER
        );
    }
}
