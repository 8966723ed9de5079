//! `tessera pin change|unblock|retries` and `tessera puk change`. A PIN is sent once: nothing here
//! retries a VERIFY or a change.

use tessera_piv::{KeyRef, PaddedPin, PinStatus};

use crate::admin;
use crate::args::{PinCommand, PukCommand};
use crate::card::Card;
use crate::commands::keys::open;
use crate::errors::{CliError, CliResult, PivContext, Secret};
use crate::secrets::SecretInput;

/// Runs a `tessera pin` command.
pub fn run_pin(command: &PinCommand) -> CliResult<()> {
    match command {
        PinCommand::Change { card, secrets } => {
            let mut input = SecretInput::new(secrets.pin_stdin, secrets.pin.clone());
            let card = open(card)?;
            let current = input.pin("Current PIN: ")?;
            let new = input.new_value("PIN")?;
            change_reference_data(&card, KeyRef::PIN, &current, &new)
        }
        PinCommand::Unblock { card, secrets } => {
            let mut input = SecretInput::new(secrets.pin_stdin, secrets.pin.clone());
            let card = open(card)?;
            let puk = input.existing("PUK: ", "PUK")?;
            let new = input.new_value("PIN")?;
            let mut session = card.session()?;
            session.reset_retry_counter(&puk, &new).secret(Secret::Puk)?;
            eprintln!("PIN unblocked and set");
            Ok(())
        }
        PinCommand::Retries {
            set,
            card,
            admin,
            secrets,
        } => {
            let card = open(card)?;
            let mut session = card.session()?;
            if let Some(values) = set {
                let [pin_tries, puk_tries] = values.as_slice() else {
                    return Err(CliError::Input("--set takes PIN_TRIES and PUK_TRIES".into()));
                };
                if !(1..=15).contains(pin_tries) || !(1..=15).contains(puk_tries) {
                    return Err(CliError::Input("try counts are 1 to 15".into()));
                }
                admin::confirm(
                    &card,
                    admin.yes,
                    "Set the try counters (a YubiKey also puts PIN and PUK back to 123456 and 12345678)",
                )?;
                let mut input = SecretInput::new(secrets.pin_stdin, secrets.pin.clone());
                admin::authenticate(&mut session, admin, &mut input)?;
                if session.pin_status(KeyRef::PIN).card()? != PinStatus::Verified {
                    let pin = input.pin("PIN: ")?;
                    session.verify(KeyRef::PIN, &pin).secret(Secret::Pin)?;
                }
                session.set_pin_retries(*pin_tries, *puk_tries).card()?;
                eprintln!(
                    "PIN tries {pin_tries}, PUK tries {puk_tries}; PIN and PUK are the factory values again"
                );
                return Ok(());
            }
            let info = crate::commands::info::gather(&card, &mut session)?;
            let show = |t: &crate::commands::info::Tries| match (t.remaining, t.total) {
                (Some(r), Some(total)) => format!("{r} of {total}"),
                (Some(r), None) => r.to_string(),
                (None, _) => "unknown".into(),
            };
            println!("PIN tries left: {}", show(&info.pin));
            println!("PUK tries left: {}", show(&info.puk));
            Ok(())
        }
    }
}

/// Runs a `tessera puk` command.
pub fn run_puk(command: &PukCommand) -> CliResult<()> {
    match command {
        PukCommand::Change { card, secrets } => {
            let mut input = SecretInput::new(secrets.pin_stdin, None);
            let card = open(card)?;
            let current = input.existing("Current PUK: ", "PUK")?;
            let new = input.new_value("PUK")?;
            change_reference_data(&card, KeyRef::PUK, &current, &new)
        }
    }
}

/// CHANGE REFERENCE DATA for the PIN or the PUK (sent once), and says so.
fn change_reference_data(card: &Card, key: KeyRef, current: &PaddedPin, new: &PaddedPin) -> CliResult<()> {
    let (what, secret) = if key == KeyRef::PUK {
        ("PUK", Secret::Puk)
    } else {
        ("PIN", Secret::Pin)
    };
    let mut session = card.session()?;
    session.change_reference_data(key, current, new).secret(secret)?;
    eprintln!("{what} changed");
    Ok(())
}
