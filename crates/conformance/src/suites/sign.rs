//! `CardSignData` (spec §4.7.5 "CardSignData", §3.2.3 PFN_CSP_PAD_DATA): every padding × hash × key size the
//! card supports, each signature verified with RustCrypto against the fixture's public key — RSA PKCS#1 v1.5
//! by CNG name, by CAPI `ALG_ID` and without OID; RSA-PSS with salts from 0 to the largest the key allows;
//! `CARD_PADDING_NONE`; `CARD_BUFFER_SIZE_ONLY`; ECDSA P-256/P-384 with hashes shorter and longer than the
//! curve — and the refusals: bad containers, key specs, versions, flags, hashes, PIN state, memory.
//!
//! Byte order (the spec's "input is passed in little-endian" is not what the CSP and OpenSC do): the hash
//! goes in as the CSP computed it; RSA signatures come back little-endian; ECDSA signatures as
//! big-endian `r ‖ s`.

use crate::codes::*;
use crate::ffi::alloc;
use crate::ffi::calls::flags::*;
use crate::ffi::calls::{PaddingInfo, Reply, SignArgs};
use crate::ffi::padding::PKCS1_HASHES;
use crate::harness::{CaseDef, ConnectedContext, Profile, Verdict, case};
use crate::oracle::ec::{Curve, verify_ecdsa};
use crate::oracle::hash::{CALG_MAC, CALG_MD2, CALG_MD4, CALG_SSL3_SHAMD5, Hash, SHA, md5_sha1};
use crate::oracle::rsa::{RsaKey, emsa_pkcs1_v15, reversed};
use crate::suites::keys::*;

const SUITE: &str = "sign";

fn tag(want: NeededKey) -> String {
    match want {
        NeededKey::RsaExchange(_) | NeededKey::RsaSignOnly => format!("{} sign", algorithm_name(want)),
        _ => format!("ECDSA {} sign", algorithm_name(want)),
    }
}

/// Calls `CardSignData`, expects success and a signature of `len` bytes; returns it.
fn signature(v: &mut Verdict, b: &ConnectedContext, args: &SignArgs, len: usize) -> Option<Vec<u8>> {
    let r = b.call().sign_data(args);
    if !v.reply("CardSignData", &r, &[SCARD_S_SUCCESS]) {
        return None;
    }
    let out = r.value.unwrap_or_default();
    let Some(sig) = out.signature else {
        v.fail("success without a signature buffer");
        return None;
    };
    if !v.check(sig.len() == len && out.len as usize == len, || {
        format!(
            "signature of {} bytes (cbSignedData {}), expected {len}",
            sig.len(),
            out.len
        )
    }) {
        return None;
    }
    Some(sig)
}

/// An RSA signing case: `make` builds the request for the key, `data` is what it signs, `check` verifies
/// the big-endian signature.
fn rsa_case(
    name: String,
    want: NeededKey,
    profile: Profile,
    make: impl Fn(&Key) -> (SignArgs, Vec<u8>) + Send + Sync + 'static,
    check: impl Fn(&RsaKey, &[u8], &[u8]) -> Result<(), String> + Send + Sync + 'static,
    why: &'static str,
) -> CaseDef {
    case(SUITE, name, move |h, v| {
        with_key(h, v, want, profile, |b, key, v| {
            let Some(rsa) = v.setup("public key", key.rsa()) else {
                return;
            };
            let (args, data) = make(key);
            if let Some(sig) = signature(v, b, &args, rsa.len()) {
                // The interface returns RSA signatures little-endian.
                let sig = reversed(&sig);
                if let Err(e) = check(&rsa, &data, &sig) {
                    v.fail(e);
                }
            }
        });
        v.note(why);
    })
    .counted_for(tag(want))
}

/// A signing request that must be refused with one of `codes`.
fn refused(
    name: String,
    want: NeededKey,
    profile: Profile,
    make: impl Fn(&Key) -> SignArgs + Send + Sync + 'static,
    codes: impl Into<Vec<u32>>,
    why: &'static str,
) -> CaseDef {
    let codes = codes.into();
    case(SUITE, name, move |h, v| {
        with_key(h, v, want, profile, |b, key, v| {
            let r = b.call().sign_data(&make(key));
            v.reply("CardSignData", &r, &codes);
        });
        v.note(why);
    })
}

