//! The whole conformance suite against Tessera's module linked in, on an in-process virtual card:
//! every case must pass and every `pfnCspAlloc` block must be freed.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use tessera_conformance::harness::Harness;
use tessera_conformance::report::Status;
use tessera_conformance::{fixture, suites};

#[test]
fn every_case_passes_against_the_builtin_module() {
    let harness = Harness::builtin(4, &fixture::default_plan()).unwrap();
    let cases = suites::all();
    let report = harness.run(&cases, &[]);
    println!("{}", report.to_text());
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{}/{}", c.suite, c.name))
        .collect();
    if let Err(e) = common::check_failures(&failed) {
        panic!("{}: {e}", report.summary());
    }
    assert!(report.passed >= 800, "only {} cases passed", report.passed);
    // Every algorithm the card supports is exercised, and the summary lists it.
    for algorithm in [
        "RSA-1024 sign",
        "RSA-2048 sign",
        "RSA-3072 sign",
        "RSA-4096 sign",
        "ECDSA P-256 sign",
        "ECDSA P-384 sign",
        "RSA-1024 decrypt",
        "RSA-4096 decrypt",
        "ECDH P-256",
        "ECDH P-384",
        "KDF HASH",
        "KDF HMAC",
        "KDF TLS_PRF",
        "KDF SP800_56A_CONCAT",
    ] {
        let a = report.algorithms.iter().find(|a| a.algorithm == algorithm);
        assert!(a.is_some_and(|a| a.passed > 0), "no passing case for {algorithm}");
        assert!(report.to_text().contains(&format!("\n{algorithm}: ")));
    }
    assert_eq!(report.allocator_live_at_end, 0, "pfnCspAlloc blocks left");
    assert!(report.to_text().ends_with(&format!("{}\n", report.summary())));
}
