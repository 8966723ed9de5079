//! Key containers: how PIV slots become the CSP's indexed containers.
//!
//! Without a container map on the card, indices are fixed per slot so that they never move:
//! 9A → 0, 9C → 1, 9D → 2, 9E → 3, retired 82…95 → 4…23. An elliptic-curve key whose use allows key
//! agreement also gets an ECDH container at index 24 + its slot index, named after the ECDSA one, and the
//! two are paired through `CCP_ASSOCIATED_ECDH_KEY`. RSA keys get one container: an exchange key
//! (`AT_KEYEXCHANGE`, which CAPI also lets sign) unless the certificate restricts the key to signing.
//! Either RSA key spec may sign and decrypt with a dual-use key; a key certified for signatures only
//! does not decrypt at all.
//! With a Yubico container map (5FFF10) on the card, its records decide indices, names and specs.

use std::collections::BTreeMap;

use tessera_piv::commands::Metadata;
use tessera_piv::objects::{ContainerMap, ContainerRecord};
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, PublicKey};

use windows_sys::Win32::Security::Cryptography::{
    CONTAINER_MAP_DEFAULT_CONTAINER, CONTAINER_MAP_RECORD, CONTAINER_MAP_VALID_CONTAINER,
};

use crate::cert::{self, Usage};
use crate::error::{MdError, Result};
use crate::pins::{ROLE_EVERYONE, ROLE_PIN_ALWAYS, ROLE_USER};

/// Key specs (`dwKeySpec`: wincrypt.h's `AT_KEYEXCHANGE`, `AT_SIGNATURE` and cardmod.h's elliptic-curve
/// `AT_ECDSA_*`, `AT_ECDHE_*`).
pub mod spec {
    pub use windows_sys::Win32::Security::Cryptography::{
        AT_ECDHE_P256, AT_ECDHE_P384, AT_ECDHE_P521, AT_ECDSA_P256, AT_ECDSA_P384, AT_ECDSA_P521,
        AT_KEYEXCHANGE, AT_SIGNATURE,
    };

    /// Checks a `dwKeySpec` argument: undefined values are invalid, the P-521 specs defined but not
    /// supported (P-521 is not a PIV curve).
    pub fn check(key_spec: u32) -> crate::error::Result<()> {
        use crate::error::MdError;
        match key_spec {
            AT_KEYEXCHANGE..=AT_ECDSA_P384 | AT_ECDHE_P256 | AT_ECDHE_P384 => Ok(()),
            AT_ECDSA_P521 | AT_ECDHE_P521 => Err(MdError::Unsupported("P-521 is not a PIV curve")),
            _ => Err(MdError::InvalidParameter("undefined key spec")),
        }
    }
}

/// The slots in fixed-index order.
pub const SLOT_ORDER: [u8; 24] = [
    0x9A, 0x9C, 0x9D, 0x9E, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0x8E,
    0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
];
/// Offset of the ECDH twin containers.
pub const ECDH_INDEX_OFFSET: u8 = 24;
/// Size of a `CONTAINER_MAP_RECORD`.
pub const CMAP_RECORD_LEN: usize = size_of::<CONTAINER_MAP_RECORD>();
/// `bFlags` of a `CONTAINER_MAP_RECORD`, which Yubico's container map (5FFF10) uses too.
const VALID: u8 = CONTAINER_MAP_VALID_CONTAINER as u8;
/// As [`VALID`].
const DEFAULT: u8 = CONTAINER_MAP_DEFAULT_CONTAINER as u8;
/// Yubico's container map: no associated ECDH container.
const NO_ECDH_TWIN: u8 = 0xFF;

/// The fixed index of a slot.
pub fn slot_index(slot: KeyRef) -> Option<u8> {
    SLOT_ORDER.iter().position(|&s| s == slot.0).map(|i| i as u8)
}

/// What the container presents to Windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// RSA key in the exchange position (signs and decrypts).
    RsaExchange,
    /// RSA key restricted to signing.
    RsaSignature,
    /// EC key used for ECDSA.
    Ecdsa,
    /// EC key used for ECDH.
    Ecdh,
}

