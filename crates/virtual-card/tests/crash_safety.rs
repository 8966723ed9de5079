//! Crash safety of the state file: a child process runs a 100-command scripted session against a
//! file-backed card and is killed (SIGKILL) at random moments. After each kill the state file must parse
//! and equal the state before or after the command that was interrupted — never a torn mix.
//!
//! A PIN check writes the file twice (the spent try before the comparison, then the restored counter),
//! so a kill inside one may also leave the state with that one try spent.
//!
//! The child is this test binary itself, re-run with the ignored test `crash_child` selected; it reports
//! its progress on stdout (`crash-step start N` / `crash-step done N`). The expected states come from the
//! same seeded script run in-process.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tessera_piv::{ManagementAlgorithm, ManagementKey};
use tessera_virtual_card::store::parse_state;
use tessera_virtual_card::{CardConfig, VirtualCard};

const SEED: u64 = 31;
const STEPS: usize = 100;
const STATE_ENV: &str = "TESSERA_CRASH_STATE";

enum Step {
    Apdu(Vec<u8>),
    /// The second half of management-key mutual authentication, computed from the previous answer.
    MgmResponse,
}

fn apdu(hex_str: &str) -> Step {
    Step::Apdu(hex::decode(hex_str.replace(' ', "")).unwrap())
}

fn put(tag_low: u8, len: usize, fill: u8) -> Step {
    let mut content = vec![0x53, 0x82, (len >> 8) as u8, len as u8];
    content.extend(std::iter::repeat_n(fill, len));
    let mut data = vec![0x5C, 0x03, 0x5F, 0xFF, tag_low];
    data.extend_from_slice(&content);
    let mut cmd = vec![
        0x00,
        0xDB,
        0x3F,
        0xFF,
        0x00,
        (data.len() >> 8) as u8,
        data.len() as u8,
    ];
    cmd.extend_from_slice(&data);
    Step::Apdu(cmd)
}

fn pin_block(pin: &str) -> String {
    let mut s = hex::encode(pin);
    while s.len() < 16 {
        s.push_str("ff");
    }
    s
}

/// The scripted session: exactly [`STEPS`] APDU exchanges.
fn script() -> Vec<Step> {
    let mut steps = vec![
        apdu("00A4040009A0000003080000100000"),
        apdu("0087039B047C028000"),
        Step::MgmResponse,
    ];
    for i in 3..STEPS {
        let block = i / 8;
        let current_pin = if block % 2 == 0 { "123456" } else { "654321" };
        steps.push(match i % 8 {
            0 => put(0x20 + (i % 24) as u8, 1 + (i * 523) % 3000, i as u8),
            1 => apdu("0020008008 313131313131ffff"),
            2 => apdu(&format!("0020008008 {}", pin_block(current_pin))),
            3 => apdu(&format!("00470 0{:02X} 05 AC03800111 00", 0x82 + (i % 20)).replace(' ', "")),
            4 => {
                let next = if block % 2 == 0 { "654321" } else { "123456" };
                apdu(&format!(
                    "0024008010 {} {}",
                    pin_block(current_pin),
                    pin_block(next)
                ))
            }
            5 => apdu(&format!("00DB3FFF07 5C035FFF{:02X} 5300", 0x20 + ((i + 8) % 24))),
            6 => apdu(&format!(
                "00F6{:02X}{:02X}",
                0x95 - (i % 20),
                0x82 + ((i - 3) % 20)
            )),
            _ => apdu("00CB3FFF055C035FC10200"),
        });
    }
    assert_eq!(steps.len(), STEPS);
    steps
}

