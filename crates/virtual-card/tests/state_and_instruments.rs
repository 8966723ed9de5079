//! The state file (creation, reload, permissions, failing saves: rollback, and PIN and PUK tries that
//! stay spent), counters and the redacted trace, and
//! shared connections with PC/SC reset semantics.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use std::thread;

use tessera_piv::{KeyRef, PaddedPin, Session, StatusWord, Transport, TransportError};
use tessera_virtual_card::store::{Store, parse_state};
use tessera_virtual_card::{CardConfig, SharedCard, Trace, VirtualCard};

#[test]
fn a_new_file_is_a_new_card_and_changes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let guid = {
        let mut card = VirtualCard::open(&path, CardConfig::seeded(21)).unwrap();
        assert_eq!(card.store(), &Store::File(path.clone()));
        assert!(path.exists(), "created on first use");
        let mut s = Session::new(&mut card);
        s.change_reference_data(
            KeyRef::PIN,
            &PaddedPin::new(b"123456").unwrap(),
            &PaddedPin::new(b"24682468").unwrap(),
        )
        .unwrap();
        s.get_data(0x5FC102).unwrap().unwrap().to_vec()
    };
    // Reopening with another seed and serial changes nothing: the file is the card.
    let config = CardConfig {
        serial: 7,
        ..CardConfig::seeded(99)
    };
    let mut card = VirtualCard::open(&path, config).unwrap();
    assert_eq!(card.persistent().serial, tessera_virtual_card::DEFAULT_SERIAL);
    let mut s = Session::new(&mut card);
    assert_eq!(s.get_data(0x5FC102).unwrap().unwrap().to_vec(), guid);
    assert!(
        s.verify(KeyRef::PIN, &PaddedPin::new(b"123456").unwrap())
            .is_err()
    );
    s.verify(KeyRef::PIN, &PaddedPin::new(b"24682468").unwrap())
        .unwrap();
    assert_only_the_state_file(dir.path());
}

#[test]
fn a_corrupt_state_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    std::fs::write(&path, b"{\"format\": 1").unwrap();
    assert!(VirtualCard::open(&path, CardConfig::seeded(1)).is_err());
    assert!(parse_state(&path, b"{}").is_err());
}

const SELECT: &str = "00A4040009A0000003080000100000";
const VERIFY_RIGHT: &str = "0020008008313233343536FFFF";
const VERIFY_WRONG: &str = "0020008008313131313131FFFF";
const VERIFY_STATUS: &str = "00200080";

fn send(card: &mut VirtualCard, apdu: &str) -> Vec<u8> {
    card.process_apdu(&hex::decode(apdu).unwrap())
}

fn sw(card: &mut VirtualCard, apdu: &str) -> [u8; 2] {
    let response = send(card, apdu);
    response[response.len() - 2..].try_into().unwrap()
}

/// A file-backed card in its own directory, selected; removing the directory makes every save fail.
fn card_in_directory(seed: u64) -> (tempfile::TempDir, std::path::PathBuf, VirtualCard) {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let mut card = VirtualCard::open(&sub.join("card.json"), CardConfig::seeded(seed)).unwrap();
    assert_eq!(sw(&mut card, SELECT), [0x90, 0x00]);
    (dir, sub, card)
}

/// Makes the store work again (recreates the folder), verifies the right PIN and returns the answer and
/// the PIN tries left in the saved file.
fn verify_once_the_store_works(card: &mut VirtualCard, sub: &std::path::Path) -> ([u8; 2], u8) {
    std::fs::create_dir(sub).unwrap();
    let answer = sw(card, VERIFY_RIGHT);
    (answer, saved(sub).pin.retries_left)
}

fn saved(sub: &std::path::Path) -> tessera_virtual_card::state::PersistentState {
    let path = sub.join("card.json");
    parse_state(&path, &std::fs::read(&path).unwrap()).unwrap()
}

