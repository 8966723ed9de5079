//! One slot's malformed GET METADATA answer must not hide the other slots: the container scan treats it
//! like an unreadable certificate (the slot is listed without that detail, or left out when nothing else
//! tells its key), and the card stays usable.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256};
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, PublicKey, Transport, TransportError};
use tessera_virtual_card::CardConnection;

use common::{Context, TestCard, take};

/// The virtual card, except that GET METADATA of 9D is answered with tag 01 (algorithm) of length 2.
struct BadMetadata9D(CardConnection);

impl Transport for BadMetadata9D {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if apdu.starts_with(&[0x00, 0xF7, 0x00, 0x9D]) {
            return Ok(vec![0x01, 0x02, 0x11, 0x11, 0x90, 0x00]);
        }
        self.0.transmit(apdu)
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.0.reset()
    }
}

#[test]
fn malformed_metadata_of_one_slot_hides_no_other_slot() {
    let card = TestCard::new(51);
    let key = card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Once);
    card.generate(KeyRef::KEY_MANAGEMENT, AlgorithmId::ECCP256, PinPolicy::Once);
    let ctx = Context::acquire_with(&card.card, 7, Box::new(BadMetadata9D(card.card.connect())));
    let read = ctx.cd.pfnCardReadFile.unwrap();
    let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
    // SAFETY: valid arguments; the buffer is freed by `take`.
    let rc = unsafe {
        read(
            &*ctx.cd,
            c"mscp".as_ptr().cast(),
            c"cmapfile".as_ptr().cast(),
            0,
            &mut data,
            &mut len,
        )
    };
    assert_eq!(rc, 0, "CardReadFile(mscp/cmapfile)");
    let cmap = take(data, len);
    let valid = |i: usize| cmap.get(i * 86 + 80).is_some_and(|f| f & 1 != 0);
    assert!(valid(0), "9A's ECDSA container is listed");
    assert!(
        !valid(2) && !valid(26),
        "9D has no certificate and unreadable metadata: nothing tells its key"
    );

    ctx.login();
    let (rc, sig) = ctx.sign_p256(0, b"9A still signs");
    assert_eq!(rc, 0, "CardSignData with 9A");
    let PublicKey::Ecc { point, .. } = key else {
        panic!("EC key expected")
    };
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    let hash = Sha256::digest(b"9A still signs");
    vk.verify_prehash(&hash, &p256::ecdsa::Signature::from_slice(&sig.unwrap()).unwrap())
        .unwrap();
}
