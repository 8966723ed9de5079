//! The PIV Authentication certificate as part of `cardcf`, so that the CSP sees a logon certificate
//! replaced by a tool that does not bump the card's freshness (yubico-piv-tool, ykman, OpenSC).
//!
//! The CSP keeps certificate files in its data cache for as long as `cardcf` reads the same (Smart Card
//! Minidriver Specification 7.07 §6.3), and PIV cards have no change counter of their own. The module
//! reads the 9A certificate object at every `cardcf` read — in one APDU: the whole object where the
//! card takes extended length, else one short GET DATA whose first answer (at most 256 bytes) it keeps
//! without asking for the rest — and adds a fingerprint of the object's length and first
//! [`PREFIX_LEN`] content bytes (the certificate's serial number and issuer) to the containers and
//! files counters it reports. Every process computes the same value from the same card, whatever its
//! framing; a new certificate in 9A changes it. When the CSP writes `cardcf`, the module stores the
//! value minus the fingerprint of the certificate the card holds then, so that the card reads back
//! what the CSP wrote.
//!
//! A card without a 9A certificate adds nothing: it reports its freshness object (or six zero bytes)
//! unchanged.

use sha2::{Digest, Sha256};

/// The slot whose certificate is watched: PIV Authentication, the key of smart card logon and the
/// certificate most often renewed (NIST SP 800-73-4 Part 1 §3.1.1).
pub(crate) const WATCHED_SLOT: tessera_piv::KeyRef = tessera_piv::KeyRef::AUTHENTICATION;

/// How many content bytes the fingerprint covers: what the first answer of a short GET DATA (256
/// bytes) holds after the longest `53` header.
pub(crate) const PREFIX_LEN: usize = 240;

/// A fingerprint of the watched object's head; zero when the card holds no such object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fingerprint([u8; 4]);

impl Fingerprint {
    /// The fingerprint of an object's content (inside `53`; `None` or empty: no object).
    pub(crate) fn of_content(content: Option<&[u8]>) -> Self {
        match content {
            None | Some([]) => Self::default(),
            Some(content) => Self::hashed(content.len(), &content[..content.len().min(PREFIX_LEN)]),
        }
    }

    /// The fingerprint of the first answer of a short GET DATA (`53 L` and the content's start;
    /// `None`: no object): the same as [`Self::of_content`] of the whole object. A head that is not a
    /// `53` object is fingerprinted as it is.
    pub(crate) fn of_head(head: Option<&[u8]>) -> Self {
        let Some(head) = head else {
            return Self::default();
        };
        match object_header(head) {
            Some((0, _)) => Self::default(),
            Some((len, header)) => {
                let start = &head[header..];
                Self::hashed(len, &start[..start.len().min(len).min(PREFIX_LEN)])
            }
            None if head.is_empty() => Self::default(),
            None => Self::hashed(usize::MAX, head),
        }
    }

    fn hashed(len: usize, prefix: &[u8]) -> Self {
        let mut hash = Sha256::new();
        hash.update(u64::try_from(len).unwrap_or(u64::MAX).to_be_bytes());
        hash.update(prefix);
        let digest = hash.finalize();
        let mut value = [0; 4];
        value.copy_from_slice(&digest[..4]);
        // Zero stands for "no object"; an object that hashes to it is told apart.
        if value == [0; 4] {
            value = [0, 0, 0, 1];
        }
        Self(value)
    }

    fn halves(self) -> (u16, u16) {
        (
            u16::from_le_bytes([self.0[0], self.0[1]]),
            u16::from_le_bytes([self.0[2], self.0[3]]),
        )
    }
}

/// The content length and header length of a `53` object from its first bytes (BER-TLV lengths up to
/// three bytes, ISO/IEC 7816-4 §5.2.2.2); `None` for anything else.
fn object_header(head: &[u8]) -> Option<(usize, usize)> {
    match head {
        [0x53, n @ 0..=0x7F, ..] => Some((usize::from(*n), 2)),
        [0x53, 0x81, a, ..] => Some((usize::from(*a), 3)),
        [0x53, 0x82, a, b, ..] => Some((usize::from(u16::from_be_bytes([*a, *b])), 4)),
        [0x53, 0x83, a, b, c, ..] => {
            Some((usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c), 5))
        }
        _ => None,
    }
}

