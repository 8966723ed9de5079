//! PC/SC tier: `OwnedCard` and `BorrowedCard` against a real pcscd.
//!
//! These tests need a private pcscd with a vpcd reader and the virtual card, so they are ignored by a
//! plain `cargo test`; run without that environment they fail. `scripts/test.sh pcsc` runs them as
//! `scripts/with-virtual-reader.sh -- cargo test -p tessera-pcsc --test private_pcscd -- --include-ignored`,
//! which exports `TESSERA_READER` (the reader's exact name), `TESSERA_PCSC_READERS` (every reader, as
//! `pcsc_scan` lists them), `TESSERA_ATR` and `TESSERA_VIRTUAL_CARD` (1 when the virtual card is attached).
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
// The borrowed-handle test opens the handle itself, through pcsc-sys, as the Base CSP would.
#![allow(
    unsafe_code,
    reason = "hands a raw card handle to BorrowedCard, as the card module gets one"
)]

use std::sync::{Mutex, MutexGuard, PoisonError};

use tessera_pcsc::{Disposition, OwnedCard, PcscError};
use tessera_piv::pin::DEFAULT_PIN;
use tessera_piv::{KeyRef, PaddedPin, PinStatus, PivError, Session, Transport, TransportError};

/// Tests that talk to the card reset it; one at a time keeps the resets where each test expects them.
static CARD: Mutex<()> = Mutex::new(());

/// What `scripts/with-virtual-reader.sh` tells the tests.
struct Environment {
    reader: String,
    readers: Vec<String>,
    atr: String,
}

/// The environment of the pcsc tier; panics (the test fails) outside it.
fn pcsc_tier() -> Environment {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: this test needs the pcsc tier (scripts/test.sh pcsc)")
        })
    };
    Environment {
        reader: var("TESSERA_READER"),
        readers: var("TESSERA_PCSC_READERS").lines().map(str::to_owned).collect(),
        atr: var("TESSERA_ATR"),
    }
}

