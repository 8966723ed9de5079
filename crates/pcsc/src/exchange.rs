//! One APDU exchange, the same for [`OwnedCard`](crate::OwnedCard) and
//! [`BorrowedCard`](crate::BorrowedCard): transmit, and on `SCARD_W_RESET_CARD` reconnect with
//! `SCARD_LEAVE_CARD` and report [`TransportError::CardReset`]. Written against [`RawLink`] so the
//! rules are tested without a resource manager.

use std::fmt;

use tessera_piv::TransportError;
use zeroize::{Zeroize, Zeroizing};

use crate::RECEIVE_BUFFER_LEN;
use crate::codes::{SCARD_E_PROTO_MISMATCH, SCARD_W_RESET_CARD, transport_error};
use crate::protocol::{Disposition, Protocol};

/// The three winscard calls an exchange may need, with raw `SCARD_*` codes as errors.
pub(crate) trait RawLink {
    /// `SCardTransmit` with the PCI of `protocol`; the number of response bytes written to `receive`.
    fn transmit(&mut self, protocol: Protocol, apdu: &[u8], receive: &mut [u8]) -> Result<usize, u32>;

    /// `SCardReconnect(SCARD_SHARE_SHARED, T0|T1, disposition)`; the new active protocol, when known.
    fn reconnect(&mut self, disposition: Disposition) -> Result<Option<Protocol>, u32>;

    /// The connection's active protocol (`SCardStatus`), when it is one this crate can use.
    fn active_protocol(&mut self) -> Result<Option<Protocol>, u32>;
}

/// What an exchange remembers between calls.
#[derive(Debug, Default)]
pub(crate) struct LinkState {
    /// The protocol whose PCI header is sent.
    pub(crate) protocol: Protocol,
    /// A reset was seen outside an exchange (e.g. by `SCardBeginTransaction`) and not yet reported.
    pub(crate) reset_pending: bool,
    /// The response buffer, reused by every exchange of the connection.
    pub(crate) receive: ReceiveBuffer,
}

impl LinkState {
    /// A fresh state for a connection using `protocol`.
    pub(crate) fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            ..Self::default()
        }
    }
}

/// The buffer `SCardTransmit` writes the answer into: allocated at the first exchange and kept for the
/// connection's lifetime, since the largest answer needs 64 KiB. An answer may hold decrypted data or key
/// material, so after every exchange the bytes the resource manager wrote are wiped (all of them when it
/// failed or reported an impossible length), and the whole buffer when the connection goes away.
#[derive(Default)]
pub(crate) struct ReceiveBuffer(Zeroizing<Vec<u8>>);

/// What `SCardTransmit` left in the buffer.
enum Received {
    /// The answer (a copy; the buffer is wiped).
    Answer(Vec<u8>),
    /// A length larger than the buffer: a broken resource manager.
    ImpossibleLength(usize),
}

impl ReceiveBuffer {
    /// Lets `transmit` write an answer into the buffer and copies it out, then wipes what was written.
    fn transmit_into(
        &mut self,
        transmit: impl FnOnce(&mut [u8]) -> Result<usize, u32>,
    ) -> Result<Received, u32> {
        if self.0.len() != RECEIVE_BUFFER_LEN {
            self.0.resize(RECEIVE_BUFFER_LEN, 0);
        }
        let received = transmit(&mut self.0).map(|len| match self.0.get(..len) {
            Some(answer) => Received::Answer(answer.to_vec()),
            None => Received::ImpossibleLength(len),
        });
        // Only the answer was written, unless the call failed or its length is not to be trusted.
        let written = match &received {
            Ok(Received::Answer(answer)) => answer.len(),
            _ => self.0.len(),
        };
        if let Some(used) = self.0.get_mut(..written) {
            used.zeroize();
        }
        received
    }
}

impl fmt::Debug for ReceiveBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReceiveBuffer({} bytes)", self.0.len())
    }
}

