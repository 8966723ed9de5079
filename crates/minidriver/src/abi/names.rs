//! The interface's names are windows-sys's UTF-16 literals of cardmod.h (`CP_*`, `CCP_*`,
//! `wszCARD_USER_*`). A caller's name is matched against them here, once; the safe layer sees what it
//! names ([`CardProperty`], [`ContainerProperty`], a role), never the string.

use windows_sys::Win32::Security::Cryptography::{
    CCP_ASSOCIATED_ECDH_KEY, CCP_CONTAINER_INFO, CCP_PIN_IDENTIFIER, CP_CARD_AUTHENTICATED_STATE,
    CP_CARD_CACHE_MODE, CP_CARD_CAPABILITIES, CP_CARD_FREE_SPACE, CP_CARD_GUID, CP_CARD_KEYSIZES,
    CP_CARD_LIST_PINS, CP_CARD_PIN_INFO, CP_CARD_PIN_STRENGTH_CHANGE, CP_CARD_PIN_STRENGTH_UNBLOCK,
    CP_CARD_PIN_STRENGTH_VERIFY, CP_CARD_READ_ONLY, CP_CARD_SERIAL_NO, CP_CHAINING_MODES, CP_ENUM_ALGORITHMS,
    CP_KEY_IMPORT_SUPPORT, CP_PADDING_SCHEMES, CP_PARENT_WINDOW, CP_PIN_CONTEXT_STRING,
    CP_SUPPORTS_WIN_X509_ENROLLMENT, ROLE_ADMIN, ROLE_USER, wszCARD_USER_ADMIN, wszCARD_USER_USER,
};
use windows_sys::core::PCWSTR;

use crate::error::{MdError, Result};
use crate::properties::{CardProperty, ContainerProperty};

/// The units of a windows-sys wide literal, without its terminator (evaluated at compile time).
///
/// # Safety
/// `literal` is one of windows-sys's `w!` constants: a static, NUL-terminated UTF-16 array.
const unsafe fn units(literal: PCWSTR) -> &'static [u16] {
    let mut len = 0;
    // SAFETY: up to the terminator, within the static array.
    while unsafe { *literal.wrapping_add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units before the terminator are the array's.
    unsafe { std::slice::from_raw_parts(literal, len) }
}

/// A table from windows-sys names to what they name.
macro_rules! names {
    ($($name:ident => $value:expr),* $(,)?) => {
        [$(
            // SAFETY: each name is a windows-sys `w!` constant.
            (unsafe { units($name) }, $value),
        )*]
    };
}

const CARD_PROPERTIES: [(&[u16], CardProperty); 20] = names![
    CP_CARD_FREE_SPACE => CardProperty::FreeSpace,
    CP_CARD_CAPABILITIES => CardProperty::Capabilities,
    CP_CARD_KEYSIZES => CardProperty::KeySizes,
    CP_CARD_READ_ONLY => CardProperty::ReadOnly,
    CP_CARD_CACHE_MODE => CardProperty::CacheMode,
    CP_SUPPORTS_WIN_X509_ENROLLMENT => CardProperty::X509Enrollment,
    CP_CARD_GUID => CardProperty::Guid,
    CP_CARD_SERIAL_NO => CardProperty::SerialNo,
    CP_CARD_PIN_INFO => CardProperty::PinInfo,
    CP_CARD_LIST_PINS => CardProperty::ListPins,
    CP_CARD_AUTHENTICATED_STATE => CardProperty::AuthenticatedState,
    CP_CARD_PIN_STRENGTH_VERIFY => CardProperty::PinStrengthVerify,
    CP_CARD_PIN_STRENGTH_CHANGE => CardProperty::PinStrengthChange,
    CP_CARD_PIN_STRENGTH_UNBLOCK => CardProperty::PinStrengthUnblock,
    CP_PARENT_WINDOW => CardProperty::ParentWindow,
    CP_PIN_CONTEXT_STRING => CardProperty::PinContextString,
    CP_KEY_IMPORT_SUPPORT => CardProperty::KeyImportSupport,
    CP_ENUM_ALGORITHMS => CardProperty::EnumAlgorithms,
    CP_PADDING_SCHEMES => CardProperty::PaddingSchemes,
    CP_CHAINING_MODES => CardProperty::ChainingModes,
];

