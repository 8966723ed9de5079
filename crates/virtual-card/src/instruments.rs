//! Instrumentation readable by tests and the vpcd bridge: counters of APDUs and bytes in each direction,
//! and an optional trace of the exchange with secrets redacted (PINs, keys, decrypted data).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tessera_piv::redact::Redactor;

/// Card-side counters; share the `Arc` to read them while the card is in use.
#[derive(Debug, Default)]
pub struct CardCounters {
    apdus: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

/// A snapshot of [`CardCounters`], in the JSON form of the `--stats` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CounterSnapshot {
    /// Command APDUs received.
    pub apdus: u64,
    /// Command bytes received.
    pub bytes_in: u64,
    /// Response bytes sent (including status words).
    pub bytes_out: u64,
}

impl CounterSnapshot {
    /// The difference `self - earlier`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            apdus: self.apdus.saturating_sub(earlier.apdus),
            bytes_in: self.bytes_in.saturating_sub(earlier.bytes_in),
            bytes_out: self.bytes_out.saturating_sub(earlier.bytes_out),
        }
    }

    /// `{"apdus":N,"bytes_in":N,"bytes_out":N}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl CardCounters {
    /// Current values.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            apdus: self.apdus.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn record(&self, command_len: usize, response_len: usize) {
        self.apdus.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(command_len as u64, Ordering::Relaxed);
        self.bytes_out.fetch_add(response_len as u64, Ordering::Relaxed);
    }
}

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
