//! Algorithm identifiers (SP 800-78-4 Table 6-2 and the YubiKey 5.7 additions).

use std::fmt;

/// An algorithm identifier as it appears in P1 of GENERAL AUTHENTICATE, tag `80` of GENERATE, P1 of
/// IMPORT and tag `01` of GET METADATA. Unknown values are kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlgorithmId(pub u8);

impl AlgorithmId {
    /// 3-key Triple DES, ECB (the 800-78 value; also accepted as 00 by some cards).
    pub const TDES: Self = Self(0x03);
    /// Legacy 3DES identifier some cards use for 9B.
    pub const TDES_LEGACY: Self = Self(0x00);
    /// AES-128, ECB.
    pub const AES128: Self = Self(0x08);
    /// AES-192, ECB (the YubiKey 5.7 default management key type).
    pub const AES192: Self = Self(0x0A);
    /// AES-256, ECB.
    pub const AES256: Self = Self(0x0C);
    /// RSA 1024.
    pub const RSA1024: Self = Self(0x06);
    /// RSA 2048.
    pub const RSA2048: Self = Self(0x07);
    /// RSA 3072 (YubiKey ≥ 5.7).
    pub const RSA3072: Self = Self(0x05);
    /// RSA 4096 (YubiKey ≥ 5.7; not a NIST value).
    pub const RSA4096: Self = Self(0x16);
    /// ECC P-256.
    pub const ECCP256: Self = Self(0x11);
    /// ECC P-384.
    pub const ECCP384: Self = Self(0x14);
    /// Ed25519 (YubiKey ≥ 5.7).
    pub const ED25519: Self = Self(0xE0);
    /// X25519 (YubiKey ≥ 5.7).
    pub const X25519: Self = Self(0xE1);
    /// Secure-messaging cipher suite 2.
    pub const SM_CS2: Self = Self(0x27);
    /// Secure-messaging cipher suite 7.
    pub const SM_CS7: Self = Self(0x2E);
    /// "PIN/PUK" as GET METADATA reports it.
    pub const PIN: Self = Self(0xFF);

    /// True for the RSA identifiers.
    pub const fn is_rsa(self) -> bool {
        matches!(self.0, 0x05 | 0x06 | 0x07 | 0x16)
    }

    /// True for the NIST-curve ECC identifiers.
    pub const fn is_ecc(self) -> bool {
        matches!(self.0, 0x11 | 0x14)
    }

    /// True for symmetric management-key identifiers.
    pub const fn is_symmetric(self) -> bool {
        matches!(self.0, 0x00 | 0x03 | 0x08 | 0x0A | 0x0C)
    }

    /// The key size in bits for asymmetric keys (RSA modulus or curve size).
    pub const fn key_bits(self) -> Option<u32> {
        Some(match self.0 {
            0x06 => 1024,
            0x07 => 2048,
            0x05 => 3072,
            0x16 => 4096,
            0x11 => 256,
            0x14 => 384,
            0xE0 | 0xE1 => 255,
            _ => return None,
        })
    }

    /// The RSA identifier for a modulus size.
    pub const fn rsa(bits: u32) -> Option<Self> {
        Some(match bits {
            1024 => Self::RSA1024,
            2048 => Self::RSA2048,
            3072 => Self::RSA3072,
            4096 => Self::RSA4096,
            _ => return None,
        })
    }

    /// Length in bytes of the raw input/output of a private-key operation: the modulus size for RSA,
    /// the field size for ECC (which is also the size of each ECDSA half and of the ECDH secret).
    pub const fn operation_len(self) -> Option<usize> {
        match self.key_bits() {
            Some(bits) if self.is_rsa() => Some(bits as usize / 8),
            Some(256) => Some(32),
            Some(384) => Some(48),
            Some(255) => Some(32),
            _ => None,
        }
    }

    /// The management-key algorithm this identifier names, if it is one.
    pub const fn management(self) -> Option<ManagementAlgorithm> {
        Some(match self.0 {
            0x00 | 0x03 => ManagementAlgorithm::Tdes,
            0x08 => ManagementAlgorithm::Aes128,
            0x0A => ManagementAlgorithm::Aes192,
            0x0C => ManagementAlgorithm::Aes256,
            _ => return None,
        })
    }

    /// The name, when known.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 | 0x03 => "3DES",
            0x08 => "AES-128",
            0x0A => "AES-192",
            0x0C => "AES-256",
            0x06 => "RSA-1024",
            0x07 => "RSA-2048",
            0x05 => "RSA-3072",
            0x16 => "RSA-4096",
            0x11 => "ECC-P256",
            0x14 => "ECC-P384",
            0xE0 => "Ed25519",
            0xE1 => "X25519",
            0x27 => "SM-CS2",
            0x2E => "SM-CS7",
            0xFF => "PIN",
            _ => return None,
        })
    }
}

impl fmt::Debug for AlgorithmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{:02X} ({n})", self.0),
            None => write!(f, "{:02X}", self.0),
        }
    }
}

impl fmt::Display for AlgorithmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "alg-{:02X}", self.0),
        }
    }
}

/// The symmetric algorithms a card-administration key (9B) can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManagementAlgorithm {
    /// Three-key Triple DES (24-byte key, 8-byte blocks).
    Tdes,
    /// AES-128 (16-byte key).
    Aes128,
    /// AES-192 (24-byte key).
    Aes192,
    /// AES-256 (32-byte key).
    Aes256,
}

impl ManagementAlgorithm {
    /// The identifier sent on the wire.
    pub const fn id(self) -> AlgorithmId {
        match self {
            Self::Tdes => AlgorithmId::TDES,
            Self::Aes128 => AlgorithmId::AES128,
            Self::Aes192 => AlgorithmId::AES192,
            Self::Aes256 => AlgorithmId::AES256,
        }
    }

    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Tdes | Self::Aes192 => 24,
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    /// Cipher block length in bytes, which is also the challenge length.
    pub const fn block_len(self) -> usize {
        match self {
            Self::Tdes => 8,
            _ => 16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_kinds() {
        assert_eq!(AlgorithmId::RSA2048.operation_len(), Some(256));
        assert_eq!(AlgorithmId::RSA4096.operation_len(), Some(512));
        assert_eq!(AlgorithmId::ECCP384.operation_len(), Some(48));
        assert_eq!(AlgorithmId::rsa(3072), Some(AlgorithmId(0x05)));
        assert!(AlgorithmId::ECCP256.is_ecc() && !AlgorithmId::ECCP256.is_rsa());
        assert_eq!(AlgorithmId(0x0A).management(), Some(ManagementAlgorithm::Aes192));
        assert_eq!(
            AlgorithmId::TDES_LEGACY.management(),
            Some(ManagementAlgorithm::Tdes)
        );
        assert_eq!(ManagementAlgorithm::Tdes.block_len(), 8);
        assert_eq!(format!("{:?}", AlgorithmId(0xE1)), "E1 (X25519)");
        assert_eq!(format!("{}", AlgorithmId(0x42)), "alg-42");
    }
}
