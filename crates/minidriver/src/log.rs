//! Logging is off by default. Setting `TESSERA_MD_LOG` to a file path (optionally
//! `TESSERA_MD_LOG_LEVEL` to `error`…`trace`, default `debug`) turns on a log of every entry point with
//! its result code. PINs, keys and decrypted data are never logged.

use std::sync::Once;

static INIT: Once = Once::new();

/// Installs the file logger once per process, when the environment asks for it. Only the exported
/// `CardAcquireContext` calls this: a Rust program that links the module as a library keeps its own
/// logging.
pub fn init_from_environment() {
    INIT.call_once(|| {
        let Some(path) = std::env::var_os("TESSERA_MD_LOG") else {
            return;
        };
        let Ok(file) = std::fs::OpenOptions::new().create(true).append(true).open(&path) else {
            return;
        };
        let level = std::env::var("TESSERA_MD_LOG_LEVEL").unwrap_or_else(|_| "debug".into());
        let filter = tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| "debug".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_thread_ids(true)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    });
}
