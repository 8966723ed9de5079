//! The Windows INF package (`packaging/windows/tessera_minidriver.inf`) against the shipped ATR list and
//! the rules of Microsoft's Smart Card Minidriver Specification 7.07 §3.1.4 (Smart Card INF File
//! Requirements) and Appendix A.2 (Sample INF), and the certification kit's InstCheckINF test: every
//! ATR has its `SCFILTER\CID_<historical bytes>` hardware ID in every model section (NTamd64,
//! NTamd64.6.1, NTx86, NTx86.6.1), every hardware ID its ATR, `DefaultInstall` for each architecture,
//! Windows 7+ sections that include UmPass, registry values equal to what `DllRegisterServer` writes.
//!
//! `TESSERA_WRITE_INF=1 cargo test -p tessera-minidriver --test inf` rewrites the file from the list.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use tessera_minidriver::registration::{BASE_CSP, KNOWN_CARDS, SMART_CARD_KSP, hardware_id};

const MODEL_DECORATIONS: [&str; 5] = ["NTamd64", "NTamd64.6.1", "NTx86", "NTx86.6.1", "NTarm64"];

fn inf_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packaging/windows/tessera_minidriver.inf")
}

fn hex_list(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The INF as the list dictates it.
fn render() -> String {
    let mut s = String::new();
    let line = |s: &mut String, l: &str| {
        s.push_str(l);
        s.push_str("\r\n");
    };
    line(
        &mut s,
        "; Tessera smart card minidriver for PIV cards: x64, x86 (and ARM64 once built).",
    );
    line(
        &mut s,
        "; Generated from the ATR list in crates/minidriver/src/registration.rs; checked by tests/inf.rs.",
    );
    line(
        &mut s,
        "; Signing: see packaging/windows/README.md (Inf2Cat, signtool, Windows Hardware Compatibility Program).",
    );
    line(&mut s, "");
    line(&mut s, "[Version]");
    line(&mut s, "Signature=\"$Windows NT$\"");
    line(&mut s, "Class=SmartCard");
    line(&mut s, "ClassGuid={990A2BD7-E738-46c7-B26F-1CF8FB9F1391}");
    line(&mut s, "Provider=%TESSERA%");
    line(&mut s, "CatalogFile=tessera_minidriver.cat");
    line(&mut s, "DriverVer=11/24/2026,0.1.0.0");
    line(&mut s, "PnpLockdown=1");
    line(&mut s, "");
    line(&mut s, "[Manufacturer]");
    line(
        &mut s,
        &format!("%TESSERA%=Tessera,{}", MODEL_DECORATIONS.join(",")),
    );
    for (decoration, install) in [
        ("NTamd64", "Tessera64_Install"),
        ("NTamd64.6.1", "Tessera64_61_Install"),
        ("NTx86", "Tessera32_Install"),
        ("NTx86.6.1", "Tessera32_61_Install"),
        ("NTarm64", "TesseraArm64_Install"),
    ] {
        line(&mut s, "");
        line(&mut s, &format!("[Tessera.{decoration}]"));
        // Cards that differ only outside their historical bytes (a YubiKey 5 over USB and over NFC) share
        // one hardware ID: one line each.
        let mut ids: Vec<String> = Vec::new();
        for card in KNOWN_CARDS {
            let id = hardware_id(card).unwrap();
            if !ids.contains(&id) {
                line(&mut s, &format!("%TesseraDeviceName%={install},{id}"));
                ids.push(id);
            }
        }
    }
    let sections: &[(&str, &[&str])] = &[
        (
            "DefaultInstall",
            &["CopyFiles=x86_CopyFiles", "AddReg=AddRegDefault"],
        ),
        (
            "DefaultInstall.NTamd64",
            &[
                "CopyFiles=amd64_CopyFiles",
                "CopyFiles=wow64_CopyFiles",
                "AddReg=AddRegWOW64",
                "AddReg=AddRegDefault",
            ],
        ),
        (
            "DefaultInstall.NTx86",
            &["CopyFiles=x86_CopyFiles", "AddReg=AddRegDefault"],
        ),
        (
            "DefaultInstall.NTarm64",
            &[
                "CopyFiles=arm64_CopyFiles",
                "CopyFiles=wow64_CopyFiles",
                "AddReg=AddRegWOW64",
                "AddReg=AddRegDefault",
            ],
        ),
        ("SourceDisksNames", &["1 = %MediaDescription%"]),
        (
            "SourceDisksFiles",
            &[
                "tessera_minidriver.dll=1",
                "tessera_minidriver64.dll=1",
                "tessera_minidriver_arm64.dll=1",
            ],
        ),
        (
            "Tessera64_Install.NT",
            &[
                "CopyFiles=amd64_CopyFiles",
                "CopyFiles=wow64_CopyFiles",
                "AddReg=AddRegWOW64",
                "AddReg=AddRegDefault",
            ],
        ),
        (
            "Tessera64_61_Install.NT",
            &[
                "CopyFiles=amd64_CopyFiles",
                "CopyFiles=wow64_CopyFiles",
                "AddReg=AddRegWOW64",
                "AddReg=AddRegDefault",
                "Include=umpass.inf",
                "Needs=UmPass",
            ],
        ),
        (
            "Tessera32_Install.NT",
            &["CopyFiles=x86_CopyFiles", "AddReg=AddRegDefault"],
        ),
        (
            "Tessera32_61_Install.NT",
            &[
                "CopyFiles=x86_CopyFiles",
                "AddReg=AddRegDefault",
                "Include=umpass.inf",
                "Needs=UmPass",
            ],
        ),
        (
            "TesseraArm64_Install.NT",
            &[
                "CopyFiles=arm64_CopyFiles",
                "CopyFiles=wow64_CopyFiles",
                "AddReg=AddRegWOW64",
                "AddReg=AddRegDefault",
                "Include=umpass.inf",
                "Needs=UmPass",
            ],
        ),
    ];
    for (name, lines) in sections {
        line(&mut s, "");
        line(&mut s, &format!("[{name}]"));
        for l in *lines {
            line(&mut s, l);
        }
    }
    for install in [
        "Tessera64_61_Install",
        "Tessera32_61_Install",
        "TesseraArm64_Install",
    ] {
        for part in ["Services", "HW", "CoInstallers", "Interfaces"] {
            line(&mut s, "");
            line(&mut s, &format!("[{install}.NT.{part}]"));
            line(&mut s, "Include=umpass.inf");
            line(&mut s, &format!("Needs=UmPass.{part}"));
        }
    }
    for (name, lines) in [
        (
            "amd64_CopyFiles",
            ["tessera_minidriver.dll,tessera_minidriver64.dll"],
        ),
        (
            "arm64_CopyFiles",
            ["tessera_minidriver.dll,tessera_minidriver_arm64.dll"],
        ),
        ("x86_CopyFiles", ["tessera_minidriver.dll"]),
        ("wow64_CopyFiles", ["tessera_minidriver.dll"]),
    ] {
        line(&mut s, "");
        line(&mut s, &format!("[{name}]"));
        for l in lines {
            line(&mut s, l);
        }
    }
    for (section, key_prefix) in [
        ("AddRegDefault", "SmartCardName"),
        ("AddRegWOW64", "SmartCardNameWOW64_"),
    ] {
        line(&mut s, "");
        line(&mut s, &format!("[{section}]"));
        for (i, card) in KNOWN_CARDS.iter().enumerate() {
            let key = if section == "AddRegDefault" {
                format!("{key_prefix}_{i}")
            } else {
                format!("{key_prefix}{i}")
            };
            line(
                &mut s,
                &format!("HKLM,%{key}%,\"ATR\",0x00000001,{}", hex_list(card.atr)),
            );
            line(
                &mut s,
                &format!("HKLM,%{key}%,\"ATRMask\",0x00000001,{}", hex_list(card.mask)),
            );
            line(
                &mut s,
                &format!("HKLM,%{key}%,\"Crypto Provider\",0x00000000,\"{BASE_CSP}\""),
            );
            line(
                &mut s,
                &format!("HKLM,%{key}%,\"Smart Card Key Storage Provider\",0x00000000,\"{SMART_CARD_KSP}\""),
            );
            line(
                &mut s,
                &format!("HKLM,%{key}%,\"80000001\",0x00000000,%SmartCardCardModule%"),
            );
        }
    }
    line(&mut s, "");
    line(&mut s, "[DestinationDirs]");
    line(&mut s, "amd64_CopyFiles=10,system32");
    line(&mut s, "arm64_CopyFiles=10,system32");
    line(&mut s, "x86_CopyFiles=10,system32");
    line(&mut s, "wow64_CopyFiles=10,syswow64");
    line(&mut s, "");
    line(&mut s, "[Strings]");
    line(&mut s, "TESSERA=\"Tessera\"");
    line(
        &mut s,
        "MediaDescription=\"Tessera Smart Card Minidriver Installation Disk\"",
    );
    line(
        &mut s,
        "TesseraDeviceName=\"Tessera Minidriver for PIV Smart Cards\"",
    );
    line(&mut s, "SmartCardCardModule=\"tessera_minidriver.dll\"");
    for (i, card) in KNOWN_CARDS.iter().enumerate() {
        line(
            &mut s,
            &format!(
                "SmartCardName_{i}=\"SOFTWARE\\Microsoft\\Cryptography\\Calais\\SmartCards\\{}\"",
                card.name
            ),
        );
        line(
            &mut s,
            &format!(
                "SmartCardNameWOW64_{i}=\"SOFTWARE\\Wow6432Node\\Microsoft\\Cryptography\\Calais\\SmartCards\\{}\"",
                card.name
            ),
        );
    }
    s
}

/// A parsed INF: section name (lowercase) → lines (comments and blanks removed).
fn parse(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for raw in text.lines() {
        let l = raw.split(';').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            current = name.to_ascii_lowercase();
            sections.entry(current.clone()).or_default();
        } else {
            sections.entry(current.clone()).or_default().push(l.to_string());
        }
    }
    sections
}

