//! What the certification kit calls MemoryManagement, MultiThreaded, Reconnect and SupportMultiple (spec
//! §2.3.1, §3.2.2; CMCK OutOfMem, MultiThreaded, Reconnect): allocation failure (`SCARD_E_NO_MEMORY`, nothing
//! leaked), five threads on one context and several contexts at once, a card reset between calls (through
//! another connection and through the context's own handle), the CSP handing in a new `hScard`, and the cache
//! protocol.

use std::thread;

use tessera_piv::PinStatus;

use super::common::{fault, open, opened, test_fault};
use crate::codes::*;
use crate::ffi::alloc;
use crate::ffi::calls::{Calls, FileArgs, SignArgs, StructArg};
use crate::fixture::{DEFAULT_PIN, PIN_TRIES};
use crate::harness::{CaseDef, ConnectedContext, Harness, Verdict, case};
use crate::oracle::hash::Hash;
use crate::oracle::rsa::reversed;
use crate::suites::keys::{NeededKey, find, login};

const SUITE: &str = "robustness";

/// An operation that returns a buffer allocated with `pfnCspAlloc`.
type Op = fn(&Calls<'_>) -> (u32, Vec<String>);

/// With every allocation failing, `op` returns `SCARD_E_NO_MEMORY`; failing the 1st, 2nd, … allocation
/// in turn never leaks and never returns anything but success or `SCARD_E_NO_MEMORY`.
fn out_of_memory(name: &'static str, op: Op) -> CaseDef {
    opened(SUITE, format!("out-of-memory-{name}"), move |_, v, b| {
        // Warm up (the module may read the card on first use), so that the failures hit the output.
        let (warm, _) = op(&b.call());
        if !v.check(warm == 0, || {
            format!("{name} fails without injection: {}", crate::codes::name(warm))
        }) {
            return;
        }
        alloc::fail_all(true);
        let (code, problems) = op(&b.call());
        alloc::disarm();
        v.code(
            &format!("{name} with pfnCspAlloc failing"),
            code,
            &[SCARD_E_NO_MEMORY],
        );
        v.failures.extend(problems);
        let calls_before = alloc::allocation_calls();
        let (_, _) = op(&b.call());
        let per_call = alloc::allocation_calls() - calls_before;
        for n in 1..=per_call {
            alloc::fail_nth(n);
            let (code, problems) = op(&b.call());
            alloc::disarm();
            v.check(code == SCARD_E_NO_MEMORY || code == 0, || {
                format!(
                    "allocation {n} failing: {} (expected SCARD_E_NO_MEMORY)",
                    crate::codes::name(code)
                )
            });
            v.failures.extend(problems);
        }
        let (after, _) = op(&b.call());
        v.check(after == 0, || {
            "the context does not recover after allocation failures".into()
        });
        v.note(
            "CMCK OutOfMem: SCARD_E_NO_MEMORY (not the spec's ERROR_NOT_ENOUGH_MEMORY); leaks checked after \
            CardDeleteContext",
        );
    })
}

fn read_op(dir: Option<&'static str>, file: &'static str) -> impl Fn(&Calls<'_>) -> (u32, Vec<String>) {
    move |c| {
        let r = c.read(dir, file);
        (r.code, r.problems)
    }
}

/// One round of mixed read-only calls; returns what it read, or the first failure.
fn round(c: &Calls<'_>, index: u8) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for (dir, file) in [(None, "cardid"), (Some("mscp"), "cmapfile"), (None, "cardapps")] {
        let r = c.read(dir, file);
        if !r.ok() || !r.problems.is_empty() {
            return Err(format!(
                "CardReadFile({file}) → {} {:?}",
                name(r.code),
                r.problems
            ));
        }
        out.push(r.value.unwrap_or_default());
    }
    let i = c.get_container_info(index, 0, StructArg::V1);
    if !i.ok() || !i.problems.is_empty() {
        return Err(format!(
            "CardGetContainerInfo → {} {:?}",
            name(i.code),
            i.problems
        ));
    }
    let info = i.value.unwrap_or_default();
    out.push(info.signature_key.or(info.exchange_key).unwrap_or_default());
    let p = c.get_property(Some("PIN List"), 4, 0, false, false);
    if !p.ok() {
        return Err(format!("CardGetProperty(PIN List) → {}", name(p.code)));
    }
    out.push(p.value.map(|p| p.data).unwrap_or_default());
    let e = c.enum_files(FileArgs {
        dir: Some(b"mscp"),
        ..Default::default()
    });
    if !e.ok() {
        return Err(format!("CardEnumFiles → {}", name(e.code)));
    }
    Ok(out)
}

