//! Key references (SP 800-73-4 Part 1 Table 4b, plus the YubiKey attestation key F9).

use std::fmt;

/// A key reference: a PIN (80, 81, 00), the card-administration key (9B) or a key slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRef(pub u8);

impl KeyRef {
    /// Global PIN.
    pub const GLOBAL_PIN: Self = Self(0x00);
    /// PIV Card Application PIN.
    pub const PIN: Self = Self(0x80);
    /// PIN Unblocking Key.
    pub const PUK: Self = Self(0x81);
    /// PIV Authentication key.
    pub const AUTHENTICATION: Self = Self(0x9A);
    /// Card Application Administration (management) key.
    pub const MANAGEMENT: Self = Self(0x9B);
    /// Digital Signature key (PIN-always).
    pub const SIGNATURE: Self = Self(0x9C);
    /// Key Management key.
    pub const KEY_MANAGEMENT: Self = Self(0x9D);
    /// Card Authentication key (no PIN).
    pub const CARD_AUTHENTICATION: Self = Self(0x9E);
    /// First retired key-management key.
    pub const RETIRED_FIRST: Self = Self(0x82);
    /// Last (20th) retired key-management key.
    pub const RETIRED_LAST: Self = Self(0x95);
    /// YubiKey attestation key.
    pub const ATTESTATION: Self = Self(0xF9);

    /// The retired key-management key `n` (1–20).
    pub const fn retired(n: u8) -> Option<Self> {
        if n >= 1 && n <= 20 {
            Some(Self(0x81 + n))
        } else {
            None
        }
    }

    /// Every asymmetric key slot, in slot order: 9A, 9C, 9D, 9E, 82–95, F9.
    pub fn all_key_slots() -> impl Iterator<Item = Self> {
        [0x9A, 0x9C, 0x9D, 0x9E]
            .into_iter()
            .chain(0x82..=0x95)
            .chain([0xF9])
            .map(Self)
    }

    /// The slots that hold user keys (all key slots except the attestation key).
    pub fn user_key_slots() -> impl Iterator<Item = Self> {
        Self::all_key_slots().filter(|s| *s != Self::ATTESTATION)
    }

    /// True for a slot that holds an asymmetric key.
    pub const fn is_key_slot(self) -> bool {
        matches!(self.0, 0x9A | 0x9C | 0x9D | 0x9E | 0x82..=0x95 | 0xF9)
    }

    /// True for a retired key-management slot.
    pub const fn is_retired(self) -> bool {
        matches!(self.0, 0x82..=0x95)
    }

    /// The data object that holds this slot's certificate.
    pub const fn certificate_object(self) -> Option<u32> {
        Some(match self.0 {
            0x9A => 0x5FC105,
            0x9C => 0x5FC10A,
            0x9D => 0x5FC10B,
            0x9E => 0x5FC101,
            0x82..=0x95 => 0x5FC10D + (self.0 as u32 - 0x82),
            0xF9 => 0x5FFF01,
            _ => return None,
        })
    }

    /// The slot whose certificate lives in `object`, the inverse of [`certificate_object`](Self::certificate_object).
    pub const fn from_certificate_object(object: u32) -> Option<Self> {
        Some(match object {
            0x5FC105 => Self::AUTHENTICATION,
            0x5FC10A => Self::SIGNATURE,
            0x5FC10B => Self::KEY_MANAGEMENT,
            0x5FC101 => Self::CARD_AUTHENTICATION,
            0x5FC10D..=0x5FC120 => Self((object - 0x5FC10D) as u8 + 0x82),
            0x5FFF01 => Self::ATTESTATION,
            _ => return None,
        })
    }

    /// A short human name.
    pub fn name(self) -> String {
        match self.0 {
            0x00 => "global PIN".into(),
            0x80 => "PIN".into(),
            0x81 => "PUK".into(),
            0x9A => "PIV Authentication (9A)".into(),
            0x9B => "management key (9B)".into(),
            0x9C => "Digital Signature (9C)".into(),
            0x9D => "Key Management (9D)".into(),
            0x9E => "Card Authentication (9E)".into(),
            0x82..=0x95 => format!("Retired Key Management {} ({:02X})", self.0 - 0x81, self.0),
            0xF9 => "Attestation (F9)".into(),
            other => format!("key reference {other:02X}"),
        }
    }
}

impl fmt::Debug for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRef({:02X})", self.0)
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_objects_map_both_ways() {
        assert_eq!(KeyRef(0x82).certificate_object(), Some(0x5FC10D));
        assert_eq!(KeyRef(0x95).certificate_object(), Some(0x5FC120));
        for slot in KeyRef::all_key_slots() {
            let obj = slot.certificate_object().unwrap();
            assert_eq!(KeyRef::from_certificate_object(obj), Some(slot));
        }
        assert_eq!(KeyRef::all_key_slots().count(), 25);
        assert_eq!(KeyRef::retired(20), Some(KeyRef(0x95)));
        assert_eq!(KeyRef::retired(21), None);
        assert_eq!(KeyRef::MANAGEMENT.certificate_object(), None);
    }
}
