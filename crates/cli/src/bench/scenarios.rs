//! The scenarios S1–S8: what Windows does with a card, as the Base CSP calls the module, each checked
//! end to end (signatures verified with the certificate's key, plaintexts and master secrets compared)
//! so that an economy never passes for a wrong answer.
//!
//! * S1 cold logon: a new context with nothing cached — `cardid`, `cardcf`, `mscp/cmapfile`, the default
//!   container's certificate, its container information and PIN, an RSA-2048 PKCS#1 SHA-256 signature.
//! * S2 warm logon: the same in a second context of the process, the CSP cache filled, the card unchanged.
//! * S3 ECDSA P-256, S4 RSA-OAEP decryption, S5 ECDH + TLS 1.2 PRF: each one transaction in the
//!   long-lived context S2 opened (a CSP keeps its context for as long as the process uses the card).
//! * S6 enrollment: a new context; PIN, on-card P-256 generation (`CardCreateContainerEx`), container
//!   information, the new `mscp/cmapfile` and `cardcf`, then a 1.5 KB certificate (`CardCreateFile`,
//!   `CardWriteFile`) and `cardcf` again — the Base CSP's order.
//! * S7 a second process: the logon of S2 as the first context of a new process (the bench runs itself),
//!   with the cache a new process finds (the global cache under `CP_CACHE_MODE_GLOBAL_CACHE`, nothing
//!   under `SESSION_ONLY`).
//! * S8 changed by another tool: the default container's certificate replaced through PIV PUT DATA on a
//!   second connection without a freshness bump (as yubico-piv-tool does) between two contexts; the second
//!   context's logon reads, and the step reports whether the new certificate was seen and what it cost.
//! * S9 list: a new context with nothing cached lists every container and reads each one's certificate
//!   (what certificate propagation does; the equivalent of `pkcs11-tool --list-objects`).
//! * S3c, S4c: S3 and S4 in a new context with nothing cached, as a new process with nothing cached
//!   does them (the equivalent of one `pkcs11-tool --login --sign` or `--decrypt`).
//!
//! Before every scenario that starts a context, the card's PIN is logged out through a connection of the
//! bench's own (not counted), so that each starts from the state a freshly inserted card has.

use tessera_conformance::blobs::{self, CardcfCounter};
use tessera_conformance::codes::SCARD_S_SUCCESS;
use tessera_conformance::ffi::calls::flags::CARD_PADDING_OAEP;
use tessera_conformance::ffi::calls::{
    Context, DecryptArgs, DeriveArgs, FileArgs, NewContainer, PaddingInfo, SignArgs, StructArg,
};
use tessera_conformance::fixture::{self, DEFAULT_PIN};
use tessera_conformance::oracle::ec::{Curve, PeerKey, verify_ecdsa};
use tessera_conformance::oracle::hash::Hash;
use tessera_conformance::oracle::kdf;
use tessera_conformance::oracle::rsa::{RsaKey, reversed};
use tessera_piv::objects::CertificateObject;
use tessera_piv::{KeyRef, ManagementKey, PaddedPin, PublicKey};

use super::certs::BenchCa;
use super::csp::{BaseCsp, CallRecord, Recorder, Stop, ok};
use super::meter::MeterRef;
use super::setup::{Layout, Target};
use crate::admin;
use crate::card::Card;

/// `CARD_CREATE_CONTAINER_KEY_GEN`.
const KEY_GEN: u32 = 1;
/// `AT_ECDSA_P256`.
const AT_ECDSA_P256: u32 = 3;
/// `ROLE_USER`.
const ROLE_USER: u32 = 1;
/// `EveryoneReadUserWriteAc`, the access condition of certificate files.
const EVERYONE_READ_USER_WRITE: i32 = 1;
/// The enrollment certificate's size.
const ENROLLMENT_CERTIFICATE_LEN: usize = 1536;

/// What one run of a scenario did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// The calls, in order.
    pub calls: Vec<CallRecord>,
    /// Why it stopped early, if it did.
    pub stop: Option<Stop>,
    /// Remarks for the report.
    pub notes: Vec<String>,
    /// S8: whether the change was seen.
    pub change_seen: Option<bool>,
}

