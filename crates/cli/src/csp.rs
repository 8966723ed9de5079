//! The Base CSP's side, borrowed from the conformance harness: a `CARD_DATA` with the CSP's callbacks
//! (allocator, data cache following the cardcf protocol, padding), Tessera's card module linked in and
//! acquired through `CardAcquireContext` exactly as the CSP acquires a DLL's, and the card behind it
//! in-process. Used by `tessera demo` and `tessera info --windows`.

use std::sync::{Arc, MutexGuard};

use tessera_conformance::blobs::{self, CmapRecord};
use tessera_conformance::codes;
use tessera_conformance::ffi::alloc;
use tessera_conformance::ffi::cache::DataCache;
use tessera_conformance::ffi::calls::{AcquireSpec, Context, StructArg};
use tessera_conformance::ffi::module::Module;

use crate::card::Card;
use crate::errors::{CliError, CliResult};

/// An acquired context of the linked-in module.
pub struct Csp {
    /// The context (deleted on drop, before the allocator lock is released).
    pub ctx: Context,
    _exclusive: MutexGuard<'static, ()>,
}

/// One container as the CSP learns it: its cmapfile record, `CardGetContainerInfo`, its PIN and its
/// certificate file.
#[derive(Debug, Clone)]
pub struct CspContainer {
    /// The cmapfile record.
    pub record: CmapRecord,
    /// Signature key blob (`ECS1`/`ECS3`/`RSA1`).
    pub signature_key: Option<Vec<u8>>,
    /// Exchange key blob.
    pub exchange_key: Option<Vec<u8>>,
    /// `CCP_PIN_IDENTIFIER`.
    pub pin_id: Option<u32>,
    /// `CCP_ASSOCIATED_ECDH_KEY`.
    pub associated_ecdh: Option<u8>,
    /// `mscp/kxcNN` or `kscNN` with its content, when the module has one.
    pub certificate: Option<(String, Vec<u8>)>,
}

impl CspContainer {
    /// The key spec the blobs say: `AT_KEYEXCHANGE` (1), `AT_SIGNATURE` (2), ECDSA (3/4), ECDH (6/7).
    pub fn key_spec(&self) -> Option<u32> {
        if let Some(blob) = &self.exchange_key {
            return Some(match blobs::parse_ecc_blob(blob).map(|b| b.magic) {
                Ok(blobs::ECDH_P256) => 6,
                Ok(blobs::ECDH_P384) => 7,
                _ => 1,
            });
        }
        let blob = self.signature_key.as_ref()?;
        Some(match blobs::parse_ecc_blob(blob).map(|b| b.magic) {
            Ok(blobs::ECDSA_P256) => 3,
            Ok(blobs::ECDSA_P384) => 4,
            _ => 2,
        })
    }

    /// True for the default container.
    pub fn is_default(&self) -> bool {
        self.record.flags & blobs::CMAP_DEFAULT != 0
    }
}

/// A key spec's name.
pub fn key_spec_name(spec: u32) -> &'static str {
    match spec {
        1 => "AT_KEYEXCHANGE",
        2 => "AT_SIGNATURE",
        3 => "AT_ECDSA_P256",
        4 => "AT_ECDSA_P384",
        6 => "AT_ECDHE_P256",
        7 => "AT_ECDHE_P384",
        _ => "unknown",
    }
}

impl Csp {
    /// `CardAcquireContext` (v7, every CSP callback) on a new connection to `card`.
    pub fn acquire(card: &Card) -> CliResult<Self> {
        Self::acquire_from(card, Module::builtin())
    }

    /// [`Csp::acquire`] with the module's write policy given instead of read from the settings.
    pub fn acquire_with_policy(card: &Card, policy: tessera_minidriver::WritePolicy) -> CliResult<Self> {
        Self::acquire_from(card, Module::builtin_with_policy(policy))
    }

