//! The suites, each a list of named cases. Expected codes come from the Minidriver Specification as
//! digested in `shared/reference/minidriver-spec.md` (section numbers below refer to it) and from what
//! Microsoft's certification kit checks (§13). Where the sources disagree, the choice is written next to
//! the case.

use crate::harness::CaseDef;

pub mod acquire;
pub mod challenge;
pub mod containers;
pub mod decrypt;
pub mod ecdh;
pub mod files;
pub mod kdf;
pub mod keys;
pub mod pins;
pub mod properties;
pub mod robustness;
pub mod sequences;
pub mod sign;
pub mod unsupported;

/// The suite names, in run order.
pub const SUITES: &[&str] = &[
    "acquire",
    "files",
    "containers",
    "pins",
    "properties",
    "unsupported",
    "robustness",
    "sign",
    "decrypt",
    "ecdh",
    "kdf",
    "challenge",
    "sequences",
];

/// Every case of every suite.
pub fn all() -> Vec<CaseDef> {
    let mut cases = Vec::new();
    cases.extend(acquire::cases());
    cases.extend(files::cases());
    cases.extend(containers::cases());
    cases.extend(pins::cases());
    cases.extend(properties::cases());
    cases.extend(unsupported::cases());
    cases.extend(robustness::cases());
    cases.extend(sign::cases());
    cases.extend(decrypt::cases());
    cases.extend(ecdh::cases());
    cases.extend(kdf::cases());
    cases.extend(challenge::cases());
    cases.extend(sequences::cases());
    cases
}
