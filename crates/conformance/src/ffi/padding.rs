//! The CSP's padding callbacks (`pfnCspPadData`, v7 `pfnCspUnpadData`) and the KSP's
//! `pfnCspGetDHAgreement`.
//!
//! Status: these are stubs that record the call and answer `SCARD_E_UNSUPPORTED_FEATURE`. The card-module
//! functions of issue 4 never need them; issue 5's suites (signing, decryption, key derivation) replace
//! them with real PKCS#1 v1.5/OAEP unpadding of the little-endian raw block and the agreement lookup. A
//! module that pads and unpads itself (as Tessera does) is unaffected.

use std::sync::atomic::{AtomicU64, Ordering};

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA, CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO, PFN_CSP_GET_DH_AGREEMENT, PFN_CSP_PAD_DATA,
    PFN_CSP_UNPAD_DATA,
};

use crate::codes::SCARD_E_UNSUPPORTED_FEATURE;

static PAD_CALLS: AtomicU64 = AtomicU64::new(0);
static UNPAD_CALLS: AtomicU64 = AtomicU64::new(0);
static DH_CALLS: AtomicU64 = AtomicU64::new(0);

/// The three callbacks.
pub fn callbacks() -> (PFN_CSP_PAD_DATA, PFN_CSP_UNPAD_DATA, PFN_CSP_GET_DH_AGREEMENT) {
    (Some(pad_data), Some(unpad_data), Some(get_dh_agreement))
}

/// How often each callback was called: (pad, unpad, get DH agreement).
pub fn calls() -> (u64, u64, u64) {
    (
        PAD_CALLS.load(Ordering::SeqCst),
        UNPAD_CALLS.load(Ordering::SeqCst),
        DH_CALLS.load(Ordering::SeqCst),
    )
}

unsafe extern "system" fn pad_data(
    _info: *const CARD_SIGNING_INFO,
    _max_width: u32,
    _len_out: *mut u32,
    _data_out: *mut *mut u8,
) -> u32 {
    PAD_CALLS.fetch_add(1, Ordering::SeqCst);
    SCARD_E_UNSUPPORTED_FEATURE
}

unsafe extern "system" fn unpad_data(
    _info: *const CARD_RSA_DECRYPT_INFO,
    _len_out: *mut u32,
    _data_out: *mut *mut u8,
) -> u32 {
    UNPAD_CALLS.fetch_add(1, Ordering::SeqCst);
    SCARD_E_UNSUPPORTED_FEATURE
}

unsafe extern "system" fn get_dh_agreement(
    _cd: *const CARD_DATA,
    _secret: *const core::ffi::c_void,
    _index_out: *mut u8,
    _flags: u32,
) -> u32 {
    DH_CALLS.fetch_add(1, Ordering::SeqCst);
    SCARD_E_UNSUPPORTED_FEATURE
}
