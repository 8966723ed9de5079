//! Cryptographic entry points (spec §4.7).

use std::ffi::c_void;
use std::ptr::{addr_of, addr_of_mut};

use windows_sys::Win32::Security::Cryptography::{
    BCRYPT_OAEP_PADDING_INFO, BCRYPT_PKCS1_PADDING_INFO, BCRYPT_PSS_PADDING_INFO, BCryptBuffer,
    BCryptBufferDesc, CARD_BUFFER_SIZE_ONLY, CARD_DATA, CARD_DERIVE_KEY, CARD_DH_AGREEMENT_INFO,
    CARD_PADDING_INFO_PRESENT, CARD_PADDING_NONE, CARD_PADDING_OAEP, CARD_PADDING_PKCS1, CARD_PADDING_PSS,
    CARD_RETURN_KEY_HANDLE, CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO, CRYPT_NOHASHOID, CRYPT_TYPE2_FORMAT,
    CRYPT_X931_FORMAT, KDF_USE_SECRET_AS_HMAC_KEY_FLAG,
};
use zeroize::Zeroizing;

use crate::abi::boundary::guard;
use crate::abi::card_data::{Entry, free, read_version};
use crate::abi::strings::{bytes, wide};
use crate::agreement::{DeriveRequest, param};
use crate::containers::spec;
use crate::crypto::hash::HashAlg;
use crate::decryption::{DecryptPadding, Decrypted};
use crate::error::{MdError, Result};
use crate::signing::{SignPadding, SignRequest, Signed};

/// Defined `CryptSignHash` flags the module does not do.
const UNSUPPORTED_SIGNING_FLAGS: u32 = CRYPT_TYPE2_FORMAT | CRYPT_X931_FORMAT;
/// Largest data a signing or decryption call may hand over (an RSA-4096 block is 512 bytes).
const MAX_CRYPTO_INPUT: u32 = 1024;
/// Largest single KDF parameter and parameter count accepted.
const MAX_KDF_PARAM: u32 = 4096;
const MAX_KDF_PARAMS: u32 = 32;

/// A CNG algorithm name from a padding-info structure; `None` for NULL. `SHAMD5` is the SSL3 hash.
///
/// # Safety
/// `p` is NULL or a NUL-terminated UTF-16 string.
unsafe fn cng_hash(p: *const u16) -> Result<Option<HashAlg>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let name = unsafe { wide(p) }?;
    if name == "SHAMD5" {
        return Ok(Some(HashAlg::Md5Sha1));
    }
    HashAlg::from_cng_name(&name).map(Some)
}

