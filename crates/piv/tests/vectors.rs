//! Byte-exact vectors for the commands and objects that `commands.rs`'s own tests do not pin fully:
//! whole chained blocks, every object tag, PUT DATA of every object type as it goes on the wire, the
//! IMPORT layouts, and GET DATA answers parsed into objects.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use tessera_piv::commands::{self, ImportKey};
use tessera_piv::hex::literal as hex;
use tessera_piv::objects::{
    AdminData, Ccc, CertificateObject, Chuid, CmapRecord, Compression, ContainerMap, ContainerRecord,
    Discovery, KeyHistory, PrintedInformation, ProtectedData, RootStoreAssembler, SecurityObject, key_spec,
    split_root_store, tags,
};
use tessera_piv::public_key::PublicKey;
use tessera_piv::session::SessionOptions;
use tessera_piv::transport::Scripted;
use tessera_piv::{
    AlgorithmId, Command, KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PinPolicy, Session,
    TouchPolicy,
};

const SELECT: &str = "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00";
const SELECT_OK: &str = "61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 90 00";

fn short(c: &Command) -> Vec<u8> {
    c.to_short().unwrap()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------------------------------------------
// Commands

#[test]
fn select_every_aid_form() {
    assert_eq!(
        short(&commands::select(&commands::PIV_AID_FULL)),
        hex("00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00")
    );
    assert_eq!(
        short(&commands::select(&commands::PIV_RID)),
        hex("00 A4 04 00 05 A0 00 00 03 08 00")
    );
}

#[test]
fn get_data_for_every_object_tag() {
    for (tag, tail) in [
        (tags::CCC, "5F C1 07"),
        (tags::CHUID, "5F C1 02"),
        (0x5FC105, "5F C1 05"),
        (0x5FC10A, "5F C1 0A"),
        (0x5FC10B, "5F C1 0B"),
        (0x5FC101, "5F C1 01"),
        (0x5FC10D, "5F C1 0D"),
        (0x5FC120, "5F C1 20"),
        (tags::KEY_HISTORY, "5F C1 0C"),
        (tags::PRINTED_INFORMATION, "5F C1 09"),
        (tags::SECURITY_OBJECT, "5F C1 06"),
        (tags::YUBICO_ADMIN_DATA, "5F FF 00"),
        (tags::YUBICO_ATTESTATION, "5F FF 01"),
        (tags::YUBICO_CONTAINER_MAP, "5F FF 10"),
        (tags::YUBICO_ROOTS_FIRST, "5F FF 11"),
        (tags::YUBICO_ROOTS_LAST, "5F FF 15"),
    ] {
        assert_eq!(
            short(&commands::get_data(tag).unwrap()),
            hex(&format!("00 CB 3F FF 05 5C 03 {tail} 00")),
            "{tag:X}"
        );
    }
    assert!(commands::get_data(0x5F).is_err(), "not a valid BER tag");
}

#[test]
fn pin_commands_full_bytes() {
    let pin = PaddedPin::new(b"123456").unwrap();
    let new = PaddedPin::new(b"654321").unwrap();
    let puk = PaddedPin::new(b"12345678").unwrap();
    assert_eq!(
        short(&commands::verify(KeyRef::GLOBAL_PIN, Some(&pin))),
        hex("00 20 00 00 08 31 32 33 34 35 36 FF FF")
    );
    assert_eq!(
        short(&commands::change_reference_data(KeyRef::PIN, &pin, &new)),
        hex("00 24 00 80 10 31 32 33 34 35 36 FF FF 36 35 34 33 32 31 FF FF")
    );
    assert_eq!(
        short(&commands::reset_retry_counter(&puk, &new)),
        hex("00 2C 00 80 10 31 32 33 34 35 36 37 38 36 35 34 33 32 31 FF FF")
    );
    assert_eq!(short(&commands::logout(KeyRef::PUK)), hex("00 20 FF 81"));
}

#[test]
fn rsa2048_sign_is_two_exact_chained_blocks() {
    // GENERAL AUTHENTICATE with a 256-byte challenge: `7C 82 01 06 82 00 81 82 01 00 <256 B>`, sent with
    // ISO 7816-4 command chaining (CLA bit 0x10) as `10 87 07 9C …` then `00 87 07 9C …`, the form
    // libykpiv and OpenSC send.
    let input: Vec<u8> = (0..256u32).map(|i| (i as u8).wrapping_mul(31)).collect();
    let cmd = commands::private_key_operation(AlgorithmId::RSA2048, KeyRef::SIGNATURE, &input).unwrap();
    let chain = cmd.to_short_chain();
    assert_eq!(chain.len(), 2);
    assert_eq!(
        chain[0],
        cat(&[
            &hex("10 87 07 9C FF 7C 82 01 06 82 00 81 82 01 00"),
            &input[..245]
        ])
    );
    assert_eq!(chain[1], cat(&[&hex("00 87 07 9C 0B"), &input[245..], &[0x00]]));
}

#[test]
fn rsa1024_and_rsa4096_operations() {
    let input = vec![0x5A; 128];
    assert_eq!(
        short(
            &commands::private_key_operation(AlgorithmId::RSA1024, KeyRef::AUTHENTICATION, &input).unwrap()
        ),
        cat(&[&hex("00 87 06 9A 88 7C 81 85 82 00 81 81 80"), &input, &[0x00]])
    );
    let input: Vec<u8> = (0..512u32).map(|i| i as u8).collect();
    let cmd = commands::private_key_operation(AlgorithmId::RSA4096, KeyRef::KEY_MANAGEMENT, &input).unwrap();
    let chain = cmd.to_short_chain();
    let data = cat(&[&hex("7C 82 02 06 82 00 81 82 02 00"), &input]);
    assert_eq!(data.len(), 522);
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[0], cat(&[&hex("10 87 16 9D FF"), &data[..255]]));
    assert_eq!(chain[1], cat(&[&hex("10 87 16 9D FF"), &data[255..510]]));
    assert_eq!(chain[2], cat(&[&hex("00 87 16 9D 0C"), &data[510..], &[0x00]]));
}

