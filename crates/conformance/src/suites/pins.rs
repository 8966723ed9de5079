//! PINs and authentication (spec §4.2; CMCK CardAuthenticatePin and CardAuthenticateEx):
//! `CardAuthenticatePin`, `CardAuthenticateEx`, `CardDeauthenticate(Ex)`, the admin challenge, wrong and
//! blocked PINs. The PIN state is checked
//! through the harness's own PIV session, and every case that spends or blocks the PIN restores it with
//! the PUK afterwards so that later cases are not affected.

use tessera_piv::{ManagementAlgorithm, ManagementKey, PinStatus};

use super::common::{WriteCall, authenticated_state, null_card_data, open, opened};
use crate::blobs;
use crate::codes::*;
use crate::fixture::{DEFAULT_PIN, PIN_TRIES};
use crate::harness::{CaseDef, ConnectedContext, Harness, Verdict, case};
use crate::suites::keys::{ROLE_ADMIN, ROLE_USER};

const SUITE: &str = "pins";
/// `CARD_AUTHENTICATE_GENERATE_SESSION_PIN`, `CARD_AUTHENTICATE_SESSION_PIN`, `CARD_PIN_SILENT_CONTEXT`.
const GENERATE_SESSION_PIN: u32 = 0x1000_0000;
const SESSION_PIN: u32 = 0x2000_0000;
const SILENT: u32 = 0x40;

/// Runs `body` on a card whose PIN has all its tries, then restores the PIN (PUK if blocked) and
/// resets the card so that no authentication outlives the case.
fn with_pin_restored(
    h: &Harness,
    v: &mut Verdict,
    body: impl FnOnce(&Harness, &mut Verdict, &ConnectedContext),
) {
    if !h.fixture().provisioned {
        return v.skip("the card was not provisioned: its PIN is unknown");
    }
    if v.setup("restore the PIN", h.restore_pin()).is_none() {
        return;
    }
    if let Some(b) = open(h, v) {
        body(h, v, &b);
    }
    if let Err(e) = h.restore_pin() {
        v.fail(format!("restoring the PIN afterwards: {e}"));
    }
    let _ = h.card().reset_through_other();
}

fn retries(h: &Harness) -> Option<u8> {
    match h.pin_status() {
        Ok(PinStatus::NotVerified { retries }) => Some(retries),
        Ok(PinStatus::Blocked) => Some(0),
        _ => None,
    }
}

/// `CardAuthenticatePin` with a wrong PIN of some shape: WRONG_CHV (CMCK: not INVALID_PARAMETER).
fn legacy_wrong(name: &str, pin: &'static [u8], claimed: Option<u32>, why: &'static str) -> CaseDef {
    case(SUITE, format!("authenticate-pin-{name}"), move |h, v| {
        with_pin_restored(h, v, |h, v, b| {
            let before = retries(h);
            let r = b.call().authenticate_pin(Some("user"), Some(pin), claimed, true);
            v.reply("CardAuthenticatePin", &r, &[SCARD_W_WRONG_CHV]);
            let after = retries(h);
            if let (Some(Some(reported)), Some(after)) = (r.value, after) {
                v.check(reported == u32::from(after) || reported == u32::MAX, || {
                    format!("pcAttemptsRemaining {reported}, the card says {after}")
                });
            }
            v.check(after.is_some() && after <= before, || {
                "the PIN state is not as expected".into()
            });
            v.check(h.pin_status() != Ok(PinStatus::Verified), || {
                "the PIN is verified after a wrong PIN".into()
            });
        });
        v.note(why);
    })
}

/// `CardAuthenticatePin` refused before any PIN check.
fn legacy_refused(
    name: &str,
    user: Option<&'static str>,
    pin: Option<&'static [u8]>,
    null_cd: bool,
    want: &'static [u32],
    why: &'static str,
) -> CaseDef {
    case(SUITE, format!("authenticate-pin-{name}"), move |h, v| {
        with_pin_restored(h, v, |h, v, b| {
            let calls = if null_cd { b.null() } else { b.call() };
            let r = calls.authenticate_pin(user, pin, None, true);
            v.reply("CardAuthenticatePin", &r, want);
            v.check(retries(h) == Some(PIN_TRIES), || {
                "a try was spent on a refused call".into()
            });
        });
        v.note(why);
    })
}

