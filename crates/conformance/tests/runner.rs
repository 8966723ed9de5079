//! The runner binary: its table ends with `N passed, N failed`, `--json` writes the same report, the
//! exit code says whether anything failed, and bad arguments are refused.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use std::process::Command;

fn runner() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera-conformance"))
}

#[test]
fn builtin_suite_reports_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = runner()
        .args([
            "--builtin",
            "--suite",
            "acquire",
            "--suite",
            "unsupported",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let passed = report["passed"].as_u64().unwrap();
    let failed = report["failed"].as_u64().unwrap();
    assert_eq!(last, format!("{passed} passed, {failed} failed"));
    assert_eq!(out.status.success(), failed == 0, "{text}");
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    assert!(
        cases
            .iter()
            .all(|c| c["suite"] == "acquire" || c["suite"] == "unsupported")
    );
    // In-process, every case knows what it cost on the card.
    assert!(cases.iter().all(|c| c["apdus"].is_u64() && c["bytes"].is_u64()));
    let positive = cases.iter().find(|c| c["name"] == "positive-v7").unwrap();
    assert_eq!(positive["returned"], "SCARD_S_SUCCESS");
    assert!(
        positive["apdus"].as_u64().unwrap() >= 1,
        "acquiring selects the PIV application"
    );
    assert_eq!(report["allocator_live_at_end"], 0);
}

#[test]
fn bad_arguments_are_refused() {
    let out = runner()
        .args(["--builtin", "--suite", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown suite"));
    let out = runner().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = runner()
        .args(["--module", "/nonexistent.so", "--reader", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot load"));
}
