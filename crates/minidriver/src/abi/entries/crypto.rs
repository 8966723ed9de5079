//! Cryptographic entry points (Smart Card Minidriver Specification 7.07 §4.7). Each reads the caller's
//! structure once ([`marshal`]), has the safe layer decode and run it, and writes the result back.

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA, CARD_DERIVE_KEY, CARD_DH_AGREEMENT_INFO, CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO,
};
use zeroize::Zeroizing;

use crate::abi::boundary::guard;
use crate::abi::caller::{CallerStruct, copy_to};
use crate::abi::card_data::Entry;
use crate::abi::csp_buf::CspBuf;
use crate::abi::marshal::{self, derive_key_extent, rsa_decrypt_info_extent, signing_info_extent, whole};
use crate::agreement::{AgreementRequest, DeriveRequest, DerivedKeyOutput};
use crate::decryption::{DecryptRequest, Decrypted};
use crate::error::{MdError, Result};
use crate::input::no_flags;
use crate::signing::{SignRequest, Signed};

pub(crate) unsafe extern "system" fn card_sign_data(
    cd: *const CARD_DATA,
    info: *mut CARD_SIGNING_INFO,
) -> u32 {
    guard("CardSignData", || {
        // SAFETY: pointer contracts of the interface (for each pointer below too).
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: `info` is NULL or the caller's CARD_SIGNING_INFO, as long as its version says.
        let info = unsafe { CallerStruct::versioned(info, "pInfo is NULL", signing_info_extent) }?;
        // SAFETY: the copy's pointers are the caller's, valid as its members say.
        let request = SignRequest::decode(unsafe { marshal::signing_info(&info.read()) })?;
        deliver_signature(&entry, &info, entry.with_context(|ctx| ctx.sign(&request))?)
    })
}

/// `CardSignData`'s result: the size only, or the signature in a CSP buffer that becomes the caller's.
fn deliver_signature(entry: &Entry, info: &CallerStruct<CARD_SIGNING_INFO>, signed: Signed) -> Result<()> {
    match signed {
        Signed::Size(n) => info.set(|s| &mut s.cbSignedData, n as u32),
        Signed::Signature(sig) => {
            let (p, len) = entry.csp_copy(&sig)?.hand_over();
            info.set(|s| &mut s.cbSignedData, len)?;
            info.set(|s| &mut s.pbSignedData, p)
        }
    }
}

pub(crate) unsafe extern "system" fn card_rsa_decrypt(
    cd: *const CARD_DATA,
    info: *mut CARD_RSA_DECRYPT_INFO,
) -> u32 {
    guard("CardRSADecrypt", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: `info` is NULL or the caller's CARD_RSA_DECRYPT_INFO, as long as its version says.
        let info = unsafe { CallerStruct::versioned(info, "pInfo is NULL", rsa_decrypt_info_extent) }?;
        let fields = info.read();
        // SAFETY: the copy's pointers are the caller's, valid as its members say.
        let request = DecryptRequest::decode(
            unsafe { marshal::rsa_decrypt_info(&fields) },
            entry.interface_version(),
        )?;
        let decrypted = entry.with_context(|ctx| ctx.rsa_decrypt(&request, entry.csp_unpads()))?;
        // SAFETY: `pbData` holds the ciphertext's length, which the result never exceeds.
        unsafe { deliver_decrypted(&entry, &info, fields.pbData, &request.ciphertext, decrypted) }
    })
}

/// Writes the result of `CardRSADecrypt` into `pbData`: the plaintext, or the raw block for the CSP's
/// `pfnCspUnpadData`, whose output then replaces it. When the callback fails the caller's ciphertext is
/// put back: the raw block is padded plaintext.
///
/// # Safety
/// `data` is the caller's `pbData`, writable for `ciphertext.len()` bytes.
unsafe fn deliver_decrypted(
    entry: &Entry,
    info: &CallerStruct<CARD_RSA_DECRYPT_INFO>,
    data: *mut u8,
    ciphertext: &[u8],
    decrypted: Decrypted,
) -> Result<()> {
    let (Decrypted::Data(block) | Decrypted::ForCspUnpad(block)) = &decrypted;
    if block.len() > ciphertext.len() {
        return Err(MdError::Unexpected("a result longer than the ciphertext".into()));
    }
    // SAFETY: `data` holds `ciphertext.len()` bytes.
    unsafe { copy_to(data, block) };
    if let Decrypted::Data(plain) = &decrypted {
        return info.set(|s| &mut s.cbData, plain.len() as u32);
    }
    // SAFETY: the CSP's callback on its own structure, which now holds the raw block.
    let unpadded = unsafe { csp_unpad(entry, info, ciphertext.len()) };
    let result = unpadded.and_then(|plain| {
        // SAFETY: as above; `csp_unpad` bounds the plaintext by the block's length.
        unsafe { copy_to(data, plain.as_slice()) };
        info.set(|s| &mut s.cbData, plain.as_slice().len() as u32)
    });
    if result.is_err() {
        // SAFETY: as above.
        unsafe { copy_to(data, ciphertext) };
    }
    result
}

