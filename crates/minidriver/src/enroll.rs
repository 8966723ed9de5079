//! Containers made and removed by the CSP: `CardCreateContainer(Ex)` and `CardDeleteContainer`
//! (Smart Card Minidriver Specification 7.07 §4.4).
//!
//! # Creating (key → certificate object → container map)
//! The key is generated on the card (GENERATE ASYMMETRIC KEY PAIR) or imported (Yubico's IMPORT
//! ASYMMETRIC KEY) into the container's slot: the slot its map record names when the index already
//! holds a container (overwriting a container regenerates its key in its slot), else a free slot chosen
//! as [`crate::slots`] says. The key's PIV PIN policy comes from the container's PIN: ROLE_USER →
//! once, the PIN-always role → always, ROLE_EVERYONE → never; its touch policy from the policy setting
//! `NewKeyTouchPolicy` ([`crate::policy`]). Then an overwritten key's certificate, which no longer
//! matches, is cleared; then the map record binds the index to the slot. The CSP writes `cmapfile` and
//! `cardcf` afterwards (the freshness, last). Cut at any APDU: before the key, nothing changed; after
//! it, the new key sits in a slot no other container uses, and the map does not yet point at it (a
//! key without a record is still shown, see [`crate::containers::ContainerSet::from_map`]).
//!
//! # Deleting (container map → key)
//! The reverse order, so that the map never points at a missing key: the record first loses its flags
//! (it keeps its slot, so the deleted container stays deleted and its slot is reused only by its own
//! index while it still holds something), then the key is deleted with Yubico's MOVE/DELETE KEY
//! (firmware 5.7 and later). A card without that instruction keeps the key: the module clears the slot's
//! certificate instead, so the slot counts as free again and the next key generated there overwrites
//! the old one. A key another container still uses (the ECDSA and ECDH containers of one EC key) is
//! never deleted: only the container's record goes. The certificate is the CSP's to delete
//! (`CardDeleteFile`).

use tessera_piv::commands::KeyOrigin;
use tessera_piv::objects::{
    CONTAINER_MAP_DEFAULT_CONTAINER, CONTAINER_MAP_VALID_CONTAINER, CertificateObject, ContainerRecord,
    MAX_CONTAINER_RECORDS,
};
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy};

use crate::card_map::{empty_record, record_of};
use crate::containers::{Container, ContainerKind, container_name, spec};
use crate::context::{CardContext, OwnWrite};
use crate::error::{MdError, Result};
use crate::key_import::{self, ImportedKey};
use crate::pins::{ROLE_ADMIN, ROLE_EVERYONE, ROLE_PIN_ALWAYS, ROLE_USER};
use crate::slots::{self, Purpose};

pub(crate) use windows_sys::Win32::Security::Cryptography::{
    CARD_CREATE_CONTAINER_KEY_GEN as KEY_GEN, CARD_CREATE_CONTAINER_KEY_IMPORT as KEY_IMPORT,
};

/// Why a card is presented read-only.
pub(crate) const READ_ONLY: &str =
    "the card keeps no vendor objects (5FFFxx), so it cannot keep a container map: it is presented read-only";

/// A checked `CardCreateContainer(Ex)` request: everything that needs no card traffic is decided here.
#[derive(Debug)]
pub(crate) struct ContainerRequest {
    /// The container index.
    pub index: u8,
    /// `dwKeySpec`.
    pub key_spec: u32,
    /// The key's card algorithm.
    pub algorithm: AlgorithmId,
    /// The container's PIN role (`PIN_ID`).
    pub pin_role: u32,
    /// The key to import; `None` generates one on the card.
    pub import: Option<ImportedKey>,
}

