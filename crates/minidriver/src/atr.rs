//! ISO/IEC 7816-3 §8.2 answer-to-reset structure. The module checks the ATR the CSP hands over before any
//! card I/O: a malformed one is refused without touching the card.

use thiserror::Error;

/// The longest ATR ISO 7816-3 allows (and Windows' `SCARD_ATR_LENGTH`).
pub const MAX_ATR_LEN: usize = 33;

/// Why an ATR is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AtrError {
    /// The buffer length cannot be an ATR (0 or more than 33 bytes).
    #[error("ATR length {0} is impossible")]
    BadLength(usize),
    /// The initial character is neither `3B` (direct) nor `3F` (inverse convention).
    #[error("initial character {0:02X} is not 3B or 3F")]
    BadInitialCharacter(u8),
    /// The structure announces more bytes than the buffer has.
    #[error("ATR truncated")]
    Truncated,
    /// The buffer has bytes after the structure's end.
    #[error("{0} bytes after the end of the ATR")]
    Trailing(usize),
    /// The check character TCK does not match.
    #[error("wrong check character")]
    BadChecksum,
}

/// A structurally valid ATR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atr {
    bytes: Vec<u8>,
    historical: std::ops::Range<usize>,
}

impl Atr {
    /// Parses and checks `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, AtrError> {
        if bytes.is_empty() || bytes.len() > MAX_ATR_LEN {
            return Err(AtrError::BadLength(bytes.len()));
        }
        let ts = bytes[0];
        if ts != 0x3B && ts != 0x3F {
            return Err(AtrError::BadInitialCharacter(ts));
        }
        let t0 = *bytes.get(1).ok_or(AtrError::Truncated)?;
        let historical_len = usize::from(t0 & 0x0F);
        let mut presence = t0 >> 4;
        let mut pos = 2;
        let mut protocols = Vec::new();
        loop {
            // TA, TB, TC are skipped; TD announces the next group and a protocol.
            pos += usize::from((presence & 0x7).count_ones() as u8);
            if presence & 0x8 == 0 {
                break;
            }
            let td = *bytes.get(pos).ok_or(AtrError::Truncated)?;
            pos += 1;
            protocols.push(td & 0x0F);
            presence = td >> 4;
        }
        let historical = pos..pos + historical_len;
        pos += historical_len;
        let needs_tck = protocols.iter().any(|&t| t != 0);
        if needs_tck {
            pos += 1;
        }
        if pos > bytes.len() {
            return Err(AtrError::Truncated);
        }
        if pos < bytes.len() {
            return Err(AtrError::Trailing(bytes.len() - pos));
        }
        if needs_tck && bytes[1..].iter().fold(0u8, |acc, b| acc ^ b) != 0 {
            return Err(AtrError::BadChecksum);
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            historical,
        })
    }

    /// The historical bytes (what Windows' `SCFILTER\CID_…` hardware IDs are made of).
    pub fn historical_bytes(&self) -> &[u8] {
        &self.bytes[self.historical.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YUBIKEY5: [u8; 23] = [
        0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75,
        0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
    ];

    #[test]
    fn yubikey5_atr_parses() {
        let atr = Atr::parse(&YUBIKEY5).unwrap();
        assert_eq!(atr.historical_bytes(), &YUBIKEY5[9..22]);
    }

    #[test]
    fn cmck_example_historical_bytes() {
        // The certification kit's InstCheckINF test derives the INF's hardware ID from the historical
        // bytes: T0 = 98 announces eight, so ATR 3b 98 94 40 0a a5 03 01 01 01 ad 13 10 is
        // SCFILTER\CID_a503010101ad1310.
        let atr = Atr::parse(&[
            0x3B, 0x98, 0x94, 0x40, 0x0A, 0xA5, 0x03, 0x01, 0x01, 0x01, 0xAD, 0x13, 0x10,
        ])
        .unwrap();
        assert_eq!(
            atr.historical_bytes(),
            &[0xA5, 0x03, 0x01, 0x01, 0x01, 0xAD, 0x13, 0x10]
        );
    }

    #[test]
    fn rejects_what_cmck_rejects() {
        assert_eq!(Atr::parse(&[]), Err(AtrError::BadLength(0)));
        assert_eq!(Atr::parse(&[0x3B; 34]), Err(AtrError::BadLength(34)));
        assert_eq!(Atr::parse(&[0xFF; 23]), Err(AtrError::BadInitialCharacter(0xFF)));
        assert_eq!(Atr::parse(&[0x00; 23]), Err(AtrError::BadInitialCharacter(0x00)));
        assert_eq!(Atr::parse(&YUBIKEY5[..2]), Err(AtrError::Truncated));
        let mut trailing = YUBIKEY5.to_vec();
        trailing.push(0);
        assert_eq!(Atr::parse(&trailing), Err(AtrError::Trailing(1)));
        let mut bad_tck = YUBIKEY5;
        bad_tck[22] ^= 1;
        assert_eq!(Atr::parse(&bad_tck), Err(AtrError::BadChecksum));
    }
}