impl Outcome {
    fn of(rec: Recorder, result: Result<(), Stop>) -> Self {
        Self {
            calls: rec.calls,
            stop: result.err(),
            ..Self::default()
        }
    }
}

/// Logs the PIN out through a connection of the bench's own (SELECT, then VERIFY FF), not counted.
pub fn fresh_card_state(card: &Card) {
    if let Ok(mut session) = card.session() {
        let _ = session.logout(KeyRef::PIN);
    }
}

fn pin() -> &'static [u8] {
    DEFAULT_PIN
}

/// `CardGetContainerInfo`, checked against the key the bench knows.
fn container_info(ctx: &Context, rec: &mut Recorder, target: &Target) -> Result<(), Stop> {
    let label = format!("CardGetContainerInfo({})", target.index);
    let info = ok(
        &label,
        rec.reply(&label, || {
            ctx.call().get_container_info(target.index, 0, StructArg::V1)
        }),
    )?;
    let blob = info.exchange_key.or(info.signature_key);
    let material = blob
        .as_deref()
        .and_then(tessera_conformance::harness::key_material);
    let expected = match &target.public_key {
        PublicKey::Rsa { modulus, .. } => modulus.clone(),
        PublicKey::Ecc { point, .. } => point.get(1..).unwrap_or_default().to_vec(),
    };
    if material.as_deref() != Some(expected.as_slice()) {
        return Err(Stop::Failed(format!(
            "container {} holds another key than slot {}",
            target.index,
            target.slot.name()
        )));
    }
    Ok(())
}

/// `CCP_PIN_IDENTIFIER`, then `CardAuthenticateEx` with that PIN (none for `ROLE_EVERYONE`).
fn authenticate(ctx: &Context, rec: &mut Recorder, index: u8) -> Result<(), Stop> {
    let label = format!("CardGetContainerProperty({index}, CCP_PIN_IDENTIFIER)");
    let value = ok(
        &label,
        rec.reply(&label, || {
            ctx.call()
                .get_container_property(index, Some("PIN Identifier"), 4, 0, false, false)
        }),
    )?;
    let pin_id = blobs::dwords(&value.data).first().copied().unwrap_or(ROLE_USER);
    if pin_id == 0 {
        return Ok(());
    }
    authenticate_role(ctx, rec, pin_id)
}

fn authenticate_role(ctx: &Context, rec: &mut Recorder, pin_id: u32) -> Result<(), Stop> {
    let label = format!("CardAuthenticateEx(PIN {pin_id})");
    let r = rec.reply(&label, || {
        ctx.call()
            .authenticate_ex(pin_id, 0, Some(pin()), None, false, true)
    });
    ok(&label, r).map(|_| ())
}

/// The logon of S1, S2, S7 and the read half of S8: transaction, cmapfile, certificate, container,
/// PIN, signature. Returns the certificate the CSP got.
pub fn logon(csp: &mut BaseCsp, ctx: &Context, rec: &mut Recorder, target: &Target) -> Result<Vec<u8>, Stop> {
    csp.begin_transaction(ctx, rec)?;
    let certificate = read_logon_certificate(csp, ctx, rec, target)?;
    let Some((
        PublicKey::Rsa {
            modulus, exponent, ..
        },
        _,
    )) = fixture::certificate_key(&certificate)
    else {
        return Err(Stop::Failed(format!(
            "mscp/{} is not an RSA certificate",
            target.certificate_file
        )));
    };
    let key = RsaKey::new(&modulus, &exponent).map_err(Stop::Failed)?;
    container_info(ctx, rec, target)?;
    authenticate(ctx, rec, target.index)?;
    // PKINIT: the KDC's challenge signed with SHA-256 and PKCS#1 v1.5.
    let hash = Hash::Sha256.of("bench: kerberos as-req authenticator");
    let args = SignArgs::pkcs1_sha256(target.index, target.key_spec, &hash);
    let label = format!("CardSignData({}, RSA-2048 PKCS#1 SHA-256)", target.index);
    let out = ok(&label, rec.reply(&label, || ctx.call().sign_data(&args)))?;
    let signature = out
        .signature
        .ok_or_else(|| Stop::Failed("CardSignData returned no signature".into()))?;
    key.verify_pkcs1(Some(Hash::Sha256), &hash, &reversed(&signature))
        .map_err(|e| Stop::Failed(format!("the logon signature does not verify: {e}")))?;
    Ok(certificate)
}