/// `CardAuthenticateEx` refused with `want`.
#[allow(
    clippy::too_many_arguments,
    reason = "one argument per column of the case table"
)]
fn ex_refused(
    name: &str,
    pin_id: u32,
    flags: u32,
    pin: Option<&'static [u8]>,
    claimed: Option<u32>,
    session: bool,
    null_cd: bool,
    want: &'static [u32],
    why: &'static str,
) -> CaseDef {
    case(SUITE, format!("authenticate-ex-{name}"), move |h, v| {
        with_pin_restored(h, v, |h, v, b| {
            let calls = if null_cd { b.null() } else { b.call() };
            let r = calls.authenticate_ex(pin_id, flags, pin, claimed, session, true);
            v.reply("CardAuthenticateEx", &r, want);
            if want != [SCARD_W_WRONG_CHV] {
                v.check(retries(h) == Some(PIN_TRIES), || {
                    "a try was spent on a refused call".into()
                });
            }
            v.check(h.pin_status() != Ok(PinStatus::Verified), || {
                "the PIN is verified".into()
            });
        });
        v.note(why);
    })
}

fn deauth_refused(
    name: &str,
    user: Option<&'static str>,
    flags: u32,
    null_cd: bool,
    why: &'static str,
) -> CaseDef {
    opened(SUITE, format!("deauthenticate-{name}"), move |_, v, b| {
        let calls = if null_cd { b.null() } else { b.call() };
        v.reply(
            "CardDeauthenticate",
            &calls.deauthenticate(user, flags),
            &[SCARD_E_INVALID_PARAMETER],
        );
        v.note(why);
    })
}

fn deauth_ex(
    name: &str,
    set: u32,
    flags: u32,
    null_cd: bool,
    want: &'static [u32],
    why: &'static str,
) -> CaseDef {
    case(SUITE, format!("deauthenticate-ex-{name}"), move |h, v| {
        with_pin_restored(h, v, |h, v, b| {
            let login = b
                .call()
                .authenticate_ex(ROLE_USER, 0, Some(DEFAULT_PIN), None, false, false);
            v.reply("CardAuthenticateEx (setup)", &login, &[SCARD_S_SUCCESS]);
            v.expected = None;
            let calls = if null_cd { b.null() } else { b.call() };
            let r = calls.deauthenticate_ex(set, flags);
            v.reply("CardDeauthenticateEx", &r, want);
            if r.ok() && set & 0x02 != 0 {
                v.check(h.pin_status() != Ok(PinStatus::Verified), || {
                    "the user PIN is still verified".into()
                });
            }
        });
        v.note(why);
    })
}

/// The user logged in, then `CardDeauthenticateEx(set)` for roles that are not the user's: the user PIN
/// stays verified on the card and in the module; with `silent`, the call costs no APDU (when the card's
/// counters are known).
fn deauth_keeps_the_user(name: &str, set: u32, silent: bool, why: &'static str) -> CaseDef {
    case(
        SUITE,
        format!("deauthenticate-ex-{name}-keeps-the-user"),
        move |h, v| {
            with_pin_restored(h, v, |h, v, b| {
                let login = b
                    .call()
                    .authenticate_ex(ROLE_USER, 0, Some(DEFAULT_PIN), None, false, false);
                v.reply("CardAuthenticateEx (setup)", &login, &[SCARD_S_SUCCESS]);
                v.expected = None;
                let before = h.counters();
                let r = b.call().deauthenticate_ex(set, 0);
                let cost = before.zip(h.counters()).map(|(b, a)| a.since(b).apdus);
                v.reply("CardDeauthenticateEx", &r, &[SCARD_S_SUCCESS]);
                v.check(h.pin_status() == Ok(PinStatus::Verified), || {
                    "the user PIN was logged out".into()
                });
                if let Some(bits) = authenticated_state(b) {
                    v.check(bits & (1 << ROLE_USER) != 0, || {
                        format!("CP_CARD_AUTHENTICATED_STATE {bits:#x} lacks ROLE_USER")
                    });
                }
                if silent {
                    match cost {
                        Some(n) => {
                            v.check(n == 0, || format!("{n} APDUs for a logout with nothing to do"));
                        }
                        None => v.note("the card's APDU counters are not available here"),
                    }
                }
            });
            v.note(why);
        },
    )
}

