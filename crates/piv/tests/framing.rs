//! Session framing against a scripted card: command chaining, `61xx` GET RESPONSE, `6Cxx` re-send, the
//! response-size bound, resets, and how status words become results. Every byte the host sends is
//! checked by the script.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use tessera_piv::apdu::Command;
use tessera_piv::hex::{HexBytes, literal as hex};
use tessera_piv::session::SessionOptions;
use tessera_piv::transport::Scripted;
use tessera_piv::{KeyRef, PaddedPin, PinStatus, PivError, Session, StatusWord, TransportError};

/// SELECT with the 9-byte AID (the form OpenSC sends), and a YubiKey 5's answer (as the Yubico .NET
/// SDK documentation shows it).
const SELECT: &str = "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00";
const SELECT_OK: &str = "61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 90 00";
const GET_CHUID: &str = "00 CB 3F FF 05 5C 03 5F C1 02 00";

fn selected(script: Scripted) -> Scripted {
    Scripted::new().expect_hex(SELECT, SELECT_OK).then(script)
}

fn with(bytes: &[u8], sw: u16) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.extend_from_slice(&sw.to_be_bytes());
    out
}

#[test]
fn chained_put_data_is_three_exact_blocks() {
    // 5C 03 5F C1 05 (5) + 53 82 02 4F (4) + 591 content bytes = 600 bytes of command data.
    let content: Vec<u8> = (0..591u32).map(|i| (i % 251) as u8).collect();
    let mut data = hex("5C 03 5F C1 05 53 82 02 4F");
    data.extend_from_slice(&content);
    assert_eq!(data.len(), 600);
    let block = |cla: u8, lc: u8, part: &[u8]| [&[cla, 0xDB, 0x3F, 0xFF, lc][..], part].concat();
    let script = selected(
        Scripted::new()
            .expect(block(0x10, 0xFF, &data[..255]), [0x90, 0x00])
            .expect(block(0x10, 0xFF, &data[255..510]), [0x90, 0x00])
            .expect(block(0x00, 0x5A, &data[510..]), [0x90, 0x00]),
    );
    let mut session = Session::new(script);
    session.put_data(0x5FC105, &content).unwrap();
    let sent = session.transport().received();
    assert_eq!(sent[1].len(), 5 + 255, "no Le on a PUT DATA block");
    assert_eq!(sent[3].len(), 5 + 90, "no Le on the last PUT DATA block either");
    assert_eq!(session.exchanges(), 4, "SELECT and three blocks");
    session.transport().assert_done();
}

#[test]
fn chained_command_with_le_carries_it_only_on_the_last_block() {
    let data: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
    let cmd = Command::new(0x00, 0x87, 0x07, 0x9A)
        .with_data(data.clone())
        .with_le(256);
    let mut first = hex("10 87 07 9A FF");
    first.extend_from_slice(&data[..255]);
    let mut second = hex("10 87 07 9A FF");
    second.extend_from_slice(&data[255..510]);
    let mut last = hex("00 87 07 9A 5A");
    last.extend_from_slice(&data[510..]);
    last.push(0x00);
    let script = Scripted::new()
        .expect(first, [0x90, 0x00])
        .expect(second, [0x90, 0x00])
        .expect(last, hex("7C 02 82 00 90 00"));
    let mut session = Session::new(script);
    let r = session.transmit(&cmd).unwrap();
    assert_eq!((r.data(), r.sw), (&hex("7C 02 82 00")[..], StatusWord::SUCCESS));
    session.transport().assert_done();
}

#[test]
fn refused_chained_block_ends_the_command() {
    let content = vec![0x42; 591];
    let mut data = hex("5C 03 5F C1 05 53 82 02 4F");
    data.extend_from_slice(&content);
    let first = [&hex("10 DB 3F FF FF")[..], &data[..255]].concat();
    let second = [&hex("10 DB 3F FF FF")[..], &data[255..510]].concat();
    // The card refuses the second block: its status is the answer and the third block is never sent.
    let script = selected(
        Scripted::new()
            .expect(first, [0x90, 0x00])
            .expect(second, [0x6A, 0x84]),
    );
    let mut session = Session::new(script);
    let err = session.put_data(0x5FC105, &content).unwrap_err();
    assert!(
        matches!(
            err,
            PivError::Status {
                sw: StatusWord::NOT_ENOUGH_MEMORY,
                ..
            }
        ),
        "{err:?}"
    );
    session.transport().assert_done();
    assert_eq!(session.transport().received().len(), 3);

    // The same through `transmit`: the refusal comes back as the response.
    let cmd = Command::new(0x00, 0xDB, 0x3F, 0xFF).with_data(data.clone());
    let script = Scripted::new().expect([&hex("10 DB 3F FF FF")[..], &data[..255]].concat(), [0x69, 0x82]);
    let mut session = Session::new(script);
    let r = session.transmit(&cmd).unwrap();
    assert_eq!(r.sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);
    assert!(r.data().is_empty());
    session.transport().assert_done();
}

