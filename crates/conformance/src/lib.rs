//! tessera-conformance plays the Base Smart Card CSP against a card module: it builds `CARD_DATA` with
//! its own callbacks (a counting allocator with failure injection, a data cache that follows the
//! `cardcf` freshness protocol, padding), loads a minidriver by path (`libloading`) or links Tessera's
//! in, connects it to a card (PC/SC, or an in-process virtual card), and runs suites of named cases with
//! the codes the Minidriver Specification and Microsoft's certification kit expect.
//!
//! All `unsafe` code is in [`ffi`]; everything else is safe.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod blobs;
pub mod card;
pub mod codes;
pub mod ffi;
pub mod fixture;
pub mod harness;
pub mod oracle;
pub mod report;
pub mod runner;
pub mod suites;

pub use harness::{Harness, Verdict};
pub use report::Report;