pub(crate) unsafe extern "system" fn card_sign_data(
    cd: *const CARD_DATA,
    info: *mut CARD_SIGNING_INFO,
) -> u32 {
    guard("CardSignData", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if info.is_null() {
            return Err(MdError::InvalidParameter("pInfo is NULL"));
        }
        // SAFETY: `info` points to the caller's CARD_SIGNING_INFO, at least its version-1 part; the
        // version-2 members are read only when the caller says it is version 2.
        let (version, index, key_spec, flags, alg, data, data_len) = unsafe {
            (
                read_version(info.cast()).max(1),
                addr_of!((*info).bContainerIndex).read_unaligned(),
                addr_of!((*info).dwKeySpec).read_unaligned(),
                addr_of!((*info).dwSigningFlags).read_unaligned(),
                addr_of!((*info).aiHashAlg).read_unaligned(),
                addr_of!((*info).pbData).read_unaligned(),
                addr_of!((*info).cbData).read_unaligned(),
            )
        };
        if version > 2 {
            return Err(MdError::RevisionMismatch("CARD_SIGNING_INFO version"));
        }
        if data.is_null() || data_len == 0 {
            return Err(MdError::InvalidParameter("pbData"));
        }
        if data_len > MAX_CRYPTO_INPUT {
            return Err(MdError::InvalidParameter("cbData"));
        }
        let known =
            CARD_PADDING_INFO_PRESENT | CARD_BUFFER_SIZE_ONLY | CRYPT_NOHASHOID | UNSUPPORTED_SIGNING_FLAGS;
        if flags & !known != 0 {
            return Err(MdError::InvalidParameter("dwSigningFlags"));
        }
        if flags & UNSUPPORTED_SIGNING_FLAGS != 0 {
            return Err(MdError::Unsupported("type 2 and X9.31 signature formats"));
        }
        spec::check(key_spec)?;
        let padding = if flags & CARD_PADDING_INFO_PRESENT != 0 {
            if version < 2 {
                return Err(MdError::RevisionMismatch(
                    "padding info needs CARD_SIGNING_INFO version 2",
                ));
            }
            // SAFETY: version 2, so the members exist.
            let (pinfo, ptype) = unsafe {
                (
                    addr_of!((*info).pPaddingInfo).read_unaligned(),
                    addr_of!((*info).dwPaddingType).read_unaligned(),
                )
            };
            match ptype {
                CARD_PADDING_NONE => SignPadding::None,
                CARD_PADDING_PKCS1 => {
                    if pinfo.is_null() {
                        return Err(MdError::InvalidParameter("pPaddingInfo is NULL"));
                    }
                    // SAFETY: the caller passes a BCRYPT_PKCS1_PADDING_INFO for this padding type.
                    let alg = unsafe {
                        addr_of!((*(pinfo as *const BCRYPT_PKCS1_PADDING_INFO)).pszAlgId).read_unaligned()
                    };
                    // SAFETY: a NUL-terminated UTF-16 string or NULL.
                    let hash = unsafe { cng_hash(alg) }?;
                    SignPadding::Pkcs1 { hash, no_oid: false }
                }
                CARD_PADDING_PSS => {
                    if pinfo.is_null() {
                        return Err(MdError::InvalidParameter("pPaddingInfo is NULL"));
                    }
                    let pss = pinfo as *const BCRYPT_PSS_PADDING_INFO;
                    // SAFETY: the caller passes a BCRYPT_PSS_PADDING_INFO for this padding type.
                    let (alg, salt) = unsafe {
                        (
                            addr_of!((*pss).pszAlgId).read_unaligned(),
                            addr_of!((*pss).cbSalt).read_unaligned(),
                        )
                    };
                    // SAFETY: a NUL-terminated UTF-16 string or NULL (which means SHA-1, as OpenSC reads it).
                    let hash = unsafe { cng_hash(alg) }?.unwrap_or(HashAlg::Sha1);
                    if hash == HashAlg::Md5Sha1 {
                        return Err(MdError::InvalidParameter("PSS with MD5+SHA-1"));
                    }
                    SignPadding::Pss {
                        hash,
                        salt_len: salt as usize,
                    }
                }
                _ => return Err(MdError::InvalidParameter("dwPaddingType")),
            }
        } else {
            SignPadding::Pkcs1 {
                hash: HashAlg::from_alg_id(alg)?,
                no_oid: flags & CRYPT_NOHASHOID != 0,
            }
        };
        // SAFETY: `data` is non-null and readable for `data_len` bytes (bounded above).
        let data = unsafe { bytes(data, data_len) }.unwrap_or_default();
        let request = SignRequest {
            index,
            key_spec,
            padding,
            data,
            size_only: flags & CARD_BUFFER_SIZE_ONLY != 0,
        };
        match entry.with_context(|ctx| ctx.sign(&request))? {
            Signed::Size(n) => {
                // SAFETY: `info` is the caller's writable structure.
                unsafe { addr_of_mut!((*info).cbSignedData).write_unaligned(n as u32) };
            }
            Signed::Signature(sig) => {
                let p = entry.alloc_copy(&sig)?;
                // SAFETY: as above.
                unsafe {
                    addr_of_mut!((*info).pbSignedData).write_unaligned(p);
                    addr_of_mut!((*info).cbSignedData).write_unaligned(sig.len() as u32);
                }
            }
        }
        Ok(())
    })
}

