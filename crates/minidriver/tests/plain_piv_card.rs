//! A PIV card without the YubiKey instructions (GET VERSION, GET SERIAL, GET METADATA answer `6D00`, as
//! other PIV cards and older YubiKeys do). `6D00` is also what a card that lost its PIV selection answers,
//! and a re-SELECT logs the PIN out: the module must tell the two apart without re-selecting, or a key
//! scan after the PIN was verified would make the next signature fail.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::sync::{Arc, Mutex};

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256};
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, PublicKey, Transport, TransportError};
use windows_sys::Win32::Security::Cryptography::{CARD_SIGNING_INFO, CONTAINER_INFO};

use common::{Context, TestCard, take};

/// YubiKey-only instructions this card does not know.
const VENDOR_INS: [u8; 3] = [0xFD, 0xF8, 0xF7];

/// Passes APDUs to the card, except the YubiKey instructions, which it answers `6D00`. Records the INS
/// byte of every command it saw.
struct PlainPivCard<T> {
    inner: T,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl<T: Transport> Transport for PlainPivCard<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let ins = apdu.get(1).copied().unwrap_or(0);
        self.seen.lock().unwrap().push(ins);
        if VENDOR_INS.contains(&ins) {
            return Ok(vec![0x6D, 0x00]);
        }
        self.inner.transmit(apdu)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}

#[test]
fn unknown_vendor_instructions_do_not_log_the_pin_out() {
    let card = TestCard::new(11);
    let key = card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Once);
    // Without GET METADATA the module finds keys by their certificates.
    card.certify(KeyRef::AUTHENTICATION);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let transport = PlainPivCard {
        inner: card.card.connect(),
        seen: Arc::clone(&seen),
    };
    let ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    ctx.login();
    let after_login = seen.lock().unwrap().len();

    // The first container access scans the card: GET VERSION (6D00 here) decides about metadata.
    let mut info = CONTAINER_INFO {
        dwVersion: 1,
        ..Default::default()
    };
    // SAFETY: valid arguments.
    let rc = unsafe { ctx.cd.pfnCardGetContainerInfo.unwrap()(&*ctx.cd, 0, 0, &mut info) };
    assert_eq!(rc, 0);
    take(info.pbSigPublicKey, info.cbSigPublicKey);
    take(info.pbKeyExPublicKey, info.cbKeyExPublicKey);

    let mut hash = Sha256::digest(b"plain PIV").to_vec();
    let mut si = CARD_SIGNING_INFO {
        dwVersion: 2,
        bContainerIndex: 0,
        dwKeySpec: 3, // AT_ECDSA_P256
        pbData: hash.as_mut_ptr(),
        cbData: 32,
        ..Default::default()
    };
    // SAFETY: valid arguments.
    let rc = unsafe { ctx.cd.pfnCardSignData.unwrap()(&*ctx.cd, &mut si) };
    assert_eq!(rc, 0, "the PIN verified before the scan still counts");
    let sig = take(si.pbSignedData, si.cbSignedData);
    let PublicKey::Ecc { point, .. } = key else {
        panic!("EC key expected")
    };
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
        .unwrap()
        .verify_prehash(&hash, &p256::ecdsa::Signature::from_slice(&sig).unwrap())
        .unwrap();

    let seen = seen.lock().unwrap();
    let since_login = &seen[after_login..];
    assert!(
        since_login.contains(&0xFD),
        "the scan asked for the version: {since_login:02X?}"
    );
    assert!(
        !since_login.contains(&0xA4),
        "no SELECT after the PIN was verified: {since_login:02X?}"
    );
}
