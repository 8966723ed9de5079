//! RSA encodings the module applies around the card's raw private-key operation (RFC 8017):
//! EMSA-PKCS1-v1_5 and EMSA-PSS for signing; EME-PKCS1-v1_5 and EME-OAEP decoding for decryption.
//!
//! Decoding is constant-time by construction: no branch, early return or memory access depends on the
//! decrypted bytes. Every byte is visited, choices are `subtle::Choice`, indices are selected with
//! `ConditionallySelectable`, and the message is moved into place with a constant-time shift. Only the
//! final verdict (one `Choice`) leaves these functions; the caller turns it into a single error code.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeLess};
use zeroize::Zeroizing;

use super::hash::HashAlg;
use crate::error::{MdError, Result};

/// EMSA-PKCS1-v1_5 (RFC 8017 §9.2) for a `k`-byte modulus: `00 01 FF…FF 00 ‖ T`, where `T` is the
/// DigestInfo (or whatever the caller passes when it asked for no OID).
pub fn pkcs1_v15_sign(t: &[u8], k: usize) -> Result<Vec<u8>> {
    if t.len() + 11 > k {
        return Err(MdError::InvalidParameter("data too long for the key"));
    }
    let mut em = vec![0xFFu8; k];
    em[0] = 0x00;
    em[1] = 0x01;
    em[k - t.len() - 1] = 0x00;
    em[k - t.len()..].copy_from_slice(t);
    Ok(em)
}

/// EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with MGF1 over the same hash, for a modulus of `mod_bits` bits,
/// left-padded to `k` bytes for the raw operation.
pub fn pss_sign(hash: HashAlg, m_hash: &[u8], salt: &[u8], mod_bits: usize, k: usize) -> Result<Vec<u8>> {
    let h_len = hash.len();
    let em_bits = mod_bits - 1;
    let em_len = em_bits.div_ceil(8);
    if m_hash.len() != h_len {
        return Err(MdError::InvalidParameter("hash length"));
    }
    if em_len < h_len + salt.len() + 2 {
        return Err(MdError::InvalidParameter("salt too long for the key"));
    }
    let h = hash.digest(&[&[0u8; 8], m_hash, salt]);
    let db_len = em_len - h_len - 1;
    let mut db = vec![0u8; db_len];
    db[db_len - salt.len() - 1] = 0x01;
    db[db_len - salt.len()..].copy_from_slice(salt);
    for (d, m) in db.iter_mut().zip(hash.mgf1(&h, db_len).iter()) {
        *d ^= m;
    }
    db[0] &= 0xFFu8 >> (8 * em_len - em_bits);
    let mut em = vec![0u8; k - em_len];
    em.extend_from_slice(&db);
    em.extend_from_slice(&h);
    em.push(0xBC);
    Ok(em)
}

/// A decoded message: `valid` is the only secret-dependent verdict; `message[..len]` is meaningful only
/// when it is set.
pub struct Decoded {
    /// Whether the padding was correct.
    pub valid: Choice,
    /// The buffer the message was moved to the front of (same length as the encoded block).
    pub message: Zeroizing<Vec<u8>>,
    /// The message length (garbage when invalid).
    pub len: usize,
}

/// EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2 step 3): `00 02 PS 00 M` with at least 8 bytes of PS.
pub fn pkcs1_v15_decrypt(em: &[u8]) -> Decoded {
    let k = em.len();
    let mut valid = em.first().map_or(Choice::from(0), |b| b.ct_eq(&0))
        & em.get(1).map_or(Choice::from(0), |b| b.ct_eq(&2));
    let mut found = Choice::from(0);
    let mut separator = 0u32;
    for (i, b) in em.iter().enumerate().skip(2) {
        let is_zero = b.ct_eq(&0);
        separator.conditional_assign(&(i as u32), is_zero & !found);
        found |= is_zero;
    }
    valid &= found;
    // PS must be at least 8 bytes: the separator sits at index 10 or later.
    valid &= !separator.ct_lt(&10);
    let start = separator as usize + 1;
    let len = k.wrapping_sub(start);
    Decoded {
        valid,
        message: shift_left(em, start.min(k)),
        len,
    }
}

