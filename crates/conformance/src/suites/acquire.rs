//! `CardAcquireContext` and `CardDeleteContext` (spec §2.5.1, §4.1.1, §4.1.2; CMCK CardAcquireContext and
//! SanityTest): validation of every caller-filled member, version negotiation (and that only the negotiated
//! version's members are written, with `CARD_DATA` allocated at exactly that version's size plus guard
//! bytes), and the life of several contexts.

use std::mem::offset_of;

use tessera_piv::{Transport, TransportError};
use windows_sys::Win32::Security::Cryptography::CARD_DATA;

use crate::codes::*;
use crate::ffi::calls::{AcquireSpec, Context};
use crate::ffi::card_data::card_data_size;
use crate::harness::{CaseDef, Verdict, case};

const SUITE: &str = "acquire";

/// Entries every module must fill at each version: the `CARD_DATA` members of spec §4.1.1 that no entry
/// point's section allows to be NULL (CardDeauthenticate may be NULL before v6, CardRSADecrypt on an
/// ECC-only card, the DH entries on an RSA-only card).
fn mandatory_entries(version: u32) -> Vec<(&'static str, usize)> {
    let mut v = vec![
        (
            "pfnCardDeleteContext",
            offset_of!(CARD_DATA, pfnCardDeleteContext),
        ),
        (
            "pfnCardQueryCapabilities",
            offset_of!(CARD_DATA, pfnCardQueryCapabilities),
        ),
        (
            "pfnCardGetContainerInfo",
            offset_of!(CARD_DATA, pfnCardGetContainerInfo),
        ),
        (
            "pfnCardAuthenticatePin",
            offset_of!(CARD_DATA, pfnCardAuthenticatePin),
        ),
        ("pfnCardReadFile", offset_of!(CARD_DATA, pfnCardReadFile)),
        ("pfnCardEnumFiles", offset_of!(CARD_DATA, pfnCardEnumFiles)),
        ("pfnCardGetFileInfo", offset_of!(CARD_DATA, pfnCardGetFileInfo)),
        (
            "pfnCardQueryFreeSpace",
            offset_of!(CARD_DATA, pfnCardQueryFreeSpace),
        ),
        (
            "pfnCardQueryKeySizes",
            offset_of!(CARD_DATA, pfnCardQueryKeySizes),
        ),
        ("pfnCardSignData", offset_of!(CARD_DATA, pfnCardSignData)),
    ];
    if version >= 6 {
        v.extend([
            (
                "pfnCardAuthenticateEx",
                offset_of!(CARD_DATA, pfnCardAuthenticateEx),
            ),
            (
                "pfnCardDeauthenticateEx",
                offset_of!(CARD_DATA, pfnCardDeauthenticateEx),
            ),
            (
                "pfnCardGetContainerProperty",
                offset_of!(CARD_DATA, pfnCardGetContainerProperty),
            ),
            (
                "pfnCardSetContainerProperty",
                offset_of!(CARD_DATA, pfnCardSetContainerProperty),
            ),
            ("pfnCardGetProperty", offset_of!(CARD_DATA, pfnCardGetProperty)),
            ("pfnCardSetProperty", offset_of!(CARD_DATA, pfnCardSetProperty)),
        ]);
    }
    v
}

/// A negotiation case: request `requested` in a `CARD_DATA` of that version's size.
fn negotiate(requested: u32, want: u32) -> CaseDef {
    let name = format!("version-{requested}-negotiates-{want}");
    case(SUITE, name, move |h, v| {
        let Some(mut b) = v.setup("bind", h.acquire_with(|s| s.version = requested)) else {
            return;
        };
        if !v.code("CardAcquireContext", b.acquire_code, &[SCARD_S_SUCCESS]) {
            return;
        }
        v.check(b.version() == want, || {
            format!("dwVersion is {} after the call, expected {want}", b.version())
        });
        v.check(b.size() == card_data_size(requested), || {
            "harness: wrong buffer size".into()
        });
        v.check(b.guard_intact(), || {
            format!(
                "the module wrote past a {}-byte CARD_DATA (members of a newer version than {want})",
                b.size()
            )
        });
        v.check(b.has_vendor_context(), || "pvVendorSpecific was not set".into());
        let changed = b.caller_members_changed();
        v.check(changed.is_empty(), || {
            format!("the module changed caller members at offsets {changed:?}")
        });
        let filled = b.filled_members();
        for (name, offset) in mandatory_entries(want) {
            v.check(filled.contains(&offset), || {
                format!("{name} is NULL at version {want}")
            });
        }
        // The context works at this version.
        let r = b.call().read(None, "cardid");
        v.reply("CardReadFile(cardid)", &r, &[SCARD_S_SUCCESS]);
        v.code("CardDeleteContext", b.ctx.delete(), &[SCARD_S_SUCCESS]);
    })
}

