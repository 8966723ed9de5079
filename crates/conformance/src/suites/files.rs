//! The file system (spec §4.3, §5; CMCK FileSystem and the per-function tests): `CardReadFile`,
//! `CardGetFileInfo`, `CardEnumFiles`, `CardQueryFreeSpace`, and the write-side entry points on a read-only
//! card. Contents are checked against the provisioned card: `cardid` = `CP_CARD_GUID`, `cmapfile` records
//! against the slots, certificates byte-equal to what was written, the root store.

use crate::blobs::{self, CMAP_DEFAULT};
use crate::codes::*;
use crate::ffi::calls::{Calls, FileArgs, StructArg};
use crate::harness::{CaseDef, ConnectedContext, Found, Harness, Verdict, case};

const SUITE: &str = "files";

/// `EveryoneReadUserWriteAc`, `EveryoneReadAdminWriteAc`.
const EVERYONE_READ_USER_WRITE: i32 = 1;
const EVERYONE_READ_ADMIN_WRITE: i32 = 3;

// Where the other suites have long found them.
use super::common::{WriteCall, opened, write_refusals};
pub(crate) use super::common::{open, read_only};

/// The certificate file names a container may use: two hex digits (as Tessera and OpenSC's GIDS
/// driver write them) or two decimal digits (as the spec's table in §5.5 and OpenSC's minidriver)
/// — `cardmod.h`'s own example is "kxc2", so nothing settles it, and for indices below 10 they agree.
pub(crate) fn certificate_file_names(f: &Found) -> Vec<String> {
    let prefix = if f.record.kx_bits != 0 { "kxc" } else { "ksc" };
    let mut names = vec![
        format!("{prefix}{:02x}", f.index()),
        format!("{prefix}{:02}", f.index()),
    ];
    names.dedup();
    names
}

/// Reads the certificate file of a container, trying each accepted name.
pub(crate) fn read_certificate(c: &Calls<'_>, f: &Found) -> (u32, Option<Vec<u8>>, String) {
    let mut last = (SCARD_E_FILE_NOT_FOUND, None, String::new());
    for name in certificate_file_names(f) {
        let r = c.read(Some("mscp"), &name);
        if r.ok() {
            return (0, r.value, name);
        }
        last = (r.code, None, name);
    }
    last
}

fn read_args<'a>(dir: Option<&'a str>, file: Option<&'a str>) -> FileArgs<'a> {
    FileArgs {
        dir: dir.map(str::as_bytes),
        file: file.map(str::as_bytes),
        ..Default::default()
    }
}

/// The file call a [`refused`] case makes.
#[derive(Clone, Copy)]
enum FileCall {
    Read,
    Info(StructArg),
    Enum,
}

/// A `CardReadFile`, `CardGetFileInfo` or `CardEnumFiles` case with one deliberate defect: the call
/// (through a NULL `pCardData` when `null_cd`) must answer one of `want`; `why` says who requires it.
fn refused(
    call: FileCall,
    name: &str,
    want: &'static [u32],
    why: &'static str,
    args: FileArgs<'static>,
    null_cd: bool,
) -> CaseDef {
    let prefix = match call {
        FileCall::Read => "read",
        FileCall::Info(_) => "info",
        FileCall::Enum => "enum",
    };
    opened(SUITE, format!("{prefix}-{name}"), move |_, v, b| {
        let calls = if null_cd { b.null() } else { b.call() };
        match call {
            FileCall::Read => v.reply("CardReadFile", &calls.read_file(args), want),
            FileCall::Info(s) => v.reply("CardGetFileInfo", &calls.get_file_info(args, s), want),
            FileCall::Enum => v.reply("CardEnumFiles", &calls.enum_files(args), want),
        };
        v.note(why);
    })
}

