//! `tessera certificates import|export|delete|request|selfsign`. Large certificate writes show a progress
//! bar of the APDU chain.

use std::path::Path;

use der::{Decode, DecodePem, Encode, EncodePem};
use tessera_piv::objects::{CertificateObject, Compression};
use tessera_piv::{KeyRef, PinPolicy};

use crate::admin;
use crate::args::{AdminArgs, CardArgs, CertificatesCommand, Slot};
use crate::card::{Card, CardSession};
use crate::commands::administered_session;
use crate::commands::info::slot_public_key;
use crate::commands::keys::{certificate_tag, open, write_output};
use crate::errors::{CliError, CliResult, PivContext, Secret};
use crate::secrets::SecretInput;
use crate::signer::{self, CardKey};
use crate::style;

/// A DER certificate as PEM.
pub fn pem(der: &[u8]) -> CliResult<String> {
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|e| CliError::Card(format!("the card's certificate does not parse: {e}")))?;
    cert.to_pem(der::pem::LineEnding::LF)
        .map_err(|e| CliError::Input(e.to_string()))
}

/// Runs a `tessera certificates` command.
pub fn run(command: &CertificatesCommand) -> CliResult<()> {
    match command {
        CertificatesCommand::Import {
            slot,
            file,
            compress,
            card,
            admin,
            secrets,
        } => import(
            *slot,
            file,
            *compress,
            card,
            admin,
            &mut SecretInput::new(secrets.pin_stdin, secrets.pin.clone()),
        ),
        CertificatesCommand::Export { slot, der, out, card } => export(*slot, *der, out.as_deref(), card),
        CertificatesCommand::Delete {
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
        CertificatesCommand::Request {
            slot,
            subject,
            out,
            card,
            secrets,
        } => request(
            *slot,
            subject,
            out.as_deref(),
            card,
            &mut SecretInput::new(secrets.pin_stdin, secrets.pin.clone()),
        ),
        CertificatesCommand::Selfsign {
            slot,
            subject,
            days,
            card,
            admin,
            secrets,
        } => selfsign(
            *slot,
            subject,
            *days,
            card,
            admin,
            &mut SecretInput::new(secrets.pin_stdin, secrets.pin.clone()),
        ),
    }
}

/// Reads a certificate file (PEM or DER) and checks that it parses.
fn read_certificate(path: &Path) -> CliResult<Vec<u8>> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::Input(format!("reading {}: {e}", path.display())))?;
    let cert = match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => x509_cert::Certificate::from_pem(text.as_bytes()),
        _ => x509_cert::Certificate::from_der(&bytes),
    }
    .map_err(|e| {
        CliError::Input(format!(
            "{} is not an X.509 certificate (PEM or DER): {e}",
            path.display()
        ))
    })?;
    cert.to_der().map_err(|e| CliError::Input(e.to_string()))
}

