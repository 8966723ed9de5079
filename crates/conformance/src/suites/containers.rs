//! Containers, capabilities and key sizes (spec §4.4.2, §4.6.4, §4.7.6; CMCK CardGetContainerInfo,
//! CardQueryCapabilities, CardQueryKeySizes): `CardGetContainerInfo` blobs parsed and compared with the
//! provisioned keys, key specs from certificate key usage, `CardQueryCapabilities`, `CardQueryKeySizes`, and
//! the container write entry points of a read-only card.

use tessera_piv::AlgorithmId;

use super::common::{WriteCall, open, opened, read_only, write_refusals};
use crate::blobs::{self, CALG_RSA_KEYX, CALG_RSA_SIGN, ECDH_P256, ECDH_P384, ECDSA_P256, ECDSA_P384};
use crate::codes::*;
use crate::ffi::calls::{NewContainer, StructArg};
use crate::fixture::CertUsage;
use crate::harness::{CaseDef, Found, Harness, Verdict, case};

const SUITE: &str = "containers";

/// `AT_*` key specs.
pub mod spec {
    /// `AT_KEYEXCHANGE`.
    pub const KEYEXCHANGE: u32 = 1;
    /// `AT_SIGNATURE`.
    pub const SIGNATURE: u32 = 2;
    /// `AT_ECDSA_P256`.
    pub const ECDSA_P256: u32 = 3;
    /// `AT_ECDSA_P384`.
    pub const ECDSA_P384: u32 = 4;
    /// `AT_ECDSA_P521`.
    pub const ECDSA_P521: u32 = 5;
    /// `AT_ECDHE_P256`.
    pub const ECDHE_P256: u32 = 6;
    /// `AT_ECDHE_P384`.
    pub const ECDHE_P384: u32 = 7;
    /// `AT_ECDHE_P521`.
    pub const ECDHE_P521: u32 = 8;
}

fn found(h: &Harness, v: &mut Verdict) -> Option<(crate::harness::ConnectedContext, Vec<Found>)> {
    let b = open(h, v)?;
    let f = v.setup("list the containers", h.containers(&b))?;
    Some((b, f))
}

/// Checks one container's blobs against its slot.
fn check_blobs(v: &mut Verdict, f: &Found) {
    let Some(slot) = &f.slot else {
        return v.fail(format!("container {} holds no provisioned key", f.index()));
    };
    let (blob, exchange) = match (&f.signature_key, &f.exchange_key) {
        (Some(b), None) => (b, false),
        (None, Some(b)) => (b, true),
        (Some(_), Some(_)) => {
            return v.fail("both key positions filled; a PIV slot holds one key, so a container has one");
        }
        (None, None) => return v.fail("no key blob"),
    };
    v.check(
        if exchange {
            f.record.kx_bits != 0
        } else {
            f.record.sig_bits != 0
        },
        || "the blob's position differs from the cmapfile record's".into(),
    );
    match &slot.public_key {
        tessera_piv::PublicKey::Rsa {
            modulus, exponent, ..
        } => match blobs::parse_rsa_blob(blob) {
            Err(e) => v.fail(e),
            Ok(b) => {
                let alg = if exchange { CALG_RSA_KEYX } else { CALG_RSA_SIGN };
                v.check(b.alg == alg, || {
                    format!(
                        "aiKeyAlg {:#x}, expected {alg:#x} (PUBLICKEYBLOB: CALG_RSA_SIGN or CALG_RSA_KEYX)",
                        b.alg
                    )
                });
                v.check(b.bits == slot.key_bits(), || format!("bitlen {}", b.bits));
                let e = exponent.iter().fold(0u32, |a, x| (a << 8) | u32::from(*x));
                v.check(b.exponent == e, || format!("pubexp {} expected {e}", b.exponent));
                v.check(&b.modulus_be == modulus, || {
                    "modulus (little-endian in the blob) differs from the card's key".into()
                });
                match slot.usage {
                    CertUsage::SignOnly => v.check(!exchange, || {
                        "a sign-only RSA certificate must be an AT_SIGNATURE key".into()
                    }),
                    _ => true,
                };
            }
        },
        tessera_piv::PublicKey::Ecc { algorithm, point } => match blobs::parse_ecc_blob(blob) {
            Err(e) => v.fail(e),
            Ok(b) => {
                let p384 = *algorithm == AlgorithmId::ECCP384;
                let magic = match (exchange, p384) {
                    (false, false) => ECDSA_P256,
                    (false, true) => ECDSA_P384,
                    (true, false) => ECDH_P256,
                    (true, true) => ECDH_P384,
                };
                v.check(b.magic == magic, || {
                    format!(
                        "dwMagic {:#x}, expected {magic:#x} (bcrypt.h's ECDSA or ECDH public magic)",
                        b.magic
                    )
                });
                v.check(Some(b.xy.as_slice()) == point.get(1..), || {
                    "X‖Y differs from the card's point".into()
                });
                if exchange {
                    v.check(slot.usage.agrees(), || {
                        "an ECDH container for a key whose certificate forbids key agreement".into()
                    });
                } else {
                    v.check(slot.usage.signs(), || {
                        "an ECDSA container for a key whose certificate forbids signing".into()
                    });
                }
            }
        },
    }
}

