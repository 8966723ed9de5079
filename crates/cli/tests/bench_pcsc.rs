//! The pcsc tier: `tessera bench --through-pcscd` against the virtual card behind a private pcscd
//! (scripts/with-virtual-reader.sh sets TESSERA_READER). A card without the bench's state is refused with
//! what it lacks; with `--provision` every scenario runs, and each costs the same APDUs through pcscd as
//! in-process (the module and the card state are the same; only the transport differs).
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn tessera(args: &[&str]) -> Run {
    let output = assert_cmd::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn bench(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let mut all = vec!["bench", "--rounds", "1", "--json", json.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = tessera(&all);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

fn apdus(report: &Value) -> Vec<(String, u64)> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_owned(), s["apdus"].as_u64().unwrap()))
        .collect()
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn the_bench_through_pcscd_costs_what_it_costs_in_process() {
    let reader = std::env::var("TESSERA_READER").expect("TESSERA_READER (set by with-virtual-reader.sh)");
    // A fresh card lacks the bench's keys: refused, with what is missing.
    let run = tessera(&["bench", "--through-pcscd", "--reader", &reader, "--yes"]);
    assert_eq!(run.code, 12, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("lacks 9A"), "{}", run.stderr);
    assert!(run.stderr.contains("--provision"), "{}", run.stderr);

    let pcscd = bench(&["--through-pcscd", "--reader", &reader, "--provision", "--yes"]);
    assert_eq!(pcscd["mode"], "pcscd");
    assert_eq!(pcscd["reader"], reader.as_str());
    for s in pcscd["scenarios"].as_array().unwrap() {
        let unavailable = s["id"] == "S6" && s["status"] == "unavailable";
        assert!(s["status"] == "ok" || unavailable, "{s}");
    }
    let in_process = bench(&[]);
    assert_eq!(apdus(&pcscd), apdus(&in_process));

    // The card keeps the state: a second run takes it as it is, without --provision. It holds one more
    // container now (S6's enrollment stays on the card), which a logon that discovers every container
    // pays for, so its S1 costs at least as much.
    let again = bench(&["--through-pcscd", "--reader", &reader, "--yes"]);
    for s in again["scenarios"].as_array().unwrap() {
        assert_eq!(s["status"], "ok", "{s}");
    }
    let s1 = |r: &Value| r["scenarios"][0]["apdus"].as_u64().unwrap();
    assert!(s1(&again) >= s1(&pcscd), "{} < {}", s1(&again), s1(&pcscd));
}
