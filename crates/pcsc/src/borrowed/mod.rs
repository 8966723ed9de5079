//! [`BorrowedCard`]: APDUs over a card handle that someone else owns (the Base CSP's `hScard`).
//!
//! Its constructor is `unsafe` (the caller vouches for a handle it does not give away), and its link
//! calls the `winscard` binding on that handle.
#![allow(unsafe_code, reason = "the handle's contract, and the winscard calls on it")]

use tessera_piv::{Transport, TransportError};

use crate::exchange::{self, LinkState, RawLink};
use crate::protocol::{Disposition, Protocol};
use crate::winscard;

/// A transport over a raw `SCARDHANDLE` owned by the caller.
///
/// It calls `SCardTransmit` on the handle itself (pcsc-lite through `pcsc-sys` on Linux and macOS,
/// winscard through `windows-sys` on Windows), never disconnects it and has no `Drop`. When the card was
/// reset it reconnects the *borrowed* handle with `SCARD_SHARE_SHARED`, T=0|T=1, `SCARD_LEAVE_CARD` (as
/// OpenSC's reader layer does in minidriver mode) and reports [`TransportError::CardReset`] for that
/// exchange. It cannot [`reset`](Transport::reset) the card: it does not own it.
///
/// The PCI header follows the stored protocol: T=1 until told otherwise
/// ([`set_protocol`](Self::set_protocol), [`refresh_protocol`](Self::refresh_protocol)) or until a
/// reconnect reports another one. If the resource manager refuses an APDU for a protocol mismatch, the
/// card's protocol is queried (`SCardStatus`) and the APDU is sent once more.
///
/// # Why the constructor is `unsafe`
/// A card handle is an opaque integer, but not every implementation treats it as one: Wine's winscard,
/// the one the Windows build runs under in CI, casts it to a pointer and reads through it. A stale or
/// made-up handle is then a read of freed or arbitrary memory, not an error code. So the caller
/// promises that the handle is live, which the type system cannot check.
#[derive(Debug)]
pub struct BorrowedCard {
    handle: usize,
    state: LinkState,
}

impl BorrowedCard {
    /// Wraps `handle`; the protocol is assumed to be T=1.
    ///
    /// # Safety
    /// `handle` must be a card handle returned by `SCardConnect` in this process, and it must stay
    /// connected (not passed to `SCardDisconnect`, its context not released) for as long as this value
    /// sends APDUs on it, i.e. until it is dropped or re-pointed with [`set_handle`](Self::set_handle).
    /// Several threads must not use the handle at the same time through different values.
    pub unsafe fn from_raw(handle: usize) -> Self {
        Self {
            handle,
            state: LinkState::default(),
        }
    }

    /// Points this transport at another handle (the CSP may give a different `hScard` on each call).
    /// The stored protocol is kept.
    ///
    /// # Safety
    /// The same as for [`from_raw`](Self::from_raw), for the new handle.
    pub unsafe fn set_handle(&mut self, handle: usize) {
        self.handle = handle;
    }

    /// The handle APDUs are sent on.
    pub fn handle(&self) -> usize {
        self.handle
    }

    /// The protocol whose PCI header is sent.
    pub fn protocol(&self) -> Protocol {
        self.state.protocol
    }

    /// Sets the protocol, e.g. from the `pdwActiveProtocol` of the caller's `SCardConnect`.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.state.protocol = protocol;
    }

    /// Asks the resource manager for the handle's active protocol (`SCardStatus`) and stores it.
    /// A reset noticed here is handled as in an exchange: reconnect, then [`TransportError::CardReset`].
    pub fn refresh_protocol(&mut self) -> Result<Protocol, TransportError> {
        let mut link = self.link();
        match link.active_protocol() {
            Ok(Some(protocol)) => {
                self.state.protocol = protocol;
                Ok(protocol)
            }
            Ok(None) => Err(TransportError::Unsupported("a protocol other than T=0 or T=1")),
            Err(code) => Err(exchange::failure(&mut link, &mut self.state, code)),
        }
    }

    fn link(&self) -> Handle {
        Handle(self.handle)
    }
}

impl Transport for BorrowedCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        exchange::exchange(&mut self.link(), &mut self.state, apdu)
    }

    /// Always [`TransportError::Unsupported`]: the card belongs to the handle's owner.
    fn reset(&mut self) -> Result<(), TransportError> {
        Err(TransportError::Unsupported("reset of a borrowed card handle"))
    }
}

/// A live card handle: only built from a [`BorrowedCard`], whose constructor's contract makes it live.
struct Handle(usize);

impl RawLink for Handle {
    fn transmit(&mut self, protocol: Protocol, apdu: &[u8], receive: &mut [u8]) -> Result<usize, u32> {
        // SAFETY: `self.0` comes from a `BorrowedCard`, whose `from_raw`/`set_handle` contract keeps the
        // handle connected while the `BorrowedCard` is used, which it is now (this value lives only
        // during one of its method calls).
        unsafe { winscard::transmit(self.0, protocol, apdu, receive) }
    }

    fn reconnect(&mut self, disposition: Disposition) -> Result<Option<Protocol>, u32> {
        // SAFETY: as in `transmit`: the handle is live during this call.
        unsafe { winscard::reconnect(self.0, disposition) }
    }

    fn active_protocol(&mut self) -> Result<Option<Protocol>, u32> {
        // SAFETY: as in `transmit`: the handle is live during this call.
        unsafe { winscard::active_protocol(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unused_card() -> BorrowedCard {
        // SAFETY: no test below reaches the resource manager through this value (reset and the
        // accessors do not call winscard).
        unsafe { BorrowedCard::from_raw(0x1234) }
    }

    #[test]
    fn a_borrowed_card_never_resets_the_card() {
        let mut card = unused_card();
        assert_eq!(
            card.reset(),
            Err(TransportError::Unsupported("reset of a borrowed card handle"))
        );
    }

    #[test]
    fn the_handle_can_be_repointed_and_the_protocol_is_kept() {
        let mut card = unused_card();
        assert_eq!(card.handle(), 0x1234);
        assert_eq!(card.protocol(), Protocol::T1);
        card.set_protocol(Protocol::T0);
        // SAFETY: see `unused_card`.
        unsafe { card.set_handle(0x5678) };
        assert_eq!(card.handle(), 0x5678);
        assert_eq!(card.protocol(), Protocol::T0);
    }

    #[test]
    fn a_borrowed_card_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<BorrowedCard>();
    }
}
