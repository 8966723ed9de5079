//! The card's identity: the 16-byte `cardid` (equal to `CP_CARD_GUID`), which the CSP uses to key its
//! cache, and the GUID that container names are made from.
//!
//! Rule (stable for a card, documented in the README):
//! 1. the CHUID GUID (tag 34) when present and not all zero — the value Windows' inbox PIV driver keys on;
//! 2. else a FASC-N from the CHUID that is not all zero and not the shared non-government template
//!    (`;9999`, which every YubiKey template carries): SHA-256("tessera/cardid/fasc-n" ‖ FASC-N)[..16];
//! 3. else the YubiKey serial number: SHA-256("tessera/cardid/serial" ‖ serial as 4 big-endian bytes)[..16];
//! 4. else the first certificate found (9A, 9C, 9D, 9E): SHA-256("tessera/cardid/certificate" ‖ DER)[..16];
//! 5. else all zero, and the card is reported as not cacheable (`CP_CACHE_MODE_NO_CACHE`).

use sha2::{Digest, Sha256};
use tessera_piv::objects::Chuid;

/// Where the card id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSource {
    /// The CHUID GUID.
    Guid,
    /// Derived from a FASC-N.
    FascN,
    /// Derived from the serial number.
    Serial,
    /// Derived from a certificate.
    Certificate,
    /// Nothing stable was found.
    None,
}

/// What the module knows about who the card is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardIdentity {
    /// The `cardid` file and `CP_CARD_GUID`.
    pub card_id: [u8; 16],
    /// Where it came from.
    pub source: IdSource,
    /// The GUID container names are derived from: the CHUID GUID, else the card id.
    pub naming_guid: [u8; 16],
}

impl CardIdentity {
    /// Derives from the CHUID alone, when that is enough (steps 1–2).
    pub fn from_chuid(chuid: Option<&Chuid>) -> Option<Self> {
        let chuid = chuid?;
        if chuid.guid.iter().any(|&b| b != 0) {
            return Some(Self {
                card_id: chuid.guid,
                source: IdSource::Guid,
                naming_guid: chuid.guid,
            });
        }
        let fasc_n = chuid
            .fasc_n
            .filter(|f| f.iter().any(|&b| b != 0) && !chuid.has_non_government_fasc_n())?;
        Some(Self::derived(IdSource::FascN, b"tessera/cardid/fasc-n", &fasc_n))
    }

    /// Step 3.
    pub fn from_serial(serial: u32) -> Self {
        Self::derived(IdSource::Serial, b"tessera/cardid/serial", &serial.to_be_bytes())
    }

    /// Step 4.
    pub fn from_certificate(der: &[u8]) -> Self {
        Self::derived(IdSource::Certificate, b"tessera/cardid/certificate", der)
    }

    /// Step 5.
    pub fn unknown() -> Self {
        Self {
            card_id: [0; 16],
            source: IdSource::None,
            naming_guid: [0; 16],
        }
    }

    fn derived(source: IdSource, label: &[u8], input: &[u8]) -> Self {
        let digest = Sha256::new().chain_update(label).chain_update(input).finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        Self {
            card_id: id,
            source,
            naming_guid: id,
        }
    }

    /// True when the id is stable enough for the CSP to cache the card's files under it.
    pub fn is_stable(&self) -> bool {
        self.source != IdSource::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_piv::objects::chuid::YUBICO_TEMPLATE_FASC_N;

    fn hex16(s: &str) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// `cardid` keys the CSP's cache (and the container names derive from it): these values must never
    /// change between releases. They were computed independently (Python's hashlib: the first 16 bytes of
    /// SHA-256 over the label and the input).
    #[test]
    fn card_ids_are_pinned_known_answers() {
        let guid = hex16("58c68a1d65e0a09285af090b070b5d79");
        let chuid = Chuid::yubico_template(guid, None);
        let id = CardIdentity::from_chuid(Some(&chuid)).unwrap();
        assert_eq!(
            (id.card_id, id.naming_guid, id.source),
            (guid, guid, IdSource::Guid)
        );

        let mut chuid = Chuid::yubico_template([0; 16], None);
        chuid.fasc_n = Some([0x11; 25]);
        let id = CardIdentity::from_chuid(Some(&chuid)).unwrap();
        assert_eq!(id.card_id, hex16("5adb8c6058d6a14701221e36a0709b79"), "FASC-N");
        assert_eq!(id.naming_guid, id.card_id);

        let id = CardIdentity::from_serial(12_345_678);
        assert_eq!(id.card_id, hex16("b081f22ff12c5002b8d2c75186cd52f2"), "serial");
        assert_eq!((id.naming_guid, id.source), (id.card_id, IdSource::Serial));

        let id = CardIdentity::from_certificate(&[0x30, 0x03, 0x02, 0x01, 0x01]);
        assert_eq!(
            id.card_id,
            hex16("940fecd056273802e2c3dfe2cc085abf"),
            "certificate"
        );
        assert_eq!((id.naming_guid, id.source), (id.card_id, IdSource::Certificate));

        assert_eq!(CardIdentity::unknown().card_id, [0; 16]);
    }

    #[test]
    fn guid_first() {
        let chuid = Chuid::yubico_template([7; 16], None);
        let id = CardIdentity::from_chuid(Some(&chuid)).unwrap();
        assert_eq!((id.card_id, id.source), ([7; 16], IdSource::Guid));
    }

    #[test]
    fn template_fasc_n_is_not_an_identity() {
        let chuid = Chuid::yubico_template([0; 16], None);
        assert_eq!(chuid.fasc_n, Some(YUBICO_TEMPLATE_FASC_N));
        assert_eq!(CardIdentity::from_chuid(Some(&chuid)), None);
    }

    #[test]
    fn government_fasc_n_is_hashed() {
        let mut chuid = Chuid::yubico_template([0; 16], None);
        chuid.fasc_n = Some([0x11; 25]);
        let id = CardIdentity::from_chuid(Some(&chuid)).unwrap();
        assert_eq!(id.source, IdSource::FascN);
        assert_ne!(id.card_id, [0; 16]);
        assert_eq!(id, CardIdentity::from_chuid(Some(&chuid)).unwrap(), "stable");
    }

    #[test]
    fn serial_and_certificate_ids_differ_and_are_stable() {
        let a = CardIdentity::from_serial(12345678);
        assert_eq!(a, CardIdentity::from_serial(12345678));
        assert_ne!(a.card_id, CardIdentity::from_serial(12345679).card_id);
        assert_ne!(
            a.card_id,
            CardIdentity::from_certificate(&12345678u32.to_be_bytes()).card_id
        );
        assert!(!CardIdentity::unknown().is_stable());
    }
}