#[test]
fn get_response_sequences_are_concatenated() {
    let part1: Vec<u8> = (0..256u32).map(|i| i as u8).collect();
    let part2: Vec<u8> = (0..256u32).map(|i| (255 - i) as u8).collect();
    let part3: Vec<u8> = vec![0xEE; 0x10];
    let script = Scripted::new()
        .expect_hex("00 FD 00 00 00", &HexBytes(&with(&part1, 0x6100)).to_string())
        .expect_hex("00 C0 00 00 00", &HexBytes(&with(&part2, 0x6110)).to_string())
        .expect_hex("00 C0 00 00 10", &HexBytes(&with(&part3, 0x9000)).to_string());
    let mut session = Session::new(script);
    let r = session
        .transmit(&Command::new(0x00, 0xFD, 0x00, 0x00).with_le(256))
        .unwrap();
    assert_eq!(r.sw, StatusWord::SUCCESS);
    assert_eq!(r.data(), [part1, part2, part3].concat());
    assert_eq!(session.exchanges(), 3, "the command and two GET RESPONSEs");
    session.transport().assert_done();
}

#[test]
fn get_data_through_several_get_response_rounds() {
    // A 600-byte certificate object read in 256 + 256 + rest.
    let content: Vec<u8> = (0..596u32).map(|i| (i * 7) as u8).collect();
    let object = [&hex("53 82 02 54")[..], &content].concat();
    assert_eq!(object.len(), 600);
    let script = selected(
        Scripted::new()
            .expect(
                hex("00 CB 3F FF 05 5C 03 5F C1 05 00"),
                with(&object[..256], 0x6100),
            )
            .expect(hex("00 C0 00 00 00"), with(&object[256..512], 0x6158))
            .expect(hex("00 C0 00 00 58"), with(&object[512..], 0x9000)),
    );
    let mut session = Session::new(script);
    let got = session.get_data(0x5FC105).unwrap().unwrap();
    assert_eq!(*got, content);
    session.transport().assert_done();
}

#[test]
fn the_head_of_an_object_is_one_short_exchange_even_with_extended_length() {
    // The first 256 bytes of a 600-byte object, and no GET RESPONSE for the rest.
    let object: Vec<u8> = [&hex("53 82 02 54")[..], &[0xA5; 596]].concat();
    // With extended length in use, SELECT asks for everything in the extended form.
    let select = tessera_piv::commands::select(&tessera_piv::commands::PIV_AID)
        .with_le(65_536)
        .to_extended()
        .unwrap();
    let script = Scripted::new().expect(select, hex(SELECT_OK)).then(
        Scripted::new()
            .expect(
                hex("00 CB 3F FF 05 5C 03 5F C1 05 00"),
                with(&object[..256], 0x6100),
            )
            // An absent object, and one shorter than 256 bytes on a card that wants the exact Le.
            .expect_hex("00 CB 3F FF 05 5C 03 5F C1 0A 00", "6A 82")
            .expect_hex("00 CB 3F FF 05 5C 03 5F C1 0D 00", "6C 05")
            .expect_hex("00 CB 3F FF 05 5C 03 5F C1 0D 05", "53 03 70 01 00 90 00")
            // Any other refusal is an error.
            .expect_hex("00 CB 3F FF 05 5C 03 5F C1 0E 00", "69 82"),
    );
    let options = SessionOptions {
        extended_length: true,
        ..SessionOptions::default()
    };
    let mut session = Session::with_options(script, options);
    let head = session.get_data_head(0x5FC105).unwrap().unwrap();
    assert_eq!(*head, object[..256]);
    assert_eq!(session.exchanges(), 2, "SELECT and one GET DATA");
    assert_eq!(session.get_data_head(0x5FC10A).unwrap(), None);
    assert_eq!(
        *session.get_data_head(0x5FC10D).unwrap().unwrap(),
        hex("53 03 70 01 00")
    );
    assert!(session.get_data_head(0x5FC10E).is_err());
    session.transport().assert_done();
}

