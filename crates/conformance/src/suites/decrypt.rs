//! `CardRSADecrypt` (spec §4.7.1 "CardRSADecrypt", §3.2.3 PFN_CSP_UNPAD_DATA): for every RSA size, raw
//! blocks, PKCS#1 v1.5 and OAEP (every SHA-1/SHA-2 hash, with and without a label), each three ways — the
//! KSP's v7 context whose `pfnCspUnpadData` removes the padding, a v7 context without it (the module unpads,
//! in constant time), and a v6 context with `CARD_RSA_DECRYPT_INFO` version 1 (raw block back to the CSP).
//! Ciphertexts are made with the `rsa` crate from the card's public key.
//!
//! Byte order (the spec says only "the input data is passed in little-endian"; what the CSP and OpenSC do,
//! and the module's `decryption.rs`): the ciphertext goes in little-endian; a raw block comes back
//! little-endian; a message the module unpadded comes back byte-reversed; the unpad callback receives the raw
//! block little-endian and what it returns is passed back unchanged (the harness's callback returns the
//! message byte-reversed, so both paths agree).

use crate::codes::*;
use crate::ffi::alloc;
use crate::ffi::calls::flags::*;
use crate::ffi::calls::{DecryptArgs, DecryptOut, PaddingInfo};
use crate::ffi::padding;
use crate::harness::{CaseDef, ConnectedContext, Profile, Verdict, case};
use crate::oracle::hash::{Hash, SHA};
use crate::oracle::rsa::{RsaKey, decode_pkcs1_type2, reversed};
use crate::suites::keys::*;

const SUITE: &str = "decrypt";

fn tag(bits: u32) -> String {
    format!("RSA-{bits} decrypt")
}

/// [`with_key`] for an RSA key: `body` also gets the key's public half, to encrypt to it.
fn with_rsa_key(
    h: &crate::harness::Harness,
    v: &mut Verdict,
    want: NeededKey,
    profile: Profile,
    body: impl FnOnce(&ConnectedContext, &Key, &RsaKey, &mut Verdict),
) {
    with_key(h, v, want, profile, |b, key, v| {
        let Some(rsa) = v.setup("public key", key.rsa()) else {
            return;
        };
        body(b, key, &rsa, v);
    });
}

/// How the padding is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// v7 context, the CSP's `pfnCspUnpadData`.
    Callback,
    /// v7 context without the callback: the module.
    InModule,
}

impl Path {
    fn profile(self) -> Profile {
        match self {
            Self::Callback => Profile::V7,
            Self::InModule => Profile::V7NoUnpad,
        }
    }
    fn label(self) -> &'static str {
        match self {
            Self::Callback => "callback",
            Self::InModule => "in-module",
        }
    }
}

/// The padding under test.
#[derive(Debug, Clone)]
enum Pad {
    Pkcs1,
    Oaep(Hash, Option<Vec<u8>>),
}

impl Pad {
    fn encrypt(&self, rsa: &RsaKey, msg: &[u8], seed: u64) -> Result<Vec<u8>, String> {
        match self {
            Self::Pkcs1 => rsa.encrypt_pkcs1(msg, seed),
            Self::Oaep(h, label) => rsa.encrypt_oaep(*h, label.as_deref(), msg, seed),
        }
    }
    fn args(&self, key: &Key, ciphertext_le: &[u8]) -> DecryptArgs {
        match self {
            Self::Pkcs1 => DecryptArgs::v2(
                key.index,
                key.spec,
                ciphertext_le,
                CARD_PADDING_PKCS1,
                PaddingInfo::Null,
            ),
            Self::Oaep(h, label) => DecryptArgs::v2(
                key.index,
                key.spec,
                ciphertext_le,
                CARD_PADDING_OAEP,
                PaddingInfo::Oaep(Some(h.cng_name().into()), label.clone()),
            ),
        }
    }
}

