//! Running `tessera` in tests: exit code, standard output and standard error of one invocation.
#![allow(dead_code, reason = "each test crate uses a part of the helpers")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::path::{Path, PathBuf};

/// What one run gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the output unless the exit code is `code`.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// `tessera ARGS` with `stdin` written to its standard input, in a new session without a controlling
/// terminal (util-linux `setsid`), so that no test can stop at a prompt even when the tests run from a
/// terminal. PC/SC is pointed at a socket that does not exist, so no pcscd on the machine can change the
/// outcome; colour is off.
pub fn tessera(args: &[&str], stdin: &str) -> Run {
    let mut command = assert_cmd::Command::new("setsid");
    command.args(["--wait", env!("CARGO_BIN_EXE_tessera")]);
    run(command, args, stdin)
}

fn run(mut command: assert_cmd::Command, args: &[&str], stdin: &str) -> Run {
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env("PCSCLITE_CSOCK_NAME", "/nonexistent/tessera-test/pcscd.comm")
        .env_remove("TESSERA_MD_LOG")
        .write_stdin(stdin);
    outcome(command)
}

/// `tessera ARGS` with `stdin`, against the machine's PC/SC service (in the pcsc tier, the private
/// pcscd with the virtual card); colour is off.
pub fn tessera_pcsc(args: &[&str], stdin: &str) -> Run {
    let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_tessera"));
    command.args(args).env("NO_COLOR", "1").write_stdin(stdin);
    outcome(command)
}

/// Runs `command` to its end: exit code (-1 when killed by a signal) and output.
fn outcome(mut command: assert_cmd::Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A new virtual card file in a temporary directory (kept alive by the returned guard).
pub fn card() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    tessera(&["virtual-card", "create", path.to_str().unwrap()], "").expect(0);
    (dir, path)
}

/// `path` as `&str`.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `tessera info --json --virtual FILE`, parsed.
pub fn info(path: &Path) -> serde_json::Value {
    let run = tessera(&["info", "--json", "--virtual", s(path)], "").expect(0);
    serde_json::from_str(&run.stdout).unwrap()
}

/// The slot entry of `info`, when present.
pub fn slot<'a>(info: &'a serde_json::Value, slot: &str) -> Option<&'a serde_json::Value> {
    info["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot"] == slot)
}
