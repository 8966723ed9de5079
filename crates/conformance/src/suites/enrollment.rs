//! The write side as Windows drives it (the certification kit's CertSequences Enrollment and its
//! PinSequences), each sequence on its own contexts and checked through a fresh one:
//!
//! * enrollment: acquire, cardid/cardcf/cmapfile, `CardAuthenticateEx(ROLE_USER)`,
//!   `CardCreateContainerEx(KEY_GEN)`, `CardGetContainerInfo`, `cmapfile` with the new record, `cardcf`
//!   bumped; then `CardCreateFile` + `CardWriteFile(mscp/kxcNN)` with the certificate the CA answered
//!   (here the harness's software CA), `cardcf` again; a new context finds the container, its
//!   certificate and signs with it (verified with the key of that certificate);
//! * renewal (a second container; the first one still signs), deletion (`CardDeleteContainer`,
//!   `CardDeleteFile`, the record zeroed, `cardcf`), key import (when the module offers it);
//! * PIN change, PIN unblock with the PUK, administrator key change, and a change made by another
//!   program seen by an open context.
//!
//! Each sequence removes what it created and puts the PIN and the management key back.

use tessera_piv::objects::{ProtectedData, tags};
use tessera_piv::{KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PublicKey};

use super::common::open;
use crate::blobs::{self, CMAP_RECORD_LEN, CMAP_VALID, CardcfCounter};
use crate::codes::*;
use crate::ffi::calls::{FileArgs, NewContainer, SignArgs, StructArg};
use crate::fixture::{CertUsage, DEFAULT_PIN, DEFAULT_PUK, issue_certificate};
use crate::harness::{CaseDef, ConnectedContext, Harness, Verdict, case};
use crate::oracle::ec::{Curve, verify_ecdsa};
use crate::oracle::hash::Hash;
use crate::oracle::rsa::{RsaKey, reversed};

const SUITE: &str = "enrollment";

/// `ROLE_USER`, `ROLE_ADMIN`, the PUK's PIN_ID.
const ROLE_USER: u32 = 1;
const ROLE_ADMIN: u32 = 2;
const ROLE_PUK: u32 = 4;
/// `CARD_CREATE_CONTAINER_KEY_GEN` / `_KEY_IMPORT`.
pub(crate) const KEY_GEN: u32 = 1;
pub(crate) const KEY_IMPORT: u32 = 2;
/// `AT_KEYEXCHANGE`, `AT_ECDSA_P256`.
pub(crate) const AT_KEYEXCHANGE: u32 = 1;
pub(crate) const AT_ECDSA_P256: u32 = 3;
/// `EveryoneReadUserWriteAc`.
pub(crate) const EVERYONE_READ_USER_WRITE: i32 = 1;
/// `PIN_CHANGE_FLAG_UNBLOCK`, `PIN_CHANGE_FLAG_CHANGEPIN`.
const UNBLOCK: u32 = 1;
const CHANGEPIN: u32 = 2;

/// A container the harness enrolled.
#[derive(Debug, Clone)]
pub(crate) struct Enrolled {
    /// Its index.
    pub index: u8,
    /// Its key spec.
    pub spec: u32,
    /// The key `CardGetContainerInfo` gave.
    pub key: PublicKey,
    /// The certificate written for it.
    pub certificate: Vec<u8>,
}

impl Enrolled {
    fn exchange(&self) -> bool {
        self.spec == AT_KEYEXCHANGE
    }

    /// Its certificate file.
    pub(crate) fn file(&self) -> String {
        format!(
            "{}{:02x}",
            if self.exchange() { "kxc" } else { "ksc" },
            self.index
        )
    }
}

/// A container name of the CSP's form (a braced GUID), distinct per `n`.
fn guid(n: u8) -> String {
    format!("{{7E55E2A0-C0DE-4E27-9A11-0000000000{n:02X}}}")
}

