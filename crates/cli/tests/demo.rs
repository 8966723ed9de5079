//! `tessera demo`: every step passes on the embedded card, the table sums the steps, and a card kept with
//! `--virtual` holds what the demo enrolled, readable by the other commands.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;
use common::{info, s, slot, tessera};

#[test]
fn the_demo_passes_every_step_and_prints_the_summary() {
    let run = tessera(&["demo"], "").expect(0);
    let out = &run.stdout;
    for step in [
        "enroll RSA-2048 (9A)",
        "acquire context",
        "read cardid, cardcf, cmapfile",
        "container info",
        "log on (PIN)",
        "sign RSA (PKCS#1 SHA-256)",
        "sign ECDSA P-256",
        "decrypt RSA-OAEP",
        "ECDH + TLS 1.2 PRF",
        "change PIN",
        "block PIN (wrong PINs)",
        "unblock PIN with PUK",
        "delete context",
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(step) && l.contains("APDUs"))
            .unwrap_or_else(|| panic!("no line for {step:?} in\n{out}"));
        assert!(line.contains(" ok "), "{line}");
    }
    assert!(out.contains("verified with the certificate's RSA key"), "{out}");
    assert!(out.contains("SCARD_W_CHV_BLOCKED"), "{out}");
    // The step lines say which path each step takes.
    let through = |step: &str| out.lines().find(|l| l.contains(step)).unwrap().to_owned();
    assert!(through("enroll P-256").contains("tessera-piv"));
    assert!(through("decrypt RSA-OAEP").contains("module"));
    // The summary: one row per step, then the count and the APDU total, which is the sum of the rows.
    let summary = out.lines().find(|l| l.contains("steps passed")).unwrap();
    assert!(summary.starts_with("14 of 14 steps passed"), "{summary}");
    let total: u64 = summary
        .split("; ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let header = out.lines().position(|l| l.starts_with('#')).unwrap();
    let rows: Vec<&str> = out.lines().skip(header + 1).take(14).collect();
    let sum: u64 = rows
        .iter()
        .map(|r| r.split_whitespace().rev().nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, total, "{out}");
    assert!(total > 30, "the flow costs card traffic: {total}");
}

#[test]
fn a_kept_card_holds_the_enrolled_keys_for_the_other_commands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.json");
    tessera(&["demo", "--virtual", s(&path)], "").expect(0);
    assert!(path.exists());
    let info = info(&path);
    assert_eq!(slot(&info, "9A").unwrap()["algorithm"], "RSA-2048");
    assert_eq!(slot(&info, "9D").unwrap()["algorithm"], "ECC-P256");
    assert_eq!(
        slot(&info, "9A").unwrap()["certificate"]["subject"],
        "CN=Tessera demo RSA,O=Tessera"
    );
    // The PIN is back at its value after the unblock, with every try.
    assert_eq!(info["pin"]["remaining"], 3);
    // A second run on the same card passes too (the slots are overwritten).
    tessera(&["demo", "--virtual", s(&path)], "").expect(0);
}

#[test]
fn the_demo_enrolls_on_a_card_with_a_pin_protected_management_key() {
    let (_dir, path) = common::card();
    tessera(
        &["management-key", "protect", "--pin-stdin", "--virtual", s(&path)],
        "123456\n",
    )
    .expect(0);
    let run = tessera(&["demo", "--virtual", s(&path)], "").expect(0);
    assert!(run.stdout.contains("14 of 14 steps passed"), "{}", run.stdout);
    assert_eq!(info(&path)["management_key"]["pin_protected"], true);
}
