//! Parsers for what the module returns, written from the structures of `cardmod.h` (spec 7.07 §4.2.1,
//! §4.6.4, §5.4.4) and independent of the module:
//! `CONTAINER_MAP_RECORD`s, the CAPI `PUBLICKEYBLOB`, the CNG `BCRYPT_ECCKEY_BLOB`, `PIN_INFO`, and
//! multistrings.

/// Size of one `CONTAINER_MAP_RECORD`.
pub const CMAP_RECORD_LEN: usize = 86;
/// `CONTAINER_MAP_VALID_CONTAINER`.
pub const CMAP_VALID: u8 = 0x01;
/// `CONTAINER_MAP_DEFAULT_CONTAINER`.
pub const CMAP_DEFAULT: u8 = 0x02;

/// One `mscp/cmapfile` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmapRecord {
    /// Container index (record position).
    pub index: u8,
    /// `wszGuid` decoded (`None` when not NUL-terminated within 40 units or not UTF-16).
    pub name: Option<String>,
    /// `bFlags`.
    pub flags: u8,
    /// `wSigKeySizeBits`.
    pub sig_bits: u16,
    /// `wKeyExchangeKeySizeBits`.
    pub kx_bits: u16,
}

impl CmapRecord {
    /// Valid bit set.
    pub fn valid(&self) -> bool {
        self.flags & CMAP_VALID != 0
    }
}

/// The 86-byte `CONTAINER_MAP_RECORD` a CSP writes: `name` as UTF-16LE (at most 39 units, NUL-padded),
/// `bFlags`, `bReserved` 0, the two key sizes little-endian.
pub fn cmap_record(name: &str, flags: u8, sig_bits: u16, kx_bits: u16) -> [u8; CMAP_RECORD_LEN] {
    let mut r = [0u8; CMAP_RECORD_LEN];
    for (i, unit) in name.encode_utf16().take(39).enumerate() {
        r[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
    r[80] = flags;
    r[82..84].copy_from_slice(&sig_bits.to_le_bytes());
    r[84..86].copy_from_slice(&kx_bits.to_le_bytes());
    r
}

/// `cmapfile` with record `index` replaced (the file grown when shorter), as a CSP writes it back: it
/// never compacts the file.
pub fn with_cmap_record(cmapfile: &[u8], index: u8, record: &[u8; CMAP_RECORD_LEN]) -> Vec<u8> {
    let mut out = cmapfile.to_vec();
    let at = usize::from(index) * CMAP_RECORD_LEN;
    if out.len() < at + CMAP_RECORD_LEN {
        out.resize(at + CMAP_RECORD_LEN, 0);
    }
    out[at..at + CMAP_RECORD_LEN].copy_from_slice(record);
    out
}

/// A counter of `cardcf` (`CARD_CACHE_FILE_FORMAT`: bVersion, bPinsFreshness, wContainersFreshness,
/// wFilesFreshness) that a CSP bumps after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardcfCounter {
    /// `wContainersFreshness`: a container created or deleted, `cmapfile` written.
    Containers,
    /// `wFilesFreshness`: a file created, written or deleted.
    Files,
}

/// `cardcf` (padded to its six bytes) with `counter` incremented, as a CSP writes it back after a change.
pub fn bumped_cardcf(cardcf: &[u8], counter: CardcfCounter) -> Vec<u8> {
    let mut out = cardcf.to_vec();
    out.resize(out.len().max(6), 0);
    let at = match counter {
        CardcfCounter::Containers => 2,
        CardcfCounter::Files => 4,
    };
    let n = u16::from_le_bytes([out[at], out[at + 1]]).wrapping_add(1);
    out[at..at + 2].copy_from_slice(&n.to_le_bytes());
    out
}

/// Splits a cmapfile; `Err` when its length is not a multiple of 86.
pub fn parse_cmapfile(data: &[u8]) -> Result<Vec<CmapRecord>, String> {
    if !data.len().is_multiple_of(CMAP_RECORD_LEN) {
        return Err(format!(
            "cmapfile of {} bytes is not a multiple of 86",
            data.len()
        ));
    }
    Ok(data
        .chunks_exact(CMAP_RECORD_LEN)
        .enumerate()
        .map(|(i, r)| {
            let units: Vec<u16> = r[..80]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            let name = units
                .iter()
                .position(|&u| u == 0)
                .and_then(|end| String::from_utf16(&units[..end]).ok());
            CmapRecord {
                index: u8::try_from(i).unwrap_or(u8::MAX),
                name,
                flags: r[80],
                sig_bits: u16::from_le_bytes([r[82], r[83]]),
                kx_bits: u16::from_le_bytes([r[84], r[85]]),
            }
        })
        .collect())
}

/// A parsed `PUBLICKEYBLOB` (RSA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaBlob {
    /// `aiKeyAlg`.
    pub alg: u32,
    /// `bitlen`.
    pub bits: u32,
    /// `pubexp`.
    pub exponent: u32,
    /// Modulus, converted back to big-endian.
    pub modulus_be: Vec<u8>,
}

