//! The secure-key-injection entry points of v7 (spec §4.8, and §7.4's table): all optional. A module that
//! does not implement them fills the table and answers `SCARD_E_UNSUPPORTED_FEATURE`; with a NULL `pCardData`
//! every entry answers `SCARD_E_INVALID_PARAMETER` (spec §2.3.2).

use super::common::opened;
use crate::codes::*;
use crate::ffi::calls::Calls;
use crate::harness::CaseDef;

const SUITE: &str = "unsupported";

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

/// The code of `entry` among the key-injection entries, called through `calls`.
fn code_of(entry: &str, calls: &Calls<'_>) -> u32 {
    calls
        .key_injection_entries()
        .into_iter()
        .find(|(n, _)| *n == entry)
        .map_or(crate::ffi::calls::NOT_IN_TABLE, |(_, c)| c)
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for entry in ENTRIES {
        let name = entry.to_lowercase();
        c.push(opened(SUITE, format!("{name}-unsupported"), move |_, v, b| {
            v.code(entry, code_of(entry, &b.call()), &[SCARD_E_UNSUPPORTED_FEATURE]);
            v.note("spec §7.4: optional; not implemented → SCARD_E_UNSUPPORTED_FEATURE");
        }));
        c.push(opened(SUITE, format!("{name}-null-card-data"), move |_, v, b| {
            v.code(entry, code_of(entry, &b.null()), &[SCARD_E_INVALID_PARAMETER]);
        }));
    }
    c
}
