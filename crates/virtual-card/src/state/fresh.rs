//! The objects a fresh card carries, in the encodings libykpiv writes (so host tools see a familiar card).

/// Discovery object as a YubiKey returns it: PIV AID and PIN usage policy "PIV PIN only".
pub const DISCOVERY_OBJECT: [u8; 20] = [
    0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F,
    0x02, 0x40, 0x00,
];

/// FASC-N for agency 9999 as libykpiv's CHUID template carries it.
const FASC_N: [u8; 25] = [
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08, 0x42,
    0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
];

/// The CHUID content (inside `53`): FASC-N, the 16-byte `guid`, expiry 2030-01-01, empty signature, LRC.
pub fn chuid_template(guid: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(59);
    out.extend_from_slice(&[0x30, 0x19]);
    out.extend_from_slice(&FASC_N);
    out.extend_from_slice(&[0x34, 0x10]);
    out.extend_from_slice(guid);
    out.extend_from_slice(&[0x35, 0x08]);
    out.extend_from_slice(b"20300101");
    out.extend_from_slice(&[0x3E, 0x00, 0xFE, 0x00]);
    out
}

/// The CCC content (inside `53`) with a 14-byte random card identifier.
pub fn ccc_template(card_id: &[u8; 14]) -> Vec<u8> {
    let mut out = Vec::with_capacity(51);
    out.extend_from_slice(&[0xF0, 0x15, 0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02]);
    out.extend_from_slice(card_id);
    out.extend_from_slice(&[
        0xF1, 0x01, 0x21, 0xF2, 0x01, 0x21, 0xF3, 0x00, 0xF4, 0x01, 0x00, 0xF5, 0x01, 0x10, 0xF6, 0x00, 0xF7,
        0x00, 0xFA, 0x00, 0xFB, 0x00, 0xFC, 0x00, 0xFD, 0x00, 0xFE, 0x00,
    ]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_piv::tlv;

    #[test]
    fn templates_are_well_formed() {
        let chuid = chuid_template(&[7; 16]);
        assert_eq!(chuid.len(), 0x3B);
        let elements = tlv::parse_all(&chuid).unwrap();
        assert_eq!(tlv::find(&elements, 0x34), Some(&[7u8; 16][..]));
        let ccc = ccc_template(&[1; 14]);
        assert!(tlv::parse_all(&ccc).is_ok());
        let discovery = tlv::parse_single(&DISCOVERY_OBJECT, 0x7E).unwrap();
        assert_eq!(discovery.len(), 0x12);
    }
}
