//! Printed information (tag 5FC109) — SP 800-73-4 Part 1 Appendix A, Table 14: what is printed on the
//! card, readable with the PIN.
//!
//! On YubiKeys the same tag holds Yubico's PIN-protected data instead (see
//! [`ProtectedData`](super::ProtectedData)); such content parses here as an object with every field
//! absent, because its `88` element is unknown to this table. Values are kept as bytes: the standard
//! says ASCII, cards do not always agree, and this layer does not guess an encoding. Lengths are not
//! checked against the table's maxima (name 125, expiry 9, issuer 15, the others 20).

use crate::objects::{ObjectError, elements, finish, stored};
use crate::tlv::{self, Builder};

const OBJECT: &str = "printed information";

mod tag {
    pub const NAME: u32 = 0x01;
    pub const EMPLOYEE_AFFILIATION: u32 = 0x02;
    pub const EXPIRATION_DATE: u32 = 0x04;
    pub const AGENCY_CARD_SERIAL: u32 = 0x05;
    pub const ISSUER_IDENTIFICATION: u32 = 0x06;
    pub const ORGANIZATION_AFFILIATION_1: u32 = 0x07;
    pub const ORGANIZATION_AFFILIATION_2: u32 = 0x08;
    pub const ERROR_DETECTION_CODE: u32 = 0xFE;
}

/// The printed information object; each field is `None` when absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrintedInformation {
    /// `01`: name.
    pub name: Option<Vec<u8>>,
    /// `02`: employee affiliation.
    pub employee_affiliation: Option<Vec<u8>>,
    /// `04`: expiration date as printed (`YYYYMMMDD`, e.g. `2030JAN01`).
    pub expiration_date: Option<Vec<u8>>,
    /// `05`: agency card serial number.
    pub agency_card_serial: Option<Vec<u8>>,
    /// `06`: issuer identification.
    pub issuer_identification: Option<Vec<u8>>,
    /// `07`: organization affiliation, line 1.
    pub organization_affiliation_1: Option<Vec<u8>>,
    /// `08`: organization affiliation, line 2.
    pub organization_affiliation_2: Option<Vec<u8>>,
}

impl PrintedInformation {
    fn fields(&self) -> [(u32, Option<&[u8]>); 7] {
        [
            (tag::NAME, self.name.as_deref()),
            (tag::EMPLOYEE_AFFILIATION, self.employee_affiliation.as_deref()),
            (tag::EXPIRATION_DATE, self.expiration_date.as_deref()),
            (tag::AGENCY_CARD_SERIAL, self.agency_card_serial.as_deref()),
            (tag::ISSUER_IDENTIFICATION, self.issuer_identification.as_deref()),
            (
                tag::ORGANIZATION_AFFILIATION_1,
                self.organization_affiliation_1.as_deref(),
            ),
            (
                tag::ORGANIZATION_AFFILIATION_2,
                self.organization_affiliation_2.as_deref(),
            ),
        ]
    }

    /// The content to store, in Table 14 order, ending with `FE 00`.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let mut b = Builder::new();
        for (t, value) in self.fields() {
            b = b.tlv_opt(t, value);
        }
        finish(OBJECT, b.tlv(tag::ERROR_DETECTION_CODE, &[]))
    }
}

impl TryFrom<&[u8]> for PrintedInformation {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let e = elements(OBJECT, stored(OBJECT, data)?)?;
        let get = |t| tlv::find(&e, t).map(<[u8]>::to_vec);
        Ok(Self {
            name: get(tag::NAME),
            employee_affiliation: get(tag::EMPLOYEE_AFFILIATION),
            expiration_date: get(tag::EXPIRATION_DATE),
            agency_card_serial: get(tag::AGENCY_CARD_SERIAL),
            issuer_identification: get(tag::ISSUER_IDENTIFICATION),
            organization_affiliation_1: get(tag::ORGANIZATION_AFFILIATION_1),
            organization_affiliation_2: get(tag::ORGANIZATION_AFFILIATION_2),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;

    #[test]
    fn byte_exact_round_trip() {
        let info = PrintedInformation {
            name: Some(b"DOE JOHN".to_vec()),
            employee_affiliation: Some(b"EMP".to_vec()),
            expiration_date: Some(b"2030JAN01".to_vec()),
            agency_card_serial: Some(b"1234".to_vec()),
            issuer_identification: Some(b"ISS".to_vec()),
            organization_affiliation_1: Some(b"ORG".to_vec()),
            organization_affiliation_2: None,
        };
        let expected = hex(
            "01 08 444F45204A4F484E 02 03 454D50 04 09 323033304A414E3031 05 04 31323334
             06 03 495353 07 03 4F5247 FE 00",
        );
        assert_eq!(info.encode().unwrap(), expected);
        assert_eq!(PrintedInformation::try_from(&expected[..]).unwrap(), info);
    }

    #[test]
    fn yubikey_protected_data_is_not_printed_information() {
        // 5FC109 on a YubiKey: 88 { 89 key } — no printed-information element.
        let data = hex("88 05 89 03 010203");
        assert_eq!(
            PrintedInformation::try_from(&data[..]).unwrap(),
            PrintedInformation::default()
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert_refuses!(PrintedInformation, hex("01 05 4142"), ObjectError::Tlv { .. });
        assert_refuses!(PrintedInformation, hex("01 01 41 FE"), ObjectError::Tlv { .. });
        assert_eq!(
            PrintedInformation::try_from(&[][..]),
            Err(ObjectError::Empty { object: OBJECT })
        );
    }
}
