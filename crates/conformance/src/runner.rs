//! One run of the suites, as the command line asks for it: against a module loaded by path on a card in
//! a PC/SC reader, or against Tessera's module linked in with an in-process virtual card. The
//! `tessera-conformance` binary and `tessera check` are both thin front ends to [`run`].

use std::path::PathBuf;

use crate::card::CardAccess;
use crate::ffi::module::Module;
use crate::fixture;
use crate::harness::Harness;
use crate::report::Report;
use crate::suites;

/// What the suites run against.
#[derive(Debug, Clone)]
pub enum Target {
    /// Tessera's module linked in, on a fresh in-process virtual card made from `seed` (always
    /// provisioned).
    Builtin {
        /// Seed of the virtual card.
        seed: u64,
    },
    /// A card module loaded by path, talking to the card in `reader` through PC/SC.
    Module {
        /// The `.so`/`.dll` exporting `CardAcquireContext`.
        path: PathBuf,
        /// The PC/SC reader holding the card.
        reader: String,
        /// Put the card in the known state first (destroys the keys in the slots the plan uses).
        provision: bool,
        /// The virtual card bridge's `--stats` file, for per-case APDU counts over PC/SC.
        card_stats: Option<PathBuf>,
    },
}

/// Why a run could not start (a failing case is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A suite name that does not exist.
    #[error("unknown suite {name:?}; suites: {known}")]
    UnknownSuite {
        /// The name given.
        name: String,
        /// The suites there are, comma-separated.
        known: String,
    },
    /// The module could not be loaded.
    #[error("{0}")]
    Module(String),
    /// The card could not be reached or provisioned.
    #[error("{0}")]
    Card(String),
    /// This build cannot test the linked-in module.
    #[error("this build has no built-in module (feature \"builtin\")")]
    NoBuiltin,
}

/// Checks the suite names, prepares module and card, and runs the suites (all of them when `only` is
/// empty).
pub fn run(target: &Target, only: &[String]) -> Result<Report, RunError> {
    if let Some(name) = only.iter().find(|s| !suites::SUITES.contains(&s.as_str())) {
        return Err(RunError::UnknownSuite {
            name: name.clone(),
            known: suites::SUITES.join(", "),
        });
    }
    let plan = fixture::default_plan();
    let harness = match target {
        Target::Builtin { seed } => builtin(*seed, &plan)?,
        Target::Module {
            path,
            reader,
            provision,
            card_stats,
        } => {
            let module = Module::load(path).map_err(RunError::Module)?;
            let card = CardAccess::pcsc(reader, card_stats.clone()).map_err(RunError::Card)?;
            Harness::new(module, card, *provision, &plan).map_err(RunError::Card)?
        }
    };
    Ok(harness.run(&suites::all(), only))
}

#[cfg(feature = "builtin")]
fn builtin(seed: u64, plan: &[fixture::SlotPlan]) -> Result<Harness, RunError> {
    Harness::builtin(seed, plan).map_err(RunError::Card)
}

#[cfg(not(feature = "builtin"))]
fn builtin(_seed: u64, _plan: &[fixture::SlotPlan]) -> Result<Harness, RunError> {
    Err(RunError::NoBuiltin)
}
