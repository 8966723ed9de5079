//! One card, several connections, as PC/SC gives them: [`SharedCard::connect`] returns a `Send`
//! [`CardConnection`]; all connections share the card's state (selected application, PIN status). When
//! one connection resets the card, each other connection's next transmit fails once with
//! [`TransportError::CardReset`] (what `SCardTransmit` reports as `SCARD_W_RESET_CARD`) and is usable
//! again afterwards; the resetting connection sees no error.

use std::sync::{Arc, Mutex, MutexGuard};

use tessera_piv::{Transport, TransportError};

use crate::card::VirtualCard;

#[derive(Debug)]
struct Shared {
    card: VirtualCard,
    resets: u64,
}

/// A card that several connections (threads) can use.
#[derive(Debug, Clone)]
pub struct SharedCard {
    inner: Arc<Mutex<Shared>>,
}

/// One connection to a [`SharedCard`].
#[derive(Debug)]
pub struct CardConnection {
    inner: Arc<Mutex<Shared>>,
    resets_seen: u64,
}

fn lock(inner: &Mutex<Shared>) -> Result<MutexGuard<'_, Shared>, TransportError> {
    inner
        .lock()
        .map_err(|_| TransportError::Io("virtual card lock poisoned".into()))
}

impl SharedCard {
    /// Shares `card`.
    pub fn new(card: VirtualCard) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Shared { card, resets: 0 })),
        }
    }

    /// A new connection; it has seen every reset so far.
    pub fn connect(&self) -> CardConnection {
        let resets_seen = self.inner.lock().map(|s| s.resets).unwrap_or(0);
        CardConnection {
            inner: Arc::clone(&self.inner),
            resets_seen,
        }
    }

    /// Runs `f` on the card (inspection in tests). `None` if the lock is poisoned.
    pub fn with_card<R>(&self, f: impl FnOnce(&mut VirtualCard) -> R) -> Option<R> {
        self.inner.lock().ok().map(|mut s| f(&mut s.card))
    }
}

impl Transport for CardConnection {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut shared = lock(&self.inner)?;
        if shared.resets != self.resets_seen {
            self.resets_seen = shared.resets;
            return Err(TransportError::CardReset);
        }
        Ok(shared.card.process_apdu(apdu))
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        let mut shared = lock(&self.inner)?;
        shared.card.power_cycle();
        shared.resets += 1;
        self.resets_seen = shared.resets;
        Ok(())
    }
}
