//! The harness: the module, the card, the fixture and the CSP cache, and the loop that runs named cases
//! and measures each one (code returned vs expected, extra checks, APDUs and bytes, leaks).

use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tessera_pcsc::RawConnection;
use tessera_piv::transport::CountSnapshot;
use tessera_piv::{KeyRef, PinStatus};

use crate::blobs::{self, CmapRecord};
use crate::card::{Binding, CardAccess};
use crate::codes;
use crate::ffi::alloc;
use crate::ffi::cache::DataCache;
use crate::ffi::calls::{AcquireSpec, Context, StructArg};
use crate::ffi::module::Module;
use crate::fixture::{self, Fixture, SlotPlan, SlotState};
use crate::report::{CaseReport, Report, Status};

/// A context together with the PC/SC connection its `hScard` belongs to. The context is deleted before
/// the connection is closed (field order).
pub struct ConnectedContext {
    /// The context.
    pub ctx: Context,
    /// The connection (PC/SC mode).
    pub connection: Option<RawConnection>,
}

impl Deref for ConnectedContext {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

/// A container as found through the module: its cmapfile record, the key blobs of
/// `CardGetContainerInfo`, and the fixture slot whose key it holds.
#[derive(Debug, Clone)]
pub struct Found {
    /// The cmapfile record.
    pub record: CmapRecord,
    /// Signature key blob.
    pub signature_key: Option<Vec<u8>>,
    /// Exchange key blob.
    pub exchange_key: Option<Vec<u8>>,
    /// The provisioned slot with the same public key.
    pub slot: Option<SlotState>,
}

impl Found {
    /// The container index.
    pub fn index(&self) -> u8 {
        self.record.index
    }
}

/// The outcome of one case, filled in by the case.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Expected codes of the case's main call (the first one checked).
    pub expected: Option<Vec<u32>>,
    /// Code the main call returned.
    pub returned: Option<u32>,
    /// Why the case failed (empty = passed).
    pub failures: Vec<String>,
    /// Remarks (spec choices, values seen).
    pub notes: Vec<String>,
    /// Why the case does not apply here.
    pub skipped: Option<String>,
    /// How many expectations the case checked (codes and conditions, passed or failed). A case that
    /// checked none proves nothing and fails.
    pub checks: usize,
}

fn names(codes_: &[u32]) -> String {
    codes_
        .iter()
        .map(|&c| codes::name(c))
        .collect::<Vec<_>>()
        .join(" or ")
}

impl Verdict {
    /// Checks a returned code; the first check of a case is the one the report shows.
    pub fn code(&mut self, what: &str, got: u32, want: &[u32]) -> bool {
        self.checks += 1;
        if self.expected.is_none() {
            self.expected = Some(want.to_vec());
            self.returned = Some(got);
        }
        let ok = want.contains(&got);
        if !ok {
            self.failures.push(format!(
                "{what}: returned {}, expected {}",
                codes::name(got),
                names(want)
            ));
        }
        ok
    }

    /// Checks a reply's code and takes over the ABI problems its wrapper saw.
    pub fn reply<T>(&mut self, what: &str, r: &crate::ffi::calls::Reply<T>, want: &[u32]) -> bool {
        for p in &r.problems {
            self.failures.push(format!("{what}: {p}"));
        }
        self.code(what, r.code, want) && r.problems.is_empty()
    }

    /// Records a failure unless `cond`.
    pub fn check(&mut self, cond: bool, msg: impl FnOnce() -> String) -> bool {
        self.checks += 1;
        if !cond {
            self.failures.push(msg());
        }
        cond
    }

    /// Records a failure.
    pub fn fail(&mut self, msg: impl Into<String>) {
        self.failures.push(msg.into());
    }

    /// Unwraps a setup step, recording its failure.
    pub fn setup<T>(&mut self, what: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.failures.push(format!("setup ({what}): {e}"));
                None
            }
        }
    }

    /// Records a remark.
    pub fn note(&mut self, msg: impl Into<String>) {
        self.notes.push(msg.into());
    }

    /// Marks the case as not applicable.
    pub fn skip(&mut self, why: impl Into<String>) {
        self.skipped = Some(why.into());
    }

    /// The case's status once its body has run. A case that neither checked anything nor was skipped
    /// proves nothing: it fails.
    pub fn conclude(&mut self) -> Status {
        if self.skipped.is_none() && self.failures.is_empty() && self.checks == 0 {
            self.fail("the case checked nothing");
        }
        if self.skipped.is_some() && self.failures.is_empty() {
            Status::Skip
        } else if self.failures.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        }
    }
}

/// The body of a case.
pub type CaseFn = Box<dyn Fn(&Harness, &mut Verdict) + Send + Sync>;