/// `CALG_RSA_SIGN`.
pub const CALG_RSA_SIGN: u32 = 0x2400;
/// `CALG_RSA_KEYX`.
pub const CALG_RSA_KEYX: u32 = 0xA400;

fn dword(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parses and checks the fixed fields of a `PUBLICKEYBLOB` (bType 6, bVersion 2, reserved 0, 'RSA1',
/// bitlen/8 modulus bytes).
pub fn parse_rsa_blob(b: &[u8]) -> Result<RsaBlob, String> {
    let head = b.get(..20).ok_or("PUBLICKEYBLOB shorter than 20 bytes")?;
    if head[0] != 0x06 || head[1] != 0x02 || head[2] != 0 || head[3] != 0 {
        return Err(format!("BLOBHEADER {:02x?} is not PUBLICKEYBLOB v2", &head[..4]));
    }
    let alg = dword(b, 4).ok_or("short")?;
    if dword(b, 8) != Some(0x3141_5352) {
        return Err("magic is not RSA1".into());
    }
    let bits = dword(b, 12).ok_or("short")?;
    let exponent = dword(b, 16).ok_or("short")?;
    let modulus = &b[20..];
    if modulus.len() != bits as usize / 8 {
        return Err(format!("{} modulus bytes for bitlen {bits}", modulus.len()));
    }
    Ok(RsaBlob {
        alg,
        bits,
        exponent,
        modulus_be: modulus.iter().rev().copied().collect(),
    })
}

/// A parsed `BCRYPT_ECCKEY_BLOB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EccBlob {
    /// `dwMagic`.
    pub magic: u32,
    /// X‖Y, big-endian.
    pub xy: Vec<u8>,
}

/// `ECS1`, `ECS3`, `ECK1`, `ECK3`.
pub const ECDSA_P256: u32 = 0x3153_4345;
/// `ECS3`.
pub const ECDSA_P384: u32 = 0x3353_4345;
/// `ECK1`.
pub const ECDH_P256: u32 = 0x314B_4345;
/// `ECK3`.
pub const ECDH_P384: u32 = 0x334B_4345;

/// Parses a `BCRYPT_ECCKEY_BLOB` and checks `cbKey` against the length.
pub fn parse_ecc_blob(b: &[u8]) -> Result<EccBlob, String> {
    let magic = dword(b, 0).ok_or("ECC blob shorter than 8 bytes")?;
    let len = dword(b, 4).ok_or("ECC blob shorter than 8 bytes")? as usize;
    if b.len() != 8 + 2 * len {
        return Err(format!(
            "cbKey {len} but {} bytes of X‖Y",
            b.len().saturating_sub(8)
        ));
    }
    Ok(EccBlob {
        magic,
        xy: b[8..].to_vec(),
    })
}

/// A parsed `PIN_INFO` (36 bytes, version 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinInfo {
    /// `dwVersion`.
    pub version: u32,
    /// `PinType` (SECRET_TYPE).
    pub pin_type: u32,
    /// `PinPurpose` (SECRET_PURPOSE).
    pub purpose: u32,
    /// `dwChangePermission`.
    pub change: u32,
    /// `dwUnblockPermission`.
    pub unblock: u32,
    /// `PinCachePolicy.dwVersion`.
    pub cache_version: u32,
    /// `PinCachePolicy.PinCachePolicyType`.
    pub cache_policy: u32,
    /// `dwFlags`.
    pub flags: u32,
}

/// `SECRET_TYPE` values.
pub mod secret_type {
    /// AlphaNumericPinType.
    pub const ALPHANUMERIC: u32 = 0;
    /// ExternalPinType.
    pub const EXTERNAL: u32 = 1;
    /// ChallengeResponsePinType.
    pub const CHALLENGE_RESPONSE: u32 = 2;
    /// EmptyPinType.
    pub const EMPTY: u32 = 3;
}

/// `SECRET_PURPOSE` UnblockOnlyPin.
pub const PURPOSE_UNBLOCK_ONLY: u32 = 6;
/// `PinCacheAlwaysPrompt`.
pub const CACHE_ALWAYS_PROMPT: u32 = 3;

/// Parses a `PIN_INFO`.
pub fn parse_pin_info(b: &[u8]) -> Result<PinInfo, String> {
    if b.len() != 36 {
        return Err(format!("PIN_INFO of {} bytes, expected 36", b.len()));
    }
    let d = |i: usize| dword(b, 4 * i).unwrap_or(0);
    Ok(PinInfo {
        version: d(0),
        pin_type: d(1),
        purpose: d(2),
        change: d(3),
        unblock: d(4),
        cache_version: d(5),
        cache_policy: d(6),
        flags: d(8),
    })
}

