//! BER-TLV as PIV uses it: tags of 1–3 bytes, lengths of 1–3 bytes (`00`–`7F`, `81 xx`, `82 xx xx`).
//!
//! Every card byte is treated as hostile: the reader never indexes out of bounds, rejects truncated
//! values, indefinite and over-long length forms, and (for whole-buffer parses) trailing bytes.

use thiserror::Error;

/// Why a TLV buffer could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TlvError {
    /// The buffer ended inside a tag.
    #[error("TLV truncated inside the tag")]
    TruncatedTag,
    /// The tag is longer than three bytes.
    #[error("TLV tag longer than 3 bytes")]
    TagTooLong,
    /// The buffer ended inside the length field.
    #[error("TLV truncated inside the length")]
    TruncatedLength,
    /// The length uses the indefinite form (`80`) or more than two subsequent bytes.
    #[error("unsupported TLV length form 0x{0:02X}")]
    UnsupportedLengthForm(u8),
    /// The value is shorter than its length says.
    #[error("TLV value truncated: need {needed} bytes, have {available}")]
    TruncatedValue {
        /// Length announced.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// Bytes follow the last element where none may.
    #[error("{0} trailing bytes after TLV data")]
    TrailingData(usize),
    /// A different tag was found where a specific one was required.
    #[error("expected tag {expected:X}, found {found:X}")]
    UnexpectedTag {
        /// The tag required.
        expected: u32,
        /// The tag present.
        found: u32,
    },
    /// A required tag is missing.
    #[error("missing tag {0:X}")]
    MissingTag(u32),
    /// The value is too long for a 1–3 byte length.
    #[error("TLV value of {0} bytes is too long to encode")]
    ValueTooLong(usize),
    /// The tag number cannot be written as a 1–3 byte BER tag.
    #[error("invalid tag {0:X}")]
    InvalidTag(u32),
}

/// One element: its tag (the raw tag bytes as a big-endian number, e.g. `0x5FC102`) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Tag bytes as a big-endian integer.
    pub tag: u32,
    /// The value bytes.
    pub value: &'a [u8],
}

/// Largest value length the 1–3 byte length forms can express.
pub const MAX_VALUE_LEN: usize = 0xFFFF;

/// Reads one TLV from the front of `data`, returning it and the bytes after it.
pub fn read(data: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (tag, rest) = read_tag(data)?;
    let (len, rest) = read_length(rest)?;
    let Some((value, rest)) = rest.split_at_checked(len) else {
        return Err(TlvError::TruncatedValue {
            needed: len,
            available: rest.len(),
        });
    };
    Ok((Tlv { tag, value }, rest))
}

fn read_tag(data: &[u8]) -> Result<(u32, &[u8]), TlvError> {
    let (&first, mut rest) = data.split_first().ok_or(TlvError::TruncatedTag)?;
    let mut tag = u32::from(first);
    if first & 0x1F != 0x1F {
        return Ok((tag, rest));
    }
    // Multi-byte tag: subsequent bytes while bit 8 is set; at most two of them.
    for count in 1..=3 {
        let (&b, r) = rest.split_first().ok_or(TlvError::TruncatedTag)?;
        if count == 3 {
            return Err(TlvError::TagTooLong);
        }
        tag = (tag << 8) | u32::from(b);
        rest = r;
        if b & 0x80 == 0 {
            return Ok((tag, rest));
        }
    }
    Err(TlvError::TagTooLong)
}

fn read_length(data: &[u8]) -> Result<(usize, &[u8]), TlvError> {
    let (&first, rest) = data.split_first().ok_or(TlvError::TruncatedLength)?;
    match first {
        0x00..=0x7F => Ok((usize::from(first), rest)),
        0x81 => {
            let (&b, rest) = rest.split_first().ok_or(TlvError::TruncatedLength)?;
            Ok((usize::from(b), rest))
        }
        0x82 => {
            let Some(([hi, lo], rest)) = rest.split_first_chunk::<2>() else {
                return Err(TlvError::TruncatedLength);
            };
            Ok((usize::from(u16::from_be_bytes([*hi, *lo])), rest))
        }
        other => Err(TlvError::UnsupportedLengthForm(other)),
    }
}

/// Iterates over consecutive TLVs in a buffer; the first error ends the iteration.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            rest: data,
            failed: false,
        }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// True when every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match read(self.rest) {
            Ok((tlv, rest)) => {
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Parses the whole buffer as a sequence of TLVs (no trailing garbage possible: every byte must belong
/// to an element).
pub fn parse_all(data: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    Reader::new(data).collect()
}

/// Parses a buffer that must hold exactly one TLV with tag `expected`, and returns its value.
pub fn parse_single(data: &[u8], expected: u32) -> Result<&[u8], TlvError> {
    let (tlv, rest) = read(data)?;
    if tlv.tag != expected {
        return Err(TlvError::UnexpectedTag {
            expected,
            found: tlv.tag,
        });
    }
    if !rest.is_empty() {
        return Err(TlvError::TrailingData(rest.len()));
    }
    Ok(tlv.value)
}

/// The first element with `tag` among `tlvs`, if any.
pub fn find<'a>(tlvs: &[Tlv<'a>], tag: u32) -> Option<&'a [u8]> {
    tlvs.iter().find(|t| t.tag == tag).map(|t| t.value)
}

