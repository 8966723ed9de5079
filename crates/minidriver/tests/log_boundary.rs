//! The log is part of what an export does, so it runs inside the panic boundary: a log writer that
//! panics, or a log setup that panics, changes no answer, never unwinds into the caller, and leaves the
//! module working (without a log). Its own test binary: the log is process-wide.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tessera_piv::{AlgorithmId, KeyRef, PinPolicy};

use common::{Context, TestCard};

const SCARD_E_INVALID_PARAMETER: u32 = 0x8010_0004;

/// Serialises the tests: they share the process-wide log.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

static WRITES: AtomicUsize = AtomicUsize::new(0);

/// A log destination that panics on every write (as tracing-subscriber's writer lock does once
/// poisoned, or a full disk behind a writer that unwraps).
struct PanickingWriter;

impl Write for PanickingWriter {
    fn write(&mut self, _buf: &[u8]) -> std::io::Result<usize> {
        WRITES.fetch_add(1, Ordering::SeqCst);
        panic!("the log writer failed");
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_log_writer_that_panics_changes_no_answer() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // The card first: the test's own code must not log through the broken writer.
    let card = TestCard::new(81);
    card.generate(KeyRef::AUTHENTICATION, AlgorithmId::ECCP256, PinPolicy::Once);
    assert!(
        tessera_minidriver::log::init_with_writer("trace", PanickingWriter),
        "the log was installed"
    );
    let panics_before = tessera_minidriver::panics_caught();
    // Every call logs (its result at least); each log line panics in the writer.
    let ctx = Context::acquire(&card.card, 7);
    ctx.login();
    assert_eq!(
        ctx.sign_p256(0, b"logged through a broken writer").0,
        0,
        "CardSignData"
    );
    assert_eq!(
        ctx.authenticate(1, b"12345").0,
        0x8010_006B,
        "CardAuthenticateEx(malformed)"
    );
    drop(ctx);
    assert!(WRITES.load(Ordering::SeqCst) > 0, "the writer was used");
    assert_eq!(
        tessera_minidriver::panics_caught(),
        panics_before,
        "the writer's panic was taken for the call's"
    );
}

#[test]
fn a_panic_while_setting_up_the_log_leaves_the_module_working() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let setup = catch_unwind(AssertUnwindSafe(|| {
        tessera_minidriver::log::init(|| panic!("the settings source failed"))
    }));
    assert!(setup.is_ok(), "the panic left the log setup");
    // The exported CardAcquireContext sets the log up first; it must still answer on its merits.
    // SAFETY: a NULL CARD_DATA is a documented invalid argument.
    let rc = unsafe { tessera_minidriver::CardAcquireContext(std::ptr::null_mut(), 0) };
    assert_eq!(
        rc, SCARD_E_INVALID_PARAMETER,
        "CardAcquireContext(NULL) after a failed log setup"
    );
}
