//! Command and response APDUs (ISO 7816-4 §5.1): short and extended length, command chaining.

use std::fmt;

use thiserror::Error;
use zeroize::Zeroizing;

use crate::hex::HexBytes;
use crate::sw::StatusWord;

/// CLA bit that marks every block of a chained command except the last.
pub const CLA_CHAINING: u8 = 0x10;
/// Largest data field of a short APDU block.
pub const SHORT_MAX_DATA: usize = 255;
/// Largest data field of an extended APDU.
pub const EXTENDED_MAX_DATA: usize = 65535;

/// Why an APDU could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApduError {
    /// A response must hold at least the two status bytes.
    #[error("response of {0} bytes is shorter than a status word")]
    ResponseTooShort(usize),
    /// The command data does not fit the chosen encoding.
    #[error("command data of {0} bytes is too long")]
    DataTooLong(usize),
    /// The command bytes are not a well-formed APDU.
    #[error("malformed command APDU: {0}")]
    MalformedCommand(&'static str),
}

/// Expected response length (`Le`). `None` on a command means no response data is expected.
pub type Le = Option<usize>;

/// A command APDU. The data field is zeroized on drop because it may hold a PIN or a key.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte (chaining bit set by the encoder, never by callers).
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    data: Zeroizing<Vec<u8>>,
    /// Expected response length; `Some(256)` (short) or `Some(65536)` (extended) means "all".
    pub le: Le,
    sensitive: bool,
}

impl Command {
    /// A command without data and without Le (case 1).
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Zeroizing::new(Vec::new()),
            le: None,
            sensitive: false,
        }
    }

    /// Sets the data field.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Zeroizing::new(data.into());
        self
    }

    /// Sets the data field and marks it secret (PIN, PUK, key material): redacted in `Debug` and traces.
    pub fn with_secret_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Zeroizing::new(data.into());
        self.sensitive = true;
        self
    }

    /// Sets Le (a maximum of 256 is sent as `00` in short form).
    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// The data field.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// True when the data field holds a secret.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// Encodes as one short APDU; the data must fit in 255 bytes.
    pub fn to_short(&self) -> Result<Vec<u8>, ApduError> {
        if self.data.len() > SHORT_MAX_DATA {
            return Err(ApduError::DataTooLong(self.data.len()));
        }
        Ok(encode_short(
            self.cla, self.ins, self.p1, self.p2, &self.data, self.le,
        ))
    }

    /// Encodes as a chain of short APDUs of at most 255 data bytes each; every block but the last has
    /// the chaining bit, and only the last carries Le. A command without data yields one block.
    pub fn to_short_chain(&self) -> Vec<Vec<u8>> {
        if self.data.len() <= SHORT_MAX_DATA {
            return vec![encode_short(
                self.cla, self.ins, self.p1, self.p2, &self.data, self.le,
            )];
        }
        let blocks: Vec<&[u8]> = self.data.chunks(SHORT_MAX_DATA).collect();
        let last = blocks.len() - 1;
        blocks
            .iter()
            .enumerate()
            .map(|(i, block)| {
                if i == last {
                    encode_short(self.cla, self.ins, self.p1, self.p2, block, self.le)
                } else {
                    encode_short(self.cla | CLA_CHAINING, self.ins, self.p1, self.p2, block, None)
                }
            })
            .collect()
    }

    /// Encodes as one extended-length APDU (used only when short encoding cannot express it).
    pub fn to_extended(&self) -> Result<Vec<u8>, ApduError> {
        let n = self.data.len();
        if n > EXTENDED_MAX_DATA {
            return Err(ApduError::DataTooLong(n));
        }
        let mut out = Vec::with_capacity(n + 9);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if n > 0 {
            out.push(0);
            out.extend_from_slice(&(n as u16).to_be_bytes());
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            if n == 0 {
                out.push(0);
            }
            let v = if le >= 65536 { 0 } else { le as u16 };
            out.extend_from_slice(&v.to_be_bytes());
        }
        Ok(out)
    }
}

fn encode_short(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8], le: Le) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 6);
    out.extend_from_slice(&[cla, ins, p1, p2]);
    if !data.is_empty() {
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }
    if let Some(le) = le {
        out.push(if le >= 256 { 0 } else { le as u8 });
    }
    out
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Command");
        d.field("cla", &format_args!("{:02X}", self.cla))
            .field("ins", &format_args!("{:02X}", self.ins))
            .field("p1", &format_args!("{:02X}", self.p1))
            .field("p2", &format_args!("{:02X}", self.p2));
        if self.sensitive {
            d.field("data", &format_args!("<redacted {} bytes>", self.data.len()));
        } else {
            d.field("data", &format_args!("{}", HexBytes(&self.data)));
        }
        d.field("le", &self.le).finish()
    }
}

