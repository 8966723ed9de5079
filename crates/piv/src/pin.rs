//! PIN and PUK values as the card expects them: 8 bytes, padded with `FF` (SP 800-73-4 Part 2 §2.4.3).

use std::fmt;

use thiserror::Error;
use zeroize::Zeroizing;

/// Length of a padded PIN or PUK.
pub const PADDED_LEN: usize = 8;

/// Why a PIN value cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PinFormatError {
    /// No bytes at all.
    #[error("PIN is empty")]
    Empty,
    /// More than eight bytes.
    #[error("PIN is {0} bytes long; at most 8 fit")]
    TooLong(usize),
    /// The value contains the padding byte `FF`, which would make it ambiguous.
    #[error("PIN contains the padding byte FF")]
    ContainsPadding,
}

/// A PIN or PUK padded to eight bytes. The bytes live in one heap block from creation to drop, which
/// wipes them: moving a `PaddedPin` moves a pointer, never a copy of the PIN. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PaddedPin(Box<Zeroizing<[u8; PADDED_LEN]>>);

impl PaddedPin {
    /// Pads `pin` (1–8 bytes) with `FF`. The card, not this function, decides what PINs it accepts
    /// (PIV says 6–8 digits; YubiKeys accept any 6–8 bytes).
    pub fn new(pin: &[u8]) -> Result<Self, PinFormatError> {
        if pin.is_empty() {
            return Err(PinFormatError::Empty);
        }
        if pin.len() > PADDED_LEN {
            return Err(PinFormatError::TooLong(pin.len()));
        }
        if pin.contains(&0xFF) {
            return Err(PinFormatError::ContainsPadding);
        }
        let mut out = Box::new(Zeroizing::new([0xFF; PADDED_LEN]));
        out[..pin.len()].copy_from_slice(pin);
        Ok(Self(out))
    }

    /// Takes an already padded 8-byte value as the card stores it (copied into the PIN's own block;
    /// the caller wipes its copy).
    pub fn from_padded(padded: &[u8; PADDED_LEN]) -> Self {
        let mut out = Box::new(Zeroizing::new([0xFF; PADDED_LEN]));
        out.copy_from_slice(padded);
        Self(out)
    }

    /// The eight padded bytes.
    pub fn as_bytes(&self) -> &[u8; PADDED_LEN] {
        &self.0
    }

    /// The value without the trailing `FF` padding.
    pub fn unpadded(&self) -> &[u8] {
        let end = self.0.iter().rposition(|&b| b != 0xFF).map_or(0, |i| i + 1);
        &self.0[..end]
    }
}

impl fmt::Debug for PaddedPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaddedPin(<redacted>)")
    }
}

/// The PIV default PIN, `123456`.
pub const DEFAULT_PIN: &[u8] = b"123456";
/// The PIV default PUK, `12345678`.
pub const DEFAULT_PUK: &[u8] = b"12345678";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_with_ff() {
        let p = PaddedPin::new(b"123456").unwrap();
        assert_eq!(p.as_bytes(), &[0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0xFF, 0xFF]);
        assert_eq!(p.unpadded(), b"123456");
        assert_eq!(PaddedPin::new(b"12345678").unwrap().as_bytes(), b"12345678");
        assert_eq!(PaddedPin::new(b""), Err(PinFormatError::Empty));
        assert_eq!(PaddedPin::new(b"123456789"), Err(PinFormatError::TooLong(9)));
        assert_eq!(
            PaddedPin::new(&[0x31, 0xFF]),
            Err(PinFormatError::ContainsPadding)
        );
        assert_eq!(format!("{p:?}"), "PaddedPin(<redacted>)");
    }

    #[test]
    fn the_padded_bytes_stay_in_place_when_the_pin_moves() {
        // A PIN that moves by value leaves a copy of itself behind that nothing wipes; the bytes must
        // live in one place from creation to the wipe on drop, however the value is passed around.
        let pin = PaddedPin::new(b"123456").unwrap();
        let at = pin.as_bytes().as_ptr();
        let moved = vec![pin];
        assert_eq!(
            moved[0].as_bytes().as_ptr(),
            at,
            "moving the PIN copied its bytes"
        );
        let boxed = Box::new(moved.into_iter().next().unwrap());
        assert_eq!(boxed.as_bytes().as_ptr(), at, "moving the PIN copied its bytes");
    }
}
