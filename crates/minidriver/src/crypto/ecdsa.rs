//! ECDSA formats: the card answers a DER `SEQUENCE { r INTEGER, s INTEGER }`; Windows wants CNG's
//! signature format, `r ‖ s`, each big-endian and exactly the field size.

use tessera_piv::tlv;

use crate::error::{MdError, Result};

/// Converts a DER signature (or an already raw `r ‖ s` of the right size, which some cards return) to
/// the fixed-size form.
pub fn der_to_raw(sig: &[u8], field_len: usize) -> Result<Vec<u8>> {
    if sig.len() == 2 * field_len && sig.first() != Some(&0x30) {
        return Ok(sig.to_vec());
    }
    let bad = |why: &str| MdError::CommDataLost(format!("ECDSA signature from the card: {why}"));
    let body = tlv::parse_single(sig, 0x30).map_err(|e| bad(&e.to_string()))?;
    let parts = tlv::parse_all(body).map_err(|e| bad(&e.to_string()))?;
    let [r, s] = parts.as_slice() else {
        return Err(bad("not two integers"));
    };
    if r.tag != 0x02 || s.tag != 0x02 {
        return Err(bad("not two integers"));
    }
    let mut out = Vec::with_capacity(2 * field_len);
    for v in [r.value, s.value] {
        let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
        let v = &v[start..];
        if v.is_empty() || v.len() > field_len {
            return Err(bad("integer out of range"));
        }
        out.extend(std::iter::repeat_n(0, field_len - v.len()));
        out.extend_from_slice(v);
    }
    Ok(out)
}

/// The hash as ECDSA uses it for a curve of `field_len` bytes (FIPS 186-5 §6.4.1: the leftmost bits of a
/// longer hash; a shorter one keeps its value, left-padded with zeros for the card).
pub fn fit_hash(hash: &[u8], field_len: usize) -> Vec<u8> {
    if hash.len() >= field_len {
        hash[..field_len].to_vec()
    } else {
        let mut out = vec![0u8; field_len - hash.len()];
        out.extend_from_slice(hash);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_with_leading_zero_and_short_integer() {
        let mut der = vec![0x30, 0x26, 0x02, 0x21, 0x00];
        der.extend([0x80; 32]);
        der.extend([0x02, 0x01, 0x05]);
        let raw = der_to_raw(&der, 32).unwrap();
        assert_eq!(raw.len(), 64);
        assert_eq!(&raw[..32], &[0x80; 32]);
        assert_eq!(&raw[32..63], &[0; 31]);
        assert_eq!(raw[63], 5);
        assert!(der_to_raw(&[0x30, 0x03, 0x02, 0x01, 0x01], 32).is_err());
        assert!(der_to_raw(&[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01], 32).is_err());
    }

    #[test]
    fn hash_fitting() {
        assert_eq!(fit_hash(&[1; 64], 48), vec![1; 48]);
        assert_eq!(fit_hash(&[1; 20], 32)[..12], [0; 12]);
    }
}