impl ContainerRequest {
    /// Checks the arguments in the specification's order: conditions the module does not support first,
    /// then invalid ones. `key_blob` is the whole private-key blob for an import (see
    /// [`crate::key_import`]), `None` when `pbKeyData` was NULL.
    pub(crate) fn new(
        index: u8,
        flags: u32,
        key_spec: u32,
        key_bits: u32,
        key_blob: Option<&[u8]>,
        pin_role: u32,
    ) -> Result<Self> {
        if matches!(key_spec, spec::AT_ECDSA_P521 | spec::AT_ECDHE_P521) {
            return Err(MdError::Unsupported("P-521 is not a PIV curve"));
        }
        if flags != KEY_GEN && flags != KEY_IMPORT {
            return Err(MdError::InvalidParameter("flags: KEY_GEN or KEY_IMPORT"));
        }
        spec::check(key_spec)?;
        if pin_role == ROLE_ADMIN {
            return Err(MdError::SecurityViolation(
                "a container cannot be bound to the administrator",
            ));
        }
        if !matches!(pin_role, ROLE_EVERYONE | ROLE_USER | ROLE_PIN_ALWAYS) {
            return Err(MdError::InvalidParameter("PIN identifier for a container"));
        }
        let algorithm = algorithm_for(key_spec, key_bits)?;
        let import = if flags == KEY_IMPORT {
            let blob = key_blob.ok_or(MdError::InvalidParameter("pbKeyData is NULL"))?;
            Some(key_import::parse(key_spec, key_bits, blob)?)
        } else {
            None
        };
        if usize::from(index) >= MAX_CONTAINER_RECORDS {
            return Err(MdError::NoKeyContainer);
        }
        Ok(Self {
            index,
            key_spec,
            algorithm: import.as_ref().map_or(algorithm, |k| k.algorithm),
            pin_role,
            import,
        })
    }

    /// The key's PIV PIN policy.
    pub(crate) fn pin_policy(&self) -> PinPolicy {
        match self.pin_role {
            ROLE_EVERYONE => PinPolicy::Never,
            ROLE_PIN_ALWAYS => PinPolicy::Always,
            _ => PinPolicy::Once,
        }
    }

    fn purpose(&self) -> Purpose {
        if self.key_spec == spec::AT_SIGNATURE {
            Purpose::SignatureOnly
        } else {
            Purpose::General
        }
    }
}

/// The card algorithm of a key spec and size (`0` for elliptic curves, or the curve's size).
fn algorithm_for(key_spec: u32, key_bits: u32) -> Result<AlgorithmId> {
    match key_spec {
        spec::AT_KEYEXCHANGE | spec::AT_SIGNATURE => match key_bits {
            // The CSP asks for 0 with an import (the blob carries the size).
            0 => Ok(AlgorithmId::RSA2048),
            bits => AlgorithmId::rsa(bits).ok_or(MdError::InvalidParameter("RSA key size")),
        },
        spec::AT_ECDSA_P256 | spec::AT_ECDHE_P256 if matches!(key_bits, 0 | 256) => Ok(AlgorithmId::ECCP256),
        spec::AT_ECDSA_P384 | spec::AT_ECDHE_P384 if matches!(key_bits, 0 | 384) => Ok(AlgorithmId::ECCP384),
        _ => Err(MdError::InvalidParameter(
            "dwKeySize must be 0 or the curve's size for an EC key",
        )),
    }
}

impl CardContext {
    /// Whether the module can write to this card (it keeps the container map): the truth behind
    /// `CP_CARD_READ_ONLY`, `CP_SUPPORTS_WIN_X509_ENROLLMENT` and `fKeyGen`.
    pub(crate) fn writable(&mut self) -> Result<bool> {
        self.keeps_vendor_objects()
    }

    /// Whether the card imports keys (Yubico's IMPORT ASYMMETRIC KEY: cards that report a YubiKey firmware
    /// version, and that the module can write to).
    pub(crate) fn imports_keys(&mut self) -> Result<bool> {
        Ok(self.version().is_some() && self.writable()?)
    }

