//! Management-key (9B) authentication against a scripted card, for 3DES and AES-128/192/256.
//!
//! The card's witness is a published known-answer ciphertext (SP 800-67 for 3DES, FIPS-197 Appendix C
//! for AES), so the host must send back the published plaintext. The host's challenge is random; the
//! scripted card encrypts it with the RustCrypto `des`/`aes` crates directly, independently of
//! `ManagementKey`, and checks the exact layout of every command.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use aes::{Aes128, Aes192, Aes256};
use cipher::{Block, BlockCipherEncrypt, KeyInit};
use des::TdesEde3;
use tessera_piv::apdu::ParsedCommand;
use tessera_piv::hex::literal as hex;
use tessera_piv::transport::Scripted;
use tessera_piv::{ManagementAlgorithm, ManagementKey, PivError, Session, TransportError};

const SELECT: &str = "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00";
const SELECT_OK: &str = "61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 90 00";

/// One known answer per algorithm: key, plaintext, ciphertext.
struct Kat {
    algorithm: ManagementAlgorithm,
    id: u8,
    key: Vec<u8>,
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
}

fn kats() -> Vec<Kat> {
    let aes_pt = hex("00112233445566778899aabbccddeeff");
    vec![
        // SP 800-67 Rev. 2 Appendix B: K1 K2 K3, "The qufc" → A826FD8CE53B855F.
        Kat {
            algorithm: ManagementAlgorithm::Tdes,
            id: 0x03,
            key: hex("0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123"),
            plaintext: b"The qufc".to_vec(),
            ciphertext: hex("A826FD8CE53B855F"),
        },
        // FIPS-197 Appendix C.1–C.3.
        Kat {
            algorithm: ManagementAlgorithm::Aes128,
            id: 0x08,
            key: hex("000102030405060708090a0b0c0d0e0f"),
            plaintext: aes_pt.clone(),
            ciphertext: hex("69c4e0d86a7b0430d8cdb78070b4c55a"),
        },
        Kat {
            algorithm: ManagementAlgorithm::Aes192,
            id: 0x0A,
            key: hex("000102030405060708090a0b0c0d0e0f1011121314151617"),
            plaintext: aes_pt.clone(),
            ciphertext: hex("dda97ca4864cdfe06eaf70a0ec0d7191"),
        },
        Kat {
            algorithm: ManagementAlgorithm::Aes256,
            id: 0x0C,
            key: hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
            plaintext: aes_pt,
            ciphertext: hex("8ea2b7ca516745bfeafc49904b496089"),
        },
    ]
}

fn encrypt_with<C: KeyInit + BlockCipherEncrypt>(key: &[u8], block: &[u8]) -> Vec<u8> {
    let cipher = C::new_from_slice(key).unwrap();
    let mut b = Block::<C>::try_from(block).unwrap();
    cipher.encrypt_block(&mut b);
    b.to_vec()
}

/// The card's encryption, done with RustCrypto directly.
fn card_encrypt(algorithm: ManagementAlgorithm, key: &[u8], block: &[u8]) -> Vec<u8> {
    match algorithm {
        ManagementAlgorithm::Tdes => encrypt_with::<TdesEde3>(key, block),
        ManagementAlgorithm::Aes128 => encrypt_with::<Aes128>(key, block),
        ManagementAlgorithm::Aes192 => encrypt_with::<Aes192>(key, block),
        ManagementAlgorithm::Aes256 => encrypt_with::<Aes256>(key, block),
    }
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    assert!(value.len() < 0x80);
    [&[tag, value.len() as u8][..], value].concat()
}

/// How the scripted card answers step 2 of mutual authentication.
#[derive(Clone, Copy, PartialEq)]
enum CardAnswer {
    Correct,
    WrongResponse,
    SecurityStatus,
}

