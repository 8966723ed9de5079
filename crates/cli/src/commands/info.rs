//! `tessera info`: what the card holds, read without spending a PIN try (GET METADATA and an empty VERIFY
//! report the counters); `tessera info --windows`: what Windows will see, through the card module's
//! `CARD_DATA` table as the Base CSP reads it.

use der::Decode;
use serde::Serialize;
use tessera_conformance::blobs;
use tessera_piv::commands::KeyOrigin;
use tessera_piv::objects::{CertificateObject, Chuid, tags};
use tessera_piv::{KeyRef, PinStatus, PublicKey};

use crate::admin;
use crate::args::InfoArgs;
use crate::card::{Card, CardSession, CardSource};
use crate::csp::{self, Csp};
use crate::errors::{CliError, CliResult};
use crate::style;

/// Tries of a PIN or PUK.
#[derive(Debug, Serialize)]
pub struct Tries {
    /// Tries left, when the card says without spending one.
    pub remaining: Option<u8>,
    /// Tries in all (GET METADATA).
    pub total: Option<u8>,
    /// Still the factory value (GET METADATA).
    pub default: Option<bool>,
}

/// The management key.
#[derive(Debug, Serialize)]
pub struct ManagementKeyInfo {
    /// `3DES`, `AES-192`, …
    pub algorithm: Option<String>,
    /// Still the factory key.
    pub default: Option<bool>,
    /// PIN-protected (Yubico admin data flag).
    pub pin_protected: bool,
    /// Touch policy.
    pub touch_policy: Option<String>,
}

/// A certificate's names and validity.
#[derive(Debug, Serialize)]
pub struct CertificateInfo {
    /// Subject (RFC 4514).
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Not before.
    pub not_before: String,
    /// Not after.
    pub not_after: String,
    /// Stored gzip-compressed.
    pub compressed: bool,
    /// DER length.
    pub length: usize,
}

/// One slot.
#[derive(Debug, Serialize)]
pub struct SlotInfo {
    /// `9A`, `82`, …
    pub slot: String,
    /// Its PIV name.
    pub name: String,
    /// Key algorithm.
    pub algorithm: Option<String>,
    /// PIN policy.
    pub pin_policy: Option<String>,
    /// Touch policy.
    pub touch_policy: Option<String>,
    /// `generated` or `imported`.
    pub origin: Option<String>,
    /// The certificate.
    pub certificate: Option<CertificateInfo>,
    /// Why the certificate object could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_error: Option<String>,
}

/// Everything `tessera info` shows.
#[derive(Debug, Serialize)]
pub struct CardInfo {
    /// Where the card is.
    pub card: String,
    /// ATR, hex.
    pub atr: String,
    /// Firmware version (YubiKey GET VERSION).
    pub version: Option<String>,
    /// Serial number (YubiKey GET SERIAL).
    pub serial: Option<u32>,
    /// The CHUID's GUID, hex.
    pub chuid_guid: Option<String>,
    /// PIN tries.
    pub pin: Tries,
    /// PUK tries.
    pub puk: Tries,
    /// The management key.
    pub management_key: ManagementKeyInfo,
    /// Slots that hold a key or a certificate.
    pub slots: Vec<SlotInfo>,
}

/// Runs `tessera info`.
pub fn run(args: &InfoArgs) -> CliResult<()> {
    let card = Card::open(
        &CardSource::from_options(args.card.virtual_file.as_deref(), args.card.reader.as_deref()),
        false,
    )?;
    if args.windows {
        let view = windows_view(&card)?;
        if args.json {
            println!("{}", to_json(&view)?);
        } else {
            print!("{}", windows_text(&view));
        }
        return Ok(());
    }
    let mut session = card.session()?;
    let info = gather(&card, &mut session)?;
    if args.json {
        println!("{}", to_json(&info)?);
    } else {
        print!("{}", text(&info));
    }
    Ok(())
}

fn to_json(v: &impl Serialize) -> CliResult<String> {
    serde_json::to_string_pretty(v).map_err(|e| CliError::Failed(e.to_string()))
}

