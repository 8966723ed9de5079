//! The harness's own cryptography: what the CSP computes on its side of the interface, built on RustCrypto
//! and never on the module under test. Signatures are verified with the card's public key, ciphertexts
//! made for it, shared secrets computed from software peer keys, KDF outputs recomputed (and checked
//! against published vectors), and the administrator's challenge answered with 3DES.

pub mod ec;
pub mod hash;
pub mod kdf;
pub mod rsa;

use cipher::{Block, BlockCipherEncrypt, KeyInit};

/// The PIV default management key (3DES), which the fixture provisions.
pub const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// The response to an administrator challenge (spec 7.07 §7.6, Challenge/Response Mechanism: 3DES of
/// the 8-byte challenge with the shared key; the spec's text says CBC and its sample uses ECB, the same
/// for one block with a zero IV), or `None` when the challenge is not one 3DES block.
pub fn tdes_response(key: &[u8; 24], challenge: &[u8]) -> Option<Vec<u8>> {
    let cipher = des::TdesEde3::new_from_slice(key).ok()?;
    let mut block = Block::<des::TdesEde3>::try_from(challenge).ok()?;
    cipher.encrypt_block(&mut block);
    Some(block.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tdes_known_answer() {
        // With K1 = K2 = K3 the EDE construction is single DES: the classic vector
        // key 0123456789ABCDEF, plaintext "Now is t" → 3FA40E8A984D4815.
        let k = hex::decode("0123456789abcdef").unwrap();
        let key: [u8; 24] = [k.as_slice(), &k, &k].concat().try_into().unwrap();
        assert_eq!(
            tdes_response(&key, b"Now is t").unwrap(),
            hex::decode("3fa40e8a984d4815").unwrap()
        );
        assert!(tdes_response(&DEFAULT_MANAGEMENT_KEY, &[0; 7]).is_none());
    }
}