fn pkcs1_cases(bits: u32) -> Vec<CaseDef> {
    let want = NeededKey::RsaExchange(bits);
    let mut c = Vec::new();
    for hash in PKCS1_HASHES {
        let name = format!("rsa{bits}-pkcs1-{}", hash.label());
        let n2 = name.clone();
        c.push(rsa_case(
            name,
            want,
            Profile::V7,
            move |k| {
                let data = hash.of(&n2);
                let args = SignArgs::padded(
                    k.index,
                    k.spec,
                    &data,
                    CARD_PADDING_PKCS1,
                    PaddingInfo::Pkcs1(Some(hash.cng_name().into())),
                );
                (args, data)
            },
            move |rsa, d, sig| rsa.verify_pkcs1(Some(hash), d, sig),
            "spec §4.7.5: CARD_PADDING_INFO_PRESENT + BCRYPT_PKCS1_PADDING_INFO names the hash; DigestInfo \
            added",
        ));
    }
    c.push(rsa_case(
        format!("rsa{bits}-pkcs1-shamd5-no-oid"),
        want,
        Profile::V7,
        move |k| {
            let data = md5_sha1(format!("shamd5 {bits}").as_bytes());
            let args = SignArgs::padded(
                k.index,
                k.spec,
                &data,
                CARD_PADDING_PKCS1,
                PaddingInfo::Pkcs1(None),
            );
            (args, data)
        },
        |rsa, d, sig| rsa.verify_pkcs1(None, d, sig),
        "spec §4.7.5: pszAlgId NULL = no OID; the 36-byte MD5‖SHA-1 is signed bare",
    ));
    c.push(rsa_case(
        format!("rsa{bits}-pkcs1-caller-digest-info"),
        want,
        Profile::V7,
        move |k| {
            let hash = Hash::Sha256.of(&format!("digest info {bits}"));
            let data = Hash::Sha256.digest_info(&hash);
            let args = SignArgs::padded(
                k.index,
                k.spec,
                &data,
                CARD_PADDING_PKCS1,
                PaddingInfo::Pkcs1(None),
            );
            (args, hash)
        },
        |rsa, d, sig| rsa.verify_pkcs1(Some(Hash::Sha256), d, sig),
        "spec §4.7.5: no hash id — the caller's DigestInfo is signed as given",
    ));
    for hash in [Hash::Md5, Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512] {
        let name = format!("rsa{bits}-calg-{}", hash.label());
        let n2 = name.clone();
        c.push(rsa_case(
            name,
            want,
            Profile::V7,
            move |k| {
                let data = hash.of(&n2);
                let args = SignArgs::basic(2, k.index, k.spec, hash.calg().unwrap_or(0), &data);
                (args, data)
            },
            move |rsa, d, sig| rsa.verify_pkcs1(Some(hash), d, sig),
            "spec §4.7.5: without CARD_PADDING_INFO_PRESENT, PKCS#1 v1.5 with the DigestInfo of aiHashAlg",
        ));
    }
    c.push(rsa_case(
        format!("rsa{bits}-calg-ssl3-shamd5"),
        want,
        Profile::V7,
        move |k| {
            let data = md5_sha1(format!("calg shamd5 {bits}").as_bytes());
            (SignArgs::basic(2, k.index, k.spec, CALG_SSL3_SHAMD5, &data), data)
        },
        |rsa, d, sig| rsa.verify_pkcs1(None, d, sig),
        "spec §4.7.5: CALG_SSL3_SHAMD5 = the raw 36 bytes, no OID",
    ));
    c.push(rsa_case(
        format!("rsa{bits}-calg-0-caller-digest-info"),
        want,
        Profile::V7,
        move |k| {
            let hash = Hash::Sha384.of(&format!("calg 0 {bits}"));
            let data = Hash::Sha384.digest_info(&hash);
            (SignArgs::basic(2, k.index, k.spec, 0, &data), hash)
        },
        |rsa, d, sig| rsa.verify_pkcs1(Some(Hash::Sha384), d, sig),
        "spec §4.7.5: aiHashAlg 0 = no OID added",
    ));
    c.push(rsa_case(
        format!("rsa{bits}-crypt-nohashoid-sha256"),
        want,
        Profile::V7,
        move |k| {
            let hash = Hash::Sha256.of(&format!("nohashoid {bits}"));
            let mut args = SignArgs::basic(2, k.index, k.spec, Hash::Sha256.calg().unwrap_or(0), &hash);
            args.flags = CRYPT_NOHASHOID;
            (args, hash)
        },
        |rsa, d, sig| rsa.verify_pkcs1(None, d, sig),
        "spec: dwSigningFlags takes CryptSignHash flags; CRYPT_NOHASHOID signs the bare hash",
    ));
    c
}