/// A named case.
pub struct CaseDef {
    /// Suite name.
    pub suite: &'static str,
    /// Case name (unique within the suite).
    pub name: String,
    /// The algorithm and operation the case counts for in the per-algorithm summary
    /// (`RSA-2048 sign`), when it exercises one.
    pub algorithm: Option<String>,
    /// The body.
    pub run: CaseFn,
}

impl CaseDef {
    /// Counts the case for `algorithm` in the per-algorithm summary.
    pub fn counted_for(mut self, algorithm: impl Into<String>) -> Self {
        self.algorithm = Some(algorithm.into());
        self
    }
}

/// Makes a case.
pub fn case(
    suite: &'static str,
    name: impl Into<String>,
    run: impl Fn(&Harness, &mut Verdict) + Send + Sync + 'static,
) -> CaseDef {
    CaseDef {
        suite,
        name: name.into(),
        algorithm: None,
        run: Box::new(run),
    }
}

/// The long-lived contexts the cryptographic suites share, as a CSP keeps one context per card for as
/// long as it uses the card: one per way of calling the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `CARD_DATA` v7 with every CSP callback (the KSP's view: it unpads through `pfnCspUnpadData`).
    V7,
    /// `CARD_DATA` v7 with `pfnCspUnpadData` NULL: the module removes decryption padding itself.
    V7NoUnpad,
    /// `CARD_DATA` v6: no unpad callback, `CARD_RSA_DECRYPT_INFO` version 1 allowed.
    V6,
}

/// Everything a case needs.
pub struct Harness {
    /// Shared contexts (deleted before the card connection goes: first field).
    shared: Mutex<Vec<(Profile, ConnectedContext)>>,
    /// The containers as the module lists them, read once.
    found: OnceLock<Result<Vec<Found>, String>>,
    module: Arc<Module>,
    card: CardAccess,
    fixture: Fixture,
    cache: Arc<DataCache>,
    /// Stands for `SCardBeginTransaction` on the in-process card.
    card_lock: Mutex<()>,
    _exclusive: MutexGuard<'static, ()>,
}

/// A card transaction, as the CSP holds one around each call into the module: exclusive use of the card
/// against the other contexts. Ended on drop.
pub struct Transaction<'a> {
    _lock: Option<MutexGuard<'a, ()>>,
    connection: Option<&'a RawConnection>,
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.connection {
            let _ = c.end_transaction();
        }
    }
}

impl Harness {
    /// Begins a transaction on `bound`'s connection (PC/SC), or takes the in-process card's lock.
    pub fn transaction<'a>(&'a self, bound: &'a ConnectedContext) -> Transaction<'a> {
        match &bound.connection {
            Some(c) if c.begin_transaction().is_ok() => Transaction {
                _lock: None,
                connection: Some(c),
            },
            _ => Transaction {
                _lock: Some(self.card_lock.lock().unwrap_or_else(|p| p.into_inner())),
                connection: None,
            },
        }
    }

    /// A harness for `module` on `card`. With `provision`, the card is put in the known state of `plan`
    /// first (with a root store); otherwise its content is read as it is.
    pub fn new(module: Module, card: CardAccess, provision: bool, plan: &[SlotPlan]) -> Result<Self, String> {
        let exclusive = alloc::exclusive();
        let mut session = card.piv_session()?;
        let fixture = if provision {
            fixture::provision(&mut session, plan, true).map_err(|e| format!("provisioning: {e}"))?
        } else {
            fixture::discover(&mut session).map_err(|e| format!("reading the card: {e}"))?
        };
        drop(session);
        Ok(Self {
            shared: Mutex::new(Vec::new()),
            found: OnceLock::new(),
            module: Arc::new(module),
            card,
            fixture,
            cache: DataCache::new(),
            card_lock: Mutex::new(()),
            _exclusive: exclusive,
        })
    }

    /// Tessera's module linked in, on a fresh provisioned virtual card.
    #[cfg(feature = "builtin")]
    pub fn builtin(seed: u64, plan: &[SlotPlan]) -> Result<Self, String> {
        Self::new(Module::builtin(), CardAccess::virtual_card(seed)?, true, plan)
    }

    /// The module.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// The card.
    pub fn card(&self) -> &CardAccess {
        &self.card
    }

    /// The card's known state.
    pub fn fixture(&self) -> &Fixture {
        &self.fixture
    }

    /// The CSP data cache shared by the contexts.
    pub fn cache(&self) -> &Arc<DataCache> {
        &self.cache
    }

    /// A well-formed `CardAcquireContext` request (v7) for `binding`.
    pub fn spec(&self, binding: &Binding) -> AcquireSpec {
        AcquireSpec {
            atr: Some(self.card.atr()),
            context_handle: binding.context,
            card_handle: binding.card,
            ..AcquireSpec::default()
        }
    }

