//! Tessera's Windows smart card minidriver (card module) for PIV cards.
//!
//! The Base Smart Card CSP and the Smart Card KSP load the DLL, call [`CardAcquireContext`], and reach
//! the card only through the `CARD_DATA` function table it fills (interface version 7, also 4–6).
//! All `unsafe` code is in the `abi` module; the rest is the module's safe model of a PIV card: the
//! minidriver file system, containers, PIN roles and properties, written against `tessera_piv::Session`.
//!
//! Besides the DLL's exports, the crate offers Rust callers [`acquire_context_with_transport`] (the
//! module over an in-process transport) and [`acquire_context_with_policy`] (the same with a chosen
//! [`WritePolicy`]), [`panics_caught`], the [`log`] settings, the [`registration`]
//! data, and in [`card`] the module's model of a card for tools.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod abi;
mod acquire;
mod admin;
mod agreement;
mod atr;
mod auth;
mod card_map;
mod cert;
mod codes;
mod containers;
mod context;
mod crypto;
mod decryption;
mod enroll;
mod error;
mod fs;
mod fs_write;
mod identity;
mod input;
mod key_import;
mod keyblob;
mod link;
pub mod log;
mod pin_admin;
mod pins;
mod policy;
mod properties;
pub mod registration;
mod retry;
mod scan_cache;
mod signing;
mod slots;
#[cfg(test)]
mod testing;
mod utf16;
mod watch;
mod write_rights;
#[cfg(test)]
mod write_tests;

pub use abi::builtin::{acquire_context_with_policy, acquire_context_with_transport};
#[cfg(windows)]
pub use abi::with_card_type_database;
pub use abi::{CardAcquireContext, panics_caught};
pub use error::{MdError, Result};
pub use policy::WritePolicy;

/// The card module's model of a card outside the C ABI, for tools that read or repair a card with the
/// module's own rules (`tessera container-map repair`): the same slot scan, container layout and
/// identity as the DLL.
pub mod card {
    pub use crate::containers::{SlotContents, rebuilt_map};
    pub use crate::context::{CardContext, FRESHNESS_OBJECT};
    pub use crate::identity::{CardIdentity, IdSource};
    pub use crate::link::{CardLink, Injected};
}

/// What the crate's own benchmark measures (`benches/unpad_timing.rs`: the in-module unpadding of
/// `CardRSADecrypt`, which must take the same time for every invalid padding). Not an interface.
pub mod bench {
    pub use crate::crypto::hash::HashAlg;
    pub use crate::decryption::{DecryptPadding, unpad};
}
