//! Property test of the ABI inputs: random sequences of entry-point calls with random flags,
//! versions, lengths, names, NULL/non-NULL pointers and buffer contents, against a provisioned virtual
//! card. Whatever the inputs, no panic may reach the boundary (the module counts the ones it catches) and
//! every buffer the module hands out comes from the CSP allocator and is freed.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::ffi::c_void;
use std::sync::atomic::Ordering;

use proptest::prelude::*;
use tessera_minidriver::panics_caught;
use tessera_piv::{AlgorithmId, KeyRef, PaddedPin, PinPolicy, PinStatus, Session};
use windows_sys::Win32::Security::Cryptography::{
    BCRYPT_OAEP_PADDING_INFO, BCRYPT_PSS_PADDING_INFO, BCryptBuffer, BCryptBufferDesc, CARD_CAPABILITIES,
    CARD_DERIVE_KEY, CARD_DH_AGREEMENT_INFO, CARD_FILE_INFO, CARD_FREE_SPACE_INFO, CARD_KEY_SIZES,
    CARD_RSA_DECRYPT_INFO, CARD_SIGNING_INFO, CONTAINER_INFO,
};

use common::{Context, OUTSTANDING, TestCard, csp_free};

/// A string argument: NULL, a known good name, or random bytes (a NUL inside ends it early).
#[derive(Debug, Clone)]
enum Str {
    Null,
    Known(&'static str),
    Random(Vec<u8>),
}

impl Str {
    fn bytes(&self) -> Option<Vec<u8>> {
        match self {
            Str::Null => None,
            Str::Known(s) => Some(s.bytes().chain([0]).collect()),
            Str::Random(b) => Some(b.iter().copied().chain([0]).collect()),
        }
    }
    fn wide(&self) -> Option<Vec<u16>> {
        match self {
            Str::Null => None,
            Str::Known(s) => Some(s.encode_utf16().chain([0]).collect()),
            Str::Random(b) => Some(b.iter().map(|&x| u16::from(x) | 0x20).chain([0]).collect()),
        }
    }
}

fn str_arg(known: &'static [&'static str]) -> impl Strategy<Value = Str> {
    prop_oneof![
        1 => Just(Str::Null),
        4 => proptest::sample::select(known).prop_map(Str::Known),
        2 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(Str::Random),
    ]
}

const FILES: &[&str] = &[
    "cardid", "cardcf", "cardapps", "cmapfile", "kxc00", "ksc01", "msroots", "mscp", "CmApFiLe",
];
const DIRS: &[&str] = &["mscp", "MSCP", "cardid", "nosuch"];
const PROPERTIES: &[&str] = &[
    "Free Space",
    "Capabilities",
    "Key Sizes",
    "Read Only Mode",
    "Cache Mode",
    "Supports Windows x.509 Enrollment",
    "Card Identifier",
    "Card Serial Number",
    "PIN Information",
    "PIN List",
    "Authenticated State",
    "PIN Strength Verify",
    "PIN Strength Change",
    "Parent Window",
    "PIN Context String",
    "Key Import Support",
    "Algorithms",
    "Padding Schemes",
    "Chaining Modes",
    "Container Info",
    "PIN Identifier",
    "Associated ECDH Key",
];
const KDFS: &[&str] = &["HASH", "HMAC", "TLS_PRF", "SP800_56A_CONCAT", "NOPE"];
const HASHES: &[&str] = &[
    "SHA1", "SHA256", "SHA384", "SHA512", "MD5", "SHA224", "MD2", "SHAMD5", "",
];

/// Zero or small numbers most of the time (valid flags and versions, so calls get past the argument
/// checks and into the card code), anything sometimes.
fn num() -> impl Strategy<Value = u32> {
    prop_oneof![5 => Just(0u32), 3 => 0u32..10, 1 => any::<u32>(), 1 => proptest::sample::select(vec![0x4000_0000u32, 0x2000_0000, 0x1000_0000, 0x40, 0x100_0000])]
}

/// A structure version: the current one most of the time, a nearby wrong one sometimes.
fn ver(current: u32) -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(current), 1 => 0u32..5]
}

/// Whether to pass NULL for an output pointer: sometimes.
fn null() -> impl Strategy<Value = bool> {
    proptest::bool::weighted(0.15)
}

