//! Write access: authenticating with the management key (9B), found in this order: `--management-key
//! HEX` (with a warning), the prompt (`--ask-management-key`), the PIN-protected key (Yubico
//! convention: the flag in admin data 5FFF00, the key in 5FC109 tag 88/89, readable after VERIFY PIN),
//! and the factory-default key (said so when used). Also the confirmation asked before a real card is
//! changed.

use std::io::{BufRead, IsTerminal, Write};

use tessera_piv::objects::{AdminData, ProtectedData, tags};
use tessera_piv::{KeyRef, ManagementAlgorithm, ManagementKey, Transport};
use zeroize::Zeroizing;

use crate::args::AdminArgs;
use crate::card::{Card, CardSession};
use crate::errors::{CliError, CliResult, PivContext, Secret};
use crate::secrets::{SecretInput, warn_argv};

/// How the session got write access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The key given on the command line.
    Argument,
    /// The key typed at the prompt (or read from standard input).
    Prompt,
    /// The PIN-protected key stored on the card.
    PinProtected,
    /// The factory-default key.
    FactoryDefault,
}

/// The management key's algorithm, from GET METADATA 9B; 3DES when the card does not say.
pub fn management_algorithm<T: Transport>(session: &mut tessera_piv::Session<T>) -> ManagementAlgorithm {
    session
        .get_metadata(KeyRef::MANAGEMENT)
        .ok()
        .flatten()
        .and_then(|m| m.algorithm)
        .and_then(|a| a.management())
        .unwrap_or(ManagementAlgorithm::Tdes)
}

/// Parses a management key in hex for `algorithm`.
pub fn parse_key(hex_text: &str, algorithm: ManagementAlgorithm) -> CliResult<ManagementKey> {
    let bytes = Zeroizing::new(
        hex::decode(hex_text.trim().replace([' ', ':'], ""))
            .map_err(|e| CliError::Input(format!("the management key is not hex: {e}")))?,
    );
    ManagementKey::new_unchecked_strength(algorithm, &bytes).map_err(|e| {
        CliError::Input(format!(
            "not a {} management key ({} bytes): {e}",
            algorithm.id().name().unwrap_or("?"),
            bytes.len()
        ))
    })
}

/// Reads the admin data object (5FFF00), `None` when absent or unreadable.
pub fn admin_data<T: Transport>(session: &mut tessera_piv::Session<T>) -> Option<AdminData> {
    let bytes = session.get_data(tags::YUBICO_ADMIN_DATA).ok().flatten()?;
    AdminData::try_from(bytes.as_slice()).ok()
}

/// Authenticates `session` with the PIN-protected management key: VERIFY `pin`, then the key from
/// 5FC109 (tag 88 { 89 key }); when the card refuses it, the previous key an interrupted
/// management-key change left beside it (Tessera's tag C1), with a warning. 5FC109 is not rewritten
/// here: the next management-key change, or the card module's next write, repairs it.
pub fn authenticate_pin_protected<T: Transport>(
    session: &mut tessera_piv::Session<T>,
    pin: &tessera_piv::PaddedPin,
    algorithm: ManagementAlgorithm,
) -> CliResult<ManagementKey> {
    session.verify(KeyRef::PIN, pin).secret(Secret::Pin)?;
    let stored = session
        .get_data(tags::PRINTED_INFORMATION)
        .card()?
        .ok_or_else(|| {
            CliError::ManagementKey(
                "the admin data says the management key is PIN-protected, but 5FC109 is empty".into(),
            )
        })?;
    let protected = ProtectedData::try_from(stored.as_slice())
        .map_err(|e| CliError::ManagementKey(format!("the PIN-protected data is unreadable: {e}")))?;
    let unusable = |e: tessera_piv::objects::ObjectError| CliError::ManagementKey(e.to_string());
    let current = protected
        .management_key(algorithm)
        .map_err(unusable)?
        .ok_or_else(|| CliError::ManagementKey("5FC109 holds no management key".into()))?;
    let refused = match session.authenticate_management_key(&current) {
        Ok(()) => return Ok(current),
        Err(tessera_piv::PivError::Transport(t)) => return Err(CliError::from_transport(t)),
        Err(other) => other,
    };
    let previous = protected
        .previous_management_key(algorithm)
        .ok()
        .flatten()
        .filter(|previous| previous.as_bytes() != current.as_bytes());
    let Some(previous) = previous else {
        return Err(CliError::ManagementKey(format!(
            "the card refused the PIN-protected management key ({refused})"
        )));
    };
    match session.authenticate_management_key(&previous) {
        Ok(()) => {
            eprintln!(
                "warning: a management-key change was interrupted before the card took the new key: the \
                 card still has the previous key, which 5FC109 keeps beside the new one; make the change \
                 again (tessera management-key set)"
            );
            Ok(previous)
        }
        Err(tessera_piv::PivError::Transport(t)) => Err(CliError::from_transport(t)),
        Err(other) => Err(CliError::ManagementKey(format!(
            "the card refused the PIN-protected management key and the previous key kept beside it \
             ({other})"
        ))),
    }
}