/// One container.
#[derive(Debug, Clone)]
pub struct Container {
    /// Container index.
    pub index: u8,
    /// Container name (≤ 39 characters).
    pub name: String,
    /// The PIV slot holding the key.
    pub slot: KeyRef,
    /// How it is presented.
    pub kind: ContainerKind,
    /// The public key.
    pub public_key: PublicKey,
    /// The certificate (DER, decompressed), when the slot has one.
    pub certificate: Option<Vec<u8>>,
    /// The default container.
    pub default: bool,
    /// The PIN role that unlocks the key (`CCP_PIN_IDENTIFIER`).
    pub pin: u32,
    /// For an ECDSA container, the index of its ECDH twin.
    pub associated_ecdh: Option<u8>,
    /// The certificate allows decryption (keyEncipherment or dataEncipherment), or there is no
    /// certificate or key-usage extension to restrict the key. Enforced by `CardRSADecrypt` whatever
    /// key spec the CSP asks with.
    pub decrypts: bool,
}

impl Container {
    /// The key spec (`AT_*`).
    pub fn key_spec(&self) -> u32 {
        let p384 = self.public_key.algorithm() == AlgorithmId::ECCP384;
        match self.kind {
            ContainerKind::RsaExchange => spec::AT_KEYEXCHANGE,
            ContainerKind::RsaSignature => spec::AT_SIGNATURE,
            ContainerKind::Ecdsa if p384 => spec::AT_ECDSA_P384,
            ContainerKind::Ecdsa => spec::AT_ECDSA_P256,
            ContainerKind::Ecdh if p384 => spec::AT_ECDHE_P384,
            ContainerKind::Ecdh => spec::AT_ECDHE_P256,
        }
    }

    /// True when the key sits in the exchange position of `CONTAINER_INFO` and `cmapfile`.
    pub fn is_exchange(&self) -> bool {
        matches!(self.kind, ContainerKind::RsaExchange | ContainerKind::Ecdh)
    }

    /// Key size in bits.
    pub fn key_bits(&self) -> u32 {
        self.public_key.algorithm().key_bits().unwrap_or(0)
    }

    /// The certificate file name (`kxcNN` or `kscNN`, two lowercase hex digits).
    pub fn certificate_file(&self) -> String {
        let prefix = if self.is_exchange() { "kxc" } else { "ksc" };
        format!("{prefix}{:02x}", self.index)
    }

    /// True when `key_spec` may be used with this container. RSA keys accept both RSA specs, so that a
    /// dual-use certificate signs and decrypts whichever spec the CSP asks with.
    pub fn accepts_spec(&self, key_spec: u32) -> bool {
        match self.kind {
            ContainerKind::RsaExchange | ContainerKind::RsaSignature => {
                key_spec == spec::AT_KEYEXCHANGE || key_spec == spec::AT_SIGNATURE
            }
            _ => key_spec == self.key_spec(),
        }
    }

    /// The 86-byte `CONTAINER_MAP_RECORD`.
    pub fn cmap_record(&self) -> [u8; CMAP_RECORD_LEN] {
        let mut r = [0u8; CMAP_RECORD_LEN];
        for (i, unit) in self.name.encode_utf16().take(39).enumerate() {
            r[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
        }
        r[80] = VALID | if self.default { DEFAULT } else { 0 };
        let bits = (self.key_bits() as u16).to_le_bytes();
        if self.is_exchange() {
            r[84..86].copy_from_slice(&bits);
        } else {
            r[82..84].copy_from_slice(&bits);
        }
        r
    }
}

/// What a slot holds, as read from the card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotContents {
    /// Certificate DER, decompressed.
    pub certificate: Option<Vec<u8>>,
    /// GET METADATA, when the card offers it.
    pub metadata: Option<Metadata>,
    /// GET METADATA answered that the slot holds no key: a certificate left there (another tool deleted
    /// the key, or a container's deletion was interrupted) belongs to no key and makes no container.
    pub no_key: bool,
}

impl SlotContents {
    /// True when the slot holds something: a key the card reports or a certificate.
    pub fn is_occupied(&self) -> bool {
        self.metadata.as_ref().is_some_and(|m| m.public_key.is_some()) || self.certificate.is_some()
    }
}

/// The containers of a card.
#[derive(Debug, Clone, Default)]
pub struct ContainerSet {
    containers: BTreeMap<u8, Container>,
}

