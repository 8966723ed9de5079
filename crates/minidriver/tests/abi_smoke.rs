//! In-process smoke test of the exported table: the built-in constructor over a virtual card, then a
//! few entry points through the same `extern "system"` pointers the CSP uses. The conformance suite
//! (tessera-conformance) is the full judge; this keeps the crate's own tests honest.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256};
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, PublicKey};
use windows_sys::Win32::Security::Cryptography::{CARD_SIGNING_INFO, CONTAINER_INFO};

use common::{Context, OUTSTANDING, TestCard, take};

#[test]
fn acquire_read_files_sign_over_the_table() {
    let card = TestCard::new(7);
    let key = card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Once);
    let ctx = Context::acquire(&card.card, 7);
    assert_eq!(ctx.cd.dwVersion, 7);
    let read = ctx.cd.pfnCardReadFile.unwrap();
    let (mut data, mut len) = (std::ptr::null_mut(), 0u32);

    // SAFETY: valid arguments; the buffer is freed by `take`.
    let rc = unsafe {
        read(
            &*ctx.cd,
            std::ptr::null(),
            c"cardid".as_ptr().cast(),
            0,
            &mut data,
            &mut len,
        )
    };
    assert_eq!((rc, len), (0, 16));
    take(data, len);

    // SAFETY: as above; names are case-insensitive.
    let rc = unsafe {
        read(
            &*ctx.cd,
            c"MSCP".as_ptr().cast(),
            c"CmApfiLE".as_ptr().cast(),
            0,
            &mut data,
            &mut len,
        )
    };
    // A key without a certificate may sign and agree: ECDSA at index 0, its ECDH twin at 24 + 0.
    assert_eq!((rc, len), (0, 25 * 86));
    let cmap = take(data, len);
    assert_eq!(cmap[80], 0x03, "valid + default");
    assert_eq!(
        u16::from_le_bytes([cmap[82], cmap[83]]),
        256,
        "ECDSA key in the signature position"
    );
    let twin = &cmap[24 * 86..];
    assert_eq!(twin[80], 0x01, "valid");
    assert_eq!(
        u16::from_le_bytes([twin[84], twin[85]]),
        256,
        "ECDH key in the exchange position"
    );
    assert!(
        cmap[86..24 * 86].iter().all(|&b| b == 0),
        "empty slots are zeroed records"
    );

    let mut info = CONTAINER_INFO {
        dwVersion: 1,
        ..Default::default()
    };
    // SAFETY: valid arguments.
    let rc = unsafe { ctx.cd.pfnCardGetContainerInfo.unwrap()(&*ctx.cd, 0, 0, &mut info) };
    assert_eq!(rc, 0);
    assert_eq!(info.cbSigPublicKey, 72);
    let blob = take(info.pbSigPublicKey, info.cbSigPublicKey);
    let PublicKey::Ecc { point, .. } = key else {
        panic!("EC key expected")
    };
    assert_eq!(&blob[8..], &point[1..]);

    ctx.login();
    let mut hash = Sha256::digest(b"hello").to_vec();
    let mut si = CARD_SIGNING_INFO {
        dwVersion: 2,
        bContainerIndex: 0,
        dwKeySpec: 3,
        pbData: hash.as_mut_ptr(),
        cbData: 32,
        ..Default::default()
    };
    // SAFETY: valid arguments.
    let rc = unsafe { ctx.cd.pfnCardSignData.unwrap()(&*ctx.cd, &mut si) };
    assert_eq!(rc, 0);
    assert_eq!(si.cbSignedData, 64);
    let sig = take(si.pbSignedData, si.cbSignedData);
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    vk.verify_prehash(&hash, &p256::ecdsa::Signature::from_slice(&sig).unwrap())
        .unwrap();

    drop(ctx);
    assert_eq!(
        OUTSTANDING.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "every CSP allocation was freed"
    );
}