/// The `cardcf` the module reports: the stored value with the fingerprint added to the containers
/// (bytes 2–3) and files (bytes 4–5) counters, little-endian, wrapping; the version and PIN bytes as
/// stored (`CARD_CACHE_FILE_FORMAT`, Smart Card Minidriver Specification 7.07 §6.3).
pub(crate) fn reported(stored: [u8; 6], fingerprint: Fingerprint) -> [u8; 6] {
    shifted(stored, fingerprint, u16::wrapping_add)
}

/// What to store so that [`reported`] gives back `written`, the value the CSP wrote.
pub(crate) fn stored(written: [u8; 6], fingerprint: Fingerprint) -> [u8; 6] {
    shifted(written, fingerprint, u16::wrapping_sub)
}

fn shifted(value: [u8; 6], fingerprint: Fingerprint, op: fn(u16, u16) -> u16) -> [u8; 6] {
    let (containers, files) = fingerprint.halves();
    let c = op(u16::from_le_bytes([value[2], value[3]]), containers).to_le_bytes();
    let f = op(u16::from_le_bytes([value[4], value[5]]), files).to_le_bytes();
    [value[0], value[1], c[0], c[1], f[0], f[1]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_certificate_reports_the_stored_value_unchanged() {
        let stored_value = [1, 2, 3, 4, 5, 6];
        assert_eq!(reported(stored_value, Fingerprint::of_head(None)), stored_value);
        assert_eq!(reported([0; 6], Fingerprint::of_head(Some(&[]))), [0; 6]);
    }

    #[test]
    fn a_written_value_reads_back_as_written() {
        let fp = Fingerprint::of_content(Some(b"\x70\x82\x02\xfc certificate"));
        for written in [[0; 6], [1, 0, 0xFF, 0xFF, 0xFE, 0xFF], [1, 9, 7, 0, 3, 0]] {
            assert_eq!(reported(stored(written, fp), fp), written);
        }
    }

    #[test]
    fn another_certificate_changes_the_counters_but_not_the_version_or_pins() {
        let old = Fingerprint::of_content(Some(b"certificate, serial 01"));
        let new = Fingerprint::of_content(Some(b"certificate, serial 02"));
        let stored_value = [1, 7, 0, 0, 0, 0];
        let (a, b) = (reported(stored_value, old), reported(stored_value, new));
        assert_ne!(a, b);
        assert_eq!(a[..2], b[..2]);
        assert_eq!(a[..2], [1, 7]);
    }

    #[test]
    fn the_head_and_the_whole_object_give_the_same_fingerprint_whatever_the_length_form() {
        let content: Vec<u8> = (0..1024u32).map(|i| (i % 253) as u8).collect();
        let whole = Fingerprint::of_content(Some(&content));
        assert_ne!(whole, Fingerprint::default());
        for header in [&[0x53, 0x82, 0x04, 0x00][..], &[0x53, 0x83, 0x00, 0x04, 0x00]] {
            let object = [header, &content].concat();
            assert_eq!(Fingerprint::of_head(Some(&object[..256])), whole);
        }
        // A short object: the whole of it, whatever the length form.
        assert_eq!(
            Fingerprint::of_head(Some(&[0x53, 0x03, 1, 2, 3])),
            Fingerprint::of_head(Some(&[0x53, 0x81, 0x03, 1, 2, 3]))
        );
        assert_eq!(
            Fingerprint::of_head(Some(&[0x53, 0x03, 1, 2, 3])),
            Fingerprint::of_content(Some(&[1, 2, 3]))
        );
        assert_eq!(Fingerprint::of_head(Some(&[0x53, 0x00])), Fingerprint::default());
    }

    #[test]
    fn the_length_and_the_prefix_count_and_nothing_after_it() {
        let content = vec![0xAB; 1024];
        let mut other_tail = content.clone();
        other_tail[PREFIX_LEN + 10] = 0xCD;
        assert_eq!(
            Fingerprint::of_content(Some(&content)),
            Fingerprint::of_content(Some(&other_tail))
        );
        let mut other_serial = content.clone();
        other_serial[15] = 0xCD;
        assert_ne!(
            Fingerprint::of_content(Some(&content)),
            Fingerprint::of_content(Some(&other_serial))
        );
        assert_ne!(
            Fingerprint::of_content(Some(&content)),
            Fingerprint::of_content(Some(&content[..1000]))
        );
    }
}
