//! From the caller's cryptographic structures to the safe layer's plain values: each structure is
//! copied once, and what its members point to is read as far as the members say it is there (the
//! version has the member, `CARD_PADDING_INFO_PRESENT` says the padding information is valid,
//! `dwPaddingType` says which structure it is) and no further than the safe layer's bounds. What the
//! values mean is decided by the decoders (`SignRequest::decode` and the like), not here.

use std::mem::{offset_of, size_of};

use windows_sys::Win32::Security::Cryptography::{
    BCRYPT_OAEP_PADDING_INFO, BCRYPT_PKCS1_PADDING_INFO, BCRYPT_PSS_PADDING_INFO, BCRYPTBUFFER_VERSION,
    BCryptBufferDesc, CARD_DERIVE_KEY, CARD_DERIVE_KEY_VERSION_TWO, CARD_DH_AGREEMENT_INFO,
    CARD_PADDING_INFO_PRESENT, CARD_PADDING_OAEP, CARD_PADDING_PKCS1, CARD_PADDING_PSS,
    CARD_RSA_DECRYPT_INFO, CARD_RSA_KEY_DECRYPT_INFO_VERSION_TWO, CARD_SIGNING_INFO,
    CARD_SIGNING_INFO_CURRENT_VERSION,
};

use crate::abi::caller::{CallerStruct, bytes};
use crate::abi::strings::wide_units;
use crate::agreement::{
    DeriveKeyInfo, DhAgreementInfo, MAX_KDF_PARAMETER, MAX_KDF_PARAMETERS, MAX_PEER_KEY, ParameterList,
};
use crate::containers::spec;
use crate::decryption::{self, MAX_CIPHERTEXT, MAX_OAEP_LABEL, RsaDecryptInfo};
use crate::enroll::KEY_IMPORT;
use crate::error::Result;
use crate::input::PaddingInfo;
use crate::key_import;
use crate::signing::{self, MAX_SIGNING_INPUT, SigningInfo};

/// How many bytes of a `CARD_SIGNING_INFO` a caller of `version` passes: version 2 added
/// `pPaddingInfo` and `dwPaddingType`.
pub(crate) fn signing_info_extent(version: u32) -> usize {
    if version == CARD_SIGNING_INFO_CURRENT_VERSION {
        size_of::<CARD_SIGNING_INFO>()
    } else {
        offset_of!(CARD_SIGNING_INFO, pPaddingInfo)
    }
}

/// As [`signing_info_extent`] for `CARD_RSA_DECRYPT_INFO` (version 2 added the padding members).
pub(crate) fn rsa_decrypt_info_extent(version: u32) -> usize {
    if version == CARD_RSA_KEY_DECRYPT_INFO_VERSION_TWO {
        size_of::<CARD_RSA_DECRYPT_INFO>()
    } else {
        offset_of!(CARD_RSA_DECRYPT_INFO, pPaddingInfo)
    }
}

/// As [`signing_info_extent`] for `CARD_DERIVE_KEY` (version 2 added `pwszAlgId`, `dwKeyLen`, `hKey`).
pub(crate) fn derive_key_extent(version: u32) -> usize {
    if version == CARD_DERIVE_KEY_VERSION_TWO {
        size_of::<CARD_DERIVE_KEY>()
    } else {
        offset_of!(CARD_DERIVE_KEY, pwszAlgId)
    }
}

/// The private-key blob of a `CardCreateContainer(Ex)` import. No length travels with `pbKeyData`: the
/// blob's header says how long it is, so the header is read first and then no more than it gives. Read
/// only for an import with a key spec the module supports (otherwise the decoder refuses the call
/// before it needs the blob); `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or points to a whole blob of the size its header gives.
pub(crate) unsafe fn key_blob<'a>(flags: u32, key_spec: u32, ptr: *const u8) -> Result<Option<&'a [u8]>> {
    if ptr.is_null() || flags != KEY_IMPORT || spec::check(key_spec).is_err() {
        return Ok(None);
    }
    // SAFETY: every blob starts with its header (the caller's contract).
    let header = unsafe { std::slice::from_raw_parts(ptr, key_import::header_len(key_spec)) };
    let len = key_import::blob_len(key_spec, header)?;
    // SAFETY: the whole blob is readable (the caller's contract), and its header says how long it is.
    Ok(Some(unsafe { std::slice::from_raw_parts(ptr, len) }))
}

