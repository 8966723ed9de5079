//! Card Capability Container, CCC (tag 5FC107) — SP 800-73-4 Part 1 Appendix A, Table 8.
//!
//! Kept for compatibility with GSC-IS middleware; PIV hosts rarely read more than the card identifier.
//! The template is the one libykpiv writes (`ykpiv_util_set_cccid`).

use crate::objects::{ObjectError, elements, finish, stored};
use crate::tlv::{self, Builder};

const OBJECT: &str = "card capability container";

mod tag {
    pub const CARD_IDENTIFIER: u32 = 0xF0;
    pub const CONTAINER_VERSION: u32 = 0xF1;
    pub const GRAMMAR_VERSION: u32 = 0xF2;
    pub const APPLICATIONS_CARD_URL: u32 = 0xF3;
    pub const PKCS15: u32 = 0xF4;
    pub const DATA_MODEL_NUMBER: u32 = 0xF5;
    pub const ACCESS_CONTROL_RULE_TABLE: u32 = 0xF6;
    /// F7 card APDUs, FA redirection tag, FB capability tuples, FC status tuples, FD next CCC: always
    /// empty in 800-73-4, written empty, ignored when read.
    pub const EMPTY_ELEMENTS: [u32; 5] = [0xF7, 0xFA, 0xFB, 0xFC, 0xFD];
    pub const EXTENDED_APPLICATION_CARD_URL: u32 = 0xE3;
    pub const SECURITY_OBJECT_BUFFER: u32 = 0xB4;
    pub const ERROR_DETECTION_CODE: u32 = 0xFE;
}

/// The first 7 bytes of the card identifier libykpiv writes: GSC-RID `A0 00 00 01 16`, manufacturer
/// `FF`, card type `02` (Java Card); 14 card-specific bytes follow.
pub const YUBICO_CARD_IDENTIFIER_PREFIX: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02];

/// The CCC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ccc {
    /// `F0`: card identifier (21 bytes in 800-73-4: GSC-RID, manufacturer, card type, card id).
    pub card_identifier: Vec<u8>,
    /// `F1`: capability container version number.
    pub container_version: u8,
    /// `F2`: capability grammar version number.
    pub grammar_version: u8,
    /// `F3`: applications CardURL (libykpiv writes it empty).
    pub applications_card_url: Option<Vec<u8>>,
    /// `F4`: PKCS#15 indicator.
    pub pkcs15: Option<u8>,
    /// `F5`: registered data model number (`10` for PIV).
    pub data_model_number: Option<u8>,
    /// `F6`: access control rule table.
    pub access_control_rule_table: Option<Vec<u8>>,
    /// `E3`: extended application CardURL.
    pub extended_application_card_url: Option<Vec<u8>>,
    /// `B4`: security object buffer (deprecated).
    pub security_object_buffer: Option<Vec<u8>>,
}

impl Ccc {
    /// libykpiv's template: identifier `A0 00 00 01 16 FF 02 ‖ card_id`, versions `21`, data model `10`.
    pub fn yubico_template(card_id: [u8; 14]) -> Self {
        let mut card_identifier = YUBICO_CARD_IDENTIFIER_PREFIX.to_vec();
        card_identifier.extend_from_slice(&card_id);
        Self {
            card_identifier,
            container_version: 0x21,
            grammar_version: 0x21,
            applications_card_url: Some(Vec::new()),
            pkcs15: Some(0x00),
            data_model_number: Some(0x10),
            access_control_rule_table: Some(Vec::new()),
            extended_application_card_url: None,
            security_object_buffer: None,
        }
    }

    /// The content to store, in Table 8 order.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let mut b = Builder::new()
            .tlv(tag::CARD_IDENTIFIER, &self.card_identifier)
            .tlv(tag::CONTAINER_VERSION, &[self.container_version])
            .tlv(tag::GRAMMAR_VERSION, &[self.grammar_version])
            .tlv_opt(tag::APPLICATIONS_CARD_URL, self.applications_card_url.as_deref())
            .tlv_opt(tag::PKCS15, self.pkcs15.as_ref().map(std::slice::from_ref))
            .tlv_opt(
                tag::DATA_MODEL_NUMBER,
                self.data_model_number.as_ref().map(std::slice::from_ref),
            )
            .tlv_opt(
                tag::ACCESS_CONTROL_RULE_TABLE,
                self.access_control_rule_table.as_deref(),
            );
        for t in tag::EMPTY_ELEMENTS {
            b = b.tlv(t, &[]);
        }
        let b = b
            .tlv_opt(
                tag::EXTENDED_APPLICATION_CARD_URL,
                self.extended_application_card_url.as_deref(),
            )
            .tlv_opt(
                tag::SECURITY_OBJECT_BUFFER,
                self.security_object_buffer.as_deref(),
            )
            .tlv(tag::ERROR_DETECTION_CODE, &[]);
        finish(OBJECT, b)
    }
}

