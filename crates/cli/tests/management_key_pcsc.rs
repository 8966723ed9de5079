//! The pcsc tier: the PIN-protected management key follows Yubico's convention both ways, judged by the
//! `yubikey` crate (iqlusion) through pcscd: a key `tessera management-key protect` stores is found and
//! accepted by the crate's `MgmKey::get_protected`, and a key the crate stores with `set_protected` gives
//! `tessera` write access with the PIN alone.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use yubikey::{MgmKey, YubiKey};

/// `tessera ARGS --reader READER --yes --pin-stdin` with the PIN 123456: the exit code and stderr.
fn tessera_with_pin(reader: &str, args: &[&str]) -> (i32, String) {
    let args = [args, &["--reader", reader, "--yes", "--pin-stdin"]].concat();
    let run = common::tessera_pcsc(&args, "123456\n");
    (run.code, run.stderr)
}

fn open(name: &str) -> YubiKey {
    let mut context = yubikey::reader::Context::open().unwrap();
    let reader = context.iter().unwrap().find(|r| r.name() == name).unwrap();
    reader.open().unwrap()
}

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn the_pin_protected_key_is_shared_with_the_yubikey_crate() {
    let reader = std::env::var("TESSERA_READER").expect("TESSERA_READER (set by with-virtual-reader.sh)");
    // tessera stores it; the crate finds it after VERIFY PIN and authenticates with it.
    let (code, stderr) = tessera_with_pin(&reader, &["management-key", "protect", "--algorithm", "3des"]);
    assert_eq!(code, 0, "{stderr}");
    {
        let mut yk = open(&reader);
        assert!(
            yk.authenticate(MgmKey::default()).is_err(),
            "the default key is gone"
        );
        yk.verify_pin(b"123456").unwrap();
        let key = MgmKey::get_protected(&mut yk).unwrap();
        yk.authenticate(key).unwrap();
    }
    // The crate stores a new one; tessera finds it with the PIN and writes.
    {
        let mut yk = open(&reader);
        yk.verify_pin(b"123456").unwrap();
        let current = MgmKey::get_protected(&mut yk).unwrap();
        yk.authenticate(current).unwrap();
        MgmKey::generate().set_protected(&mut yk).unwrap();
    }
    let (code, stderr) = tessera_with_pin(&reader, &["keys", "generate", "9a", "--algorithm", "p256"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("factory-default"), "{stderr}");
}