    fn acquire_from(card: &Card, module: Module) -> CliResult<Self> {
        let exclusive = alloc::exclusive();
        let module = Arc::new(module);
        let cache = DataCache::new();
        let spec = AcquireSpec {
            atr: Some(card.atr().to_vec()),
            name: Some("Tessera PIV".into()),
            // Any non-zero values: the linked-in module reaches the card through the transport.
            context_handle: 0x7E55_0001,
            card_handle: 0x7E55_0002,
            ..AcquireSpec::default()
        };
        let ctx = Context::acquire(&module, &spec, &cache, Some(card.transport()?));
        match ctx.acquire_code {
            0 => Ok(Self {
                ctx,
                _exclusive: exclusive,
            }),
            codes::SCARD_E_UNKNOWN_CARD => Err(CliError::NoPiv(format!(
                "the card module does not take the card in {} (SCARD_E_UNKNOWN_CARD: no PIV application)",
                card.label()
            ))),
            code => Err(CliError::Card(format!(
                "CardAcquireContext returned {}",
                codes::name(code)
            ))),
        }
    }

    /// `CardReadFile(dir, file)`.
    pub fn read(&self, dir: Option<&str>, file: &str) -> CliResult<Vec<u8>> {
        let r = self.ctx.call().read(dir, file);
        let path = dir.map_or_else(|| file.to_owned(), |d| format!("{d}/{file}"));
        r.value
            .ok_or_else(|| CliError::Card(format!("CardReadFile({path}) returned {}", codes::name(r.code))))
    }

    /// The cmapfile records.
    pub fn cmapfile(&self) -> CliResult<(Vec<u8>, Vec<CmapRecord>)> {
        let raw = self.read(Some("mscp"), "cmapfile")?;
        let records = blobs::parse_cmapfile(&raw).map_err(CliError::Card)?;
        Ok((raw, records))
    }

    /// Every valid container with what the CSP reads about it.
    pub fn containers(&self) -> CliResult<Vec<CspContainer>> {
        let (_, records) = self.cmapfile()?;
        let mut out = Vec::new();
        for record in records.into_iter().filter(CmapRecord::valid) {
            let index = record.index;
            let info = self.ctx.call().get_container_info(index, 0, StructArg::V1);
            let info = info.value.ok_or_else(|| {
                CliError::Card(format!(
                    "CardGetContainerInfo({index}) returned {}",
                    codes::name(info.code)
                ))
            })?;
            let dword = |name: &str| {
                let r = self
                    .ctx
                    .call()
                    .get_container_property(index, Some(name), 4, 0, false, false);
                r.value
                    .filter(|_| r.code == 0)
                    .and_then(|v| blobs::dwords(&v.data).first().copied())
            };
            let associated = {
                let r = self.ctx.call().get_container_property(
                    index,
                    Some("Associated ECDH Key"),
                    4,
                    0,
                    false,
                    false,
                );
                r.value
                    .filter(|_| r.code == 0)
                    .and_then(|v| v.data.first().copied())
            };
            let prefix = if info.exchange_key.is_some() { "kxc" } else { "ksc" };
            let file = format!("{prefix}{index:02x}");
            let certificate = self
                .ctx
                .call()
                .read(Some("mscp"), &file)
                .value
                .map(|der| (format!("mscp/{file}"), der));
            out.push(CspContainer {
                pin_id: dword("PIN Identifier"),
                associated_ecdh: associated.filter(|&i| i != 0xFF),
                signature_key: info.signature_key,
                exchange_key: info.exchange_key,
                certificate,
                record,
            });
        }
        Ok(out)
    }

    /// A string property (`CP_*` wide string) or DWORD property, raw.
    pub fn property(&self, name: &str) -> Option<Vec<u8>> {
        let r = self.ctx.call().get_property(Some(name), 512, 0, false, false);
        r.value.filter(|_| r.code == 0).map(|v| v.data)
    }
}
