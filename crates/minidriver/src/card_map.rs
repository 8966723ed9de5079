//! The container map on the card: Yubico's 5FFF10 (`tessera_piv::objects::ContainerMap`, 107-byte records
//! that carry the PIV slot), record i for container index i. It is the module's persistent index → slot
//! map, and what Yubico's minidriver, yubico-piv-tool and the `yubikey` crate read too.
//!
//! * A card without a map gets one at its first write, holding the layout the card shows today (see
//!   [`crate::containers`]) so that no container moves; containers a map cannot hold (indices from 28 on:
//!   the ECDH twins of retired slots) stay where they are, shown as keys the map does not represent.
//! * A `cmapfile` write ([`CardContext::write_cmapfile`]) becomes map records: the CSP's name, flags and
//!   sizes, with each index's slot, key spec, PIN and ECDH pairing kept (they are the module's). A record
//!   for an index with no key is kept as written, bound to no slot (slot `00`), and never shown as a
//!   usable container; a later `CardCreateContainer` on that index binds it. Records beyond the end of
//!   the CSP's file are kept.
//! * A deleted container's record keeps its slot with its flags cleared (see [`crate::enroll`]).

use sha1::{Digest, Sha1};
use tessera_piv::KeyRef;
use tessera_piv::objects::{
    CONTAINER_MAP_VALID_CONTAINER, CmapRecord, ContainerMap, ContainerRecord, MAX_CONTAINER_RECORDS,
    ObjectError, tags,
};

use crate::containers::{Container, ContainerSet, to_record};
use crate::context::{CardContext, OwnWrite};
use crate::error::{MdError, Result};

/// The slot of a record bound to no key yet.
pub(crate) const UNBOUND: KeyRef = KeyRef(0x00);

/// An empty record (what a never-used index holds).
pub(crate) fn empty_record() -> ContainerRecord {
    ContainerRecord {
        name: String::new(),
        slot: UNBOUND,
        key_spec: 0,
        key_size_bits: 0,
        flags: 0,
        pin_id: 0,
        associated_ecdh_container: 0,
        cert_fingerprint: [0; 20],
    }
}

/// The record for container `c` (its certificate's SHA-1 fingerprint included, as Yubico's records carry).
pub(crate) fn record_of(c: &Container) -> ContainerRecord {
    let mut record = to_record(c);
    if let Some(der) = &c.certificate {
        record.cert_fingerprint.copy_from_slice(&Sha1::digest(der));
    }
    record
}

/// The map that holds `set` as it is: a record per container at its index, up to what a map holds.
pub(crate) fn materialized(set: &ContainerSet) -> ContainerMap {
    let mut records: Vec<ContainerRecord> = Vec::new();
    for c in set
        .iter()
        .filter(|c| usize::from(c.index) < MAX_CONTAINER_RECORDS)
    {
        let at = usize::from(c.index);
        if records.len() <= at {
            records.resize_with(at + 1, empty_record);
        }
        records[at] = record_of(c);
    }
    ContainerMap { records }
}

/// `map` with the CSP's `cmapfile` records written over it (see the module documentation). `view` is
/// what the module shows for each index (slots of containers the map does not list yet).
pub(crate) fn merged(map: &ContainerMap, file: &[CmapRecord], view: &ContainerSet) -> Result<ContainerMap> {
    let mut records = map.records.clone();
    for (i, written) in file.iter().enumerate() {
        let shown = u8::try_from(i).ok().and_then(|i| view.get(i).ok());
        if i >= MAX_CONTAINER_RECORDS {
            // Beyond what a map holds: only what the module already shows there (or nothing) is accepted.
            let empty = written.flags & CONTAINER_MAP_VALID_CONTAINER == 0;
            if empty || shown.is_some_and(|c| c.name == written.name) {
                continue;
            }
            return Err(MdError::CardFull);
        }
        if records.len() <= i {
            records.resize_with(i + 1, empty_record);
        }
        let old = &records[i];
        let mut record = if old.slot.is_key_slot() {
            old.clone()
        } else if let Some(c) = shown {
            record_of(c)
        } else {
            ContainerRecord {
                key_spec: old.key_spec,
                ..empty_record()
            }
        };
        record.name = written.name.clone();
        record.flags = written.flags;
        let size = written.sig_key_size_bits.max(written.key_exchange_key_size_bits);
        if size != 0 {
            record.key_size_bits = size;
        }
        records[i] = record;
    }
    Ok(ContainerMap { records })
}

