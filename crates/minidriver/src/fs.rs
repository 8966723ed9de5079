//! The minidriver file system (Smart Card Minidriver Specification 7.07 §5), virtual and read from PIV
//! objects:
//!
//! | name | content |
//! |---|---|
//! | `cardid` | [`crate::identity`] |
//! | `cardcf` | Tessera's freshness object when present, else six zero bytes, with a fingerprint of the PIV Authentication certificate added ([`crate::watch`]) |
//! | `cardapps` | `mscp` padded to 8 bytes |
//! | `mscp/cmapfile` | one `CONTAINER_MAP_RECORD` per container index |
//! | `mscp/kxcNN`, `mscp/kscNN` | the container's certificate, DER (PIV gzip undone) |
//! | `mscp/msroots` | the Yubico root store 5FFF11–15, when present |
//!
//! What is read from the card on every read, so that a change by another program is seen even when it
//! did not bump the freshness (see [`crate::context`]): `cardcf` (the freshness object and the head of
//! the 9A certificate object), `cmapfile` (the
//! container map object, compared with the one the containers were built from) and every certificate
//! file (its certificate object, compared with the one the container was built from). A difference
//! makes the module scan the containers again. Writes are in [`crate::fs_write`].

use windows_sys::Win32::Security::Cryptography::{
    CARD_FILE_ACCESS_CONDITION, CARD_FILE_INFO, CARD_FILE_INFO_CURRENT_VERSION,
};

use crate::context::{CardContext, CardFact};
use crate::error::{MdError, Result};

/// The access conditions of the files (Smart Card Minidriver Specification 7.07 §5.6.4).
mod access {
    pub(super) use windows_sys::Win32::Security::Cryptography::{
        EveryoneReadAdminWriteAc as EVERYONE_READ_ADMIN_WRITE,
        EveryoneReadUserWriteAc as EVERYONE_READ_USER_WRITE,
    };
}

/// Longest file or directory name.
pub const MAX_NAME_LEN: usize = 8;
/// The one application directory.
pub const BASE_CSP_DIR: &str = "mscp";
/// `cardapps` content.
pub const CARDAPPS: [u8; 8] = *b"mscp\0\0\0\0";

/// A validated name: at most 8 characters, none of `" * / : < > ? \ |` or control characters.
pub(crate) fn checked_name(name: &[u8]) -> Result<String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(MdError::InvalidParameter("file or directory name length"));
    }
    if name
        .iter()
        .any(|&c| !(0x20..0x7F).contains(&c) || b"\"*/:<>?\\|".contains(&c))
    {
        return Err(MdError::InvalidParameter("character not allowed in a file name"));
    }
    Ok(String::from_utf8_lossy(name).to_ascii_lowercase())
}

