//! `tessera management-key set|protect`, `tessera container-map show|repair` and `tessera reset` on
//! virtual card files: writes need the management key (exit 7 without it), the PIN-protected key is
//! stored the Yubico way and found again, the rebuilt map follows the card module's rules.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;
use common::{card, info, s, slot, tessera};

/// A virtual card file that `tessera demo` has filled (kept alive by the returned guard).
fn demo_card() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.json");
    tessera(&["demo", "--virtual", s(&path)], "").expect(0);
    (dir, path)
}

#[test]
fn a_changed_key_is_required_then_given_then_pin_protected() {
    let (_dir, path) = card();
    let p = s(&path);
    let run = tessera(&["management-key", "set", "--generate", "--virtual", p], "").expect(0);
    let key = run.stdout.trim().to_owned();
    assert_eq!(key.len(), 48, "a 3DES key in hex: {key:?}");
    assert_eq!(info(&path)["management_key"]["default"], false);
    // Writes without the key: exit 7, what to do.
    let run = tessera(&["keys", "generate", "9a", "--virtual", p], "").expect(7);
    assert!(run.stderr.contains("not the factory default"), "{}", run.stderr);
    assert!(run.stderr.contains("--management-key"), "{}", run.stderr);
    // A wrong key: exit 7 too.
    let wrong = "01".repeat(24);
    tessera(
        &[
            "keys",
            "generate",
            "9a",
            "--management-key",
            &wrong,
            "--virtual",
            p,
        ],
        "",
    )
    .expect(7);
    // The key on the command line works, with a warning.
    let run = tessera(
        &["keys", "generate", "9a", "--management-key", &key, "--virtual", p],
        "",
    )
    .expect(0);
    assert!(
        run.stderr.contains("other users of this machine"),
        "{}",
        run.stderr
    );
    // The key from standard input.
    tessera(
        &[
            "certificates",
            "delete",
            "9a",
            "--ask-management-key",
            "--pin-stdin",
            "--virtual",
            p,
        ],
        &format!("{key}\n"),
    )
    .expect(0);
    // Protect: a random AES-192 key stored under the PIN, then writes need only the PIN.
    tessera(
        &[
            "management-key",
            "protect",
            "--algorithm",
            "aes192",
            "--management-key",
            &key,
            "--pin-stdin",
            "--virtual",
            p,
        ],
        "123456\n",
    )
    .expect(0);
    let v = info(&path);
    assert_eq!(v["management_key"]["pin_protected"], true);
    assert_eq!(v["management_key"]["algorithm"], "AES-192");
    let run = tessera(
        &["keys", "generate", "9c", "--pin-stdin", "--virtual", p],
        "123456\n",
    )
    .expect(0);
    assert!(!run.stderr.contains("factory-default"), "{}", run.stderr);
    // The old key is gone.
    tessera(
        &["keys", "generate", "9c", "--management-key", &key, "--virtual", p],
        "",
    )
    .expect(7);
    // A wrong PIN does not unlock it.
    let run = tessera(
        &["keys", "generate", "9c", "--pin-stdin", "--virtual", p],
        "000000\n",
    )
    .expect(5);
    assert!(run.stderr.contains("tries left"), "{}", run.stderr);
}

#[test]
fn set_needs_a_source_for_the_new_key() {
    let (_dir, path) = card();
    let run = tessera(&["management-key", "set", "--virtual", s(&path)], "").expect(12);
    assert!(run.stderr.contains("--generate"), "{}", run.stderr);
    tessera(
        &[
            "management-key",
            "set",
            "--ask-new-key",
            "--pin-stdin",
            "--virtual",
            s(&path),
        ],
        "zz\n",
    )
    .expect(12);
    let aes = "0102030405060708090a0b0c0d0e0f10";
    tessera(
        &[
            "management-key",
            "set",
            "--algorithm",
            "aes128",
            "--ask-new-key",
            "--pin-stdin",
            "--virtual",
            s(&path),
        ],
        &format!("{aes}\n"),
    )
    .expect(0);
    tessera(
        &[
            "keys",
            "generate",
            "9a",
            "--management-key",
            aes,
            "--virtual",
            s(&path),
        ],
        "",
    )
    .expect(0);
}