fn policy_name<T: std::fmt::Debug>(p: T) -> String {
    format!("{p:?}").to_lowercase()
}

fn algorithm_name(a: tessera_piv::AlgorithmId) -> String {
    a.name().map_or_else(|| format!("0x{:02X}", a.0), str::to_owned)
}

/// Reads what `tessera info` shows.
pub fn gather(card: &Card, session: &mut CardSession) -> CliResult<CardInfo> {
    let version = session.get_version().ok();
    let serial = session.get_serial().ok();
    let chuid_guid = session
        .get_data(tags::CHUID)
        .ok()
        .flatten()
        .and_then(|b| Chuid::try_from(b.as_slice()).ok())
        .map(|c| hex::encode(c.guid));
    let pin_meta = session.get_metadata(KeyRef::PIN).ok().flatten();
    let puk_meta = session.get_metadata(KeyRef::PUK).ok().flatten();
    let pin_remaining = match pin_meta.as_ref().and_then(|m| m.retries) {
        Some((_, remaining)) => Some(remaining),
        None => match session.pin_status(KeyRef::PIN) {
            Ok(PinStatus::NotVerified { retries }) => Some(retries),
            Ok(PinStatus::Blocked) => Some(0),
            _ => None,
        },
    };
    let mgm_meta = session.get_metadata(KeyRef::MANAGEMENT).ok().flatten();
    let protected = admin::admin_data(session).is_some_and(|a| a.management_key_protected());
    let mut slots = Vec::new();
    for slot in KeyRef::user_key_slots() {
        let meta = session.get_metadata(slot).ok().flatten();
        let stored = match slot.certificate_object().map(|tag| session.get_data(tag)) {
            Some(Ok(Some(content))) => CertificateObject::parse_present(&content).map_err(|e| e.to_string()),
            Some(Err(e)) if e.is_reset_or_removed() => {
                return Err(CliError::from_piv(e, crate::errors::Secret::Pin));
            }
            _ => Ok(None),
        };
        let (certificate, certificate_error, certificate_algorithm) = match stored {
            Ok(Some(object)) => {
                let algorithm = tessera_conformance::fixture::certificate_key(&object.certificate)
                    .map(|(k, _)| k.algorithm());
                let compressed = object.compression != tessera_piv::objects::Compression::None;
                match certificate_info(&object.certificate, compressed) {
                    Ok(info) => (Some(info), None, algorithm),
                    Err(e) => (None, Some(e), algorithm),
                }
            }
            Ok(None) => (None, None, None),
            Err(e) => (None, Some(e), None),
        };
        if meta.is_none() && certificate.is_none() && certificate_error.is_none() {
            continue;
        }
        slots.push(SlotInfo {
            slot: format!("{slot}"),
            name: slot.name(),
            algorithm: meta
                .as_ref()
                .and_then(|m| m.algorithm)
                .or(certificate_algorithm)
                .map(algorithm_name),
            pin_policy: meta.as_ref().and_then(|m| m.pin_policy).map(policy_name),
            touch_policy: meta.as_ref().and_then(|m| m.touch_policy).map(policy_name),
            origin: meta.as_ref().and_then(|m| m.origin).map(|o| match o {
                KeyOrigin::Generated => "generated".to_owned(),
                KeyOrigin::Imported => "imported".to_owned(),
            }),
            certificate,
            certificate_error,
        });
    }
    Ok(CardInfo {
        card: card.label().to_owned(),
        atr: hex::encode_upper(card.atr()),
        version: version.map(|v| v.to_string()),
        serial,
        chuid_guid,
        pin: Tries {
            remaining: pin_remaining,
            total: pin_meta.as_ref().and_then(|m| m.retries).map(|r| r.0),
            default: pin_meta.as_ref().and_then(|m| m.is_default),
        },
        puk: Tries {
            remaining: puk_meta.as_ref().and_then(|m| m.retries).map(|r| r.1),
            total: puk_meta.as_ref().and_then(|m| m.retries).map(|r| r.0),
            default: puk_meta.as_ref().and_then(|m| m.is_default),
        },
        management_key: ManagementKeyInfo {
            algorithm: mgm_meta.as_ref().and_then(|m| m.algorithm).map(algorithm_name),
            default: mgm_meta.as_ref().and_then(|m| m.is_default),
            pin_protected: protected,
            touch_policy: mgm_meta.as_ref().and_then(|m| m.touch_policy).map(policy_name),
        },
        slots,
    })
}

