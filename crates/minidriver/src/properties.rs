//! Card and container properties (digest §8): `CardGetProperty`, `CardSetProperty`,
//! `CardGetContainerProperty`, `CardSetContainerProperty`.

use crate::containers::spec;
use crate::context::CardContext;
use crate::error::{MdError, Result};
use crate::pins::{self, PinInfo, ROLE_ADMIN};

/// Property names.
pub mod name {
    /// `CP_CARD_FREE_SPACE`.
    pub const FREE_SPACE: &str = "Free Space";
    /// `CP_CARD_CAPABILITIES`.
    pub const CAPABILITIES: &str = "Capabilities";
    /// `CP_CARD_KEYSIZES`.
    pub const KEY_SIZES: &str = "Key Sizes";
    /// `CP_CARD_READ_ONLY`.
    pub const READ_ONLY: &str = "Read Only Mode";
    /// `CP_CARD_CACHE_MODE`.
    pub const CACHE_MODE: &str = "Cache Mode";
    /// `CP_SUPPORTS_WIN_X509_ENROLLMENT`.
    pub const X509_ENROLLMENT: &str = "Supports Windows x.509 Enrollment";
    /// `CP_CARD_GUID`.
    pub const GUID: &str = "Card Identifier";
    /// `CP_CARD_SERIAL_NO`.
    pub const SERIAL_NO: &str = "Card Serial Number";
    /// `CP_CARD_PIN_INFO`.
    pub const PIN_INFO: &str = "PIN Information";
    /// `CP_CARD_LIST_PINS`.
    pub const LIST_PINS: &str = "PIN List";
    /// `CP_CARD_AUTHENTICATED_STATE`.
    pub const AUTHENTICATED_STATE: &str = "Authenticated State";
    /// `CP_CARD_PIN_STRENGTH_VERIFY`.
    pub const PIN_STRENGTH_VERIFY: &str = "PIN Strength Verify";
    /// `CP_CARD_PIN_STRENGTH_CHANGE`.
    pub const PIN_STRENGTH_CHANGE: &str = "PIN Strength Change";
    /// `CP_CARD_PIN_STRENGTH_UNBLOCK`.
    pub const PIN_STRENGTH_UNBLOCK: &str = "PIN Strength Unblock";
    /// `CP_PARENT_WINDOW`.
    pub const PARENT_WINDOW: &str = "Parent Window";
    /// `CP_PIN_CONTEXT_STRING`.
    pub const PIN_CONTEXT_STRING: &str = "PIN Context String";
    /// `CP_KEY_IMPORT_SUPPORT`.
    pub const KEY_IMPORT_SUPPORT: &str = "Key Import Support";
    /// `CP_ENUM_ALGORITHMS`.
    pub const ENUM_ALGORITHMS: &str = "Algorithms";
    /// `CP_PADDING_SCHEMES`.
    pub const PADDING_SCHEMES: &str = "Padding Schemes";
    /// `CP_CHAINING_MODES`.
    pub const CHAINING_MODES: &str = "Chaining Modes";
    /// `CCP_CONTAINER_INFO`.
    pub const CONTAINER_INFO: &str = "Container Info";
    /// `CCP_PIN_IDENTIFIER`.
    pub const PIN_IDENTIFIER: &str = "PIN Identifier";
    /// `CCP_ASSOCIATED_ECDH_KEY`.
    pub const ASSOCIATED_ECDH_KEY: &str = "Associated ECDH Key";
}

/// Cache modes.
pub mod cache_mode {
    /// Persistent global cache.
    pub const GLOBAL: u32 = 1;
    /// Per-process cache, dropped on removal.
    pub const SESSION_ONLY: u32 = 2;
    /// No cache.
    pub const NO_CACHE: u32 = 3;
}

/// `CARD_CIPHER_OPERATION` / `CARD_ASYMMETRIC_OPERATION`.
const CIPHER_OPERATION: u32 = 1;
const ASYMMETRIC_OPERATION: u32 = 2;
/// `CARD_PADDING_PKCS1 | CARD_PADDING_PSS | CARD_PADDING_OAEP`: the module pads and unpads every
/// scheme itself, the card doing raw RSA.
pub const ASYMMETRIC_PADDINGS: u32 = 0x2 | 0x4 | 0x8;
/// Highest container index plus one: 24 slots and their 24 ECDH twins.
pub const MAX_CONTAINERS: u32 = 48;

