//! Enrollment and PIN administration as Windows performs them through the card module: the Base CSP's
//! (and the KSP's) sequence of `CARD_DATA` calls, the card reached only through the module.
//!
//! Enrollment (certreq, the Certificates console, AD CS auto-enrollment): the transaction's start
//! (`cardcf`, `mscp/cmapfile`), `CardAuthenticateEx(ROLE_USER)`, `CardCreateContainerEx(KEY_GEN)` at the
//! first free index, `CardGetContainerInfo` for the new public key, the `cmapfile` record and `cardcf`
//! written back; then the certificate: here self-signed with the new key through `CardSignData` (where
//! a CA would answer the request the key signed), written with `CardCreateFile` + `CardWriteFile` into
//! `mscp/kxcNN` (exchange keys) or `kscNN`, and `cardcf` once more.

use der::Decode;
use sha2::Digest;
use tessera_conformance::blobs::{self, CMAP_RECORD_LEN, CMAP_VALID, CardcfCounter};
use tessera_conformance::codes::{self, SCARD_E_FILE_NOT_FOUND, SCARD_S_SUCCESS};
use tessera_conformance::ffi::calls::{FileArgs, NewContainer, SignArgs, StructArg};
use tessera_conformance::oracle::rsa::reversed;
use tessera_piv::{AlgorithmId, ManagementKey, PublicKey};
use windows_sys::Win32::Security::Cryptography::{
    AT_KEYEXCHANGE, CARD_AUTHENTICATE_PIN_PIN, CARD_CREATE_CONTAINER_KEY_GEN, EveryoneReadUserWriteAc,
    PIN_CHANGE_FLAG_CHANGEPIN, ROLE_USER,
};

use crate::csp::Csp;
use crate::errors::CliError;
use crate::signer::{self, CardKey};

/// A container the demo enrolled through the module.
#[derive(Debug, Clone)]
pub(super) struct Enrolled {
    /// Its index.
    pub index: u8,
    /// The key `CardGetContainerInfo` reported.
    pub public_key: PublicKey,
    /// The certificate file written (`kxcNN` or `kscNN`).
    pub file: String,
}

fn called(call: &str, code: u32) -> Result<(), String> {
    if code == SCARD_S_SUCCESS {
        Ok(())
    } else {
        Err(format!("{call} returned {}", codes::name(code)))
    }
}

fn write(csp: &Csp, dir: Option<&str>, file: &str, data: &[u8]) -> Result<(), String> {
    let args = FileArgs {
        dir: dir.map(str::as_bytes),
        file: Some(file.as_bytes()),
        ..FileArgs::default()
    };
    called(
        &format!("CardWriteFile({file})"),
        csp.ctx.call().write_file(args, Some(data)).code,
    )
}

/// Writes `cardcf` with `counter` bumped, as the CSP does after each change.
fn bump(csp: &Csp, cardcf: &mut Vec<u8>, counter: CardcfCounter) -> Result<(), String> {
    *cardcf = blobs::bumped_cardcf(cardcf, counter);
    write(csp, None, "cardcf", cardcf)
}

/// `CardAuthenticateEx(ROLE_USER)`.
pub(super) fn log_on(csp: &Csp, pin: &[u8]) -> Result<(), String> {
    let r = csp
        .ctx
        .call()
        .authenticate_ex(ROLE_USER, 0, Some(pin), None, false, true);
    called("CardAuthenticateEx(ROLE_USER)", r.code)
}

/// What the names of the demo's containers start with.
const NAME_PREFIX: &str = "{7E55E2A0-DE30-4E27-9A11-0000000000";

/// A container name of the form the CSP gives (a braced GUID), one per index.
fn container_name(index: u8) -> String {
    format!("{NAME_PREFIX}{index:02X}}}")
}

/// `CardGetChallenge` + `CardAuthenticateChallenge` with the administrator's `key` (the module's
/// administrator role), for cards whose management key is neither PIN-protected nor the default.
pub(super) fn authenticate_admin(csp: &Csp, key: &ManagementKey) -> Result<(), String> {
    let challenge = csp.ctx.call().get_challenge(false, false);
    called("CardGetChallenge", challenge.code)?;
    let response = key
        .encrypt_block(&challenge.value.unwrap_or_default())
        .map_err(|e| format!("answering the challenge with the management key: {e}"))?;
    let r = csp.ctx.call().authenticate_challenge(Some(&response), true);
    called("CardAuthenticateChallenge", r.code)
}

