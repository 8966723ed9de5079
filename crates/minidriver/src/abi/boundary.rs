//! The panic boundary: no panic ever crosses into the CSP.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

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
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            tracing::debug!(target: "tessera::md", "{entry} -> 0");
            codes::SCARD_S_SUCCESS
        }
        Ok(Err(e)) => {
            let code = e.code();
            tracing::debug!(target: "tessera::md", "{entry} -> 0x{code:08X} {} ({e})", codes::name(code));
            code
        }
        Err(_) => {
            PANICS_CAUGHT.fetch_add(1, Ordering::Relaxed);
            tracing::error!(target: "tessera::md", "{entry}: internal error (panic caught at the boundary)");
            codes::SCARD_E_UNEXPECTED
        }
    }
}
