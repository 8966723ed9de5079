//! The suites, each a list of named cases. Expected codes come from three sources, cited in the cases as:
//!
//! - `spec §N` or `spec "Function"`: Microsoft's Windows Smart Card Minidriver Specification 7.07
//!   (February 2016), section N or the section of that entry point;
//! - `CMCK`, with a test name where it has one (`CMCK OutOfMem`, `CMCK CertSequences/SCLogon`): what
//!   Microsoft's Smart Card Minidriver Certification Kit checks, as a real run of it records (CMCK
//!   6.1.7100.0 on Windows 7 x64, the Belgian eID minidriver, published by Fedict in eid-mw);
//! - `OpenSC`: OpenSC's minidriver (`src/minidriver/minidriver.c`), the public implementation that shows
//!   which checks are made in what order.
//!
//! Where the sources disagree, the choice and the reason are written next to the case.

use crate::harness::CaseDef;

pub mod acquire;
pub mod challenge;
pub(crate) mod common;
pub mod containers;
pub mod decrypt;
pub mod ecdh;
pub mod enrollment;
pub mod files;
pub mod kdf;
pub mod keys;
pub mod pins;
pub mod properties;
pub mod robustness;
pub mod sequences;
pub mod sign;
pub mod unsupported;
pub mod writes;

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
    "writes",
    "enrollment",
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
    cases.extend(writes::cases());
    cases.extend(enrollment::cases());
    cases
}
