//! A transport that plays a script: each step names the command APDU it expects and what the "card"
//! answers. For tests of anything built on [`Session`](crate::Session), in this crate and others.
//!
//! A command that differs from the script is not answered: the exchange fails with
//! [`TransportError::Io`] naming the step and both byte strings, the mismatch is recorded, and every
//! later exchange fails the same way. [`Scripted::assert_done`] then reports it, or any step left
//! unplayed. When the answer depends on what the host sent (a random challenge), a step can compute it
//! with a closure, which may also refuse the command.

use std::collections::VecDeque;
use std::fmt;

use crate::hex::{self, HexBytes};
use crate::session::{Transport, TransportError};

/// Computes a response (data ‖ SW) from the command bytes, or explains why the command is wrong.
pub type Responder = Box<dyn FnMut(&[u8]) -> Result<Vec<u8>, String> + Send>;

enum Reply {
    Bytes(Vec<u8>),
    Compute(Responder),
    Fail(TransportError),
}

struct Step {
    /// `None` accepts any command (the responder then checks it).
    expect: Option<Vec<u8>>,
    reply: Reply,
}

/// The scripted transport. Build it with the `expect*` methods, hand it to a session, then call
/// [`assert_done`](Self::assert_done) on it (for example through
/// [`Session::transport`](crate::Session::transport)).
#[derive(Default)]
pub struct Scripted {
    steps: VecDeque<Step>,
    played: usize,
    received: Vec<Vec<u8>>,
    mismatch: Option<String>,
    resets: usize,
}

impl Scripted {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, expect: Option<Vec<u8>>, reply: Reply) -> Self {
        self.steps.push_back(Step { expect, reply });
        self
    }

    /// The next command must be `command`; the card answers `response` (data ‖ SW1 SW2).
    pub fn expect(self, command: impl Into<Vec<u8>>, response: impl Into<Vec<u8>>) -> Self {
        self.push(Some(command.into()), Reply::Bytes(response.into()))
    }

    /// [`expect`](Self::expect) with both sides written in hex (whitespace ignored), e.g.
    /// `.expect_hex("00 CB 3F FF 03 5C 01 7E 00", "6A 82")`.
    ///
    /// # Panics
    /// When either string is not hex: that is a bug in the script, not card input.
    pub fn expect_hex(self, command: &str, response: &str) -> Self {
        self.expect(hex::literal(command), hex::literal(response))
    }

    /// The next command must be `command`; `responder` computes the answer from it (or refuses it).
    pub fn expect_with(
        self,
        command: impl Into<Vec<u8>>,
        responder: impl FnMut(&[u8]) -> Result<Vec<u8>, String> + Send + 'static,
    ) -> Self {
        self.push(Some(command.into()), Reply::Compute(Box::new(responder)))
    }

    /// The next command may be anything; `responder` checks it and computes the answer.
    pub fn respond_with(
        self,
        responder: impl FnMut(&[u8]) -> Result<Vec<u8>, String> + Send + 'static,
    ) -> Self {
        self.push(None, Reply::Compute(Box::new(responder)))
    }

    /// The next command may be anything; the card answers `response`.
    pub fn expect_any(self, response: impl Into<Vec<u8>>) -> Self {
        self.push(None, Reply::Bytes(response.into()))
    }

    /// The next command must be `command`, and the exchange fails with `error` (a reset, a removal…).
    pub fn expect_fail(self, command: impl Into<Vec<u8>>, error: TransportError) -> Self {
        self.push(Some(command.into()), Reply::Fail(error))
    }

    /// The next exchange fails with `error`, whatever the command.
    pub fn fail_next(self, error: TransportError) -> Self {
        self.push(None, Reply::Fail(error))
    }

    /// Appends the steps of `other` (for scripts built from parts, such as a SELECT prefix).
    pub fn then(mut self, mut other: Scripted) -> Self {
        self.steps.append(&mut other.steps);
        self
    }

    /// True when every step was played and nothing went wrong.
    pub fn is_done(&self) -> bool {
        self.steps.is_empty() && self.mismatch.is_none()
    }

    /// The first mismatch, if any.
    pub fn mismatch(&self) -> Option<&str> {
        self.mismatch.as_deref()
    }

    /// Steps not played yet.
    pub fn remaining(&self) -> usize {
        self.steps.len()
    }

    /// Every command received, in order (including the one that did not match).
    pub fn received(&self) -> &[Vec<u8>] {
        &self.received
    }

    /// How many times [`Transport::reset`] was called.
    pub fn resets(&self) -> usize {
        self.resets
    }

    /// Panics unless every step was played and every command matched.
    ///
    /// # Panics
    /// With the mismatch, or the number of steps left and the next expected command.
    #[track_caller]
    pub fn assert_done(&self) {
        if let Some(m) = &self.mismatch {
            panic!("{m}");
        }
        if let Some(next) = self.steps.front() {
            let expected = next
                .expect
                .as_deref()
                .map_or_else(|| "any command".to_string(), |e| HexBytes(e).to_string());
            panic!(
                "scripted transport: {} step(s) not played; next expected: {expected}",
                self.steps.len()
            );
        }
    }

    /// Records the first mismatch; every later exchange fails with it.
    fn fail(&mut self, message: String) -> TransportError {
        tracing::debug!(target: "tessera::scripted", "{message}");
        TransportError::Io(self.mismatch.get_or_insert(message).clone())
    }
}

