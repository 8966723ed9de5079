//! `tessera trace -- COMMAND`: runs COMMAND with the card module's log on (`TESSERA_MD_LOG`, the same
//! variable the module reads in any process: entry points, result codes and the APDU trace, PINs and keys
//! redacted), then prints the log and exits with COMMAND's status.

use std::path::PathBuf;
use std::process::Command;

use crate::args::TraceArgs;
use crate::errors::{CliError, CliResult};

/// Runs `tessera trace`; the result is COMMAND's exit status.
pub fn run(args: &TraceArgs) -> CliResult<u8> {
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| CliError::Input("give the command to trace after --".into()))?;
    let keep = args.log.is_some();
    let log = args
        .log
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("tessera-trace-{}.log", std::process::id())));
    if !keep {
        let _ = std::fs::remove_file(&log);
    }
    let status = Command::new(program)
        .args(rest)
        .env("TESSERA_MD_LOG", &log)
        .env("TESSERA_MD_LOG_LEVEL", &args.level)
        .status()
        .map_err(|e| CliError::Input(format!("cannot run {program}: {e}")))?;
    show(&log);
    if !keep {
        let _ = std::fs::remove_file(&log);
    }
    Ok(status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1)))
}

fn show(log: &PathBuf) {
    match std::fs::read_to_string(log) {
        Ok(text) if !text.is_empty() => {
            eprintln!("---- card module log ({}) ----", log.display());
            eprint!("{text}");
            eprintln!("---- end of the card module log ----");
        }
        _ => eprintln!(
            "tessera trace: the card module wrote no log (the command did not load it, or did not call it)"
        ),
    }
}
