//! `tessera management-key set|protect`, with Yubico's conventions for a PIN-protected key: the key in
//! the PIN-protected data object 5FC109 (tag 88 { 89 key }), and bit 0x02 of tag 81 in the admin data
//! object 5FFF00. Order, so that nothing is lost when the card is pulled mid-way: the new key is stored
//! under PIN protection first (the flag still off, so no tool uses it yet), then set on the card, then
//! the flag is raised.

use tessera_piv::objects::{ProtectedData, tags};
use tessera_piv::{KeyRef, ManagementAlgorithm, ManagementKey, PinStatus};
use zeroize::Zeroizing;

use crate::admin::{self, KeySource};
use crate::args::{ManagementKeyCommand, MgmAlgorithm};
use crate::card::CardSession;
use crate::commands::keys::open;
use crate::errors::{CliError, CliResult, PivContext, Secret};
use crate::secrets::SecretInput;

/// Runs a `tessera management-key` command.
pub fn run(command: &ManagementKeyCommand) -> CliResult<()> {
    match command {
        ManagementKeyCommand::Set {
            algorithm,
            generate,
            ask_new_key,
            protect,
            touch,
            card,
            admin,
            secrets,
        } => {
            if !generate && !ask_new_key {
                return Err(CliError::Input(
                    "say where the new key comes from: --generate (random) or --ask-new-key".into(),
                ));
            }
            set(
                *algorithm,
                *generate,
                *protect,
                *touch,
                card,
                admin,
                &mut SecretInput::new(secrets.pin_stdin, secrets.pin.clone()),
            )
        }
        ManagementKeyCommand::Protect {
            algorithm,
            card,
            admin,
            secrets,
        } => set(
            *algorithm,
            true,
            true,
            false,
            card,
            admin,
            &mut SecretInput::new(secrets.pin_stdin, secrets.pin.clone()),
        ),
    }
}

fn random_key(algorithm: ManagementAlgorithm) -> CliResult<ManagementKey> {
    for _ in 0..8 {
        let mut bytes = Zeroizing::new(vec![0u8; algorithm.key_len()]);
        getrandom::fill(&mut bytes).map_err(|e| CliError::Card(format!("random key: {e}")))?;
        // A random 3DES key is weak with negligible probability; `new` refuses those, so draw again.
        if let Ok(key) = ManagementKey::new(algorithm, &bytes) {
            return Ok(key);
        }
    }
    Err(CliError::Card("no usable random key".into()))
}

/// Makes sure the PIN is verified (5FC109 is read and written under it).
fn verify_pin(session: &mut CardSession, secrets: &mut SecretInput) -> CliResult<()> {
    if session.pin_status(KeyRef::PIN).card()? != PinStatus::Verified {
        let pin = secrets.pin("PIN (for the PIN-protected data): ")?;
        session.verify(KeyRef::PIN, &pin).secret(Secret::Pin)?;
    }
    Ok(())
}

fn protected_data(session: &mut CardSession) -> CliResult<ProtectedData> {
    match session.get_data(tags::PRINTED_INFORMATION).card()? {
        Some(bytes) if !bytes.is_empty() => ProtectedData::try_from(bytes.as_slice())
            .map_err(|e| CliError::Card(format!("the PIN-protected data 5FC109 is unreadable: {e}"))),
        _ => Ok(ProtectedData::default()),
    }
}

#[allow(clippy::too_many_arguments, reason = "one argument per option of the command")]
fn set(
    algorithm: Option<MgmAlgorithm>,
    generate: bool,
    protect: bool,
    touch: bool,
    card: &crate::args::CardArgs,
    admin_args: &crate::args::AdminArgs,
    secrets: &mut SecretInput,
) -> CliResult<()> {
    let card = open(card)?;
    admin::confirm(&card, admin_args.yes, "Replace the management key")?;
    let mut session = card.session()?;
    let current_algorithm = admin::management_algorithm(&mut session);
    let algorithm = algorithm.map_or(current_algorithm, ManagementAlgorithm::from);
    let (source, current_key) = admin::authenticate_keeping_key(&mut session, admin_args, secrets)?;
    let new_key = if generate {
        random_key(algorithm)?
    } else {
        let text = secrets.text("New management key (hex): ")?;
        admin::parse_key(&text, algorithm)?
    };
    let mut admin_data = admin::admin_data(&mut session).unwrap_or_default();
    let was_protected = admin_data.management_key_protected();
    if protect || was_protected {
        verify_pin(&mut session, secrets)?;
    }
    // Ordered so that a cut at any APDU loses no key: 5FC109 gets the new key with the card's current
    // one beside it (Tessera's element C1, which the card module and this command fall back to), then
    // the card the new key, then 5FC109 the new key alone.
    let mut stored = if protect {
        Some(protected_data(&mut session)?)
    } else {
        None
    };
    if let Some(stored) = &mut stored {
        stored.set_management_key(Some(&new_key));
        stored.set_previous_management_key(Some(&current_key));
        let encoded = stored.encode().map_err(|e| CliError::Input(e.to_string()))?;
        session.put_data(tags::PRINTED_INFORMATION, &encoded).card()?;
    }
    let name = algorithm.id().name().unwrap_or("?");
    if generate && !protect {
        // Printed before the card takes it: a cut after SET MANAGEMENT KEY must not lose the only copy.
        eprintln!("the new random {name} management key; keep it, it is shown only once:");
        println!("{}", hex::encode(new_key.as_bytes()));
    }
    session
        .set_management_key(&new_key, touch)
        .map_err(|e| CliError::from_piv(e, Secret::Pin))?;
    // The new key authenticates from here on (a YubiKey keeps the session, other cards may not), which
    // also proves the card took it.
    session
        .authenticate_management_key(&new_key)
        .map_err(|e| CliError::ManagementKey(format!("the new key is refused: {e}")))?;
    if let Some(stored) = &mut stored {
        stored.set_previous_management_key(None);
        let encoded = stored.encode().map_err(|e| CliError::Input(e.to_string()))?;
        session.put_data(tags::PRINTED_INFORMATION, &encoded).card()?;
    }
    if protect != was_protected {
        admin_data.set_management_key_protected(protect);
        let encoded = admin_data.encode().map_err(|e| CliError::Input(e.to_string()))?;
        session.put_data(tags::YUBICO_ADMIN_DATA, &encoded).card()?;
        if !protect {
            let mut stored = protected_data(&mut session)?;
            stored.set_management_key(None);
            let encoded = stored.encode().map_err(|e| CliError::Input(e.to_string()))?;
            session.put_data(tags::PRINTED_INFORMATION, &encoded).card()?;
        }
    }
    if protect {
        eprintln!(
            "the management key is now a random {name} key, PIN-protected on the card: the PIN gives write \
             access (`tessera` and Yubico's tools find it there)"
        );
    } else if generate {
        eprintln!("the card now has this random {name} management key");
    } else {
        eprintln!("the management key is now the {name} key you gave");
    }
    if source == KeySource::FactoryDefault {
        eprintln!("(it was the factory default before)");
    }
    Ok(())
}