/// The user logged in, then `CardAuthenticateEx(ROLE_USER)` with a PIN that cannot be right: a failed
/// authentication deauthenticates the role whether or not the PIN was sent, so the card's PIN is no
/// longer verified, and the tries left reported are the card's.
fn malformed_pin_logs_out(name: &str, pin: &'static [u8]) -> CaseDef {
    case(
        SUITE,
        format!("authenticate-ex-malformed-{name}-logs-out"),
        move |h, v| {
            with_pin_restored(h, v, |h, v, b| {
                let login = b
                    .call()
                    .authenticate_ex(ROLE_USER, 0, Some(DEFAULT_PIN), None, false, false);
                v.reply("CardAuthenticateEx (setup)", &login, &[SCARD_S_SUCCESS]);
                v.expected = None;
                let r = b
                    .call()
                    .authenticate_ex(ROLE_USER, 0, Some(pin), None, false, true);
                v.reply(
                    "CardAuthenticateEx with a malformed PIN",
                    &r,
                    &[SCARD_W_WRONG_CHV],
                );
                let reported = r.value.and_then(|o| o.attempts);
                v.check(reported == Some(u32::from(PIN_TRIES)), || {
                    format!("pcAttemptsRemaining {reported:?}, the card has {PIN_TRIES} tries left")
                });
                v.check(h.pin_status() == Ok(PinStatus::NotVerified { retries: PIN_TRIES }), || {
                format!(
                    "the card's PIN after the failed authentication: {:?}, expected not verified with \
                    {PIN_TRIES} tries",
                    h.pin_status()
                )
            });
                if let Some(bits) = authenticated_state(b) {
                    v.check(bits & (1 << ROLE_USER) == 0, || {
                        format!("CP_CARD_AUTHENTICATED_STATE {bits:#x}: ROLE_USER still authenticated")
                    });
                }
            });
            v.note("spec §4.2: a failed authentication leaves the role deauthenticated; no try is spent");
        },
    )
}

/// The PIN roles the module lists, with their PIN_INFO.
fn roles(b: &ConnectedContext) -> Vec<(u32, blobs::PinInfo)> {
    let Some(list) = b
        .call()
        .get_property(Some("PIN List"), 4, 0, false, false)
        .value
        .and_then(|p| blobs::dwords(&p.data).first().copied())
    else {
        return Vec::new();
    };
    (1..8)
        .filter(|r| list & (1 << r) != 0)
        .filter_map(|r| {
            let p = b
                .call()
                .get_property(Some("PIN Information"), 36, r, false, false);
            p.value
                .and_then(|p| blobs::parse_pin_info(&p.data).ok())
                .map(|i| (r, i))
        })
        .collect()
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    [
        authenticate_pin(),
        authenticate_pin_refusals(),
        pin_blocking(),
        authenticate_ex(),
        authenticate_ex_refusals(),
        session_pins(),
        deauthenticate(),
        malformed_pins(),
        challenge_cases(),
        pin_change_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `CardAuthenticatePin` with the right PIN.
fn authenticate_pin() -> Vec<CaseDef> {
    vec![
        case(SUITE, "authenticate-pin-user", |h, v| {
            with_pin_restored(h, v, |h, v, b| {
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(DEFAULT_PIN), None, true);
                v.reply("CardAuthenticatePin", &r, &[SCARD_S_SUCCESS]);
                v.check(h.pin_status() == Ok(PinStatus::Verified), || {
                    "the card's PIN is not verified".into()
                });
                let state = b
                    .call()
                    .get_property(Some("Authenticated State"), 4, 0, false, false);
                if state.ok() {
                    let bits = state
                        .value
                        .and_then(|p| blobs::dwords(&p.data).first().copied())
                        .unwrap_or(0);
                    v.check(bits & 0x02 != 0, || {
                        format!("CP_CARD_AUTHENTICATED_STATE {bits:#x} lacks ROLE_USER")
                    });
                }
            })
        }),
        case(SUITE, "authenticate-pin-wrong-counts", |h, v| {
            with_pin_restored(h, v, |h, v, b| {
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(b"000000"), None, true);
                v.reply("CardAuthenticatePin", &r, &[SCARD_W_WRONG_CHV]);
                let expected = u32::from(PIN_TRIES) - 1;
                v.check(r.value == Some(Some(expected)), || {
                    format!("pcAttemptsRemaining {:?}, expected {expected}", r.value.flatten())
                });
                v.check(retries(h) == Some(PIN_TRIES - 1), || {
                    "the card's counter did not go down by one".into()
                });
            })
        }),
        case(SUITE, "authenticate-pin-wrong-null-attempts", |h, v| {
            with_pin_restored(h, v, |_, v, b| {
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(b"000000"), None, false);
                v.reply("CardAuthenticatePin", &r, &[SCARD_W_WRONG_CHV]);
            });
            v.note("CMCK CardAuthenticatePin: pcAttemptsRemaining may be NULL");
        }),
    ]
}

