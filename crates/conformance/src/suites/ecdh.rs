//! `CardConstructDHAgreement` and `CardDestroyDHAgreement` (spec §4.7.2 "CardConstructDHAgreement",
//! §4.7.4 "CardDestroyDHAgreement", §3.2.3): ECDH P-256/P-384 between the card's key and a software peer key
//! whose side of the secret the harness computes itself; several agreements at once; bad peer blobs
//! (wrong magic, size, off-curve points); versions; the agreements' lifetime (per context, lost after a
//! card reset or reconnect); and the capacity limit (`SCARD_E_NO_MEMORY`).
//!
//! An agreement is checked through `CardDeriveKey` with the `HASH` KDF (SHA-256), compared with the hash
//! of the harness's own shared secret.

use crate::codes::*;
use crate::ffi::calls::{DeriveArgs, kdf_hash_name, kdf_param};
use crate::harness::{CaseDef, ConnectedContext, Harness, Profile, Verdict, case};
use crate::oracle::ec::{Curve, PeerKey, ecc_blob};
use crate::oracle::hash::Hash;
use crate::oracle::kdf;
use crate::suites::keys::*;

const SUITE: &str = "ecdh";

/// `CARD_DH_AGREEMENT_INFO_VERSION`.
pub const AGREEMENT_VERSION: u32 = 2;

/// The per-algorithm label of an agreement case.
pub fn tag(curve: Curve) -> String {
    format!("ECDH {}", curve.name())
}

/// Constructs an agreement between the key and `peer`; `None` (and a failure) when refused.
pub fn agree(v: &mut Verdict, b: &ConnectedContext, key: &Key, peer: &PeerKey) -> Option<u8> {
    let r = b
        .call()
        .construct_dh_agreement(AGREEMENT_VERSION, key.index, 0, Some(&peer.blob()), false);
    if v.reply("CardConstructDHAgreement", &r, &[SCARD_S_SUCCESS]) {
        r.value
    } else {
        None
    }
}

/// The module no longer derives from `agreement` in this context: SCARD_E_INVALID_PARAMETER, as for
/// any handle it does not hold; `failure` says what would be wrong otherwise.
fn check_gone(v: &mut Verdict, b: &ConnectedContext, agreement: u8, failure: &str) {
    v.check(hash_of(b, agreement) == Err(SCARD_E_INVALID_PARAMETER), || {
        failure.into()
    });
}

/// The HASH(SHA-256) of an agreement, derived by the module; `Err` with the code when refused.
pub fn hash_of(b: &ConnectedContext, agreement: u8) -> Result<Vec<u8>, u32> {
    let args = DeriveArgs::new(
        agreement,
        "HASH",
        vec![(kdf_param::HASH_ALGORITHM, kdf_hash_name("SHA256"))],
    );
    let r = b.call().derive_key(&args);
    match (r.code, r.value) {
        (0, Some(out)) if r.problems.is_empty() => Ok(out.key),
        (0, _) => Err(SCARD_E_UNEXPECTED),
        (code, _) => Err(code),
    }
}

/// Checks that `agreement` is the secret of `peer` with the card key (through HASH/SHA-256).
pub fn check_agreement(v: &mut Verdict, b: &ConnectedContext, key: &Key, peer: &PeerKey, agreement: u8) {
    let Some(z) = v.setup("the harness's shared secret", peer.shared_secret(&key.point())) else {
        return;
    };
    match hash_of(b, agreement) {
        Ok(k) => {
            v.check(k == kdf::kdf_hash(Hash::Sha256, &z, &[], &[]), || {
                format!("agreement {agreement}: the derived key is not SHA-256 of the ECDH secret")
            });
        }
        Err(code) => v.fail(format!(
            "CardDeriveKey(HASH) on agreement {agreement}: {}",
            name(code)
        )),
    }
}

