//! `tessera check`: the conformance suites (the Base CSP's side of the interface) against a card module,
//! through the same library function as the `tessera-conformance` binary
//! ([`tessera_conformance::runner::run`]).

use tessera_conformance::runner::{self, RunError, Target};

use crate::args::CheckArgs;
use crate::errors::{CliError, CliResult};

/// Runs `tessera check`.
pub fn run(args: &CheckArgs) -> CliResult<()> {
    let target = match (&args.module, &args.reader) {
        _ if args.builtin => Target::Builtin { seed: args.seed },
        (Some(path), Some(reader)) => Target::Module {
            path: path.clone(),
            reader: reader.clone(),
            provision: args.provision,
            card_stats: args.card_stats.clone(),
        },
        _ => {
            return Err(CliError::Input(
                "say what to check: --builtin, or --module PATH --reader NAME".into(),
            ));
        }
    };
    let report = runner::run(&target, &args.suites).map_err(|e| match e {
        RunError::UnknownSuite { .. } | RunError::Module(_) | RunError::NoBuiltin => {
            CliError::Input(e.to_string())
        }
        RunError::Card(reason) => CliError::NoCard(reason),
    })?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    if report.failed == 0 {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{} conformance cases failed",
            report.failed
        )))
    }
}