/// `CARD_DH_AGREEMENT_INFO` has one version, all of it the caller's.
pub(crate) fn whole<T>(_version: u32) -> usize {
    size_of::<T>()
}

/// The plain values of a `CARD_SIGNING_INFO` copy.
///
/// # Safety
/// `s` is a copy of the caller's structure: its pointers are valid as the interface says (`pbData` for
/// `cbData` bytes; `pPaddingInfo`, when `CARD_PADDING_INFO_PRESENT` is set, to the structure
/// `dwPaddingType` names).
pub(crate) unsafe fn signing_info<'a>(s: &CARD_SIGNING_INFO) -> SigningInfo<'a> {
    let has_padding_info =
        s.dwVersion == CARD_SIGNING_INFO_CURRENT_VERSION && s.dwSigningFlags & CARD_PADDING_INFO_PRESENT != 0;
    SigningInfo {
        version: s.dwVersion,
        container_index: s.bContainerIndex,
        key_spec: s.dwKeySpec,
        signing_flags: s.dwSigningFlags,
        hash_alg: s.aiHashAlg,
        // SAFETY: per the contract.
        data: unsafe { bytes(s.pbData, s.cbData, MAX_SIGNING_INPUT) },
        padding_type: s.dwPaddingType,
        padding_info: if has_padding_info {
            // SAFETY: per the contract.
            unsafe { padding_info(s.dwPaddingType, s.pPaddingInfo, &signing::PADDINGS_WITH_INFO) }
        } else {
            None
        },
    }
}

/// The plain values of a `CARD_RSA_DECRYPT_INFO` copy.
///
/// # Safety
/// As [`signing_info`] (version 2's `pPaddingInfo` is always the structure `dwPaddingType` names).
pub(crate) unsafe fn rsa_decrypt_info<'a>(s: &CARD_RSA_DECRYPT_INFO) -> RsaDecryptInfo<'a> {
    let version_two = s.dwVersion == CARD_RSA_KEY_DECRYPT_INFO_VERSION_TWO;
    RsaDecryptInfo {
        version: s.dwVersion,
        container_index: s.bContainerIndex,
        key_spec: s.dwKeySpec,
        // SAFETY: per the contract.
        data: unsafe { bytes(s.pbData, s.cbData, MAX_CIPHERTEXT) },
        padding_type: s.dwPaddingType,
        padding_info: if version_two {
            // SAFETY: per the contract.
            unsafe { padding_info(s.dwPaddingType, s.pPaddingInfo, &decryption::PADDINGS_WITH_INFO) }
        } else {
            None
        },
    }
}

/// What `pPaddingInfo` points to, when `padding_type` is one the call reads (`read`) and it is not NULL.
///
/// # Safety
/// `p` is NULL or points to the `BCRYPT_*_PADDING_INFO` that `padding_type` names, whose pointers are
/// valid as bcrypt.h says.
unsafe fn padding_info<'a>(
    padding_type: u32,
    p: *const core::ffi::c_void,
    read: &[u32],
) -> Option<PaddingInfo<'a>> {
    if !read.contains(&padding_type) {
        return None;
    }
    Some(match padding_type {
        CARD_PADDING_PKCS1 => {
            // SAFETY: per the contract.
            let info = unsafe { CallerStruct::optional(p.cast::<BCRYPT_PKCS1_PADDING_INFO>()) }?.read();
            PaddingInfo {
                // SAFETY: a NUL-terminated UTF-16 string or NULL.
                alg_id: unsafe { wide_units(info.pszAlgId) },
                ..PaddingInfo::default()
            }
        }
        CARD_PADDING_PSS => {
            // SAFETY: per the contract.
            let info = unsafe { CallerStruct::optional(p.cast::<BCRYPT_PSS_PADDING_INFO>()) }?.read();
            PaddingInfo {
                // SAFETY: as above.
                alg_id: unsafe { wide_units(info.pszAlgId) },
                salt_len: info.cbSalt,
                ..PaddingInfo::default()
            }
        }
        CARD_PADDING_OAEP => {
            // SAFETY: per the contract.
            let info = unsafe { CallerStruct::optional(p.cast::<BCRYPT_OAEP_PADDING_INFO>()) }?.read();
            PaddingInfo {
                // SAFETY: as above.
                alg_id: unsafe { wide_units(info.pszAlgId) },
                // SAFETY: `pbLabel` is NULL or holds `cbLabel` bytes.
                label: unsafe { bytes(info.pbLabel, info.cbLabel, MAX_OAEP_LABEL) },
                ..PaddingInfo::default()
            }
        }
        _ => return None,
    })
}