fn run_step(card: &mut VirtualCard, step: &Step, last: &[u8]) -> Vec<u8> {
    match step {
        Step::Apdu(a) => card.process_apdu(a),
        Step::MgmResponse => {
            let key = ManagementKey::default_for(ManagementAlgorithm::Tdes).unwrap();
            let witness = key.decrypt_block(&last[4..12]).unwrap();
            let mut cmd = hex::decode("0087039B167C148008").unwrap();
            cmd.extend_from_slice(&witness);
            cmd.extend_from_slice(&[0x81, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
            card.process_apdu(&cmd)
        }
    }
}

/// The credential a step checks (`pin` or `puk`), if it is a PIN or PUK check.
fn checked_credential(step: &Step) -> Option<&'static str> {
    let Step::Apdu(apdu) = step else {
        return None;
    };
    match apdu.as_slice() {
        [_, 0x20, 0x00, 0x80, _, ..] | [_, 0x24, 0x00, 0x80, ..] => Some("pin"),
        [_, 0x24, 0x00, 0x81, ..] | [_, 0x2C, ..] => Some("puk"),
        _ => None,
    }
}

/// `state` with one try of `credential` spent: what the file holds between the two writes of a check.
fn with_try_spent(state: &serde_json::Value, credential: &str) -> serde_json::Value {
    let mut spent = state.clone();
    let left = &mut spent[credential]["retries_left"];
    *left = (left.as_u64().unwrap().saturating_sub(1)).into();
    spent
}

fn state_value(path: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(path).ok()?;
    let state = parse_state(path, &bytes).unwrap_or_else(|e| panic!("torn or invalid state file: {e}"));
    Some(serde_json::to_value(&state).unwrap())
}

/// The child process: runs the script against the card in `$TESSERA_CRASH_STATE`.
#[test]
#[ignore = "entry point of the crash-safety child process"]
fn crash_child() {
    // Started by itself (e.g. with --include-ignored) it has no card to work on: that is a failure.
    let path = std::env::var(STATE_ENV).unwrap_or_else(|_| {
        panic!("{STATE_ENV} is not set: crash_child runs only as the child of the crash-safety test")
    });
    let say = |line: String| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    let mut card = VirtualCard::open(Path::new(&path), CardConfig::seeded(SEED)).unwrap();
    say("crash-step created".into());
    let mut last = Vec::new();
    for (i, step) in script().iter().enumerate() {
        say(format!("crash-step start {i}"));
        last = run_step(&mut card, step, &last);
        say(format!("crash-step done {i}"));
    }
}

fn spawn_child(path: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(STATE_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// xorshift64*, seeded from the clock (the seed is printed so a failure can be replayed by hand).
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn killing_the_card_never_tears_its_state_file() {
    let dir = tempfile::tempdir().unwrap();
    // The states after creation and after each command, from an in-process run.
    let reference = dir.path().join("reference.json");
    let mut card = VirtualCard::open(&reference, CardConfig::seeded(SEED)).unwrap();
    let mut expected = vec![state_value(&reference).unwrap()];
    let mut last = Vec::new();
    for step in script() {
        last = run_step(&mut card, &step, &last);
        expected.push(state_value(&reference).unwrap());
    }
    let distinct = expected.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        distinct >= 50,
        "the script changes persistent state in only {distinct} commands"
    );

    // A complete child run: same final state (the script is deterministic), and its duration.
    let full = dir.path().join("full.json");
    let started = Instant::now();
    let mut child = spawn_child(&full);
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(child.wait().unwrap().success());
    let duration = started.elapsed();
    assert!(out.contains(&format!("crash-step done {}", STEPS - 1)), "{out}");
    assert_eq!(state_value(&full).as_ref(), expected.last());

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let steps = script();
    let mut jitter = Jitter(seed);
    let (mut mid_command, mut between, mut before_card) = (0, 0, 0);
    for round in 0..30 {
        let path = dir.path().join(format!("kill-{round}.json"));
        let mut child = spawn_child(&path);
        let delay = jitter.next() % (duration.as_micros() as u64).max(1);
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill();
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        child.wait().unwrap();
        let last_line = out
            .lines()
            .rfind(|l| l.starts_with("crash-step"))
            .map(str::to_owned);
        let state = state_value(&path);
        let context = format!("seed {seed}, round {round}, delay {delay} µs, last line {last_line:?}");
        match last_line
            .as_deref()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
        {
            None => {
                before_card += 1;
                assert!(
                    state.is_none() || state.as_ref() == Some(&expected[0]),
                    "{context}"
                );
            }
            Some(words) => match words.as_slice() {
                ["crash-step", "created"] => {
                    between += 1;
                    assert_eq!(state.as_ref(), Some(&expected[0]), "{context}");
                }
                ["crash-step", "start", n] => {
                    mid_command += 1;
                    let n: usize = n.parse().unwrap();
                    let state = state.unwrap();
                    let spent = checked_credential(&steps[n]).map(|c| with_try_spent(&expected[n], c));
                    assert!(
                        state == expected[n] || state == expected[n + 1] || Some(&state) == spent.as_ref(),
                        "{context}"
                    );
                }
                ["crash-step", "done", n] => {
                    between += 1;
                    let n: usize = n.parse().unwrap();
                    assert_eq!(state.as_ref(), Some(&expected[n + 1]), "{context}");
                }
                other => panic!("unexpected child output {other:?}"),
            },
        }
    }
    println!(
        "full run {duration:?}; 30 kills (seed {seed}): {mid_command} inside a command, {between} between commands, \
         {before_card} before the card existed"
    );
}