/// What a CSP transaction starts with: cardid, cardcf, cmapfile.
fn start(v: &mut Verdict, b: &ConnectedContext) -> Option<(Vec<u8>, Vec<u8>)> {
    let id = b.call().read(None, "cardid");
    v.reply("CardReadFile(cardid)", &id, &[SCARD_S_SUCCESS]);
    let cf = b.call().read(None, "cardcf");
    if !v.reply("CardReadFile(cardcf)", &cf, &[SCARD_S_SUCCESS]) {
        return None;
    }
    let cmap = b.call().read(Some("mscp"), "cmapfile");
    if !v.reply("CardReadFile(mscp/cmapfile)", &cmap, &[SCARD_S_SUCCESS]) {
        return None;
    }
    Some((cmap.value.unwrap_or_default(), cf.value.unwrap_or_default()))
}

/// `CardWriteFile`.
fn write(v: &mut Verdict, b: &ConnectedContext, dir: Option<&str>, file: &str, data: &[u8]) -> bool {
    let args = FileArgs {
        dir: dir.map(str::as_bytes),
        file: Some(file.as_bytes()),
        ..FileArgs::default()
    };
    let r = b.call().write_file(args, Some(data));
    v.reply(&format!("CardWriteFile({file})"), &r, &[SCARD_S_SUCCESS])
}

/// Writes `cardcf` with one counter bumped, as the CSP does after a change.
fn bump(v: &mut Verdict, b: &ConnectedContext, cardcf: &mut Vec<u8>, counter: CardcfCounter) -> bool {
    *cardcf = blobs::bumped_cardcf(cardcf, counter);
    write(v, b, None, "cardcf", cardcf)
}

/// `CardAuthenticateEx(ROLE_USER)` with the default PIN.
pub(crate) fn login(v: &mut Verdict, b: &ConnectedContext) -> bool {
    let r = b
        .call()
        .authenticate_ex(ROLE_USER, 0, Some(DEFAULT_PIN), None, false, true);
    v.reply("CardAuthenticateEx(ROLE_USER)", &r, &[SCARD_S_SUCCESS])
}

/// Enrolls a key as certreq or the certificate console does (see the module documentation), at the
/// first free index of the CSP's `cmapfile`.
pub(crate) fn enroll(
    v: &mut Verdict,
    b: &ConnectedContext,
    spec: u32,
    bits: u32,
    import: Option<&[u8]>,
) -> Option<Enrolled> {
    let (cmap, mut cf) = start(v, b)?;
    if !login(v, b) {
        return None;
    }
    let records = v.setup("cmapfile", blobs::parse_cmapfile(&cmap))?;
    let index = records
        .iter()
        .find(|r| !r.valid())
        .map_or(records.len() as u8, |r| r.index);
    let flags = if import.is_some() { KEY_IMPORT } else { KEY_GEN };
    let new = NewContainer {
        index,
        flags,
        key_spec: spec,
        bits,
        key: import,
    };
    let r = b.call().create_container_ex(new, ROLE_USER);
    if !v.reply("CardCreateContainerEx", &r, &[SCARD_S_SUCCESS]) {
        return None;
    }
    let info = b.call().get_container_info(index, 0, StructArg::V1);
    if !v.reply("CardGetContainerInfo", &info, &[SCARD_S_SUCCESS]) {
        return None;
    }
    let info = info.value.unwrap_or_default();
    let exchange = spec == AT_KEYEXCHANGE;
    let blob = if exchange {
        info.exchange_key
    } else {
        info.signature_key
    };
    let key = v.setup(
        "the new container's key",
        blob.as_deref()
            .ok_or_else(|| "no key blob".to_string())
            .and_then(blobs::public_key_of),
    )?;
    let size = key.algorithm().key_bits().unwrap_or(0) as u16;
    let record = if exchange {
        blobs::cmap_record(&guid(index), CMAP_VALID, 0, size)
    } else {
        blobs::cmap_record(&guid(index), CMAP_VALID, size, 0)
    };
    if !write(
        v,
        b,
        Some("mscp"),
        "cmapfile",
        &blobs::with_cmap_record(&cmap, index, &record),
    ) || !bump(v, b, &mut cf, CardcfCounter::Containers)
    {
        return None;
    }
    let usage = if exchange {
        CertUsage::SignAndEncrypt
    } else {
        CertUsage::SignOnly
    };
    let certificate = v.setup(
        "the CA's certificate",
        issue_certificate(KeyRef(0x80 | index), &key, usage),
    )?;
    let enrolled = Enrolled {
        index,
        spec,
        key,
        certificate,
    };
    let file = enrolled.file();
    let args = FileArgs {
        dir: Some(b"mscp"),
        file: Some(file.as_bytes()),
        ..FileArgs::default()
    };
    let r = b.call().create_file(args, 0, EVERYONE_READ_USER_WRITE);
    if !v.reply(&format!("CardCreateFile({file})"), &r, &[SCARD_S_SUCCESS])
        || !write(v, b, Some("mscp"), &file, &enrolled.certificate)
        || !bump(v, b, &mut cf, CardcfCounter::Files)
    {
        return None;
    }
    Some(enrolled)
}

