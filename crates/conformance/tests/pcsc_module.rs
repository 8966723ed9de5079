//! The pcsc tier: the conformance suites against the Linux build of the module
//! (`libtessera_minidriver.so`, loaded by path as the CSP loads the DLL) through a private pcscd and vpcd
//! with the virtual card. Ignored by a plain `cargo test`: it needs `scripts/with-virtual-reader.sh`
//! (scripts/test.sh's pcsc tier runs it with `--include-ignored`), and fails without it.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The newer of the module next to the runner (`target/<profile>/`, from `cargo build`) and the one in
/// `deps/` (where cargo puts the cdylib of a dependency): an older build left next to the runner must not
/// be tested in place of the current code. Built with cargo when neither exists.
fn module_path() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_tessera-conformance"));
    let dir = exe.parent().unwrap();
    let name = if cfg!(windows) {
        "tessera_minidriver.dll"
    } else {
        "libtessera_minidriver.so"
    };
    let newest = [dir.join(name), dir.join("deps").join(name)]
        .into_iter()
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max_by_key(|(modified, _)| *modified);
    if let Some((_, path)) = newest {
        return path;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "tessera-minidriver"])
        .status()
        .unwrap();
    assert!(status.success(), "building tessera-minidriver failed");
    dir.join(name)
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn every_case_passes_against_the_shared_library_through_pcscd() {
    let reader = std::env::var("TESSERA_READER")
        .expect("TESSERA_READER is not set: this test needs the pcsc tier (scripts/test.sh pcsc)");
    assert_eq!(
        std::env::var("TESSERA_VIRTUAL_CARD").as_deref(),
        Ok("1"),
        "this test needs the virtual card in the reader (TESSERA_VIRTUAL_CARD=1)"
    );
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tessera-conformance"))
        .arg("--module")
        .arg(module_path())
        .args(["--reader", &reader, "--provision", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["card"], "pcsc");
    let failed: Vec<String> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| format!("{}/{}", c["suite"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    if let Err(e) = common::check_failures(&failed) {
        panic!("{}: {e}", text.lines().last().unwrap_or_default());
    }
    assert!(report["passed"].as_u64().unwrap() >= 800);
    assert_eq!(report["allocator_live_at_end"], 0);
    assert!(report["algorithms"].as_array().is_some_and(|a| a.len() >= 16));
    // The runner exits 1 exactly when a case failed.
    assert_eq!(out.status.success(), failed.is_empty());
}
