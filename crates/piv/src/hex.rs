//! Hex text for byte strings: [`HexBytes`] prints them (traces, `Debug` output), [`literal`] reads the ones
//! written in source (test vectors, scripted card exchanges). Card input is never hex: it arrives as bytes.

use std::fmt;

/// Bytes shown as uppercase hex without separators.
pub struct HexBytes<'a>(pub &'a [u8]);

impl fmt::Display for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// The bytes of `text`, hex digits of either case with any whitespace between them; `None` when it is
/// not an even number of hex digits.
pub fn parse(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            let [hi, lo] = pair else { return None };
            let hi = char::from(*hi).to_digit(16)?;
            let lo = char::from(*lo).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// The bytes of a hex literal written in source, e.g. `literal("00 A4 04 00")`; whitespace is ignored.
///
/// # Panics
/// When `text` is not hex: a literal in the program that is not hex is a bug in the program.
pub fn literal(text: &str) -> Vec<u8> {
    match parse(text) {
        Some(bytes) => bytes,
        None => panic!("{text:?} is not hex"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_case_are_ignored() {
        assert_eq!(parse("0a B0\n ff"), Some(vec![0x0A, 0xB0, 0xFF]));
        assert_eq!(parse(""), Some(vec![]));
        assert_eq!(literal("00 A4 04 00"), [0x00, 0xA4, 0x04, 0x00]);
    }

    #[test]
    fn odd_lengths_and_other_characters_are_not_hex() {
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("zz"), None);
        assert_eq!(parse("+1"), None);
        assert_eq!(parse("é0"), None);
    }

    #[test]
    #[should_panic(expected = "is not hex")]
    fn a_literal_that_is_not_hex_is_a_bug() {
        let _ = literal("0x12");
    }

    #[test]
    fn prints_uppercase_without_separators() {
        assert_eq!(HexBytes(&[0x00, 0xAB, 0x7F]).to_string(), "00AB7F");
        assert_eq!(HexBytes(&[]).to_string(), "");
        assert_eq!(
            parse(&HexBytes(&[1, 2, 0xFE]).to_string()),
            Some(vec![1, 2, 0xFE])
        );
    }
}
