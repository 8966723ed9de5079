//! Yubico PIN-protected data (tag 5FC109 on YubiKeys, where the standard puts the printed information):
//! `88 { 81 flags, 89 management key }`, readable only after VERIFY PIN.
//!
//! Source: yubico-piv-tool `lib/internal.h` (`TAG_PROTECTED*`, `PROTECTED_FLAGS_1_PUK_NOBLOCK`) and
//! `lib/util.c` (`ykpiv_util_get_protected_mgm`, `ykpiv_util_set_protected_mgm`); ykman
//! `yubikit/piv.py`. ykmd keeps a random management key here (and flag `02` in the admin data), so a
//! minidriver can act as administrator after a PIN verification alone.
//!
//! Tessera adds one element of its own, `C1` (a private-class tag): the management key the card had
//! before a change, present only while the change is in progress. A change writes `89` (new key) and
//! `C1` (old key) together, then sets the new key on the card, then rewrites the object without `C1`,
//! so that whichever APDU is cut, one of the two is the card's key. Both Yubico parsers take `C1` for
//! what it is, an element they do not know: libykpiv walks the elements of `88` one by one and reads
//! `89` (and keeps the others when it rewrites the key), ykman reads `88`'s elements into a dictionary
//! and reads `89` (and writes back `89` alone).
//!
//! The key bytes are a secret: every value is zeroized on drop and `Debug` prints none of them. The
//! algorithm is not stored; the key length narrows it (16 AES-128, 24 3DES or AES-192, 32 AES-256) and
//! GET METADATA on 9B settles it, so the raw bytes are kept as they are.

use std::fmt;

use zeroize::Zeroizing;

use crate::algorithm::ManagementAlgorithm;
use crate::mgm::ManagementKey;
use crate::objects::{ObjectError, elements, finish, fixed, stored};
use crate::tlv::{self, Builder};

const OBJECT: &str = "Yubico PIN-protected data";

mod tag {
    pub const PROTECTED: u32 = 0x88;
    pub const FLAGS: u32 = 0x81;
    pub const MANAGEMENT_KEY: u32 = 0x89;
    /// Tessera's: the previous management key, present only while a change is in progress.
    pub const PREVIOUS_MANAGEMENT_KEY: u32 = 0xC1;
}

/// Flag `01`: do not block the PUK when upgrading to a PIN-protected management key.
pub const FLAG_PUK_NOBLOCK_ON_UPGRADE: u8 = 0x01;

/// The PIN-protected data. Zeroized on drop; `Debug` shows only lengths.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ProtectedData {
    /// `81`: flags (see [`FLAG_PUK_NOBLOCK_ON_UPGRADE`]).
    pub flags: Option<u8>,
    management_key: Option<Zeroizing<Vec<u8>>>,
    previous_management_key: Option<Zeroizing<Vec<u8>>>,
    other: Vec<(u32, Zeroizing<Vec<u8>>)>,
}

impl ProtectedData {
    /// Protected data holding `key`.
    pub fn with_management_key(key: &ManagementKey) -> Self {
        Self {
            flags: None,
            management_key: Some(Zeroizing::new(key.as_bytes().to_vec())),
            previous_management_key: None,
            other: Vec::new(),
        }
    }

    /// The stored management key bytes, if any.
    pub fn management_key_bytes(&self) -> Option<&[u8]> {
        self.management_key.as_deref().map(Vec::as_slice)
    }

    /// Replaces (or with `None` removes) the stored key.
    pub fn set_management_key(&mut self, key: Option<&ManagementKey>) {
        self.management_key = key.map(|k| Zeroizing::new(k.as_bytes().to_vec()));
    }

    /// The key the card had before a management-key change that is in progress (Tessera's `C1`), if any.
    pub fn previous_management_key_bytes(&self) -> Option<&[u8]> {
        self.previous_management_key.as_deref().map(Vec::as_slice)
    }

