//! `tessera bench` in-process: every scenario runs or says why it cannot, the figures add up, the
//! latency goes into the totals, and what a second process or another tool sees is reported.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use serde_json::Value;

use common::tessera;

/// Runs the bench with `args` and returns its JSON report and text output.
fn bench(args: &[&str]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let mut all = vec!["bench", "--json", json.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = tessera(&all, "").expect(0);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (report, run.stdout)
}

fn scenario<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no scenario {id}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

#[test]
fn every_scenario_runs_and_its_figures_add_up() {
    let (report, text) = bench(&["--rounds", "2", "--latency", "25"]);
    assert_eq!(report["mode"], "in-process");
    assert_eq!(report["latency_ms"], 25.0);
    assert_eq!(
        report["card_announces_extended_length"], true,
        "the virtual card's ATR is a YubiKey's"
    );
    let ids: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S7w", "S8", "S9", "S3c", "S4c"
        ]
    );
    for s in report["scenarios"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let calls = s["calls"].as_array().unwrap();
        assert!(!calls.is_empty(), "{id} made no call");
        let sum = |field: &str| calls.iter().map(|c| u(&c[field])).sum::<u64>();
        assert_eq!(u(&s["apdus"]), sum("apdus"), "{id}: APDUs");
        assert_eq!(
            u(&s["bytes_to_card"]),
            sum("bytes_to_card"),
            "{id}: bytes to the card"
        );
        assert_eq!(
            u(&s["bytes_from_card"]),
            sum("bytes_from_card"),
            "{id}: bytes from the card"
        );
        let module_ms = s["module_us"].as_f64().unwrap() / 1000.0;
        let total = s["total_ms_at_latency"].as_f64().unwrap();
        let expected = module_ms + 25.0 * u(&s["apdus"]) as f64;
        assert!(
            (total - expected).abs() < 0.11,
            "{id}: total {total} ms, expected {expected} ms"
        );
        for c in calls.iter().filter(|c| c["from_cache"] == true) {
            assert_eq!(u(&c["apdus"]), 0, "{id}: {} came from the CSP cache", c["call"]);
        }
        match id {
            // Enrollment needs the module's write side: until it exists the module answers
            // SCARD_E_UNSUPPORTED_FEATURE, which is reported, not a failure of the bench.
            "S6" if s["status"] == "unavailable" => {
                let reason = s["reason"].as_str().unwrap();
                assert!(
                    reason.contains("CardCreateContainerEx")
                        && reason.contains("SCARD_E_UNSUPPORTED_FEATURE"),
                    "{reason}"
                );
                assert!(text.contains("not available yet"), "{text}");
            }
            _ => assert_eq!(s["status"], "ok", "{id}: {}", s["reason"]),
        }
        assert_eq!(
            u(&s["rounds"]),
            if matches!(id, "S6" | "S7w" | "S8") { 1 } else { 2 },
            "{id}"
        );
    }
    // A cold logon reads what a warm one may take from the CSP cache; every scenario costs the card
    // something (a context is acquired, a PIN is verified, the card computes).
    let s1 = scenario(&report, "S1");
    let s2 = scenario(&report, "S2");
    assert!(u(&s1["apdus"]) > 0 && u(&s2["apdus"]) > 0 && u(&s2["apdus"]) <= u(&s1["apdus"]));
    let cached: Vec<&str> = s2["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["from_cache"] == true)
        .map(|c| c["call"].as_str().unwrap())
        .collect();
    assert_eq!(
        cached,
        ["CardReadFile(mscp/cmapfile)", "CardReadFile(mscp/kxc00)"]
    );
    assert!(
        s1["calls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["from_cache"] == false),
        "S1 starts with nothing cached"
    );
    // S8: the logon certificate replaced without a freshness bump is seen, and the note says how.
    let s8 = scenario(&report, "S8");
    assert_eq!(s8["change_seen"], true, "{s8}");
    let note = s8["notes"].as_array().unwrap()[0].as_str().unwrap();
    assert!(note.starts_with("change seen"), "{note}");
    // S7 says what cache the second process found.
    let s7 = scenario(&report, "S7");
    assert!(
        s7["notes"].as_array().unwrap()[0]
            .as_str()
            .unwrap()
            .starts_with("a new process with"),
        "{s7}"
    );
    // After S6 the card has the freshness object: the second process finds the CSP's global cache,
    // takes cmapfile and the certificate from it, and pays less than S7.
    let s7w = scenario(&report, "S7w");
    assert!(
        s7w["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("a new process with the global cache"),
        "{s7w}"
    );
    for file in ["CardReadFile(mscp/cmapfile)", "CardReadFile(mscp/kxc00)"] {
        let call = s7w["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["call"] == file)
            .unwrap_or_else(|| panic!("S7w reads {file}"));
        assert_eq!(call["apdus"], 0, "{file} from the CSP's cache: {call}");
    }
    assert!(u(&s7w["apdus"]) < u(&s7["apdus"]), "S7w costs less than S7");
    // The PIV application still selected answers the card id, and the CSP's cache holds what SELECT
    // told: no SELECT. The `cardcf` read proves the selection: the PIN goes without a status query.
    let cost = |call: &str| {
        s7w["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["call"].as_str().unwrap().starts_with(call))
            .map(|c| u(&c["apdus"]))
            .unwrap_or_else(|| panic!("S7w calls {call}"))
    };
    assert_eq!(cost("CardAcquireContext"), 1, "{s7w}");
    assert_eq!(cost("CardAuthenticateEx"), 1, "{s7w}");
    assert!(
        u(&s7w["apdus"]) <= 6,
        "S7 at most 6 APDUs on a card the module maintains: {s7w}"
    );
    // S9 lists the six keys of the card state and the ECDH twin of 82 (the one EC key that agrees),
    // each with its certificate.
    let s9 = scenario(&report, "S9");
    assert_eq!(s9["notes"][0], "7 containers, 7 certificates");
    // The cold variants pay for the context they open, the warm ones work in S2's.
    for (warm, cold) in [("S3", "S3c"), ("S4", "S4c")] {
        let (w, c) = (scenario(&report, warm), scenario(&report, cold));
        assert_eq!(c["calls"][0]["call"], "CardAcquireContext");
        assert_ne!(w["calls"][0]["call"], "CardAcquireContext");
        assert!(u(&c["apdus"]) > u(&w["apdus"]), "{cold} costs more than {warm}");
    }
    // The medians per kind of call.
    for kind in ["reads_us", "crypto_us", "other_us"] {
        assert!(report["medians"][kind].as_f64().unwrap() > 0.0, "{kind}");
    }
    // The table shows every scenario.
    for id in ids {
        assert!(
            text.lines().any(|l| l.starts_with(id)),
            "{id} missing from\n{text}"
        );
    }
}

#[test]
fn the_calls_are_shown_on_request_and_bad_values_are_refused() {
    let (_, text) = bench(&["--rounds", "1", "--calls"]);
    assert!(
        text.contains("CardSignData(0, RSA-2048 PKCS#1 SHA-256)"),
        "{text}"
    );
    assert!(text.contains("CSP cache"), "{text}");
    let run = tessera(&["bench", "--latency=-3"], "").expect(12);
    assert!(run.stderr.contains("--latency"), "{}", run.stderr);
    tessera(&["bench", "--rounds", "0"], "").expect(2);
    tessera(&["bench", "--provision"], "").expect(2);
}

#[test]
fn short_apdus_cost_more_exchanges_for_the_same_bytes_of_certificate() {
    let (extended, _) = bench(&["--rounds", "1"]);
    let (short, text) = bench(&["--rounds", "1", "--short-apdus"]);
    assert_eq!(extended["framing"], "extended");
    assert_eq!(short["framing"], "short");
    assert!(text.contains("module frames short APDUs"), "{text}");
    assert_eq!(
        short["card_announces_extended_length"], true,
        "the card is the same; only the ATR the module is handed differs"
    );
    // A cold logon reads certificates of 400-700 bytes and signs with RSA-2048: short framing needs
    // GET RESPONSE rounds and a chained GENERAL AUTHENTICATE that extended framing does without.
    for id in ["S1", "S4c"] {
        let (e, s) = (
            u(&scenario(&extended, id)["apdus"]),
            u(&scenario(&short, id)["apdus"]),
        );
        assert!(s > e, "{id}: {s} short APDUs, {e} extended");
    }
    // Short framing reads only the head of the 9A certificate at each cardcf: the change shows all the
    // same.
    assert_eq!(scenario(&short, "S8")["change_seen"], true);
}