/// Sends `apdu` and returns the card's answer (data ‖ SW1 SW2).
pub(crate) fn exchange(
    link: &mut impl RawLink,
    state: &mut LinkState,
    apdu: &[u8],
) -> Result<Vec<u8>, TransportError> {
    if state.reset_pending {
        state.reset_pending = false;
        return Err(TransportError::CardReset);
    }
    let mut asked_protocol = false;
    loop {
        let protocol = state.protocol;
        let result = state
            .receive
            .transmit_into(|receive| link.transmit(protocol, apdu, receive));
        match result {
            Ok(Received::Answer(answer)) => return Ok(answer),
            Ok(Received::ImpossibleLength(len)) => {
                return Err(TransportError::Io(format!(
                    "SCardTransmit reported {len} response bytes for a {RECEIVE_BUFFER_LEN}-byte buffer"
                )));
            }
            Err(SCARD_E_PROTO_MISMATCH) if !asked_protocol => {
                // The APDU did not reach the card. Learn the connection's protocol and try once more.
                asked_protocol = true;
                match link.active_protocol() {
                    Ok(Some(active)) if active != state.protocol => state.protocol = active,
                    Ok(_) => return Err(transport_error(SCARD_E_PROTO_MISMATCH)),
                    Err(code) => return Err(failure(link, state, code)),
                }
            }
            Err(code) => return Err(failure(link, state, code)),
        }
    }
}

/// Classifies a failed call; after a reset, reconnects first so that the transport is usable again.
pub(crate) fn failure(link: &mut impl RawLink, state: &mut LinkState, code: u32) -> TransportError {
    if code != SCARD_W_RESET_CARD {
        return transport_error(code);
    }
    match link.reconnect(Disposition::LeaveCard) {
        Ok(protocol) => {
            if let Some(protocol) = protocol {
                state.protocol = protocol;
            }
            TransportError::CardReset
        }
        // Removed, no card, no service…: that is the news now, not the reset.
        Err(code) => transport_error(code),
    }
}