#[derive(Debug, Clone)]
enum Op {
    ReadFile(Str, Str, u32, bool),
    FileInfo(Str, Str, u32, bool),
    EnumFiles(Str, u32, bool),
    ContainerInfo(u8, u32, u32, bool),
    KeySizes(u32, u32, u32),
    FreeSpace(u32, u32),
    Capabilities(u32),
    GetProperty(Str, u32, u32, bool),
    SetProperty(Str, Option<Vec<u8>>, u32),
    ContainerProperty(u8, Str, u32, u32),
    AuthenticateEx(u32, u32, Option<Vec<u8>>, u32),
    AuthenticatePin(Str, Option<Vec<u8>>),
    Deauthenticate(u32, u32),
    Sign(u32, u8, u32, u32, u32, Vec<u8>, u32, Str, u32),
    Decrypt(u32, u8, u32, Vec<u8>, u32, Str),
    Agree(u32, u8, u32, Vec<u8>),
    Derive(u32, u32, Str, u8, Vec<(u32, Vec<u8>)>, bool),
    Destroy(u8, u32),
    Challenge(u32, u32),
    Respond(Option<Vec<u8>>),
}

fn op() -> impl Strategy<Value = Op> {
    let bytes = |n| proptest::collection::vec(any::<u8>(), 0..n);
    prop_oneof![
        (str_arg(DIRS), str_arg(FILES), num(), null()).prop_map(|(d, f, fl, n)| Op::ReadFile(d, f, fl, n)),
        (str_arg(DIRS), str_arg(FILES), ver(1), null()).prop_map(|(d, f, v, n)| Op::FileInfo(d, f, v, n)),
        (str_arg(DIRS), num(), null()).prop_map(|(d, f, n)| Op::EnumFiles(d, f, n)),
        (0u8..30, num(), ver(1), null()).prop_map(|(i, f, v, n)| Op::ContainerInfo(i, f, v, n)),
        (num(), num(), ver(1)).prop_map(|(s, f, v)| Op::KeySizes(s, f, v)),
        (num(), ver(1)).prop_map(|(f, v)| Op::FreeSpace(f, v)),
        ver(1).prop_map(Op::Capabilities),
        (str_arg(PROPERTIES), 0u32..80, num(), null()).prop_map(|(p, cb, f, n)| Op::GetProperty(p, cb, f, n)),
        (str_arg(PROPERTIES), proptest::option::of(bytes(24)), num())
            .prop_map(|(p, d, f)| Op::SetProperty(p, d, f)),
        (0u8..30, str_arg(PROPERTIES), 0u32..80, num())
            .prop_map(|(i, p, cb, f)| Op::ContainerProperty(i, p, cb, f)),
        (
            0u32..9,
            num(),
            proptest::option::of(prop_oneof![Just(b"123456".to_vec()), bytes(12)]),
            num()
        )
            .prop_map(|(id, f, pin, len)| Op::AuthenticateEx(id, f, pin, len)),
        (
            str_arg(&["user", "admin", "anonymous", ""]),
            proptest::option::of(bytes(12))
        )
            .prop_map(|(u, p)| Op::AuthenticatePin(u, p)),
        (num(), num()).prop_map(|(s, f)| Op::Deauthenticate(s, f)),
        (
            ver(2),
            0u8..30,
            0u32..10,
            num(),
            num(),
            bytes(80),
            0u32..10,
            str_arg(HASHES),
            0u32..300
        )
            .prop_map(|(v, i, s, f, a, d, pt, h, salt)| Op::Sign(v, i, s, f, a, d, pt, h, salt)),
        (ver(2), 0u8..30, 0u32..10, bytes(300), 0u32..10, str_arg(HASHES))
            .prop_map(|(v, i, s, d, pt, h)| Op::Decrypt(v, i, s, d, pt, h)),
        (ver(2), 0u8..30, num(), bytes(120)).prop_map(|(v, i, f, b)| Op::Agree(v, i, f, b)),
        (
            ver(2),
            num(),
            str_arg(KDFS),
            0u8..6,
            proptest::collection::vec((0u32..16, bytes(70)), 0..5),
            any::<bool>()
        )
            .prop_map(|(v, f, k, i, p, o)| Op::Derive(v, f, k, i, p, o)),
        (0u8..6, num()).prop_map(|(i, f)| Op::Destroy(i, f)),
        (0u32..5, num()).prop_map(|(p, f)| Op::Challenge(p, f)),
        proptest::option::of(bytes(40)).prop_map(Op::Respond),
    ]
}