/// `CardAuthenticatePin` with wrong PINs (each costs one try: WRONG_CHV, as the certification kit
/// expects even for absurd lengths) and the calls it must refuse.
fn authenticate_pin_refusals() -> Vec<CaseDef> {
    vec![
        legacy_wrong(
            "length-0",
            b"123456",
            Some(0),
            "CMCK CardAuthenticatePin: cbPin 0 → WRONG_CHV, not INVALID_PARAMETER",
        ),
        legacy_wrong(
            "length-plus-1",
            b"1234560",
            None,
            "CMCK CardAuthenticatePin: the right PIN with a byte more",
        ),
        legacy_wrong(
            "length-minus-1",
            b"12345",
            None,
            "CMCK CardAuthenticatePin: the right PIN with a byte less",
        ),
        legacy_wrong("length-1", b"1", None, "CMCK CardAuthenticatePin"),
        legacy_wrong(
            "length-ffffffff",
            b"123456",
            Some(u32::MAX),
            "CMCK CardAuthenticatePin: cbPin 0xFFFFFFFF with a 6-byte buffer",
        ),
        legacy_wrong("wrong-byte", b"123457", None, "CMCK CardAuthenticatePin"),
        legacy_refused(
            "null-pin",
            Some("user"),
            None,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.2.2: pbPin NULL",
        ),
        legacy_refused(
            "null-user",
            None,
            Some(DEFAULT_PIN),
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticatePin",
        ),
        legacy_refused(
            "user-anonymous",
            Some("anonymous"),
            Some(DEFAULT_PIN),
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticatePin",
        ),
        legacy_refused(
            "user-empty",
            Some(""),
            Some(DEFAULT_PIN),
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticatePin",
        ),
        legacy_refused(
            "user-very-long",
            Some(
                "useruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruseruser",
            ),
            Some(DEFAULT_PIN),
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticatePin",
        ),
        legacy_refused(
            "user-admin",
            Some("admin"),
            Some(DEFAULT_PIN),
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "ambiguity: the admin authenticates by challenge/response (spec §4.2); a PIN for it through the \
             legacy call is taken as an invalid parameter",
        ),
        legacy_refused(
            "null-card-data",
            Some("user"),
            Some(DEFAULT_PIN),
            true,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticatePin",
        ),
    ]
}

/// Wrong PINs until the PIN blocks, then the right one.
fn pin_blocking() -> Vec<CaseDef> {
    vec![case(SUITE, "authenticate-pin-blocks", |h, v| {
        with_pin_restored(h, v, |h, v, b| {
            for left in (0..PIN_TRIES).rev() {
                let r = b
                    .call()
                    .authenticate_pin(Some("user"), Some(b"000000"), None, true);
                v.reply(&format!("wrong PIN, {left} left"), &r, &[SCARD_W_WRONG_CHV]);
                v.check(r.value == Some(Some(u32::from(left))), || {
                    format!("pcAttemptsRemaining {:?}, expected {left}", r.value.flatten())
                });
            }
            let r = b
                .call()
                .authenticate_pin(Some("user"), Some(b"000000"), None, true);
            v.reply("wrong PIN beyond the limit", &r, &[SCARD_W_CHV_BLOCKED]);
            v.check(r.value == Some(Some(0)), || {
                format!("pcAttemptsRemaining {:?}, expected 0", r.value.flatten())
            });
            let r = b
                .call()
                .authenticate_pin(Some("user"), Some(DEFAULT_PIN), None, true);
            v.reply("right PIN on a blocked card", &r, &[SCARD_W_CHV_BLOCKED]);
            v.check(h.pin_status() == Ok(PinStatus::Blocked), || {
                "the card's PIN is not blocked".into()
            });
        });
        v.note(
            "spec §4.2.2: WRONG_CHV with the tries left (0 on the last), then CHV_BLOCKED with 0; PIN \
                restored with the PUK",
        );
    })]
}

