//! Which cards Windows should hand to this module, and how `DllRegisterServer`/`DllUnregisterServer` tell it
//! (Smart Card Minidriver Specification 7.07 §3.1.2, §3.1.3): each known PIV token's ATR is introduced as a
//! card type, then the card module, the Base CSP and the Smart Card KSP are set as its providers. The calls
//! go through [`CardTypeDatabase`]: on Windows it is winscard; in tests a recorder.

use crate::atr::Atr;

/// A PIV token Tessera registers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownCard {
    /// The card type name (the `Calais\SmartCards` subkey, and `pwszCardName` at acquire).
    pub name: &'static str,
    /// The ATR, already masked.
    pub atr: &'static [u8],
    /// The ATR mask (same length).
    pub mask: &'static [u8],
    /// Where the ATR is documented.
    pub source: &'static str,
}

const EXACT_13: &[u8] = &[0xFF; 13];
const EXACT_16: &[u8] = &[0xFF; 16];
const EXACT_17: &[u8] = &[0xFF; 17];
const EXACT_18: &[u8] = &[0xFF; 18];
const EXACT_19: &[u8] = &[0xFF; 19];
const EXACT_22: &[u8] = &[0xFF; 22];
const EXACT_23: &[u8] = &[0xFF; 23];
const EXACT_24: &[u8] = &[0xFF; 24];

/// Source of the ATRs: Ludovic Rousseau's public list, shipped as `/usr/share/pcsc/smartcard_list.txt`
/// by Debian's pcsc-tools, and yubico-piv-tool's `ykpiv.h`.
const LIST: &str = "smartcard_list.txt (pcsc-tools)";

/// The PIV tokens whose ATRs Tessera registers. Every ATR is unique; masks are exact.
pub const KNOWN_CARDS: &[KnownCard] = &[
    KnownCard {
        name: "Tessera PIV (YubiKey 5)",
        atr: &[
            0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
            0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
        ],
        mask: EXACT_23,
        source: LIST,
    },
    KnownCard {
        name: "Tessera PIV (YubiKey 5 NFC, contactless)",
        atr: &[
            0x3B, 0x8D, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65,
            0x79, 0xF9,
        ],
        mask: EXACT_18,
        source: LIST,
    },
    KnownCard {
        name: "Tessera PIV (YubiKey 4)",
        atr: &[
            0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x59, 0x75, 0x62, 0x69, 0x6B, 0x65, 0x79,
            0x34, 0xD4,
        ],
        mask: EXACT_18,
        source: LIST,
    },
    KnownCard {
        name: "Tessera PIV (YubiKey NEO)",
        atr: &[
            0x3B, 0xFC, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x59, 0x75, 0x62, 0x69, 0x6B, 0x65, 0x79,
            0x4E, 0x45, 0x4F, 0x72, 0x33, 0xE1,
        ],
        mask: EXACT_22,
        source: LIST,
    },
    KnownCard {
        name: "Tessera PIV (Nitrokey 3)",
        atr: &[
            0x3B, 0x8C, 0x01, 0x80, 0x5A, 0x4E, 0x69, 0x74, 0x72, 0x6F, 0x6B, 0x65, 0x79, 0x20, 0x33, 0x7D,
        ],
        mask: EXACT_16,
        source: LIST,
    },
    KnownCard {
        name: "Tessera PIV (PIVKey C910)",
        atr: &[
            0x3B, 0x8C, 0x80, 0x01, 0x90, 0x67, 0x46, 0x4A, 0x00, 0x64, 0x16, 0x06, 0xF2, 0x72, 0x7E, 0x00,
            0x7C,
        ],
        mask: EXACT_17,
        source: LIST,
    },
    KnownCard {
        name: "Tessera PIV (PIVKey T840)",
        atr: &[
            0x3B, 0xF9, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x53, 0x50, 0x49, 0x56, 0x4B, 0x45, 0x59,
            0x37, 0x30, 0xAD,
        ],
        mask: EXACT_19,
        source: LIST,
    },
    KnownCard {
        name: "Tessera PIV (HID pivCLASS)",
        atr: &[
            0x3B, 0xDF, 0x96, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x80, 0x59, 0x01, 0x80, 0x50, 0x49, 0x56, 0x43,
            0x4C, 0x41, 0x53, 0x73, 0x00, 0x01, 0x1B, 0xDE,
        ],
        mask: EXACT_24,
        source: LIST,
    },
    KnownCard {
        name: "Tessera PIV (Oberthur ID-One PIV on Cosmo V8)",
        atr: &[
            0x3B, 0xD6, 0x97, 0x00, 0x81, 0xB1, 0xFE, 0x45, 0x1F, 0x87, 0x80, 0x31, 0xC1, 0x52, 0x41, 0x1A,
            0x2B,
        ],
        mask: EXACT_17,
        source: LIST,
    },
    KnownCard {
        name: "Tessera PIV (Gemalto IDPrime PIV 2.0, contactless)",
        atr: &[
            0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x00, 0x11, 0x77, 0x81, 0x83, 0x00, 0x6D,
        ],
        mask: EXACT_13,
        source: LIST,
    },
];

