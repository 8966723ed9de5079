//! Logging is off by default. It is turned on by a log file path:
//!
//! * the environment variable `TESSERA_MD_LOG` (optionally `TESSERA_MD_LOG_LEVEL` = `error`…`trace`,
//!   default `debug`), for any process that loads the module;
//! * on Windows also the registry values `LogFile` and `LogLevel` (REG_SZ) under
//!   `HKLM\SOFTWARE\Tessera\Minidriver`, which reach processes whose environment cannot be set
//!   (LSASS during logon, the certificate propagation service).
//!
//! Every entry point logs its name and result code. At `debug` and more, every APDU is traced too
//! (target `tessera::apdu`, `tessera_piv::transport::Tracing` over the context's link): command headers
//! and lengths, status words, and the data of everything but the commands that carry secrets (VERIFY,
//! CHANGE REFERENCE DATA, RESET RETRY COUNTER, management-key authentication, SET MANAGEMENT KEY,
//! IMPORT) and the answers that do (every GENERAL AUTHENTICATE result: signatures, decrypted blocks,
//! ECDH secrets; the PIN-protected object 5FC109). PINs, PUKs, keys and decrypted data are never
//! logged.

use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

static INIT: Once = Once::new();

/// Where and how much to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The log file (appended to).
    pub file: PathBuf,
    /// A `tracing` filter such as `debug`.
    pub level: String,
}

/// Reads the settings from the environment, then from `registry` (a lookup of a value name under
/// `HKLM\SOFTWARE\Tessera\Minidriver`).
pub fn settings(registry: impl Fn(&str) -> Option<String>) -> Option<LogSettings> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let file = env("TESSERA_MD_LOG").or_else(|| registry("LogFile"))?;
    let level = env("TESSERA_MD_LOG_LEVEL")
        .or_else(|| registry("LogLevel"))
        .unwrap_or_else(|| "debug".into());
    Some(LogSettings {
        file: file.into(),
        level,
    })
}

/// Installs the file logger once per process, with the settings `settings` returns (asked only on the
/// first call: the registry is not read again for every context). Only the exported
/// `CardAcquireContext` calls this: a Rust program that links the module as a library keeps its own
/// logging. Whatever goes wrong here (no file, a bad filter, a panic in a settings source) leaves the
/// module working without a log, now and on every later call.
pub fn init(settings: impl FnOnce() -> Option<LogSettings>) {
    INIT.call_once(|| {
        // A panic stops here, so the `Once` completes instead of being poisoned for every later call.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let settings = settings()?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&settings.file)
                .ok()?;
            install(&settings.level, file).then_some(())
        }));
    });
}

/// Installs the module's log with `writer` as its destination, unless a logger is installed already.
/// Returns whether it was. The writer is wrapped so that neither a panicking nor a failing writer
/// reaches the calls that log: after a panic the log is off.
pub fn init_with_writer(level: &str, writer: impl Write + Send + 'static) -> bool {
    catch_unwind(AssertUnwindSafe(|| install(level, writer))).unwrap_or(false)
}

fn install(level: &str, writer: impl Write + Send + 'static) -> bool {
    let filter = tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| "debug".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_thread_ids(true)
        .log_internal_errors(false)
        .with_writer(LogWriter::new(writer))
        .try_init()
        .is_ok()
}

/// The log's destination, shared by every thread. A writer that panics is never called again (and the
/// panic goes no further); a poisoned lock is taken over, since the writer holds no invariant the log
/// relies on.
struct LogWriter<W> {
    inner: Mutex<W>,
    broken: AtomicBool,
}

impl<W: Write> LogWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner: Mutex::new(inner),
            broken: AtomicBool::new(false),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut W) -> io::Result<T>) -> io::Result<T> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(io::Error::other("the log writer failed earlier; the log is off"));
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match catch_unwind(AssertUnwindSafe(|| f(&mut inner))) {
            Ok(result) => result,
            Err(payload) => {
                self.broken.store(true, Ordering::Relaxed);
                std::mem::forget(payload);
                Err(io::Error::other("the log writer panicked; the log is off"))
            }
        }
    }
}

/// One event's handle on the [`LogWriter`].
struct LogLine<'a, W>(&'a LogWriter<W>);

impl<W: Write> Write for LogLine<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.with(|w| w.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.with(|w| w.write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.with(|w| w.flush())
    }
}

impl<'a, W: Write + 'a> MakeWriter<'a> for LogWriter<W> {
    type Writer = LogLine<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        LogLine(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consulted_when_the_environment_is_silent() {
        if std::env::var_os("TESSERA_MD_LOG").is_some() {
            return; // the developer's own setting wins; nothing to check here
        }
        assert_eq!(settings(|_| None), None);
        let s =
            settings(|k| (k == "LogFile").then(|| "C:\\ProgramData\\Tessera\\md.log".to_string())).unwrap();
        assert_eq!(s.level, "debug");
        assert!(s.file.to_string_lossy().ends_with("md.log"));
    }
}