pub(crate) unsafe extern "system" fn card_rsa_decrypt(
    cd: *const CARD_DATA,
    info: *mut CARD_RSA_DECRYPT_INFO,
) -> u32 {
    guard("CardRSADecrypt", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if info.is_null() {
            return Err(MdError::InvalidParameter("pInfo is NULL"));
        }
        // SAFETY: the caller's CARD_RSA_DECRYPT_INFO, at least its version-1 part.
        let (version, index, key_spec, data, data_len) = unsafe {
            (
                read_version(info.cast()).max(1),
                addr_of!((*info).bContainerIndex).read_unaligned(),
                addr_of!((*info).dwKeySpec).read_unaligned(),
                addr_of!((*info).pbData).read_unaligned(),
                addr_of!((*info).cbData).read_unaligned(),
            )
        };
        if version > 2 {
            return Err(MdError::RevisionMismatch("CARD_RSA_DECRYPT_INFO version"));
        }
        let interface = entry.interface_version();
        if version < 2 && interface >= 7 {
            return Err(MdError::RevisionMismatch(
                "version 7 callers must pass CARD_RSA_DECRYPT_INFO version 2",
            ));
        }
        if data.is_null() {
            return Err(MdError::InvalidParameter("pbData is NULL"));
        }
        if data_len > MAX_CRYPTO_INPUT {
            return Err(MdError::InvalidParameter("cbData"));
        }
        if key_spec != spec::AT_KEYEXCHANGE && key_spec != spec::AT_SIGNATURE {
            return Err(MdError::InvalidParameter("RSA decryption needs an RSA key spec"));
        }
        let padding = if version >= 2 {
            // SAFETY: version 2, so the members exist.
            let (pinfo, ptype) = unsafe {
                (
                    addr_of!((*info).pPaddingInfo).read_unaligned(),
                    addr_of!((*info).dwPaddingType).read_unaligned(),
                )
            };
            match ptype {
                CARD_PADDING_NONE => DecryptPadding::None,
                CARD_PADDING_PKCS1 => DecryptPadding::Pkcs1,
                CARD_PADDING_OAEP => {
                    if pinfo.is_null() {
                        return Err(MdError::InvalidParameter("pPaddingInfo is NULL"));
                    }
                    let oaep = pinfo as *const BCRYPT_OAEP_PADDING_INFO;
                    // SAFETY: the caller passes a BCRYPT_OAEP_PADDING_INFO for OAEP.
                    let (alg, label, label_len) = unsafe {
                        (
                            addr_of!((*oaep).pszAlgId).read_unaligned(),
                            addr_of!((*oaep).pbLabel).read_unaligned(),
                            addr_of!((*oaep).cbLabel).read_unaligned(),
                        )
                    };
                    // SAFETY: NUL-terminated UTF-16 or NULL.
                    let hash =
                        unsafe { cng_hash(alg) }?.ok_or(MdError::InvalidParameter("OAEP without a hash"))?;
                    if hash == HashAlg::Md5Sha1 {
                        return Err(MdError::InvalidParameter("OAEP with MD5+SHA-1"));
                    }
                    if label_len > MAX_KDF_PARAM || (label.is_null() && label_len != 0) {
                        return Err(MdError::InvalidParameter("OAEP label"));
                    }
                    // SAFETY: `label` is NULL or readable for `label_len` bytes.
                    let label = unsafe { bytes(label, label_len) }.unwrap_or_default().to_vec();
                    DecryptPadding::Oaep { hash, label }
                }
                _ => return Err(MdError::InvalidParameter("dwPaddingType")),
            }
        } else {
            DecryptPadding::None
        };
        // SAFETY: `data` is non-null and readable for `data_len` bytes (bounded above).
        let ciphertext = Zeroizing::new(unsafe { bytes(data, data_len) }.unwrap_or_default().to_vec());
        let csp_unpads = entry.callbacks.unpad.is_some();
        let result =
            entry.with_context(|ctx| ctx.rsa_decrypt(index, key_spec, &ciphertext, &padding, csp_unpads))?;
        match result {
            Decrypted::Data(plain) => {
                // SAFETY: `plain` is at most the modulus length, which equals `data_len`; `data` is writable.
                unsafe {
                    std::ptr::copy_nonoverlapping(plain.as_ptr(), data, plain.len());
                    addr_of_mut!((*info).cbData).write_unaligned(plain.len() as u32);
                }
                Ok(())
            }
            Decrypted::ForCspUnpad(raw) => {
                // SAFETY: as above; the raw block is exactly the modulus length.
                unsafe { std::ptr::copy_nonoverlapping(raw.as_ptr(), data, raw.len()) };
                // SAFETY: the CSP's callback on its own structure, which now holds the raw block.
                let unpadded = unsafe { csp_unpad(&entry, info, data, data_len) };
                if unpadded.is_err() {
                    // The raw block is padded plaintext: put the caller's ciphertext back instead.
                    // SAFETY: `data` is writable for `data_len` bytes, the ciphertext's length.
                    unsafe { std::ptr::copy_nonoverlapping(ciphertext.as_ptr(), data, ciphertext.len()) };
                }
                unpadded
            }
        }
    })
}