/// Deletes a container as the CSP does: `CardDeleteContainer`, `CardDeleteFile` of its certificate, its
/// `cmapfile` record zeroed, `cardcf`.
pub(crate) fn remove(v: &mut Verdict, b: &ConnectedContext, e: &Enrolled) -> bool {
    let Some((cmap, mut cf)) = start(v, b) else {
        return false;
    };
    if !login(v, b) {
        return false;
    }
    let r = b.call().delete_container(e.index, 0);
    if !v.reply("CardDeleteContainer", &r, &[SCARD_S_SUCCESS]) {
        return false;
    }
    let file = e.file();
    let args = FileArgs {
        dir: Some(b"mscp"),
        file: Some(file.as_bytes()),
        ..FileArgs::default()
    };
    let r = b.call().delete_file(args);
    v.reply(&format!("CardDeleteFile({file})"), &r, &[SCARD_S_SUCCESS])
        && write(
            v,
            b,
            Some("mscp"),
            "cmapfile",
            &blobs::with_cmap_record(&cmap, e.index, &[0; CMAP_RECORD_LEN]),
        )
        && bump(v, b, &mut cf, CardcfCounter::Containers)
}

/// On a fresh context: the container is in `cmapfile` under its name, its certificate file reads back as
/// written, its key is the certificate's, and it signs (verified with that key).
pub(crate) fn check_usable(h: &Harness, v: &mut Verdict, e: &Enrolled) {
    let Some(b) = open(h, v) else { return };
    let Some(records) = v.setup("cmapfile", h.cmap(&b)) else {
        return;
    };
    let record = records.iter().find(|r| r.index == e.index);
    v.check(
        record.is_some_and(|r| r.valid() && r.name.as_deref() == Some(guid(e.index).as_str())),
        || {
            format!(
                "container {} is not in cmapfile under its name: {record:?}",
                e.index
            )
        },
    );
    let cert = b.call().read(Some("mscp"), &e.file());
    v.reply(&format!("CardReadFile({})", e.file()), &cert, &[SCARD_S_SUCCESS]);
    v.check(cert.value.as_deref() == Some(e.certificate.as_slice()), || {
        format!("mscp/{} does not read back as written", e.file())
    });
    if login(v, &b) {
        check_signs(v, &b, e.index, e.spec, &e.key);
    }
}

/// Container `index` signs, and the signature verifies with `key`.
pub(crate) fn check_signs(v: &mut Verdict, b: &ConnectedContext, index: u8, spec: u32, key: &PublicKey) {
    let data = Hash::Sha256.of("enrolled by tessera-conformance");
    let result = match key {
        PublicKey::Rsa {
            modulus, exponent, ..
        } => {
            let args = SignArgs::pkcs1_sha256(index, spec, &data);
            let r = b.call().sign_data(&args);
            let signature = r.value.and_then(|o| o.signature);
            match (signature, RsaKey::new(modulus, exponent)) {
                (Some(sig), Ok(rsa)) => rsa.verify_pkcs1(Some(Hash::Sha256), &data, &reversed(&sig)),
                (None, _) => Err(format!("CardSignData returned {}", name(r.code))),
                (_, Err(e)) => Err(e),
            }
        }
        PublicKey::Ecc { point, .. } => {
            let r = b.call().sign_data(&SignArgs::basic(2, index, spec, 0, &data));
            match r.value.and_then(|o| o.signature) {
                Some(sig) => verify_ecdsa(Curve::P256, point, &data, &sig),
                None => Err(format!("CardSignData returned {}", name(r.code))),
            }
        }
    };
    v.check(result.is_ok(), || {
        format!(
            "container {index} does not sign: {}",
            result.err().unwrap_or_default()
        )
    });
}