/// `CardAuthenticateEx`: every PIN role, wrong and blocked PINs, refusals, session PINs.
fn authenticate_ex() -> Vec<CaseDef> {
    vec![
        case(SUITE, "authenticate-ex-user", |h, v| {
            with_pin_restored(h, v, |h, v, b| {
                let r = b
                    .call()
                    .authenticate_ex(ROLE_USER, 0, Some(DEFAULT_PIN), None, false, true);
                v.reply("CardAuthenticateEx", &r, &[SCARD_S_SUCCESS]);
                v.check(h.pin_status() == Ok(PinStatus::Verified), || {
                    "the card's PIN is not verified".into()
                });
            })
        }),
        case(SUITE, "authenticate-ex-silent-context", |h, v| {
            with_pin_restored(h, v, |_, v, b| {
                let r = b
                    .call()
                    .authenticate_ex(ROLE_USER, SILENT, Some(DEFAULT_PIN), None, false, true);
                v.reply("CardAuthenticateEx", &r, &[SCARD_S_SUCCESS]);
            });
            v.note("CMCK CardAuthenticateEx: CARD_PIN_SILENT_CONTEXT with a PIN succeeds");
        }),
        case(SUITE, "authenticate-ex-wrong", |h, v| {
            with_pin_restored(h, v, |h, v, b| {
                let r = b
                    .call()
                    .authenticate_ex(ROLE_USER, 0, Some(b"000000"), None, false, true);
                v.reply("CardAuthenticateEx", &r, &[SCARD_W_WRONG_CHV]);
                let reported = r.value.and_then(|o| o.attempts);
                v.check(reported == Some(u32::from(PIN_TRIES) - 1), || {
                    format!("pcAttemptsRemaining {reported:?}")
                });
                v.check(retries(h) == Some(PIN_TRIES - 1), || {
                    "the card's counter did not go down by one".into()
                });
            })
        }),
        case(SUITE, "authenticate-ex-blocked", |h, v| {
            with_pin_restored(h, v, |_, v, b| {
                for _ in 0..PIN_TRIES {
                    let _ = b
                        .call()
                        .authenticate_ex(ROLE_USER, 0, Some(b"000000"), None, false, true);
                }
                let r = b
                    .call()
                    .authenticate_ex(ROLE_USER, 0, Some(DEFAULT_PIN), None, false, true);
                v.reply("CardAuthenticateEx on a blocked PIN", &r, &[SCARD_W_CHV_BLOCKED]);
                let reported = r.value.and_then(|o| o.attempts);
                v.check(reported == Some(0), || {
                    format!("pcAttemptsRemaining {reported:?}, expected 0")
                });
            })
        }),
        case(SUITE, "authenticate-ex-every-alphanumeric-role", |h, v| {
            with_pin_restored(h, v, |_, v, b| {
                let list = roles(b);
                v.code(
                    "CP_CARD_LIST_PINS",
                    if list.is_empty() { SCARD_E_UNEXPECTED } else { 0 },
                    &[0],
                );
                for (role, info) in list {
                    if info.pin_type != blobs::secret_type::ALPHANUMERIC
                        || info.purpose == blobs::PURPOSE_UNBLOCK_ONLY
                    {
                        continue;
                    }
                    let r = b
                        .call()
                        .authenticate_ex(role, 0, Some(DEFAULT_PIN), None, false, true);
                    v.reply(
                        &format!("CardAuthenticateEx(role {role}) with the PIV PIN"),
                        &r,
                        &[SCARD_S_SUCCESS],
                    );
                }
            });
            v.note("every alphanumeric role of a PIV card is unlocked by the PIV PIN");
        }),
        case(SUITE, "authenticate-ex-unblock-only-role", |h, v| {
            with_pin_restored(h, v, |_, v, b| {
                let Some((role, _)) = roles(b)
                    .into_iter()
                    .find(|(_, i)| i.purpose == blobs::PURPOSE_UNBLOCK_ONLY)
                else {
                    return v.skip("no UnblockOnlyPin role listed");
                };
                let r = b
                    .call()
                    .authenticate_ex(role, 0, Some(b"12345678"), None, false, true);
                v.reply(
                    "CardAuthenticateEx(PUK role)",
                    &r,
                    &[SCARD_E_INVALID_PARAMETER, SCARD_E_UNSUPPORTED_FEATURE],
                );
            });
            v.note("spec §4.2.6: for an UnblockOnly PIN INVALID_PARAMETER or UNSUPPORTED_FEATURE");
        }),
    ]
}

