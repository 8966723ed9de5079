//! [`OwnedCard`]: a connection this process opens and owns, through the `pcsc` crate.

use std::ffi::CString;
use std::fmt;

use tessera_piv::hex::HexBytes;
use tessera_piv::{Transport, TransportError};

use crate::error::PcscError;
use crate::exchange::{self, LinkState, RawLink};
use crate::protocol::{Disposition, Protocol};

/// A shared connection to the card in one reader, owned by this value.
///
/// Dropping it disconnects with `SCARD_RESET_CARD` by default, so a PIN verified through it does not
/// outlive it (a reset logs out every other connection too);
/// [`set_disposition_on_drop`](Self::set_disposition_on_drop) or [`disconnect`](Self::disconnect)
/// choose otherwise.
pub struct OwnedCard {
    /// `None` only inside `drop`, which takes the card to disconnect it.
    card: Option<pcsc::Card>,
    info: CardInfo,
    state: LinkState,
    on_drop: Disposition,
}

/// What the connection knows about its card.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CardInfo {
    reader: String,
    atr: Vec<u8>,
}

impl OwnedCard {
    /// The names of the readers the resource manager knows, in its order; empty when there are none.
    pub fn list_readers() -> Result<Vec<String>, PcscError> {
        let context = establish()?;
        reader_names(&context)
    }

    /// Connects in shared mode, T=0 or T=1, to the reader with exactly this name.
    pub fn connect(reader: &str) -> Result<Self, PcscError> {
        let context = establish()?;
        let available = reader_names(&context)?;
        if !available.iter().any(|name| name == reader) {
            return Err(PcscError::UnknownReader {
                name: reader.to_owned(),
                available,
            });
        }
        Self::connect_in(&context, reader)
    }

    /// Connects to the first reader, in the resource manager's order, that has a card.
    pub fn connect_first() -> Result<Self, PcscError> {
        let context = establish()?;
        let available = reader_names(&context)?;
        for reader in &available {
            match Self::connect_in(&context, reader) {
                Ok(card) => return Ok(card),
                Err(e) if is_no_card(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PcscError::NoCard { available })
    }

    fn connect_in(context: &pcsc::Context, reader: &str) -> Result<Self, PcscError> {
        let name = CString::new(reader).map_err(|_| PcscError::InvalidReaderName(reader.to_owned()))?;
        let card = context
            .connect(
                &name,
                pcsc::ShareMode::Shared,
                pcsc::Protocols::T0 | pcsc::Protocols::T1,
            )
            .map_err(|e| PcscError::call("SCardConnect", e))?;
        // Without a status the connection is still usable: T=1 and an unknown ATR.
        let (atr, protocol) = card_status(&card).unwrap_or_default();
        let protocol = protocol.unwrap_or_default();
        Ok(Self {
            card: Some(card),
            on_drop: Disposition::ResetCard,
            info: CardInfo {
                reader: reader.to_owned(),
                atr,
            },
            state: LinkState::new(protocol),
        })
    }

    /// The reader's name, as given to [`connect`](Self::connect) or listed by the resource manager.
    pub fn reader_name(&self) -> &str {
        &self.info.reader
    }

    /// The card's answer to reset, as of the last (re)connection.
    pub fn atr(&self) -> &[u8] {
        &self.info.atr
    }

    /// The active protocol.
    pub fn protocol(&self) -> Protocol {
        self.state.protocol
    }

    /// What dropping this value does to the card: `SCARD_RESET_CARD` (the default) or
    /// `SCARD_LEAVE_CARD`, which keeps PIN verification and the selected application for other
    /// connections.
    pub fn set_disposition_on_drop(&mut self, disposition: Disposition) {
        self.on_drop = disposition;
    }

    /// Re-establishes the connection leaving the card as it is (`SCARD_LEAVE_CARD`), e.g. after the card
    /// was removed and put back.
    pub fn reconnect(&mut self) -> Result<(), TransportError> {
        let mut link = Link {
            card: connected(&mut self.card)?,
            info: &mut self.info,
        };
        let protocol = link
            .reconnect(Disposition::LeaveCard)
            .map_err(crate::codes::transport_error)?;
        if let Some(protocol) = protocol {
            self.state.protocol = protocol;
        }
        Ok(())
    }

    /// Begins a transaction: until the returned guard is dropped (or [`ended`](CardTransaction::end)),
    /// no other connection reaches the card. A reset noticed while beginning is handled like a reset
    /// noticed by a transmit: the connection is re-established and the first exchange of the
    /// transaction reports [`TransportError::CardReset`].
    pub fn transaction(&mut self) -> Result<CardTransaction<'_>, TransportError> {
        let Self {
            card, info, state, ..
        } = self;
        let tx = match connected(card)?.transaction2() {
            Ok(tx) => tx,
            Err((card, pcsc::Error::ResetCard)) => {
                let protocol = Link {
                    card: &mut *card,
                    info: &mut *info,
                }
                .reconnect(Disposition::LeaveCard)
                .map_err(crate::codes::transport_error)?;
                if let Some(protocol) = protocol {
                    state.protocol = protocol;
                }
                state.reset_pending = true;
                card.transaction()
                    .map_err(|e| crate::codes::transport_error(e as u32))?
            }
            Err((_, e)) => return Err(crate::codes::transport_error(e as u32)),
        };
        Ok(CardTransaction { tx, info, state })
    }

    /// Runs `f` inside a transaction (see [`transaction`](Self::transaction)); the transaction ends,
    /// leaving the card as it is, when `f` returns.
    pub fn with_transaction<R>(
        &mut self,
        f: impl FnOnce(&mut CardTransaction<'_>) -> R,
    ) -> Result<R, TransportError> {
        let mut tx = self.transaction()?;
        Ok(f(&mut tx))
    }

    /// Disconnects with the given disposition, reporting failure (dropping ignores errors).
    pub fn disconnect(mut self, disposition: Disposition) -> Result<(), PcscError> {
        match self.card.take() {
            Some(card) => card
                .disconnect(disposition.to_pcsc())
                .map_err(|(_, e)| PcscError::call("SCardDisconnect", e)),
            None => Ok(()),
        }
    }
}

impl Drop for OwnedCard {
    fn drop(&mut self) {
        if let Some(card) = self.card.take() {
            // Errors cannot be reported from here; `disconnect` reports them. On failure the `pcsc` crate
            // drops the card, which disconnects it with `SCARD_RESET_CARD`.
            let _ = card.disconnect(self.on_drop.to_pcsc());
        }
    }
}

/// The connection; absent only while an `OwnedCard` is being dropped, when no method can run.
fn connected(card: &mut Option<pcsc::Card>) -> Result<&mut pcsc::Card, TransportError> {
    card.as_mut()
        .ok_or(TransportError::Unsupported("a disconnected card"))
}

impl fmt::Debug for OwnedCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedCard")
            .field("reader", &self.info.reader)
            .field("atr", &format_args!("{}", HexBytes(&self.info.atr)))
            .field("protocol", &self.state.protocol)
            .finish_non_exhaustive()
    }
}

