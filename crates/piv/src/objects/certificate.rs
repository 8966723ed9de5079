//! Certificate objects (5FC105, 5FC10A, 5FC10B, 5FC101, 5FC10D–5FC120, Yubico 5FFF01) —
//! SP 800-73-4 Part 1 Appendix A, Table 10 (and Tables 15–17, 20–39): `70` certificate, `71` CertInfo,
//! `72` MSCUID (deprecated), `FE` error detection code.
//!
//! What real cards hold, and what this parser therefore accepts:
//! - CertInfo `00`: the DER certificate as is.
//! - CertInfo with bit `01` set (800-73-3 and later) **or bit `80`** (800-73-1 wrote the ASN.1 bit
//!   numbering literally; OpenSC still honours it): compressed. The payload is recognised by its first
//!   bytes: `1F 8B` is gzip (RFC 1952, what the standard, libykpiv and ykman write), `01 00 <len LE16>`
//!   is the Net iD / minidriver zlib form (RFC 1950) that ykman also reads. Anything else is an error.
//!   Other CertInfo bits are ignored.
//! - libykpiv's fallback: when the value is not a TLV list containing `70` but starts with `30` (a DER
//!   SEQUENCE), the whole value is the certificate.
//! - An empty value or an empty `70` is a deleted object ([`ObjectError::Empty`]): Nitrokey answers
//!   `53 00` after a delete where YubiKeys answer `6A82`.
//!
//! Decompression is bounded: a card cannot make the host allocate more than [`MAX_CERTIFICATE_LEN`]
//! bytes, however well its payload compresses.

use std::io::{Read, Write};

use flate2::Compression as Level;
use flate2::bufread::{GzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};

use crate::objects::{ObjectError, elements, finish, stored};
use crate::tlv::{self, Builder};

const OBJECT: &str = "certificate object";

mod tag {
    pub const CERTIFICATE: u32 = 0x70;
    pub const CERT_INFO: u32 = 0x71;
    pub const MSCUID: u32 = 0x72;
    pub const ERROR_DETECTION_CODE: u32 = 0xFE;
}

/// CertInfo bits that mean "compressed": `01` (800-73-3+) and `80` (800-73-1 cards, per OpenSC).
const CERT_INFO_COMPRESSED_BITS: u8 = 0x81;

/// The largest certificate a card may make the host decompress (and the largest the TLV length of an
/// uncompressed one can express, plus one).
pub const MAX_CERTIFICATE_LEN: usize = 64 * 1024;

/// How the certificate is (or is to be) stored in `70`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Plain DER, CertInfo `00`.
    #[default]
    None,
    /// gzip, CertInfo `01` (SP 800-73-4, libykpiv, ykman `--compress`).
    Gzip,
    /// `01 00 <DER length LE16> <zlib>`, CertInfo `01`: the format the Base CSP writes certificates in
    /// when a card module reports `fCertificateCompression` FALSE (OpenSC's `card-gids.c` reads and writes
    /// it), as Net iD writes it into PIV objects.
    NetIdZlib,
}

/// A certificate object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateObject {
    /// The DER certificate, decompressed.
    pub certificate: Vec<u8>,
    /// How it was stored / is to be stored.
    pub compression: Compression,
    /// `72`: the MSCUID some 800-73-2 cards carry.
    pub mscuid: Option<Vec<u8>>,
}

impl CertificateObject {
    /// An uncompressed object for `certificate`.
    pub fn new(certificate: Vec<u8>) -> Self {
        Self {
            certificate,
            compression: Compression::None,
            mscuid: None,
        }
    }

