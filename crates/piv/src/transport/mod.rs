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
