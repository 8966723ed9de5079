//! The path from the card module to the card: the CSP's PC/SC handle, or (for in-process tests and the
//! demo) an injected transport such as the virtual card.

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
