//! PIN roles (Smart Card Minidriver Specification 7.07 §4.2.1) as Windows' own PIV class driver uses them:
//! the user PIN, the administrator (the PIV management key, challenge/response), the PIN-always role for keys
//! such as 9C that need a fresh PIN before every use, and the PUK as an unblock-only PIN.

use windows_sys::Win32::Security::Cryptography::{
    AdministratorPin, AlphaNumericPinType, AuthenticationPin, ChallengeResponsePinType, DigitalSignaturePin,
    EmptyPinType, PIN_CACHE_POLICY_CURRENT_VERSION, PIN_INFO, PIN_INFO_CURRENT_VERSION, PinCacheAlwaysPrompt,
    PinCacheNone, PinCacheNormal, PrimaryCardPin, UnblockOnlyPin,
};
/// The roles (`PIN_ID`s) and how many there are. ROLE_EVERYONE: no PIN (keys such as 9E); ROLE_USER: the
/// PIV PIN; ROLE_ADMIN: the card administrator, the PIV management key (9B), challenge/response;
/// ROLE_PIN_ALWAYS: the PIV PIN for keys whose policy is "always" (9C by default), never cached by the
/// CSP; ROLE_PUK: the PUK, which unblocks and changes nothing else.
pub use windows_sys::Win32::Security::Cryptography::{
    MAX_PINS, ROLE_ADMIN, ROLE_EVERYONE, ROLE_PIN_ALWAYS, ROLE_PUK, ROLE_USER,
};

/// The roles this module offers (`CP_CARD_LIST_PINS`).
pub const LISTED_ROLES: u32 =
    pin_set(ROLE_USER) | pin_set(ROLE_ADMIN) | pin_set(ROLE_PIN_ALWAYS) | pin_set(ROLE_PUK);

/// `CREATE_PIN_SET(id)`; a role the caller made up (32 or more) is the empty set, not an overflow.
pub const fn pin_set(role: u32) -> u32 {
    match 1u32.checked_shl(role) {
        Some(set) => set,
        None => 0,
    }
}

/// The `SECRET_TYPE`s the module's PINs have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum SecretType {
    /// Typed PIN.
    AlphaNumeric = AlphaNumericPinType,
    /// Challenge/response.
    ChallengeResponse = ChallengeResponsePinType,
    /// No secret.
    Empty = EmptyPinType,
}

/// The `SECRET_PURPOSE`s the module's PINs have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum SecretPurpose {
    /// Authentication.
    Authentication = AuthenticationPin,
    /// Digital signature.
    DigitalSignature = DigitalSignaturePin,
    /// Administrator.
    Administrator = AdministratorPin,
    /// The card's main PIN.
    PrimaryCard = PrimaryCardPin,
    /// Unblock only.
    UnblockOnly = UnblockOnlyPin,
}

/// The `PIN_CACHE_POLICY_TYPE`s the module's PINs have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum CachePolicy {
    /// Cached per process and logon session.
    Normal = PinCacheNormal,
    /// Not cached.
    None = PinCacheNone,
    /// Prompt before every operation.
    AlwaysPrompt = PinCacheAlwaysPrompt,
}

/// The content of `PIN_INFO` (version 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinInfo {
    /// `PinType`.
    pub secret_type: SecretType,
    /// `PinPurpose`.
    pub purpose: SecretPurpose,
    /// `dwChangePermission`: roles that may change it.
    pub change_permission: u32,
    /// `dwUnblockPermission`: roles that may unblock it.
    pub unblock_permission: u32,
    /// `PinCachePolicy`.
    pub cache_policy: CachePolicy,
}

/// Size of `PIN_INFO`.
pub const PIN_INFO_LEN: usize = size_of::<PIN_INFO>();