/// `mscp/cmapfile` (the default container must be the logon key's) and the certificate file.
fn read_logon_certificate(
    csp: &BaseCsp,
    ctx: &Context,
    rec: &mut Recorder,
    target: &Target,
) -> Result<Vec<u8>, Stop> {
    let cmapfile = csp.read_file(ctx, rec, Some("mscp"), "cmapfile")?;
    let records = blobs::parse_cmapfile(&cmapfile).map_err(Stop::Failed)?;
    let default = records
        .iter()
        .find(|r| r.valid() && r.flags & blobs::CMAP_DEFAULT != 0)
        .ok_or_else(|| Stop::Failed("no default container in mscp/cmapfile".into()))?;
    if default.index != target.index {
        return Err(Stop::Failed(format!(
            "the default container moved from {} to {}",
            target.index, default.index
        )));
    }
    csp.read_file(ctx, rec, Some("mscp"), &target.certificate_file)
}

/// S1: a new context with nothing cached.
pub fn s1_cold_logon(csp: &mut BaseCsp, card: &Card, layout: &Layout, meter: &MeterRef) -> Outcome {
    fresh_card_state(card);
    csp.empty_cache();
    let mut rec = Recorder::new(meter);
    let result = (|| {
        let ctx = csp.open(card, &mut rec)?;
        logon(csp, &ctx, &mut rec, &layout.logon)?;
        csp.close(ctx, &mut rec);
        Ok(())
    })();
    Outcome::of(rec, result)
}

/// S2: a second context, the cache warm. The context is handed back for S3–S5.
pub fn s2_warm_logon(
    csp: &mut BaseCsp,
    card: &Card,
    layout: &Layout,
    meter: &MeterRef,
) -> (Outcome, Option<Context>) {
    fresh_card_state(card);
    let mut rec = Recorder::new(meter);
    let mut kept = None;
    let result = (|| {
        let ctx = csp.open(card, &mut rec)?;
        logon(csp, &ctx, &mut rec, &layout.logon)?;
        kept = Some(ctx);
        Ok(())
    })();
    (Outcome::of(rec, result), kept)
}

/// One transaction's start in a long-lived context: freshness, then the cmapfile (to find the
/// container by name), then the container and its PIN.
fn warm_transaction(
    csp: &mut BaseCsp,
    ctx: &Context,
    rec: &mut Recorder,
    target: &Target,
) -> Result<(), Stop> {
    csp.begin_transaction(ctx, rec)?;
    csp.read_file(ctx, rec, Some("mscp"), "cmapfile")?;
    container_info(ctx, rec, target)?;
    authenticate(ctx, rec, target.index)
}

/// S3: ECDSA P-256 with 9C (PIN always).
pub fn s3_ecdsa(csp: &mut BaseCsp, ctx: &Context, layout: &Layout, meter: &MeterRef) -> Outcome {
    let mut rec = Recorder::new(meter);
    let target = &layout.ecdsa;
    let result = (|| {
        warm_transaction(csp, ctx, &mut rec, target)?;
        let hash = Hash::Sha256.of("bench: TLS 1.3 CertificateVerify");
        let label = format!("CardSignData({}, ECDSA P-256)", target.index);
        let out = ok(
            &label,
            rec.reply(&label, || {
                ctx.call()
                    .sign_data(&SignArgs::basic(2, target.index, target.key_spec, 0, &hash))
            }),
        )?;
        let PublicKey::Ecc { point, .. } = &target.public_key else {
            return Err(Stop::Failed("9C holds no EC key".into()));
        };
        let signature = out
            .signature
            .ok_or_else(|| Stop::Failed("CardSignData returned no signature".into()))?;
        verify_ecdsa(Curve::P256, point, &hash, &signature)
            .map_err(|e| Stop::Failed(format!("the ECDSA signature does not verify: {e}")))
    })();
    Outcome::of(rec, result)
}

