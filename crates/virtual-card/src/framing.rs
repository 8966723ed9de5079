//! Transmission framing, the only place that knows about it: command chaining (CLA bit `10`) is
//! reassembled before execution, and responses longer than the host's Le are delivered in pieces with
//! `61xx` and GET RESPONSE (`00 C0 00 00 Le`). Extended-length APDUs are accepted as they come; their
//! answer is sent in one piece when it fits the extended Le.
//!
//! Choices where the standards leave room:
//! * a chained block whose INS/P1/P2 differ from the chain in progress abandons that chain and starts
//!   over with the new block (a host that gave up half-way can simply begin again);
//! * any command other than GET RESPONSE discards an undelivered response;
//! * a short command without Le is answered as if Le were `00` (256 bytes), which is what libykpiv and
//!   Windows expect;
//! * GET RESPONSE with nothing pending reaches the application, which answers `6A80` as a YubiKey does;
//! * a class byte other than `00`/`10` answers `6E00`, an APDU whose lengths do not add up `6700`.

use tessera_piv::StatusWord;
use tessera_piv::apdu::{CLA_CHAINING, ParsedCommand};
use tessera_piv::commands::ins;
use zeroize::Zeroizing;

use crate::command::Reply;

/// Largest command the card reassembles from a chain; longer chains answer `6700`.
pub const MAX_CHAINED_COMMAND: usize = 16 * 1024;
/// Largest short-APDU response piece.
const SHORT_MAX_RESPONSE: usize = 256;

/// What to do with an incoming APDU.
#[derive(Debug)]
pub enum FrameAction {
    /// Answer at once with these bytes (chained block accepted, GET RESPONSE piece, framing error).
    Respond(Vec<u8>),
    /// A whole command is ready for the application.
    Execute(ParsedCommand),
}

#[derive(Debug)]
struct Chain {
    header: (u8, u8, u8),
    data: Zeroizing<Vec<u8>>,
}

/// Chaining and response buffers of one card.
#[derive(Debug, Default)]
pub struct Framing {
    chain: Option<Chain>,
    pending: Option<(Zeroizing<Vec<u8>>, usize)>,
}

fn status(sw: StatusWord) -> Vec<u8> {
    sw.to_bytes().to_vec()
}

impl Framing {
    /// Forgets everything (power cycle).
    pub fn clear(&mut self) {
        self.chain = None;
        self.pending = None;
    }

    /// Takes one APDU from the host.
    pub fn receive(&mut self, apdu: &[u8]) -> FrameAction {
        let Ok(mut cmd) = ParsedCommand::parse(apdu) else {
            self.clear();
            return FrameAction::Respond(status(StatusWord::WRONG_LENGTH));
        };
        if cmd.cla & !CLA_CHAINING != 0x00 {
            self.clear();
            return FrameAction::Respond(status(StatusWord::CLA_NOT_SUPPORTED));
        }
        if cmd.ins == ins::GET_RESPONSE && !cmd.is_chained() && self.pending.is_some() {
            return FrameAction::Respond(self.get_response(&cmd));
        }
        self.pending = None;
        let header = (cmd.ins, cmd.p1, cmd.p2);
        if self.chain.as_ref().is_some_and(|c| c.header != header) {
            self.chain = None;
        }
        if cmd.is_chained() {
            // The chain may carry a private key (IMPORT): its buffer is reserved at the largest size a
            // chain may reach, so it never grows and leaves no unwiped copy behind.
            let chain = self.chain.get_or_insert_with(|| Chain {
                header,
                data: Zeroizing::new(Vec::with_capacity(MAX_CHAINED_COMMAND)),
            });
            if chain.data.len() + cmd.data.len() > MAX_CHAINED_COMMAND {
                self.chain = None;
                return FrameAction::Respond(status(StatusWord::WRONG_LENGTH));
            }
            chain.data.extend_from_slice(&cmd.data);
            return FrameAction::Respond(status(StatusWord::SUCCESS));
        }
        if let Some(mut chain) = self.chain.take() {
            if chain.data.len() + cmd.data.len() > MAX_CHAINED_COMMAND {
                return FrameAction::Respond(status(StatusWord::WRONG_LENGTH));
            }
            chain.data.extend_from_slice(&cmd.data);
            cmd.data = chain.data;
        }
        cmd.cla &= !CLA_CHAINING;
        FrameAction::Execute(cmd)
    }

    /// Turns the application's reply to `cmd` into the bytes sent back, keeping what does not fit.
    pub fn respond(&mut self, reply: Reply, cmd: &ParsedCommand) -> Vec<u8> {
        match reply {
            Err(sw) => status(sw),
            Ok(data) => {
                let limit = if cmd.extended {
                    cmd.le.unwrap_or(usize::MAX)
                } else {
                    cmd.le.unwrap_or(SHORT_MAX_RESPONSE).min(SHORT_MAX_RESPONSE)
                };
                self.pending = Some((Zeroizing::new(data), 0));
                self.next_piece(limit)
            }
        }
    }

