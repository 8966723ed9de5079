//! The Base CSP as the bench plays it: the conformance harness's `CARD_DATA` callbacks and data cache,
//! Tessera's module linked in, and the CSP's side of the cache protocol (Minidriver Specification 7.07
//! §2.4 and §6.3):
//!
//! * after `CardAcquireContext` it asks `CP_CARD_CACHE_MODE` and honours it: `GLOBAL` keeps the cache
//!   for every context and process on this machine, `SESSION_ONLY` for this process only, `NO_CACHE`
//!   caches nothing;
//! * every transaction starts with `cardid` and `cardcf` read from the module (never from the cache);
//!   when either differs from what the cache was filled under, the whole cache (the CSP's entries and
//!   the module's own, `pfnCspCacheAddFile`) is dropped;
//! * files read through `CardReadFile` (`mscp/cmapfile`, certificates) are kept in the cache and served
//!   from it while the freshness holds; container information is asked of the module each time;
//! * files the CSP writes itself go to the module and into its cache, with `cardcf` bumped as it does.
//!
//! Each call into the module is recorded with what it cost: APDUs, bytes, and the module's own time
//! (the call's duration less the time spent inside the transport).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tessera_conformance::codes::{self, SCARD_S_SUCCESS};
use tessera_conformance::ffi::cache::DataCache;
use tessera_conformance::ffi::calls::{AcquireSpec, Context, FileArgs, Reply};
use tessera_conformance::ffi::module::Module;

use super::meter::{Meter, Metered, Reading};
use crate::card::Card;

/// Whether the CSP hands the module the card's ATR with the extended-length announcement taken out
/// (`tessera bench --short-apdus`): one setting for the whole bench and its second process.
static SHORT_APDUS: AtomicBool = AtomicBool::new(false);

/// Makes every later `CardAcquireContext` of this process see an ATR that announces no extended length.
pub fn announce_short_apdus_only() {
    SHORT_APDUS.store(true, Ordering::Relaxed);
}

/// Whether [`announce_short_apdus_only`] was called.
pub fn short_apdus_only() -> bool {
    SHORT_APDUS.load(Ordering::Relaxed)
}

/// The ATR the CSP hands the module for `card`.
fn atr_for_module(card: &Card) -> Vec<u8> {
    if short_apdus_only() {
        tessera_piv::atr::without_extended_length(card.atr())
    } else {
        card.atr().to_vec()
    }
}

/// Prefix of the CSP's own cache entries (the module's entries have tags of its choosing).
const CSP_TAG: &str = "csp:";

/// `CP_CARD_CACHE_MODE` as the module answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CacheMode {
    /// `CP_CACHE_MODE_GLOBAL_CACHE`: one cache for every process.
    Global,
    /// `CP_CACHE_MODE_SESSION_ONLY`: a cache per process.
    SessionOnly,
    /// `CP_CACHE_MODE_NO_CACHE`.
    NoCache,
}

impl CacheMode {
    fn from_dword(v: u32) -> Option<Self> {
        match v {
            1 => Some(Self::Global),
            2 => Some(Self::SessionOnly),
            3 => Some(Self::NoCache),
            _ => None,
        }
    }

    /// The constant's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "CP_CACHE_MODE_GLOBAL_CACHE",
            Self::SessionOnly => "CP_CACHE_MODE_SESSION_ONLY",
            Self::NoCache => "CP_CACHE_MODE_NO_CACHE",
        }
    }

    fn caches(self) -> bool {
        !matches!(self, Self::NoCache)
    }
}

/// One call the CSP made, and what it cost.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CallRecord {
    /// The entry point and its arguments, as a label (`CardReadFile(mscp/cmapfile)`).
    pub call: String,
    /// The code returned (0 for an answer from the CSP's cache).
    pub code: u32,
    /// True when the CSP answered from its cache without calling the module.
    pub from_cache: bool,
    /// APDUs, bytes and time inside the transport.
    pub cost: Reading,
    /// The call's duration less the time inside the transport: the module's own work (with the
    /// harness's marshalling of the call, a microsecond or two).
    pub module_time: Duration,
}

/// Records the calls of one scenario run.
pub struct Recorder {
    meter: Arc<Meter>,
    /// The calls, in order.
    pub calls: Vec<CallRecord>,
}

impl Recorder {
    /// A recorder reading `meter`.
    pub fn new(meter: &Arc<Meter>) -> Self {
        Self {
            meter: Arc::clone(meter),
            calls: Vec::new(),
        }
    }

    /// Runs `f` (one call into the module) and records it under `call` with the code `code` gives.
    pub fn measure<R>(
        &mut self,
        call: impl Into<String>,
        f: impl FnOnce() -> R,
        code: impl Fn(&R) -> u32,
    ) -> R {
        let before = self.meter.read();
        let started = Instant::now();
        let result = f();
        let elapsed = started.elapsed();
        let cost = self.meter.read().since(before);
        self.calls.push(CallRecord {
            call: call.into(),
            code: code(&result),
            from_cache: false,
            cost,
            module_time: elapsed.saturating_sub(cost.card_time),
        });
        result
    }

