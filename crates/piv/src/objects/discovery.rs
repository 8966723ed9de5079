//! Discovery object (tag 7E) — SP 800-73-4 Part 1 Appendix A, Table 18.
//!
//! It says which PIN is primary (PIV application PIN 80 or global PIN 00) and whether the card has an
//! on-card comparison or a virtual contact interface. Unlike other objects it is not wrapped in `53`:
//! GET DATA returns `7E L {…}`, and the content here is the value inside `7E`.

use crate::key_ref::KeyRef;
use crate::objects::{ObjectError, elements, finish, required_fixed, stored};
use crate::tlv::{self, Builder};

const OBJECT: &str = "discovery object";

mod tag {
    pub const AID: u32 = 0x4F;
    pub const PIN_USAGE_POLICY: u32 = 0x5F2F;
}

/// Bits of the PIN usage policy (SP 800-73-4 Part 1 Appendix A, Table 18; OpenSC names them `PIV_PP_*`).
pub mod policy {
    /// First byte: the PIV application PIN satisfies the PIV access rules.
    pub const PIV_PIN: u8 = 0x40;
    /// First byte: the global PIN satisfies them.
    pub const GLOBAL_PIN: u8 = 0x20;
    /// First byte: on-card biometric comparison is supported.
    pub const OCC: u8 = 0x10;
    /// First byte: the virtual contact interface is implemented.
    pub const VCI: u8 = 0x08;
    /// First byte: the virtual contact interface works without a pairing code.
    pub const VCI_WITHOUT_PAIRING_CODE: u8 = 0x04;
    /// Second byte: the PIV application PIN is primary.
    pub const PIV_PIN_PRIMARY: u8 = 0x10;
    /// Second byte: the global PIN is primary.
    pub const GLOBAL_PIN_PRIMARY: u8 = 0x20;
}

/// The discovery object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// `4F`: the PIV AID with version (`A0 00 00 03 08 00 00 10 00 01 00`).
    pub aid: Vec<u8>,
    /// `5F2F`: the PIN usage policy, two bytes.
    pub pin_usage_policy: [u8; 2],
}

impl Discovery {
    /// What a YubiKey holds: the full PIV AID and policy `40 00` (PIV PIN only).
    pub fn yubikey_default() -> Self {
        Self {
            aid: crate::commands::PIV_AID_FULL.to_vec(),
            pin_usage_policy: [policy::PIV_PIN, 0x00],
        }
    }

    /// True when the AID starts with the 9-byte PIV AID (OpenSC refuses the object otherwise).
    pub fn is_piv(&self) -> bool {
        self.aid.starts_with(&crate::commands::PIV_AID)
    }

    /// The PIV application PIN satisfies the access rules.
    pub fn piv_pin_supported(&self) -> bool {
        self.pin_usage_policy[0] & policy::PIV_PIN != 0
    }

    /// The global PIN satisfies the access rules.
    pub fn global_pin_supported(&self) -> bool {
        self.pin_usage_policy[0] & policy::GLOBAL_PIN != 0
    }

    /// On-card biometric comparison is supported.
    pub fn occ_supported(&self) -> bool {
        self.pin_usage_policy[0] & policy::OCC != 0
    }

    /// The virtual contact interface is implemented.
    pub fn vci_supported(&self) -> bool {
        self.pin_usage_policy[0] & policy::VCI != 0
    }

    /// The virtual contact interface needs no pairing code.
    pub fn vci_without_pairing_code(&self) -> bool {
        self.pin_usage_policy[0] & policy::VCI_WITHOUT_PAIRING_CODE != 0
    }

    /// The PIN to verify: the global PIN (00) only when both PINs are supported and the second byte
    /// says the global PIN is primary (`20`); the PIV application PIN (80) in every other case.
    pub fn primary_pin_reference(&self) -> KeyRef {
        if self.piv_pin_supported()
            && self.global_pin_supported()
            && self.pin_usage_policy[1] == policy::GLOBAL_PIN_PRIMARY
        {
            KeyRef::GLOBAL_PIN
        } else {
            KeyRef::PIN
        }
    }

