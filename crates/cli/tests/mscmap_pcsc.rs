//! The pcsc tier: the container map the card module writes while Windows enrolls (Yubico's 5FFF10) is
//! the one Yubico's tools read, judged by the `yubikey` crate's reader (`MsContainer::read_mscmap`,
//! behind its `untested` feature) through pcscd: the records `tessera demo` enrolled through the module
//! come back with the module's names, slots and key sizes.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use yubikey::MsContainer;
use yubikey::piv::SlotId;

#[test]
#[ignore = "needs the pcsc tier: scripts/test.sh pcsc"]
fn the_map_the_module_writes_is_read_by_the_yubikey_crate() {
    let reader = std::env::var("TESSERA_READER").expect("TESSERA_READER (set by with-virtual-reader.sh)");
    let demo = common::tessera_pcsc(
        &["demo", "--reader", &reader, "--yes", "--pin-stdin"],
        "123456\n12345678\n",
    );
    assert_eq!(demo.code, 0, "{}{}", demo.stdout, demo.stderr);
    let windows = common::tessera_pcsc(&["info", "--windows", "--json", "--reader", &reader], "");
    assert_eq!(windows.code, 0, "{}", windows.stderr);
    let windows: serde_json::Value = serde_json::from_str(&windows.stdout).unwrap();
    let name_of = |index: u64| {
        windows["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["index"] == index)
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no container {index}: {windows}"))
    };

    let mut context = yubikey::reader::Context::open().unwrap();
    let mut yubikey = context
        .iter()
        .unwrap()
        .find(|r| r.name() == reader)
        .unwrap()
        .open()
        .unwrap();
    let records = MsContainer::read_mscmap(&mut yubikey).unwrap();
    // The crate's name parser keeps the record's NUL padding.
    let seen: Vec<(String, SlotId, u8, u16, u8)> = records
        .iter()
        .map(|r| {
            let name = r.parse_name().unwrap().trim_end_matches('\0').to_owned();
            (name, r.slot, r.key_spec, r.key_size_bits, r.flags)
        })
        .collect();
    // AT_KEYEXCHANGE RSA-2048 in 9A, valid and default; AT_ECDSA_P256 in 9D, valid.
    assert_eq!(
        seen,
        [
            (name_of(0), SlotId::Authentication, 1, 2048, 0x03),
            (name_of(1), SlotId::KeyManagement, 3, 256, 0x01),
        ],
        "{records:?}"
    );
}
