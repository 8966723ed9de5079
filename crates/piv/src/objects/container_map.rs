//! Yubico minidriver container map, MSCMAP (tag 5FFF10): `81 L <n × 107-byte records>`, and the
//! 86-byte Microsoft `CONTAINER_MAP_RECORD` of `mscp/cmapfile` it extends.
//!
//! Layout sources (read, cross-checked): yubico-piv-tool `lib/ykpiv.h` (`ykpiv_container`, packed)
//! and `lib/util.c` (`ykpiv_util_read_mscmap`/`write_mscmap`); yubikey.rs `src/mscmap.rs`
//! (`MsContainer`, record length 80 + 27); Microsoft's Smart Card Minidriver
//! Specification 7.07 §5.4.4 (Container Map File) for the Microsoft record.
//!
//! ```text
//! ContainerRecord (107 bytes, little-endian)     CmapRecord (86 bytes, little-endian)
//!   0  WCHAR name[40]  UTF-16, NUL-terminated      0  WCHAR wszGuid[40]
//!  80  u8  slot        PIV key reference          80  BYTE  bFlags
//!  81  u8  key_spec    AT_KEYEXCHANGE, …          81  BYTE  bReserved
//!  82  u16 key_size_bits                          82  WORD  wSigKeySizeBits
//!  84  u8  flags       CONTAINER_MAP_* bits       84  WORD  wKeyExchangeKeySizeBits
//!  85  u8  pin_id
//!  86  u8  associated_ecdh_container
//!  87  u8  cert_fingerprint[20]
//! ```
//!
//! Names are kept as strings; bytes after the terminating NUL are not preserved (a rewrite zeroes them).

use crate::key_ref::KeyRef;
use crate::objects::{ObjectError, YUBICO_MAX_OBJECT_CONTENT, stored};
use crate::tlv;

const OBJECT: &str = "Yubico container map";
const CMAP: &str = "cmapfile record";

const TAG_MSCMAP: u32 = 0x81;

/// Length of one Yubico record.
pub const RECORD_LEN: usize = 107;
/// Length of one Microsoft `CONTAINER_MAP_RECORD`.
pub const CMAP_RECORD_LEN: usize = 86;
/// UTF-16 units of the name field, the terminating NUL included (`MAX_CONTAINER_NAME_LEN` + 1).
pub const NAME_UNITS: usize = 40;
/// Most records one 5FFF10 object holds: `81 82 LL LL` plus 28 × 107 bytes fit in
/// [`YUBICO_MAX_OBJECT_CONTENT`]; 29 do not.
pub const MAX_RECORDS: usize = 28;
/// Length of the certificate fingerprint.
pub const FINGERPRINT_LEN: usize = 20;

/// Container flag: the record is in use.
pub const CONTAINER_MAP_VALID_CONTAINER: u8 = 0x01;
/// Container flag: the default container (only together with "valid", on one record at most).
pub const CONTAINER_MAP_DEFAULT_CONTAINER: u8 = 0x02;

/// Minidriver key specs (`dwKeySpec`).
pub mod key_spec {
    /// RSA key exchange.
    pub const AT_KEYEXCHANGE: u8 = 1;
    /// RSA signature.
    pub const AT_SIGNATURE: u8 = 2;
    /// ECDSA P-256.
    pub const AT_ECDSA_P256: u8 = 3;
    /// ECDSA P-384.
    pub const AT_ECDSA_P384: u8 = 4;
    /// ECDSA P-521.
    pub const AT_ECDSA_P521: u8 = 5;
    /// ECDH P-256.
    pub const AT_ECDHE_P256: u8 = 6;
    /// ECDH P-384.
    pub const AT_ECDHE_P384: u8 = 7;
    /// ECDH P-521.
    pub const AT_ECDHE_P521: u8 = 8;

    /// True for the specs whose size goes into `wSigKeySizeBits`.
    pub const fn is_signature(spec: u8) -> bool {
        matches!(spec, AT_SIGNATURE | AT_ECDSA_P256 | AT_ECDSA_P384 | AT_ECDSA_P521)
    }

