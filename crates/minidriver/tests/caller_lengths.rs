//! Lengths the caller chooses never become allocations: a PSS salt length or a derived-key length far
//! beyond what the key or the KDF can use is refused with `SCARD_E_INVALID_PARAMETER` before anything is
//! allocated (an allocation failure would abort the CSP's process; no panic guard catches it).
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy};
use windows_sys::Win32::Security::Cryptography::{
    BCRYPT_PSS_PADDING_INFO, BCryptBuffer, BCryptBufferDesc, CARD_DERIVE_KEY, CARD_DH_AGREEMENT_INFO,
    CARD_SIGNING_INFO,
};

use common::{Context, OUTSTANDING, TestCard};

const SCARD_E_INVALID_PARAMETER: u32 = 0x8010_0004;
const CARD_PADDING_INFO_PRESENT: u32 = 0x4000_0000;
const CARD_PADDING_PSS: u32 = 4;
const AT_KEYEXCHANGE: u32 = 1;
/// `BCRYPT_ECDH_PUBLIC_P256_MAGIC`.
const ECDH_PUBLIC_P256: u32 = 0x314B_4345;
/// `KDF_ALGORITHMID`, `KDF_PARTYUINFO`, `KDF_PARTYVINFO`.
const CONCAT_PARAMS: [u32; 3] = [8, 9, 10];

/// `CardSignData` of the SHA-256 `hash` with PSS padding and a salt of `salt` bytes, on container 0.
fn sign_pss(ctx: &Context, hash: &mut [u8], salt: u32) -> (u32, CARD_SIGNING_INFO) {
    let alg: Vec<u16> = "SHA256".encode_utf16().chain([0]).collect();
    let pss = BCRYPT_PSS_PADDING_INFO {
        pszAlgId: alg.as_ptr(),
        cbSalt: salt,
    };
    let mut si = CARD_SIGNING_INFO {
        dwVersion: 2,
        bContainerIndex: 0,
        dwKeySpec: AT_KEYEXCHANGE,
        dwSigningFlags: CARD_PADDING_INFO_PRESENT,
        pbData: hash.as_mut_ptr(),
        cbData: hash.len() as u32,
        pPaddingInfo: &pss as *const _ as *mut _,
        dwPaddingType: CARD_PADDING_PSS,
        ..Default::default()
    };
    // SAFETY: valid arguments; `alg` and `pss` outlive the call.
    let rc = unsafe { ctx.cd.pfnCardSignData.unwrap()(&*ctx.cd, &mut si) };
    (rc, si)
}

#[test]
fn a_salt_longer_than_any_key_is_refused_before_allocation() {
    let card = TestCard::new(21);
    card.generate(KeyRef::AUTHENTICATION, AlgorithmId::RSA2048, PinPolicy::Once);
    let ctx = Context::acquire(&card.card, 7);
    ctx.login();
    let mut hash = Sha256::digest(b"salt").to_vec();
    for salt in [u32::MAX, 0x8000_0000, 256 - 32 - 1] {
        let (rc, _) = sign_pss(&ctx, &mut hash, salt);
        assert_eq!(rc, SCARD_E_INVALID_PARAMETER, "cbSalt {salt:#x}");
    }
    // The longest salt a 2048-bit key takes with SHA-256 still signs.
    let (rc, si) = sign_pss(&ctx, &mut hash, 256 - 32 - 2);
    assert_eq!(rc, 0);
    common::take(si.pbSignedData, si.cbSignedData);
    drop(ctx);
    assert_eq!(OUTSTANDING.load(Ordering::SeqCst), 0);
}

#[test]
fn a_derived_key_length_beyond_the_bound_is_refused() {
    let card = TestCard::new(22);
    card.generate(KeyRef::KEY_MANAGEMENT, AlgorithmId::ECCP256, PinPolicy::Never);
    let ctx = Context::acquire(&card.card, 7);

    // An agreement with a peer key (a fixed scalar is enough here).
    let peer = p256::SecretKey::from_slice(&[7; 32]).unwrap().public_key();
    let point = peer.to_sec1_bytes();
    assert_eq!(point.len(), 65, "uncompressed");
    let mut blob = [ECDH_PUBLIC_P256.to_le_bytes(), 32u32.to_le_bytes()].concat();
    blob.extend_from_slice(&point[1..]);
    let mut agreement = CARD_DH_AGREEMENT_INFO {
        dwVersion: 2,
        bContainerIndex: 24 + 2, // the ECDH twin of 9D (index 2)
        dwPublicKey: blob.len() as u32,
        pbPublicKey: blob.as_mut_ptr(),
        ..Default::default()
    };
    // SAFETY: valid arguments.
    let rc = unsafe { ctx.cd.pfnCardConstructDHAgreement.unwrap()(&*ctx.cd, &mut agreement) };
    assert_eq!(rc, 0, "agreement");

    let kdf: Vec<u16> = "SP800_56A_CONCAT".encode_utf16().chain([0]).collect();
    let mut values = [b"alg".to_vec(), b"u".to_vec(), b"v".to_vec()];
    let mut buffers: Vec<BCryptBuffer> = CONCAT_PARAMS
        .iter()
        .zip(values.iter_mut())
        .map(|(&t, v)| BCryptBuffer {
            cbBuffer: v.len() as u32,
            BufferType: t,
            pvBuffer: v.as_mut_ptr().cast(),
        })
        .collect();
    let desc = BCryptBufferDesc {
        ulVersion: 0,
        cBuffers: buffers.len() as u32,
        pBuffers: buffers.as_mut_ptr(),
    };
    let derive = |key_len_bits: u32, out: &mut [u8]| {
        let mut info = CARD_DERIVE_KEY {
            dwVersion: 2,
            pwszKDF: kdf.as_ptr() as *mut u16,
            bSecretAgreementIndex: agreement.bSecretAgreementIndex,
            pParameterList: &desc as *const _ as *mut _,
            pbDerivedKey: out.as_mut_ptr(),
            cbDerivedKey: out.len() as u32,
            dwKeyLen: key_len_bits,
            ..Default::default()
        };
        // SAFETY: valid arguments; `out` holds cbDerivedKey bytes.
        unsafe { ctx.cd.pfnCardDeriveKey.unwrap()(&*ctx.cd, &mut info) }
    };
    let mut big = vec![0u8; 8192];
    assert_eq!(
        derive(0, &mut big),
        SCARD_E_INVALID_PARAMETER,
        "an 8 KiB caller buffer"
    );
    assert_eq!(
        derive(u32::MAX, &mut big[..64]),
        SCARD_E_INVALID_PARAMETER,
        "dwKeyLen 2^32-1 bits"
    );
    assert!(big.iter().all(|&b| b == 0), "nothing written on refusal");
    assert_eq!(derive(0, &mut big[..4096]), 0, "4 KiB is within the bound");
    assert!(big[..4096].iter().any(|&b| b != 0));
}
