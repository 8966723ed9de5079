//! Writes through the minidriver file system (Smart Card Minidriver Specification 7.07 §4.3): what the
//! CSP creates, writes and deletes, mapped onto PIV objects.
//!
//! | file | stored in | who may write |
//! |---|---|---|
//! | `cardcf` | Tessera's freshness object 5FFF20 (six bytes), so that other hosts see the change | user, admin |
//! | `mscp/cmapfile` | the container map 5FFF10 ([`crate::card_map`]) | user, admin |
//! | `mscp/kxcNN`, `mscp/kscNN` | the certificate object of container NN's slot: plain DER (CertInfo 00), gzip (CertInfo 01) only when the plain object would not fit the card's 3063-byte object limit | user, admin |
//! | `mscp/msroots` | the root store 5FFF11–15, at most 15 295 bytes | user, admin |
//! | `cardid`, `cardapps` | not writable: the card id comes from the CHUID, the application list is fixed | — |
//!
//! Each write needs the user (or the administrator) authenticated — `SCARD_W_SECURITY_VIOLATION`
//! otherwise — and write rights on the card ([`crate::write_rights`]). A write the card has no room for
//! answers `SCARD_E_WRITE_TOO_MANY` with nothing half-written: single objects are checked against the
//! object limit before they are sent, and the root store, which spans several objects, is put back as it
//! was when the card fills up half-way. `CardCreateFile` of a certificate file or `msroots` creates
//! nothing on the card (the file exists, empty, until it is written); other names have no place in the
//! fixed PIV layout (`SCARD_E_UNSUPPORTED_FEATURE`, as `CardCreateDirectory`). A card that keeps no
//! vendor objects is read-only: every write answers `SCARD_E_UNSUPPORTED_FEATURE`.

use tessera_piv::KeyRef;
use tessera_piv::objects::{MAX_CERTIFICATE_LEN, MAX_ROOT_STORE_LEN, split_root_store, tags};
use windows_sys::Win32::Security::Cryptography::{AdminReadWriteAc, EveryoneReadUserWriteAc};

use crate::context::{CardContext, FRESHNESS_OBJECT};
use crate::enroll::READ_ONLY;
use crate::error::{MdError, Result};
use crate::fs::BASE_CSP_DIR;

/// `CARD_FILE_ACCESS_CONDITION` values a caller may pass (`EveryoneReadUserWriteAc` … `AdminReadWriteAc`).
const ACCESS_CONDITIONS: std::ops::RangeInclusive<u32> =
    EveryoneReadUserWriteAc as u32..=AdminReadWriteAc as u32;

/// Largest file the module reads from a caller: more than any file of the layout can hold.
pub(crate) const MAX_FILE_WRITE: u32 = 64 * 1024;

/// The data of a `CardWriteFile`: NULL with no length is an empty file; NULL with a length is invalid;
/// more than any file of the layout holds (not read) is a full card.
pub(crate) fn file_data(data: crate::input::CallerBytes<'_>) -> Result<&[u8]> {
    use crate::input::CallerBytes;
    match data {
        CallerBytes::Read(bytes) => Ok(bytes),
        CallerBytes::Null { len: 0 } => Ok(&[]),
        CallerBytes::Null { .. } => Err(MdError::InvalidParameter("pbData is NULL")),
        CallerBytes::TooLong { .. } => Err(MdError::CardFull),
    }
}

/// What a file name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    CardId,
    CardCf,
    CardApps,
    CmapFile,
    MsRoots,
    /// `kxcNN` (exchange) or `kscNN` (signature), lower-case.
    Certificate(String),
    /// Any other name in a directory that exists.
    Other,
}

/// Checks the names the way reads do and says what they stand for.
fn target(dir: Option<&[u8]>, file: &[u8]) -> Result<Target> {
    let name = crate::fs::checked_name(file)?;
    let in_mscp = match dir {
        None | Some([]) => false,
        Some(d) => {
            if crate::fs::checked_name(d)? != BASE_CSP_DIR {
                return Err(MdError::DirNotFound);
            }
            true
        }
    };
    Ok(match (in_mscp, name.as_str()) {
        (false, "cardid") => Target::CardId,
        (false, "cardcf") => Target::CardCf,
        (false, "cardapps") => Target::CardApps,
        (true, "cmapfile") => Target::CmapFile,
        (true, "msroots") => Target::MsRoots,
        (true, n) if certificate_index(n).is_some() => Target::Certificate(name),
        _ => Target::Other,
    })
}

/// The container index in `kxcNN` / `kscNN` (two hex digits), and whether it is an exchange file.
fn certificate_index(name: &str) -> Option<(bool, u8)> {
    let (prefix, digits) = name.split_at_checked(3)?;
    let exchange = match prefix {
        "kxc" => true,
        "ksc" => false,
        _ => return None,
    };
    (digits.len() == 2)
        .then(|| u8::from_str_radix(digits, 16).ok())
        .flatten()
        .map(|i| (exchange, i))
}

