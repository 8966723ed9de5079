//! `CardDeriveKey` (spec §4.7.3 "CardDeriveKey", §3.2.3 PFN_CSP_GET_DH_AGREEMENT): every KDF of the spec on
//! ECDH agreements of both curves — `HASH`, `HMAC` (with a key, and with `KDF_USE_SECRET_AS_HMAC_KEY_FLAG`),
//! `TLS_PRF` (TLS 1.0/1.1, TLS 1.2 with SHA-256/SHA-384) and `SP800_56A_CONCAT` — each result compared with
//! the harness's own KDF (checked against published vectors) over its own shared secret; `KDF_SECRET_HANDLE`
//! through `pfnCspGetDHAgreement`; `CARD_BUFFER_SIZE_ONLY`; both output conventions (a caller buffer, as the
//! spec says, or NULL and the module allocates, as OpenSC and Windows' KSP do); `CARD_RETURN_KEY_HANDLE`; and
//! the refusals.

use crate::codes::*;
use crate::ffi::calls::flags::*;
use crate::ffi::calls::{DeriveArgs, DeriveOut, DeriveOutput, Reply, kdf_hash_name, kdf_param as p};
use crate::ffi::padding;
use crate::harness::{CaseDef, ConnectedContext, case};
use crate::oracle::ec::Curve;
use crate::oracle::hash::Hash;
use crate::oracle::kdf::{self, tls};
use crate::suites::ecdh::with_agreement;
use crate::suites::keys::*;
use crate::suites::sign::out_of_memory_sweep;

const SUITE: &str = "kdf";

/// The TLS PRF seed of the cases: client random ‖ server random (64 bytes, as the spec requires).
pub fn tls_seed(what: &str) -> Vec<u8> {
    [
        Hash::Sha256.of(&format!("client random {what}")),
        Hash::Sha256.of(&format!("server random {what}")),
    ]
    .concat()
}

fn dword(x: u32) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}

/// A derivation that must succeed and equal the harness's own: `make` gives the request for an agreement
/// and the expected key for the shared secret Z.
fn derive_case(
    curve: Curve,
    name: &str,
    kdf_name: &'static str,
    make: impl Fn(u8, &[u8]) -> (DeriveArgs, Vec<u8>) + Send + Sync + 'static,
    why: &'static str,
) -> CaseDef {
    let label = curve.name().to_lowercase().replace('-', "");
    case(SUITE, format!("{label}-{name}"), move |h, v| {
        with_agreement(h, v, curve, name_seed(kdf_name), |b, _, index, z, v| {
            let (args, want) = make(index, z);
            let r = b.call().derive_key(&args);
            if v.reply("CardDeriveKey", &r, &[SCARD_S_SUCCESS])
                && let Some(out) = r.value
            {
                v.check(out.len as usize == want.len(), || {
                    format!("cbDerivedKey {}, expected {}", out.len, want.len())
                });
                v.check(out.key == want, || {
                    "the derived key differs from the harness's KDF output".into()
                });
            }
        });
        v.note(why);
    })
    .counted_for(format!("KDF {kdf_name}"))
}

fn name_seed(kdf_name: &str) -> &'static str {
    match kdf_name {
        "HASH" => "kdf hash peer",
        "HMAC" => "kdf hmac peer",
        "TLS_PRF" => "kdf tls peer",
        _ => "kdf concat peer",
    }
}