/// Writes a certificate object, with a progress bar of its APDU chain when it is long.
fn write_object(card: &Card, session: &mut CardSession, tag: u32, object: &[u8]) -> CliResult<()> {
    // Short APDUs carry 255 bytes each; the object and its TLV header travel in that many.
    let apdus = (object.len() as u64 + 8).div_ceil(255);
    let bar =
        (apdus >= 4).then(|| style::progress(apdus, &format!("writing {} bytes to {tag:06X}", object.len())));
    card.set_progress(bar.clone());
    let result = session.put_data(tag, object).card();
    card.set_progress(None);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

fn import(
    Slot(slot): Slot,
    file: &Path,
    compress: bool,
    card: &CardArgs,
    admin: &AdminArgs,
    secrets: &mut SecretInput,
) -> CliResult<()> {
    let der = read_certificate(file)?;
    let card = open(card)?;
    let tag = certificate_tag(slot)?;
    admin::confirm(
        &card,
        admin.yes,
        &format!(
            "Write {} into slot {slot} (replacing its certificate)",
            file.display()
        ),
    )?;
    let mut session = card.session()?;
    if let Some(key) = slot_public_key(&mut session, slot)?
        && tessera_conformance::fixture::certificate_key(&der).map(|(k, _)| k) != Some(key)
    {
        eprintln!(
            "{}: the certificate's public key is not the key in slot {slot}",
            style::warn("warning")
        );
    }
    admin::authenticate(&mut session, admin, secrets)?;
    let mut object = CertificateObject::new(der);
    if compress {
        object.compression = Compression::Gzip;
    }
    let encoded = object.encode().map_err(|e| CliError::Input(e.to_string()))?;
    write_object(&card, &mut session, tag, &encoded)?;
    eprintln!(
        "wrote the certificate into slot {slot} ({} bytes{}, {} APDUs)",
        encoded.len(),
        if compress { ", gzip" } else { "" },
        card.apdus()
    );
    Ok(())
}

/// The DER certificate in `slot`.
pub fn read_slot_certificate(session: &mut CardSession, slot: KeyRef) -> CliResult<Option<Vec<u8>>> {
    let tag = certificate_tag(slot)?;
    let Some(content) = session.get_data(tag).card()? else {
        return Ok(None);
    };
    CertificateObject::parse_present(&content)
        .map(|o| o.map(|o| o.certificate))
        .map_err(|e| CliError::Card(format!("the certificate object {tag:06X} is unreadable: {e}")))
}

fn export(Slot(slot): Slot, der: bool, out: Option<&Path>, card: &CardArgs) -> CliResult<()> {
    let card = open(card)?;
    let mut session = card.session()?;
    let certificate = read_slot_certificate(&mut session, slot)?
        .ok_or_else(|| CliError::Input(format!("slot {slot} holds no certificate")))?;
    if der {
        write_output(out, &certificate)
    } else {
        write_output(out, pem(&certificate)?.as_bytes())
    }
}

fn delete(Slot(slot): Slot, card: &CardArgs, admin: &AdminArgs, secrets: &mut SecretInput) -> CliResult<()> {
    let card = open(card)?;
    let tag = certificate_tag(slot)?;
    let question = format!("Delete the certificate in slot {slot}");
    let mut session = administered_session(&card, admin, secrets, &question)?;
    session.put_data(tag, &[]).card()?;
    eprintln!("deleted the certificate in slot {slot} (the key stays)");
    Ok(())
}

/// The key in `slot` as a signer, with the PIN verified unless the key needs none.
fn signing_key(session: &mut CardSession, slot: KeyRef, secrets: &mut SecretInput) -> CliResult<CardKey> {
    let metadata = session.get_metadata(slot).card()?;
    let public_key = match metadata.as_ref().and_then(|m| m.public_key.clone()) {
        Some(k) => k,
        None => slot_public_key(session, slot)?.ok_or_else(|| {
            CliError::Input(format!(
                "slot {slot} holds no key the card reports (generate one with `tessera keys generate {slot}`)"
            ))
        })?,
    };
    let policy = metadata.and_then(|m| m.pin_policy);
    if policy != Some(PinPolicy::Never) {
        let pin = secrets.pin("PIN: ")?;
        session.verify(KeyRef::PIN, &pin).secret(Secret::Pin)?;
    }
    CardKey::new(slot, public_key)
}

fn request(
    Slot(slot): Slot,
    subject: &str,
    out: Option<&Path>,
    card: &CardArgs,
    secrets: &mut SecretInput,
) -> CliResult<()> {
    signer::parse_name(subject)?;
    let card = open(card)?;
    let mut session = card.session()?;
    let key = signing_key(&mut session, slot, secrets)?;
    let pem = signer::request(&mut session, &key, subject)?;
    write_output(out, pem.as_bytes())
}

fn selfsign(
    Slot(slot): Slot,
    subject: &str,
    days: u32,
    card: &CardArgs,
    admin: &AdminArgs,
    secrets: &mut SecretInput,
) -> CliResult<()> {
    signer::parse_name(subject)?;
    let card = open(card)?;
    let tag = certificate_tag(slot)?;
    let question = format!("Replace the certificate in slot {slot} with a self-signed one");
    let mut session = administered_session(&card, admin, secrets, &question)?;
    let key = signing_key(&mut session, slot, secrets)?;
    let der = signer::self_signed(&mut session, &key, subject, days)?;
    let encoded = CertificateObject::new(der)
        .encode()
        .map_err(|e| CliError::Input(e.to_string()))?;
    write_object(&card, &mut session, tag, &encoded)?;
    eprintln!("wrote a self-signed certificate for {subject:?} into slot {slot}, valid {days} days");
    Ok(())
}
