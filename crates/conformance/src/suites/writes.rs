//! Every write entry point, positive and negative, with the codes of the Minidriver Specification 7.07
//! (spec §4.3 files, §4.6 containers, §4.2 PIN changes) on a card the module writes to. Arguments that are
//! invalid on their face cost no APDU: the harness counts the card's APDUs around each such call. The
//! sequences that use these entry points as Windows does are in the `enrollment` suite; the same
//! entry points on a read-only card are in `files` and `containers`.

use super::common::{on_read_only_card, open, read_only};
use super::enrollment::{
    AT_KEYEXCHANGE, EVERYONE_READ_USER_WRITE, KEY_GEN, KEY_IMPORT, enroll, login, remove,
};
use crate::blobs;
use crate::codes::*;
use crate::ffi::calls::{Calls, FileArgs, NewContainer, StructArg};
use crate::fixture::{DEFAULT_PIN, DEFAULT_PUK};
use crate::harness::{CaseDef, ConnectedContext, Harness, case};

const SUITE: &str = "writes";

/// A call of a write entry point; its code.
type Call = fn(&Calls<'_>) -> u32;

fn file<'a>(dir: Option<&'a [u8]>, name: &'a [u8]) -> FileArgs<'a> {
    FileArgs {
        dir,
        file: Some(name),
        ..FileArgs::default()
    }
}

const MSCP: Option<&[u8]> = Some(b"mscp");

fn new(index: u8, flags: u32, key_spec: u32, bits: u32) -> NewContainer<'static> {
    NewContainer {
        index,
        flags,
        key_spec,
        bits,
        key: None,
    }
}

/// A case per `(name, call, code, logged in, why)`: the code on a fresh context (after the user PIN
/// when asked), and no APDU when the code is `SCARD_E_INVALID_PARAMETER` or the refusal needs no card.
fn refusals(cases: &[(&'static str, Call, u32, bool, bool, &'static str)]) -> Vec<CaseDef> {
    cases
        .iter()
        .map(|&(name, call, want, logged_in, no_traffic, why)| {
            case(SUITE, name, move |h, v| {
                let Some(b) = open(h, v) else { return };
                if logged_in && !login(v, &b) {
                    return;
                }
                let before = h.counters();
                v.code(name, call(&b.call()), &[want]);
                let cost = before.zip(h.counters()).map(|(b, a)| a.since(b).apdus);
                if no_traffic {
                    match cost {
                        Some(n) => v.check(n == 0, || format!("{n} APDUs before the refusal")),
                        None => {
                            v.note("the card's APDU counters are not available here");
                            true
                        }
                    };
                }
                v.note(why);
            })
        })
        .collect()
}

