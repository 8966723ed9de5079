//! The write entry points through the function table, as the Base CSP calls them, with the default write
//! policy (Yubico's): enrolling on a card with the factory-default management key replaces that key by a
//! random PIN-protected one and blocks the default PUK, and a second context writes with the protected
//! key. What the module left on the card is checked through another PIV session.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::ffi::CStr;

use tessera_minidriver::WritePolicy;
use tessera_piv::objects::{AdminData, ContainerMap, ProtectedData, tags};
use tessera_piv::{KeyRef, ManagementAlgorithm, ManagementKey, PaddedPin, Session, Transport};
use windows_sys::Win32::Security::Cryptography::{CARD_DATA, CONTAINER_INFO};

use common::{Context, TestCard, take};

/// A version-7 context over a new connection to `card`, with the write policy `policy`.
fn acquire(card: &TestCard, policy: WritePolicy) -> Context {
    Context::acquire_with_policy(&card.card, 7, Box::new(card.card.connect()), policy)
}

fn write(cd: &CARD_DATA, dir: Option<&CStr>, file: &CStr, data: &[u8]) -> u32 {
    let dir = dir.map_or(std::ptr::null(), |d| d.as_ptr().cast());
    // SAFETY: valid arguments.
    unsafe {
        cd.pfnCardWriteFile.unwrap()(cd, dir, file.as_ptr().cast(), 0, data.as_ptr(), data.len() as u32)
    }
}

fn session(card: &TestCard) -> Session<Box<dyn Transport + Send>> {
    let mut s: Session<Box<dyn Transport + Send>> = Session::new(Box::new(card.card.connect()));
    s.select().unwrap();
    s
}

#[test]
fn an_enrollment_with_the_default_policy_protects_the_management_key() {
    let card = TestCard::new(41);
    let context = acquire(&card, WritePolicy::default());
    context.login();
    let cd = &*context.cd;
    // SAFETY: valid arguments: an on-card RSA-2048 exchange key at index 0.
    let rc = unsafe { cd.pfnCardCreateContainerEx.unwrap()(cd, 0, 1, 1, 2048, std::ptr::null(), 1) };
    assert_eq!(rc, 0, "CardCreateContainerEx");
    let mut info = CONTAINER_INFO {
        dwVersion: 1,
        ..Default::default()
    };
    // SAFETY: valid arguments.
    let rc = unsafe { cd.pfnCardGetContainerInfo.unwrap()(cd, 0, 0, &mut info) };
    assert_eq!(rc, 0, "CardGetContainerInfo");
    let exchange = take(info.pbKeyExPublicKey, info.cbKeyExPublicKey);
    assert_eq!(exchange.len(), 20 + 256, "an RSA-2048 PUBLICKEYBLOB");
    assert!(info.pbSigPublicKey.is_null());
    assert_eq!(write(cd, None, c"cardcf", &[0, 0, 1, 0, 0, 0]), 0, "cardcf");

    // On the card: the key in 9A and its map record; the management key replaced, PIN-protected; the
    // default PUK blocked, and both recorded in the admin data.
    let mut s = session(&card);
    let map = ContainerMap::try_from(
        s.get_data(tags::YUBICO_CONTAINER_MAP)
            .unwrap()
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    assert_eq!(
        (map.records[0].slot, map.records[0].key_spec),
        (KeyRef::AUTHENTICATION, 1)
    );
    let default = ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap();
    assert!(
        s.authenticate_management_key(&default).is_err(),
        "the default key is gone"
    );
    let admin =
        AdminData::try_from(s.get_data(tags::YUBICO_ADMIN_DATA).unwrap().unwrap().as_slice()).unwrap();
    assert!(admin.management_key_protected() && admin.puk_blocked());
    let puk = s.get_metadata(KeyRef::PUK).unwrap().unwrap();
    assert_eq!(puk.retries.map(|(_, left)| left), Some(0));
    s.verify(KeyRef::PIN, &PaddedPin::new(b"123456").unwrap())
        .unwrap();
    let protected =
        ProtectedData::try_from(s.get_data(tags::PRINTED_INFORMATION).unwrap().unwrap().as_slice()).unwrap();
    let key = protected
        .management_key(ManagementAlgorithm::Tdes)
        .unwrap()
        .unwrap();
    assert!(
        s.authenticate_management_key(&key).is_ok(),
        "5FC109 holds the card's key"
    );
    drop(s);

    // A second context writes with the PIN-protected key; a wrong PIN in CardChangeAuthenticatorEx
    // reports the card's count through pcAttemptsRemaining.
    let second = acquire(&card, WritePolicy::default());
    second.login();
    let other = &*second.cd;
    assert_eq!(write(other, None, c"cardcf", &[0, 0, 2, 0, 0, 0]), 0);
    let (old, new) = (b"000000", b"24682468");
    let mut attempts = 0xA5A5u32;
    // SAFETY: valid arguments.
    let rc = unsafe {
        other.pfnCardChangeAuthenticatorEx.unwrap()(
            other,
            2,
            1,
            old.as_ptr(),
            6,
            1,
            new.as_ptr(),
            8,
            0,
            &mut attempts,
        )
    };
    assert_eq!(
        (rc, attempts),
        (0x8010_006B, 2),
        "SCARD_W_WRONG_CHV with 2 tries left"
    );
}
