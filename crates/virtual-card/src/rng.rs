//! The card's random source: ChaCha20 seeded either from the operating system or, for reproducible
//! tests, from a `u64`. Everything random on the card (key generation, challenges, CHUID GUID, RSA
//! blinding) draws from it, so a seeded card replays identically.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::error::VirtualCardError;

/// The card's CSPRNG.
pub struct CardRng(ChaCha20Rng);

impl CardRng {
    /// A deterministic generator for tests.
    pub fn seeded(seed: u64) -> Self {
        Self(ChaCha20Rng::seed_from_u64(seed))
    }

    /// A generator seeded with 32 bytes from the operating system.
    pub fn from_os() -> Result<Self, VirtualCardError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| VirtualCardError::Random(e.to_string()))?;
        let rng = ChaCha20Rng::from_seed(seed);
        zeroize::Zeroize::zeroize(&mut seed);
        Ok(Self(rng))
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        self.0.fill_bytes(&mut out);
        out
    }

    /// The generator itself, for the RustCrypto APIs.
    pub fn inner(&mut self) -> &mut ChaCha20Rng {
        &mut self.0
    }
}

impl std::fmt::Debug for CardRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardRng(<state redacted>)")
    }
}
