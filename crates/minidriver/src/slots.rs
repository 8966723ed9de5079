//! Which PIV slot a new container's key goes to, as Yubico's minidriver chooses: PIV Authentication
//! (9A) first, then Key Management (9D), then the twenty retired key-management slots 82–95 in order.
//! A signature-only key — one the CSP asks for with `AT_SIGNATURE`, the CryptoAPI key spec for an RSA
//! key that only signs — goes to Digital Signature (9C) first, then the same order. ECDSA keys
//! (`AT_ECDSA_*`) are general-purpose keys for Windows (logon, TLS client authentication): they follow
//! the general order, as do exchange keys (`AT_KEYEXCHANGE`, `AT_ECDHE_*`). Card Authentication (9E) is
//! never chosen: PIV keeps it for physical access without a PIN.
//!
//! A slot is taken when it holds a key or a certificate of another container, or another container's
//! map record names it (a deleted container's record keeps its slot while the slot still holds
//! something). On a card without GET METADATA the module cannot see a key that has no certificate:
//! there a slot counts as taken only by a certificate or a map record, and a key another tool put in a
//! slot without a certificate may be overwritten.

use tessera_piv::KeyRef;

/// The order for keys in general.
pub(crate) const GENERAL_ORDER: [KeyRef; 22] = [
    KeyRef::AUTHENTICATION,
    KeyRef::KEY_MANAGEMENT,
    KeyRef(0x82),
    KeyRef(0x83),
    KeyRef(0x84),
    KeyRef(0x85),
    KeyRef(0x86),
    KeyRef(0x87),
    KeyRef(0x88),
    KeyRef(0x89),
    KeyRef(0x8A),
    KeyRef(0x8B),
    KeyRef(0x8C),
    KeyRef(0x8D),
    KeyRef(0x8E),
    KeyRef(0x8F),
    KeyRef(0x90),
    KeyRef(0x91),
    KeyRef(0x92),
    KeyRef(0x93),
    KeyRef(0x94),
    KeyRef(0x95),
];

/// What kind of key the CSP asked for, as far as slot choice cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// `AT_SIGNATURE`: an RSA key that only signs.
    SignatureOnly,
    /// Anything else.
    General,
}

/// The slots a key of `purpose` may go to, in order of preference.
pub(crate) fn candidates(purpose: Purpose) -> impl Iterator<Item = KeyRef> {
    let first = (purpose == Purpose::SignatureOnly).then_some(KeyRef::SIGNATURE);
    first.into_iter().chain(GENERAL_ORDER)
}

/// How many containers could still be created (each needs a free slot of the general order or 9C).
pub(crate) fn free_count(taken: impl Fn(KeyRef) -> bool) -> u32 {
    candidates(Purpose::SignatureOnly)
        .filter(|&slot| !taken(slot))
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(purpose: Purpose, taken: impl Fn(KeyRef) -> bool) -> Option<KeyRef> {
        candidates(purpose).find(|&slot| !taken(slot))
    }

    #[test]
    fn yubicos_order() {
        let none = |_: KeyRef| false;
        assert_eq!(choose(Purpose::General, none), Some(KeyRef::AUTHENTICATION));
        assert_eq!(choose(Purpose::SignatureOnly, none), Some(KeyRef::SIGNATURE));
        let nine_a = |s: KeyRef| s == KeyRef::AUTHENTICATION;
        assert_eq!(choose(Purpose::General, nine_a), Some(KeyRef::KEY_MANAGEMENT));
        let two = |s: KeyRef| s == KeyRef::AUTHENTICATION || s == KeyRef::KEY_MANAGEMENT;
        assert_eq!(choose(Purpose::General, two), Some(KeyRef(0x82)));
        let sig = |s: KeyRef| s == KeyRef::SIGNATURE;
        assert_eq!(choose(Purpose::SignatureOnly, sig), Some(KeyRef::AUTHENTICATION));
        assert_eq!(choose(Purpose::General, |_| true), None);
        assert!(candidates(Purpose::SignatureOnly).all(|s| s != KeyRef::CARD_AUTHENTICATION));
        assert_eq!(free_count(none), 23);
        assert_eq!(free_count(two), 21);
    }
}