    /// `CardCreateContainer(Ex)`: see the module documentation for the order of the writes.
    pub(crate) fn create_container(&mut self, request: ContainerRequest) -> Result<()> {
        if !self.writable()? {
            return Err(MdError::Unsupported(READ_ONLY));
        }
        if request.import.is_some() && !self.imports_keys()? {
            return Err(MdError::Unsupported("this card cannot import keys"));
        }
        if request.algorithm.is_rsa() {
            let bits = request.algorithm.key_bits().unwrap_or(0);
            let sizes = self.key_sizes(request.key_spec)?;
            if bits < sizes.minimum || bits > sizes.maximum {
                return Err(MdError::Unsupported("RSA key size not supported by this card"));
            }
        }
        if !self.auth.user {
            return Err(MdError::SecurityViolation(
                "creating a container needs the user PIN",
            ));
        }
        let index = request.index;
        // The containers first: a scan reads the container map, which the update then starts from.
        let set = self.containers()?.clone();
        let mut map = self.map_for_update()?;
        // The slot this index is bound to, unless another container uses it now (a deleted container's
        // record keeps a slot that may have been given to another index once it was empty).
        let bound = map
            .records
            .get(usize::from(index))
            .map(|r| r.slot)
            .filter(|s| s.is_key_slot())
            .or_else(|| set.get(index).ok().map(|c| c.slot))
            .filter(|&slot| {
                let own = set.get(index).ok();
                let paired = |c: &Container| {
                    own.is_some_and(|o| {
                        o.associated_ecdh == Some(c.index) || c.associated_ecdh == Some(index)
                    })
                };
                !set.iter()
                    .any(|c| c.index != index && c.slot == slot && !paired(c))
            });
        let slot = match bound {
            Some(slot) => slot,
            None => self
                .free_slot(&map, index, request.purpose())?
                .ok_or(MdError::CardFull)?,
        };
        self.ensure_write_rights()?;

        // 1. The key.
        let touch = self.policy.new_key_touch;
        let pin = request.pin_policy();
        let (written, origin) = match &request.import {
            None => (
                self.write(|s| s.generate_key_pair(slot, request.algorithm, pin, touch)),
                KeyOrigin::Generated,
            ),
            Some(key) => (
                self.write(|s| s.import_key(slot, key.algorithm, &key.as_import(), pin, touch))
                    .map(|()| key.public_key.clone()),
                KeyOrigin::Imported,
            ),
        };
        let public_key = match written {
            Ok(key) => key,
            Err(e) => {
                // The slot may hold a new key or the old one: the next use reads the card.
                self.invalidate_containers();
                return Err(e);
            }
        };
        self.note_own_write(OwnWrite::Key {
            slot,
            public_key: &public_key,
            pin,
            touch,
            origin,
        });
        tracing::info!(
            "container {index}: new {:?} key in slot {slot} (PIN {pin:?}, touch {touch:?})",
            request.algorithm
        );
        // 2. The certificate object: an overwritten key's certificate describes the old key.
        if bound.is_some() {
            match self.certificate(slot)? {
                Some(_) => self.clear_certificate(slot)?,
                // Already empty: what the containers knew of it (perhaps from the CSP's cache) gives way.
                None => self.note_own_write(OwnWrite::Certificate(slot, None)),
            }
        }
        // 3. The map record.
        if map.records.len() <= usize::from(index) {
            map.records.resize_with(usize::from(index) + 1, empty_record);
        }
        let old = &map.records[usize::from(index)];
        let name = if old.name.is_empty() {
            let guid = self.identity()?.naming_guid;
            container_name(&guid, slot.certificate_object().unwrap_or(0))
        } else {
            old.name.clone()
        };
        map.records[usize::from(index)] = ContainerRecord {
            name,
            slot,
            key_spec: request.key_spec as u8,
            key_size_bits: public_key.algorithm().key_bits().unwrap_or(0) as u16,
            flags: CONTAINER_MAP_VALID_CONTAINER | (old.flags & CONTAINER_MAP_DEFAULT_CONTAINER),
            pin_id: request.pin_role as u8,
            associated_ecdh_container: 0xFF,
            cert_fingerprint: [0; 20],
        };
        self.store_map(&map)
    }