/// Deletes the containers an earlier demo enrolled, as the CSP deletes a container: `CardDeleteContainer`,
/// `CardDeleteFile` of its certificate, its record zeroed, `cardcf`. Returns how many there were.
pub(super) fn remove_earlier(csp: &Csp, pin: &[u8]) -> Result<usize, String> {
    let (mut cmapfile, records) = csp.cmapfile().map_err(|e| e.to_string())?;
    let earlier: Vec<_> = records
        .iter()
        .filter(|r| r.valid() && r.name.as_deref().is_some_and(|n| n.starts_with(NAME_PREFIX)))
        .collect();
    if earlier.is_empty() {
        return Ok(0);
    }
    let mut cardcf = csp.read(None, "cardcf").map_err(|e| e.to_string())?;
    log_on(csp, pin)?;
    for record in &earlier {
        called(
            "CardDeleteContainer",
            csp.ctx.call().delete_container(record.index, 0).code,
        )?;
        let file = format!(
            "{}{:02x}",
            if record.kx_bits != 0 { "kxc" } else { "ksc" },
            record.index
        );
        let args = FileArgs {
            dir: Some(b"mscp"),
            file: Some(file.as_bytes()),
            ..FileArgs::default()
        };
        let code = csp.ctx.call().delete_file(args).code;
        if code != SCARD_S_SUCCESS && code != SCARD_E_FILE_NOT_FOUND {
            return Err(format!("CardDeleteFile({file}) returned {}", codes::name(code)));
        }
        cmapfile = blobs::with_cmap_record(&cmapfile, record.index, &[0; CMAP_RECORD_LEN]);
    }
    write(csp, Some("mscp"), "cmapfile", &cmapfile)?;
    bump(csp, &mut cardcf, CardcfCounter::Containers)?;
    Ok(earlier.len())
}

/// Enrolls a new `key_spec` key of `bits` at the first free index of `cmapfile`, with a self-signed
/// certificate for `subject` signed by the new key through the module.
pub(super) fn enroll(
    csp: &Csp,
    pin: &[u8],
    key_spec: u32,
    bits: u32,
    subject: &str,
) -> Result<Enrolled, String> {
    let mut cardcf = csp.read(None, "cardcf").map_err(|e| e.to_string())?;
    let (cmapfile, records) = csp.cmapfile().map_err(|e| e.to_string())?;
    log_on(csp, pin)?;
    let index = records
        .iter()
        .find(|r| !r.valid())
        .map_or(records.len(), |r| usize::from(r.index));
    let index = u8::try_from(index).map_err(|_| "cmapfile has no free index")?;
    let new = NewContainer {
        index,
        flags: CARD_CREATE_CONTAINER_KEY_GEN,
        key_spec,
        bits,
        key: None,
    };
    called(
        "CardCreateContainerEx(KEY_GEN)",
        csp.ctx.call().create_container_ex(new, ROLE_USER).code,
    )?;
    let info = csp.ctx.call().get_container_info(index, 0, StructArg::V1);
    called("CardGetContainerInfo", info.code)?;
    let info = info.value.unwrap_or_default();
    let exchange = key_spec == AT_KEYEXCHANGE;
    let blob = if exchange {
        info.exchange_key
    } else {
        info.signature_key
    };
    let public_key = blobs::public_key_of(&blob.ok_or("CardGetContainerInfo gave no key blob")?)?;
    let size = public_key.algorithm().key_bits().unwrap_or(0) as u16;
    let (sig_bits, kx_bits) = if exchange { (0, size) } else { (size, 0) };
    let record = blobs::cmap_record(&container_name(index), CMAP_VALID, sig_bits, kx_bits);
    write(
        csp,
        Some("mscp"),
        "cmapfile",
        &blobs::with_cmap_record(&cmapfile, index, &record),
    )?;
    bump(csp, &mut cardcf, CardcfCounter::Containers)?;

    let key = CardKey::in_module_container(public_key.clone()).map_err(|e| e.to_string())?;
    let certificate = signer::self_signed_by(&key, subject, 365, |tbs| {
        sign(csp, index, key_spec, &public_key, tbs).map_err(CliError::Card)
    })
    .map_err(|e| e.to_string())?;
    let file = format!("{}{index:02x}", if exchange { "kxc" } else { "ksc" });
    let args = FileArgs {
        dir: Some(b"mscp"),
        file: Some(file.as_bytes()),
        ..FileArgs::default()
    };
    called(
        &format!("CardCreateFile({file})"),
        csp.ctx.call().create_file(args, 0, EveryoneReadUserWriteAc).code,
    )?;
    write(csp, Some("mscp"), &file, &certificate)?;
    bump(csp, &mut cardcf, CardcfCounter::Files)?;
    Ok(Enrolled {
        index,
        public_key,
        file,
    })
}