/// Subject, issuer and validity of a DER certificate.
pub fn certificate_info(der: &[u8], compressed: bool) -> Result<CertificateInfo, String> {
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| e.to_string())?;
    let tbs = cert.tbs_certificate();
    Ok(CertificateInfo {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        not_before: tbs.validity().not_before.to_string(),
        not_after: tbs.validity().not_after.to_string(),
        compressed,
        length: der.len(),
    })
}

fn or_unknown<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "unknown".into(), |v| v.to_string())
}

fn tries_text(t: &Tries) -> String {
    let mut s = match (t.remaining, t.total) {
        (Some(0), _) => style::bad("blocked"),
        (Some(r), Some(total)) => format!("{r} of {total} tries left"),
        (Some(r), None) => format!("{r} tries left"),
        (None, _) => "unknown (the card does not tell without spending a try)".into(),
    };
    if t.default == Some(true) {
        s.push_str(&format!(", {}", style::warn("factory default")));
    }
    s
}

fn text(info: &CardInfo) -> String {
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: String| out.push_str(&format!("{:<16} {v}\n", format!("{k}:")));
    line(&mut out, "Card", info.card.clone());
    line(&mut out, "ATR", info.atr.clone());
    line(&mut out, "Version", or_unknown(info.version.as_ref()));
    line(&mut out, "Serial", or_unknown(info.serial));
    line(&mut out, "CHUID GUID", or_unknown(info.chuid_guid.as_ref()));
    line(&mut out, "PIN", tries_text(&info.pin));
    line(&mut out, "PUK", tries_text(&info.puk));
    let m = &info.management_key;
    let mut mgm = or_unknown(m.algorithm.as_ref());
    if m.default == Some(true) {
        mgm.push_str(&format!(", {}", style::warn("factory default")));
    } else if m.default == Some(false) {
        mgm.push_str(", changed from the factory default");
    }
    if m.pin_protected {
        mgm.push_str(", PIN-protected");
    }
    if let Some(t) = &m.touch_policy {
        mgm.push_str(&format!(", touch {t}"));
    }
    line(&mut out, "Management key", mgm);
    out.push('\n');
    if info.slots.is_empty() {
        out.push_str("No slot holds a key or a certificate.\n");
        return out;
    }
    let rows: Vec<Vec<String>> = info
        .slots
        .iter()
        .map(|s| {
            let (subject, issuer, validity) = match &s.certificate {
                Some(c) => (
                    c.subject.clone(),
                    c.issuer.clone(),
                    format!("{} – {}", c.not_before, c.not_after),
                ),
                None => (
                    s.certificate_error
                        .as_ref()
                        .map_or_else(|| "-".into(), |e| style::bad(&format!("unreadable: {e}"))),
                    "-".into(),
                    "-".into(),
                ),
            };
            vec![
                s.slot.clone(),
                or_unknown(s.algorithm.as_ref()),
                or_unknown(s.pin_policy.as_ref()),
                or_unknown(s.touch_policy.as_ref()),
                or_unknown(s.origin.as_ref()),
                subject,
                issuer,
                validity,
            ]
        })
        .collect();
    out.push_str(&style::table(
        &[
            "slot",
            "algorithm",
            "PIN",
            "touch",
            "origin",
            "subject",
            "issuer",
            "valid",
        ],
        &rows,
    ));
    out
}

