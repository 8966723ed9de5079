//! `tessera`: shows the card module doing its job (`tessera demo`), manages PIV cards (`info`, `keys`,
//! `certificates`, `pin`, `puk`, `management-key`, `container-map`, `reset`), checks card modules
//! (`check`), measures it (`bench`), and helps diagnose (`info --windows`, `trace`, `virtual-card serve`, `register`).
//!
//! Errors name what happened and what to do, each kind with its own exit code ([`errors::ExitCode`]).

mod admin;
mod args;
mod bench;
mod card;
mod commands;
mod csp;
mod errors;
mod secrets;
mod signer;
mod style;

use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command};
use crate::errors::{CliResult, ExitCode};

fn main() -> std::process::ExitCode {
    // The card module logs when TESSERA_MD_LOG is set (`tessera trace` sets it); linked in, it shares
    // this process, so the process installs the module's file logger.
    tessera_minidriver::log::init(|| tessera_minidriver::log::settings(|_| None));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors.
            let code = if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
            return std::process::ExitCode::from(code as u8);
        }
    };
    match dispatch(cli.command) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("tessera: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("  what to do: {hint}");
            }
            std::process::ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn dispatch(command: Command) -> CliResult<u8> {
    match command {
        Command::Demo(a) => commands::demo::run(&a)?,
        Command::Info(a) => commands::info::run(&a)?,
        Command::Keys(c) => commands::keys::run(&c)?,
        Command::Certificates(c) => commands::certificates::run(&c)?,
        Command::Pin(c) => commands::pins::run_pin(&c)?,
        Command::Puk(c) => commands::pins::run_puk(&c)?,
        Command::ManagementKey(c) => commands::management_key::run(&c)?,
        Command::ContainerMap(c) => commands::container_map::run(&c)?,
        Command::Reset(a) => commands::reset::run(&a)?,
        Command::Check(a) => commands::check::run(&a)?,
        Command::Bench(a) => return bench::run(&a),
        Command::VirtualCard(c) => commands::virtual_card::run(&c)?,
        Command::Trace(a) => return commands::trace::run(&a),
        Command::Register(a) => commands::register::run(&a)?,
        Command::Completions(a) => {
            let mut script = Vec::new();
            clap_complete::generate(a.shell, &mut Cli::command(), "tessera", &mut script);
            commands::keys::write_output(None, &script)?;
        }
    }
    Ok(ExitCode::Success as u8)
}