/// The plain values of a `CARD_DH_AGREEMENT_INFO` copy.
///
/// # Safety
/// `pbPublicKey` is NULL or holds `dwPublicKey` bytes.
pub(crate) unsafe fn dh_agreement_info<'a>(s: &CARD_DH_AGREEMENT_INFO) -> DhAgreementInfo<'a> {
    DhAgreementInfo {
        version: s.dwVersion,
        container_index: s.bContainerIndex,
        flags: s.dwFlags,
        // SAFETY: per the contract.
        public_key: unsafe { bytes(s.pbPublicKey, s.dwPublicKey, MAX_PEER_KEY) },
    }
}

/// The plain values of a `CARD_DERIVE_KEY` copy (`dwKeyLen` is zero in a version-1 copy).
///
/// # Safety
/// `pwszKDF` is NULL or a NUL-terminated UTF-16 string; `pParameterList` is NULL or a
/// `BCryptBufferDesc` whose buffers hold their sizes.
pub(crate) unsafe fn derive_key_info<'a>(s: &CARD_DERIVE_KEY) -> DeriveKeyInfo<'a> {
    DeriveKeyInfo {
        version: s.dwVersion,
        flags: s.dwFlags,
        // SAFETY: per the contract.
        kdf: unsafe { wide_units(s.pwszKDF) },
        agreement_index: s.bSecretAgreementIndex,
        // SAFETY: per the contract.
        parameters: unsafe { parameter_list(s.pParameterList.cast::<BCryptBufferDesc>()) },
        has_output_buffer: !s.pbDerivedKey.is_null(),
        output_len: s.cbDerivedKey,
        key_len_bits: s.dwKeyLen,
    }
}

/// A `BCryptBufferDesc` and, when its layout is known and its count within bounds, its buffers.
///
/// # Safety
/// As [`derive_key_info`].
unsafe fn parameter_list<'a>(list: *const BCryptBufferDesc) -> Option<ParameterList<'a>> {
    // SAFETY: per the contract.
    let desc = unsafe { CallerStruct::optional(list) }?.read();
    let readable = desc.ulVersion == BCRYPTBUFFER_VERSION
        && desc.cBuffers <= MAX_KDF_PARAMETERS
        && (desc.cBuffers == 0 || !desc.pBuffers.is_null());
    let buffers = readable.then(|| {
        (0..desc.cBuffers as usize)
            .map(|i| {
                let at = desc.pBuffers.wrapping_add(i);
                // SAFETY: the array has `cBuffers` elements.
                let b = unsafe { CallerStruct::optional(at.cast_const()) }
                    .map(|b| b.read())
                    .unwrap_or_default();
                // SAFETY: each buffer holds `cbBuffer` bytes (or is NULL).
                (b.BufferType, unsafe {
                    bytes(b.pvBuffer.cast::<u8>(), b.cbBuffer, MAX_KDF_PARAMETER)
                })
            })
            .collect()
    });
    Some(ParameterList {
        version: desc.ulVersion,
        count: desc.cBuffers,
        buffers,
    })
}