/// One container of the Windows view.
#[derive(Debug, Serialize)]
pub struct WindowsContainer {
    /// Container index.
    pub index: u8,
    /// Container name (cmapfile `wszGuid`).
    pub name: Option<String>,
    /// `AT_*`.
    pub key_spec: String,
    /// Key size.
    pub key_bits: u16,
    /// The default container.
    pub default: bool,
    /// `CCP_PIN_IDENTIFIER`.
    pub pin_id: Option<u32>,
    /// `CCP_ASSOCIATED_ECDH_KEY`.
    pub associated_ecdh: Option<u8>,
    /// The certificate file and its subject.
    pub certificate_file: Option<String>,
    /// Subject of that certificate.
    pub certificate_subject: Option<String>,
}

/// What Windows will see.
#[derive(Debug, Serialize)]
pub struct WindowsView {
    /// Where the card is.
    pub card: String,
    /// `cardid`, hex.
    pub cardid: String,
    /// `cardcf`, hex.
    pub cardcf: String,
    /// `cardapps`.
    pub cardapps: String,
    /// `mscp/cmapfile`, hex.
    pub cmapfile: String,
    /// The containers.
    pub containers: Vec<WindowsContainer>,
    /// `CP_CARD_READ_ONLY`.
    pub read_only: Option<u32>,
    /// `CP_CARD_CACHE_MODE` (1 global, 2 session only, 3 no cache).
    pub cache_mode: Option<u32>,
    /// `CP_SUPPORTS_WIN_X509_ENROLLMENT`.
    pub x509_enrollment: Option<u32>,
    /// `CP_CARD_SERIAL_NO`, hex.
    pub serial_number: Option<String>,
    /// Files in `mscp` (`CardEnumFiles`).
    pub mscp_files: Vec<String>,
}