/// The CSP's `pfnCspUnpadData` on the caller's structure: its plaintext, at most `block_len` bytes, in a
/// buffer wiped and freed when dropped (a failing callback's buffer too: it may hold plaintext).
///
/// # Safety
/// `info` is the caller's structure, `pbData` holding the raw block of `block_len` bytes.
unsafe fn csp_unpad(
    entry: &Entry,
    info: &CallerStruct<CARD_RSA_DECRYPT_INFO>,
    block_len: usize,
) -> Result<CspBuf> {
    let unpad = entry
        .callbacks
        .unpad
        .ok_or(MdError::Unexpected("unpad callback vanished".into()))?;
    let (mut out, mut out_len) = (std::ptr::null_mut(), 0u32);
    // SAFETY: the CSP's callback with its own structure and out-parameters of ours.
    let rc = unsafe { unpad(info.as_ptr(), &mut out_len, &mut out) };
    // No unpadded message is longer than the block: at most that many bytes can hold plaintext, and the
    // buffer is wiped that far.
    let len = out_len.min(block_len as u32);
    // SAFETY: `out` is NULL or the CSP's buffer of `out_len` bytes, which the module frees.
    let buffer = unsafe { CspBuf::adopt_secret(out, len, entry.callbacks.free) };
    if rc != 0 {
        return Err(MdError::Callback(rc));
    }
    match buffer {
        Some(buffer) if out_len as usize <= block_len => Ok(buffer),
        _ => Err(MdError::Unexpected(
            "unpad callback returned an impossible buffer".into(),
        )),
    }
}

pub(crate) unsafe extern "system" fn card_construct_dh_agreement(
    cd: *const CARD_DATA,
    info: *mut CARD_DH_AGREEMENT_INFO,
) -> u32 {
    guard("CardConstructDHAgreement", || {
        // SAFETY: pointer contracts of the interface.
        let entry = unsafe { Entry::enter(cd) }?;
        // SAFETY: `info` is NULL or the caller's CARD_DH_AGREEMENT_INFO (it has one version).
        let info = unsafe {
            CallerStruct::versioned(info, "pAgreementInfo is NULL", whole::<CARD_DH_AGREEMENT_INFO>)
        }?;
        // SAFETY: the copy's pointers are the caller's, valid as its members say.
        let request = AgreementRequest::decode(unsafe { marshal::dh_agreement_info(&info.read()) })?;
        let agreement = entry.with_context(|ctx| ctx.construct_agreement(&request))?;
        info.set(|s| &mut s.bSecretAgreementIndex, agreement)
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
        no_flags(flags)?;
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
        // SAFETY: `info` is NULL or the caller's CARD_DERIVE_KEY, as long as its version says.
        let info = unsafe { CallerStruct::versioned(info, "pAgreementInfo is NULL", derive_key_extent) }?;
        let fields = info.read();
        // SAFETY: the copy's pointers are the caller's, valid as its members say.
        let request = DeriveRequest::decode(unsafe { marshal::derive_key_info(&fields) })?;
        let agreement = entry.agreement_index(request.agreement)?;
        let key = entry.with_context(|ctx| ctx.derive_key(&request, agreement))?;
        // SAFETY: `pbDerivedKey` is NULL or holds `cbDerivedKey` bytes.
        unsafe { deliver_derived_key(&entry, &info, fields.pbDerivedKey, request.output, key) }
    })
}

/// Where `CardDeriveKey`'s result goes: its length only, a CSP buffer the module allocates, or the
/// caller's buffer (`SCARD_E_INSUFFICIENT_BUFFER`, with the length needed, when it is too short).
///
/// # Safety
/// `out` is the caller's `pbDerivedKey`, writable for the length `output` gives.
unsafe fn deliver_derived_key(
    entry: &Entry,
    info: &CallerStruct<CARD_DERIVE_KEY>,
    out: *mut u8,
    output: DerivedKeyOutput,
    key: Zeroizing<Vec<u8>>,
) -> Result<()> {
    let len = key.len() as u32;
    match output {
        DerivedKeyOutput::SizeOnly => info.set(|s| &mut s.cbDerivedKey, len),
        DerivedKeyOutput::Allocate => {
            let buffer = entry.secret_csp_copy(&key)?;
            info.set(|s| &mut s.cbDerivedKey, len)?;
            info.set(|s| &mut s.pbDerivedKey, buffer.hand_over().0)
        }
        DerivedKeyOutput::CallerBuffer { len: room } => {
            info.set(|s| &mut s.cbDerivedKey, len)?;
            if room < len {
                return Err(MdError::InsufficientBuffer("pbDerivedKey"));
            }
            // SAFETY: the caller's buffer holds `room >= len` bytes.
            unsafe { copy_to(out, &key) };
            Ok(())
        }
    }
}