fn free(p: *mut u8) {
    if !p.is_null() {
        // SAFETY: a buffer the module allocated with the test CSP's allocator.
        unsafe { csp_free(p as *const c_void) };
    }
}

/// Calls the entry point, or returns early when the negotiated version does not have it.
macro_rules! call {
    ($f:expr, $($arg:expr),* $(,)?) => {
        match $f {
            // SAFETY: every argument is NULL or a pointer to a live buffer of the stated size (`run`'s
            // rule for the calls it makes).
            Some(f) => unsafe { f($($arg),*) },
            None => return,
        }
    };
}

/// Runs one operation through the function table. Every pointer passed is valid or NULL.
#[allow(clippy::too_many_lines, reason = "one arm per entry point, each a few lines")]
fn run(ctx: &Context, op: &Op) {
    let cd = &*ctx.cd;
    let nullp = std::ptr::null_mut::<u8>();
    {
        match op {
            Op::ReadFile(d, f, flags, null) => {
                let (d, f) = (d.bytes(), f.bytes());
                let (mut p, mut n) = (nullp, 0u32);
                let out = out_param(&mut p, *null);
                call!(
                    cd.pfnCardReadFile,
                    cd,
                    opt(&d).cast(),
                    opt(&f).cast(),
                    *flags,
                    out,
                    &mut n
                );
                free(p);
            }
            Op::FileInfo(d, f, v, null) => {
                let (d, f) = (d.bytes(), f.bytes());
                let mut info = CARD_FILE_INFO {
                    dwVersion: *v,
                    ..Default::default()
                };
                let ptr = out_param(&mut info, *null);
                call!(cd.pfnCardGetFileInfo, cd, opt(&d).cast(), opt(&f).cast(), ptr);
            }
            Op::EnumFiles(d, flags, null) => {
                let d = d.bytes();
                let (mut p, mut n) = (nullp, 0u32);
                let out = out_param(&mut p, *null);
                call!(cd.pfnCardEnumFiles, cd, opt(&d).cast(), out, &mut n, *flags);
                free(p);
            }
            Op::ContainerInfo(i, flags, v, null) => {
                let mut info = CONTAINER_INFO {
                    dwVersion: *v,
                    ..Default::default()
                };
                let ptr = out_param(&mut info, *null);
                call!(cd.pfnCardGetContainerInfo, cd, *i, *flags, ptr);
                free(info.pbSigPublicKey);
                free(info.pbKeyExPublicKey);
            }
            Op::KeySizes(s, flags, v) => {
                let mut k = CARD_KEY_SIZES {
                    dwVersion: *v,
                    ..Default::default()
                };
                call!(cd.pfnCardQueryKeySizes, cd, *s, *flags, &mut k);
            }
            Op::FreeSpace(flags, v) => {
                let mut f = CARD_FREE_SPACE_INFO {
                    dwVersion: *v,
                    ..Default::default()
                };
                call!(cd.pfnCardQueryFreeSpace, cd, *flags, &mut f);
            }
            Op::Capabilities(v) => {
                let mut c = CARD_CAPABILITIES {
                    dwVersion: *v,
                    ..Default::default()
                };
                call!(cd.pfnCardQueryCapabilities, cd, &mut c);
            }
            Op::GetProperty(name, cb, flags, null) => {
                let name = name.wide();
                let mut buf = vec![0u8; *cb as usize];
                let mut len = 0u32;
                let out = if *null {
                    std::ptr::null_mut()
                } else {
                    buf.as_mut_ptr()
                };
                call!(cd.pfnCardGetProperty, cd, optw(&name), out, *cb, &mut len, *flags);
            }
            Op::SetProperty(name, data, flags) => {
                let name = name.wide();
                let (p, n) = data
                    .as_ref()
                    .map_or((std::ptr::null(), 0), |d| (d.as_ptr(), d.len() as u32));
                call!(cd.pfnCardSetProperty, cd, optw(&name), p, n, *flags);
            }
            Op::ContainerProperty(i, name, cb, flags) => {
                let name = name.wide();
                let mut buf = vec![0u8; (*cb as usize).max(size_of::<CONTAINER_INFO>())];
                buf[..4].copy_from_slice(&1u32.to_le_bytes());
                let mut len = 0u32;
                let rc = call!(
                    cd.pfnCardGetContainerProperty,
                    cd,
                    *i,
                    optw(&name),
                    buf.as_mut_ptr(),
                    *cb,
                    &mut len,
                    *flags,
                );
                if rc == 0
                    && name
                        .as_deref()
                        .is_some_and(|n| n.starts_with(&"Container Info".encode_utf16().collect::<Vec<_>>()))
                {
                    // SAFETY: `buf` holds at least a `CONTAINER_INFO`, which the module filled; it is
                    // read unaligned (a byte buffer has no alignment to rely on).
                    let info = unsafe { buf.as_ptr().cast::<CONTAINER_INFO>().read_unaligned() };
                    free(info.pbSigPublicKey);
                    free(info.pbKeyExPublicKey);
                }
            }
            Op::AuthenticateEx(id, flags, pin, len) => {
                let (p, n) = pin
                    .as_ref()
                    .map_or((std::ptr::null(), *len), |d| (d.as_ptr(), d.len() as u32));
                let (mut s, mut sl, mut left) = (nullp, 0u32, 0u32);
                call!(
                    cd.pfnCardAuthenticateEx,
                    cd,
                    *id,
                    *flags,
                    p,
                    n,
                    &mut s,
                    &mut sl,
                    &mut left
                );
                free(s);
            }
            Op::AuthenticatePin(user, pin) => {
                let user = user.wide();
                let (p, n) = pin
                    .as_ref()
                    .map_or((std::ptr::null(), 0), |d| (d.as_ptr(), d.len() as u32));
                let mut left = 0u32;
                call!(cd.pfnCardAuthenticatePin, cd, optw(&user), p, n, &mut left);
            }
            Op::Deauthenticate(set, flags) => {
                call!(cd.pfnCardDeauthenticateEx, cd, *set, *flags);
            }
            Op::Sign(v, i, spec, flags, alg, data, ptype, hash, salt) => {
                let mut data = data.clone();
                let hash = hash.wide();
                let pss = BCRYPT_PSS_PADDING_INFO {
                    pszAlgId: optw(&hash),
                    cbSalt: *salt,
                };
                let mut si = CARD_SIGNING_INFO {
                    dwVersion: *v,
                    bContainerIndex: *i,
                    dwKeySpec: *spec,
                    dwSigningFlags: *flags,
                    aiHashAlg: *alg,
                    pbData: nullable(&mut data),
                    cbData: data.len() as u32,
                    pPaddingInfo: &pss as *const _ as *mut c_void,
                    dwPaddingType: *ptype,
                    ..Default::default()
                };
                call!(cd.pfnCardSignData, cd, &mut si);
                free(si.pbSignedData);
            }
            Op::Decrypt(v, i, spec, data, ptype, hash) => {
                let mut data = data.clone();
                let hash = hash.wide();
                let oaep = BCRYPT_OAEP_PADDING_INFO {
                    pszAlgId: optw(&hash),
                    pbLabel: std::ptr::null_mut(),
                    cbLabel: 0,
                };
                let mut info = CARD_RSA_DECRYPT_INFO {
                    dwVersion: *v,
                    bContainerIndex: *i,
                    dwKeySpec: *spec,
                    pbData: nullable(&mut data),
                    cbData: data.len() as u32,
                    pPaddingInfo: &oaep as *const _ as *mut c_void,
                    dwPaddingType: *ptype,
                };
                call!(cd.pfnCardRSADecrypt, cd, &mut info);
            }
            Op::Agree(v, i, flags, blob) => {
                let mut blob = blob.clone();
                let mut info = CARD_DH_AGREEMENT_INFO {
                    dwVersion: *v,
                    bContainerIndex: *i,
                    dwFlags: *flags,
                    dwPublicKey: blob.len() as u32,
                    pbPublicKey: nullable(&mut blob),
                    ..Default::default()
                };
                call!(cd.pfnCardConstructDHAgreement, cd, &mut info);
            }
            Op::Derive(v, flags, kdf, index, params, own_buffer) => {
                let kdf = kdf.wide();
                let mut values: Vec<Vec<u8>> = params.iter().map(|(_, b)| b.clone()).collect();
                let mut buffers: Vec<BCryptBuffer> = params
                    .iter()
                    .zip(values.iter_mut())
                    .map(|((t, _), b)| BCryptBuffer {
                        cbBuffer: b.len() as u32,
                        BufferType: *t,
                        pvBuffer: b.as_mut_ptr().cast(),
                    })
                    .collect();
                let desc = BCryptBufferDesc {
                    ulVersion: 0,
                    cBuffers: buffers.len() as u32,
                    pBuffers: buffers.as_mut_ptr(),
                };
                let mut out = vec![0u8; 64];
                let mut info = CARD_DERIVE_KEY {
                    dwVersion: *v,
                    dwFlags: *flags,
                    pwszKDF: optw(&kdf) as *mut u16,
                    bSecretAgreementIndex: *index,
                    pParameterList: &desc as *const _ as *mut c_void,
                    pbDerivedKey: if *own_buffer {
                        out.as_mut_ptr()
                    } else {
                        std::ptr::null_mut()
                    },
                    cbDerivedKey: if *own_buffer { 64 } else { 0 },
                    ..Default::default()
                };
                call!(cd.pfnCardDeriveKey, cd, &mut info);
                if !*own_buffer {
                    free(info.pbDerivedKey);
                }
            }
            Op::Destroy(i, flags) => {
                call!(cd.pfnCardDestroyDHAgreement, cd, *i, *flags);
            }
            Op::Challenge(pin, flags) => {
                let (mut p, mut n) = (nullp, 0u32);
                call!(cd.pfnCardGetChallengeEx, cd, *pin, &mut p, &mut n, *flags);
                free(p);
            }
            Op::Respond(r) => {
                let (p, n) = r
                    .as_ref()
                    .map_or((std::ptr::null(), 0), |d| (d.as_ptr(), d.len() as u32));
                let mut left = 0u32;
                call!(cd.pfnCardAuthenticateChallenge, cd, p, n, &mut left);
            }
        }
    }
}