fn pss_cases(bits: u32) -> Vec<CaseDef> {
    let want = NeededKey::RsaExchange(bits);
    let mut c = Vec::new();
    for hash in SHA {
        // emLen = ⌈(modBits − 1)/8⌉ = modBits/8 for these sizes.
        let max = (bits as usize / 8).saturating_sub(hash.len() + 2);
        let mut salts = vec![(0usize, "0".to_owned())];
        if hash.len() <= max {
            salts.push((hash.len(), format!("{}-hash-length", hash.len())));
        }
        salts.push((max, format!("{max}-max")));
        for (salt, label) in salts {
            let name = format!("rsa{bits}-pss-{}-salt-{label}", hash.label());
            let n2 = name.clone();
            c.push(rsa_case(
                name,
                want,
                Profile::V7,
                move |k| {
                    let data = hash.of(&n2);
                    let args = SignArgs::padded(
                        k.index,
                        k.spec,
                        &data,
                        CARD_PADDING_PSS,
                        PaddingInfo::Pss(Some(hash.cng_name().into()), salt as u32),
                    );
                    (args, data)
                },
                move |rsa, d, sig| rsa.verify_pss(hash, salt, d, sig),
                "spec §4.7.5: CARD_PADDING_PSS with BCRYPT_PSS_PADDING_INFO; any salt the key allows \
                    (RFC 8017 §9.1.1)",
            ));
        }
        let too_long = max + 1;
        c.push(
            refused(
                format!("rsa{bits}-pss-{}-salt-{too_long}-too-long", hash.label()),
                want,
                Profile::V7,
                move |k| {
                    SignArgs::padded(
                        k.index,
                        k.spec,
                        &hash.of("too long"),
                        CARD_PADDING_PSS,
                        PaddingInfo::Pss(Some(hash.cng_name().into()), too_long as u32),
                    )
                },
                [SCARD_E_INVALID_PARAMETER],
                "RFC 8017 §9.1.1 step 3: emLen < hLen + sLen + 2 is an encoding error → invalid parameter",
            )
            .counted_for(tag(want)),
        );
    }
    c
}

fn other_rsa_cases(bits: u32) -> Vec<CaseDef> {
    let want = NeededKey::RsaExchange(bits);
    let k = bits as usize / 8;
    vec![
        rsa_case(
            format!("rsa{bits}-padding-none"),
            want,
            Profile::V7,
            move |key| {
                let t = Hash::Sha256.digest_info(&Hash::Sha256.of(&format!("none {bits}")));
                let block = emsa_pkcs1_v15(&t, k).unwrap_or_default();
                (
                    SignArgs::padded(key.index, key.spec, &block, CARD_PADDING_NONE, PaddingInfo::Null),
                    block,
                )
            },
            |rsa, block, sig| {
                let back = rsa.raw(sig)?;
                if back == block {
                    Ok(())
                } else {
                    Err(
                        "CARD_PADDING_NONE: s^e mod n is not the block given (it is signed as given, \
                        big-endian)"
                            .into(),
                    )
                }
            },
            "spec §4.7.5: CARD_PADDING_NONE signs the modulus-sized block as given (the input is not \
            byte-reversed)",
        ),
        refused(
            format!("rsa{bits}-padding-none-short-block"),
            want,
            Profile::V7,
            move |key| {
                SignArgs::padded(
                    key.index,
                    key.spec,
                    &vec![0x11; k - 1],
                    CARD_PADDING_NONE,
                    PaddingInfo::Null,
                )
            },
            [SCARD_E_INVALID_PARAMETER],
            "CARD_PADDING_NONE needs one modulus-sized block",
        )
        .counted_for(tag(want)),
        case(SUITE, format!("rsa{bits}-buffer-size-only"), move |h, v| {
            with_key(h, v, want, Profile::V7, |b, key, v| {
                let mut args = SignArgs::pkcs1_sha256(key.index, key.spec, &Hash::Sha256.of("size"));
                args.flags |= CARD_BUFFER_SIZE_ONLY;
                let before = h.counters();
                let r = b.call().sign_data(&args);
                let after = h.counters();
                v.reply("CardSignData(CARD_BUFFER_SIZE_ONLY)", &r, &[SCARD_S_SUCCESS]);
                if let Some(out) = r.value {
                    v.check(out.len as usize == key.len() && out.signature.is_none(), || {
                        format!("cbSignedData {}, expected {}", out.len, key.len())
                    });
                }
                if let (Some(a), Some(b)) = (after, before) {
                    v.check(a.since(b).apdus == 0, || {
                        format!(
                            "{} APDUs for a size query (spec: the flag saves card traffic)",
                            a.since(b).apdus
                        )
                    });
                }
            });
            v.note("spec §4.7.5: only cbSignedData is set; no signature, no card operation");
        })
        .counted_for(tag(want)),
        rsa_case(
            format!("rsa{bits}-at-signature-on-dual-use-key"),
            want,
            Profile::V7,
            move |key| {
                let hash = Hash::Sha256.of(&format!("at_signature {bits}"));
                let args = SignArgs::pkcs1_sha256(key.index, AT_SIGNATURE, &hash);
                (args, hash)
            },
            |rsa, d, sig| rsa.verify_pkcs1(Some(Hash::Sha256), d, sig),
            "a dual-use RSA key (one PIV slot) signs whichever RSA key spec the CSP asks with",
        ),
    ]
}