    /// Like `try_from`, but a deleted object (empty value or empty `70`) is `Ok(None)`.
    pub fn parse_present(data: &[u8]) -> Result<Option<Self>, ObjectError> {
        match Self::try_from(data) {
            Ok(object) => Ok(Some(object)),
            Err(ObjectError::Empty { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The content to store: `70 { payload } 71 01 <info> [72 mscuid] FE 00`.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let payload = self.payload()?;
        let info = u8::from(self.compression != Compression::None);
        let b = Builder::new()
            .tlv(tag::CERTIFICATE, &payload)
            .tlv(tag::CERT_INFO, &[info])
            .tlv_opt(tag::MSCUID, self.mscuid.as_deref())
            .tlv(tag::ERROR_DETECTION_CODE, &[]);
        finish(OBJECT, b)
    }

    /// Only `70 { DER }`, uncompressed: the form YubiKeys use for the attestation certificate
    /// (5FFF01).
    pub fn encode_bare(&self) -> Result<Vec<u8>, ObjectError> {
        self.check_not_empty()?;
        tlv::encode(tag::CERTIFICATE, &self.certificate).map_err(ObjectError::tlv(OBJECT))
    }

    fn check_not_empty(&self) -> Result<(), ObjectError> {
        if self.certificate.is_empty() {
            // It would read back as a deleted object.
            return Err(ObjectError::invalid(OBJECT, "empty certificate"));
        }
        Ok(())
    }

    fn payload(&self) -> Result<Vec<u8>, ObjectError> {
        self.check_not_empty()?;
        let io = |e: std::io::Error| ObjectError::invalid(OBJECT, format!("compression failed: {e}"));
        match self.compression {
            Compression::None => Ok(self.certificate.clone()),
            Compression::Gzip => {
                let mut enc = GzEncoder::new(Vec::new(), Level::best());
                enc.write_all(&self.certificate).map_err(io)?;
                enc.finish().map_err(io)
            }
            Compression::NetIdZlib => {
                let len = u16::try_from(self.certificate.len()).map_err(|_| ObjectError::TooLarge {
                    object: OBJECT,
                    size: self.certificate.len(),
                    limit: usize::from(u16::MAX),
                })?;
                let mut out = vec![0x01, 0x00];
                out.extend_from_slice(&len.to_le_bytes());
                let mut enc = ZlibEncoder::new(out, Level::best());
                enc.write_all(&self.certificate).map_err(io)?;
                enc.finish().map_err(io)
            }
        }
    }
}

impl TryFrom<&[u8]> for CertificateObject {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let data = stored(OBJECT, data)?;
        let parsed = elements(OBJECT, data);
        let cert = parsed.as_ref().ok().and_then(|e| tlv::find(e, tag::CERTIFICATE));
        let (Ok(e), Some(payload)) = (&parsed, cert) else {
            // libykpiv: a value that is not a certificate object may be a bare DER certificate.
            if data.first() == Some(&0x30) {
                return Ok(Self::new(data.to_vec()));
            }
            return Err(match parsed {
                Err(err) => err,
                Ok(_) => ObjectError::Missing {
                    object: OBJECT,
                    tag: tag::CERTIFICATE,
                },
            });
        };
        if payload.is_empty() {
            return Err(ObjectError::Empty { object: OBJECT });
        }
        let info = match tlv::find(e, tag::CERT_INFO) {
            None => 0,
            Some([info]) => *info,
            Some(v) => {
                return Err(ObjectError::invalid(
                    OBJECT,
                    format!("CertInfo of {} bytes", v.len()),
                ));
            }
        };
        let (certificate, compression) = if info & CERT_INFO_COMPRESSED_BITS != 0 {
            decompress(payload)?
        } else {
            (payload.to_vec(), Compression::None)
        };
        if certificate.is_empty() {
            return Err(ObjectError::invalid(OBJECT, "compressed certificate is empty"));
        }
        Ok(Self {
            certificate,
            compression,
            mscuid: tlv::find(e, tag::MSCUID).map(<[u8]>::to_vec),
        })
    }
}

/// Decompresses a `70` payload whose CertInfo says it is compressed, recognising the format by its
/// first bytes. Never produces more than [`MAX_CERTIFICATE_LEN`] bytes.
pub fn decompress(payload: &[u8]) -> Result<(Vec<u8>, Compression), ObjectError> {
    match payload {
        [0x1F, 0x8B, ..] => {
            let mut decoder = GzDecoder::new(payload);
            let out = inflate_bounded(&mut decoder, "gzip")?;
            if !decoder.into_inner().is_empty() {
                return Err(ObjectError::invalid(OBJECT, "data after the gzip stream"));
            }
            Ok((out, Compression::Gzip))
        }
        [0x01, 0x00, lo, hi, stream @ ..] => {
            let expected = usize::from(u16::from_le_bytes([*lo, *hi]));
            let mut decoder = ZlibDecoder::new(stream);
            let out = inflate_bounded(&mut decoder, "zlib")?;
            if !decoder.into_inner().is_empty() {
                return Err(ObjectError::invalid(OBJECT, "data after the zlib stream"));
            }
            if out.len() != expected {
                return Err(ObjectError::invalid(
                    OBJECT,
                    format!("zlib certificate of {} bytes, header says {expected}", out.len()),
                ));
            }
            Ok((out, Compression::NetIdZlib))
        }
        _ => Err(ObjectError::invalid(
            OBJECT,
            "compressed certificate in an unknown format",
        )),
    }
}

fn inflate_bounded(decoder: &mut impl Read, format: &str) -> Result<Vec<u8>, ObjectError> {
    let mut out = Vec::new();
    // One byte more than allowed tells "too large" from "exactly at the limit".
    let limit = MAX_CERTIFICATE_LEN as u64 + 1;
    decoder
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| ObjectError::invalid(OBJECT, format!("corrupt {format} stream: {e}")))?;
    if out.len() > MAX_CERTIFICATE_LEN {
        return Err(ObjectError::TooLarge {
            object: OBJECT,
            size: out.len(),
            limit: MAX_CERTIFICATE_LEN,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;

    /// A DER-looking blob; the object layer does not parse X.509.
    const DER: &str =
        "3082010a0282010100 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627";
    /// `gzip.compress(DER, mtime=0)` from Python's gzip module: an independent compressor.
    const DER_GZIP_PYTHON: &str = "1f8b0800000000000203336862e4626a6264646060646266616563e7e0e4e2e6e1e5e3171014121611151397909492969195935750545256515553070\
                                   0986e5b5831000000";
    /// `zlib.compress(DER)` from Python.
    const DER_ZLIB_PYTHON: &str = "789c336862e4626a6264646060646266616563e7e0e4e2e6e1e5e3171014121611151397909492969195935750545256515553070064670450";

    fn gz_hex() -> String {
        DER_GZIP_PYTHON.split_whitespace().collect()
    }

    #[test]
    fn uncompressed_object_is_byte_exact() {
        // libykpiv `ykpiv_util_write_certdata`: 70 L cert 71 01 00 FE 00.
        let der = hex(DER);
        let object = CertificateObject::new(der.clone());
        let mut expected = vec![0x70, 0x31];
        expected.extend_from_slice(&der);
        expected.extend_from_slice(&[0x71, 0x01, 0x00, 0xFE, 0x00]);
        assert_eq!(object.encode().unwrap(), expected);
        assert_eq!(CertificateObject::try_from(&expected[..]).unwrap(), object);
        assert_eq!(object.encode_bare().unwrap(), [&[0x70, 0x31][..], &der].concat());
        // The attestation form (70 only) parses too.
        assert_eq!(
            CertificateObject::try_from(&object.encode_bare().unwrap()[..]).unwrap(),
            object
        );
    }

    #[test]
    fn reads_python_gzip_and_net_id_zlib() {
        let der = hex(DER);
        let gz = hex(&gz_hex());
        let mut data = tlv::encode(0x70, &gz).unwrap();
        data.extend_from_slice(&[0x71, 0x01, 0x01, 0xFE, 0x00]);
        let object = CertificateObject::try_from(&data[..]).unwrap();
        assert_eq!(object.certificate, der);
        assert_eq!(object.compression, Compression::Gzip);
        // CertInfo 80 (800-73-1 numbering) means compressed as well.
        let info_at = data.len() - 3;
        data[info_at] = 0x80;
        assert_eq!(CertificateObject::try_from(&data[..]).unwrap().certificate, der);
        // Net iD: 01 00 <len LE16> <zlib>.
        let mut netid = vec![0x01, 0x00, der.len() as u8, 0x00];
        netid.extend_from_slice(&hex(DER_ZLIB_PYTHON));
        let mut data = tlv::encode(0x70, &netid).unwrap();
        data.extend_from_slice(&[0x71, 0x01, 0x01]);
        let object = CertificateObject::try_from(&data[..]).unwrap();
        assert_eq!(object.certificate, der);
        assert_eq!(object.compression, Compression::NetIdZlib);
        // A wrong length in the Net iD header is refused.
        netid[2] += 1;
        let mut data = tlv::encode(0x70, &netid).unwrap();
        data.extend_from_slice(&[0x71, 0x01, 0x01]);
        assert!(matches!(
            CertificateObject::try_from(&data[..]),
            Err(ObjectError::Invalid { .. })
        ));
    }

    #[test]
    fn compressed_round_trips_and_python_can_read_ours() {
        let der = hex(DER);
        for compression in [Compression::None, Compression::Gzip, Compression::NetIdZlib] {
            let object = CertificateObject {
                certificate: der.clone(),
                compression,
                mscuid: Some(vec![9; 3]),
            };
            let bytes = object.encode().unwrap();
            assert_eq!(CertificateObject::try_from(&bytes[..]).unwrap(), object);
            let info = if compression == Compression::None { 0 } else { 1 };
            assert_eq!(
                &bytes[bytes.len() - 10..],
                &[0x71, 0x01, info, 0x72, 0x03, 9, 9, 9, 0xFE, 0x00]
            );
        }
        // Our gzip stream is a standard one: the gzip header and the CRC-32/ISIZE trailer of the
        // Python stream.
        let ours = CertificateObject {
            certificate: der.clone(),
            compression: Compression::Gzip,
            mscuid: None,
        }
        .encode()
        .unwrap();
        let payload = tlv::parse_all(&ours).unwrap()[0].value.to_vec();
        let python = hex(&gz_hex());
        assert_eq!(&payload[..3], &python[..3]);
        assert_eq!(&payload[payload.len() - 8..], &python[python.len() - 8..]);
    }

    #[test]
    fn raw_der_fallback_and_absent_forms() {
        let der = hex(DER);
        assert_eq!(
            CertificateObject::try_from(&der[..]).unwrap(),
            CertificateObject::new(der.clone())
        );
        // Not TLV at all, but a SEQUENCE tag: still libykpiv's raw certificate.
        assert_eq!(
            CertificateObject::try_from(&[0x30, 0x82, 0x01][..])
                .unwrap()
                .certificate,
            [0x30, 0x82, 0x01]
        );
        assert_eq!(
            CertificateObject::try_from(&[][..]),
            Err(ObjectError::Empty { object: OBJECT })
        );
        assert_eq!(
            CertificateObject::try_from(&hex("70 00 71 01 00 FE 00")[..]),
            Err(ObjectError::Empty { object: OBJECT })
        );
        assert_eq!(CertificateObject::parse_present(&hex("70 00")[..]), Ok(None));
        assert!(CertificateObject::new(Vec::new()).encode().is_err());
    }

    #[test]
    fn rejects_garbage() {
        let good = CertificateObject::new(hex(DER)).encode().unwrap();
        for cut in [1, 2, 10, good.len() - 4, good.len() - 1] {
            assert!(CertificateObject::try_from(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert_refuses!(
            CertificateObject,
            [&good[..], &[0x99]].concat(),
            ObjectError::Tlv { .. }
        );
        assert_refuses!(
            CertificateObject,
            hex("71 01 00 FE 00"),
            ObjectError::Missing { tag: 0x70, .. }
        );
        assert_refuses!(
            CertificateObject,
            hex("70 01 30 71 02 00 00"),
            ObjectError::Invalid { .. }
        );
        // Compressed flag, but neither gzip nor Net iD; a corrupt gzip stream; gzip with trailing junk.
        assert_refuses!(
            CertificateObject,
            hex("70 02 3000 71 01 01"),
            ObjectError::Invalid { .. }
        );
        let mut gz = hex(&gz_hex());
        let n = gz.len();
        gz[n - 5] ^= 0xFF; // CRC / size trailer
        let mut bad = tlv::encode(0x70, &gz).unwrap();
        bad.extend_from_slice(&[0x71, 0x01, 0x01]);
        assert!(matches!(
            CertificateObject::try_from(&bad[..]),
            Err(ObjectError::Invalid { .. })
        ));
        let mut junk = hex(&gz_hex());
        junk.push(0);
        let mut bad = tlv::encode(0x70, &junk).unwrap();
        bad.extend_from_slice(&[0x71, 0x01, 0x01]);
        assert!(matches!(
            CertificateObject::try_from(&bad[..]),
            Err(ObjectError::Invalid { .. })
        ));
    }

    #[test]
    fn gzip_bomb_is_bounded() {
        // 16 MiB of zeros compress to about 16 KiB; the parser stops after the limit.
        let mut enc = GzEncoder::new(Vec::new(), Level::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..16 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 0xFFFF);
        let mut data = tlv::encode(0x70, &bomb).unwrap();
        data.extend_from_slice(&[0x71, 0x01, 0x01]);
        assert_eq!(
            CertificateObject::try_from(&data[..]),
            Err(ObjectError::TooLarge {
                object: OBJECT,
                size: MAX_CERTIFICATE_LEN + 1,
                limit: MAX_CERTIFICATE_LEN
            })
        );
        // Exactly at the limit is fine.
        let exact = CertificateObject {
            certificate: vec![0x30; MAX_CERTIFICATE_LEN],
            compression: Compression::Gzip,
            mscuid: None,
        };
        let bytes = exact.encode().unwrap();
        assert_eq!(CertificateObject::try_from(&bytes[..]).unwrap(), exact);
    }
}
