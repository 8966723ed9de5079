//! What a card says about its command framing in its answer-to-reset: the historical bytes (ISO/IEC
//! 7816-3 §8.2.1) and, inside them, the card capabilities (ISO/IEC 7816-4 §8.1.1.2.7). A host reads them
//! once per card to decide whether it may send extended-length APDUs (one command for a certificate or
//! an RSA-2048 block instead of a chain of short ones).
//!
//! A YubiKey 5 answers `3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59 75 62 69 4B 65 79 40`: its
//! historical bytes are category `80` (COMPACT-TLV objects follow), a card-capabilities object `73 C0 21
//! C0` whose third software-function byte `C0` announces command chaining and extended Lc/Le, and a
//! card issuer's data object `57` "YubiKey".

/// Category indicator of historical bytes made of COMPACT-TLV objects with a status indicator in the
/// last three bytes (ISO/IEC 7816-4 §8.1.1.1).
const CATEGORY_TLV_WITH_STATUS: u8 = 0x00;
/// Category indicator of historical bytes made of COMPACT-TLV objects only (the status indicator, when
/// present, is one of them).
const CATEGORY_TLV: u8 = 0x80;
/// COMPACT-TLV tag of the card capabilities.
const TAG_CARD_CAPABILITIES: u8 = 0x7;
/// Third software-function byte (ISO/IEC 7816-4 table 118): b8, command chaining.
const COMMAND_CHAINING: u8 = 0x80;
/// Third software-function byte: b7, extended Lc and Le fields.
const EXTENDED_LC_LE: u8 = 0x40;

/// The framing a card announces in its card-capabilities object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CardCapabilities {
    /// The card accepts command chaining (CLA bit `10`).
    pub command_chaining: bool,
    /// The card accepts extended Lc and Le fields.
    pub extended_length: bool,
}

impl CardCapabilities {
    /// The capabilities announced in `atr`'s historical bytes; `None` when the ATR is malformed or has
    /// no card-capabilities object with a third software-function byte (nothing is announced, so
    /// nothing may be assumed).
    pub fn from_atr(atr: &[u8]) -> Option<Self> {
        let third = software_functions(historical_bytes(atr)?)?.get(2).copied()?;
        Some(Self {
            command_chaining: third & COMMAND_CHAINING != 0,
            extended_length: third & EXTENDED_LC_LE != 0,
        })
    }
}

/// `atr` with the extended-length announcement cleared from its card capabilities, and its check byte
/// TCK (ISO/IEC 7816-3 §8.2.5) kept valid: the ATR of the same card as a host that must frame short
/// APDUs would see it (a bench's or a test's way to make a module use short APDUs). An ATR that
/// announces nothing comes back unchanged.
pub fn without_extended_length(atr: &[u8]) -> Vec<u8> {
    let mut out = atr.to_vec();
    let Some(third) = historical_bytes(atr)
        .and_then(software_functions)
        .and_then(|functions| functions.get(2))
    else {
        return out;
    };
    // The byte's place in `atr`: `third` borrows from it.
    let at = third as *const u8 as usize - atr.as_ptr() as usize;
    let had_check_byte = atr.len() > 2 && atr[1..].iter().fold(0, |x, b| x ^ b) == 0;
    out[at] &= !EXTENDED_LC_LE;
    if had_check_byte && at != out.len() - 1 {
        let last = out.len() - 1;
        out[last] ^= atr[at] ^ out[at];
    }
    out
}

/// The historical bytes of `atr` (ISO/IEC 7816-3 §8.2: TS, T0, the interface bytes announced by T0 and
/// each TDi, then K historical bytes), or `None` when the ATR is shorter than it announces.
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let t0 = *atr.get(1)?;
    let count = usize::from(t0 & 0x0F);
    let mut presence = t0 >> 4;
    let mut pos = 2usize;
    loop {
        // TAi, TBi, TCi are skipped; TDi announces the next group.
        pos += (presence & 0x7).count_ones() as usize;
        if presence & 0x8 == 0 {
            break;
        }
        presence = *atr.get(pos)? >> 4;
        pos += 1;
    }
    atr.get(pos..pos.checked_add(count)?)
}

