//! `tessera reset`: the YubiKey RESET of the PIV application, which the card accepts only when PIN and
//! PUK are both blocked. Like ykman, the command blocks them first with wrong values (it knows them to be
//! wrong only by the card's answer: a value that happens to be right is replaced by another).

use tessera_piv::{KeyRef, PaddedPin, PivError, StatusWord};

use crate::admin;
use crate::args::ResetArgs;
use crate::card::{CardSession, CardSource};
use crate::errors::{CliError, CliResult, PivContext};

/// Values tried to block PIN and PUK (two, in case the first is the real one).
const WRONG: [&[u8]; 2] = [b"00000000", b"99999999"];

fn wrong(i: usize) -> CliResult<PaddedPin> {
    PaddedPin::new(WRONG[i % 2]).map_err(|e| CliError::Input(e.to_string()))
}

/// Spends every try of `what` until the card answers "blocked".
fn block(
    session: &mut CardSession,
    what: &str,
    mut attempt: impl FnMut(&mut CardSession, &PaddedPin) -> Result<(), PivError>,
) -> CliResult<()> {
    let mut which = 0;
    for _ in 0..32 {
        match attempt(session, &wrong(which)?) {
            Err(PivError::Blocked) | Err(PivError::WrongPin { retries: 0 }) => return Ok(()),
            Err(PivError::WrongPin { .. }) => {}
            Ok(()) => which += 1,
            Err(e) => return Err(CliError::from_piv(e, crate::errors::Secret::Pin)),
        }
    }
    Err(CliError::Card(format!(
        "the {what} did not block after 32 wrong values"
    )))
}

/// Runs `tessera reset`.
pub fn run(args: &ResetArgs) -> CliResult<()> {
    let card = crate::card::Card::open(
        &CardSource::from_options(args.card.virtual_file.as_deref(), args.card.reader.as_deref()),
        false,
    )?;
    admin::confirm(
        &card,
        args.yes,
        "Reset the PIV application: every key, certificate and the container map are erased, PIN, PUK and \
         management key become the factory values",
    )?;
    let mut session = card.session()?;
    block(&mut session, "PIN", |s, v| s.verify(KeyRef::PIN, v))?;
    block(&mut session, "PUK", |s, v| s.reset_retry_counter(v, v))?;
    // A PUK try that happened to succeed set a new PIN: block that one again (one APDU when blocked).
    block(&mut session, "PIN", |s, v| s.verify(KeyRef::PIN, v))?;
    session.reset_application().map_err(|e| match e.status_word() {
        Some(sw) if sw == StatusWord::INS_NOT_SUPPORTED => {
            CliError::Unsupported("the card has no RESET instruction (a YubiKey extension)".into())
        }
        _ => CliError::from_piv(e, crate::errors::Secret::Pin),
    })?;
    crate::card::select(&mut session, card.label())?;
    let _ = session.pin_status(KeyRef::PIN).card()?;
    eprintln!("the PIV application is reset: PIN 123456, PUK 12345678, factory management key");
    Ok(())
}