#[rustfmt::skip]
fn argument_refusals() -> Vec<CaseDef> {
    refusals(&[
        // CardCreateContainer(Ex): unsupported conditions first, then invalid ones (spec §4.6.1).
        ("create-container-flags-neither", |c| c.create_container(new(0, 0, AT_KEYEXCHANGE, 2048)).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.6.1: KEY_GEN or KEY_IMPORT"),
        ("create-container-flags-both", |c| c.create_container(new(0, 3, AT_KEYEXCHANGE, 2048)).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.6.1: KEY_GEN or KEY_IMPORT, not both"),
        ("create-container-undefined-key-spec", |c| c.create_container(new(0, KEY_GEN, 9, 2048)).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.6.1: an undefined key spec is invalid"),
        ("create-container-p521", |c| c.create_container(new(0, KEY_GEN, 5, 0)).code,
            SCARD_E_UNSUPPORTED_FEATURE, true, true, "spec §4.6.1: defined but unsupported (P-521 is no PIV curve)"),
        ("create-container-rsa-size", |c| c.create_container(new(0, KEY_GEN, AT_KEYEXCHANGE, 2000)).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.6.1: a size no RSA key has"),
        ("create-container-ec-size", |c| c.create_container(new(0, KEY_GEN, 3, 384)).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.6.1: dwKeySize is 0 or the curve's for EC keys"),
        ("create-container-import-null-blob", |c| c.create_container(new(0, KEY_IMPORT, AT_KEYEXCHANGE, 2048)).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.6.1: an import needs pbKeyData"),
        ("create-container-import-not-a-blob", |c| {
            let junk = [0x55u8; 64];
            c.create_container(NewContainer { key: Some(&junk), ..new(0, KEY_IMPORT, AT_KEYEXCHANGE, 2048) }).code
        }, SCARD_E_INVALID_PARAMETER, true, true, "spec §4.6.1: pbKeyData is a PRIVATEKEYBLOB"),
        ("create-container-ex-admin-pin", |c| c.create_container_ex(new(0, KEY_GEN, AT_KEYEXCHANGE, 2048), 2).code,
            SCARD_W_SECURITY_VIOLATION, true, true, "spec §4.6.2, OpenSC: no container is bound to ROLE_ADMIN"),
        ("create-container-ex-unknown-pin", |c| c.create_container_ex(new(0, KEY_GEN, AT_KEYEXCHANGE, 2048), 6).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.6.2: a PIN the card does not have"),
        ("create-container-index-beyond-the-map", |c| c.create_container(new(28, KEY_GEN, AT_KEYEXCHANGE, 2048)).code,
            SCARD_E_NO_KEY_CONTAINER, true, true, "spec §4.6.1: the container map holds 28 containers (Yubico 5FFF10)"),
        ("create-container-unauthenticated", |c| c.create_container(new(20, KEY_GEN, AT_KEYEXCHANGE, 2048)).code,
            SCARD_W_SECURITY_VIOLATION, false, false, "spec §4.6.1: only the user creates containers"),
        ("delete-container-reserved", |c| c.delete_container(0, 1).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.6.3: dwReserved is 0"),
        ("delete-container-empty-index", |c| c.delete_container(21, 0).code,
            SCARD_S_SUCCESS, true, false, "spec §4.6.3: an index without a container is a success"),
        ("delete-container-unauthenticated", |c| c.delete_container(0, 0).code,
            SCARD_W_SECURITY_VIOLATION, false, false, "spec §4.6.3: deleting needs the user; container 0 stays"),
        // CardCreateFile (spec §4.3.4).
        ("create-file-exists", |c| c.create_file(file(None, b"cardcf"), 0, EVERYONE_READ_USER_WRITE).code,
            ERROR_FILE_EXISTS, true, false, "spec §4.3.4: the name exists"),
        ("create-file-access-condition", |c| c.create_file(file(MSCP, b"kxc00"), 0, 0).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.3.4: InvalidAc"),
        ("create-file-name-too-long", |c| c.create_file(file(MSCP, b"kxc000000"), 0, 1).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.3.4: names are at most 8 characters"),
        ("create-file-null-name", |c| c.create_file(FileArgs { dir: MSCP, ..FileArgs::default() }, 0, 1).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.3.4: NULL name"),
        ("create-file-missing-directory", |c| c.create_file(file(Some(b"nodir"), b"file"), 0, 1).code,
            SCARD_E_DIR_NOT_FOUND, true, true, "spec §4.3.4: the directory does not exist"),
        ("create-file-outside-the-layout", |c| c.create_file(file(MSCP, b"other"), 0, 1).code,
            SCARD_E_UNSUPPORTED_FEATURE, true, false, "the PIV layout holds no other files (as CardCreateDirectory)"),
        ("create-file-unauthenticated", |c| c.create_file(file(MSCP, b"msroots"), 0, 1).code,
            SCARD_W_SECURITY_VIOLATION, false, false, "spec §4.3.4: no write permission without the user"),
        // CardWriteFile (spec §4.3.6).
        ("write-file-flags", |c| c.write_file(FileArgs { flags: 1, ..file(None, b"cardcf") }, Some(&[0; 6])).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.3.6: dwFlags is 0"),
        ("write-file-missing", |c| c.write_file(file(MSCP, b"kxc15"), Some(&some_certificate())).code,
            SCARD_E_FILE_NOT_FOUND, true, false, "spec §4.3.6: the file must exist"),
        ("write-file-not-a-certificate", |c| c.write_file(file(MSCP, b"kxc00"), Some(b"x")).code,
            SCARD_E_INVALID_PARAMETER, true, true, "fCertificateCompression TRUE: a certificate file is DER"),
        ("write-file-cardcf-length", |c| c.write_file(file(None, b"cardcf"), Some(&[0; 5])).code,
            SCARD_E_INVALID_PARAMETER, true, true, "cardcf is a 6-byte CARD_CACHE_FILE_FORMAT"),
        ("write-file-cmapfile-length", |c| c.write_file(file(MSCP, b"cmapfile"), Some(&[0; 85])).code,
            SCARD_E_INVALID_PARAMETER, true, true, "cmapfile is a list of 86-byte CONTAINER_MAP_RECORDs"),
        ("write-file-cardid-as-user", |c| c.write_file(file(None, b"cardid"), Some(&[0; 16])).code,
            SCARD_W_SECURITY_VIOLATION, true, false, "spec §5.4.1: cardid is EveryoneReadAdminWriteAc"),
        ("write-file-unauthenticated", |c| c.write_file(file(None, b"cardcf"), Some(&[0; 6])).code,
            SCARD_W_SECURITY_VIOLATION, false, false, "spec §5.4.3: cardcf is EveryoneReadUserWriteAc"),
        // CardDeleteFile (spec §4.3.7).
        ("delete-file-flags", |c| c.delete_file(FileArgs { flags: 1, ..file(MSCP, b"msroots") }).code,
            SCARD_E_INVALID_PARAMETER, true, true, "spec §4.3.7: dwFlags is 0"),
        ("delete-file-missing", |c| c.delete_file(file(MSCP, b"kxc15")).code,
            SCARD_E_FILE_NOT_FOUND, true, false, "spec §4.3.7: no such file"),
        ("delete-file-cmapfile-as-user", |c| c.delete_file(file(MSCP, b"cmapfile")).code,
            SCARD_W_SECURITY_VIOLATION, true, false, "the fixed files are not the user's to delete"),
        ("delete-file-unauthenticated", |c| c.delete_file(file(MSCP, b"msroots")).code,
            SCARD_W_SECURITY_VIOLATION, false, false, "spec §4.3.7: deleting needs the user"),
        // CardChangeAuthenticatorEx (spec §4.2.9) and CardUnblockPin (spec §4.2.10).
        ("change-authenticator-ex-no-flag", |c| c.change_authenticator_ex(0, 1, Some(DEFAULT_PIN), 1, Some(b"24682468"), 0).code,
            SCARD_E_INVALID_PARAMETER, false, true, "spec §4.2.9: UNBLOCK or CHANGEPIN"),
        ("change-authenticator-ex-both-flags", |c| c.change_authenticator_ex(3, 1, Some(DEFAULT_PIN), 1, Some(b"24682468"), 0).code,
            SCARD_E_INVALID_PARAMETER, false, true, "spec §4.2.9: UNBLOCK or CHANGEPIN, not both"),
        ("change-authenticator-ex-pin-id", |c| c.change_authenticator_ex(2, 8, Some(DEFAULT_PIN), 8, Some(b"24682468"), 0).code,
            SCARD_E_INVALID_PARAMETER, false, true, "spec §4.2.9: PIN_IDs are 0–7"),
        ("change-authenticator-ex-unblock-same-pin", |c| c.change_authenticator_ex(1, 1, Some(DEFAULT_PIN), 1, Some(b"24682468"), 0).code,
            SCARD_E_INVALID_PARAMETER, false, true, "spec §4.2.9: an unblock names two PINs"),
        ("change-authenticator-ex-unblock-with-admin", |c| c.change_authenticator_ex(1, 2, Some(&[0; 8]), 1, Some(b"24682468"), 0).code,
            SCARD_E_UNSUPPORTED_FEATURE, false, true, "PIV cannot reset a PIN with the management key"),
        ("change-authenticator-ex-retry-count", |c| c.change_authenticator_ex(2, 1, Some(DEFAULT_PIN), 1, Some(b"24682468"), 5).code,
            SCARD_E_INVALID_PARAMETER, false, true, "spec §4.2.9: a retry limit the module does not change"),
        ("change-authenticator-ex-short-new-pin", |c| c.change_authenticator_ex(2, 1, Some(DEFAULT_PIN), 1, Some(b"12345"), 0).code,
            SCARD_E_INVALID_PARAMETER, false, true, "spec §4.2.9: a new PIN against the card's policy (6–8 characters)"),
        ("change-authenticator-ex-other-pin", |c| c.change_authenticator_ex(2, 1, Some(DEFAULT_PIN), 4, Some(b"24682468"), 0).code,
            SCARD_E_INVALID_PARAMETER, false, true, "a PIN is changed with itself"),
        ("change-authenticator-admin-with-pin-flag", |c| c.change_authenticator(Some("admin"), Some(DEFAULT_PIN), Some(b"24682468"), 0, 2).code,
            SCARD_E_INVALID_PARAMETER, false, true, "spec §4.2.11: the administrator changes a challenge/response key"),
        ("unblock-pin-challenge-response", |c| c.unblock_pin(Some("user"), Some(&[0; 8]), Some(b"24682468"), 0, 1).code,
            SCARD_E_UNSUPPORTED_FEATURE, false, true, "PIV cannot reset a PIN with the management key"),
        ("unblock-pin-flags", |c| c.unblock_pin(Some("user"), Some(DEFAULT_PUK), Some(b"24682468"), 0, 4).code,
            SCARD_E_INVALID_PARAMETER, false, true, "spec §4.2.10: CARD_AUTHENTICATE_PIN_PIN or _CHALLENGE_RESPONSE"),
        ("unblock-pin-retry-count", |c| c.unblock_pin(Some("user"), Some(DEFAULT_PUK), Some(b"24682468"), 3, 2).code,
            SCARD_E_INVALID_PARAMETER, false, true, "spec §4.2.10: a retry limit the module does not change"),
    ])
}

/// A certificate of some key (none of the card's), from the fixture's CA.
fn some_certificate() -> Vec<u8> {
    let point =
        crate::oracle::ec::PeerKey::new(crate::oracle::ec::Curve::P256, "not the card's").public_point();
    let key = tessera_piv::PublicKey::Ecc {
        algorithm: tessera_piv::AlgorithmId::ECCP256,
        point,
    };
    crate::fixture::issue_certificate(
        tessera_piv::KeyRef(0x95),
        &key,
        crate::fixture::CertUsage::SignOnly,
    )
    .unwrap_or_default()
}

/// What a writable card reports about itself (spec §4.5.4): writable, enrollment supported, keys generated.
fn truthful_properties() -> CaseDef {
    case(SUITE, "properties-of-a-writable-card", |h, v| {
        let Some(b) = open(h, v) else { return };
        let dword = |b: &ConnectedContext, name: &str, flags: u32| {
            b.call()
                .get_property(Some(name), 4, flags, false, false)
                .value
                .and_then(|p| blobs::dwords(&p.data).first().copied())
        };
        v.check(read_only(&b) == Some(false), || {
            "CP_CARD_READ_ONLY is not FALSE".into()
        });
        v.check(
            dword(&b, "Supports Windows x.509 Enrollment", 0) == Some(1),
            || "CP_SUPPORTS_WIN_X509_ENROLLMENT is not TRUE".into(),
        );
        let caps = b.call().query_capabilities(StructArg::V1);
        v.check(
            caps.value
                .is_some_and(|(_, compression, keygen)| compression == 1 && keygen == 1),
            || {
                format!(
                    "CardQueryCapabilities {:?}: certificates as DER, keys generated",
                    caps.value
                )
            },
        );
        let space = b.call().query_free_space(0, StructArg::V1);
        v.check(
            space
                .value
                .is_some_and(|[_, _, available, max]| available > 0 && available <= max),
            || format!("CardQueryFreeSpace {:?}: containers available", space.value),
        );
        v.check(
            dword(&b, "Key Import Support", 0).is_some_and(|s| s & 1 != 0),
            || "CP_KEY_IMPORT_SUPPORT lacks CARD_KEY_IMPORT_PLAIN_TEXT".into(),
        );
        v.check(dword(&b, "PIN Strength Change", 1) == Some(1), || {
            "CP_CARD_PIN_STRENGTH_CHANGE(ROLE_USER) is not CARD_PIN_STRENGTH_PLAINTEXT".into()
        });
        v.check(dword(&b, "PIN Strength Unblock", 1) == Some(1), || {
            "CP_CARD_PIN_STRENGTH_UNBLOCK(ROLE_USER) is not CARD_PIN_STRENGTH_PLAINTEXT".into()
        });
    })
}

/// The same properties on a read-only card.
fn read_only_properties() -> CaseDef {
    case(SUITE, "properties-of-a-read-only-card", |h, v| {
        on_read_only_card(h, v, |b, v| {
            let x509 = b
                .call()
                .get_property(Some("Supports Windows x.509 Enrollment"), 4, 0, false, false);
            v.check(x509.value.is_some_and(|p| p.data == [0; 4]), || {
                "spec §4.5.4: CP_SUPPORTS_WIN_X509_ENROLLMENT must be FALSE on a read-only card".into()
            });
            let caps = b.call().query_capabilities(StructArg::V1);
            v.check(caps.value.is_some_and(|(_, _, keygen)| keygen == 0), || {
                "fKeyGen TRUE".into()
            });
            let space = b.call().query_free_space(0, StructArg::V1);
            v.check(
                space
                    .value
                    .is_some_and(|[_, bytes, available, _]| bytes == 0 && available == 0),
                || {
                    format!(
                        "spec §4.3.9: a read-only card reports nothing available, not {:?}",
                        space.value
                    )
                },
            );
            let import = b
                .call()
                .get_property(Some("Key Import Support"), 4, 0, false, false);
            v.check(import.value.is_some_and(|p| p.data == [0; 4]), || {
                "CP_KEY_IMPORT_SUPPORT on a read-only card".into()
            });
        });
    })
}

/// `cardcf` written and read back, by this context and by a new one (other processes see it).
fn cardcf_round_trip() -> CaseDef {
    case(SUITE, "write-file-cardcf-is-seen-by-another-context", |h, v| {
        let Some(b) = open(h, v) else { return };
        if !login(v, &b) {
            return;
        }
        let old = b.call().read(None, "cardcf").value.unwrap_or_else(|| vec![0; 6]);
        let mut new = old.clone();
        new.resize(6, 0);
        new[1] = new[1].wrapping_add(1);
        let r = b.call().write_file(file(None, b"cardcf"), Some(&new));
        if !v.reply("CardWriteFile(cardcf)", &r, &[SCARD_S_SUCCESS]) {
            return;
        }
        let same = b.call().read(None, "cardcf");
        v.check(same.value.as_deref() == Some(new.as_slice()), || {
            "cardcf does not read back".into()
        });
        if let Some(other) = open(h, v) {
            let seen = other.call().read(None, "cardcf");
            v.check(seen.value.as_deref() == Some(new.as_slice()), || {
                "another context does not see the new cardcf".into()
            });
        }
    })
}

/// A certificate file created and not yet written exists, empty; writing a non-certificate is refused.
fn created_file() -> CaseDef {
    case(
        SUITE,
        "create-file-certificate-exists-empty-until-written",
        |h, v| {
            let Some(b) = open(h, v) else { return };
            let Some(e) = enroll(v, &b, AT_KEYEXCHANGE, 2048, None) else {
                return;
            };
            let name = e.file();
            let args = file(MSCP, name.as_bytes());
            let r = b.call().create_file(args, 0, EVERYONE_READ_USER_WRITE);
            v.reply(
                "CardCreateFile of a written certificate",
                &r,
                &[ERROR_FILE_EXISTS],
            );
            let r = b.call().write_file(args, Some(b"not a certificate"));
            v.reply(
                "CardWriteFile with something that is no certificate",
                &r,
                &[SCARD_E_INVALID_PARAMETER],
            );
            let r = b.call().delete_file(args);
            v.reply("CardDeleteFile of the certificate", &r, &[SCARD_S_SUCCESS]);
            let r = b.call().read(MSCP.map(|_| "mscp"), &name);
            v.reply(
                "CardReadFile of the deleted certificate",
                &r,
                &[SCARD_E_FILE_NOT_FOUND],
            );
            let r = b.call().create_file(args, 0, EVERYONE_READ_USER_WRITE);
            v.reply("CardCreateFile again", &r, &[SCARD_S_SUCCESS]);
            let r = b.call().read(Some("mscp"), &name);
            v.reply("CardReadFile of the created file", &r, &[SCARD_S_SUCCESS]);
            v.check(r.value.as_deref() == Some(&[][..]), || {
                "a created file is empty".into()
            });
            let r = b.call().write_file(args, Some(&e.certificate));
            v.reply("CardWriteFile of the certificate", &r, &[SCARD_S_SUCCESS]);
            remove(v, &b, &e);
        },
    )
}

/// A wrong current PIN in CardChangeAuthenticatorEx costs one try, reported as the card counts it.
fn wrong_current_pin() -> CaseDef {
    case(
        SUITE,
        "change-authenticator-ex-wrong-pin-reports-tries",
        |h, v| {
            let Some(b) = open(h, v) else { return };
            let r = b
                .call()
                .change_authenticator_ex(2, 1, Some(b"000000"), 1, Some(b"24682468"), 0);
            v.reply("CardChangeAuthenticatorEx(wrong PIN)", &r, &[SCARD_W_WRONG_CHV]);
            v.check(r.value.flatten() == Some(2), || {
                format!("tries left {:?}, expected 2", r.value)
            });
            if let Err(e) = h.restore_pin() {
                v.fail(format!("restoring the PIN: {e}"));
            }
        },
    )
}

/// A wrong PUK costs a PUK try; a right one afterwards resets the count.
fn wrong_puk(h_name: &'static str) -> CaseDef {
    case(SUITE, h_name, |h: &Harness, v| {
        let Some(b) = open(h, v) else { return };
        let r = b
            .call()
            .unblock_pin(Some("user"), Some(b"87654321"), Some(DEFAULT_PIN), 0, 2);
        v.reply("CardUnblockPin(wrong PUK)", &r, &[SCARD_W_WRONG_CHV]);
        let r = b
            .call()
            .unblock_pin(Some("user"), Some(DEFAULT_PUK), Some(DEFAULT_PIN), 0, 2);
        v.reply("CardUnblockPin(PUK)", &r, &[SCARD_S_SUCCESS]);
        if let Err(e) = h.restore_pin() {
            v.fail(format!("restoring the PIN: {e}"));
        }
    })
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = argument_refusals();
    c.extend([
        truthful_properties(),
        read_only_properties(),
        cardcf_round_trip(),
        created_file(),
        wrong_current_pin(),
        wrong_puk("unblock-pin-wrong-puk-then-right"),
    ]);
    c
}
