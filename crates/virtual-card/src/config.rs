//! How a new card is made. These values apply when a card is created; a card loaded from a state file
//! keeps its own serial, version and management-key type.

use tessera_piv::ManagementAlgorithm;

/// Firmware version reported by default (a YubiKey 5.7).
pub const DEFAULT_VERSION: [u8; 3] = [5, 7, 2];
/// Serial number reported by default.
pub const DEFAULT_SERIAL: u32 = 32_000_001;

/// Creation-time settings of a virtual card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardConfig {
    /// GET SERIAL answer.
    pub serial: u32,
    /// GET VERSION answer (major, minor, patch).
    pub version: [u8; 3],
    /// Type of the default management key. 3DES by default, because Debian 12's yubico-piv-tool 2.2
    /// speaks only 3DES; a real YubiKey 5.7 ships AES-192 (with the same 24 key bytes).
    pub management_algorithm: ManagementAlgorithm,
    /// Seed for a deterministic card (tests); `None` seeds from the operating system.
    pub seed: Option<u64>,
}

impl Default for CardConfig {
    fn default() -> Self {
        Self {
            serial: DEFAULT_SERIAL,
            version: DEFAULT_VERSION,
            management_algorithm: ManagementAlgorithm::Tdes,
            seed: None,
        }
    }
}

impl CardConfig {
    /// The default configuration with a fixed seed.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed: Some(seed),
            ..Self::default()
        }
    }
}