    /// Acquires a context with the default request changed by `adjust`; the result may have failed.
    pub fn acquire_with(&self, adjust: impl FnOnce(&mut AcquireSpec)) -> Result<ConnectedContext, String> {
        let binding = self.card.bind()?;
        let mut spec = self.spec(&binding);
        adjust(&mut spec);
        let ctx = Context::acquire(&self.module, &spec, &self.cache, binding.transport);
        Ok(ConnectedContext {
            ctx,
            connection: binding.connection,
        })
    }

    /// A working v7 context, or an error naming the acquisition code.
    pub fn open(&self) -> Result<ConnectedContext, String> {
        self.open_version(7)
    }

    /// A working context at `version`.
    pub fn open_version(&self, version: u32) -> Result<ConnectedContext, String> {
        let bound = self.acquire_with(|s| s.version = version)?;
        if bound.acquire_code != 0 {
            return Err(format!(
                "CardAcquireContext returned {}",
                codes::name(bound.acquire_code)
            ));
        }
        Ok(bound)
    }

    /// Gives `bound` a new `hScard` (closing the old connection afterwards), as after a CSP reconnect.
    pub fn swap_handle(&self, bound: &mut ConnectedContext) -> Result<(), String> {
        let (handle, connection) = self.card.new_handle()?;
        bound.ctx.set_card_handle(handle);
        let old = std::mem::replace(&mut bound.connection, connection);
        drop(old);
        Ok(())
    }

    /// The user PIN's status, read through the harness's own connection. SELECT would log the PIN
    /// out, so a VERIFY without data is sent to the application the module selected; only when no
    /// application is selected (after a reset, where nothing is verified anyway) does it select.
    pub fn pin_status(&self) -> Result<PinStatus, String> {
        let mut s = self.card.piv_session()?;
        let r = s
            .transmit(&tessera_piv::commands::verify(KeyRef::PIN, None))
            .map_err(|e| e.to_string())?;
        if r.sw.is_success() {
            return Ok(PinStatus::Verified);
        }
        if let Some(retries) = r.sw.retries() {
            return Ok(if retries == 0 {
                PinStatus::Blocked
            } else {
                PinStatus::NotVerified { retries }
            });
        }
        if r.sw == tessera_piv::StatusWord::AUTH_METHOD_BLOCKED {
            return Ok(PinStatus::Blocked);
        }
        s.select().map_err(|e| e.to_string())?;
        s.pin_status(KeyRef::PIN).map_err(|e| e.to_string())
    }

    /// Puts the PIN back to its default with all tries (unblocking with the PUK when needed).
    pub fn restore_pin(&self) -> Result<(), String> {
        if !self.fixture.provisioned {
            return Err("the card was not provisioned: its PIN and PUK are unknown".into());
        }
        let mut s = self.card.piv_session()?;
        s.select().map_err(|e| e.to_string())?;
        fixture::restore_pin(&mut s).map_err(|e| e.to_string())
    }

    /// The valid cmapfile records read through `ctx`.
    pub fn cmap(&self, ctx: &Context) -> Result<Vec<CmapRecord>, String> {
        let r = ctx.call().read(Some("mscp"), "cmapfile");
        let data = r
            .value
            .ok_or_else(|| format!("reading mscp/cmapfile returned {}", codes::name(r.code)))?;
        blobs::parse_cmapfile(&data)
    }

    /// The index of the first valid container, or 0 when the card has none (cases that only need some
    /// index to address).
    pub fn first_container(&self, ctx: &Context) -> u8 {
        self.cmap(ctx)
            .ok()
            .and_then(|r| r.into_iter().find(CmapRecord::valid))
            .map_or(0, |r| r.index)
    }

    /// Every valid container, with its key blobs and the fixture slot holding the same key.
    pub fn containers(&self, ctx: &Context) -> Result<Vec<Found>, String> {
        let mut out = Vec::new();
        for record in self.cmap(ctx)?.into_iter().filter(CmapRecord::valid) {
            let r = ctx.call().get_container_info(record.index, 0, StructArg::V1);
            let info = r.value.ok_or_else(|| {
                format!(
                    "CardGetContainerInfo({}) returned {}",
                    record.index,
                    codes::name(r.code)
                )
            })?;
            let material = info
                .signature_key
                .as_deref()
                .or(info.exchange_key.as_deref())
                .and_then(key_material);
            let slot =
                material.and_then(|m| self.fixture.slots.iter().find(|s| s.key_material() == m).cloned());
            out.push(Found {
                record,
                signature_key: info.signature_key,
                exchange_key: info.exchange_key,
                slot,
            });
        }
        Ok(out)
    }

