//! The state file (creation, reload, rollback when a save fails), counters and the redacted trace, and
//! shared connections with PC/SC reset semantics.
#![allow(clippy::unwrap_used)]

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
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("card.json")]);
}

#[test]
fn a_corrupt_state_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    std::fs::write(&path, b"{\"format\": 1").unwrap();
    assert!(VirtualCard::open(&path, CardConfig::seeded(1)).is_err());
    assert!(parse_state(&path, b"{}").is_err());
}

#[test]
fn a_failed_save_answers_6581_and_leaves_the_card_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("card.json");
    let mut card = VirtualCard::open(&path, CardConfig::seeded(22)).unwrap();
    let before = card.persistent().clone();
    std::fs::remove_dir_all(&sub).unwrap();
    let select = hex::decode("00A4040009A0000003080000100000").unwrap();
    assert!(card.process_apdu(&select).ends_with(&[0x90, 0x00]));
    // A wrong PIN changes the retry counter, which must be saved: the save fails.
    let wrong = hex::decode("0020008008313131313131FFFF").unwrap();
    assert_eq!(card.process_apdu(&wrong), StatusWord::MEMORY_FAILURE.to_bytes());
    assert_eq!(card.persistent(), &before);
    assert_eq!(card.process_apdu(&[0x00, 0x20, 0x00, 0x80]), [0x63, 0xC3]);
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
    assert_eq!(snap.bytes_in, (select.len() + verify.len()) as u64);
    assert_eq!(snap.bytes_out, (r1.len() + r2.len()) as u64);
    assert_eq!(
        snap.to_json(),
        format!(
            "{{\"apdus\":2,\"bytes_in\":{},\"bytes_out\":{}}}",
            snap.bytes_in, snap.bytes_out
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
