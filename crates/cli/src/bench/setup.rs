//! The card the bench runs on, and where its keys are as the module presents them.
//!
//! The card state is the one the comparison with OpenSC needs: RSA-2048 in 9A (logon), P-256 in 9C
//! (signature, PIN always), RSA-2048 in 9D (key management), P-256 in 9E (card authentication, no PIN),
//! and two retired slots, 82 (P-256, signing and key agreement) and 83 (RSA-2048), each with a
//! certificate. In-process the bench makes it on a fresh virtual card; through pcscd it takes the card as
//! it is (personalised by `scripts/bench-vs-opensc.sh` with yubico-piv-tool, say) or makes it there with
//! `--provision`.

use std::path::{Path, PathBuf};

use tessera_conformance::blobs;
use tessera_conformance::ffi::calls::StructArg;
use tessera_conformance::fixture::{self, CertUsage, Fixture, SlotPlan};
use tessera_conformance::harness::key_material;
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, PublicKey};

use super::csp::{BaseCsp, Recorder, Stop, ok};
use super::meter::Meter;
use crate::card::Card;
use crate::errors::{CliError, CliResult};

/// The slots the bench fills (and, through pcscd without `--provision`, expects).
pub fn plan() -> Vec<SlotPlan> {
    let slot = |slot, algorithm, pin_policy, usage| SlotPlan {
        slot,
        algorithm,
        pin_policy,
        certificate: Some(usage),
    };
    let retired = |n| KeyRef::retired(n).unwrap_or(KeyRef::RETIRED_FIRST);
    vec![
        slot(
            KeyRef::AUTHENTICATION,
            AlgorithmId::RSA2048,
            PinPolicy::Once,
            CertUsage::SignAndEncrypt,
        ),
        slot(
            KeyRef::SIGNATURE,
            AlgorithmId::ECCP256,
            PinPolicy::Always,
            CertUsage::SignOnly,
        ),
        slot(
            KeyRef::KEY_MANAGEMENT,
            AlgorithmId::RSA2048,
            PinPolicy::Once,
            CertUsage::SignAndEncrypt,
        ),
        slot(
            KeyRef::CARD_AUTHENTICATION,
            AlgorithmId::ECCP256,
            PinPolicy::Never,
            CertUsage::SignOnly,
        ),
        slot(
            retired(1),
            AlgorithmId::ECCP256,
            PinPolicy::Once,
            CertUsage::SignAndAgree,
        ),
        slot(
            retired(2),
            AlgorithmId::RSA2048,
            PinPolicy::Once,
            CertUsage::SignAndEncrypt,
        ),
    ]
}

/// A folder of the bench's own, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new folder under the system's temporary folder.
    pub fn new() -> CliResult<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("tessera-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| CliError::Input(format!("scratch folder {}: {e}", dir.display())))?;
        Ok(Self(dir))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Puts the bench's card state on `card` (keys generated on the card, certificates written).
pub fn provision(card: &Card) -> CliResult<Fixture> {
    let mut session = card.session()?;
    fixture::provision(&mut session, &plan(), false)
        .map_err(|e| CliError::Card(format!("personalising the card: {e}")))
}

/// Reads the card's state and checks it has what the scenarios need.
pub fn discover(card: &Card) -> CliResult<Fixture> {
    let mut session = card.session()?;
    let found =
        fixture::discover(&mut session).map_err(|e| CliError::Card(format!("reading the card: {e}")))?;
    let missing: Vec<String> = plan()
        .iter()
        .filter(|p| {
            !found
                .slot(p.slot)
                .is_some_and(|s| s.public_key.algorithm() == p.algorithm && s.certificate.is_some())
        })
        .map(|p| {
            format!(
                "{:02X} ({} with a certificate)",
                p.slot.0,
                p.algorithm.name().unwrap_or("?")
            )
        })
        .collect();
    if missing.is_empty() {
        return Ok(found);
    }
    Err(CliError::Input(format!(
        "the card in {} lacks {}: personalise it (scripts/bench-vs-opensc.sh does, with yubico-piv-tool) \
         or pass --provision to have the bench do it",
        card.label(),
        missing.join(", ")
    )))
}

/// A key as the module presents it: its container and key spec, with what the bench knows of it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The PIV slot.
    pub slot: KeyRef,
    /// The container index.
    pub index: u8,
    /// `AT_KEYEXCHANGE` 1, `AT_SIGNATURE` 2, `AT_ECDSA_P256` 3, `AT_ECDHE_P256` 6, …
    pub key_spec: u32,
    /// The public key (from the card, when provisioned, or its certificate).
    pub public_key: PublicKey,
    /// `kxcNN` or `kscNN`.
    pub certificate_file: String,
}

