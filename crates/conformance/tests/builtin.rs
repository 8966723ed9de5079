//! The whole conformance suite against Tessera's module linked in, on an in-process virtual card:
//! every case must pass and every `pfnCspAlloc` block must be freed.
#![allow(clippy::unwrap_used)]

use tessera_conformance::harness::Harness;
use tessera_conformance::{fixture, suites};

#[test]
fn every_case_passes_against_the_builtin_module() {
    let harness = Harness::builtin(4, &fixture::default_plan()).unwrap();
    let cases = suites::all();
    let report = harness.run(&cases, &[]);
    println!("{}", report.to_text());
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert!(report.passed >= 150, "only {} cases passed", report.passed);
    assert_eq!(report.allocator_live_at_end, 0, "pfnCspAlloc blocks left");
    assert!(report.to_text().ends_with(&format!("{}\n", report.summary())));
}
