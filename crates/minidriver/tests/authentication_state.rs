//! What the module believes about authentication against what the card does: a failed authentication
//! logs its role out (also when the PIN was never sent), deauthentication drops exactly the roles asked
//! for, and ECDH agreements do not outlive the authentication they were made under. Judged on the
//! virtual card's own state, read through an independent connection.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::sync::atomic::Ordering;

use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, PinStatus, PublicKey, Session, commands};
use windows_sys::Win32::Security::Cryptography::CARD_DERIVE_KEY;

use common::{Context, TestCard};

const SCARD_E_INVALID_PARAMETER: u32 = 0x8010_0004;
const SCARD_W_SECURITY_VIOLATION: u32 = 0x8010_006A;
const SCARD_W_WRONG_CHV: u32 = 0x8010_006B;
const ROLE_USER: u32 = 1;
const ROLE_ADMIN: u32 = 2;
const ROLE_PUK: u32 = 4;
/// ROLE_USER and ROLE_PIN_ALWAYS: what a verified PIV PIN authenticates.
const USER_ROLES: u32 = (1 << ROLE_USER) | (1 << 3);

/// A card with a P-256 key in 9A (no certificate: an ECDSA container at 0 and its ECDH twin at 24).
fn card(seed: u64) -> (TestCard, PublicKey) {
    let card = TestCard::new(seed);
    let key = card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Once);
    (card, key)
}

/// [`card`] with a v7 context whose user is logged in.
fn logged_in(seed: u64) -> (TestCard, Context) {
    let (card, _) = card(seed);
    let ctx = Context::acquire(&card.card, 7);
    ctx.login();
    (card, ctx)
}

/// How many APDUs the card has answered so far.
fn apdus_sent(card: &TestCard) -> u64 {
    card.card.with_card(|c| c.counters().snapshot().apdus).unwrap()
}

/// The PIN status as the card reports it, asked through another connection (no SELECT: that would log
/// the PIN out).
fn card_pin_status(card: &TestCard) -> PinStatus {
    let mut s = Session::new(card.card.connect());
    let r = s.transmit(&commands::verify(KeyRef::PIN, None)).unwrap();
    if r.sw.is_success() {
        PinStatus::Verified
    } else {
        PinStatus::NotVerified {
            retries: r.sw.retries().unwrap(),
        }
    }
}

#[test]
fn a_malformed_pin_logs_the_verified_user_out() {
    for bad in [&b"12345"[..], b"123456789", b"1234\xFF6"] {
        let (card, ctx) = logged_in(41);
        let (rc, _) = ctx.authenticate(ROLE_USER, bad);
        assert_eq!(rc, SCARD_W_WRONG_CHV, "{bad:?}");
        assert_eq!(
            ctx.authenticated_state(),
            0,
            "{bad:?}: the role stays authenticated"
        );
        assert_eq!(
            ctx.sign_p256(0, b"after a failed login").0,
            SCARD_W_SECURITY_VIOLATION,
            "{bad:?}: a key that needs the PIN still signs"
        );
        assert_eq!(
            card_pin_status(&card),
            PinStatus::NotVerified { retries: 3 },
            "{bad:?}"
        );
    }
}

#[test]
fn a_pin_refused_without_being_sent_reports_the_cards_tries_left() {
    let (card, ctx) = logged_in(42);
    let sent_before = apdus_sent(&card);
    let (rc, attempts) = ctx.authenticate(ROLE_USER, b"12345");
    assert_eq!((rc, attempts), (SCARD_W_WRONG_CHV, Some(3)), "tries left");
    // Not verified: the status query already tells the count.
    let (rc, attempts) = ctx.authenticate(ROLE_USER, b"1234567");
    assert_eq!(rc, SCARD_W_WRONG_CHV);
    assert_eq!(attempts, Some(2), "a wrong (well-formed) PIN spends a try");
    let (rc, attempts) = ctx.authenticate(ROLE_USER, b"\xFF\xFF\xFF\xFF\xFF\xFF");
    assert_eq!(
        (rc, attempts),
        (SCARD_W_WRONG_CHV, Some(2)),
        "a refused PIN spends none"
    );
    let sent = apdus_sent(&card) - sent_before;
    assert!(sent <= 6, "{sent} APDUs for three refusals");
}