fn ecdsa_cases(want: NeededKey, curve: Curve) -> Vec<CaseDef> {
    let mut c = Vec::new();
    let label = curve.name().to_lowercase().replace('-', "");
    for hash in SHA {
        let name = format!("ecdsa-{label}-{}", hash.label());
        let n2 = name.clone();
        c.push(
            case(SUITE, name, move |h, v| {
                with_key(h, v, want, Profile::V7, |b, key, v| {
                    let data = hash.of(&n2);
                    let args = SignArgs::basic(2, key.index, key.spec, 0, &data);
                    if let Some(sig) = signature(v, b, &args, 2 * curve.field_len())
                        && let Err(e) = verify_ecdsa(curve, &key.point(), &data, &sig)
                    {
                        v.fail(e);
                    }
                });
                let fit = match hash.len().cmp(&curve.field_len()) {
                    std::cmp::Ordering::Less => "shorter than the curve: used as an integer",
                    std::cmp::Ordering::Equal => "as long as the curve",
                    std::cmp::Ordering::Greater => {
                        "longer than the curve: its leftmost bits (FIPS 186-5 §6.4.1)"
                    }
                };
                v.note(format!(
                    "spec §4.7.5: r ‖ s big-endian, {} bytes; hash {fit}",
                    2 * curve.field_len()
                ));
            })
            .counted_for(tag(want)),
        );
    }
    c.push(
        case(SUITE, format!("ecdsa-{label}-buffer-size-only"), move |h, v| {
            with_key(h, v, want, Profile::V7, |b, key, v| {
                let mut args = SignArgs::basic(2, key.index, key.spec, 0, &Hash::Sha256.of("size"));
                args.flags = CARD_BUFFER_SIZE_ONLY;
                let r = b.call().sign_data(&args);
                v.reply("CardSignData(CARD_BUFFER_SIZE_ONLY)", &r, &[SCARD_S_SUCCESS]);
                if let Some(out) = r.value {
                    v.check(
                        out.len as usize == 2 * curve.field_len() && out.signature.is_none(),
                        || format!("cbSignedData {}", out.len),
                    );
                }
            });
        })
        .counted_for(tag(want)),
    );
    c.push(
        refused(
            format!("ecdsa-{label}-empty-hash"),
            want,
            Profile::V7,
            |key| {
                let mut a = SignArgs::basic(2, key.index, key.spec, 0, &[0; 32]);
                a.claimed_len = Some(0);
                a
            },
            [SCARD_E_INVALID_PARAMETER],
            "spec §2.3.2: cbData 0 is an invalid parameter",
        )
        .counted_for(tag(want)),
    );
    c.push(
        refused(
            format!("ecdsa-{label}-other-curve-spec"),
            want,
            Profile::V7,
            move |key| {
                let other = if curve == Curve::P256 {
                    Curve::P384
                } else {
                    Curve::P256
                };
                SignArgs::basic(2, key.index, other.ecdsa_spec(), 0, &Hash::Sha256.of("spec"))
            },
            [SCARD_E_INVALID_PARAMETER],
            "a key spec that is not the container's → invalid parameter",
        )
        .counted_for(tag(want)),
    );
    c
}

