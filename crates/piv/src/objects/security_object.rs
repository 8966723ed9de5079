//! Security object (tag 5FC106) — SP 800-73-4 Part 1 Appendix A, Table 12: `BA` mapping of data groups
//! to container ids, `BB` the LDS security object (a CMS signature over hashes of other objects),
//! `FE`. Tessera only carries the bytes; verifying the signature is a relying party's job.

use crate::objects::{ObjectError, elements, finish, stored};
use crate::tlv::{self, Builder};

const OBJECT: &str = "security object";

mod tag {
    pub const MAPPING: u32 = 0xBA;
    pub const LDS_SECURITY_OBJECT: u32 = 0xBB;
    pub const ERROR_DETECTION_CODE: u32 = 0xFE;
}

/// The security object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityObject {
    /// `BA`: data group number → container id mapping.
    pub mapping: Vec<u8>,
    /// `BB`: the LDS security object (CMS `SignedData`).
    pub lds_security_object: Vec<u8>,
}

impl SecurityObject {
    /// The content to store: `BA`, `BB`, `FE 00`.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let b = Builder::new()
            .tlv(tag::MAPPING, &self.mapping)
            .tlv(tag::LDS_SECURITY_OBJECT, &self.lds_security_object)
            .tlv(tag::ERROR_DETECTION_CODE, &[]);
        finish(OBJECT, b)
    }
}

impl TryFrom<&[u8]> for SecurityObject {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let e = elements(OBJECT, stored(OBJECT, data)?)?;
        let get = |t| {
            tlv::find(&e, t).map(<[u8]>::to_vec).ok_or(ObjectError::Missing {
                object: OBJECT,
                tag: t,
            })
        };
        Ok(Self {
            mapping: get(tag::MAPPING)?,
            lds_security_object: get(tag::LDS_SECURITY_OBJECT)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;

    #[test]
    fn byte_exact_round_trip() {
        // Mapping DG1 → 0101 (PIV authentication certificate), DG2 → 3000 (CHUID).
        let bytes = hex("BA 06 01 0101 02 3000 BB 04 30 02 05 00 FE 00");
        let so = SecurityObject::try_from(&bytes[..]).unwrap();
        assert_eq!(so.mapping, hex("01 0101 02 3000"));
        assert_eq!(so.lds_security_object, hex("30 02 05 00"));
        assert_eq!(so.encode().unwrap(), bytes);
    }

    #[test]
    fn rejects_bad_input() {
        assert_refuses!(
            SecurityObject,
            hex("BA 00"),
            ObjectError::Missing { tag: 0xBB, .. }
        );
        assert_refuses!(SecurityObject, hex("BA 00 BB 03 00"), ObjectError::Tlv { .. });
        assert!(SecurityObject::try_from(&[][..]).is_err());
    }
}