fn enrollment(name: &'static str, spec: u32, bits: u32) -> CaseDef {
    case(SUITE, name, move |h, v| {
        let Some(b) = open(h, v) else { return };
        let Some(e) = enroll(v, &b, spec, bits, None) else {
            return;
        };
        check_usable(h, v, &e);
        remove(v, &b, &e);
    })
}

fn renewal() -> CaseDef {
    case(SUITE, "renewal-keeps-the-old-container", |h, v| {
        let Some(b) = open(h, v) else { return };
        let Some(old) = enroll(v, &b, AT_KEYEXCHANGE, 2048, None) else {
            return;
        };
        let new = enroll(v, &b, AT_KEYEXCHANGE, 2048, None);
        if let Some(new) = &new {
            v.check(new.index != old.index && new.key != old.key, || {
                "the renewal did not make a second container".into()
            });
            check_usable(h, v, new);
            check_usable(h, v, &old);
            remove(v, &b, new);
        }
        remove(v, &b, &old);
        v.note("a renewal is a second container; the first keeps its key, certificate and index");
    })
}

fn deletion() -> CaseDef {
    case(SUITE, "deletion-removes-container-and-certificate", |h, v| {
        let Some(b) = open(h, v) else { return };
        let Some(e) = enroll(v, &b, AT_KEYEXCHANGE, 2048, None) else {
            return;
        };
        let before: Vec<u8> = h
            .cmap(&b)
            .unwrap_or_default()
            .iter()
            .filter(|r| r.valid())
            .map(|r| r.index)
            .collect();
        if !remove(v, &b, &e) {
            return;
        }
        let Some(fresh) = open(h, v) else { return };
        let after = v.setup("cmapfile", h.cmap(&fresh)).unwrap_or_default();
        v.check(!after.iter().any(|r| r.index == e.index && r.valid()), || {
            format!("container {} is still in cmapfile", e.index)
        });
        let kept: Vec<u8> = after.iter().filter(|r| r.valid()).map(|r| r.index).collect();
        v.check(before.iter().all(|i| *i == e.index || kept.contains(i)), || {
            format!("containers {before:?} became {kept:?}")
        });
        let info = fresh.call().get_container_info(e.index, 0, StructArg::V1);
        v.reply(
            "CardGetContainerInfo(deleted)",
            &info,
            &[SCARD_E_NO_KEY_CONTAINER],
        );
        let cert = fresh.call().read(Some("mscp"), &e.file());
        v.reply(
            "CardReadFile(deleted certificate)",
            &cert,
            &[SCARD_E_FILE_NOT_FOUND],
        );
    })
}

fn key_import() -> CaseDef {
    case(SUITE, "key-import-rsa2048", |h, v| {
        let Some(b) = open(h, v) else { return };
        let support = b
            .call()
            .get_property(Some("Key Import Support"), 4, 0, false, false);
        let plain = support
            .value
            .as_ref()
            .and_then(|p| blobs::dwords(&p.data).first().copied())
            .unwrap_or(0)
            & 1
            != 0;
        let software = crate::oracle::rsa::SoftwareRsa::generate(2048, 11);
        let blob = software.private_key_blob();
        if !plain {
            if login(v, &b) {
                let new = NewContainer {
                    index: 0,
                    flags: KEY_IMPORT,
                    key_spec: AT_KEYEXCHANGE,
                    bits: 2048,
                    key: Some(&blob),
                };
                let r = b.call().create_container_ex(new, ROLE_USER);
                v.reply(
                    "CardCreateContainerEx(KEY_IMPORT) without import support",
                    &r,
                    &[SCARD_E_UNSUPPORTED_FEATURE],
                );
            }
            return;
        }
        let Some(e) = enroll(v, &b, AT_KEYEXCHANGE, 2048, Some(&blob)) else {
            return;
        };
        v.check(e.key == software.public_key(), || {
            "the container's key is not the imported one".into()
        });
        check_usable(h, v, &e);
        remove(v, &b, &e);
    })
}