fn one_byte(e: &[tlv::Tlv<'_>], t: u32) -> Result<Option<u8>, ObjectError> {
    match tlv::find(e, t) {
        None => Ok(None),
        Some([b]) => Ok(Some(*b)),
        Some(v) => Err(ObjectError::invalid(
            OBJECT,
            format!("element {t:X} has {} bytes instead of 1", v.len()),
        )),
    }
}

impl TryFrom<&[u8]> for Ccc {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let e = elements(OBJECT, stored(OBJECT, data)?)?;
        let required = |t| {
            one_byte(&e, t)?.ok_or(ObjectError::Missing {
                object: OBJECT,
                tag: t,
            })
        };
        Ok(Self {
            card_identifier: tlv::find(&e, tag::CARD_IDENTIFIER)
                .ok_or(ObjectError::Missing {
                    object: OBJECT,
                    tag: tag::CARD_IDENTIFIER,
                })?
                .to_vec(),
            container_version: required(tag::CONTAINER_VERSION)?,
            grammar_version: required(tag::GRAMMAR_VERSION)?,
            applications_card_url: tlv::find(&e, tag::APPLICATIONS_CARD_URL).map(<[u8]>::to_vec),
            pkcs15: one_byte(&e, tag::PKCS15)?,
            data_model_number: one_byte(&e, tag::DATA_MODEL_NUMBER)?,
            access_control_rule_table: tlv::find(&e, tag::ACCESS_CONTROL_RULE_TABLE).map(<[u8]>::to_vec),
            extended_application_card_url: tlv::find(&e, tag::EXTENDED_APPLICATION_CARD_URL)
                .map(<[u8]>::to_vec),
            security_object_buffer: tlv::find(&e, tag::SECURITY_OBJECT_BUFFER).map(<[u8]>::to_vec),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;

    #[test]
    fn yubico_template_is_byte_exact() {
        // libykpiv's template (`ykpiv_util_set_cccid`): F0 15 A0 00 00 01 16 FF 02 <14> F1 01 21 F2 01 21
        // F3 00 F4 01 00 F5 01 10 F6 00 F7 00 FA 00 FB 00 FC 00 FD 00 FE 00.
        let id: [u8; 14] = core::array::from_fn(|i| i as u8 + 1);
        let expected = hex("F0 15 A0 00 00 01 16 FF 02 0102030405060708090A0B0C0D0E
             F1 01 21 F2 01 21 F3 00 F4 01 00 F5 01 10 F6 00 F7 00 FA 00 FB 00 FC 00 FD 00 FE 00");
        let ccc = Ccc::yubico_template(id);
        assert_eq!(ccc.encode().unwrap(), expected);
        assert_eq!(Ccc::try_from(&expected[..]).unwrap(), ccc);
        assert_eq!(&ccc.card_identifier[7..], &id);
    }

    #[test]
    fn optional_elements_round_trip() {
        let mut ccc = Ccc::yubico_template([0xAA; 14]);
        ccc.extended_application_card_url = Some(b"url".to_vec());
        ccc.security_object_buffer = Some(vec![1, 2]);
        ccc.pkcs15 = None;
        let bytes = ccc.encode().unwrap();
        assert_eq!(Ccc::try_from(&bytes[..]).unwrap(), ccc);
    }

    #[test]
    fn rejects_bad_input() {
        let good = Ccc::yubico_template([7; 14]).encode().unwrap();
        for cut in [1, 5, 22, 25, good.len() - 1] {
            assert!(Ccc::try_from(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert_refuses!(Ccc, [&good[..], &[0xFE]].concat(), ObjectError::Tlv { .. });
        assert_eq!(
            Ccc::try_from(&hex("F1 01 21 F2 01 21")[..]),
            Err(ObjectError::Missing {
                object: OBJECT,
                tag: 0xF0
            })
        );
        assert_refuses!(Ccc, hex("F0 00 F1 02 2121 F2 01 21"), ObjectError::Invalid { .. });
        assert_eq!(Ccc::try_from(&[][..]), Err(ObjectError::Empty { object: OBJECT }));
    }
}