impl CardContext {
    /// The container map to change: the one on the card, or, when the card has none, the layout the card
    /// shows now. Not stored here.
    pub(crate) fn map_for_update(&mut self) -> Result<ContainerMap> {
        let stored = match self.current_map() {
            Some(known) => known,
            None => self.stored_container_map()?,
        };
        if let Some(map) = stored {
            return Ok(map);
        }
        let map = materialized(self.containers()?);
        tracing::info!(
            "the card has no container map: its {} containers become its first records",
            map.records.iter().filter(|r| r.slot.is_key_slot()).count()
        );
        Ok(map)
    }

    /// Stores `map` in 5FFF10 (needs write rights); the containers follow the stored map without
    /// reading the card again, and after a failed write they are read again on next use. A map the card
    /// cannot hold is `SCARD_E_WRITE_TOO_MANY`, with nothing written.
    pub(crate) fn store_map(&mut self, map: &ContainerMap) -> Result<()> {
        let encoded = map.encode().map_err(|e| match e {
            ObjectError::TooLarge { .. } => MdError::CardFull,
            _ => MdError::InvalidParameter("a container name the map cannot hold"),
        })?;
        if let Err(e) = self.write(|s| s.put_data(tags::YUBICO_CONTAINER_MAP, &encoded)) {
            self.invalidate_containers();
            return Err(e);
        }
        self.note_own_write(OwnWrite::Map(&encoded));
        self.vendor_objects = Some(true);
        Ok(())
    }

    /// `CardWriteFile(mscp/cmapfile)`: the CSP's records become map records (module documentation).
    pub(crate) fn write_cmapfile(&mut self, data: &[u8]) -> Result<()> {
        let file = CmapRecord::parse_file(data)
            .map_err(|_| MdError::InvalidParameter("cmapfile: not a list of 86-byte records"))?;
        // The containers first: a scan reads the container map, which the update then starts from.
        let view = self.containers()?.clone();
        let map = self.map_for_update()?;
        let map = merged(&map, &file, &view)?;
        self.store_map(&map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmap(name: &str, flags: u8, kx: u16) -> CmapRecord {
        CmapRecord {
            name: name.into(),
            flags,
            reserved: 0,
            sig_key_size_bits: 0,
            key_exchange_key_size_bits: kx,
        }
    }

    fn bound(slot: u8, name: &str) -> ContainerRecord {
        ContainerRecord {
            name: name.into(),
            slot: KeyRef(slot),
            key_spec: 1,
            key_size_bits: 2048,
            flags: 1,
            pin_id: 1,
            associated_ecdh_container: 0xFF,
            cert_fingerprint: [7; 20],
        }
    }

    #[test]
    fn a_cmapfile_write_keeps_each_index_slot_and_takes_the_csps_names() {
        let map = ContainerMap {
            records: vec![bound(0x9A, "old-a"), bound(0x9D, "old-d"), bound(0x82, "beyond")],
        };
        let file = [
            cmap("{guid-a}", 3, 2048),
            cmap("", 0, 0), // the CSP deleted container 1: slot kept, flags cleared
                            // no record for index 2: kept as it was
        ];
        let merged = merged(&map, &file, &ContainerSet::default()).unwrap();
        assert_eq!(merged.records.len(), 3);
        assert_eq!(merged.records[0].slot, KeyRef(0x9A));
        assert_eq!(merged.records[0].name, "{guid-a}");
        assert_eq!(merged.records[0].flags, 3);
        assert_eq!(merged.records[0].cert_fingerprint, [7; 20]);
        assert_eq!(merged.records[1].slot, KeyRef(0x9D));
        assert_eq!(merged.records[1].flags, 0);
        assert_eq!(merged.records[2], map.records[2]);
    }

    #[test]
    fn a_record_for_an_index_without_a_key_is_kept_unbound() {
        let file = [cmap("", 0, 0), cmap("{new}", 1, 2048)];
        let merged = merged(&ContainerMap::default(), &file, &ContainerSet::default()).unwrap();
        assert_eq!(merged.records[1].slot, UNBOUND);
        assert_eq!(merged.records[1].name, "{new}");
        assert_eq!(merged.records[1].flags, 1);
        assert_eq!(merged.records[0], empty_record());
    }

    #[test]
    fn records_beyond_a_maps_capacity_are_refused_unless_already_shown() {
        let mut file = vec![cmap("", 0, 0); MAX_CONTAINER_RECORDS];
        file.push(cmap("{far}", 1, 256));
        assert!(matches!(
            merged(&ContainerMap::default(), &file, &ContainerSet::default()),
            Err(MdError::CardFull)
        ));
        file.pop();
        file.push(cmap("", 0, 0));
        assert!(merged(&ContainerMap::default(), &file, &ContainerSet::default()).is_ok());
    }
}