fn with_restored_pin(h: &Harness, v: &mut Verdict, body: impl FnOnce(&Harness, &mut Verdict)) {
    if !h.fixture().provisioned {
        return v.skip("the card was not provisioned: its PIN is unknown");
    }
    if v.setup("restore the PIN", h.restore_pin()).is_none() {
        return;
    }
    body(h, v);
    if let Err(e) = h.restore_pin() {
        v.fail(format!("restoring the PIN afterwards: {e}"));
    }
    let _ = h.card().reset_through_other();
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = vec![
        out_of_memory("read-cardid", |c| read_op(None, "cardid")(c)),
        out_of_memory("read-cmapfile", |c| read_op(Some("mscp"), "cmapfile")(c)),
        out_of_memory("enum-files", |c| {
            let r = c.enum_files(FileArgs {
                dir: Some(b"mscp"),
                ..Default::default()
            });
            (r.code, r.problems)
        }),
        out_of_memory("container-info", |c| {
            let r = c.get_container_info(0, 0, StructArg::V1);
            (r.code, r.problems)
        }),
        out_of_memory("container-info-property", |c| {
            let r = c.get_container_info_property(0, 1, 40);
            (r.code, r.problems)
        }),
        out_of_memory("get-challenge", |c| {
            let r = c.get_challenge(false, false);
            (r.code, r.problems)
        }),
        opened(SUITE, "five-threads-one-context", |h, v, b| {
            let index = h.first_container(b);
            let Some(reference) = v.setup("reference round", round(&b.call(), index)) else {
                return;
            };
            let results: Vec<Result<(), String>> = thread::scope(|scope| {
                let handles: Vec<_> = (0..5)
                    .map(|_| {
                        let (b, reference) = (&b, &reference);
                        scope.spawn(move || {
                            for _ in 0..20 {
                                let got = round(&b.call(), index)?;
                                if &got != reference {
                                    return Err("a thread read different data".to_owned());
                                }
                            }
                            Ok(())
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|t| t.join().unwrap_or_else(|_| Err("a thread panicked".into())))
                    .collect()
            });
            let failed: Vec<_> = results.into_iter().filter_map(Result::err).collect();
            v.code(
                "100 rounds on 5 threads",
                if failed.is_empty() { 0 } else { SCARD_E_UNEXPECTED },
                &[0],
            );
            v.failures.extend(failed);
            v.note("CMCK MultiThreaded: 5 threads share one context");
        }),
        case(SUITE, "several-contexts-threads", |h, v| {
            let contexts: Vec<ConnectedContext> = (0..3).filter_map(|_| v.setup("open", h.open())).collect();
            if contexts.len() != 3 {
                return;
            }
            let index = h.first_container(&contexts[0]);
            let results: Vec<Result<Vec<Vec<u8>>, String>> = thread::scope(|scope| {
                let handles: Vec<_> = contexts
                    .iter()
                    .flat_map(|b| [b, b])
                    .map(|b| {
                        scope.spawn(move || {
                            let mut last = Vec::new();
                            for _ in 0..15 {
                                let _transaction = h.transaction(b);
                                last = round(&b.call(), index)?;
                            }
                            Ok(last)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|t| t.join().unwrap_or_else(|_| Err("a thread panicked".into())))
                    .collect()
            });
            v.note(
                "spec §2.3.1: the CSP holds a card transaction around each call; so does the harness \
                (SCardBeginTransaction, or a lock on the in-process card)",
            );
            let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            v.code(
                "3 contexts × 2 threads",
                if ok.len() == results.len() {
                    0
                } else {
                    SCARD_E_UNEXPECTED
                },
                &[0],
            );
            for r in results.iter().filter_map(|r| r.as_ref().err()) {
                v.fail(r.clone());
            }
            v.check(ok.windows(2).all(|w| w[0] == w[1]), || {
                "the contexts read different data".into()
            });
        }),
        opened(SUITE, "reset-through-other-connection", |h, v, b| {
            let before = b.call().read(Some("mscp"), "cmapfile");
            v.reply("CardReadFile before", &before, &[SCARD_S_SUCCESS]);
            let Some(()) = v.setup("reset", h.card().reset_through_other()) else {
                return;
            };
            let after = b.call().read(Some("mscp"), "cmapfile");
            v.reply("CardReadFile after the reset", &after, &[SCARD_S_SUCCESS]);
            v.check(before.value == after.value, || {
                "different content after the reset".into()
            });
            let info = b
                .call()
                .get_container_info(h.first_container(b), 0, StructArg::V1);
            v.reply("CardGetContainerInfo after the reset", &info, &[SCARD_S_SUCCESS]);
            v.note("the module retries a read-only operation once after SCARD_W_RESET_CARD");
        }),
        opened(SUITE, "reset-through-same-handle", |h, v, b| {
            let before = b.call().read(None, "cardid");
            v.reply("CardReadFile before", &before, &[SCARD_S_SUCCESS]);
            let Some(()) = v.setup("reset", h.card().reset_same_handle(b.connection.as_ref())) else {
                return;
            };
            let after = b.call().read(None, "cardid");
            v.reply("CardReadFile after the reset", &after, &[SCARD_S_SUCCESS]);
            v.check(before.value == after.value, || {
                "different cardid after the reset".into()
            });
            let cmap = b.call().read(Some("mscp"), "cmapfile");
            v.reply(
                "CardReadFile(cmapfile) after the reset",
                &cmap,
                &[SCARD_S_SUCCESS],
            );
            v.note(
                "the card lost its selection without any error telling the module (reset through the \
                same handle)",
            );
        }),
        case(SUITE, "reset-then-authenticate", |h, v| {
            with_restored_pin(h, v, |h, v| {
                let Some(b) = open(h, v) else { return };
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(DEFAULT_PIN), None, true);
                v.reply("CardAuthenticatePin", &r, &[SCARD_S_SUCCESS]);
                let Some(()) = v.setup("reset", h.card().reset_through_other()) else {
                    return;
                };
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(DEFAULT_PIN), None, true);
                v.reply("CardAuthenticatePin after a reset", &r, &[SCARD_S_SUCCESS]);
                v.check(h.pin_status() == Ok(PinStatus::Verified), || {
                    "the PIN is not verified".into()
                });
            });
        }),
        case(SUITE, "reset-never-replays-a-wrong-pin", |h, v| {
            with_restored_pin(h, v, |h, v| {
                let Some(b) = open(h, v) else { return };
                let Some(()) = v.setup("reset", h.card().reset_through_other()) else {
                    return;
                };
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(b"000000"), None, true);
                v.reply("wrong PIN right after a reset", &r, &[SCARD_W_WRONG_CHV]);
                let left = match h.pin_status() {
                    Ok(PinStatus::NotVerified { retries }) => Some(retries),
                    _ => None,
                };
                v.check(left == Some(PIN_TRIES - 1), || {
                    format!(
                        "{left:?} tries left: a wrong PIN must cost exactly one try (VERIFY is never retried)"
                    )
                });
            });
        }),
        case(SUITE, "cmck-reconnect-sequence", |h, v| {
            with_restored_pin(h, v, |h, v| {
                let Some(mut b) = open(h, v) else { return };
                if let Some(conn) = &b.connection {
                    let _ = conn.begin_transaction();
                }
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(DEFAULT_PIN), None, true);
                v.reply("CardAuthenticatePin", &r, &[SCARD_S_SUCCESS]);
                let q = b.call().query_capabilities(StructArg::V1);
                v.reply("CardQueryCapabilities", &q, &[SCARD_S_SUCCESS]);
                let Some(()) = v.setup(
                    "SCardReconnect(reset)",
                    h.card().reset_same_handle(b.connection.as_ref()),
                ) else {
                    return;
                };
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(DEFAULT_PIN), None, true);
                v.reply("CardAuthenticatePin after SCardReconnect", &r, &[SCARD_S_SUCCESS]);
                let d = b.call().deauthenticate(Some("user"), 0);
                v.reply("CardDeauthenticate", &d, &[SCARD_S_SUCCESS]);
                v.code("CardDeleteContext", b.ctx.delete(), &[SCARD_S_SUCCESS]);
                if let Some(conn) = &b.connection {
                    let _ = conn.end_transaction();
                }
            });
            v.note(
                "CMCK Reconnect: Begin transaction → acquire → AuthenticatePin → QueryCapabilities → \
                SCardReconnect → AuthenticatePin → Deauthenticate → delete → End transaction",
            );
        }),
        case(SUITE, "handle-changes-between-calls", |h, v| {
            let Some(mut b) = open(h, v) else { return };
            let before = b.call().read(Some("mscp"), "cmapfile");
            v.reply("CardReadFile on the first handle", &before, &[SCARD_S_SUCCESS]);
            let old = b.card_handle();
            let Some(()) = v.setup("new handle", h.swap_handle(&mut b)) else {
                return;
            };
            v.check(b.card_handle() != old, || {
                "harness: the handle did not change".into()
            });
            let after = b.call().read(Some("mscp"), "cmapfile");
            v.reply("CardReadFile on the new handle", &after, &[SCARD_S_SUCCESS]);
            v.check(before.value == after.value, || {
                "different content on the new handle".into()
            });
            let info = b
                .call()
                .get_container_info(h.first_container(&b), 0, StructArg::V1);
            v.reply(
                "CardGetContainerInfo on the new handle",
                &info,
                &[SCARD_S_SUCCESS],
            );
            v.note(
                "the CSP may pass another hScard on a later call; the module uses each call's (the old one \
                is disconnected)",
            );
        }),
        case(SUITE, "handle-change-then-authenticate", |h, v| {
            with_restored_pin(h, v, |h, v| {
                let Some(mut b) = open(h, v) else { return };
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(DEFAULT_PIN), None, true);
                v.reply("CardAuthenticatePin", &r, &[SCARD_S_SUCCESS]);
                let Some(()) = v.setup("new handle", h.swap_handle(&mut b)) else {
                    return;
                };
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(DEFAULT_PIN), None, true);
                v.reply("CardAuthenticatePin on the new handle", &r, &[SCARD_S_SUCCESS]);
            });
        }),
        opened(SUITE, "cardid-cardcf-bypass-the-cache", |h, v, b| {
            let before = h.cache().stats();
            let id = b.call().read(None, "cardid");
            let cf = b.call().read(None, "cardcf");
            let after = h.cache().stats();
            v.reply("CardReadFile(cardid)", &id, &[SCARD_S_SUCCESS]);
            v.reply("CardReadFile(cardcf)", &cf, &[SCARD_S_SUCCESS]);
            v.check(before == after, || {
                "the module used the CSP cache while reading cardid/cardcf (spec §3.2.2: the CSP \
                    checks its cache by reading these two files, so that recurses in the real CSP)"
                    .into()
            });
        }),
        opened(SUITE, "cache-follows-freshness", |h, v, b| {
            let (Some(id), Some(cf)) = (
                b.call().read(None, "cardid").value,
                b.call().read(None, "cardcf").value,
            ) else {
                return v.fail("cardid or cardcf unreadable");
            };
            v.code("CardReadFile(cardid, cardcf)", 0, &[0]);
            h.cache().begin_transaction(&id, &cf);
            let cmap = b.call().read(Some("mscp"), "cmapfile").value.unwrap_or_default();
            h.cache().insert("tessera-conformance/cmapfile", &cmap);
            // A second transaction on an unchanged card keeps the cache.
            let (id2, cf2) = (
                b.call().read(None, "cardid").value,
                b.call().read(None, "cardcf").value,
            );
            let dropped = h
                .cache()
                .begin_transaction(&id2.unwrap_or_default(), &cf2.unwrap_or_default());
            v.check(!dropped, || {
                "cardid/cardcf changed on an unchanged card: the CSP would drop its cache every transaction"
                    .into()
            });
            v.check(h.cache().get("tessera-conformance/cmapfile").is_some(), || {
                "cache entry lost".into()
            });
        }),
        opened(SUITE, "module-cache-entries-are-freed", |h, v, b| {
            for _ in 0..3 {
                let r = b.call().read(Some("mscp"), "cmapfile");
                v.reply("CardReadFile(cmapfile)", &r, &[SCARD_S_SUCCESS]);
                let p = b
                    .call()
                    .get_property(Some("Card Identifier"), 16, 0, false, false);
                v.reply("CardGetProperty(CP_CARD_GUID)", &p, &[SCARD_S_SUCCESS]);
            }
            let s = h.cache().stats();
            v.check(s.misuse == 0, || {
                format!("{} cache calls with bad arguments", s.misuse)
            });
            v.note(format!(
                "cache: {} adds, {} hits, {} misses",
                s.adds, s.hits, s.misses
            ));
        }),
    ];
    c.push(malformed_metadata_hides_no_other_slot());
    c.push(case(SUITE, "allocator-balanced-after-delete", |h, v| {
        let before = alloc::live_count();
        let Some(mut b) = open(h, v) else { return };
        let _ = round(&b.call(), h.first_container(&b));
        v.code("CardDeleteContext", b.ctx.delete(), &[SCARD_S_SUCCESS]);
        drop(b);
        v.check(alloc::live_count() == before, || {
            format!(
                "{} pfnCspAlloc blocks outstanding after CardDeleteContext",
                alloc::live_count() - before
            )
        });
    }));
    c
}

