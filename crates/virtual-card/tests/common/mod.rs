//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test crate uses a part of the helpers")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use tessera_piv::{ManagementAlgorithm, ManagementKey, Session};
use tessera_virtual_card::{CardConfig, VirtualCard};

/// A seeded in-memory card.
pub fn card(seed: u64) -> VirtualCard {
    VirtualCard::new(CardConfig::seeded(seed)).unwrap()
}

/// The default 3DES management key.
pub fn default_key() -> ManagementKey {
    ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap()
}

/// A session over `card`, selected and authenticated with the default management key.
pub fn admin_session(card: &mut VirtualCard) -> Session<&mut VirtualCard> {
    let mut session = Session::new(card);
    session.select().unwrap();
    session.authenticate_management_key(&default_key()).unwrap();
    session
}