/// The environment and exclusive use of the card; panics when no virtual card is in the reader.
fn with_card() -> (Environment, MutexGuard<'static, ()>) {
    let env = pcsc_tier();
    assert_eq!(
        std::env::var("TESSERA_VIRTUAL_CARD").as_deref(),
        Ok("1"),
        "this test needs the virtual card in the reader (TESSERA_VIRTUAL_CARD=1)"
    );
    (env, CARD.lock().unwrap_or_else(PoisonError::into_inner))
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn owned_card_lists_the_readers_of_the_private_pcscd() {
    let env = pcsc_tier();
    let readers = OwnedCard::list_readers().unwrap();
    // Exactly what pcsc_scan saw, in the same order: the private daemon's vpcd slots and nothing else.
    assert_eq!(readers, env.readers);
    assert!(
        readers.contains(&env.reader),
        "{:?} not in {readers:?}",
        env.reader
    );
    assert_eq!(
        env.reader,
        format!("{} 00 00", env.reader.trim_end_matches(" 00 00"))
    );
    assert_eq!(readers.len(), 2, "vpcd has two slots per port: {readers:?}");
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn connecting_to_an_unknown_reader_names_the_readers_that_exist() {
    let env = pcsc_tier();
    // A prefix of a real name is not a match: names are compared exactly.
    let prefix = env.reader.trim_end_matches(" 00 00").to_owned();
    match OwnedCard::connect(&prefix) {
        Err(PcscError::UnknownReader { name, available }) => {
            assert_eq!(name, prefix);
            assert_eq!(available, env.readers);
        }
        other => panic!("expected UnknownReader, got {other:?}"),
    }
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn owned_card_connects_by_name_and_reports_the_atr_pcscd_shows() {
    let (env, _card) = with_card();
    let card = OwnedCard::connect(&env.reader).unwrap();
    assert_eq!(card.reader_name(), env.reader);
    assert_eq!(hex::encode_upper(card.atr()), env.atr);

    let first = OwnedCard::connect_first().unwrap();
    assert_eq!(first.reader_name(), env.reader);
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn a_reset_by_another_connection_is_reported_once_then_the_session_selects_again() {
    let (env, _card) = with_card();
    let mut session = Session::new(OwnedCard::connect(&env.reader).unwrap());
    session.select().unwrap();

    let mut other = OwnedCard::connect(&env.reader).unwrap();
    other.reset().unwrap();

    let err = session.get_version().unwrap_err();
    assert!(
        matches!(err, PivError::Transport(TransportError::CardReset)),
        "{err:?}"
    );
    assert_eq!(session.resets_seen(), 1);
    assert!(!session.is_selected());
    // The transport reconnected: the next command selects the application again and works.
    session.get_version().unwrap();
    assert!(session.is_selected());
    assert_eq!(session.resets_seen(), 1);
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn a_session_runs_inside_a_transaction() {
    let (env, _card) = with_card();
    let mut card = OwnedCard::connect(&env.reader).unwrap();
    let properties = card
        .with_transaction(|tx| {
            assert_eq!(tx.reader_name(), env.reader);
            Session::new(tx).select()
        })
        .unwrap()
        .unwrap();
    assert!(!properties.application_id.is_empty());
    // The transaction ended: another connection can begin one.
    let mut other = OwnedCard::connect(&env.reader).unwrap();
    other.transaction().unwrap().end().unwrap();
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn dropping_a_connection_resets_the_card_unless_told_to_leave_it() {
    let (env, _card) = with_card();
    let mut session = Session::new(OwnedCard::connect(&env.reader).unwrap());
    let pin = PaddedPin::new(DEFAULT_PIN).unwrap();
    session.verify(KeyRef::PIN, &pin).unwrap();
    assert_eq!(session.pin_status(KeyRef::PIN).unwrap(), PinStatus::Verified);

    let mut leaving = OwnedCard::connect(&env.reader).unwrap();
    leaving.set_disposition_on_drop(Disposition::LeaveCard);
    drop(leaving);
    assert_eq!(session.pin_status(KeyRef::PIN).unwrap(), PinStatus::Verified);

    drop(OwnedCard::connect(&env.reader).unwrap()); // the default: SCARD_RESET_CARD
    let err = session.pin_status(KeyRef::PIN).unwrap_err();
    assert!(
        matches!(err, PivError::Transport(TransportError::CardReset)),
        "{err:?}"
    );
    assert!(matches!(
        session.pin_status(KeyRef::PIN).unwrap(),
        PinStatus::NotVerified { .. }
    ));
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn a_reset_noticed_when_a_transaction_begins_is_reported_by_its_first_exchange() {
    let (env, _card) = with_card();
    let mut card = OwnedCard::connect(&env.reader).unwrap();
    Session::new(&mut card).select().unwrap();
    OwnedCard::connect(&env.reader).unwrap().reset().unwrap();

    let mut tx = card.transaction().unwrap();
    let mut session = Session::new(&mut tx);
    let err = session.get_version().unwrap_err();
    assert!(
        matches!(err, PivError::Transport(TransportError::CardReset)),
        "{err:?}"
    );
    session.get_version().unwrap();
}

#[cfg(not(windows))]
#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn borrowed_card_uses_a_foreign_handle_reconnects_it_after_a_reset_and_never_disconnects_it() {
    use std::ffi::CString;
    use std::ptr;

    use pcsc_sys as ffi;
    use tessera_pcsc::{BorrowedCard, Protocol};

    let (env, _card) = with_card();
    let reader = CString::new(env.reader.clone()).unwrap();
    let mut context: ffi::SCARDCONTEXT = 0;
    // SAFETY: valid out-pointer; reserved arguments null as documented.
    let rv =
        unsafe { ffi::SCardEstablishContext(ffi::SCARD_SCOPE_USER, ptr::null(), ptr::null(), &mut context) };
    assert_eq!(rv, ffi::SCARD_S_SUCCESS);
    let mut handle: ffi::SCARDHANDLE = 0;
    let mut active: ffi::DWORD = 0;
    // SAFETY: live context, NUL-terminated reader name, valid out-pointers.
    let rv = unsafe {
        ffi::SCardConnect(
            context,
            reader.as_ptr(),
            ffi::SCARD_SHARE_SHARED,
            ffi::SCARD_PROTOCOL_T0 | ffi::SCARD_PROTOCOL_T1,
            &mut handle,
            &mut active,
        )
    };
    assert_eq!(rv, ffi::SCARD_S_SUCCESS);

    {
        #[allow(
            clippy::cast_sign_loss,
            reason = "pcsc-lite's handle is a `long`; its bits are the handle"
        )]
        // SAFETY: `handle` was just connected and stays connected until the end of this block.
        let mut card = unsafe { BorrowedCard::from_raw(handle as usize) };
        let expected = Protocol::from_raw(u32::try_from(active).unwrap()).unwrap();
        assert_eq!(card.refresh_protocol(), Ok(expected));

        let mut session = Session::new(card);
        session.select().unwrap();
        OwnedCard::connect(&env.reader).unwrap().reset().unwrap();
        let err = session.get_version().unwrap_err();
        assert!(
            matches!(err, PivError::Transport(TransportError::CardReset)),
            "{err:?}"
        );
        session.get_version().unwrap();

        let mut card = session.into_transport();
        assert_eq!(
            card.reset(),
            Err(TransportError::Unsupported("reset of a borrowed card handle"))
        );
    }

    // The borrowed handle is still ours to disconnect: BorrowedCard neither closed nor replaced it.
    // SAFETY: the handle and context are live; no BorrowedCard uses them any more.
    let rv = unsafe { ffi::SCardDisconnect(handle, ffi::SCARD_LEAVE_CARD) };
    assert_eq!(rv, ffi::SCARD_S_SUCCESS);
    // SAFETY: the context is live and has no connections left.
    let rv = unsafe { ffi::SCardReleaseContext(context) };
    assert_eq!(rv, ffi::SCARD_S_SUCCESS);
}
