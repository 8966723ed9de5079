//! A whole vpcd bridge run, as the `tessera-virtual-card` binary and `tessera virtual-card serve` offer
//! it: open or create the card (in memory or in its state file), optionally trace its APDUs and keep a
//! statistics file up to date, then [`vpcd::serve`] until `shutdown` is set.

use std::fs::OpenOptions;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use crate::VirtualCard;
use crate::config::CardConfig;
use crate::error::VirtualCardError;
use crate::instruments::{Trace, TraceSink};
use crate::store::write_atomically;
use crate::vpcd::{self, BridgeEvent};

/// The vpcd driver's default address (its `reader.conf` entry `/dev/null:0x8C7B`).
pub const DEFAULT_VPCD_ADDRESS: &str = "127.0.0.1:35963";

/// How to run the bridge.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// vpcd's address, `HOST:PORT`.
    pub vpcd: String,
    /// Persistent state file (created on first use); `None` is a fresh in-memory card.
    pub state: Option<PathBuf>,
    /// How a new card is made.
    pub config: CardConfig,
    /// Rewritten with `{"apdus":N,"bytes_in":N,"bytes_out":N}` after every APDU.
    pub stats: Option<PathBuf>,
    /// Appended with a trace of the APDUs (secrets redacted).
    pub trace: Option<PathBuf>,
    /// Accept the test-fault instruction ([`crate::test_faults`]), for conformance runs.
    pub test_faults: bool,
}

/// Why the bridge stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The card could not be opened or created.
    #[error("opening the card: {0}")]
    Card(#[source] VirtualCardError),
    /// The trace file could not be opened.
    #[error("opening trace file {path}: {source}")]
    Trace {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The statistics file could not be written.
    #[error("writing stats file {path}: {source}")]
    Stats {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The vpcd connection failed.
    #[error(transparent)]
    Vpcd(VirtualCardError),
}

/// Runs the bridge until `shutdown` is set; `on_event` hears of connections and disconnections.
pub fn run(
    options: &BridgeOptions,
    shutdown: &AtomicBool,
    mut on_event: impl FnMut(&BridgeEvent),
) -> Result<(), BridgeError> {
    let mut card = match &options.state {
        Some(path) => VirtualCard::open(path, options.config),
        None => VirtualCard::new(options.config),
    }
    .map_err(BridgeError::Card)?;
    if options.test_faults {
        card.enable_test_faults();
    }
    if let Some(path) = &options.trace {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| BridgeError::Trace {
                path: path.display().to_string(),
                source,
            })?;
        card.set_trace(Some(Trace::new(TraceSink::Writer(Box::new(BufWriter::new(
            file,
        ))))));
    }
    let write_stats = |card: &VirtualCard| -> Result<(), BridgeError> {
        if let Some(path) = &options.stats {
            let json = serde_json::to_string(&card.counters().snapshot()).unwrap_or_default();
            write_atomically(path, json.as_bytes(), false).map_err(|source| BridgeError::Stats {
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(())
    };
    write_stats(&card)?;
    let mut stats_error = None;
    vpcd::serve(&mut card, &options.vpcd, shutdown, |event, card| {
        if let BridgeEvent::Apdu = event {
            if let Err(e) = write_stats(card) {
                stats_error.get_or_insert(e);
            }
        } else {
            on_event(event);
        }
    })
    .map_err(BridgeError::Vpcd)?;
    write_stats(&card)?;
    stats_error.map_or(Ok(()), Err)
}