#[test]
fn an_assumed_selection_sends_no_select_and_a_short_read_gets_one_refusal() {
    // A card with no application selected refuses the CHUID read once (`6D00`): framed short, it is
    // not sent again in the other framing. The caller then selects.
    let select = tessera_piv::commands::select(&tessera_piv::commands::PIV_AID)
        .with_le(65_536)
        .to_extended()
        .unwrap();
    let script = Scripted::new()
        .expect_hex(GET_CHUID, "6D 00")
        .expect(select, hex(SELECT_OK))
        .expect_hex(GET_CHUID, "53 0A 34 08 01 02 03 04 05 06 07 08 90 00");
    let options = SessionOptions {
        extended_length: true,
        ..SessionOptions::default()
    };
    let mut session = Session::with_options(script, options);
    session.assume_selected();
    let refused = session.get_data_short(0x5FC102).unwrap_err();
    assert_eq!(refused.status_word(), Some(StatusWord::INS_NOT_SUPPORTED));
    assert_eq!(
        session.exchanges(),
        1,
        "one GET DATA, no SELECT, no extended retry"
    );
    session.mark_deselected();
    assert_eq!(
        *session.get_data_short(0x5FC102).unwrap().unwrap(),
        hex("34 08 01 02 03 04 05 06 07 08")
    );
    session.transport().assert_done();
}

#[test]
fn wrong_le_is_resent_with_the_le_the_card_asks_for() {
    // With Le: the last byte is replaced.
    let script = Scripted::new()
        .expect_hex("00 CB 3F FF 03 5C 01 7E 00", "6C 14")
        .expect_hex(
            "00 CB 3F FF 03 5C 01 7E 14",
            "7E 12 4F 0B A0000003080000100001 00 5F2F 02 40 00 90 00",
        );
    let mut session = Session::new(script);
    let cmd = tessera_piv::commands::get_data(0x7E).unwrap();
    let r = session.transmit(&cmd).unwrap();
    assert_eq!(r.data().len(), 0x14);
    session.transport().assert_done();
    // Without Le the command asked for no data: the answer is returned as it is, nothing is re-sent.
    let script = Scripted::new().expect_hex("00 F8 00 00", "6C 04");
    let mut session = Session::new(script);
    let r = session.transmit(&Command::new(0x00, 0xF8, 0x00, 0x00)).unwrap();
    assert_eq!(r.sw, StatusWord::from_bytes(0x6C, 0x04));
    assert_eq!(session.exchanges(), 1);
    session.transport().assert_done();
    // 6Cxx followed by 61xx: both are honoured.
    let script = Scripted::new()
        .expect_hex("00 F8 00 00 00", "6C 02")
        .expect_hex("00 F8 00 00 02", "00 52 61 02")
        .expect_hex("00 C0 00 00 02", "F7 43 90 00");
    let mut session = Session::new(script);
    let r = session.transmit(&tessera_piv::commands::get_serial()).unwrap();
    assert_eq!(r.data(), [0x00, 0x52, 0xF7, 0x43]);
    session.transport().assert_done();
}

/// Commands that carry a PIN or PUK have no Le: a `6Cxx` answer to one of them is a card error, and
/// sending the command again would present the secret a second time.
#[test]
fn pin_commands_answered_6cxx_are_sent_once() {
    let pin = PaddedPin::new(b"123456").unwrap();
    let puk = PaddedPin::new(b"12345678").unwrap();
    let verify = [&hex("00 20 00 80 08")[..], pin.as_bytes()].concat();
    let change = [&hex("00 24 00 80 10")[..], pin.as_bytes(), puk.as_bytes()].concat();
    let unblock = [&hex("00 2C 00 80 10")[..], puk.as_bytes(), pin.as_bytes()].concat();
    type Call = fn(&mut Session<Scripted>, &PaddedPin, &PaddedPin) -> tessera_piv::Result<()>;
    let calls: [(&str, Vec<u8>, Call); 3] = [
        ("VERIFY", verify, |s, p, _| s.verify(KeyRef::PIN, p)),
        ("CHANGE REFERENCE DATA", change, |s, p, q| {
            s.change_reference_data(KeyRef::PIN, p, q)
        }),
        ("RESET RETRY COUNTER", unblock, |s, p, q| {
            s.reset_retry_counter(q, p)
        }),
    ];
    for (name, command, call) in calls {
        for answer in ["6C 00", "6C 08"] {
            let mut session = Session::new(selected(Scripted::new().expect(command.clone(), hex(answer))));
            let result = call(&mut session, &pin, &puk);
            let sent = session
                .transport()
                .received()
                .iter()
                .filter(|c| c[..4] == command[..4])
                .count();
            assert_eq!(
                sent, 1,
                "{name} answered {answer}: the secret went out {sent} times"
            );
            match result {
                Err(PivError::Status { command: c, sw }) => {
                    assert_eq!((c, sw), (name, StatusWord::from_bytes(0x6C, hex(answer)[1])));
                }
                other => panic!("{name} answered {answer}: expected the card's status, got {other:?}"),
            }
            session.transport().assert_done();
        }
    }
}