/// S4: RSA-OAEP (SHA-256) decryption with 9D, unpadded through `pfnCspUnpadData`.
pub fn s4_decrypt(csp: &mut BaseCsp, ctx: &Context, layout: &Layout, meter: &MeterRef) -> Outcome {
    let mut rec = Recorder::new(meter);
    let target = &layout.decrypt;
    let result = (|| {
        let PublicKey::Rsa {
            modulus, exponent, ..
        } = &target.public_key
        else {
            return Err(Stop::Failed("9D holds no RSA key".into()));
        };
        let key = RsaKey::new(modulus, exponent).map_err(Stop::Failed)?;
        let secret = Hash::Sha256.of("bench: a content-encryption key");
        let ciphertext = key
            .encrypt_oaep(Hash::Sha256, None, &secret, 4)
            .map_err(Stop::Failed)?;
        warm_transaction(csp, ctx, &mut rec, target)?;
        let label = format!("CardRSADecrypt({}, OAEP SHA-256)", target.index);
        let args = DecryptArgs::v2(
            target.index,
            target.key_spec,
            &reversed(&ciphertext),
            CARD_PADDING_OAEP,
            PaddingInfo::Oaep(Some("SHA256".into()), None),
        );
        let out = ok(&label, rec.reply(&label, || ctx.call().rsa_decrypt(&args)))?;
        if reversed(&out.data) != secret {
            return Err(Stop::Failed(
                "the decrypted key differs from the one encrypted".into(),
            ));
        }
        Ok(())
    })();
    Outcome::of(rec, result)
}

/// S5: ECDH with 82's key agreement twin, then the TLS 1.2 master secret (PRF SHA-256).
pub fn s5_ecdh_tls(csp: &mut BaseCsp, ctx: &Context, layout: &Layout, meter: &MeterRef) -> Outcome {
    let mut rec = Recorder::new(meter);
    let target = &layout.ecdh;
    let result = (|| {
        warm_transaction(csp, ctx, &mut rec, target)?;
        let server = PeerKey::new(Curve::P256, "bench: TLS server ephemeral key");
        let label = format!("CardConstructDHAgreement({})", target.index);
        let agreement = ok(
            &label,
            rec.reply(&label, || {
                ctx.call()
                    .construct_dh_agreement(2, target.index, 0, Some(&server.blob()), false)
            }),
        )?;
        let seed = [Hash::Sha256.of("client random"), Hash::Sha256.of("server random")].concat();
        let args = DeriveArgs::tls12_master_secret(agreement, &seed);
        let derived = ok(
            "CardDeriveKey(TLS_PRF)",
            rec.reply("CardDeriveKey(TLS_PRF)", || ctx.call().derive_key(&args)),
        )?;
        let destroyed = rec.reply("CardDestroyDHAgreement", || {
            ctx.call().destroy_dh_agreement(agreement, 0)
        });
        if destroyed.code != SCARD_S_SUCCESS {
            return Err(Stop::code("CardDestroyDHAgreement", destroyed.code));
        }
        let PublicKey::Ecc { point, .. } = &target.public_key else {
            return Err(Stop::Failed("82 holds no EC key".into()));
        };
        let z = server.shared_secret(point).map_err(Stop::Failed)?;
        if derived.key != kdf::tls12_prf(Hash::Sha256, &z, b"master secret", &seed, 48) {
            return Err(Stop::Failed("the master secret differs from the server's".into()));
        }
        Ok(())
    })();
    Outcome::of(rec, result)
}

/// S3 or S4 (`operation`) in a new context of a CSP with nothing cached.
pub fn cold(
    card: &Card,
    layout: &Layout,
    meter: &MeterRef,
    operation: fn(&mut BaseCsp, &Context, &Layout, &MeterRef) -> Outcome,
) -> Outcome {
    fresh_card_state(card);
    let mut csp = BaseCsp::new(meter);
    let mut rec = Recorder::new(meter);
    let ctx = match csp.open(card, &mut rec) {
        Ok(ctx) => ctx,
        Err(stop) => return Outcome::of(rec, Err(stop)),
    };
    let mut outcome = operation(&mut csp, &ctx, layout, meter);
    let mut closing = Recorder::new(meter);
    csp.close(ctx, &mut closing);
    rec.calls.append(&mut outcome.calls);
    rec.calls.append(&mut closing.calls);
    outcome.calls = rec.calls;
    outcome
}