    /// True for the specs whose size goes into `wKeyExchangeKeySizeBits`.
    pub const fn is_key_exchange(spec: u8) -> bool {
        matches!(
            spec,
            AT_KEYEXCHANGE | AT_ECDHE_P256 | AT_ECDHE_P384 | AT_ECDHE_P521
        )
    }
}

/// One record of Yubico's container map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    /// Container name (at most 39 UTF-16 units, no NUL); usually a GUID string.
    pub name: String,
    /// The PIV slot holding the key.
    pub slot: KeyRef,
    /// Minidriver key spec ([`key_spec`]).
    pub key_spec: u8,
    /// Key size in bits.
    pub key_size_bits: u16,
    /// `CONTAINER_MAP_*` flags.
    pub flags: u8,
    /// Minidriver PIN identifier.
    pub pin_id: u8,
    /// Index of the associated ECDH container.
    pub associated_ecdh_container: u8,
    /// Certificate fingerprint.
    pub cert_fingerprint: [u8; FINGERPRINT_LEN],
}

/// One Microsoft `CONTAINER_MAP_RECORD`, as the Base CSP keeps it in `mscp/cmapfile`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CmapRecord {
    /// `wszGuid`: the container name.
    pub name: String,
    /// `bFlags`: `CONTAINER_MAP_*`.
    pub flags: u8,
    /// `bReserved`.
    pub reserved: u8,
    /// `wSigKeySizeBits`.
    pub sig_key_size_bits: u16,
    /// `wKeyExchangeKeySizeBits`.
    pub key_exchange_key_size_bits: u16,
}

/// The 5FFF10 object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerMap {
    /// Records in container-index order.
    pub records: Vec<ContainerRecord>,
}

fn decode_name(object: &'static str, bytes: &[u8]) -> Result<String, ObjectError> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let end = units
        .iter()
        .position(|&u| u == 0)
        .ok_or_else(|| ObjectError::invalid(object, "container name is not NUL-terminated"))?;
    String::from_utf16(&units[..end])
        .map_err(|_| ObjectError::invalid(object, "container name is not UTF-16"))
}

fn encode_name(object: &'static str, name: &str, out: &mut [u8]) -> Result<(), ObjectError> {
    let units: Vec<u16> = name.encode_utf16().collect();
    if units.len() >= NAME_UNITS || units.contains(&0) {
        return Err(ObjectError::invalid(
            object,
            "container name longer than 39 UTF-16 units or containing NUL",
        ));
    }
    for (slot, unit) in out.chunks_exact_mut(2).zip(units) {
        slot.copy_from_slice(&unit.to_le_bytes());
    }
    Ok(())
}

impl ContainerRecord {
    /// Parses one 107-byte record.
    pub fn parse(bytes: &[u8]) -> Result<Self, ObjectError> {
        let Ok(r) = <&[u8; RECORD_LEN]>::try_from(bytes) else {
            return Err(ObjectError::invalid(
                OBJECT,
                format!("record of {} bytes instead of {RECORD_LEN}", bytes.len()),
            ));
        };
        let (name, rest) = r.split_at(2 * NAME_UNITS);
        let mut cert_fingerprint = [0u8; FINGERPRINT_LEN];
        cert_fingerprint.copy_from_slice(&rest[7..]);
        Ok(Self {
            name: decode_name(OBJECT, name)?,
            slot: KeyRef(rest[0]),
            key_spec: rest[1],
            key_size_bits: u16::from_le_bytes([rest[2], rest[3]]),
            flags: rest[4],
            pin_id: rest[5],
            associated_ecdh_container: rest[6],
            cert_fingerprint,
        })
    }