fn matrix(curve: Curve) -> Vec<CaseDef> {
    let mut c = vec![
        derive_case(
            curve,
            "hash-default-sha1",
            "HASH",
            |i, z| {
                (
                    DeriveArgs::new(i, "HASH", Vec::new()),
                    kdf::kdf_hash(Hash::Sha1, z, &[], &[]),
                )
            },
            "spec: no KDF_HASH_ALGORITHM → the default hash, SHA-1 (as NCryptDeriveKey)",
        ),
        derive_case(
            curve,
            "hash-no-parameter-list",
            "HASH",
            |i, z| {
                let mut a = DeriveArgs::new(i, "HASH", Vec::new());
                a.params = None;
                (a, kdf::kdf_hash(Hash::Sha1, z, &[], &[]))
            },
            "spec: the parameter list is optional",
        ),
    ];
    for hash in [Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512] {
        c.push(derive_case(
            curve,
            &format!("hash-{}-prepend-append", hash.label()),
            "HASH",
            move |i, z| {
                let a = DeriveArgs::new(
                    i,
                    "HASH",
                    vec![
                        (p::HASH_ALGORITHM, kdf_hash_name(hash.cng_name())),
                        (p::SECRET_PREPEND, b"prepended".to_vec()),
                        (p::SECRET_APPEND, b"appended".to_vec()),
                    ],
                );
                (a, kdf::kdf_hash(hash, z, b"prepended", b"appended"))
            },
            "BCRYPT_KDF_HASH: H(prepend ‖ Z ‖ append)",
        ));
    }
    for hash in [Hash::Sha1, Hash::Sha256, Hash::Sha384] {
        c.push(derive_case(
            curve,
            &format!("hmac-{}-key", hash.label()),
            "HMAC",
            move |i, z| {
                let key = b"hmac key of the kdf".to_vec();
                let a = DeriveArgs::new(
                    i,
                    "HMAC",
                    vec![
                        (p::HASH_ALGORITHM, kdf_hash_name(hash.cng_name())),
                        (p::HMAC_KEY, key.clone()),
                        (p::SECRET_PREPEND, b"pre".to_vec()),
                    ],
                );
                (a, kdf::kdf_hmac(hash, &key, z, b"pre", &[]))
            },
            "BCRYPT_KDF_HMAC: HMAC_key(prepend ‖ Z ‖ append)",
        ));
    }
    c.push(derive_case(
        curve,
        "hmac-sha256-secret-as-key",
        "HMAC",
        |i, z| {
            let mut a = DeriveArgs::new(
                i,
                "HMAC",
                vec![
                    (p::HASH_ALGORITHM, kdf_hash_name("SHA256")),
                    (p::SECRET_APPEND, b"app".to_vec()),
                ],
            );
            a.flags = KDF_USE_SECRET_AS_HMAC_KEY_FLAG;
            (a, kdf::kdf_hmac(Hash::Sha256, z, z, &[], b"app"))
        },
        "spec: KDF_USE_SECRET_AS_HMAC_KEY_FLAG — Z is also the HMAC key",
    ));
    for (label, version, hash) in [
        ("tls-prf-1.0", tls::V1_0, None),
        ("tls-prf-1.1", tls::V1_1, None),
        ("tls-prf-1.2-sha256", tls::V1_2, Some(Hash::Sha256)),
        ("tls-prf-1.2-sha384", tls::V1_2, Some(Hash::Sha384)),
    ] {
        c.push(derive_case(
            curve,
            label,
            "TLS_PRF",
            move |i, z| {
                let seed = tls_seed(label);
                let mut params = vec![
                    (p::TLS_PRF_LABEL, b"master secret".to_vec()),
                    (p::TLS_PRF_SEED, seed.clone()),
                    (p::TLS_PRF_PROTOCOL, dword(version)),
                ];
                if let Some(h) = hash {
                    params.push((p::HASH_ALGORITHM, kdf_hash_name(h.cng_name())));
                }
                let want = match hash {
                    Some(h) => kdf::tls12_prf(h, z, b"master secret", &seed, 48),
                    None => kdf::tls10_prf(z, b"master secret", &seed, 48),
                };
                (DeriveArgs::new(i, "TLS_PRF", params), want)
            },
            "BCRYPT_KDF_TLS_PRF: the 48-byte master secret (RFC 2246 §5 / RFC 5246 §5)",
        ));
    }
    let other = |supp: bool| {
        let mut v = vec![
            (p::ALGORITHMID, b"\x00\x00\x00\x07A128GCM".to_vec()),
            (p::PARTYUINFO, b"\x00\x00\x00\x05Alice".to_vec()),
            (p::PARTYVINFO, b"\x00\x00\x00\x03Bob".to_vec()),
        ];
        if supp {
            v.push((p::SUPPPUBINFO, b"\x00\x00\x00\x80".to_vec()));
            v.push((p::SUPPPRIVINFO, b"private".to_vec()));
        }
        v
    };
    let info = move |supp: bool| -> Vec<u8> { other(supp).into_iter().flat_map(|(_, v)| v).collect() };
    for (len, hash) in [
        (16u32, Hash::Sha256),
        (32, Hash::Sha256),
        (64, Hash::Sha256),
        (48, Hash::Sha384),
    ] {
        let (other, info) = (other, info);
        c.push(derive_case(
            curve,
            &format!("concat-{}-caller-buffer-{len}", hash.label()),
            "SP800_56A_CONCAT",
            move |i, z| {
                let mut params = other(true);
                params.push((p::HASH_ALGORITHM, kdf_hash_name(hash.cng_name())));
                let mut a = DeriveArgs::new(i, "SP800_56A_CONCAT", params);
                a.output = DeriveOutput::Caller(len);
                (a, kdf::concat(hash, z, &info(true), len as usize))
            },
            "BCRYPT_KDF_SP80056A_CONCAT: as many bytes as the caller's buffer holds (CNG's cbDerivedKey)",
        ));
    }
    let (o2, i2) = (other, info);
    c.push(derive_case(
        curve,
        "concat-sha256-v2-key-length-256",
        "SP800_56A_CONCAT",
        move |i, z| {
            let mut params = o2(false);
            params.push((p::HASH_ALGORITHM, kdf_hash_name("SHA256")));
            let mut a = DeriveArgs::new(i, "SP800_56A_CONCAT", params);
            a.version = 2;
            a.alg_id = Some("AES".into());
            a.key_len_bits = 256;
            (a, kdf::concat(Hash::Sha256, z, &i2(false), 32))
        },
        "CARD_DERIVE_KEY v2: dwKeyLen (bits) gives the length; the module allocates the key",
    ));
    c
}

