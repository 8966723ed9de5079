//! Counts APDUs and bytes in each direction: the unit of Tessera's APDU economy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::session::{Transport, TransportError};

/// Shared counters; clone the `Arc` to read them while the transport is in use elsewhere.
#[derive(Debug, Default)]
pub struct Counters {
    apdus: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountSnapshot {
    /// Command APDUs sent.
    pub apdus: u64,
    /// Command bytes sent.
    pub bytes_sent: u64,
    /// Response bytes received (including status words).
    pub bytes_received: u64,
}

impl CountSnapshot {
    /// The difference `self - earlier`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            apdus: self.apdus.saturating_sub(earlier.apdus),
            bytes_sent: self.bytes_sent.saturating_sub(earlier.bytes_sent),
            bytes_received: self.bytes_received.saturating_sub(earlier.bytes_received),
        }
    }
}

impl Counters {
    /// Current values.
    pub fn snapshot(&self) -> CountSnapshot {
        CountSnapshot {
            apdus: self.apdus.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
        }
    }

    /// Sets everything to zero.
    pub fn reset(&self) {
        self.apdus.store(0, Ordering::Relaxed);
        self.bytes_sent.store(0, Ordering::Relaxed);
        self.bytes_received.store(0, Ordering::Relaxed);
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
        self.counters.apdus.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_sent
            .fetch_add(apdu.len() as u64, Ordering::Relaxed);
        let r = self.inner.transmit(apdu)?;
        self.counters
            .bytes_received
            .fetch_add(r.len() as u64, Ordering::Relaxed);
        Ok(r)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}
