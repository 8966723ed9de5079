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
