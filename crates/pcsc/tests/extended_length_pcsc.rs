//! PC/SC tier: extended-length APDUs through pcscd and vpcd to the virtual card, both ways. The card's
//! ATR (as pcscd reports it) announces extended Lc/Le; a 3000-byte object goes out and comes back in one
//! APDU each, and an RSA-2048 operation (266 bytes in, 264 out) is one exchange, its signature verified
//! with the `rsa` crate.
//!
//! Ignored by a plain `cargo test` (it needs the reader); `scripts/test.sh pcsc` runs it inside
//! `scripts/with-virtual-reader.sh` with `--include-ignored`, and it fails without that reader.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use rsa::{BoxedUint, Pkcs1v15Sign};
use sha2::{Digest, Sha256};
use tessera_pcsc::{Disposition, OwnedCard};
use tessera_piv::{
    AlgorithmId, KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PinPolicy, PublicKey, Session,
    SessionOptions, TouchPolicy,
};

fn reader() -> String {
    std::env::var("TESSERA_READER")
        .expect("TESSERA_READER is not set: this test needs the pcsc tier (scripts/test.sh pcsc)")
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn extended_apdus_cross_pcscd_both_ways() {
    let mut card = OwnedCard::connect(&reader()).unwrap();
    card.set_disposition_on_drop(Disposition::LeaveCard);
    let options = SessionOptions::for_atr(card.atr());
    assert!(
        options.extended_length,
        "the ATR pcscd reports announces extended Lc/Le: {:02X?}",
        card.atr()
    );
    let mut s = Session::with_options(card, options);
    s.select().unwrap();
    s.authenticate_management_key(&ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap())
        .unwrap();

    let content: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let before = s.exchanges();
    s.put_data(0x5FFF30, &content).unwrap();
    assert_eq!(s.exchanges() - before, 1, "3000 bytes out in one APDU");
    let before = s.exchanges();
    assert_eq!(&s.get_data(0x5FFF30).unwrap().unwrap()[..], &content[..]);
    assert_eq!(s.exchanges() - before, 1, "3000 bytes back in one answer");

    let public = s
        .generate_key_pair(
            KeyRef::RETIRED_FIRST,
            AlgorithmId::RSA2048,
            PinPolicy::Once,
            TouchPolicy::Never,
        )
        .unwrap();
    let PublicKey::Rsa {
        modulus, exponent, ..
    } = public
    else {
        panic!("not an RSA key")
    };
    s.verify(KeyRef::PIN, &PaddedPin::new(b"123456").unwrap())
        .unwrap();
    let digest = Sha256::digest(b"extended length through pcscd");
    let mut t = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
        0x04, 0x20,
    ];
    t.extend_from_slice(&digest);
    let mut block = vec![0x00, 0x01];
    block.resize(256 - t.len() - 1, 0xFF);
    block.push(0x00);
    block.extend_from_slice(&t);
    let before = s.exchanges();
    let signature = s
        .private_key_operation(KeyRef::RETIRED_FIRST, AlgorithmId::RSA2048, &block)
        .unwrap();
    assert_eq!(s.exchanges() - before, 1, "one GENERAL AUTHENTICATE each way");
    assert!(
        s.uses_extended_length(),
        "the card never refused the extended form"
    );
    let key = rsa::PublicKey::new_with_size_limits(
        BoxedUint::from_be_slice(&modulus, 2048).unwrap(),
        BoxedUint::from_be_slice(&exponent, 64).unwrap(),
        2048..=2048,
    )
    .unwrap();
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .unwrap();
    s.put_data(0x5FFF30, &[]).unwrap();
}