    /// [`measure`](Self::measure) for a call that returns a [`Reply`].
    pub fn reply<T>(&mut self, call: impl Into<String>, f: impl FnOnce() -> Reply<T>) -> Reply<T> {
        self.measure(call, f, |r| r.code)
    }

    /// Records an answer the CSP gave from its cache.
    pub fn answered_from_cache(&mut self, call: impl Into<String>) {
        self.calls.push(CallRecord {
            call: call.into(),
            code: SCARD_S_SUCCESS,
            from_cache: true,
            cost: Reading::default(),
            module_time: Duration::ZERO,
        });
    }
}

/// Why a scenario could not go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Stop {
    /// The module does not offer what the scenario needs (yet): `SCARD_E_UNSUPPORTED_FEATURE`.
    Unavailable(String),
    /// A call failed or a check did not hold.
    Failed(String),
}

impl Stop {
    /// A failed call.
    pub fn code(what: &str, code: u32) -> Self {
        if code == codes::SCARD_E_UNSUPPORTED_FEATURE {
            Self::Unavailable(format!("{what} answered SCARD_E_UNSUPPORTED_FEATURE"))
        } else {
            Self::Failed(format!("{what} returned {}", codes::name(code)))
        }
    }
}

/// The value of a successful reply, or why not.
pub fn ok<T>(what: &str, r: Reply<T>) -> Result<T, Stop> {
    if let Some(problem) = r.problems.first() {
        return Err(Stop::Failed(format!("{what}: {problem}")));
    }
    match (r.code, r.value) {
        (SCARD_S_SUCCESS, Some(v)) => Ok(v),
        (SCARD_S_SUCCESS, None) => Err(Stop::Failed(format!("{what} succeeded without a value"))),
        (code, _) => Err(Stop::code(what, code)),
    }
}

/// `cardid` and `cardcf`, as read at the start of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Freshness {
    /// `cardid`.
    pub card_id: Vec<u8>,
    /// `cardcf`.
    pub cardcf: Vec<u8>,
}

/// What a CSP cache holds, to hand it to another process (the global cache outlives processes).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct CacheSnapshot {
    /// The freshness the entries were filled under.
    pub freshness: Option<Freshness>,
    /// Tag → content (hex).
    pub entries: Vec<(String, String)>,
}

/// Fake handles for the linked-in module: non-zero and distinct per context.
fn next_handle() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0x7E55_0000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The Base CSP of one process.
pub struct BaseCsp {
    module: Arc<Module>,
    meter: Arc<Meter>,
    cache: Arc<DataCache>,
    mode: Option<CacheMode>,
    freshness: Option<Freshness>,
}

impl BaseCsp {
    /// A CSP with an empty cache, metering into `meter`.
    pub fn new(meter: &Arc<Meter>) -> Self {
        Self {
            module: Arc::new(Module::builtin()),
            meter: Arc::clone(meter),
            cache: DataCache::new(),
            mode: None,
            freshness: None,
        }
    }

    /// Forgets everything cached (a machine where the card was never seen).
    pub fn empty_cache(&mut self) {
        self.cache = DataCache::new();
        self.freshness = None;
    }

    /// The cache mode the module reported, once a context was opened.
    pub fn mode(&self) -> Option<CacheMode> {
        self.mode
    }

    /// How many entries the cache holds: the CSP's own, and the module's.
    pub fn entries(&self) -> (usize, usize) {
        let tags = self.cache.tags();
        let own = tags.iter().filter(|t| t.starts_with(CSP_TAG)).count();
        (own, tags.len() - own)
    }

    /// The cache as another process would find it: everything under `GLOBAL`, nothing otherwise.
    pub fn snapshot_for_another_process(&self) -> CacheSnapshot {
        if self.mode != Some(CacheMode::Global) {
            return CacheSnapshot::default();
        }
        CacheSnapshot {
            freshness: self.freshness.clone(),
            entries: self
                .cache
                .tags()
                .into_iter()
                .filter_map(|tag| self.cache.get(&tag).map(|data| (tag, hex::encode(data))))
                .collect(),
        }
    }

    /// Fills the cache from `snapshot` (what the global cache holds when this process starts).
    pub fn restore(&mut self, snapshot: &CacheSnapshot) {
        self.empty_cache();
        if let Some(f) = &snapshot.freshness {
            self.cache.begin_transaction(&f.card_id, &f.cardcf);
            self.freshness = Some(f.clone());
        }
        for (tag, data) in &snapshot.entries {
            if let Ok(bytes) = hex::decode(data) {
                self.cache.insert(tag, &bytes);
            }
        }
    }