fn opt(v: &Option<Vec<u8>>) -> *const u8 {
    v.as_ref().map_or(std::ptr::null(), |v| v.as_ptr())
}

/// The buffer, or NULL for an empty one (as a caller that has no data passes it).
/// The out-parameter pointer to `target`, or NULL when the case passes NULL.
fn out_param<T>(target: &mut T, null: bool) -> *mut T {
    if null { std::ptr::null_mut() } else { target }
}

fn nullable(v: &mut [u8]) -> *mut u8 {
    if v.is_empty() {
        std::ptr::null_mut()
    } else {
        v.as_mut_ptr()
    }
}

fn optw(v: &Option<Vec<u16>>) -> *const u16 {
    v.as_ref().map_or(std::ptr::null(), |v| v.as_ptr())
}

/// Unblocks and resets the PIN through an independent session, so every case starts usable.
fn restore_pin(card: &TestCard) {
    let mut s = Session::new(card.card.connect());
    s.select().unwrap();
    if s.pin_status(KeyRef::PIN).unwrap() == PinStatus::Blocked
        || matches!(s.pin_status(KeyRef::PIN).unwrap(), PinStatus::NotVerified { retries } if retries < 3)
    {
        s.reset_retry_counter(
            &PaddedPin::new(b"12345678").unwrap(),
            &PaddedPin::new(b"123456").unwrap(),
        )
        .unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_panic_reaches_the_boundary(ops in proptest::collection::vec(op(), 1..12), version in 4u32..8) {
        thread_local! {
            static CARD: TestCard = {
                let card = TestCard::new(99);
                card.generate(KeyRef::AUTHENTICATION, AlgorithmId::RSA1024, PinPolicy::Once);
                card.generate(KeyRef::SIGNATURE, AlgorithmId::ECCP256, PinPolicy::Always);
                card.generate(KeyRef::KEY_MANAGEMENT, AlgorithmId::ECCP384, PinPolicy::Never);
                card
            };
        }
        CARD.with(|card| {
            restore_pin(card);
            let before = OUTSTANDING.load(Ordering::SeqCst);
            {
                let ctx = Context::acquire(&card.card, version);
                for op in &ops {
                    run(&ctx, op);
                }
            }
            prop_assert_eq!(panics_caught(), 0, "a panic reached the boundary");
            prop_assert_eq!(OUTSTANDING.load(Ordering::SeqCst), before, "CSP allocations leaked");
            Ok(())
        })?;
    }
}