impl ContainerSet {
    /// Builds the fixed-index layout from slot contents. Slots whose certificate cannot be parsed and
    /// that have no metadata are skipped (and logged): the rest of the card stays usable.
    pub fn from_slots(slots: &[(KeyRef, SlotContents)], naming_guid: &[u8; 16]) -> Self {
        let mut set = Self::default();
        for (slot, contents) in slots {
            let Some(index) = slot_index(*slot) else { continue };
            let Some((public_key, usage)) = key_of(*slot, contents) else {
                continue;
            };
            let pin = pin_role(*slot, contents.metadata.as_ref());
            let tag = slot.certificate_object().unwrap_or(0);
            let base = Container {
                index,
                name: container_name(naming_guid, tag),
                slot: *slot,
                kind: ContainerKind::RsaExchange,
                public_key: public_key.clone(),
                certificate: contents.certificate.clone(),
                default: false,
                pin,
                associated_ecdh: None,
                decrypts: usage.encipher,
            };
            match public_key {
                PublicKey::Rsa { .. } => {
                    let kind = if usage.encipher || usage.agree || !usage.sign {
                        ContainerKind::RsaExchange
                    } else {
                        ContainerKind::RsaSignature
                    };
                    set.insert(Container { kind, ..base });
                }
                PublicKey::Ecc { .. } => {
                    let sign = usage.sign || !usage.agree;
                    let twin = ECDH_INDEX_OFFSET + index;
                    if usage.agree {
                        set.insert(Container {
                            index: twin,
                            name: container_name(naming_guid, tag | 0x80),
                            kind: ContainerKind::Ecdh,
                            ..base.clone()
                        });
                    }
                    if sign {
                        set.insert(Container {
                            kind: ContainerKind::Ecdsa,
                            associated_ecdh: usage.agree.then_some(twin),
                            ..base
                        });
                    }
                }
            }
        }
        set.choose_default();
        set
    }

    /// Builds the set from a Yubico container map: records give index, name, spec and pairing; the keys
    /// come from the slots they name. Records naming an empty slot are left out.
    pub fn from_container_map(map: &ContainerMap, slots: &[(KeyRef, SlotContents)]) -> Self {
        let mut set = Self::default();
        for (i, record) in map.records.iter().enumerate() {
            let Ok(index) = u8::try_from(i) else { break };
            if u32::from(index) >= crate::properties::MAX_CONTAINERS {
                tracing::warn!(
                    "container map: records from index {index} on are beyond the card's containers"
                );
                break;
            }
            if record.flags & VALID == 0 {
                continue;
            }
            let slot = record.slot;
            let Some((_, contents)) = slots.iter().find(|(s, _)| *s == slot) else {
                continue;
            };
            let Some((public_key, usage)) = key_of(slot, contents) else {
                continue;
            };
            let kind = match (u32::from(record.key_spec), &public_key) {
                (spec::AT_KEYEXCHANGE, PublicKey::Rsa { .. }) => ContainerKind::RsaExchange,
                (spec::AT_SIGNATURE, PublicKey::Rsa { .. }) => ContainerKind::RsaSignature,
                (spec::AT_ECDSA_P256 | spec::AT_ECDSA_P384, PublicKey::Ecc { .. }) => ContainerKind::Ecdsa,
                (spec::AT_ECDHE_P256 | spec::AT_ECDHE_P384, PublicKey::Ecc { .. }) => ContainerKind::Ecdh,
                _ => continue,
            };
            set.insert(Container {
                index,
                name: record.name.clone(),
                slot,
                kind,
                public_key,
                certificate: contents.certificate.clone(),
                default: record.flags & DEFAULT != 0,
                pin: match u32::from(record.pin_id) {
                    p @ (ROLE_EVERYONE | ROLE_USER | ROLE_PIN_ALWAYS) => p,
                    _ => pin_role(slot, contents.metadata.as_ref()),
                },
                associated_ecdh: (record.associated_ecdh_container != NO_ECDH_TWIN
                    && kind == ContainerKind::Ecdsa)
                    .then_some(record.associated_ecdh_container),
                decrypts: usage.encipher,
            });
        }
        if !set.containers.values().any(|c| c.default) {
            set.choose_default();
        }
        set
    }

