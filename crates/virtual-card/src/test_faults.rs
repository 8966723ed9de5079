//! Faults a test harness switches on through the card itself, for the cases a well-behaved card cannot
//! show. A harness that reaches the card only through PC/SC (pcscd, Wine's winscard) has no other way
//! in. Off unless the card was built with them ([`VirtualCard::enable_test_faults`](crate::VirtualCard),
//! `--test-faults` on the binary); a card without them answers the instruction like any unknown one, as
//! a real card does.
//!
//! The instruction is `00 EF P1 P2`, without data (`EF` is no PIV or YubiKey instruction; the framing
//! accepts only class `00`):
//! * `P1 = 00`: every fault off;
//! * `P1 = 01`, `P2 = slot`: GET METADATA of that slot answers a malformed template (tag `01`, the
//!   algorithm, two bytes long) with `9000`;
//! * `P1 = 02`: the card behaves as a standard PIV card (or a Nitrokey, for the objects): GET and PUT
//!   DATA of the Yubico vendor objects 5FFF00–5FFFFF answer `6A80`, and the YubiKey instructions (GET
//!   VERSION, GET SERIAL, GET METADATA, SET MANAGEMENT KEY, IMPORT, ATTEST, MOVE KEY, SET PIN RETRIES,
//!   RESET) answer `6D00`.
//!
//! A fault lasts until it is switched off, across resets: it belongs to the card, not to a session.

use std::collections::BTreeSet;

use tessera_piv::StatusWord;
use tessera_piv::apdu::ParsedCommand;
use tessera_piv::commands::ins;

use crate::command::Reply;

/// Class byte of the fault instruction.
pub const CLA: u8 = 0x00;
/// Instruction byte of the fault instruction.
pub const INS: u8 = 0xEF;
/// `P1`: every fault off.
pub const CLEAR: u8 = 0x00;
/// `P1`: malformed GET METADATA for the slot in `P2`.
pub const MALFORMED_METADATA: u8 = 0x01;
/// `P1`: a standard PIV card, without vendor objects and instructions.
pub const PLAIN_PIV: u8 = 0x02;

/// The YubiKey instructions a standard PIV card does not know.
const YUBICO_INSTRUCTIONS: [u8; 9] = [
    ins::GET_VERSION,
    ins::GET_SERIAL,
    ins::GET_METADATA,
    ins::SET_MANAGEMENT_KEY,
    ins::IMPORT_ASYMMETRIC_KEY,
    ins::ATTEST,
    ins::MOVE_KEY,
    ins::SET_PIN_RETRIES,
    ins::RESET,
];

/// The malformed metadata template: the algorithm tag with two bytes.
const MALFORMED_TEMPLATE: [u8; 4] = [0x01, 0x02, 0x11, 0x11];

/// The faults switched on.
#[derive(Debug, Default)]
pub struct TestFaults {
    enabled: bool,
    malformed_metadata: BTreeSet<u8>,
    plain_piv: bool,
}

impl TestFaults {
    /// Lets the fault instruction through.
    pub fn enable(&mut self) {
        self.enabled = true;
    }

    /// Handles the fault instruction itself (when enabled).
    pub(crate) fn switch(&mut self, cmd: &ParsedCommand) -> Option<Reply> {
        if !self.enabled || cmd.cla != CLA || cmd.ins != INS {
            return None;
        }
        if !cmd.data.is_empty() {
            return Some(Err(StatusWord::WRONG_LENGTH));
        }
        Some(match cmd.p1 {
            CLEAR => {
                self.malformed_metadata.clear();
                self.plain_piv = false;
                Ok(Vec::new())
            }
            PLAIN_PIV => {
                self.plain_piv = true;
                Ok(Vec::new())
            }
            MALFORMED_METADATA => {
                self.malformed_metadata.insert(cmd.p2);
                Ok(Vec::new())
            }
            _ => Err(StatusWord::INCORRECT_P1P2),
        })
    }

    /// The faulty answer to a PIV command, when a fault covers it.
    pub(crate) fn answer(&self, cmd: &ParsedCommand) -> Option<Reply> {
        if self.plain_piv {
            if YUBICO_INSTRUCTIONS.contains(&cmd.ins) {
                return Some(Err(StatusWord::INS_NOT_SUPPORTED));
            }
            let vendor_object = cmd.data.get(..4) == Some(&[0x5C, 0x03, 0x5F, 0xFF]);
            if matches!(cmd.ins, ins::GET_DATA | ins::PUT_DATA) && vendor_object {
                return Some(Err(StatusWord::INCORRECT_DATA));
            }
        }
        let metadata = cmd.cla == 0x00 && cmd.ins == ins::GET_METADATA && cmd.p1 == 0x00;
        (metadata && self.malformed_metadata.contains(&cmd.p2)).then(|| Ok(MALFORMED_TEMPLATE.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(apdu: &[u8]) -> ParsedCommand {
        ParsedCommand::parse(apdu).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn off_unless_enabled_then_switched_by_the_instruction() {
        let mut faults = TestFaults::default();
        let set = parsed(&[CLA, INS, MALFORMED_METADATA, 0x9D]);
        let metadata = parsed(&[0x00, ins::GET_METADATA, 0x00, 0x9D]);
        assert!(
            faults.switch(&set).is_none(),
            "a card without faults ignores the instruction"
        );
        assert!(faults.answer(&metadata).is_none());
        faults.enable();
        assert_eq!(faults.switch(&set), Some(Ok(Vec::new())));
        assert_eq!(faults.answer(&metadata), Some(Ok(MALFORMED_TEMPLATE.to_vec())));
        assert!(
            faults
                .answer(&parsed(&[0x00, ins::GET_METADATA, 0x00, 0x9A]))
                .is_none()
        );
        assert_eq!(
            faults.switch(&parsed(&[CLA, INS, 0x07, 0x00])),
            Some(Err(StatusWord::INCORRECT_P1P2))
        );
        assert_eq!(
            faults.switch(&parsed(&[CLA, INS, CLEAR, 0x00])),
            Some(Ok(Vec::new()))
        );
        assert!(faults.answer(&metadata).is_none());
    }

    #[test]
    fn a_plain_piv_card_refuses_vendor_objects_and_instructions() {
        let mut faults = TestFaults::default();
        faults.enable();
        let map = parsed(&[
            0x00,
            ins::GET_DATA,
            0x3F,
            0xFF,
            0x05,
            0x5C,
            0x03,
            0x5F,
            0xFF,
            0x10,
            0x00,
        ]);
        let chuid = parsed(&[
            0x00,
            ins::GET_DATA,
            0x3F,
            0xFF,
            0x05,
            0x5C,
            0x03,
            0x5F,
            0xC1,
            0x02,
            0x00,
        ]);
        let version = parsed(&[0x00, ins::GET_VERSION, 0x00, 0x00]);
        assert!(faults.answer(&map).is_none());
        assert_eq!(
            faults.switch(&parsed(&[CLA, INS, PLAIN_PIV, 0x00])),
            Some(Ok(Vec::new()))
        );
        assert_eq!(faults.answer(&map), Some(Err(StatusWord::INCORRECT_DATA)));
        assert_eq!(faults.answer(&version), Some(Err(StatusWord::INS_NOT_SUPPORTED)));
        assert!(faults.answer(&chuid).is_none(), "standard objects stay");
        faults.switch(&parsed(&[CLA, INS, CLEAR, 0x00]));
        assert!(faults.answer(&map).is_none());
    }
}