/// Runs `body` with a fresh agreement with `peer` on the ECDH key of `curve` (shared v7 context), and
/// destroys it afterwards (unless the body did).
pub fn with_agreement(
    h: &Harness,
    v: &mut Verdict,
    curve: Curve,
    peer: &str,
    body: impl FnOnce(&ConnectedContext, &Key, u8, &[u8], &mut Verdict),
) {
    let peer = PeerKey::new(curve, peer);
    with_key(h, v, NeededKey::Ecdh(curve), Profile::V7, |b, key, v| {
        let Some(z) = v.setup("the harness's shared secret", peer.shared_secret(&key.point())) else {
            return;
        };
        let Some(index) = agree(v, b, key, &peer) else {
            return;
        };
        v.expected = None;
        body(b, key, index, &z, v);
        let _ = b.call().destroy_dh_agreement(index, 0);
    });
}

fn agreement_case(curve: Curve) -> CaseDef {
    let label = curve.name().to_lowercase().replace('-', "");
    case(SUITE, format!("{label}-agreement"), move |h, v| {
        let peer = PeerKey::new(curve, "server ephemeral");
        with_key(h, v, NeededKey::Ecdh(curve), Profile::V7, |b, key, v| {
            if let Some(index) = agree(v, b, key, &peer) {
                check_agreement(v, b, key, &peer, index);
                let d = b.call().destroy_dh_agreement(index, 0);
                v.reply("CardDestroyDHAgreement", &d, &[SCARD_S_SUCCESS]);
            }
        });
        v.note("spec: GENERAL AUTHENTICATE with tag 85 on the card; the secret is the X coordinate of d·Q");
    })
    .counted_for(tag(curve))
}

fn several_at_once() -> CaseDef {
    case(SUITE, "several-agreements-at-once", |h, v| {
        let Some(k256) = v.setup("P-256 key", find(h, NeededKey::Ecdh(Curve::P256))) else {
            return;
        };
        let Some(k384) = v.setup("P-384 key", find(h, NeededKey::Ecdh(Curve::P384))) else {
            return;
        };
        let r = h.with_shared(Profile::V7, |b| {
            for k in [&k256, &k384] {
                if let Err(code) = login(b, k) {
                    return v.fail(format!("log in: {}", name(code)));
                }
            }
            let peers: Vec<(&Key, PeerKey)> = vec![
                (&k256, PeerKey::new(Curve::P256, "peer 1")),
                (&k256, PeerKey::new(Curve::P256, "peer 2")),
                (&k384, PeerKey::new(Curve::P384, "peer 3")),
                (&k256, PeerKey::new(Curve::P256, "peer 4")),
            ];
            let mut made = Vec::new();
            for (k, p) in &peers {
                match agree(v, b, k, p) {
                    Some(i) => made.push((*k, p, i)),
                    None => return,
                }
            }
            let mut indexes: Vec<u8> = made.iter().map(|m| m.2).collect();
            indexes.sort_unstable();
            indexes.dedup();
            v.check(indexes.len() == made.len(), || {
                format!("agreement indexes repeat: {indexes:?}")
            });
            for (k, p, i) in &made {
                check_agreement(v, b, k, p, *i);
            }
            let (_, _, gone) = made[1];
            let d = b.call().destroy_dh_agreement(gone, 0);
            v.reply("CardDestroyDHAgreement(second)", &d, &[SCARD_S_SUCCESS]);
            check_gone(
                v,
                b,
                gone,
                "a destroyed agreement still derives (or not with SCARD_E_INVALID_PARAMETER)",
            );
            for (k, p, i) in made.iter().filter(|m| m.2 != gone) {
                check_agreement(v, b, k, p, *i);
                let _ = b.call().destroy_dh_agreement(*i, 0);
            }
        });
        if let Err(e) = r {
            v.fail(e);
        }
        v.note("spec: as many agreements in parallel as room allows; each index names its own secret");
    })
    .counted_for(tag(Curve::P256))
}

/// A peer blob that must be refused.
fn bad_blob(name: &str, curve: Curve, make: fn(Curve) -> Option<Vec<u8>>, why: &'static str) -> CaseDef {
    case(
        SUITE,
        format!("{}-peer-{name}", curve.name().to_lowercase().replace('-', "")),
        move |h, v| {
            with_key(h, v, NeededKey::Ecdh(curve), Profile::V7, |b, key, v| {
                let blob = make(curve);
                let r =
                    b.call()
                        .construct_dh_agreement(AGREEMENT_VERSION, key.index, 0, blob.as_deref(), false);
                v.reply("CardConstructDHAgreement", &r, &[SCARD_E_INVALID_PARAMETER]);
                if let Some(i) = r.value {
                    let _ = b.call().destroy_dh_agreement(i, 0);
                }
            });
            v.note(why);
        },
    )
    .counted_for(tag(curve))
}

