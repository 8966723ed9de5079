//! Card and container properties (spec §4.5; CMCK CardGetProperty, CardSetProperty,
//! CardGetContainerProperty): every `CP_*` of spec §4.5.4, `PIN_INFO` per role, `CCP_*`, short buffers
//! (`ERROR_INSUFFICIENT_BUFFER` with the needed size, nothing written past the buffer), unknown names and bad
//! flags, and the settable properties.

use tessera_piv::{KeyRef, PinPolicy};

use super::common::{open, opened, read_only};
use crate::blobs;
use crate::codes::*;
use crate::ffi::calls::{Calls, DecryptArgs, PaddingInfo, SignArgs, StructArg};
use crate::harness::{CaseDef, Harness, Verdict, case};

const SUITE: &str = "properties";

fn dword(data: &[u8]) -> Option<u32> {
    (data.len() == 4).then(|| blobs::dwords(data)[0])
}

/// A successful `CardGetProperty` whose value is checked by `check`.
fn get(
    name: &'static str,
    prop: &'static str,
    flags: u32,
    size: Option<usize>,
    check: fn(&Harness, &mut Verdict, &[u8], &crate::harness::ConnectedContext),
) -> CaseDef {
    opened(SUITE, format!("get-{name}"), move |h, v, b| {
        let r = b.call().get_property(Some(prop), 1024, flags, false, false);
        if !v.reply(&format!("CardGetProperty({prop})"), &r, &[SCARD_S_SUCCESS]) {
            return;
        }
        let Some(value) = r.value else { return };
        v.check(value.len as usize == value.data.len(), || {
            "pdwDataLen differs from the bytes written".into()
        });
        if let Some(size) = size {
            v.check(value.data.len() == size, || {
                format!("{} bytes, expected {size}", value.data.len())
            });
        }
        check(h, v, &value.data, b);
    })
}

/// An optional property: success, or INVALID_PARAMETER/UNSUPPORTED_FEATURE (CMCK accepted both).
fn optional(name: &'static str, prop: &'static str, flags: u32) -> CaseDef {
    opened(SUITE, format!("get-{name}"), move |_, v, b| {
        let r = b.call().get_property(Some(prop), 1024, flags, false, false);
        v.reply(
            &format!("CardGetProperty({prop})"),
            &r,
            &[
                SCARD_S_SUCCESS,
                SCARD_E_INVALID_PARAMETER,
                SCARD_E_UNSUPPORTED_FEATURE,
            ],
        );
        v.note("spec §4.5.4: optional (or not used by the CSP)");
    })
}

/// `cb` one byte short (and 0): `ERROR_INSUFFICIENT_BUFFER` with `*pdwDataLen` = the size needed.
fn short(name: &'static str, prop: &'static str, flags: u32, size: u32) -> CaseDef {
    opened(SUITE, format!("short-buffer-{name}"), move |_, v, b| {
        for cb in [size - 1, 0] {
            let r = b.call().get_property(Some(prop), cb, flags, false, false);
            v.reply(
                &format!("CardGetProperty({prop}, cbData {cb})"),
                &r,
                &[ERROR_INSUFFICIENT_BUFFER],
            );
            let len = r.value.map(|p| p.len);
            v.check(len == Some(size), || {
                format!("pdwDataLen {len:?}, expected the needed size {size}")
            });
        }
        v.note(
            "spec §4.5.4: ERROR_INSUFFICIENT_BUFFER with the needed size (CMCK also accepted \
            SCARD_E_INSUFFICIENT_BUFFER from a v6 driver; the spec's code is required here)",
        );
    })
}