/// Hands the raw block to `pfnCspUnpadData` and copies its result back into `pbData`.
///
/// # Safety
/// `info` and `data` are the caller's structure and buffer (`data_len` writable bytes).
unsafe fn csp_unpad(
    entry: &Entry,
    info: *mut CARD_RSA_DECRYPT_INFO,
    data: *mut u8,
    data_len: u32,
) -> Result<()> {
    let Some(unpad) = entry.callbacks.unpad else {
        return Err(MdError::Unexpected("unpad callback vanished".into()));
    };
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut out_len: u32 = 0;
    // SAFETY: calling the CSP's callback with its own structure and our out-parameters.
    let rc = unsafe { unpad(info, &mut out_len, &mut out) };
    let result = if rc != 0 {
        // A failing callback may still have handed out a buffer (holding plaintext): wiped and freed
        // below like any other.
        Err(MdError::Callback(rc))
    } else if out.is_null() || out_len > data_len {
        Err(MdError::Unexpected(
            "unpad callback returned an impossible buffer".into(),
        ))
    } else {
        // SAFETY: `out` holds `out_len` bytes from the CSP; `data` has room for `data_len >= out_len`.
        unsafe {
            std::ptr::copy_nonoverlapping(out, data, out_len as usize);
            addr_of_mut!((*info).cbData).write_unaligned(out_len);
        }
        Ok(())
    };
    if !out.is_null() {
        // SAFETY: the buffer is the CSP's, `out_len` bytes long by its word; no unpadded message is
        // longer than the block, so at most `data_len` bytes can hold plaintext, and no more are written.
        unsafe { std::ptr::write_bytes(out, 0, out_len.min(data_len) as usize) };
    }
    free(entry.callbacks.free, out);
    result
}

pub(crate) unsafe extern "system" fn card_construct_dh_agreement(
    cd: *const CARD_DATA,
    info: *mut CARD_DH_AGREEMENT_INFO,
) -> u32 {
    guard("CardConstructDHAgreement", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if info.is_null() {
            return Err(MdError::InvalidParameter("pAgreementInfo is NULL"));
        }
        // SAFETY: the caller's CARD_DH_AGREEMENT_INFO.
        let (version, index, flags, key_len, key) = unsafe {
            (
                read_version(info.cast()),
                addr_of!((*info).bContainerIndex).read_unaligned(),
                addr_of!((*info).dwFlags).read_unaligned(),
                addr_of!((*info).dwPublicKey).read_unaligned(),
                addr_of!((*info).pbPublicKey).read_unaligned(),
            )
        };
        if version != 2 {
            return Err(MdError::RevisionMismatch(
                "CARD_DH_AGREEMENT_INFO must be version 2",
            ));
        }
        if flags != 0 {
            return Err(MdError::InvalidParameter("dwFlags"));
        }
        if key.is_null() || key_len == 0 || key_len > MAX_CRYPTO_INPUT {
            return Err(MdError::InvalidParameter("public key"));
        }
        // SAFETY: `key` is readable for `key_len` bytes (bounded above).
        let blob = unsafe { bytes(key, key_len) }.unwrap_or_default();
        let agreement = entry.with_context(|ctx| ctx.construct_agreement(index, blob))?;
        // SAFETY: the caller's writable structure.
        unsafe { addr_of_mut!((*info).bSecretAgreementIndex).write_unaligned(agreement) };
        Ok(())
    })
}