fn free_space(
    name: &str,
    want: &'static [u32],
    flags: u32,
    s: StructArg,
    null_cd: bool,
    why: &'static str,
) -> CaseDef {
    opened(SUITE, format!("free-space-{name}"), move |_, v, b| {
        let calls = if null_cd { b.null() } else { b.call() };
        let r = calls.query_free_space(flags, s);
        v.reply("CardQueryFreeSpace", &r, want);
        if let Some([version, bytes, available, max]) = r.value {
            v.check(version == 1, || {
                format!("dwVersion written back as {version}, expected 1")
            });
            if read_only(b) == Some(true) {
                v.check(bytes == 0 && available == 0, || {
                    format!(
                        "a read-only card reports {bytes} bytes and {available} containers available \
                        (spec §7.4: 0 on a read-only card)"
                    )
                });
            }
            v.check(max != 0xDDDD_DDDD && available != 0xDDDD_DDDD, || {
                "fields left unwritten".into()
            });
        }
        v.note(why);
    })
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = vec![
        opened(SUITE, "read-cardid", |h, v, b| {
            let r = b.call().read(None, "cardid");
            if !v.reply("CardReadFile(cardid)", &r, &[SCARD_S_SUCCESS]) {
                return;
            }
            let id = r.value.unwrap_or_default();
            v.check(id.len() == 16, || {
                format!("cardid is {} bytes, expected 16", id.len())
            });
            v.check(id.iter().any(|&x| x != 0), || "cardid is all zero".into());
            let p = b
                .call()
                .get_property(Some("Card Identifier"), 16, 0, false, false);
            v.check(
                p.code == 0 && p.value.as_ref().is_some_and(|p| p.data == id),
                || format!("cardid differs from CP_CARD_GUID ({})", name(p.code)),
            );
            if let Some(guid) = h.fixture().chuid_guid {
                if guid == id.as_slice() {
                    v.note("cardid is the CHUID GUID");
                } else {
                    v.note("cardid is not the CHUID GUID");
                }
            }
        }),
        case(SUITE, "cardid-stable", |h, v| {
            let (Some(a), Some(b)) = (open(h, v), open(h, v)) else {
                return;
            };
            let x = a.call().read(None, "cardid");
            v.reply("CardReadFile(cardid) #1", &x, &[SCARD_S_SUCCESS]);
            let Some(()) = v.setup("reset", h.card().reset_through_other()) else {
                return;
            };
            let y = b.call().read(None, "cardid");
            v.reply("CardReadFile(cardid) #2", &y, &[SCARD_S_SUCCESS]);
            v.check(x.value.is_some() && x.value == y.value, || {
                "cardid changed between contexts / across a reset (spec §5.4.1: assigned once, when the \
                card is prepared)"
                    .into()
            });
        }),
        opened(SUITE, "read-cardcf", |_, v, b| {
            let r = b.call().read(None, "cardcf");
            if v.reply("CardReadFile(cardcf)", &r, &[SCARD_S_SUCCESS]) {
                let cf = r.value.unwrap_or_default();
                v.check(cf.len() == 6, || {
                    format!(
                        "cardcf is {} bytes, expected 6 (spec §5.4.3: CARD_CACHE_FILE_FORMAT)",
                        cf.len()
                    )
                });
                let again = b.call().read(None, "cardcf").value;
                v.check(again.as_ref() == Some(&cf), || {
                    "cardcf changed without a card change".into()
                });
            }
        }),
        opened(SUITE, "read-cardapps", |_, v, b| {
            let r = b.call().read(None, "cardapps");
            if v.reply("CardReadFile(cardapps)", &r, &[SCARD_S_SUCCESS]) {
                let apps = r.value.unwrap_or_default();
                v.check(apps.len() % 8 == 0 && !apps.is_empty(), || {
                    format!("cardapps is {} bytes, not 8-byte records", apps.len())
                });
                v.check(apps.chunks(8).any(|r| r == b"mscp\0\0\0\0"), || {
                    "cardapps has no \"mscp\" record (spec §5.4.2)".into()
                });
            }
        }),
        opened(SUITE, "read-cmapfile", |_, v, b| {
            let r = b.call().read(Some("mscp"), "cmapfile");
            if !v.reply("CardReadFile(mscp/cmapfile)", &r, &[SCARD_S_SUCCESS]) {
                return;
            }
            let records = match blobs::parse_cmapfile(&r.value.unwrap_or_default()) {
                Ok(r) => r,
                Err(e) => return v.fail(e),
            };
            let valid: Vec<_> = records.iter().filter(|r| r.valid()).collect();
            for r in records.iter().filter(|r| !r.valid()) {
                v.check(r.flags == 0 && r.sig_bits == 0 && r.kx_bits == 0, || {
                    format!("record {} is not valid but not zeroed (spec §5.4.4)", r.index)
                });
            }
            let defaults = valid.iter().filter(|r| r.flags & CMAP_DEFAULT != 0).count();
            v.check(defaults == 1, || {
                format!("{defaults} default containers, expected exactly one")
            });
            v.check(records.iter().all(|r| r.flags & !0x03 == 0), || {
                "reserved flag bits set".into()
            });
            let mut names = Vec::new();
            for r in &valid {
                match &r.name {
                    Some(n) if !n.is_empty() && n.chars().count() <= 39 && !n.contains('\\') => {
                        v.check(!names.contains(n), || format!("container name {n} used twice"));
                        names.push(n.clone());
                    }
                    other => v.fail(format!("record {}: bad container name {other:?}", r.index)),
                }
                v.check((r.sig_bits == 0) != (r.kx_bits == 0), || {
                    format!(
                        "record {}: exactly one key size expected, got sig {} kx {}",
                        r.index, r.sig_bits, r.kx_bits
                    )
                });
            }
        }),
        opened(SUITE, "cmapfile-matches-slots", |h, v, b| {
            let found = match h.containers(b) {
                Ok(f) => f,
                Err(e) => return v.fail(e),
            };
            v.code("CardGetContainerInfo for every valid record", 0, &[0]);
            for f in &found {
                match &f.slot {
                    None => v.fail(format!(
                        "container {} holds a key that was not provisioned",
                        f.index()
                    )),
                    Some(s) => {
                        let bits = if f.exchange_key.is_some() {
                            f.record.kx_bits
                        } else {
                            f.record.sig_bits
                        };
                        v.check(u32::from(bits) == s.key_bits(), || {
                            format!(
                                "container {}: record says {bits} bits, slot {} has {}",
                                f.index(),
                                s.slot,
                                s.key_bits()
                            )
                        });
                    }
                }
            }
            for s in &h.fixture().slots {
                v.check(
                    found
                        .iter()
                        .any(|f| f.slot.as_ref().is_some_and(|x| x.slot == s.slot)),
                    || format!("the key in slot {} is in no container", s.slot),
                );
            }
        }),
        opened(SUITE, "names-case-insensitive", |_, v, b| {
            let a = b.call().read(Some("mscp"), "cmapfile");
            let x = b.call().read(Some("mSCp"), "CmApfiLE");
            v.reply("CardReadFile(mSCp/CmApfiLE)", &x, &[SCARD_S_SUCCESS]);
            v.check(a.value.is_some() && a.value == x.value, || {
                "different content".into()
            });
            let y = b.call().read(None, "CARDID");
            v.reply("CardReadFile(CARDID)", &y, &[SCARD_S_SUCCESS]);
            v.note("CMCK FileSystem/FileName: names are case-insensitive (spec §5.1)");
        }),
        case(SUITE, "read-msroots", |h, v| {
            let Some(roots) = h.fixture().roots.clone() else {
                return v.skip("no root store provisioned");
            };
            let Some(b) = open(h, v) else { return };
            let r = b.call().read(Some("mscp"), "msroots");
            if v.reply("CardReadFile(mscp/msroots)", &r, &[SCARD_S_SUCCESS]) {
                v.check(r.value.as_ref() == Some(&roots), || {
                    "msroots differs from the root store written".into()
                });
            }
        }),
        opened(SUITE, "slot-without-certificate-has-no-file", |h, v, b| {
            let found = match h.containers(b) {
                Ok(f) => f,
                Err(e) => return v.fail(e),
            };
            let without: Vec<_> = found
                .iter()
                .filter(|f| f.slot.as_ref().is_some_and(|s| s.certificate.is_none()))
                .collect();
            if without.is_empty() {
                return v.skip("no key without a certificate");
            }
            for f in without {
                let (code, _, file) = read_certificate(&b.call(), f);
                v.code(
                    &format!("CardReadFile(mscp/{file})"),
                    code,
                    &[SCARD_E_FILE_NOT_FOUND],
                );
            }
        }),
    ];
    for slot in crate::fixture::default_plan()
        .iter()
        .filter(|p| p.certificate.is_some())
        .map(|p| p.slot)
    {
        c.push(case(
            SUITE,
            format!(
                "read-certificate-{}",
                slot.name().to_lowercase().replace(' ', "-")
            ),
            move |h, v| {
                let Some(state) = h.fixture().slot(slot).cloned() else {
                    return v.skip("slot not provisioned");
                };
                let Some(written) = state.certificate.clone() else {
                    return v.skip("no certificate in this slot");
                };
                let Some(b) = open(h, v) else { return };
                let compression = b.call().query_capabilities(StructArg::V1).value.map(|c| c.1);
                let found = match h.containers(&b) {
                    Ok(f) => f,
                    Err(e) => return v.fail(e),
                };
                let mine: Vec<_> = found
                    .iter()
                    .filter(|f| f.slot.as_ref().is_some_and(|s| s.slot == slot))
                    .collect();
                if mine.is_empty() {
                    return v.fail(format!("no container holds the key of slot {slot}"));
                }
                let listing = b
                    .call()
                    .enum_files(read_args(Some("mscp"), None))
                    .value
                    .unwrap_or_default();
                let listed = blobs::parse_multistring(&listing).unwrap_or_default();
                for f in mine {
                    let (code, data, file) = read_certificate(&b.call(), f);
                    v.code(&format!("CardReadFile(mscp/{file})"), code, &[SCARD_S_SUCCESS]);
                    let Some(data) = data else { continue };
                    match compression {
                        Some(0) => v.check(data.get(..2) == Some(&[1, 0]), || {
                            "fCertificateCompression is FALSE but the file is not in the CSP's compressed \
                            format"
                                .into()
                        }),
                        _ => v.check(data == written, || {
                            format!(
                                "{file} is not byte-equal to the certificate written ({} vs {} bytes)",
                                data.len(),
                                written.len()
                            )
                        }),
                    };
                    v.check(listed.iter().any(|n| n.eq_ignore_ascii_case(&file)), || {
                        format!("{file} is readable but CardEnumFiles(mscp) does not list it")
                    });
                    let info = b
                        .call()
                        .get_file_info(read_args(Some("mscp"), Some(&file)), StructArg::V1);
                    v.check(info.value.is_some_and(|i| i.1 as usize == data.len()), || {
                        format!("CardGetFileInfo({file}) size differs from the file read")
                    });
                }
            },
        ));
    }
    c.extend([
        refused(
            FileCall::Read,
            "null-card-data",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardReadFile",
            read_args(None, Some("cardid")),
            true,
        ),
        refused(
            FileCall::Read,
            "null-file-name",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardReadFile",
            read_args(None, None),
            false,
        ),
        refused(
            FileCall::Read,
            "empty-file-name",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardReadFile",
            read_args(None, Some("")),
            false,
        ),
        refused(
            FileCall::Read,
            "null-data-pointer",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardReadFile requires INVALID_PARAMETER (OpenSC tolerates it)",
            FileArgs {
                null_data: true,
                ..read_args(None, Some("cardid"))
            },
            false,
        ),
        refused(
            FileCall::Read,
            "null-length-pointer",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardReadFile",
            FileArgs {
                null_len: true,
                ..read_args(None, Some("cardid"))
            },
            false,
        ),
        refused(
            FileCall::Read,
            "flags-0xff",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardReadFile",
            FileArgs {
                flags: 0xFF,
                ..read_args(None, Some("cardid"))
            },
            false,
        ),
        refused(
            FileCall::Read,
            "flags-1",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.3.3: dwFlags must be 0",
            FileArgs {
                flags: 1,
                ..read_args(None, Some("cardid"))
            },
            false,
        ),
        refused(
            FileCall::Read,
            "missing-file-in-root",
            &[SCARD_E_FILE_NOT_FOUND],
            "CMCK CardReadFile",
            read_args(None, Some("nofile")),
            false,
        ),
        refused(
            FileCall::Read,
            "missing-file-in-mscp",
            &[SCARD_E_FILE_NOT_FOUND],
            "CMCK CardReadFile",
            read_args(Some("mscp"), Some("nofile")),
            false,
        ),
        refused(
            FileCall::Read,
            "missing-directory",
            &[SCARD_E_DIR_NOT_FOUND],
            "CMCK CardReadFile",
            read_args(Some("nodir"), Some("cardid")),
            false,
        ),
        refused(
            FileCall::Read,
            "file-used-as-directory",
            &[SCARD_E_DIR_NOT_FOUND],
            "CMCK CardReadFile expects DIR_NOT_FOUND even when a file has that name",
            read_args(Some("cardid"), Some("cardid")),
            false,
        ),
        refused(
            FileCall::Read,
            "directory-used-as-file",
            &[SCARD_E_FILE_NOT_FOUND],
            "CMCK CardReadFile: FILE_NOT_FOUND even when a directory has that name",
            read_args(None, Some("mscp")),
            false,
        ),
        refused(
            FileCall::Read,
            "file-name-too-long",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §5.1: names are at most 8 \
            characters",
            read_args(None, Some("cardid123")),
            false,
        ),
        refused(
            FileCall::Read,
            "directory-name-too-long",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §5.1",
            read_args(Some("mscpmscpx"), Some("cmapfile")),
            false,
        ),
        refused(
            FileCall::Read,
            "file-name-forbidden-character",
            &[SCARD_E_INVALID_PARAMETER, SCARD_E_FILE_NOT_FOUND],
            "spec §5.1 forbids the characters Windows file names may not hold (\" * / : < > ? \\ |) without \
                naming the code: INVALID_PARAMETER or FILE_NOT_FOUND",
            read_args(None, Some("card*id")),
            false,
        ),
    ]);
    c.extend([
        opened(SUITE, "info-cardid", |_, v, b| {
            file_info(v, b, None, "cardid", Some(16), EVERYONE_READ_ADMIN_WRITE)
        }),
        opened(SUITE, "info-cardcf", |_, v, b| {
            file_info(v, b, None, "cardcf", Some(6), EVERYONE_READ_USER_WRITE)
        }),
        opened(SUITE, "info-cardapps", |_, v, b| {
            file_info(v, b, None, "cardapps", None, EVERYONE_READ_ADMIN_WRITE)
        }),
        opened(SUITE, "info-cmapfile", |_, v, b| {
            file_info(v, b, Some("mscp"), "cmapfile", None, EVERYONE_READ_USER_WRITE)
        }),
        opened(SUITE, "info-version-0", |_, v, b| {
            let r = b
                .call()
                .get_file_info(read_args(None, Some("cardid")), StructArg::version(0));
            v.reply("CardGetFileInfo", &r, &[SCARD_S_SUCCESS]);
            v.note("spec §2.5.2: version 0 is treated as 1 (CMCK CardGetFileInfo accepts it)");
        }),
        refused(
            FileCall::Info(StructArg::version(2)),
            "version-2",
            &[ERROR_REVISION_MISMATCH],
            "CMCK CardGetFileInfo",
            read_args(None, Some("cardid")),
            false,
        ),
        refused(
            FileCall::Info(StructArg::V1),
            "null-card-data",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetFileInfo",
            read_args(None, Some("cardid")),
            true,
        ),
        refused(
            FileCall::Info(StructArg::V1),
            "null-file-name",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetFileInfo",
            read_args(None, None),
            false,
        ),
        refused(
            FileCall::Info(StructArg::V1),
            "empty-file-name",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetFileInfo",
            read_args(None, Some("")),
            false,
        ),
        refused(
            FileCall::Info(StructArg::NULL),
            "null-structure",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetFileInfo",
            read_args(None, Some("cardid")),
            false,
        ),
        refused(
            FileCall::Info(StructArg::V1),
            "missing-directory",
            &[SCARD_E_DIR_NOT_FOUND],
            "CMCK CardGetFileInfo",
            read_args(Some("nodir"), Some("cardid")),
            false,
        ),
        refused(
            FileCall::Info(StructArg::V1),
            "missing-file",
            &[SCARD_E_FILE_NOT_FOUND],
            "CMCK CardGetFileInfo",
            read_args(Some("mscp"), Some("nofile")),
            false,
        ),
        refused(
            FileCall::Info(StructArg::V1),
            "name-too-long",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §5.1",
            read_args(None, Some("cardid123")),
            false,
        ),
    ]);
    c.extend([
        opened(SUITE, "enum-root", |h, v, b| {
            enum_dir(h, v, b, None, &["cardid", "cardcf", "cardapps"])
        }),
        opened(SUITE, "enum-mscp", |h, v, b| {
            enum_dir(h, v, b, Some("mscp"), &["cmapfile"])
        }),
        opened(SUITE, "enum-case-insensitive", |_, v, b| {
            let a = b.call().enum_files(read_args(Some("mscp"), None));
            let x = b.call().enum_files(read_args(Some("MsCp"), None));
            v.reply("CardEnumFiles(MsCp)", &x, &[SCARD_S_SUCCESS]);
            v.check(a.value.is_some() && a.value == x.value, || {
                "listings differ".into()
            });
        }),
        refused(
            FileCall::Enum,
            "missing-directory",
            &[SCARD_E_DIR_NOT_FOUND],
            "CMCK CardEnumFiles",
            read_args(Some("nodir"), None),
            false,
        ),
        refused(
            FileCall::Enum,
            "null-card-data",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardEnumFiles",
            read_args(None, None),
            true,
        ),
        refused(
            FileCall::Enum,
            "null-names-pointer",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardEnumFiles",
            FileArgs {
                null_data: true,
                ..read_args(None, None)
            },
            false,
        ),
        refused(
            FileCall::Enum,
            "null-length-pointer",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardEnumFiles",
            FileArgs {
                null_len: true,
                ..read_args(None, None)
            },
            false,
        ),
        refused(
            FileCall::Enum,
            "flags-0xff",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardEnumFiles",
            FileArgs {
                flags: 0xFF,
                ..read_args(None, None)
            },
            false,
        ),
        refused(
            FileCall::Enum,
            "directory-name-too-long",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §5.1",
            read_args(Some("mscpmscpx"), None),
            false,
        ),
    ]);
    c.extend([
        free_space(
            "v1",
            &[SCARD_S_SUCCESS],
            0,
            StructArg::V1,
            false,
            "CMCK CardQueryFreeSpace",
        ),
        free_space(
            "v0",
            &[SCARD_S_SUCCESS],
            0,
            StructArg::version(0),
            false,
            "spec §2.5.2: 0 is treated as 1 (CMCK CardQueryFreeSpace)",
        ),
        free_space(
            "v2",
            &[ERROR_REVISION_MISMATCH],
            0,
            StructArg::version(2),
            false,
            "CMCK CardQueryFreeSpace",
        ),
        free_space(
            "v255",
            &[ERROR_REVISION_MISMATCH],
            0,
            StructArg::version(0xFF),
            false,
            "CMCK CardQueryFreeSpace",
        ),
        free_space(
            "null-card-data",
            &[SCARD_E_INVALID_PARAMETER],
            0,
            StructArg::V1,
            true,
            "CMCK CardQueryFreeSpace",
        ),
        free_space(
            "null-structure",
            &[SCARD_E_INVALID_PARAMETER],
            0,
            StructArg::NULL,
            false,
            "CMCK CardQueryFreeSpace",
        ),
        free_space(
            "flags-0xff",
            &[SCARD_E_INVALID_PARAMETER],
            0xFF,
            StructArg::V1,
            false,
            "CMCK CardQueryFreeSpace",
        ),
    ]);
    c.extend(write_side());
    c
}