impl CardContext {
    /// Refuses writes on a card the module cannot write to, and without an authenticated user or admin.
    fn check_may_write(&mut self) -> Result<()> {
        if !self.writable()? {
            return Err(MdError::Unsupported(READ_ONLY));
        }
        if !self.auth.user && !self.auth.admin {
            return Err(MdError::SecurityViolation("writing a file needs the user PIN"));
        }
        Ok(())
    }

    /// The slot holding container `index`'s key when its certificate file is `name`: a live container,
    /// or (with `deleted`) the record of a container deleted since.
    fn certificate_slot(&mut self, name: &str, deleted: bool) -> Result<Option<KeyRef>> {
        let Some((exchange, index)) = certificate_index(name) else {
            return Ok(None);
        };
        if let Ok(c) = self.containers()?.get(index)
            && c.is_exchange() == exchange
        {
            return Ok(Some(c.slot));
        }
        if !deleted {
            return Ok(None);
        }
        let map = match self.current_map() {
            Some(known) => known,
            None => self.stored_container_map()?,
        };
        Ok(map.and_then(|map| {
            map.records
                .get(usize::from(index))
                .filter(|r| {
                    r.slot.is_key_slot()
                        && tessera_piv::objects::key_spec::is_key_exchange(r.key_spec) == exchange
                })
                .map(|r| r.slot)
        }))
    }

    /// `CardCreateFile`. The arguments are checked before any card traffic.
    pub(crate) fn create_file(
        &mut self,
        dir: Option<&[u8]>,
        file: &[u8],
        size: u32,
        access: u32,
    ) -> Result<()> {
        let target = target(dir, file)?;
        if !ACCESS_CONDITIONS.contains(&access) {
            return Err(MdError::InvalidParameter("access condition"));
        }
        let limit = match target {
            Target::MsRoots => MAX_ROOT_STORE_LEN,
            Target::Certificate(_) => MAX_CERTIFICATE_LEN,
            _ => usize::MAX,
        };
        if size as usize > limit {
            return Err(MdError::InvalidParameter(
                "larger than the card holds for that file",
            ));
        }
        self.check_may_write()?;
        match target {
            Target::CardId | Target::CardCf | Target::CardApps | Target::CmapFile => Err(MdError::FileExists),
            Target::MsRoots => {
                if self.roots()?.is_some() || self.created_files.contains("msroots") {
                    return Err(MdError::FileExists);
                }
                self.created_files.insert("msroots".into());
                Ok(())
            }
            Target::Certificate(name) => {
                let Some(slot) = self.certificate_slot(&name, false)? else {
                    return Err(MdError::InvalidParameter(
                        "no container for this certificate file",
                    ));
                };
                // The certificate the containers know of: the file is only written by the
                // `CardWriteFile` that follows, which replaces whatever the object holds.
                let known = self
                    .containers()?
                    .iter()
                    .any(|c| c.slot == slot && c.certificate.is_some());
                if self.created_files.contains(&name) || known {
                    return Err(MdError::FileExists);
                }
                self.created_files.insert(name);
                Ok(())
            }
            Target::Other => Err(MdError::Unsupported(
                "the PIV layout has no place for other files",
            )),
        }
    }

    /// `CardWriteFile`: the whole file is replaced. What the data must be (six bytes of `cardcf`, whole
    /// 86-byte records of `cmapfile`, a DER certificate) is checked before any card traffic.
    pub(crate) fn write_file(&mut self, dir: Option<&[u8]>, file: &[u8], data: &[u8]) -> Result<()> {
        let target = target(dir, file)?;
        let shape_ok = match &target {
            Target::CardCf => data.len() == 6,
            Target::CmapFile => data.len().is_multiple_of(tessera_piv::objects::CMAP_RECORD_LEN),
            Target::Certificate(_) => crate::cert::inspect(data).is_ok(),
            _ => true,
        };
        if !shape_ok {
            return Err(MdError::InvalidParameter(
                "cardcf is six bytes, cmapfile 86-byte records, a certificate file a DER certificate",
            ));
        }
        self.check_may_write()?;
        match target {
            Target::CardCf => self.write_freshness(data),
            Target::CmapFile => self.write_cmapfile(data),
            Target::Certificate(name) => {
                let Some(slot) = self.certificate_slot(&name, false)? else {
                    return Err(MdError::FileNotFound);
                };
                self.store_certificate(slot, data)?;
                self.created_files.remove(&name);
                Ok(())
            }
            Target::MsRoots => {
                if self.roots()?.is_none() && !self.created_files.contains("msroots") {
                    return Err(MdError::FileNotFound);
                }
                self.write_roots(data)?;
                self.created_files.remove("msroots");
                Ok(())
            }
            Target::CardId | Target::CardApps => Err(self.fixed_file_refusal()),
            Target::Other => Err(MdError::FileNotFound),
        }
    }