/// Version, structure and flag cases, on the 2048-bit exchange key.
fn structure_cases() -> Vec<CaseDef> {
    let want = NeededKey::RsaExchange(2048);
    let sha256 = || PaddingInfo::Pkcs1(Some("SHA256".into()));
    // A well-formed PKCS#1 SHA-256 request with one thing changed, which the module must refuse.
    let tweaked = |name: &str, tweak: fn(&mut SignArgs), codes: [u32; 1], why: &'static str| {
        refused(
            name.into(),
            want,
            Profile::V7,
            move |k| {
                let mut a = SignArgs::padded(
                    k.index,
                    k.spec,
                    &Hash::Sha256.of("x"),
                    CARD_PADDING_PKCS1,
                    sha256(),
                );
                tweak(&mut a);
                a
            },
            codes,
            why,
        )
    };
    vec![
        rsa_case(
            "signing-info-v1-on-v6-context".into(),
            want,
            Profile::V6,
            |k| {
                let hash = Hash::Sha256.of("v1 on v6");
                (SignArgs::basic(1, k.index, k.spec, 0x800C, &hash), hash)
            },
            |rsa, d, sig| rsa.verify_pkcs1(Some(Hash::Sha256), d, sig),
            "spec §4.7.5: a v5+ module accepts CARD_SIGNING_INFO_BASIC_VERSION",
        ),
        case(SUITE, "signing-info-v1-on-v7-context", move |h, v| {
            with_key(h, v, want, Profile::V7, |b, key, v| {
                let hash = Hash::Sha256.of("v1 on v7");
                let r = b
                    .call()
                    .sign_data(&SignArgs::basic(1, key.index, key.spec, 0x800C, &hash));
                v.reply("CardSignData", &r, &[SCARD_S_SUCCESS, ERROR_REVISION_MISMATCH]);
                if let (Some(sig), Ok(rsa)) = (r.value.and_then(|o| o.signature), key.rsa())
                    && let Err(e) = rsa.verify_pkcs1(Some(Hash::Sha256), &hash, &reversed(&sig))
                {
                    v.fail(e);
                }
            });
            v.note(
                "ambiguity: spec §4.7.5 says v1 on a v7 context → \
                ERROR_REVISION_MISMATCH and also that v5+ modules must accept v1; OpenSC accepts it. \
                Either answer passes; a success must verify",
            );
        }),
        tweaked(
            "signing-info-v1-with-padding-info",
            |a| a.version = 1,
            [ERROR_REVISION_MISMATCH],
            "spec: CARD_PADDING_INFO_PRESENT means the current version; a basic structure → \
                ERROR_REVISION_MISMATCH",
        ),
        tweaked(
            "signing-info-version-3",
            |a| a.version = 3,
            [ERROR_REVISION_MISMATCH],
            "spec §2.5.2: a version above the current one",
        ),
        tweaked(
            "signing-info-version-0x10002",
            |a| a.version = 0x10002,
            [ERROR_REVISION_MISMATCH],
            "CMCK CardSignData",
        ),
        tweaked(
            "null-info",
            |a| a.null_info = true,
            [SCARD_E_INVALID_PARAMETER],
            "CMCK CardSignData",
        ),
        tweaked(
            "null-data",
            |a| a.data = None,
            [SCARD_E_INVALID_PARAMETER],
            "CMCK CardSignData",
        ),
        tweaked(
            "flags-0xffffffff",
            |a| a.flags = 0xFFFF_FFFF,
            [SCARD_E_INVALID_PARAMETER],
            "CMCK CardSignData: dwSigningFlags 0xFFFFFFFF",
        ),
        tweaked(
            "padding-info-null-pkcs1",
            |a| a.padding = PaddingInfo::Null,
            [SCARD_E_INVALID_PARAMETER],
            "CARD_PADDING_PKCS1 needs its BCRYPT_PKCS1_PADDING_INFO",
        ),
        tweaked(
            "padding-info-null-pss",
            |a| {
                a.padding = PaddingInfo::Null;
                a.padding_type = CARD_PADDING_PSS;
            },
            [SCARD_E_INVALID_PARAMETER],
            "CARD_PADDING_PSS needs its BCRYPT_PSS_PADDING_INFO",
        ),
        tweaked(
            "padding-type-0",
            |a| a.padding_type = 0,
            [SCARD_E_INVALID_PARAMETER],
            "OpenSC: unknown padding type → invalid parameter",
        ),
        tweaked(
            "padding-type-oaep",
            |a| {
                a.padding_type = CARD_PADDING_OAEP;
                a.padding = PaddingInfo::Oaep(Some("SHA256".into()), None);
            },
            [SCARD_E_INVALID_PARAMETER],
            "spec: CardSignData takes PKCS1, PSS or NONE; OAEP is not a signature padding",
        ),
        tweaked(
            "padding-type-3",
            |a| a.padding_type = 3,
            [SCARD_E_INVALID_PARAMETER],
            "two padding bits at once",
        ),
        refused(
            "hash-length-mismatch".into(),
            want,
            Profile::V7,
            move |k| SignArgs::padded(k.index, k.spec, &[7; 20], CARD_PADDING_PKCS1, sha256()),
            [SCARD_E_INVALID_PARAMETER],
            "20 bytes named SHA-256",
        ),
        refused(
            "pkcs1-data-too-long-for-the-key".into(),
            NeededKey::RsaExchange(1024),
            Profile::V7,
            |k| {
                SignArgs::padded(
                    k.index,
                    k.spec,
                    &[0x30; 118],
                    CARD_PADDING_PKCS1,
                    PaddingInfo::Pkcs1(None),
                )
            },
            [SCARD_E_INVALID_PARAMETER],
            "RFC 8017 §9.2: tLen > emLen − 11 is an encoding error",
        ),
    ]
}