/// Little-endian DWORDs of a value.
pub fn dwords(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Splits an ANSI multistring; `Err` unless it ends with an empty string (double NUL).
pub fn parse_multistring(b: &[u8]) -> Result<Vec<String>, String> {
    if b.last() != Some(&0) {
        return Err("multistring does not end with NUL".into());
    }
    let body = &b[..b.len() - 1];
    if body.is_empty() {
        return Ok(Vec::new());
    }
    if body.last() != Some(&0) {
        return Err("multistring does not end with a double NUL".into());
    }
    Ok(body[..body.len() - 1]
        .split(|&c| c == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

/// Splits a UTF-16 multistring given as bytes.
pub fn parse_wide_multistring(b: &[u8]) -> Result<Vec<String>, String> {
    if !b.len().is_multiple_of(2) {
        return Err("odd length".into());
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    if units.last() != Some(&0) {
        return Err("does not end with NUL".into());
    }
    let body = &units[..units.len() - 1];
    if body.is_empty() {
        return Ok(Vec::new());
    }
    if body.last() != Some(&0) {
        return Err("does not end with a double NUL".into());
    }
    Ok(body[..body.len() - 1]
        .split(|&c| c == 0)
        .map(String::from_utf16_lossy)
        .collect())
}

/// The public key in a `CONTAINER_INFO` key blob: a CAPI `PUBLICKEYBLOB` (RSA) or a
/// `BCRYPT_ECCKEY_BLOB` (P-256, P-384).
pub fn public_key_of(blob: &[u8]) -> Result<tessera_piv::PublicKey, String> {
    use tessera_piv::{AlgorithmId, PublicKey};
    if blob.first() == Some(&0x06) {
        let rsa = parse_rsa_blob(blob)?;
        let algorithm = AlgorithmId::rsa(rsa.bits).ok_or_else(|| format!("RSA-{}", rsa.bits))?;
        let exponent = rsa.exponent.to_be_bytes();
        let start = exponent.iter().position(|&b| b != 0).unwrap_or(3);
        Ok(PublicKey::Rsa {
            algorithm,
            modulus: rsa.modulus_be,
            exponent: exponent[start..].to_vec(),
        })
    } else {
        let ecc = parse_ecc_blob(blob)?;
        let algorithm = match ecc.xy.len() {
            64 => AlgorithmId::ECCP256,
            96 => AlgorithmId::ECCP384,
            n => return Err(format!("an EC point of {n} bytes")),
        };
        let mut point = vec![0x04];
        point.extend_from_slice(&ecc.xy);
        Ok(PublicKey::Ecc { algorithm, point })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multistrings() {
        assert_eq!(parse_multistring(b"a\0bc\0\0").unwrap(), vec!["a", "bc"]);
        assert_eq!(parse_multistring(b"\0").unwrap(), Vec::<String>::new());
        assert!(parse_multistring(b"a\0").is_err());
        assert!(parse_multistring(b"").is_err());
    }

    #[test]
    fn rsa_blob() {
        let mut b = vec![6, 2, 0, 0, 0, 0xA4, 0, 0];
        b.extend(b"RSA1");
        b.extend(16u32.to_le_bytes());
        b.extend(65537u32.to_le_bytes());
        b.extend([2, 1]);
        let r = parse_rsa_blob(&b).unwrap();
        assert_eq!(
            (r.alg, r.bits, r.exponent, r.modulus_be),
            (CALG_RSA_KEYX, 16, 65537, vec![1, 2])
        );
    }

    #[test]
    fn a_record_written_as_a_csp_writes_it_parses_back() {
        let record = cmap_record("{7E55}", CMAP_VALID, 0, 2048);
        let file = with_cmap_record(&[], 2, &record);
        let parsed = parse_cmapfile(&file).unwrap();
        assert_eq!(parsed.len(), 3);
        assert!(!parsed[0].valid() && !parsed[1].valid());
        assert_eq!(
            parsed[2],
            CmapRecord {
                index: 2,
                name: Some("{7E55}".into()),
                flags: CMAP_VALID,
                sig_bits: 0,
                kx_bits: 2048,
            }
        );
        assert_eq!(with_cmap_record(&file, 0, &record)[..CMAP_RECORD_LEN], record);
    }

    #[test]
    fn a_bumped_counter_carries_into_its_high_byte_and_leaves_the_others() {
        let cf = [1, 7, 0xFF, 0x00, 0x10, 0x00];
        assert_eq!(
            bumped_cardcf(&cf, CardcfCounter::Containers),
            [1, 7, 0, 1, 0x10, 0]
        );
        assert_eq!(bumped_cardcf(&cf, CardcfCounter::Files), [1, 7, 0xFF, 0, 0x11, 0]);
        assert_eq!(bumped_cardcf(&[], CardcfCounter::Files), [0, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn cmap() {
        let mut r = vec![0u8; 86];
        r[0] = b'A';
        r[80] = 3;
        r[84] = 0;
        r[85] = 8;
        let recs = parse_cmapfile(&r).unwrap();
        assert_eq!(recs[0].name.as_deref(), Some("A"));
        assert_eq!((recs[0].flags, recs[0].kx_bits), (3, 2048));
        assert!(parse_cmapfile(&r[..85]).is_err());
    }
}
