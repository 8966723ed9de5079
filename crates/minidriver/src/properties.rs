//! Card and container properties (Smart Card Minidriver Specification 7.07 §4.5): `CardGetProperty`,
//! `CardSetProperty`, `CardGetContainerProperty`, `CardSetContainerProperty`.

use windows_sys::Win32::Security::Cryptography::{
    CARD_ASYMMETRIC_OPERATION, CARD_CAPABILITIES, CARD_CAPABILITIES_CURRENT_VERSION, CARD_CIPHER_OPERATION,
    CARD_DATA_VALUE_UNKNOWN, CARD_FREE_SPACE_INFO, CARD_FREE_SPACE_INFO_CURRENT_VERSION,
    CARD_KEY_IMPORT_PLAIN_TEXT, CARD_KEY_SIZES, CARD_KEY_SIZES_CURRENT_VERSION, CARD_PADDING_OAEP,
    CARD_PADDING_PKCS1, CARD_PADDING_PSS, CARD_PIN_STRENGTH_PLAINTEXT, CP_CACHE_MODE_GLOBAL_CACHE,
    CP_CACHE_MODE_NO_CACHE, CP_CACHE_MODE_SESSION_ONLY,
};

use crate::containers::spec;
use crate::context::CardContext;
use crate::error::{MdError, Result};
use crate::input::{CallerBytes, no_flags};
use crate::pins::{self, MAX_PINS, PinInfo, ROLE_ADMIN, ROLE_EVERYONE, ROLE_PIN_ALWAYS, ROLE_PUK, ROLE_USER};

/// The card properties of `CardGetProperty` and `CardSetProperty` (Smart Card Minidriver Specification
/// 7.07 §4.5.4, §4.5.5). The ABI matches the caller's name against windows-sys's `CP_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CardProperty {
    /// `CP_CARD_FREE_SPACE`.
    FreeSpace,
    /// `CP_CARD_CAPABILITIES`.
    Capabilities,
    /// `CP_CARD_KEYSIZES`.
    KeySizes,
    /// `CP_CARD_READ_ONLY`.
    ReadOnly,
    /// `CP_CARD_CACHE_MODE`.
    CacheMode,
    /// `CP_SUPPORTS_WIN_X509_ENROLLMENT`.
    X509Enrollment,
    /// `CP_CARD_GUID`.
    Guid,
    /// `CP_CARD_SERIAL_NO`.
    SerialNo,
    /// `CP_CARD_PIN_INFO`.
    PinInfo,
    /// `CP_CARD_LIST_PINS`.
    ListPins,
    /// `CP_CARD_AUTHENTICATED_STATE`.
    AuthenticatedState,
    /// `CP_CARD_PIN_STRENGTH_VERIFY`.
    PinStrengthVerify,
    /// `CP_CARD_PIN_STRENGTH_CHANGE`.
    PinStrengthChange,
    /// `CP_CARD_PIN_STRENGTH_UNBLOCK`.
    PinStrengthUnblock,
    /// `CP_PARENT_WINDOW`.
    ParentWindow,
    /// `CP_PIN_CONTEXT_STRING`.
    PinContextString,
    /// `CP_KEY_IMPORT_SUPPORT`.
    KeyImportSupport,
    /// `CP_ENUM_ALGORITHMS`.
    EnumAlgorithms,
    /// `CP_PADDING_SCHEMES`.
    PaddingSchemes,
    /// `CP_CHAINING_MODES`.
    ChainingModes,
}

/// The container properties of `CardGetContainerProperty` and `CardSetContainerProperty` (§4.5.2,
/// §4.5.3), matched against windows-sys's `CCP_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerProperty {
    /// `CCP_CONTAINER_INFO`: a `CONTAINER_INFO`, which the ABI builds from
    /// [`CardContext::container_keys`].
    ContainerInfo,
    /// `CCP_PIN_IDENTIFIER`.
    PinIdentifier,
    /// `CCP_ASSOCIATED_ECDH_KEY`.
    AssociatedEcdhKey,
}

/// Largest value a caller may set (a window handle or a context string): a longer one is not read.
pub(crate) const MAX_SET_LEN: u32 = 4096;

