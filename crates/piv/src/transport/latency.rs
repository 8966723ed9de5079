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
