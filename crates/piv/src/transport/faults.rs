//! Fault injection: make the Nth APDU fail in a chosen way, to prove that callers lose nothing.

use std::collections::BTreeMap;

use crate::session::{Transport, TransportError};

/// What happens at a planned APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The card is reset before the APDU arrives: the inner card is reset (when it can be) and the
    /// exchange fails with [`TransportError::CardReset`]; the APDU is not delivered.
    Reset,
    /// The card is pulled: this and every later exchange fail with [`TransportError::CardRemoved`].
    Removal,
    /// The exchange fails with a transport error; the APDU is not delivered.
    TransportError,
    /// The APDU is delivered, but only the first `keep` bytes of the answer come back.
    Truncate {
        /// Bytes kept.
        keep: usize,
    },
    /// The APDU is delivered, but the answer is replaced by these bytes.
    Garbage(Vec<u8>),
    /// The APDU is delivered and executed, then the connection fails (the caller cannot know whether
    /// it took effect — the "card pulled mid-write" case).
    LoseResponse,
}

/// Faults keyed by the 1-based index of the APDU they hit.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    faults: BTreeMap<u64, Fault>,
}

impl FaultPlan {
    /// No faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `fault` at the `nth` APDU (1-based).
    pub fn at(mut self, nth: u64, fault: Fault) -> Self {
        self.faults.insert(nth, fault);
        self
    }
}

/// Applies a [`FaultPlan`] to a transport.
#[derive(Debug)]
pub struct Faulty<T> {
    inner: T,
    plan: FaultPlan,
    sent: u64,
    removed: bool,
}

impl<T> Faulty<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, plan: FaultPlan) -> Self {
        Self {
            inner,
            plan,
            sent: 0,
            removed: false,
        }
    }

    /// Replaces the plan and restarts counting.
    pub fn set_plan(&mut self, plan: FaultPlan) {
        self.plan = plan;
        self.sent = 0;
    }

    /// Puts a removed card back.
    pub fn reinsert(&mut self) {
        self.removed = false;
    }

    /// APDUs seen since the plan was set.
    pub fn apdus_seen(&self) -> u64 {
        self.sent
    }

    /// The wrapped transport.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for Faulty<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.removed {
            return Err(TransportError::CardRemoved);
        }
        self.sent += 1;
        match self.plan.faults.get(&self.sent).cloned() {
            None => self.inner.transmit(apdu),
            Some(Fault::Reset) => {
                // A transport that cannot reset still reports the reset; callers must cope either way.
                let _ = self.inner.reset();
                Err(TransportError::CardReset)
            }
            Some(Fault::Removal) => {
                let _ = self.inner.reset();
                self.removed = true;
                Err(TransportError::CardRemoved)
            }
            Some(Fault::TransportError) => Err(TransportError::Io("injected transport error".into())),
            Some(Fault::Truncate { keep }) => {
                let mut r = self.inner.transmit(apdu)?;
                r.truncate(keep);
                Ok(r)
            }
            Some(Fault::Garbage(bytes)) => {
                self.inner.transmit(apdu)?;
                Ok(bytes)
            }
            Some(Fault::LoseResponse) => {
                self.inner.transmit(apdu)?;
                Err(TransportError::Io("injected loss of the response".into()))
            }
        }
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}