/// A deterministic message of `len` bytes (a content-encryption key, say).
fn message(what: &str, len: usize) -> Vec<u8> {
    let mut m = Hash::Sha512.of(what);
    m.resize(len, 0x5A);
    m
}

/// Calls `CardRSADecrypt`, expects success, returns what is in the caller's buffer.
fn decrypted(v: &mut Verdict, b: &ConnectedContext, args: &DecryptArgs) -> Option<DecryptOut> {
    let r = b.call().rsa_decrypt(args);
    if v.reply("CardRSADecrypt", &r, &[SCARD_S_SUCCESS]) {
        r.value
    } else {
        None
    }
}

/// A raw block below the modulus: `00` then bytes derived from `what`.
fn raw_block(k: usize, what: &str) -> Vec<u8> {
    let mut block = vec![0u8];
    let mut n = 0u32;
    while block.len() < k {
        block.extend(Hash::Sha256.digest(&[what.as_bytes(), &n.to_be_bytes()]));
        n += 1;
    }
    block.truncate(k);
    block
}

fn raw_case(bits: u32, name: String, profile: Profile, version: u32, why: &'static str) -> CaseDef {
    case(SUITE, name.clone(), move |h, v| {
        with_rsa_key(h, v, NeededKey::RsaExchange(bits), profile, |b, key, rsa, v| {
            let block = raw_block(rsa.len(), &name);
            let Some(c) = v.setup("raw encryption", rsa.raw(&block)) else {
                return;
            };
            let mut args = DecryptArgs::raw(key.index, key.spec, &reversed(&c));
            args.version = version;
            if let Some(out) = decrypted(v, b, &args) {
                v.check(out.len as usize == rsa.len(), || format!("cbData {}", out.len));
                v.check(out.data == reversed(&block), || {
                    if out.data == block {
                        "the raw block came back big-endian; the interface returns it little-endian".into()
                    } else {
                        "the raw block is not m (c = m^e mod n)".into()
                    }
                });
            }
        });
        v.note(why);
    })
    .counted_for(tag(bits))
}

fn padded_case(bits: u32, pad: Pad, path: Path) -> CaseDef {
    let what = match &pad {
        Pad::Pkcs1 => "pkcs1".to_owned(),
        Pad::Oaep(h, None) => format!("oaep-{}", h.label()),
        Pad::Oaep(h, Some(_)) => format!("oaep-{}-label", h.label()),
    };
    let name = format!("rsa{bits}-{what}-{}", path.label());
    case(SUITE, name.clone(), move |h, v| {
        with_rsa_key(
            h,
            v,
            NeededKey::RsaExchange(bits),
            path.profile(),
            |b, key, rsa, v| {
                // 32 bytes (an AES-256 key) where the padding leaves room, else as much as it does.
                let room = match &pad {
                    Pad::Pkcs1 => rsa.len() - 11,
                    Pad::Oaep(h, _) => rsa.len() - 2 * h.len() - 2,
                };
                let msg = message(&name, room.min(32));
                let Some(c) = v.setup("encryption", pad.encrypt(rsa, &msg, u64::from(bits))) else {
                    return;
                };
                let (_, unpads_before, _) = padding::calls();
                let _ = padding::take_last_unpad_input();
                let Some(out) = decrypted(v, b, &pad.args(key, &reversed(&c))) else {
                    return;
                };
                let (_, unpads_after, _) = padding::calls();
                let unpads = unpads_after - unpads_before;
                v.check(out.data == reversed(&msg), || {
                    if out.data == msg {
                        "the message came back in natural order; the module returns it byte-reversed".into()
                    } else {
                        format!("{} bytes that are not the message", out.len)
                    }
                });
                match path {
                    Path::Callback => {
                        v.check(unpads == 1, || {
                            format!("pfnCspUnpadData called {unpads} times, expected once")
                        });
                        let input = padding::take_last_unpad_input().unwrap_or_default();
                        if let Pad::Pkcs1 = pad {
                            v.check(decode_pkcs1_type2(&reversed(&input)) == Some(msg.clone()), || {
                                "pfnCspUnpadData did not get the raw block little-endian".into()
                            });
                        }
                        v.check(input.len() == rsa.len(), || {
                            format!(
                                "pfnCspUnpadData got {} bytes, not the modulus length",
                                input.len()
                            )
                        });
                    }
                    Path::InModule => {
                        v.check(unpads == 0, || {
                            "the callback was called on a context without one".into()
                        });
                    }
                }
            },
        );
        v.note(match path {
            Path::Callback => {
                "spec: a module that cannot unpad on the card calls PFN_CSP_UNPAD_DATA; its \
                output goes back as is"
            }
            Path::InModule => {
                "without pfnCspUnpadData the module removes the padding (constant \
                time) and returns the message byte-reversed"
            }
        });
    })
    .counted_for(tag(bits))
}