/// GET METADATA of 9D answered with a malformed template (the card's test fault): a fresh context still
/// lists the other slots and signs with 9A (9D, which has no certificate, has nothing left that tells
/// its key and is left out).
fn malformed_metadata_hides_no_other_slot() -> CaseDef {
    case(SUITE, "malformed-metadata-hides-no-other-slot", |h, v| {
        let Some(key) = v.setup("find the key", find(h, NeededKey::RsaExchange(2048))) else {
            return;
        };
        match test_fault(h, fault::MALFORMED_METADATA, 0x9D) {
            Ok(true) => {}
            Ok(false) => {
                return v.skip("the card cannot be made to answer malformed metadata (no test faults)");
            }
            Err(e) => return v.fail(format!("setup (test fault): {e}")),
        }
        if let Some(b) = v.setup("open", h.open()) {
            match h.cmap(&b) {
                Ok(records) => {
                    let listed = |i: u8| records.iter().any(|r| r.index == i && r.valid());
                    v.check(listed(key.index), || {
                        format!("container {} (9A) is missing from cmapfile", key.index)
                    });
                }
                Err(e) => v.fail(format!("cmapfile with one slot's metadata malformed: {e}")),
            }
            let signed = login(&b, &key).map_err(name).and_then(|()| {
                let rsa = key.rsa()?;
                let data = Hash::Sha256.of("malformed metadata");
                let args = SignArgs::pkcs1_sha256(key.index, key.spec, &data);
                let r = b.call().sign_data(&args);
                let sig = r
                    .value
                    .and_then(|o| o.signature)
                    .ok_or_else(|| format!("CardSignData returned {}", name(r.code)))?;
                rsa.verify_pkcs1(Some(Hash::Sha256), &data, &reversed(&sig))
            });
            v.check(signed.is_ok(), || {
                format!("9A does not sign: {}", signed.err().unwrap_or_default())
            });
        }
        if let Err(e) = test_fault(h, fault::CLEAR, 0) {
            v.fail(format!("clearing the test fault: {e}"));
        }
        v.note(
            "a malformed answer for one slot is treated like an unreadable certificate: that slot loses \
            the detail, the others are unaffected",
        );
    })
}