/// Another program (the harness's own PIV session) replaces the certificate of an enrolled container,
/// once bumping the freshness object and once not (as ykman and yubico-piv-tool do not): an open
/// context serves the new certificate both times.
fn change_by_another_program() -> CaseDef {
    case(
        SUITE,
        "an-open-context-sees-a-certificate-another-program-wrote",
        |h, v| {
            let Some(b) = open(h, v) else { return };
            let Some(e) = enroll(v, &b, AT_KEYEXCHANGE, 2048, None) else {
                return;
            };
            let Some(watcher) = open(h, v) else { return };
            let first = watcher.call().read(Some("mscp"), &e.file());
            v.reply("CardReadFile (watcher)", &first, &[SCARD_S_SUCCESS]);
            for bump_freshness in [true, false] {
                let replacement = issue_certificate(
                    KeyRef(0x70 + u8::from(bump_freshness)),
                    &e.key,
                    CertUsage::SignAndEncrypt,
                );
                let Some(replacement) = v.setup("a replacement certificate", replacement) else {
                    return;
                };
                let written = replace_certificate(h, e.index, &replacement, bump_freshness);
                if v.setup("another program writes", written).is_none() {
                    return;
                }
                let cf = watcher.call().read(None, "cardcf");
                v.reply("CardReadFile(cardcf) (watcher)", &cf, &[SCARD_S_SUCCESS]);
                let now = watcher.call().read(Some("mscp"), &e.file());
                v.reply("CardReadFile (watcher, after)", &now, &[SCARD_S_SUCCESS]);
                v.check(now.value.as_deref() == Some(replacement.as_slice()), || {
                    format!(
                        "the open context serves a stale certificate after another program replaced it ({} \
                     freshness change)",
                        if bump_freshness { "with a" } else { "without a" }
                    )
                });
            }
            drop(watcher);
            remove(v, &b, &e);
        },
    )
}