    /// The first slot for `purpose` that no container, map record or key of another index holds.
    fn free_slot(
        &mut self,
        map: &tessera_piv::objects::ContainerMap,
        index: u8,
        purpose: Purpose,
    ) -> Result<Option<KeyRef>> {
        let in_use: Vec<KeyRef> = self
            .containers()?
            .iter()
            .filter(|c| c.index != index)
            .map(|c| c.slot)
            .collect();
        for slot in slots::candidates(purpose) {
            if in_use.contains(&slot) {
                continue;
            }
            let occupied = self.slot_contents_now(slot)?.is_occupied();
            let claimed = map.records.iter().enumerate().any(|(i, r)| {
                i != usize::from(index)
                    && r.slot == slot
                    && (r.flags & CONTAINER_MAP_VALID_CONTAINER != 0 || occupied)
            });
            if !occupied && !claimed {
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }

    /// Clears the certificate object of `slot` (PUT DATA with an empty object).
    pub(crate) fn clear_certificate(&mut self, slot: KeyRef) -> Result<()> {
        let tag = slot.certificate_object().ok_or(MdError::Unexpected(format!(
            "slot {slot} has no certificate object"
        )))?;
        let result = self.write(|s| s.put_data(tag, &[]));
        match &result {
            Ok(()) => {
                self.note_certificate_object_written(slot, None);
                self.note_own_write(OwnWrite::Certificate(slot, None));
            }
            Err(_) => self.invalidate_containers(),
        }
        result
    }

    /// `CardDeleteContainer`: see the module documentation for the order. An index that holds no
    /// container is a success, as the specification asks.
    pub(crate) fn delete_container(&mut self, index: u8) -> Result<()> {
        if u32::from(index) >= crate::properties::MAX_CONTAINERS {
            return Ok(());
        }
        if !self.writable()? {
            return Err(MdError::Unsupported(READ_ONLY));
        }
        let Some(container) = self.containers()?.get(index).ok().cloned() else {
            return Ok(());
        };
        if !self.auth.user && !self.auth.admin {
            return Err(MdError::SecurityViolation(
                "deleting a container needs the user PIN",
            ));
        }
        if usize::from(index) >= MAX_CONTAINER_RECORDS {
            return Err(MdError::Unsupported(
                "a container beyond the container map's 28 records cannot be deleted",
            ));
        }
        let slot = container.slot;
        // An ECDSA container's ECDH twins (the same key shown for agreement) go with it; any other
        // container on the slot keeps the key.
        let (twins, others): (Vec<&Container>, Vec<&Container>) = self
            .containers()?
            .iter()
            .filter(|c| c.index != index && c.slot == slot)
            .partition(|c| container.kind == ContainerKind::Ecdsa && c.kind == ContainerKind::Ecdh);
        let shared = !others.is_empty();
        let twins: Vec<u8> = if shared {
            Vec::new()
        } else {
            twins.iter().map(|c| c.index).collect()
        };
        // 1. The map record (and its twins' records) lose their flags and keep their slot.
        let mut map = self.map_for_update()?;
        if map.records.len() <= usize::from(index) {
            map.records.resize_with(usize::from(index) + 1, empty_record);
        }
        let record = &mut map.records[usize::from(index)];
        if !record.slot.is_key_slot() {
            *record = record_of(&container);
        }
        record.flags = 0;
        for twin in &twins {
            if let Some(r) = map.records.get_mut(usize::from(*twin))
                && r.slot == slot
            {
                r.flags = 0;
            }
        }
        self.store_map(&map)?;
        tracing::info!("container {index} (slot {slot}) deleted from the container map");
        if shared {
            return Ok(());
        }
        // 2. The key. A card that does not say it is older than 5.7 is asked (a garbled GET VERSION
        // answer must not leave the key behind); one that does not know the instruction keeps the key.
        // The containers follow what the card answered; after a failure they are read again.
        let deleted = if self.deletes_keys() {
            let deletion = self.write(|s| {
                use tessera_piv::StatusWord as Sw;
                match s.delete_key(slot) {
                    Ok(()) => Ok(Some(true)),
                    Err(e) if e.status_word() == Some(Sw::NOT_FOUND) => Ok(Some(false)),
                    Err(e)
                        if e.status_word().is_some_and(|sw| {
                            [
                                Sw::INS_NOT_SUPPORTED,
                                Sw::FUNCTION_NOT_SUPPORTED,
                                Sw::INCORRECT_P1P2,
                            ]
                            .contains(&sw)
                        }) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            });
            deletion.inspect_err(|_| self.invalidate_containers())?
        } else {
            None
        };
        match deleted {
            Some(true) => {
                tracing::info!("key of slot {slot} deleted");
                self.note_own_write(OwnWrite::KeyDeleted(slot));
            }
            Some(false) => self.note_own_write(OwnWrite::KeyDeleted(slot)),
            None if self.certificate(slot)?.is_some() => {
                tracing::info!("the card cannot delete keys: slot {slot} freed by clearing its certificate");
                self.clear_certificate(slot)?;
            }
            None => {}
        }
        Ok(())
    }

    /// Yubico's MOVE/DELETE KEY exists from firmware 5.7; a card whose version is unknown is asked.
    fn deletes_keys(&mut self) -> bool {
        self.version().is_none_or(|v| (v.major, v.minor) >= (5, 7))
    }

    /// Stores `der` as the certificate of `slot`: plain when the object fits the card's limit, gzip with
    /// CertInfo `01` when only that fits, `SCARD_E_WRITE_TOO_MANY` (nothing written) otherwise.
    pub(crate) fn store_certificate(&mut self, slot: KeyRef, der: &[u8]) -> Result<()> {
        let tag = slot.certificate_object().ok_or(MdError::Unexpected(format!(
            "slot {slot} has no certificate object"
        )))?;
        let limit = tessera_piv::objects::YUBICO_MAX_OBJECT_CONTENT;
        let mut object = CertificateObject::new(der.to_vec());
        let mut encoded = object
            .encode()
            .map_err(|_| MdError::InvalidParameter("certificate"))?;
        if encoded.len() > limit {
            object.compression = tessera_piv::objects::Compression::Gzip;
            encoded = object
                .encode()
                .map_err(|_| MdError::InvalidParameter("certificate"))?;
            tracing::info!(
                "certificate of slot {slot} stored gzip-compressed ({} bytes)",
                encoded.len()
            );
        }
        if encoded.len() > limit {
            return Err(MdError::CardFull);
        }
        let result = self.write(|s| s.put_data(tag, &encoded));
        match &result {
            Ok(()) => {
                self.note_certificate_object_written(slot, Some(&encoded));
                self.note_own_write(OwnWrite::Certificate(slot, Some(der)));
            }
            Err(_) => self.invalidate_containers(),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_without_the_card() {
        let ok = ContainerRequest::new(0, KEY_GEN, spec::AT_KEYEXCHANGE, 2048, None, ROLE_USER).unwrap();
        assert_eq!(
            (ok.algorithm, ok.pin_policy()),
            (AlgorithmId::RSA2048, PinPolicy::Once)
        );
        let ec = ContainerRequest::new(5, KEY_GEN, spec::AT_ECDSA_P384, 0, None, ROLE_PIN_ALWAYS).unwrap();
        assert_eq!(
            (ec.algorithm, ec.pin_policy()),
            (AlgorithmId::ECCP384, PinPolicy::Always)
        );
        let none = ContainerRequest::new(1, KEY_GEN, spec::AT_ECDHE_P256, 256, None, ROLE_EVERYONE).unwrap();
        assert_eq!(none.pin_policy(), PinPolicy::Never);
        let code = |r: Result<ContainerRequest>| r.map(|_| 0).unwrap_or_else(|e| e.code());
        use crate::codes::*;
        // Unsupported before invalid: a P-521 request with bad flags is unsupported.
        assert_eq!(
            code(ContainerRequest::new(0, 0, spec::AT_ECDSA_P521, 0, None, 1)),
            SCARD_E_UNSUPPORTED_FEATURE
        );
        assert_eq!(
            code(ContainerRequest::new(0, 3, spec::AT_KEYEXCHANGE, 2048, None, 1)),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(ContainerRequest::new(0, 1, 9, 2048, None, 1)),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(ContainerRequest::new(0, 1, spec::AT_KEYEXCHANGE, 2000, None, 1)),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(ContainerRequest::new(0, 1, spec::AT_ECDSA_P256, 384, None, 1)),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(ContainerRequest::new(0, 1, spec::AT_KEYEXCHANGE, 2048, None, 2)),
            SCARD_W_SECURITY_VIOLATION
        );
        assert_eq!(
            code(ContainerRequest::new(0, 1, spec::AT_KEYEXCHANGE, 2048, None, 4)),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(ContainerRequest::new(0, 2, spec::AT_KEYEXCHANGE, 2048, None, 1)),
            SCARD_E_INVALID_PARAMETER
        );
        assert_eq!(
            code(ContainerRequest::new(28, 1, spec::AT_KEYEXCHANGE, 2048, None, 1)),
            SCARD_E_NO_KEY_CONTAINER
        );
        assert_eq!(
            ContainerRequest::new(0, KEY_GEN, spec::AT_SIGNATURE, 3072, None, ROLE_USER)
                .unwrap()
                .purpose(),
            Purpose::SignatureOnly
        );
    }
}
