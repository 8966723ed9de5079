//! Logs every exchange with secrets redacted, to `tracing` and optionally to an in-memory sink.

use std::sync::{Arc, Mutex};

use crate::redact::Redactor;
use crate::session::{Transport, TransportError};

/// Collected trace lines (`> command` / `< response`), shared with whoever wants to read them.
pub type TraceSink = Arc<Mutex<Vec<String>>>;

/// Traces APDUs. Secret data never reaches the log (see [`crate::redact`]).
#[derive(Debug)]
pub struct Tracing<T> {
    inner: T,
    redactor: Redactor,
    sink: Option<TraceSink>,
}

impl<T> Tracing<T> {
    /// Traces to `tracing` at debug level only.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            redactor: Redactor::new(),
            sink: None,
        }
    }

    /// Also appends every line to `sink`.
    pub fn with_sink(inner: T, sink: TraceSink) -> Self {
        Self {
            inner,
            redactor: Redactor::new(),
            sink: Some(sink),
        }
    }

    /// The wrapped transport.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps.
    pub fn into_inner(self) -> T {
        self.inner
    }

    fn emit(&self, line: String) {
        tracing::debug!(target: "tessera::apdu", "{line}");
        if let Some(sink) = &self.sink
            && let Ok(mut lines) = sink.lock()
        {
            lines.push(line);
        }
    }
}

impl<T: Transport> Transport for Tracing<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let line = format!("> {}", self.redactor.command(apdu));
        self.emit(line);
        match self.inner.transmit(apdu) {
            Ok(r) => {
                let line = format!("< {}", self.redactor.response(&r));
                self.emit(line);
                Ok(r)
            }
            Err(e) => {
                self.emit(format!("! {e}"));
                Err(e)
            }
        }
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.emit("! reset".into());
        self.inner.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::{HexBytes, literal as hex};
    use crate::redact::REDACTED;
    use crate::transport::recording::RecordingCard;

    fn traced() -> (Tracing<RecordingCard>, TraceSink) {
        let sink = TraceSink::default();
        (
            Tracing::with_sink(RecordingCard::default(), Arc::clone(&sink)),
            sink,
        )
    }

    fn lines(sink: &TraceSink) -> Vec<String> {
        sink.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// `secret` appears in no line: not as hex of either case, not as text.
    fn assert_absent(lines: &[String], what: &str, secret: &[u8]) {
        let hex = HexBytes(secret).to_string().to_lowercase();
        let text = String::from_utf8_lossy(secret);
        for line in lines {
            let lower = line.to_lowercase();
            assert!(!lower.contains(&hex), "{what} as hex in {line:?}");
            assert!(!line.contains(text.as_ref()), "{what} as text in {line:?}");
        }
    }

    #[test]
    fn commands_and_answers_are_traced_in_order() {
        let (mut t, sink) = traced();
        let get_chuid = hex("00 CB 3F FF 05 5C 03 5F C1 02 00");
        assert!(t.transmit(&get_chuid).is_ok());
        assert_eq!(lines(&sink), ["> 00CB3FFF055C035FC10200", "< AABB9000"]);
        assert_eq!(
            t.into_inner().received,
            [get_chuid],
            "the bytes reach the card unchanged"
        );
    }

    #[test]
    fn pin_puk_and_key_bytes_never_reach_the_trace() {
        let pin = b"123456\xFF\xFF";
        let new_pin = b"654321\xFF\xFF";
        let puk = b"87654321";
        let management_key = hex("C3 5E 71 0A 9B 24 66 E1 08 4F D2 39 7A 10 B5 CC 2E 93 41 F0 6D 58 A7 1C");
        let response = hex("9D 4E 2B 77 E0 13 C8 5A");
        let (mut t, sink) = traced();
        let sent = [
            // VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER.
            [&hex("00 20 00 80 08")[..], pin].concat(),
            [&hex("00 24 00 80 10")[..], pin, new_pin].concat(),
            [&hex("00 2C 00 80 10")[..], puk, pin].concat(),
            // SET MANAGEMENT KEY, and the management key's challenge/response (GENERAL AUTHENTICATE on
            // 9B).
            [&hex("00 FF FF FF 1B 03 9B 18")[..], &management_key].concat(),
            [&hex("00 87 03 9B 0C 7C 0A 82 08")[..], &response].concat(),
        ];
        for apdu in &sent {
            assert!(t.transmit(apdu).is_ok());
        }
        let trace = lines(&sink);
        for (header, line) in ["00200080", "00240080", "002C0080", "00FFFFFF", "0087039B"]
            .iter()
            .zip(trace.iter().step_by(2))
        {
            assert_eq!(
                line,
                &format!("> {header} {REDACTED} ({} bytes)", line_len(&sent, header))
            );
        }
        assert_eq!(
            trace.last().map(String::as_str),
            Some(format!("< {REDACTED} (2 bytes) 9000").as_str()),
            "what the card answers the management-key authentication is secret too"
        );
        for (what, secret) in [
            ("the PIN", &pin[..6]),
            ("the new PIN", &new_pin[..6]),
            ("the PUK", &puk[..]),
            ("the management key", &management_key[..]),
            ("the challenge response", &response[..]),
        ] {
            assert_absent(&trace, what, secret);
        }
        assert_eq!(
            t.into_inner().received,
            sent,
            "redaction is the trace's business only"
        );
    }

    /// The number of bytes after the header of the sent APDU whose header is `header`.
    fn line_len(sent: &[Vec<u8>], header: &str) -> usize {
        sent.iter()
            .find(|a| a.get(..4).is_some_and(|h| HexBytes(h).to_string() == header))
            .map_or(0, |a| a.len() - 4)
    }

    #[test]
    fn an_imported_key_is_redacted_in_every_chained_block() {
        // IMPORT ASYMMETRIC KEY (Yubico), RSA-2048 into 9A, sent in two chained blocks.
        let prime: Vec<u8> = (0..128u32).map(|i| (i * 37 + 11) as u8 | 0x80).collect();
        let mut data = hex("01 81 80");
        data.extend(&prime);
        data.extend(hex("02 81 80"));
        data.extend(prime.iter().rev());
        let (first, rest) = data.split_at(255);
        let blocks = [
            [&hex("10 FE 07 9A FF")[..], first].concat(),
            [&hex("00 FE 07 9A")[..], &[rest.len() as u8], rest].concat(),
        ];
        let (mut t, sink) = traced();
        for block in &blocks {
            assert!(t.transmit(block).is_ok());
        }
        let trace = lines(&sink);
        assert!(
            trace[0].starts_with(&format!("> 10FE079A {REDACTED}")),
            "{}",
            trace[0]
        );
        assert!(
            trace[2].starts_with(&format!("> 00FE079A {REDACTED}")),
            "{}",
            trace[2]
        );
        assert_absent(&trace, "the first prime", &prime[..16]);
        assert_absent(
            &trace,
            "the second prime",
            &prime.iter().rev().copied().collect::<Vec<_>>()[..16],
        );
    }

    #[test]
    fn failures_and_resets_are_traced() {
        let card = RecordingCard::failing_with(TransportError::CardReset);
        let sink = TraceSink::default();
        let mut t = Tracing::with_sink(card, Arc::clone(&sink));
        assert_eq!(t.transmit(&[0, 0xFD, 0, 0]), Err(TransportError::CardReset));
        assert_eq!(t.reset(), Ok(()));
        assert_eq!(lines(&sink), ["> 00FD0000", "! the card was reset", "! reset"]);
        assert_eq!(t.into_inner().resets, 1);
    }
}
