//! Property tests: no card answer makes a parser panic, and every encoder's output parses back to the
//! value it came from. Each property runs at least 10 000 cases (more when `PROPTEST_CASES` says so).
//!
//! Inputs are not only random bytes: most strategies build well-formed TLV with the tags a parser looks
//! for and the lengths its fixed fields need, then maybe cut, extend or flip a byte, so that the deep
//! paths (fixed-size checks, nested templates, decompression) are reached too.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{TestCaseError, TestRunner};

use tessera_piv::commands::Metadata;
use tessera_piv::objects::{
    AdminData, ApplicationProperties, Ccc, CertificateObject, Chuid, CmapRecord, Compression, ContainerMap,
    ContainerRecord, Discovery, KeyHistory, MAX_CONTAINER_RECORDS, MAX_ROOT_STORE_CHUNK, MAX_ROOT_STORE_LEN,
    PrintedInformation, ProtectedData, RootStoreAssembler, RootStoreChunk, SecurityObject,
    decompress_certificate, key_spec, split_root_store,
};
use tessera_piv::public_key::PublicKey;
use tessera_piv::transport::Scripted;
use tessera_piv::{AlgorithmId, KeyRef, ParsedCommand, Response, Session, tlv};

/// At least 10 000 cases; `PROPTEST_CASES` may ask for more, never for fewer. (The `proptest!` macro
/// lets the variable override its configuration in both directions, hence [`check`].)
fn config() -> ProptestConfig {
    let from_env = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    ProptestConfig {
        cases: from_env.max(10_000),
        ..ProptestConfig::default()
    }
}

/// Runs `test` on [`config`]`().cases` inputs drawn from `strategy`; panics with the shrunk failing input.
#[track_caller]
fn check<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(config());
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Strategies

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

/// Values of random length, or of the lengths fixed fields need.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        bytes(48),
        select(vec![0usize, 1, 2, 4, 8, 9, 16, 20, 21, 24, 25, 32, 107])
            .prop_flat_map(|n| vec(any::<u8>(), n..=n)),
    ]
}

/// A valid BER tag of 1, 2 or 3 bytes.
fn valid_tag() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u8>().prop_map(|b| u32::from(if b & 0x1F == 0x1F { b & !0x01 } else { b })),
        (any::<u8>(), 0u8..0x80).prop_map(|(a, b)| (u32::from(a | 0x1F) << 8) | u32::from(b)),
        (any::<u8>(), 0x80u8..=0xFF, 0u8..0x80)
            .prop_map(|(a, b, c)| (u32::from(a | 0x1F) << 16) | (u32::from(b) << 8) | u32::from(c)),
    ]
}

/// How a well-formed buffer is damaged before parsing.
#[derive(Debug, Clone)]
enum Damage {
    None,
    Truncate(usize),
    Append(Vec<u8>),
    Flip(usize, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        2 => Just(Damage::None),
        1 => any::<usize>().prop_map(Damage::Truncate),
        1 => bytes(4).prop_map(Damage::Append),
        1 => (any::<usize>(), 1u8..=255).prop_map(|(at, x)| Damage::Flip(at, x)),
    ]
}

fn apply(mut data: Vec<u8>, damage: &Damage) -> Vec<u8> {
    match damage {
        Damage::None => {}
        Damage::Truncate(at) => data.truncate(at % (data.len() + 1)),
        Damage::Append(more) => data.extend_from_slice(more),
        Damage::Flip(at, x) => {
            if !data.is_empty() {
                let i = at % data.len();
                data[i] ^= x;
            }
        }
    }
    data
}

/// A TLV list over `tags`, maybe damaged.
fn tlv_list(tags: Vec<u32>) -> impl Strategy<Value = Vec<u8>> {
    (vec((select(tags), value()), 0..8), damage()).prop_map(|(elements, d)| {
        let mut out = Vec::new();
        for (tag, v) in &elements {
            tlv::write(&mut out, *tag, v).unwrap();
        }
        apply(out, &d)
    })
}