/// `CardAuthenticateEx` calls the module must refuse.
fn authenticate_ex_refusals() -> Vec<CaseDef> {
    vec![
        ex_refused(
            "admin-without-challenge",
            ROLE_ADMIN,
            0,
            Some(DEFAULT_PIN),
            None,
            false,
            false,
            &[SCARD_W_WRONG_CHV],
            "ROLE_ADMIN is a challenge/response PIN: CardAuthenticateEx takes the response to \
            CardGetChallengeEx, so data given without a challenge is a wrong response (spec §4.2.6)",
        ),
        ex_refused(
            "pin-id-0",
            0,
            0,
            Some(DEFAULT_PIN),
            None,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.2.6: ROLE_EVERYONE has no PIN",
        ),
        ex_refused(
            "pin-id-8",
            8,
            0,
            Some(DEFAULT_PIN),
            None,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.2.6",
        ),
        ex_refused(
            "pin-id-255",
            255,
            0,
            Some(DEFAULT_PIN),
            None,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticateEx",
        ),
        ex_refused(
            "flags-1",
            ROLE_USER,
            1,
            Some(DEFAULT_PIN),
            None,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticateEx",
        ),
        ex_refused(
            "flags-ffffffff",
            ROLE_USER,
            u32::MAX,
            Some(DEFAULT_PIN),
            None,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticateEx",
        ),
        ex_refused(
            "null-pin",
            ROLE_USER,
            0,
            None,
            None,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticateEx",
        ),
        ex_refused(
            "length-0",
            ROLE_USER,
            0,
            Some(DEFAULT_PIN),
            Some(0),
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticateEx: cbPinData 0 → INVALID_PARAMETER here (WRONG_CHV in the legacy call)",
        ),
        ex_refused(
            "null-card-data",
            ROLE_USER,
            0,
            Some(DEFAULT_PIN),
            None,
            false,
            true,
            &[SCARD_E_INVALID_PARAMETER],
            "CMCK CardAuthenticateEx",
        ),
        ex_refused(
            "generate-session-pin-without-outputs",
            ROLE_USER,
            GENERATE_SESSION_PIN,
            Some(DEFAULT_PIN),
            None,
            false,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.2.6: GENERATE_SESSION_PIN with NULL ppbSessionPin/pcbSessionPin",
        ),
        ex_refused(
            "generate-and-present-session-pin",
            ROLE_USER,
            GENERATE_SESSION_PIN | SESSION_PIN,
            Some(DEFAULT_PIN),
            None,
            true,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "the two session-PIN flags together",
        ),
    ]
}

/// Session PINs (spec §7.3): generated where the card can, refused where it cannot.
fn session_pins() -> Vec<CaseDef> {
    vec![
        case(SUITE, "authenticate-ex-generate-session-pin", |h, v| {
            with_pin_restored(h, v, |_, v, b| {
                let strength = b
                    .call()
                    .get_property(Some("PIN Strength Verify"), 4, ROLE_USER, false, false)
                    .value
                    .and_then(|p| blobs::dwords(&p.data).first().copied())
                    .unwrap_or(0);
                let r = b.call().authenticate_ex(
                    ROLE_USER,
                    GENERATE_SESSION_PIN,
                    Some(DEFAULT_PIN),
                    None,
                    true,
                    true,
                );
                if strength & 0x2 == 0 {
                    v.reply(
                        "CardAuthenticateEx(GENERATE_SESSION_PIN)",
                        &r,
                        &[SCARD_E_UNSUPPORTED_FEATURE],
                    );
                    v.note(
                        "no CARD_PIN_STRENGTH_SESSION_PIN → GENERATE_SESSION_PIN unsupported (CMCK \
                        CardAuthenticateEx accepted 0x80100022)",
                    );
                } else {
                    v.reply("CardAuthenticateEx(GENERATE_SESSION_PIN)", &r, &[SCARD_S_SUCCESS]);
                    v.check(r.value.is_some_and(|o| o.session_pin.is_some()), || {
                        "no session PIN".into()
                    });
                }
            })
        }),
        case(SUITE, "authenticate-ex-session-pin-unsupported", |h, v| {
            with_pin_restored(h, v, |_, v, b| {
                let strength = b
                    .call()
                    .get_property(Some("PIN Strength Verify"), 4, ROLE_USER, false, false)
                    .value
                    .and_then(|p| blobs::dwords(&p.data).first().copied())
                    .unwrap_or(0);
                if strength & 0x2 != 0 {
                    return v.skip("the module supports session PINs");
                }
                let r = b.call().authenticate_ex(
                    ROLE_USER,
                    SESSION_PIN,
                    Some(b"not-a-session-pin"),
                    None,
                    false,
                    true,
                );
                v.reply(
                    "CardAuthenticateEx(SESSION_PIN)",
                    &r,
                    &[SCARD_E_UNSUPPORTED_FEATURE],
                );
            })
        }),
    ]
}

