//! `tessera demo`: the whole job of the card module, narrated. Tessera's module is linked in and driven
//! through its real `CARD_DATA` function table with the Base CSP's callbacks (the conformance harness's
//! CSP side), the card in-process (or in a reader). Each step is one line: what it did, the APDUs it
//! cost, and the check that proves it, made with RustCrypto on the CSP's side (signatures verified with
//! the certificate's key, plaintext compared, the TLS master secret recomputed from the peer's side).
//!
//! Every step, enrollment and PIN administration included, is the module's `CARD_DATA` table as the
//! Base CSP calls it ([`enrollment`] has the CSP's write sequences); the card is reached only through
//! the module.

mod enrollment;

use der::Encode;
use sha2::Digest;
use tessera_conformance::blobs;
use tessera_conformance::codes::{self, SCARD_S_SUCCESS, SCARD_W_CHV_BLOCKED, SCARD_W_WRONG_CHV};
use tessera_conformance::ffi::alloc;
use tessera_conformance::ffi::calls::flags::CARD_PADDING_OAEP;
use tessera_conformance::ffi::calls::{DecryptArgs, DeriveArgs, PaddingInfo, SignArgs};
use tessera_conformance::oracle::ec::{Curve, PeerKey, verify_ecdsa};
use tessera_conformance::oracle::hash::Hash;
use tessera_conformance::oracle::kdf;
use tessera_conformance::oracle::rsa::{RsaKey, reversed};
use tessera_minidriver::WritePolicy;
use tessera_piv::{KeyRef, ManagementKey, PublicKey};
use windows_sys::Win32::Security::Cryptography::{AT_ECDSA_P256, AT_KEYEXCHANGE};
use zeroize::Zeroizing;

use enrollment::Enrolled;

use crate::admin;
use crate::args::DemoArgs;
use crate::card::Card;
use crate::csp::Csp;
use crate::errors::{CliError, CliResult, PivContext, Secret};
use crate::secrets::SecretInput;
use crate::style;

/// The PIV factory defaults, which a new virtual card has.
const DEFAULT_PIN: &[u8] = b"123456";
const DEFAULT_PUK: &[u8] = b"12345678";
/// The PIN the demo changes to (and back from, through the PUK).
const DEMO_PIN: &[u8] = b"24681357";
/// `CARD_AUTHENTICATE_EX`'s PIN id of the user PIN (`ROLE_USER`).
const ROLE_USER: u32 = 1;

/// One step of the demo.
pub struct Step {
    /// Short name.
    pub name: &'static str,
    /// Does it and returns what proves it worked.
    pub run: fn(&mut Demo<'_>) -> Result<String, String>,
}

/// What the steps share.
pub struct Demo<'a> {
    card: &'a Card,
    pin: Zeroizing<Vec<u8>>,
    puk: Zeroizing<Vec<u8>>,
    management_key: Option<ManagementKey>,
    rsa: Option<Enrolled>,
    ec: Option<Enrolled>,
    csp: Option<Csp>,
    rsa_index: Option<u8>,
    ecdsa_index: Option<u8>,
    ecdh_index: Option<u8>,
    rsa_pin_id: u32,
}