    /// The containers of a card with a Yubico container map (5FFF10): those of its records (see
    /// [`from_container_map`](Self::from_container_map)), and every key in a scanned slot that no record
    /// represents — put there by another tool, or a container the map could not hold — so that no key is
    /// lost. Such a key is shown as the layout without a map would show it ([`from_slots`](Self::from_slots)),
    /// at the same index when no record claims that index, else at the lowest index nothing claims. A
    /// record represents a slot's RSA key whatever its RSA key spec, and an EC key's ECDSA or ECDH side
    /// by spec; a record of a deleted container (flags cleared, slot kept) still represents it, so that
    /// a deleted container stays deleted when the card could not delete its key.
    pub fn from_map(map: &ContainerMap, slots: &[(KeyRef, SlotContents)], naming_guid: &[u8; 16]) -> Self {
        let mut set = Self::from_container_map(map, slots);
        let claimed = |index: u8, set: &Self| {
            set.containers.contains_key(&index)
                || map
                    .records
                    .get(usize::from(index))
                    .is_some_and(|r| r.flags & CONTAINER_MAP_VALID != 0 || r.slot.is_key_slot())
        };
        let unrepresented: Vec<Container> = Self::from_slots(slots, naming_guid)
            .containers
            .into_values()
            .filter(|c| {
                !map.records
                    .iter()
                    .any(|r| r.slot == c.slot && same_family(r.key_spec, c.kind))
            })
            .collect();
        let mut moved = BTreeMap::new();
        for mut c in unrepresented {
            let index = if claimed(c.index, &set) {
                match (0..crate::properties::MAX_CONTAINERS as u8).find(|&i| !claimed(i, &set)) {
                    Some(i) => i,
                    None => {
                        tracing::warn!("slot {}: no container index left for its key", c.slot);
                        continue;
                    }
                }
            } else {
                c.index
            };
            moved.insert(c.index, index);
            c.index = index;
            c.default = false;
            set.insert(c);
        }
        for c in set.containers.values_mut() {
            if let Some(twin) = c.associated_ecdh
                && let Some(&new) = moved.get(&twin)
                && map
                    .records
                    .get(usize::from(c.index))
                    .is_none_or(|r| r.slot != c.slot)
            {
                c.associated_ecdh = Some(new);
            }
        }
        if !set.containers.values().any(|c| c.default) {
            set.choose_default();
        }
        set
    }

    fn insert(&mut self, c: Container) {
        self.containers.insert(c.index, c);
    }

    fn choose_default(&mut self) {
        let pick = self
            .containers
            .values()
            .find(|c| c.slot == KeyRef::AUTHENTICATION && c.kind != ContainerKind::Ecdh)
            .or_else(|| self.containers.values().find(|c| c.kind != ContainerKind::Ecdh))
            .map(|c| c.index);
        for c in self.containers.values_mut() {
            c.default = Some(c.index) == pick;
        }
    }

    /// The container at `index`.
    pub fn get(&self, index: u8) -> Result<&Container> {
        self.containers.get(&index).ok_or(MdError::NoKeyContainer)
    }

    /// All containers in index order.
    pub fn iter(&self) -> impl Iterator<Item = &Container> {
        self.containers.values()
    }

    /// The container whose certificate file is `name` (case-insensitive).
    pub fn by_certificate_file(&self, name: &str) -> Option<&Container> {
        self.containers
            .values()
            .find(|c| c.certificate.is_some() && c.certificate_file().eq_ignore_ascii_case(name))
    }

    /// The `mscp/cmapfile` content: one record per index up to the highest used, empty ones zeroed.
    pub fn cmapfile(&self) -> Vec<u8> {
        let Some(&last) = self.containers.keys().next_back() else {
            return Vec::new();
        };
        let mut out = vec![0u8; (usize::from(last) + 1) * CMAP_RECORD_LEN];
        for c in self.containers.values() {
            let at = usize::from(c.index) * CMAP_RECORD_LEN;
            out[at..at + CMAP_RECORD_LEN].copy_from_slice(&c.cmap_record());
        }
        out
    }
}