/// What playing one step gave.
enum Outcome {
    Answer(Vec<u8>),
    PlannedFailure(TransportError),
    Refused(String),
}

impl Transport for Scripted {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.received.push(apdu.to_vec());
        if let Some(m) = &self.mismatch {
            return Err(TransportError::Io(m.clone()));
        }
        let step_no = self.played + 1;
        let Some(step) = self.steps.front_mut() else {
            return Err(self.fail(format!(
                "scripted transport: unexpected command {} after the end of the script",
                HexBytes(apdu)
            )));
        };
        if let Some(expected) = &step.expect
            && expected[..] != apdu[..]
        {
            let message = format!(
                "scripted transport: step {step_no}: expected {}, got {}",
                HexBytes(expected),
                HexBytes(apdu)
            );
            return Err(self.fail(message));
        }
        let outcome = match &mut step.reply {
            Reply::Bytes(bytes) => Outcome::Answer(bytes.clone()),
            Reply::Fail(error) => Outcome::PlannedFailure(error.clone()),
            Reply::Compute(responder) => match responder(apdu) {
                Ok(bytes) => Outcome::Answer(bytes),
                Err(why) => Outcome::Refused(format!(
                    "scripted transport: step {step_no}: command {} refused by the script: {why}",
                    HexBytes(apdu)
                )),
            },
        };
        if let Outcome::Refused(message) = outcome {
            return Err(self.fail(message));
        }
        self.steps.pop_front();
        self.played += 1;
        match outcome {
            Outcome::Answer(bytes) => Ok(bytes),
            Outcome::PlannedFailure(error) => Err(error),
            Outcome::Refused(message) => Err(TransportError::Io(message)),
        }
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.resets += 1;
        Ok(())
    }
}

impl fmt::Debug for Scripted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scripted")
            .field("played", &self.played)
            .field("remaining", &self.steps.len())
            .field("mismatch", &self.mismatch)
            .field("resets", &self.resets)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_exact_steps_in_order() {
        let mut t = Scripted::new()
            .expect_hex("00 FD 00 00 00", "05 07 02 90 00")
            .expect_any([0x90, 0x00]);
        assert_eq!(t.transmit(&[0, 0xFD, 0, 0, 0]).unwrap(), [5, 7, 2, 0x90, 0]);
        assert!(!t.is_done());
        assert_eq!(t.transmit(&[1, 2, 3, 4]).unwrap(), [0x90, 0]);
        t.assert_done();
        assert_eq!(t.received().len(), 2);
    }

    #[test]
    fn mismatch_fails_and_sticks() {
        let mut t = Scripted::new().expect_hex("00 FD 00 00", "9000");
        let e = t.transmit(&[0, 0xF8, 0, 0]).unwrap_err();
        assert_eq!(
            e,
            TransportError::Io("scripted transport: step 1: expected 00FD0000, got 00F80000".into())
        );
        // Even the right command is refused now: the script is broken.
        assert!(t.transmit(&[0, 0xFD, 0, 0]).is_err());
        assert_eq!(t.remaining(), 1);
        assert!(t.mismatch().unwrap().contains("step 1"));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.assert_done()));
        assert!(caught.is_err());
    }

    #[test]
    fn end_of_script_unplayed_steps_and_failures() {
        let mut t = Scripted::new();
        assert!(
            matches!(t.transmit(&[0, 1, 2, 3]), Err(TransportError::Io(m)) if m.contains("after the end"))
        );
        let t = Scripted::new().expect_hex("00 FD 00 00", "9000");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.assert_done()));
        assert!(caught.is_err(), "a step left unplayed fails assert_done");
        let mut t = Scripted::new()
            .expect_fail([0, 0xCB, 0x3F, 0xFF], TransportError::CardReset)
            .fail_next(TransportError::CardRemoved);
        assert_eq!(t.transmit(&[0, 0xCB, 0x3F, 0xFF]), Err(TransportError::CardReset));
        assert_eq!(t.transmit(&[9]), Err(TransportError::CardRemoved));
        t.assert_done();
        t.reset().unwrap();
        assert_eq!(t.resets(), 1);
    }

    #[test]
    fn computed_replies_can_refuse() {
        let mut t = Scripted::new()
            .respond_with(|cmd| Ok([cmd, &[0x90, 0x00]].concat()))
            .expect_with([1, 2], |_| Err("wrong witness".into()));
        assert_eq!(t.transmit(&[7]).unwrap(), [7, 0x90, 0]);
        let e = t.transmit(&[1, 2]).unwrap_err();
        assert!(matches!(e, TransportError::Io(m) if m.contains("wrong witness")));
        assert!(!t.is_done());
    }
}