/// Warm-resets the card through `link` (`SCardReconnect` with `SCARD_RESET_CARD`). The caller asked for
/// the reset, so no pending reset is reported afterwards.
pub(crate) fn reset(link: &mut impl RawLink, state: &mut LinkState) -> Result<(), TransportError> {
    let protocol = link.reconnect(Disposition::ResetCard).map_err(transport_error)?;
    if let Some(protocol) = protocol {
        state.protocol = protocol;
    }
    state.reset_pending = false;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::VecDeque;

    use crate::codes::{SCARD_E_NO_SMARTCARD, SCARD_F_COMM_ERROR, SCARD_W_REMOVED_CARD};

    use super::*;

    /// A scripted resource manager: each call pops the next planned outcome and is recorded.
    #[derive(Debug, Default)]
    pub(crate) struct FakeLink {
        pub(crate) transmits: VecDeque<Result<Vec<u8>, u32>>,
        pub(crate) reconnects: VecDeque<Result<Option<Protocol>, u32>>,
        pub(crate) statuses: VecDeque<Result<Option<Protocol>, u32>>,
        pub(crate) sent: Vec<(Protocol, Vec<u8>)>,
        pub(crate) reconnected: Vec<Disposition>,
        pub(crate) status_calls: usize,
        /// Claims more bytes than it wrote (a broken resource manager).
        pub(crate) overstate_length: bool,
    }

    impl RawLink for FakeLink {
        fn transmit(&mut self, protocol: Protocol, apdu: &[u8], receive: &mut [u8]) -> Result<usize, u32> {
            self.sent.push((protocol, apdu.to_vec()));
            let answer = self.transmits.pop_front().expect("unplanned transmit")?;
            receive[..answer.len()].copy_from_slice(&answer);
            if self.overstate_length {
                return Ok(receive.len() + 1);
            }
            Ok(answer.len())
        }

        fn reconnect(&mut self, disposition: Disposition) -> Result<Option<Protocol>, u32> {
            self.reconnected.push(disposition);
            self.reconnects.pop_front().expect("unplanned reconnect")
        }

        fn active_protocol(&mut self) -> Result<Option<Protocol>, u32> {
            self.status_calls += 1;
            self.statuses.pop_front().expect("unplanned status")
        }
    }

    const SELECT: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];

    #[test]
    fn a_successful_exchange_returns_exactly_the_bytes_received() {
        let mut link = FakeLink::default();
        link.transmits.push_back(Ok(vec![0x61, 0x11, 0x90, 0x00]));
        let mut state = LinkState::default();
        assert_eq!(
            exchange(&mut link, &mut state, SELECT),
            Ok(vec![0x61, 0x11, 0x90, 0x00])
        );
        assert_eq!(link.sent, vec![(Protocol::T1, SELECT.to_vec())]);
        assert!(link.reconnected.is_empty());
    }

    #[test]
    fn the_pci_follows_the_stored_protocol() {
        let mut link = FakeLink::default();
        link.transmits.push_back(Ok(vec![0x90, 0x00]));
        let mut state = LinkState {
            protocol: Protocol::T0,
            ..LinkState::default()
        };
        exchange(&mut link, &mut state, SELECT).unwrap();
        assert_eq!(link.sent[0].0, Protocol::T0);
    }

    #[test]
    fn a_reset_reconnects_leaving_the_card_and_is_reported_once() {
        let mut link = FakeLink::default();
        link.transmits.push_back(Err(SCARD_W_RESET_CARD));
        link.reconnects.push_back(Ok(Some(Protocol::T1)));
        link.transmits.push_back(Ok(vec![0x90, 0x00]));
        let mut state = LinkState::default();

        assert_eq!(
            exchange(&mut link, &mut state, SELECT),
            Err(TransportError::CardReset)
        );
        assert_eq!(link.reconnected, vec![Disposition::LeaveCard]);
        // The same APDU is not re-sent behind the caller's back: one attempt so far.
        assert_eq!(link.sent.len(), 1);

        assert_eq!(exchange(&mut link, &mut state, SELECT), Ok(vec![0x90, 0x00]));
        assert_eq!(link.sent.len(), 2);
        assert_eq!(link.reconnected.len(), 1);
    }

    #[test]
    fn the_protocol_reported_by_the_reconnect_is_used_afterwards() {
        let mut link = FakeLink::default();
        link.transmits.push_back(Err(SCARD_W_RESET_CARD));
        link.reconnects.push_back(Ok(Some(Protocol::T0)));
        link.transmits.push_back(Ok(vec![0x90, 0x00]));
        let mut state = LinkState::default();
        assert_eq!(
            exchange(&mut link, &mut state, SELECT),
            Err(TransportError::CardReset)
        );
        exchange(&mut link, &mut state, SELECT).unwrap();
        assert_eq!(link.sent[1].0, Protocol::T0);
        assert_eq!(state.protocol, Protocol::T0);
    }

    #[test]
    fn a_failed_reconnect_reports_the_reconnect_failure() {
        let mut link = FakeLink::default();
        link.transmits.push_back(Err(SCARD_W_RESET_CARD));
        link.reconnects.push_back(Err(SCARD_W_REMOVED_CARD));
        let mut state = LinkState::default();
        assert_eq!(
            exchange(&mut link, &mut state, SELECT),
            Err(TransportError::CardRemoved)
        );
    }

    #[test]
    fn other_codes_are_classified_without_reconnecting() {
        for (code, expected) in [
            (SCARD_W_REMOVED_CARD, TransportError::CardRemoved),
            (SCARD_E_NO_SMARTCARD, TransportError::NoCard),
            (SCARD_F_COMM_ERROR, transport_error(SCARD_F_COMM_ERROR)),
            (0x8010_0003, transport_error(0x8010_0003)),
        ] {
            let mut link = FakeLink::default();
            link.transmits.push_back(Err(code));
            let mut state = LinkState::default();
            assert_eq!(exchange(&mut link, &mut state, SELECT), Err(expected));
            assert!(link.reconnected.is_empty());
        }
    }

    #[test]
    fn a_protocol_mismatch_is_retried_once_with_the_active_protocol() {
        let mut link = FakeLink::default();
        link.transmits.push_back(Err(SCARD_E_PROTO_MISMATCH));
        link.statuses.push_back(Ok(Some(Protocol::T0)));
        link.transmits.push_back(Ok(vec![0x90, 0x00]));
        let mut state = LinkState::default();
        assert_eq!(exchange(&mut link, &mut state, SELECT), Ok(vec![0x90, 0x00]));
        assert_eq!(
            link.sent,
            vec![(Protocol::T1, SELECT.to_vec()), (Protocol::T0, SELECT.to_vec())]
        );
        assert_eq!(state.protocol, Protocol::T0);
    }

    #[test]
    fn a_protocol_mismatch_without_a_better_protocol_is_an_error_not_a_loop() {
        let mut link = FakeLink::default();
        link.transmits.push_back(Err(SCARD_E_PROTO_MISMATCH));
        link.statuses.push_back(Ok(Some(Protocol::T1)));
        let mut state = LinkState::default();
        assert_eq!(
            exchange(&mut link, &mut state, SELECT),
            Err(transport_error(SCARD_E_PROTO_MISMATCH))
        );
        assert_eq!(link.sent.len(), 1);

        let mut link = FakeLink::default();
        link.transmits.push_back(Err(SCARD_E_PROTO_MISMATCH));
        link.statuses.push_back(Ok(Some(Protocol::T0)));
        link.transmits.push_back(Err(SCARD_E_PROTO_MISMATCH));
        let mut state = LinkState::default();
        assert_eq!(
            exchange(&mut link, &mut state, SELECT),
            Err(transport_error(SCARD_E_PROTO_MISMATCH))
        );
        assert_eq!(link.sent.len(), 2);
        assert_eq!(link.status_calls, 1);
    }

    #[test]
    fn a_reset_seen_by_the_status_query_is_handled_like_any_reset() {
        let mut link = FakeLink::default();
        link.transmits.push_back(Err(SCARD_E_PROTO_MISMATCH));
        link.statuses.push_back(Err(SCARD_W_RESET_CARD));
        link.reconnects.push_back(Ok(Some(Protocol::T0)));
        let mut state = LinkState::default();
        assert_eq!(
            exchange(&mut link, &mut state, SELECT),
            Err(TransportError::CardReset)
        );
        assert_eq!(link.reconnected, vec![Disposition::LeaveCard]);
        assert_eq!(state.protocol, Protocol::T0);
    }

    #[test]
    fn a_pending_reset_is_reported_without_sending() {
        let mut link = FakeLink::default();
        link.transmits.push_back(Ok(vec![0x90, 0x00]));
        let mut state = LinkState {
            reset_pending: true,
            ..LinkState::default()
        };
        assert_eq!(
            exchange(&mut link, &mut state, SELECT),
            Err(TransportError::CardReset)
        );
        assert!(link.sent.is_empty());
        assert_eq!(exchange(&mut link, &mut state, SELECT), Ok(vec![0x90, 0x00]));
    }

    #[test]
    fn an_impossible_length_is_an_error_not_a_panic() {
        let mut link = FakeLink {
            overstate_length: true,
            ..FakeLink::default()
        };
        link.transmits.push_back(Ok(vec![0x90, 0x00]));
        let mut state = LinkState::default();
        assert!(matches!(
            exchange(&mut link, &mut state, SELECT),
            Err(TransportError::Io(_))
        ));
    }

    #[test]
    fn the_receive_buffer_holds_the_largest_extended_response() {
        let mut link = FakeLink::default();
        let mut big = vec![0xA5; 65_536];
        big.extend_from_slice(&[0x90, 0x00]);
        link.transmits.push_back(Ok(big.clone()));
        let mut state = LinkState::default();
        assert_eq!(exchange(&mut link, &mut state, SELECT), Ok(big));
    }

    #[test]
    fn one_receive_buffer_serves_every_exchange_and_is_wiped_after_each() {
        let mut link = FakeLink::default();
        let secret = vec![0x5A; 300];
        link.transmits
            .push_back(Ok([&secret[..], &[0x90, 0x00]].concat()));
        link.transmits.push_back(Err(SCARD_F_COMM_ERROR));
        link.transmits.push_back(Ok(vec![0x90, 0x00]));
        let mut state = LinkState::default();
        assert_eq!(
            exchange(&mut link, &mut state, SELECT),
            Ok([&secret[..], &[0x90, 0x00]].concat())
        );
        let buffer = state.receive.0.as_ptr();
        assert_eq!(state.receive.0.len(), RECEIVE_BUFFER_LEN);
        assert!(state.receive.0.iter().all(|&b| b == 0), "the answer was wiped");
        assert!(exchange(&mut link, &mut state, SELECT).is_err());
        exchange(&mut link, &mut state, SELECT).unwrap();
        assert_eq!(state.receive.0.as_ptr(), buffer, "no new buffer per APDU");
        assert!(state.receive.0.iter().all(|&b| b == 0));
    }

    #[test]
    fn reset_reconnects_resetting_the_card_and_clears_a_pending_report() {
        let mut link = FakeLink::default();
        link.reconnects.push_back(Ok(Some(Protocol::T0)));
        let mut state = LinkState {
            reset_pending: true,
            ..LinkState::default()
        };
        assert_eq!(reset(&mut link, &mut state), Ok(()));
        assert_eq!(link.reconnected, vec![Disposition::ResetCard]);
        assert_eq!((state.protocol, state.reset_pending), (Protocol::T0, false));

        link.reconnects.push_back(Err(SCARD_E_NO_SMARTCARD));
        assert_eq!(reset(&mut link, &mut state), Err(TransportError::NoCard));
    }
}
