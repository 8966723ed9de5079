//! Card-administration (management, 9B) keys: 3DES and AES-128/192/256, single-block ECB as PIV uses them.

use std::fmt;

use aes::{Aes128, Aes192, Aes256};
use cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use des::TdesEde3;
use thiserror::Error;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::algorithm::ManagementAlgorithm;

/// The well-known default management key `0102030405060708` × 3 (3DES before YubiKey 5.7, AES-192 after).
pub const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// Why a management key is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ManagementKeyError {
    /// The key length does not fit the algorithm.
    #[error("{algorithm:?} needs a {expected}-byte key, got {actual}")]
    WrongKeyLength {
        /// Algorithm.
        algorithm: ManagementAlgorithm,
        /// Bytes required.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A 3DES key with a weak or repeated DES component.
    #[error("weak 3DES key")]
    WeakKey,
    /// A block of the wrong size was given.
    #[error("block of {actual} bytes, the cipher needs {expected}")]
    WrongBlockLength {
        /// Block size.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
}

/// A management key with its algorithm. Zeroized on drop; `Debug` shows only the algorithm.
#[derive(Clone, PartialEq, Eq)]
pub struct ManagementKey {
    algorithm: ManagementAlgorithm,
    key: Zeroizing<Vec<u8>>,
}

impl ManagementKey {
    /// Checks the length (and, for 3DES, weak keys) and keeps a copy of `key`.
    pub fn new(algorithm: ManagementAlgorithm, key: &[u8]) -> Result<Self, ManagementKeyError> {
        if key.len() != algorithm.key_len() {
            return Err(ManagementKeyError::WrongKeyLength {
                algorithm,
                expected: algorithm.key_len(),
                actual: key.len(),
            });
        }
        if algorithm == ManagementAlgorithm::Tdes && des::weak_key_test(key).is_err() {
            return Err(ManagementKeyError::WeakKey);
        }
        Ok(Self {
            algorithm,
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// Like [`new`](Self::new) but without the weak-key check: for keys already on a card, which the
    /// host must still be able to use.
    pub fn new_unchecked_strength(
        algorithm: ManagementAlgorithm,
        key: &[u8],
    ) -> Result<Self, ManagementKeyError> {
        if key.len() != algorithm.key_len() {
            return Err(ManagementKeyError::WrongKeyLength {
                algorithm,
                expected: algorithm.key_len(),
                actual: key.len(),
            });
        }
        Ok(Self {
            algorithm,
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// The default key for the given algorithm (3DES or AES-192; 24 bytes either way).
    pub fn default_for(algorithm: ManagementAlgorithm) -> Option<Self> {
        match algorithm {
            ManagementAlgorithm::Tdes | ManagementAlgorithm::Aes192 => {
                Self::new_unchecked_strength(algorithm, &DEFAULT_MANAGEMENT_KEY).ok()
            }
            _ => None,
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ManagementAlgorithm {
        self.algorithm
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.key
    }

    /// Encrypts one block (ECB).
    pub fn encrypt_block(&self, block: &[u8]) -> Result<Zeroizing<Vec<u8>>, ManagementKeyError> {
        self.crypt(block, true)
    }

    /// Decrypts one block (ECB).
    pub fn decrypt_block(&self, block: &[u8]) -> Result<Zeroizing<Vec<u8>>, ManagementKeyError> {
        self.crypt(block, false)
    }

    fn crypt(&self, block: &[u8], encrypt: bool) -> Result<Zeroizing<Vec<u8>>, ManagementKeyError> {
        let expected = self.algorithm.block_len();
        if block.len() != expected {
            return Err(ManagementKeyError::WrongBlockLength {
                expected,
                actual: block.len(),
            });
        }
        let out = match self.algorithm {
            ManagementAlgorithm::Tdes => one_block::<TdesEde3>(&self.key, block, encrypt),
            ManagementAlgorithm::Aes128 => one_block::<Aes128>(&self.key, block, encrypt),
            ManagementAlgorithm::Aes192 => one_block::<Aes192>(&self.key, block, encrypt),
            ManagementAlgorithm::Aes256 => one_block::<Aes256>(&self.key, block, encrypt),
        };
        Ok(out)
    }
}

/// `ZeroizeOnDrop`: the expanded key schedule is as secret as the key (the `zeroize` features of `des`
/// and `aes`, enabled in the workspace manifest, provide it).
fn one_block<C>(key: &[u8], block: &[u8], encrypt: bool) -> Zeroizing<Vec<u8>>
where
    C: KeyInit + BlockCipherEncrypt + BlockCipherDecrypt + ZeroizeOnDrop,
{
    // Lengths were checked by the caller against the algorithm's key and block sizes.
    let Ok(cipher) = C::new_from_slice(key) else {
        return Zeroizing::new(Vec::new());
    };
    let Ok(mut b) = Block::<C>::try_from(block) else {
        return Zeroizing::new(Vec::new());
    };
    if encrypt {
        cipher.encrypt_block(&mut b);
    } else {
        cipher.decrypt_block(&mut b);
    }
    Zeroizing::new(b.to_vec())
}

impl fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagementKey")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::hex::literal as hex;

    #[test]
    fn aes_known_answers_fips197() {
        // FIPS-197 Appendix C.1–C.3.
        let pt = hex("00112233445566778899aabbccddeeff");
        let k128 = ManagementKey::new(
            ManagementAlgorithm::Aes128,
            &hex("000102030405060708090a0b0c0d0e0f"),
        )
        .unwrap();
        assert_eq!(
            *k128.encrypt_block(&pt).unwrap(),
            hex("69c4e0d86a7b0430d8cdb78070b4c55a")
        );
        let k192 = ManagementKey::new(
            ManagementAlgorithm::Aes192,
            &hex("000102030405060708090a0b0c0d0e0f1011121314151617"),
        )
        .unwrap();
        assert_eq!(
            *k192.encrypt_block(&pt).unwrap(),
            hex("dda97ca4864cdfe06eaf70a0ec0d7191")
        );
        let k256 = ManagementKey::new(
            ManagementAlgorithm::Aes256,
            &hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
        )
        .unwrap();
        let ct = k256.encrypt_block(&pt).unwrap();
        assert_eq!(*ct, hex("8ea2b7ca516745bfeafc49904b496089"));
        assert_eq!(*k256.decrypt_block(&ct).unwrap(), pt);
    }

    #[test]
    fn tdes_known_answer() {
        // NIST SP 800-67 Rev. 2 Appendix B example (first block): K1 K2 K3, P1 = "The qufc" → C1.
        let key = ManagementKey::new(
            ManagementAlgorithm::Tdes,
            &hex("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123"),
        )
        .unwrap();
        let c = key.encrypt_block(b"The qufc").unwrap();
        assert_eq!(*c, hex("A826FD8CE53B855F"));
        assert_eq!(*key.decrypt_block(&c).unwrap(), b"The qufc");
    }

    #[test]
    fn key_schedules_wipe_themselves() {
        fn wiped_on_drop<C: ZeroizeOnDrop>() {}
        wiped_on_drop::<TdesEde3>();
        wiped_on_drop::<Aes128>();
        wiped_on_drop::<Aes192>();
        wiped_on_drop::<Aes256>();
    }

    #[test]
    fn rejects_bad_keys_and_blocks() {
        assert!(matches!(
            ManagementKey::new(ManagementAlgorithm::Aes128, &[0; 24]),
            Err(ManagementKeyError::WrongKeyLength {
                expected: 16,
                actual: 24,
                ..
            })
        ));
        assert_eq!(
            ManagementKey::new(ManagementAlgorithm::Tdes, &[0x11; 24]),
            Err(ManagementKeyError::WeakKey)
        );
        let k = ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap();
        assert!(matches!(
            k.encrypt_block(&[0; 16]),
            Err(ManagementKeyError::WrongBlockLength { .. })
        ));
        assert!(!format!("{k:?}").contains("01"));
    }
}
