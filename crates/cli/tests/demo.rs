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
        "acquire context",
        "enroll RSA-2048 (key exchange)",
        "enroll ECDSA P-256",
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
    // Enrollment and PIN administration go through the module's write entry points.
    let line = |step: &str| out.lines().find(|l| l.contains(step)).unwrap().to_owned();
    assert!(
        line("enroll RSA-2048").contains("CardCreateContainerEx(KEY_GEN)"),
        "{out}"
    );
    assert!(line("change PIN").contains("CardChangeAuthenticatorEx(CHANGEPIN) → SCARD_S_SUCCESS"));
    assert!(line("unblock PIN").contains("CardUnblockPin(user, PUK) → SCARD_S_SUCCESS"));
    assert!(line("container info").contains("ECDH P-256 twin"), "{out}");
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
    let kept = info(&path);
    assert_eq!(slot(&kept, "9A").unwrap()["algorithm"], "RSA-2048");
    assert_eq!(slot(&kept, "9D").unwrap()["algorithm"], "ECC-P256");
    assert_eq!(
        slot(&kept, "9A").unwrap()["certificate"]["subject"],
        "CN=Tessera demo RSA,O=Tessera"
    );
    // The PIN is back at its value after the unblock, with every try.
    assert_eq!(kept["pin"]["remaining"], 3);
    // The module protected the factory-default management key before its first write (its default
    // policy), and left the PUK usable (the demo's policy).
    assert_eq!(kept["management_key"]["pin_protected"], true);
    assert_eq!(kept["puk"]["remaining"], 3, "{kept}");
    // A second run on the same card deletes the first run's containers and enrolls in the same slots.
    let again = tessera(&["demo", "--virtual", s(&path)], "").expect(0);
    assert!(
        again.stdout.contains("2 containers of an earlier demo deleted"),
        "{}",
        again.stdout
    );
    let rerun = info(&path);
    assert_eq!(slot(&rerun, "9A").unwrap()["algorithm"], "RSA-2048");
    assert_eq!(slot(&rerun, "9D").unwrap()["algorithm"], "ECC-P256");
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
