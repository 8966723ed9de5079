//! Card Holder Unique Identifier, CHUID (tag 5FC102) — SP 800-73-4 Part 1 Appendix A, Table 9.
//!
//! Its GUID is what Windows keys everything on: the inbox driver derives container names from it
//! (as FreeRDP's `get_piv_container_name` reproduces), OpenSC derives the card id from it (or from the
//! FASC-N), and Yubico's minidriver documentation notes that the CSP caches card contents by it: "the
//! CHUID has to be set and unique". The template is the one libykpiv writes (`ykpiv_util_set_cardid`).

use crate::objects::{ObjectError, elements, finish, fixed, required_fixed, stored};
use crate::tlv::{self, Builder};

const OBJECT: &str = "CHUID";

/// Element tags (Table 9). `EE` (buffer length) is deprecated and skipped.
mod tag {
    pub const FASC_N: u32 = 0x30;
    pub const ORGANIZATIONAL_IDENTIFIER: u32 = 0x32;
    pub const DUNS: u32 = 0x33;
    pub const GUID: u32 = 0x34;
    pub const EXPIRATION_DATE: u32 = 0x35;
    pub const CARDHOLDER_UUID: u32 = 0x36;
    pub const SIGNATURE: u32 = 0x3E;
    pub const ERROR_DETECTION_CODE: u32 = 0xFE;
}

/// The FASC-N libykpiv writes: agency code 9999 (non-government), system 9999, credential 999999.
pub const YUBICO_TEMPLATE_FASC_N: [u8; 25] = [
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08, 0x42,
    0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
];

/// The expiry libykpiv writes: 2030-01-01.
pub const YUBICO_TEMPLATE_EXPIRATION: [u8; 8] = *b"20300101";

/// The CHUID. Optional elements are `None` when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chuid {
    /// `30`: Federal Agency Smart Credential Number, 25 bytes of 5-bit BCD with parity.
    pub fasc_n: Option<[u8; 25]>,
    /// `32`: organizational identifier (4 bytes).
    pub organizational_identifier: Option<[u8; 4]>,
    /// `33`: DUNS (9 bytes).
    pub duns: Option<[u8; 9]>,
    /// `34`: the card's GUID (mandatory).
    pub guid: [u8; 16],
    /// `35`: expiration date, `YYYYMMDD` in ASCII digits.
    pub expiration: Option<[u8; 8]>,
    /// `36`: cardholder UUID.
    pub cardholder_uuid: Option<[u8; 16]>,
    /// `3E`: issuer asymmetric signature (CMS); YubiKeys write it empty.
    pub signature: Option<Vec<u8>>,
}

/// Where a card id comes from, by OpenSC's rule (`piv_get_serial_nr_from_CHUI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardIdentifier {
    /// The GUID (16 bytes).
    Guid([u8; 16]),
    /// The FASC-N (25 bytes): a government-issued card, or a card without a usable GUID.
    FascN([u8; 25]),
}

impl Chuid {
    /// The template libykpiv writes (`ykpiv_util_set_cardid`): FASC-N for agency 9999, the given GUID,
    /// an expiry (2030-01-01 unless given), an empty signature.
    pub fn yubico_template(guid: [u8; 16], expiration: Option<[u8; 8]>) -> Self {
        Self {
            fasc_n: Some(YUBICO_TEMPLATE_FASC_N),
            organizational_identifier: None,
            duns: None,
            guid,
            expiration: Some(expiration.unwrap_or(YUBICO_TEMPLATE_EXPIRATION)),
            cardholder_uuid: None,
            signature: Some(Vec::new()),
        }
    }

    /// The container name the Windows inbox PIV driver gives the key whose certificate sits in
    /// `cert_tag` (see [`container_name`]).
    pub fn container_name(&self, cert_tag: u32) -> String {
        container_name(&self.guid, cert_tag)
    }

    /// True when the FASC-N starts with `;9999` (agency code 9999: not issued by a government agency),
    /// as OpenSC tests it: `D4 E7 39` and the top bit of the fourth byte.
    pub fn has_non_government_fasc_n(&self) -> bool {
        self.fasc_n.is_some_and(|f| is_non_government_fasc_n(&f))
    }

    /// The card id by OpenSC's rule: the FASC-N when it is present, not all zero and either
    /// government-issued or the only identifier; otherwise the GUID when it is not all zero; otherwise
    /// nothing (the caller falls back to the serial number).
    pub fn card_identifier(&self) -> Option<CardIdentifier> {
        let guid_usable = self.guid.iter().any(|&b| b != 0);
        if let Some(f) = self.fasc_n.filter(|f| f.iter().any(|&b| b != 0))
            && !(guid_usable && is_non_government_fasc_n(&f))
        {
            return Some(CardIdentifier::FascN(f));
        }
        guid_usable.then_some(CardIdentifier::Guid(self.guid))
    }