#[allow(
    clippy::too_many_arguments,
    reason = "one argument per column of the case table"
)]
fn get_refused(
    name: &'static str,
    prop: Option<&'static str>,
    cb: u32,
    flags: u32,
    null_data: bool,
    null_len: bool,
    null_cd: bool,
    why: &'static str,
) -> CaseDef {
    opened(SUITE, format!("get-{name}"), move |_, v, b| {
        let calls = if null_cd { b.null() } else { b.call() };
        let r = calls.get_property(prop, cb, flags, null_data, null_len);
        v.reply("CardGetProperty", &r, &[SCARD_E_INVALID_PARAMETER]);
        v.note(why);
    })
}

fn set(
    name: &'static str,
    prop: Option<&'static str>,
    data: Option<&'static [u8]>,
    flags: u32,
    null_cd: bool,
    want: &'static [u32],
    why: &'static str,
) -> CaseDef {
    opened(SUITE, format!("set-{name}"), move |_, v, b| {
        let calls = if null_cd { b.null() } else { b.call() };
        v.reply(
            "CardSetProperty",
            &calls.set_property(prop, data, None, flags),
            want,
        );
        v.note(why);
    })
}

#[allow(
    clippy::too_many_arguments,
    reason = "one argument per column of the case table"
)]
fn container_refused(
    name: &'static str,
    index: Option<u8>,
    prop: Option<&'static str>,
    cb: u32,
    flags: u32,
    null_data: bool,
    null_len: bool,
    null_cd: bool,
    want: &'static [u32],
    why: &'static str,
) -> CaseDef {
    opened(SUITE, format!("container-{name}"), move |h, v, b| {
        let first = h.first_container(b);
        let calls = if null_cd { b.null() } else { b.call() };
        let r = calls.get_container_property(index.unwrap_or(first), prop, cb, flags, null_data, null_len);
        v.reply("CardGetContainerProperty", &r, want);
        if want == [ERROR_INSUFFICIENT_BUFFER] {
            v.check(r.value.is_some_and(|p| p.len == 4), || {
                "pdwDataLen is not the needed 4 bytes".into()
            });
        }
        v.note(why);
    })
}

fn set_container(
    name: &'static str,
    index: Option<u8>,
    prop: Option<&'static str>,
    flags: u32,
    null_cd: bool,
    want: &'static [u32],
    why: &'static str,
) -> CaseDef {
    opened(SUITE, format!("set-container-{name}"), move |h, v, b| {
        let first = h.first_container(b);
        let calls = if null_cd { b.null() } else { b.call() };
        let r = calls.set_container_property(index.unwrap_or(first), prop, Some(&1u32.to_le_bytes()), flags);
        v.reply("CardSetContainerProperty", &r, want);
        v.note(why);
    })
}

/// The PIN role bound to the container holding `slot`'s key.
fn pin_of_slot(
    h: &Harness,
    b: &crate::harness::ConnectedContext,
    slot: KeyRef,
) -> Result<Vec<(u8, u32)>, String> {
    let found = h.containers(b)?;
    let mut out = Vec::new();
    for f in found
        .iter()
        .filter(|f| f.slot.as_ref().is_some_and(|s| s.slot == slot))
    {
        let r = b
            .call()
            .get_container_property(f.index(), Some("PIN Identifier"), 4, 0, false, false);
        let id = r
            .value
            .filter(|_| r.code == 0)
            .and_then(|p| dword(&p.data))
            .ok_or_else(|| format!("CCP_PIN_IDENTIFIER({}) returned {}", f.index(), name(r.code)))?;
        out.push((f.index(), id));
    }
    Ok(out)
}

