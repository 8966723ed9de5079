//! `tessera pin change|unblock|retries` and `tessera puk change`: secrets from standard input, every
//! failure with its exit code (wrong PIN with tries left 5, blocked 6), and no secret ever echoed.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;
use common::{card, info, s, tessera};

/// `tessera pin|puk COMMAND --pin-stdin --virtual CARD` with the secrets on standard input.
fn secret_command(card: &str, [object, command]: [&str; 2], stdin: &str) -> common::Run {
    tessera(&[object, command, "--pin-stdin", "--virtual", card], stdin)
}

#[test]
fn change_wrong_pin_block_and_unblock() {
    let (_dir, path) = card();
    let p = s(&path);
    secret_command(p, ["pin", "change"], "123456\n24681357\n").expect(0);
    // The old PIN is wrong now: exit 5 with the tries left, and the secret is not printed.
    let run = secret_command(p, ["pin", "change"], "123456\n11112222\n").expect(5);
    assert!(run.stderr.contains("wrong PIN: 2 tries left"), "{}", run.stderr);
    assert!(!run.stderr.contains("123456") && !run.stdout.contains("123456"));
    assert_eq!(info(&path)["pin"]["remaining"], 2);
    let run = secret_command(p, ["pin", "change"], "000000\n11112222\n").expect(5);
    assert!(run.stderr.contains("wrong PIN: 1 try left"), "{}", run.stderr);
    secret_command(p, ["pin", "change"], "000000\n11112222\n").expect(5);
    // Blocked now: exit 6, and the hint names the PUK.
    let run = secret_command(p, ["pin", "change"], "24681357\n11112222\n").expect(6);
    assert!(run.stderr.contains("the PIN is blocked"), "{}", run.stderr);
    assert!(run.stderr.contains("tessera pin unblock"), "{}", run.stderr);
    let text = tessera(&["info", "--virtual", p], "").expect(0).stdout;
    assert!(text.contains("PIN:             blocked"), "{text}");
    // A wrong PUK: exit 5, PUK tries counted.
    let run = secret_command(p, ["pin", "unblock"], "00000000\n123456\n").expect(5);
    assert!(run.stderr.contains("wrong PUK: 2 tries left"), "{}", run.stderr);
    secret_command(p, ["pin", "unblock"], "12345678\n654321\n").expect(0);
    let v = info(&path);
    assert_eq!(v["pin"]["remaining"], 3);
    assert_eq!(v["pin"]["default"], false);
    secret_command(p, ["pin", "change"], "654321\n123456\n").expect(0);
}

#[test]
fn new_values_are_checked_before_the_card_sees_them() {
    let (_dir, path) = card();
    let p = s(&path);
    let run = secret_command(p, ["pin", "change"], "123456\n12345\n").expect(12);
    assert!(run.stderr.contains("6 to 8 characters"), "{}", run.stderr);
    // Nothing was spent or changed.
    assert_eq!(info(&path)["pin"]["remaining"], 3);
    let run = secret_command(p, ["pin", "change"], "123456\n").expect(12);
    assert!(run.stderr.contains("standard input ended"), "{}", run.stderr);
    // Without a terminal and without --pin-stdin the command says how to give the PIN.
    let run = tessera(&["pin", "change", "--virtual", p], "").expect(12);
    assert!(run.stderr.contains("--pin-stdin"), "{}", run.stderr);
}

#[test]
fn a_pin_on_the_command_line_works_with_a_warning() {
    let (_dir, path) = card();
    let run = tessera(
        &[
            "certificates",
            "request",
            "9a",
            "--subject",
            "CN=x",
            "--pin",
            "123456",
            "--virtual",
            s(&path),
        ],
        "",
    );
    // 9A is empty: the request fails for that reason, after the warning about argv.
    assert!(
        run.stderr.contains("other users of this machine"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 12, "{}", run.stderr);
}

#[test]
fn retries_show_and_set() {
    let (_dir, path) = card();
    let p = s(&path);
    let run = tessera(&["pin", "retries", "--virtual", p], "").expect(0);
    assert!(run.stdout.contains("PIN tries left: 3 of 3"), "{}", run.stdout);
    assert!(run.stdout.contains("PUK tries left: 3 of 3"), "{}", run.stdout);
    tessera(
        &["pin", "retries", "--set", "5", "7", "--pin-stdin", "--virtual", p],
        "123456\n",
    )
    .expect(0);
    let v = info(&path);
    assert_eq!(v["pin"]["total"], 5);
    assert_eq!(v["puk"]["total"], 7);
    tessera(&["pin", "retries", "--set", "0", "7", "--virtual", p], "").expect(12);
}

#[test]
fn puk_change() {
    let (_dir, path) = card();
    let p = s(&path);
    secret_command(p, ["puk", "change"], "12345678\n87654321\n").expect(0);
    assert_eq!(info(&path)["puk"]["default"], false);
    let run = secret_command(p, ["puk", "change"], "12345678\n11111111\n").expect(5);
    assert!(run.stderr.contains("wrong PUK"), "{}", run.stderr);
    // The new PUK unblocks.
    for _ in 0..3 {
        let _ = tessera(
            &["pin", "change", "--pin-stdin", "--virtual", p],
            "000000\n111111\n",
        );
    }
    secret_command(p, ["pin", "unblock"], "87654321\n123456\n").expect(0);
}