/// The public-key blobs of a container, by position in `CONTAINER_INFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerKeys {
    /// `pbSigPublicKey`.
    pub signature: Option<Vec<u8>>,
    /// `pbKeyExPublicKey`.
    pub exchange: Option<Vec<u8>>,
}

/// `CARD_KEY_SIZES` content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySizes {
    /// Minimum bits.
    pub minimum: u32,
    /// Default bits.
    pub default: u32,
    /// Maximum bits.
    pub maximum: u32,
    /// Increment.
    pub increment: u32,
}

impl KeySizes {
    /// The 20-byte structure, version 1.
    pub fn to_bytes(self) -> Vec<u8> {
        dwords(&[1, self.minimum, self.default, self.maximum, self.increment])
    }
}

/// `CARD_CAPABILITIES` content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The module returns plain DER certificates (it undoes PIV compression itself).
    pub certificate_compression: bool,
    /// The card can generate keys through this module.
    pub key_gen: bool,
}

/// `CARD_FREE_SPACE_INFO` content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeSpace {
    /// Bytes available.
    pub bytes_available: u32,
    /// Containers available.
    pub containers_available: u32,
    /// Containers at most.
    pub max_containers: u32,
}

/// Little-endian DWORDs.
pub fn dwords(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A UTF-16 multistring from names (each NUL-terminated, then a final NUL).
pub fn wide_multistring(names: &[&str]) -> Vec<u8> {
    let mut units: Vec<u16> = Vec::new();
    for n in names {
        units.extend(n.encode_utf16());
        units.push(0);
    }
    units.push(0);
    units.iter().flat_map(|u| u.to_le_bytes()).collect()
}

fn bool_value(b: bool) -> Vec<u8> {
    dwords(&[u32::from(b)])
}

impl CardContext {
    /// `CardQueryCapabilities` / `CP_CARD_CAPABILITIES`.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            certificate_compression: true,
            key_gen: false,
        }
    }

    /// `CardQueryFreeSpace` / `CP_CARD_FREE_SPACE`: a read-only card reports nothing available.
    pub fn free_space(&self) -> FreeSpace {
        FreeSpace {
            bytes_available: 0,
            containers_available: 0,
            max_containers: MAX_CONTAINERS,
        }
    }

    /// `CardQueryKeySizes` / `CP_CARD_KEYSIZES`.
    pub fn key_sizes(&mut self, key_spec: u32) -> Result<KeySizes> {
        spec::check(key_spec)?;
        match key_spec {
            spec::AT_KEYEXCHANGE | spec::AT_SIGNATURE => {
                let (minimum, maximum) = self.rsa_size_range();
                Ok(KeySizes {
                    minimum,
                    default: 2048.clamp(minimum, maximum),
                    maximum,
                    increment: 1024,
                })
            }
            spec::AT_ECDSA_P256 | spec::AT_ECDHE_P256 => Ok(KeySizes {
                minimum: 256,
                default: 256,
                maximum: 256,
                increment: 1,
            }),
            // AT_ECDSA_P384 | AT_ECDHE_P384: the specs `spec::check` leaves.
            _ => Ok(KeySizes {
                minimum: 384,
                default: 384,
                maximum: 384,
                increment: 1,
            }),
        }
    }

    /// RSA sizes the card supports: from the algorithm list of SELECT when present; else YubiKey firmware
    /// rules (4096 from 5.7); else PIV's 1024–2048.
    fn rsa_size_range(&mut self) -> (u32, u32) {
        let listed: Vec<u32> = self
            .apt
            .algorithms
            .iter()
            .filter(|a| a.is_rsa())
            .filter_map(|a| a.key_bits())
            .collect();
        if let (Some(min), Some(max)) = (listed.iter().min(), listed.iter().max()) {
            return (*min, *max);
        }
        match self.version() {
            Some(v) if (v.major, v.minor) >= (5, 7) => (1024, 4096),
            _ => (1024, 2048),
        }
    }

    /// `CP_CARD_CACHE_MODE`: no cache without a stable card id; a global cache on cards whose freshness
    /// Tessera maintains; otherwise a per-process cache, as the spec advises for cards that other tools
    /// may change.
    pub fn cache_mode(&mut self) -> Result<u32> {
        if !self.identity()?.is_stable() {
            return Ok(cache_mode::NO_CACHE);
        }
        Ok(if self.has_freshness()? {
            cache_mode::GLOBAL
        } else {
            cache_mode::SESSION_ONLY
        })
    }

    /// `CardGetProperty`: the value bytes.
    pub fn get_property(&mut self, property: &str, flags: u32) -> Result<Vec<u8>> {
        let flags_must_be_zero = |v: Vec<u8>| {
            if flags == 0 {
                Ok(v)
            } else {
                Err(MdError::InvalidParameter("flags"))
            }
        };
        match property {
            name::FREE_SPACE => {
                let f = self.free_space();
                flags_must_be_zero(dwords(&[
                    1,
                    f.bytes_available,
                    f.containers_available,
                    f.max_containers,
                ]))
            }
            name::CAPABILITIES => {
                let c = self.capabilities();
                flags_must_be_zero(dwords(&[
                    1,
                    u32::from(c.certificate_compression),
                    u32::from(c.key_gen),
                ]))
            }
            name::KEY_SIZES => Ok(self.key_sizes(flags)?.to_bytes()),
            name::READ_ONLY => flags_must_be_zero(bool_value(true)),
            name::CACHE_MODE => {
                if flags != 0 {
                    return Err(MdError::InvalidParameter("flags"));
                }
                Ok(dwords(&[self.cache_mode()?]))
            }
            name::X509_ENROLLMENT => flags_must_be_zero(bool_value(false)),
            name::GUID => {
                if flags != 0 {
                    return Err(MdError::InvalidParameter("flags"));
                }
                Ok(self.identity()?.card_id.to_vec())
            }
            name::SERIAL_NO => {
                if flags != 0 {
                    return Err(MdError::InvalidParameter("flags"));
                }
                match self.serial() {
                    Some(serial) => Ok(serial.to_be_bytes().to_vec()),
                    None => Err(MdError::Unsupported("the card reports no serial number")),
                }
            }
            name::PIN_INFO => match PinInfo::for_role(flags) {
                Some(info) => Ok(info.to_bytes().to_vec()),
                None => Err(MdError::InvalidParameter("no such PIN")),
            },
            name::LIST_PINS => flags_must_be_zero(dwords(&[pins::LISTED_ROLES])),
            name::AUTHENTICATED_STATE => flags_must_be_zero(dwords(&[self.auth.pin_set()])),
            name::PIN_STRENGTH_VERIFY => {
                if flags == pins::ROLE_EVERYONE
                    || flags >= pins::MAX_PINS
                    || pins::LISTED_ROLES & pins::pin_set(flags) == 0
                {
                    return Err(MdError::InvalidParameter("no such PIN"));
                }
                Ok(dwords(&[1])) // CARD_PIN_STRENGTH_PLAINTEXT
            }
            name::PIN_STRENGTH_CHANGE | name::PIN_STRENGTH_UNBLOCK => {
                Err(MdError::Unsupported("not used by the CSP (spec §4.5.1)"))
            }
            name::KEY_IMPORT_SUPPORT => flags_must_be_zero(dwords(&[0])),
            name::ENUM_ALGORITHMS => match flags {
                // Secure key injection is not supported: no symmetric or asymmetric session algorithms.
                CIPHER_OPERATION | ASYMMETRIC_OPERATION => Ok(wide_multistring(&[])),
                _ => Err(MdError::InvalidParameter("flags")),
            },
            name::PADDING_SCHEMES => match flags {
                CIPHER_OPERATION => Ok(dwords(&[0])),
                ASYMMETRIC_OPERATION => Ok(dwords(&[ASYMMETRIC_PADDINGS])),
                _ => Err(MdError::InvalidParameter("flags")),
            },
            name::CHAINING_MODES => flags_must_be_zero(wide_multistring(&[])),
            _ => Err(MdError::InvalidParameter("unknown property")),
        }
    }

    /// `CardSetProperty`. `data` is `None` when `pbData` was NULL.
    pub fn set_property(&mut self, property: &str, data: Option<&[u8]>, flags: u32) -> Result<()> {
        if flags != 0 {
            return Err(MdError::InvalidParameter("flags"));
        }
        match property {
            name::PARENT_WINDOW => {
                let data = data.ok_or(MdError::InvalidParameter("parent window"))?;
                let bytes: [u8; size_of::<usize>()] = data
                    .try_into()
                    .map_err(|_| MdError::InvalidParameter("parent window size"))?;
                self.parent_window = usize::from_le_bytes(bytes);
                Ok(())
            }
            name::PIN_CONTEXT_STRING => {
                self.pin_context = data.map(crate::utf16::units_until_nul);
                Ok(())
            }
            name::FREE_SPACE
            | name::CAPABILITIES
            | name::KEY_SIZES
            | name::LIST_PINS
            | name::AUTHENTICATED_STATE
            | name::KEY_IMPORT_SUPPORT
            | name::ENUM_ALGORITHMS
            | name::PADDING_SCHEMES
            | name::CHAINING_MODES
            | name::READ_ONLY
            | name::CACHE_MODE
            | name::X509_ENROLLMENT
            | name::GUID
            | name::SERIAL_NO
            | name::PIN_INFO
            | name::PIN_STRENGTH_VERIFY
            | name::PIN_STRENGTH_CHANGE
            | name::PIN_STRENGTH_UNBLOCK => {
                if self.auth.admin {
                    Err(MdError::Unsupported("property cannot be set on this card"))
                } else {
                    Err(MdError::SecurityViolation(
                        "setting card properties needs the administrator",
                    ))
                }
            }
            _ => Err(MdError::InvalidParameter("unknown property")),
        }
    }

    /// `CardGetContainerProperty` for the properties that are plain values (not `CCP_CONTAINER_INFO`,
    /// which the ABI layer builds from [`CardContext::container_keys`]).
    pub fn container_property(&mut self, index: u8, property: &str) -> Result<Vec<u8>> {
        if !matches!(property, name::PIN_IDENTIFIER | name::ASSOCIATED_ECDH_KEY) {
            return Err(MdError::InvalidParameter("unknown container property"));
        }
        let container = self.container(index)?;
        match property {
            name::PIN_IDENTIFIER => Ok(dwords(&[container.pin])),
            name::ASSOCIATED_ECDH_KEY => match container.associated_ecdh {
                Some(twin) => Ok(vec![twin]),
                None => Err(MdError::InvalidParameter(
                    "the container has no associated ECDH key",
                )),
            },
            _ => Err(MdError::InvalidParameter("unknown container property")),
        }
    }

    /// `CardSetContainerProperty`: the bindings of a read-only card are fixed by its keys' policies.
    pub fn set_container_property(&mut self, index: u8, property: &str, _data: &[u8]) -> Result<()> {
        if !matches!(
            property,
            name::PIN_IDENTIFIER | name::ASSOCIATED_ECDH_KEY | name::CONTAINER_INFO
        ) {
            return Err(MdError::InvalidParameter("unknown container property"));
        }
        self.container(index)?;
        match property {
            name::PIN_IDENTIFIER | name::ASSOCIATED_ECDH_KEY => {
                if self.auth.user || self.auth.admin {
                    Err(MdError::Unsupported(
                        "container bindings follow the keys' PIN policies",
                    ))
                } else {
                    Err(MdError::SecurityViolation(
                        "changing a container needs the user or administrator",
                    ))
                }
            }
            name::CONTAINER_INFO => Err(MdError::Unsupported("read-only property")),
            _ => Err(MdError::InvalidParameter("unknown container property")),
        }
    }

    /// The public-key blobs for `CardGetContainerInfo`.
    pub fn container_keys(&mut self, index: u8) -> Result<ContainerKeys> {
        let container = self.container(index)?;
        let role = if container.is_exchange() {
            crate::keyblob::BlobRole::Exchange
        } else {
            crate::keyblob::BlobRole::Signature
        };
        let blob = crate::keyblob::encode(&container.public_key, role)?;
        Ok(if container.is_exchange() {
            ContainerKeys {
                signature: None,
                exchange: Some(blob),
            }
        } else {
            ContainerKeys {
                signature: Some(blob),
                exchange: None,
            }
        })
    }
}

/// The admin role constant, re-exported for the ABI layer's legacy user-name mapping.
pub const ADMIN: u32 = ROLE_ADMIN;
