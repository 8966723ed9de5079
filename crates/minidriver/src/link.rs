//! The path from the card module to the card: the CSP's PC/SC handle, or (for in-process tests and the
//! demo) an injected transport such as the virtual card.

use tessera_piv::transport::Tracing;
use tessera_piv::{Transport, TransportError};

/// A transport the module can re-point at the handles the CSP passes on each call.
pub trait CardLink: Transport + Send {
    /// Called on every entry with the current `hSCardCtx`/`hScard` from `CARD_DATA`. Returns true when
    /// the handle changed: the CSP reconnected, so the card's volatile state may be gone.
    fn rebind(&mut self, _context: usize, _card: usize) -> bool {
        false
    }
}

/// An injected transport (in-process virtual card, test scripts). The CSP's handles are ignored.
pub struct Injected(pub Box<dyn Transport + Send>);

impl Transport for Injected {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0.transmit(apdu)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.0.reset()
    }
}

impl CardLink for Injected {}

/// The APDU trace of the module's log (see [`crate::log`]): every exchange at debug level under the
/// target `tessera::apdu`, secrets redacted by `tessera_piv::redact`.
impl CardLink for Tracing<Box<dyn CardLink>> {
    fn rebind(&mut self, context: usize, card: usize) -> bool {
        self.inner_mut().rebind(context, card)
    }
}

/// `link`, traced when the log shows APDUs (decided once, when the context is acquired: the log is set
/// up before the first context and does not change).
pub fn traced(link: Box<dyn CardLink>) -> Box<dyn CardLink> {
    if tracing::enabled!(target: "tessera::apdu", tracing::Level::DEBUG) {
        Box::new(Tracing::new(link))
    } else {
        link
    }
}