/// The first index without a valid record (where the CSP puts a new container).
fn free_index(cmapfile: &[u8]) -> Result<u8, Stop> {
    let records = blobs::parse_cmapfile(cmapfile).map_err(Stop::Failed)?;
    let index = records.iter().position(|r| !r.valid()).unwrap_or(records.len());
    u8::try_from(index).map_err(|_| Stop::Failed("mscp/cmapfile has no free record".into()))
}

/// A `CONTAINER_MAP_RECORD`: the name (UTF-16, NUL-terminated), flags, key sizes.
fn cmap_record(name: &str, flags: u8, sig_bits: u16, kx_bits: u16) -> Vec<u8> {
    let mut out = vec![0u8; blobs::CMAP_RECORD_LEN];
    for (i, unit) in name.encode_utf16().take(39).enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
    out[80] = flags;
    out[82..84].copy_from_slice(&sig_bits.to_le_bytes());
    out[84..86].copy_from_slice(&kx_bits.to_le_bytes());
    out
}

/// `cardcf` with one counter bumped: `containers`, else files.
fn bumped(cardcf: &[u8], containers: bool) -> Vec<u8> {
    let counter = if containers {
        CardcfCounter::Containers
    } else {
        CardcfCounter::Files
    };
    blobs::bumped_cardcf(cardcf, counter)
}

/// S6: enrollment as the Base CSP performs it.
pub fn s6_enroll(csp: &mut BaseCsp, card: &Card, meter: &MeterRef) -> Outcome {
    fresh_card_state(card);
    let mut rec = Recorder::new(meter);
    let mut notes = Vec::new();
    let result = (|| {
        let ctx = csp.open(card, &mut rec)?;
        let freshness = csp.begin_transaction(&ctx, &mut rec)?;
        let cmapfile = csp.read_file(&ctx, &mut rec, Some("mscp"), "cmapfile")?;
        authenticate_role(&ctx, &mut rec, ROLE_USER)?;
        let index = free_index(&cmapfile)?;
        let label = format!("CardCreateContainerEx({index}, KEY_GEN, AT_ECDSA_P256)");
        let created = rec.reply(&label, || {
            ctx.call().create_container_ex(
                NewContainer {
                    index,
                    flags: KEY_GEN,
                    key_spec: AT_ECDSA_P256,
                    bits: 256,
                    key: None,
                },
                ROLE_USER,
            )
        });
        if created.code != SCARD_S_SUCCESS {
            return Err(Stop::code(&label, created.code));
        }
        let label = format!("CardGetContainerInfo({index})");
        let info = ok(
            &label,
            rec.reply(&label, || ctx.call().get_container_info(index, 0, StructArg::V1)),
        )?;
        let ecc = info
            .signature_key
            .as_deref()
            .and_then(|b| blobs::parse_ecc_blob(b).ok())
            .ok_or_else(|| Stop::Failed(format!("container {index} has no ECDSA key blob")))?;
        let point = [&[0x04][..], &ecc.xy].concat();
        let public_key = PublicKey::Ecc {
            algorithm: tessera_piv::AlgorithmId::ECCP256,
            point,
        };
        // The new record, then cardcf (containers changed), as the CSP writes them.
        let mut records = cmapfile.clone();
        let at = usize::from(index) * blobs::CMAP_RECORD_LEN;
        records.resize(records.len().max(at + blobs::CMAP_RECORD_LEN), 0);
        let name = format!("{{be4c4e57-0000-4000-8000-{:012x}}}", u64::from(index) + 0xBE);
        records[at..at + blobs::CMAP_RECORD_LEN].copy_from_slice(&cmap_record(
            &name,
            blobs::CMAP_VALID,
            256,
            0,
        ));
        csp.write_file(&ctx, &mut rec, Some("mscp"), "cmapfile", &records)?;
        let cardcf = bumped(&freshness.cardcf, true);
        csp.write_file(&ctx, &mut rec, None, "cardcf", &cardcf)?;
        csp.adopt_cardcf(&cardcf);
        // The certificate, then cardcf (files changed).
        let certificate = BenchCa::new()
            .and_then(|ca| {
                ca.issue(
                    "CN=Tessera bench enrollment,O=Tessera",
                    &public_key,
                    0x6000,
                    ENROLLMENT_CERTIFICATE_LEN,
                )
            })
            .map_err(Stop::Failed)?;
        let file = format!("ksc{index:02x}");
        let label = format!("CardCreateFile(mscp/{file})");
        let r = rec.reply(&label, || {
            ctx.call().create_file(
                FileArgs {
                    dir: Some(b"mscp"),
                    file: Some(file.as_bytes()),
                    ..FileArgs::default()
                },
                certificate.len() as u32,
                EVERYONE_READ_USER_WRITE,
            )
        });
        if r.code != SCARD_S_SUCCESS {
            return Err(Stop::code(&label, r.code));
        }
        csp.write_file(&ctx, &mut rec, Some("mscp"), &file, &certificate)?;
        let cardcf = bumped(&cardcf, false);
        csp.write_file(&ctx, &mut rec, None, "cardcf", &cardcf)?;
        csp.adopt_cardcf(&cardcf);
        // Not counted: the module serves the certificate it was given.
        let back = ctx.call().read(Some("mscp"), &file);
        if back.value.as_deref() != Some(certificate.as_slice()) {
            return Err(Stop::Failed(format!(
                "mscp/{file} reads back differently from what was written"
            )));
        }
        notes.push(format!(
            "container {index}: P-256 generated on the card, {}-byte certificate in mscp/{file}",
            certificate.len()
        ));
        csp.close(ctx, &mut rec);
        Ok(())
    })();
    let mut outcome = Outcome::of(rec, result);
    if let Some(Stop::Unavailable(_)) = &outcome.stop {
        outcome.notes.push(
            "the module's write side (CardCreateContainerEx, CardWriteFile, CardCreateFile) is not built \
             yet; the scenario runs for real once it is"
                .into(),
        );
    }
    outcome.notes.extend(notes);
    outcome
}