fn windows_view(card: &Card) -> CliResult<WindowsView> {
    let csp = Csp::acquire(card)?;
    let cardid = csp.read(None, "cardid")?;
    let cardcf = csp.read(None, "cardcf")?;
    let cardapps = csp.read(None, "cardapps")?;
    let (cmapfile, _) = csp.cmapfile()?;
    let containers = csp
        .containers()?
        .into_iter()
        .map(|c| {
            let spec = c.key_spec();
            WindowsContainer {
                index: c.record.index,
                name: c.record.name.clone(),
                key_spec: spec.map_or("none".into(), |s| csp::key_spec_name(s).to_owned()),
                key_bits: c.record.sig_bits.max(c.record.kx_bits),
                default: c.is_default(),
                pin_id: c.pin_id,
                associated_ecdh: c.associated_ecdh,
                certificate_subject: c
                    .certificate
                    .as_ref()
                    .and_then(|(_, der)| certificate_info(der, false).ok())
                    .map(|i| i.subject),
                certificate_file: c.certificate.map(|(f, _)| f),
            }
        })
        .collect();
    let dword = |name: &str| {
        csp.property(name)
            .and_then(|v| blobs::dwords(&v).first().copied())
    };
    let files = csp
        .ctx
        .call()
        .enum_files(tessera_conformance::ffi::calls::FileArgs {
            dir: Some(b"mscp"),
            file: None,
            flags: 0,
            null_data: false,
            null_len: false,
        });
    let mscp_files = files
        .value
        .map(|v| {
            v.split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default();
    Ok(WindowsView {
        card: card.label().to_owned(),
        cardid: hex::encode(cardid),
        cardcf: hex::encode(cardcf),
        cardapps: String::from_utf8_lossy(&cardapps)
            .trim_end_matches('\0')
            .to_owned(),
        cmapfile: hex::encode(cmapfile),
        containers,
        read_only: dword("Read Only Mode"),
        cache_mode: dword("Cache Mode"),
        x509_enrollment: dword("Supports Windows x.509 Enrollment"),
        serial_number: csp.property("Card Serial Number").map(hex::encode),
        mscp_files,
    })
}

fn pin_name(id: Option<u32>) -> String {
    match id {
        Some(0) => "0 (everyone: no PIN)".into(),
        Some(1) => "1 (user PIN)".into(),
        Some(3) => "3 (PIN, always asked)".into(),
        Some(other) => other.to_string(),
        None => "?".into(),
    }
}

fn windows_text(v: &WindowsView) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "What Windows' Base CSP and Smart Card KSP see through Tessera's card module ({}):\n\n",
        v.card
    ));
    let line =
        |out: &mut String, k: &str, val: String| out.push_str(&format!("{:<22} {val}\n", format!("{k}:")));
    line(&mut out, "cardid", v.cardid.clone());
    line(&mut out, "cardcf", v.cardcf.clone());
    line(&mut out, "cardapps", v.cardapps.clone());
    line(&mut out, "mscp files", v.mscp_files.join(" "));
    line(
        &mut out,
        "read-only",
        v.read_only
            .map_or("?".into(), |r| if r != 0 { "yes".into() } else { "no".into() }),
    );
    line(
        &mut out,
        "cache mode",
        match v.cache_mode {
            Some(1) => "global (Tessera keeps cardcf on the card)".into(),
            Some(2) => "session only".into(),
            Some(3) => "no cache".into(),
            other => or_unknown(other),
        },
    );
    line(
        &mut out,
        "Windows x.509 enrollment",
        v.x509_enrollment
            .map_or("?".into(), |r| if r != 0 { "yes".into() } else { "no".into() }),
    );
    line(&mut out, "serial number", or_unknown(v.serial_number.as_ref()));
    out.push('\n');
    if v.containers.is_empty() {
        out.push_str("No containers: Windows sees no key on this card.\n");
    } else {
        let rows: Vec<Vec<String>> = v
            .containers
            .iter()
            .map(|c| {
                vec![
                    c.index.to_string(),
                    c.name.clone().unwrap_or_else(|| "?".into()),
                    c.key_spec.clone(),
                    c.key_bits.to_string(),
                    if c.default {
                        "default".into()
                    } else {
                        String::new()
                    },
                    pin_name(c.pin_id),
                    c.associated_ecdh.map_or_else(String::new, |i| i.to_string()),
                    match (&c.certificate_file, &c.certificate_subject) {
                        (Some(f), Some(s)) => format!("{f}: {s}"),
                        (Some(f), None) => f.clone(),
                        _ => "-".into(),
                    },
                ]
            })
            .collect();
        out.push_str(&style::table(
            &[
                "#",
                "container name",
                "key spec",
                "bits",
                "",
                "PIN",
                "ECDH twin",
                "certificate",
            ],
            &rows,
        ));
    }
    let records: Vec<&[u8]> = v.cmapfile.as_bytes().chunks(86 * 2).collect();
    out.push_str(&format!(
        "\ncmapfile: {} bytes, {} records of 86 bytes; the records in use:\n",
        v.cmapfile.len() / 2,
        records.len()
    ));
    for (i, record) in records.iter().enumerate() {
        if record.iter().any(|&c| c != b'0') {
            out.push_str(&format!("  [{i:>2}] {}\n", String::from_utf8_lossy(record)));
        }
    }
    out
}

/// The public key of a slot, from GET METADATA or its certificate.
pub fn slot_public_key(session: &mut CardSession, slot: KeyRef) -> CliResult<Option<PublicKey>> {
    if let Some(key) = session
        .get_metadata(slot)
        .map_err(|e| CliError::from_piv(e, crate::errors::Secret::Pin))?
        .and_then(|m| m.public_key)
    {
        return Ok(Some(key));
    }
    let Some(tag) = slot.certificate_object() else {
        return Ok(None);
    };
    let Some(content) = session
        .get_data(tag)
        .map_err(|e| CliError::from_piv(e, crate::errors::Secret::Pin))?
    else {
        return Ok(None);
    };
    Ok(CertificateObject::parse_present(&content)
        .ok()
        .flatten()
        .and_then(|o| tessera_conformance::fixture::certificate_key(&o.certificate))
        .map(|(k, _)| k))
}
