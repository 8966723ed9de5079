//! A software PIV card (SP 800-73-4 card side) with the YubiKey 5.7 extensions, for testing every
//! Tessera path without hardware and for third-party PIV tools to use as a card.
//!
//! # Ways in
//! * In-process: [`VirtualCard`] implements [`tessera_piv::Transport`]; [`SharedCard`] hands out several
//!   `Send` connections to one card with PC/SC reset semantics.
//! * Through pcscd: [`vpcd::serve`] attaches the card to a vsmartcard `vpcd` reader (the
//!   `tessera-virtual-card` binary does this).
//!
//! # Structure
//! Bytes are reassembled by [`framing`] (chaining, `61xx`/GET RESPONSE, extended length), parsed into a
//! [`Command`] whose types enforce the specification ([`command`]), then executed by one `match`
//! ([`execute`]). State is split into volatile and persistent parts ([`state`]); persistent state lives
//! in a [`Store`] (memory, or a JSON file replaced atomically after each change).
//!
//! # How it behaves (and where it knowingly differs from a YubiKey 5.7)
//! * The default management key is **3DES** with the well-known bytes `0102…08` ×3, because Debian 12's
//!   yubico-piv-tool 2.2 speaks only 3DES. A real 5.7 ships AES-192 with the same bytes; choose that with
//!   [`CardConfig::management_algorithm`] (`--mgm-algorithm aes192` on the binary).
//! * SELECT answers YubiKey's application property template plus an `AC` list of the supported
//!   algorithms (a YubiKey sends no `AC`). The 5-, 9- and 11-byte AID forms select PIV; the Yubico
//!   management AID selects an "other" application (which logs PIV out, as libykpiv expects); anything
//!   else is `6A82`.
//! * A fresh card holds a CHUID (libykpiv template, random GUID), a CCC, the YubiKey discovery object, and
//!   an attestation key in F9 with a self-signed certificate in 5FFF01 — a P-256 key, where a YubiKey
//!   has an RSA-2048 key certified by Yubico.
//! * Objects: tags 5F0000–5FFFFF, 7E and 7F61; at most [`execute::MAX_OBJECT_LEN`] bytes each (a
//!   3052-byte certificate fits) and [`execute::MAX_TOTAL_OBJECT_BYTES`] in total, `6A84` beyond.
//! * New PIN/PUK values must be 6–8 ASCII bytes with `FF` padding only at the end (`6985` otherwise);
//!   there is no complexity policy. A wrong PIN answers `63Cx`, the last failure `63C0`, then `6983`.
//! * GENERAL AUTHENTICATE on an empty slot or with a P1 that is not the key's algorithm answers `6A80`
//!   (as a YubiKey); ATTEST of an empty slot or an imported key answers `6A80`; GET METADATA of an
//!   empty slot answers `6A82`; unknown key or PIN references answer `6A88`.
//! * ECDSA signatures are deterministic (RFC 6979); the hash is truncated to the field size.
//! * Touch policies are recorded and reported; touch is simulated as always given.
//! * See [`framing`] for the chaining and GET RESPONSE choices.
//! * With [`VirtualCard::enable_test_faults`] (`--test-faults`), a proprietary instruction switches on
//!   faults a harness needs to test against, such as a malformed GET METADATA answer
//!   ([`test_faults`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attestation;
pub mod bridge;
mod card;
pub mod command;
mod config;
mod error;
pub mod execute;
pub mod framing;
pub mod instruments;
pub mod keys;
mod rng;
pub mod secret;
mod shared;
pub mod state;
pub mod store;
pub mod test_faults;
pub mod vpcd;

pub use card::{ATR, VirtualCard};
pub use command::Command;
pub use config::{CardConfig, DEFAULT_SERIAL, DEFAULT_VERSION};
pub use error::VirtualCardError;
pub use instruments::{Trace, TraceSink};
pub use rng::CardRng;
pub use shared::{CardConnection, SharedCard};
pub use store::Store;