    /// The containers with their keys, listed once through a context of their own and kept: the
    /// module's layout does not change while the card is not written.
    pub fn found(&self) -> Result<Vec<Found>, String> {
        self.found
            .get_or_init(|| {
                let b = self.open()?;
                self.containers(&b)
            })
            .clone()
    }

    /// Runs `f` with the shared context of `profile`, acquired on first use and kept for the run. The
    /// module sees any reset or handle change from other cases the way a CSP's long-lived context would.
    /// `f` has the shared contexts to itself (one call at a time, like a CSP transaction) and must not
    /// call `with_shared` again.
    pub fn with_shared<R>(
        &self,
        profile: Profile,
        f: impl FnOnce(&ConnectedContext) -> R,
    ) -> Result<R, String> {
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let i = match shared.iter().position(|(p, _)| *p == profile) {
            Some(i) => i,
            None => {
                let bound = match profile {
                    Profile::V7 => self.open()?,
                    Profile::V6 => self.open_version(6)?,
                    Profile::V7NoUnpad => {
                        let b = self.acquire_with(|s| s.nulls.unpad = true)?;
                        if b.acquire_code != 0 {
                            return Err(format!(
                                "CardAcquireContext without pfnCspUnpadData returned {}",
                                codes::name(b.acquire_code)
                            ));
                        }
                        b
                    }
                };
                shared.push((profile, bound));
                shared.len() - 1
            }
        };
        Ok(f(&shared[i].1))
    }

    /// The card's counters now.
    pub fn counters(&self) -> Option<CountSnapshot> {
        self.card.counters()
    }

    /// Runs `cases` (all, or those of the named suites) and reports.
    pub fn run(&self, cases: &[CaseDef], suites: &[String]) -> Report {
        let mut report = Report::new(self.module.description(), self.card.is_virtual());
        for c in cases {
            if !suites.is_empty() && !suites.iter().any(|s| s == c.suite) {
                continue;
            }
            report.push(self.run_case(c));
        }
        report.allocator_live_at_end = alloc::live_count();
        report
    }

    fn run_case(&self, c: &CaseDef) -> CaseReport {
        let blocks = alloc::snapshot();
        let _ = alloc::take_anomalies();
        let before = self.counters();
        let started = std::time::Instant::now();
        let mut v = Verdict::default();
        let outcome = catch_unwind(AssertUnwindSafe(|| (c.run)(self, &mut v)));
        alloc::disarm();
        if let Err(panic) = outcome {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            v.fail(format!("the case panicked: {msg}"));
        }
        let leaked = alloc::leaked_since(&blocks);
        if !leaked.is_empty() {
            let bytes: usize = leaked.iter().map(|(_, n)| n).sum();
            v.fail(format!(
                "{} pfnCspAlloc block(s) ({bytes} bytes) never freed after CardDeleteContext",
                leaked.len()
            ));
            for (p, _) in leaked {
                alloc::free_if_live(p as *const u8);
            }
        }
        for a in alloc::take_anomalies() {
            v.fail(a);
        }
        let cost = match (before, self.counters()) {
            (Some(b), Some(a)) => Some(a.since(b)),
            _ => None,
        };
        let status = v.conclude();
        CaseReport {
            suite: c.suite.to_owned(),
            name: c.name.clone(),
            algorithm: c.algorithm.clone(),
            status,
            expected: v.expected.as_deref().map(names),
            returned: v.returned.map(codes::name),
            apdus: cost.map(|c| c.apdus),
            bytes: cost.map(CountSnapshot::total_bytes),
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            details: v.failures,
            notes: v.notes.into_iter().chain(v.skipped).collect(),
        }
    }
}

/// The key material of a blob (RSA modulus or EC X‖Y, big-endian).
pub fn key_material(blob: &[u8]) -> Option<Vec<u8>> {
    if blob.first() == Some(&0x06) {
        blobs::parse_rsa_blob(blob).ok().map(|b| b.modulus_be)
    } else {
        blobs::parse_ecc_blob(blob).ok().map(|b| b.xy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_that_checked_nothing_fails() {
        let mut v = Verdict::default();
        assert_eq!(v.conclude(), Status::Fail);
        assert_eq!(v.failures, ["the case checked nothing"]);

        let mut v = Verdict::default();
        v.code("CardReadFile", 0, &[0]);
        assert_eq!(v.conclude(), Status::Pass);

        let mut v = Verdict::default();
        v.check(true, String::new);
        assert_eq!(v.conclude(), Status::Pass);

        let mut v = Verdict::default();
        v.skip("needs a second card");
        assert_eq!(v.conclude(), Status::Skip);

        let mut v = Verdict::default();
        v.check(false, || "container 0 changed".into());
        assert_eq!(v.conclude(), Status::Fail);
        assert_eq!(v.failures, ["container 0 changed"]);
    }
}
