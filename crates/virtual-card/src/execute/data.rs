//! GET DATA and PUT DATA, with a YubiKey 5's storage limits.

use tessera_piv::objects::tags;
use tessera_piv::{StatusWord, tlv};

use super::Engine;
use crate::command::{Reply, wrapper_tag};
use crate::state::ObjectValue;

/// Largest object value (the bytes inside `53`): libykpiv's `CB_OBJ_MAX` (3072-byte buffer minus 9), so
/// a certificate object holding a 3052-byte certificate (`70 82 LL LL <3052> 71 01 00 FE 00`) fits.
pub const MAX_OBJECT_LEN: usize = 3063;
/// Total bytes of object values the card stores, about what a YubiKey 5 offers.
pub const MAX_TOTAL_OBJECT_BYTES: usize = 51_000;
/// Objects that can be read only after VERIFY (fingerprints, facial image, printed information, iris,
/// pairing code).
pub const PIN_PROTECTED_OBJECTS: [u32; 5] = [
    tags::FINGERPRINTS,
    tags::FACIAL_IMAGE,
    tags::PRINTED_INFORMATION,
    tags::IRIS_IMAGES,
    tags::PAIRING_CODE,
];

impl Engine {
    pub(super) fn get_data(&mut self, tag: u32) -> Reply {
        // As a YubiKey: the security check comes first, so absence of a protected object is not revealed.
        if PIN_PROTECTED_OBJECTS.contains(&tag) && !self.volatile.pin_verified {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let value = self.persistent.objects.get(&tag).ok_or(StatusWord::NOT_FOUND)?;
        tlv::encode(wrapper_tag(tag), value.as_bytes()).map_err(|_| StatusWord::UNKNOWN_ERROR)
    }

    pub(super) fn put_data(&mut self, tag: u32, value: ObjectValue) -> Reply {
        self.require_management()?;
        if value.is_empty() {
            if self.persistent.objects.contains_key(&tag) {
                self.persistent_mut().objects.remove(&tag);
            }
            return Ok(Vec::new());
        }
        if value.len() > MAX_OBJECT_LEN {
            return Err(StatusWord::NOT_ENOUGH_MEMORY);
        }
        let old = self.persistent.objects.get(&tag).map_or(0, ObjectValue::len);
        let total = self.persistent.object_bytes().saturating_sub(old) + value.len();
        if total > MAX_TOTAL_OBJECT_BYTES {
            return Err(StatusWord::NOT_ENOUGH_MEMORY);
        }
        self.persistent_mut().objects.insert(tag, value);
        Ok(Vec::new())
    }
}