fn value<'a>(lines: &'a [String], key: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| {
            l.split_once('=')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                .map(|(_, v)| v.trim())
        })
        .collect()
}

#[test]
fn inf_matches_the_atr_list_and_the_install_rules() {
    if std::env::var_os("TESSERA_WRITE_INF").is_some() {
        std::fs::write(inf_path(), render()).unwrap();
    }
    let text = std::fs::read_to_string(inf_path()).unwrap();
    assert_eq!(
        text,
        render(),
        "the INF is out of date: run with TESSERA_WRITE_INF=1"
    );
    let inf = parse(&text);
    let strings: BTreeMap<&str, &str> = inf["strings"]
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
        .collect();

    // [Version]
    let version = &inf["version"];
    assert_eq!(value(version, "Signature"), ["\"$Windows NT$\""]);
    assert_eq!(value(version, "Class"), ["SmartCard"]);
    assert_eq!(
        value(version, "ClassGuid"),
        ["{990A2BD7-E738-46c7-B26F-1CF8FB9F1391}"]
    );
    assert_eq!(value(version, "CatalogFile").len(), 1);
    assert_eq!(value(version, "DriverVer").len(), 1);

    // [Manufacturer] names every model decoration InstCheckINF wants, plus ARM64.
    let manufacturer = value(&inf["manufacturer"], "%TESSERA%")[0];
    let decorations: Vec<&str> = manufacturer.split(',').skip(1).collect();
    for d in ["NTamd64", "NTamd64.6.1", "NTx86", "NTx86.6.1", "NTarm64"] {
        assert!(decorations.contains(&d), "[Manufacturer] lacks {d}");
    }

    // Every model section lists exactly the hardware IDs of the ATR list, each to an existing install section.
    let expected: BTreeSet<String> = KNOWN_CARDS
        .iter()
        .map(|c| hardware_id(c).unwrap().to_ascii_lowercase())
        .collect();
    for d in &decorations {
        let models = &inf[&format!("tessera.{}", d.to_ascii_lowercase())];
        let mut ids = BTreeSet::new();
        for m in models {
            let (_, v) = m.split_once('=').unwrap();
            let (install, id) = v.split_once(',').unwrap();
            assert!(
                inf.contains_key(&format!("{}.nt", install.trim().to_ascii_lowercase())),
                "{install}.NT exists"
            );
            assert!(
                ids.insert(id.trim().to_ascii_lowercase()),
                "{id} listed once in [Tessera.{d}]"
            );
        }
        assert_eq!(ids, expected, "hardware IDs of [Tessera.{d}]");
    }
    for card in KNOWN_CARDS {
        let id = hardware_id(card).unwrap();
        assert!(
            id.starts_with("SCFILTER\\CID_") && id[13..] == id[13..].to_ascii_lowercase(),
            "{id} lowercase"
        );
    }

    // DefaultInstall is mandatory, per architecture.
    for s in [
        "defaultinstall",
        "defaultinstall.ntamd64",
        "defaultinstall.ntx86",
        "defaultinstall.ntarm64",
    ] {
        assert!(inf.contains_key(s), "[{s}] exists");
    }
    // Windows 7+ install sections pull in UmPass, with its companion sections.
    for install in [
        "tessera64_61_install",
        "tessera32_61_install",
        "tesseraarm64_install",
    ] {
        let lines = &inf[&format!("{install}.nt")];
        assert_eq!(value(lines, "Include"), ["umpass.inf"]);
        assert_eq!(value(lines, "Needs"), ["UmPass"]);
        for part in ["services", "hw", "coinstallers", "interfaces"] {
            let sub = &inf[&format!("{install}.nt.{part}")];
            assert_eq!(
                value(sub, "Needs")[0].to_ascii_lowercase(),
                format!("umpass.{part}")
            );
        }
    }
    // Files: the 64-bit DLL to System32 under the 32-bit name, the 32-bit one to SysWOW64.
    let dirs = &inf["destinationdirs"];
    assert_eq!(value(dirs, "amd64_CopyFiles"), ["10,system32"]);
    assert_eq!(value(dirs, "x86_CopyFiles"), ["10,system32"]);
    assert_eq!(value(dirs, "wow64_CopyFiles"), ["10,syswow64"]);

    // Registry values: for every card, in both views, exactly what DllRegisterServer writes.
    for (section, prefix) in [
        ("addregdefault", "SOFTWARE\\Microsoft"),
        ("addregwow64", "SOFTWARE\\Wow6432Node\\Microsoft"),
    ] {
        let mut seen = BTreeSet::new();
        let mut values: BTreeMap<(String, String), String> = BTreeMap::new();
        for l in &inf[section] {
            let fields: Vec<&str> = l.splitn(5, ',').collect();
            let key = strings[fields[1].trim_matches('%')];
            let card = key
                .strip_prefix(&format!("{prefix}\\Cryptography\\Calais\\SmartCards\\"))
                .unwrap();
            seen.insert(card.to_string());
            values.insert(
                (card.to_string(), fields[2].trim_matches('"').to_string()),
                fields[4].to_string(),
            );
        }
        assert_eq!(
            seen,
            KNOWN_CARDS.iter().map(|c| c.name.to_string()).collect(),
            "{section} covers every card"
        );
        for card in KNOWN_CARDS {
            let get = |v: &str| values[&(card.name.to_string(), v.to_string())].clone();
            assert_eq!(get("ATR"), hex_list(card.atr));
            assert_eq!(get("ATRMask"), hex_list(card.mask));
            assert_eq!(get("Crypto Provider"), format!("\"{BASE_CSP}\""));
            assert_eq!(
                get("Smart Card Key Storage Provider"),
                format!("\"{SMART_CARD_KSP}\"")
            );
            assert_eq!(
                strings[get("80000001").trim_matches('%')],
                "tessera_minidriver.dll"
            );
        }
    }
}