/// The key of a slot: from metadata when the card reports it (the card's truth), else from the
/// certificate. Key usage comes from the certificate. Keys Windows has no key spec for (Ed25519, X25519
/// on YubiKey 5.7) are no container: presented as anything else they would be misused.
fn key_of(slot: KeyRef, contents: &SlotContents) -> Option<(PublicKey, Usage)> {
    if contents.no_key {
        if contents.certificate.is_some() {
            tracing::info!("slot {slot}: a certificate without a key (GET METADATA: empty); not a container");
        }
        return None;
    }
    let from_cert = contents.certificate.as_deref().map(cert::inspect);
    let usage = match &from_cert {
        Some(Ok(info)) => info.usage,
        _ => Usage::ANY,
    };
    let key = match (
        contents.metadata.as_ref().and_then(|m| m.public_key.clone()),
        from_cert,
    ) {
        (Some(key), _) => key,
        (None, Some(Ok(info))) => info.public_key,
        (None, Some(Err(e))) => {
            tracing::warn!("slot {slot}: certificate unusable and no metadata: {e}");
            return None;
        }
        (None, None) => return None,
    };
    let algorithm = key.algorithm();
    if algorithm.is_rsa() || algorithm.is_ecc() {
        Some((key, usage))
    } else {
        tracing::info!("slot {slot}: {algorithm:?} keys have no Windows key spec; not a container");
        None
    }
}

/// True when a map record of `key_spec` describes a container of `kind` (RSA specs are interchangeable:
/// one RSA container per key).
fn same_family(key_spec: u8, kind: ContainerKind) -> bool {
    match kind {
        ContainerKind::RsaExchange | ContainerKind::RsaSignature => matches!(key_spec, 1 | 2),
        ContainerKind::Ecdsa => matches!(key_spec, 3..=5),
        ContainerKind::Ecdh => matches!(key_spec, 6..=8),
    }
}

/// `CONTAINER_MAP_VALID_CONTAINER`.
const CONTAINER_MAP_VALID: u8 = tessera_piv::objects::CONTAINER_MAP_VALID_CONTAINER;

/// The PIN role of a slot's key: from the key's PIN policy when the card reports it, else the PIV
/// default for the slot (9C: PIN always, 9E: no PIN, others: PIN).
pub fn pin_role(slot: KeyRef, metadata: Option<&Metadata>) -> u32 {
    match metadata.and_then(|m| m.pin_policy) {
        Some(PinPolicy::Never) => ROLE_EVERYONE,
        Some(PinPolicy::Always | PinPolicy::MatchAlways) => ROLE_PIN_ALWAYS,
        Some(PinPolicy::Once | PinPolicy::MatchOnce) => ROLE_USER,
        Some(PinPolicy::Default) | None => match slot {
            KeyRef::SIGNATURE => ROLE_PIN_ALWAYS,
            KeyRef::CARD_AUTHENTICATION => ROLE_EVERYONE,
            _ => ROLE_USER,
        },
    }
}

/// The Windows inbox driver's container name for the key whose certificate lives in `tag`.
pub fn container_name(guid: &[u8; 16], tag: u32) -> String {
    tessera_piv::objects::chuid::container_name(guid, tag)
}

/// A record for the Yubico map from a container (used when Tessera writes the map).
pub fn to_record(c: &Container) -> ContainerRecord {
    ContainerRecord {
        name: c.name.clone(),
        slot: c.slot,
        key_spec: c.key_spec() as u8,
        key_size_bits: c.key_bits() as u16,
        flags: VALID | if c.default { DEFAULT } else { 0 },
        pin_id: c.pin as u8,
        associated_ecdh_container: c.associated_ecdh.unwrap_or(NO_ECDH_TWIN),
        cert_fingerprint: [0; 20],
    }
}

