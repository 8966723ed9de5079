//! The panic boundary: no panic ever crosses into the CSP. Everything an export does runs inside it,
//! its log line included: a panic in the call becomes `SCARD_E_UNEXPECTED`, and a panic while logging
//! (a broken log writer) changes nothing about the answer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use windows_sys::Win32::Foundation::E_UNEXPECTED;

use crate::codes;
use crate::error::MdError;

/// Panics caught at the boundary since the module was loaded. Always zero in a correct module; the
/// property tests of the ABI inputs assert it.
static PANICS_CAUGHT: AtomicU64 = AtomicU64::new(0);

/// How many panics the boundary has caught (a Rust-only diagnostic, not exported from the DLL).
pub fn panics_caught() -> u64 {
    PANICS_CAUGHT.load(Ordering::Relaxed)
}

/// Runs `f`, maps its error to the interface code, and turns a panic into `SCARD_E_UNEXPECTED`.
pub(crate) fn guard(entry: &'static str, f: impl FnOnce() -> Result<(), MdError>) -> u32 {
    let outcome = catch_unwind(AssertUnwindSafe(f));
    let code = match &outcome {
        Ok(Ok(())) => codes::SCARD_S_SUCCESS,
        Ok(Err(e)) => e.code(),
        Err(_) => {
            PANICS_CAUGHT.fetch_add(1, Ordering::Relaxed);
            codes::SCARD_E_UNEXPECTED
        }
    };
    contained(|| match &outcome {
        Ok(Ok(())) => tracing::debug!(target: "tessera::md", "{entry} -> 0"),
        Ok(Err(e)) => {
            tracing::debug!(target: "tessera::md", "{entry} -> 0x{code:08X} {} ({e})", codes::name(code))
        }
        Err(_) => {
            tracing::error!(target: "tessera::md", "{entry}: internal error (panic caught at the boundary)")
        }
    });
    // The error and a panic's payload are dropped inside the boundary too.
    contained(move || drop(outcome));
    code
}

/// An `HRESULT` export (`DllRegisterServer`, `DllUnregisterServer`): a panic becomes `E_UNEXPECTED`.
#[cfg_attr(
    not(windows),
    expect(dead_code, reason = "only the Windows DLL exports DllRegisterServer")
)]
pub(crate) fn guard_hresult(entry: &'static str, f: impl FnOnce() -> i32) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(f));
    let hr = match &result {
        Ok(hr) => *hr,
        Err(_) => {
            PANICS_CAUGHT.fetch_add(1, Ordering::Relaxed);
            E_UNEXPECTED
        }
    };
    contained(|| tracing::debug!(target: "tessera::md", "{entry} -> 0x{:08X}", hr as u32));
    contained(move || drop(result));
    hr
}

/// Runs `f` (logging, dropping), swallowing a panic: nothing it does may reach the caller.
fn contained(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        // A payload whose own drop panics is leaked rather than dropped outside a boundary.
        std::mem::forget(payload);
    }
}
