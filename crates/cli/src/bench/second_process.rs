//! S7 runs in a process of its own: the bench starts itself (`tessera bench --second-process JOB`) with
//! the card, the logon key and the CSP cache a new process finds on this machine, and reads the outcome
//! back from its standard output. Nothing the module keeps in memory reaches the new process; only
//! what the CSP's global cache holds does.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use tessera_conformance::fixture;
use tessera_piv::KeyRef;

use super::csp::{BaseCsp, CacheSnapshot, Recorder, Stop};
use super::meter::Meter;
use super::scenarios::{Outcome, fresh_card_state, logon};
use super::setup::Target;
use crate::card::Card;
use crate::errors::{CliError, CliResult};

/// Where the second process finds the card.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CardPlace {
    /// A virtual card kept in this file.
    VirtualFile(PathBuf),
    /// The card in this reader.
    Reader(String),
}

/// What the second process is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// The card.
    pub card: CardPlace,
    /// What the CSP cache holds for a new process.
    pub cache: CacheSnapshot,
    /// The logon key: slot, container, key spec, certificate file, and its certificate (hex DER).
    pub slot: u8,
    /// Container index.
    pub index: u8,
    /// Key spec.
    pub key_spec: u32,
    /// `kxcNN`/`kscNN`.
    pub certificate_file: String,
    /// The slot's certificate as the bench wrote or found it.
    pub certificate: String,
    /// The module is handed an ATR without the extended-length announcement (`--short-apdus`).
    pub short_apdus: bool,
}

/// Starts the second process on `job` and returns its outcome.
pub fn run(job: &Job, scratch: &Path) -> CliResult<Outcome> {
    let file = scratch.join("second-process.json");
    let text = serde_json::to_string(job).map_err(|e| CliError::Input(e.to_string()))?;
    std::fs::write(&file, text).map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
    let exe = std::env::current_exe().map_err(|e| CliError::Input(format!("the bench's own path: {e}")))?;
    let output = Command::new(exe)
        .args(["bench", "--second-process"])
        .arg(&file)
        .output()
        .map_err(|e| CliError::Input(format!("starting the second process: {e}")))?;
    if !output.status.success() {
        return Err(CliError::Card(format!(
            "the second process failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| CliError::Card(format!("the second process's answer: {e}")))
}

/// The second process: one logon as the first context of this process, printed as JSON.
pub fn serve(job_file: &Path) -> CliResult<()> {
    let text = std::fs::read_to_string(job_file)
        .map_err(|e| CliError::Input(format!("{}: {e}", job_file.display())))?;
    let job: Job = serde_json::from_str(&text).map_err(|e| CliError::Input(e.to_string()))?;
    if job.short_apdus {
        super::csp::announce_short_apdus_only();
    }
    let card = match &job.card {
        CardPlace::VirtualFile(path) => Card::virtual_file(path, false)?,
        CardPlace::Reader(name) => Card::reader(name)?,
    };
    let certificate = hex::decode(&job.certificate).map_err(|e| CliError::Input(e.to_string()))?;
    let (public_key, _) = fixture::certificate_key(&certificate)
        .ok_or_else(|| CliError::Input("the job's certificate is unreadable".into()))?;
    let target = Target {
        slot: KeyRef(job.slot),
        index: job.index,
        key_spec: job.key_spec,
        public_key,
        certificate_file: job.certificate_file.clone(),
    };
    let _exclusive = tessera_conformance::ffi::alloc::exclusive();
    let meter = Meter::new();
    let mut csp = BaseCsp::new(&meter);
    csp.restore(&job.cache);
    fresh_card_state(&card);
    let mut rec = Recorder::new(&meter);
    let result = (|| {
        let ctx = csp.open(&card, &mut rec)?;
        logon(&mut csp, &ctx, &mut rec, &target)?;
        csp.close(ctx, &mut rec);
        Ok::<(), Stop>(())
    })();
    let mut outcome = Outcome {
        calls: rec.calls,
        stop: result.err(),
        ..Outcome::default()
    };
    outcome.notes.push(match (&job.cache.freshness, csp.mode()) {
        (Some(_), _) => format!(
            "a new process with the global cache ({} entries)",
            job.cache.entries.len()
        ),
        (None, Some(mode)) => format!(
            "a new process with an empty cache: the module reports {}, so the CSP's cache did not \
             outlive the first process",
            mode.name()
        ),
        (None, None) => "a new process with an empty cache".into(),
    });
    let json = serde_json::to_string(&outcome).map_err(|e| CliError::Input(e.to_string()))?;
    println!("{json}");
    Ok(())
}