fn size_cases(bits: u32) -> Vec<CaseDef> {
    let mut c = vec![
        raw_case(
            bits,
            format!("rsa{bits}-raw-padding-none"),
            Profile::V7,
            2,
            "spec: CARD_PADDING_NONE returns the raw block, little-endian",
        ),
        raw_case(
            bits,
            format!("rsa{bits}-raw-v1-on-v6-context"),
            Profile::V6,
            1,
            "spec §4.7.1: a version-1 structure gets the raw block (the CSP unpads)",
        ),
        padded_case(bits, Pad::Pkcs1, Path::Callback),
        padded_case(bits, Pad::Pkcs1, Path::InModule),
    ];
    let k = bits as usize / 8;
    for hash in SHA {
        if k < 2 * hash.len() + 2 {
            c.push(
                case(
                    SUITE,
                    format!("rsa{bits}-oaep-{}-does-not-fit", hash.label()),
                    move |h, v| {
                        with_rsa_key(
                            h,
                            v,
                            NeededKey::RsaExchange(bits),
                            Profile::V7NoUnpad,
                            |b, key, rsa, v| {
                                let Some(c) = v.setup("raw", rsa.raw(&raw_block(k, "no fit"))) else {
                                    return;
                                };
                                let args = Pad::Oaep(hash, None).args(key, &reversed(&c));
                                let r = b.call().rsa_decrypt(&args);
                                v.reply("CardRSADecrypt", &r, &[SCARD_E_INVALID_PARAMETER]);
                            },
                        );
                        v.note(
                            "RFC 8017 §7.1.2: k < 2·hLen + 2 is a decryption error that depends on the key \
                        and hash only, not on the data → invalid parameter",
                        );
                    },
                )
                .counted_for(tag(bits)),
            );
            continue;
        }
        for label in [None, Some(b"tessera label".to_vec())] {
            for path in [Path::Callback, Path::InModule] {
                c.push(padded_case(bits, Pad::Oaep(hash, label.clone()), path));
            }
        }
    }
    c.push(
        case(
            SUITE,
            format!("rsa{bits}-cbdata-shorter-than-modulus"),
            move |h, v| {
                with_key(h, v, NeededKey::RsaExchange(bits), Profile::V7, |b, key, v| {
                    let data = vec![0x42; key.len() - 1];
                    let args = DecryptArgs::raw(key.index, key.spec, &data);
                    v.reply(
                        "CardRSADecrypt",
                        &b.call().rsa_decrypt(&args),
                        &[SCARD_E_INSUFFICIENT_BUFFER],
                    );
                });
                v.note("spec §4.7.1: a buffer shorter than the modulus → SCARD_E_INSUFFICIENT_BUFFER");
            },
        )
        .counted_for(tag(bits)),
    );
    c.push(
        case(SUITE, format!("rsa{bits}-info-v1-on-v7-context"), move |h, v| {
            with_key(h, v, NeededKey::RsaExchange(bits), Profile::V7, |b, key, v| {
                let mut args = DecryptArgs::raw(key.index, key.spec, &vec![0x42; key.len()]);
                args.version = 1;
                v.reply(
                    "CardRSADecrypt",
                    &b.call().rsa_decrypt(&args),
                    &[ERROR_REVISION_MISMATCH],
                );
            });
            v.note(
                "spec: dwVersion < CARD_RSA_KEY_DECRYPT_INFO_CURRENT_VERSION with a v7 CARD_DATA → \
                ERROR_REVISION_MISMATCH",
            );
        })
        .counted_for(tag(bits)),
    );
    c.push(
        case(
            SUITE,
            format!("rsa{bits}-at-signature-on-dual-use-key"),
            move |h, v| {
                with_rsa_key(
                    h,
                    v,
                    NeededKey::RsaExchange(bits),
                    Profile::V7NoUnpad,
                    |b, key, rsa, v| {
                        let msg = message("at_signature", 16);
                        let Some(c) = v.setup("encryption", rsa.encrypt_pkcs1(&msg, 7)) else {
                            return;
                        };
                        let mut args = Pad::Pkcs1.args(key, &reversed(&c));
                        args.key_spec = AT_SIGNATURE;
                        if let Some(out) = decrypted(v, b, &args) {
                            v.check(out.data == reversed(&msg), || "not the message".into());
                        }
                    },
                );
                v.note(
                    "spec §4.7.1: dwKeySpec is AT_SIGNATURE or AT_KEYEXCHANGE (the stricter OpenSC \
                refuses AT_SIGNATURE)",
                );
            },
        )
        .counted_for(tag(bits)),
    );
    c
}

