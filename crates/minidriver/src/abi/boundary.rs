//! The panic boundary: no panic ever crosses into the CSP.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::codes;
use crate::error::MdError;

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
            tracing::error!(target: "tessera::md", "{entry}: internal error (panic caught at the boundary)");
            codes::SCARD_E_UNEXPECTED
        }
    }
}