fn info_refused(
    name: &str,
    index: Option<u8>,
    flags: u32,
    s: StructArg,
    null_cd: bool,
    want: &'static [u32],
    why: &'static str,
) -> CaseDef {
    case(SUITE, format!("info-{name}"), move |h, v| {
        let Some((b, found)) = found(h, v) else { return };
        let index = index.unwrap_or_else(|| found.first().map_or(0, Found::index));
        let calls = if null_cd { b.null() } else { b.call() };
        let r = calls.get_container_info(index, flags, s);
        v.reply("CardGetContainerInfo", &r, want);
        v.note(why);
    })
}

#[allow(
    clippy::too_many_arguments,
    reason = "one argument per column of the case table"
)]
fn key_sizes(
    name: &str,
    key_spec: u32,
    flags: u32,
    s: StructArg,
    null_cd: bool,
    want: &'static [u32],
    expect: Option<(u32, u32)>,
    why: &'static str,
) -> CaseDef {
    opened(SUITE, format!("key-sizes-{name}"), move |_, v, b| {
        let calls = if null_cd { b.null() } else { b.call() };
        let r = calls.query_key_sizes(key_spec, flags, s);
        v.reply("CardQueryKeySizes", &r, want);
        if let Some([version, min, default, max, inc]) = r.value {
            v.check(version == 1, || format!("dwVersion {version}"));
            v.check(min <= default && default <= max, || {
                format!("min {min} default {default} max {max}")
            });
            v.check(inc != 0, || "increment 0".into());
            if let Some((lo, hi)) = expect {
                v.check(min <= lo && max >= hi, || {
                    format!("{min}..{max} does not cover {lo}..{hi}")
                });
            }
            if (3..=8).contains(&key_spec) {
                v.check(min == max && min == default, || {
                    "spec §4.7.6: an ECC key spec has one size".into()
                });
            }
            // The property must agree with the function.
            let p = b
                .call()
                .get_property(Some("Key Sizes"), 20, key_spec, false, false);
            let same = p
                .value
                .is_some_and(|p| blobs::dwords(&p.data) == vec![version, min, default, max, inc]);
            v.check(same, || "CP_CARD_KEYSIZES differs from CardQueryKeySizes".into());
        }
        v.note(why);
    })
}

