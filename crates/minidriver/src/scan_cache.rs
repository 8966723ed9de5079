//! What the container scan learnt, kept in the CSP's data cache (`pfnCspCacheAddFile` /
//! `pfnCspCacheLookupFile`, Smart Card Minidriver Specification 7.07 §4.1.1 and §7.5) so that the next
//! context, in this process or another, does not read every slot again.
//!
//! Only on cards whose freshness the module maintains (`CP_CACHE_MODE_GLOBAL_CACHE`): the record carries
//! the `cardcf` value and the card id it was read under and is used only while both are still the card's.
//! It holds what any program may read from the card without a PIN (certificates, GET METADATA of key
//! slots, the key history object): never a secret.

use tessera_piv::KeyRef;
use tessera_piv::commands::Metadata;

use crate::containers::SlotContents;

/// The cache tag of the record.
pub(crate) const TAG: &str = "tessera-container-scan";
/// Format marker and version.
const MAGIC: &[u8; 4] = b"TCS1";
/// Slot flags.
const HAS_CERTIFICATE: u8 = 1;
const HAS_METADATA: u8 = 2;
const NO_KEY: u8 = 4;

/// The CSP's data cache, as the module sees it.
pub(crate) trait CspCache: Send {
    /// The entry under `tag`, when the CSP has one.
    fn lookup(&self, tag: &str) -> Option<Vec<u8>>;
    /// Stores `data` under `tag` (a CSP that refuses is not an error: the cache is an optimisation).
    fn add(&self, tag: &str, data: &[u8]);
}

/// One container scan's inputs besides the container map, which is read from the card every time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanRecord {
    /// `cardcf` when the scan was made.
    pub freshness: [u8; 6],
    /// The card id.
    pub card_id: [u8; 16],
    /// The container map object (5FFF10) as stored, `None`: absent.
    pub map: Option<Vec<u8>>,
    /// The key history object, `None`: absent.
    pub key_history: Option<Vec<u8>>,
    /// What each scanned slot holds.
    pub slots: Vec<(KeyRef, SlotContents)>,
}

impl ScanRecord {
    /// The record's bytes; `None` when a slot's metadata would not read back the same (it is then not
    /// cached rather than cached wrong).
    pub(crate) fn encode(&self) -> Option<Vec<u8>> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.freshness);
        out.extend_from_slice(&self.card_id);
        put_optional(&mut out, self.map.as_deref());
        put_optional(&mut out, self.key_history.as_deref());
        out.push(u8::try_from(self.slots.len()).ok()?);
        for (slot, contents) in &self.slots {
            out.push(slot.0);
            let metadata = match &contents.metadata {
                Some(m) => {
                    let bytes = m.encode();
                    if Metadata::parse(&bytes).ok().as_ref() != Some(m) {
                        return None;
                    }
                    Some(bytes)
                }
                None => None,
            };
            let flags = if contents.certificate.is_some() {
                HAS_CERTIFICATE
            } else {
                0
            } | if metadata.is_some() { HAS_METADATA } else { 0 }
                | if contents.no_key { NO_KEY } else { 0 };
            out.push(flags);
            if let Some(cert) = &contents.certificate {
                put_bytes(&mut out, cert);
            }
            if let Some(m) = &metadata {
                put_bytes(&mut out, m);
            }
        }
        Some(out)
    }

    /// Reads a record; `None` for anything that is not one this module wrote.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return None;
        }
        let freshness = r.take(6)?.try_into().ok()?;
        let card_id = r.take(16)?.try_into().ok()?;
        let map = r.optional()?;
        let key_history = r.optional()?;
        let count = r.byte()?;
        let mut slots = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let slot = KeyRef(r.byte()?);
            let flags = r.byte()?;
            if flags & !(HAS_CERTIFICATE | HAS_METADATA | NO_KEY) != 0 {
                return None;
            }
            let certificate = if flags & HAS_CERTIFICATE != 0 {
                Some(r.bytes()?.to_vec())
            } else {
                None
            };
            let metadata = if flags & HAS_METADATA != 0 {
                Some(Metadata::parse(r.bytes()?).ok()?)
            } else {
                None
            };
            slots.push((
                slot,
                SlotContents {
                    certificate,
                    metadata,
                    no_key: flags & NO_KEY != 0,
                },
            ));
        }
        r.0.is_empty().then_some(Self {
            freshness,
            card_id,
            map,
            key_history,
            slots,
        })
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_optional(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => {
            out.push(1);
            put_bytes(out, b);
        }
        None => out.push(0),
    }
}

/// A cursor over a record.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        self.take(usize::try_from(len).ok()?)
    }

    fn optional(&mut self) -> Option<Option<Vec<u8>>> {
        match self.byte()? {
            0 => Some(None),
            1 => Some(Some(self.bytes()?.to_vec())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_piv::{AlgorithmId, PinPolicy, TouchPolicy};

    fn record() -> ScanRecord {
        let metadata = Metadata {
            algorithm: Some(AlgorithmId::ECCP256),
            pin_policy: Some(PinPolicy::Once),
            touch_policy: Some(TouchPolicy::Never),
            ..Metadata::default()
        };
        ScanRecord {
            freshness: [1, 2, 3, 4, 5, 6],
            card_id: [7; 16],
            map: None,
            key_history: Some(vec![0xC1, 1, 2]),
            slots: vec![
                (
                    KeyRef::AUTHENTICATION,
                    SlotContents {
                        certificate: Some(vec![0x30, 0x03, 1, 2, 3]),
                        metadata: Some(metadata),
                        no_key: false,
                    },
                ),
                (
                    KeyRef::SIGNATURE,
                    SlotContents {
                        certificate: None,
                        metadata: None,
                        no_key: true,
                    },
                ),
            ],
        }
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let r = record();
        let bytes = r.encode().unwrap();
        assert_eq!(ScanRecord::decode(&bytes), Some(r));
    }

    #[test]
    fn anything_else_is_no_record() {
        let bytes = record().encode().unwrap();
        for len in 0..bytes.len() {
            assert_eq!(ScanRecord::decode(&bytes[..len]), None, "truncated at {len}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(ScanRecord::decode(&trailing), None);
        let mut other = bytes;
        other[3] = b'9';
        assert_eq!(ScanRecord::decode(&other), None);
    }
}