    /// The content of `7E`: `4F` then `5F2F`.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let b = Builder::new()
            .tlv(tag::AID, &self.aid)
            .tlv(tag::PIN_USAGE_POLICY, &self.pin_usage_policy);
        finish(OBJECT, b)
    }
}

impl TryFrom<&[u8]> for Discovery {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let e = elements(OBJECT, stored(OBJECT, data)?)?;
        Ok(Self {
            aid: tlv::require(&e, tag::AID)
                .map_err(|_| ObjectError::Missing {
                    object: OBJECT,
                    tag: tag::AID,
                })?
                .to_vec(),
            pin_usage_policy: required_fixed(OBJECT, &e, tag::PIN_USAGE_POLICY)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;

    #[test]
    fn yubikey_and_nitrokey_objects() {
        // A YubiKey answers `7E 12 4F 0B A0000003080000100001 00 5F2F 02 40 00`; the Nitrokey
        // piv-authenticator 0.7.0 `… 5F2F 02 40 10`.
        let yk = hex("4F 0B A0000003080000100001 00 5F2F 02 40 00");
        let d = Discovery::try_from(&yk[..]).unwrap();
        assert_eq!(d, Discovery::yubikey_default());
        assert_eq!(d.encode().unwrap(), yk);
        assert_eq!(
            tlv::encode(0x7E, &yk).unwrap()[..2],
            [0x7E, 0x12],
            "the YubiKey's wrapper length"
        );
        assert!(d.is_piv() && d.piv_pin_supported() && !d.global_pin_supported());
        assert_eq!(d.primary_pin_reference(), KeyRef::PIN);
        let nk = hex("4F 0B A0000003080000100001 00 5F2F 02 40 10");
        let d = Discovery::try_from(&nk[..]).unwrap();
        assert_eq!(d.pin_usage_policy, [0x40, 0x10]);
        assert_eq!(d.primary_pin_reference(), KeyRef::PIN);
    }

    #[test]
    fn primary_pin_rule() {
        let mut d = Discovery::yubikey_default();
        for (policy, expected) in [
            ([0x60, 0x20], KeyRef::GLOBAL_PIN),
            ([0x60, 0x10], KeyRef::PIN),
            ([0x20, 0x20], KeyRef::PIN), // global PIN only, but the PIV PIN bit is missing
            ([0x40, 0x20], KeyRef::PIN),
            ([0x60, 0x30], KeyRef::PIN), // not a value 800-73-4 defines: keep the PIV PIN
            ([0x7C, 0x20], KeyRef::GLOBAL_PIN),
        ] {
            d.pin_usage_policy = policy;
            assert_eq!(d.primary_pin_reference(), expected, "{policy:02X?}");
        }
        d.pin_usage_policy = [0x1C, 0x00];
        assert!(d.occ_supported() && d.vci_supported() && d.vci_without_pairing_code());
        assert!(!d.piv_pin_supported());
    }

    #[test]
    fn rejects_bad_input() {
        let good = hex("4F 0B A0000003080000100001 00 5F2F 02 40 00");
        for cut in 1..good.len() {
            assert!(Discovery::try_from(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert_refuses!(Discovery, [&good[..], &[0x00]].concat(), ObjectError::Tlv { .. });
        assert_refuses!(Discovery, hex("4F 01 A0 5F2F 01 40"), ObjectError::Invalid { .. });
        assert_eq!(
            Discovery::try_from(&hex("5F2F 02 40 00")[..]),
            Err(ObjectError::Missing {
                object: OBJECT,
                tag: 0x4F
            })
        );
        assert!(
            !Discovery::try_from(&hex("4F 01 A0 5F2F 02 40 00")[..])
                .unwrap()
                .is_piv()
        );
    }
}
