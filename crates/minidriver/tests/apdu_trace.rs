//! The module's log with the APDU trace on: PIN verify, PIN change (through a card session, traced the
//! same way: the module has no PIN change yet), admin authentication, a signature, an ECDH agreement and
//! a decryption all leave APDU lines, and no secret they used appears in the file — not as bytes, not
//! as hex (either case), not as text. Its own test binary: the log is process-wide.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use tessera_minidriver::log::{LogSettings, init};
use tessera_piv::transport::Tracing;
use tessera_piv::{
    AlgorithmId, KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, PinPolicy, PublicKey, Session,
};
use windows_sys::Win32::Security::Cryptography::{
    CARD_DH_AGREEMENT_INFO, CARD_PADDING_NONE, CARD_RSA_DECRYPT_INFO,
};

use common::{Context, TestCard, take};

/// The PINs of this test: text that no timestamp, hex dump or thread id can contain by chance.
const PIN: &[u8] = b"pA5$word";
const NEW_PIN: &[u8] = b"Tq7#Zp9!";
/// A management key of its own (3DES), so that the default key's well-known bytes prove nothing.
const MANAGEMENT_KEY: [u8; 24] = [
    0x3A, 0x91, 0x5C, 0x27, 0xE4, 0x0B, 0x68, 0xD3, 0x1F, 0xA6, 0x72, 0xC9, 0x05, 0xBE, 0x84, 0x4D, 0x96,
    0x2B, 0xF0, 0x57, 0x3E, 0xC1, 0x6A, 0xD8,
];

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// Every form in which `secret` could sit in the log.
fn leaks(log: &[u8], text: &str, what: &str, secret: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    if log.windows(secret.len()).any(|w| w == secret) {
        found.push(format!("{what} as bytes (or text)"));
    }
    for upper in [true, false] {
        let h = hex(secret, upper);
        if text.contains(&h) {
            found.push(format!("{what} as hex {h}"));
        }
    }
    found
}

/// A card whose PIN and management key are the test's own, with a P-256 key in 9A (signs, agrees) and an
/// RSA-1024 key in 9D (decrypts).
fn card() -> (TestCard, PublicKey) {
    let card = TestCard::new(91);
    let ec = card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Once);
    card.generate(KeyRef::KEY_MANAGEMENT, AlgorithmId::RSA1024, PinPolicy::Once);
    let mut s = Session::new(card.card.connect());
    s.select().unwrap();
    let default = PaddedPin::new(b"123456").unwrap();
    s.change_reference_data(KeyRef::PIN, &default, &PaddedPin::new(PIN).unwrap())
        .unwrap();
    s.authenticate_management_key(&ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap())
        .unwrap();
    let key = ManagementKey::new(ManagementAlgorithm::Tdes, &MANAGEMENT_KEY).unwrap();
    s.set_management_key(&key, false).unwrap();
    (card, ec)
}

