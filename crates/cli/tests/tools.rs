//! `tessera check`, `virtual-card create|serve`, `trace`, `register`, `completions`, `--help` and
//! usage errors.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

mod common;
use common::{card, s, tessera};

#[test]
fn check_builtin_reports_text_and_json() {
    let run = tessera(&["check", "--builtin", "--suite", "acquire"], "").expect(0);
    let last = run.stdout.lines().last().unwrap();
    assert!(last.ends_with("passed, 0 failed"), "{last}");
    let run = tessera(&["check", "--builtin", "--suite", "unsupported", "--json"], "").expect(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["failed"], 0);
    assert!(report["passed"].as_u64().unwrap() > 5);
    assert!(
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["suite"] == "unsupported")
    );
}

#[test]
fn check_refuses_what_it_cannot_run() {
    let run = tessera(&["check"], "").expect(12);
    assert!(run.stderr.contains("--builtin"), "{}", run.stderr);
    let run = tessera(&["check", "--builtin", "--suite", "nonsense"], "").expect(12);
    assert!(run.stderr.contains("unknown suite"), "{}", run.stderr);
    let run = tessera(&["check", "--module", "/nonexistent.so", "--reader", "R"], "").expect(12);
    assert!(run.stderr.contains("cannot load"), "{}", run.stderr);
    tessera(&["check", "--module", "/nonexistent.so"], "").expect(2);
}

#[test]
fn virtual_card_create_refuses_to_overwrite() {
    let (_dir, path) = card();
    let before = std::fs::read(&path).unwrap();
    let run = tessera(&["virtual-card", "create", s(&path)], "").expect(12);
    assert!(run.stderr.contains("exists already"), "{}", run.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// vpcd's side of the bridge: length-prefixed messages over TCP.
fn exchange(stream: &mut std::net::TcpStream, message: &[u8]) -> Vec<u8> {
    let len = u16::try_from(message.len()).unwrap().to_be_bytes();
    stream.write_all(&len).unwrap();
    stream.write_all(message).unwrap();
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).unwrap();
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(header))];
    stream.read_exact(&mut answer).unwrap();
    answer
}

#[test]
fn serve_attaches_the_card_file_to_a_vpcd_socket_and_stops_on_sigterm() {
    let (_dir, path) = card();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["virtual-card", "serve", "--state", s(&path), "--vpcd", &address])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // GET ATR, then SELECT PIV: the card in the file answers.
    let atr = exchange(&mut stream, &[0x04]);
    assert_eq!(atr.first(), Some(&0x3B), "{atr:02X?}");
    let select = exchange(
        &mut stream,
        &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08],
    );
    assert_eq!(&select[select.len() - 2..], &[0x90, 0x00]);
    // Stop it as a service manager would.
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("connected to vpcd"), "{stderr}");
}

#[test]
fn trace_runs_the_command_with_the_module_log_and_keeps_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let card_path = dir.path().join("demo.json");
    tessera(&["demo", "--virtual", s(&card_path)], "").expect(0);
    let log = dir.path().join("md.log");
    let me = env!("CARGO_BIN_EXE_tessera");
    let run = tessera(
        &[
            "trace",
            "--log",
            s(&log),
            "--",
            me,
            "info",
            "--windows",
            "--virtual",
            s(&card_path),
        ],
        "",
    )
    .expect(0);
    assert!(run.stdout.contains("AT_KEYEXCHANGE"), "{}", run.stdout);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("CardAcquireContext"), "{text}");
    assert!(text.contains("CardReadFile"), "{text}");
    assert!(run.stderr.contains("card module log"), "{}", run.stderr);
    // The traced command's failure is the trace's exit code.
    let missing = dir.path().join("none.json");
    tessera(&["trace", "--", me, "info", "--virtual", s(&missing)], "").expect(3);
    tessera(&["trace", "--", "/nonexistent/program"], "").expect(12);
}

#[test]
fn register_explains_that_it_is_windows_only() {
    let run = tessera(&["register"], "").expect(9);
    assert!(run.stderr.contains("Windows-only"), "{}", run.stderr);
    tessera(&["register", "--unregister"], "").expect(9);
}

#[test]
fn completions_and_help_with_examples() {
    let run = tessera(&["completions", "bash"], "").expect(0);
    assert!(
        run.stdout.contains("_tessera()"),
        "{}",
        &run.stdout[..200.min(run.stdout.len())]
    );
    tessera(&["completions", "zsh"], "").expect(0);
    for command in [
        vec!["demo"],
        vec!["info"],
        vec!["keys", "generate"],
        vec!["keys", "import"],
        vec!["keys", "delete"],
        vec!["keys", "attest"],
        vec!["certificates", "import"],
        vec!["certificates", "export"],
        vec!["certificates", "delete"],
        vec!["certificates", "request"],
        vec!["certificates", "selfsign"],
        vec!["pin", "change"],
        vec!["pin", "unblock"],
        vec!["pin", "retries"],
        vec!["puk", "change"],
        vec!["management-key", "set"],
        vec!["management-key", "protect"],
        vec!["container-map", "show"],
        vec!["container-map", "repair"],
        vec!["reset"],
        vec!["check"],
        vec!["virtual-card", "create"],
        vec!["virtual-card", "serve"],
        vec!["trace"],
        vec!["register"],
        vec!["completions"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let run = tessera(&args, "").expect(0);
        assert!(
            run.stdout.contains("Example"),
            "no example in `tessera {}`",
            command.join(" ")
        );
    }
    let run = tessera(&["--help"], "").expect(0);
    assert!(run.stdout.contains("Exit codes"), "{}", run.stdout);
}

#[test]
fn usage_errors_are_exit_2() {
    tessera(&["no-such-command"], "").expect(2);
    tessera(&["info", "--reader", "R", "--virtual", "f"], "").expect(2);
}
