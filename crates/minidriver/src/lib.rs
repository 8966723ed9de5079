//! Tessera's Windows smart card minidriver (card module) for PIV cards.
//!
//! The Base Smart Card CSP and the Smart Card KSP load the DLL, call [`CardAcquireContext`], and reach
//! the card only through the `CARD_DATA` function table it fills (interface version 7, also 4–6).
//! All `unsafe` code is in [`abi`]; the rest is the module's safe model of a PIV card: the minidriver
//! file system, containers, PIN roles and properties, written against `tessera_piv::Session`.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![expect(
    rustdoc::private_intra_doc_links,
    reason = "`cargo doc -D warnings` is new in the unit tier; two public docs (agreement.rs, auth.rs) link \
              private helpers until the minidriver's own maintenance pass"
)]

pub mod abi;
mod acquire;
pub mod admin;
pub mod agreement;
pub mod atr;
pub mod auth;
pub mod cert;
pub mod codes;
pub mod containers;
pub mod context;
pub mod crypto;
pub mod decryption;
pub mod error;
pub mod fs;
pub mod identity;
mod input;
pub mod keyblob;
pub mod link;
pub mod log;
pub mod pins;
pub mod properties;
pub mod registration;
pub mod signing;
mod utf16;

pub use abi::CardAcquireContext;
pub use abi::builtin::acquire_context_with_transport;
pub use error::{MdError, Result};
