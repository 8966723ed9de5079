//! The byte-exact command/response suite: `tests/data/command_response.txt` (format described at the top
//! of that file) run in-process against seeded cards. It also checks its own coverage: every instruction
//! the card implements is sent, and every status word the acceptance criteria name is expected somewhere.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use std::collections::{BTreeMap, BTreeSet};

use tessera_piv::hex::HexBytes;
use tessera_piv::{AlgorithmId, ManagementKey};
use tessera_virtual_card::{CardConfig, VirtualCard};

const SUITE: &str = include_str!("data/command_response.txt");

#[derive(Debug, Clone)]
enum Token {
    Byte(u8),
    Any(usize),
    AnyRest,
    Capture(String, usize),
    Ref(String),
}

fn tokenize(line: &str, line_no: usize) -> Vec<Token> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let bad = |what: &str| -> ! { panic!("line {line_no}: {what} in `{line}`") };
    // The text between the opening character at `at` and the next `close`, and where `close` stands.
    let group = |at: usize, close: char| -> (String, usize) {
        let end = chars[at..]
            .iter()
            .position(|&c| c == close)
            .unwrap_or_else(|| bad(&format!("unclosed {}", chars[at])))
            + at;
        (chars[at + 1..end].iter().collect(), end)
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '*' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j == start {
                tokens.push(Token::AnyRest);
            } else {
                let n: String = chars[start..j].iter().collect();
                tokens.push(Token::Any(n.parse().unwrap()));
            }
            i = j;
        } else if c == '{' {
            let (inner, end) = group(i, '}');
            match inner.split_once(':') {
                Some((name, n)) => tokens.push(Token::Capture(
                    name.into(),
                    n.parse().unwrap_or_else(|_| bad("count")),
                )),
                None => tokens.push(Token::Ref(inner)),
            }
            i = end + 1;
        } else if c == '[' {
            // [N*HH]: N copies of byte HH.
            let (inner, end) = group(i, ']');
            let (n, byte) = inner.split_once('*').unwrap_or_else(|| bad("repeat"));
            let n: usize = n.trim().parse().unwrap_or_else(|_| bad("repeat count"));
            let byte = u8::from_str_radix(byte.trim(), 16).unwrap_or_else(|_| bad("repeat byte"));
            tokens.extend(std::iter::repeat_n(Token::Byte(byte), n));
            i = end + 1;
        } else {
            let pair: String = chars
                .get(i..i + 2)
                .unwrap_or_else(|| bad("odd hex"))
                .iter()
                .collect();
            tokens.push(Token::Byte(
                u8::from_str_radix(&pair, 16).unwrap_or_else(|_| bad("hex")),
            ));
            i += 2;
        }
    }
    tokens
}

fn command_bytes(tokens: &[Token], vars: &BTreeMap<String, Vec<u8>>, line_no: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tokens {
        match t {
            Token::Byte(b) => out.push(*b),
            Token::Ref(name) => out.extend_from_slice(
                vars.get(name)
                    .unwrap_or_else(|| panic!("line {line_no}: no {name}")),
            ),
            other => panic!("line {line_no}: {other:?} not allowed in a command"),
        }
    }
    out
}

/// Matches `bytes` against `tokens`, filling `captures`. `*` is lazy and backtracks (the only recursion).
fn matches(
    tokens: &[Token],
    bytes: &[u8],
    vars: &BTreeMap<String, Vec<u8>>,
    captures: &mut BTreeMap<String, Vec<u8>>,
) -> bool {
    let mut pos = 0;
    for (i, token) in tokens.iter().enumerate() {
        let rest = &bytes[pos..];
        match token {
            Token::Byte(b) => {
                if rest.first() != Some(b) {
                    return false;
                }
                pos += 1;
            }
            Token::Any(n) => {
                if rest.len() < *n {
                    return false;
                }
                pos += n;
            }
            Token::AnyRest => {
                return (0..=rest.len()).any(|k| matches(&tokens[i + 1..], &rest[k..], vars, captures));
            }
            Token::Capture(name, n) => {
                if rest.len() < *n {
                    return false;
                }
                captures.insert(name.clone(), rest[..*n].to_vec());
                pos += n;
            }
            Token::Ref(name) => {
                let v = captures
                    .get(name)
                    .or_else(|| vars.get(name))
                    .cloned()
                    .unwrap_or_default();
                if !rest.starts_with(&v) {
                    return false;
                }
                pos += v.len();
            }
        }
    }
    pos == bytes.len()
}

fn expect_ok(card: &mut VirtualCard, apdu: &[u8], what: &str) -> Vec<u8> {
    let r = card.process_apdu(apdu);
    assert_eq!(&r[r.len() - 2..], &[0x90, 0x00], "{what}: {}", HexBytes(&r));
    r[..r.len() - 2].to_vec()
}

/// GENERAL AUTHENTICATE with the management key: `00 87 ALG 9B Lc 7C L TEMPLATE`, asserting
/// success; returns the card's dynamic authentication template (`7C L …`).
fn general_authenticate(card: &mut VirtualCard, alg: u8, template: &[u8], what: &str) -> Vec<u8> {
    let mut apdu = vec![
        0x00,
        0x87,
        alg,
        0x9B,
        (template.len() + 2) as u8,
        0x7C,
        template.len() as u8,
    ];
    apdu.extend_from_slice(template);
    expect_ok(card, &apdu, what)
}

/// One element `TAG LEN VALUE` of a dynamic authentication template.
fn element(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut e = vec![tag, value.len() as u8];
    e.extend_from_slice(value);
    e
}