/// Checks step 2 (`00 87 alg 9B Lc 7C { 80 W' 81 C } 00`) and answers `7C { 82 E_K(C) }`. Returns the
/// host challenge it saw through `seen`.
fn step2_responder(
    kat: &Kat,
    answer: CardAnswer,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
) -> impl FnMut(&[u8]) -> Result<Vec<u8>, String> + Send + 'static {
    let (algorithm, id, key, plaintext) = (kat.algorithm, kat.id, kat.key.clone(), kat.plaintext.clone());
    move |apdu: &[u8]| {
        let block = plaintext.len();
        let cmd = ParsedCommand::parse(apdu).map_err(|e| e.to_string())?;
        if (cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.le) != (0x00, 0x87, id, 0x9B, Some(256)) {
            return Err(format!("wrong header {:02X?}", &apdu[..4]));
        }
        let inner_len = 2 * (2 + block);
        let data = &cmd.data[..];
        if data.len() != 2 + inner_len || data[..2] != [0x7C, inner_len as u8] {
            return Err("wrong template".into());
        }
        let (witness, challenge) = data[2..].split_at(2 + block);
        if witness != tlv(0x80, &plaintext) {
            return Err(format!("wrong decrypted witness {witness:02X?}"));
        }
        if challenge[..2] != [0x81, block as u8] {
            return Err("wrong challenge tag".into());
        }
        let challenge = &challenge[2..];
        seen.lock().unwrap().push(challenge.to_vec());
        let mut response = card_encrypt(algorithm, &key, challenge);
        match answer {
            CardAnswer::Correct => {}
            CardAnswer::WrongResponse => response[0] ^= 0x01,
            CardAnswer::SecurityStatus => return Ok(vec![0x69, 0x82]),
        }
        let mut out = tlv(0x7C, &tlv(0x82, &response));
        out.extend_from_slice(&[0x90, 0x00]);
        Ok(out)
    }
}

fn mutual_script(
    kat: &Kat,
    answer: CardAnswer,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
) -> Scripted {
    // Step 1: `00 87 alg 9B 04 7C 02 80 00 00` → `7C L 80 L <witness>`.
    let mut witness_answer = tlv(0x7C, &tlv(0x80, &kat.ciphertext));
    witness_answer.extend_from_slice(&[0x90, 0x00]);
    Scripted::new()
        .expect_hex(SELECT, SELECT_OK)
        .expect(
            [0x00, 0x87, kat.id, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00, 0x00],
            witness_answer,
        )
        .respond_with(step2_responder(kat, answer, seen))
}

#[test]
fn mutual_authentication_known_answers() {
    for kat in kats() {
        let seen = std::sync::Arc::default();
        let key = ManagementKey::new(kat.algorithm, &kat.key).unwrap();
        let mut session = Session::new(mutual_script(
            &kat,
            CardAnswer::Correct,
            std::sync::Arc::clone(&seen),
        ));
        session
            .authenticate_management_key(&key)
            .unwrap_or_else(|e| panic!("{:?}: {e}", kat.algorithm));
        session.transport().assert_done();
        // The step-2 APDU has the exact length: header, Lc, 7C L, 80 L W, 81 L C, Le.
        let step2 = &session.transport().received()[2];
        let block = kat.plaintext.len();
        assert_eq!(step2.len(), 5 + 2 + 2 * (2 + block) + 1);
        assert_eq!(step2[4] as usize, 2 + 2 * (2 + block));
    }
}

#[test]
fn the_script_checks_the_decrypted_witness() {
    // A host holding another key decrypts the witness to something else: the card refuses it.
    let kat = &kats()[2];
    let wrong = ManagementKey::new(kat.algorithm, &[0x55; 24]).unwrap();
    let mut session = Session::new(mutual_script(kat, CardAnswer::Correct, std::sync::Arc::default()));
    let err = session.authenticate_management_key(&wrong).unwrap_err();
    assert!(
        matches!(&err, PivError::Transport(TransportError::Io(m)) if m.contains("wrong decrypted witness")),
        "{err:?}"
    );
}

#[test]
fn host_challenges_are_fresh() {
    let kat = &kats()[1];
    let seen = std::sync::Arc::<std::sync::Mutex<Vec<Vec<u8>>>>::default();
    let key = ManagementKey::new(kat.algorithm, &kat.key).unwrap();
    for _ in 0..2 {
        let mut session = Session::new(mutual_script(
            kat,
            CardAnswer::Correct,
            std::sync::Arc::clone(&seen),
        ));
        session.authenticate_management_key(&key).unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0], seen[1], "two 128-bit random challenges");
    assert_ne!(seen[0], kat.plaintext);
}

