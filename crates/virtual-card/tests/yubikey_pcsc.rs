//! Judge: the `yubikey` crate (0.8, iqlusion) opens the virtual card through PC/SC as a YubiKey, reads
//! its status and metadata, generates keys and signs; signatures are verified with RustCrypto.
//!
//! Runs in the `pcsc` test tier (`scripts/test.sh pcsc`, inside `scripts/with-virtual-reader.sh`, which
//! sets `TESSERA_READER`, with `--include-ignored`); a plain `cargo test` ignores it, and it fails when run
//! without that reader.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::Pkcs1v15Sign;
use sha2::{Digest, Sha256};
use yubikey::piv::{self, AlgorithmId, ManagementAlgorithmId, Origin, SlotId};
use yubikey::{MgmKey, PinPolicy, TouchPolicy, YubiKey};

fn open() -> YubiKey {
    let name = std::env::var("TESSERA_READER")
        .expect("TESSERA_READER is not set: this test needs the pcsc tier (scripts/test.sh pcsc)");
    let mut context = yubikey::reader::Context::open().unwrap();
    let reader = context
        .iter()
        .unwrap()
        .find(|r| r.name() == name)
        .unwrap_or_else(|| panic!("no reader {name}"));
    reader.open().unwrap()
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn yubikey_crate_drives_the_virtual_card() {
    let mut yk = open();
    let version = yk.version();
    assert_eq!((version.major, version.minor, version.patch), (5, 7, 2));
    assert_eq!(yk.serial().0, 32_000_001);
    let chuid = yk.chuid().unwrap();
    println!("CHUID: {chuid:?}");
    assert_eq!(yk.get_pin_retries().unwrap(), 3);

    yk.authenticate(MgmKey::default()).unwrap();
    // ECDSA P-256 in 9C: PIN policy ALWAYS by default.
    let spki = piv::generate(
        &mut yk,
        SlotId::Signature,
        AlgorithmId::EccP256,
        PinPolicy::Default,
        TouchPolicy::Default,
    )
    .unwrap();
    let meta = piv::metadata(&mut yk, SlotId::Signature).unwrap();
    assert!(matches!(
        meta.algorithm,
        ManagementAlgorithmId::Asymmetric(AlgorithmId::EccP256)
    ));
    assert!(
        matches!(meta.policy, Some((PinPolicy::Always, TouchPolicy::Never))),
        "{meta:?}"
    );
    assert!(matches!(meta.origin, Some(Origin::Generated)));
    assert_eq!(meta.public.as_ref(), Some(&spki));
    let point = spki.subject_public_key.raw_bytes();
    let verifier = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).unwrap();
    let digest = Sha256::digest(b"signed through the yubikey crate");
    assert!(
        piv::sign_data(&mut yk, &digest, AlgorithmId::EccP256, SlotId::Signature).is_err(),
        "PIN needed"
    );
    yk.verify_pin(b"123456").unwrap();
    let signature = piv::sign_data(&mut yk, &digest, AlgorithmId::EccP256, SlotId::Signature).unwrap();
    verifier
        .verify_prehash(&digest, &p256::ecdsa::Signature::from_der(&signature).unwrap())
        .unwrap();
    println!("ECDSA P-256 signature from 9C verified");

    // RSA-2048 in 9A: PKCS#1 v1.5 padding by the host, raw RSA on the card.
    let spki = piv::generate(
        &mut yk,
        SlotId::Authentication,
        AlgorithmId::Rsa2048,
        PinPolicy::Once,
        TouchPolicy::Never,
    )
    .unwrap();
    let public = <rsa::PublicKey as rsa::pkcs1::DecodeRsaPublicKey>::from_pkcs1_der(
        spki.subject_public_key.raw_bytes(),
    )
    .unwrap();
    let mut block = vec![0x00, 0x01];
    let prefix = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
        0x04, 0x20,
    ];
    block.extend(std::iter::repeat_n(0xFF, 256 - 3 - prefix.len() - 32));
    block.push(0x00);
    block.extend_from_slice(&prefix);
    block.extend_from_slice(&digest);
    yk.verify_pin(b"123456").unwrap();
    let signature = piv::sign_data(&mut yk, &block, AlgorithmId::Rsa2048, SlotId::Authentication).unwrap();
    public
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .unwrap();
    println!("RSA-2048 signature from 9A verified");
}