fn file_info(
    v: &mut Verdict,
    b: &ConnectedContext,
    dir: Option<&str>,
    file: &str,
    size: Option<u32>,
    access: i32,
) {
    let r = b.call().get_file_info(read_args(dir, Some(file)), StructArg::V1);
    if !v.reply("CardGetFileInfo", &r, &[SCARD_S_SUCCESS]) {
        return;
    }
    let Some((version, len, ac)) = r.value else { return };
    v.check(version == 1, || format!("dwVersion {version}"));
    let data = b.call().read(dir, file).value.unwrap_or_default();
    v.check(len as usize == data.len(), || {
        format!("cbFileSize {len}, but the file has {} bytes", data.len())
    });
    if let Some(size) = size {
        v.check(len == size, || format!("cbFileSize {len}, expected {size}"));
    }
    v.check(ac == access, || {
        format!("AccessCondition {ac}, expected {access} (spec §5.4)")
    });
}

fn enum_dir(h: &Harness, v: &mut Verdict, b: &ConnectedContext, dir: Option<&str>, must: &[&str]) {
    let r = b.call().enum_files(read_args(dir, None));
    if !v.reply("CardEnumFiles", &r, &[SCARD_S_SUCCESS]) {
        return;
    }
    let names = match blobs::parse_multistring(&r.value.unwrap_or_default()) {
        Ok(n) => n,
        Err(e) => return v.fail(e),
    };
    for m in must {
        v.check(names.iter().any(|n| n.eq_ignore_ascii_case(m)), || {
            format!("{m} not listed")
        });
    }
    for n in &names {
        let read = b.call().read(dir, n);
        let is_dir = dir.is_none() && b.call().enum_files(read_args(Some(n), None)).ok();
        v.check(read.ok() || is_dir, || {
            format!("{n} is listed but CardReadFile returns {}", name(read.code))
        });
    }
    if dir.is_some()
        && let Ok(found) = h.containers(b)
    {
        for f in found
            .iter()
            .filter(|f| f.slot.as_ref().is_some_and(|s| s.certificate.is_some()))
        {
            let names_ok = certificate_file_names(f)
                .iter()
                .any(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c)));
            v.check(names_ok, || {
                format!("no certificate file listed for container {}", f.index())
            });
        }
    }
}

/// The write-side file entry points on a read-only card (spec §7.4): refused, and the cmapfile still
/// readable and unchanged; INVALID_PARAMETER for a NULL `pCardData`.
fn write_side() -> Vec<CaseDef> {
    let calls: [(&str, WriteCall); 5] = [
        ("create-file", |c| {
            c.create_file(
                read_args(Some("mscp"), Some("newfile")),
                16,
                EVERYONE_READ_USER_WRITE,
            )
            .code
        }),
        ("write-file", |c| {
            c.write_file(read_args(Some("mscp"), Some("cmapfile")), Some(&[]))
                .code
        }),
        ("delete-file", |c| {
            c.delete_file(read_args(Some("mscp"), Some("cmapfile"))).code
        }),
        ("create-directory", |c| {
            c.create_directory(Some(b"newdir"), 1).code
        }),
        ("delete-directory", |c| c.delete_directory(Some(b"mscp")).code),
    ];
    write_refusals(SUITE, &calls, "the cmapfile", |b, v| {
        let cmapfile = b.call().read(Some("mscp"), "cmapfile");
        v.reply("cmapfile readable", &cmapfile, &[SCARD_S_SUCCESS]);
        cmapfile.value
    })
}