/// Authenticates `session` with the management key, from the first source that applies.
pub fn authenticate(
    session: &mut CardSession,
    admin: &AdminArgs,
    secrets: &mut SecretInput,
) -> CliResult<KeySource> {
    authenticate_keeping_key(session, admin, secrets).map(|(source, _)| source)
}

/// [`authenticate`], and the key the card accepted: for a change that keeps it until the card has
/// the new one.
pub fn authenticate_keeping_key(
    session: &mut CardSession,
    admin: &AdminArgs,
    secrets: &mut SecretInput,
) -> CliResult<(KeySource, ManagementKey)> {
    let algorithm = management_algorithm(session);
    let refused = |source: &'static str| {
        move |e: tessera_piv::PivError| match e {
            tessera_piv::PivError::Transport(t) => CliError::from_transport(t),
            other => CliError::ManagementKey(format!("the card refused the {source} ({other})")),
        }
    };
    if let Some(hex_text) = &admin.management_key {
        warn_argv("management key");
        let key = parse_key(hex_text, algorithm)?;
        session
            .authenticate_management_key(&key)
            .map_err(refused("management key given with --management-key"))?;
        return Ok((KeySource::Argument, key));
    }
    if admin.ask_management_key {
        let text = secrets.text("Management key (hex): ")?;
        let key = parse_key(&text, algorithm)?;
        session
            .authenticate_management_key(&key)
            .map_err(refused("management key typed"))?;
        return Ok((KeySource::Prompt, key));
    }
    if admin_data(session).is_some_and(|a| a.management_key_protected()) {
        let pin = secrets.pin("PIN (unlocks the PIN-protected management key): ")?;
        let key = authenticate_pin_protected(session, &pin, algorithm)?;
        return Ok((KeySource::PinProtected, key));
    }
    let metadata = session.get_metadata(KeyRef::MANAGEMENT).ok().flatten();
    if metadata.as_ref().and_then(|m| m.is_default) == Some(false) {
        return Err(CliError::ManagementKey(
            "this change needs the management key, and the card's key is not the factory default".into(),
        ));
    }
    let key = ManagementKey::default_for(algorithm)
        .ok_or_else(|| CliError::ManagementKey("no factory-default key for this algorithm".into()))?;
    session.authenticate_management_key(&key).map_err(|e| match e {
        tessera_piv::PivError::Transport(t) => CliError::from_transport(t),
        _ => CliError::ManagementKey(
            "this change needs the management key, and the card's key is not the factory default".into(),
        ),
    })?;
    eprintln!(
        "tessera: note: authenticated with the factory-default management key; anyone can change this \
         card: set your own with `tessera management-key protect`"
    );
    Ok((KeySource::FactoryDefault, key))
}

/// Asks "question [y/N]" before a real card is changed; virtual cards and `--yes` skip the question.
pub fn confirm(card: &Card, yes: bool, question: &str) -> CliResult<()> {
    if yes || card.is_virtual() {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Declined(format!(
            "{question}: not confirmed (no terminal to ask; pass --yes)"
        )));
    }
    eprint!("{question} on {}? [y/N] ", card.label());
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Input(e.to_string()))?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(CliError::Declined(format!(
            "{question}: not confirmed; nothing was changed"
        )))
    }
}