fn capabilities(name: &str, s: StructArg, null_cd: bool, want: &'static [u32], why: &'static str) -> CaseDef {
    opened(SUITE, format!("capabilities-{name}"), move |_, v, b| {
        let calls = if null_cd { b.null() } else { b.call() };
        let r = calls.query_capabilities(s);
        v.reply("CardQueryCapabilities", &r, want);
        if let Some((version, compression, keygen)) = r.value {
            v.check(version == 1, || format!("dwVersion {version}"));
            v.check(matches!(compression, 0 | 1) && matches!(keygen, 0 | 1), || {
                format!("BOOLs {compression}/{keygen} are not 0 or 1")
            });
            if read_only(b) == Some(true) {
                v.check(keygen == 0, || "fKeyGen TRUE on a read-only card".into());
            }
            let p = b.call().get_property(Some("Capabilities"), 12, 0, false, false);
            let same = p
                .value
                .is_some_and(|p| blobs::dwords(&p.data) == vec![1, compression as u32, keygen as u32]);
            v.check(same, || {
                "CP_CARD_CAPABILITIES differs from CardQueryCapabilities".into()
            });
        }
        v.note(why);
    })
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for p in crate::fixture::default_plan() {
        let slot = p.slot;
        c.push(case(SUITE, format!("info-slot-{:02x}", slot.0), move |h, v| {
            let Some((b, found)) = found(h, v) else { return };
            let mine: Vec<_> = found
                .iter()
                .filter(|f| f.slot.as_ref().is_some_and(|s| s.slot == slot))
                .collect();
            v.code(
                "CardGetContainerInfo",
                if mine.is_empty() {
                    SCARD_E_NO_KEY_CONTAINER
                } else {
                    0
                },
                &[0],
            );
            for f in &mine {
                check_blobs(v, f);
                // The container property gives the same structure.
                let p = b.call().get_container_info_property(f.index(), 1, 40);
                v.reply(
                    "CardGetContainerProperty(CCP_CONTAINER_INFO)",
                    &p,
                    &[SCARD_S_SUCCESS],
                );
                if let Some(p) = p.value {
                    v.check(
                        p.signature_key == f.signature_key && p.exchange_key == f.exchange_key,
                        || "CCP_CONTAINER_INFO differs from CardGetContainerInfo".into(),
                    );
                }
            }
            if let Some(s) = h.fixture().slot(slot) {
                let ec_agree = !s.is_rsa() && s.usage.agrees();
                if ec_agree {
                    v.check(mine.iter().any(|f| f.exchange_key.is_some()), || {
                        "an EC key whose certificate allows keyAgreement must also be offered as ECDH".into()
                    });
                }
                if !s.is_rsa() && s.usage.signs() {
                    v.check(mine.iter().any(|f| f.signature_key.is_some()), || {
                        "no ECDSA container".into()
                    });
                }
            }
        }));
    }
    c.extend([
        case(SUITE, "info-every-valid-record", |h, v| {
            let Some((_, found)) = found(h, v) else { return };
            v.code("CardGetContainerInfo on every valid cmapfile record", 0, &[0]);
            for f in &found {
                check_blobs(v, f);
            }
        }),
        case(SUITE, "info-version-0", |h, v| {
            let Some((b, found)) = found(h, v) else { return };
            let Some(f) = found.first() else {
                return v.fail("no container");
            };
            let r = b.call().get_container_info(f.index(), 0, StructArg::version(0));
            v.reply("CardGetContainerInfo", &r, &[SCARD_S_SUCCESS]);
            v.check(r.value.is_some_and(|i| i.version == 1), || {
                "dwVersion not written back as 1".into()
            });
        }),
        info_refused(
            "version-2",
            None,
            0,
            StructArg::version(2),
            false,
            &[ERROR_REVISION_MISMATCH],
            "CMCK CardGetContainerInfo",
        ),
        info_refused(
            "version-257",
            None,
            0,
            StructArg::version(257),
            false,
            &[ERROR_REVISION_MISMATCH],
            "CMCK CardGetContainerInfo",
        ),
        info_refused(
            "null-card-data",
            None,
            0,
            StructArg::V1,
            true,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerInfo",
        ),
        info_refused(
            "null-structure",
            None,
            0,
            StructArg::NULL,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerInfo",
        ),
        info_refused(
            "flags-1",
            None,
            1,
            StructArg::V1,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerInfo: dwFlags ≠ 0",
        ),
        info_refused(
            "index-255",
            Some(255),
            0,
            StructArg::V1,
            false,
            &[SCARD_E_NO_KEY_CONTAINER],
            "CMCK CardGetContainerInfo",
        ),
        opened(SUITE, "info-empty-index", |h, v, b| {
            let Some(records) = v.setup("cmapfile", h.cmap(b)) else {
                return;
            };
            let empty = (0..=u8::MAX).find(|i| records.get(usize::from(*i)).is_none_or(|r| !r.valid()));
            let Some(index) = empty else {
                return v.skip("no empty index");
            };
            let r = b.call().get_container_info(index, 0, StructArg::V1);
            v.reply(
                &format!("CardGetContainerInfo({index})"),
                &r,
                &[SCARD_E_NO_KEY_CONTAINER],
            );
            v.note("spec §4.6.4: an empty index → SCARD_E_NO_KEY_CONTAINER");
        }),
        case(SUITE, "default-container-is-usable", |h, v| {
            let Some((_, found)) = found(h, v) else { return };
            let default = found.iter().find(|f| f.record.flags & blobs::CMAP_DEFAULT != 0);
            v.code(
                "default container",
                if default.is_some() {
                    0
                } else {
                    SCARD_E_NO_KEY_CONTAINER
                },
                &[0],
            );
            if let Some(f) = default {
                v.check(f.slot.is_some(), || {
                    "the default container holds no provisioned key".into()
                });
            }
        }),
        case(SUITE, "dual-use-rsa-certificate", |h, v| {
            let Some((_, found)) = found(h, v) else { return };
            let dual: Vec<_> = found
                .iter()
                .filter(|f| {
                    f.slot
                        .as_ref()
                        .is_some_and(|s| s.is_rsa() && s.usage == CertUsage::SignAndEncrypt)
                })
                .collect();
            v.code(
                "container for the dual-use certificate",
                if dual.is_empty() {
                    SCARD_E_NO_KEY_CONTAINER
                } else {
                    0
                },
                &[0],
            );
            // CAPI lets an AT_KEYEXCHANGE key sign too; an AT_SIGNATURE-only view would lose decryption
            // (the OpenSC defect #3264/#3244). Issue 5's suites sign and decrypt with it.
            v.check(dual.iter().any(|f| f.exchange_key.is_some()), || {
                "a digitalSignature+keyEncipherment RSA key must be offered as AT_KEYEXCHANGE (it signs too)"
                    .into()
            });
        }),
        case(SUITE, "sign-only-rsa-certificate", |h, v| {
            let Some((_, found)) = found(h, v) else { return };
            let only: Vec<_> = found
                .iter()
                .filter(|f| {
                    f.slot
                        .as_ref()
                        .is_some_and(|s| s.is_rsa() && s.usage == CertUsage::SignOnly)
                })
                .collect();
            v.code(
                "container for the sign-only certificate",
                if only.is_empty() {
                    SCARD_E_NO_KEY_CONTAINER
                } else {
                    0
                },
                &[0],
            );
            v.check(
                only.iter()
                    .all(|f| f.exchange_key.is_none() && f.signature_key.is_some()),
                || "a sign-only RSA certificate's key must be AT_SIGNATURE only".into(),
            );
        }),
        case(SUITE, "ecdsa-ecdh-pairing", |h, v| {
            let Some((b, found)) = found(h, v) else { return };
            let mut paired = 0;
            for f in found.iter().filter(|f| {
                f.signature_key.is_some() && f.slot.as_ref().is_some_and(|s| !s.is_rsa() && s.usage.agrees())
            }) {
                let r = b.call().get_container_property(
                    f.index(),
                    Some("Associated ECDH Key"),
                    4,
                    0,
                    false,
                    false,
                );
                if !v.reply(
                    &format!("CCP_ASSOCIATED_ECDH_KEY({})", f.index()),
                    &r,
                    &[SCARD_S_SUCCESS],
                ) {
                    continue;
                }
                let Some(twin) = r.value.and_then(|p| p.data.first().copied()) else {
                    continue;
                };
                let ok = found.iter().any(|t| {
                    t.index() == twin
                        && t.exchange_key.is_some()
                        && t.slot.as_ref().map(|s| s.slot) == f.slot.as_ref().map(|s| s.slot)
                });
                v.check(ok, || {
                    format!(
                        "container {} names {twin} as its ECDH key, which is not the same key as ECDH",
                        f.index()
                    )
                });
                paired += 1;
            }
            if paired == 0 {
                v.skip("no EC key that both signs and agrees");
            }
        }),
    ]);
    c.extend([
        capabilities(
            "v1",
            StructArg::V1,
            false,
            &[SCARD_S_SUCCESS],
            "CMCK CardQueryCapabilities",
        ),
        capabilities(
            "v0",
            StructArg::version(0),
            false,
            &[SCARD_S_SUCCESS],
            "spec §2.5.2: 0 is treated as 1 (CMCK CardQueryCapabilities)",
        ),
        capabilities(
            "v2",
            StructArg::version(2),
            false,
            &[ERROR_REVISION_MISMATCH],
            "CMCK CardQueryCapabilities",
        ),
        capabilities(
            "v257",
            StructArg::version(257),
            false,
            &[ERROR_REVISION_MISMATCH],
            "CMCK CardQueryCapabilities",
        ),
        capabilities(
            "null-card-data",
            StructArg::V1,
            true,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardQueryCapabilities",
        ),
        capabilities(
            "null-structure",
            StructArg::NULL,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardQueryCapabilities",
        ),
    ]);
    c.extend([
        key_sizes(
            "keyexchange",
            spec::KEYEXCHANGE,
            0,
            StructArg::V1,
            false,
            &[SCARD_S_SUCCESS],
            Some((1024, 2048)),
            "spec §4.7.6: PIV RSA 1024–2048 at least",
        ),
        key_sizes(
            "signature",
            spec::SIGNATURE,
            0,
            StructArg::V1,
            false,
            &[SCARD_S_SUCCESS],
            Some((1024, 2048)),
            "spec §4.7.6",
        ),
        key_sizes(
            "ecdsa-p256",
            spec::ECDSA_P256,
            0,
            StructArg::V1,
            false,
            &[SCARD_S_SUCCESS],
            Some((256, 256)),
            "spec §4.7.6",
        ),
        key_sizes(
            "ecdsa-p384",
            spec::ECDSA_P384,
            0,
            StructArg::V1,
            false,
            &[SCARD_S_SUCCESS],
            Some((384, 384)),
            "spec §4.7.6",
        ),
        key_sizes(
            "ecdhe-p256",
            spec::ECDHE_P256,
            0,
            StructArg::V1,
            false,
            &[SCARD_S_SUCCESS],
            Some((256, 256)),
            "spec §4.7.6",
        ),
        key_sizes(
            "ecdhe-p384",
            spec::ECDHE_P384,
            0,
            StructArg::V1,
            false,
            &[SCARD_S_SUCCESS],
            Some((384, 384)),
            "spec §4.7.6",
        ),
        key_sizes(
            "ecdsa-p521",
            spec::ECDSA_P521,
            0,
            StructArg::V1,
            false,
            &[SCARD_E_UNSUPPORTED_FEATURE],
            None,
            "CMCK CardQueryKeySizes: defined but unsupported key spec (PIV has no P-521)",
        ),
        key_sizes(
            "ecdhe-p521",
            spec::ECDHE_P521,
            0,
            StructArg::V1,
            false,
            &[SCARD_E_UNSUPPORTED_FEATURE],
            None,
            "CMCK CardQueryKeySizes",
        ),
        key_sizes(
            "spec-0",
            0,
            0,
            StructArg::V1,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            None,
            "spec §4.7.6: undefined key spec",
        ),
        key_sizes(
            "spec-9",
            9,
            0,
            StructArg::V1,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            None,
            "spec §4.7.6: undefined key spec",
        ),
        key_sizes(
            "spec-0x102",
            0x102,
            0,
            StructArg::V1,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            None,
            "CMCK CardQueryKeySizes",
        ),
        key_sizes(
            "flags-1",
            spec::KEYEXCHANGE,
            1,
            StructArg::V1,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            None,
            "CMCK CardQueryKeySizes",
        ),
        key_sizes(
            "version-0",
            spec::KEYEXCHANGE,
            0,
            StructArg::version(0),
            false,
            &[SCARD_S_SUCCESS],
            None,
            "spec §2.5.2: 0 is treated as 1",
        ),
        key_sizes(
            "version-2",
            spec::KEYEXCHANGE,
            0,
            StructArg::version(2),
            false,
            &[ERROR_REVISION_MISMATCH],
            None,
            "CMCK CardQueryKeySizes",
        ),
        key_sizes(
            "version-0x10001",
            spec::KEYEXCHANGE,
            0,
            StructArg::version(0x10001),
            false,
            &[ERROR_REVISION_MISMATCH],
            None,
            "CMCK CardQueryKeySizes",
        ),
        key_sizes(
            "null-card-data",
            spec::KEYEXCHANGE,
            0,
            StructArg::V1,
            true,
            &[SCARD_E_INVALID_PARAMETER],
            None,
            "CMCK CardQueryKeySizes",
        ),
        key_sizes(
            "null-structure",
            spec::KEYEXCHANGE,
            0,
            StructArg::NULL,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            None,
            "CMCK CardQueryKeySizes",
        ),
    ]);
    c.extend(write_side());
    c
}

/// An RSA-2048 exchange key generated in container 10.
const NEW_CONTAINER: NewContainer<'static> = NewContainer {
    index: 10,
    flags: 1,
    key_spec: spec::KEYEXCHANGE,
    bits: 2048,
    key: None,
};

/// Container creation and deletion on a read-only card: `SCARD_E_UNSUPPORTED_FEATURE` (spec §7.4:
/// the entries exist on a read-only card and refuse), container 0 and the cmapfile unchanged.
fn write_side() -> Vec<CaseDef> {
    let calls: [(&str, WriteCall); 3] = [
        ("create-container", |c| c.create_container(NEW_CONTAINER).code),
        ("create-container-ex", |c| {
            c.create_container_ex(NEW_CONTAINER, 1).code
        }),
        ("delete-container", |c| c.delete_container(0, 0).code),
    ];
    write_refusals(SUITE, &calls, "container 0 or the cmapfile", |b, _| {
        let c = b.call();
        (
            c.get_container_info(0, 0, StructArg::V1).value,
            c.read(Some("mscp"), "cmapfile").value,
        )
    })
}
