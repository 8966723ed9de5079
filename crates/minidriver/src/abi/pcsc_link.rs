//! The CSP's PC/SC handle as the module's card link: `SCardTransmit` on whatever `hScard` the current
//! call carries, never a disconnect.

use tessera_pcsc::BorrowedCard;
use tessera_piv::{Transport, TransportError};

use crate::link::CardLink;

/// A link over the CSP's card handle.
pub(crate) struct PcscLink(BorrowedCard);

impl PcscLink {
    /// # Safety
    /// `handle` is a card handle from the caller's `SCardConnect`, valid while the CSP uses this context.
    pub(crate) unsafe fn new(handle: usize) -> Self {
        // SAFETY: forwarded contract.
        Self(unsafe { BorrowedCard::from_raw(handle) })
    }
}

impl Transport for PcscLink {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0.transmit(apdu)
    }
}

impl CardLink for PcscLink {
    fn rebind(&mut self, _context: usize, card: usize) -> bool {
        if self.0.handle() == card {
            return false;
        }
        // SAFETY: `card` is the handle the CSP passes in CARD_DATA for the current call, which the
        // interface guarantees to be a live connection to this card for the duration of the call.
        unsafe { self.0.set_handle(card) };
        true
    }
}