/// `CardDeauthenticate` and `CardDeauthenticateEx`: what is logged out, and the refusals.
fn deauthenticate() -> Vec<CaseDef> {
    vec![
        case(SUITE, "deauthenticate-user", |h, v| {
            with_pin_restored(h, v, |h, v, b| {
                let login = b
                    .call()
                    .authenticate_pin(Some("user"), Some(DEFAULT_PIN), None, false);
                v.reply("CardAuthenticatePin (setup)", &login, &[SCARD_S_SUCCESS]);
                v.expected = None;
                let r = b.call().deauthenticate(Some("user"), 0);
                v.reply("CardDeauthenticate", &r, &[SCARD_S_SUCCESS]);
                v.check(h.pin_status() != Ok(PinStatus::Verified), || {
                    "the user PIN is still verified".into()
                });
            })
        }),
        deauth_refused("null-user", None, 0, false, "spec §4.2.5"),
        deauth_refused("user-anonymous", Some("anonymous"), 0, false, "spec §4.2.5"),
        deauth_refused(
            "flags-1",
            Some("user"),
            1,
            false,
            "spec §4.2.5: dwFlags must be 0",
        ),
        deauth_refused(
            "null-card-data",
            Some("user"),
            0,
            true,
            "spec §2.3.2: NULL pCardData",
        ),
        deauth_ex(
            "user",
            0x02,
            0,
            false,
            &[SCARD_S_SUCCESS],
            "spec §4.2.8: PIN_SET with ROLE_USER",
        ),
        deauth_ex(
            "all-roles",
            0xFF,
            0,
            false,
            &[SCARD_S_SUCCESS],
            "spec §4.2.8: 0xFF = all",
        ),
        deauth_ex(
            "everyone-only",
            0x01,
            0,
            false,
            &[SCARD_S_SUCCESS],
            "spec §4.2.8: the ROLE_EVERYONE bit is \
            ignored",
        ),
        deauth_ex(
            "flags-1",
            0x02,
            1,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §4.2.8: dwFlags must be 0",
        ),
        deauth_ex(
            "bit-8",
            0x100,
            0,
            false,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §7.2: only bits 0–7 of a PIN_SET \
            are used",
        ),
        deauth_ex(
            "null-card-data",
            0x02,
            0,
            true,
            &[SCARD_E_INVALID_PARAMETER],
            "spec §2.3.2: NULL pCardData",
        ),
        deauth_keeps_the_user(
            "puk-only",
            1 << 4,
            true,
            "spec §4.2.8: only the roles named are logged out; nothing holds the PUK verified, so nothing is \
            sent",
        ),
        deauth_keeps_the_user(
            "admin-only",
            1 << ROLE_ADMIN,
            false,
            "spec §4.2.8: only the roles named are logged out",
        ),
    ]
}

/// A PIN the module refuses without sending it still logs the role out.
fn malformed_pins() -> Vec<CaseDef> {
    [
        ("short", &b"12345"[..]),
        ("long", b"123456789"),
        ("padding-byte", b"1234\xFF6"),
    ]
    .into_iter()
    .map(|(name, pin)| malformed_pin_logs_out(name, pin))
    .collect()
}

