//! `tessera-virtual-card`: attaches a virtual PIV card to a pcscd running the vsmartcard vpcd driver.
//!
//! ```text
//! tessera-virtual-card --vpcd HOST:PORT [--state FILE] [--serial N] [--seed N] [--stats FILE]
//!                      [--trace FILE] [--mgm-algorithm 3des|aes128|aes192|aes256] [--test-faults]
//! ```
//! Connects to vpcd as a TCP client (retrying every 200 ms), reconnects when the connection drops, and
//! exits 0 on SIGINT or SIGTERM. State is saved after every command that changes it. The bridge itself
//! is [`tessera_virtual_card::bridge::run`], which `tessera virtual-card serve` runs too.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::Parser;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use tessera_piv::ManagementAlgorithm;
use tessera_virtual_card::CardConfig;
use tessera_virtual_card::bridge::{self, BridgeOptions};
use tessera_virtual_card::vpcd::BridgeEvent;

/// Management-key types a new card can have, by their command-line names.
const MGM_ALGORITHMS: [(&str, ManagementAlgorithm); 4] = [
    ("3des", ManagementAlgorithm::Tdes),
    ("aes128", ManagementAlgorithm::Aes128),
    ("aes192", ManagementAlgorithm::Aes192),
    ("aes256", ManagementAlgorithm::Aes256),
];

/// Parses `--mgm-algorithm`: one of [`MGM_ALGORITHMS`]' names (listed in `--help` and in the error).
fn mgm_algorithm() -> impl TypedValueParser<Value = ManagementAlgorithm> {
    PossibleValuesParser::new(MGM_ALGORITHMS.map(|(name, _)| name)).map(|name| {
        // PossibleValuesParser has refused every other name already.
        MGM_ALGORITHMS
            .into_iter()
            .find(|(n, _)| *n == name)
            .map_or(ManagementAlgorithm::Tdes, |(_, algorithm)| algorithm)
    })
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
    #[arg(long, default_value = "3des", value_parser = mgm_algorithm())]
    mgm_algorithm: ManagementAlgorithm,
    /// Accept the test-fault instruction (00 EF), with which a test harness makes the card misbehave.
    #[arg(long)]
    test_faults: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown)).context("installing signal handlers")?;
    }
    let mut config = CardConfig {
        management_algorithm: args.mgm_algorithm,
        seed: args.seed,
        ..CardConfig::default()
    };
    if let Some(serial) = args.serial {
        config.serial = serial;
    }
    let options = BridgeOptions {
        vpcd: args.vpcd,
        state: args.state,
        config,
        stats: args.stats,
        trace: args.trace,
        test_faults: args.test_faults,
    };
    bridge::run(&options, &shutdown, |event| match event {
        BridgeEvent::Connected(address) => eprintln!("tessera-virtual-card: connected to {address}"),
        BridgeEvent::Disconnected(reason) => {
            eprintln!("tessera-virtual-card: disconnected ({reason}), reconnecting")
        }
        BridgeEvent::Apdu => {}
    })?;
    Ok(())
}
