//! Wrappers that add behaviour to any [`Transport`](crate::Transport): counting, tracing with secrets
//! redacted, fault injection and added latency. They stack: `Counting<Tracing<Faulty<T>>>`.

mod counting;
mod faults;
mod latency;
mod tracing_transport;

pub use counting::{CountSnapshot, Counters, Counting};
pub use faults::{Fault, FaultPlan, Faulty};
pub use latency::Latency;
pub use tracing_transport::{TraceSink, Tracing};
