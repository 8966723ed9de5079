//! Logging is off by default. It is turned on by a log file path:
//!
//! * the environment variable `TESSERA_MD_LOG` (optionally `TESSERA_MD_LOG_LEVEL` = `error`, `warn`,
//!   `info`, `debug` (the default), `trace` or `off`, or per target such as `tessera::apdu=trace,info`),
//!   for any process that loads the module;
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

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static INIT: Once = Once::new();

/// Where and how much to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The log file (appended to).
    pub file: PathBuf,
    /// A level (`error` … `trace`, `off`) or a list of `target=level` with an optional default level,
    /// such as `tessera::apdu=trace,info`.
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
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_thread_ids(true)
        .log_internal_errors(false)
        .with_writer(LogWriter::new(writer));
    tracing_subscriber::registry()
        .with(layer)
        .with(filter(level))
        .try_init()
        .is_ok()
}

/// The filter `level` names: a level, or `target=level` items and an optional default level, separated
/// by commas. Anything else (a misspelt level, a bare word) means `debug` for everything, as an unset
/// value does. A plain target/level list (tracing-subscriber's `Targets`) does all the settings need
/// without the regular-expression engine of its environment filter, which made up a third of the DLL.
fn filter(level: &str) -> Targets {
    let named = |item: &str| {
        let level = item.rsplit_once('=').map_or(item, |(_, level)| level).trim();
        // tracing's own parser takes an empty level for `error`: here it is no level.
        !level.is_empty() && level.parse::<LevelFilter>().is_ok()
    };
    let debug = || Targets::new().with_default(LevelFilter::DEBUG);
    if !level.split(',').all(named) {
        return debug();
    }
    level.trim().parse().unwrap_or_else(|_| debug())
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
    use tracing::Level;

    use super::*;

    #[test]
    fn every_documented_level_filters_as_named() {
        let levels = [Level::ERROR, Level::WARN, Level::INFO, Level::DEBUG, Level::TRACE];
        for (i, name) in ["error", "warn", "info", "debug", "trace"].iter().enumerate() {
            for upper in [name.to_string(), name.to_uppercase(), format!(" {name} ")] {
                let f = filter(&upper);
                for (j, level) in levels.iter().enumerate() {
                    assert_eq!(
                        f.would_enable("tessera::md", level),
                        j <= i,
                        "TESSERA_MD_LOG_LEVEL={upper:?} and an event at {level}"
                    );
                }
            }
        }
        assert!(!filter("off").would_enable("tessera::md", &Level::ERROR));
    }

    #[test]
    fn targets_can_have_levels_of_their_own_and_nonsense_means_debug() {
        let f = filter("tessera::apdu=trace,warn");
        assert!(f.would_enable("tessera::apdu", &Level::TRACE));
        assert!(f.would_enable("tessera::md", &Level::WARN));
        assert!(!f.would_enable("tessera::md", &Level::INFO));
        for nonsense in ["loud", "tessera=[x]", "=", ""] {
            let f = filter(nonsense);
            assert!(f.would_enable("tessera::md", &Level::DEBUG), "{nonsense:?}");
            assert!(!f.would_enable("tessera::md", &Level::TRACE), "{nonsense:?}");
        }
    }

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
