//! Compile-time checks that the `windows-sys` structures have the layout the interface defines
//! (Smart Card Minidriver Specification 7.07 §4.1.1 and cardmod.h), on every target this crate is built
//! for, and that the windows-sys constants the module uses have cardmod.h's values. The module takes
//! every such fact from windows-sys; the numbers written here are the check, not a second source.

use std::mem::{offset_of, size_of};

use windows_sys::Win32::Security::Cryptography::{
    CARD_CAPABILITIES, CARD_DATA, CARD_DERIVE_KEY, CARD_DH_AGREEMENT_INFO, CARD_FILE_INFO,
    CARD_FREE_SPACE_INFO, CARD_KEY_SIZES, CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO, CONTAINER_INFO,
    CONTAINER_MAP_RECORD, PIN_INFO,
};

const PTR: usize = size_of::<usize>();

/// Size of `CARD_DATA` for each interface version: 41, 44, 52 and 63 members (the members cardmod.h adds
/// in versions 5, 6 and 7).
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

/// cardmod.h's values (the v7 header, Microsoft's Cryptographic Provider Development Kit), as written there.
const _: () = {
    use windows_sys::Win32::Security::Cryptography as c;
    assert!(c::SCARD_PROVIDER_CARD_MODULE == 0x8000_0001);
    assert!(c::CARD_DATA_VERSION_FOUR == 4 && c::CARD_DATA_CURRENT_VERSION == 7);
    assert!(c::AT_KEYEXCHANGE == 1 && c::AT_SIGNATURE == 2);
    assert!(c::AT_ECDSA_P256 == 3 && c::AT_ECDSA_P384 == 4 && c::AT_ECDSA_P521 == 5);
    assert!(c::AT_ECDHE_P256 == 6 && c::AT_ECDHE_P384 == 7 && c::AT_ECDHE_P521 == 8);
    assert!(c::CONTAINER_MAP_VALID_CONTAINER == 1 && c::CONTAINER_MAP_DEFAULT_CONTAINER == 2);
    assert!(c::EveryoneReadUserWriteAc == 1 && c::EveryoneReadAdminWriteAc == 3);
    assert!(c::MAX_PINS == 8 && c::PIN_SET_ALL_ROLES == 0xFF);
    assert!(c::ROLE_EVERYONE == 0 && c::ROLE_USER == 1 && c::ROLE_ADMIN == 2);
    // ROLE_PIN_ALWAYS and ROLE_PUK are not in this cardmod.h; windows-sys has them from the newer SDK's.
    assert!(c::ROLE_PIN_ALWAYS == 3 && c::ROLE_PUK == 4);
    assert!(c::PIN_CHANGE_FLAG_UNBLOCK == 1 && c::PIN_CHANGE_FLAG_CHANGEPIN == 2);
    assert!(c::CP_CACHE_MODE_GLOBAL_CACHE == 1 && c::CP_CACHE_MODE_SESSION_ONLY == 2);
    assert!(c::CP_CACHE_MODE_NO_CACHE == 3);
    assert!(c::CARD_AUTHENTICATE_GENERATE_SESSION_PIN == 0x1000_0000);
    assert!(c::CARD_AUTHENTICATE_SESSION_PIN == 0x2000_0000);
    assert!(c::CARD_PIN_STRENGTH_PLAINTEXT == 1 && c::CARD_PIN_SILENT_CONTEXT == 0x40);
    assert!(c::AlphaNumericPinType == 0 && c::ChallengeResponsePinType == 2 && c::EmptyPinType == 3);
    assert!(c::AuthenticationPin == 0 && c::DigitalSignaturePin == 1 && c::AdministratorPin == 4);
    assert!(c::PrimaryCardPin == 5 && c::UnblockOnlyPin == 6);
    assert!(c::PinCacheNormal == 0 && c::PinCacheNone == 2 && c::PinCacheAlwaysPrompt == 3);
    assert!(c::PIN_CACHE_POLICY_CURRENT_VERSION == 6 && c::PIN_INFO_CURRENT_VERSION == 6);
    assert!(c::CARD_CREATE_CONTAINER_KEY_GEN == 1 && c::CARD_CREATE_CONTAINER_KEY_IMPORT == 2);
    assert!(c::CARD_CAPABILITIES_CURRENT_VERSION == 1 && c::CONTAINER_INFO_CURRENT_VERSION == 1);
    assert!(c::CARD_FILE_INFO_CURRENT_VERSION == 1 && c::CARD_FREE_SPACE_INFO_CURRENT_VERSION == 1);
    assert!(c::CARD_KEY_SIZES_CURRENT_VERSION == 1);
    assert!(c::CARD_RSA_KEY_DECRYPT_INFO_VERSION_TWO == 2 && c::CARD_SIGNING_INFO_CURRENT_VERSION == 2);
    assert!(c::CARD_PADDING_INFO_PRESENT == 0x4000_0000 && c::CARD_BUFFER_SIZE_ONLY == 0x2000_0000);
    assert!(c::CARD_PADDING_NONE == 1 && c::CARD_PADDING_PKCS1 == 2);
    assert!(c::CARD_PADDING_PSS == 4 && c::CARD_PADDING_OAEP == 8);
    assert!(c::CARD_DH_AGREEMENT_INFO_VERSION == 2 && c::CARD_RETURN_KEY_HANDLE == 0x100_0000);
    assert!(c::CARD_DERIVE_KEY_VERSION == 1 && c::CARD_DERIVE_KEY_VERSION_TWO == 2);
    assert!(c::CARD_SECURE_KEY_INJECTION_NO_CARD_MODE == 1);
    assert!(c::CARD_CIPHER_OPERATION == 1 && c::CARD_ASYMMETRIC_OPERATION == 2);
};
