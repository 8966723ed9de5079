//! The crate's error type, for everything that is not a single APDU exchange (those report
//! [`TransportError`]).

use thiserror::Error;

use tessera_piv::TransportError;

use crate::codes::{SCARD_E_UNKNOWN_READER, transport_error};

/// Why a PC/SC operation other than an APDU exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PcscError {
    /// A winscard call returned an error code.
    #[error("{operation} failed with PC/SC error 0x{code:08X}")]
    Call {
        /// The winscard function, e.g. `SCardConnect`.
        operation: &'static str,
        /// The `SCARD_*` code.
        code: u32,
    },
    /// No reader has exactly this name.
    #[error("no reader named {name:?} (readers: {available:?})")]
    UnknownReader {
        /// The name asked for.
        name: String,
        /// The readers that exist.
        available: Vec<String>,
    },
    /// No reader has a card in it.
    #[error("no reader has a card (readers: {available:?})")]
    NoCard {
        /// The readers that exist.
        available: Vec<String>,
    },
    /// A reader name cannot be passed to PC/SC (it contains a NUL byte).
    #[error("reader name {0:?} contains a NUL byte")]
    InvalidReaderName(String),
}

impl PcscError {
    pub(crate) fn call(operation: &'static str, error: pcsc::Error) -> Self {
        Self::Call {
            operation,
            code: error as u32,
        }
    }

    /// The PC/SC code behind this error, when there is one.
    pub fn code(&self) -> Option<u32> {
        match self {
            Self::Call { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<PcscError> for TransportError {
    fn from(error: PcscError) -> Self {
        match error {
            PcscError::Call { code, .. } => transport_error(code),
            PcscError::NoCard { .. } => TransportError::NoCard,
            PcscError::UnknownReader { .. } | PcscError::InvalidReaderName(_) => {
                transport_error(SCARD_E_UNKNOWN_READER)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_errors_keep_the_code_of_the_pcsc_error() {
        let e = PcscError::call("SCardConnect", pcsc::Error::SharingViolation);
        assert_eq!(e.code(), Some(0x8010_000B));
        assert_eq!(e.to_string(), "SCardConnect failed with PC/SC error 0x8010000B");
    }

    #[test]
    fn conversion_to_transport_error_classifies_resets_and_removals() {
        let reset = PcscError::call("SCardBeginTransaction", pcsc::Error::ResetCard);
        assert_eq!(TransportError::from(reset), TransportError::CardReset);
        let removed = PcscError::call("SCardStatus", pcsc::Error::RemovedCard);
        assert_eq!(TransportError::from(removed), TransportError::CardRemoved);
        let other = PcscError::call("SCardConnect", pcsc::Error::NoService);
        assert_eq!(TransportError::from(other), transport_error(0x8010_001D));
        let none = PcscError::NoCard { available: vec![] };
        assert_eq!(TransportError::from(none), TransportError::NoCard);
        let unknown = PcscError::UnknownReader {
            name: "x".into(),
            available: vec![],
        };
        assert_eq!(
            crate::pcsc_code(&TransportError::from(unknown)),
            SCARD_E_UNKNOWN_READER
        );
    }
}