    /// Replaces (or with `None` removes) the previous key kept during a change.
    pub fn set_previous_management_key(&mut self, key: Option<&ManagementKey>) {
        self.previous_management_key = key.map(|k| Zeroizing::new(k.as_bytes().to_vec()));
    }

    /// The previous key as a [`ManagementKey`] of `algorithm`, as [`Self::management_key`] gives the
    /// current one.
    pub fn previous_management_key(
        &self,
        algorithm: ManagementAlgorithm,
    ) -> Result<Option<ManagementKey>, ObjectError> {
        key_of(self.previous_management_key_bytes(), algorithm)
    }

    /// The algorithms the stored key's length allows (empty without a key).
    pub fn candidate_algorithms(&self) -> &'static [ManagementAlgorithm] {
        match self.management_key_bytes().map(<[u8]>::len) {
            Some(16) => &[ManagementAlgorithm::Aes128],
            Some(24) => &[ManagementAlgorithm::Tdes, ManagementAlgorithm::Aes192],
            Some(32) => &[ManagementAlgorithm::Aes256],
            _ => &[],
        }
    }

    /// The stored key as a [`ManagementKey`] of `algorithm` (as GET METADATA 9B reports it). No weak-key
    /// check: a key already on the card must stay usable.
    pub fn management_key(
        &self,
        algorithm: ManagementAlgorithm,
    ) -> Result<Option<ManagementKey>, ObjectError> {
        key_of(self.management_key_bytes(), algorithm)
    }

    /// True when the "don't block the PUK" flag is set.
    pub fn puk_noblock_on_upgrade(&self) -> bool {
        self.flags.unwrap_or(0) & FLAG_PUK_NOBLOCK_ON_UPGRADE != 0
    }

    /// The content to store: `88 { [81 01 flags] [89 L key] other… }`, zeroized on drop.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, ObjectError> {
        // Sized up front: a growing buffer would leave copies of the key behind in freed memory.
        let capacity = tlv::encoded_len(tag::FLAGS, 1)
            + self
                .management_key_bytes()
                .map_or(0, |key| tlv::encoded_len(tag::MANAGEMENT_KEY, key.len()))
            + self
                .previous_management_key_bytes()
                .map_or(0, |key| tlv::encoded_len(tag::PREVIOUS_MANAGEMENT_KEY, key.len()))
            + self
                .other
                .iter()
                .map(|(t, value)| tlv::encoded_len(*t, value.len()))
                .sum::<usize>();
        let mut inner = Builder::with_capacity(capacity)
            .tlv_opt(tag::FLAGS, self.flags.as_ref().map(std::slice::from_ref))
            .tlv_opt(tag::MANAGEMENT_KEY, self.management_key_bytes())
            .tlv_opt(tag::PREVIOUS_MANAGEMENT_KEY, self.previous_management_key_bytes());
        for (t, value) in &self.other {
            inner = inner.tlv(*t, value);
        }
        let inner = Zeroizing::new(finish(OBJECT, inner)?);
        let outer = tlv::encode(tag::PROTECTED, &inner).map_err(ObjectError::tlv(OBJECT))?;
        Ok(Zeroizing::new(outer))
    }
}

/// `bytes` as a key of `algorithm`, without the weak-key check (a key already on the card must stay
/// usable).
fn key_of(
    bytes: Option<&[u8]>,
    algorithm: ManagementAlgorithm,
) -> Result<Option<ManagementKey>, ObjectError> {
    bytes
        .map(|bytes| {
            ManagementKey::new_unchecked_strength(algorithm, bytes)
                .map_err(|e| ObjectError::invalid(OBJECT, e.to_string()))
        })
        .transpose()
}

fn check_key_len(len: usize) -> Result<(), ObjectError> {
    if matches!(len, 16 | 24 | 32) {
        Ok(())
    } else {
        Err(ObjectError::invalid(
            OBJECT,
            format!("management key of {len} bytes"),
        ))
    }
}