/// A request that must be refused with `codes` (on a fresh P-256 agreement of the shared context).
fn refused(name: &str, make: fn(u8) -> DeriveArgs, codes: &'static [u32], why: &'static str) -> CaseDef {
    case(SUITE, name.to_owned(), move |h, v| {
        with_agreement(h, v, Curve::P256, "refusals", |b, _, index, _, v| {
            let r = b.call().derive_key(&make(index));
            v.reply("CardDeriveKey", &r, codes);
        });
        v.note(why);
    })
}

fn sha256_hash(i: u8) -> DeriveArgs {
    DeriveArgs::new(i, "HASH", vec![(p::HASH_ALGORITHM, kdf_hash_name("SHA256"))])
}

/// [`sha256_hash`] asking only for the size (`CARD_BUFFER_SIZE_ONLY`).
fn size_of_sha256_hash(i: u8) -> DeriveArgs {
    DeriveArgs {
        flags: CARD_BUFFER_SIZE_ONLY,
        ..sha256_hash(i)
    }
}

fn refusal_cases() -> Vec<CaseDef> {
    vec![
        refused(
            "kdf-null",
            |i| DeriveArgs {
                kdf: None,
                ..sha256_hash(i)
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec §2.3.2: pwszKDF NULL",
        ),
        refused(
            "kdf-unknown",
            |i| DeriveArgs {
                kdf: Some("NOT_A_KDF".into()),
                ..sha256_hash(i)
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec: a KDF the minidriver does not implement → SCARD_E_INVALID_PARAMETER",
        ),
        refused(
            "kdf-truncate",
            |i| DeriveArgs {
                kdf: Some("TRUNCATE".into()),
                ..sha256_hash(i)
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec: only HASH, HMAC, TLS_PRF and SP800_56A_CONCAT are listed; the raw-secret KDF would \
                expose Z",
        ),
        refused(
            "param-unknown-type",
            |i| DeriveArgs::new(i, "HASH", vec![(99, vec![1, 2, 3])]),
            &[SCARD_E_INVALID_PARAMETER],
            "spec: an unrecognised parameter → SCARD_E_INVALID_PARAMETER",
        ),
        refused(
            "param-not-for-this-kdf",
            |i| DeriveArgs::new(i, "HASH", vec![(p::TLS_PRF_LABEL, b"label".to_vec())]),
            &[SCARD_E_INVALID_PARAMETER],
            "spec: a parameter invalid for the KDF → SCARD_E_INVALID_PARAMETER",
        ),
        refused(
            "param-twice",
            |i| {
                DeriveArgs::new(
                    i,
                    "HASH",
                    vec![
                        (p::HASH_ALGORITHM, kdf_hash_name("SHA256")),
                        (p::HASH_ALGORITHM, kdf_hash_name("SHA1")),
                    ],
                )
            },
            &[SCARD_E_INVALID_PARAMETER],
            "the same parameter twice is ambiguous",
        ),
        refused(
            "param-hash-md2",
            |i| DeriveArgs::new(i, "HASH", vec![(p::HASH_ALGORITHM, kdf_hash_name("MD2"))]),
            &[SCARD_E_INVALID_PARAMETER],
            "spec: an invalid parameter value",
        ),
        refused(
            "param-list-version-1",
            |i| DeriveArgs {
                list_version: 1,
                ..sha256_hash(i)
            },
            &[SCARD_E_INVALID_PARAMETER],
            "BCryptBufferDesc.ulVersion must be BCRYPTBUFFER_VERSION (0)",
        ),
        refused(
            "tls-prf-seed-32-bytes",
            |i| {
                DeriveArgs::new(
                    i,
                    "TLS_PRF",
                    vec![
                        (p::TLS_PRF_LABEL, b"master secret".to_vec()),
                        (p::TLS_PRF_SEED, vec![1; 32]),
                        (p::TLS_PRF_PROTOCOL, dword(tls::V1_2)),
                        (p::HASH_ALGORITHM, kdf_hash_name("SHA256")),
                    ],
                )
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.7.3 defers to CNG's BCryptDeriveKey: KDF_TLS_PRF_SEED is 64 bytes",
        ),
        refused(
            "tls-prf-no-label",
            |i| {
                DeriveArgs::new(
                    i,
                    "TLS_PRF",
                    vec![
                        (p::TLS_PRF_SEED, vec![1; 64]),
                        (p::TLS_PRF_PROTOCOL, dword(tls::V1_2)),
                    ],
                )
            },
            &[SCARD_E_INVALID_PARAMETER],
            "TLS PRF needs its label",
        ),
        refused(
            "hmac-without-key",
            |i| DeriveArgs::new(i, "HMAC", vec![(p::HASH_ALGORITHM, kdf_hash_name("SHA256"))]),
            &[SCARD_E_INVALID_PARAMETER],
            "HMAC without KDF_HMAC_KEY and without KDF_USE_SECRET_AS_HMAC_KEY_FLAG",
        ),
        refused(
            "concat-without-party-v-info",
            |i| {
                DeriveArgs::new(
                    i,
                    "SP800_56A_CONCAT",
                    vec![(p::ALGORITHMID, vec![1]), (p::PARTYUINFO, vec![2])],
                )
            },
            &[SCARD_E_INVALID_PARAMETER],
            "CNG: SP800_56A_CONCAT requires AlgorithmID, PartyUInfo and PartyVInfo",
        ),
        refused(
            "agreement-index-invalid",
            |_| sha256_hash(200),
            &[SCARD_E_INVALID_PARAMETER],
            "OpenSC: an index without an agreement",
        ),
        refused(
            "flags-unknown",
            |i| DeriveArgs {
                flags: 0x2,
                ..sha256_hash(i)
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec: dwFlags is 0, KDF_USE_SECRET_AS_HMAC_KEY_FLAG, CARD_RETURN_KEY_HANDLE or \
                CARD_BUFFER_SIZE_ONLY",
        ),
        refused(
            "version-0",
            |i| DeriveArgs {
                version: 0,
                ..sha256_hash(i)
            },
            &[ERROR_REVISION_MISMATCH],
            "OpenSC: version 0 or above 2 → ERROR_REVISION_MISMATCH",
        ),
        refused(
            "version-3",
            |i| DeriveArgs {
                version: 3,
                ..sha256_hash(i)
            },
            &[ERROR_REVISION_MISMATCH],
            "spec §2.5.2: above CARD_DERIVE_KEY_CURRENT_VERSION",
        ),
        refused(
            "null-info",
            |i| DeriveArgs {
                null_info: true,
                ..sha256_hash(i)
            },
            &[SCARD_E_INVALID_PARAMETER],
            "spec §2.3.2",
        ),
        refused(
            "return-key-handle-v2",
            |i| DeriveArgs {
                version: 2,
                flags: CARD_RETURN_KEY_HANDLE,
                alg_id: Some("AES".into()),
                key_len_bits: 256,
                ..sha256_hash(i)
            },
            &[SCARD_E_UNSUPPORTED_FEATURE],
            "CARD_RETURN_KEY_HANDLE (a key handle for secure key injection) is not offered",
        ),
        refused(
            "return-key-handle-v1",
            |i| DeriveArgs {
                flags: CARD_RETURN_KEY_HANDLE,
                ..sha256_hash(i)
            },
            &[SCARD_E_INVALID_PARAMETER, SCARD_E_UNSUPPORTED_FEATURE],
            "spec: CARD_RETURN_KEY_HANDLE applies to version 2 only; with version 1 either answer",
        ),
    ]
}

fn output_cases() -> Vec<CaseDef> {
    let expected = |z: &[u8]| kdf::kdf_hash(Hash::Sha256, z, &[], &[]);
    vec![
        case(SUITE, "buffer-size-only-hash", move |h, v| {
            with_agreement(h, v, Curve::P256, "size", |b, _, index, _, v| {
                let r = b.call().derive_key(&size_of_sha256_hash(index));
                v.reply("CardDeriveKey(CARD_BUFFER_SIZE_ONLY)", &r, &[SCARD_S_SUCCESS]);
                v.check(r.value.is_some_and(|o| o.len == 32 && o.key.is_empty()), || {
                    "cbDerivedKey is not \
                    32"
                    .into()
                });
            });
            v.note("spec: CARD_BUFFER_SIZE_ONLY → only cbDerivedKey");
        })
        .counted_for("KDF HASH"),
        case(SUITE, "buffer-size-only-tls-prf", |h, v| {
            with_agreement(h, v, Curve::P256, "size tls", |b, _, index, _, v| {
                let mut a = DeriveArgs::new(
                    index,
                    "TLS_PRF",
                    vec![
                        (p::TLS_PRF_LABEL, b"master secret".to_vec()),
                        (p::TLS_PRF_SEED, tls_seed("size")),
                        (p::TLS_PRF_PROTOCOL, dword(tls::V1_2)),
                        (p::HASH_ALGORITHM, kdf_hash_name("SHA256")),
                    ],
                );
                a.flags = CARD_BUFFER_SIZE_ONLY;
                let r = b.call().derive_key(&a);
                v.reply("CardDeriveKey(CARD_BUFFER_SIZE_ONLY)", &r, &[SCARD_S_SUCCESS]);
                v.check(r.value.is_some_and(|o| o.len == 48), || {
                    "cbDerivedKey is not the 48-byte master \
                    secret"
                        .into()
                });
            });
        })
        .counted_for("KDF TLS_PRF"),
        case(SUITE, "size-query-then-caller-buffer", move |h, v| {
            with_agreement(h, v, Curve::P384, "size then buffer", |b, _, index, z, v| {
                let size = b.call().derive_key(&size_of_sha256_hash(index));
                v.reply("size query", &size, &[SCARD_S_SUCCESS]);
                let n = size.value.map_or(0, |o| o.len);
                let r = b.call().derive_key(&DeriveArgs {
                    output: DeriveOutput::Caller(n),
                    ..sha256_hash(index)
                });
                v.reply("derivation into the caller's buffer", &r, &[SCARD_S_SUCCESS]);
                v.check(r.value.is_some_and(|o| o.key == expected(z)), || {
                    "wrong key".into()
                });
            });
            v.note("spec: the caller asks for the size, allocates, and calls again with pbDerivedKey");
        })
        .counted_for("KDF HASH"),
        case(SUITE, "caller-buffer-larger", move |h, v| {
            with_agreement(h, v, Curve::P256, "larger", |b, _, index, z, v| {
                let r = b.call().derive_key(&DeriveArgs {
                    output: DeriveOutput::Caller(64),
                    ..sha256_hash(index)
                });
                v.reply("CardDeriveKey", &r, &[SCARD_S_SUCCESS]);
                v.check(
                    r.value.is_some_and(|o| o.len == 32 && o.key == expected(z)),
                    || "a 64-byte buffer: cbDerivedKey must be the key's 32 and the key in front".into(),
                );
            });
        })
        .counted_for("KDF HASH"),
        case(SUITE, "caller-buffer-too-small", |h, v| {
            with_agreement(h, v, Curve::P256, "small", |b, _, index, _, v| {
                let r = b.call().derive_key(&DeriveArgs {
                    output: DeriveOutput::Caller(16),
                    ..sha256_hash(index)
                });
                v.reply(
                    "CardDeriveKey",
                    &r,
                    &[SCARD_E_INSUFFICIENT_BUFFER, ERROR_INSUFFICIENT_BUFFER],
                );
                v.check(r.value.is_some_and(|o| o.len == 32), || {
                    "cbDerivedKey does not tell the size \
                    needed"
                        .into()
                });
            });
            v.note(
                "ambiguity: the spec names no code for a short pbDerivedKey; either 'insufficient \
                buffer' passes, with the size needed in cbDerivedKey and nothing written past the buffer",
            );
        })
        .counted_for("KDF HASH"),
        case(SUITE, "module-allocates-when-null", move |h, v| {
            with_agreement(h, v, Curve::P256, "module allocates", |b, _, index, z, v| {
                let r = b.call().derive_key(&sha256_hash(index));
                v.reply("CardDeriveKey(pbDerivedKey NULL)", &r, &[SCARD_S_SUCCESS]);
                v.check(r.value.is_some_and(|o| o.key == expected(z)), || {
                    "wrong key".into()
                });
            });
            v.note(
                "spec §4.7.3 has the caller allocate after a size query; OpenSC (and Windows' KSP in \
                practice) pass NULL and the module allocates with pfnCspAlloc",
            );
        })
        .counted_for("KDF HASH"),
    ]
}

fn secret_handle_cases() -> Vec<CaseDef> {
    vec![
        case(SUITE, "secret-handle", |h, v| {
            with_agreement(h, v, Curve::P256, "handle", |b, _, index, z, v| {
                let handle = padding::register_secret(b.card_data_ptr(), index);
                let (.., dh_before) = padding::calls();
                let mut a = DeriveArgs::new(
                    0xEE,
                    "HASH",
                    vec![
                        (p::SECRET_HANDLE, handle.to_ne_bytes().to_vec()),
                        (p::HASH_ALGORITHM, kdf_hash_name("SHA384")),
                    ],
                );
                a.agreement = 0xEE;
                let r = b.call().derive_key(&a);
                let (.., dh_after) = padding::calls();
                padding::forget_secret(handle);
                v.reply("CardDeriveKey(KDF_SECRET_HANDLE)", &r, &[SCARD_S_SUCCESS]);
                v.check(
                    r.value
                        .is_some_and(|o| o.key == kdf::kdf_hash(Hash::Sha384, z, &[], &[])),
                    || "the key is not derived from the agreement the handle names".into(),
                );
                v.check(dh_after > dh_before, || {
                    "pfnCspGetDHAgreement was not called".into()
                });
            });
            v.note(
                "spec §3.2.3: a KDF_SECRET_HANDLE parameter is resolved through pfnCspGetDHAgreement \
                (bSecretAgreementIndex ignored)",
            );
        })
        .counted_for("KDF HASH"),
        case(SUITE, "secret-handle-unknown", |h, v| {
            with_agreement(h, v, Curve::P256, "unknown handle", |b, _, index, _, v| {
                let a = DeriveArgs::new(
                    index,
                    "HASH",
                    vec![(p::SECRET_HANDLE, 0xDEAD_0000usize.to_ne_bytes().to_vec())],
                );
                v.reply(
                    "CardDeriveKey",
                    &b.call().derive_key(&a),
                    &[SCARD_E_INVALID_PARAMETER],
                );
            });
            v.note(
                "spec §3.2.3: the callback fails for a secret that is not on the card → the parameter \
                is invalid",
            );
        }),
        case(SUITE, "secret-handle-of-another-context", |h, v| {
            with_agreement(h, v, Curve::P256, "other handle", |b, _, index, _, v| {
                let Some(other) = v.setup("a second context", h.open()) else {
                    return;
                };
                let r = derive_by_secret_handle(b, &other, index);
                v.reply("CardDeriveKey", &r, &[SCARD_E_INVALID_PARAMETER]);
            });
        }),
        case(SUITE, "secret-handle-without-callback", |h, v| {
            let Some(key) = v.setup("find the key", find(h, NeededKey::Ecdh(Curve::P256))) else {
                return;
            };
            let Some(b) = v.setup("open", h.acquire_with(|s| s.nulls.dh = true)) else {
                return;
            };
            if let Err(code) = login(&b, &key) {
                return v.fail(format!("log in: {}", name(code)));
            }
            let Some(index) = crate::suites::ecdh::agree(
                v,
                &b,
                &key,
                &crate::oracle::ec::PeerKey::new(
                    Curve::P256,
                    "no \
                cb",
                ),
            ) else {
                return;
            };
            v.expected = None;
            let r = derive_by_secret_handle(&b, &b, index);
            v.reply(
                "CardDeriveKey(KDF_SECRET_HANDLE) without pfnCspGetDHAgreement",
                &r,
                &[SCARD_E_INVALID_PARAMETER],
            );
            v.note(
                "a secret handle cannot be resolved without the KSP's callback (NULL is allowed at \
                acquire: CMCK CardAcquireContext)",
            );
        }),
    ]
}

/// `CardDeriveKey` in `b` on agreement `index`, named through `KDF_SECRET_HANDLE` by the handle the
/// harness's secret callback resolves for `owner`'s context (registered for the call only).
fn derive_by_secret_handle(b: &ConnectedContext, owner: &ConnectedContext, index: u8) -> Reply<DeriveOut> {
    let handle = padding::register_secret(owner.card_data_ptr(), index);
    let a = DeriveArgs::new(
        index,
        "HASH",
        vec![(p::SECRET_HANDLE, handle.to_ne_bytes().to_vec())],
    );
    let r = b.call().derive_key(&a);
    padding::forget_secret(handle);
    r
}

fn out_of_memory() -> CaseDef {
    case(SUITE, "out-of-memory", |h, v| {
        with_agreement(h, v, Curve::P256, "oom", |b, _, index, _, v| {
            let args = sha256_hash(index);
            if !out_of_memory_sweep(v, "CardDeriveKey", "derivation", || b.call().derive_key(&args)) {
                return;
            }
            v.check(b.call().derive_key(&args).ok(), || {
                "the agreement is unusable after the failures".into()
            });
        });
        v.note("CMCK OutOfMem: SCARD_E_NO_MEMORY, nothing leaked, the agreement intact");
    })
    .counted_for("KDF HASH")
}

/// The harness's KDFs against published vectors, on this machine, before they judge the module.
fn oracle_check() -> CaseDef {
    case(SUITE, "oracle-published-vectors", |_, v| {
        let results = kdf::published_vectors();
        v.code(
            "the harness's KDF implementation",
            if results.iter().all(|r| r.1.is_ok()) {
                0
            } else {
                SCARD_E_UNEXPECTED
            },
            &[0],
        );
        for (source, r) in results {
            match r {
                Ok(()) => v.note(format!("reproduces {source}")),
                Err(e) => v.fail(format!("{source}: {e}")),
            }
        }
    })
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = vec![oracle_check()];
    for curve in CURVES {
        c.extend(matrix(curve));
    }
    c.extend(output_cases());
    c.extend(secret_handle_cases());
    c.extend(refusal_cases());
    c.push(out_of_memory());
    c
}