#[test]
fn a_change_that_cannot_be_saved_answers_6581_is_undone_and_logs_out() {
    let (_dir, sub, mut card) = card_in_directory(22);
    common::admin_session(&mut card);
    let before = card.persistent().clone();
    std::fs::remove_dir_all(&sub).unwrap();
    let put = "00DB3FFF0A5C035FC1055303AABBCC";
    assert_eq!(send(&mut card, put), StatusWord::MEMORY_FAILURE.to_bytes());
    assert_eq!(card.persistent(), &before, "the object was not stored");
    assert!(!card.volatile().management_authenticated);
    // With the directory back, the card is as before and the management key must be proven again.
    std::fs::create_dir(&sub).unwrap();
    assert_eq!(sw(&mut card, put), [0x69, 0x82]);
}

#[test]
fn wrong_pins_while_saves_fail_never_give_free_tries() {
    let (_dir, sub, mut card) = card_in_directory(26);
    std::fs::remove_dir_all(&sub).unwrap();
    // Each try is spent before the comparison; its save fails, so the answer is 6581, and the try stays
    // spent: after three, the PIN is blocked.
    let answers: Vec<[u8; 2]> = (0..10).map(|_| sw(&mut card, VERIFY_WRONG)).collect();
    assert_eq!(answers[..3], [[0x65, 0x81]; 3]);
    assert_eq!(answers[3..], [[0x69, 0x83]; 7]);
    assert_eq!(card.persistent().pin.retries_left, 0);
    assert_eq!(sw(&mut card, VERIFY_RIGHT), [0x69, 0x83]);
    assert_eq!(sw(&mut card, VERIFY_STATUS), [0x69, 0x83]);
    assert!(!card.volatile().pin_verified);
    // Once the store works again, the block reaches the file with the next PIN check.
    assert_eq!(verify_once_the_store_works(&mut card, &sub), ([0x69, 0x83], 0));
}

#[test]
fn the_right_pin_is_not_told_apart_while_saves_fail() {
    let (_dir, sub, mut card) = card_in_directory(27);
    std::fs::remove_dir_all(&sub).unwrap();
    assert_eq!(sw(&mut card, VERIFY_WRONG), [0x65, 0x81]);
    assert_eq!(
        sw(&mut card, VERIFY_RIGHT),
        [0x65, 0x81],
        "the same answer as a wrong PIN"
    );
    assert!(!card.volatile().pin_verified && !card.volatile().pin_just_verified);
    assert_eq!(
        sw(&mut card, VERIFY_STATUS),
        [0x63, 0xC1],
        "both tries were spent"
    );
    // The PIN-protected printed information stays closed.
    assert_eq!(sw(&mut card, "00CB3FFF055C035FC10900"), [0x69, 0x82]);
    // With a working store the right PIN verifies and the counter is full again.
    assert_eq!(verify_once_the_store_works(&mut card, &sub), ([0x90, 0x00], 3));
}

#[test]
fn puk_tries_are_spent_first_too() {
    let (_dir, sub, mut card) = card_in_directory(28);
    // RESET RETRY COUNTER and CHANGE REFERENCE DATA (PUK) with the right PUK and a new PIN/PUK.
    let unblock = "002C008010 3132333435363738 3234363832343638".replace(' ', "");
    let change_puk = "0024008110 3132333435363738 3837363534333231".replace(' ', "");
    std::fs::remove_dir_all(&sub).unwrap();
    assert_eq!(sw(&mut card, &unblock), [0x65, 0x81]);
    assert_eq!(sw(&mut card, &change_puk), [0x65, 0x81]);
    assert_eq!(card.persistent().puk.retries_left, 1);
    assert!(card.persistent().pin.is_value(b"123456"), "no new PIN");
    assert!(card.persistent().puk.is_value(b"12345678"), "no new PUK");
    assert_eq!(sw(&mut card, &unblock), [0x65, 0x81]);
    assert_eq!(sw(&mut card, &unblock), [0x69, 0x83], "the PUK is blocked");
    std::fs::create_dir(&sub).unwrap();
    assert_eq!(sw(&mut card, &unblock), [0x69, 0x83]);
    assert_eq!(saved(&sub).puk.retries_left, 0);
    assert_eq!(
        sw(&mut card, VERIFY_RIGHT),
        [0x90, 0x00],
        "the PIN itself was never touched"
    );
}

