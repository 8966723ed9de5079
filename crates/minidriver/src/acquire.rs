//! What `CardAcquireContext` checks before it talks to the card (Smart Card Minidriver Specification
//! 7.07 §4.1.1 and §2.5.1): flags, the version asked for, the CSP's members of `CARD_DATA` and the ATR.

use windows_sys::Win32::Security::Cryptography::{
    CARD_DATA_CURRENT_VERSION, CARD_DATA_VERSION_FOUR, CARD_SECURE_KEY_INJECTION_NO_CARD_MODE,
};

use crate::atr::{Atr, AtrError, MAX_ATR_LEN};
use crate::error::{MdError, Result};
use crate::input::CallerBytes;
use tessera_piv::SessionOptions;

/// The CARD_DATA interface version this module implements.
pub const IMPLEMENTED_VERSION: u32 = CARD_DATA_CURRENT_VERSION;
/// The oldest interface version it accepts.
pub const MINIMUM_VERSION: u32 = CARD_DATA_VERSION_FOUR;
/// [`MAX_ATR_LEN`] as the interface's `DWORD`.
pub(crate) const MAX_ATR_READ: u32 = MAX_ATR_LEN as u32;

/// The members of `CARD_DATA` the CSP fills before `CardAcquireContext`, read by the ABI.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AcquireInfo<'a> {
    /// `dwFlags` of the call.
    pub flags: u32,
    /// `dwVersion`: the version the CSP asks for.
    pub requested_version: u32,
    /// `pbAtr` / `cbAtr`, read up to [`MAX_ATR_LEN`] bytes.
    pub atr: CallerBytes<'a>,
    /// `pwszCardName` is not NULL.
    pub has_card_name: bool,
    /// `pfnCspAlloc`, `pfnCspReAlloc` and `pfnCspFree` are all there.
    pub has_memory_callbacks: bool,
    /// `hSCardCtx`.
    pub context_handle: usize,
    /// `hScard`.
    pub card_handle: usize,
}

impl AcquireInfo<'_> {
    /// Checks the call and returns the interface version to answer with: the one asked for, or this
    /// module's when the CSP asks for a newer one. Secure key injection's no-card mode is not supported.
    pub(crate) fn negotiate(&self) -> Result<u32> {
        if self.flags & !CARD_SECURE_KEY_INJECTION_NO_CARD_MODE != 0 {
            return Err(MdError::InvalidParameter("unknown flags"));
        }
        if self.flags & CARD_SECURE_KEY_INJECTION_NO_CARD_MODE != 0 {
            return Err(MdError::Unsupported("secure key injection (no-card mode)"));
        }
        if self.requested_version < MINIMUM_VERSION {
            return Err(MdError::RevisionMismatch("CARD_DATA version below 4"));
        }
        if !self.has_memory_callbacks {
            return Err(MdError::InvalidParameter("memory callbacks"));
        }
        if matches!(self.atr, CallerBytes::Null { .. }) {
            return Err(MdError::InvalidParameter("pbAtr is NULL"));
        }
        if !self.has_card_name {
            return Err(MdError::InvalidParameter("pwszCardName is NULL"));
        }
        let atr = match self.atr {
            CallerBytes::Read(atr) if !atr.is_empty() => atr,
            _ => return Err(MdError::InvalidParameter("cbAtr")),
        };
        if self.context_handle == 0 || self.card_handle == 0 {
            return Err(MdError::InvalidHandle);
        }
        match Atr::parse(atr) {
            Ok(_) => Ok(self.requested_version.min(IMPLEMENTED_VERSION)),
            Err(AtrError::BadInitialCharacter(_) | AtrError::BadChecksum) => {
                Err(MdError::UnknownCard("invalid ATR"))
            }
            Err(AtrError::BadLength(_) | AtrError::Truncated | AtrError::Trailing(_)) => {
                Err(MdError::InvalidParameter("cbAtr does not match the ATR"))
            }
        }
    }
}

impl AcquireInfo<'_> {
    /// The framing for the card the CSP names: extended-length APDUs when its ATR announces them (one
    /// command for a certificate or an RSA block instead of a chain of short ones), short ones otherwise.
    pub(crate) fn session_options(&self) -> SessionOptions {
        match self.atr {
            CallerBytes::Read(atr) => SessionOptions::for_atr(atr),
            _ => SessionOptions::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATR: [u8; 13] = [
        0x3B, 0x98, 0x94, 0x40, 0x0A, 0xA5, 0x03, 0x01, 0x01, 0x01, 0xAD, 0x13, 0x10,
    ];

    fn info(atr: CallerBytes<'_>) -> AcquireInfo<'_> {
        AcquireInfo {
            flags: 0,
            requested_version: 9,
            atr,
            has_card_name: true,
            has_memory_callbacks: true,
            context_handle: 1,
            card_handle: 2,
        }
    }

    #[test]
    fn a_newer_version_is_answered_with_seven() {
        assert_eq!(info(CallerBytes::Read(&ATR)).negotiate().unwrap(), 7);
        let v5 = AcquireInfo {
            requested_version: 5,
            ..info(CallerBytes::Read(&ATR))
        };
        assert_eq!(v5.negotiate().unwrap(), 5);
    }

    #[test]
    fn each_member_has_its_error() {
        let code = |i: AcquireInfo<'_>| i.negotiate().unwrap_err().code();
        let ok = info(CallerBytes::Read(&ATR));
        assert_eq!(
            code(AcquireInfo { flags: 2, ..ok }),
            crate::codes::SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(AcquireInfo { flags: 1, ..ok }),
            crate::codes::SCARD_E_UNSUPPORTED_FEATURE
        );
        assert_eq!(
            code(AcquireInfo {
                requested_version: 3,
                ..ok
            }),
            crate::codes::ERROR_REVISION_MISMATCH
        );
        assert_eq!(
            code(info(CallerBytes::TooLong { len: 34 })),
            crate::codes::SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(AcquireInfo { card_handle: 0, ..ok }),
            crate::codes::SCARD_E_INVALID_HANDLE
        );
        let mut bad_tck = ATR;
        bad_tck[12] ^= 1;
        // The ATR has no TCK (T=0 only): a changed last byte is a changed historical byte, still valid.
        assert!(info(CallerBytes::Read(&bad_tck)).negotiate().is_ok());
        assert_eq!(
            code(info(CallerBytes::Read(&[0x3C]))),
            crate::codes::SCARD_E_UNKNOWN_CARD
        );
        assert_eq!(
            code(info(CallerBytes::Read(&ATR[..5]))),
            crate::codes::SCARD_E_INVALID_PARAMETER
        );
    }
}
