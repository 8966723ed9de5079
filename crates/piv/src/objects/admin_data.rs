//! Yubico administrative data (tag 5FFF00), readable by anyone: `80 { 81 flags, 82 salt, 83 time }`.
//!
//! Source: yubico-piv-tool `lib/internal.h` (`TAG_ADMIN*`, `ADMIN_FLAGS_1_*`) and `lib/util.c`
//! (`ykpiv_util_set_protected_mgm`, `_write_metadata`); ykman `yubikit/piv.py`. It tells a minidriver
//! that the management key is kept in the PIN-protected object (flag `02`), so that it can authenticate
//! as administrator after a PIN verification alone. libykpiv and ykman edit single items and keep the
//! rest, so elements this module does not know are kept and written back.

use crate::objects::{ObjectError, elements, finish, fixed, stored};
use crate::tlv::{self, Builder};

const OBJECT: &str = "Yubico admin data";

mod tag {
    pub const ADMIN: u32 = 0x80;
    pub const FLAGS: u32 = 0x81;
    pub const SALT: u32 = 0x82;
    pub const PIN_LAST_CHANGED: u32 = 0x83;
}

/// Flag `01`: the PUK was blocked on purpose (ykmd does this when it sets a PIN-protected key).
pub const FLAG_PUK_BLOCKED: u8 = 0x01;
/// Flag `02`: the management key is stored in the PIN-protected object 5FC109.
pub const FLAG_MANAGEMENT_KEY_PROTECTED: u8 = 0x02;

/// The admin data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdminData {
    /// `81`: flags (see [`FLAG_PUK_BLOCKED`], [`FLAG_MANAGEMENT_KEY_PROTECTED`]).
    pub flags: Option<u8>,
    /// `82`: salt of the deprecated PIN-derived management key (PBKDF2-SHA1, 10 000 rounds).
    pub salt: Option<[u8; 16]>,
    /// `83`: when the PIN was last changed, Unix time (stored little-endian).
    pub pin_last_changed: Option<u32>,
    /// Elements this module does not know, in their order, kept for writing back.
    pub other: Vec<(u32, Vec<u8>)>,
}

impl AdminData {
    fn flag(&self, bit: u8) -> bool {
        self.flags.unwrap_or(0) & bit != 0
    }

    fn set_flag(&mut self, bit: u8, on: bool) {
        let flags = self.flags.unwrap_or(0);
        self.flags = Some(if on { flags | bit } else { flags & !bit });
    }

    /// The PUK was blocked on purpose.
    pub fn puk_blocked(&self) -> bool {
        self.flag(FLAG_PUK_BLOCKED)
    }

    /// The management key is in the PIN-protected object.
    pub fn management_key_protected(&self) -> bool {
        self.flag(FLAG_MANAGEMENT_KEY_PROTECTED)
    }

    /// Sets or clears the "PUK blocked" flag.
    pub fn set_puk_blocked(&mut self, on: bool) {
        self.set_flag(FLAG_PUK_BLOCKED, on);
    }

    /// Sets or clears the "management key protected" flag.
    pub fn set_management_key_protected(&mut self, on: bool) {
        self.set_flag(FLAG_MANAGEMENT_KEY_PROTECTED, on);
    }

    /// The content to store: `80 { [81 01 flags] [82 10 salt] [83 04 time] other… }`.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let mut inner = Builder::new()
            .tlv_opt(tag::FLAGS, self.flags.as_ref().map(std::slice::from_ref))
            .tlv_opt(tag::SALT, self.salt.as_ref().map(|s| &s[..]))
            .tlv_opt(
                tag::PIN_LAST_CHANGED,
                self.pin_last_changed
                    .map(u32::to_le_bytes)
                    .as_ref()
                    .map(|t| &t[..]),
            );
        for (t, value) in &self.other {
            inner = inner.tlv(*t, value);
        }
        let inner = finish(OBJECT, inner)?;
        tlv::encode(tag::ADMIN, &inner).map_err(ObjectError::tlv(OBJECT))
    }
}

impl TryFrom<&[u8]> for AdminData {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let data = stored(OBJECT, data)?;
        let inner = tlv::parse_single(data, tag::ADMIN).map_err(ObjectError::tlv(OBJECT))?;
        let e = elements(OBJECT, inner)?;
        let flags = fixed::<1>(OBJECT, &e, tag::FLAGS)?.map(|[f]| f);
        Ok(Self {
            flags,
            salt: fixed(OBJECT, &e, tag::SALT)?,
            pin_last_changed: fixed::<4>(OBJECT, &e, tag::PIN_LAST_CHANGED)?.map(u32::from_le_bytes),
            other: e
                .iter()
                .filter(|t| !matches!(t.tag, tag::FLAGS | tag::SALT | tag::PIN_LAST_CHANGED))
                .map(|t| (t.tag, t.value.to_vec()))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;

    #[test]
    fn protected_key_and_timestamp_byte_exact() {
        // What ykmd/libykpiv leave after setting a PIN-protected key: flags 03 (PUK blocked, key
        // protected) and the PIN-change time 2024-01-01T00:00:00Z = 0x65920080, little-endian.
        let bytes = hex("80 09 81 01 03 83 04 80 00 92 65");
        let admin = AdminData::try_from(&bytes[..]).unwrap();
        assert!(admin.puk_blocked() && admin.management_key_protected());
        assert_eq!(admin.pin_last_changed, Some(1_704_067_200));
        assert_eq!(admin.salt, None);
        assert_eq!(admin.encode().unwrap(), bytes);
    }

    #[test]
    fn flags_salt_and_unknown_elements() {
        let mut admin = AdminData::default();
        assert!(!admin.management_key_protected());
        admin.set_management_key_protected(true);
        assert_eq!(admin.encode().unwrap(), hex("80 03 81 01 02"));
        admin.set_management_key_protected(false);
        admin.set_puk_blocked(true);
        admin.salt = Some([0xA5; 16]);
        admin.other.push((0x84, vec![1, 2]));
        let bytes = admin.encode().unwrap();
        assert_eq!(
            bytes,
            hex("80 19 81 01 01 82 10 A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5 84 02 0102")
        );
        assert_eq!(AdminData::try_from(&bytes[..]).unwrap(), admin);
        assert_eq!(
            AdminData::try_from(&hex("80 00")[..]).unwrap(),
            AdminData::default()
        );
    }

    #[test]
    fn rejects_bad_input() {
        let good = hex("80 09 81 01 03 83 04 80 00 92 65");
        for cut in 1..good.len() {
            assert!(AdminData::try_from(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert_refuses!(AdminData, hex("80 03 81 01 03 00"), ObjectError::Tlv { .. });
        assert_refuses!(AdminData, hex("81 01 03"), ObjectError::Tlv { .. });
        assert_refuses!(AdminData, hex("80 04 82 02 0102"), ObjectError::Invalid { .. });
        assert_refuses!(AdminData, hex("80 05 83 03 010203"), ObjectError::Invalid { .. });
        assert_refuses!(AdminData, hex("80 04 81 02 0102"), ObjectError::Invalid { .. });
    }
}
