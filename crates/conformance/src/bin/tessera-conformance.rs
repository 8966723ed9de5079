//! tessera-conformance (--module PATH --reader NAME | --builtin) [--suite NAME]… [--json FILE]
//!                     [--provision] [--card-stats FILE]
//!
//! Runs the conformance suites against a card module and prints one row per case, then the line
//! `N passed, N failed`. Exits 1 when a case failed, 2 when the run could not start.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser;
use tessera_conformance::card::CardAccess;
use tessera_conformance::ffi::module::Module;
use tessera_conformance::fixture;
use tessera_conformance::harness::Harness;
use tessera_conformance::suites;

#[derive(Debug, Parser)]
#[command(
    name = "tessera-conformance",
    about = "Plays the Base CSP against a smart card minidriver"
)]
struct Args {
    /// The card module to load (a .so/.dll exporting CardAcquireContext).
    #[arg(long, conflicts_with = "builtin", requires = "reader")]
    module: Option<PathBuf>,
    /// The PC/SC reader holding the card.
    #[arg(long)]
    reader: Option<String>,
    /// Test Tessera's module linked in, on an in-process virtual card (always provisioned).
    #[arg(long)]
    builtin: bool,
    /// Run only these suites (repeatable).
    #[arg(long = "suite", value_name = "NAME")]
    suites: Vec<String>,
    /// Also write the report as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Put the card in the known state first (default PIN/PUK/3DES management key assumed). Destroys
    /// the keys in the slots it uses.
    #[arg(long)]
    provision: bool,
    /// The virtual card bridge's --stats file, for per-case APDU and byte counts over PC/SC.
    #[arg(long, value_name = "FILE")]
    card_stats: Option<PathBuf>,
    /// Seed of the built-in virtual card.
    #[arg(long, default_value_t = 4)]
    seed: u64,
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tessera-conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<bool> {
    let args = Args::parse();
    for s in &args.suites {
        if !suites::SUITES.contains(&s.as_str()) {
            bail!("unknown suite {s:?}; suites: {}", suites::SUITES.join(", "));
        }
    }
    let plan = fixture::default_plan();
    let harness = if args.builtin {
        builtin(args.seed, &plan)?
    } else {
        let (Some(module), Some(reader)) = (&args.module, &args.reader) else {
            bail!("give --builtin, or --module PATH and --reader NAME");
        };
        let module = Module::load(module).map_err(anyhow::Error::msg)?;
        let card = CardAccess::pcsc(reader, args.card_stats.clone()).map_err(anyhow::Error::msg)?;
        Harness::new(module, card, args.provision, &plan).map_err(anyhow::Error::msg)?
    };
    let report = harness.run(&suites::all(), &args.suites);
    print!("{}", report.to_text());
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json()).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report.failed == 0)
}

#[cfg(feature = "builtin")]
fn builtin(seed: u64, plan: &[fixture::SlotPlan]) -> anyhow::Result<Harness> {
    Harness::builtin(seed, plan).map_err(anyhow::Error::msg)
}

#[cfg(not(feature = "builtin"))]
fn builtin(_seed: u64, _plan: &[fixture::SlotPlan]) -> anyhow::Result<Harness> {
    bail!("this build has no built-in module (feature \"builtin\")")
}
