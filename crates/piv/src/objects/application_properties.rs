//! The Application Property Template returned by SELECT (SP 800-73-4 Part 2 §3.1.1, Table 3).

use crate::algorithm::AlgorithmId;
use crate::objects::ObjectError;
use crate::tlv;

const OBJECT: &str = "application property template";

/// What SELECT tells about the application.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicationProperties {
    /// Tag `4F`: the PIX with version (`00 00 10 00 01 00`), or on old cards the whole AID.
    pub application_id: Vec<u8>,
    /// Tag `79` / `4F`: the coexistent tag allocation authority (`A0 00 00 03 08`).
    pub allocation_authority: Option<Vec<u8>>,
    /// Tag `50`: application label.
    pub label: Option<String>,
    /// Tag `5F50`: URL.
    pub url: Option<String>,
    /// Tag `AC` / `80`: the algorithms the card lists (empty when it lists none, as YubiKeys do).
    pub algorithms: Vec<AlgorithmId>,
}

impl ApplicationProperties {
    /// Parses the SELECT response (`61 L { … }`). Every `80 01 xx` inside every `AC` is collected;
    /// unknown elements are skipped. An empty response (some cards answer SELECT with bare `9000`) gives
    /// empty properties.
    pub fn parse(data: &[u8]) -> Result<Self, ObjectError> {
        if data.is_empty() {
            return Ok(Self::default());
        }
        let body = tlv::parse_single(data, 0x61).map_err(ObjectError::tlv(OBJECT))?;
        let elements = tlv::parse_all(body).map_err(ObjectError::tlv(OBJECT))?;
        let mut apt = Self::default();
        for e in &elements {
            match e.tag {
                0x4F => apt.application_id = e.value.to_vec(),
                0x79 => {
                    let inner = tlv::parse_all(e.value).map_err(ObjectError::tlv(OBJECT))?;
                    apt.allocation_authority = tlv::find(&inner, 0x4F).map(<[u8]>::to_vec);
                }
                0x50 => apt.label = Some(String::from_utf8_lossy(e.value).into_owned()),
                0x5F50 => apt.url = Some(String::from_utf8_lossy(e.value).into_owned()),
                0xAC => {
                    for inner in tlv::parse_all(e.value).map_err(ObjectError::tlv(OBJECT))? {
                        if let (0x80, [alg]) = (inner.tag, inner.value) {
                            apt.algorithms.push(AlgorithmId(*alg));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(apt)
    }

    /// Parses a SELECT answer the way a host must read one that came with `9000` (as OpenSC's `piv_find_aid`
    /// does: find `61`, take every `80 01 xx` inside every `AC`): the card has the application whatever the
    /// template looks like, so this never fails. Every element that parses is kept and the rest defaults:
    /// bytes after the `61` template are ignored, a template shorter than its length is read as far as it
    /// goes, the element list ends at the first malformed element, and a malformed `79` or `AC` contributes
    /// only what parsed inside it.
    pub fn parse_lenient(data: &[u8]) -> Self {
        let mut apt = Self::default();
        let body = match tlv::read(data) {
            Ok((template, _trailing)) if template.tag == 0x61 => template.value,
            Err(tlv::TlvError::TruncatedValue { available, .. }) if data.first() == Some(&0x61) => data
                .get(data.len().saturating_sub(available)..)
                .unwrap_or_default(),
            _ => return apt,
        };
        for e in tlv::Reader::new(body).map_while(Result::ok) {
            match e.tag {
                0x4F => apt.application_id = e.value.to_vec(),
                0x79 => {
                    apt.allocation_authority = tlv::Reader::new(e.value)
                        .map_while(Result::ok)
                        .find(|inner| inner.tag == 0x4F)
                        .map(|inner| inner.value.to_vec());
                }
                0x50 => apt.label = Some(String::from_utf8_lossy(e.value).into_owned()),
                0x5F50 => apt.url = Some(String::from_utf8_lossy(e.value).into_owned()),
                0xAC => {
                    for inner in tlv::Reader::new(e.value).map_while(Result::ok) {
                        if let (0x80, [alg]) = (inner.tag, inner.value) {
                            apt.algorithms.push(AlgorithmId(*alg));
                        }
                    }
                }
                _ => {}
            }
        }
        apt
    }

    /// Encodes as a card answers SELECT: `4F`, `79 {4F}`, `[50]`, `[5F50]`, `[AC {80 01 xx}* 06 01 00]`.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let err = ObjectError::tlv(OBJECT);
        let mut b = tlv::Builder::new().tlv(0x4F, &self.application_id);
        if let Some(authority) = &self.allocation_authority {
            b = b.tlv(0x79, &tlv::encode(0x4F, authority).map_err(&err)?);
        }
        b = b.tlv_opt(0x50, self.label.as_deref().map(str::as_bytes));
        b = b.tlv_opt(0x5F50, self.url.as_deref().map(str::as_bytes));
        if !self.algorithms.is_empty() {
            let mut ac = tlv::Builder::new();
            for alg in &self.algorithms {
                ac = ac.tlv(0x80, &[alg.0]);
            }
            let ac = ac.tlv(0x06, &[0x00]).finish().map_err(&err)?;
            b = b.tlv(0xAC, &ac);
        }
        let body = b.finish().map_err(&err)?;
        tlv::encode(0x61, &body).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::hex::literal as hex;

    #[test]
    fn yubikey5_select_response() {
        // A YubiKey 5's answer (Yubico .NET SDK docs, captured with opensc-tool): no AC and no label.
        let data = hex("61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08");
        let apt = ApplicationProperties::parse(&data).unwrap();
        assert_eq!(apt.application_id, hex("000010000100"));
        assert_eq!(apt.allocation_authority, Some(hex("A000000308")));
        assert!(apt.algorithms.is_empty() && apt.label.is_none());
        assert_eq!(apt.encode().unwrap(), data);
    }

    #[test]
    fn pivapplet_select_response_lists_algorithms() {
        let data = hex(
            "61 3D 4F 0B A000000308000010000100 79 0D 4F 0B A000000308000010000100 50 09 5069764170706C6574
             AC 14 80 01 03 80 01 06 80 01 07 80 01 11 80 01 F0 80 01 F1 06 00",
        );
        let apt = ApplicationProperties::parse(&data).unwrap();
        assert_eq!(apt.label.as_deref(), Some("PivApplet"));
        assert_eq!(
            apt.algorithms,
            [0x03, 0x06, 0x07, 0x11, 0xF0, 0xF1].map(AlgorithmId).to_vec()
        );
    }

    #[test]
    fn nitrokey_select_response() {
        let mut data = hex("61 69 4F 06 000010000100 50 0C");
        data.extend_from_slice(b"Nitrokey PIV");
        data.extend_from_slice(&hex("5F50 2D"));
        data.extend_from_slice(&[b'u'; 0x2D]);
        data.extend_from_slice(&hex(
            "AC 18 80 01 03 80 01 0C 80 01 11 80 01 07 80 01 05 80 01 16 80 01 14 06 01 00 79 07 4F 05 A000000308",
        ));
        let apt = ApplicationProperties::parse(&data).unwrap();
        assert_eq!(apt.label.as_deref(), Some("Nitrokey PIV"));
        assert_eq!(apt.algorithms.len(), 7);
        assert_eq!(apt.allocation_authority, Some(hex("A000000308")));
    }

    #[test]
    fn lenient_parse_keeps_what_parsed() {
        let yubikey = hex("61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08");
        let expected = ApplicationProperties::parse(&yubikey).unwrap();
        // A well-formed template reads the same both ways.
        assert_eq!(ApplicationProperties::parse_lenient(&yubikey), expected);
        // A trailing byte after the template.
        let trailing = [&yubikey[..], &[0x00]].concat();
        assert!(ApplicationProperties::parse(&trailing).is_err());
        assert_eq!(ApplicationProperties::parse_lenient(&trailing), expected);
        // A malformed 79 (its 4F runs past the end) and a malformed AC: what parsed inside them stays.
        let data = hex("61 15 4F 06 000010000100 79 03 4F 05 A0 AC 06 80 01 11 80 05 00");
        assert!(ApplicationProperties::parse(&data).is_err());
        let apt = ApplicationProperties::parse_lenient(&data);
        assert_eq!(apt.application_id, hex("000010000100"));
        assert_eq!(apt.allocation_authority, None);
        assert_eq!(apt.algorithms, [AlgorithmId(0x11)]);
        // The template's length runs past the data, and an element is cut short.
        let data = hex("61 20 4F 06 000010000100 50 09 50 69 76");
        assert!(ApplicationProperties::parse(&data).is_err());
        let apt = ApplicationProperties::parse_lenient(&data);
        assert_eq!((apt.application_id, apt.label), (hex("000010000100"), None));
        // No template at all: defaults.
        for garbage in [
            &[][..],
            &[0x6F, 0x00],
            &[0x61],
            &[0x61, 0x83, 0x00],
            &[0xFF, 0xFF, 0xFF],
        ] {
            assert_eq!(
                ApplicationProperties::parse_lenient(garbage),
                ApplicationProperties::default(),
                "{garbage:02X?}"
            );
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(ApplicationProperties::parse(&[0x61, 0x05, 0x4F]).is_err());
        assert!(ApplicationProperties::parse(&[0x6F, 0x00]).is_err());
        assert_eq!(
            ApplicationProperties::parse(&[]).unwrap(),
            ApplicationProperties::default()
        );
    }
}