/// S9: every container and its certificate, in a new context with nothing cached.
pub fn s9_list(card: &Card, meter: &MeterRef) -> Outcome {
    fresh_card_state(card);
    let mut csp = BaseCsp::new(meter);
    let mut rec = Recorder::new(meter);
    let mut notes = Vec::new();
    let result = (|| {
        let ctx = csp.open(card, &mut rec)?;
        csp.begin_transaction(&ctx, &mut rec)?;
        let cmapfile = csp.read_file(&ctx, &mut rec, Some("mscp"), "cmapfile")?;
        let records = blobs::parse_cmapfile(&cmapfile).map_err(Stop::Failed)?;
        let (mut containers, mut certificates) = (0, 0);
        for record in records.iter().filter(|r| r.valid()) {
            let label = format!("CardGetContainerInfo({})", record.index);
            let info = ok(
                &label,
                rec.reply(&label, || {
                    ctx.call().get_container_info(record.index, 0, StructArg::V1)
                }),
            )?;
            containers += 1;
            let prefix = if info.exchange_key.is_some() { "kxc" } else { "ksc" };
            let file = format!("{prefix}{:02x}", record.index);
            let label = format!("CardReadFile(mscp/{file})");
            let r = rec.reply(&label, || ctx.call().read(Some("mscp"), &file));
            match r.code {
                SCARD_S_SUCCESS => certificates += 1,
                tessera_conformance::codes::SCARD_E_FILE_NOT_FOUND => {}
                code => return Err(Stop::code(&label, code)),
            }
        }
        notes.push(format!("{containers} containers, {certificates} certificates"));
        csp.close(ctx, &mut rec);
        Ok(())
    })();
    let mut outcome = Outcome::of(rec, result);
    outcome.notes = notes;
    outcome
}