/// Hostile input for a parser whose elements use `tags`, optionally wrapped in `wrapper`.
/// No input `strategy` generates makes `T`'s parser panic (errors are fine).
fn parse_never_panics<T: for<'a> TryFrom<&'a [u8]>>(strategy: BoxedStrategy<Vec<u8>>) {
    check(strategy, |data| {
        let _ = T::try_from(&data[..]);
        Ok(())
    });
}

fn hostile(tags: &[u32], wrapper: Option<u32>) -> BoxedStrategy<Vec<u8>> {
    let tags = tags.to_vec();
    let flat = tlv_list(tags.clone());
    match wrapper {
        None => prop_oneof![1 => bytes(64), 4 => flat].boxed(),
        Some(w) => {
            let wrapped = (tlv_list(tags), damage())
                .prop_map(move |(inner, d)| apply(tlv::encode(w, &inner).unwrap_or_default(), &d));
            prop_oneof![1 => bytes(64), 1 => flat, 4 => wrapped].boxed()
        }
    }
}

fn option<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    proptest::option::of(s).boxed()
}

fn name() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..20).prop_map(|cs| cs.into_iter().map(|c| if c == '\0' { 'x' } else { c }).collect())
}

fn container_record() -> impl Strategy<Value = ContainerRecord> {
    (
        name(),
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<[u8; 20]>(),
    )
        .prop_map(
            |(name, slot, key_spec, key_size_bits, flags, pin_id, assoc, cert_fingerprint)| ContainerRecord {
                name,
                slot: KeyRef(slot),
                key_spec,
                key_size_bits,
                flags,
                pin_id,
                associated_ecdh_container: assoc,
                cert_fingerprint,
            },
        )
}

fn digits8() -> impl Strategy<Value = [u8; 8]> {
    proptest::array::uniform8(b'0'..=b'9')
}

// ---------------------------------------------------------------------------------------------------
// No input panics

#[test]
fn tlv_readers_never_panic() {
    check(
        (
            prop_oneof![bytes(64), tlv_list(vec![0x53, 0x5FC102, 0x7F49, 0x80])],
            valid_tag(),
        ),
        |(data, expected)| {
            let _ = tlv::read(&data);
            let _ = tlv::parse_all(&data);
            let _ = tlv::parse_single(&data, expected);
            let mut reader = tlv::Reader::new(&data);
            for _ in reader.by_ref() {}
            Ok(())
        },
    );
}

#[test]
fn response_parse_never_panics() {
    check(bytes(300), |data| {
        if let Ok(r) = Response::parse(&data) {
            prop_assert_eq!(r.to_bytes(), data);
        }
        Ok(())
    });
}

#[test]
fn parsed_command_parse_never_panics() {
    check(
        prop_oneof![
            bytes(300),
            // Headers followed by plausible short and extended length fields.
            (bytes(4), any::<u8>(), bytes(260)).prop_map(|(h, lc, body)| [h, vec![lc], body].concat()),
            (bytes(4), any::<u16>(), bytes(300))
                .prop_map(|(h, n, body)| { [h, vec![0], n.to_be_bytes().to_vec(), body].concat() }),
        ],
        |data| {
            let _ = ParsedCommand::parse(&data);
            Ok(())
        },
    );
}

#[test]
fn application_properties_parse_never_panics() {
    check(
        hostile(&[0x4F, 0x79, 0x50, 0x5F50, 0xAC, 0x80, 0x06], Some(0x61)),
        |data| {
            let _ = ApplicationProperties::parse(&data);
            Ok(())
        },
    );
}

#[test]
fn metadata_parse_never_panics() {
    check(
        hostile(&[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x81, 0x82, 0x86], None),
        |data| {
            let _ = Metadata::parse(&data);
            Ok(())
        },
    );
}

#[test]
fn public_key_parse_never_panics() {
    check(
        (
            select(vec![0x06u8, 0x07, 0x05, 0x16, 0x11, 0x14, 0xE0, 0xE1, 0x03, 0x42]),
            hostile(&[0x81, 0x82, 0x86], Some(0x7F49)),
        ),
        |(alg, data)| {
            let _ = PublicKey::parse_template(AlgorithmId(alg), &data);
            let _ = PublicKey::parse_inner(AlgorithmId(alg), &data);
            Ok(())
        },
    );
}