impl Transport for OwnedCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut link = Link {
            card: connected(&mut self.card)?,
            info: &mut self.info,
        };
        exchange::exchange(&mut link, &mut self.state, apdu)
    }

    /// Warm reset: reconnects with `SCARD_RESET_CARD`.
    fn reset(&mut self) -> Result<(), TransportError> {
        let mut link = Link {
            card: connected(&mut self.card)?,
            info: &mut self.info,
        };
        exchange::reset(&mut link, &mut self.state)
    }
}

/// An exclusive transaction on an [`OwnedCard`]; every exchange goes through it. Dropping it ends the
/// transaction with `SCARD_LEAVE_CARD`.
pub struct CardTransaction<'a> {
    tx: pcsc::Transaction<'a>,
    info: &'a mut CardInfo,
    state: &'a mut LinkState,
}

impl CardTransaction<'_> {
    /// The reader's name.
    pub fn reader_name(&self) -> &str {
        &self.info.reader
    }

    /// The card's answer to reset, as of the last (re)connection.
    pub fn atr(&self) -> &[u8] {
        &self.info.atr
    }

    /// Ends the transaction leaving the card as it is, reporting failure (dropping ignores errors).
    pub fn end(self) -> Result<(), TransportError> {
        self.tx
            .end(pcsc::Disposition::LeaveCard)
            .map_err(|(_, e)| crate::codes::transport_error(e as u32))
    }
}

impl fmt::Debug for CardTransaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardTransaction")
            .field("reader", &self.info.reader)
            .field("protocol", &self.state.protocol)
            .finish_non_exhaustive()
    }
}

impl Transport for CardTransaction<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut link = Link {
            card: &mut self.tx,
            info: &mut *self.info,
        };
        exchange::exchange(&mut link, self.state, apdu)
    }

    /// Warm reset: reconnects with `SCARD_RESET_CARD`.
    fn reset(&mut self) -> Result<(), TransportError> {
        let mut link = Link {
            card: &mut self.tx,
            info: &mut *self.info,
        };
        exchange::reset(&mut link, self.state)
    }
}

/// A `pcsc::Card`, directly or through a transaction.
trait PcscConnection {
    fn card(&self) -> &pcsc::Card;
    fn reconnect(&mut self, disposition: pcsc::Disposition) -> Result<(), pcsc::Error>;
}