#[test]
fn ecc_and_25519_operations() {
    let hash = vec![0x11; 48];
    assert_eq!(
        short(&commands::private_key_operation(AlgorithmId::ECCP384, KeyRef::AUTHENTICATION, &hash).unwrap()),
        cat(&[&hex("00 87 14 9A 36 7C 34 82 00 81 30"), &hash, &[0x00]])
    );
    let point = cat(&[&[0x04], &[0x22; 96]]);
    assert_eq!(
        short(&commands::key_agreement(AlgorithmId::ECCP384, KeyRef::KEY_MANAGEMENT, &point).unwrap()),
        cat(&[&hex("00 87 14 9D 67 7C 65 82 00 85 61"), &point, &[0x00]])
    );
    let peer = vec![0x33; 32];
    assert_eq!(
        short(&commands::key_agreement(AlgorithmId::X25519, KeyRef::KEY_MANAGEMENT, &peer).unwrap()),
        cat(&[&hex("00 87 E1 9D 26 7C 24 82 00 85 20"), &peer, &[0x00]])
    );
    // Ed25519 signs the whole message, passed in 81.
    let message = b"hello".to_vec();
    assert_eq!(
        short(&commands::private_key_operation(AlgorithmId::ED25519, KeyRef::SIGNATURE, &message).unwrap()),
        cat(&[&hex("00 87 E0 9C 0B 7C 09 82 00 81 05"), &message, &[0x00]])
    );
}

#[test]
fn management_authentication_full_bytes() {
    let w = [0xA1; 16];
    let c = [0xC2; 16];
    let cmd = commands::mutual_auth_response(AlgorithmId::AES128, &w, &c).unwrap();
    assert_eq!(
        short(&cmd),
        cat(&[&hex("00 87 08 9B 26 7C 24 80 10"), &w, &hex("81 10"), &c, &[0x00]])
    );
    assert!(cmd.is_sensitive(), "management-key exchanges stay out of traces");
    assert_eq!(
        short(&commands::external_auth_response(AlgorithmId::AES256, &c).unwrap()),
        cat(&[&hex("00 87 0C 9B 14 7C 12 82 10"), &c, &[0x00]])
    );
    assert_eq!(
        short(&commands::mutual_auth_witness_request(AlgorithmId::AES192).unwrap()),
        hex("00 87 0A 9B 04 7C 02 80 00 00")
    );
}

