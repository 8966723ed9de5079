//! `tessera info` (text and JSON) and `tessera info --windows`, on virtual card files; the card-finding
//! errors (no card file, no PC/SC service).
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;
use common::{card, info, s, slot, tessera};

#[test]
fn a_new_card_reports_factory_values_without_spending_a_try() {
    let (_dir, path) = card();
    let v = info(&path);
    assert_eq!(v["version"], "5.7.2");
    assert_eq!(v["serial"], 32_000_001);
    assert_eq!(v["pin"]["remaining"], 3);
    assert_eq!(v["pin"]["total"], 3);
    assert_eq!(v["pin"]["default"], true);
    assert_eq!(v["puk"]["remaining"], 3);
    assert_eq!(v["management_key"]["algorithm"], "3DES");
    assert_eq!(v["management_key"]["default"], true);
    assert_eq!(v["management_key"]["pin_protected"], false);
    assert!(v["slots"].as_array().unwrap().is_empty(), "{v}");
    // Reading twice spends nothing.
    assert_eq!(info(&path)["pin"]["remaining"], 3);
    let text = tessera(&["info", "--virtual", s(&path)], "").expect(0).stdout;
    assert!(
        text.contains("PIN:             3 of 3 tries left, factory default"),
        "{text}"
    );
    assert!(text.contains("No slot holds a key or a certificate."), "{text}");
}

#[test]
fn slots_show_algorithm_policies_and_certificate() {
    let (_dir, path) = card();
    tessera(
        &[
            "keys",
            "generate",
            "9c",
            "--algorithm",
            "p256",
            "--pin-policy",
            "always",
            "--touch-policy",
            "never",
            "--virtual",
            s(&path),
        ],
        "",
    )
    .expect(0);
    tessera(
        &[
            "certificates",
            "selfsign",
            "9c",
            "--subject",
            "CN=Signer,O=Example",
            "--days",
            "30",
            "--pin-stdin",
            "--virtual",
            s(&path),
        ],
        "123456\n",
    )
    .expect(0);
    let v = info(&path);
    let sig = slot(&v, "9C").unwrap();
    assert_eq!(sig["algorithm"], "ECC-P256");
    assert_eq!(sig["pin_policy"], "always");
    assert_eq!(sig["touch_policy"], "never");
    assert_eq!(sig["origin"], "generated");
    assert_eq!(sig["certificate"]["subject"], "CN=Signer,O=Example");
    assert_eq!(sig["certificate"]["issuer"], "CN=Signer,O=Example");
    let text = tessera(&["info", "--virtual", s(&path)], "").expect(0).stdout;
    let row = text.lines().find(|l| l.starts_with("9C")).unwrap();
    assert!(
        row.contains("ECC-P256") && row.contains("always") && row.contains("CN=Signer"),
        "{row}"
    );
}

#[test]
fn the_windows_view_lists_containers_as_the_module_presents_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.json");
    tessera(&["demo", "--virtual", s(&path)], "").expect(0);
    let run = tessera(&["info", "--windows", "--json", "--virtual", s(&path)], "").expect(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["cardid"].as_str().unwrap().len(), 32);
    assert_eq!(v["cardapps"], "mscp");
    assert_eq!(
        v["read_only"], 0,
        "the module writes to a card that keeps vendor objects"
    );
    let containers = v["containers"].as_array().unwrap();
    let spec = |i: u64| {
        containers
            .iter()
            .find(|c| c["index"] == i)
            .unwrap_or_else(|| panic!("no container {i}: {v}"))
    };
    // The demo enrolled through the module at the CSP's indices (9A → 0, 9D → 1, kept in the container
    // map); the ECDH use of the 9D key has no record and is shown at 24 + the slot's index.
    assert_eq!(spec(0)["key_spec"], "AT_KEYEXCHANGE");
    assert_eq!(spec(0)["default"], true);
    assert_eq!(spec(0)["key_bits"], 2048);
    assert_eq!(spec(0)["certificate_file"], "mscp/kxc00");
    assert_eq!(spec(1)["key_spec"], "AT_ECDSA_P256");
    assert_eq!(spec(1)["certificate_file"], "mscp/ksc01");
    assert_eq!(spec(26)["key_spec"], "AT_ECDHE_P256");
    assert_eq!(containers.len(), 3);
    // The cmapfile is 27 records of 86 bytes (indices 0..=26).
    assert_eq!(v["cmapfile"].as_str().unwrap().len(), 27 * 86 * 2);
    let files: Vec<&str> = v["mscp_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"cmapfile") && files.contains(&"kxc00") && files.contains(&"ksc01"),
        "{files:?}"
    );
    let text = tessera(&["info", "--windows", "--virtual", s(&path)], "")
        .expect(0)
        .stdout;
    assert!(text.contains("AT_ECDHE_P256"), "{text}");
    assert!(text.contains("the records in use"), "{text}");
}

#[test]
fn a_missing_card_file_is_exit_3_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.json");
    let run = tessera(&["info", "--virtual", s(&missing)], "").expect(3);
    assert!(
        run.stderr.contains("there is no virtual card in"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("tessera virtual-card create"),
        "{}",
        run.stderr
    );
    assert!(!missing.exists(), "info does not create cards");
}

#[test]
fn no_pcsc_service_is_exit_3_and_says_how_to_start_it() {
    // The helper points PC/SC at a socket that does not exist.
    for args in [
        vec!["info"],
        vec!["info", "--reader", "Some Reader 00 00"],
        vec!["info", "--windows"],
    ] {
        let run = tessera(&args, "").expect(3);
        assert!(
            run.stderr.contains("PC/SC service is not running"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("pcscd"), "{}", run.stderr);
    }
}