/// A `CardSetProperty` call, checked for what needs no card.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SetProperty<'a> {
    /// The property.
    pub property: CardProperty,
    /// `pbData`, `None` when NULL (allowed for `CP_PIN_CONTEXT_STRING` only: it clears the string).
    pub value: Option<&'a [u8]>,
}

impl<'a> SetProperty<'a> {
    /// Checks the value; a parent window must be one (`is_window`, which only Windows can answer).
    pub(crate) fn decode(
        property: CardProperty,
        data: CallerBytes<'a>,
        is_window: impl FnOnce(usize) -> bool,
    ) -> Result<Self> {
        let value = match data {
            CallerBytes::Read(value) => Some(value),
            CallerBytes::Null { len } if len <= MAX_SET_LEN => None,
            _ => return Err(MdError::InvalidParameter("cbDataLen")),
        };
        if value.is_none() && property != CardProperty::PinContextString {
            return Err(MdError::InvalidParameter("pbData is NULL"));
        }
        if property == CardProperty::ParentWindow
            && let Some(Ok(hwnd)) = value.map(<[u8; size_of::<usize>()]>::try_from)
            && !is_window(usize::from_le_bytes(hwnd))
        {
            return Err(MdError::InvalidParameter("not a window"));
        }
        Ok(Self { property, value })
    }
}

/// The RSA paddings of `CP_PADDING_SCHEMES`: the module pads and unpads every scheme itself, the card
/// doing raw RSA.
pub const ASYMMETRIC_PADDINGS: u32 = CARD_PADDING_PKCS1 | CARD_PADDING_PSS | CARD_PADDING_OAEP;
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
    /// The 20-byte structure, version 1 (`CP_CARD_KEYSIZES`).
    pub fn to_bytes(self) -> Vec<u8> {
        let s = CARD_KEY_SIZES::from(self);
        dwords(&[
            s.dwVersion,
            s.dwMinimumBitlen,
            s.dwDefaultBitlen,
            s.dwMaximumBitlen,
            s.dwIncrementalBitlen,
        ])
    }
}

