//! PC/SC return codes, and the one mapping between them and [`TransportError`]: a `SCARD_*` value becomes
//! a transport error here ([`transport_error`]) and a transport error a `SCARD_*` value here
//! ([`pcsc_code`]), for every PC/SC transport and for the card module that answers the CSP in them.

use tessera_piv::{BackendError, TransportError};
use thiserror::Error;

/// `SCARD_E_INVALID_PARAMETER`: also what a length that does not fit a `DWORD` is reported as.
pub const SCARD_E_INVALID_PARAMETER: u32 = 0x8010_0004;
/// `SCARD_E_UNKNOWN_READER`.
pub const SCARD_E_UNKNOWN_READER: u32 = 0x8010_0009;
/// `SCARD_E_NO_SMARTCARD`: no card in the reader.
pub const SCARD_E_NO_SMARTCARD: u32 = 0x8010_000C;
/// `SCARD_E_PROTO_MISMATCH`: the PCI header names another protocol than the connection's; the resource
/// manager refuses the APDU before it reaches the card.
pub const SCARD_E_PROTO_MISMATCH: u32 = 0x8010_000F;
/// `SCARD_F_COMM_ERROR`: an internal communications error; what a failure without a PC/SC code of its own
/// is reported as.
pub const SCARD_F_COMM_ERROR: u32 = 0x8010_0013;
/// `SCARD_E_NO_SERVICE`: the PC/SC service (pcscd, SCardSvr) is not running.
pub const SCARD_E_NO_SERVICE: u32 = 0x8010_001D;
/// `SCARD_E_SERVICE_STOPPED`: the PC/SC service stopped.
pub const SCARD_E_SERVICE_STOPPED: u32 = 0x8010_001E;
/// `SCARD_E_NO_READERS_AVAILABLE`: no reader is attached.
pub const SCARD_E_NO_READERS_AVAILABLE: u32 = 0x8010_002E;
/// `SCARD_W_RESET_CARD`: the card was reset.
pub const SCARD_W_RESET_CARD: u32 = 0x8010_0068;
/// `SCARD_W_REMOVED_CARD`: the card was removed.
pub const SCARD_W_REMOVED_CARD: u32 = 0x8010_0069;

/// A PC/SC return code that none of [`TransportError`]'s own variants names, carried in
/// [`TransportError::Backend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("PC/SC error 0x{0:08X}")]
pub struct PcscCode(pub u32);

/// The transport error for a PC/SC return code: reset, removal and a missing card by name, any other
/// code kept as a [`PcscCode`].
pub fn transport_error(code: u32) -> TransportError {
    match code {
        SCARD_W_RESET_CARD => TransportError::CardReset,
        SCARD_W_REMOVED_CARD => TransportError::CardRemoved,
        SCARD_E_NO_SMARTCARD => TransportError::NoCard,
        other => TransportError::Backend(BackendError::new(PcscCode(other))),
    }
}

/// The PC/SC return code that describes a transport error: the code itself when a PC/SC transport
/// reported one, `SCARD_F_COMM_ERROR` for a failure without one (a socket, an injected fault).
pub fn pcsc_code(error: &TransportError) -> u32 {
    match error {
        TransportError::CardReset => SCARD_W_RESET_CARD,
        TransportError::CardRemoved => SCARD_W_REMOVED_CARD,
        TransportError::NoCard => SCARD_E_NO_SMARTCARD,
        TransportError::Backend(backend) => backend
            .downcast_ref::<PcscCode>()
            .map_or(SCARD_F_COMM_ERROR, |code| code.0),
        _ => SCARD_F_COMM_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_removals_and_missing_cards_have_their_own_variants() {
        assert_eq!(transport_error(SCARD_W_RESET_CARD), TransportError::CardReset);
        assert_eq!(transport_error(SCARD_W_REMOVED_CARD), TransportError::CardRemoved);
        assert_eq!(transport_error(SCARD_E_NO_SMARTCARD), TransportError::NoCard);
    }

    #[test]
    fn every_code_survives_the_round_trip() {
        for code in [
            SCARD_W_RESET_CARD,
            SCARD_W_REMOVED_CARD,
            SCARD_E_NO_SMARTCARD,
            SCARD_F_COMM_ERROR,
            SCARD_E_PROTO_MISMATCH,
            0x8010_001D,
        ] {
            assert_eq!(pcsc_code(&transport_error(code)), code, "{code:#X}");
        }
    }

    #[test]
    fn failures_without_a_pcsc_code_are_communication_errors() {
        assert_eq!(
            pcsc_code(&TransportError::Io("socket closed".into())),
            SCARD_F_COMM_ERROR
        );
        assert_eq!(
            pcsc_code(&TransportError::Unsupported("reset")),
            SCARD_F_COMM_ERROR
        );
        #[derive(Debug, Error)]
        #[error("another backend")]
        struct Other;
        let other = TransportError::Backend(BackendError::new(Other));
        assert_eq!(pcsc_code(&other), SCARD_F_COMM_ERROR);
    }

    #[test]
    fn a_kept_code_prints_in_hex() {
        assert_eq!(transport_error(0x8010_001D).to_string(), "PC/SC error 0x8010001D");
    }
}
