//! One module per command.

pub mod certificates;
pub mod check;
pub mod container_map;
pub mod demo;
pub mod info;
pub mod keys;
pub mod management_key;
pub mod pins;
pub mod register;
pub mod reset;
pub mod trace;
pub mod virtual_card;

use crate::admin;
use crate::args::AdminArgs;
use crate::card::{Card, CardSession};
use crate::errors::CliResult;
use crate::secrets::SecretInput;

/// The start of a command that changes the card: asks `question` (unless `--yes` or a virtual card),
/// opens a session and authenticates it with the management key.
pub fn administered_session(
    card: &Card,
    admin: &AdminArgs,
    secrets: &mut SecretInput,
    question: &str,
) -> CliResult<CardSession> {
    admin::confirm(card, admin.yes, question)?;
    let mut session = card.session()?;
    admin::authenticate(&mut session, admin, secrets)?;
    Ok(session)
}
