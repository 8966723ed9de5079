//! The vpcd bridge against a stand-in for vpcd (a TCP listener speaking the vpcd framing): control
//! codes, APDUs, reconnection, clean shutdown, and the binary's command-line contract.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tessera_virtual_card::{ATR, vpcd};

fn send(stream: &mut TcpStream, payload: &[u8]) {
    let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    stream.write_all(&frame).unwrap();
}

fn receive(stream: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut payload).unwrap();
    payload
}

fn exchange(stream: &mut TcpStream, apdu: &str) -> Vec<u8> {
    send(stream, &hex::decode(apdu).unwrap());
    receive(stream)
}

fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(false).unwrap();
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

const SELECT: &str = "00A4040009A0000003080000100000";

#[test]
fn bridge_answers_control_codes_and_apdus_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let shutdown = Arc::new(AtomicBool::new(false));
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let bridge = {
        let (shutdown, events, address) = (Arc::clone(&shutdown), Arc::clone(&events), address.clone());
        std::thread::spawn(move || {
            let mut card = common::card(41);
            vpcd::serve(&mut card, &address, &shutdown, |event, _| {
                events.lock().unwrap().push(event.clone())
            })
            .unwrap();
        })
    };
    let mut vpcd = accept(&listener);
    send(&mut vpcd, &[0x04]);
    assert_eq!(receive(&mut vpcd), ATR);
    send(&mut vpcd, &[0x01]);
    assert!(exchange(&mut vpcd, SELECT).ends_with(&[0x90, 0x00]));
    assert_eq!(exchange(&mut vpcd, "0020008008313233343536FFFF"), [0x90, 0x00]);
    // A reset (02) logs the PIN out and deselects the application.
    send(&mut vpcd, &[0x02]);
    assert_eq!(exchange(&mut vpcd, "00FD000000"), [0x6D, 0x00]);
    // vpcd goes away; the bridge comes back to the new one.
    drop(vpcd);
    let mut vpcd = accept(&listener);
    assert!(exchange(&mut vpcd, SELECT).ends_with(&[0x90, 0x00]));
    assert_eq!(exchange(&mut vpcd, "00200080"), [0x63, 0xC3]);
    let started = Instant::now();
    shutdown.store(true, Ordering::SeqCst);
    bridge.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    let events = events.lock().unwrap();
    let connected = events
        .iter()
        .filter(|e| matches!(e, vpcd::BridgeEvent::Connected(_)))
        .count();
    let apdus = events
        .iter()
        .filter(|e| matches!(e, vpcd::BridgeEvent::Apdu))
        .count();
    assert_eq!((connected, apdus), (2, 5), "{events:?}");
}

#[test]
fn binary_retries_serves_writes_stats_and_exits_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (stats, state, trace) = (
        dir.path().join("stats.json"),
        dir.path().join("card.json"),
        dir.path().join("trace.log"),
    );
    // Learn a free port, then start the card before anything listens there: it must keep retrying.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera-virtual-card"))
        .args(["--vpcd", &address, "--serial", "4242", "--seed", "5"])
        .arg("--stats")
        .arg(&stats)
        .arg("--state")
        .arg(&state)
        .arg("--trace")
        .arg(&trace)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let listener = TcpListener::bind(&address).unwrap();
    let mut vpcd = accept(&listener);
    send(&mut vpcd, &[0x04]);
    assert_eq!(receive(&mut vpcd), ATR);
    let select = exchange(&mut vpcd, SELECT);
    let serial = exchange(&mut vpcd, "00F8000000");
    assert_eq!(serial, [0x00, 0x00, 0x10, 0x92, 0x90, 0x00]);
    let verify = exchange(&mut vpcd, "0020008008313233343536FFFF");
    assert_eq!(verify, [0x90, 0x00]);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(
        stderr.contains(&format!("tessera-virtual-card: connected to {address}\n")),
        "{stderr}"
    );
    let bytes_in = (SELECT.len() / 2 + 5 + 13) as u64;
    let bytes_out = (select.len() + serial.len() + verify.len()) as u64;
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(
        stats,
        serde_json::json!({"apdus": 3, "bytes_in": bytes_in, "bytes_out": bytes_out})
    );
    let saved = tessera_virtual_card::store::parse_state(&state, &std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved.serial, 4242);
    let trace = std::fs::read_to_string(&trace).unwrap();
    assert!(trace.contains("> 00F8000000\n< 000010929000\n"), "{trace}");
    assert!(trace.contains("> 00200080 <redacted>"), "{trace}");
    assert!(!trace.contains("313233343536"));
}