/// Like [`find`], but a missing tag is an error.
pub fn require<'a>(tlvs: &[Tlv<'a>], tag: u32) -> Result<&'a [u8], TlvError> {
    find(tlvs, tag).ok_or(TlvError::MissingTag(tag))
}

/// Number of bytes the encoded tag takes.
pub fn tag_len(tag: u32) -> usize {
    match tag {
        0..=0xFF => 1,
        0x100..=0xFFFF => 2,
        _ => 3,
    }
}

fn check_tag(tag: u32) -> Result<(), TlvError> {
    let bytes = tag.to_be_bytes();
    let ok = match tag_len(tag) {
        1 => bytes[3] & 0x1F != 0x1F,
        2 => bytes[2] & 0x1F == 0x1F && bytes[3] & 0x80 == 0,
        _ => bytes[0] == 0 && bytes[1] & 0x1F == 0x1F && bytes[2] & 0x80 != 0 && bytes[3] & 0x80 == 0,
    };
    if ok {
        Ok(())
    } else {
        Err(TlvError::InvalidTag(tag))
    }
}

/// Appends the tag bytes.
pub fn write_tag(out: &mut Vec<u8>, tag: u32) -> Result<(), TlvError> {
    check_tag(tag)?;
    let bytes = tag.to_be_bytes();
    out.extend_from_slice(&bytes[4 - tag_len(tag)..]);
    Ok(())
}

/// Appends a minimal length encoding.
pub fn write_length(out: &mut Vec<u8>, len: usize) -> Result<(), TlvError> {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=MAX_VALUE_LEN => {
            out.push(0x82);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => return Err(TlvError::ValueTooLong(len)),
    }
    Ok(())
}

/// Appends one TLV.
pub fn write(out: &mut Vec<u8>, tag: u32, value: &[u8]) -> Result<(), TlvError> {
    write_tag(out, tag)?;
    write_length(out, value.len())?;
    out.extend_from_slice(value);
    Ok(())
}

/// Bytes one TLV with a value of `value_len` bytes takes (tag, minimal length field, value); used to size
/// buffers that must not grow.
pub fn encoded_len(tag: u32, value_len: usize) -> usize {
    let length_field = match value_len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        _ => 3,
    };
    tag_len(tag) + length_field + value_len
}

/// Encodes one TLV into a new buffer (allocated once at its final size, so a secret value leaves no
/// copy behind in freed memory).
pub fn encode(tag: u32, value: &[u8]) -> Result<Vec<u8>, TlvError> {
    let mut out = Vec::with_capacity(value.len() + 6);
    write(&mut out, tag, value)?;
    Ok(out)
}

/// Builds TLV sequences fluently; the first error is kept and reported by [`Builder::finish`].
///
/// For secret content (key material), size the builder with [`with_capacity`](Self::with_capacity)
/// (see [`encoded_len`]): a buffer that grows is copied, and the old copy is freed without being wiped.
/// What an unfinished builder holds is wiped when it is dropped.
#[derive(Debug, Default)]
pub struct Builder {
    out: Vec<u8>,
    error: Option<TlvError>,
}