impl PcscConnection for pcsc::Card {
    fn card(&self) -> &pcsc::Card {
        self
    }
    fn reconnect(&mut self, disposition: pcsc::Disposition) -> Result<(), pcsc::Error> {
        pcsc::Card::reconnect(self, pcsc::ShareMode::Shared, protocols(), disposition)
    }
}

impl PcscConnection for pcsc::Transaction<'_> {
    fn card(&self) -> &pcsc::Card {
        self
    }
    fn reconnect(&mut self, disposition: pcsc::Disposition) -> Result<(), pcsc::Error> {
        pcsc::Transaction::reconnect(self, pcsc::ShareMode::Shared, protocols(), disposition)
    }
}

/// [`RawLink`] over a `pcsc` connection; refreshes the ATR after every reconnect.
struct Link<'a, C> {
    card: &'a mut C,
    info: &'a mut CardInfo,
}

impl<C: PcscConnection> RawLink for Link<'_, C> {
    /// The `pcsc` crate picks the PCI from the connection's own protocol.
    fn transmit(&mut self, _protocol: Protocol, apdu: &[u8], receive: &mut [u8]) -> Result<usize, u32> {
        match self.card.card().transmit(apdu, receive) {
            Ok(response) => Ok(response.len()),
            Err(e) => Err(e as u32),
        }
    }

    fn reconnect(&mut self, disposition: Disposition) -> Result<Option<Protocol>, u32> {
        self.card.reconnect(disposition.to_pcsc()).map_err(|e| e as u32)?;
        // The reconnect worked; a failing status query only leaves the old ATR in place.
        match card_status(self.card.card()) {
            Ok((atr, protocol)) => {
                self.info.atr = atr;
                Ok(protocol)
            }
            Err(_) => Ok(None),
        }
    }

    fn active_protocol(&mut self) -> Result<Option<Protocol>, u32> {
        Ok(card_status(self.card.card()).map_err(|e| e as u32)?.1)
    }
}

/// `SCardStatus`: the ATR and the active protocol. Wine's `SCardStatusW` over pcsc-lite reports a reader
/// name longer than the real one (it reads past pcsc-lite's single name), so the length-query form can
/// fail with `SCARD_E_INSUFFICIENT_BUFFER`; a second try uses fixed, generous buffers.
fn card_status(card: &pcsc::Card) -> Result<(Vec<u8>, Option<Protocol>), pcsc::Error> {
    match card.status2_owned() {
        Ok(status) => Ok((
            status.atr().to_vec(),
            status.protocol2().and_then(Protocol::from_pcsc),
        )),
        Err(first) => {
            let (mut names, mut atr) = ([0u8; 256], [0u8; pcsc::MAX_ATR_SIZE]);
            match card.status2(&mut names, &mut atr) {
                Ok(status) => Ok((
                    status.atr().to_vec(),
                    status.protocol2().and_then(Protocol::from_pcsc),
                )),
                Err(_) => Err(first),
            }
        }
    }
}

fn protocols() -> pcsc::Protocols {
    pcsc::Protocols::T0 | pcsc::Protocols::T1
}

fn establish() -> Result<pcsc::Context, PcscError> {
    pcsc::Context::establish(pcsc::Scope::User).map_err(|e| PcscError::call("SCardEstablishContext", e))
}

fn reader_names(context: &pcsc::Context) -> Result<Vec<String>, PcscError> {
    match context.list_readers_owned() {
        Ok(names) => Ok(names
            .iter()
            .map(|name| name.to_string_lossy().into_owned())
            .collect()),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(PcscError::call("SCardListReaders", e)),
    }
}

/// Errors that mean "this reader has no usable card", which [`OwnedCard::connect_first`] skips.
fn is_no_card(error: &PcscError) -> bool {
    [
        pcsc::Error::NoSmartcard,
        pcsc::Error::RemovedCard,
        pcsc::Error::UnpoweredCard,
        pcsc::Error::UnresponsiveCard,
        pcsc::Error::UnsupportedCard,
    ]
    .iter()
    .any(|e| error.code() == Some(*e as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_first_skips_only_readers_without_a_usable_card() {
        let skipped = PcscError::call("SCardConnect", pcsc::Error::NoSmartcard);
        assert!(is_no_card(&skipped));
        assert!(is_no_card(&PcscError::call(
            "SCardConnect",
            pcsc::Error::RemovedCard
        )));
        // A card held exclusively by someone else is a card: that error is the answer.
        assert!(!is_no_card(&PcscError::call(
            "SCardConnect",
            pcsc::Error::SharingViolation
        )));
        assert!(!is_no_card(&PcscError::call(
            "SCardConnect",
            pcsc::Error::NoService
        )));
    }

    #[test]
    fn owned_types_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<OwnedCard>();
    }
}
