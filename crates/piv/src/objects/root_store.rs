//! Yubico minidriver root store, MSROOTS (tags 5FFF11–5FFF15): the Base CSP's `mscp/msroots` blob
//! (a PKCS#7 certificate bag) split over up to five objects, each `83 L chunk` while more follow and
//! `82 L chunk` for the last.
//!
//! Source: yubico-piv-tool `lib/util.c` (`ykpiv_util_write_msroots`, `ykpiv_util_read_msroots`) and
//! `lib/internal.h` (`TAG_MSROOTS_MID` 83, `TAG_MSROOTS_END` 82). A chunk is at most
//! [`YUBICO_MAX_OBJECT_CONTENT`] − 4 = 3059 bytes (the `83 82 LL LL` header fills the rest).
//!
//! One deliberate difference from libykpiv's writer: it computes `len / 3059 + 1` objects, so a blob
//! whose length is an exact multiple of 3059 gets a trailing empty `82 00` object (and 5 × 3059 bytes
//! are refused). [`split`] uses as many objects as the chunks need; [`RootStoreAssembler`] reads both.
//! On reading, libykpiv treats a missing or malformed piece as "no roots"; here it is an error, so the
//! caller can tell a damaged store from an absent one.

use crate::objects::{ObjectError, YUBICO_MAX_OBJECT_CONTENT, stored};
use crate::tlv;

const OBJECT: &str = "Yubico root store";

const TAG_MORE: u32 = 0x83;
const TAG_LAST: u32 = 0x82;

/// Largest chunk in one object.
pub const MAX_CHUNK: usize = YUBICO_MAX_OBJECT_CONTENT - 4;
/// Number of objects (5FFF11–5FFF15).
pub const MAX_OBJECTS: usize = 5;
/// Largest blob the objects hold.
pub const MAX_BLOB: usize = MAX_CHUNK * MAX_OBJECTS;

/// One object's content: a piece of the blob and whether it is the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootStoreChunk {
    /// The piece of the blob.
    pub data: Vec<u8>,
    /// `82` (last) rather than `83` (more follow).
    pub last: bool,
}

impl RootStoreChunk {
    /// The content to store: `83 L data` or `82 L data`.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        if self.data.len() > MAX_CHUNK {
            return Err(ObjectError::TooLarge {
                object: OBJECT,
                size: self.data.len(),
                limit: MAX_CHUNK,
            });
        }
        let t = if self.last { TAG_LAST } else { TAG_MORE };
        tlv::encode(t, &self.data).map_err(ObjectError::tlv(OBJECT))
    }
}

impl TryFrom<&[u8]> for RootStoreChunk {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let data = stored(OBJECT, data)?;
        let (element, rest) = tlv::read(data).map_err(ObjectError::tlv(OBJECT))?;
        if !rest.is_empty() {
            return Err(ObjectError::Tlv {
                object: OBJECT,
                source: tlv::TlvError::TrailingData(rest.len()),
            });
        }
        let last = match element.tag {
            TAG_LAST => true,
            TAG_MORE => false,
            other => {
                return Err(ObjectError::invalid(
                    OBJECT,
                    format!("chunk tag {other:X} is neither 82 nor 83"),
                ));
            }
        };
        Ok(Self {
            data: element.value.to_vec(),
            last,
        })
    }
}

/// Splits `blob` into the contents of 5FFF11, 5FFF12, … in order. An empty blob gives no objects
/// (delete 5FFF11 to remove the store).
pub fn split(blob: &[u8]) -> Result<Vec<Vec<u8>>, ObjectError> {
    if blob.len() > MAX_BLOB {
        return Err(ObjectError::TooLarge {
            object: OBJECT,
            size: blob.len(),
            limit: MAX_BLOB,
        });
    }
    let count = blob.len().div_ceil(MAX_CHUNK);
    blob.chunks(MAX_CHUNK)
        .enumerate()
        .map(|(i, piece)| {
            RootStoreChunk {
                data: piece.to_vec(),
                last: i + 1 == count,
            }
            .encode()
        })
        .collect()
}

/// Reassembles the blob from the objects as they are read, one at a time, so that a caller reads no
/// object after the last piece.
#[derive(Debug, Clone, Default)]
pub struct RootStoreAssembler {
    blob: Vec<u8>,
    objects: usize,
    complete: bool,
}