#[test]
fn chuid_parse_never_panics() {
    check(
        hostile(&[0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x3E, 0xEE, 0xFE], None),
        |data| {
            if let Ok(c) = Chuid::try_from(&data[..]) {
                let _ = c.container_name(0x5FC105);
                let _ = c.card_identifier();
            }
            Ok(())
        },
    );
}

#[test]
fn ccc_parse_never_panics() {
    parse_never_panics::<Ccc>(hostile(
        &[
            0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xFA, 0xE3, 0xB4, 0xFE,
        ],
        None,
    ));
}

#[test]
fn discovery_parse_never_panics() {
    check(hostile(&[0x4F, 0x5F2F], None), |data| {
        if let Ok(d) = Discovery::try_from(&data[..]) {
            let _ = d.primary_pin_reference();
        }
        Ok(())
    });
}

#[test]
fn certificate_parse_never_panics() {
    parse_never_panics::<CertificateObject>(hostile(&[0x70, 0x71, 0x72, 0xFE], None));
}

#[test]
fn certificate_decompression_never_panics() {
    check(
        (
            prop_oneof![
                bytes(64).prop_map(|b| [vec![0x1F, 0x8B], b].concat()),
                (any::<u16>(), bytes(64))
                    .prop_map(|(n, b)| [vec![0x01, 0x00], n.to_le_bytes().to_vec(), b].concat()),
                bytes(64),
            ],
            (bytes(200), any::<bool>(), damage()),
        ),
        |(payload, compressed)| {
            let _ = decompress_certificate(&payload);
            // A real stream of random data, damaged.
            let (data, gzip, d) = compressed;
            let mut cert = vec![0x30];
            cert.extend_from_slice(&data);
            let object = CertificateObject {
                certificate: cert,
                compression: if gzip {
                    Compression::Gzip
                } else {
                    Compression::NetIdZlib
                },
                mscuid: None,
            };
            let encoded = apply(object.encode().unwrap(), &d);
            let _ = CertificateObject::try_from(&encoded[..]);
            Ok(())
        },
    );
}

#[test]
fn key_history_parse_never_panics() {
    parse_never_panics::<KeyHistory>(hostile(&[0xC1, 0xC2, 0xF3, 0xFE], None));
}

#[test]
fn printed_information_parse_never_panics() {
    parse_never_panics::<PrintedInformation>(hostile(
        &[0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0x08, 0xFE],
        None,
    ));
}

#[test]
fn security_object_parse_never_panics() {
    parse_never_panics::<SecurityObject>(hostile(&[0xBA, 0xBB, 0xFE], None));
}

#[test]
fn admin_data_parse_never_panics() {
    parse_never_panics::<AdminData>(hostile(&[0x81, 0x82, 0x83, 0x84], Some(0x80)));
}

#[test]
fn protected_data_parse_never_panics() {
    check(hostile(&[0x81, 0x89, 0x8A], Some(0x88)), |data| {
        if let Ok(p) = ProtectedData::try_from(&data[..]) {
            let _ = format!("{p:?}");
            for alg in p.candidate_algorithms() {
                let _ = p.management_key(*alg);
            }
        }
        Ok(())
    });
}

#[test]
fn container_map_parse_never_panics() {
    check(
        prop_oneof![
            hostile(&[0x81], Some(0x81)),
            (
                (0usize..4).prop_flat_map(|n| vec(any::<u8>(), 107 * n..=107 * n)),
                damage()
            )
                .prop_map(|(records, d)| apply(tlv::encode(0x81, &records).unwrap(), &d)),
            (vec(container_record(), 0..4), damage()).prop_map(|(records, d)| {
                let map = ContainerMap { records };
                apply(map.encode().unwrap(), &d)
            }),
        ],
        |data| {
            if let Ok(map) = ContainerMap::try_from(&data[..]) {
                let _ = map.to_cmapfile();
            }
            let _ = CmapRecord::parse_file(&data);
            let _ = ContainerRecord::parse(&data);
            let _ = CmapRecord::parse(&data);
            Ok(())
        },
    );
}