/// `! mgm-auth ALG KEY`: mutual authentication, asserting success and the card's proof.
fn mutual_auth(card: &mut VirtualCard, alg: u8, key: &ManagementKey) {
    let witness = general_authenticate(card, alg, &[0x80, 0x00], "witness");
    let block = key.algorithm().block_len();
    let decrypted = key.decrypt_block(&witness[4..4 + block]).unwrap();
    let challenge = vec![0x5A; block];
    let body = [element(0x80, &decrypted), element(0x81, &challenge)].concat();
    let proof = general_authenticate(card, alg, &body, "mutual response");
    assert_eq!(
        &proof[4..],
        &key.encrypt_block(&challenge).unwrap()[..],
        "card proof"
    );
}

/// `! mgm-external ALG KEY`: external authentication.
fn external_auth(card: &mut VirtualCard, alg: u8, key: &ManagementKey) {
    let challenge = general_authenticate(card, alg, &[0x81, 0x00], "challenge");
    let block = key.algorithm().block_len();
    let response = key.encrypt_block(&challenge[4..4 + block]).unwrap();
    general_authenticate(card, alg, &element(0x82, &response), "external response");
}

/// The values of `wanted` that `seen` lacks, in upper-case hex (the width of the value's type).
fn not_in<T: Ord + std::fmt::UpperHex>(wanted: &[T], seen: &BTreeSet<T>) -> Vec<String> {
    let width = 2 * size_of::<T>();
    wanted
        .iter()
        .filter(|v| !seen.contains(v))
        .map(|v| format!("{v:0width$X}"))
        .collect()
}

fn management_key(alg: &str, key_hex: &str) -> (u8, ManagementKey) {
    let alg = u8::from_str_radix(alg, 16).unwrap();
    let key = hex::decode(key_hex).unwrap();
    let algorithm = AlgorithmId(alg).management().unwrap();
    (
        alg,
        ManagementKey::new_unchecked_strength(algorithm, &key).unwrap(),
    )
}

#[test]
fn command_response_suite() {
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut exchanges = 0;
    let mut instructions = BTreeSet::new();
    let mut expected_sws = BTreeSet::new();
    let mut card: Option<VirtualCard> = None;
    let mut vars: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut case_name = String::new();
    let mut last_command: Option<(usize, Vec<u8>)> = None;
    for (index, raw) in SUITE.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("==") {
            case_name = name.trim().to_string();
            card = Some(VirtualCard::new(CardConfig::seeded(1)).unwrap());
            vars.clear();
            cases += 1;
            continue;
        }
        let card = card
            .as_mut()
            .unwrap_or_else(|| panic!("line {line_no}: no case started"));
        if let Some(cmd) = line.strip_prefix('>') {
            if let Some((prev, _)) = last_command.take() {
                panic!("line {prev}: command without expected response");
            }
            let apdu = command_bytes(&tokenize(cmd, line_no), &vars, line_no);
            instructions.insert(apdu[1]);
            last_command = Some((line_no, apdu));
        } else if let Some(pattern) = line.strip_prefix('<') {
            let (cmd_line, apdu) = last_command
                .take()
                .unwrap_or_else(|| panic!("line {line_no}: response without command"));
            let tokens = tokenize(pattern, line_no);
            let sw: Vec<u8> = tokens
                .iter()
                .rev()
                .take(2)
                .filter_map(|t| if let Token::Byte(b) = t { Some(*b) } else { None })
                .collect();
            if sw.len() == 2 {
                expected_sws.insert(u16::from_be_bytes([sw[1], sw[0]]));
            }
            let response = card.process_apdu(&apdu);
            exchanges += 1;
            let mut captures = BTreeMap::new();
            if matches(&tokens, &response, &vars, &mut captures) {
                vars.extend(captures);
            } else {
                failures.push(format!(
                    "[{case_name}] line {cmd_line}: > {}\n    expected < {}\n    got      < {}",
                    HexBytes(&apdu),
                    pattern.trim(),
                    HexBytes(&response)
                ));
            }
        } else if let Some(directive) = line.strip_prefix('!') {
            let words: Vec<&str> = directive.split_whitespace().collect();
            match words.as_slice() {
                ["reset"] => card.power_cycle(),
                ["select"] => {
                    expect_ok(
                        card,
                        &hex::decode("00A4040009A0000003080000100000").unwrap(),
                        "select",
                    );
                }
                ["verify", pin] => {
                    let mut apdu = vec![0x00, 0x20, 0x00, 0x80, 0x08];
                    let mut padded = pin.as_bytes().to_vec();
                    padded.resize(8, 0xFF);
                    apdu.extend_from_slice(&padded);
                    expect_ok(card, &apdu, "verify");
                }
                ["mgm-auth", alg, key] => {
                    let (alg, key) = management_key(alg, key);
                    mutual_auth(card, alg, &key);
                }
                ["mgm-external", alg, key] => {
                    let (alg, key) = management_key(alg, key);
                    external_auth(card, alg, &key);
                }
                other => panic!("line {line_no}: unknown directive {other:?}"),
            }
        } else {
            panic!("line {line_no}: cannot read `{line}`");
        }
    }
    println!("{cases} cases, {exchanges} exchanges");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let implemented = [
        0xA4, 0xCB, 0xDB, 0x20, 0x24, 0x2C, 0x87, 0x47, 0xC0, 0xFD, 0xF8, 0xF7, 0xFF, 0xFE, 0xF9, 0xF6, 0xFA,
        0xFB,
    ];
    let missing = not_in(&implemented, &instructions);
    assert!(missing.is_empty(), "instructions never sent: {missing:?}");
    let required = [
        0x63C2, 0x6983, 0x6982, 0x6A80, 0x6A82, 0x6A84, 0x6A86, 0x6D00, 0x6700, 0x6A88, 0x6985, 0x6E00,
    ];
    let absent = not_in(&required, &expected_sws);
    assert!(absent.is_empty(), "status words never expected: {absent:?}");
}
