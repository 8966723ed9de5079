//! Entry points this module does not implement. Each checks `pCardData` (NULL → invalid parameter, as
//! every entry must) and answers `SCARD_E_UNSUPPORTED_FEATURE`; the README lists them.

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA, CARD_DIRECTORY_ACCESS_CONDITION, CARD_ENCRYPTED_DATA,
};
use windows_sys::core::{PCSTR, PCWSTR};

use crate::abi::boundary::guard;
use crate::abi::card_data::Entry;
use crate::error::MdError;

fn unsupported(entry_name: &'static str, cd: *const CARD_DATA, why: &'static str) -> u32 {
    guard(entry_name, || {
        // SAFETY: `cd` is NULL or the caller's CARD_DATA.
        unsafe { Entry::enter(cd) }?;
        Err(MdError::Unsupported(why))
    })
}

const NO_SKI: &str = "secure key injection is not supported";

pub(crate) unsafe extern "system" fn card_create_directory(
    cd: *const CARD_DATA,
    _d: PCSTR,
    _a: CARD_DIRECTORY_ACCESS_CONDITION,
) -> u32 {
    unsupported(
        "CardCreateDirectory",
        cd,
        "the PIV file system has a fixed layout",
    )
}
pub(crate) unsafe extern "system" fn card_delete_directory(cd: *const CARD_DATA, _d: PCSTR) -> u32 {
    unsupported(
        "CardDeleteDirectory",
        cd,
        "the PIV file system has a fixed layout",
    )
}
pub(crate) unsafe extern "system" fn md_import_session_key(
    cd: *const CARD_DATA,
    _b: PCWSTR,
    _a: PCWSTR,
    _k: *mut usize,
    _i: *const u8,
    _l: u32,
) -> u32 {
    unsupported("MDImportSessionKey", cd, NO_SKI)
}
pub(crate) unsafe extern "system" fn md_encrypt_data(
    cd: *const CARD_DATA,
    _k: usize,
    _s: PCWSTR,
    _i: *const u8,
    _l: u32,
    _f: u32,
    _o: *mut *mut CARD_ENCRYPTED_DATA,
    _c: *mut u32,
) -> u32 {
    unsupported("MDEncryptData", cd, NO_SKI)
}
pub(crate) unsafe extern "system" fn card_import_session_key(
    cd: *const CARD_DATA,
    _i: u8,
    _p: *const core::ffi::c_void,
    _b: PCWSTR,
    _a: PCWSTR,
    _k: *mut usize,
    _in: *const u8,
    _l: u32,
    _f: u32,
) -> u32 {
    unsupported("CardImportSessionKey", cd, NO_SKI)
}
pub(crate) unsafe extern "system" fn card_get_shared_key_handle(
    cd: *const CARD_DATA,
    _i: *const u8,
    _l: u32,
    _o: *mut *mut u8,
    _ol: *mut u32,
    _k: *mut usize,
) -> u32 {
    unsupported("CardGetSharedKeyHandle", cd, NO_SKI)
}
pub(crate) unsafe extern "system" fn card_get_algorithm_property(
    cd: *const CARD_DATA,
    _a: PCWSTR,
    _p: PCWSTR,
    _d: *mut u8,
    _c: u32,
    _l: *mut u32,
    _f: u32,
) -> u32 {
    unsupported("CardGetAlgorithmProperty", cd, NO_SKI)
}
pub(crate) unsafe extern "system" fn card_get_key_property(
    cd: *const CARD_DATA,
    _k: usize,
    _p: PCWSTR,
    _d: *mut u8,
    _c: u32,
    _l: *mut u32,
    _f: u32,
) -> u32 {
    unsupported("CardGetKeyProperty", cd, NO_SKI)
}
pub(crate) unsafe extern "system" fn card_set_key_property(
    cd: *const CARD_DATA,
    _k: usize,
    _p: PCWSTR,
    _i: *const u8,
    _l: u32,
    _f: u32,
) -> u32 {
    unsupported("CardSetKeyProperty", cd, NO_SKI)
}
pub(crate) unsafe extern "system" fn card_destroy_key(cd: *const CARD_DATA, _k: usize) -> u32 {
    unsupported("CardDestroyKey", cd, NO_SKI)
}
pub(crate) unsafe extern "system" fn card_process_encrypted_data(
    cd: *const CARD_DATA,
    _k: usize,
    _s: PCWSTR,
    _e: *const CARD_ENCRYPTED_DATA,
    _c: u32,
    _o: *mut u8,
    _ol: u32,
    _l: *mut u32,
    _f: u32,
) -> u32 {
    unsupported("CardProcessEncryptedData", cd, NO_SKI)
}