    fn get_response(&mut self, cmd: &ParsedCommand) -> Vec<u8> {
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return status(StatusWord::INCORRECT_P1P2);
        }
        if !cmd.data.is_empty() {
            return status(StatusWord::WRONG_LENGTH);
        }
        let limit = cmd.le.unwrap_or(SHORT_MAX_RESPONSE).min(if cmd.extended {
            usize::MAX
        } else {
            SHORT_MAX_RESPONSE
        });
        self.next_piece(limit)
    }

    fn next_piece(&mut self, limit: usize) -> Vec<u8> {
        let Some((data, offset)) = self.pending.take() else {
            return status(StatusWord::INCORRECT_DATA);
        };
        let rest = data.get(offset..).unwrap_or_default();
        let take = rest.len().min(limit.max(1));
        let mut out = Vec::with_capacity(take + 2);
        out.extend_from_slice(rest.get(..take).unwrap_or_default());
        let remaining = rest.len() - take;
        if remaining == 0 {
            out.extend_from_slice(&StatusWord::SUCCESS.to_bytes());
        } else {
            out.extend_from_slice(&StatusWord::bytes_remaining_of(remaining).to_bytes());
            self.pending = Some((data, offset + take));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn execute(f: &mut Framing, apdu: &[u8]) -> ParsedCommand {
        match f.receive(apdu) {
            FrameAction::Execute(c) => c,
            FrameAction::Respond(r) => panic!("unexpected immediate answer {r:02X?}"),
        }
    }

    #[test]
    fn chaining_reassembles_and_restarts_on_a_different_header() {
        let mut f = Framing::default();
        assert!(
            matches!(f.receive(&[0x10, 0xDB, 0x3F, 0xFF, 2, 1, 2]), FrameAction::Respond(r) if r == [0x90, 0])
        );
        let cmd = execute(&mut f, &[0x00, 0xDB, 0x3F, 0xFF, 1, 3]);
        assert_eq!((cmd.cla, &cmd.data[..]), (0, &[1, 2, 3][..]));
        // An interrupted chain is abandoned.
        assert!(matches!(
            f.receive(&[0x10, 0xDB, 0x3F, 0xFF, 1, 9]),
            FrameAction::Respond(_)
        ));
        let cmd = execute(&mut f, &[0x00, 0xCB, 0x3F, 0xFF, 1, 7]);
        assert_eq!(&cmd.data[..], &[7]);
    }

    #[test]
    fn a_chain_is_reassembled_in_one_buffer_that_never_grows() {
        let mut f = Framing::default();
        let block = |cla: u8| [&[cla, 0xFE, 0x11, 0x9A, 0xFF][..], &[0x5A; 255]].concat();
        assert!(matches!(f.receive(&block(0x10)), FrameAction::Respond(_)));
        let buffer = f.chain.as_ref().unwrap().data.as_ptr();
        for _ in 0..(MAX_CHAINED_COMMAND / 255 - 2) {
            assert!(matches!(f.receive(&block(0x10)), FrameAction::Respond(r) if r == [0x90, 0]));
            assert_eq!(f.chain.as_ref().unwrap().data.as_ptr(), buffer);
        }
        let cmd = execute(&mut f, &block(0x00));
        assert_eq!(cmd.data.as_ptr(), buffer, "the command owns the very buffer");
        assert_eq!(cmd.data.len(), (MAX_CHAINED_COMMAND / 255) * 255);
    }

    #[test]
    fn long_responses_come_in_pieces() {
        let mut f = Framing::default();
        let cmd = execute(&mut f, &[0x00, 0xCB, 0x3F, 0xFF, 1, 7]);
        let data: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let first = f.respond(Ok(data.clone()), &cmd);
        assert_eq!(first.len(), 258);
        assert_eq!(&first[256..], &[0x61, 44]);
        let second = match f.receive(&[0x00, 0xC0, 0x00, 0x00, 0x00]) {
            FrameAction::Respond(r) => r,
            FrameAction::Execute(_) => panic!(),
        };
        assert_eq!(&second[..44], &data[256..]);
        assert_eq!(&second[44..], &[0x90, 0x00]);
        // Nothing pending any more: GET RESPONSE reaches the application.
        assert!(matches!(
            f.receive(&[0x00, 0xC0, 0x00, 0x00, 0x00]),
            FrameAction::Execute(_)
        ));
        // Extended Le: one piece.
        let ext = execute(&mut f, &[0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x01, 7, 0x00, 0x00]);
        assert_eq!(f.respond(Ok(data), &ext).len(), 302);
    }

    #[test]
    fn bad_class_and_length() {
        let mut f = Framing::default();
        assert!(matches!(f.receive(&[0x80, 0xCB, 0, 0]), FrameAction::Respond(r) if r == [0x6E, 0]));
        assert!(matches!(f.receive(&[0x00, 0xCB, 0, 0, 5, 1]), FrameAction::Respond(r) if r == [0x67, 0]));
    }
}
