//! Counts APDUs and bytes in each direction: the unit of Tessera's APDU economy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::session::{Transport, TransportError};

/// Shared counters of APDUs and bytes; clone the `Arc` to read them while the transport (or the virtual
/// card, which counts what it receives with the same type) is in use elsewhere.
#[derive(Debug, Default)]
pub struct Counters {
    apdus: AtomicU64,
    command_bytes: AtomicU64,
    response_bytes: AtomicU64,
}

/// APDUs and bytes each way, at one moment or ([`since`](Self::since)) between two: the one count the
/// host's [`Counting`] transport, the virtual card and the conformance harness all report.
///
/// With the `serde` feature it is the JSON of the virtual card's `--stats` file,
/// `{"apdus":N,"bytes_in":N,"bytes_out":N}`, named from the card's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CountSnapshot {
    /// Command APDUs.
    pub apdus: u64,
    /// Command bytes, host to card.
    #[cfg_attr(feature = "serde", serde(rename = "bytes_in"))]
    pub command_bytes: u64,
    /// Response bytes (status words included), card to host.
    #[cfg_attr(feature = "serde", serde(rename = "bytes_out"))]
    pub response_bytes: u64,
}

impl CountSnapshot {
    /// The difference `self - earlier`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            apdus: self.apdus.saturating_sub(earlier.apdus),
            command_bytes: self.command_bytes.saturating_sub(earlier.command_bytes),
            response_bytes: self.response_bytes.saturating_sub(earlier.response_bytes),
        }
    }

    /// Command plus response bytes.
    pub fn total_bytes(self) -> u64 {
        self.command_bytes.saturating_add(self.response_bytes)
    }
}

impl Counters {
    /// Current values.
    pub fn snapshot(&self) -> CountSnapshot {
        CountSnapshot {
            apdus: self.apdus.load(Ordering::Relaxed),
            command_bytes: self.command_bytes.load(Ordering::Relaxed),
            response_bytes: self.response_bytes.load(Ordering::Relaxed),
        }
    }

    /// Sets everything to zero.
    pub fn reset(&self) {
        self.apdus.store(0, Ordering::Relaxed);
        self.command_bytes.store(0, Ordering::Relaxed);
        self.response_bytes.store(0, Ordering::Relaxed);
    }

    /// Counts one command APDU of `len` bytes.
    pub fn record_command(&self, len: usize) {
        self.apdus.fetch_add(1, Ordering::Relaxed);
        self.command_bytes.fetch_add(len as u64, Ordering::Relaxed);
    }

    /// Counts a response of `len` bytes.
    pub fn record_response(&self, len: usize) {
        self.response_bytes.fetch_add(len as u64, Ordering::Relaxed);
    }
}

/// Counts every APDU that passes through (also the ones that fail in the transport).
#[derive(Debug)]
pub struct Counting<T> {
    inner: T,
    counters: Arc<Counters>,
}

impl<T> Counting<T> {
    /// Wraps `inner` with fresh counters.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            counters: Arc::default(),
        }
    }

    /// Wraps `inner`, adding to existing counters.
    pub fn with_counters(inner: T, counters: Arc<Counters>) -> Self {
        Self { inner, counters }
    }

    /// The shared counters.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped transport, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for Counting<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.counters.record_command(apdu.len());
        let response = self.inner.transmit(apdu)?;
        self.counters.record_response(response.len());
        Ok(response)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::recording::{ANSWER, RecordingCard};

    #[test]
    fn apdus_and_bytes_are_counted_both_ways() {
        let mut t = Counting::new(RecordingCard::default());
        let counters = t.counters();
        let select = [0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0, 0, 3, 8, 0, 0, 0x10, 0];
        assert!(t.transmit(&select).is_ok());
        assert!(t.transmit(&[0x00, 0xFD, 0x00, 0x00]).is_ok());
        let counted = counters.snapshot();
        assert_eq!(
            counted,
            CountSnapshot {
                apdus: 2,
                command_bytes: (select.len() + 4) as u64,
                response_bytes: 2 * ANSWER.len() as u64,
            }
        );
        assert_eq!(
            counted.total_bytes(),
            (select.len() + 4 + 2 * ANSWER.len()) as u64
        );
        assert_eq!(t.into_inner().received.len(), 2);
    }

    #[test]
    fn a_failed_exchange_counts_its_command_but_no_answer() {
        let card = RecordingCard::failing_with(TransportError::CardRemoved);
        let mut t = Counting::new(card);
        assert_eq!(
            t.transmit(&[0x00, 0xFD, 0x00, 0x00]),
            Err(TransportError::CardRemoved)
        );
        assert_eq!(
            t.counters().snapshot(),
            CountSnapshot {
                apdus: 1,
                command_bytes: 4,
                response_bytes: 0
            }
        );
    }

    #[test]
    fn shared_counters_add_up_and_snapshots_subtract() {
        let counters = Arc::new(Counters::default());
        let mut a = Counting::with_counters(RecordingCard::default(), Arc::clone(&counters));
        let mut b = Counting::with_counters(RecordingCard::default(), Arc::clone(&counters));
        assert!(a.transmit(&[0, 0xFD, 0, 0]).is_ok());
        let before = counters.snapshot();
        assert!(b.transmit(&[0, 0xF8, 0, 0, 0]).is_ok());
        let cost = counters.snapshot().since(before);
        assert_eq!(cost.apdus, 1);
        assert_eq!(cost.command_bytes, 5);
        assert_eq!(cost.response_bytes, ANSWER.len() as u64);
        assert_eq!(
            before.since(counters.snapshot()),
            CountSnapshot::default(),
            "never negative"
        );
        counters.reset();
        assert_eq!(counters.snapshot(), CountSnapshot::default());
    }
}