/// X.509's signature value over `tbs` by container `index`, through `CardSignData`: PKCS#1 v1.5
/// SHA-256 for RSA (the module pads; CAPI's little-endian signature turned around), ECDSA with SHA-256
/// or SHA-384 for EC keys (CNG's r ‖ s turned into DER).
fn sign(csp: &Csp, index: u8, key_spec: u32, key: &PublicKey, tbs: &[u8]) -> Result<Vec<u8>, String> {
    let args = match key {
        PublicKey::Rsa { .. } => SignArgs::pkcs1_sha256(index, key_spec, &sha2::Sha256::digest(tbs)),
        PublicKey::Ecc { algorithm, .. } if *algorithm == AlgorithmId::ECCP384 => {
            SignArgs::basic(2, index, key_spec, 0, &sha2::Sha384::digest(tbs))
        }
        PublicKey::Ecc { .. } => SignArgs::basic(2, index, key_spec, 0, &sha2::Sha256::digest(tbs)),
    };
    let r = csp.ctx.call().sign_data(&args);
    let signature = r
        .value
        .and_then(|o| o.signature)
        .ok_or_else(|| format!("CardSignData returned {}", codes::name(r.code)))?;
    match key {
        PublicKey::Rsa { .. } => Ok(reversed(&signature)),
        PublicKey::Ecc { algorithm, .. } if *algorithm == AlgorithmId::ECCP384 => {
            p384::ecdsa::Signature::from_slice(&signature)
                .map(|s| s.to_der().as_bytes().to_vec())
                .map_err(|e| format!("CardSignData's P-384 signature: {e}"))
        }
        PublicKey::Ecc { .. } => p256::ecdsa::Signature::from_slice(&signature)
            .map(|s| s.to_der().as_bytes().to_vec())
            .map_err(|e| format!("CardSignData's P-256 signature: {e}")),
    }
}

/// The certificate in `mscp/<file>` as the module serves it.
pub(super) fn certificate(csp: &Csp, file: &str) -> Result<x509_cert::Certificate, String> {
    let der = csp.read(Some("mscp"), file).map_err(|e| e.to_string())?;
    x509_cert::Certificate::from_der(&der).map_err(|e| format!("mscp/{file}: {e}"))
}

/// `CardChangeAuthenticatorEx(PIN_CHANGE_FLAG_CHANGEPIN)` of the user PIN (the Windows change-PIN
/// screen's call).
pub(super) fn change_pin(csp: &Csp, current: &[u8], new: &[u8]) -> Result<(), String> {
    let r = csp.ctx.call().change_authenticator_ex(
        PIN_CHANGE_FLAG_CHANGEPIN,
        ROLE_USER,
        Some(current),
        ROLE_USER,
        Some(new),
        0,
    );
    called("CardChangeAuthenticatorEx(CHANGEPIN)", r.code)
}

/// `CardUnblockPin(wszCARD_USER_USER, PUK, new PIN, CARD_AUTHENTICATE_PIN_PIN)` (the Windows unblock
/// screen's call).
pub(super) fn unblock_pin(csp: &Csp, puk: &[u8], new_pin: &[u8]) -> Result<(), String> {
    let r = csp.ctx.call().unblock_pin(
        Some("user"),
        Some(puk),
        Some(new_pin),
        0,
        CARD_AUTHENTICATE_PIN_PIN,
    );
    called("CardUnblockPin(user, PUK)", r.code)
}