    /// The content to store: elements in Table 9 order, ending with an empty `FE`.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        if let Some(date) = &self.expiration {
            check_date(date)?;
        }
        let b = Builder::new()
            .tlv_opt(tag::FASC_N, self.fasc_n.as_ref().map(|v| &v[..]))
            .tlv_opt(
                tag::ORGANIZATIONAL_IDENTIFIER,
                self.organizational_identifier.as_ref().map(|v| &v[..]),
            )
            .tlv_opt(tag::DUNS, self.duns.as_ref().map(|v| &v[..]))
            .tlv(tag::GUID, &self.guid)
            .tlv_opt(tag::EXPIRATION_DATE, self.expiration.as_ref().map(|v| &v[..]))
            .tlv_opt(
                tag::CARDHOLDER_UUID,
                self.cardholder_uuid.as_ref().map(|v| &v[..]),
            )
            .tlv_opt(tag::SIGNATURE, self.signature.as_deref())
            .tlv(tag::ERROR_DETECTION_CODE, &[]);
        finish(OBJECT, b)
    }
}

/// The container name the Windows inbox PIV driver derives from a CHUID GUID and a certificate object
/// tag (e.g. `0x5FC105`): the GUID bytes `3 2 1 0 - 5 4 - 7 6 - 8 9 - 10 11 12` in lowercase hex, then
/// the tag as six hex digits (FreeRDP `get_piv_container_name` and sspi-rs `chuid_to_container_name`
/// reproduce it). GUID bytes 13–15 do not appear.
pub fn container_name(guid: &[u8; 16], cert_tag: u32) -> String {
    let g = guid;
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:06x}",
        g[3],
        g[2],
        g[1],
        g[0],
        g[5],
        g[4],
        g[7],
        g[6],
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        cert_tag & 0xFF_FFFF
    )
}

/// The `;9999` test on a raw FASC-N.
pub fn is_non_government_fasc_n(fasc_n: &[u8; 25]) -> bool {
    fasc_n[..3] == [0xD4, 0xE7, 0x39] && fasc_n[3] & 0x80 != 0
}

fn check_date(date: &[u8; 8]) -> Result<(), ObjectError> {
    if date.iter().all(u8::is_ascii_digit) {
        Ok(())
    } else {
        Err(ObjectError::invalid(
            OBJECT,
            "expiration date is not 8 ASCII digits",
        ))
    }
}

