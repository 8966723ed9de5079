//! PIV data objects (SP 800-73-4 Part 1 Appendix A) and the Yubico vendor objects, one module each,
//! each with `TryFrom<&[u8]>` (the content inside the `53` wrapper, which is what
//! [`Session::get_data`](crate::Session::get_data) returns) and `encode` (the content to give
//! [`Session::put_data`](crate::Session::put_data)).
//!
//! Every parser treats the bytes as hostile: the TLV structure must cover the whole content (no
//! truncation, no trailing garbage), fixed-size elements must have their size, and nothing allocates
//! more than the input (or, for compressed certificates, a fixed bound). Unknown elements are skipped
//! so that newer cards still parse; the admin and PIN-protected objects keep them for writing back.
//!
//! The main types are re-exported here; each module also holds its object's constants and helpers.

/// Asserts (in the objects' tests) that parsing `$bytes` as `$object` fails with an error matching
/// `$error`, and shows what the parser returned when it does not.
#[cfg(test)]
macro_rules! assert_refuses {
    ($object:ty, $bytes:expr, $error:pat) => {{
        let parsed = <$object>::try_from(&$bytes[..]);
        assert!(matches!(parsed, Err($error)), "{parsed:?}");
    }};
}

pub mod admin_data;
mod application_properties;
pub mod ccc;
pub mod certificate;
pub mod chuid;
pub mod container_map;
pub mod discovery;
pub mod key_history;
pub mod printed_info;
pub mod protected_data;
pub mod root_store;
pub mod security_object;

pub use admin_data::{AdminData, FLAG_MANAGEMENT_KEY_PROTECTED, FLAG_PUK_BLOCKED};
pub use application_properties::ApplicationProperties;
pub use ccc::{Ccc, YUBICO_CARD_IDENTIFIER_PREFIX};
pub use certificate::{
    CertificateObject, Compression, MAX_CERTIFICATE_LEN, decompress as decompress_certificate,
};
pub use chuid::{
    CardIdentifier, Chuid, YUBICO_TEMPLATE_EXPIRATION, YUBICO_TEMPLATE_FASC_N, is_non_government_fasc_n,
};
pub use container_map::{
    CMAP_RECORD_LEN, CONTAINER_MAP_DEFAULT_CONTAINER, CONTAINER_MAP_VALID_CONTAINER, CmapRecord,
    ContainerMap, ContainerRecord, MAX_RECORDS as MAX_CONTAINER_RECORDS, RECORD_LEN as CONTAINER_RECORD_LEN,
    key_spec,
};
pub use discovery::{Discovery, policy as pin_usage_policy};
pub use key_history::KeyHistory;
pub use printed_info::PrintedInformation;
pub use protected_data::{FLAG_PUK_NOBLOCK_ON_UPGRADE, ProtectedData};
pub use root_store::{
    MAX_BLOB as MAX_ROOT_STORE_LEN, MAX_CHUNK as MAX_ROOT_STORE_CHUNK, RootStoreAssembler, RootStoreChunk,
    split as split_root_store,
};
pub use security_object::SecurityObject;

use thiserror::Error;

use crate::tlv::{self, Tlv, TlvError};

/// Largest object content a YubiKey stores (inside the `53` wrapper): libykpiv's `CB_OBJ_MAX`, the
/// 3072-byte PUT DATA buffer minus `5C 03 tag` and `53 82 LL LL`. (Yubico's documents quote "about
/// 3052 bytes" for a certificate: a little less, because of the certificate object's own tags.)
pub const YUBICO_MAX_OBJECT_CONTENT: usize = 3063;

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
    /// The object is empty (`53 00`, or a certificate object with an empty `70`): a deleted object,
    /// which callers treat as absent.
    #[error("{object}: empty (deleted) object")]
    Empty {
        /// Object name.
        object: &'static str,
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

/// Parses `data` as a sequence of TLVs that must cover every byte.
/// The content of an object as read: an empty one (`53 00`) is a deleted object, [`ObjectError::Empty`].
fn stored<'a>(object: &'static str, data: &'a [u8]) -> Result<&'a [u8], ObjectError> {
    if data.is_empty() {
        Err(ObjectError::Empty { object })
    } else {
        Ok(data)
    }
}

fn elements<'a>(object: &'static str, data: &'a [u8]) -> Result<Vec<Tlv<'a>>, ObjectError> {
    tlv::parse_all(data).map_err(ObjectError::tlv(object))
}

/// The value of the first element with `tag`, checked to be exactly `N` bytes long.
fn fixed<const N: usize>(
    object: &'static str,
    elements: &[Tlv<'_>],
    tag: u32,
) -> Result<Option<[u8; N]>, ObjectError> {
    match tlv::find(elements, tag) {
        None => Ok(None),
        Some(value) => value.try_into().map(Some).map_err(|_| {
            ObjectError::invalid(
                object,
                format!("element {tag:X} has {} bytes instead of {N}", value.len()),
            )
        }),
    }
}

/// Like [`fixed`], but the element is mandatory.
fn required_fixed<const N: usize>(
    object: &'static str,
    elements: &[Tlv<'_>],
    tag: u32,
) -> Result<[u8; N], ObjectError> {
    fixed(object, elements, tag)?.ok_or(ObjectError::Missing { object, tag })
}

/// Finishes a [`tlv::Builder`], naming the object in the error.
fn finish(object: &'static str, builder: tlv::Builder) -> Result<Vec<u8>, ObjectError> {
    builder.finish().map_err(ObjectError::tlv(object))
}