impl TryFrom<&[u8]> for ProtectedData {
    type Error = ObjectError;

    fn try_from(data: &[u8]) -> Result<Self, ObjectError> {
        let data = stored(OBJECT, data)?;
        let inner = tlv::parse_single(data, tag::PROTECTED).map_err(ObjectError::tlv(OBJECT))?;
        let e = elements(OBJECT, inner)?;
        let management_key = tlv::find(&e, tag::MANAGEMENT_KEY)
            .map(|key| check_key_len(key.len()).map(|()| Zeroizing::new(key.to_vec())))
            .transpose()?;
        // Tessera's own element: one that is not a key is no previous key (and is dropped at the next
        // write), rather than a reason to refuse the current key beside it.
        let previous_management_key = tlv::find(&e, tag::PREVIOUS_MANAGEMENT_KEY)
            .filter(|key| check_key_len(key.len()).is_ok())
            .map(|key| Zeroizing::new(key.to_vec()));
        Ok(Self {
            flags: fixed::<1>(OBJECT, &e, tag::FLAGS)?.map(|[f]| f),
            management_key,
            previous_management_key,
            other: e
                .iter()
                .filter(|t| {
                    !matches!(
                        t.tag,
                        tag::FLAGS | tag::MANAGEMENT_KEY | tag::PREVIOUS_MANAGEMENT_KEY
                    )
                })
                .map(|t| (t.tag, Zeroizing::new(t.value.to_vec())))
                .collect(),
        })
    }
}