/// `SCARD_PROVIDER_CSP`.
pub const PROVIDER_CSP: u32 = windows_sys::Win32::Security::Credentials::SCARD_PROVIDER_CSP;
/// `SCARD_PROVIDER_KSP`.
pub const PROVIDER_KSP: u32 = windows_sys::Win32::Security::Credentials::SCARD_PROVIDER_KSP;
/// `SCARD_PROVIDER_CARD_MODULE`.
pub const PROVIDER_CARD_MODULE: u32 = windows_sys::Win32::Security::Cryptography::SCARD_PROVIDER_CARD_MODULE;
/// The Base Smart Card CSP.
pub const BASE_CSP: &str = "Microsoft Base Smart Card Crypto Provider";
/// The Smart Card KSP.
pub const SMART_CARD_KSP: &str = "Microsoft Smart Card Key Storage Provider";
/// `SCARD_E_UNKNOWN_CARD`: what forgetting an unknown card type answers.
const SCARD_E_UNKNOWN_CARD: i32 = windows_sys::Win32::Foundation::SCARD_E_UNKNOWN_CARD;

/// The three winscard calls registration needs; each returns the winscard `LONG`.
pub trait CardTypeDatabase {
    /// `SCardIntroduceCardTypeW(ctx, name, NULL, NULL, 0, atr, mask, len)`.
    fn introduce(&mut self, name: &str, atr: &[u8], mask: &[u8]) -> i32;
    /// `SCardSetCardTypeProviderNameW(ctx, name, provider_id, provider)`.
    fn set_provider(&mut self, name: &str, provider_id: u32, provider: &str) -> i32;
    /// `SCardForgetCardTypeW(ctx, name)`.
    fn forget(&mut self, name: &str) -> i32;
}

/// A winscard `LONG` as an `HRESULT`: SCard codes are HRESULTs already; Win32 codes are wrapped.
pub fn to_hresult(code: i32) -> i32 {
    if code <= 0 {
        code
    } else {
        (0x8007_0000u32 | (code as u32 & 0xFFFF)) as i32
    }
}

/// Registers every known card for `module_file` (the DLL's file name). Idempotent: each card type is
/// forgotten first. Returns `S_OK` or the first failure as an `HRESULT`.
pub fn register(db: &mut dyn CardTypeDatabase, module_file: &str) -> i32 {
    for card in KNOWN_CARDS {
        let rc = register_card_type(db, card.name, card.atr, card.mask, module_file);
        if rc != 0 {
            return rc;
        }
    }
    0
}