#[test]
fn the_container_map_is_rebuilt_by_the_module_rules_and_read_back_by_it() {
    // The demo enrolls through the module, which keeps the CSP's two records in 5FFF10 (the ECDH twin of
    // the P-256 key has no record: the module shows it at 24 + the slot's index).
    let (_dir, path) = demo_card();
    let p = s(&path);
    let run = tessera(&["container-map", "show", "--virtual", p], "").expect(0);
    let rows: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(
        rows[0].contains("9A") && rows[0].contains("AT_KEYEXCHANGE"),
        "{}",
        run.stdout
    );
    assert!(
        rows[1].contains("9D") && rows[1].contains("AT_ECDSA_P256"),
        "{}",
        run.stdout
    );
    let before = windows(&path);
    assert_eq!(before["containers"][2]["index"], 26, "{before}");
    // The module made the management key PIN-protected: the repair needs the PIN.
    let run = tessera(
        &["container-map", "repair", "--pin-stdin", "--virtual", p],
        "123456\n",
    )
    .expect(0);
    assert!(run.stdout.contains("Wrote 5FFF10"), "{}", run.stdout);
    let records: serde_json::Value = serde_json::from_str(
        &tessera(&["container-map", "show", "--json", "--virtual", p], "")
            .expect(0)
            .stdout,
    )
    .unwrap();
    let records = records.as_array().unwrap();
    // Compact: RSA 9A, ECDSA 9D, then the ECDH twin of 9D, paired with it.
    let spec: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["slot"].as_str().unwrap(), r["key_spec"].as_str().unwrap()))
        .collect();
    assert_eq!(
        spec,
        [
            ("9A", "AT_KEYEXCHANGE"),
            ("9D", "AT_ECDSA_P256"),
            ("9D", "AT_ECDHE_P256")
        ]
    );
    assert_eq!(records[1]["associated_ecdh"], 2);
    assert_eq!(records[0]["default"], true);
    assert!(records.iter().all(|r| r["slot_has_key"] == true));
    // The module now reads the map: same names, new indices; the demo still passes on the card.
    let after = windows(&path);
    let names = |v: &serde_json::Value| {
        let mut n: Vec<String> = v["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&before), names(&after), "names are kept");
    assert_eq!(after["containers"][2]["index"], 2);
    assert_eq!(after["containers"][2]["key_spec"], "AT_ECDHE_P256");
    let run = tessera(
        &["container-map", "repair", "--pin-stdin", "--virtual", p],
        "123456\n",
    )
    .expect(0);
    assert!(run.stdout.contains("nothing to write"), "{}", run.stdout);
    // A record whose key is deleted is shown as such and dropped by the repair.
    tessera(
        &["keys", "delete", "9d", "--pin-stdin", "--virtual", p],
        "123456\n",
    )
    .expect(0);
    let run = tessera(&["container-map", "show", "--virtual", p], "").expect(0);
    assert!(run.stdout.contains("no key"), "{}", run.stdout);
    tessera(
        &["container-map", "repair", "--pin-stdin", "--virtual", p],
        "123456\n",
    )
    .expect(0);
    let records: serde_json::Value = serde_json::from_str(
        &tessera(&["container-map", "show", "--json", "--virtual", p], "")
            .expect(0)
            .stdout,
    )
    .unwrap();
    assert_eq!(records.as_array().unwrap().len(), 1);
}

fn windows(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(
        &tessera(&["info", "--windows", "--json", "--virtual", s(path)], "")
            .expect(0)
            .stdout,
    )
    .unwrap()
}

#[test]
fn reset_erases_everything() {
    let (_dir, path) = demo_card();
    let p = s(&path);
    tessera(
        &["pin", "change", "--pin-stdin", "--virtual", p],
        "123456\n24681357\n",
    )
    .expect(0);
    assert!(slot(&info(&path), "9A").is_some());
    tessera(&["reset", "--virtual", p], "").expect(0);
    let v = info(&path);
    assert!(v["slots"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["pin"]["default"], true);
    assert_eq!(v["pin"]["remaining"], 3);
}

/// Opens the virtual card file at `path`, selects PIV and verifies the default PIN.
fn card_session(path: &std::path::Path) -> tessera_piv::Session<tessera_virtual_card::VirtualCard> {
    let card = tessera_virtual_card::VirtualCard::open(path, Default::default()).unwrap();
    let mut session = tessera_piv::Session::new(card);
    session.select().unwrap();
    session
        .verify(
            tessera_piv::KeyRef::PIN,
            &tessera_piv::PaddedPin::new(b"123456").unwrap(),
        )
        .unwrap();
    session
}

/// An AES-128 management key of sixteen `byte`s.
fn aes128(byte: u8) -> tessera_piv::ManagementKey {
    tessera_piv::ManagementKey::new(tessera_piv::ManagementAlgorithm::Aes128, &[byte; 16]).unwrap()
}

/// The PIN-protected data 5FC109 of the card file at `path`, and its AES-128 key in 89.
fn stored_protected(
    path: &std::path::Path,
) -> (tessera_piv::objects::ProtectedData, tessera_piv::ManagementKey) {
    use tessera_piv::objects::{ProtectedData, tags};
    let bytes = card_session(path)
        .get_data(tags::PRINTED_INFORMATION)
        .unwrap()
        .unwrap();
    let stored = ProtectedData::try_from(bytes.as_slice()).unwrap();
    let key = stored
        .management_key(tessera_piv::ManagementAlgorithm::Aes128)
        .unwrap()
        .unwrap();
    (stored, key)
}

/// Writes 5FC109 of the card file at `path` as an interrupted change leaves it: `current` in 89 and
/// `previous` beside it (C1), with the card's key `card_key`.
fn put_mid_change(
    path: &std::path::Path,
    card_key: &tessera_piv::ManagementKey,
    current: &tessera_piv::ManagementKey,
    previous: &tessera_piv::ManagementKey,
) {
    use tessera_piv::objects::{ProtectedData, tags};
    let mut session = card_session(path);
    session.authenticate_management_key(card_key).unwrap();
    let mut data = ProtectedData::with_management_key(current);
    data.set_previous_management_key(Some(previous));
    session
        .put_data(tags::PRINTED_INFORMATION, &data.encode().unwrap())
        .unwrap();
}

#[test]
fn a_pin_protected_key_change_cut_before_the_card_took_the_new_key_falls_back_to_the_previous_key() {
    let (_dir, path) = card();
    let p = s(&path);
    let generate = |slot: &str, code: i32| {
        tessera(
            &["keys", "generate", slot, "--pin-stdin", "--virtual", p],
            "123456\n",
        )
        .expect(code)
    };
    tessera(
        &[
            "management-key",
            "protect",
            "--algorithm",
            "aes128",
            "--pin-stdin",
            "--virtual",
            p,
        ],
        "123456\n",
    )
    .expect(0);
    // 5FC109 as a change cut before SET MANAGEMENT KEY leaves it: a key the card never took in 89, the
    // key the card still has beside it.
    let (_, card_key) = stored_protected(&path);
    put_mid_change(&path, &card_key, &aes128(0x5A), &card_key);
    let run = generate("9c", 0);
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);

    // The change made again: the card's key, then 5FC109 holds the new key alone.
    tessera(
        &[
            "management-key",
            "set",
            "--generate",
            "--protect",
            "--algorithm",
            "aes128",
            "--pin-stdin",
            "--virtual",
            p,
        ],
        "123456\n",
    )
    .expect(0);
    let (stored, card_key) = stored_protected(&path);
    assert_eq!(
        stored.previous_management_key_bytes(),
        None,
        "no key left beside the new one"
    );
    generate("9a", 0);

    // Neither key the card's: refused, exit 7.
    put_mid_change(&path, &card_key, &aes128(0x6B), &aes128(0x7C));
    let run = generate("9c", 7);
    assert!(run.stderr.contains("previous key"), "{}", run.stderr);
}