/// A parsed command APDU as a card sees it (the card side of the encoding above).
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    /// Class byte as received (may carry the chaining bit).
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Data field.
    pub data: Zeroizing<Vec<u8>>,
    /// Le if present (`00` decoded as 256 short / 65536 extended).
    pub le: Le,
    /// Whether the extended-length form was used.
    pub extended: bool,
}

impl ParsedCommand {
    /// Parses a command APDU in any of the ISO cases 1, 2S, 3S, 4S, 2E, 3E, 4E.
    pub fn parse(apdu: &[u8]) -> Result<Self, ApduError> {
        let Some(([cla, ins, p1, p2], body)) = apdu.split_first_chunk::<4>() else {
            return Err(ApduError::MalformedCommand("shorter than a header"));
        };
        let (cla, ins, p1, p2) = (*cla, *ins, *p1, *p2);
        let mk = |data: &[u8], le: Le, extended| Self {
            cla,
            ins,
            p1,
            p2,
            data: Zeroizing::new(data.to_vec()),
            le,
            extended,
        };
        match body {
            [] => Ok(mk(&[], None, false)),
            [le] => Ok(mk(
                &[],
                Some(if *le == 0 { 256 } else { usize::from(*le) }),
                false,
            )),
            [0, rest @ ..] if rest.len() >= 2 => {
                let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let after = &rest[2..];
                if after.is_empty() {
                    // Case 2E: the two bytes are Le.
                    return Ok(mk(&[], Some(if n == 0 { 65536 } else { n }), true));
                }
                if n == 0 {
                    return Err(ApduError::MalformedCommand("extended Lc of zero"));
                }
                match after.len().checked_sub(n) {
                    Some(0) => Ok(mk(after, None, true)),
                    Some(2) => {
                        let le = usize::from(u16::from_be_bytes([after[n], after[n + 1]]));
                        Ok(mk(&after[..n], Some(if le == 0 { 65536 } else { le }), true))
                    }
                    _ => Err(ApduError::MalformedCommand(
                        "extended length does not match the body",
                    )),
                }
            }
            [lc, rest @ ..] => {
                let n = usize::from(*lc);
                if n == 0 {
                    return Err(ApduError::MalformedCommand("Lc of zero"));
                }
                match rest.len().checked_sub(n) {
                    Some(0) => Ok(mk(rest, None, false)),
                    Some(1) => {
                        let le = rest[n];
                        Ok(mk(
                            &rest[..n],
                            Some(if le == 0 { 256 } else { usize::from(le) }),
                            false,
                        ))
                    }
                    _ => Err(ApduError::MalformedCommand("Lc does not match the body")),
                }
            }
        }
    }

    /// True when the chaining bit is set (more blocks follow).
    pub fn is_chained(&self) -> bool {
        self.cla & CLA_CHAINING != 0
    }
}

impl fmt::Debug for ParsedCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedCommand")
            .field("cla", &format_args!("{:02X}", self.cla))
            .field("ins", &format_args!("{:02X}", self.ins))
            .field("p1", &format_args!("{:02X}", self.p1))
            .field("p2", &format_args!("{:02X}", self.p2))
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("le", &self.le)
            .finish()
    }
}

/// A response APDU: data and status word. The data is zeroized on drop (it may be a decrypted secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    data: Zeroizing<Vec<u8>>,
    /// The status word.
    pub sw: StatusWord,
}

impl Response {
    /// A response from its parts.
    pub fn new(data: Vec<u8>, sw: StatusWord) -> Self {
        Self {
            data: Zeroizing::new(data),
            sw,
        }
    }