/// Hashes and key specs the module must refuse (spec "CardSignData", CMCK CardSignData).
fn refusal_cases() -> Vec<CaseDef> {
    let want = NeededKey::RsaExchange(2048);
    let mut c = Vec::new();
    for (name, hash) in [("md2", "MD2"), ("md4", "MD4"), ("sha3-256", "SHA3-256")] {
        c.push(refused(
            format!("unsupported-hash-name-{name}"),
            want,
            Profile::V7,
            move |k| {
                SignArgs::padded(
                    k.index,
                    k.spec,
                    &[1; 16],
                    CARD_PADDING_PKCS1,
                    PaddingInfo::Pkcs1(Some(hash.into())),
                )
            },
            [SCARD_E_UNSUPPORTED_FEATURE],
            "spec: algorithms the card does not support → SCARD_E_UNSUPPORTED_FEATURE",
        ));
    }
    for (name, alg, want_code, why) in [
        (
            "calg-md2",
            CALG_MD2,
            SCARD_E_UNSUPPORTED_FEATURE,
            "spec: unsupported hash ALG_ID",
        ),
        (
            "calg-md4",
            CALG_MD4,
            SCARD_E_UNSUPPORTED_FEATURE,
            "spec: unsupported hash ALG_ID",
        ),
        (
            "calg-mac",
            CALG_MAC,
            SCARD_E_UNSUPPORTED_FEATURE,
            "CMCK CardSignData: 0x8005 → 0x80100022",
        ),
        (
            "calg-0x10000000",
            0x1000_0000,
            SCARD_E_INVALID_PARAMETER,
            "CMCK CardSignData expects 0x80100004 for a value that is not an ALG_ID",
        ),
    ] {
        c.push(refused(
            format!("unsupported-hash-{name}"),
            want,
            Profile::V7,
            move |k| SignArgs::basic(2, k.index, k.spec, alg, &[1; 16]),
            [want_code],
            why,
        ));
    }
    for (name, spec, want_code, why) in [
        ("0", 0, SCARD_E_INVALID_PARAMETER, "spec: undefined dwKeySpec"),
        ("9", 9, SCARD_E_INVALID_PARAMETER, "spec: undefined dwKeySpec"),
        ("0x10002", 0x10002, SCARD_E_INVALID_PARAMETER, "CMCK CardSignData"),
        (
            "ecdsa-p521",
            5,
            SCARD_E_UNSUPPORTED_FEATURE,
            "spec: defined but unsupported key spec",
        ),
        (
            "ecdhe-p521",
            8,
            SCARD_E_UNSUPPORTED_FEATURE,
            "spec: defined but unsupported key spec",
        ),
        (
            "ecdsa-p256-on-rsa-key",
            3,
            SCARD_E_INVALID_PARAMETER,
            "a key spec that is not the container's",
        ),
    ] {
        c.push(refused(
            format!("key-spec-{name}"),
            want,
            Profile::V7,
            move |k| SignArgs::pkcs1_sha256(k.index, spec, &Hash::Sha256.of("s")),
            [want_code],
            why,
        ));
    }
    c.push(refused(
        "container-255".into(),
        want,
        Profile::V7,
        |k| SignArgs::pkcs1_sha256(255, k.spec, &Hash::Sha256.of("s")),
        [SCARD_E_NO_KEY_CONTAINER],
        "spec: an invalid or nonexistent bContainerIndex",
    ));
    c.push(case(SUITE, "container-empty-index", move |h, v| {
        let Some(index) = v.setup("an empty index", empty_index(h)) else {
            return;
        };
        with_key(h, v, want, Profile::V7, |b, k, v| {
            let mut a = SignArgs::pkcs1_sha256(index, k.spec, &Hash::Sha256.of("s"));
            a.index = index;
            v.reply(
                "CardSignData",
                &b.call().sign_data(&a),
                &[SCARD_E_NO_KEY_CONTAINER],
            );
        });
        v.note("spec: a container index without a key → SCARD_E_NO_KEY_CONTAINER");
    }));
    c.push(case(SUITE, "null-card-data", move |h, v| {
        with_key(h, v, want, Profile::V7, |b, k, v| {
            let a = SignArgs::pkcs1_sha256(k.index, k.spec, &Hash::Sha256.of("s"));
            v.reply(
                "CardSignData",
                &b.null().sign_data(&a),
                &[SCARD_E_INVALID_PARAMETER],
            );
        });
        v.note("spec §2.3.2: NULL pCardData");
    }));
    c
}