#[test]
fn deauthenticating_the_admin_keeps_the_user() {
    let (card, ctx) = logged_in(43);
    ctx.admin_login();
    assert_eq!(ctx.authenticated_state(), USER_ROLES | (1 << ROLE_ADMIN));
    assert_eq!(ctx.deauthenticate("admin"), 0, "CardDeauthenticate(admin)");
    assert_eq!(
        ctx.authenticated_state(),
        USER_ROLES,
        "only the admin is logged out"
    );
    assert_eq!(
        card_pin_status(&card),
        PinStatus::Verified,
        "the card logged the PIN out"
    );
    assert_eq!(ctx.sign_p256(0, b"still the user").0, 0, "the user still signs");
    // The card refuses what only the administrator may do: a write (through another connection; no
    // SELECT, which would reset the card's security state by itself).
    let mut s = Session::new(card.card.connect());
    let object = tessera_piv::tlv::encode(0x53, b"").unwrap();
    let r = s
        .transmit(&commands::put_data(0x5F_FF30, &object).unwrap())
        .unwrap();
    assert_eq!(
        r.sw,
        tessera_piv::StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        "the card still accepts the management key's rights"
    );
}

#[test]
fn deauthenticating_only_the_puk_or_the_admin_sends_no_pin_logout() {
    let (card, ctx) = logged_in(44);
    let sent_before = apdus_sent(&card);
    assert_eq!(
        ctx.deauthenticate_ex(1 << ROLE_PUK),
        0,
        "CardDeauthenticateEx(PUK)"
    );
    let sent = apdus_sent(&card) - sent_before;
    assert_eq!(sent, 0, "nothing to log out: the PUK is never left verified");
    assert_eq!(ctx.authenticated_state(), USER_ROLES);
    assert_eq!(
        ctx.deauthenticate_ex(1 << ROLE_ADMIN),
        0,
        "CardDeauthenticateEx(ADMIN)"
    );
    assert_eq!(ctx.authenticated_state(), USER_ROLES);
    assert_eq!(card_pin_status(&card), PinStatus::Verified);
    assert_eq!(ctx.deauthenticate_ex(USER_ROLES), 0, "CardDeauthenticateEx(USER)");
    assert_eq!(ctx.authenticated_state(), 0);
    assert_eq!(card_pin_status(&card), PinStatus::NotVerified { retries: 3 });
}

/// A `BCRYPT_ECCKEY_BLOB` (ECDH P-256 public) of a software key.
fn peer_blob(secret: &p256::SecretKey) -> Vec<u8> {
    let point = secret.public_key().to_sec1_bytes();
    let mut blob = 0x314B_4345u32.to_le_bytes().to_vec(); // BCRYPT_ECDH_PUBLIC_P256_MAGIC
    blob.extend_from_slice(&32u32.to_le_bytes());
    blob.extend_from_slice(&point[1..]);
    blob
}

/// `CardDeriveKey` with the HASH KDF (SHA-1 by default): the code and the key.
fn derive(ctx: &Context, agreement: u8) -> (u32, Option<Vec<u8>>) {
    let kdf: Vec<u16> = "HASH".encode_utf16().chain([0]).collect();
    let mut info = CARD_DERIVE_KEY {
        dwVersion: 1,
        pwszKDF: kdf.as_ptr() as *mut u16,
        bSecretAgreementIndex: agreement,
        ..Default::default()
    };
    // SAFETY: valid arguments; the key is allocated by the module and freed by `take`.
    let rc = unsafe { ctx.cd.pfnCardDeriveKey.unwrap()(&*ctx.cd, &mut info) };
    let key = (rc == 0).then(|| common::take(info.pbDerivedKey, info.cbDerivedKey));
    (rc, key)
}

fn destroy(ctx: &Context, agreement: u8) -> u32 {
    // SAFETY: valid arguments.
    unsafe { ctx.cd.pfnCardDestroyDHAgreement.unwrap()(&*ctx.cd, agreement, 0) }
}

#[test]
fn agreements_do_not_outlive_deauthentication() {
    let (card, _) = card(45);
    let peer = p256::SecretKey::from_slice(&[0x17; 32]).unwrap();
    for logout in [
        &(|c: &Context| c.deauthenticate_ex(USER_ROLES)) as &dyn Fn(&Context) -> u32,
        &|c| c.deauthenticate("user"),
    ] {
        let ctx = Context::acquire(&card.card, 7);
        ctx.login();
        let (rc, agreement) = ctx.construct_agreement(24, &mut peer_blob(&peer));
        assert_eq!(rc, 0, "CardConstructDHAgreement");
        assert_eq!(derive(&ctx, agreement).0, 0, "CardDeriveKey before the logout");
        assert_eq!(logout(&ctx), 0, "the logout");
        assert_eq!(
            derive(&ctx, agreement).0,
            SCARD_E_INVALID_PARAMETER,
            "CardDeriveKey on an agreement made before the logout"
        );
        assert_eq!(
            destroy(&ctx, agreement),
            SCARD_E_INVALID_PARAMETER,
            "the agreement is gone: nothing to destroy"
        );
    }
    assert_eq!(common::OUTSTANDING.load(Ordering::SeqCst), 0);
}