pub(crate) unsafe extern "system" fn card_destroy_dh_agreement(
    cd: *const CARD_DATA,
    index: u8,
    flags: u32,
) -> u32 {
    guard("CardDestroyDHAgreement", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if flags != 0 {
            return Err(MdError::InvalidParameter("dwFlags"));
        }
        entry.with_context(|ctx| ctx.destroy_agreement(index))
    })
}

pub(crate) unsafe extern "system" fn card_derive_key(
    cd: *const CARD_DATA,
    info: *mut CARD_DERIVE_KEY,
) -> u32 {
    guard("CardDeriveKey", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        if info.is_null() {
            return Err(MdError::InvalidParameter("pAgreementInfo is NULL"));
        }
        // SAFETY: the caller's CARD_DERIVE_KEY, at least its version-1 part.
        let (version, flags, kdf, index, list, out, out_len) = unsafe {
            (
                read_version(info.cast()),
                addr_of!((*info).dwFlags).read_unaligned(),
                addr_of!((*info).pwszKDF).read_unaligned(),
                addr_of!((*info).bSecretAgreementIndex).read_unaligned(),
                addr_of!((*info).pParameterList).read_unaligned(),
                addr_of!((*info).pbDerivedKey).read_unaligned(),
                addr_of!((*info).cbDerivedKey).read_unaligned(),
            )
        };
        if version == 0 || version > 2 {
            return Err(MdError::RevisionMismatch("CARD_DERIVE_KEY version"));
        }
        if flags & !(KDF_USE_SECRET_AS_HMAC_KEY_FLAG | CARD_RETURN_KEY_HANDLE | CARD_BUFFER_SIZE_ONLY) != 0 {
            return Err(MdError::InvalidParameter("dwFlags"));
        }
        if flags & CARD_RETURN_KEY_HANDLE != 0 {
            return Err(if version < 2 {
                MdError::InvalidParameter("CARD_RETURN_KEY_HANDLE needs version 2")
            } else {
                MdError::Unsupported("symmetric key handles (secure key injection)")
            });
        }
        // SAFETY: NUL-terminated UTF-16 or NULL (which `wide` refuses).
        let kdf = unsafe { wide(kdf) }?;
        let key_len_bits = if version == 2 {
            // SAFETY: version 2, so the member exists.
            unsafe { addr_of!((*info).dwKeyLen).read_unaligned() }
        } else {
            0
        };
        // SAFETY: `list` is NULL or the caller's BCryptBufferDesc.
        let (params, handle) = unsafe { parameter_list(list.cast()) }?;
        let agreement = match handle {
            Some(h) => get_dh_agreement(cd, h)?,
            None => index,
        };
        let size_only = flags & CARD_BUFFER_SIZE_ONLY != 0;
        let requested_len = match (key_len_bits, kdf.as_str()) {
            (bits, _) if bits > 0 => Some(bits.div_ceil(8) as usize),
            (_, "SP800_56A_CONCAT") if !out.is_null() && out_len > 0 => Some(out_len as usize),
            _ => None,
        };
        let request = DeriveRequest {
            agreement,
            kdf: &kdf,
            secret_as_hmac_key: flags & KDF_USE_SECRET_AS_HMAC_KEY_FLAG != 0,
            params,
            requested_len,
        };
        let key = entry.with_context(|ctx| ctx.derive_key(&request, size_only))?;
        let len = key.len() as u32;
        if size_only {
            // SAFETY: the caller's writable structure.
            unsafe { addr_of_mut!((*info).cbDerivedKey).write_unaligned(len) };
            return Ok(());
        }
        if out.is_null() {
            // The caller did not allocate: the module does, with the CSP's allocator (as OpenSC does).
            let p = entry.alloc_copy(&key)?;
            // SAFETY: as above.
            unsafe {
                addr_of_mut!((*info).pbDerivedKey).write_unaligned(p);
                addr_of_mut!((*info).cbDerivedKey).write_unaligned(len);
            }
            return Ok(());
        }
        if out_len < len {
            // SAFETY: as above.
            unsafe { addr_of_mut!((*info).cbDerivedKey).write_unaligned(len) };
            return Err(MdError::InsufficientBuffer("pbDerivedKey"));
        }
        // SAFETY: the caller's buffer holds `out_len >= len` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(key.as_ptr(), out, key.len());
            addr_of_mut!((*info).cbDerivedKey).write_unaligned(len);
        }
        Ok(())
    })
}