    /// The 107 bytes.
    pub fn to_bytes(&self) -> Result<[u8; RECORD_LEN], ObjectError> {
        let mut out = [0u8; RECORD_LEN];
        let (name, rest) = out.split_at_mut(2 * NAME_UNITS);
        encode_name(OBJECT, &self.name, name)?;
        rest[0] = self.slot.0;
        rest[1] = self.key_spec;
        rest[2..4].copy_from_slice(&self.key_size_bits.to_le_bytes());
        rest[4] = self.flags;
        rest[5] = self.pin_id;
        rest[6] = self.associated_ecdh_container;
        rest[7..].copy_from_slice(&self.cert_fingerprint);
        Ok(out)
    }

    /// The Microsoft record the Base CSP sees: the key size goes to the signature or key-exchange
    /// field according to the key spec (neither for an unknown spec).
    pub fn to_cmap_record(&self) -> CmapRecord {
        let size_if = |yes: bool| if yes { self.key_size_bits } else { 0 };
        CmapRecord {
            name: self.name.clone(),
            flags: self.flags,
            reserved: 0,
            sig_key_size_bits: size_if(key_spec::is_signature(self.key_spec)),
            key_exchange_key_size_bits: size_if(key_spec::is_key_exchange(self.key_spec)),
        }
    }

    /// A Yubico record for a Microsoft record the CSP wrote, with what only the card module knows:
    /// the slot, the key spec and the PIN. The association and the fingerprint start zeroed.
    pub fn from_cmap_record(cmap: &CmapRecord, slot: KeyRef, key_spec: u8, pin_id: u8) -> Self {
        let key_size_bits = if key_spec::is_signature(key_spec) {
            cmap.sig_key_size_bits
        } else if key_spec::is_key_exchange(key_spec) {
            cmap.key_exchange_key_size_bits
        } else {
            cmap.sig_key_size_bits.max(cmap.key_exchange_key_size_bits)
        };
        Self {
            name: cmap.name.clone(),
            slot,
            key_spec,
            key_size_bits,
            flags: cmap.flags,
            pin_id,
            associated_ecdh_container: 0,
            cert_fingerprint: [0; FINGERPRINT_LEN],
        }
    }
}

impl CmapRecord {
    /// Parses one 86-byte record.
    pub fn parse(bytes: &[u8]) -> Result<Self, ObjectError> {
        let Ok(r) = <&[u8; CMAP_RECORD_LEN]>::try_from(bytes) else {
            return Err(ObjectError::invalid(
                CMAP,
                format!("record of {} bytes instead of {CMAP_RECORD_LEN}", bytes.len()),
            ));
        };
        let (name, rest) = r.split_at(2 * NAME_UNITS);
        Ok(Self {
            name: decode_name(CMAP, name)?,
            flags: rest[0],
            reserved: rest[1],
            sig_key_size_bits: u16::from_le_bytes([rest[2], rest[3]]),
            key_exchange_key_size_bits: u16::from_le_bytes([rest[4], rest[5]]),
        })
    }

    /// The 86 bytes.
    pub fn to_bytes(&self) -> Result<[u8; CMAP_RECORD_LEN], ObjectError> {
        let mut out = [0u8; CMAP_RECORD_LEN];
        let (name, rest) = out.split_at_mut(2 * NAME_UNITS);
        encode_name(CMAP, &self.name, name)?;
        rest[0] = self.flags;
        rest[1] = self.reserved;
        rest[2..4].copy_from_slice(&self.sig_key_size_bits.to_le_bytes());
        rest[4..6].copy_from_slice(&self.key_exchange_key_size_bits.to_le_bytes());
        Ok(out)
    }

    /// Parses a whole `cmapfile` (a multiple of 86 bytes; empty on a new card).
    pub fn parse_file(bytes: &[u8]) -> Result<Vec<Self>, ObjectError> {
        if !bytes.len().is_multiple_of(CMAP_RECORD_LEN) {
            return Err(ObjectError::invalid(
                CMAP,
                format!(
                    "cmapfile of {} bytes is not a multiple of {CMAP_RECORD_LEN}",
                    bytes.len()
                ),
            ));
        }
        bytes.chunks_exact(CMAP_RECORD_LEN).map(Self::parse).collect()
    }