fn good_blob(curve: Curve) -> Vec<u8> {
    PeerKey::new(curve, "blob").blob()
}

fn bad_blob_cases() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for curve in CURVES {
        c.extend([
            bad_blob(
                "wrong-magic",
                curve,
                |c| {
                    let mut b = good_blob(c);
                    b[..4].copy_from_slice(&0x1234_5678u32.to_le_bytes());
                    Some(b)
                },
                "bcrypt.h: a BCRYPT_ECCKEY_BLOB with an ECDH public magic",
            ),
            bad_blob(
                "private-magic",
                curve,
                |c| {
                    let mut b = good_blob(c);
                    b[..4].copy_from_slice(&(c.ecdh_magic() + 0x0100_0000).to_le_bytes());
                    Some(b)
                },
                "bcrypt.h: ECK2/ECK4 are private-key magics, not a peer public key",
            ),
            bad_blob(
                "cbkey-of-the-other-curve",
                curve,
                |c| {
                    let mut b = good_blob(c);
                    let other = if c == Curve::P256 { 48u32 } else { 32 };
                    b[4..8].copy_from_slice(&other.to_le_bytes());
                    Some(b)
                },
                "cbKey does not match the curve",
            ),
            bad_blob(
                "truncated",
                curve,
                |c| {
                    let mut b = good_blob(c);
                    b.pop();
                    Some(b)
                },
                "dwPublicKey shorter than 8 + 2·cbKey",
            ),
            bad_blob(
                "trailing-byte",
                curve,
                |c| {
                    let mut b = good_blob(c);
                    b.push(0);
                    Some(b)
                },
                "dwPublicKey longer than 8 + 2·cbKey",
            ),
            bad_blob(
                "off-curve",
                curve,
                |c| {
                    let mut b = good_blob(c);
                    if let Some(last) = b.last_mut() {
                        *last ^= 1;
                    }
                    Some(b)
                },
                "a point not on the curve (invalid-curve attacks): refused before the card sees it",
            ),
            bad_blob(
                "point-of-the-other-curve",
                curve,
                |c| {
                    let other = if c == Curve::P256 {
                        Curve::P384
                    } else {
                        Curve::P256
                    };
                    Some(PeerKey::new(other, "other curve").blob())
                },
                "a peer key of another curve",
            ),
            bad_blob(
                "zero-point",
                curve,
                |c| {
                    let point = [&[0x04u8][..], &vec![0; 2 * c.field_len()]].concat();
                    Some(ecc_blob(c.ecdh_magic(), c.field_len(), &point))
                },
                "(0, 0) is not a point",
            ),
            bad_blob("empty", curve, |_| Some(Vec::new()), "dwPublicKey 0"),
            bad_blob("null", curve, |_| None, "pbPublicKey NULL"),
        ]);
    }
    c
}

fn version_cases() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for (version, why) in [
        (
            1,
            "spec §4.7.2: version 1 is not supported → ERROR_REVISION_MISMATCH",
        ),
        (0, "spec §2.5.2: 0 is taken as 1, which is refused"),
        (3, "spec §2.5.2: above CARD_DH_AGREEMENT_INFO_VERSION"),
    ] {
        c.push(
            case(SUITE, format!("agreement-info-version-{version}"), move |h, v| {
                with_key(h, v, NeededKey::Ecdh(Curve::P256), Profile::V7, |b, key, v| {
                    let r = b.call().construct_dh_agreement(
                        version,
                        key.index,
                        0,
                        Some(&good_blob(Curve::P256)),
                        false,
                    );
                    v.reply("CardConstructDHAgreement", &r, &[ERROR_REVISION_MISMATCH]);
                    if let Some(i) = r.value {
                        let _ = b.call().destroy_dh_agreement(i, 0);
                    }
                });
                v.note(why);
            })
            .counted_for(tag(Curve::P256)),
        );
    }
    c
}