#[test]
fn wrong_le_after_a_chained_command_is_the_answer_not_a_resent_last_block() {
    // The card answers the last block of a chain with 6Cxx. Resending that block alone would be a new,
    // truncated command (the chain ended with the card's answer): the status is returned as it is.
    let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let cmd = Command::new(0x00, 0x87, 0x07, 0x9A)
        .with_data(data.clone())
        .with_le(256);
    let first = [&hex("10 87 07 9A FF")[..], &data[..255]].concat();
    let last = [&hex("00 87 07 9A 2D")[..], &data[255..], &[0x00]].concat();
    let script = Scripted::new()
        .expect(first, [0x90, 0x00])
        .expect(last, [0x6C, 0x10]);
    let mut session = Session::new(script);
    let r = session.transmit(&cmd).unwrap();
    assert_eq!(r.sw, StatusWord::from_bytes(0x6C, 0x10));
    assert!(r.data().is_empty());
    assert_eq!(session.exchanges(), 2, "nothing is sent after the 6C10");
    session.transport().assert_done();
}

fn endless_get_response(mut script: Scripted, rounds: usize) -> Scripted {
    for _ in 0..rounds {
        script = script.expect(hex("00 C0 00 00 00"), with(&[0xAB; 256], 0x6100));
    }
    script
}

#[test]
fn hostile_card_cannot_exceed_max_response() {
    // Small limit: 256 + 3 × 256 = 1024 is accepted, the fourth GET RESPONSE crosses the limit.
    let options = SessionOptions {
        max_response: 1024,
        ..SessionOptions::default()
    };
    let script = Scripted::new().expect(hex("00 FD 00 00 00"), with(&[0xAB; 256], 0x6100));
    let script = endless_get_response(script, 4);
    let mut session = Session::with_options(script, options);
    let err = session
        .transmit(&Command::new(0x00, 0xFD, 0x00, 0x00).with_le(256))
        .unwrap_err();
    assert!(
        matches!(err, PivError::ResponseTooLong { limit: 1024 }),
        "{err:?}"
    );
    session.transport().assert_done();

    // Default limit (64 KiB): a card answering 61 00 forever is cut off after 256 rounds.
    let script = Scripted::new().expect(hex("00 FD 00 00 00"), with(&[0xAB; 256], 0x6100));
    let script = endless_get_response(script, 256);
    let mut session = Session::new(script);
    let err = session
        .transmit(&Command::new(0x00, 0xFD, 0x00, 0x00).with_le(256))
        .unwrap_err();
    assert!(
        matches!(err, PivError::ResponseTooLong { limit: 65536 }),
        "{err:?}"
    );
    session.transport().assert_done();
}

/// A card that answers every command and every GET RESPONSE with one byte and `61 01`.
struct OneByteAtATime;

impl tessera_piv::Transport for OneByteAtATime {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(vec![0xAB, 0x61, 0x01])
    }
}

