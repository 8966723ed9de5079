//! Extended-length APDUs (ISO/IEC 7816-4 §5.1) both ways: the card's ATR announces them, a command of
//! more than 255 bytes arrives as one APDU and an answer of more than 256 bytes leaves as one, counted on
//! the card's side.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, Pkcs1v15Sign};
use sha2::{Digest, Sha256};
use tessera_piv::{
    AlgorithmId, CardCapabilities, KeyRef, PaddedPin, PinPolicy, PublicKey, Session, SessionOptions,
    TouchPolicy,
};

#[test]
fn the_atr_announces_chaining_and_extended_length() {
    let card = common::card(70);
    assert_eq!(
        CardCapabilities::from_atr(card.atr()),
        Some(CardCapabilities {
            command_chaining: true,
            extended_length: true
        })
    );
    assert!(SessionOptions::for_atr(card.atr()).extended_length);
}

#[test]
fn an_extended_answer_leaves_in_one_piece_and_a_smaller_le_is_honoured() {
    let mut card = common::card(71);
    let content: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    {
        let mut s = common::admin_session(&mut card);
        s.put_data(0x5FFF30, &content).unwrap();
    }
    let select = card.process_apdu(&hex::decode("00A40400000009A000000308000010000000").unwrap());
    assert_eq!(&select[select.len() - 2..], &[0x90, 0x00]);
    // Le 00 00: everything (53 82 0B B8 + 3000 bytes) in one answer.
    let whole = card.process_apdu(&hex::decode("00CB3FFF0000055C035FFF300000").unwrap());
    assert_eq!(whole.len(), 4 + 3000 + 2);
    assert_eq!(&whole[..4], &[0x53, 0x82, 0x0B, 0xB8]);
    assert_eq!(&whole[4..3004], &content[..]);
    assert_eq!(&whole[3004..], &[0x90, 0x00]);
    // An extended Le of 1000: 1000 bytes, then 61xx for the rest, fetched with short GET RESPONSEs.
    let first = card.process_apdu(&hex::decode("00CB3FFF0000055C035FFF3003E8").unwrap());
    assert_eq!(first.len(), 1002);
    assert_eq!(&first[1000..], &[0x61, 0x00], "2004 bytes remain");
    let next = card.process_apdu(&hex::decode("00C0000000").unwrap());
    assert_eq!((next.len(), &next[256..]), (258, &[0x61, 0x00][..]));
}

#[test]
fn an_extended_session_costs_one_apdu_per_command_both_ways() {
    let mut card = common::card(72);
    let counters = card.counters();
    let options = SessionOptions::for_atr(card.atr());
    let public = {
        let mut s = Session::with_options(&mut card, options);
        s.select().unwrap();
        s.authenticate_management_key(&common::default_key()).unwrap();
        s.generate_key_pair(
            KeyRef::AUTHENTICATION,
            AlgorithmId::RSA2048,
            PinPolicy::Once,
            TouchPolicy::Never,
        )
        .unwrap()
    };
    let PublicKey::Rsa {
        modulus, exponent, ..
    } = public
    else {
        panic!("not an RSA key")
    };
    // A PKCS#1 v1.5 SHA-256 block, signed with the card's raw RSA operation in one APDU each way
    // (266 bytes of command data in, 264 bytes of answer out).
    let digest = Sha256::digest(b"extended length");
    let mut t = hex::decode("3031300d060960864801650304020105000420").unwrap();
    t.extend_from_slice(&digest);
    let mut block = vec![0x00, 0x01];
    block.resize(256 - t.len() - 1, 0xFF);
    block.push(0x00);
    block.extend_from_slice(&t);
    let before = counters.snapshot();
    let signature = {
        let mut s = Session::with_options(&mut card, options);
        s.select().unwrap();
        s.verify(KeyRef::PIN, &PaddedPin::new(b"123456").unwrap())
            .unwrap();
        let before_sign = s.exchanges();
        let signature = s
            .private_key_operation(KeyRef::AUTHENTICATION, AlgorithmId::RSA2048, &block)
            .unwrap();
        assert_eq!(
            s.exchanges() - before_sign,
            1,
            "one GENERAL AUTHENTICATE, no chain, no GET RESPONSE"
        );
        assert!(s.uses_extended_length());
        signature
    };
    let seen = counters.snapshot().since(before);
    assert_eq!(
        seen.apdus, 3,
        "SELECT, VERIFY and GENERAL AUTHENTICATE, as the card counts them"
    );
    assert!(seen.command_bytes > 266 && seen.response_bytes > 256, "{seen:?}");
    let n = BoxedUint::from_be_slice(&modulus, 2048).unwrap();
    let e = BoxedUint::from_be_slice(&exponent, 64).unwrap();
    let key = rsa::PublicKey::new_with_size_limits(n, e, 2048..=2048).unwrap();
    assert_eq!(key.size(), 256);
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .unwrap();
}