    /// Encodes a whole `cmapfile`.
    pub fn encode_file(records: &[Self]) -> Result<Vec<u8>, ObjectError> {
        let mut out = Vec::with_capacity(records.len() * CMAP_RECORD_LEN);
        for r in records {
            out.extend_from_slice(&r.to_bytes()?);
        }
        Ok(out)
    }
}

impl ContainerMap {
    /// The content to store: `81 L records`. More than [`MAX_RECORDS`] records do not fit a YubiKey
    /// object ([`ObjectError::TooLarge`]). An empty map encodes as `81 00`; to delete the object, store
    /// empty content instead, as libykpiv does.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let mut records = Vec::with_capacity(self.records.len() * RECORD_LEN);
        for r in &self.records {
            records.extend_from_slice(&r.to_bytes()?);
        }
        let content = tlv::encode(TAG_MSCMAP, &records).map_err(ObjectError::tlv(OBJECT))?;
        if content.len() > YUBICO_MAX_OBJECT_CONTENT {
            return Err(ObjectError::TooLarge {
                object: OBJECT,
                size: content.len(),
                limit: YUBICO_MAX_OBJECT_CONTENT,
            });
        }
        Ok(content)
    }

    /// The Base CSP's `cmapfile` for these containers (record i = container index i).
    pub fn to_cmapfile(&self) -> Result<Vec<u8>, ObjectError> {
        let records: Vec<CmapRecord> = self.records.iter().map(ContainerRecord::to_cmap_record).collect();
        CmapRecord::encode_file(&records)
    }
}

impl TryFrom<&[u8]> for ContainerMap {
    type Error = ObjectError;