/// Signing without the PIN the key needs.
fn pin_cases() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for (name, want) in [
        ("rsa2048", NeededKey::RsaExchange(2048)),
        ("ecdsa-p256", NeededKey::Ecdsa(Curve::P256)),
    ] {
        c.push(
            case(SUITE, format!("{name}-pin-not-verified"), move |h, v| {
                let Some(key) = v.setup("find the key", find(h, want)) else {
                    return;
                };
                // A reset logs every connection out; the context starts from an unauthenticated card.
                let Some(()) = v.setup("reset", h.card().reset_through_other()) else {
                    return;
                };
                let Some(b) = v.setup("open", h.open()) else {
                    return;
                };
                let data = Hash::Sha256.of("no pin");
                let args = if key.slot.is_rsa() {
                    SignArgs::pkcs1_sha256(key.index, key.spec, &data)
                } else {
                    SignArgs::basic(2, key.index, key.spec, 0, &data)
                };
                v.reply(
                    "CardSignData without a PIN",
                    &b.call().sign_data(&args),
                    &[SCARD_W_SECURITY_VIOLATION],
                );
                v.note("PIN not verified: the card refuses (6982) → SCARD_W_SECURITY_VIOLATION");
            })
            .counted_for(tag(want)),
        );
        c.push(
            case(SUITE, format!("{name}-after-deauthenticate"), move |h, v| {
                with_key(h, v, want, Profile::V7, |b, key, v| {
                    let d = b.call().deauthenticate_ex(0xFF, 0);
                    v.reply(
                        "CardDeauthenticateEx(all)",
                        &d,
                        &[SCARD_S_SUCCESS, SCARD_E_UNSUPPORTED_FEATURE],
                    );
                    if d.code == SCARD_E_UNSUPPORTED_FEATURE {
                        // The CSP resets the card when the module cannot log out.
                        let _ = h.card().reset_through_other();
                    }
                    v.expected = None;
                    let data = Hash::Sha256.of("deauthenticated");
                    let args = if key.slot.is_rsa() {
                        SignArgs::pkcs1_sha256(key.index, key.spec, &data)
                    } else {
                        SignArgs::basic(2, key.index, key.spec, 0, &data)
                    };
                    v.reply(
                        "CardSignData after logging out",
                        &b.call().sign_data(&args),
                        &[SCARD_W_SECURITY_VIOLATION],
                    );
                });
            })
            .counted_for(tag(want)),
        );
    }
    c.push(
        case(SUITE, "pin-always-one-signature-per-pin", |h, v| {
            with_key(h, v, NeededKey::PinAlways, Profile::V7, |b, key, v| {
                let data = Hash::Sha256.of("pin always 1");
                let args = SignArgs::basic(2, key.index, key.spec, 0, &data);
                match signature(v, b, &args, 64) {
                    Some(sig) => {
                        if let Err(e) = verify_ecdsa(Curve::P256, &key.point(), &data, &sig) {
                            v.fail(e);
                        }
                    }
                    None => return,
                }
                let again = b.call().sign_data(&SignArgs::basic(
                    2,
                    key.index,
                    key.spec,
                    0,
                    &Hash::Sha256.of("pin \
                    always 2"),
                ));
                v.reply(
                    "a second signature on the same PIN",
                    &again,
                    &[SCARD_W_SECURITY_VIOLATION],
                );
                if let Err(code) = login(b, key) {
                    return v.fail(format!(
                        "CardAuthenticateEx(ROLE_PIN_ALWAYS) again: {}",
                        name(code)
                    ));
                }
                let data = Hash::Sha256.of("pin always 3");
                if let Some(sig) = signature(v, b, &SignArgs::basic(2, key.index, key.spec, 0, &data), 64)
                    && let Err(e) = verify_ecdsa(Curve::P256, &key.point(), &data, &sig)
                {
                    v.fail(e);
                }
            });
            v.note(
                "after CardAuthenticateEx(ROLE_PIN_ALWAYS = 3) one signature works, the next \
                needs the PIN again (PIV PIN policy ALWAYS)",
            );
        })
        .counted_for("ECDSA P-256 sign"),
    );
    c.push(
        case(SUITE, "ecdsa-p256-key-without-certificate", |h, v| {
            with_key(h, v, NeededKey::NoCertificate, Profile::V7, |b, key, v| {
                let data = Hash::Sha256.of("9d");
                if let Some(sig) = signature(v, b, &SignArgs::basic(2, key.index, key.spec, 0, &data), 64)
                    && let Err(e) = verify_ecdsa(Curve::P256, &key.point(), &data, &sig)
                {
                    v.fail(e);
                }
            });
            v.note("a key found through Yubico's GET METADATA alone (no certificate) signs too");
        })
        .counted_for("ECDSA P-256 sign"),
    );
    c.push(rsa_case(
        "rsa2048-sign-only-key-no-pin".into(),
        NeededKey::RsaSignOnly,
        Profile::V7,
        |k| {
            let hash = Hash::Sha512.of("9e");
            let args = SignArgs::padded(
                k.index,
                k.spec,
                &hash,
                CARD_PADDING_PKCS1,
                PaddingInfo::Pkcs1(Some("SHA512".into())),
            );
            (args, hash)
        },
        |rsa, d, sig| rsa.verify_pkcs1(Some(Hash::Sha512), d, sig),
        "9E: AT_SIGNATURE key, PIN policy never",
    ));
    c
}

