//! The crate's error type (card-internal failures; protocol errors are status words, not errors).

use thiserror::Error;

/// What can go wrong around the card: its state file, its random source, the vpcd connection.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VirtualCardError {
    /// Reading or writing the state file failed.
    #[error("state file {path}: {source}")]
    StateIo {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The state file does not hold a card this version understands.
    #[error("state file {path} is not a valid card: {reason}")]
    StateFormat {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("random source unavailable: {0}")]
    Random(String),
    /// A cryptographic operation on card-generated material failed (should not happen).
    #[error("card cryptography failed: {0}")]
    Crypto(String),
    /// The vpcd connection failed.
    #[error("vpcd connection: {0}")]
    Vpcd(#[from] std::io::Error),
}