    /// Parses `81 L records`. More than [`MAX_RECORDS`] records are accepted on reading.
    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let data = stored(OBJECT, data)?;
        let records = tlv::parse_single(data, TAG_MSCMAP).map_err(ObjectError::tlv(OBJECT))?;
        if !records.len().is_multiple_of(RECORD_LEN) {
            return Err(ObjectError::invalid(
                OBJECT,
                format!(
                    "{} bytes of records is not a multiple of {RECORD_LEN}",
                    records.len()
                ),
            ));
        }
        Ok(Self {
            records: records
                .chunks_exact(RECORD_LEN)
                .map(ContainerRecord::parse)
                .collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;

    fn sample(name: &str, slot: u8, spec: u8) -> ContainerRecord {
        ContainerRecord {
            name: name.into(),
            slot: KeyRef(slot),
            key_spec: spec,
            key_size_bits: 2048,
            flags: CONTAINER_MAP_VALID_CONTAINER | CONTAINER_MAP_DEFAULT_CONTAINER,
            pin_id: 1,
            associated_ecdh_container: 0,
            cert_fingerprint: core::array::from_fn(|i| i as u8),
        }
    }

    #[test]
    fn record_layout_is_byte_exact() {
        let r = sample("AB", 0x9A, key_spec::AT_KEYEXCHANGE);
        let bytes = r.to_bytes().unwrap();
        let mut expected = vec![0x41, 0x00, 0x42, 0x00];
        expected.resize(80, 0);
        expected.extend_from_slice(&hex("9A 01 0008 03 01 00"));
        expected.extend(0..20u8);
        assert_eq!(bytes.len(), 107);
        assert_eq!(bytes[..], expected[..]);
        assert_eq!(ContainerRecord::parse(&bytes).unwrap(), r);
    }

    #[test]
    fn object_round_trip_and_size_limit() {
        let map = ContainerMap {
            records: vec![
                sample("c1", 0x9A, key_spec::AT_KEYEXCHANGE),
                sample("c2", 0x9D, key_spec::AT_ECDHE_P256),
            ],
        };
        let content = map.encode().unwrap();
        assert_eq!(&content[..3], &[0x81, 0x81, 214]);
        assert_eq!(ContainerMap::try_from(&content[..]).unwrap(), map);
        // 28 records fit, 29 do not.
        let full = ContainerMap {
            records: (0..MAX_RECORDS)
                .map(|i| sample(&format!("{i:039}"), 0x82, 1))
                .collect(),
        };
        let content = full.encode().unwrap();
        assert_eq!(content.len(), 4 + 28 * 107);
        assert_eq!(ContainerMap::try_from(&content[..]).unwrap(), full);
        let mut over = full.clone();
        over.records.push(sample("x", 0x82, 1));
        assert_eq!(
            over.encode(),
            Err(ObjectError::TooLarge {
                object: OBJECT,
                size: 4 + 29 * 107,
                limit: YUBICO_MAX_OBJECT_CONTENT
            })
        );
        assert_eq!(
            ContainerMap::try_from(&hex("81 00")[..]).unwrap(),
            ContainerMap::default()
        );
    }

    #[test]
    fn cmap_record_conversion() {
        let rsa = sample("{6e1c-guid}", 0x9A, key_spec::AT_KEYEXCHANGE);
        let cmap = rsa.to_cmap_record();
        let bytes = cmap.to_bytes().unwrap();
        assert_eq!(bytes.len(), 86);
        assert_eq!(&bytes[..4], &[b'{', 0, b'6', 0]);
        assert_eq!(&bytes[80..], &hex("03 00 0000 0008"));
        assert_eq!(CmapRecord::parse(&bytes).unwrap(), cmap);
        let back = ContainerRecord::from_cmap_record(&cmap, KeyRef(0x9A), key_spec::AT_KEYEXCHANGE, 1);
        assert_eq!(
            back,
            ContainerRecord {
                cert_fingerprint: [0; 20],
                ..rsa.clone()
            }
        );
        // Signature and ECDSA sizes go to wSigKeySizeBits.
        let mut ec = sample("ec", 0x9C, key_spec::AT_ECDSA_P384);
        ec.key_size_bits = 384;
        assert_eq!(
            &ec.to_cmap_record().to_bytes().unwrap()[80..],
            &hex("03 00 8001 0000")
        );
        let file = CmapRecord::encode_file(&[cmap.clone(), CmapRecord::default()]).unwrap();
        assert_eq!(file.len(), 172);
        assert!(file[86..].iter().all(|&b| b == 0), "an empty record is all zeros");
        assert_eq!(
            CmapRecord::parse_file(&file).unwrap(),
            vec![cmap, CmapRecord::default()]
        );
        let map = ContainerMap {
            records: vec![rsa, ec],
        };
        assert_eq!(map.to_cmapfile().unwrap().len(), 172);
    }

    #[test]
    fn rejects_bad_input() {
        let good = ContainerMap {
            records: vec![sample("c1", 0x9A, 1)],
        }
        .encode()
        .unwrap();
        for cut in 1..good.len() {
            assert!(ContainerMap::try_from(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert_refuses!(ContainerMap, [&good[..], &[0]].concat(), ObjectError::Tlv { .. });
        // A record length that is not a multiple of 107.
        assert_refuses!(ContainerMap, hex("81 03 000000"), ObjectError::Invalid { .. });
        // A name without NUL, and one with an unpaired surrogate.
        let mut no_nul = good.clone();
        assert_eq!(&good[..2], &[0x81, 0x6B]);
        for b in &mut no_nul[2..82] {
            *b = 0x41;
        }
        assert!(matches!(
            ContainerMap::try_from(&no_nul[..]),
            Err(ObjectError::Invalid { .. })
        ));
        let mut surrogate = good.clone();
        surrogate[2..4].copy_from_slice(&0xD800u16.to_le_bytes());
        assert!(matches!(
            ContainerMap::try_from(&surrogate[..]),
            Err(ObjectError::Invalid { .. })
        ));
        // Names that do not fit.
        assert!(sample(&"x".repeat(40), 0x9A, 1).to_bytes().is_err());
        assert!(sample("a\0b", 0x9A, 1).to_bytes().is_err());
        assert!(sample(&"x".repeat(39), 0x9A, 1).to_bytes().is_ok());
        assert!(CmapRecord::parse(&[0; 85]).is_err());
        assert!(CmapRecord::parse_file(&[0; 87]).is_err());
    }
}