impl From<KeySizes> for CARD_KEY_SIZES {
    fn from(s: KeySizes) -> Self {
        Self {
            dwVersion: CARD_KEY_SIZES_CURRENT_VERSION,
            dwMinimumBitlen: s.minimum,
            dwDefaultBitlen: s.default,
            dwMaximumBitlen: s.maximum,
            dwIncrementalBitlen: s.increment,
        }
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

impl Capabilities {
    /// The 12-byte structure, version 1 (`CP_CARD_CAPABILITIES`).
    pub fn to_bytes(self) -> Vec<u8> {
        let c = CARD_CAPABILITIES::from(self);
        dwords(&[c.dwVersion, c.fCertificateCompression as u32, c.fKeyGen as u32])
    }
}

impl From<Capabilities> for CARD_CAPABILITIES {
    fn from(c: Capabilities) -> Self {
        Self {
            dwVersion: CARD_CAPABILITIES_CURRENT_VERSION,
            fCertificateCompression: c.certificate_compression.into(),
            fKeyGen: c.key_gen.into(),
        }
    }
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

impl FreeSpace {
    /// The 16-byte structure, version 1 (`CP_CARD_FREE_SPACE`).
    pub fn to_bytes(self) -> Vec<u8> {
        let f = CARD_FREE_SPACE_INFO::from(self);
        dwords(&[
            f.dwVersion,
            f.dwBytesAvailable,
            f.dwKeyContainersAvailable,
            f.dwMaxKeyContainers,
        ])
    }
}

impl From<FreeSpace> for CARD_FREE_SPACE_INFO {
    fn from(f: FreeSpace) -> Self {
        Self {
            dwVersion: CARD_FREE_SPACE_INFO_CURRENT_VERSION,
            dwBytesAvailable: f.bytes_available,
            dwKeyContainersAvailable: f.containers_available,
            dwMaxKeyContainers: f.max_containers,
        }
    }
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
    /// `CardQueryCapabilities` / `CP_CARD_CAPABILITIES`: certificates are handed over as DER (the module
    /// compresses them itself when a certificate object needs it); keys are generated on any card the
    /// module can write to.
    pub(crate) fn capabilities(&mut self) -> Result<Capabilities> {
        Ok(Capabilities {
            certificate_compression: true,
            key_gen: self.writable()?,
        })
    }

    /// `CardQueryFreeSpace` / `CP_CARD_FREE_SPACE`. A read-only card reports nothing available. A
    /// writable one: the bytes are unknown (PIV cards do not report free memory); the containers that
    /// can still be created are the slots of the enrollment order (9C, 9A, 9D, 82–95) that no container
    /// and no container-map record uses (slots holding something the module has not read count as free:
    /// creation skips them); at most as many containers as the container map's records.
    pub(crate) fn free_space(&mut self) -> Result<FreeSpace> {
        if !self.writable()? {
            return Ok(FreeSpace {
                bytes_available: 0,
                containers_available: 0,
                max_containers: MAX_CONTAINERS,
            });
        }
        let map = self.stored_container_map()?.unwrap_or_default();
        let used: Vec<tessera_piv::KeyRef> = self
            .containers()?
            .iter()
            .map(|c| c.slot)
            .chain(
                map.records
                    .iter()
                    .filter(|r| r.flags & tessera_piv::objects::CONTAINER_MAP_VALID_CONTAINER != 0)
                    .map(|r| r.slot),
            )
            .collect();
        let records_free = tessera_piv::objects::MAX_CONTAINER_RECORDS.saturating_sub(
            map.records
                .iter()
                .filter(|r| r.flags & tessera_piv::objects::CONTAINER_MAP_VALID_CONTAINER != 0)
                .count(),
        ) as u32;
        Ok(FreeSpace {
            bytes_available: CARD_DATA_VALUE_UNKNOWN,
            containers_available: crate::slots::free_count(|s| used.contains(&s)).min(records_free),
            max_containers: tessera_piv::objects::MAX_CONTAINER_RECORDS as u32,
        })
    }

    /// `CardQueryKeySizes` / `CP_CARD_KEYSIZES`.
    pub(crate) fn key_sizes(&mut self, key_spec: u32) -> Result<KeySizes> {
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
            .listed_algorithms
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
    /// Tessera maintains; otherwise a per-process cache, as §7.5 advises for cards that other tools
    /// may change.
    pub(crate) fn cache_mode(&mut self) -> Result<u32> {
        if !self.identity()?.is_stable() {
            return Ok(CP_CACHE_MODE_NO_CACHE);
        }
        let mode = if self.has_freshness()? {
            CP_CACHE_MODE_GLOBAL_CACHE
        } else {
            CP_CACHE_MODE_SESSION_ONLY
        };
        self.reported_session_only = mode == CP_CACHE_MODE_SESSION_ONLY;
        Ok(mode)
    }

    /// `CardGetProperty`: the value bytes.
    pub(crate) fn get_property(&mut self, property: CardProperty, flags: u32) -> Result<Vec<u8>> {
        let flags_must_be_zero = |v: Vec<u8>| {
            if flags == 0 {
                Ok(v)
            } else {
                Err(MdError::InvalidParameter("flags"))
            }
        };
        match property {
            CardProperty::FreeSpace => flags_must_be_zero(self.free_space()?.to_bytes()),
            CardProperty::Capabilities => flags_must_be_zero(self.capabilities()?.to_bytes()),
            CardProperty::KeySizes => Ok(self.key_sizes(flags)?.to_bytes()),
            CardProperty::ReadOnly => {
                if flags != 0 {
                    return Err(MdError::InvalidParameter("flags"));
                }
                Ok(bool_value(!self.writable()?))
            }
            CardProperty::CacheMode => {
                if flags != 0 {
                    return Err(MdError::InvalidParameter("flags"));
                }
                Ok(dwords(&[self.cache_mode()?]))
            }
            CardProperty::X509Enrollment => {
                if flags != 0 {
                    return Err(MdError::InvalidParameter("flags"));
                }
                Ok(bool_value(self.writable()?))
            }
            CardProperty::Guid => {
                if flags != 0 {
                    return Err(MdError::InvalidParameter("flags"));
                }
                Ok(self.identity()?.card_id.to_vec())
            }
            CardProperty::SerialNo => {
                if flags != 0 {
                    return Err(MdError::InvalidParameter("flags"));
                }
                match self.serial() {
                    Some(serial) => Ok(serial.to_be_bytes().to_vec()),
                    None => Err(MdError::Unsupported("the card reports no serial number")),
                }
            }
            CardProperty::PinInfo => match PinInfo::for_role(flags) {
                Some(info) => Ok(info.to_bytes().to_vec()),
                None => Err(MdError::InvalidParameter("no such PIN")),
            },
            CardProperty::ListPins => flags_must_be_zero(dwords(&[pins::LISTED_ROLES])),
            CardProperty::AuthenticatedState => flags_must_be_zero(dwords(&[self.auth.pin_set()])),
            CardProperty::PinStrengthVerify => {
                if flags == ROLE_EVERYONE
                    || flags >= MAX_PINS
                    || pins::LISTED_ROLES & pins::pin_set(flags) == 0
                {
                    return Err(MdError::InvalidParameter("no such PIN"));
                }
                Ok(dwords(&[CARD_PIN_STRENGTH_PLAINTEXT]))
            }
            // What `CardChangeAuthenticatorEx` takes: a PIN changes itself (the user PIN, the PUK, the
            // administrator's key), and the user PIN is unblocked with the PUK; all in the clear.
            CardProperty::PinStrengthChange | CardProperty::PinStrengthUnblock => {
                if flags == ROLE_EVERYONE
                    || flags >= MAX_PINS
                    || pins::LISTED_ROLES & pins::pin_set(flags) == 0
                {
                    return Err(MdError::InvalidParameter("no such PIN"));
                }
                let supported = if property == CardProperty::PinStrengthChange {
                    matches!(flags, ROLE_USER | ROLE_PUK | ROLE_ADMIN)
                } else {
                    matches!(flags, ROLE_USER | ROLE_PIN_ALWAYS)
                };
                if supported {
                    Ok(dwords(&[CARD_PIN_STRENGTH_PLAINTEXT]))
                } else {
                    Err(MdError::Unsupported(
                        "that PIN is not changed or unblocked that way",
                    ))
                }
            }
            CardProperty::KeyImportSupport => {
                if flags != 0 {
                    return Err(MdError::InvalidParameter("flags"));
                }
                let import = self.imports_keys()?;
                Ok(dwords(&[if import { CARD_KEY_IMPORT_PLAIN_TEXT } else { 0 }]))
            }
            CardProperty::EnumAlgorithms => match flags {
                // Secure key injection is not supported: no symmetric or asymmetric session algorithms.
                CARD_CIPHER_OPERATION | CARD_ASYMMETRIC_OPERATION => Ok(wide_multistring(&[])),
                _ => Err(MdError::InvalidParameter("flags")),
            },
            CardProperty::PaddingSchemes => match flags {
                CARD_CIPHER_OPERATION => Ok(dwords(&[0])),
                CARD_ASYMMETRIC_OPERATION => Ok(dwords(&[ASYMMETRIC_PADDINGS])),
                _ => Err(MdError::InvalidParameter("flags")),
            },
            CardProperty::ChainingModes => flags_must_be_zero(wide_multistring(&[])),
            CardProperty::ParentWindow | CardProperty::PinContextString => {
                Err(MdError::InvalidParameter("a property that is only set"))
            }
        }
    }

    /// `CardSetProperty`.
    pub(crate) fn set_property(&mut self, request: &SetProperty<'_>, flags: u32) -> Result<()> {
        no_flags(flags)?;
        match request.property {
            CardProperty::ParentWindow => {
                let data = request.value.ok_or(MdError::InvalidParameter("parent window"))?;
                let bytes: [u8; size_of::<usize>()] = data
                    .try_into()
                    .map_err(|_| MdError::InvalidParameter("parent window size"))?;
                self.parent_window = usize::from_le_bytes(bytes);
                Ok(())
            }
            CardProperty::PinContextString => {
                self.pin_context = request.value.map(crate::utf16::units_until_nul);
                Ok(())
            }
            CardProperty::FreeSpace
            | CardProperty::Capabilities
            | CardProperty::KeySizes
            | CardProperty::ListPins
            | CardProperty::AuthenticatedState
            | CardProperty::KeyImportSupport
            | CardProperty::EnumAlgorithms
            | CardProperty::PaddingSchemes
            | CardProperty::ChainingModes
            | CardProperty::ReadOnly
            | CardProperty::CacheMode
            | CardProperty::X509Enrollment
            | CardProperty::Guid
            | CardProperty::SerialNo
            | CardProperty::PinInfo
            | CardProperty::PinStrengthVerify
            | CardProperty::PinStrengthChange
            | CardProperty::PinStrengthUnblock => {
                if self.auth.admin {
                    Err(MdError::Unsupported("property cannot be set on this card"))
                } else {
                    Err(MdError::SecurityViolation(
                        "setting card properties needs the administrator",
                    ))
                }
            }
        }
    }

    /// `CardGetContainerProperty` for the properties that are plain values (not `CCP_CONTAINER_INFO`,
    /// which the ABI layer builds from [`CardContext::container_keys`]).
    pub(crate) fn container_property(&mut self, index: u8, property: ContainerProperty) -> Result<Vec<u8>> {
        match property {
            ContainerProperty::PinIdentifier => Ok(dwords(&[self.container(index)?.pin])),
            ContainerProperty::AssociatedEcdhKey => match self.container(index)?.associated_ecdh {
                Some(twin) => Ok(vec![twin]),
                None => Err(MdError::InvalidParameter(
                    "the container has no associated ECDH key",
                )),
            },
            ContainerProperty::ContainerInfo => Err(MdError::Unexpected(
                "CCP_CONTAINER_INFO is a CONTAINER_INFO the ABI builds".into(),
            )),
        }
    }

    /// `CardSetContainerProperty`: a container's PIN is fixed by its key's PIV PIN policy, set when the key
    /// was made (`CardCreateContainerEx` takes the PIN), and its ECDH pairing by the card's layout; setting
    /// the value it already has succeeds, any other change is unsupported.
    pub(crate) fn set_container_property(
        &mut self,
        index: u8,
        property: ContainerProperty,
        data: CallerBytes<'_>,
    ) -> Result<()> {
        let data = match data {
            CallerBytes::Read(data) => data,
            CallerBytes::Null { len } if len <= MAX_SET_LEN => {
                return Err(MdError::InvalidParameter("pbData is NULL"));
            }
            _ => return Err(MdError::InvalidParameter("cbDataLen")),
        };
        let container = self.container(index)?;
        let unchanged = match property {
            ContainerProperty::PinIdentifier => data == container.pin.to_le_bytes(),
            ContainerProperty::AssociatedEcdhKey => {
                container.associated_ecdh.is_some_and(|twin| data == [twin])
            }
            ContainerProperty::ContainerInfo => false,
        };
        match property {
            ContainerProperty::PinIdentifier | ContainerProperty::AssociatedEcdhKey => {
                if (self.auth.user || self.auth.admin) && unchanged {
                    Ok(())
                } else if self.auth.user || self.auth.admin {
                    Err(MdError::Unsupported(
                        "container bindings follow the keys' PIN policies",
                    ))
                } else {
                    Err(MdError::SecurityViolation(
                        "changing a container needs the user or administrator",
                    ))
                }
            }
            ContainerProperty::ContainerInfo => Err(MdError::Unsupported("read-only property")),
        }
    }

    /// The public-key blobs for `CardGetContainerInfo`.
    pub(crate) fn container_keys(&mut self, index: u8) -> Result<ContainerKeys> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_value_is_bounded_and_a_parent_window_must_be_one() {
        let hwnd = 0x1234usize.to_le_bytes();
        let set = |property, data| SetProperty::decode(property, data, |h| h == 0x1234);
        assert!(set(CardProperty::ParentWindow, CallerBytes::Read(&hwnd)).is_ok());
        let other = 0x99usize.to_le_bytes();
        assert!(
            set(CardProperty::ParentWindow, CallerBytes::Read(&other)).is_err(),
            "not a window"
        );
        let cleared = set(CardProperty::PinContextString, CallerBytes::Null { len: 0 }).unwrap();
        assert_eq!(cleared.value, None, "a NULL context string clears it");
        assert!(set(CardProperty::ParentWindow, CallerBytes::Null { len: 0 }).is_err());
        assert!(set(CardProperty::PinContextString, CallerBytes::Null { len: 5000 }).is_err());
        assert!(set(CardProperty::PinContextString, CallerBytes::TooLong { len: 5000 }).is_err());
    }
}
