//! `tessera keys generate|import|delete|attest`.

use std::path::Path;

use der::EncodePem;
use rsa::traits::PrivateKeyParts;
use tessera_piv::commands::ImportKey;
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, PublicKey, TouchPolicy};
use zeroize::Zeroizing;

use crate::args::{AdminArgs, CardArgs, KeysCommand, Slot};
use crate::card::{Card, CardSource};
use crate::commands::administered_session;
use crate::errors::{CliError, CliResult, PivContext};
use crate::secrets::SecretInput;
use crate::style;

/// Opens the card of `card` (the file must exist).
pub fn open(card: &CardArgs) -> CliResult<Card> {
    Card::open(
        &CardSource::from_options(card.virtual_file.as_deref(), card.reader.as_deref()),
        false,
    )
}

/// Writes `bytes` to `out`, or to standard output.
pub fn write_output(out: Option<&Path>, bytes: &[u8]) -> CliResult<()> {
    match out {
        Some(path) => std::fs::write(path, bytes)
            .map_err(|e| CliError::Input(format!("writing {}: {e}", path.display()))),
        None => {
            use std::io::Write;
            match std::io::stdout().write_all(bytes) {
                // A reader that stopped early (`| head`) is no failure of ours.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(CliError::Input(format!("writing to standard output: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}

/// A public key as PEM (`PUBLIC KEY`, SubjectPublicKeyInfo).
pub fn public_key_pem(key: &PublicKey) -> CliResult<String> {
    let spki = tessera_conformance::fixture::spki_of(key).map_err(CliError::Input)?;
    spki.to_pem(der::pem::LineEnding::LF)
        .map_err(|e| CliError::Input(e.to_string()))
}

/// Runs a `tessera keys` command.
pub fn run(command: &KeysCommand) -> CliResult<()> {
    match command {
        KeysCommand::Generate {
            slot,
            algorithm,
            pin_policy,
            touch_policy,
            out,
            card,
            admin,
            secrets,
        } => generate(
            *slot,
            algorithm.id(),
            (*pin_policy).into(),
            (*touch_policy).into(),
            out.as_deref(),
            card,
            admin,
            &mut SecretInput::new(secrets.pin_stdin, secrets.pin.clone()),
        ),
        KeysCommand::Import {
            slot,
            file,
            pin_policy,
            touch_policy,
            card,
            admin,
            secrets,
        } => import(
            *slot,
            file,
            (*pin_policy).into(),
            (*touch_policy).into(),
            card,
            admin,
            &mut SecretInput::new(secrets.pin_stdin, secrets.pin.clone()),
        ),
        KeysCommand::Delete {
            slot,
            card,
            admin,
            secrets,
        } => delete(
            *slot,
            card,
            admin,
            &mut SecretInput::new(secrets.pin_stdin, secrets.pin.clone()),
        ),
        KeysCommand::Attest { slot, out, card } => attest(*slot, out.as_deref(), card),
    }
}

#[allow(clippy::too_many_arguments, reason = "one argument per option of the command")]
fn generate(
    Slot(slot): Slot,
    algorithm: AlgorithmId,
    pin_policy: PinPolicy,
    touch_policy: TouchPolicy,
    out: Option<&Path>,
    card: &CardArgs,
    admin: &AdminArgs,
    secrets: &mut SecretInput,
) -> CliResult<()> {
    let card = open(card)?;
    let name = algorithm.name().unwrap_or("?");
    let mut session = administered_session(
        &card,
        admin,
        secrets,
        &format!("Generate a new {name} key in slot {slot} (the key there now is lost)"),
    )?;
    let spinner = style::spinner(&format!("generating a {name} key in slot {slot} on the card"));
    let generated = session.generate_key_pair(slot, algorithm, pin_policy, touch_policy);
    spinner.finish_and_clear();
    let key = generated.map_err(|e| match e.status_word() {
        Some(sw)
            if sw == tessera_piv::StatusWord::INCORRECT_P1P2
                || sw == tessera_piv::StatusWord::INCORRECT_DATA =>
        {
            CliError::Unsupported(format!("the card cannot generate {name} keys (status {sw})"))
        }
        _ => CliError::from_piv(e, crate::errors::Secret::Pin),
    })?;
    eprintln!(
        "generated a new {name} key in slot {slot} ({} APDUs)",
        card.apdus()
    );
    if let Some(tag) = slot.certificate_object()
        && session
            .get_data(tag)
            .ok()
            .flatten()
            .is_some_and(|c| !c.is_empty())
    {
        eprintln!(
            "{}: the certificate in slot {slot} belongs to the old key: replace it (`tessera certificates \
             selfsign` or `import`) or delete it",
            style::warn("note")
        );
    }
    write_output(out, public_key_pem(&key)?.as_bytes())
}

/// Private key material read from a PEM or DER file.
enum PrivateKeyFile {
    Rsa(Box<rsa::PrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
}

fn read_private_key(path: &Path) -> CliResult<PrivateKeyFile> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let bytes = Zeroizing::new(
        std::fs::read(path).map_err(|e| CliError::Input(format!("reading {}: {e}", path.display())))?,
    );
    let text = std::str::from_utf8(&bytes).ok();
    let bad = || {
        CliError::Input(format!(
            "{} is not an RSA, P-256 or P-384 private key (PKCS#8, PKCS#1 or SEC1; PEM or DER)",
            path.display()
        ))
    };
    if let Some(pem) = text.filter(|t| t.contains("-----BEGIN")) {
        if let Ok(k) = rsa::PrivateKey::from_pkcs8_pem(pem).or_else(|_| rsa::PrivateKey::from_pkcs1_pem(pem))
        {
            return Ok(PrivateKeyFile::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem).or_else(|_| p256::SecretKey::from_sec1_pem(pem)) {
            return Ok(PrivateKeyFile::P256(k));
        }
        if let Ok(k) = p384::SecretKey::from_pkcs8_pem(pem).or_else(|_| p384::SecretKey::from_sec1_pem(pem)) {
            return Ok(PrivateKeyFile::P384(k));
        }
        return Err(bad());
    }
    if let Ok(k) =
        rsa::PrivateKey::from_pkcs8_der(&bytes).or_else(|_| rsa::PrivateKey::from_pkcs1_der(&bytes))
    {
        return Ok(PrivateKeyFile::Rsa(Box::new(k)));
    }
    if let Ok(k) = p256::SecretKey::from_pkcs8_der(&bytes).or_else(|_| p256::SecretKey::from_sec1_der(&bytes))
    {
        return Ok(PrivateKeyFile::P256(k));
    }
    if let Ok(k) = p384::SecretKey::from_pkcs8_der(&bytes).or_else(|_| p384::SecretKey::from_sec1_der(&bytes))
    {
        return Ok(PrivateKeyFile::P384(k));
    }
    Err(bad())
}

#[allow(clippy::too_many_arguments, reason = "one argument per option of the command")]
fn import(
    Slot(slot): Slot,
    file: &Path,
    pin_policy: PinPolicy,
    touch_policy: TouchPolicy,
    card: &CardArgs,
    admin: &AdminArgs,
    secrets: &mut SecretInput,
) -> CliResult<()> {
    let key = read_private_key(file)?;
    let card = open(card)?;
    let mut session = administered_session(
        &card,
        admin,
        secrets,
        &format!(
            "Import {} into slot {slot} (the key there now is lost)",
            file.display()
        ),
    )?;
    let trimmed = |v: &rsa::BoxedUint| Zeroizing::new(v.to_be_bytes_trimmed_vartime().to_vec());
    let result = match &key {
        PrivateKeyFile::Rsa(k) => {
            use rsa::traits::PublicKeyParts;
            let bits = k.n().bits_precision();
            let algorithm = AlgorithmId::rsa(k.size() as u32 * 8).ok_or_else(|| {
                CliError::Unsupported(format!("RSA keys of {bits} bits do not fit a PIV slot"))
            })?;
            let [p, q] = k.primes() else {
                return Err(CliError::Input("multi-prime RSA keys cannot be imported".into()));
            };
            let (p, q) = (trimmed(p.as_ref()), trimmed(q.as_ref()));
            let missing = || CliError::Input("the RSA key lacks its CRT values".into());
            let dp = trimmed(k.dp().ok_or_else(missing)?);
            let dq = trimmed(k.dq().ok_or_else(missing)?);
            let qinv = Zeroizing::new(
                k.crt_coefficient()
                    .ok_or_else(missing)?
                    .to_be_bytes_trimmed_vartime()
                    .to_vec(),
            );
            session.import_key(
                slot,
                algorithm,
                &ImportKey::Rsa {
                    p: &p,
                    q: &q,
                    dp: &dp,
                    dq: &dq,
                    qinv: &qinv,
                },
                pin_policy,
                touch_policy,
            )
        }
        PrivateKeyFile::P256(k) => {
            let scalar = Zeroizing::new(k.to_bytes().to_vec());
            session.import_key(
                slot,
                AlgorithmId::ECCP256,
                &ImportKey::Ecc { scalar: &scalar },
                pin_policy,
                touch_policy,
            )
        }
        PrivateKeyFile::P384(k) => {
            let scalar = Zeroizing::new(k.to_bytes().to_vec());
            session.import_key(
                slot,
                AlgorithmId::ECCP384,
                &ImportKey::Ecc { scalar: &scalar },
                pin_policy,
                touch_policy,
            )
        }
    };
    result.card()?;
    eprintln!(
        "imported {} into slot {slot} ({} APDUs)",
        file.display(),
        card.apdus()
    );
    Ok(())
}

fn delete(Slot(slot): Slot, card: &CardArgs, admin: &AdminArgs, secrets: &mut SecretInput) -> CliResult<()> {
    let card = open(card)?;
    let mut session = administered_session(
        &card,
        admin,
        secrets,
        &format!("Delete the key and the certificate in slot {slot}"),
    )?;
    // Key first: a certificate without its key would still be offered by other drivers.
    session.delete_key(slot).map_err(|e| match e.status_word() {
        Some(sw) if sw == tessera_piv::StatusWord::INS_NOT_SUPPORTED => CliError::Unsupported(
            "the card has no DELETE KEY (YubiKey 5.7+): overwrite the slot with `tessera keys generate` instead".into(),
        ),
        _ => CliError::from_piv(e, crate::errors::Secret::Pin),
    })?;
    if let Some(tag) = slot.certificate_object() {
        session.put_data(tag, &[]).card()?;
    }
    eprintln!("deleted the key and the certificate in slot {slot}");
    Ok(())
}

fn attest(Slot(slot): Slot, out: Option<&Path>, card: &CardArgs) -> CliResult<()> {
    let card = open(card)?;
    let mut session = card.session()?;
    let der = session.attest(slot).map_err(|e| match e.status_word() {
        Some(sw) if sw == tessera_piv::StatusWord::INCORRECT_DATA => CliError::Card(format!(
            "the card does not attest slot {slot}: it is empty or its key was imported (status {sw})"
        )),
        _ => CliError::from_piv(e, crate::errors::Secret::Pin),
    })?;
    write_output(out, crate::commands::certificates::pem(&der)?.as_bytes())
}

/// The PIV key reference's certificate tag, or an error for slots without one.
pub fn certificate_tag(slot: KeyRef) -> CliResult<u32> {
    slot.certificate_object()
        .ok_or_else(|| CliError::Input(format!("slot {slot} has no certificate object")))
}