    /// `CardDeleteFile`.
    pub(crate) fn delete_file(&mut self, dir: Option<&[u8]>, file: &[u8]) -> Result<()> {
        let target = target(dir, file)?;
        self.check_may_write()?;
        match target {
            Target::Certificate(name) => {
                if self.created_files.remove(&name) {
                    return Ok(());
                }
                let Some(slot) = self.certificate_slot(&name, true)? else {
                    return Err(MdError::FileNotFound);
                };
                // The certificate of a container deleted since is gone either way.
                let present = match self.known_certificate(slot) {
                    Some(known) => known.is_some(),
                    None => self.certificate(slot)?.is_some(),
                };
                if present {
                    self.clear_certificate(slot)?;
                }
                Ok(())
            }
            Target::MsRoots => {
                if self.created_files.remove("msroots") {
                    return Ok(());
                }
                if self.roots()?.is_none() {
                    return Err(MdError::FileNotFound);
                }
                self.write_roots(&[])
            }
            Target::CardId | Target::CardCf | Target::CardApps | Target::CmapFile => {
                Err(self.fixed_file_refusal())
            }
            Target::Other => Err(MdError::FileNotFound),
        }
    }

    /// The answer for a file of the fixed layout that cannot change.
    fn fixed_file_refusal(&self) -> MdError {
        if self.auth.admin {
            MdError::Unsupported("part of the fixed PIV layout")
        } else {
            MdError::SecurityViolation("the administrator's file")
        }
    }

    /// `cardcf`: six bytes, kept in the freshness object less the fingerprint of the PIV
    /// Authentication certificate the card holds (see [`crate::watch`]), so that it reads back as written.
    fn write_freshness(&mut self, data: &[u8]) -> Result<()> {
        let written: [u8; 6] = data
            .try_into()
            .map_err(|_| MdError::InvalidParameter("cardcf is six bytes"))?;
        let value = crate::watch::stored(written, self.watched_fingerprint()?);
        self.write(|s| s.put_data(FRESHNESS_OBJECT, &value))?;
        self.note_freshness(value);
        Ok(())
    }

    /// `msroots`: split over 5FFF11–15 (an empty blob removes the store). When the card fills up
    /// half-way, the objects written so far are put back as they were, and the answer is
    /// `SCARD_E_WRITE_TOO_MANY`.
    fn write_roots(&mut self, blob: &[u8]) -> Result<()> {
        let chunks = split_root_store(blob).map_err(|_| MdError::CardFull)?;
        self.ensure_write_rights()?;
        let all = tags::YUBICO_ROOTS_FIRST..=tags::YUBICO_ROOTS_LAST;
        let mut before = Vec::new();
        for tag in all.clone() {
            before.push(self.read_object(tag)?);
        }
        self.forget_roots();
        for (tag, (i, wanted)) in all.clone().zip(before.iter().enumerate()) {
            let new = chunks.get(i);
            if new.is_none() && wanted.is_none() {
                continue;
            }
            let content = new.map_or(&[][..], Vec::as_slice);
            match self.write(|s| s.put_data(tag, content)) {
                Ok(()) => {}
                Err(e) => {
                    if matches!(e, MdError::CardFull) {
                        tracing::warn!("msroots: the card is full; putting back the root store as it was");
                        for (back, old) in all.clone().zip(&before).take(i) {
                            let old = old.as_deref().unwrap_or(&[]);
                            if let Err(undo) = self.without_retry(|s| s.put_data(back, old)) {
                                tracing::error!("msroots: object {back:06X} could not be put back: {undo}");
                            }
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_targets() {
        assert_eq!(target(None, b"CARDCF").unwrap(), Target::CardCf);
        assert_eq!(
            target(Some(b"mscp"), b"KXC00").unwrap(),
            Target::Certificate("kxc00".into())
        );
        assert_eq!(
            target(Some(b"mscp"), b"ksc1a").unwrap(),
            Target::Certificate("ksc1a".into())
        );
        assert_eq!(target(Some(b"mscp"), b"kxc0").unwrap(), Target::Other);
        assert_eq!(target(Some(b"mscp"), b"cardcf").unwrap(), Target::Other);
        assert_eq!(target(None, b"cmapfile").unwrap(), Target::Other);
        assert!(matches!(
            target(Some(b"other"), b"cmapfile"),
            Err(MdError::DirNotFound)
        ));
        assert!(matches!(
            target(None, b"toolongname"),
            Err(MdError::InvalidParameter(_))
        ));
        assert_eq!(certificate_index("kxc1f"), Some((true, 0x1F)));
        assert_eq!(certificate_index("ksc00"), Some((false, 0)));
        assert_eq!(certificate_index("kxcgg"), None);
    }
}