const CONTAINER_PROPERTIES: [(&[u16], ContainerProperty); 3] = names![
    CCP_CONTAINER_INFO => ContainerProperty::ContainerInfo,
    CCP_PIN_IDENTIFIER => ContainerProperty::PinIdentifier,
    CCP_ASSOCIATED_ECDH_KEY => ContainerProperty::AssociatedEcdhKey,
];

/// The legacy user names of `CardAuthenticatePin` and `CardDeauthenticate` (§4.2.2, §4.2.5).
const LEGACY_USERS: [(&[u16], u32); 2] = names![
    wszCARD_USER_USER => ROLE_USER,
    wszCARD_USER_ADMIN => ROLE_ADMIN,
];

fn lookup<T: Copy>(table: &[(&[u16], T)], name: &[u16], unknown: &'static str) -> Result<T> {
    table
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, value)| value)
        .ok_or(MdError::InvalidParameter(unknown))
}

/// The card property a `CardGetProperty`/`CardSetProperty` name names.
pub(crate) fn card_property(name: &[u16]) -> Result<CardProperty> {
    lookup(&CARD_PROPERTIES, name, "unknown property")
}

/// The container property a `CardGetContainerProperty`/`CardSetContainerProperty` name names.
pub(crate) fn container_property(name: &[u16]) -> Result<ContainerProperty> {
    lookup(&CONTAINER_PROPERTIES, name, "unknown container property")
}

/// The role a legacy user name names.
pub(crate) fn legacy_user(name: &[u16]) -> Result<u32> {
    lookup(&LEGACY_USERS, name, "user id")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    /// Every name, as cardmod.h writes it.
    #[test]
    fn names_are_cardmod_h_literals() {
        let card = [
            ("Free Space", CardProperty::FreeSpace),
            ("Capabilities", CardProperty::Capabilities),
            ("Key Sizes", CardProperty::KeySizes),
            ("Read Only Mode", CardProperty::ReadOnly),
            ("Cache Mode", CardProperty::CacheMode),
            ("Supports Windows x.509 Enrollment", CardProperty::X509Enrollment),
            ("Card Identifier", CardProperty::Guid),
            ("Card Serial Number", CardProperty::SerialNo),
            ("PIN Information", CardProperty::PinInfo),
            ("PIN List", CardProperty::ListPins),
            ("Authenticated State", CardProperty::AuthenticatedState),
            ("PIN Strength Verify", CardProperty::PinStrengthVerify),
            ("PIN Strength Change", CardProperty::PinStrengthChange),
            ("PIN Strength Unblock", CardProperty::PinStrengthUnblock),
            ("Parent Window", CardProperty::ParentWindow),
            ("PIN Context String", CardProperty::PinContextString),
            ("Key Import Support", CardProperty::KeyImportSupport),
            ("Algorithms", CardProperty::EnumAlgorithms),
            ("Padding Schemes", CardProperty::PaddingSchemes),
            ("Chaining Modes", CardProperty::ChainingModes),
        ];
        for (name, property) in card {
            assert_eq!(card_property(&wide(name)).unwrap(), property, "{name}");
        }
        for (name, property) in [
            ("Container Info", ContainerProperty::ContainerInfo),
            ("PIN Identifier", ContainerProperty::PinIdentifier),
            ("Associated ECDH Key", ContainerProperty::AssociatedEcdhKey),
        ] {
            assert_eq!(container_property(&wide(name)).unwrap(), property, "{name}");
        }
        assert_eq!(legacy_user(&wide("user")).unwrap(), ROLE_USER);
        assert_eq!(legacy_user(&wide("admin")).unwrap(), ROLE_ADMIN);
        assert!(legacy_user(&wide("anonymous")).is_err());
        assert!(card_property(&wide("free space")).is_err(), "names match exactly");
        assert!(
            card_property(&wide("PIV Card")).is_err(),
            "the PIV properties are not served"
        );
    }
}
