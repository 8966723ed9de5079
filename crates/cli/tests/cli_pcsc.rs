//! The pcsc tier: `tessera info`, `tessera demo --reader`, `tessera info --windows` and `tessera check`
//! against the virtual card behind a private pcscd (scripts/with-virtual-reader.sh sets TESSERA_READER).
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use std::path::{Path, PathBuf};

use common::{Run, tessera_pcsc as tessera};

#[track_caller]
fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    run
}

/// The module built from the current code: the newer of `target/<profile>/` (the tier builds it there)
/// and `deps/` (where cargo puts a dependency's cdylib).
fn module_path() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_tessera")).parent().unwrap();
    let name = "libtessera_minidriver.so";
    [dir.join(name), dir.join("deps").join(name)]
        .into_iter()
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, p)| p)
        .expect("build the module first: cargo build -p tessera-minidriver")
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn info_demo_windows_view_and_check_through_pcscd() {
    let reader = std::env::var("TESSERA_READER").expect("TESSERA_READER (set by with-virtual-reader.sh)");
    // A fresh card: version, no slots; and the reader is found without being named.
    let run = ok(tessera(&["info", "--json", "--reader", &reader], ""));
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["version"], "5.7.2");
    assert!(v["slots"].as_array().unwrap().is_empty());
    let run = ok(tessera(&["info"], ""));
    assert!(run.stdout.contains(&reader), "{}", run.stdout);
    // The demo on the card in the reader (it asks first: --yes; PIN and PUK from standard input).
    let run = ok(tessera(
        &["demo", "--reader", &reader, "--yes", "--pin-stdin"],
        "123456\n12345678\n",
    ));
    assert!(run.stdout.contains("14 of 14 steps passed"), "{}", run.stdout);
    // Without --yes and without a terminal, the demo does not touch a real card.
    let run = tessera(
        &["demo", "--reader", &reader, "--pin-stdin"],
        "123456\n12345678\n",
    );
    assert_eq!(run.code, 10, "{}", run.stderr);
    // A wrong PIN or PUK stops the demo before it changes anything (one try spent, nothing else).
    let demo = ["demo", "--reader", &reader, "--yes", "--pin-stdin"];
    let run = tessera(&demo, "000000\n12345678\n");
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("wrong PIN: 2 tries left"), "{}", run.stderr);
    let run = tessera(&demo, "123456\n00000000\n");
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("wrong PUK: 2 tries left"), "{}", run.stderr);
    let run = ok(tessera(&["info", "--json", "--reader", &reader], ""));
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        v["pin"]["remaining"], 3,
        "the right PIN of the second run reset the counter"
    );
    assert_eq!(v["puk"]["remaining"], 2);
    assert_eq!(
        v["slots"].as_array().unwrap().len(),
        2,
        "only the first demo's keys"
    );
    // What Windows sees of the demo's keys, through PC/SC: the containers at the indices the demo's
    // enrollment gave them (the CSP's first free ones), the ECDH twin of the 9D key at 24 + 2.
    let run = ok(tessera(&["info", "--windows", "--json", "--reader", &reader], ""));
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let specs: Vec<(u64, &str)> = v["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["index"].as_u64().unwrap(), c["key_spec"].as_str().unwrap()))
        .collect();
    assert_eq!(
        specs,
        [(0, "AT_KEYEXCHANGE"), (1, "AT_ECDSA_P256"), (26, "AT_ECDHE_P256")]
    );
    // The conformance suites against the Linux build of the module, loaded by path.
    let module = module_path();
    let run = ok(tessera(
        &[
            "check",
            "--module",
            module.to_str().unwrap(),
            "--reader",
            &reader,
            "--provision",
            "--suite",
            "acquire",
            "--suite",
            "containers",
            "--suite",
            "sign",
        ],
        "",
    ));
    let last = run.stdout.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    // After provisioning, the Windows view shows the fixture's P-384 key in retired slot 82 (index 4).
    let run = ok(tessera(&["info", "--windows", "--reader", &reader], ""));
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("4 "))
        .unwrap_or_default()
        .to_owned();
    assert!(row.contains("AT_ECDSA_P384"), "{}", run.stdout);
    // A reader that is not there.
    let run = tessera(&["info", "--reader", "No Such Reader 00 00"], "");
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("no reader named"), "{}", run.stderr);
}