#[test]
fn generate_with_policies() {
    assert_eq!(
        short(
            &commands::generate_key_pair(
                KeyRef::AUTHENTICATION,
                AlgorithmId::RSA4096,
                PinPolicy::Never,
                TouchPolicy::Cached
            )
            .unwrap()
        ),
        hex("00 47 00 9A 0B AC 09 80 01 16 AA 01 01 AB 01 03 00")
    );
    assert_eq!(
        short(
            &commands::generate_key_pair(
                KeyRef::CARD_AUTHENTICATION,
                AlgorithmId::ED25519,
                PinPolicy::Default,
                TouchPolicy::Default
            )
            .unwrap()
        ),
        hex("00 47 00 9E 05 AC 03 80 01 E0 00")
    );
    assert_eq!(
        short(
            &commands::generate_key_pair(
                KeyRef::retired(1).unwrap(),
                AlgorithmId::ECCP384,
                PinPolicy::MatchAlways,
                TouchPolicy::Default
            )
            .unwrap()
        ),
        hex("00 47 00 82 08 AC 06 80 01 14 AA 01 05 00")
    );
}

#[test]
fn import_rsa2048_layout() {
    // Each CRT element is left-padded to 128 bytes and sent as `0n 81 80 <128>`; 661 bytes of data go
    // out as three chained blocks without Le.
    let p = vec![0x81; 128];
    let q = vec![0x82; 128];
    let dp = vec![0x83; 128];
    let dq = vec![0x84; 128];
    let qinv = vec![0x85; 127]; // one byte short: padded with a leading zero
    let cmd = commands::import_key(
        KeyRef::AUTHENTICATION,
        AlgorithmId::RSA2048,
        &ImportKey::Rsa {
            p: &p,
            q: &q,
            dp: &dp,
            dq: &dq,
            qinv: &qinv,
        },
        PinPolicy::Always,
        TouchPolicy::Always,
    )
    .unwrap();
    let data = cat(&[
        &hex("01 81 80"),
        &p,
        &hex("02 81 80"),
        &q,
        &hex("03 81 80"),
        &dp,
        &hex("04 81 80"),
        &dq,
        &hex("05 81 80 00"),
        &qinv,
        &hex("AA 01 03 AB 01 02"),
    ]);
    assert_eq!(data.len(), 661);
    assert_eq!(cmd.data(), &data[..]);
    assert!(cmd.is_sensitive());
    let chain = cmd.to_short_chain();
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[0], cat(&[&hex("10 FE 07 9A FF"), &data[..255]]));
    assert_eq!(chain[1], cat(&[&hex("10 FE 07 9A FF"), &data[255..510]]));
    assert_eq!(chain[2], cat(&[&hex("00 FE 07 9A 97"), &data[510..]]));
}

#[test]
fn import_p384_and_set_aes_management_keys() {
    let scalar = vec![0x3C; 48];
    assert_eq!(
        short(
            &commands::import_key(
                KeyRef::KEY_MANAGEMENT,
                AlgorithmId::ECCP384,
                &ImportKey::Ecc { scalar: &scalar },
                PinPolicy::Default,
                TouchPolicy::Never
            )
            .unwrap()
        ),
        cat(&[&hex("00 FE 14 9D 35 06 30"), &scalar, &hex("AB 01 01")])
    );
    let k256 = ManagementKey::new(ManagementAlgorithm::Aes256, &[0x77; 32]).unwrap();
    assert_eq!(
        short(&commands::set_management_key(&k256, true)),
        cat(&[&hex("00 FF FF FE 23 0C 9B 20"), &[0x77; 32]])
    );
    let k128 = ManagementKey::new(ManagementAlgorithm::Aes128, &[0x66; 16]).unwrap();
    assert_eq!(
        short(&commands::set_management_key(&k128, false)),
        cat(&[&hex("00 FF FF FF 13 08 9B 10"), &[0x66; 16]])
    );
}

