//! What the container scan learnt, kept in the CSP's data cache (`pfnCspCacheAddFile` /
//! `pfnCspCacheLookupFile`, Smart Card Minidriver Specification 7.07 §4.1.1 and §7.5) so that the next
//! context, in this process or another, does not read every slot again.
//!
//! On cards whose freshness the module maintains (`CP_CACHE_MODE_GLOBAL_CACHE`) the record carries the
//! `cardcf` value (as reported, the PIV Authentication certificate's fingerprint included) and the card
//! id it was read under and is used only while both are still the card's. On a card without the
//! freshness object it is kept under its own tag, with the `cardcf` reported there, only where the module told the CSP
//! `CP_CACHE_MODE_SESSION_ONLY`, whose cache lives only as long as the process and the card's insertion,
//! as the CSP keeps the card's files.
//! It holds what any program may read from the card without a PIN (certificates, GET METADATA of key
//! slots, the key history object): never a secret.
//!
//! A second, smaller record ([`CardFacts`]) keeps facts a new context would otherwise ask the card for
//! before its first answer: whether the card has the freshness object (for `CP_CARD_CACHE_MODE`), the
//! discovery object (which PIN a VERIFY names), the firmware version and the algorithm list of SELECT.
//! See [`CardFacts`] for when each is trusted.

use tessera_piv::commands::{Metadata, Version};
use tessera_piv::{AlgorithmId, KeyRef};

use crate::containers::SlotContents;

/// The cache tag of the record.
pub(crate) const TAG: &str = "tessera-container-scan";
/// The cache tag of the record on a card without the freshness object, kept only where the module told
/// the CSP `CP_CACHE_MODE_SESSION_ONLY` (a cache that lives as long as the process and is dropped when
/// the card is removed): its files are cached for as long, and the scan is kept no longer.
pub(crate) const SESSION_TAG: &str = "tessera-container-scan-session";
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

/// The cache tag of the card facts.
pub(crate) const FACTS_TAG: &str = "tessera-card-facts";
/// Format marker and version of the card facts.
const FACTS_MAGIC: &[u8; 4] = b"TCF3";

/// What a context learnt about a card that the next one may take instead of asking again.
///
/// * `freshness` answers only whether the card has the freshness object, for `CP_CARD_CACHE_MODE`; it
///   is never served as `cardcf`, which is read from the card at every `CardReadFile` (see
///   [`crate::context::CardContext::freshness`]). A stale answer is harmless there: a card that got the
///   object since is reported `CP_CACHE_MODE_SESSION_ONLY` (the cautious mode) until a context rewrites
///   the record, and one that lost it reads `cardcf` as zeros, a change that voids the CSP's cache.
/// * `discovery` is used only under the card id and the `cardcf` value it was read under (as the
///   container scan is): a card whose freshness the module maintains, unchanged since.
/// * `version` (YubiKey GET VERSION) is the card's firmware, which no write changes: used under the card
///   id alone.
/// * `algorithms` (the algorithm identifiers of the application property template SELECT returns) is
///   the card application's too: used under the card id alone, so that a new context on a card whose
///   PIV application is still selected needs no SELECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CardFacts {
    /// The card id.
    pub card_id: [u8; 16],
    /// The freshness object as last read, `None`: absent.
    pub freshness: Option<[u8; 6]>,
    /// The discovery object (7E) as stored, read under `freshness` (`Some(None)`: absent); `None`: not
    /// known.
    pub discovery: Option<Option<Vec<u8>>>,
    /// The firmware version (`Some(None)`: the card reports none); `None`: not known.
    pub version: Option<Option<Version>>,
    /// The algorithms SELECT listed (empty: none listed); `None`: not known.
    pub algorithms: Option<Vec<AlgorithmId>>,
}

