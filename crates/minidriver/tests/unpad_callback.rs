//! `CardRSADecrypt` through the CSP's `pfnCspUnpadData`: whatever buffer the callback hands back holds
//! plaintext, so the module wipes it and frees it with `pfnCspFree`, also when the callback reports a
//! failure.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use tessera_piv::{AlgorithmId, KeyRef, PinPolicy};
use windows_sys::Win32::Security::Cryptography::{CARD_PADDING_PKCS1, CARD_RSA_DECRYPT_INFO};

use common::{Context, OUTSTANDING, TestCard};

/// `NTE_BAD_DATA`, what a CSP's unpad answers for a bad padding.
const NTE_BAD_DATA: u32 = 0x8009_0005;
const MODULUS_LEN: usize = 128;

/// The block the unpad callback handed out, and whether it was all zeros when the module freed it.
static HANDED_OUT: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static FREED: AtomicBool = AtomicBool::new(false);
static WIPED: AtomicBool = AtomicBool::new(false);

/// Copies the raw block into a buffer of its own (as a CSP that unpads into a new allocation does),
/// hands it back, and then reports a bad padding.
unsafe extern "system" fn unpad_then_fail(
    info: *const CARD_RSA_DECRYPT_INFO,
    out_len: *mut u32,
    out: *mut *mut u8,
) -> u32 {
    // SAFETY: the module passes the caller's structure, a whole CARD_RSA_DECRYPT_INFO.
    let info = unsafe { info.read_unaligned() };
    // SAFETY: its pbData holds the raw block of cbData bytes.
    let raw = unsafe { std::slice::from_raw_parts(info.pbData, info.cbData as usize) };
    // SAFETY: the test CSP's allocator.
    let p = unsafe { common::csp_alloc(raw.len()) } as *mut u8;
    // SAFETY: `p` is a fresh block of `raw.len()` bytes, distinct from `raw`.
    unsafe { std::ptr::copy_nonoverlapping(raw.as_ptr(), p, raw.len()) };
    HANDED_OUT.store(p, Ordering::SeqCst);
    // SAFETY: the module's out-parameters are writable.
    unsafe { *out = p };
    // SAFETY: as above.
    unsafe { *out_len = raw.len() as u32 };
    NTE_BAD_DATA
}

/// `pfnCspFree` that notes what state the handed-out block is in when it comes back.
unsafe extern "system" fn checking_free(p: *const c_void) {
    if !p.is_null() && p as *mut u8 == HANDED_OUT.load(Ordering::SeqCst) {
        // SAFETY: the block the callback allocated, MODULUS_LEN bytes.
        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, MODULUS_LEN) };
        WIPED.store(bytes.iter().all(|&b| b == 0), Ordering::SeqCst);
        FREED.store(true, Ordering::SeqCst);
    }
    // SAFETY: every block of this CARD_DATA comes from common::csp_alloc.
    unsafe { common::csp_free(p) };
}

#[test]
fn a_buffer_from_a_failing_unpad_callback_is_wiped_and_freed() {
    let card = TestCard::new(31);
    card.generate(KeyRef::AUTHENTICATION, AlgorithmId::RSA1024, PinPolicy::Once);
    let mut ctx = Context::acquire(&card.card, 7);
    ctx.cd.pfnCspUnpadData = Some(unpad_then_fail);
    ctx.cd.pfnCspFree = Some(checking_free);
    ctx.login();
    // Any value below the modulus decrypts; little-endian 2.
    let mut data = vec![0u8; MODULUS_LEN];
    data[0] = 2;
    let mut info = CARD_RSA_DECRYPT_INFO {
        dwVersion: 2,
        bContainerIndex: 0,
        dwKeySpec: 1, // AT_KEYEXCHANGE
        pbData: data.as_mut_ptr(),
        cbData: MODULUS_LEN as u32,
        pPaddingInfo: std::ptr::null_mut(),
        dwPaddingType: CARD_PADDING_PKCS1,
    };
    let outstanding = OUTSTANDING.load(Ordering::SeqCst);
    // SAFETY: valid arguments; the structure and its buffer outlive the call.
    let rc = unsafe { ctx.cd.pfnCardRSADecrypt.unwrap()(&*ctx.cd, &mut info) };
    assert_eq!(rc, NTE_BAD_DATA, "the callback's code is passed through");
    assert!(!HANDED_OUT.load(Ordering::SeqCst).is_null(), "the callback ran");
    assert!(
        FREED.load(Ordering::SeqCst),
        "the callback's buffer was not freed"
    );
    assert!(
        WIPED.load(Ordering::SeqCst),
        "the callback's buffer was freed with plaintext in it"
    );
    assert_eq!(
        OUTSTANDING.load(Ordering::SeqCst),
        outstanding,
        "CSP blocks outstanding"
    );
    assert_eq!(data[0], 2, "the caller's ciphertext is put back");
}
