//! Logging is off by default. It is turned on by a log file path:
//!
//! * the environment variable `TESSERA_MD_LOG` (optionally `TESSERA_MD_LOG_LEVEL` = `error`…`trace`,
//!   default `debug`), for any process that loads the module;
//! * on Windows also the registry values `LogFile` and `LogLevel` (REG_SZ) under
//!   `HKLM\SOFTWARE\Tessera\Minidriver`, which reach processes whose environment cannot be set
//!   (LSASS during logon, the certificate propagation service).
//!
//! Every entry point logs its name and result code; the APDU trace shows secrets redacted. PINs, PUKs,
//! keys and decrypted data are never logged.

use std::path::PathBuf;
use std::sync::Once;

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
/// logging.
pub fn init(settings: impl FnOnce() -> Option<LogSettings>) {
    INIT.call_once(|| {
        let Some(settings) = settings() else { return };
        let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&settings.file)
        else {
            return;
        };
        let filter =
            tracing_subscriber::EnvFilter::try_new(&settings.level).unwrap_or_else(|_| "debug".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_thread_ids(true)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    });
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