/// Registers one card type (`name`, exact or masked ATR) with `module_file` as its card module and the
/// Base CSP and Smart Card KSP as its providers. Idempotent: the type is forgotten first. Returns `S_OK`
/// or the first failure as an `HRESULT`. `DllRegisterServer` uses it for every known token, and
/// `tessera register` for the ATR of the card in a reader.
pub fn register_card_type(
    db: &mut dyn CardTypeDatabase,
    name: &str,
    atr: &[u8],
    mask: &[u8],
    module_file: &str,
) -> i32 {
    let _ = db.forget(name);
    let steps = [
        db.introduce(name, atr, mask),
        db.set_provider(name, PROVIDER_CARD_MODULE, module_file),
        db.set_provider(name, PROVIDER_CSP, BASE_CSP),
        db.set_provider(name, PROVIDER_KSP, SMART_CARD_KSP),
    ];
    steps
        .iter()
        .find(|&&rc| rc != 0)
        .map_or(0, |&failed| to_hresult(failed))
}

/// Forgets one card type; one that is not registered is not an error.
pub fn unregister_card_type(db: &mut dyn CardTypeDatabase, name: &str) -> i32 {
    match db.forget(name) {
        0 | SCARD_E_UNKNOWN_CARD => 0,
        rc => to_hresult(rc),
    }
}

/// The card type name `tessera register` uses for an ATR: a known token's name when the ATR is one of
/// [`KNOWN_CARDS`], else `Tessera PIV (ATR <hex>)`, cut to the 99 characters winscard keeps.
pub fn card_type_name(atr: &[u8]) -> String {
    if let Some(card) = KNOWN_CARDS.iter().find(|c| c.atr == atr) {
        return card.name.to_string();
    }
    let hex: String = atr.iter().map(|b| format!("{b:02X}")).collect();
    let mut name = format!("Tessera PIV (ATR {hex})");
    name.truncate(99);
    name
}

/// Removes every known card type. Idempotent: a card type that is not registered is not an error.
pub fn unregister(db: &mut dyn CardTypeDatabase) -> i32 {
    for card in KNOWN_CARDS {
        let rc = unregister_card_type(db, card.name);
        if rc != 0 {
            return rc;
        }
    }
    0
}