    /// Parses `data ‖ SW1 SW2`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let Some((data, [sw1, sw2])) = bytes.split_last_chunk::<2>() else {
            return Err(ApduError::ResponseTooShort(bytes.len()));
        };
        Ok(Self::new(data.to_vec(), StatusWord::from_bytes(*sw1, *sw2)))
    }

    /// `data ‖ SW1 SW2`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }

    /// The data field.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Takes the data field out (still zeroized on drop).
    pub fn into_data(self) -> Zeroizing<Vec<u8>> {
        self.data
    }

    /// Appends more data (used while collecting `61xx` GET RESPONSE parts). When the buffer must grow,
    /// the data moves to a fresh zeroizing buffer, so no un-wiped copy is left behind by a reallocation.
    pub(crate) fn extend(&mut self, more: &[u8]) {
        if self.data.capacity() - self.data.len() < more.len() {
            let mut grown = Zeroizing::new(Vec::with_capacity(
                (self.data.len() + more.len()).max(2 * self.data.len()),
            ));
            grown.extend_from_slice(&self.data);
            self.data = grown;
        }
        self.data.extend_from_slice(more);
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("sw", &self.sw)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_cases() {
        assert_eq!(Command::new(0, 0xA4, 4, 0).to_short().unwrap(), [0, 0xA4, 4, 0]);
        assert_eq!(
            Command::new(0, 0xFD, 0, 0).with_le(256).to_short().unwrap(),
            [0, 0xFD, 0, 0, 0]
        );
        assert_eq!(
            Command::new(0, 0xCB, 0x3F, 0xFF)
                .with_data([0x5C, 1, 0x7E])
                .with_le(256)
                .to_short()
                .unwrap(),
            [0, 0xCB, 0x3F, 0xFF, 3, 0x5C, 1, 0x7E, 0]
        );
        assert_eq!(
            Command::new(0, 0xDB, 0, 0).with_data(vec![0; 256]).to_short(),
            Err(ApduError::DataTooLong(256))
        );
    }

    #[test]
    fn chaining_splits_in_255_byte_blocks() {
        let data: Vec<u8> = (0..=255u8).chain(0..10).collect(); // 266 bytes
        let chain = Command::new(0, 0x87, 0x07, 0x9A)
            .with_data(data.clone())
            .with_le(256)
            .to_short_chain();
        assert_eq!(chain.len(), 2);
        assert_eq!(&chain[0][..5], &[0x10, 0x87, 0x07, 0x9A, 0xFF]);
        assert_eq!(chain[0].len(), 5 + 255);
        assert_eq!(&chain[1][..5], &[0x00, 0x87, 0x07, 0x9A, 11]);
        assert_eq!(*chain[1].last().unwrap(), 0x00, "Le only on the last block");
        assert_eq!(chain[1].len(), 5 + 11 + 1);
        let joined: Vec<u8> = [&chain[0][5..], &chain[1][5..16]].concat();
        assert_eq!(joined, data);
    }

    #[test]
    fn extended_cases() {
        assert_eq!(
            Command::new(0, 0xFD, 0, 0).with_le(65536).to_extended().unwrap(),
            [0, 0xFD, 0, 0, 0, 0, 0]
        );
        let e = Command::new(0, 0xDB, 0x3F, 0xFF)
            .with_data(vec![7; 300])
            .with_le(256)
            .to_extended()
            .unwrap();
        assert_eq!(&e[..7], &[0, 0xDB, 0x3F, 0xFF, 0, 0x01, 0x2C]);
        assert_eq!(&e[e.len() - 2..], &[0x01, 0x00]);
    }

    #[test]
    fn parse_round_trips_every_case() {
        for cmd in [
            Command::new(0, 1, 2, 3),
            Command::new(0, 1, 2, 3).with_le(256),
            Command::new(0, 1, 2, 3).with_le(17),
            Command::new(0, 1, 2, 3).with_data([1, 2, 3]),
            Command::new(0, 1, 2, 3).with_data([1, 2, 3]).with_le(256),
        ] {
            let p = ParsedCommand::parse(&cmd.to_short().unwrap()).unwrap();
            assert_eq!(
                (p.cla, p.ins, p.p1, p.p2, &p.data[..], p.le),
                (0, 1, 2, 3, cmd.data(), cmd.le)
            );
            assert!(!p.extended);
            let e = ParsedCommand::parse(&cmd.to_extended().unwrap()).unwrap();
            assert_eq!(&e.data[..], cmd.data());
            assert_eq!(e.le, cmd.le.map(|l| if l == 256 { 256 } else { l }));
        }
        assert!(ParsedCommand::parse(&[0, 1, 2]).is_err());
        assert!(ParsedCommand::parse(&[0, 1, 2, 3, 4, 1]).is_err());
        assert!(ParsedCommand::parse(&[0, 1, 2, 3, 0, 0, 2, 1]).is_err());
    }

    #[test]
    fn response_parse() {
        let r = Response::parse(&[1, 2, 0x90, 0]).unwrap();
        assert_eq!((r.data(), r.sw), (&[1, 2][..], StatusWord::SUCCESS));
        assert_eq!(r.to_bytes(), [1, 2, 0x90, 0]);
        assert_eq!(Response::parse(&[0x90]), Err(ApduError::ResponseTooShort(1)));
    }

    #[test]
    fn debug_redacts_secret_data() {
        let c = Command::new(0, 0x20, 0, 0x80).with_secret_data(*b"123456\xff\xff");
        let s = format!("{c:?}");
        assert!(s.contains("<redacted 8 bytes>"), "{s}");
        assert!(!s.contains("313233"));
    }
}