#[test]
fn yubico_queries_on_other_references() {
    assert_eq!(short(&commands::get_metadata(KeyRef::PIN)), hex("00 F7 00 80 00"));
    assert_eq!(short(&commands::get_metadata(KeyRef::PUK)), hex("00 F7 00 81 00"));
    assert_eq!(
        short(&commands::get_metadata(KeyRef::SIGNATURE)),
        hex("00 F7 00 9C 00")
    );
    assert_eq!(
        short(&commands::attest(KeyRef::CARD_AUTHENTICATION)),
        hex("00 F9 9E 00 00")
    );
    assert_eq!(short(&commands::get_response(256)), hex("00 C0 00 00 00"));
    assert_eq!(
        short(&commands::move_key(
            KeyRef::retired(20).unwrap(),
            KeyRef::KEY_MANAGEMENT
        )),
        hex("00 F6 9D 95")
    );
}

#[test]
fn responses_parse_to_values() {
    // 9B metadata: AES-192, PIN policy default, touch never, still the default key.
    let m = commands::Metadata::parse(&hex("01 01 0A 02 02 00 01 05 01 01")).unwrap();
    assert_eq!(m.algorithm, Some(AlgorithmId::AES192));
    assert_eq!(m.touch_policy, Some(TouchPolicy::Never));
    assert_eq!(m.is_default, Some(true));
    // GENERATE EC P-256: `7F49 43 86 41 04 X Y`.
    let mut point = vec![0x04];
    point.extend((1..=64u8).collect::<Vec<_>>());
    let template = cat(&[&hex("7F 49 43 86 41"), &point]);
    assert_eq!(
        PublicKey::parse_template(AlgorithmId::ECCP256, &template).unwrap(),
        PublicKey::Ecc {
            algorithm: AlgorithmId::ECCP256,
            point
        }
    );
}

#[test]
fn generate_rsa2048_through_get_response() {
    // A YubiKey's GENERATE answer: `7F49 82 01 09 81 82 01 00 <n> 82 03 01 00 01`, 270 bytes, fetched
    // through `61xx` / GET RESPONSE as 256 + 14.
    let n: Vec<u8> = (0..256u32).map(|i| 0x80 | i as u8).collect();
    let answer = cat(&[&hex("7F 49 82 01 09 81 82 01 00"), &n, &hex("82 03 01 00 01")]);
    assert_eq!(answer.len(), 270);
    let script = Scripted::new()
        .expect_hex(SELECT, SELECT_OK)
        .expect(
            hex("00 47 00 9A 05 AC 03 80 01 07 00"),
            cat(&[&answer[..256], &[0x61, 0x0E]]),
        )
        .expect(hex("00 C0 00 00 0E"), cat(&[&answer[256..], &[0x90, 0x00]]));
    let mut session = Session::new(script);
    let pk = session
        .generate_key_pair(
            KeyRef::AUTHENTICATION,
            AlgorithmId::RSA2048,
            PinPolicy::Default,
            TouchPolicy::Default,
        )
        .unwrap();
    assert_eq!(
        pk,
        PublicKey::Rsa {
            algorithm: AlgorithmId::RSA2048,
            modulus: n,
            exponent: vec![1, 0, 1]
        }
    );
    session.transport().assert_done();
}