/// The admin challenge/response (spec §4.2.3, §4.2.4, §4.2.7, §7.6): the challenge is the card's, the
/// response the 3DES encryption of it with the management key.
fn challenge_cases() -> Vec<CaseDef> {
    vec![
        opened(SUITE, "get-challenge", |_, v, b| {
            let r = b.call().get_challenge(false, false);
            if v.reply("CardGetChallenge", &r, &[SCARD_S_SUCCESS]) {
                let a = r.value.unwrap_or_default();
                v.check(!a.is_empty() && a.len() % 8 == 0, || {
                    format!("challenge of {} bytes", a.len())
                });
                let second = b.call().get_challenge(false, false).value.unwrap_or_default();
                v.check(a != second, || "two challenges are equal".into());
            }
        }),
        opened(SUITE, "get-challenge-null-data", |_, v, b| {
            v.reply(
                "CardGetChallenge",
                &b.call().get_challenge(true, false),
                &[SCARD_E_INVALID_PARAMETER],
            );
        }),
        opened(SUITE, "get-challenge-null-length", |_, v, b| {
            v.reply(
                "CardGetChallenge",
                &b.call().get_challenge(false, true),
                &[SCARD_E_INVALID_PARAMETER],
            );
        }),
        opened(SUITE, "get-challenge-null-card-data", |_, v, b| {
            v.reply(
                "CardGetChallenge",
                &b.null().get_challenge(false, false),
                &[SCARD_E_INVALID_PARAMETER],
            );
        }),
        case(SUITE, "authenticate-challenge", |h, v| {
            if !h.fixture().provisioned {
                return v.skip("the management key is unknown");
            }
            let Some(b) = open(h, v) else { return };
            let Some(challenge) = b.call().get_challenge(false, false).value else {
                return v.fail("no challenge");
            };
            let Some(key) = ManagementKey::default_for(ManagementAlgorithm::Tdes) else {
                return;
            };
            let Ok(response) = key.encrypt_block(&challenge) else {
                return v.fail("challenge is not one 3DES block");
            };
            let r = b.call().authenticate_challenge(Some(&response), true);
            v.reply("CardAuthenticateChallenge", &r, &[SCARD_S_SUCCESS]);
            let _ = h.card().reset_through_other();
        }),
        opened(SUITE, "authenticate-challenge-wrong", |_, v, b| {
            let Some(challenge) = b.call().get_challenge(false, false).value else {
                return v.fail("no challenge");
            };
            let wrong = vec![0u8; challenge.len()];
            let r = b.call().authenticate_challenge(Some(&wrong), true);
            v.reply("CardAuthenticateChallenge", &r, &[SCARD_W_WRONG_CHV]);
        }),
        opened(SUITE, "authenticate-challenge-null", |_, v, b| {
            let _ = b.call().get_challenge(false, false);
            v.reply(
                "CardAuthenticateChallenge",
                &b.call().authenticate_challenge(None, true),
                &[SCARD_E_INVALID_PARAMETER],
            );
        }),
        opened(SUITE, "get-challenge-ex-admin", |_, v, b| {
            let r = b.call().get_challenge_ex(ROLE_ADMIN, 0, false, false);
            v.reply("CardGetChallengeEx(ROLE_ADMIN)", &r, &[SCARD_S_SUCCESS]);
        }),
        opened(SUITE, "get-challenge-ex-user", |_, v, b| {
            let r = b.call().get_challenge_ex(ROLE_USER, 0, false, false);
            v.reply("CardGetChallengeEx(ROLE_USER)", &r, &[SCARD_E_INVALID_PARAMETER]);
            v.note("spec §4.2.7: not a ChallengeResponsePinType PIN");
        }),
        opened(SUITE, "get-challenge-ex-flags-1", |_, v, b| {
            let r = b.call().get_challenge_ex(ROLE_ADMIN, 1, false, false);
            v.reply("CardGetChallengeEx", &r, &[SCARD_E_INVALID_PARAMETER]);
        }),
    ]
}

/// PIN change and unblock, each to the value the PIN already has (the card's state is the same after):
/// `SCARD_S_SUCCESS`, and the PIN has all its tries. The `writes` and `enrollment` suites cover the rest
/// (new values, wrong PINs and PUKs, the refusals).
fn pin_change_cases() -> Vec<CaseDef> {
    let calls: [(&str, WriteCall); 3] = [
        ("unblock-pin", |c| {
            c.unblock_pin(Some("user"), Some(b"12345678"), Some(DEFAULT_PIN), 0, 2)
                .code
        }),
        ("change-authenticator", |c| {
            c.change_authenticator(Some("user"), Some(DEFAULT_PIN), Some(DEFAULT_PIN), 0, 2)
                .code
        }),
        ("change-authenticator-ex", |c| {
            c.change_authenticator_ex(2, ROLE_USER, Some(DEFAULT_PIN), ROLE_USER, Some(DEFAULT_PIN), 0)
                .code
        }),
    ];
    let mut out = Vec::new();
    for (name, call) in calls {
        out.push(case(SUITE, format!("{name}-to-the-same-pin"), move |h, v| {
            with_pin_restored(h, v, |h, v, b| {
                v.code(name, call(&b.call()), &[SCARD_S_SUCCESS]);
                v.check(retries(h) == Some(PIN_TRIES), || "the PIN lost tries".into());
            });
            v.note("spec §4.2.9, §4.2.10, §4.2.11: the user PIN changes with itself and is unblocked with the PUK");
        }));
        out.push(null_card_data(SUITE, name, call));
    }
    out
}
