//! Wrappers that add behaviour to any [`Transport`](crate::Transport): counting, tracing with secrets
//! redacted, fault injection and added latency. They stack: `Counting<Tracing<Faulty<T>>>`. Also
//! [`Scripted`], a scripted card for tests.

mod counting;
mod faults;
mod latency;
mod scripted;
mod tracing_transport;

pub use counting::{CountSnapshot, Counters, Counting};
pub use faults::{Fault, FaultPlan, Faulty};
pub use latency::Latency;
pub use scripted::{Responder, Scripted};
pub use tracing_transport::{TraceSink, Tracing};

/// A card for the wrappers' tests: it answers every APDU with the same bytes (or fails), and remembers
/// what it received and how often it was reset.
#[cfg(test)]
pub(crate) mod recording {
    use crate::session::{Transport, TransportError};

    /// What every delivered APDU gets back unless [`RecordingCard::failing`] is set.
    pub(crate) const ANSWER: [u8; 4] = [0xAA, 0xBB, 0x90, 0x00];

    #[derive(Debug, Default)]
    pub(crate) struct RecordingCard {
        pub(crate) received: Vec<Vec<u8>>,
        pub(crate) resets: usize,
        pub(crate) failing: Option<TransportError>,
    }

    impl RecordingCard {
        /// A card every exchange with which fails with `error`.
        pub(crate) fn failing_with(error: TransportError) -> Self {
            Self {
                failing: Some(error),
                ..Self::default()
            }
        }
    }

    impl Transport for RecordingCard {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            if let Some(e) = &self.failing {
                return Err(e.clone());
            }
            self.received.push(apdu.to_vec());
            Ok(ANSWER.to_vec())
        }

        fn reset(&mut self) -> Result<(), TransportError> {
            self.resets += 1;
            Ok(())
        }
    }
}