#[test]
fn extended_length_put_data() {
    let content = vec![0x99; 591];
    let data = cat(&[&hex("5C 03 5F C1 05 53 82 02 4F"), &content]);
    // SELECT asks for everything with an extended Le; PUT DATA (no Le) carries its 600 bytes at once.
    let script = Scripted::new()
        .expect_hex(
            "00 A4 04 00 00 00 09 A0 00 00 03 08 00 00 10 00 00 00",
            "4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 90 00",
        )
        .expect(cat(&[&hex("00 DB 3F FF 00 02 58"), &data]), [0x90, 0x00]);
    let options = SessionOptions {
        extended_length: true,
        ..SessionOptions::default()
    };
    let mut session = Session::with_options(script, options);
    session.put_data(0x5FC105, &content).unwrap();
    session.transport().assert_done();
}

// ---------------------------------------------------------------------------------------------------
// Objects on the wire: PUT DATA as sent, GET DATA answers parsed.

/// Runs `put_data(tag, content)` against a card that expects exactly `apdus`.
fn put_exact(tag: u32, content: &[u8], apdus: &[Vec<u8>]) {
    let mut script = Scripted::new().expect_hex(SELECT, SELECT_OK);
    for apdu in apdus {
        script = script.expect(apdu.clone(), [0x90, 0x00]);
    }
    let mut session = Session::new(script);
    session.put_data(tag, content).unwrap();
    session.transport().assert_done();
}

/// Reads `tag` from a card that answers `answer` (without SW), returning the content.
fn get_content(tag: u32, answer: &[u8]) -> Vec<u8> {
    let script = Scripted::new().expect_hex(SELECT, SELECT_OK).expect(
        short(&commands::get_data(tag).unwrap()),
        cat(&[answer, &[0x90, 0x00]]),
    );
    let mut session = Session::new(script);
    let content = session.get_data(tag).unwrap().unwrap().to_vec();
    session.transport().assert_done();
    content
}

#[test]
fn chuid_on_the_wire() {
    let guid = hex("58c68a1d65e0a09285af090b070b5d79");
    let chuid = Chuid::yubico_template(guid.clone().try_into().unwrap(), None);
    let object = hex(
        "53 3B 30 19 D4 E7 39 DA 73 9C ED 39 CE 73 9D 83 68 58 21 08 42 10 84 21 C8 42 10 C3 EB
         34 10 58c68a1d65e0a09285af090b070b5d79 35 08 32 30 33 30 30 31 30 31 3E 00 FE 00",
    );
    put_exact(
        tags::CHUID,
        &chuid.encode().unwrap(),
        &[cat(&[&hex("00 DB 3F FF 42 5C 03 5F C1 02"), &object])],
    );
    let back = Chuid::try_from(&get_content(tags::CHUID, &object)[..]).unwrap();
    assert_eq!(back, chuid);
    assert_eq!(
        back.container_name(tags::CHUID),
        "1d8ac658-e065-92a0-85af-090b075fc102"
    );
}