/// The historical bytes of a known card's ATR, lowercase hex: its `SCFILTER\CID_…` hardware ID.
pub fn hardware_id(card: &KnownCard) -> Option<String> {
    let atr = Atr::parse(card.atr).ok()?;
    Some(format!(
        "SCFILTER\\CID_{}",
        atr.historical_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// ATR, mask and providers of a registered card type.
    type CardType = (Vec<u8>, Vec<u8>, BTreeMap<u32, String>);

    /// Records calls and keeps a card-type table like the Calais database.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
        types: BTreeMap<String, CardType>,
        fail_on: Option<String>,
    }

    impl CardTypeDatabase for Recorder {
        fn introduce(&mut self, name: &str, atr: &[u8], mask: &[u8]) -> i32 {
            self.calls.push(format!("introduce {name}"));
            if self.fail_on.as_deref() == Some(name) {
                return 5; // ERROR_ACCESS_DENIED
            }
            self.types
                .insert(name.into(), (atr.to_vec(), mask.to_vec(), BTreeMap::new()));
            0
        }
        fn set_provider(&mut self, name: &str, id: u32, provider: &str) -> i32 {
            self.calls.push(format!("provider {name} {id:#x} {provider}"));
            match self.types.get_mut(name) {
                Some(t) => {
                    t.2.insert(id, provider.into());
                    0
                }
                None => SCARD_E_UNKNOWN_CARD,
            }
        }
        fn forget(&mut self, name: &str) -> i32 {
            self.calls.push(format!("forget {name}"));
            if self.types.remove(name).is_some() {
                0
            } else {
                SCARD_E_UNKNOWN_CARD
            }
        }
    }

    #[test]
    fn atrs_are_valid_unique_and_masked() {
        let mut seen = std::collections::HashSet::new();
        for c in KNOWN_CARDS {
            assert!(Atr::parse(c.atr).is_ok(), "{} ATR is structurally valid", c.name);
            assert_eq!(c.atr.len(), c.mask.len(), "{}", c.name);
            let masked: Vec<u8> = c.atr.iter().zip(c.mask).map(|(a, m)| a & m).collect();
            assert_eq!(masked, c.atr, "{} is stored masked", c.name);
            assert!(seen.insert(c.atr), "{} ATR is unique", c.name);
            assert!(c.name.len() < 100);
        }
    }

    #[test]
    fn register_writes_every_type_with_its_three_providers() {
        let mut db = Recorder::default();
        assert_eq!(register(&mut db, "tessera_minidriver.dll"), 0);
        assert_eq!(db.types.len(), KNOWN_CARDS.len());
        for c in KNOWN_CARDS {
            let (atr, mask, providers) = &db.types[c.name];
            assert_eq!((atr.as_slice(), mask.as_slice()), (c.atr, c.mask));
            assert_eq!(providers[&PROVIDER_CARD_MODULE], "tessera_minidriver.dll");
            assert_eq!(
                providers[&PROVIDER_CSP],
                "Microsoft Base Smart Card Crypto Provider"
            );
            assert_eq!(
                providers[&PROVIDER_KSP],
                "Microsoft Smart Card Key Storage Provider"
            );
        }
        assert_eq!(db.calls[0], format!("forget {}", KNOWN_CARDS[0].name));
        assert_eq!(db.calls[1], format!("introduce {}", KNOWN_CARDS[0].name));
        // Idempotent: a second registration ends in the same table.
        let before = db.types.clone();
        assert_eq!(register(&mut db, "tessera_minidriver.dll"), 0);
        assert_eq!(db.types, before);
    }

    #[test]
    fn unregister_forgets_what_register_introduced() {
        let mut db = Recorder::default();
        register(&mut db, "tessera_minidriver.dll");
        let introduced: Vec<String> = db
            .calls
            .iter()
            .filter_map(|c| c.strip_prefix("introduce ").map(String::from))
            .collect();
        db.calls.clear();
        assert_eq!(unregister(&mut db), 0);
        let forgotten: Vec<String> = db
            .calls
            .iter()
            .filter_map(|c| c.strip_prefix("forget ").map(String::from))
            .collect();
        assert_eq!(introduced, forgotten);
        assert!(db.types.is_empty());
        assert_eq!(unregister(&mut db), 0, "idempotent");
    }

    #[test]
    fn first_failure_is_reported_as_hresult() {
        let mut db = Recorder {
            fail_on: Some(KNOWN_CARDS[2].name.into()),
            ..Default::default()
        };
        assert_eq!(register(&mut db, "x.dll") as u32, 0x8007_0005);
        assert_eq!(db.types.len(), 2, "stops at the first failure");
        assert_eq!(to_hresult(0x8010_001D_u32 as i32) as u32, 0x8010_001D);
    }

    #[test]
    fn one_card_type_for_the_atr_in_a_reader() {
        let mut db = Recorder::default();
        let atr = [
            0x3B, 0x88, 0x80, 0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
        ];
        let name = card_type_name(&atr);
        assert_eq!(name, "Tessera PIV (ATR 3B888001112233445566778899)");
        assert_eq!(
            register_card_type(&mut db, &name, &atr, &[0xFF; 13], "tessera_minidriver.dll"),
            0
        );
        let (a, m, providers) = &db.types[&name];
        assert_eq!((a.as_slice(), m.as_slice()), (&atr[..], &[0xFF; 13][..]));
        assert_eq!(providers.len(), 3);
        assert_eq!(card_type_name(KNOWN_CARDS[0].atr), KNOWN_CARDS[0].name);
        assert_eq!(unregister_card_type(&mut db, &name), 0);
        assert!(db.types.is_empty());
        assert_eq!(unregister_card_type(&mut db, &name), 0, "idempotent");
    }

    #[test]
    fn hardware_ids_from_historical_bytes() {
        assert_eq!(
            hardware_id(&KNOWN_CARDS[0]).unwrap(),
            "SCFILTER\\CID_8073c021c057597562694b6579"
        );
    }
}