impl PinInfo {
    /// The `PIN_INFO` for a role, or `None` for a role the card does not have.
    pub fn for_role(role: u32) -> Option<Self> {
        Some(match role {
            ROLE_EVERYONE => Self {
                secret_type: SecretType::Empty,
                purpose: SecretPurpose::Authentication,
                change_permission: 0,
                unblock_permission: 0,
                cache_policy: CachePolicy::None,
            },
            ROLE_USER => Self {
                secret_type: SecretType::AlphaNumeric,
                purpose: SecretPurpose::PrimaryCard,
                change_permission: pin_set(ROLE_USER),
                unblock_permission: pin_set(ROLE_PUK),
                cache_policy: CachePolicy::Normal,
            },
            ROLE_ADMIN => Self {
                secret_type: SecretType::ChallengeResponse,
                purpose: SecretPurpose::Administrator,
                change_permission: pin_set(ROLE_ADMIN),
                unblock_permission: 0,
                cache_policy: CachePolicy::None,
            },
            ROLE_PIN_ALWAYS => Self {
                secret_type: SecretType::AlphaNumeric,
                purpose: SecretPurpose::DigitalSignature,
                change_permission: 0,
                unblock_permission: pin_set(ROLE_PUK),
                cache_policy: CachePolicy::AlwaysPrompt,
            },
            ROLE_PUK => Self {
                secret_type: SecretType::AlphaNumeric,
                purpose: SecretPurpose::UnblockOnly,
                change_permission: pin_set(ROLE_PUK),
                unblock_permission: 0,
                cache_policy: CachePolicy::None,
            },
            _ => return None,
        })
    }

    /// The 36-byte `PIN_INFO`, little-endian DWORDs.
    pub fn to_bytes(self) -> [u8; PIN_INFO_LEN] {
        let fields = [
            PIN_INFO_CURRENT_VERSION,
            self.secret_type as u32,
            self.purpose as u32,
            self.change_permission,
            self.unblock_permission,
            PIN_CACHE_POLICY_CURRENT_VERSION,
            self.cache_policy as u32,
            0, // dwPinCachePolicyInfo
            0, // dwFlags
        ];
        let mut out = [0u8; PIN_INFO_LEN];
        for (chunk, v) in out.chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        out
    }
}

/// Which roles the module believes are authenticated on the card right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthState {
    /// The PIV PIN was verified (ROLE_USER).
    pub user: bool,
    /// A VERIFY just happened for a PIN-always key (ROLE_PIN_ALWAYS); one private-key use consumes it.
    pub pin_always: bool,
    /// The management key was authenticated (ROLE_ADMIN).
    pub admin: bool,
    /// The module authenticated the management key itself for a write the user asked for (the
    /// PIN-protected or the factory-default key; see [`crate::write_rights`]). Not a role: it is not
    /// reported as ROLE_ADMIN and ends with the user's PIN.
    pub write_rights: bool,
}

impl AuthState {
    /// `CP_CARD_AUTHENTICATED_STATE`.
    pub fn pin_set(self) -> u32 {
        (if self.user { pin_set(ROLE_USER) } else { 0 })
            | (if self.pin_always {
                pin_set(ROLE_PIN_ALWAYS)
            } else {
                0
            })
            | (if self.admin { pin_set(ROLE_ADMIN) } else { 0 })
    }
}

/// PINs that cannot be right are refused without spending a try: PIV PINs are 6–8 bytes and never
/// contain the padding byte `FF`.
pub fn plausible_pin(pin: &[u8]) -> bool {
    (6..=8).contains(&pin.len()) && !pin.contains(&0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_info_bytes() {
        let b = PinInfo::for_role(ROLE_PIN_ALWAYS).unwrap().to_bytes();
        assert_eq!(&b[0..4], &6u32.to_le_bytes());
        assert_eq!(&b[8..12], &1u32.to_le_bytes(), "DigitalSignaturePin");
        assert_eq!(&b[16..20], &0x10u32.to_le_bytes(), "unblocked by the PUK");
        assert_eq!(&b[24..28], &3u32.to_le_bytes(), "PinCacheAlwaysPrompt");
        let puk = PinInfo::for_role(ROLE_PUK).unwrap();
        assert_eq!(puk.purpose, SecretPurpose::UnblockOnly);
        assert!(PinInfo::for_role(5).is_none());
        assert_eq!(LISTED_ROLES, 0x1E);
    }

    #[test]
    fn pin_set_of_a_made_up_role_is_empty() {
        assert_eq!(pin_set(ROLE_PUK), 0x10);
        assert_eq!(pin_set(31), 1 << 31);
        assert_eq!(pin_set(32), 0);
        assert_eq!(pin_set(u32::MAX), 0);
    }

    #[test]
    fn implausible_pins() {
        assert!(plausible_pin(b"123456"));
        assert!(!plausible_pin(b"12345"));
        assert!(!plausible_pin(b"123456789"));
        assert!(!plausible_pin(&[0x31; 0]));
        assert!(!plausible_pin(&[0x31, 0x32, 0x33, 0x34, 0x35, 0xFF]));
    }
}