#[test]
fn root_store_reassembly_never_panics() {
    check(
        vec(
            proptest::option::weighted(
                0.9,
                prop_oneof![
                    4 => (select(vec![0x82u32, 0x83]), bytes(20), damage())
                        .prop_map(|(t, b, d)| apply(tlv::encode(t, &b).unwrap(), &d)),
                    1 => bytes(8),
                ],
            ),
            0..8,
        ),
        |contents| {
            let _ = RootStoreAssembler::reassemble(contents.iter().map(Option::as_deref));
            for c in contents.iter().flatten() {
                let _ = RootStoreChunk::try_from(&c[..]);
            }
            Ok(())
        },
    );
}

#[test]
fn session_survives_hostile_answers() {
    check(
        vec(
            prop_oneof![bytes(40), hostile(&[0x53, 0x61, 0x7C, 0x7E], None)],
            1..6,
        ),
        |answers| {
            // Whatever the card answers (plus a valid SW sometimes), the session returns, never panics.
            let mut script = Scripted::new();
            for a in &answers {
                script = script.expect_any(a.clone());
            }
            for _ in 0..4 {
                script = script.expect_any(vec![0x90, 0x00]);
            }
            let mut session = Session::new(script);
            if let Ok(Some(content)) = session.get_data(0x5FC102) {
                let _ = Chuid::try_from(&content[..]);
            }
            let _ = session.pin_status(KeyRef::PIN);
            let _ = session.get_metadata(KeyRef::MANAGEMENT);
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------------
// Round trips: encode, then parse, gives the value back.

#[test]
fn tlv_round_trip() {
    check((valid_tag(), bytes(300), bytes(4)), |(tag, v, rest)| {
        let encoded = tlv::encode(tag, &v).unwrap();
        let (read, after) = tlv::read(&encoded).unwrap();
        prop_assert_eq!((read.tag, read.value, after), (tag, &v[..], &[][..]));
        prop_assert_eq!(tlv::parse_single(&encoded, tag).unwrap(), &v[..]);
        let mut more = encoded.clone();
        more.extend_from_slice(&rest);
        let (read, after) = tlv::read(&more).unwrap();
        prop_assert_eq!((read.value, after), (&v[..], &rest[..]));
        Ok(())
    });
}

#[test]
fn tlv_sequence_round_trip() {
    check(vec((valid_tag(), bytes(40)), 0..8), |elements| {
        let mut b = tlv::Builder::new();
        for (t, v) in &elements {
            b = b.tlv(*t, v);
        }
        let bytes = b.finish().unwrap();
        let parsed: Vec<(u32, Vec<u8>)> = tlv::parse_all(&bytes)
            .unwrap()
            .iter()
            .map(|t| (t.tag, t.value.to_vec()))
            .collect();
        prop_assert_eq!(parsed, elements);
        Ok(())
    });
}

#[test]
fn application_properties_round_trip() {
    check(
        (
            bytes(12),
            option(bytes(8)),
            option(".{0,12}"),
            option("[a-z:/.]{0,20}"),
            vec(any::<u8>(), 0..8),
        ),
        |(application_id, allocation_authority, label, url, algorithms)| {
            let apt = ApplicationProperties {
                application_id,
                allocation_authority,
                label,
                url,
                algorithms: algorithms.into_iter().map(AlgorithmId).collect(),
            };
            prop_assert_eq!(ApplicationProperties::parse(&apt.encode().unwrap()).unwrap(), apt);
            Ok(())
        },
    );
}

#[test]
fn chuid_round_trip() {
    check(
        (
            option(any::<[u8; 25]>()),
            option(any::<[u8; 4]>()),
            option(any::<[u8; 9]>()),
            any::<[u8; 16]>(),
            option(digits8()),
            option(any::<[u8; 16]>()),
            option(bytes(80)),
        ),
        |(fasc_n, organizational_identifier, duns, guid, expiration, cardholder_uuid, signature)| {
            let c = Chuid {
                fasc_n,
                organizational_identifier,
                duns,
                guid,
                expiration,
                cardholder_uuid,
                signature,
            };
            prop_assert_eq!(Chuid::try_from(&c.encode().unwrap()[..]).unwrap(), c);
            Ok(())
        },
    );
}

#[test]
fn ccc_round_trip() {
    check(
        (
            bytes(24),
            any::<(u8, u8)>(),
            option(bytes(20)),
            option(any::<u8>()),
            option(any::<u8>()),
            option(bytes(20)),
            option(bytes(20)),
            option(bytes(20)),
        ),
        |(
            card_identifier,
            versions,
            applications_card_url,
            pkcs15,
            data_model_number,
            access_control_rule_table,
            extended_application_card_url,
            security_object_buffer,
        )| {
            let c = Ccc {
                card_identifier,
                container_version: versions.0,
                grammar_version: versions.1,
                applications_card_url,
                pkcs15,
                data_model_number,
                access_control_rule_table,
                extended_application_card_url,
                security_object_buffer,
            };
            prop_assert_eq!(Ccc::try_from(&c.encode().unwrap()[..]).unwrap(), c);
            Ok(())
        },
    );
}

#[test]
fn discovery_round_trip() {
    check((bytes(16), any::<[u8; 2]>()), |(aid, pin_usage_policy)| {
        let d = Discovery {
            aid,
            pin_usage_policy,
        };
        prop_assert_eq!(Discovery::try_from(&d.encode().unwrap()[..]).unwrap(), d);
        Ok(())
    });
}

#[test]
fn certificate_round_trip() {
    check(
        (
            vec(any::<u8>(), 1..1500),
            select(vec![Compression::None, Compression::Gzip, Compression::NetIdZlib]),
            option(bytes(20)),
        ),
        |(certificate, compression, mscuid)| {
            let c = CertificateObject {
                certificate,
                compression,
                mscuid,
            };
            prop_assert_eq!(
                CertificateObject::try_from(&c.encode().unwrap()[..]).unwrap(),
                c.clone()
            );
            // The bare (attestation) form drops only the compression and the MSCUID.
            let bare = CertificateObject::try_from(&c.encode_bare().unwrap()[..]).unwrap();
            prop_assert_eq!(bare, CertificateObject::new(c.certificate));
            Ok(())
        },
    );
}

#[test]
fn key_history_round_trip() {
    check((any::<u8>(), any::<u8>(), option(bytes(40))), |(on, off, url)| {
        let k = KeyHistory {
            keys_with_on_card_certs: on,
            keys_with_off_card_certs: off,
            off_card_cert_url: url,
        };
        prop_assert_eq!(KeyHistory::try_from(&k.encode().unwrap()[..]).unwrap(), k);
        Ok(())
    });
}

#[test]
fn printed_information_round_trip() {
    check(vec(option(bytes(30)), 7..=7), |fields| {
        let f = |i: usize| fields[i].clone();
        let p = PrintedInformation {
            name: f(0),
            employee_affiliation: f(1),
            expiration_date: f(2),
            agency_card_serial: f(3),
            issuer_identification: f(4),
            organization_affiliation_1: f(5),
            organization_affiliation_2: f(6),
        };
        prop_assert_eq!(PrintedInformation::try_from(&p.encode().unwrap()[..]).unwrap(), p);
        Ok(())
    });
}

#[test]
fn security_object_round_trip() {
    check((bytes(30), bytes(200)), |(mapping, lds)| {
        let s = SecurityObject {
            mapping,
            lds_security_object: lds,
        };
        prop_assert_eq!(SecurityObject::try_from(&s.encode().unwrap()[..]).unwrap(), s);
        Ok(())
    });
}

#[test]
fn admin_data_round_trip() {
    check(
        (
            option(any::<u8>()),
            option(any::<[u8; 16]>()),
            option(any::<u32>()),
            vec(
                (select(vec![0x84u32, 0x85, 0x8A, 0x90, 0xC0, 0x5F20]), bytes(10)),
                0..3,
            ),
        ),
        |(flags, salt, pin_last_changed, other)| {
            let a = AdminData {
                flags,
                salt,
                pin_last_changed,
                other,
            };
            prop_assert_eq!(AdminData::try_from(&a.encode().unwrap()[..]).unwrap(), a);
            Ok(())
        },
    );
}

#[test]
fn protected_data_round_trip() {
    check(
        (
            option(any::<u8>()),
            option(select(vec![16usize, 24, 32]).prop_flat_map(|n| vec(any::<u8>(), n..=n))),
            vec((select(vec![0x82u32, 0x8A, 0x90]), bytes(10)), 0..3),
        ),
        |(flags, key, other)| {
            // Built as bytes (the unknown elements cannot be set through the API), in encode's order.
            let mut inner = Vec::new();
            if let Some(f) = flags {
                tlv::write(&mut inner, 0x81, &[f]).unwrap();
            }
            if let Some(k) = &key {
                tlv::write(&mut inner, 0x89, k).unwrap();
            }
            for (t, v) in &other {
                tlv::write(&mut inner, *t, v).unwrap();
            }
            let bytes = tlv::encode(0x88, &inner).unwrap();
            let parsed = ProtectedData::try_from(&bytes[..]).unwrap();
            prop_assert_eq!(parsed.flags, flags);
            prop_assert_eq!(parsed.management_key_bytes(), key.as_deref());
            prop_assert_eq!(&*parsed.encode().unwrap(), &bytes);
            prop_assert_eq!(
                ProtectedData::try_from(&parsed.encode().unwrap()[..]).unwrap(),
                parsed
            );
            Ok(())
        },
    );
}

#[test]
fn container_map_round_trip() {
    check(vec(container_record(), 0..=MAX_CONTAINER_RECORDS), |records| {
        let map = ContainerMap { records };
        prop_assert_eq!(
            ContainerMap::try_from(&map.encode().unwrap()[..]).unwrap(),
            map.clone()
        );
        let file = map.to_cmapfile().unwrap();
        let cmaps = CmapRecord::parse_file(&file).unwrap();
        prop_assert_eq!(cmaps.len(), map.records.len());
        for (cmap, record) in cmaps.iter().zip(&map.records) {
            prop_assert_eq!(cmap, &record.to_cmap_record());
            // Back from the Microsoft record: what it carries survives for RSA/ECC key specs.
            if key_spec::is_signature(record.key_spec) || key_spec::is_key_exchange(record.key_spec) {
                let back =
                    ContainerRecord::from_cmap_record(cmap, record.slot, record.key_spec, record.pin_id);
                prop_assert_eq!(
                    back,
                    ContainerRecord {
                        associated_ecdh_container: 0,
                        cert_fingerprint: [0; 20],
                        ..record.clone()
                    }
                );
            }
        }
        Ok(())
    });
}

#[test]
fn root_store_round_trip() {
    check((0..=MAX_ROOT_STORE_LEN, any::<u8>()), |(len, seed)| {
        // The blob is a cheap pattern: generating 15 KB at random per case would dominate the run time.
        let blob: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(seed | 1) ^ seed)
            .collect();
        let parts = split_root_store(&blob).unwrap();
        prop_assert_eq!(parts.len(), len.div_ceil(MAX_ROOT_STORE_CHUNK));
        if parts.is_empty() {
            prop_assert!(blob.is_empty());
        } else {
            let back = RootStoreAssembler::reassemble(parts.iter().map(|p| Some(&p[..]))).unwrap();
            prop_assert_eq!(back, blob);
        }
        Ok(())
    });
}

#[test]
fn root_store_chunk_round_trip() {
    check((bytes(100), any::<bool>()), |(data, last)| {
        let c = RootStoreChunk { data, last };
        prop_assert_eq!(RootStoreChunk::try_from(&c.encode().unwrap()[..]).unwrap(), c);
        Ok(())
    });
}
