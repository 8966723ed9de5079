//! Instrumentation readable by tests and the vpcd bridge: an optional trace of the exchange with secrets
//! redacted (PINs, keys, decrypted data). The card counts APDUs and bytes with
//! [`tessera_piv::transport::Counters`].

use std::io::Write;
use std::sync::{Arc, Mutex};

use tessera_piv::redact::Redactor;

/// Where trace lines go.
pub enum TraceSink {
    /// Kept in memory (tests read them).
    Memory(Arc<Mutex<Vec<String>>>),
    /// Appended to a writer (a file), one line each.
    Writer(Box<dyn Write + Send>),
}

impl std::fmt::Debug for TraceSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory(_) => f.write_str("TraceSink::Memory"),
            Self::Writer(_) => f.write_str("TraceSink::Writer"),
        }
    }
}

/// A trace: `> command` and `< response` lines, plus events such as resets.
#[derive(Debug)]
pub struct Trace {
    sink: TraceSink,
    redactor: Redactor,
}

impl Trace {
    /// A trace into `sink`.
    pub fn new(sink: TraceSink) -> Self {
        Self {
            sink,
            redactor: Redactor::new(),
        }
    }

    /// A trace kept in memory, and the handle to read it.
    pub fn in_memory() -> (Self, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (Self::new(TraceSink::Memory(Arc::clone(&lines))), lines)
    }

    pub(crate) fn exchange(&mut self, command: &[u8], response: &[u8]) {
        let c = self.redactor.command(command);
        let r = self.redactor.response(response);
        self.line(format!("> {c}"));
        self.line(format!("< {r}"));
    }

    pub(crate) fn event(&mut self, what: &str) {
        self.redactor = Redactor::new();
        self.line(format!("# {what}"));
    }

    fn line(&mut self, line: String) {
        match &mut self.sink {
            TraceSink::Memory(lines) => {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
            TraceSink::Writer(w) => {
                let _ = writeln!(w, "{line}");
                let _ = w.flush();
            }
        }
    }
}
