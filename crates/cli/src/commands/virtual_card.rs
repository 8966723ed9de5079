//! `tessera virtual-card create|serve`: a virtual card file, and the vpcd bridge that attaches it to
//! pcscd ([`tessera_virtual_card::bridge::run`], the same bridge as the `tessera-virtual-card` binary).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tessera_virtual_card::bridge::{self, BridgeError, BridgeOptions};
use tessera_virtual_card::vpcd::BridgeEvent;
use tessera_virtual_card::{CardConfig, VirtualCard};

use crate::args::VirtualCardCommand;
use crate::errors::{CliError, CliResult};

/// Runs a `tessera virtual-card` command.
pub fn run(command: &VirtualCardCommand) -> CliResult<()> {
    match command {
        VirtualCardCommand::Create {
            file,
            serial,
            mgm_algorithm,
        } => {
            if file.exists() {
                return Err(CliError::Input(format!(
                    "{} exists already; nothing was changed",
                    file.display()
                )));
            }
            let mut config = CardConfig {
                management_algorithm: (*mgm_algorithm).into(),
                ..CardConfig::default()
            };
            if let Some(serial) = serial {
                config.serial = *serial;
            }
            VirtualCard::open(file, config)
                .map_err(|e| CliError::Input(format!("creating {}: {e}", file.display())))?;
            eprintln!(
                "created a virtual card in {} (PIN 123456, PUK 12345678, factory management key)",
                file.display()
            );
            Ok(())
        }
        VirtualCardCommand::Serve {
            state,
            vpcd,
            stats,
            trace,
        } => {
            let shutdown = Arc::new(AtomicBool::new(false));
            for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(signal, Arc::clone(&shutdown))
                    .map_err(|e| CliError::Failed(format!("installing signal handlers: {e}")))?;
            }
            let options = BridgeOptions {
                vpcd: vpcd.clone(),
                state: Some(state.clone()),
                config: CardConfig::default(),
                stats: stats.clone(),
                trace: trace.clone(),
                test_faults: false,
            };
            eprintln!(
                "attaching the virtual card in {} to vpcd at {vpcd} (Ctrl-C stops)",
                state.display()
            );
            bridge::run(&options, &shutdown, |event| match event {
                BridgeEvent::Connected(address) => eprintln!("connected to vpcd at {address}"),
                BridgeEvent::Disconnected(reason) => eprintln!("vpcd went away ({reason}); reconnecting"),
                BridgeEvent::Apdu => {}
            })
            .map_err(|e| match e {
                BridgeError::Card(_) | BridgeError::Trace { .. } | BridgeError::Stats { .. } => {
                    CliError::Input(e.to_string())
                }
                BridgeError::Vpcd(_) => CliError::NoCard(e.to_string()),
            })
        }
    }
}
