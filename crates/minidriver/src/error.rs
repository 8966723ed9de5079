//! The card module's error type and its single mapping to interface codes.

use tessera_piv::{PivError, StatusWord, TransportError};
use thiserror::Error;

use crate::codes::*;

/// Everything a minidriver call can fail with. [`MdError::code`] is the one place where an error becomes
/// the `DWORD` the CSP sees.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MdError {
    /// NULL pointer, bad flag, bad identifier, unknown name.
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    /// A structure or interface version the module does not speak.
    #[error("revision mismatch: {0}")]
    RevisionMismatch(&'static str),
    /// Not a PIV card, or an invalid ATR.
    #[error("unknown card: {0}")]
    UnknownCard(&'static str),
    /// A zero card or context handle.
    #[error("invalid handle")]
    InvalidHandle,
    /// `pfnCspAlloc` failed.
    #[error("out of memory")]
    NoMemory,
    /// A caller buffer for a property is too small; `needed` bytes are required.
    #[error("buffer too small, {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes required.
        needed: usize,
    },
    /// An input buffer of a cryptographic call is too short (`SCARD_E_INSUFFICIENT_BUFFER`).
    #[error("insufficient buffer: {0}")]
    InsufficientBuffer(&'static str),
    /// Not implemented, by design or because the card cannot do it.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// No such directory.
    #[error("directory not found")]
    DirNotFound,
    /// No such file.
    #[error("file not found")]
    FileNotFound,
    /// A file of that name exists already (`CardCreateFile`).
    #[error("file exists")]
    FileExists,
    /// No key in that container.
    #[error("no key container")]
    NoKeyContainer,
    /// Wrong PIN; `remaining` tries are left when known.
    #[error("wrong PIN ({} tries left)", remaining.map_or_else(|| "unknown".to_string(), |n| n.to_string()))]
    WrongPin {
        /// Tries left, if the card said.
        remaining: Option<u32>,
    },
    /// The PIN is blocked.
    #[error("PIN blocked")]
    PinBlocked,
    /// The operation needs an authentication that is missing.
    #[error("security status not satisfied: {0}")]
    SecurityViolation(&'static str),
    /// The card's data could not be read or does not make sense.
    #[error("card data unreadable: {0}")]
    CommDataLost(String),
    /// Data that does not decode (the single answer to every bad decryption padding).
    #[error("invalid value")]
    InvalidValue,
    /// The card is out of space.
    #[error("card full")]
    CardFull,
    /// A transport failure (reset, removal, PC/SC error) with its PC/SC code.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A CSP callback failed with this code, which is passed through.
    #[error("CSP callback failed with 0x{0:08X}")]
    Callback(u32),
    /// Anything else.
    #[error("unexpected: {0}")]
    Unexpected(String),
}

/// Result alias.
pub type Result<T, E = MdError> = std::result::Result<T, E>;

impl MdError {
    /// The interface code for this error.
    pub fn code(&self) -> u32 {
        match self {
            Self::InvalidParameter(_) => SCARD_E_INVALID_PARAMETER,
            Self::RevisionMismatch(_) => ERROR_REVISION_MISMATCH,
            Self::UnknownCard(_) => SCARD_E_UNKNOWN_CARD,
            Self::InvalidHandle => SCARD_E_INVALID_HANDLE,
            Self::NoMemory => SCARD_E_NO_MEMORY,
            Self::BufferTooSmall { .. } => ERROR_INSUFFICIENT_BUFFER,
            Self::InsufficientBuffer(_) => SCARD_E_INSUFFICIENT_BUFFER,
            Self::Unsupported(_) => SCARD_E_UNSUPPORTED_FEATURE,
            Self::DirNotFound => SCARD_E_DIR_NOT_FOUND,
            Self::FileNotFound => SCARD_E_FILE_NOT_FOUND,
            Self::FileExists => ERROR_FILE_EXISTS,
            Self::NoKeyContainer => SCARD_E_NO_KEY_CONTAINER,
            Self::WrongPin { .. } => SCARD_W_WRONG_CHV,
            Self::PinBlocked => SCARD_W_CHV_BLOCKED,
            Self::SecurityViolation(_) => SCARD_W_SECURITY_VIOLATION,
            Self::CommDataLost(_) => SCARD_E_COMM_DATA_LOST,
            Self::InvalidValue => SCARD_E_INVALID_VALUE,
            Self::CardFull => SCARD_E_WRITE_TOO_MANY,
            Self::Transport(e) => tessera_pcsc::pcsc_code(e),
            Self::Callback(code) => *code,
            Self::Unexpected(_) => SCARD_E_UNEXPECTED,
        }
    }

    /// The tries left to report through `pcAttemptsRemaining`: the count for a wrong PIN, 0 when blocked,
    /// `(DWORD)-1` when unknown.
    pub fn attempts_remaining(&self) -> Option<u32> {
        match self {
            Self::WrongPin { remaining } => Some(remaining.unwrap_or(u32::MAX)),
            Self::PinBlocked => Some(0),
            _ => None,
        }
    }
}

impl From<PivError> for MdError {
    /// Card answers become interface codes. Data the card returns but that does not parse is
    /// `SCARD_E_COMM_DATA_LOST`: the object is there but cannot be read, which is not "file not found".
    fn from(e: PivError) -> Self {
        match e {
            PivError::Transport(t) => Self::Transport(t),
            PivError::WrongPin { retries } => Self::WrongPin {
                remaining: Some(u32::from(retries)),
            },
            PivError::Blocked => Self::PinBlocked,
            PivError::SecurityStatusNotSatisfied { command } => Self::SecurityViolation(command),
            PivError::Status { sw, command } if sw == StatusWord::NOT_ENOUGH_MEMORY => {
                let _ = command;
                Self::CardFull
            }
            PivError::Status { command, sw } => Self::Unexpected(format!("{command}: card answered {sw}")),
            PivError::MalformedResponse { .. }
            | PivError::ResponseTooLong { .. }
            | PivError::Tlv(_)
            | PivError::Apdu(_)
            | PivError::Object(_)
            | PivError::PublicKey(_) => Self::CommDataLost(e.to_string()),
            other => Self::Unexpected(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_interface_values() {
        assert_eq!(MdError::InvalidParameter("x").code(), 0x8010_0004);
        assert_eq!(MdError::RevisionMismatch("x").code(), 0x51A);
        assert_eq!(MdError::BufferTooSmall { needed: 4 }.code(), 0x7A);
        assert_eq!(MdError::Transport(TransportError::CardReset).code(), 0x8010_0068);
        assert_eq!(
            MdError::from(PivError::WrongPin { retries: 2 }).attempts_remaining(),
            Some(2)
        );
        assert_eq!(MdError::from(PivError::Blocked).code(), 0x8010_006C);
        assert_eq!(
            MdError::WrongPin { remaining: None }.attempts_remaining(),
            Some(u32::MAX)
        );
        assert_eq!(
            MdError::from(PivError::SecurityStatusNotSatisfied { command: "GA" }).code(),
            0x8010_006A
        );
    }
}
