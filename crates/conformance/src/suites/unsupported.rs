//! The secure-key-injection entry points of v7 (spec §4.8, and §7.4's table): all optional. A module that
//! does not implement them fills the table and answers `SCARD_E_UNSUPPORTED_FEATURE`; with a NULL `pCardData`
//! every entry answers `SCARD_E_INVALID_PARAMETER` (spec §2.3.2).

use super::files::open;
use crate::codes::*;
use crate::harness::{CaseDef, case};

const S: &str = "unsupported";

const ENTRIES: [&str; 9] = [
    "MDImportSessionKey",
    "MDEncryptData",
    "CardImportSessionKey",
    "CardGetSharedKeyHandle",
    "CardGetAlgorithmProperty",
    "CardGetKeyProperty",
    "CardSetKeyProperty",
    "CardDestroyKey",
    "CardProcessEncryptedData",
];

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for entry in ENTRIES {
        c.push(case(
            S,
            format!("{}-unsupported", entry.to_lowercase()),
            move |h, v| {
                let Some(b) = open(h, v) else { return };
                let code = b
                    .call()
                    .key_injection_entries()
                    .into_iter()
                    .find(|(n, _)| *n == entry)
                    .map_or(crate::ffi::calls::NOT_IN_TABLE, |(_, c)| c);
                v.code(entry, code, &[SCARD_E_UNSUPPORTED_FEATURE]);
                v.note("spec §7.4: optional; not implemented → SCARD_E_UNSUPPORTED_FEATURE");
            },
        ));
        c.push(case(
            S,
            format!("{}-null-card-data", entry.to_lowercase()),
            move |h, v| {
                let Some(b) = open(h, v) else { return };
                let code = b
                    .null()
                    .key_injection_entries()
                    .into_iter()
                    .find(|(n, _)| *n == entry)
                    .map_or(crate::ffi::calls::NOT_IN_TABLE, |(_, c)| c);
                v.code(entry, code, &[SCARD_E_INVALID_PARAMETER]);
            },
        ));
    }
    c
}