impl fmt::Debug for ProtectedData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedData")
            .field("flags", &self.flags)
            .field(
                "management_key",
                &self
                    .management_key_bytes()
                    .map(|k| format!("<redacted {} bytes>", k.len())),
            )
            .field(
                "previous_management_key",
                &self
                    .previous_management_key_bytes()
                    .map(|k| format!("<redacted {} bytes>", k.len())),
            )
            .field("other", &format_args!("<{} redacted elements>", self.other.len()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::literal as hex;
    use crate::mgm::DEFAULT_MANAGEMENT_KEY;

    #[test]
    fn tdes_key_byte_exact() {
        // libykpiv `ykpiv_util_set_protected_mgm`: 88 1A 89 18 <24-byte key>.
        let key = ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap();
        let pd = ProtectedData::with_management_key(&key);
        let bytes = pd.encode().unwrap();
        let mut expected = hex("88 1A 89 18");
        expected.extend_from_slice(&DEFAULT_MANAGEMENT_KEY);
        assert_eq!(*bytes, expected);
        let back = ProtectedData::try_from(&bytes[..]).unwrap();
        assert_eq!(back, pd);
        assert_eq!(
            back.candidate_algorithms(),
            [ManagementAlgorithm::Tdes, ManagementAlgorithm::Aes192]
        );
        assert_eq!(
            back.management_key(ManagementAlgorithm::Aes192)
                .unwrap()
                .unwrap()
                .as_bytes(),
            &DEFAULT_MANAGEMENT_KEY
        );
        assert!(back.management_key(ManagementAlgorithm::Aes128).is_err());
    }

    #[test]
    fn aes_keys_and_flags() {
        for (len, alg) in [
            (16, ManagementAlgorithm::Aes128),
            (32, ManagementAlgorithm::Aes256),
        ] {
            let key = ManagementKey::new(alg, &vec![0x5A; len]).unwrap();
            let mut pd = ProtectedData::with_management_key(&key);
            pd.flags = Some(FLAG_PUK_NOBLOCK_ON_UPGRADE);
            let bytes = pd.encode().unwrap();
            assert_eq!(
                &bytes[..7],
                &[0x88, len as u8 + 5, 0x81, 0x01, 0x01, 0x89, len as u8]
            );
            let back = ProtectedData::try_from(&bytes[..]).unwrap();
            assert!(back.puk_noblock_on_upgrade());
            assert_eq!(back.candidate_algorithms(), [alg]);
            assert_eq!(back.management_key(alg).unwrap().unwrap(), key);
        }
        // Unknown elements survive a rewrite; an empty object has no key.
        let data = hex("88 06 81 01 00 8A 01 07");
        let pd = ProtectedData::try_from(&data[..]).unwrap();
        assert_eq!(pd.management_key_bytes(), None);
        assert_eq!(*pd.encode().unwrap(), data);
        assert_eq!(
            ProtectedData::try_from(&hex("88 00")[..]).unwrap(),
            ProtectedData::default()
        );
    }

    #[test]
    fn the_previous_key_of_a_change_in_progress() {
        let old = ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap();
        let new_bytes: Vec<u8> = (1..25).collect();
        let new = ManagementKey::new(ManagementAlgorithm::Tdes, &new_bytes).unwrap();
        let mut pd = ProtectedData::with_management_key(&new);
        pd.set_previous_management_key(Some(&old));
        // 88 { 89 18 <new>, C1 18 <old> }: Yubico's reader finds 89 and steps over C1.
        let bytes = pd.encode().unwrap();
        let expected = [
            &hex("88 34 89 18")[..],
            &new_bytes,
            &hex("C1 18"),
            &DEFAULT_MANAGEMENT_KEY,
        ]
        .concat();
        assert_eq!(*bytes, expected);
        let mut back = ProtectedData::try_from(&bytes[..]).unwrap();
        assert_eq!(back, pd);
        assert_eq!(
            back.management_key(ManagementAlgorithm::Tdes).unwrap(),
            Some(new.clone())
        );
        assert_eq!(
            back.previous_management_key(ManagementAlgorithm::Tdes).unwrap(),
            Some(old)
        );
        let shown = format!("{back:?}");
        assert!(
            shown.contains("previous_management_key: Some(\"<redacted 24 bytes>\")"),
            "{shown}"
        );
        // The change done, the object is Yubico's form again, byte for byte.
        back.set_previous_management_key(None);
        assert_eq!(
            *back.encode().unwrap(),
            [&hex("88 1A 89 18")[..], &new_bytes].concat()
        );
        // A C1 that is no key is no previous key: the current key still reads, and a rewrite drops it.
        let odd = [&hex("88 1E 89 18")[..], &new_bytes, &hex("C1 02 0102")].concat();
        let parsed = ProtectedData::try_from(&odd[..]).unwrap();
        assert_eq!(parsed.previous_management_key_bytes(), None);
        assert_eq!(parsed.management_key_bytes(), Some(new_bytes.as_slice()));
        assert_eq!(
            *parsed.encode().unwrap(),
            [&hex("88 1A 89 18")[..], &new_bytes].concat()
        );
    }

    #[test]
    fn debug_redacts_the_key() {
        let key = ManagementKey::new(ManagementAlgorithm::Aes128, &[0x42; 16]).unwrap();
        let pd = ProtectedData::with_management_key(&key);
        let s = format!("{pd:?}");
        assert!(s.contains("<redacted 16 bytes>"), "{s}");
        assert!(!s.contains("42") && !s.contains("66"), "{s}");
    }

    #[test]
    fn rejects_bad_input() {
        let mut good = hex("88 1A 89 18");
        good.extend_from_slice(&DEFAULT_MANAGEMENT_KEY);
        for cut in 1..good.len() {
            assert!(ProtectedData::try_from(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert_refuses!(ProtectedData, [&good[..], &[0]].concat(), ObjectError::Tlv { .. });
        assert_refuses!(
            ProtectedData,
            hex("88 05 89 03 010203"),
            ObjectError::Invalid { .. }
        );
        assert_refuses!(ProtectedData, hex("53 02 89 00"), ObjectError::Tlv { .. });
    }
}
