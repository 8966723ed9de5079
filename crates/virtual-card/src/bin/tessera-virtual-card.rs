//! `tessera-virtual-card`: attaches a virtual PIV card to a pcscd running the vsmartcard vpcd driver.
//!
//! ```text
//! tessera-virtual-card --vpcd HOST:PORT [--state FILE] [--serial N] [--seed N] [--stats FILE]
//!                      [--trace FILE] [--mgm-algorithm 3des|aes128|aes192|aes256]
//! ```
//! Connects to vpcd as a TCP client (retrying every 200 ms), reconnects when the connection drops, and
//! exits 0 on SIGINT or SIGTERM. State is saved after every command that changes it.

use std::fs::OpenOptions;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use tessera_piv::ManagementAlgorithm;
use tessera_virtual_card::store::write_atomically;
use tessera_virtual_card::vpcd::{self, BridgeEvent};
use tessera_virtual_card::{CardConfig, Trace, TraceSink, VirtualCard};

/// Management-key types a new card can have.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum MgmAlgorithm {
    #[value(name = "3des")]
    Tdes,
    Aes128,
    Aes192,
    Aes256,
}

impl From<MgmAlgorithm> for ManagementAlgorithm {
    fn from(a: MgmAlgorithm) -> Self {
        match a {
            MgmAlgorithm::Tdes => Self::Tdes,
            MgmAlgorithm::Aes128 => Self::Aes128,
            MgmAlgorithm::Aes192 => Self::Aes192,
            MgmAlgorithm::Aes256 => Self::Aes256,
        }
    }
}

/// A software PIV card (YubiKey 5.7 flavour) attached to pcscd through vpcd.
#[derive(Debug, Parser)]
#[command(name = "tessera-virtual-card", version)]
struct Args {
    /// vpcd address (HOST:PORT) to connect to.
    #[arg(long, value_name = "HOST:PORT")]
    vpcd: String,
    /// Persistent state file (created on first use); without it, a fresh in-memory card.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Serial number of a new card.
    #[arg(long, value_name = "N")]
    serial: Option<u32>,
    /// Seed for a deterministic card (tests only).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Rewrite FILE with {"apdus":N,"bytes_in":N,"bytes_out":N} after every APDU.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// Append a trace of the APDUs (secrets redacted) to FILE.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Management-key type of a new card.
    #[arg(long, value_enum, default_value = "3des")]
    mgm_algorithm: MgmAlgorithm,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown)).context("installing signal handlers")?;
    }
    let mut config = CardConfig {
        management_algorithm: args.mgm_algorithm.into(),
        seed: args.seed,
        ..CardConfig::default()
    };
    if let Some(serial) = args.serial {
        config.serial = serial;
    }
    let mut card = match &args.state {
        Some(path) => {
            VirtualCard::open(path, config).with_context(|| format!("opening {}", path.display()))?
        }
        None => VirtualCard::new(config).context("creating the card")?,
    };
    if let Some(path) = &args.trace {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening trace file {}", path.display()))?;
        card.set_trace(Some(Trace::new(TraceSink::Writer(Box::new(BufWriter::new(
            file,
        ))))));
    }
    let write_stats = |card: &VirtualCard| -> anyhow::Result<()> {
        if let Some(path) = &args.stats {
            let json = card.counters().snapshot().to_json();
            write_atomically(path, json.as_bytes(), false)
                .with_context(|| format!("writing stats file {}", path.display()))?;
        }
        Ok(())
    };
    write_stats(&card)?;
    let mut stats_error = None;
    vpcd::serve(&mut card, &args.vpcd, &shutdown, |event, card| match event {
        BridgeEvent::Connected(address) => eprintln!("tessera-virtual-card: connected to {address}"),
        BridgeEvent::Disconnected(reason) => {
            eprintln!("tessera-virtual-card: disconnected ({reason}), reconnecting")
        }
        BridgeEvent::Apdu => {
            if let Err(e) = write_stats(card) {
                stats_error.get_or_insert(e);
            }
        }
    })?;
    write_stats(&card)?;
    if let Some(e) = stats_error {
        eprintln!("tessera-virtual-card: {e:#}");
    }
    Ok(())
}