/// EME-OAEP decoding (RFC 8017 §7.1.2 step 3) with MGF1 over `hash` and the given label.
pub fn oaep_decrypt(em: &[u8], hash: HashAlg, label: &[u8]) -> Result<Decoded> {
    let k = em.len();
    let h_len = hash.len();
    // Depends only on the key size and the hash, never on the decrypted data.
    if k < 2 * h_len + 2 {
        return Err(MdError::InvalidParameter("key too short for this OAEP hash"));
    }
    let l_hash = hash.digest(&[label]);
    let y = em[0];
    let masked_seed = &em[1..1 + h_len];
    let masked_db = &em[1 + h_len..];
    let seed: Zeroizing<Vec<u8>> = Zeroizing::new(
        masked_seed
            .iter()
            .zip(hash.mgf1(masked_db, h_len).iter())
            .map(|(a, b)| a ^ b)
            .collect(),
    );
    let mut db: Zeroizing<Vec<u8>> = Zeroizing::new(
        masked_db
            .iter()
            .zip(hash.mgf1(&seed, k - h_len - 1).iter())
            .map(|(a, b)| a ^ b)
            .collect(),
    );
    let mut valid = y.ct_eq(&0) & db[..h_len].ct_eq(&l_hash[..]);
    let mut looking = Choice::from(1);
    let mut one_at = 0u32;
    for (i, b) in db.iter().enumerate().skip(h_len) {
        let is_one = b.ct_eq(&1);
        let is_zero = b.ct_eq(&0);
        let hit = looking & is_one;
        one_at.conditional_assign(&(i as u32), hit);
        // Before the 01 separator only zero bytes are allowed.
        valid &= !(looking & !is_one & !is_zero);
        looking &= !hit;
    }
    valid &= !looking;
    let start = one_at as usize + 1;
    let len = db.len().wrapping_sub(start);
    let message = shift_left(&db, start.min(db.len()));
    for b in db.iter_mut() {
        *b = 0;
    }
    Ok(Decoded { valid, message, len })
}

/// `buf` shifted left by `shift` positions (zero-filled), with a memory-access pattern that does not
/// depend on `shift`: one conditional rotation per bit of the shift amount.
pub(crate) fn shift_left(buf: &[u8], shift: usize) -> Zeroizing<Vec<u8>> {
    let n = buf.len();
    let mut out = Zeroizing::new(buf.to_vec());
    let mut step = 1usize;
    while step < n.max(1) * 2 {
        let take = Choice::from(((shift & step) != 0) as u8);
        for i in 0..n {
            let moved = if i + step < n { out[i + step] } else { 0 };
            out[i] = u8::conditional_select(&out[i], &moved, take);
        }
        step <<= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_moves_every_amount() {
        let buf: Vec<u8> = (1..=20).collect();
        for s in 0..=20 {
            let out = shift_left(&buf, s);
            let mut expected = buf[s..].to_vec();
            expected.resize(20, 0);
            assert_eq!(*out, expected, "shift {s}");
        }
    }

    #[test]
    fn pkcs1_v15_decode_valid_and_invalid() {
        let mut em = vec![0x00, 0x02];
        em.extend([0x11; 10]);
        em.push(0x00);
        em.extend_from_slice(b"secret");
        let d = pkcs1_v15_decrypt(&em);
        assert!(bool::from(d.valid));
        assert_eq!(&d.message[..d.len], b"secret");
        let mut short_ps = vec![0x00, 0x02];
        short_ps.extend([0x11; 7]);
        short_ps.push(0);
        short_ps.extend_from_slice(b"abcdefgh");
        assert!(!bool::from(pkcs1_v15_decrypt(&short_ps).valid));
        let mut bad_type = em.clone();
        bad_type[1] = 0x01;
        assert!(!bool::from(pkcs1_v15_decrypt(&bad_type).valid));
        let no_sep = [vec![0x00, 0x02], vec![0x22; 30]].concat();
        assert!(!bool::from(pkcs1_v15_decrypt(&no_sep).valid));
    }

    #[test]
    fn sign_encodings_have_the_rfc_shape() {
        let em = pkcs1_v15_sign(&[0xAA; 35], 128).unwrap();
        assert_eq!(&em[..2], &[0, 1]);
        assert_eq!(em[128 - 36], 0);
        assert!(em[2..128 - 36].iter().all(|&b| b == 0xFF));
        assert!(pkcs1_v15_sign(&[0; 118], 128).is_err());
        let pss = pss_sign(HashAlg::Sha256, &[7; 32], &[9; 32], 2048, 256).unwrap();
        assert_eq!(pss.len(), 256);
        assert_eq!(pss[255], 0xBC);
        assert_eq!(pss[0] & 0x80, 0);
        assert!(pss_sign(HashAlg::Sha256, &[7; 32], &[9; 223], 2048, 256).is_err());
    }
}