/// Which directory a call names: `None` or empty = root.
fn directory(dir: Option<&[u8]>) -> Result<Dir> {
    match dir {
        None | Some([]) => Ok(Dir::Root),
        Some(name) => {
            let name = checked_name(name)?;
            if name == BASE_CSP_DIR {
                Ok(Dir::Mscp)
            } else {
                Err(MdError::DirNotFound)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Root,
    Mscp,
}

/// What `CardGetFileInfo` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInfo {
    /// Logical (uncompressed) size.
    pub size: u32,
    /// `CARD_FILE_ACCESS_CONDITION`.
    pub access: CARD_FILE_ACCESS_CONDITION,
}

impl From<FileInfo> for CARD_FILE_INFO {
    fn from(f: FileInfo) -> Self {
        Self {
            dwVersion: CARD_FILE_INFO_CURRENT_VERSION,
            cbFileSize: f.size,
            AccessCondition: f.access,
        }
    }
}

impl CardContext {
    /// `CardReadFile`: the whole file.
    pub(crate) fn read_file(&mut self, dir: Option<&[u8]>, file: &[u8]) -> Result<Vec<u8>> {
        Ok(self.file(dir, file)?.0)
    }

    /// `CardGetFileInfo`.
    pub(crate) fn file_info(&mut self, dir: Option<&[u8]>, file: &[u8]) -> Result<FileInfo> {
        let (data, access) = self.file(dir, file)?;
        let size = u32::try_from(data.len()).map_err(|_| MdError::Unexpected("file size".into()))?;
        Ok(FileInfo { size, access })
    }

    fn file(&mut self, dir: Option<&[u8]>, file: &[u8]) -> Result<(Vec<u8>, CARD_FILE_ACCESS_CONDITION)> {
        let dir = directory(dir)?;
        let name = checked_name(file)?;
        match (dir, name.as_str()) {
            (Dir::Root, "cardid") => {
                self.begin_transaction();
                Ok((
                    self.identity()?.card_id.to_vec(),
                    access::EVERYONE_READ_ADMIN_WRITE,
                ))
            }
            (Dir::Root, "cardcf") => {
                self.begin_transaction();
                // Read on every call (the CSP reads it at the start of each transaction): another
                // process may have changed the card, given it the object at its first write, or
                // replaced the PIV Authentication certificate without bumping it. A card that keeps no
                // vendor objects cannot have the object and is not asked for it again.
                let cf = self.reported_freshness()?;
                Ok((cf.to_vec(), access::EVERYONE_READ_USER_WRITE))
            }
            (Dir::Root, "cardapps") => Ok((CARDAPPS.to_vec(), access::EVERYONE_READ_ADMIN_WRITE)),
            (Dir::Mscp, "cmapfile") => {
                // Every transaction's first cmapfile checks the container map on the card against the
                // one the containers were built from (a scan reads it anyway).
                self.containers()?;
                if !self.map_read_in_this_transaction() {
                    self.revalidate_map()?;
                }
                Ok((self.containers()?.cmapfile(), access::EVERYONE_READ_USER_WRITE))
            }
            (Dir::Mscp, "msroots") => match self.roots()? {
                Some(blob) => Ok((blob, access::EVERYONE_READ_USER_WRITE)),
                None => Err(MdError::FileNotFound),
            },
            (Dir::Mscp, n) if n.starts_with("kxc") || n.starts_with("ksc") => {
                if self.created_files.contains(n) {
                    return Ok((Vec::new(), access::EVERYONE_READ_USER_WRITE));
                }
                match self.fresh_certificate(n)? {
                    Some(der) => Ok((der, access::EVERYONE_READ_USER_WRITE)),
                    None => Err(MdError::FileNotFound),
                }
            }
            _ => Err(MdError::FileNotFound),
        }
    }

    /// The certificate of the container whose certificate file is `name`, read from its object now
    /// unless the module read it in this transaction (no other program can have changed it since). When
    /// the card holds another certificate than the one the containers were built from (another program
    /// replaced it), the containers are scanned again and the answer comes from that scan.
    fn fresh_certificate(&mut self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some((slot, known)) = self
            .containers()?
            .by_certificate_file(name)
            .map(|c| (c.slot, c.certificate.clone()))
        else {
            return Ok(None);
        };
        if self.certificate_current(slot, &known) {
            return Ok(known);
        }
        let current = self.certificate(slot)?;
        if current == known {
            self.note_certificate_read(slot, &current);
            return Ok(current);
        }
        tracing::debug!("certificate of slot {slot} changed on the card: containers scanned again");
        self.invalidate_containers();
        let set = self.containers()?;
        Ok(set.by_certificate_file(name).and_then(|c| c.certificate.clone()))
    }

    /// Reads the container map object and scans the containers again when it is not the one they were
    /// built from (another program rewrote or removed it). Cards that keep no vendor objects have none.
    fn revalidate_map(&mut self) -> Result<()> {
        if self.vendor_objects == Some(false) || !self.map_scanned.asked() {
            return Ok(());
        }
        let stored = self.read_object(tessera_piv::objects::tags::YUBICO_CONTAINER_MAP)?;
        if self.map_scanned != CardFact::found(stored) {
            tracing::debug!("the container map changed on the card: containers scanned again");
            self.invalidate_containers();
        } else {
            self.note_map_read();
        }
        Ok(())
    }

    /// `CardEnumFiles`: the names in a directory. Directories are not listed as files.
    pub(crate) fn enum_files(&mut self, dir: Option<&[u8]>) -> Result<Vec<String>> {
        match directory(dir)? {
            Dir::Root => Ok(vec!["cardid".into(), "cardcf".into(), "cardapps".into()]),
            Dir::Mscp => {
                let mut names = vec!["cmapfile".to_string()];
                names.extend(
                    self.containers()?
                        .iter()
                        .filter(|c| c.certificate.is_some())
                        .map(|c| c.certificate_file()),
                );
                names.extend(self.created_files.iter().cloned());
                if self.roots()?.is_some() {
                    names.push("msroots".into());
                }
                Ok(names)
            }
        }
    }
}

/// Encodes names as an ANSI multistring (each NUL-terminated, then a final NUL).
pub fn multistring(names: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in names {
        out.extend_from_slice(n.as_bytes());
        out.push(0);
    }
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_case_folded() {
        assert_eq!(checked_name(b"CmApfiLE").unwrap(), "cmapfile");
        assert!(matches!(
            checked_name(b"toolongname"),
            Err(MdError::InvalidParameter(_))
        ));
        assert!(matches!(checked_name(b""), Err(MdError::InvalidParameter(_))));
        assert!(matches!(checked_name(b"a*b"), Err(MdError::InvalidParameter(_))));
        assert!(matches!(directory(Some(b"mSCp")), Ok(Dir::Mscp)));
        assert!(matches!(directory(Some(b"cardid")), Err(MdError::DirNotFound)));
        assert!(matches!(directory(Some(b"")), Ok(Dir::Root)));
    }

    #[test]
    fn multistring_layout() {
        assert_eq!(multistring(&["a".into(), "bc".into()]), b"a\0bc\0\0");
        assert_eq!(multistring(&[]), b"\0");
    }
}