/// Mutual authentication with the KAT's key against a card that answers the final step with `answer`:
/// the error, after every scripted exchange has been made.
fn refused_authentication(kat: &Kat, answer: CardAnswer) -> PivError {
    let key = ManagementKey::new(kat.algorithm, &kat.key).unwrap();
    let seen = std::sync::Arc::default();
    let mut session = Session::new(mutual_script(kat, answer, seen));
    let err = session.authenticate_management_key(&key).unwrap_err();
    session.transport().assert_done();
    err
}

#[test]
fn a_card_that_does_not_know_the_key_is_detected() {
    for kat in kats() {
        let err = refused_authentication(&kat, CardAnswer::WrongResponse);
        assert!(matches!(err, PivError::CardAuthenticationFailed), "{err:?}");
    }
}

#[test]
fn a_wrong_key_gives_security_status_not_satisfied() {
    for kat in kats() {
        let err = refused_authentication(&kat, CardAnswer::SecurityStatus);
        assert!(
            matches!(err, PivError::SecurityStatusNotSatisfied { .. }),
            "{err:?}"
        );
    }
}

#[test]
fn a_witness_of_the_wrong_size_is_refused_before_step_two() {
    // The card claims AES but the key is 3DES: a 16-byte witness for an 8-byte cipher.
    let kat = &kats()[0];
    let key = ManagementKey::new(kat.algorithm, &kat.key).unwrap();
    let script = Scripted::new().expect_hex(SELECT, SELECT_OK).expect_hex(
        "00 87 03 9B 04 7C 02 80 00 00",
        "7C 12 80 10 00112233445566778899AABBCCDDEEFF 90 00",
    );
    let mut session = Session::new(script);
    let err = session.authenticate_management_key(&key).unwrap_err();
    assert!(matches!(err, PivError::MalformedResponse { .. }), "{err:?}");
    session.transport().assert_done();
}

#[test]
fn external_authentication_exact_bytes() {
    for kat in kats() {
        let block = kat.plaintext.len() as u8;
        // Step 1: `00 87 alg 9B 04 7C 02 81 00 00` → `7C L 81 L <challenge>`; the challenge is the KAT
        // plaintext, so the host's answer must be the KAT ciphertext.
        let mut challenge_answer = tlv(0x7C, &tlv(0x81, &kat.plaintext));
        challenge_answer.extend_from_slice(&[0x90, 0x00]);
        let mut step2 = vec![0x00, 0x87, kat.id, 0x9B, block + 4, 0x7C, block + 2, 0x82, block];
        step2.extend_from_slice(&kat.ciphertext);
        step2.push(0x00);
        let script = Scripted::new()
            .expect_hex(SELECT, SELECT_OK)
            .expect(
                [0x00, 0x87, kat.id, 0x9B, 0x04, 0x7C, 0x02, 0x81, 0x00, 0x00],
                challenge_answer,
            )
            .expect(step2, [0x90, 0x00]);
        let mut session = Session::new(script);
        let challenge = session.management_challenge(kat.algorithm).unwrap();
        assert_eq!(*challenge, kat.plaintext);
        // What the minidriver's caller (the CSP) computes, done here with RustCrypto directly.
        let response = card_encrypt(kat.algorithm, &kat.key, &challenge);
        assert_eq!(response, kat.ciphertext, "{:?} known answer", kat.algorithm);
        session.management_response(kat.algorithm, &response).unwrap();
        session.transport().assert_done();
    }
}

#[test]
fn external_authentication_refusals() {
    let kat = &kats()[0];
    // A wrong response: 6982.
    let script = Scripted::new()
        .expect_hex(SELECT, SELECT_OK)
        .expect_hex("00 87 03 9B 0C 7C 0A 82 08 0000000000000000 00", "69 82");
    let mut session = Session::new(script);
    let err = session.management_response(kat.algorithm, &[0; 8]).unwrap_err();
    assert!(
        matches!(err, PivError::SecurityStatusNotSatisfied { .. }),
        "{err:?}"
    );
    session.transport().assert_done();
    // A challenge of the wrong length.
    let script = Scripted::new()
        .expect_hex(SELECT, SELECT_OK)
        .expect_hex("00 87 03 9B 04 7C 02 81 00 00", "7C 06 81 04 01020304 90 00");
    let mut session = Session::new(script);
    assert!(matches!(
        session.management_challenge(kat.algorithm).unwrap_err(),
        PivError::MalformedResponse { .. }
    ));
    session.transport().assert_done();
}