impl Drop for Builder {
    fn drop(&mut self) {
        // Empty after `finish`; holds partial (possibly secret) content only on early exits.
        zeroize::Zeroize::zeroize(&mut self.out);
    }
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder whose buffer holds `capacity` bytes without growing.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            out: Vec::with_capacity(capacity),
            error: None,
        }
    }

    /// Appends one element.
    pub fn tlv(mut self, tag: u32, value: &[u8]) -> Self {
        if self.error.is_none()
            && let Err(e) = write(&mut self.out, tag, value)
        {
            self.error = Some(e);
        }
        self
    }

    /// Appends one element if `value` is present.
    pub fn tlv_opt(self, tag: u32, value: Option<&[u8]>) -> Self {
        match value {
            Some(v) => self.tlv(tag, v),
            None => self,
        }
    }

    /// Appends raw, already-encoded bytes.
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.out.extend_from_slice(bytes);
        self
    }

    /// The encoded bytes, or the first error met.
    pub fn finish(mut self) -> Result<Vec<u8>, TlvError> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(std::mem::take(&mut self.out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_two_three_byte_tags() {
        let (t, rest) = read(&[0x53, 0x01, 0xAA, 0xFF]).unwrap();
        assert_eq!((t.tag, t.value, rest), (0x53, &[0xAA][..], &[0xFF][..]));
        let (t, _) = read(&[0x7F, 0x49, 0x00]).unwrap();
        assert_eq!(t.tag, 0x7F49);
        let (t, _) = read(&[0x5F, 0xC1, 0x02, 0x01, 0x07]).unwrap();
        assert_eq!((t.tag, t.value), (0x5FC102, &[0x07][..]));
        assert_eq!(read(&[0x5F, 0xC1, 0x82, 0x01, 0x00]), Err(TlvError::TagTooLong));
    }

    #[test]
    fn reads_length_forms() {
        let mut long = vec![0x53, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(0x11, 256));
        assert_eq!(read(&long).unwrap().0.value.len(), 256);
        let mut l81 = vec![0x70, 0x81, 0x80];
        l81.extend(std::iter::repeat_n(0, 128));
        assert_eq!(read(&l81).unwrap().0.value.len(), 128);
        assert_eq!(read(&[0x53, 0x80]), Err(TlvError::UnsupportedLengthForm(0x80)));
        assert_eq!(
            read(&[0x53, 0x83, 0, 0, 1]),
            Err(TlvError::UnsupportedLengthForm(0x83))
        );
        assert_eq!(read(&[0x53, 0x82, 0x01]), Err(TlvError::TruncatedLength));
        assert_eq!(read(&[0x53]), Err(TlvError::TruncatedLength));
        assert_eq!(read(&[]), Err(TlvError::TruncatedTag));
        assert_eq!(read(&[0x5F]), Err(TlvError::TruncatedTag));
        assert_eq!(
            read(&[0x53, 0x03, 1, 2]),
            Err(TlvError::TruncatedValue {
                needed: 3,
                available: 2
            })
        );
    }

    #[test]
    fn single_rejects_trailing_and_wrong_tag() {
        assert_eq!(parse_single(&[0x53, 0x00], 0x53), Ok(&[][..]));
        assert_eq!(
            parse_single(&[0x53, 0x00, 0x00], 0x53),
            Err(TlvError::TrailingData(1))
        );
        assert_eq!(
            parse_single(&[0x54, 0x00], 0x53),
            Err(TlvError::UnexpectedTag {
                expected: 0x53,
                found: 0x54
            })
        );
    }

    #[test]
    fn writes_minimal_lengths_and_tags() {
        assert_eq!(encode(0x53, &[]).unwrap(), [0x53, 0x00]);
        assert_eq!(encode(0x5FC102, &[1]).unwrap(), [0x5F, 0xC1, 0x02, 0x01, 0x01]);
        assert_eq!(encode(0x7F49, &[]).unwrap(), [0x7F, 0x49, 0x00]);
        assert_eq!(&encode(0x70, &[0; 0x80]).unwrap()[..3], &[0x70, 0x81, 0x80]);
        assert_eq!(
            &encode(0x70, &[0; 0x100]).unwrap()[..4],
            &[0x70, 0x82, 0x01, 0x00]
        );
        assert_eq!(
            encode(0x70, &vec![0; 0x10000]),
            Err(TlvError::ValueTooLong(0x10000))
        );
        assert_eq!(encode(0x5F, &[]), Err(TlvError::InvalidTag(0x5F)));
        assert_eq!(encode(0x5301, &[]), Err(TlvError::InvalidTag(0x5301)));
    }

    #[test]
    fn encoded_len_matches_the_encoding() {
        for (tag, len) in [
            (0x80, 0),
            (0x06, 0x7F),
            (0x01, 0x80),
            (0x5FC109, 0xFF),
            (0x7F49, 0x100),
            (0x53, 0xFFFF),
        ] {
            assert_eq!(
                encoded_len(tag, len),
                encode(tag, &vec![0; len]).unwrap().len(),
                "{tag:X} {len}"
            );
        }
    }

    #[test]
    fn a_sized_builder_never_reallocates() {
        let capacity = encoded_len(0x01, 200) + encoded_len(0x02, 200) + encoded_len(0xAA, 1);
        let b = Builder::with_capacity(capacity);
        let start = b.out.as_ptr();
        let b = b.tlv(0x01, &[7; 200]).tlv(0x02, &[8; 200]).tlv(0xAA, &[1]);
        assert_eq!((b.out.as_ptr(), b.out.len()), (start, capacity));
        assert_eq!(b.finish().unwrap().len(), capacity);
    }

    #[test]
    fn builder_and_reader_round_trip() {
        let bytes = Builder::new()
            .tlv(0x80, &[1])
            .tlv(0x5FC109, &[2, 3])
            .tlv_opt(0x81, None)
            .finish()
            .unwrap();
        let all = parse_all(&bytes).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(find(&all, 0x5FC109), Some(&[2, 3][..]));
        assert_eq!(require(&all, 0x81), Err(TlvError::MissingTag(0x81)));
        let mut r = Reader::new(&[0x80, 0x01, 0x00, 0x81]);
        assert!(r.next().unwrap().is_ok());
        assert!(r.next().unwrap().is_err());
        assert!(r.next().is_none());
    }
}