/// A request that must be refused with `want`, the structure otherwise valid.
fn refuse(
    name: &str,
    want: &'static [u32],
    why: &'static str,
    adjust: impl Fn(&mut AcquireSpec) + Send + Sync + 'static,
) -> CaseDef {
    case(SUITE, name, move |h, v| {
        let Some(b) = v.setup("bind", h.acquire_with(&adjust)) else {
            return;
        };
        v.code("CardAcquireContext", b.acquire_code, want);
        v.check(b.acquire_code == 0 || !b.is_live(), || {
            "harness: context state".into()
        });
        if b.acquire_code != 0 {
            v.check(!b.has_vendor_context(), || {
                "pvVendorSpecific set although CardAcquireContext failed".into()
            });
        }
        v.note(why);
    })
}

/// A request that must succeed although an optional member is NULL.
fn accept(
    name: &str,
    why: &'static str,
    adjust: impl Fn(&mut AcquireSpec) + Send + Sync + 'static,
) -> CaseDef {
    case(SUITE, name, move |h, v| {
        let Some(b) = v.setup("bind", h.acquire_with(&adjust)) else {
            return;
        };
        if v.code("CardAcquireContext", b.acquire_code, &[SCARD_S_SUCCESS]) {
            let r = b.call().read(Some("mscp"), "cmapfile");
            v.reply("CardReadFile(mscp/cmapfile)", &r, &[SCARD_S_SUCCESS]);
        }
        v.note(why);
    })
}

/// A card without the PIV application (answers `6A82` to SELECT).
struct NotPiv;

