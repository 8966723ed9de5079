//! Adds a fixed delay per APDU, to see what a slow reader (or RDP redirection) does to a flow.

use std::time::Duration;

use crate::session::{Transport, TransportError};

/// Sleeps `per_apdu` before each exchange.
#[derive(Debug)]
pub struct Latency<T> {
    inner: T,
    per_apdu: Duration,
}

impl<T> Latency<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, per_apdu: Duration) -> Self {
        Self { inner, per_apdu }
    }

    /// Unwraps.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for Latency<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        std::thread::sleep(self.per_apdu);
        self.inner.transmit(apdu)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::transport::recording::{ANSWER, RecordingCard};

    #[test]
    fn every_exchange_waits_at_least_the_delay_and_passes_the_bytes_through() {
        // Only a lower bound is asserted: a loaded machine may sleep longer, never shorter.
        let delay = Duration::from_millis(15);
        let mut t = Latency::new(RecordingCard::default(), delay);
        let started = Instant::now();
        for apdu in [[0, 0xFD, 0, 0], [0, 0xF8, 0, 0], [0, 0xA4, 4, 0]] {
            assert_eq!(t.transmit(&apdu), Ok(ANSWER.to_vec()));
        }
        assert!(
            started.elapsed() >= 3 * delay,
            "{:?} for three APDUs",
            started.elapsed()
        );
        assert_eq!(t.into_inner().received.len(), 3);
    }

    #[test]
    fn failures_and_resets_pass_through() {
        let card = RecordingCard::failing_with(TransportError::CardRemoved);
        let mut t = Latency::new(card, Duration::ZERO);
        assert_eq!(t.transmit(&[0, 0xFD, 0, 0]), Err(TransportError::CardRemoved));
        assert_eq!(t.reset(), Ok(()));
        assert_eq!(t.into_inner().resets, 1);
    }
}
