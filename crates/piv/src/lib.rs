//! Everything a host needs to drive a PIV card, as values and pure functions: APDUs, BER-TLV, status
//! words, commands (SP 800-73-4 Part 2 and the YubiKey 5.7 extensions), data objects, management-key
//! cryptography, and [`Session`], which frames commands once for every [`Transport`].
//!
//! No I/O happens here: transports (PC/SC, the virtual card, test scripts) live elsewhere.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod algorithm;
pub mod apdu;
pub mod atr;
pub mod commands;
pub mod error;
pub mod hex;
pub mod key_ref;
pub mod mgm;
pub mod objects;
pub mod pin;
pub mod policy;
pub mod public_key;
pub mod redact;
pub mod session;
pub mod sw;
pub mod tlv;
pub mod transport;

pub use algorithm::{AlgorithmId, ManagementAlgorithm};
pub use apdu::{Command, ParsedCommand, Response};
pub use atr::CardCapabilities;
pub use error::{PivError, Result};
pub use key_ref::KeyRef;
pub use mgm::ManagementKey;
pub use pin::PaddedPin;
pub use policy::{PinPolicy, TouchPolicy};
pub use public_key::PublicKey;
pub use session::{
    BackendError, PinStatus, Session, SessionOptions, SlotMetadata, Transport, TransportError,
};
pub use sw::StatusWord;
