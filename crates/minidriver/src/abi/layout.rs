//! Compile-time checks that the `windows-sys` structures have the layout the interface defines
//! (digest §2.3 and §5), on every target this crate is built for.

use std::mem::{offset_of, size_of};

use windows_sys::Win32::Security::Cryptography::{
    CARD_CAPABILITIES, CARD_DATA, CARD_DERIVE_KEY, CARD_DH_AGREEMENT_INFO, CARD_FILE_INFO,
    CARD_FREE_SPACE_INFO, CARD_KEY_SIZES, CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO, CONTAINER_INFO,
    CONTAINER_MAP_RECORD, PIN_INFO,
};

const PTR: usize = size_of::<usize>();

/// Size of `CARD_DATA` for each interface version (digest §2.3): 41, 44, 52 and 63 members.
pub(crate) const fn card_data_size(version: u32) -> usize {
    let members = match version {
        4 => 41,
        5 => 44,
        6 => 52,
        _ => 63,
    };
    // dwVersion and cbAtr are DWORDs padded to pointer size on x64; everything else is pointer-sized.
    members * PTR
}

const _: () = {
    assert!(size_of::<CARD_DATA>() == card_data_size(7));
    assert!(offset_of!(CARD_DATA, pbAtr) == PTR);
    assert!(offset_of!(CARD_DATA, hScard) == 13 * PTR);
    assert!(offset_of!(CARD_DATA, pvVendorSpecific) == 14 * PTR);
    assert!(offset_of!(CARD_DATA, pfnCardDeleteContext) == 15 * PTR);
    assert!(offset_of!(CARD_DATA, pfnCardSignData) == 38 * PTR);
    assert!(offset_of!(CARD_DATA, pfnCardDeriveKey) == card_data_size(4));
    assert!(offset_of!(CARD_DATA, pfnCspGetDHAgreement) == 43 * PTR);
    assert!(offset_of!(CARD_DATA, pfnCardGetChallengeEx) == card_data_size(5));
    assert!(offset_of!(CARD_DATA, pfnCspUnpadData) == card_data_size(6));
    assert!(offset_of!(CARD_DATA, pfnCardCreateContainerEx) == 62 * PTR);
    assert!(size_of::<CARD_CAPABILITIES>() == 12);
    assert!(size_of::<CARD_FILE_INFO>() == 12);
    assert!(size_of::<CARD_FREE_SPACE_INFO>() == 16);
    assert!(size_of::<CARD_KEY_SIZES>() == 20);
    assert!(size_of::<PIN_INFO>() == 36);
    assert!(size_of::<CONTAINER_MAP_RECORD>() == 86);
    assert!(size_of::<CONTAINER_INFO>() == if PTR == 8 { 40 } else { 24 });
    assert!(size_of::<CARD_SIGNING_INFO>() == if PTR == 8 { 72 } else { 44 });
    assert!(size_of::<CARD_RSA_DECRYPT_INFO>() == if PTR == 8 { 48 } else { 28 });
    assert!(size_of::<CARD_DH_AGREEMENT_INFO>() == if PTR == 8 { 40 } else { 32 });
    assert!(size_of::<CARD_DERIVE_KEY>() == if PTR == 8 { 72 } else { 40 });
    assert!(offset_of!(CARD_SIGNING_INFO, pbData) == if PTR == 8 { 24 } else { 20 });
    assert!(offset_of!(CARD_RSA_DECRYPT_INFO, pPaddingInfo) == if PTR == 8 { 32 } else { 20 });
    assert!(offset_of!(CARD_DH_AGREEMENT_INFO, bSecretAgreementIndex) == if PTR == 8 { 36 } else { 28 });
    assert!(offset_of!(CARD_DERIVE_KEY, hKey) == if PTR == 8 { 64 } else { 36 });
};
