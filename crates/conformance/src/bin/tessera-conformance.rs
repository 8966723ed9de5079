//! tessera-conformance (--module PATH --reader NAME | --builtin) [--suite NAME]… [--json FILE]
//!                     [--provision] [--card-stats FILE]
//!
//! Runs the conformance suites against a card module and prints one row per case, then the line
//! `N passed, N failed`. Exits 1 when a case failed, 2 when the run could not start. `tessera check`
//! runs the same suites through the same library function ([`tessera_conformance::runner::run`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser;
use tessera_conformance::runner::{self, Target};

#[derive(Debug, Parser)]
#[command(
    name = "tessera-conformance",
    about = "Plays the Base CSP against a smart card minidriver (also: `tessera check`)"
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
    let target = if args.builtin {
        Target::Builtin { seed: args.seed }
    } else {
        let (Some(path), Some(reader)) = (args.module, args.reader) else {
            bail!("give --builtin, or --module PATH and --reader NAME");
        };
        Target::Module {
            path,
            reader,
            provision: args.provision,
            card_stats: args.card_stats,
        }
    };
    let report = runner::run(&target, &args.suites)?;
    print!("{}", report.to_text());
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json()).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report.failed == 0)
}