impl Transport for NotPiv {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(vec![0x6A, 0x82])
    }
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = vec![case(SUITE, "positive-v7", |h, v| {
        let Some(b) = v.setup("bind", h.acquire_with(|_| {})) else {
            return;
        };
        v.code("CardAcquireContext", b.acquire_code, &[SCARD_S_SUCCESS]);
        v.check(b.version() == 7, || format!("dwVersion {}", b.version()));
        v.check(b.guard_intact(), || "wrote past CARD_DATA".into());
        v.check(b.has_vendor_context(), || "pvVendorSpecific not set".into());
    })];
    for requested in [0, 1, 2, 3] {
        c.push(refuse(
            &format!("version-{requested}-refused"),
            &[ERROR_REVISION_MISMATCH],
            "spec §2.5.1: below the minimum (4) → ERROR_REVISION_MISMATCH (CMCK SanityTest also sends 0)",
            move |s| {
                s.version = requested;
                s.size = Some(card_data_size(4));
            },
        ));
    }
    for (requested, want) in [(4, 4), (5, 5), (6, 6), (7, 7), (8, 7), (0xFFFF, 7)] {
        c.push(negotiate(requested, want));
    }
    c.extend([
        case(SUITE, "null-card-data", |h, v| {
            v.code(
                "CardAcquireContext(NULL)",
                h.module().acquire_null(0),
                &[SCARD_E_INVALID_PARAMETER],
            );
        }),
        case(SUITE, "delete-null-card-data", |h, v| {
            let Some(b) = v.setup("open", h.open()) else {
                return;
            };
            v.code(
                "CardDeleteContext(NULL)",
                b.null().delete_context(),
                &[SCARD_E_INVALID_PARAMETER],
            );
        }),
        refuse(
            "flags-0xff",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.1.1: unknown flag bits",
            |s| s.flags = 0xFF,
        ),
        refuse(
            "flags-0x2",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.1.1: unknown flag bit",
            |s| s.flags = 0x2,
        ),
        refuse(
            "flags-no-card-mode",
            &[SCARD_E_UNSUPPORTED_FEATURE],
            "spec §4.1.1: CARD_SECURE_KEY_INJECTION_NO_CARD_MODE not supported → SCARD_E_UNSUPPORTED_FEATURE \
             (spec v7; CMCK 6.1 accepted INVALID_PARAMETER from a v6 driver, for which bit 0 was undefined)",
            |s| s.flags = 0x1,
        ),
        refuse(
            "null-atr",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.1.1: pbAtr NULL",
            |s| s.atr = None,
        ),
        refuse(
            "atr-length-0",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK: cbAtr 0",
            |s| s.atr_len = Some(0),
        ),
        refuse(
            "atr-length-ffffffff",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK: cbAtr 0xFFFFFFFF",
            |s| s.atr_len = Some(u32::MAX),
        ),
        refuse(
            "atr-length-34",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK: cbAtr 34 is ISO-invalid",
            |s| {
                let mut atr = s.atr.clone().unwrap_or_default();
                atr.resize(34, 0);
                s.atr = Some(atr);
            },
        ),
        refuse(
            "atr-truncated-to-2",
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK's \"Invalid cbAtr (2)\": a truncated valid ATR",
            |s| s.atr_len = Some(2),
        ),
        refuse(
            "atr-all-ff",
            &[SCARD_E_UNKNOWN_CARD],
            "CMCK: valid length, all bytes FF",
            |s| {
                let n = s.atr.as_ref().map_or(0, Vec::len);
                s.atr = Some(vec![0xFF; n]);
            },
        ),
        refuse(
            "atr-all-00",
            &[SCARD_E_UNKNOWN_CARD],
            "CMCK: valid length, all bytes 00",
            |s| {
                let n = s.atr.as_ref().map_or(0, Vec::len);
                s.atr = Some(vec![0x00; n]);
            },
        ),
        refuse(
            "atr-bad-checksum",
            &[SCARD_E_UNKNOWN_CARD],
            "spec §4.1.1: an invalid pbAtr (here a wrong TCK) → SCARD_E_UNKNOWN_CARD",
            |s| {
                if let Some(last) = s.atr.as_mut().and_then(|a| a.last_mut()) {
                    *last ^= 0x01;
                }
            },
        ),
        refuse(
            "atr-trailing-byte",
            &[SCARD_E_INVALID_PARAMETER, SCARD_E_UNKNOWN_CARD],
            "spec §4.1.1: cbAtr that does not match the ATR's structure; the spec says UNKNOWN_CARD for a \
             plausible length that matches no card, CMCK accepted INVALID_PARAMETER for a bad cbAtr: either \
             is taken",
            |s| {
                if let Some(a) = s.atr.as_mut() {
                    a.push(0x00);
                }
            },
        ),
        refuse(
            "null-card-name",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.1.1: pwszCardName NULL",
            |s| s.name = None,
        ),
        refuse(
            "null-alloc",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.1.1: pfnCspAlloc NULL",
            |s| s.nulls.alloc = true,
        ),
        refuse(
            "null-realloc",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.1.1: pfnCspReAlloc NULL",
            |s| s.nulls.realloc = true,
        ),
        refuse(
            "null-free",
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.1.1: pfnCspFree NULL",
            |s| s.nulls.free = true,
        ),
        refuse(
            "null-card-handle",
            &[SCARD_E_INVALID_HANDLE],
            "CMCK: hScard == 0",
            |s| s.card_handle = 0,
        ),
        refuse(
            "null-context-handle",
            &[SCARD_E_INVALID_HANDLE],
            "spec §4.1.1: hSCardCtx == 0",
            |s| s.context_handle = 0,
        ),
        accept(
            "null-cache-add",
            "CMCK requires success with pfnCspCacheAddFile NULL",
            |s| s.nulls.cache_add = true,
        ),
        accept(
            "null-cache-lookup",
            "CMCK requires success with pfnCspCacheLookupFile NULL",
            |s| s.nulls.cache_lookup = true,
        ),
        accept(
            "null-cache-delete",
            "CMCK requires success with pfnCspCacheDeleteFile NULL",
            |s| s.nulls.cache_delete = true,
        ),
        accept(
            "null-cache-context",
            "spec §3.2.2: the CSP sets the cache members after CardAcquireContext",
            |s| s.nulls.cache_context = true,
        ),
        accept(
            "null-get-dh-agreement",
            "CMCK requires success with pfnCspGetDHAgreement NULL",
            |s| s.nulls.dh = true,
        ),
        accept(
            "null-pad",
            "spec §4.1.1: pfnCspPadData NULL only means no decryption is asked",
            |s| s.nulls.pad = true,
        ),
        accept(
            "null-unpad",
            "spec §3.2.3: pfnCspUnpadData is optional for the module",
            |s| s.nulls.unpad = true,
        ),
        accept(
            "foreign-valid-atr",
            "ambiguity: the spec says a valid ATR that is not one of the module's cards is UNKNOWN_CARD; \
             Tessera is a class driver that detects PIV by SELECT (spec Appendix D.4.3), so a structurally \
             valid foreign ATR with a PIV card behind it is accepted",
            |s| {
                s.atr = Some(vec![
                    0x3B, 0x98, 0x94, 0x40, 0x0A, 0xA5, 0x03, 0x01, 0x01, 0x01, 0xAD, 0x13, 0x10,
                ])
            },
        ),
        case(SUITE, "card-without-piv", |h, v| {
            if !h.module().is_builtin() {
                v.skip("needs an injected card without the PIV application (--builtin)");
                return;
            }
            let Some(binding) = v.setup("bind", h.card().bind()) else {
                return;
            };
            let spec = h.spec(&binding);
            let ctx = Context::acquire(h.module(), &spec, h.cache(), Some(Box::new(NotPiv)));
            v.code("CardAcquireContext", ctx.acquire_code, &[SCARD_E_UNKNOWN_CARD]);
            v.note("spec §4.1.1: the card has no PIV application (SELECT → 6A82) → SCARD_E_UNKNOWN_CARD");
        }),
        case(SUITE, "delete-positive", |h, v| {
            let Some(mut b) = v.setup("open", h.open()) else {
                return;
            };
            v.code("CardDeleteContext", b.ctx.delete(), &[SCARD_S_SUCCESS]);
        }),
        case(SUITE, "delete-twice", |h, v| {
            let Some(mut b) = v.setup("open", h.open()) else {
                return;
            };
            v.code("first CardDeleteContext", b.ctx.delete(), &[SCARD_S_SUCCESS]);
            v.code(
                "second CardDeleteContext",
                b.call().delete_context(),
                &[SCARD_E_INVALID_PARAMETER],
            );
            v.note("OpenSC: no private context → SCARD_E_INVALID_PARAMETER");
        }),
        case(SUITE, "call-after-delete", |h, v| {
            let Some(mut b) = v.setup("open", h.open()) else {
                return;
            };
            v.code("CardDeleteContext", b.ctx.delete(), &[SCARD_S_SUCCESS]);
            let r = b.call().read(None, "cardid");
            v.reply("CardReadFile after delete", &r, &[SCARD_E_INVALID_PARAMETER]);
            v.note("spec §2.3.2: a CARD_DATA without a context is an invalid parameter");
        }),
        case(SUITE, "several-contexts", |h, v| {
            let contexts: Vec<_> = (0..3).filter_map(|_| v.setup("open", h.open())).collect();
            if contexts.len() != 3 {
                return;
            }
            let ids: Vec<_> = contexts
                .iter()
                .map(|b| b.call().read(None, "cardid").value)
                .collect();
            v.code("CardReadFile on each", 0, &[0]);
            v.check(ids.iter().all(|i| i.is_some() && *i == ids[0]), || {
                "the contexts disagree on cardid".into()
            });
            let mut contexts = contexts;
            // Delete the middle one first: the others must keep working.
            v.code(
                "CardDeleteContext(middle)",
                contexts[1].ctx.delete(),
                &[SCARD_S_SUCCESS],
            );
            for (i, b) in contexts.iter().enumerate().filter(|(i, _)| *i != 1) {
                let r = b.call().read(Some("mscp"), "cmapfile");
                v.reply(&format!("CardReadFile on context {i}"), &r, &[SCARD_S_SUCCESS]);
            }
        }),
        case(SUITE, "acquire-out-of-memory", |h, v| {
            crate::ffi::alloc::fail_all(true);
            let b = h.acquire_with(|_| {});
            crate::ffi::alloc::disarm();
            let Some(b) = v.setup("bind", b) else { return };
            v.code(
                "CardAcquireContext",
                b.acquire_code,
                &[SCARD_S_SUCCESS, SCARD_E_NO_MEMORY],
            );
            v.note(
                "CMCK OutOfMem: a module that allocates in CardAcquireContext must return SCARD_E_NO_MEMORY",
            );
        }),
        case(SUITE, "context-survives-unrelated-acquire-failure", |h, v| {
            let Some(good) = v.setup("open", h.open()) else {
                return;
            };
            let Some(bad) = v.setup("bind", h.acquire_with(|s| s.nulls.alloc = true)) else {
                return;
            };
            v.code(
                "CardAcquireContext (bad)",
                bad.acquire_code,
                &[SCARD_E_INVALID_PARAMETER],
            );
            let r = good.call().read(None, "cardid");
            v.reply("CardReadFile on the good context", &r, &[SCARD_S_SUCCESS]);
        }),
    ]);
    c.push(verify_negotiated_table_v4());
    c
}

/// At v4, none of the v5+ entry points may be reachable and the caller's v5+ members do not exist.
fn verify_negotiated_table_v4() -> CaseDef {
    case(SUITE, "v4-table-has-no-v6-entries", |h, v: &mut Verdict| {
        let Some(b) = v.setup("open", h.open_version(4)) else {
            return;
        };
        v.code("CardAcquireContext", b.acquire_code, &[SCARD_S_SUCCESS]);
        let r = b
            .call()
            .get_property(Some("Card Identifier"), 16, 0, false, false);
        v.check(r.code == crate::ffi::calls::NOT_IN_TABLE, || {
            "the harness reached a v6 entry through a v4 CARD_DATA".into()
        });
        v.check(b.guard_intact(), || "wrote past the v4 CARD_DATA".into());
    })
}