/// Containers and arguments the call must refuse.
fn refusal_cases() -> Vec<CaseDef> {
    let mut c = Vec::new();
    type Pick = fn(&Harness) -> Result<(NeededKey, Option<u8>), String>;
    let list: [(&str, Pick, u32, &str); 6] = [
        (
            "container-255",
            |_| Ok((NeededKey::Ecdh(Curve::P256), Some(255))),
            SCARD_E_NO_KEY_CONTAINER,
            "spec: a nonexistent container",
        ),
        (
            "container-empty-index",
            |h| Ok((NeededKey::Ecdh(Curve::P256), Some(empty_index(h)?))),
            SCARD_E_NO_KEY_CONTAINER,
            "spec: a container without a key",
        ),
        (
            "rsa-container",
            |_| Ok((NeededKey::RsaExchange(2048), None)),
            SCARD_E_INVALID_PARAMETER,
            "an RSA key cannot agree",
        ),
        (
            "sign-only-ec-container",
            |_| Ok((NeededKey::PinAlways, None)),
            SCARD_E_INVALID_PARAMETER,
            "a certificate without keyAgreement (RFC 5280 §4.2.1.3): the key is not offered for ECDH",
        ),
        (
            "null-info",
            |_| Ok((NeededKey::Ecdh(Curve::P256), None)),
            SCARD_E_INVALID_PARAMETER,
            "spec §2.3.2",
        ),
        (
            "null-card-data",
            |_| Ok((NeededKey::Ecdh(Curve::P256), None)),
            SCARD_E_INVALID_PARAMETER,
            "spec §2.3.2",
        ),
    ];
    for (name, pick, code, why) in list {
        c.push(case(SUITE, name, move |h, v| {
            let Some((want, index)) = v.setup("pick the container", pick(h)) else {
                return;
            };
            with_key(h, v, want, Profile::V7, |b, key, v| {
                let calls = if name == "null-card-data" {
                    b.null()
                } else {
                    b.call()
                };
                let r = calls.construct_dh_agreement(
                    AGREEMENT_VERSION,
                    index.unwrap_or(key.index),
                    0,
                    Some(&good_blob(Curve::P256)),
                    name == "null-info",
                );
                v.reply("CardConstructDHAgreement", &r, &[code]);
                if let Some(i) = r.value {
                    let _ = b.call().destroy_dh_agreement(i, 0);
                }
            });
            v.note(why);
        }));
    }
    c.push(
        case(SUITE, "p256-pin-not-verified", |h, v| {
            let Some(key) = v.setup("find the key", find(h, NeededKey::Ecdh(Curve::P256))) else {
                return;
            };
            let Some(()) = v.setup("reset", h.card().reset_through_other()) else {
                return;
            };
            let Some(b) = v.setup("open", h.open()) else {
                return;
            };
            let r = b.call().construct_dh_agreement(
                AGREEMENT_VERSION,
                key.index,
                0,
                Some(&good_blob(Curve::P256)),
                false,
            );
            v.reply(
                "CardConstructDHAgreement without a PIN",
                &r,
                &[SCARD_W_SECURITY_VIOLATION],
            );
            v.note("PIN not verified: the card refuses (6982) → SCARD_W_SECURITY_VIOLATION");
        })
        .counted_for(tag(Curve::P256)),
    );
    c
}