impl CardFacts {
    /// The record's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = FACTS_MAGIC.to_vec();
        out.extend_from_slice(&self.card_id);
        match self.freshness {
            Some(value) => {
                out.push(1);
                out.extend_from_slice(&value);
            }
            None => out.push(0),
        }
        match &self.discovery {
            Some(stored) => {
                out.push(1);
                put_optional(&mut out, stored.as_deref());
            }
            None => out.push(0),
        }
        match self.version {
            Some(Some(v)) => out.extend_from_slice(&[2, v.major, v.minor, v.patch]),
            Some(None) => out.push(1),
            None => out.push(0),
        }
        let algorithms: Option<Vec<u8>> = self
            .algorithms
            .as_ref()
            .map(|a| a.iter().map(|id| id.0).collect());
        put_optional(&mut out, algorithms.as_deref());
        out
    }

    /// Reads a record; `None` for anything that is not one this module wrote.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        if r.take(4)? != FACTS_MAGIC {
            return None;
        }
        let card_id = r.take(16)?.try_into().ok()?;
        let freshness = match r.byte()? {
            0 => None,
            1 => Some(r.take(6)?.try_into().ok()?),
            _ => return None,
        };
        let discovery = match r.byte()? {
            0 => None,
            1 => Some(r.optional()?),
            _ => return None,
        };
        let version = match r.byte()? {
            0 => None,
            1 => Some(None),
            2 => {
                let v = r.take(3)?;
                Some(Some(Version {
                    major: v[0],
                    minor: v[1],
                    patch: v[2],
                }))
            }
            _ => return None,
        };
        let algorithms = r
            .optional()?
            .map(|ids| ids.iter().copied().map(AlgorithmId).collect());
        r.0.is_empty().then_some(Self {
            card_id,
            freshness,
            discovery,
            version,
            algorithms,
        })
    }

    /// Whether the record is of the card `identity` names (a stable id only).
    pub(crate) fn is_of(&self, identity: &crate::identity::CardIdentity) -> bool {
        identity.is_stable() && self.card_id == identity.card_id
    }

    /// The discovery object, when this record holds it for this card under this `cardcf` value.
    pub(crate) fn discovery_under(&self, card_id: &[u8; 16], freshness: &[u8; 6]) -> Option<Option<Vec<u8>>> {
        (&self.card_id == card_id && self.freshness.as_ref() == Some(freshness))
            .then(|| self.discovery.clone())
            .flatten()
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
    fn card_facts_read_back_as_written_and_nothing_else_is_one() {
        let with = CardFacts {
            card_id: [9; 16],
            freshness: Some([0, 1, 0, 2, 0, 3]),
            discovery: Some(Some(vec![0x4F, 0x0B, 0xA0, 0x5F, 0x2F, 0x02, 0x40, 0x00])),
            version: Some(Some(Version {
                major: 5,
                minor: 7,
                patch: 2,
            })),
            algorithms: Some(vec![AlgorithmId::RSA2048, AlgorithmId::ECCP256]),
        };
        let absent = CardFacts {
            freshness: None,
            discovery: Some(None),
            version: Some(None),
            algorithms: Some(Vec::new()),
            ..with.clone()
        };
        let unknown = CardFacts {
            discovery: None,
            version: None,
            algorithms: None,
            ..with.clone()
        };
        for facts in [&with, &absent, &unknown] {
            let bytes = facts.encode();
            assert_eq!(CardFacts::decode(&bytes).as_ref(), Some(facts));
            for len in 0..bytes.len() {
                assert_eq!(CardFacts::decode(&bytes[..len]), None, "truncated at {len}");
            }
            assert_eq!(CardFacts::decode(&[bytes.as_slice(), &[0]].concat()), None);
        }
        assert_eq!(
            CardFacts::decode(&record().encode().unwrap()),
            None,
            "a scan record"
        );
    }

    #[test]
    fn the_discovery_object_is_taken_only_under_its_card_id_and_freshness() {
        let facts = CardFacts {
            card_id: [9; 16],
            freshness: Some([0, 0, 0, 0, 0, 1]),
            discovery: Some(Some(vec![1, 2, 3])),
            version: None,
            algorithms: None,
        };
        assert_eq!(
            facts.discovery_under(&[9; 16], &[0, 0, 0, 0, 0, 1]),
            Some(Some(vec![1, 2, 3]))
        );
        assert_eq!(
            facts.discovery_under(&[9; 16], &[0, 0, 0, 0, 0, 2]),
            None,
            "another cardcf"
        );
        assert_eq!(
            facts.discovery_under(&[8; 16], &[0, 0, 0, 0, 0, 1]),
            None,
            "another card"
        );
        let no_freshness = CardFacts {
            freshness: None,
            ..facts.clone()
        };
        assert_eq!(
            no_freshness.discovery_under(&[9; 16], &[0; 6]),
            None,
            "no freshness object"
        );
        let unknown = CardFacts {
            discovery: None,
            ..facts
        };
        assert_eq!(unknown.discovery_under(&[9; 16], &[0, 0, 0, 0, 0, 1]), None);
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