/// Invalid paddings: every one refused with the same code, nothing left in the caller's buffer.
fn bad_padding_cases() -> Vec<CaseDef> {
    /// Encoded blocks with one defect each, for a `k`-byte key.
    fn defects(k: usize) -> Vec<(&'static str, Vec<u8>, Pad)> {
        let ps = |n: usize| vec![0x33u8; n];
        let msg = [0x77u8; 16];
        let mut out = Vec::new();
        let block = |prefix: &[u8], ps_len: usize, sep: bool| {
            let mut b = prefix.to_vec();
            b.extend(ps(ps_len));
            if sep {
                b.push(0);
            }
            b.extend(msg);
            b.resize(k, 0x77);
            b
        };
        out.push(("pkcs1-block-type-1", block(&[0, 1], k - 19, true), Pad::Pkcs1));
        out.push(("pkcs1-no-separator", block(&[0, 2], k - 18, false), Pad::Pkcs1));
        let mut short = vec![0, 2];
        short.extend(ps(7));
        short.push(0);
        short.resize(k, 0x44);
        out.push(("pkcs1-padding-string-7-bytes", short, Pad::Pkcs1));
        let mut first = vec![0x01, 0x02];
        first.extend(ps(k - 19));
        first.push(0);
        first.extend(msg);
        out.push(("pkcs1-first-byte-not-zero", first, Pad::Pkcs1));
        let mut y = raw_block(k, "oaep y");
        y[0] = 0x01;
        out.push((
            "oaep-garbage-block",
            raw_block(k, "oaep garbage"),
            Pad::Oaep(Hash::Sha256, None),
        ));
        out.push(("oaep-first-byte-not-zero", y, Pad::Oaep(Hash::Sha256, None)));
        out
    }
    let mut c = Vec::new();
    c.push(
        case(SUITE, "in-module-invalid-paddings-one-code", |h, v| {
            with_rsa_key(
                h,
                v,
                NeededKey::RsaExchange(2048),
                Profile::V7NoUnpad,
                |b, key, rsa, v| {
                    let mut seen: Vec<(&str, u32)> = Vec::new();
                    let mut cases: Vec<(&str, Vec<u8>, Pad)> = defects(rsa.len())
                        .into_iter()
                        .filter_map(|(n, em, pad)| rsa.raw(&em).ok().map(|c| (n, c, pad)))
                        .collect();
                    // OAEP with the right encoding but another label, and another hash.
                    let msg = message("oaep label", 32);
                    if let Ok(c) = rsa.encrypt_oaep(Hash::Sha256, Some(b"other label"), &msg, 3) {
                        cases.push((
                            "oaep-wrong-label",
                            c,
                            Pad::Oaep(Hash::Sha256, Some(b"label".to_vec())),
                        ));
                    }
                    if let Ok(c) = rsa.encrypt_oaep(Hash::Sha1, None, &msg, 4) {
                        cases.push(("oaep-wrong-hash", c, Pad::Oaep(Hash::Sha256, None)));
                    }
                    for (what, c, pad) in &cases {
                        let r = b.call().rsa_decrypt(&pad.args(key, &reversed(c)));
                        v.failures
                            .extend(r.problems.iter().map(|p| format!("{what}: {p}")));
                        v.check(!r.ok(), || format!("{what}: accepted"));
                        v.check(r.value.is_none(), || {
                            format!(
                                "{what}: the caller's buffer was changed on \
                        failure"
                            )
                        });
                        seen.push((what, r.code));
                    }
                    let first = seen.first().map_or(0, |s| s.1);
                    v.code(
                        "invalid padding",
                        first,
                        &[SCARD_E_INVALID_VALUE, SCARD_E_INVALID_PARAMETER, NTE_BAD_DATA],
                    );
                    v.check(seen.iter().all(|s| s.1 == first), || {
                        format!("different codes for different invalid paddings (a padding oracle): {seen:?}")
                    });
                    v.note(format!("{} invalid encodings, one code", seen.len()));
                },
            );
            v.note(
                "no error code that depends on padding validity (a Bleichenbacher oracle, the Marvin \
                attack); the spec names no code, any 'bad data' code passes",
            );
        })
        .counted_for(tag(2048)),
    );
    c.push(
        case(SUITE, "callback-invalid-padding-code-passed-through", |h, v| {
            with_rsa_key(
                h,
                v,
                NeededKey::RsaExchange(2048),
                Profile::V7,
                |b, key, rsa, v| {
                    let Some(c) = v.setup("raw", rsa.raw(&raw_block(rsa.len(), "not pkcs1"))) else {
                        return;
                    };
                    let r = b.call().rsa_decrypt(&Pad::Pkcs1.args(key, &reversed(&c)));
                    v.reply("CardRSADecrypt", &r, &[NTE_BAD_DATA]);
                    v.check(r.value.is_none(), || {
                        "the failed call left other bytes than the ciphertext in pbData (the raw block is \
                    padded plaintext)"
                            .into()
                    });
                },
            );
            v.note(
                "the CSP's own unpad failure (NTE_BAD_DATA from the harness's callback) reaches the \
                CSP unchanged, and pbData does not keep the decrypted raw block",
            );
        })
        .counted_for(tag(2048)),
    );
    c
}

