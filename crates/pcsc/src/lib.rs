//! PC/SC transports for [`tessera_piv`]: both implement [`tessera_piv::Transport`].
//!
//! - [`OwnedCard`] opens its own connection through the `pcsc` crate (context, reader list, shared
//!   connection, transactions, reconnect after a reset). The CLI and the tests use it.
//! - [`BorrowedCard`] sends APDUs on a raw `SCARDHANDLE` that someone else owns, the Base CSP's `hScard`
//!   in the minidriver or the conformance harness's connection. It never disconnects and has no `Drop`.
//! - [`RawContext`] and [`RawConnection`] own a context and connections whose raw handles the caller
//!   hands on, as the conformance harness, playing the CSP, fills `CARD_DATA`.
//!
//! [`transport_error`] and [`pcsc_code`] are the one mapping between `SCARD_*` codes and
//! [`TransportError`](tessera_piv::TransportError), used by these transports and by the card module.
//!
//! Both follow one rule for resets: when the resource manager says the card was reset
//! (`SCARD_W_RESET_CARD`), the transport reconnects with `SCARD_LEAVE_CARD` and reports
//! [`TransportError::CardReset`](tessera_piv::TransportError::CardReset) for that exchange. The APDU was
//! not delivered; [`tessera_piv::Session`] forgets its selection and selects again on the next command.
//!
//! This is the only library crate with `unsafe` besides the minidriver's ABI module; all of it is in the
//! winscard binding (`winscard`) and the types that call it on handles ([`BorrowedCard`], [`RawContext`],
//! [`RawConnection`]).
#![warn(missing_docs)]

mod borrowed;
pub mod codes;
mod error;
mod exchange;
mod handles;
mod owned;
mod protocol;
mod winscard;

pub use borrowed::BorrowedCard;
pub use codes::{PcscCode, pcsc_code, transport_error};
pub use error::PcscError;
pub use handles::{RawConnection, RawContext};
pub use owned::{CardTransaction, OwnedCard};
pub use protocol::{Disposition, Protocol};

/// Size of the receive buffer for one exchange: the largest extended-length response (65 536 data
/// bytes) plus the status word.
pub const RECEIVE_BUFFER_LEN: usize = 65_536 + 2;
