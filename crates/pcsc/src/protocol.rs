//! The transmission protocols and connection dispositions this crate uses, with their PC/SC values
//! (identical in winscard and pcsc-lite).

/// The active transmission protocol of a connection; it picks the `SCARD_PCI_T0`/`SCARD_PCI_T1`
/// header of every `SCardTransmit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// T=0 (`SCARD_PROTOCOL_T0`).
    T0,
    /// T=1 (`SCARD_PROTOCOL_T1`). The default: every PIV token we know of speaks T=1.
    #[default]
    T1,
}

impl Protocol {
    /// `SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1`: what this crate asks for when it (re)connects.
    pub const T0_OR_T1: u32 = 0x0000_0001 | 0x0000_0002;

    /// The `SCARD_PROTOCOL_*` value.
    pub fn raw(self) -> u32 {
        match self {
            Self::T0 => 0x0000_0001,
            Self::T1 => 0x0000_0002,
        }
    }

    /// The protocol for a `SCARD_PROTOCOL_*` value reported by the resource manager; `None` for
    /// "undefined", raw mode or anything else this crate cannot transmit with.
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            0x0000_0001 => Some(Self::T0),
            0x0000_0002 => Some(Self::T1),
            _ => None,
        }
    }

    pub(crate) fn from_pcsc(protocol: pcsc::Protocol) -> Option<Self> {
        match protocol {
            pcsc::Protocol::T0 => Some(Self::T0),
            pcsc::Protocol::T1 => Some(Self::T1),
            pcsc::Protocol::RAW => None,
        }
    }
}

/// What happens to the card when a connection is re-established or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// `SCARD_LEAVE_CARD`: the card keeps its state (selected application, verified PIN).
    LeaveCard,
    /// `SCARD_RESET_CARD`: warm reset; volatile card state is lost.
    ResetCard,
}

impl Disposition {
    /// The `SCARD_*_CARD` value.
    pub fn raw(self) -> u32 {
        match self {
            Self::LeaveCard => 0,
            Self::ResetCard => 1,
        }
    }

    pub(crate) fn to_pcsc(self) -> pcsc::Disposition {
        match self {
            Self::LeaveCard => pcsc::Disposition::LeaveCard,
            Self::ResetCard => pcsc::Disposition::ResetCard,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unnecessary_cast, reason = "DWORD is u64 on Linux, u32 elsewhere")]
    fn raw_values_match_the_pcsc_headers() {
        assert_eq!(Protocol::T0.raw(), pcsc::ffi::SCARD_PROTOCOL_T0 as u32);
        assert_eq!(Protocol::T1.raw(), pcsc::ffi::SCARD_PROTOCOL_T1 as u32);
        assert_eq!(Protocol::T0_OR_T1, pcsc::Protocols::ANY.bits() as u32);
        assert_eq!(Disposition::LeaveCard.raw(), pcsc::ffi::SCARD_LEAVE_CARD as u32);
        assert_eq!(Disposition::ResetCard.raw(), pcsc::ffi::SCARD_RESET_CARD as u32);
    }

    #[test]
    fn unknown_protocols_are_refused() {
        assert_eq!(Protocol::from_raw(1), Some(Protocol::T0));
        assert_eq!(Protocol::from_raw(2), Some(Protocol::T1));
        for raw in [0, 3, 4, 0x1_0000, u32::MAX] {
            assert_eq!(Protocol::from_raw(raw), None, "raw {raw:#x}");
        }
        assert_eq!(Protocol::from_pcsc(pcsc::Protocol::RAW), None);
        assert_eq!(Protocol::default(), Protocol::T1);
    }
}
