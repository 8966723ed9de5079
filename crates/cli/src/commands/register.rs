//! `tessera register [--unregister]`: on Windows, introduces the ATR of the card in a reader to the smart
//! card database with Tessera as its card module and the Base CSP and Smart Card KSP as its providers
//! (what `DllRegisterServer` does for the known tokens; [`tessera_minidriver::registration`]). Elsewhere
//! there is no such database and the command says so (exit code 9).

use crate::args::RegisterArgs;
use crate::errors::{CliError, CliResult};

/// Runs `tessera register`.
#[cfg(windows)]
pub fn run(args: &RegisterArgs) -> CliResult<()> {
    use tessera_minidriver::registration;

    use crate::card::{Card, CardSource};

    let card = Card::open(&CardSource::from_options(None, args.reader.as_deref()), false)?;
    let atr = card.atr().to_vec();
    let name = registration::card_type_name(&atr);
    let mask = vec![0xFF; atr.len()];
    let hresult = tessera_minidriver::with_card_type_database(|db| {
        if args.unregister {
            registration::unregister_card_type(db, &name)
        } else {
            registration::register_card_type(db, &name, &atr, &mask, &args.module_file)
        }
    });
    match hresult as u32 {
        0 => {
            if args.unregister {
                eprintln!("removed the card type {name:?}");
            } else {
                eprintln!(
                    "registered {name:?} (ATR {}) for {}, the Base CSP and the Smart Card KSP",
                    hex::encode_upper(&atr),
                    args.module_file
                );
            }
            Ok(())
        }
        0x8007_0005 => Err(CliError::Declined(
            "Windows refused the change (access denied): run tessera from an administrator prompt".into(),
        )),
        code => Err(CliError::Card(format!(
            "the smart card database refused the change (HRESULT 0x{code:08X})"
        ))),
    }
}

/// Runs `tessera register`.
#[cfg(not(windows))]
pub fn run(args: &RegisterArgs) -> CliResult<()> {
    let verb = if args.unregister { "unregister" } else { "register" };
    Err(CliError::WindowsOnly(format!(
        "`tessera register` is Windows-only: it writes Windows' smart card database (the Calais card \
         types that tell the Base CSP which card module serves a card). There is nothing to {verb} on this \
         system; pcsc-lite hands every card to the application that asks for it"
    )))
}