    /// `CardAcquireContext` on a new connection to `card`, then `CardGetProperty(CP_CARD_CACHE_MODE)`.
    pub fn open(&mut self, card: &Card, rec: &mut Recorder) -> Result<Context, Stop> {
        let transport = card
            .transport()
            .map_err(|e| Stop::Failed(format!("connecting to the card: {e}")))?;
        let transport = Box::new(Metered::new(transport, &self.meter));
        let spec = AcquireSpec {
            atr: Some(atr_for_module(card)),
            name: Some("Tessera PIV".into()),
            context_handle: next_handle(),
            card_handle: next_handle(),
            ..AcquireSpec::default()
        };
        let (module, cache) = (&self.module, &self.cache);
        let ctx = rec.measure(
            "CardAcquireContext",
            || Context::acquire(module, &spec, cache, Some(transport)),
            |c| c.acquire_code,
        );
        if ctx.acquire_code != SCARD_S_SUCCESS {
            return Err(Stop::code("CardAcquireContext", ctx.acquire_code));
        }
        let r = rec.reply("CardGetProperty(CP_CARD_CACHE_MODE)", || {
            ctx.call().get_property(Some("Cache Mode"), 4, 0, false, false)
        });
        let value = ok("CardGetProperty(CP_CARD_CACHE_MODE)", r)?;
        let dword = value
            .data
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes);
        self.mode = Some(
            dword
                .and_then(CacheMode::from_dword)
                .ok_or_else(|| Stop::Failed(format!("CP_CARD_CACHE_MODE is {dword:?}")))?,
        );
        Ok(ctx)
    }

    /// The start of a transaction: `cardid` and `cardcf` from the module, and the cache dropped when
    /// they changed (or always, under `NO_CACHE`).
    pub fn begin_transaction(&mut self, ctx: &Context, rec: &mut Recorder) -> Result<Freshness, Stop> {
        let card_id = ok(
            "CardReadFile(cardid)",
            rec.reply("CardReadFile(cardid)", || ctx.call().read(None, "cardid")),
        )?;
        let cardcf = ok(
            "CardReadFile(cardcf)",
            rec.reply("CardReadFile(cardcf)", || ctx.call().read(None, "cardcf")),
        )?;
        let now = Freshness { card_id, cardcf };
        if self.mode.is_some_and(CacheMode::caches) {
            self.cache.begin_transaction(&now.card_id, &now.cardcf);
        } else {
            // Nothing survives a transaction: drop the entries by changing the key twice.
            self.cache.begin_transaction(&[], &[]);
            self.cache.begin_transaction(&now.card_id, &now.cardcf);
        }
        self.freshness = Some(now.clone());
        Ok(now)
    }

    /// `CardReadFile(dir/file)`, answered from the cache when the CSP has it.
    pub fn read_file(
        &self,
        ctx: &Context,
        rec: &mut Recorder,
        dir: Option<&str>,
        file: &str,
    ) -> Result<Vec<u8>, Stop> {
        let path = dir.map_or_else(|| file.to_owned(), |d| format!("{d}/{file}"));
        let label = format!("CardReadFile({path})");
        let tag = format!("{CSP_TAG}{path}");
        let caching = self.mode.is_some_and(CacheMode::caches);
        if caching && let Some(data) = self.cache.get(&tag) {
            rec.answered_from_cache(label);
            return Ok(data);
        }
        let data = ok(&label, rec.reply(&label, || ctx.call().read(dir, file)))?;
        if caching {
            self.cache.insert(&tag, &data);
        }
        Ok(data)
    }

    /// `CardWriteFile(dir/file)` through the module; the CSP keeps what it wrote.
    pub fn write_file(
        &self,
        ctx: &Context,
        rec: &mut Recorder,
        dir: Option<&str>,
        file: &str,
        data: &[u8],
    ) -> Result<(), Stop> {
        let path = dir.map_or_else(|| file.to_owned(), |d| format!("{d}/{file}"));
        let label = format!("CardWriteFile({path}, {} bytes)", data.len());
        let args = FileArgs {
            dir: dir.map(str::as_bytes),
            file: Some(file.as_bytes()),
            ..FileArgs::default()
        };
        let r = rec.reply(&label, || ctx.call().write_file(args, Some(data)));
        if r.code != SCARD_S_SUCCESS {
            return Err(Stop::code(&label, r.code));
        }
        if self.mode.is_some_and(CacheMode::caches) && path != "cardcf" {
            self.cache.insert(&format!("{CSP_TAG}{path}"), data);
        }
        Ok(())
    }

    /// After the CSP wrote `cardcf` itself: the cache moves to the new freshness with the CSP's own
    /// entries (what it wrote and read) and without the module's, which described the card before.
    pub fn adopt_cardcf(&mut self, cardcf: &[u8]) {
        let Some(old) = self.freshness.clone() else {
            return;
        };
        let own: Vec<(String, Vec<u8>)> = self
            .cache
            .tags()
            .into_iter()
            .filter(|t| t.starts_with(CSP_TAG))
            .filter_map(|t| self.cache.get(&t).map(|d| (t, d)))
            .collect();
        self.cache.begin_transaction(&old.card_id, cardcf);
        for (tag, data) in own {
            self.cache.insert(&tag, &data);
        }
        self.freshness = Some(Freshness {
            card_id: old.card_id,
            cardcf: cardcf.to_vec(),
        });
    }

    /// Deletes the context (no card I/O), recorded.
    pub fn close(&self, mut ctx: Context, rec: &mut Recorder) {
        rec.measure("CardDeleteContext", || ctx.delete(), |&code| code);
    }
}