#[cfg(unix)]
#[test]
fn the_state_file_is_private_and_no_temporary_file_survives() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    // A temporary file left behind by a crash (with loose permissions) is removed when the card opens.
    let stale = dir.path().join(".card.json.tmp");
    std::fs::write(&stale, b"{\"pin\": \"secret\"}").unwrap();
    std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut card = VirtualCard::open(&path, CardConfig::seeded(29)).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert!(!stale.exists());
    assert_eq!(sw(&mut card, SELECT), [0x90, 0x00]);
    assert_eq!(sw(&mut card, VERIFY_RIGHT), [0x90, 0x00]);
    assert_eq!(mode(&path), 0o600, "still private after a save");
    assert_only_the_state_file(dir.path());
}

#[test]
fn counters_and_a_trace_without_secrets() {
    let mut card = common::card(23);
    let (trace, lines) = Trace::in_memory();
    card.set_trace(Some(trace));
    let counters = card.counters();
    let select = hex::decode("00A4040009A0000003080000100000").unwrap();
    let r1 = card.process_apdu(&select);
    let verify = hex::decode("0020008008313233343536FFFF").unwrap();
    let r2 = card.process_apdu(&verify);
    let snap = counters.snapshot();
    assert_eq!(snap.apdus, 2);
    assert_eq!(snap.command_bytes, (select.len() + verify.len()) as u64);
    assert_eq!(snap.response_bytes, (r1.len() + r2.len()) as u64);
    assert_eq!(
        serde_json::to_string(&snap).unwrap(),
        format!(
            "{{\"apdus\":2,\"bytes_in\":{},\"bytes_out\":{}}}",
            snap.command_bytes, snap.response_bytes
        )
    );
    card.power_cycle();
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[0], "> 00A4040009A0000003080000100000");
    assert!(lines[2].starts_with("> 00200080 <redacted>"), "{}", lines[2]);
    assert!(lines.iter().all(|l| !l.contains("313233343536")));
    assert_eq!(lines[3], "< 9000");
    assert_eq!(lines[4], "# reset");
}

#[test]
fn shared_card_reports_a_reset_once_to_the_other_connections() {
    let shared = SharedCard::new(common::card(24));
    let mut a = shared.connect();
    let mut b = shared.connect();
    let select = hex::decode("00A4040009A0000003080000100000").unwrap();
    assert!(a.transmit(&select).unwrap().ends_with(&[0x90, 0x00]));
    // Connections share the card's state: B sees the PIN A verified.
    a.transmit(&hex::decode("0020008008313233343536FFFF").unwrap())
        .unwrap();
    assert_eq!(b.transmit(&[0x00, 0x20, 0x00, 0x80]).unwrap(), [0x90, 0x00]);
    a.reset().unwrap();
    assert_eq!(b.transmit(&select), Err(TransportError::CardReset));
    assert!(b.transmit(&select).unwrap().ends_with(&[0x90, 0x00]));
    assert_eq!(
        a.transmit(&[0x00, 0x20, 0x00, 0x80]).unwrap(),
        [0x63, 0xC3],
        "the reset logged the PIN out"
    );
    // A connection made after the reset has nothing to report.
    let mut c = shared.connect();
    assert!(c.transmit(&select).is_ok());
}

#[test]
fn shared_card_serves_many_threads() {
    let shared = SharedCard::new(common::card(25));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let mut conn = shared.connect();
            thread::spawn(move || {
                let mut s = Session::new(&mut conn);
                for _ in 0..50 {
                    assert_eq!(s.get_version().unwrap().to_string(), "5.7.2");
                    assert_eq!(s.get_serial().unwrap(), tessera_virtual_card::DEFAULT_SERIAL);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let apdus = shared.with_card(|c| c.counters().snapshot().apdus).unwrap();
    assert!(apdus >= 400, "{apdus}");
}

/// The folder holds the state file `card.json` and nothing else: no temporary file is left behind.
fn assert_only_the_state_file(dir: &std::path::Path) {
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("card.json")]);
}