#[test]
fn the_module_log_traces_apdus_and_no_secret() {
    let (card, ec_key) = card();
    let path = std::env::temp_dir().join(format!("tessera-apdu-trace-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    init(|| {
        Some(LogSettings {
            file: path.clone(),
            level: "trace".into(),
        })
    });
    let mut secrets: Vec<(&str, Vec<u8>)> = vec![
        ("the PIN", PIN.to_vec()),
        ("the padded PIN", PaddedPin::new(PIN).unwrap().as_bytes().to_vec()),
        ("the new PIN", NEW_PIN.to_vec()),
        (
            "the padded new PIN",
            PaddedPin::new(NEW_PIN).unwrap().as_bytes().to_vec(),
        ),
        ("the management key", MANAGEMENT_KEY.to_vec()),
        ("the management key's first block", MANAGEMENT_KEY[..8].to_vec()),
    ];

    let ctx = Context::acquire(&card.card, 7);
    // PIN verify.
    assert_eq!(ctx.authenticate(1, PIN).0, 0, "CardAuthenticateEx(ROLE_USER)");

    // Admin authentication: the response (the challenge encrypted with the management key) is secret.
    let (mut challenge, mut len) = (std::ptr::null_mut(), 0u32);
    // SAFETY: valid arguments; the buffer is freed by `take`.
    let rc = unsafe { ctx.cd.pfnCardGetChallengeEx.unwrap()(&*ctx.cd, 2, &mut challenge, &mut len, 0) };
    assert_eq!(rc, 0, "CardGetChallengeEx(ROLE_ADMIN)");
    let challenge = take(challenge, len);
    let response = ManagementKey::new(ManagementAlgorithm::Tdes, &MANAGEMENT_KEY)
        .unwrap()
        .encrypt_block(&challenge)
        .unwrap();
    assert_eq!(
        ctx.authenticate(2, &response).0,
        0,
        "CardAuthenticateEx(ROLE_ADMIN)"
    );
    secrets.push(("the admin response", response.to_vec()));

    // A signature.
    assert_eq!(ctx.sign_p256(0, b"traced").0, 0, "CardSignData");

    // ECDH: the shared secret the card computes.
    let peer = p256::SecretKey::from_slice(&[0x5D; 32]).unwrap();
    let PublicKey::Ecc { point, .. } = &ec_key else {
        panic!("EC key expected")
    };
    let card_public = p256::PublicKey::from_sec1_bytes(point).unwrap();
    let shared = p256::ecdh::diffie_hellman(peer.to_nonzero_scalar(), card_public.as_affine());
    secrets.push(("the ECDH secret", shared.raw_secret_bytes().to_vec()));
    let mut blob = 0x314B_4345u32.to_le_bytes().to_vec();
    blob.extend_from_slice(&32u32.to_le_bytes());
    blob.extend_from_slice(&peer.public_key().to_sec1_bytes()[1..]);
    let mut info = CARD_DH_AGREEMENT_INFO {
        dwVersion: 2,
        bContainerIndex: 24,
        dwPublicKey: blob.len() as u32,
        pbPublicKey: blob.as_mut_ptr(),
        ..Default::default()
    };
    // SAFETY: valid arguments.
    let rc = unsafe { ctx.cd.pfnCardConstructDHAgreement.unwrap()(&*ctx.cd, &mut info) };
    assert_eq!(rc, 0, "CardConstructDHAgreement");

    // A raw decryption with 9D (container 2): the plaintext block is secret.
    let mut data = vec![0u8; 128];
    data[0] = 3; // little-endian 3
    let mut info = CARD_RSA_DECRYPT_INFO {
        dwVersion: 2,
        bContainerIndex: 2,
        dwKeySpec: 1,
        pbData: data.as_mut_ptr(),
        cbData: 128,
        pPaddingInfo: std::ptr::null_mut(),
        dwPaddingType: CARD_PADDING_NONE,
    };
    // SAFETY: valid arguments.
    let rc = unsafe { ctx.cd.pfnCardRSADecrypt.unwrap()(&*ctx.cd, &mut info) };
    assert_eq!(rc, 0, "CardRSADecrypt");
    let plaintext_be: Vec<u8> = data.iter().rev().copied().collect();
    secrets.push(("the decrypted block", plaintext_be.clone()));
    secrets.push((
        "the decrypted block's first 16 bytes",
        plaintext_be[..16].to_vec(),
    ));

    // PIN change through a card session traced like the module's: then the module verifies the new PIN.
    let mut s = Session::new(Tracing::new(card.card.connect()));
    s.change_reference_data(
        KeyRef::PIN,
        &PaddedPin::new(PIN).unwrap(),
        &PaddedPin::new(NEW_PIN).unwrap(),
    )
    .unwrap();
    assert_eq!(
        ctx.authenticate(1, NEW_PIN).0,
        0,
        "CardAuthenticateEx with the new PIN"
    );
    assert_eq!(ctx.sign_p256(0, b"after the change").0, 0, "CardSignData");
    drop(ctx);

    let log = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&log).into_owned();
    let _ = std::fs::remove_file(&path);
    let found: Vec<String> = secrets
        .iter()
        .flat_map(|(what, secret)| leaks(&log, &text, what, secret))
        .collect();
    assert!(found.is_empty(), "secrets in the log: {found:?}\n{text}");
    // The trace is there: every operation's command header, secret-carrying data replaced.
    for line in [
        "> 00200080 <redacted> (9 bytes)",  // VERIFY with the PIN
        "> 00240080 <redacted> (17 bytes)", // CHANGE REFERENCE DATA
        "> 0087039B <redacted>",            // the admin response
        "> 0087119A",                       // the signature and the ECDH agreement (P-256, 9A)
        "> 0087069D",                       // the RSA-1024 decryption with 9D
        "< <redacted>",                     // their results
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains("tessera::apdu") && l.contains(line)),
            "no APDU line with {line:?} in the log:\n{text}"
        );
    }
}
