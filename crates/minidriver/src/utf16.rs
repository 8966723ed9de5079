//! UTF-16LE strings the caller hands over as bytes (KDF parameters, `CP_PIN_CONTEXT_STRING`).

/// The code units of `bytes` up to the first NUL (or the end); an odd last byte is ignored.
pub(crate) fn units_until_nul(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_first_nul() {
        assert_eq!(units_until_nul(b"a\0b\0\0\0c\0"), [0x61, 0x62]);
        assert_eq!(units_until_nul(b"a\0b"), [0x61]);
        assert!(units_until_nul(b"").is_empty());
    }
}