/// KDF parameters as `(type, bytes)`, and the NCrypt secret handle when one was given.
type KdfParameters<'a> = (Vec<(u32, &'a [u8])>, Option<usize>);

/// The KDF parameters as `(type, bytes)`, and the NCrypt secret handle when one is given.
///
/// # Safety
/// `list` is NULL or a valid `BCryptBufferDesc` whose buffers are readable for their sizes.
unsafe fn parameter_list<'a>(list: *const BCryptBufferDesc) -> Result<KdfParameters<'a>> {
    if list.is_null() {
        return Ok((Vec::new(), None));
    }
    // SAFETY: guaranteed by the caller.
    let (version, count, buffers) = unsafe {
        (
            addr_of!((*list).ulVersion).read_unaligned(),
            addr_of!((*list).cBuffers).read_unaligned(),
            addr_of!((*list).pBuffers).read_unaligned(),
        )
    };
    if version != 0 || count > MAX_KDF_PARAMS || (count > 0 && buffers.is_null()) {
        return Err(MdError::InvalidParameter("parameter list"));
    }
    let mut params = Vec::with_capacity(count as usize);
    let mut handle = None;
    for i in 0..count as usize {
        // SAFETY: `buffers` has `count` elements.
        let b: *const BCryptBuffer = unsafe { buffers.add(i) };
        // SAFETY: as above.
        let (len, kind, value) = unsafe {
            (
                addr_of!((*b).cbBuffer).read_unaligned(),
                addr_of!((*b).BufferType).read_unaligned(),
                addr_of!((*b).pvBuffer).read_unaligned(),
            )
        };
        if len > MAX_KDF_PARAM || (value.is_null() && len != 0) {
            return Err(MdError::InvalidParameter("parameter buffer"));
        }
        if kind == param::SECRET_HANDLE {
            if len as usize != size_of::<usize>() || handle.is_some() {
                return Err(MdError::InvalidParameter("secret handle parameter"));
            }
            // SAFETY: the buffer holds one pointer-sized handle.
            handle = Some(unsafe { (value as *const usize).read_unaligned() });
            continue;
        }
        // SAFETY: `value` is readable for `len` bytes.
        params.push((
            kind,
            unsafe { bytes(value as *const u8, len) }.unwrap_or_default(),
        ));
    }
    Ok((params, handle))
}

/// Resolves an NCrypt secret handle to this module's agreement index through `pfnCspGetDHAgreement`.
fn get_dh_agreement(cd: *const CARD_DATA, handle: usize) -> Result<u8> {
    // SAFETY: `cd` was validated by `Entry::enter`; member 43 exists from version 5, and CardDeriveKey is
    // only in the table from version 5.
    let callback = unsafe { addr_of!((*cd).pfnCspGetDHAgreement).read() };
    let Some(callback) = callback else {
        return Err(MdError::InvalidParameter(
            "secret handle without pfnCspGetDHAgreement",
        ));
    };
    let mut index = 0u8;
    // SAFETY: calling the KSP's callback with its own CARD_DATA and handle.
    let rc = unsafe { callback(cd, handle as *const c_void, &mut index, 0) };
    if rc != 0 {
        return Err(MdError::InvalidParameter(
            "the secret handle is not an on-card agreement",
        ));
    }
    Ok(index)
}