/// `SCARD_E_NO_MEMORY` from a signature whose buffer cannot be allocated, and nothing leaked.
/// CMCK OutOfMem over one call: it works without injection; with every `pfnCspAlloc` failing it
/// answers SCARD_E_NO_MEMORY; with the n-th allocation failing, for each allocation the call makes, it
/// succeeds or answers SCARD_E_NO_MEMORY, with no other problem. False (recorded) when the call fails
/// without injection, so there is nothing to sweep.
pub(super) fn out_of_memory_sweep<T>(
    v: &mut Verdict,
    api: &str,
    operation: &str,
    mut call: impl FnMut() -> Reply<T>,
) -> bool {
    let before = alloc::allocation_calls();
    let warm = call();
    let per_call = alloc::allocation_calls() - before;
    if !v.check(warm.ok(), || {
        format!("{operation} fails without injection: {}", name(warm.code))
    }) {
        return false;
    }
    alloc::fail_all(true);
    let r = call();
    alloc::disarm();
    v.reply(
        &format!("{api} with pfnCspAlloc failing"),
        &r,
        &[SCARD_E_NO_MEMORY],
    );
    for n in 1..=per_call {
        alloc::fail_nth(n);
        let r = call();
        alloc::disarm();
        v.check(r.code == 0 || r.code == SCARD_E_NO_MEMORY, || {
            format!("allocation {n} failing: {}", name(r.code))
        });
        v.failures.extend(r.problems);
    }
    true
}

fn out_of_memory(want: NeededKey) -> CaseDef {
    case(
        SUITE,
        format!("out-of-memory-{}", algorithm_name(want).to_lowercase()),
        move |h, v| {
            with_key(h, v, want, Profile::V7, |b, key, v| {
                let data = Hash::Sha256.of("oom");
                let args = if key.slot.is_rsa() {
                    SignArgs::pkcs1_sha256(key.index, key.spec, &data)
                } else {
                    SignArgs::basic(2, key.index, key.spec, 0, &data)
                };
                if !out_of_memory_sweep(v, "CardSignData", "signing", || b.call().sign_data(&args)) {
                    return;
                }
                let after = b.call().sign_data(&args);
                v.check(after.ok(), || "signing does not work after the failures".into());
            });
            v.note("CMCK OutOfMem: SCARD_E_NO_MEMORY, no block leaked");
        },
    )
    .counted_for(tag(want))
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for bits in RSA_SIZES {
        c.extend(pkcs1_cases(bits));
        c.extend(pss_cases(bits));
        c.extend(other_rsa_cases(bits));
    }
    c.extend(ecdsa_cases(NeededKey::Ecdsa(Curve::P256), Curve::P256));
    c.extend(ecdsa_cases(NeededKey::Ecdsa(Curve::P384), Curve::P384));
    c.extend(structure_cases());
    c.extend(refusal_cases());
    c.extend(pin_cases());
    c.push(
        case(SUITE, "rsa2048-without-pad-callback", |h, v| {
            let Some(key) = v.setup("find the key", find(h, NeededKey::RsaExchange(2048))) else {
                return;
            };
            let Some(b) = v.setup("open", h.acquire_with(|s| s.nulls.pad = true)) else {
                return;
            };
            if b.acquire_code != 0 {
                return v.fail(format!(
                    "CardAcquireContext with pfnCspPadData NULL: {}",
                    name(b.acquire_code)
                ));
            }
            if let Err(code) = login(&b, &key) {
                return v.fail(format!("log in: {}", name(code)));
            }
            let hash = Hash::Sha256.of("no pad callback");
            let args = SignArgs::pkcs1_sha256(key.index, key.spec, &hash);
            if let (Some(sig), Ok(rsa)) = (signature(v, &b, &args, key.len()), key.rsa())
                && let Err(e) = rsa.verify_pkcs1(Some(Hash::Sha256), &hash, &reversed(&sig))
            {
                v.fail(e);
            }
            v.note(
                "spec: a module that pads on its side does not need PFN_CSP_PAD_DATA (it is optional \
                for the card)",
            );
        })
        .counted_for("RSA-2048 sign"),
    );
    c.push(out_of_memory(NeededKey::RsaExchange(2048)));
    c.push(out_of_memory(NeededKey::Ecdsa(Curve::P256)));
    c
}