#[test]
fn ccc_on_the_wire() {
    let ccc = Ccc::yubico_template([0x10; 14]);
    let object = hex("53 33 F0 15 A0 00 00 01 16 FF 02 10101010101010101010101010 10
         F1 01 21 F2 01 21 F3 00 F4 01 00 F5 01 10 F6 00 F7 00 FA 00 FB 00 FC 00 FD 00 FE 00");
    put_exact(
        tags::CCC,
        &ccc.encode().unwrap(),
        &[cat(&[&hex("00 DB 3F FF 3A 5C 03 5F C1 07"), &object])],
    );
    assert_eq!(Ccc::try_from(&get_content(tags::CCC, &object)[..]).unwrap(), ccc);
}

#[test]
fn discovery_on_the_wire() {
    // The discovery object is sent as itself (7E), not inside 53.
    let d = Discovery::yubikey_default();
    let object = hex("7E 12 4F 0B A0000003080000100001 00 5F2F 02 40 00");
    put_exact(
        tags::DISCOVERY,
        &d.encode().unwrap(),
        &[cat(&[&hex("00 DB 3F FF 17 5C 01 7E"), &object])],
    );
    assert_eq!(
        Discovery::try_from(&get_content(tags::DISCOVERY, &object)[..]).unwrap(),
        d
    );
}

#[test]
fn key_history_printed_info_security_object_on_the_wire() {
    let kh = KeyHistory {
        keys_with_on_card_certs: 2,
        keys_with_off_card_certs: 0,
        off_card_cert_url: None,
    };
    put_exact(
        tags::KEY_HISTORY,
        &kh.encode().unwrap(),
        &[hex("00 DB 3F FF 0F 5C 03 5F C1 0C 53 08 C1 01 02 C2 01 00 FE 00")],
    );
    assert_eq!(
        KeyHistory::try_from(&get_content(tags::KEY_HISTORY, &hex("53 08 C1 01 02 C2 01 00 FE 00"))[..])
            .unwrap(),
        kh
    );
    let pi = PrintedInformation {
        name: Some(b"A".to_vec()),
        ..PrintedInformation::default()
    };
    put_exact(
        tags::PRINTED_INFORMATION,
        &pi.encode().unwrap(),
        &[hex("00 DB 3F FF 0C 5C 03 5F C1 09 53 05 01 01 41 FE 00")],
    );
    let so = SecurityObject {
        mapping: hex("01 0101"),
        lds_security_object: hex("30 00"),
    };
    put_exact(
        tags::SECURITY_OBJECT,
        &so.encode().unwrap(),
        &[hex(
            "00 DB 3F FF 12 5C 03 5F C1 06 53 0B BA 03 01 01 01 BB 02 30 00 FE 00",
        )],
    );
}

#[test]
fn certificate_objects_on_the_wire() {
    // A 1000-byte (fake) DER certificate in 9A: 5C 03 5F C1 05, 53 82 03 F1,
    // 70 82 03 E8 <1000> 71 01 00 FE 00 — 1018 bytes in four chained blocks.
    let der = cat(&[&hex("30 82 03 E4"), &vec![0x42; 996]]);
    let cert = CertificateObject::new(der.clone());
    let content = cert.encode().unwrap();
    assert_eq!(content, cat(&[&hex("70 82 03 E8"), &der, &hex("71 01 00 FE 00")]));
    let data = cat(&[&hex("5C 03 5F C1 05 53 82 03 F1"), &content]);
    assert_eq!(data.len(), 1018);
    put_exact(
        0x5FC105,
        &content,
        &[
            cat(&[&hex("10 DB 3F FF FF"), &data[..255]]),
            cat(&[&hex("10 DB 3F FF FF"), &data[255..510]]),
            cat(&[&hex("10 DB 3F FF FF"), &data[510..765]]),
            cat(&[&hex("00 DB 3F FF FD"), &data[765..]]),
        ],
    );
    let object = cat(&[&hex("53 82 03 F1"), &content]);
    assert_eq!(
        CertificateObject::try_from(&get_content(0x5FC105, &object)[..]).unwrap(),
        cert
    );
    // gzip: CertInfo 01, and the payload is a gzip member.
    let gz = CertificateObject {
        certificate: der.clone(),
        compression: Compression::Gzip,
        mscuid: None,
    }
    .encode()
    .unwrap();
    assert_eq!(&gz[2..4], &[0x1F, 0x8B]);
    assert_eq!(&gz[gz.len() - 5..], &hex("71 01 01 FE 00"));
    // The attestation object holds only 70.
    let small = CertificateObject::new(hex("30 03 02 01 00"));
    put_exact(
        tags::YUBICO_ATTESTATION,
        &small.encode_bare().unwrap(),
        &[hex("00 DB 3F FF 0E 5C 03 5F FF 01 53 07 70 05 30 03 02 01 00")],
    );
    // Delete: 53 00.
    put_exact(0x5FC10A, &[], &[hex("00 DB 3F FF 07 5C 03 5F C1 0A 53 00")]);
}

#[test]
fn yubico_admin_and_protected_data_on_the_wire() {
    let mut admin = AdminData::default();
    admin.set_puk_blocked(true);
    admin.set_management_key_protected(true);
    admin.pin_last_changed = Some(0x6592_0080);
    put_exact(
        tags::YUBICO_ADMIN_DATA,
        &admin.encode().unwrap(),
        &[hex(
            "00 DB 3F FF 12 5C 03 5F FF 00 53 0B 80 09 81 01 03 83 04 80 00 92 65",
        )],
    );
    let key = ManagementKey::new(ManagementAlgorithm::Aes128, &[0x2B; 16]).unwrap();
    let protected = ProtectedData::with_management_key(&key);
    put_exact(
        tags::PRINTED_INFORMATION,
        &protected.encode().unwrap(),
        &[cat(&[
            &hex("00 DB 3F FF 1B 5C 03 5F C1 09 53 14 88 12 89 10"),
            &[0x2B; 16],
        ])],
    );
    let content = get_content(
        tags::PRINTED_INFORMATION,
        &cat(&[&hex("53 14 88 12 89 10"), &[0x2B; 16]]),
    );
    let back = ProtectedData::try_from(&content[..]).unwrap();
    assert_eq!(
        back.management_key(ManagementAlgorithm::Aes128).unwrap().unwrap(),
        key
    );
}

#[test]
fn container_map_on_the_wire() {
    let record = ContainerRecord {
        name: "{ab}".into(),
        slot: KeyRef::AUTHENTICATION,
        key_spec: key_spec::AT_KEYEXCHANGE,
        key_size_bits: 2048,
        flags: 0x03,
        pin_id: 1,
        associated_ecdh_container: 0,
        cert_fingerprint: [0xF0; 20],
    };
    let map = ContainerMap {
        records: vec![record.clone()],
    };
    let mut rec = hex("7B 00 61 00 62 00 7D 00");
    rec.resize(80, 0);
    rec.extend_from_slice(&hex("9A 01 00 08 03 01 00"));
    rec.extend_from_slice(&[0xF0; 20]);
    put_exact(
        tags::YUBICO_CONTAINER_MAP,
        &map.encode().unwrap(),
        &[cat(&[&hex("00 DB 3F FF 74 5C 03 5F FF 10 53 6D 81 6B"), &rec])],
    );
    let back = ContainerMap::try_from(
        &get_content(tags::YUBICO_CONTAINER_MAP, &cat(&[&hex("53 6D 81 6B"), &rec]))[..],
    )
    .unwrap();
    assert_eq!(back, map);
    // And the Base CSP's view of it.
    let mut cmap = hex("7B 00 61 00 62 00 7D 00");
    cmap.resize(80, 0);
    cmap.extend_from_slice(&hex("03 00 00 00 00 08"));
    assert_eq!(back.to_cmapfile().unwrap(), cmap);
    assert_eq!(CmapRecord::parse(&cmap).unwrap(), record.to_cmap_record());
}

#[test]
fn root_store_on_the_wire() {
    let parts = split_root_store(&[1, 2, 3]).unwrap();
    put_exact(
        tags::YUBICO_ROOTS_FIRST,
        &parts[0],
        &[hex("00 DB 3F FF 0C 5C 03 5F FF 11 53 05 82 03 01 02 03")],
    );
    // A two-object store read back object by object, stopping at the 82.
    let blob: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
    let parts = split_root_store(&blob).unwrap();
    let mut script = Scripted::new().expect_hex(SELECT, SELECT_OK);
    for (i, part) in parts.iter().enumerate() {
        let tag = tags::YUBICO_ROOTS_FIRST + i as u32;
        let object = cat(&[&hex("53 82"), &(part.len() as u16).to_be_bytes(), part]);
        let mut answer = object;
        answer.extend_from_slice(&[0x90, 0x00]);
        // Large answers arrive in one piece here; framing is tested elsewhere.
        script = script.expect(short(&commands::get_data(tag).unwrap()), answer);
    }
    let mut session = Session::new(script);
    let mut assembler = RootStoreAssembler::new();
    for i in 0..5 {
        let content = session.get_data(tags::YUBICO_ROOTS_FIRST + i).unwrap();
        if assembler.push(content.as_deref().map(Vec::as_slice)).unwrap() {
            break;
        }
    }
    assert_eq!(assembler.finish().unwrap(), blob);
    session.transport().assert_done();
}
