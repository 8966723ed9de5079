//! The card behind the module: an in-process virtual card (`--builtin`) or a PC/SC reader. Either way
//! the harness can bind a new context to it, reset it through another connection or through the
//! context's own handle, give a context a new handle, open its own PIV session (for provisioning and
//! for restoring PINs), and read APDU/byte counters.

use std::path::PathBuf;

use tessera_pcsc::{Disposition, OwnedCard, RawConnection, RawContext};
use tessera_piv::transport::CountSnapshot;
use tessera_piv::{Session, Transport, TransportError};

/// What a new context is given: handles for `CARD_DATA`, and for the built-in module a transport.
pub struct Binding {
    /// `hSCardCtx`.
    pub context: usize,
    /// `hScard`.
    pub card: usize,
    /// The built-in module's card connection.
    pub transport: Option<Box<dyn Transport + Send>>,
    /// The PC/SC connection behind `card` (kept connected while the context lives).
    pub connection: Option<RawConnection>,
}

/// Where the card is.
pub enum CardAccess {
    /// An in-process virtual card.
    #[cfg(feature = "builtin")]
    Virtual(tessera_virtual_card::SharedCard),
    /// A PC/SC reader.
    Pcsc {
        /// The harness's resource-manager context (the CSP's `hSCardCtx`).
        context: RawContext,
        /// Reader name.
        reader: String,
        /// The virtual card bridge's `--stats` file, when given.
        stats: Option<PathBuf>,
        /// The card's ATR.
        atr: Vec<u8>,
    },
}

/// A fake handle value for built-in contexts: non-zero, and different for each binding so that a handle
/// change is a change.
#[cfg(feature = "builtin")]
fn fake_handle() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0x1000);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

impl CardAccess {
    /// A fresh, deterministic virtual card, with its test faults available.
    #[cfg(feature = "builtin")]
    pub fn virtual_card(seed: u64) -> Result<Self, String> {
        use tessera_virtual_card::{CardConfig, SharedCard, VirtualCard};
        let mut card = VirtualCard::new(CardConfig::seeded(seed)).map_err(|e| e.to_string())?;
        card.enable_test_faults();
        Ok(Self::Virtual(SharedCard::new(card)))
    }

    /// A PC/SC reader.
    pub fn pcsc(reader: &str, stats: Option<PathBuf>) -> Result<Self, String> {
        let context = RawContext::establish().map_err(|e| e.to_string())?;
        let owned = OwnedCard::connect(reader).map_err(|e| format!("reader {reader:?}: {e}"))?;
        let atr = owned.atr().to_vec();
        let _ = owned.disconnect(Disposition::LeaveCard);
        Ok(Self::Pcsc {
            context,
            reader: reader.to_owned(),
            stats,
            atr,
        })
    }

    /// The ATR.
    pub fn atr(&self) -> Vec<u8> {
        match self {
            #[cfg(feature = "builtin")]
            Self::Virtual(card) => card.with_card(|c| c.atr().to_vec()).unwrap_or_default(),
            Self::Pcsc { atr, .. } => atr.clone(),
        }
    }

    /// A new binding (connection) for a context.
    pub fn bind(&self) -> Result<Binding, String> {
        match self {
            #[cfg(feature = "builtin")]
            Self::Virtual(card) => Ok(Binding {
                context: fake_handle(),
                card: fake_handle(),
                transport: Some(Box::new(card.connect())),
                connection: None,
            }),
            Self::Pcsc { context, reader, .. } => {
                let card = context.connect(reader).map_err(|e| e.to_string())?;
                Ok(Binding {
                    context: context.handle(),
                    card: card.handle(),
                    transport: None,
                    connection: Some(card),
                })
            }
        }
    }

    /// A new card handle (and its connection) for an existing context: the CSP reconnected.
    pub fn new_handle(&self) -> Result<(usize, Option<RawConnection>), String> {
        match self {
            #[cfg(feature = "builtin")]
            Self::Virtual(_) => Ok((fake_handle(), None)),
            Self::Pcsc { context, reader, .. } => {
                let card = context.connect(reader).map_err(|e| e.to_string())?;
                Ok((card.handle(), Some(card)))
            }
        }
    }

    /// Resets the card through another connection: the module's next exchange sees `SCARD_W_RESET_CARD`.
    pub fn reset_through_other(&self) -> Result<(), String> {
        match self {
            #[cfg(feature = "builtin")]
            Self::Virtual(card) => card.connect().reset().map_err(|e| e.to_string()),
            Self::Pcsc { context, reader, .. } => {
                let other = context.connect(reader).map_err(|e| e.to_string())?;
                other.reset().map_err(|e| e.to_string())
            }
        }
    }

    /// Resets the card through the context's own connection, so that no error tells the module: the card
    /// simply lost its selected application and security state.
    pub fn reset_same_handle(&self, connection: Option<&RawConnection>) -> Result<(), String> {
        match self {
            #[cfg(feature = "builtin")]
            Self::Virtual(card) => card
                .with_card(|c| c.power_cycle())
                .ok_or_else(|| "virtual card lock poisoned".to_owned()),
            Self::Pcsc { .. } => connection
                .ok_or_else(|| "no PC/SC connection to reset".to_owned())?
                .reset()
                .map_err(|e| e.to_string()),
        }
    }

    /// The harness's own PIV session to the card.
    pub fn piv_session(&self) -> Result<Session<Box<dyn Transport + Send>>, String> {
        let transport: Box<dyn Transport + Send> = match self {
            #[cfg(feature = "builtin")]
            Self::Virtual(card) => Box::new(card.connect()),
            Self::Pcsc { reader, .. } => Box::new(LeavingCard(Some(
                OwnedCard::connect(reader).map_err(|e| e.to_string())?,
            ))),
        };
        Ok(Session::new(transport))
    }

    /// The card's counters now, when known: the in-process card's own, or the vpcd bridge's `--stats`
    /// file.
    pub fn counters(&self) -> Option<CountSnapshot> {
        match self {
            #[cfg(feature = "builtin")]
            Self::Virtual(card) => card.with_card(|c| c.counters().snapshot()),
            Self::Pcsc { stats, .. } => {
                let text = std::fs::read_to_string(stats.as_ref()?).ok()?;
                serde_json::from_str(&text).ok()
            }
        }
    }

    /// True for the in-process card.
    pub fn is_virtual(&self) -> bool {
        !matches!(self, Self::Pcsc { .. })
    }
}

/// An owned PC/SC connection that leaves the card as it is when dropped (the `pcsc` crate would reset
/// it, logging out every other connection too).
struct LeavingCard(Option<OwnedCard>);

impl Transport for LeavingCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        match &mut self.0 {
            Some(card) => card.transmit(apdu),
            None => Err(TransportError::NoCard),
        }
    }
}

impl Drop for LeavingCard {
    fn drop(&mut self) {
        if let Some(card) = self.0.take() {
            let _ = card.disconnect(Disposition::LeaveCard);
        }
    }
}
