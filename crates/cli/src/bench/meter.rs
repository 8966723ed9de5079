//! What the card costs: every APDU the module sends, the bytes each way, and the time spent inside the
//! transport (the card's own work, the virtual card's RSA, pcscd's round trip). The bench subtracts that
//! time from each CSP call to get the module's own CPU time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tessera_piv::{Transport, TransportError};

/// The meter as the scenarios hold it.
pub type MeterRef = Arc<Meter>;

/// Counters shared by every connection of one bench run.
#[derive(Debug, Default)]
pub struct Meter {
    apdus: AtomicU64,
    to_card: AtomicU64,
    from_card: AtomicU64,
    card_nanos: AtomicU64,
}

/// The counters at one moment, or the difference between two moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reading {
    /// Command APDUs (each chained block and each GET RESPONSE counts).
    pub apdus: u64,
    /// Command bytes sent to the card.
    pub bytes_to_card: u64,
    /// Response bytes received, status words included.
    pub bytes_from_card: u64,
    /// Time spent inside the transport.
    #[serde(skip)]
    pub card_time: Duration,
}

impl Reading {
    /// `self - earlier`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            apdus: self.apdus.saturating_sub(earlier.apdus),
            bytes_to_card: self.bytes_to_card.saturating_sub(earlier.bytes_to_card),
            bytes_from_card: self.bytes_from_card.saturating_sub(earlier.bytes_from_card),
            card_time: self.card_time.saturating_sub(earlier.card_time),
        }
    }
}

impl Meter {
    /// A new meter, shared.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// The counters now.
    pub fn read(&self) -> Reading {
        Reading {
            apdus: self.apdus.load(Ordering::Relaxed),
            bytes_to_card: self.to_card.load(Ordering::Relaxed),
            bytes_from_card: self.from_card.load(Ordering::Relaxed),
            card_time: Duration::from_nanos(self.card_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// A transport that counts into a [`Meter`].
pub struct Metered {
    inner: Box<dyn Transport + Send>,
    meter: Arc<Meter>,
}

impl Metered {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Transport + Send>, meter: &Arc<Meter>) -> Self {
        Self {
            inner,
            meter: Arc::clone(meter),
        }
    }
}

impl Transport for Metered {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let started = Instant::now();
        let response = self.inner.transmit(apdu);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let m = &self.meter;
        m.card_nanos.fetch_add(nanos, Ordering::Relaxed);
        m.apdus.fetch_add(1, Ordering::Relaxed);
        m.to_card.fetch_add(apdu.len() as u64, Ordering::Relaxed);
        if let Ok(bytes) = &response {
            m.from_card.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        response
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_piv::transport::Scripted;

    #[test]
    fn every_apdu_and_byte_is_counted_with_the_time_inside() {
        let meter = Meter::new();
        let card = Scripted::new()
            .expect_hex("00 A4 04 00 01 AA 00", "90 00")
            .expect_hex("00 CB 3F FF 00", "01 02 03 90 00");
        let mut t = Metered::new(Box::new(card), &meter);
        let before = meter.read();
        t.transmit(&[0x00, 0xA4, 0x04, 0x00, 0x01, 0xAA, 0x00]).unwrap();
        t.transmit(&[0x00, 0xCB, 0x3F, 0xFF, 0x00]).unwrap();
        let r = meter.read().since(before);
        assert_eq!((r.apdus, r.bytes_to_card, r.bytes_from_card), (2, 12, 7));
        assert!(r.card_time > Duration::ZERO);
    }
}
