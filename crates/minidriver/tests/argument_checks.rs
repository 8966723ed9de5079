//! Every argument is checked before the card is asked anything: an invalid call on a fresh context
//! (nothing read from the card yet) gets its code with no APDU sent.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use tessera_piv::{AlgorithmId, KeyRef, PinPolicy};
use windows_sys::Win32::Security::Cryptography::{
    CARD_PADDING_NONE, CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO, CONTAINER_INFO,
};

use common::{Context, TestCard};

const SCARD_E_INVALID_PARAMETER: u32 = 0x8010_0004;
const SCARD_E_NO_KEY_CONTAINER: u32 = 0x8010_0030;

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

fn get_container_property(ctx: &Context, index: u8, name: &str) -> u32 {
    let name = wide(name);
    let (mut out, mut len) = ([0u8; 64], 0u32);
    // SAFETY: valid arguments; the buffer holds 64 bytes.
    unsafe {
        ctx.cd.pfnCardGetContainerProperty.unwrap()(
            &*ctx.cd,
            index,
            name.as_ptr(),
            out.as_mut_ptr(),
            out.len() as u32,
            &mut len,
            0,
        )
    }
}

fn set_container_property(ctx: &Context, index: u8, name: &str) -> u32 {
    let name = wide(name);
    let data = 1u32.to_le_bytes();
    // SAFETY: valid arguments.
    unsafe {
        ctx.cd.pfnCardSetContainerProperty.unwrap()(&*ctx.cd, index, name.as_ptr(), data.as_ptr(), 4, 0)
    }
}

fn container_info(ctx: &Context, index: u8) -> u32 {
    let mut info = CONTAINER_INFO {
        dwVersion: 1,
        ..Default::default()
    };
    // SAFETY: valid arguments.
    unsafe { ctx.cd.pfnCardGetContainerInfo.unwrap()(&*ctx.cd, index, 0, &mut info) }
}

fn sign(ctx: &Context, index: u8) -> u32 {
    let mut hash = [0x11u8; 32];
    let mut info = CARD_SIGNING_INFO {
        dwVersion: 2,
        bContainerIndex: index,
        dwKeySpec: 3,
        pbData: hash.as_mut_ptr(),
        cbData: 32,
        ..Default::default()
    };
    // SAFETY: valid arguments.
    unsafe { ctx.cd.pfnCardSignData.unwrap()(&*ctx.cd, &mut info) }
}

fn decrypt(ctx: &Context, index: u8) -> u32 {
    let mut data = [0x22u8; 256];
    let mut info = CARD_RSA_DECRYPT_INFO {
        dwVersion: 2,
        bContainerIndex: index,
        dwKeySpec: 1,
        pbData: data.as_mut_ptr(),
        cbData: 256,
        pPaddingInfo: std::ptr::null_mut(),
        dwPaddingType: CARD_PADDING_NONE,
    };
    // SAFETY: valid arguments.
    unsafe { ctx.cd.pfnCardRSADecrypt.unwrap()(&*ctx.cd, &mut info) }
}

fn agree(ctx: &Context, index: u8, blob: &mut [u8]) -> u32 {
    ctx.construct_agreement(index, blob).0
}

/// An ECDH P-256 blob of a valid point, with its magic replaced by `magic` and cut to `len` bytes.
fn blob(magic: &[u8; 4], len: usize) -> Vec<u8> {
    let point = p256::SecretKey::from_slice(&[0x31; 32])
        .unwrap()
        .public_key()
        .to_sec1_bytes();
    let mut b = magic.to_vec();
    b.extend_from_slice(&32u32.to_le_bytes());
    b.extend_from_slice(&point[1..]);
    b.truncate(len);
    b
}

const ECDH_P256: &[u8; 4] = b"ECK1";

/// A call with an argument the module can refuse before it talks to the card: the entry point and its
/// container index (and property name, or agreement blob magic and length).
#[derive(Debug, Clone, Copy)]
enum InvalidCall {
    GetContainerProperty(u8, &'static str),
    SetContainerProperty(u8, &'static str),
    ContainerInfo(u8),
    SignData(u8),
    RsaDecrypt(u8),
    ConstructDhAgreement(u8, &'static [u8; 4], usize),
}

impl InvalidCall {
    fn make(self, ctx: &Context) -> u32 {
        match self {
            Self::GetContainerProperty(index, name) => get_container_property(ctx, index, name),
            Self::SetContainerProperty(index, name) => set_container_property(ctx, index, name),
            Self::ContainerInfo(index) => container_info(ctx, index),
            Self::SignData(index) => sign(ctx, index),
            Self::RsaDecrypt(index) => decrypt(ctx, index),
            Self::ConstructDhAgreement(index, magic, len) => agree(ctx, index, &mut blob(magic, len)),
        }
    }
}

#[test]
fn invalid_calls_cost_no_apdu() {
    let card = TestCard::new(61);
    card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Once);
    let apdus = || card.card.with_card(|c| c.counters().snapshot().apdus).unwrap();
    use InvalidCall::*;
    let calls = [
        (GetContainerProperty(200, "bogus"), SCARD_E_INVALID_PARAMETER),
        (GetContainerProperty(0, "bogus"), SCARD_E_INVALID_PARAMETER),
        (
            GetContainerProperty(200, "PIN Identifier"),
            SCARD_E_NO_KEY_CONTAINER,
        ),
        (
            GetContainerProperty(200, "Container Info"),
            SCARD_E_NO_KEY_CONTAINER,
        ),
        (SetContainerProperty(0, "bogus"), SCARD_E_INVALID_PARAMETER),
        (
            SetContainerProperty(200, "PIN Identifier"),
            SCARD_E_NO_KEY_CONTAINER,
        ),
        (ContainerInfo(200), SCARD_E_NO_KEY_CONTAINER),
        (SignData(200), SCARD_E_NO_KEY_CONTAINER),
        (RsaDecrypt(200), SCARD_E_NO_KEY_CONTAINER),
        // An unknown magic; a blob shorter than its lengths; an index without a container.
        (ConstructDhAgreement(24, b"XXXX", 72), SCARD_E_INVALID_PARAMETER),
        (ConstructDhAgreement(24, ECDH_P256, 40), SCARD_E_INVALID_PARAMETER),
        (ConstructDhAgreement(200, ECDH_P256, 72), SCARD_E_NO_KEY_CONTAINER),
    ];
    let mut wrong = Vec::new();
    for (call, want) in calls {
        // A fresh context each time: nothing read from the card yet.
        let ctx = Context::acquire(&card.card, 7);
        let before = apdus();
        let rc = call.make(&ctx);
        let sent = apdus() - before;
        if rc != want || sent != 0 {
            wrong.push(format!(
                "{call:?}: 0x{rc:08X} after {sent} APDUs (want 0x{want:08X}, none)"
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