/// A Yubico container map (5FFF10) rebuilt from what the slots hold, by the same rules as the layout
/// without a map (`ContainerSet::from_slots`: key kinds, ECDH twins, PIN roles, default container),
/// with the indices compacted from 0 (the map's records are its indices) and each twin's pairing
/// following its ECDSA container. A container that `old` already listed for the same slot and key spec
/// keeps its name, so certificates that Windows linked to it stay linked; the old default container stays
/// the default while it exists.
pub fn rebuilt_map(
    slots: &[(KeyRef, SlotContents)],
    naming_guid: &[u8; 16],
    old: Option<&ContainerMap>,
) -> ContainerMap {
    let set = ContainerSet::from_slots(slots, naming_guid);
    let new_index: BTreeMap<u8, u8> = set
        .iter()
        .enumerate()
        .map(|(position, c)| (c.index, position as u8))
        .collect();
    let old_record = |c: &Container| {
        old.and_then(|map| {
            map.records
                .iter()
                .find(|r| r.flags & VALID != 0 && r.slot == c.slot && u32::from(r.key_spec) == c.key_spec())
        })
    };
    let keeps_old_default = set
        .iter()
        .any(|c| old_record(c).is_some_and(|r| r.flags & DEFAULT != 0));
    let records = set
        .iter()
        .map(|c| {
            let previous = old_record(c);
            let default = if keeps_old_default {
                previous.is_some_and(|r| r.flags & DEFAULT != 0)
            } else {
                c.default
            };
            let mut record = to_record(&Container {
                name: previous.map_or_else(|| c.name.clone(), |r| r.name.clone()),
                default,
                associated_ecdh: c.associated_ecdh.and_then(|twin| new_index.get(&twin).copied()),
                ..c.clone()
            });
            if let Some(previous) = previous {
                record.cert_fingerprint = previous.cert_fingerprint;
            }
            record
        })
        .collect();
    ContainerMap { records }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_piv::AlgorithmId;

    fn with_key(algorithm: AlgorithmId, point: Vec<u8>) -> SlotContents {
        SlotContents {
            certificate: None,
            metadata: Some(Metadata {
                algorithm: Some(algorithm),
                public_key: Some(PublicKey::Ecc { algorithm, point }),
                ..Metadata::default()
            }),
            no_key: false,
        }
    }

    #[test]
    fn rebuilt_map_is_compact_keeps_names_and_pairs_twins() {
        let mut p256 = vec![0x04];
        p256.extend_from_slice(&[0x11; 64]);
        let slots = [
            (
                KeyRef::KEY_MANAGEMENT,
                with_key(AlgorithmId::ECCP256, p256.clone()),
            ),
            (KeyRef(0x83), with_key(AlgorithmId::ECCP256, p256)),
        ];
        let map = rebuilt_map(&slots, &[7; 16], None);
        // 9D → ECDSA + ECDH twin, 83 → ECDSA + ECDH twin: four records, indices 0..4.
        let specs: Vec<(KeyRef, u8, u8)> = map
            .records
            .iter()
            .map(|r| (r.slot, r.key_spec, r.associated_ecdh_container))
            .collect();
        assert_eq!(
            specs,
            [
                (KeyRef::KEY_MANAGEMENT, 3, 2),
                (KeyRef(0x83), 3, 3),
                (KeyRef::KEY_MANAGEMENT, 6, 0xFF),
                (KeyRef(0x83), 6, 0xFF),
            ]
        );
        assert_eq!(map.records.iter().filter(|r| r.flags & 0x02 != 0).count(), 1);
        // A second rebuild with a renamed record keeps that name and its default flag.
        let mut old = map.clone();
        old.records[1].name = "kept-name".into();
        for r in &mut old.records {
            r.flags = 0x01;
        }
        old.records[1].flags = 0x03;
        let again = rebuilt_map(&slots, &[7; 16], Some(&old));
        assert_eq!(again.records[1].name, "kept-name");
        assert_eq!(again.records[1].flags, 0x03);
        assert_eq!(again.records[0].flags, 0x01);
        assert_eq!(again.records[0].name, map.records[0].name);
    }

    #[test]
    fn keys_without_a_windows_key_spec_are_no_containers() {
        let mut p256 = vec![0x04];
        p256.extend_from_slice(&[0x11; 64]);
        let slots = [
            (
                KeyRef::AUTHENTICATION,
                with_key(AlgorithmId::ED25519, vec![0x22; 32]),
            ),
            (
                KeyRef::KEY_MANAGEMENT,
                with_key(AlgorithmId::X25519, vec![0x33; 32]),
            ),
            (KeyRef::SIGNATURE, with_key(AlgorithmId::ECCP256, p256)),
        ];
        let set = ContainerSet::from_slots(&slots, &[0; 16]);
        let listed: Vec<KeyRef> = set.iter().map(|c| c.slot).collect();
        assert!(!listed.is_empty(), "the P-256 key is a container");
        assert!(listed.iter().all(|&s| s == KeyRef::SIGNATURE), "{listed:?}");
    }
}