/// What "another tool" does: PUT DATA of a new certificate for `target`'s key on a connection of its
/// own, with the management key (PIN-protected or the factory default), and no freshness bump.
fn replace_certificate(card: &Card, target: &Target) -> Result<Vec<u8>, Stop> {
    let fail = |what: &str| {
        let what = what.to_owned();
        move |e: String| Stop::Failed(format!("another tool's write ({what}): {e}"))
    };
    // A serial of its own each time, so that a card the bench ran on before gets a different one.
    let mut serial = [0u8; 4];
    getrandom::fill(&mut serial).map_err(|e| fail("serial")(e.to_string()))?;
    let certificate = BenchCa::new()
        .and_then(|ca| {
            ca.issue(
                "CN=Tessera bench logon (replaced by another tool),O=Tessera",
                &target.public_key,
                (u32::from_be_bytes(serial) >> 1) | 1,
                0,
            )
        })
        .map_err(fail("certificate"))?;
    let object = CertificateObject::new(certificate.clone())
        .encode()
        .map_err(|e| fail("certificate object")(e.to_string()))?;
    let tag = target
        .slot
        .certificate_object()
        .ok_or_else(|| Stop::Failed("the logon slot has no certificate object".into()))?;
    let mut session = card.session().map_err(|e| fail("connect")(e.to_string()))?;
    let algorithm = admin::management_algorithm(&mut session);
    let protected = admin::admin_data(&mut session).is_some_and(|a| a.management_key_protected());
    if protected {
        let pin = PaddedPin::new(pin()).map_err(|e| fail("PIN")(e.to_string()))?;
        admin::authenticate_pin_protected(&mut session, &pin, algorithm)
            .map_err(|e| fail("PIN-protected key")(e.to_string()))?;
    } else {
        let key = ManagementKey::default_for(algorithm)
            .ok_or_else(|| Stop::Failed("no factory-default management key".into()))?;
        session
            .authenticate_management_key(&key)
            .map_err(|e| fail("management key")(e.to_string()))?;
    }
    session
        .put_data(tag, &object)
        .map_err(|e| fail("PUT DATA")(e.to_string()))?;
    let _ = session.logout(KeyRef::PIN);
    Ok(certificate)
}

/// S8: the certificate of the default container replaced by another tool between two contexts.
pub fn s8_changed_elsewhere(csp: &mut BaseCsp, card: &Card, layout: &Layout, meter: &MeterRef) -> Outcome {
    let target = &layout.logon;
    // Context A fills the cache, as an application did before the change (not counted).
    fresh_card_state(card);
    let mut setup = Recorder::new(meter);
    let before = (|| {
        let ctx = csp.open(card, &mut setup)?;
        csp.begin_transaction(&ctx, &mut setup)?;
        let old = read_logon_certificate(csp, &ctx, &mut setup, target)?;
        csp.close(ctx, &mut setup);
        Ok(old)
    })();
    let old = match before {
        Ok(old) => old,
        Err(stop) => return Outcome::of(setup, Err(stop)),
    };
    let new = match replace_certificate(card, target) {
        Ok(new) => new,
        Err(stop) => return Outcome::of(Recorder::new(meter), Err(stop)),
    };
    if new == old {
        return Outcome::of(
            Recorder::new(meter),
            Err(Stop::Failed(
                "the replacement certificate equals the old one".into(),
            )),
        );
    }
    // Context B: what the next application pays, and what it gets.
    fresh_card_state(card);
    let mut rec = Recorder::new(meter);
    let mut module_view = None;
    let result = (|| {
        let ctx = csp.open(card, &mut rec)?;
        csp.begin_transaction(&ctx, &mut rec)?;
        let seen = read_logon_certificate(csp, &ctx, &mut rec, target)?;
        // Not counted: what the module itself answers when asked directly.
        module_view = ctx.call().read(Some("mscp"), &target.certificate_file).value;
        csp.close(ctx, &mut rec);
        Ok(seen)
    })();
    let mut outcome = Outcome {
        calls: rec.calls,
        ..Outcome::default()
    };
    match result {
        Ok(seen) => {
            let seen_new = seen == new;
            outcome.change_seen = Some(seen_new);
            let file = &target.certificate_file;
            if seen_new {
                outcome.notes.push(format!(
                    "change seen: the new certificate came back as mscp/{file}"
                ));
            } else if seen == old {
                let module = match module_view.as_deref() {
                    Some(m) if m == new.as_slice() => "the module itself serves the new one",
                    Some(m) if m == old.as_slice() => "the module itself serves the old one too",
                    Some(_) => "the module serves something else",
                    None => "the module does not serve the file",
                };
                outcome.notes.push(format!(
                    "change NOT seen: the old certificate came back as mscp/{file} (cardcf unchanged, so \
                     the CSP cache stood; {module})"
                ));
            } else {
                outcome.stop = Some(Stop::Failed(format!(
                    "mscp/{file} is neither the old nor the new certificate"
                )));
            }
        }
        Err(stop) => outcome.stop = Some(stop),
    }
    outcome
}
