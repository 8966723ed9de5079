//! Parser unit tests: each command shape and the status word of each kind of malformed input.

use tessera_piv::apdu::ParsedCommand;
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, StatusWord, TouchPolicy};

use super::*;

fn parse(bytes: &[u8]) -> Result<Command, StatusWord> {
    Command::parse(&ParsedCommand::parse(bytes).unwrap())
}

#[test]
fn select_forms() {
    assert_eq!(
        parse(&[0, 0xA4, 4, 0, 5, 0xA0, 0, 0, 3, 8]),
        Ok(Command::Select(SelectTarget::Piv))
    );
    assert_eq!(
        parse(&[0, 0xA4, 4, 0, 4, 0xA0, 0, 0, 3]),
        Ok(Command::Select(SelectTarget::Unknown))
    );
    let mut mgmt = vec![0, 0xA4, 4, 0, 8];
    mgmt.extend_from_slice(&YUBICO_MANAGEMENT_AID);
    assert_eq!(parse(&mgmt), Ok(Command::Select(SelectTarget::YubicoManagement)));
}

#[test]
fn object_tags_must_be_minimal_and_known() {
    assert_eq!(
        parse(&[0, 0xCB, 0x3F, 0xFF, 3, 0x5C, 1, 0x7E]),
        Ok(Command::GetData { tag: 0x7E })
    );
    assert_eq!(
        parse(&[0, 0xCB, 0x3F, 0xFF, 4, 0x5C, 2, 0x00, 0x7E]),
        Err(StatusWord::INCORRECT_DATA)
    );
    assert_eq!(
        parse(&[0, 0xCB, 0x3F, 0xFF, 6, 0x5C, 4, 0, 0x5F, 0xC1, 2]),
        Err(StatusWord::INCORRECT_DATA)
    );
    assert_eq!(
        parse(&[0, 0xCB, 0x3F, 0xFF, 5, 0x5C, 3, 0x5F, 0x00, 0x01]),
        Ok(Command::GetData { tag: 0x5F_0001 })
    );
}

#[test]
fn put_data_unwraps_the_object() {
    let cmd = parse(&[0, 0xDB, 0x3F, 0xFF, 8, 0x5C, 3, 0x5F, 0xFF, 0x10, 0x53, 1, 0xAA]).unwrap();
    assert_eq!(
        cmd,
        Command::PutData {
            tag: 0x5FFF10,
            value: ObjectValue::new(vec![0xAA])
        }
    );
    let del = parse(&[0, 0xDB, 0x3F, 0xFF, 7, 0x5C, 3, 0x5F, 0xFF, 0x10, 0x53, 0]).unwrap();
    assert_eq!(
        del,
        Command::PutData {
            tag: 0x5FFF10,
            value: ObjectValue::new(vec![])
        }
    );
}

#[test]
fn put_data_of_protected_data_is_redacted_in_debug() {
    // 5FC109 { 88 { 89 18 <management key> } }: the key bytes must not show.
    let mut apdu = vec![
        0, 0xDB, 0x3F, 0xFF, 0x23, 0x5C, 3, 0x5F, 0xC1, 0x09, 0x53, 0x1C, 0x88, 0x1A, 0x89, 0x18,
    ];
    apdu.extend_from_slice(&[0xC3; 24]);
    let cmd = parse(&apdu).unwrap();
    let shown = format!("{cmd:?}");
    assert!(shown.contains("<28 bytes>"), "{shown}");
    assert!(
        !shown.contains("195") && !shown.to_uppercase().contains("C3"),
        "{shown}"
    );
}

#[test]
fn generate_policies() {
    let cmd = parse(&[
        0, 0x47, 0, 0x9C, 0x0B, 0xAC, 9, 0x80, 1, 0x11, 0xAA, 1, 2, 0xAB, 1, 3,
    ])
    .unwrap();
    assert_eq!(
        cmd,
        Command::Generate {
            slot: KeyRef::SIGNATURE,
            algorithm: AlgorithmId::ECCP256,
            pin_policy: PinPolicy::Once,
            touch_policy: TouchPolicy::Cached
        }
    );
    // Duplicate tags are refused.
    assert_eq!(
        parse(&[0, 0x47, 0, 0x9C, 8, 0xAC, 6, 0x80, 1, 0x11, 0x80, 1, 0x11]),
        Err(StatusWord::INCORRECT_DATA)
    );
}

#[test]
fn general_authenticate_shapes() {
    let witness = parse(&[0, 0x87, 3, 0x9B, 4, 0x7C, 2, 0x80, 0]).unwrap();
    assert!(matches!(
        witness,
        Command::GeneralAuthenticate {
            request: AuthRequest::WitnessRequest,
            ..
        }
    ));
    // A management-key template on a key slot, and a signing template on 9B, are malformed.
    assert_eq!(
        parse(&[0, 0x87, 0x11, 0x9A, 4, 0x7C, 2, 0x80, 0]),
        Err(StatusWord::INCORRECT_DATA)
    );
    assert_eq!(
        parse(&[0, 0x87, 3, 0x9B, 7, 0x7C, 5, 0x82, 0, 0x81, 1, 1]),
        Err(StatusWord::INCORRECT_DATA)
    );
    let sign = parse(&[0, 0x87, 0x11, 0x9A, 7, 0x7C, 5, 0x82, 0, 0x81, 1, 1]).unwrap();
    assert!(matches!(
        sign,
        Command::GeneralAuthenticate {
            request: AuthRequest::Sign { .. },
            ..
        }
    ));
}

#[test]
fn move_and_delete() {
    assert_eq!(
        parse(&[0, 0xF6, 0xFF, 0x9A]),
        Ok(Command::MoveKey {
            from: KeyRef::AUTHENTICATION,
            to: None
        })
    );
    assert_eq!(parse(&[0, 0xF6, 0x9A, 0x9A]), Err(StatusWord::INCORRECT_P1P2));
}