impl RootStoreAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the content of the next object (5FFF11 first), or `None` when the card says it is absent.
    /// Returns `true` once the last piece (`82`) has arrived. Errors: a missing piece, a sixth object,
    /// an `83` in the fifth object, anything after completion.
    pub fn push(&mut self, content: Option<&[u8]>) -> Result<bool, ObjectError> {
        if self.complete {
            return Err(ObjectError::invalid(OBJECT, "object after the last piece"));
        }
        let Some(content) = content else {
            return Err(ObjectError::Missing {
                object: OBJECT,
                tag: crate::objects::tags::YUBICO_ROOTS_FIRST + self.objects as u32,
            });
        };
        let chunk = RootStoreChunk::try_from(content)?;
        self.objects += 1;
        if !chunk.last && self.objects == MAX_OBJECTS {
            return Err(ObjectError::invalid(
                OBJECT,
                "the fifth object does not end the store",
            ));
        }
        self.blob.extend_from_slice(&chunk.data);
        self.complete = chunk.last;
        Ok(self.complete)
    }

    /// The blob, once complete.
    pub fn finish(self) -> Result<Vec<u8>, ObjectError> {
        if self.complete {
            Ok(self.blob)
        } else {
            Err(ObjectError::Missing {
                object: OBJECT,
                tag: crate::objects::tags::YUBICO_ROOTS_FIRST + self.objects as u32,
            })
        }
    }

    /// Reassembles from the object contents in order (5FFF11 first). Contents after the last piece
    /// are not looked at, so callers may pass all five.
    pub fn reassemble<'a>(
        contents: impl IntoIterator<Item = Option<&'a [u8]>>,
    ) -> Result<Vec<u8>, ObjectError> {
        let mut assembler = Self::new();
        for content in contents {
            if assembler.push(content)? {
                break;
            }
        }
        assembler.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_matches_libykpiv() {
        // libykpiv: CB_OBJ_MAX (3063) − CB_OBJ_TAG_MAX (4) = 3059 bytes per chunk, five objects
        // (`ykpiv_util_write_msroots`).
        assert_eq!(MAX_CHUNK, 3059);
        assert_eq!(MAX_BLOB, 15_295);
    }

    #[test]
    fn split_is_byte_exact() {
        let small = split(&[1, 2, 3]).unwrap();
        assert_eq!(small, vec![vec![0x82, 0x03, 1, 2, 3]]);
        let blob: Vec<u8> = (0..7000u32).map(|i| i as u8).collect();
        let parts = split(&blob).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(&parts[0][..4], &[0x83, 0x82, 0x0B, 0xF3]);
        assert_eq!(parts[0].len(), 4 + 3059);
        assert_eq!(&parts[1][..4], &[0x83, 0x82, 0x0B, 0xF3]);
        assert_eq!(&parts[2][..4], &[0x82, 0x82, 0x03, 0x72]);
        assert_eq!(parts[2].len(), 4 + 7000 - 2 * 3059);
        assert!(parts.iter().all(|p| p.len() <= YUBICO_MAX_OBJECT_CONTENT));
        let back = RootStoreAssembler::reassemble(parts.iter().map(|p| Some(&p[..]))).unwrap();
        assert_eq!(back, blob);
        assert!(split(&[]).unwrap().is_empty());
    }

    #[test]
    fn exact_multiple_and_maximum() {
        let blob = vec![0xEE; 2 * MAX_CHUNK];
        let parts = split(&blob).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1][0], 0x82);
        // libykpiv's writer would add `82 00` as a third object: that reads the same.
        let mut libykpiv = parts.clone();
        libykpiv[1][0] = 0x83;
        libykpiv.push(vec![0x82, 0x00]);
        assert_eq!(
            RootStoreAssembler::reassemble(libykpiv.iter().map(|p| Some(&p[..]))).unwrap(),
            blob
        );
        let max = vec![0x11; MAX_BLOB];
        let parts = split(&max).unwrap();
        assert_eq!(parts.len(), 5);
        assert_eq!(
            RootStoreAssembler::reassemble(parts.iter().map(|p| Some(&p[..]))).unwrap(),
            max
        );
        assert!(matches!(
            split(&vec![0; MAX_BLOB + 1]),
            Err(ObjectError::TooLarge { .. })
        ));
    }

    #[test]
    fn assembler_stops_at_the_last_piece() {
        let parts = split(&vec![7; 4000]).unwrap();
        let mut a = RootStoreAssembler::new();
        assert!(!a.push(Some(&parts[0])).unwrap());
        assert!(a.push(Some(&parts[1])).unwrap());
        assert!(a.push(Some(&[0x82, 0x00])).is_err(), "nothing after the end");
        // Contents after the end are not read by reassemble.
        let garbage = [0xFF];
        let iter = [Some(&parts[0][..]), Some(&parts[1][..]), Some(&garbage[..])];
        assert_eq!(RootStoreAssembler::reassemble(iter).unwrap(), vec![7; 4000]);
    }

    #[test]
    fn rejects_damaged_stores() {
        let parts = split(&vec![7; 4000]).unwrap();
        // Second object missing.
        assert_eq!(
            RootStoreAssembler::reassemble([Some(&parts[0][..]), None]),
            Err(ObjectError::Missing {
                object: OBJECT,
                tag: 0x5FFF12
            })
        );
        // Store ends before an 82.
        assert_eq!(
            RootStoreAssembler::reassemble([Some(&parts[0][..])]),
            Err(ObjectError::Missing {
                object: OBJECT,
                tag: 0x5FFF12
            })
        );
        // Five 83 objects.
        let more = [0x83, 0x01, 0x00];
        assert!(matches!(
            RootStoreAssembler::reassemble(std::iter::repeat_n(Some(&more[..]), 5)),
            Err(ObjectError::Invalid { .. })
        ));
        // Wrong tag, trailing bytes, truncated chunk, empty object.
        for bad in [&[0x81, 0x00][..], &[0x82, 0x00, 0x00], &[0x82, 0x02, 0x00], &[]] {
            assert!(RootStoreChunk::try_from(bad).is_err(), "{bad:02X?}");
            assert!(RootStoreAssembler::reassemble([Some(bad)]).is_err());
        }
        assert!(
            RootStoreChunk {
                data: vec![0; MAX_CHUNK + 1],
                last: true
            }
            .encode()
            .is_err()
        );
    }
}