/// Where the scenarios' keys are.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The default container (the logon key of S1, S2, S7).
    pub logon: Target,
    /// 9C's ECDSA container (S3).
    pub ecdsa: Target,
    /// 9D's RSA container (S4).
    pub decrypt: Target,
    /// The ECDH container of retired slot 82 (S5).
    pub ecdh: Target,
}

/// The key spec a container's blobs announce.
fn key_spec(exchange: Option<&[u8]>, signature: Option<&[u8]>) -> Option<u32> {
    let magic = |b: &[u8]| blobs::parse_ecc_blob(b).ok().map(|e| e.magic);
    if let Some(b) = exchange {
        return Some(match magic(b) {
            Some(blobs::ECDH_P256) => 6,
            Some(blobs::ECDH_P384) => 7,
            _ => 1,
        });
    }
    Some(match magic(signature?) {
        Some(blobs::ECDSA_P256) => 3,
        Some(blobs::ECDSA_P384) => 4,
        _ => 2,
    })
}

fn point_xy(key: &PublicKey) -> Vec<u8> {
    match key {
        PublicKey::Rsa { modulus, .. } => modulus.clone(),
        PublicKey::Ecc { point, .. } => point.get(1..).unwrap_or_default().to_vec(),
    }
}

/// Finds the containers of the scenarios' keys through the module, in a context of its own whose cost
/// is not counted (a CSP learns the container of a key from the certificate store, not from the card).
pub fn layout(card: &Card, fixture: &Fixture) -> CliResult<Layout> {
    let meter = Meter::new();
    let mut csp = BaseCsp::new(&meter);
    let mut rec = Recorder::new(&meter);
    let stop = |s: Stop| CliError::Card(format!("finding the containers: {s:?}"));
    let ctx = csp.open(card, &mut rec).map_err(stop)?;
    let cmapfile = ok(
        "CardReadFile(mscp/cmapfile)",
        ctx.call().read(Some("mscp"), "cmapfile"),
    )
    .map_err(stop)?;
    let records = blobs::parse_cmapfile(&cmapfile).map_err(CliError::Card)?;
    let mut found: Vec<(Target, bool)> = Vec::new();
    for record in records.iter().filter(|r| r.valid()) {
        let info = ok(
            "CardGetContainerInfo",
            ctx.call().get_container_info(record.index, 0, StructArg::V1),
        )
        .map_err(stop)?;
        let blob = info.exchange_key.as_deref().or(info.signature_key.as_deref());
        let material = blob.and_then(key_material);
        let Some(slot) = fixture
            .slots
            .iter()
            .find(|s| Some(point_xy(&s.public_key)) == material)
        else {
            continue;
        };
        let Some(spec) = key_spec(info.exchange_key.as_deref(), info.signature_key.as_deref()) else {
            continue;
        };
        let prefix = if info.exchange_key.is_some() { "kxc" } else { "ksc" };
        found.push((
            Target {
                slot: slot.slot,
                index: record.index,
                key_spec: spec,
                public_key: slot.public_key.clone(),
                certificate_file: format!("{prefix}{:02x}", record.index),
            },
            record.flags & blobs::CMAP_DEFAULT != 0,
        ));
    }
    let pick = |what: &str, f: &dyn Fn(&Target, bool) -> bool| {
        found
            .iter()
            .find(|(t, default)| f(t, *default))
            .map(|(t, _)| t.clone())
            .ok_or_else(|| CliError::Card(format!("the module shows no container for {what}")))
    };
    Ok(Layout {
        logon: pick("the default container (an RSA key)", &|t, default| {
            default && matches!(t.key_spec, 1 | 2)
        })?,
        ecdsa: pick("9C's ECDSA P-256 key", &|t, _| {
            t.slot == KeyRef::SIGNATURE && t.key_spec == 3
        })?,
        decrypt: pick("9D's RSA key", &|t, _| {
            t.slot == KeyRef::KEY_MANAGEMENT && t.key_spec == 1
        })?,
        ecdh: pick("82's ECDH P-256 key", &|t, _| {
            t.slot == KeyRef::RETIRED_FIRST && t.key_spec == 6
        })?,
    })
}