/// Structure, version, container and key-spec refusals.
fn refusal_cases() -> Vec<CaseDef> {
    type Make = fn(&Key) -> DecryptArgs;
    let list: Vec<(&str, Make, &'static [u32], &'static str)> = vec![
        (
            "null-info",
            |k| DecryptArgs {
                null_info: true,
                ..DecryptArgs::v2(k.index, k.spec, &[1], 1, PaddingInfo::Null)
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec §2.3.2",
        ),
        (
            "null-data",
            |k| DecryptArgs {
                data: None,
                claimed_len: Some(k.len() as u32),
                ..DecryptArgs::v2(k.index, k.spec, &[], 1, PaddingInfo::Null)
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec §2.3.2",
        ),
        (
            "info-version-3",
            |k| DecryptArgs {
                version: 3,
                ..DecryptArgs::v2(k.index, k.spec, &vec![0x42; k.len()], 1, PaddingInfo::Null)
            },
            &[ERROR_REVISION_MISMATCH],
            "spec §2.5.2: above the current version",
        ),
        (
            "container-255",
            |k| DecryptArgs::v2(255, k.spec, &vec![0x42; k.len()], 1, PaddingInfo::Null),
            &[SCARD_E_NO_KEY_CONTAINER],
            "spec: invalid or nonexistent bContainerIndex",
        ),
        (
            "key-spec-0",
            |k| DecryptArgs::v2(k.index, 0, &vec![0x42; k.len()], 1, PaddingInfo::Null),
            &[SCARD_E_INVALID_PARAMETER],
            "spec: AT_SIGNATURE or AT_KEYEXCHANGE",
        ),
        (
            "key-spec-ecdsa-p256",
            |k| DecryptArgs::v2(k.index, 3, &vec![0x42; k.len()], 1, PaddingInfo::Null),
            &[SCARD_E_INVALID_PARAMETER],
            "spec: AT_SIGNATURE or AT_KEYEXCHANGE",
        ),
        (
            "padding-type-0",
            |k| DecryptArgs::v2(k.index, k.spec, &vec![0x42; k.len()], 0, PaddingInfo::Null),
            &[SCARD_E_INVALID_PARAMETER],
            "spec: PKCS1, OAEP or NONE",
        ),
        (
            "padding-type-pss",
            |k| {
                DecryptArgs::v2(
                    k.index,
                    k.spec,
                    &vec![0x42; k.len()],
                    CARD_PADDING_PSS,
                    PaddingInfo::Pss(Some("SHA256".into()), 32),
                )
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec: PSS is not a decryption padding",
        ),
        (
            "oaep-null-padding-info",
            |k| {
                DecryptArgs::v2(
                    k.index,
                    k.spec,
                    &vec![0x42; k.len()],
                    CARD_PADDING_OAEP,
                    PaddingInfo::Null,
                )
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec: OAEP → pPaddingInfo points to a BCRYPT_OAEP_PADDING_INFO",
        ),
        (
            "oaep-null-hash",
            |k| {
                DecryptArgs::v2(
                    k.index,
                    k.spec,
                    &vec![0x42; k.len()],
                    CARD_PADDING_OAEP,
                    PaddingInfo::Oaep(None, None),
                )
            },
            &[SCARD_E_INVALID_PARAMETER],
            "OAEP without a hash algorithm",
        ),
    ];
    let mut c: Vec<CaseDef> = list
        .into_iter()
        .map(|(name, make, codes, why)| {
            case(SUITE, name, move |h, v| {
                with_key(h, v, NeededKey::RsaExchange(2048), Profile::V7, |b, key, v| {
                    v.reply("CardRSADecrypt", &b.call().rsa_decrypt(&make(key)), codes);
                });
                v.note(why);
            })
        })
        .collect();
    c.push(case(SUITE, "container-empty-index", |h, v| {
        let Some(index) = v.setup("an empty index", empty_index(h)) else {
            return;
        };
        with_key(h, v, NeededKey::RsaExchange(2048), Profile::V7, |b, key, v| {
            let args = DecryptArgs::raw(index, key.spec, &vec![0x42; key.len()]);
            v.reply(
                "CardRSADecrypt",
                &b.call().rsa_decrypt(&args),
                &[SCARD_E_NO_KEY_CONTAINER],
            );
        });
        v.note("spec: an empty container → SCARD_E_NO_KEY_CONTAINER");
    }));
    c.push(
        case(SUITE, "rsa2048-sign-only-key-refuses-decryption", |h, v| {
            with_rsa_key(
                h,
                v,
                NeededKey::RsaSignOnly,
                Profile::V7NoUnpad,
                |b, key, rsa, v| {
                    let Some(c) = v.setup("encryption", rsa.encrypt_pkcs1(b"not for this key", 3)) else {
                        return;
                    };
                    for spec in [AT_SIGNATURE, AT_KEYEXCHANGE] {
                        let mut args = Pad::Pkcs1.args(key, &reversed(&c));
                        args.key_spec = spec;
                        let r = b.call().rsa_decrypt(&args);
                        v.reply(
                            &format!("CardRSADecrypt with key spec {spec} on a signature-only key"),
                            &r,
                            &[SCARD_E_INVALID_PARAMETER],
                        );
                        v.check(
                            r.value.is_none_or(|o| o.data != reversed(b"not for this key")),
                            || "the plaintext came back".into(),
                        );
                    }
                },
            );
            v.note(
                "the certificate's key usage is digitalSignature only: no decryption, whichever key spec \
                the CSP asks with (dual-use keys decrypt with both: rsa*-at-signature-on-dual-use-key)",
            );
        })
        .counted_for(tag(2048)),
    );
    c.push(case(SUITE, "ec-container", |h, v| {
        with_key(
            h,
            v,
            NeededKey::Ecdh(crate::oracle::ec::Curve::P256),
            Profile::V7,
            |b, key, v| {
                let args = DecryptArgs::raw(key.index, AT_KEYEXCHANGE, &[0x42; 256]);
                v.reply(
                    "CardRSADecrypt on an EC key",
                    &b.call().rsa_decrypt(&args),
                    &[SCARD_E_INVALID_PARAMETER],
                );
            },
        );
        v.note("an RSA key spec for a container whose key is not RSA → invalid parameter");
    }));
    c.push(case(SUITE, "null-card-data", |h, v| {
        with_key(h, v, NeededKey::RsaExchange(2048), Profile::V7, |b, key, v| {
            let args = DecryptArgs::raw(key.index, key.spec, &vec![0x42; key.len()]);
            v.reply(
                "CardRSADecrypt",
                &b.null().rsa_decrypt(&args),
                &[SCARD_E_INVALID_PARAMETER],
            );
        });
        v.note("spec §2.3.2: NULL pCardData");
    }));
    c.push(
        case(SUITE, "rsa2048-pin-not-verified", |h, v| {
            let Some(key) = v.setup("find the key", find(h, NeededKey::RsaExchange(2048))) else {
                return;
            };
            let Some(()) = v.setup("reset", h.card().reset_through_other()) else {
                return;
            };
            let Some(b) = v.setup("open", h.open()) else {
                return;
            };
            let Some(rsa) = v.setup("public key", key.rsa()) else {
                return;
            };
            let Some(c) = v.setup("encryption", rsa.encrypt_pkcs1(b"no pin", 1)) else {
                return;
            };
            let r = b.call().rsa_decrypt(&Pad::Pkcs1.args(&key, &reversed(&c)));
            v.reply("CardRSADecrypt without a PIN", &r, &[SCARD_W_SECURITY_VIOLATION]);
            v.note("PIN not verified: the card refuses (6982) → SCARD_W_SECURITY_VIOLATION");
        })
        .counted_for(tag(2048)),
    );
    c.push(
        case(SUITE, "out-of-memory-in-the-unpad-callback", |h, v| {
            with_rsa_key(
                h,
                v,
                NeededKey::RsaExchange(2048),
                Profile::V7,
                |b, key, rsa, v| {
                    let msg = message("oom", 32);
                    let Some(c) = v.setup("encryption", rsa.encrypt_pkcs1(&msg, 9)) else {
                        return;
                    };
                    let args = Pad::Pkcs1.args(key, &reversed(&c));
                    alloc::fail_all(true);
                    let r = b.call().rsa_decrypt(&args);
                    alloc::disarm();
                    v.reply(
                        "CardRSADecrypt with pfnCspAlloc failing",
                        &r,
                        &[SCARD_E_NO_MEMORY],
                    );
                    let again = b.call().rsa_decrypt(&args);
                    v.check(again.value.is_some_and(|o| o.data == reversed(&msg)), || {
                        "decryption does not work after the failure".into()
                    });
                },
            );
            v.note(
                "the callback's SCARD_E_NO_MEMORY reaches the CSP; the module frees nothing it does not own",
            );
        })
        .counted_for(tag(2048)),
    );
    c
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for bits in RSA_SIZES {
        c.extend(size_cases(bits));
    }
    c.extend(bad_padding_cases());
    c.extend(refusal_cases());
    c
}