fn destroy_cases() -> Vec<CaseDef> {
    vec![
        case(SUITE, "destroy-never-constructed", |h, v| {
            with_key(h, v, NeededKey::Ecdh(Curve::P256), Profile::V7, |b, _, v| {
                for index in [0u8, 200] {
                    let r = b.call().destroy_dh_agreement(index, 0);
                    v.reply(
                        &format!("CardDestroyDHAgreement({index})"),
                        &r,
                        &[SCARD_E_INVALID_PARAMETER],
                    );
                }
            });
            v.note("spec: bSecretAgreementIndex without a valid agreement → SCARD_E_INVALID_PARAMETER");
        }),
        case(SUITE, "destroy-twice", |h, v| {
            with_agreement(h, v, Curve::P256, "destroy twice", |b, _, index, _, v| {
                let r = b.call().destroy_dh_agreement(index, 0);
                v.reply("CardDestroyDHAgreement", &r, &[SCARD_S_SUCCESS]);
                let r = b.call().destroy_dh_agreement(index, 0);
                v.reply("CardDestroyDHAgreement again", &r, &[SCARD_E_INVALID_PARAMETER]);
            });
        }),
        case(SUITE, "destroy-flags-1", |h, v| {
            with_agreement(h, v, Curve::P256, "destroy flags", |b, _, index, _, v| {
                let r = b.call().destroy_dh_agreement(index, 1);
                v.reply(
                    "CardDestroyDHAgreement(dwFlags 1)",
                    &r,
                    &[SCARD_E_INVALID_PARAMETER],
                );
                v.check(hash_of(b, index).is_ok(), || {
                    "a refused destroy destroyed the agreement".into()
                });
            });
            v.note("spec: a nonzero dwFlags → SCARD_E_INVALID_PARAMETER");
        }),
        case(SUITE, "destroy-null-card-data", |h, v| {
            with_agreement(h, v, Curve::P256, "destroy null", |b, _, index, _, v| {
                let r = b.null().destroy_dh_agreement(index, 0);
                v.reply("CardDestroyDHAgreement", &r, &[SCARD_E_INVALID_PARAMETER]);
            });
            v.note("spec §2.3.2: NULL pCardData");
        }),
        case(SUITE, "destroy-without-authentication", |h, v| {
            with_agreement(
                h,
                v,
                Curve::P256,
                "destroy unauthenticated",
                |b, _, index, _, v| {
                    let d = b.call().deauthenticate_ex(0xFF, 0);
                    if d.code == SCARD_E_UNSUPPORTED_FEATURE {
                        return v.skip(
                            "the module cannot log out without a reset, which would end the agreement",
                        );
                    }
                    v.reply("CardDeauthenticateEx (setup)", &d, &[SCARD_S_SUCCESS]);
                    v.expected = None;
                    match hash_of(b, index) {
                        Err(SCARD_E_INVALID_PARAMETER) => {}
                        Ok(_) => v.fail("the agreement still derives keys after the PIN was logged out"),
                        Err(code) => v.fail(format!(
                            "CardDeriveKey after logging out: {}, expected SCARD_E_INVALID_PARAMETER",
                            name(code)
                        )),
                    }
                    let r = b.call().destroy_dh_agreement(index, 0);
                    v.reply(
                        "CardDestroyDHAgreement after logging out",
                        &r,
                        &[SCARD_E_INVALID_PARAMETER],
                    );
                },
            );
            v.note(
                "spec (CardDestroyDHAgreement): SCARD_W_SECURITY_VIOLATION if called without \
                authenticating first. Tessera wipes every agreement when the PIN is logged out, so none \
                is left to destroy (SCARD_E_INVALID_PARAMETER); destroying never needs the PIN",
            );
        }),
    ]
}