/// Writes `der` into the certificate object of the slot container `index` uses (read from the Yubico
/// map 5FFF10 the module keeps), through the harness's own session, and optionally bumps Tessera's
/// freshness object as a well-behaved tool would.
fn replace_certificate(h: &Harness, index: u8, der: &[u8], bump_freshness: bool) -> Result<(), String> {
    let mut s = h.card().piv_session()?;
    s.select().map_err(|e| e.to_string())?;
    let map = s
        .get_data(tags::YUBICO_CONTAINER_MAP)
        .map_err(|e| e.to_string())?
        .ok_or("no container map on the card")?;
    let map = tessera_piv::objects::ContainerMap::try_from(map.as_slice()).map_err(|e| e.to_string())?;
    let slot = map.records.get(usize::from(index)).ok_or("no map record")?.slot;
    let key = ManagementKey::default_for(ManagementAlgorithm::Tdes).ok_or("default key")?;
    s.authenticate_management_key(&key).map_err(|e| e.to_string())?;
    let object = tessera_piv::objects::CertificateObject::new(der.to_vec())
        .encode()
        .map_err(|e| e.to_string())?;
    s.put_data(slot.certificate_object().ok_or("slot")?, &object)
        .map_err(|e| e.to_string())?;
    if bump_freshness {
        let cf = s
            .get_data(crate::fixture::FRESHNESS_OBJECT)
            .map_err(|e| e.to_string())?
            .map(|z| z.to_vec())
            .unwrap_or_default();
        let cf = blobs::bumped_cardcf(&cf, CardcfCounter::Files);
        s.put_data(crate::fixture::FRESHNESS_OBJECT, &cf)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `CardChangeAuthenticatorEx`; the code and the tries left it reported.
fn change_ex(
    b: &ConnectedContext,
    flags: u32,
    auth: u32,
    auth_data: &[u8],
    target: u32,
    data: &[u8],
) -> (u32, Option<u32>) {
    let r = b
        .call()
        .change_authenticator_ex(flags, auth, Some(auth_data), target, Some(data), 0);
    (r.code, r.value.flatten())
}

fn pin_change() -> CaseDef {
    case(SUITE, "pin-change", |h, v| {
        let Some(b) = open(h, v) else { return };
        let new = b"24681357";
        let (code, _) = change_ex(&b, CHANGEPIN, ROLE_USER, DEFAULT_PIN, ROLE_USER, new);
        if v.code("CardChangeAuthenticatorEx(CHANGEPIN)", code, &[SCARD_S_SUCCESS]) {
            let Some(fresh) = open(h, v) else { return };
            let old = fresh
                .call()
                .authenticate_ex(ROLE_USER, 0, Some(DEFAULT_PIN), None, false, true);
            v.reply("the old PIN", &old, &[SCARD_W_WRONG_CHV]);
            v.check(old.value.as_ref().and_then(|o| o.attempts) == Some(2), || {
                format!(
                    "tries left after one wrong PIN: {:?}",
                    old.value.and_then(|o| o.attempts)
                )
            });
            let r = fresh
                .call()
                .authenticate_ex(ROLE_USER, 0, Some(new), None, false, true);
            v.reply("the new PIN", &r, &[SCARD_S_SUCCESS]);
            let (code, _) = change_ex(&fresh, CHANGEPIN, ROLE_USER, new, ROLE_USER, DEFAULT_PIN);
            v.code("changing it back", code, &[SCARD_S_SUCCESS]);
        }
        if let Err(e) = h.restore_pin() {
            v.fail(format!("restoring the PIN: {e}"));
        }
    })
}

fn pin_unblock() -> CaseDef {
    case(SUITE, "pin-unblock-with-the-puk", |h, v| {
        let Some(b) = open(h, v) else { return };
        for _ in 0..3 {
            let _ = b
                .call()
                .authenticate_ex(ROLE_USER, 0, Some(b"000000"), None, false, false);
        }
        let r = b
            .call()
            .authenticate_ex(ROLE_USER, 0, Some(DEFAULT_PIN), None, false, true);
        v.reply("the right PIN once blocked", &r, &[SCARD_W_CHV_BLOCKED]);
        // CardUnblockPin (the Windows unblock screen's call), then CardChangeAuthenticatorEx(UNBLOCK).
        let r = b
            .call()
            .unblock_pin(Some("user"), Some(DEFAULT_PUK), Some(b"11223344"), 0, 2);
        if v.reply("CardUnblockPin(user, PUK)", &r, &[SCARD_S_SUCCESS]) {
            let r = b
                .call()
                .authenticate_ex(ROLE_USER, 0, Some(b"11223344"), None, false, true);
            v.reply("the new PIN", &r, &[SCARD_S_SUCCESS]);
            let (code, _) = change_ex(&b, UNBLOCK, ROLE_PUK, DEFAULT_PUK, ROLE_USER, DEFAULT_PIN);
            v.code(
                "CardChangeAuthenticatorEx(UNBLOCK, PUK → user)",
                code,
                &[SCARD_S_SUCCESS],
            );
            login(v, &b);
        }
        if let Err(e) = h.restore_pin() {
            v.fail(format!("restoring the PIN: {e}"));
        }
    })
}

fn admin_key_change() -> CaseDef {
    case(SUITE, "admin-key-change", |h, v| {
        let Some(b) = open(h, v) else { return };
        let Some(default) = ManagementKey::default_for(ManagementAlgorithm::Tdes) else {
            return;
        };
        let new: Vec<u8> = (0x31..0x49).collect();
        let Some(new_key) = v.setup(
            "new key",
            ManagementKey::new(ManagementAlgorithm::Tdes, &new).map_err(|e| e.to_string()),
        ) else {
            return;
        };
        let answer = |b: &ConnectedContext, key: &ManagementKey| -> Option<Vec<u8>> {
            let c = b.call().get_challenge_ex(ROLE_ADMIN, 0, false, false);
            key.encrypt_block(&c.value?).ok().map(|z| z.to_vec())
        };
        // The card keeps its management key PIN-protected: the module changes it (and its copy in
        // 5FC109, readable with the PIN only) with the user PIN verified, and refuses without it.
        if let Some(response) = answer(&b, &default) {
            let (code, _) = change_ex(&b, CHANGEPIN, ROLE_ADMIN, &response, ROLE_ADMIN, &new);
            v.code(
                "CardChangeAuthenticatorEx(CHANGEPIN, admin) without the user PIN",
                code,
                &[SCARD_W_SECURITY_VIOLATION],
            );
        }
        if !login(v, &b) {
            return;
        }
        let changed = answer(&b, &default).is_some_and(|response| {
            let (code, _) = change_ex(&b, CHANGEPIN, ROLE_ADMIN, &response, ROLE_ADMIN, &new);
            v.code(
                "CardChangeAuthenticatorEx(CHANGEPIN, admin)",
                code,
                &[SCARD_S_SUCCESS],
            )
        });
        if changed {
            let Some(fresh) = open(h, v) else { return };
            if let Some(response) = answer(&fresh, &new_key) {
                let r = fresh
                    .call()
                    .authenticate_ex(ROLE_ADMIN, 0, Some(&response), None, false, false);
                v.reply("the new key answers the challenge", &r, &[SCARD_S_SUCCESS]);
            }
            if let Some(response) = answer(&fresh, &default) {
                let r = fresh
                    .call()
                    .authenticate_ex(ROLE_ADMIN, 0, Some(&response), None, false, false);
                v.reply("the old key no longer does", &r, &[SCARD_W_WRONG_CHV]);
            }
            // The card kept its management key PIN-protected: the protected copy follows.
            match protected_key(h) {
                Ok(stored) => v.check(stored.as_deref() == Some(new.as_slice()), || {
                    "5FC109 does not hold the new key".into()
                }),
                Err(e) => v.check(false, || format!("reading 5FC109: {e}")),
            };
            if let Some(response) = answer(&fresh, &new_key) {
                let (code, _) = change_ex(
                    &fresh,
                    CHANGEPIN,
                    ROLE_ADMIN,
                    &response,
                    ROLE_ADMIN,
                    default.as_bytes(),
                );
                v.code(
                    "the default (weak 3DES: three equal parts) key as the new key",
                    code,
                    &[SCARD_E_INVALID_PARAMETER],
                );
            }
            // The module refuses to set a weak key: the harness puts the default back itself.
            if let Err(e) = restore_default_key(h, &new_key) {
                v.fail(format!("restoring the default management key: {e}"));
            }
        }
    })
}

/// Sets the default management key again (PIN-protected, as the fixture keeps it), with `current`.
fn restore_default_key(h: &Harness, current: &ManagementKey) -> Result<(), String> {
    let default = ManagementKey::default_for(ManagementAlgorithm::Tdes).ok_or("default key")?;
    let mut s = h.card().piv_session()?;
    s.select().map_err(|e| e.to_string())?;
    s.authenticate_management_key(current)
        .map_err(|e| e.to_string())?;
    s.set_management_key(&default, false).map_err(|e| e.to_string())?;
    crate::fixture::protect_management_key(&mut s, &default).map_err(|e| e.to_string())
}

/// The management key stored in 5FC109 (read after VERIFY through the harness's session).
fn protected_key(h: &Harness) -> Result<Option<Vec<u8>>, String> {
    let mut s = h.card().piv_session()?;
    s.select().map_err(|e| e.to_string())?;
    let pin = PaddedPin::new(DEFAULT_PIN).map_err(|e| e.to_string())?;
    s.verify(KeyRef::PIN, &pin).map_err(|e| e.to_string())?;
    let data = s.get_data(tags::PRINTED_INFORMATION).map_err(|e| e.to_string())?;
    let _ = s.logout(KeyRef::PIN);
    Ok(data
        .and_then(|d| ProtectedData::try_from(d.as_slice()).ok())
        .and_then(|p| p.management_key_bytes().map(<[u8]>::to_vec)))
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    vec![
        enrollment("enrollment-rsa2048-keyexchange", AT_KEYEXCHANGE, 2048),
        enrollment("enrollment-ecdsa-p256", AT_ECDSA_P256, 0),
        renewal(),
        deletion(),
        key_import(),
        change_by_another_program(),
        pin_change(),
        pin_unblock(),
        admin_key_change(),
    ]
}