#[test]
fn get_response_rounds_are_capped_not_only_bytes() {
    // A card dripping one byte per round stays far below the 64 KiB byte limit for 65 000 rounds, while
    // the caller holds the card. The round cap (twice the rounds that full 256-byte answers need to reach
    // the limit: 2 × 256) ends it after 512 GET RESPONSEs.
    let mut session = Session::new(OneByteAtATime);
    let err = session
        .transmit(&tessera_piv::commands::get_version())
        .unwrap_err();
    assert_eq!(session.exchanges(), 1 + 512, "exchanges until the error");
    assert!(
        matches!(
            err,
            PivError::MalformedResponse {
                command: "GET RESPONSE",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn bytes_remaining_without_data() {
    // The usual case: 61 xx with no data, then everything through GET RESPONSE.
    let script = Scripted::new()
        .expect_hex("00 FD 00 00 00", "61 03")
        .expect_hex("00 C0 00 00 03", "05 07 02 90 00");
    let mut session = Session::new(script);
    let r = session.transmit(&tessera_piv::commands::get_version()).unwrap();
    assert_eq!(r.data(), [5, 7, 2]);
    session.transport().assert_done();

    // A GET RESPONSE that brings nothing but promises more would loop forever: refused.
    let script = Scripted::new()
        .expect_hex("00 FD 00 00 00", "61 10")
        .expect_hex("00 C0 00 00 10", "61 10");
    let mut session = Session::new(script);
    let err = session
        .transmit(&tessera_piv::commands::get_version())
        .unwrap_err();
    assert!(matches!(err, PivError::MalformedResponse { .. }), "{err:?}");
    session.transport().assert_done();
}

#[test]
fn a_sloppy_select_template_still_selects_the_application() {
    // 9000 with a template that has a trailing byte and a malformed 79: the card is a PIV card and stays
    // usable; what parsed is reported, the rest defaults, and the next command is not preceded by SELECT.
    let script = Scripted::new()
        .expect_hex(
            SELECT,
            "61 13 4F 06 00 00 10 00 01 00 79 03 4F 05 A0 AC 04 80 01 11 FF 00 90 00",
        )
        .expect_hex(GET_CHUID, "6A 82");
    let mut session = Session::new(script);
    let apt = session.select().unwrap();
    assert!(session.is_selected());
    assert_eq!(apt.application_id, hex("00 00 10 00 01 00"));
    assert_eq!(apt.allocation_authority, None);
    assert_eq!(apt.algorithms, [tessera_piv::AlgorithmId(0x11)]);
    assert_eq!(session.get_data(0x5FC102).unwrap(), None);
    session.transport().assert_done();

    // Garbage with 9000 selects too (with default properties); an error status still does not.
    let script = Scripted::new()
        .expect_hex(SELECT, "FF FF 90 00")
        .expect_hex(SELECT, "6A 82");
    let mut session = Session::new(script);
    assert_eq!(session.select().unwrap(), Default::default());
    assert!(session.is_selected());
    assert!(session.select().is_err());
    assert!(!session.is_selected());
    session.transport().assert_done();
}

#[test]
fn card_reset_makes_the_session_select_again() {
    let script = Scripted::new()
        .expect_hex(SELECT, SELECT_OK)
        .expect_hex(GET_CHUID, "6A 82")
        .expect_fail(hex(GET_CHUID), TransportError::CardReset)
        .expect_hex(SELECT, SELECT_OK)
        .expect_hex(GET_CHUID, "6A 82");
    let mut session = Session::new(script);
    assert_eq!(session.get_data(0x5FC102).unwrap(), None);
    assert!(session.is_selected());
    let err = session.get_data(0x5FC102).unwrap_err();
    assert!(err.is_reset_or_removed(), "{err:?}");
    assert_eq!(session.resets_seen(), 1);
    assert!(!session.is_selected());
    // The next command selects first.
    assert_eq!(session.get_data(0x5FC102).unwrap(), None);
    assert_eq!(session.resets_seen(), 1);
    session.transport().assert_done();

    // Removal counts as well; an I/O error does not.
    let script = Scripted::new()
        .expect_hex(SELECT, SELECT_OK)
        .fail_next(TransportError::CardRemoved)
        .fail_next(TransportError::Io("cable".into()));
    let mut session = Session::new(script);
    session.select().unwrap();
    assert!(session.get_data(0x5FC102).unwrap_err().is_reset_or_removed());
    assert_eq!(session.resets_seen(), 1);
    let err = session.select().unwrap_err();
    assert!(matches!(err, PivError::Transport(TransportError::Io(_))));
    assert_eq!(session.resets_seen(), 1);
    session.transport().assert_done();
}

#[test]
fn get_data_absent_forms() {
    let script = selected(
        Scripted::new()
            .expect_hex(GET_CHUID, "6A 82")
            .expect_hex(GET_CHUID, "53 00 90 00")
            .expect_hex(GET_CHUID, "53 03 34 01 AA 90 00")
            .expect_hex(GET_CHUID, "54 00 90 00")
            .expect_hex(GET_CHUID, "53 03 34 01 90 00")
            .expect_hex(GET_CHUID, "69 82")
            .expect_hex("00 CB 3F FF 03 5C 01 7E 00", "7E 08 4F 01 A0 5F2F 02 40 00 90 00"),
    );
    let mut session = Session::new(script);
    assert_eq!(session.get_data(0x5FC102).unwrap(), None, "6A82");
    assert_eq!(session.get_data(0x5FC102).unwrap(), None, "53 00");
    assert_eq!(*session.get_data(0x5FC102).unwrap().unwrap(), [0x34, 0x01, 0xAA]);
    assert!(matches!(
        session.get_data(0x5FC102).unwrap_err(),
        PivError::MalformedResponse { .. }
    ));
    assert!(matches!(
        session.get_data(0x5FC102).unwrap_err(),
        PivError::MalformedResponse { .. }
    ));
    assert!(matches!(
        session.get_data(0x5FC102).unwrap_err(),
        PivError::SecurityStatusNotSatisfied { .. }
    ));
    // The discovery object comes back as the value inside 7E.
    assert_eq!(
        *session.get_data(0x7E).unwrap().unwrap(),
        hex("4F 01 A0 5F2F 02 40 00")
    );
    session.transport().assert_done();
}

#[test]
fn verify_status_words_become_errors() {
    let verify = "00 20 00 80 08 31 32 33 34 35 36 FF FF";
    let script = selected(
        Scripted::new()
            .expect_hex(verify, "63 C2")
            .expect_hex(verify, "69 83")
            .expect_hex(verify, "63 C0")
            .expect_hex(verify, "90 00"),
    );
    let mut session = Session::new(script);
    let pin = PaddedPin::new(b"123456").unwrap();
    assert!(matches!(
        session.verify(KeyRef::PIN, &pin).unwrap_err(),
        PivError::WrongPin { retries: 2 }
    ));
    assert!(matches!(
        session.verify(KeyRef::PIN, &pin).unwrap_err(),
        PivError::Blocked
    ));
    assert!(matches!(
        session.verify(KeyRef::PIN, &pin).unwrap_err(),
        PivError::WrongPin { retries: 0 }
    ));
    session.verify(KeyRef::PIN, &pin).unwrap();
    session.transport().assert_done();
}

#[test]
fn pin_status_variants() {
    let status = "00 20 00 80";
    let script = selected(
        Scripted::new()
            .expect_hex(status, "90 00")
            .expect_hex(status, "63 C3")
            .expect_hex(status, "63 02") // old cards (OpenSC CI_VERIFY_630X)
            .expect_hex(status, "63 C0")
            .expect_hex(status, "69 83")
            .expect_hex(status, "6A 88")
            .expect_hex("00 20 FF 80", "90 00")
            .expect_hex("00 20 00 81", "63 C5"),
    );
    let mut session = Session::new(script);
    assert_eq!(session.pin_status(KeyRef::PIN).unwrap(), PinStatus::Verified);
    assert_eq!(
        session.pin_status(KeyRef::PIN).unwrap(),
        PinStatus::NotVerified { retries: 3 }
    );
    assert_eq!(
        session.pin_status(KeyRef::PIN).unwrap(),
        PinStatus::NotVerified { retries: 2 }
    );
    assert_eq!(session.pin_status(KeyRef::PIN).unwrap(), PinStatus::Blocked);
    assert_eq!(session.pin_status(KeyRef::PIN).unwrap(), PinStatus::Blocked);
    assert!(matches!(
        session.pin_status(KeyRef::PIN).unwrap_err(),
        PivError::Status {
            sw: StatusWord::REFERENCE_NOT_FOUND,
            ..
        }
    ));
    session.logout(KeyRef::PIN).unwrap();
    assert_eq!(
        session.pin_status(KeyRef::PUK).unwrap(),
        PinStatus::NotVerified { retries: 5 }
    );
    session.transport().assert_done();
}

#[test]
fn a_script_mismatch_surfaces_as_a_transport_error() {
    let script = Scripted::new()
        .expect_hex(SELECT, SELECT_OK)
        .expect_hex(GET_CHUID, "90 00");
    let mut session = Session::new(script);
    // The host asks for a different object than the script expects.
    let err = session.get_data(0x5FC105).unwrap_err();
    assert!(
        matches!(err, PivError::Transport(TransportError::Io(ref m)) if m.contains("step 2")),
        "{err:?}"
    );
    assert!(session.transport().mismatch().is_some());
    assert!(!session.transport().is_done());
}

// ---------------------------------------------------------------------------------------------------
// Extended length (ISO/IEC 7816-4 §5.1), switched on by the card's ATR.

/// The 9-byte SELECT with an extended Le, and a YubiKey's answer in one piece.
const SELECT_EXTENDED: &str = "00 A4 04 00 00 00 09 A0 00 00 03 08 00 00 10 00 00 00";
const SELECT_EXTENDED_OK: &str = "4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 90 00";
/// GET DATA of the 9A certificate (5FC105) asking for everything, extended.
const GET_CERT_EXTENDED: &str = "00 CB 3F FF 00 00 05 5C 03 5F C1 05 00 00";
const GET_CERT_SHORT: &str = "00 CB 3F FF 05 5C 03 5F C1 05 00";

/// libykpiv's `YKPIV_ATR_YK5`: the card capabilities announce extended Lc/Le.
const YUBIKEY_ATR: [u8; 23] = [
    0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75,
    0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
];

/// What a reader that cannot carry an extended APDU reports (pcsc-lite: `SCARD_E_NOT_TRANSACTED`).
fn reader_failure() -> TransportError {
    TransportError::Backend(tessera_piv::BackendError::new(std::io::Error::other(
        "SCARD_E_NOT_TRANSACTED",
    )))
}

fn extended(script: Scripted) -> Session<Scripted> {
    let options = SessionOptions::for_atr(&YUBIKEY_ATR);
    assert!(
        options.extended_length,
        "the YubiKey ATR announces extended length"
    );
    Session::with_options(script, options)
}

/// A certificate object of `len` content bytes as GET DATA answers it (`53 82 LL LL …`).
fn certificate_answer(len: usize) -> Vec<u8> {
    let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut out = vec![0x53, 0x82];
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&content);
    out
}

#[test]
fn an_atr_without_the_capability_keeps_short_apdus() {
    // Category 80 with card capabilities 73 80 00 80: chaining, no extended Lc/Le.
    let atr = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x80, 0x00, 0x80, 0x00];
    assert!(!SessionOptions::for_atr(&atr).extended_length);
    assert!(!SessionOptions::for_atr(&[0x3B, 0x00]).extended_length);
    let mut session = Session::with_options(
        Scripted::new().expect_hex(SELECT, SELECT_OK),
        SessionOptions::for_atr(&atr),
    );
    session.select().unwrap();
    assert!(!session.uses_extended_length());
    session.transport().assert_done();
}

#[test]
fn an_extended_session_reads_a_certificate_in_one_exchange() {
    let answer = certificate_answer(1200);
    let script = Scripted::new()
        .expect_hex(SELECT_EXTENDED, SELECT_EXTENDED_OK)
        .expect(hex(GET_CERT_EXTENDED), with(&answer, 0x9000));
    let mut session = extended(script);
    let content = session.get_data(0x5FC105).unwrap().unwrap();
    assert_eq!(content.len(), 1200);
    assert_eq!(&content[..], &answer[4..]);
    assert_eq!(
        session.exchanges(),
        2,
        "SELECT and one GET DATA: no GET RESPONSE rounds"
    );
    assert!(session.uses_extended_length());
    session.transport().assert_done();
}

#[test]
fn an_extended_rsa_operation_is_one_apdu_each_way() {
    // RSA-2048: 7C 82 01 06 { 82 00, 81 82 01 00 <256 bytes> } = 266 data bytes, Le 00 00.
    let block = vec![0x5A; 256];
    let cmd = tessera_piv::commands::private_key_operation(
        tessera_piv::AlgorithmId::RSA2048,
        KeyRef::AUTHENTICATION,
        &block,
    )
    .unwrap();
    assert_eq!(cmd.data().len(), 266);
    let mut sent = hex("00 87 07 9A 00 01 0A");
    sent.extend_from_slice(cmd.data());
    sent.extend_from_slice(&[0x00, 0x00]);
    let signature = vec![0xA5; 256];
    let mut answer = hex("7C 82 01 04 82 82 01 00");
    answer.extend_from_slice(&signature);
    let script = Scripted::new()
        .expect_hex(SELECT_EXTENDED, SELECT_EXTENDED_OK)
        .expect(sent, with(&answer, 0x9000));
    let mut session = extended(script);
    let result = session
        .private_key_operation(KeyRef::AUTHENTICATION, tessera_piv::AlgorithmId::RSA2048, &block)
        .unwrap();
    assert_eq!(&result[..], &signature[..]);
    assert_eq!(session.exchanges(), 2, "SELECT and one GENERAL AUTHENTICATE");
    session.transport().assert_done();
}

#[test]
fn a_card_that_refuses_extended_length_gets_short_apdus_from_then_on() {
    for refusal in ["67 00", "6D 00", "6C 00"] {
        let answer = certificate_answer(300);
        let script = Scripted::new()
            .expect_hex(SELECT_EXTENDED, refusal)
            .expect_hex(SELECT, SELECT_OK)
            .expect(hex(GET_CERT_SHORT), with(&answer[..256], 0x612C))
            .expect(hex("00 C0 00 00 2C"), with(&answer[256..], 0x9000));
        let mut session = extended(script);
        session.select().unwrap();
        assert!(
            !session.uses_extended_length(),
            "after {refusal} the session keeps to short APDUs"
        );
        let content = session.get_data(0x5FC105).unwrap().unwrap();
        assert_eq!(&content[..], &answer[4..], "after {refusal}");
        session.transport().assert_done();
    }
}

#[test]
fn a_long_command_refused_in_extended_form_goes_again_as_a_chain() {
    let content = vec![0x42; 591];
    let mut data = hex("5C 03 5F C1 05 53 82 02 4F");
    data.extend_from_slice(&content);
    let mut one = hex("00 DB 3F FF 00 02 58");
    one.extend_from_slice(&data);
    let block = |cla: u8, lc: u8, part: &[u8]| [&[cla, 0xDB, 0x3F, 0xFF, lc][..], part].concat();
    let script = Scripted::new()
        .expect_hex(SELECT_EXTENDED, SELECT_EXTENDED_OK)
        .expect(one, [0x67, 0x00])
        .expect(block(0x10, 0xFF, &data[..255]), [0x90, 0x00])
        .expect(block(0x10, 0xFF, &data[255..510]), [0x90, 0x00])
        .expect(block(0x00, 0x5A, &data[510..]), [0x90, 0x00]);
    let mut session = extended(script);
    session.put_data(0x5FC105, &content).unwrap();
    assert!(!session.uses_extended_length());
    session.transport().assert_done();
}

#[test]
fn the_same_refusal_in_both_forms_is_not_about_the_framing() {
    // A card reset through the same handle lost its application: it answers 6D00 to any GET DATA. The
    // short form gets the same answer, so extended length stays in use and 6D00 is the answer.
    let script = Scripted::new()
        .expect_hex(SELECT_EXTENDED, SELECT_EXTENDED_OK)
        .expect_hex(GET_CERT_EXTENDED, "6D 00")
        .expect_hex(GET_CERT_SHORT, "6D 00");
    let mut session = extended(script);
    session.select().unwrap();
    let r = session
        .transmit(&tessera_piv::commands::get_data(0x5FC105).unwrap())
        .unwrap();
    assert_eq!(r.sw, StatusWord::INS_NOT_SUPPORTED);
    assert!(session.uses_extended_length());
    session.transport().assert_done();
}

#[test]
fn pin_commands_go_short_in_an_extended_session_and_are_never_sent_twice() {
    let pin = PaddedPin::new(b"123456").unwrap();
    let verify = [&hex("00 20 00 80 08")[..], pin.as_bytes()].concat();
    for answer in ["67 00", "6D 00", "6C 08", "63 C2"] {
        let script = Scripted::new()
            .expect_hex(SELECT_EXTENDED, SELECT_EXTENDED_OK)
            .expect(verify.clone(), hex(answer));
        let mut session = extended(script);
        session.select().unwrap();
        assert!(
            session.verify(KeyRef::PIN, &pin).is_err(),
            "VERIFY answered {answer}"
        );
        let sent = session
            .transport()
            .received()
            .iter()
            .filter(|c| c.get(1) == Some(&0x20))
            .count();
        assert_eq!(sent, 1, "VERIFY answered {answer}: the PIN went out {sent} times");
        assert!(
            session.uses_extended_length(),
            "a PIN command's answer says nothing about extended length ({answer})"
        );
        session.transport().assert_done();
    }
    // CHANGE REFERENCE DATA and RESET RETRY COUNTER, in the short form an extended session still uses.
    let puk = PaddedPin::new(b"12345678").unwrap();
    let change = [&hex("00 24 00 80 10")[..], pin.as_bytes(), puk.as_bytes()].concat();
    let unblock = [&hex("00 2C 00 80 10")[..], puk.as_bytes(), pin.as_bytes()].concat();
    let script = Scripted::new()
        .expect_hex(SELECT_EXTENDED, SELECT_EXTENDED_OK)
        .expect(change, hex("67 00"))
        .expect(unblock, hex("67 00"));
    let mut session = extended(script);
    session.select().unwrap();
    assert!(session.change_reference_data(KeyRef::PIN, &pin, &puk).is_err());
    assert!(session.reset_retry_counter(&puk, &pin).is_err());
    assert_eq!(session.exchanges(), 3, "each sent once");
    session.transport().assert_done();
}

#[test]
fn a_reader_that_cannot_carry_an_extended_apdu_gets_reads_again_and_nothing_else() {
    // The reader fails the extended SELECT (PC/SC error): SELECT changes nothing, so it goes again short.
    let script = Scripted::new()
        .expect_fail(hex(SELECT_EXTENDED), reader_failure())
        .expect_hex(SELECT, SELECT_OK);
    let mut session = extended(script);
    session.select().unwrap();
    assert!(!session.uses_extended_length());
    session.transport().assert_done();
    // A private-key operation may have reached the card: the failure is the answer, nothing is resent,
    // and the next command goes short.
    let block = vec![0x5A; 256];
    let cmd = tessera_piv::commands::private_key_operation(
        tessera_piv::AlgorithmId::RSA2048,
        KeyRef::AUTHENTICATION,
        &block,
    )
    .unwrap();
    let mut sent = hex("00 87 07 9A 00 01 0A");
    sent.extend_from_slice(cmd.data());
    sent.extend_from_slice(&[0x00, 0x00]);
    let script = Scripted::new()
        .expect_hex(SELECT_EXTENDED, SELECT_EXTENDED_OK)
        .expect_fail(sent, reader_failure())
        .expect_hex(GET_CERT_SHORT, "6A 82");
    let mut session = extended(script);
    session.select().unwrap();
    let e = session
        .private_key_operation(KeyRef::AUTHENTICATION, tessera_piv::AlgorithmId::RSA2048, &block)
        .unwrap_err();
    match e {
        PivError::Transport(t) => assert_eq!(t, reader_failure()),
        other => panic!("expected the reader's failure, got {other:?}"),
    }
    assert_eq!(session.get_data(0x5FC105).unwrap(), None);
    session.transport().assert_done();
}
