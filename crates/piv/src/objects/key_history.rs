//! Key history object (tag 5FC10C) — SP 800-73-4 Part 1 Appendix A, Table 19 (and NISTIR 7676).
//!
//! It tells how many retired key-management keys have their certificate on the card (`C1`) and how
//! many only off the card (`C2`, then `F3` says where to fetch them).

use crate::objects::{ObjectError, elements, finish, required_fixed, stored};
use crate::tlv::{self, Builder};

const OBJECT: &str = "key history object";

mod tag {
    pub const ON_CARD_CERTS: u32 = 0xC1;
    pub const OFF_CARD_CERTS: u32 = 0xC2;
    pub const OFF_CARD_CERT_URL: u32 = 0xF3;
    pub const ERROR_DETECTION_CODE: u32 = 0xFE;
}

/// The key history object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHistory {
    /// `C1`: retired keys whose certificate is on the card (they occupy 82, 83, … in order).
    pub keys_with_on_card_certs: u8,
    /// `C2`: retired keys whose certificate is only off the card.
    pub keys_with_off_card_certs: u8,
    /// `F3`: the URL of the off-card certificates (required when `C2` is non-zero).
    pub off_card_cert_url: Option<Vec<u8>>,
}

impl KeyHistory {
    /// The content to store: `C1 01 n C2 01 m [F3 url] FE 00`.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let b = Builder::new()
            .tlv(tag::ON_CARD_CERTS, &[self.keys_with_on_card_certs])
            .tlv(tag::OFF_CARD_CERTS, &[self.keys_with_off_card_certs])
            .tlv_opt(tag::OFF_CARD_CERT_URL, self.off_card_cert_url.as_deref())
            .tlv(tag::ERROR_DETECTION_CODE, &[]);
        finish(OBJECT, b)
    }
}

impl TryFrom<&[u8]> for KeyHistory {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let e = elements(OBJECT, stored(OBJECT, data)?)?;
        let [on] = required_fixed::<1>(OBJECT, &e, tag::ON_CARD_CERTS)?;
        let [off] = required_fixed::<1>(OBJECT, &e, tag::OFF_CARD_CERTS)?;
        Ok(Self {
            keys_with_on_card_certs: on,
            keys_with_off_card_certs: off,
            off_card_cert_url: tlv::find(&e, tag::OFF_CARD_CERT_URL).map(<[u8]>::to_vec),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;

    #[test]
    fn byte_exact_forms() {
        // Table 19: `C1 01 keysWithOnCardCerts C2 01 keysWithOffCardCerts [F3 L url] FE 00`.
        let plain = hex("C1 01 02 C2 01 00 FE 00");
        let kh = KeyHistory::try_from(&plain[..]).unwrap();
        assert_eq!(
            kh,
            KeyHistory {
                keys_with_on_card_certs: 2,
                keys_with_off_card_certs: 0,
                off_card_cert_url: None
            }
        );
        assert_eq!(kh.encode().unwrap(), plain);
        let mut with_url = hex("C1 01 01 C2 01 03 F3 13");
        with_url.extend_from_slice(b"http://example.test");
        with_url.extend_from_slice(&[0xFE, 0x00]);
        let kh = KeyHistory::try_from(&with_url[..]).unwrap();
        assert_eq!(kh.off_card_cert_url.as_deref(), Some(&b"http://example.test"[..]));
        assert_eq!(kh.encode().unwrap(), with_url);
    }

    #[test]
    fn rejects_bad_input() {
        let good = hex("C1 01 02 C2 01 00 FE 00");
        // Cutting exactly before `FE` leaves a valid object (the error detection code is not needed).
        for cut in (1..good.len()).filter(|&cut| cut != 6) {
            assert!(KeyHistory::try_from(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert_refuses!(
            KeyHistory,
            hex("C1 01 02 C2 01 00 FE 00 00"),
            ObjectError::Tlv { .. }
        );
        assert_refuses!(
            KeyHistory,
            hex("C1 02 0000 C2 01 00"),
            ObjectError::Invalid { .. }
        );
        assert_eq!(
            KeyHistory::try_from(&hex("C2 01 00")[..]),
            Err(ObjectError::Missing {
                object: OBJECT,
                tag: 0xC1
            })
        );
    }
}