impl TryFrom<&[u8]> for Chuid {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let e = elements(OBJECT, stored(OBJECT, data)?)?;
        let expiration = fixed::<8>(OBJECT, &e, tag::EXPIRATION_DATE)?;
        if let Some(date) = &expiration {
            check_date(date)?;
        }
        Ok(Self {
            fasc_n: fixed(OBJECT, &e, tag::FASC_N)?,
            organizational_identifier: fixed(OBJECT, &e, tag::ORGANIZATIONAL_IDENTIFIER)?,
            duns: fixed(OBJECT, &e, tag::DUNS)?,
            guid: required_fixed(OBJECT, &e, tag::GUID)?,
            expiration,
            cardholder_uuid: fixed(OBJECT, &e, tag::CARDHOLDER_UUID)?,
            signature: tlv::find(&e, tag::SIGNATURE).map(<[u8]>::to_vec),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;

    const GUID: [u8; 16] = [
        0x58, 0xc6, 0x8a, 0x1d, 0x65, 0xe0, 0xa0, 0x92, 0x85, 0xaf, 0x09, 0x0b, 0x07, 0x0b, 0x5d, 0x79,
    ];

    #[test]
    fn yubico_template_is_byte_exact() {
        // libykpiv's CHUID template (`ykpiv_util_set_cardid`: FASC-N of agency 9999, expiry 2030-01-01),
        // GUID at offset 29.
        let expected = hex(
            "30 19 D4 E7 39 DA 73 9C ED 39 CE 73 9D 83 68 58 21 08 42 10 84 21 C8 42 10 C3 EB
             34 10 58c68a1d65e0a09285af090b070b5d79
             35 08 32 30 33 30 30 31 30 31 3E 00 FE 00",
        );
        let chuid = Chuid::yubico_template(GUID, None);
        let bytes = chuid.encode().unwrap();
        assert_eq!(bytes, expected);
        assert_eq!(bytes.len(), 0x3B, "libykpiv writes it as 53 3B");
        assert_eq!(&bytes[29..45], &GUID);
        assert_eq!(Chuid::try_from(&bytes[..]).unwrap(), chuid);
        let custom = Chuid::yubico_template(GUID, Some(*b"20991231")).encode().unwrap();
        assert_eq!(&custom[47..55], b"20991231");
    }

    #[test]
    fn nitrokey_chuid_parses() {
        // As the Nitrokey piv-authenticator 0.7.0 answers: its FASC-N, its default GUID (`Options::uuid`),
        // expiry 99991231; here with a cardholder UUID and a signature added.
        let data = hex("30 19 D4E739D821086C1084210D8360D8210842108421804210C3F3
             34 10 00000000000040008000000000000000 35 08 3939393931323331
             36 10 0102030405060708090A0B0C0D0E0F10 3E 03 010203 FE 00");
        let c = Chuid::try_from(&data[..]).unwrap();
        assert_eq!(c.expiration, Some(*b"99991231"));
        assert!(c.has_non_government_fasc_n());
        assert_eq!(c.signature.as_deref(), Some(&[1, 2, 3][..]));
        assert_eq!(c.cardholder_uuid.unwrap()[15], 0x10);
        assert_eq!(c.encode().unwrap(), data);
    }

    #[test]
    fn container_name_vectors() {
        // The vector FreeRDP's and sspi-rs's tests use for the inbox driver's naming.
        let c = Chuid::yubico_template(GUID, None);
        assert_eq!(c.container_name(0x5FC105), "1d8ac658-e065-92a0-85af-090b075fc105");
        assert_eq!(
            container_name(&GUID, 0x5FC10A),
            "1d8ac658-e065-92a0-85af-090b075fc10a"
        );
        // The PIVKey example: GUID A258ABAA928AE04D81D800F55D… (the last three bytes are not shown and do
        // not enter the name), 9E certificate 5FC101.
        for tail in [[0u8; 3], [0xFF; 3], [0x12, 0x34, 0x56]] {
            let mut guid = hex("A258ABAA928AE04D81D800F55D");
            guid.extend_from_slice(&tail);
            let c = Chuid::yubico_template(guid.try_into().unwrap(), None);
            assert_eq!(c.container_name(0x5FC101), "aaab58a2-8a92-4de0-81d8-00f55d5fc101");
        }
    }

    #[test]
    fn card_identifier_follows_opensc() {
        let mut c = Chuid::yubico_template(GUID, None);
        // Non-government FASC-N and a GUID: the GUID.
        assert_eq!(c.card_identifier(), Some(CardIdentifier::Guid(GUID)));
        // A government FASC-N wins over the GUID.
        let mut gov = YUBICO_TEMPLATE_FASC_N;
        gov[1] = 0x00;
        c.fasc_n = Some(gov);
        assert!(!c.has_non_government_fasc_n());
        assert_eq!(c.card_identifier(), Some(CardIdentifier::FascN(gov)));
        // A zero GUID: the FASC-N, even a ;9999 one.
        c.guid = [0; 16];
        c.fasc_n = Some(YUBICO_TEMPLATE_FASC_N);
        assert_eq!(
            c.card_identifier(),
            Some(CardIdentifier::FascN(YUBICO_TEMPLATE_FASC_N))
        );
        // A zero FASC-N and a zero GUID: nothing (the caller uses the serial).
        c.fasc_n = Some([0; 25]);
        assert_eq!(c.card_identifier(), None);
        c.fasc_n = None;
        assert_eq!(c.card_identifier(), None);
        // The ;9999 test looks at the fourth byte's top bit.
        let mut f = YUBICO_TEMPLATE_FASC_N;
        assert!(is_non_government_fasc_n(&f));
        f[3] = 0x5A;
        assert!(!is_non_government_fasc_n(&f));
    }

    #[test]
    fn rejects_bad_input() {
        let good = Chuid::yubico_template(GUID, None).encode().unwrap();
        // Truncated anywhere inside the elements.
        for cut in [1, 2, 20, 28, 40, good.len() - 1] {
            assert!(
                matches!(
                    Chuid::try_from(&good[..cut]),
                    Err(ObjectError::Tlv { .. } | ObjectError::Missing { .. })
                ),
                "cut at {cut}"
            );
        }
        // Trailing garbage.
        assert_refuses!(Chuid, [&good[..], &[0x30]].concat(), ObjectError::Tlv { .. });
        // No GUID.
        assert_eq!(
            Chuid::try_from(&hex("35 08 3230333030313031 FE 00")[..]),
            Err(ObjectError::Missing {
                object: OBJECT,
                tag: 0x34
            })
        );
        // A GUID of the wrong length, a date that is not digits.
        assert_refuses!(Chuid, hex("34 02 0102"), ObjectError::Invalid { .. });
        let mut bad_date = good.clone();
        bad_date[47] = b'X';
        assert!(matches!(
            Chuid::try_from(&bad_date[..]),
            Err(ObjectError::Invalid { .. })
        ));
        assert_eq!(
            Chuid::try_from(&[][..]),
            Err(ObjectError::Empty { object: OBJECT })
        );
        let mut c = Chuid::yubico_template(GUID, Some(*b"2030-1-1"));
        assert!(c.encode().is_err());
        c.expiration = None;
        assert!(c.encode().is_ok());
    }
}
