//! The library's error type: one enum, with typed payloads where callers act on them.

use thiserror::Error;

use crate::apdu::ApduError;
use crate::mgm::ManagementKeyError;
use crate::objects::ObjectError;
use crate::pin::PinFormatError;
use crate::public_key::PublicKeyError;
use crate::session::TransportError;
use crate::sw::StatusWord;
use crate::tlv::TlvError;

/// Everything that can go wrong while talking PIV.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PivError {
    /// The transport failed (PC/SC error, reset, removal, I/O).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Verification failed; `retries` tries are left (`63Cx`).
    #[error("wrong PIN or PUK, {retries} tries left")]
    WrongPin {
        /// Tries left.
        retries: u8,
    },
    /// The PIN or PUK is blocked (`6983`).
    #[error("PIN or PUK blocked")]
    Blocked,
    /// The operation needs a PIN, management key or touch that is not satisfied (`6982`).
    #[error("security status not satisfied for {command}")]
    SecurityStatusNotSatisfied {
        /// Command that was refused.
        command: &'static str,
    },
    /// Any other status word the command does not expect.
    #[error("{command} failed with status {sw}")]
    Status {
        /// Command that failed.
        command: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// The card's answer does not have the structure the command defines.
    #[error("malformed response to {command}: {reason}")]
    MalformedResponse {
        /// Command.
        command: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The card sent more response data than this session accepts.
    #[error("response longer than {limit} bytes")]
    ResponseTooLong {
        /// The limit.
        limit: usize,
    },
    /// The card failed to prove knowledge of the management key during mutual authentication.
    #[error("the card's answer to the host challenge is wrong")]
    CardAuthenticationFailed,
    /// A TLV structure is broken.
    #[error(transparent)]
    Tlv(#[from] TlvError),
    /// An APDU could not be built or parsed.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// A data object is invalid.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// A management key is unusable.
    #[error(transparent)]
    ManagementKey(#[from] ManagementKeyError),
    /// A PIN cannot be encoded.
    #[error(transparent)]
    PinFormat(#[from] PinFormatError),
    /// A public key from the card is invalid.
    #[error(transparent)]
    PublicKey(#[from] PublicKeyError),
    /// A caller-supplied argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

impl PivError {
    /// Maps a non-success status word to the error a command reports.
    pub fn from_status(command: &'static str, sw: StatusWord) -> Self {
        if let Some(retries) = sw.retries() {
            return Self::WrongPin { retries };
        }
        match sw {
            StatusWord::AUTH_METHOD_BLOCKED => Self::Blocked,
            StatusWord::SECURITY_STATUS_NOT_SATISFIED => Self::SecurityStatusNotSatisfied { command },
            _ => Self::Status { command, sw },
        }
    }

    /// A malformed-response error.
    pub fn malformed(command: &'static str, reason: impl Into<String>) -> Self {
        Self::MalformedResponse {
            command,
            reason: reason.into(),
        }
    }

    /// The status word behind this error, when the card answered with one.
    pub fn status_word(&self) -> Option<StatusWord> {
        match self {
            Self::WrongPin { retries } => Some(StatusWord::verify_failed(*retries)),
            Self::Blocked => Some(StatusWord::AUTH_METHOD_BLOCKED),
            Self::SecurityStatusNotSatisfied { .. } => Some(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
            Self::Status { sw, .. } => Some(*sw),
            _ => None,
        }
    }

    /// True when the card was reset or removed (volatile state such as PIN verification is gone).
    pub fn is_reset_or_removed(&self) -> bool {
        matches!(
            self,
            Self::Transport(TransportError::CardReset | TransportError::CardRemoved)
        )
    }
}

/// Result alias for this crate.
pub type Result<T, E = PivError> = std::result::Result<T, E>;
