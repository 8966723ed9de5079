//! PIV data objects (SP 800-73-4 Part 1 Appendix A) and the Yubico vendor objects, one module each,
//! each with `TryFrom<&[u8]>` (the content inside the `53` wrapper) and `encode`.

mod application_properties;

pub use application_properties::ApplicationProperties;

use thiserror::Error;

use crate::tlv::TlvError;

/// Object tags (the value after `5C` in GET/PUT DATA).
pub mod tags {
    /// Card Capability Container.
    pub const CCC: u32 = 0x5FC107;
    /// Card Holder Unique Identifier.
    pub const CHUID: u32 = 0x5FC102;
    /// Discovery object.
    pub const DISCOVERY: u32 = 0x7E;
    /// Key history object.
    pub const KEY_HISTORY: u32 = 0x5FC10C;
    /// Printed information (on YubiKeys: the PIN-protected data object).
    pub const PRINTED_INFORMATION: u32 = 0x5FC109;
    /// Security object.
    pub const SECURITY_OBJECT: u32 = 0x5FC106;
    /// Cardholder fingerprints.
    pub const FINGERPRINTS: u32 = 0x5FC103;
    /// Cardholder facial image.
    pub const FACIAL_IMAGE: u32 = 0x5FC108;
    /// Cardholder iris images.
    pub const IRIS_IMAGES: u32 = 0x5FC121;
    /// Biometric information templates group template.
    pub const BITGT: u32 = 0x7F61;
    /// Secure messaging certificate signer.
    pub const SM_CERT_SIGNER: u32 = 0x5FC122;
    /// Pairing code reference data container.
    pub const PAIRING_CODE: u32 = 0x5FC123;
    /// Yubico administrative data.
    pub const YUBICO_ADMIN_DATA: u32 = 0x5FFF00;
    /// Yubico attestation certificate (slot F9).
    pub const YUBICO_ATTESTATION: u32 = 0x5FFF01;
    /// Yubico minidriver container map.
    pub const YUBICO_CONTAINER_MAP: u32 = 0x5FFF10;
    /// First of the five Yubico minidriver root-store objects (5FFF11–5FFF15).
    pub const YUBICO_ROOTS_FIRST: u32 = 0x5FFF11;
    /// Last Yubico root-store object.
    pub const YUBICO_ROOTS_LAST: u32 = 0x5FFF15;

    /// True for the standard PIV object tags of SP 800-73-4 (5FC101–5FC123, 7E, 7F61).
    pub const fn is_standard(tag: u32) -> bool {
        matches!(tag, 0x5FC101..=0x5FC123 | 0x7E | 0x7F61)
    }

    /// True for the vendor range a YubiKey accepts (5FFF00–5FFFFF).
    pub const fn is_yubico_vendor(tag: u32) -> bool {
        matches!(tag, 0x5FFF00..=0x5FFFFF)
    }
}

/// Why a data object could not be parsed or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// The TLV structure is broken.
    #[error("{object}: {source}")]
    Tlv {
        /// Object name.
        object: &'static str,
        /// The TLV problem.
        source: TlvError,
    },
    /// A mandatory element is missing.
    #[error("{object}: missing element {tag:X}")]
    Missing {
        /// Object name.
        object: &'static str,
        /// The element's tag.
        tag: u32,
    },
    /// An element has an impossible value.
    #[error("{object}: {reason}")]
    Invalid {
        /// Object name.
        object: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The object is too large for the card or the encoding.
    #[error("{object}: {size} bytes exceed the limit of {limit}")]
    TooLarge {
        /// Object name.
        object: &'static str,
        /// Size needed.
        size: usize,
        /// Limit.
        limit: usize,
    },
}

impl ObjectError {
    /// A TLV error inside `object`.
    pub fn tlv(object: &'static str) -> impl Fn(TlvError) -> Self {
        move |source| Self::Tlv { object, source }
    }

    /// An invalid-value error.
    pub fn invalid(object: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            object,
            reason: reason.into(),
        }
    }
}