/// The software-function bytes of the card-capabilities object in `historical`, when its category is
/// one of the COMPACT-TLV forms.
fn software_functions(historical: &[u8]) -> Option<&[u8]> {
    let (&category, rest) = historical.split_first()?;
    let objects = match category {
        CATEGORY_TLV => rest,
        CATEGORY_TLV_WITH_STATUS => rest.get(..rest.len().checked_sub(3)?)?,
        _ => return None,
    };
    let mut pos = 0;
    while let Some(&header) = objects.get(pos) {
        let (tag, len) = (header >> 4, usize::from(header & 0x0F));
        let value = objects.get(pos + 1..pos + 1 + len)?;
        if tag == TAG_CARD_CAPABILITIES {
            return Some(value);
        }
        pos += 1 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atr_without_the_extended_length_announcement_keeps_its_check_byte() {
        let short = without_extended_length(&YUBIKEY_5);
        assert_eq!(
            CardCapabilities::from_atr(&short),
            Some(CardCapabilities {
                command_chaining: true,
                extended_length: false
            })
        );
        assert_eq!(
            short[13], 0x80,
            "only b7 of the third software-function byte changes"
        );
        assert_eq!(short[1..].iter().fold(0, |x, b| x ^ b), 0, "TCK still valid");
        let unchanged: Vec<u8> = (0..)
            .zip(&short)
            .filter(|(i, _)| ![13, 22].contains(i))
            .map(|(_, b)| *b)
            .collect();
        let original: Vec<u8> = (0..)
            .zip(&YUBIKEY_5)
            .filter(|(i, _)| ![13, 22].contains(i))
            .map(|(_, b)| *b)
            .collect();
        assert_eq!(unchanged, original);
        assert_eq!(without_extended_length(&short), short, "nothing left to clear");
        assert_eq!(
            without_extended_length(&[0x3B, 0x00]),
            [0x3B, 0x00],
            "nothing announced"
        );
    }

    /// libykpiv's `YKPIV_ATR_YK5`.
    const YUBIKEY_5: [u8; 23] = [
        0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75,
        0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
    ];

    #[test]
    fn a_yubikey_announces_chaining_and_extended_length() {
        assert_eq!(
            historical_bytes(&YUBIKEY_5),
            Some(&YUBIKEY_5[9..22]),
            "13 historical bytes after TS T0 TA1 TB1 TC1 TD1 TD2 TA3 TB3"
        );
        assert_eq!(
            CardCapabilities::from_atr(&YUBIKEY_5),
            Some(CardCapabilities {
                command_chaining: true,
                extended_length: true
            })
        );
    }

    #[test]
    fn the_third_software_function_byte_decides() {
        // Category 80, card capabilities with bit b7 clear (chaining only).
        let chaining_only = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x00, 0x00, 0x80, 0x77];
        let caps = CardCapabilities::from_atr(&chaining_only).unwrap();
        assert!(caps.command_chaining && !caps.extended_length);
        // Category 00: the last three bytes are the status indicator, not an object.
        let with_status = [0x3B, 0x08, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x90, 0x00];
        assert_eq!(
            CardCapabilities::from_atr(&with_status),
            Some(CardCapabilities {
                command_chaining: false,
                extended_length: true
            })
        );
    }

    #[test]
    fn nothing_announced_is_nothing_assumed() {
        // No historical bytes.
        assert_eq!(CardCapabilities::from_atr(&[0x3B, 0x00]), None);
        // A proprietary category.
        assert_eq!(CardCapabilities::from_atr(&[0x3B, 0x02, 0x4A, 0x43]), None);
        // Card capabilities with only one software-function byte.
        assert_eq!(CardCapabilities::from_atr(&[0x3B, 0x03, 0x80, 0x71, 0x80]), None);
        // An ATR shorter than T0 announces, and an object longer than the bytes left.
        assert_eq!(historical_bytes(&[0x3B, 0x8F, 0x80]), None);
        assert_eq!(CardCapabilities::from_atr(&[0x3B, 0x03, 0x80, 0x73, 0xC0]), None);
        assert_eq!(CardCapabilities::from_atr(&[]), None);
    }
}