fn lifetime_cases() -> Vec<CaseDef> {
    vec![
        case(SUITE, "agreement-lost-after-card-reset", |h, v| {
            with_key_fresh(h, v, NeededKey::Ecdh(Curve::P256), |b, key, v| {
                let peer = PeerKey::new(Curve::P256, "reset");
                let Some(index) = agree(v, b, key, &peer) else {
                    return;
                };
                check_agreement(v, b, key, &peer, index);
                let Some(()) = v.setup("reset", h.card().reset_through_other()) else {
                    return;
                };
                // The next exchange with the card tells the module about the reset.
                let l = login(b, key);
                v.check(l.is_ok(), || "logging in again after the reset failed".into());
                check_gone(
                    v,
                    b,
                    index,
                    "the agreement survived a card reset (spec §3.2.3: not retrievable after a reset)",
                );
            });
            v.note("spec §3.2.3: DH agreements are ephemeral and not retrievable after a card reset");
        })
        .counted_for(tag(Curve::P256)),
        case(SUITE, "agreement-lost-after-reconnect", |h, v| {
            if h.card().is_virtual() {
                return v.skip(
                    "the in-process card has no hScard: the module cannot see a handle change \
                    (run through PC/SC)",
                );
            }
            let Some(key) = v.setup("find the key", find(h, NeededKey::Ecdh(Curve::P256))) else {
                return;
            };
            let Some(mut b) = v.setup("open", h.open()) else {
                return;
            };
            if let Err(code) = login(&b, &key) {
                return v.fail(format!("log in: {}", name(code)));
            }
            let peer = PeerKey::new(Curve::P256, "reconnect");
            let Some(index) = agree(v, &b, &key, &peer) else {
                return;
            };
            let Some(()) = v.setup("reset", h.card().reset_through_other()) else {
                return;
            };
            let Some(()) = v.setup("new handle", h.swap_handle(&mut b)) else {
                return;
            };
            check_gone(v, &b, index, "the agreement survived a reset and a new hScard");
            v.note("the CSP reconnects after a reset (new hScard): the module must not offer the old secret");
        })
        .counted_for(tag(Curve::P256)),
        case(SUITE, "agreement-belongs-to-its-context", |h, v| {
            with_agreement(h, v, Curve::P256, "per context", |_, _, index, _, v| {
                let Some(other) = v.setup("a second context", h.open()) else {
                    return;
                };
                check_gone(
                    v,
                    &other,
                    index,
                    "another context derives from this context's agreement",
                );
            });
            v.note("spec: agreements are opaque bytes of one minidriver context");
        })
        .counted_for(tag(Curve::P256)),
        case(SUITE, "agreement-survives-other-operations", |h, v| {
            let Some(twin) = v.setup("the ECDSA twin", find(h, NeededKey::Ecdsa(Curve::P384))) else {
                return;
            };
            with_agreement(h, v, Curve::P384, "other operations", |b, _, index, z, v| {
                let r = b.call().read(Some("mscp"), "cmapfile");
                v.reply("CardReadFile", &r, &[SCARD_S_SUCCESS]);
                let s = b.call().sign_data(&crate::ffi::calls::SignArgs::basic(
                    2,
                    twin.index,
                    twin.spec,
                    0,
                    &Hash::Sha384.of("between"),
                ));
                v.reply("CardSignData with the ECDSA twin", &s, &[SCARD_S_SUCCESS]);
                v.check(
                    hash_of(b, index) == Ok(kdf::kdf_hash(Hash::Sha256, z, &[], &[])),
                    || "the agreement changed after other operations".into(),
                );
            });
        })
        .counted_for(tag(Curve::P384)),
        case(SUITE, "agreement-capacity", |h, v| {
            with_key_fresh(h, v, NeededKey::Ecdh(Curve::P256), |b, key, v| {
                let blob = good_blob(Curve::P256);
                let mut made = Vec::new();
                let last = loop {
                    let r =
                        b.call()
                            .construct_dh_agreement(AGREEMENT_VERSION, key.index, 0, Some(&blob), false);
                    match r.value {
                        Some(i) if r.ok() && made.len() < 255 => made.push(i),
                        _ => break r,
                    }
                };
                v.reply(
                    &format!("CardConstructDHAgreement after {} agreements", made.len()),
                    &last,
                    &[SCARD_E_NO_MEMORY],
                );
                v.check(made.len() >= 4, || {
                    format!("only {} agreements at once", made.len())
                });
                if let Some(&first) = made.first() {
                    let d = b.call().destroy_dh_agreement(first, 0);
                    v.check(d.ok(), || "destroying one agreement failed".into());
                    let r =
                        b.call()
                            .construct_dh_agreement(AGREEMENT_VERSION, key.index, 0, Some(&blob), false);
                    v.check(r.ok(), || {
                        format!("no room after destroying one: {}", name(r.code))
                    });
                }
                v.note(format!("{} agreements held at once", made.len()));
            });
            v.note("spec: no space to store another agreement → SCARD_E_NO_MEMORY");
        })
        .counted_for(tag(Curve::P256)),
    ]
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = vec![
        agreement_case(Curve::P256),
        agreement_case(Curve::P384),
        several_at_once(),
    ];
    c.extend(bad_blob_cases());
    c.extend(version_cases());
    c.extend(refusal_cases());
    c.extend(destroy_cases());
    c.extend(lifetime_cases());
    c
}