fn pin_info(b: &crate::harness::ConnectedContext, role: u32) -> Option<blobs::PinInfo> {
    let r = b
        .call()
        .get_property(Some("PIN Information"), 36, role, false, false);
    r.value
        .filter(|_| r.code == 0)
        .and_then(|p| blobs::parse_pin_info(&p.data).ok())
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    [
        card_values(),
        pin_information(),
        short_buffers(),
        get_refusals(),
        settable(),
        container_properties(),
        container_settable(),
        vec![invalid_arguments_cost_no_apdu()],
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every card property read with a buffer of the right size, and what its value must be.
fn card_values() -> Vec<CaseDef> {
    vec![
        get("free-space", "Free Space", 0, Some(16), |_, v, d, b| {
            let direct = b.call().query_free_space(0, StructArg::V1).value;
            v.check(direct.is_some_and(|x| x.to_vec() == blobs::dwords(d)), || {
                "differs from CardQueryFreeSpace".into()
            });
        }),
        get("capabilities", "Capabilities", 0, Some(12), |_, v, d, _| {
            v.check(blobs::dwords(d).first() == Some(&1), || {
                "dwVersion is not 1".into()
            });
        }),
        get("key-sizes-keyexchange", "Key Sizes", 1, Some(20), |_, v, d, _| {
            let w = blobs::dwords(d);
            v.check(w[0] == 1 && w[1] <= 2048 && w[3] >= 2048, || {
                format!("CARD_KEY_SIZES {w:?}")
            });
        }),
        get("read-only", "Read Only Mode", 0, Some(4), |_, v, d, _| {
            v.check(matches!(dword(d), Some(0 | 1)), || format!("BOOL {:?}", dword(d)));
        }),
        get("cache-mode", "Cache Mode", 0, Some(4), |_, v, d, _| {
            v.check(matches!(dword(d), Some(1..=3)), || {
                format!("cache mode {:?} (spec §7.5: 1, 2 or 3)", dword(d))
            });
        }),
        get(
            "x509-enrollment",
            "Supports Windows x.509 Enrollment",
            0,
            Some(4),
            |_, v, d, b| {
                v.check(matches!(dword(d), Some(0 | 1)), || format!("BOOL {:?}", dword(d)));
                if read_only(b) == Some(true) {
                    v.check(dword(d) == Some(0), || {
                        "spec §7.4: must be FALSE on a read-only card".into()
                    });
                }
            },
        ),
        get("card-guid", "Card Identifier", 0, Some(16), |_, v, d, b| {
            let id = b.call().read(None, "cardid").value;
            v.check(id.as_deref() == Some(d), || {
                "CP_CARD_GUID differs from the cardid file (spec §4.5.4)".into()
            });
        }),
        get("pin-list", "PIN List", 0, Some(4), |_, v, d, _| {
            let set = dword(d).unwrap_or(0);
            v.check(set & 0x06 == 0x06, || {
                format!("PIN set {set:#x} lacks ROLE_USER or ROLE_ADMIN (spec §4.2.1: both required)")
            });
            v.check(set & !0xFF == 0, || format!("PIN set {set:#x} uses bits above 7"));
        }),
        get(
            "pin-strength-verify-user",
            "PIN Strength Verify",
            1,
            Some(4),
            |_, v, d, _| {
                v.check(dword(d).is_some_and(|s| s & 1 != 0), || {
                    "CARD_PIN_STRENGTH_PLAINTEXT must be set: the CSP sends the PIN it collected as is".into()
                });
            },
        ),
        get(
            "key-import-support",
            "Key Import Support",
            0,
            Some(4),
            |_, v, d, _| {
                v.check(dword(d).is_some_and(|s| s & !0xF == 0), || {
                    format!("unknown bits in {:?}", dword(d))
                });
            },
        ),
        get("algorithms-cipher", "Algorithms", 1, None, |_, v, d, _| {
            v.check(blobs::parse_wide_multistring(d).is_ok(), || {
                "not a UTF-16 multistring".into()
            });
        }),
        get("algorithms-asymmetric", "Algorithms", 2, None, |_, v, d, _| {
            v.check(blobs::parse_wide_multistring(d).is_ok(), || {
                "not a UTF-16 multistring".into()
            });
        }),
        get(
            "padding-schemes-asymmetric",
            "Padding Schemes",
            2,
            Some(4),
            |h, v, d, _| {
                let p = dword(d).unwrap_or(0);
                v.check(p & !0xE == 0, || {
                    format!("padding bits {p:#x} outside PKCS1|PSS|OAEP")
                });
                if h.fixture().slots.iter().any(|s| s.is_rsa()) {
                    v.check(p & 0x2 != 0, || "an RSA card without CARD_PADDING_PKCS1".into());
                }
            },
        ),
        get(
            "padding-schemes-cipher",
            "Padding Schemes",
            1,
            Some(4),
            |_, v, d, _| {
                v.check(dword(d).is_some_and(|p| p & !1 == 0), || {
                    "symmetric padding bits other than CARD_BLOCK_PADDING".into()
                });
            },
        ),
        get("chaining-modes", "Chaining Modes", 0, None, |_, v, d, _| {
            v.check(blobs::parse_wide_multistring(d).is_ok(), || {
                "not a UTF-16 multistring".into()
            });
        }),
        optional("serial-number", "Card Serial Number", 0),
        optional("authenticated-state", "Authenticated State", 0),
        optional("pin-strength-change", "PIN Strength Change", 1),
        optional("pin-strength-unblock", "PIN Strength Unblock", 1),
    ]
}

/// `CP_CARD_PIN_INFO` for each role, and the PIN each container is bound to.
fn pin_information() -> Vec<CaseDef> {
    vec![
        opened(SUITE, "pin-info-every-listed-role", |_, v, b| {
            let list = b.call().get_property(Some("PIN List"), 4, 0, false, false);
            let Some(set) = list.value.and_then(|p| dword(&p.data)) else {
                return v.fail("no PIN list");
            };
            v.code("CP_CARD_LIST_PINS", list.code, &[SCARD_S_SUCCESS]);
            for role in (1..8).filter(|r| set & (1 << r) != 0) {
                let Some(i) = pin_info(b, role) else {
                    v.fail(format!("no PIN_INFO for listed role {role}"));
                    continue;
                };
                v.check(i.version == 6, || format!("role {role}: dwVersion {}", i.version));
                v.check(i.pin_type <= 3 && i.purpose <= 6, || {
                    format!("role {role}: type {} purpose {}", i.pin_type, i.purpose)
                });
                v.check(i.cache_version == 6 && i.cache_policy <= 3, || {
                    format!("role {role}: cache policy {}/{}", i.cache_version, i.cache_policy)
                });
                v.check(i.change & !0xFF == 0 && i.unblock & !0xFF == 0, || {
                    format!("role {role}: PIN sets use bits above 7")
                });
            }
        }),
        opened(SUITE, "pin-info-user", |_, v, b| {
            let Some(i) = pin_info(b, 1) else {
                return v.fail("no PIN_INFO for ROLE_USER");
            };
            v.code("CP_CARD_PIN_INFO(ROLE_USER)", 0, &[0]);
            v.check(i.pin_type == blobs::secret_type::ALPHANUMERIC, || {
                format!("PinType {}", i.pin_type)
            });
            v.check(i.change & 0x02 != 0, || {
                format!(
                    "the user cannot change the PIN (change permission {:#x})",
                    i.change
                )
            });
            v.check(i.unblock != 0, || {
                "nothing can unblock the user PIN (a PIV PIN is unblocked by the PUK)".into()
            });
        }),
        opened(SUITE, "pin-info-puk", |_, v, b| {
            let user = pin_info(b, 1);
            let Some(unblocker) = user.map(|u| u.unblock) else {
                return v.fail("no PIN_INFO for ROLE_USER");
            };
            let roles: Vec<u32> = (1..8).filter(|r| unblocker & (1 << r) != 0).collect();
            let puk = roles.iter().find_map(|&r| {
                pin_info(b, r)
                    .filter(|i| i.purpose == blobs::PURPOSE_UNBLOCK_ONLY)
                    .map(|i| (r, i))
            });
            v.code(
                "an UnblockOnlyPin role unblocks the user PIN",
                if puk.is_some() { 0 } else { SCARD_E_UNEXPECTED },
                &[0],
            );
            if let Some((_, i)) = puk {
                v.check(i.pin_type == blobs::secret_type::ALPHANUMERIC, || {
                    format!("PUK PinType {}", i.pin_type)
                });
            }
            v.note("the PUK is exposed as an UnblockOnlyPin (spec §4.2.1 defines no PUK role)");
        }),
        opened(SUITE, "pin-info-admin", |_, v, b| {
            let Some(i) = pin_info(b, 2) else {
                return v.fail("no PIN_INFO for ROLE_ADMIN");
            };
            v.code("CP_CARD_PIN_INFO(ROLE_ADMIN)", 0, &[0]);
            v.check(i.pin_type == blobs::secret_type::CHALLENGE_RESPONSE, || {
                format!(
                    "ROLE_ADMIN PinType {} (the PIV management key is challenge/response)",
                    i.pin_type
                )
            });
        }),
        case(SUITE, "pin-always-slot-role", |h, v| {
            let Some(state) = h.fixture().slot(KeyRef::SIGNATURE).cloned() else {
                return v.skip("9C not provisioned");
            };
            if state.pin_policy != Some(PinPolicy::Always) {
                return v.skip("the 9C key is not PIN-always");
            }
            let Some(b) = open(h, v) else { return };
            let Some(pins) = v.setup("PIN identifiers", pin_of_slot(h, &b, KeyRef::SIGNATURE)) else {
                return;
            };
            v.code(
                "CCP_PIN_IDENTIFIER of the 9C containers",
                if pins.is_empty() {
                    SCARD_E_NO_KEY_CONTAINER
                } else {
                    0
                },
                &[0],
            );
            for (index, role) in pins {
                v.check(role != 1, || {
                    format!("container {index}: a PIN-always key bound to ROLE_USER (cached PIN)")
                });
                let info = pin_info(&b, role);
                v.check(
                    info.is_some_and(|i| i.cache_policy == blobs::CACHE_ALWAYS_PROMPT),
                    || format!("container {index}: role {role} is not PinCacheAlwaysPrompt"),
                );
            }
            v.note(
                "PIV's PIN-always slot 9C (SP 800-73-4 Part 1: PIN Always) under its own PIN_ID with \
                PinCacheAlwaysPrompt",
            );
        }),
        opened(SUITE, "pin-identifier-follows-policy", |h, v, b| {
            v.code("CCP_PIN_IDENTIFIER", 0, &[0]);
            for s in h.fixture().slots.clone() {
                let Some(pins) = v.setup("PIN identifiers", pin_of_slot(h, b, s.slot)) else {
                    return;
                };
                for (index, role) in pins {
                    match s.pin_policy {
                        Some(PinPolicy::Never) => v.check(role == 0, || {
                            format!("container {index}: PIN policy never, bound to role {role}")
                        }),
                        Some(PinPolicy::Once) => v.check(role == 1, || {
                            format!("container {index}: PIN policy once, bound to role {role}")
                        }),
                        _ => true,
                    };
                }
            }
        }),
    ]
}

/// Each fixed-size card property asked for with a buffer one byte short.
fn short_buffers() -> Vec<CaseDef> {
    vec![
        short("free-space", "Free Space", 0, 16),
        short("capabilities", "Capabilities", 0, 12),
        short("key-sizes", "Key Sizes", 1, 20),
        short("card-guid", "Card Identifier", 0, 16),
        short("pin-info", "PIN Information", 1, 36),
        short("pin-list", "PIN List", 0, 4),
        short("read-only", "Read Only Mode", 0, 4),
        short("cache-mode", "Cache Mode", 0, 4),
    ]
}

/// `CardGetProperty` calls the module must refuse.
fn get_refusals() -> Vec<CaseDef> {
    vec![
        get_refused(
            "null-card-data",
            Some("Free Space"),
            16,
            0,
            false,
            false,
            true,
            "CMCK CardGetProperty",
        ),
        get_refused(
            "null-name",
            None,
            16,
            0,
            false,
            false,
            false,
            "CMCK CardGetProperty",
        ),
        get_refused(
            "empty-name",
            Some(""),
            16,
            0,
            false,
            false,
            false,
            "CMCK CardGetProperty",
        ),
        get_refused(
            "unknown-name",
            Some("Bogus Property"),
            16,
            0,
            false,
            false,
            false,
            "CMCK CardGetProperty",
        ),
        get_refused(
            "very-long-name",
            Some(
                "Free SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree \
                SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree \
                SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree SpaceFree \
                SpaceFree Space",
            ),
            16,
            0,
            false,
            false,
            false,
            "CMCK CardGetProperty",
        ),
        get_refused(
            "null-data",
            Some("Free Space"),
            16,
            0,
            true,
            false,
            false,
            "CMCK CardGetProperty",
        ),
        get_refused(
            "null-length",
            Some("Free Space"),
            16,
            0,
            false,
            true,
            false,
            "CMCK CardGetProperty",
        ),
        get_refused(
            "flags-on-free-space",
            Some("Free Space"),
            16,
            1,
            false,
            false,
            false,
            "spec §4.5.4: dwFlags \
            must be 0 unless the property gives it a meaning",
        ),
        get_refused(
            "key-sizes-undefined-spec",
            Some("Key Sizes"),
            20,
            0x102,
            false,
            false,
            false,
            "spec §4.5.4 (CP_CARD_KEYSIZES): undefined key spec",
        ),
        get_refused(
            "pin-info-role-8",
            Some("PIN Information"),
            36,
            8,
            false,
            false,
            false,
            "spec §7.2: PIN_ID 0..7",
        ),
        get_refused(
            "padding-schemes-bad-operation",
            Some("Padding Schemes"),
            4,
            3,
            false,
            false,
            false,
            "spec §4.5.4 (CP_PADDING_SCHEMES): 1 or 2",
        ),
    ]
}

/// `CardSetProperty`: what may be set, and what must be refused.
fn settable() -> Vec<CaseDef> {
    vec![
        set(
            "parent-window-null-hwnd",
            Some("Parent Window"),
            Some(&[0u8; size_of::<usize>()]),
            0,
            false,
            &[SCARD_S_SUCCESS],
            "CMCK CardSetProperty: CP_PARENT_WINDOW with a valid (here NULL) HWND",
        ),
        set(
            "parent-window-bad-size",
            Some("Parent Window"),
            Some(&[0u8; 3]),
            0,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardSetProperty",
        ),
        set(
            "parent-window-null-data",
            Some("Parent Window"),
            None,
            0,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardSetProperty",
        ),
        set(
            "pin-context-string",
            Some("PIN Context String"),
            Some(b"T\0e\0s\0t\0\0\0"),
            0,
            false,
            &[SCARD_S_SUCCESS],
            "CMCK CardSetProperty",
        ),
        set(
            "pin-context-string-null",
            Some("PIN Context String"),
            None,
            0,
            false,
            &[SCARD_S_SUCCESS],
            "CMCK CardSetProperty: NULL pbData allowed",
        ),
        set(
            "card-guid-not-admin",
            Some("Card Identifier"),
            Some(&[0u8; 16]),
            0,
            false,
            &[SCARD_W_SECURITY_VIOLATION],
            "CMCK CardSetProperty: read-only/admin properties without authentication → \
            SCARD_W_SECURITY_VIOLATION",
        ),
        set(
            "free-space-read-only",
            Some("Free Space"),
            Some(&[0u8; 16]),
            0,
            false,
            &[SCARD_E_UNSUPPORTED_FEATURE, SCARD_W_SECURITY_VIOLATION],
            "spec §4.5.5: a read-only property → UNSUPPORTED_FEATURE or SECURITY_VIOLATION",
        ),
        set(
            "unknown-name",
            Some("Bogus Property"),
            Some(&[0u8; 4]),
            0,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardSetProperty expects INVALID_PARAMETER (the spec says UNSUPPORTED_FEATURE for an \
            unsupported one)",
        ),
        set(
            "empty-name",
            Some(""),
            Some(&[0u8; 4]),
            0,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardSetProperty",
        ),
        set(
            "null-name",
            None,
            Some(&[0u8; 4]),
            0,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardSetProperty",
        ),
        set(
            "flags-1",
            Some("PIN Context String"),
            Some(b"T\0\0\0"),
            1,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.5.5",
        ),
        set(
            "null-card-data",
            Some("PIN Context String"),
            Some(b"T\0\0\0"),
            0,
            true,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardSetProperty",
        ),
    ]
}

/// `CardGetContainerProperty`: the refusals and a short buffer.
fn container_properties() -> Vec<CaseDef> {
    vec![
        container_refused(
            "short-buffer-pin-identifier",
            None,
            Some("PIN Identifier"),
            3,
            0,
            false,
            false,
            false,
            &[ERROR_INSUFFICIENT_BUFFER],
            "CMCK CardGetContainerProperty: cbData too small → 0x7A",
        ),
        container_refused(
            "unknown-name",
            None,
            Some("Bogus Property"),
            64,
            0,
            false,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerProperty",
        ),
        container_refused(
            "null-name",
            None,
            None,
            64,
            0,
            false,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerProperty",
        ),
        container_refused(
            "empty-name",
            None,
            Some(""),
            64,
            0,
            false,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerProperty",
        ),
        container_refused(
            "null-data",
            None,
            Some("PIN Identifier"),
            4,
            0,
            true,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerProperty",
        ),
        container_refused(
            "null-length",
            None,
            Some("PIN Identifier"),
            4,
            0,
            false,
            true,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerProperty",
        ),
        container_refused(
            "flags-1",
            None,
            Some("PIN Identifier"),
            4,
            1,
            false,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerProperty",
        ),
        container_refused(
            "index-255",
            Some(255),
            Some("PIN Identifier"),
            4,
            0,
            false,
            false,
            false,
            &[SCARD_E_NO_KEY_CONTAINER],
            "CMCK CardGetContainerProperty",
        ),
        container_refused(
            "null-card-data",
            None,
            Some("PIN Identifier"),
            4,
            0,
            false,
            false,
            true,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardGetContainerProperty",
        ),
        opened(SUITE, "container-info-short-buffer", |h, v, b| {
            let first = h.first_container(b);
            let r = b.call().get_container_info_property(first, 1, 8);
            v.reply(
                "CardGetContainerProperty(CCP_CONTAINER_INFO, cbData 8)",
                &r,
                &[ERROR_INSUFFICIENT_BUFFER],
            );
        }),
    ]
}

/// `CardSetContainerProperty`: what may be rebound, and what must be refused.
fn container_settable() -> Vec<CaseDef> {
    vec![
        set_container(
            "pin-identifier-unauthenticated",
            None,
            Some("PIN Identifier"),
            0,
            false,
            &[SCARD_W_SECURITY_VIOLATION],
            "spec §4.5.3: only USER or ADMIN may rebind a container",
        ),
        set_container(
            "unknown-name",
            None,
            Some("Bogus Property"),
            0,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.5.3",
        ),
        set_container(
            "null-name",
            None,
            None,
            0,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.5.3",
        ),
        set_container(
            "flags-1",
            None,
            Some("PIN Identifier"),
            1,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.5.3",
        ),
        set_container(
            "index-255",
            Some(255),
            Some("PIN Identifier"),
            0,
            false,
            &[SCARD_E_NO_KEY_CONTAINER],
            "spec §4.5.3",
        ),
        set_container(
            "container-info-read-only",
            None,
            Some("Container Info"),
            0,
            false,
            &[SCARD_E_UNSUPPORTED_FEATURE, SCARD_E_INVALID_PARAMETER],
            "spec §4.5.3: CCP_CONTAINER_INFO is read-only; INVALID_PARAMETER or UNSUPPORTED_FEATURE",
        ),
        set_container(
            "null-card-data",
            None,
            Some("PIN Identifier"),
            0,
            true,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §2.3.2: NULL pCardData",
        ),
    ]
}

/// An invalid call against one context's container interface.
type InvalidCall = (&'static str, fn(&Calls<'_>) -> u32, u32);

/// Calls whose arguments are wrong whatever the card holds: an index no container can have (the module
/// lists at most 48: 24 slots and their ECDH twins; an index of 200 is out of any layout), unknown
/// property names, an ECDH blob with an unknown magic.
const INVALID_CALLS: [InvalidCall; 8] = [
    (
        "CardGetContainerProperty(200, \"bogus\")",
        |c| {
            c.get_container_property(200, Some("bogus"), 64, 0, false, false)
                .code
        },
        SCARD_E_INVALID_PARAMETER,
    ),
    (
        "CardGetContainerProperty(0, \"bogus\")",
        |c| {
            c.get_container_property(0, Some("bogus"), 64, 0, false, false)
                .code
        },
        SCARD_E_INVALID_PARAMETER,
    ),
    (
        "CardGetContainerProperty(200, CCP_PIN_IDENTIFIER)",
        |c| {
            c.get_container_property(200, Some("PIN Identifier"), 64, 0, false, false)
                .code
        },
        SCARD_E_NO_KEY_CONTAINER,
    ),
    (
        "CardSetContainerProperty(0, \"bogus\")",
        |c| {
            c.set_container_property(0, Some("bogus"), Some(&[1, 0, 0, 0]), 0)
                .code
        },
        SCARD_E_INVALID_PARAMETER,
    ),
    (
        "CardGetContainerInfo(200)",
        |c| c.get_container_info(200, 0, StructArg::V1).code,
        SCARD_E_NO_KEY_CONTAINER,
    ),
    (
        "CardSignData(200)",
        |c| c.sign_data(&SignArgs::basic(2, 200, 3, 0x800C, &[0x11; 32])).code,
        SCARD_E_NO_KEY_CONTAINER,
    ),
    (
        "CardRSADecrypt(200)",
        |c| {
            c.rsa_decrypt(&DecryptArgs::v2(200, 1, &[0x22; 256], 1, PaddingInfo::Null))
                .code
        },
        SCARD_E_NO_KEY_CONTAINER,
    ),
    (
        "CardConstructDHAgreement(0, unknown blob magic)",
        |c| {
            let mut blob = b"XXXX".to_vec();
            blob.extend(32u32.to_le_bytes());
            blob.extend([0x04; 64]);
            c.construct_dh_agreement(2, 0, 0, Some(&blob), false).code
        },
        SCARD_E_INVALID_PARAMETER,
    ),
];

/// Each invalid call on a fresh context (nothing read from the card yet) gets its code before the card
/// is asked anything: no APDU.
fn invalid_arguments_cost_no_apdu() -> CaseDef {
    case(SUITE, "invalid-arguments-cost-no-apdu", |h, v| {
        for (what, call, want) in INVALID_CALLS {
            let Some(b) = open(h, v) else { return };
            let before = h.counters();
            let code = call(&b.call());
            let cost = before.zip(h.counters()).map(|(b, a)| a.since(b).apdus);
            v.code(what, code, &[want]);
            match cost {
                Some(n) => {
                    v.check(n == 0, || format!("{what}: {n} APDUs before the refusal"));
                }
                None => v.note(format!("{what}: the card's APDU counters are not available here")),
            }
        }
        v.note("every argument is checked before any card traffic");
    })
}