/// The steps, in order: the module's `CARD_DATA` table as the Base CSP calls it.
pub fn steps() -> Vec<Step> {
    vec![
        Step {
            name: "acquire context",
            run: acquire,
        },
        Step {
            name: "enroll RSA-2048 (key exchange)",
            run: enroll_rsa,
        },
        Step {
            name: "enroll ECDSA P-256",
            run: enroll_ec,
        },
        Step {
            name: "read cardid, cardcf, cmapfile",
            run: read_files,
        },
        Step {
            name: "container info",
            run: container_info,
        },
        Step {
            name: "log on (PIN)",
            run: log_on,
        },
        Step {
            name: "sign RSA (PKCS#1 SHA-256)",
            run: sign_rsa,
        },
        Step {
            name: "sign ECDSA P-256",
            run: sign_ecdsa,
        },
        Step {
            name: "decrypt RSA-OAEP",
            run: decrypt_oaep,
        },
        Step {
            name: "ECDH + TLS 1.2 PRF",
            run: ecdh_tls,
        },
        Step {
            name: "change PIN",
            run: change_pin,
        },
        Step {
            name: "block PIN (wrong PINs)",
            run: block_pin,
        },
        Step {
            name: "unblock PIN with PUK",
            run: unblock_pin,
        },
        Step {
            name: "delete context",
            run: delete_context,
        },
    ]
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> CliResult<()> {
    let card = match (&args.reader, &args.virtual_file) {
        (Some(reader), _) => Card::reader(reader)?,
        (None, Some(path)) => Card::virtual_file(path, true)?,
        (None, None) => Card::virtual_in_memory()?,
    };
    let mut secrets = SecretInput::new(args.secrets.pin_stdin, args.secrets.pin.clone());
    let (pin, puk, management_key) = if card.is_virtual() {
        (
            Zeroizing::new(DEFAULT_PIN.to_vec()),
            Zeroizing::new(DEFAULT_PUK.to_vec()),
            None,
        )
    } else {
        admin::confirm(
            &card,
            args.yes,
            "The demo enrolls an RSA-2048 and a P-256 key through the card module, in the slots it chooses \
             (9A, then 9D, then retired slots; keys of an earlier demo are replaced, other keys are kept), \
             changes the PIN, blocks it with wrong PINs and unblocks it with the PUK, back to the PIN you \
             give. A factory-default management key is replaced by a random PIN-protected one first, as \
             Yubico's minidriver does (TESSERA_MD_PROTECT_MANAGEMENT_KEY=0 keeps it). Go on",
        )?;
        let pin = secrets.pin("PIN of the card: ")?;
        let puk = secrets.existing("PUK of the card (unblocks the PIN at the end): ", "PUK")?;
        // Both are checked before anything changes: a wrong PIN would fail the demo half-way, a wrong
        // PUK would leave the PIN blocked at the end. The PUK is checked by changing it to itself.
        let mut session = card.session()?;
        session.verify(KeyRef::PIN, &pin).secret(Secret::Pin)?;
        session
            .change_reference_data(KeyRef::PUK, &puk, &puk)
            .secret(Secret::Puk)?;
        let _ = session.logout(KeyRef::PIN);
        drop(session);
        let key = match &args.management_key {
            Some(hex_text) => {
                crate::secrets::warn_argv("management key");
                let mut session = card.session()?;
                let algorithm = admin::management_algorithm(&mut session);
                Some(admin::parse_key(hex_text, algorithm)?)
            }
            None => None,
        };
        (
            Zeroizing::new(pin.unpadded().to_vec()),
            Zeroizing::new(puk.unpadded().to_vec()),
            key,
        )
    };
    println!(
        "{} on the {} — Tessera's card module linked in and called through its CARD_DATA function table, \
         as the Base CSP calls it",
        style::bold("tessera demo"),
        card.label()
    );
    let mut demo = Demo {
        card: &card,
        pin,
        puk,
        management_key,
        rsa: None,
        ec: None,
        csp: None,
        rsa_index: None,
        ecdsa_index: None,
        ecdh_index: None,
        rsa_pin_id: ROLE_USER,
    };
    let mut rows = Vec::new();
    let mut failed = 0;
    for (n, step) in steps().iter().enumerate() {
        let before = card.apdus();
        // On a real card, nothing more is tried after a failure: the later steps spend and block the PIN.
        let outcome = if failed > 0 && !card.is_virtual() {
            Err("skipped: an earlier step failed, and this card is real".to_owned())
        } else {
            (step.run)(&mut demo)
        };
        let apdus = card.apdus() - before;
        let (ok, text) = match outcome {
            Ok(proof) => (true, proof),
            Err(why) => {
                failed += 1;
                (false, why)
            }
        };
        println!(
            "{:>2}. {:<30} {:>4} APDUs  {}  {}",
            n + 1,
            step.name,
            apdus,
            style::verdict(ok),
            text
        );
        rows.push(vec![
            (n + 1).to_string(),
            step.name.to_owned(),
            apdus.to_string(),
            style::verdict(ok),
        ]);
    }
    drop(demo);
    println!();
    print!("{}", style::table(&["#", "step", "APDUs", "result"], &rows));
    let total = rows.len();
    println!(
        "{} of {total} steps passed; {} APDUs in all",
        total - failed,
        card.apdus()
    );
    if let Some(path) = &args.virtual_file {
        println!(
            "The card is kept in {} (PIN {}, PUK {}): try `tessera info --virtual {0}`",
            path.display(),
            String::from_utf8_lossy(DEFAULT_PIN),
            String::from_utf8_lossy(DEFAULT_PUK)
        );
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(CliError::Failed(format!("{failed} of {total} demo steps failed")))
    }
}

/// The write policy of the demo's contexts: the administrator's settings, except that a factory-default
/// PUK is never blocked (the demo unblocks the PIN with it at the end).
fn write_policy() -> WritePolicy {
    WritePolicy {
        block_default_puk: false,
        ..WritePolicy::from_settings(|_| None)
    }
}

/// Checks a self-signed certificate's signature with the key in it (RustCrypto).
fn verify_self_signed(cert: &x509_cert::Certificate, public_key: &PublicKey) -> Result<(), String> {
    let tbs = cert.tbs_certificate().to_der().map_err(|e| e.to_string())?;
    let signature = cert.signature().raw_bytes();
    match public_key {
        PublicKey::Rsa {
            modulus, exponent, ..
        } => RsaKey::new(modulus, exponent)?.verify_pkcs1(
            Some(Hash::Sha256),
            &sha2::Sha256::digest(&tbs),
            signature,
        ),
        PublicKey::Ecc { point, .. } => {
            let sig = p256::ecdsa::Signature::from_der(signature).map_err(|e| e.to_string())?;
            verify_ecdsa(Curve::P256, point, &sha2::Sha256::digest(&tbs), &sig.to_bytes())
        }
    }
}

/// Enrolls through the module (see [`enrollment`]), then reads the certificate back through it and
/// checks that the new key signed it.
fn enroll(demo: &mut Demo<'_>, key_spec: u32, bits: u32, subject: &str) -> Result<Enrolled, String> {
    let csp = csp(demo)?;
    if let Some(key) = &demo.management_key {
        enrollment::authenticate_admin(csp, key)?;
    }
    let spinner = style::spinner(&format!("generating a {bits}-bit key on the card"));
    let enrolled = enrollment::enroll(csp, &demo.pin, key_spec, bits, subject);
    spinner.finish_and_clear();
    let enrolled = enrolled?;
    let certificate = enrollment::certificate(csp, &enrolled.file)?;
    verify_self_signed(&certificate, &enrolled.public_key)
        .map_err(|e| format!("mscp/{}: {e}", enrolled.file))?;
    Ok(enrolled)
}

fn enroll_rsa(demo: &mut Demo<'_>) -> Result<String, String> {
    let removed = enrollment::remove_earlier(csp(demo)?, &demo.pin)?;
    let e = enroll(demo, AT_KEYEXCHANGE, 2048, "CN=Tessera demo RSA,O=Tessera")?;
    let proof = format!(
        "{}CardCreateContainerEx(KEY_GEN) → container {}, cmapfile and cardcf written, CardSignData signed \
         its certificate, mscp/{} written and read back; its signature verifies with the new key",
        earlier(removed),
        e.index,
        e.file
    );
    demo.rsa = Some(e);
    Ok(proof)
}

fn earlier(removed: usize) -> String {
    match removed {
        0 => String::new(),
        n => format!("{n} containers of an earlier demo deleted (CardDeleteContainer, CardDeleteFile); "),
    }
}

fn enroll_ec(demo: &mut Demo<'_>) -> Result<String, String> {
    let e = enroll(demo, AT_ECDSA_P256, 256, "CN=Tessera demo P-256,O=Tessera")?;
    let proof = format!(
        "container {}, mscp/{}: the self-signed certificate verifies with the new key (ECDSA and ECDH use)",
        e.index, e.file
    );
    demo.ec = Some(e);
    Ok(proof)
}

fn csp<'d>(demo: &'d Demo<'_>) -> Result<&'d Csp, String> {
    demo.csp
        .as_ref()
        .ok_or_else(|| "no context (acquire failed)".into())
}

fn acquire(demo: &mut Demo<'_>) -> Result<String, String> {
    let csp = Csp::acquire_with_policy(demo.card, write_policy()).map_err(|e| e.to_string())?;
    let version = csp.ctx.version();
    let read_only = csp
        .property("Read Only Mode")
        .and_then(|v| blobs::dwords(&v).first().copied());
    demo.csp = Some(csp);
    if version != 7 {
        return Err(format!("dwVersion is {version}, expected 7"));
    }
    Ok(format!(
        "CardAcquireContext → SCARD_S_SUCCESS, interface v{version}, CP_CARD_READ_ONLY = {}",
        read_only.map_or("?".into(), |v| v.to_string())
    ))
}

fn read_files(demo: &mut Demo<'_>) -> Result<String, String> {
    let csp = csp(demo)?;
    let id = csp.read(None, "cardid").map_err(|e| e.to_string())?;
    let cf = csp.read(None, "cardcf").map_err(|e| e.to_string())?;
    let (_, records) = csp.cmapfile().map_err(|e| e.to_string())?;
    if id.len() != 16 {
        return Err(format!("cardid has {} bytes, expected 16", id.len()));
    }
    let valid: Vec<_> = records.iter().filter(|r| r.valid()).collect();
    let default = valid
        .iter()
        .find(|r| r.flags & blobs::CMAP_DEFAULT != 0)
        .map(|r| r.index);
    Ok(format!(
        "cardid {} bytes, cardcf {}, cmapfile {} containers, default container {}",
        id.len(),
        hex::encode(&cf),
        valid.len(),
        default.map_or("none".into(), |d| d.to_string())
    ))
}

fn container_info(demo: &mut Demo<'_>) -> Result<String, String> {
    let (rsa, ec) = match (&demo.rsa, &demo.ec) {
        (Some(r), Some(e)) => (r.clone(), e.clone()),
        _ => return Err("needs both enrolled keys".into()),
    };
    let containers = csp(demo)?.containers().map_err(|e| e.to_string())?;
    let PublicKey::Rsa { modulus, .. } = &rsa.public_key else {
        return Err("the 9A key is not RSA".into());
    };
    let PublicKey::Ecc { point, .. } = &ec.public_key else {
        return Err("the 9D key is not EC".into());
    };
    let xy = point.get(1..).unwrap_or_default();
    let mut found = Vec::new();
    for c in &containers {
        let certificate_key = c
            .certificate
            .as_ref()
            .and_then(|(_, der)| tessera_conformance::fixture::certificate_key(der))
            .map(|(k, _)| k);
        if let Some(blob) = &c.exchange_key
            && let Ok(b) = blobs::parse_rsa_blob(blob)
            && b.modulus_be == *modulus
        {
            if certificate_key.as_ref() != Some(&rsa.public_key) {
                return Err(format!(
                    "container {}: the certificate's key differs",
                    c.record.index
                ));
            }
            demo.rsa_index = Some(c.record.index);
            demo.rsa_pin_id = c.pin_id.unwrap_or(ROLE_USER);
            found.push(format!("RSA-2048 exchange key in {}", c.record.index));
        }
        if let Some(blob) = &c.signature_key
            && let Ok(b) = blobs::parse_ecc_blob(blob)
            && b.xy == xy
            && b.magic == blobs::ECDSA_P256
        {
            if certificate_key.as_ref() != Some(&ec.public_key) {
                return Err(format!(
                    "container {}: the certificate's key differs",
                    c.record.index
                ));
            }
            demo.ecdsa_index = Some(c.record.index);
            found.push(format!("ECDSA P-256 in {}", c.record.index));
        }
        if let Some(blob) = &c.exchange_key
            && let Ok(b) = blobs::parse_ecc_blob(blob)
            && b.xy == xy
            && b.magic == blobs::ECDH_P256
        {
            demo.ecdh_index = Some(c.record.index);
            found.push(format!("ECDH P-256 twin in {}", c.record.index));
        }
    }
    if demo.rsa_index.is_none() || demo.ecdsa_index.is_none() || demo.ecdh_index.is_none() {
        return Err(format!(
            "not every key is a container ({} of 3 found: {})",
            found.len(),
            found.join(", ")
        ));
    }
    Ok(format!(
        "{}; key blobs equal the certificates' keys",
        found.join(", ")
    ))
}

fn authenticate_pin(csp: &Csp, pin_id: u32, pin: &[u8]) -> (u32, Option<u32>) {
    let r = csp
        .ctx
        .call()
        .authenticate_ex(pin_id, 0, Some(pin), None, false, true);
    (r.code, r.value.and_then(|v| v.attempts))
}

fn log_on(demo: &mut Demo<'_>) -> Result<String, String> {
    let csp = csp(demo)?;
    let (code, _) = authenticate_pin(csp, demo.rsa_pin_id, &demo.pin);
    if code != SCARD_S_SUCCESS {
        return Err(format!("CardAuthenticateEx returned {}", codes::name(code)));
    }
    Ok(format!(
        "CardAuthenticateEx(PIN id {}) → SCARD_S_SUCCESS",
        demo.rsa_pin_id
    ))
}

fn rsa_key(demo: &Demo<'_>) -> Result<RsaKey, String> {
    match demo.rsa.as_ref().map(|e| &e.public_key) {
        Some(PublicKey::Rsa {
            modulus, exponent, ..
        }) => RsaKey::new(modulus, exponent),
        _ => Err("needs the RSA key".into()),
    }
}

fn sign_rsa(demo: &mut Demo<'_>) -> Result<String, String> {
    let index = demo.rsa_index.ok_or("needs the RSA container")?;
    let key = rsa_key(demo)?;
    let hash = Hash::Sha256.of("tessera demo: a Kerberos PKINIT authenticator");
    let args = SignArgs::pkcs1_sha256(index, 1, &hash);
    let r = csp(demo)?.ctx.call().sign_data(&args);
    let signature = r
        .value
        .and_then(|o| o.signature)
        .ok_or_else(|| format!("CardSignData returned {}", codes::name(r.code)))?;
    key.verify_pkcs1(Some(Hash::Sha256), &hash, &reversed(&signature))
        .map_err(|e| format!("the signature does not verify with the certificate's key: {e}"))?;
    Ok("CardSignData → signature verified with the certificate's RSA key (RustCrypto rsa)".into())
}

fn ec_point(demo: &Demo<'_>) -> Result<Vec<u8>, String> {
    match demo.ec.as_ref().map(|e| &e.public_key) {
        Some(PublicKey::Ecc { point, .. }) => Ok(point.clone()),
        _ => Err("needs the P-256 key".into()),
    }
}

fn sign_ecdsa(demo: &mut Demo<'_>) -> Result<String, String> {
    let index = demo.ecdsa_index.ok_or("needs the ECDSA container")?;
    let point = ec_point(demo)?;
    let hash = Hash::Sha256.of("tessera demo: a TLS CertificateVerify");
    let r = csp(demo)?
        .ctx
        .call()
        .sign_data(&SignArgs::basic(2, index, Curve::P256.ecdsa_spec(), 0, &hash));
    let signature = r
        .value
        .and_then(|o| o.signature)
        .ok_or_else(|| format!("CardSignData returned {}", codes::name(r.code)))?;
    verify_ecdsa(Curve::P256, &point, &hash, &signature)
        .map_err(|e| format!("with the certificate's key: {e}"))?;
    Ok("CardSignData → r‖s verified with the certificate's P-256 key (RustCrypto p256)".into())
}

fn decrypt_oaep(demo: &mut Demo<'_>) -> Result<String, String> {
    let index = demo.rsa_index.ok_or("needs the RSA container")?;
    let key = rsa_key(demo)?;
    let secret = Hash::Sha256.of("tessera demo: a content-encryption key");
    let ciphertext = key.encrypt_oaep(Hash::Sha256, None, &secret, 7)?;
    let r = csp(demo)?.ctx.call().rsa_decrypt(&DecryptArgs::v2(
        index,
        1,
        &reversed(&ciphertext),
        CARD_PADDING_OAEP,
        PaddingInfo::Oaep(Some("SHA256".into()), None),
    ));
    let plaintext = r
        .value
        .map(|o| reversed(&o.data))
        .ok_or_else(|| format!("CardRSADecrypt returned {}", codes::name(r.code)))?;
    if plaintext != secret {
        return Err("the decrypted key differs from the one encrypted".into());
    }
    Ok(
        "CardRSADecrypt(OAEP SHA-256, unpadded by the CSP's pfnCspUnpadData) → plaintext equal to the \
        32 bytes encrypted with the certificate's key"
            .into(),
    )
}

fn ecdh_tls(demo: &mut Demo<'_>) -> Result<String, String> {
    let index = demo.ecdh_index.ok_or("needs the ECDH container")?;
    let point = ec_point(demo)?;
    let csp = csp(demo)?;
    let server = PeerKey::new(Curve::P256, "tessera demo TLS server");
    let r = csp
        .ctx
        .call()
        .construct_dh_agreement(2, index, 0, Some(&server.blob()), false);
    let agreement = r
        .value
        .filter(|_| r.code == 0)
        .ok_or_else(|| format!("CardConstructDHAgreement returned {}", codes::name(r.code)))?;
    let seed = [Hash::Sha256.of("client random"), Hash::Sha256.of("server random")].concat();
    let derived = csp
        .ctx
        .call()
        .derive_key(&DeriveArgs::tls12_master_secret(agreement, &seed));
    let _ = csp.ctx.call().destroy_dh_agreement(agreement, 0);
    let master = derived
        .value
        .filter(|_| derived.code == 0)
        .map(|o| o.key)
        .ok_or_else(|| format!("CardDeriveKey returned {}", codes::name(derived.code)))?;
    let z = server.shared_secret(&point)?;
    let expected = kdf::tls12_prf(Hash::Sha256, &z, b"master secret", &seed, 48);
    if master != expected {
        return Err("the master secret differs from the server's".into());
    }
    Ok(
        "CardConstructDHAgreement + CardDeriveKey(TLS_PRF) → the 48-byte master secret equals the \
        server's, computed from its own ECDH key"
            .into(),
    )
}

fn change_pin(demo: &mut Demo<'_>) -> Result<String, String> {
    let csp = csp(demo)?;
    enrollment::change_pin(csp, &demo.pin, DEMO_PIN)?;
    let _ = csp.ctx.call().deauthenticate_ex(0xFE, 0);
    let (code, _) = authenticate_pin(csp, ROLE_USER, DEMO_PIN);
    if code != SCARD_S_SUCCESS {
        return Err(format!(
            "the new PIN is refused through the module: {}",
            codes::name(code)
        ));
    }
    Ok("CardChangeAuthenticatorEx(CHANGEPIN) → SCARD_S_SUCCESS; the new PIN logs on through CardAuthenticateEx".into())
}

fn block_pin(demo: &mut Demo<'_>) -> Result<String, String> {
    let csp = csp(demo)?;
    let wrong: &[u8] = if DEMO_PIN == b"00000000" {
        b"11111111"
    } else {
        b"00000000"
    };
    let mut seen = Vec::new();
    for _ in 0..16 {
        let (code, attempts) = authenticate_pin(csp, ROLE_USER, wrong);
        match code {
            SCARD_W_WRONG_CHV => seen.push(attempts.map_or("?".into(), |a| a.to_string())),
            SCARD_W_CHV_BLOCKED => {
                return Ok(format!(
                    "CardAuthenticateEx with a wrong PIN: SCARD_W_WRONG_CHV with {} tries left, then \
                     SCARD_W_CHV_BLOCKED",
                    seen.join(", ")
                ));
            }
            other => return Err(format!("a wrong PIN returned {}", codes::name(other))),
        }
    }
    Err("the PIN did not block after 16 wrong PINs".into())
}

fn unblock_pin(demo: &mut Demo<'_>) -> Result<String, String> {
    let csp = csp(demo)?;
    enrollment::unblock_pin(csp, &demo.puk, &demo.pin)?;
    let (code, _) = authenticate_pin(csp, ROLE_USER, &demo.pin);
    if code != SCARD_S_SUCCESS {
        return Err(format!(
            "the PIN set with the PUK is refused through the module: {}",
            codes::name(code)
        ));
    }
    let _ = csp.ctx.call().deauthenticate_ex(0xFE, 0);
    Ok(
        "CardUnblockPin(user, PUK) → SCARD_S_SUCCESS; the original PIN logs on again through \
        CardAuthenticateEx"
            .into(),
    )
}

fn delete_context(demo: &mut Demo<'_>) -> Result<String, String> {
    let mut csp = demo.csp.take().ok_or("no context")?;
    let code = csp.ctx.delete();
    drop(csp);
    if code != SCARD_S_SUCCESS {
        return Err(format!("CardDeleteContext returned {}", codes::name(code)));
    }
    let live = alloc::live_count();
    if live != 0 {
        return Err(format!("{live} pfnCspAlloc blocks were never freed"));
    }
    Ok("CardDeleteContext → SCARD_S_SUCCESS; every block the module took from pfnCspAlloc was freed".into())
}
