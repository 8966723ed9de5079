//! The administrator's challenge/response (spec §4.2.3, §4.2.4, §4.2.6, §4.2.7, §7.6: "CardGetChallenge",
//! "CardAuthenticateChallenge", "CardAuthenticateEx", "CardGetChallengeEx"): the administrator is the PIV
//! management key (3DES, the fixture's default key), the response the 3DES-ECB encryption of the 8-byte
//! challenge, computed here with the `des` crate. Right and wrong responses, a response without a
//! challenge or to a challenge already used or discarded, the v6 entry points, and what the module then
//! believes (`CP_CARD_AUTHENTICATED_STATE`, when it offers the property).

use tessera_piv::{PinStatus, StatusWord};

use super::common::authenticated_state;
use crate::codes::*;
use crate::ffi::alloc;
use crate::ffi::calls::SignArgs;
use crate::fixture::DEFAULT_PIN;
use crate::harness::{CaseDef, ConnectedContext, Harness, Verdict, case};
use crate::oracle::{DEFAULT_MANAGEMENT_KEY, tdes_response};
use crate::suites::keys::{NeededKey, ROLE_ADMIN, ROLE_PIN_ALWAYS, ROLE_USER, find};

const SUITE: &str = "challenge";
const TAG: &str = "3DES admin challenge";
/// `CREATE_PIN_SET(ROLE_ADMIN)`.
const ADMIN_SET: u32 = 1 << ROLE_ADMIN;

/// Runs `body` on a fresh context (an admin challenge belongs to one context), the fixture's management
/// key known; resets the card afterwards so that no administrator session outlives the case.
fn with_admin_context(h: &Harness, v: &mut Verdict, body: impl FnOnce(&ConnectedContext, &mut Verdict)) {
    if !h.fixture().provisioned {
        return v.skip("the card was not provisioned: its management key is unknown");
    }
    if let Some(b) = v.setup("open", h.open()) {
        body(&b, v);
    }
    let _ = h.card().reset_through_other();
}

/// A challenge from `CardGetChallenge` (or `CardGetChallengeEx(ROLE_ADMIN)` when `ex`), checked to be one
/// 3DES block.
fn challenge(v: &mut Verdict, b: &ConnectedContext, ex: bool) -> Option<Vec<u8>> {
    let r = if ex {
        b.call().get_challenge_ex(ROLE_ADMIN, 0, false, false)
    } else {
        b.call().get_challenge(false, false)
    };
    let what = if ex {
        "CardGetChallengeEx(ROLE_ADMIN)"
    } else {
        "CardGetChallenge"
    };
    if !v.reply(what, &r, &[SCARD_S_SUCCESS]) {
        return None;
    }
    let c = r.value.unwrap_or_default();
    v.check(c.len() == 8, || {
        format!("a {}-byte challenge; 3DES answers one 8-byte block", c.len())
    })
    .then_some(c)
}

/// Answers through `CardAuthenticateChallenge`, or `CardAuthenticateEx(ROLE_ADMIN)` when `ex`.
fn answer(b: &ConnectedContext, response: &[u8], ex: bool) -> (u32, Option<u32>) {
    if ex {
        let r = b
            .call()
            .authenticate_ex(ROLE_ADMIN, 0, Some(response), None, false, true);
        (r.code, r.value.and_then(|o| o.attempts))
    } else {
        let r = b.call().authenticate_challenge(Some(response), true);
        (r.code, r.value.flatten())
    }
}

fn right(challenge: &[u8]) -> Vec<u8> {
    tdes_response(&DEFAULT_MANAGEMENT_KEY, challenge).unwrap_or_default()
}

/// Authenticates as administrator with the right response to a fresh challenge; false (with the
/// failure recorded) when that does not succeed.
fn authenticate_admin(v: &mut Verdict, b: &ConnectedContext) -> bool {
    let Some(ch) = challenge(v, b, false) else {
        return false;
    };
    let (ok, _) = answer(b, &right(&ch), false);
    v.check(ok == 0, || format!("authentication: {}", name(ok)))
}

fn check_admin(v: &mut Verdict, b: &ConnectedContext, want: bool) {
    if let Some(state) = authenticated_state(b) {
        v.check((state & ADMIN_SET != 0) == want, || {
            format!(
                "CP_CARD_AUTHENTICATED_STATE {state:#x}: the administrator is {}authenticated",
                if want { "not " } else { "" }
            )
        });
    }
}

fn flows() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for ex in [false, true] {
        let (prefix, how) = if ex {
            (
                "ex-",
                "CardGetChallengeEx(ROLE_ADMIN) + CardAuthenticateEx(ROLE_ADMIN)",
            )
        } else {
            ("", "CardGetChallenge + CardAuthenticateChallenge")
        };
        c.push(
            case(SUITE, format!("{prefix}right-response"), move |h, v| {
                with_admin_context(h, v, |b, v| {
                    let Some(ch) = challenge(v, b, ex) else { return };
                    v.expected = None;
                    let (code, _) = answer(b, &right(&ch), ex);
                    v.code("the 3DES response", code, &[SCARD_S_SUCCESS]);
                    check_admin(v, b, code == 0);
                });
                v.note(format!(
                    "spec: {how}; the response is 3DES-ECB of the challenge with the shared key"
                ));
                if ex {
                    v.note(
                        "spec (CardGetChallengeEx): the caller submits the response back by calling \
                        CardAuthenticateEx; CardAuthenticateEx \"adds support for … challenge/response \
                        PINs\", ROLE_ADMIN allowed",
                    );
                }
            })
            .counted_for(TAG),
        );
        c.push(
            case(SUITE, format!("{prefix}wrong-response"), move |h, v| {
                with_admin_context(h, v, |b, v| {
                    let Some(ch) = challenge(v, b, ex) else { return };
                    v.expected = None;
                    let mut wrong = right(&ch);
                    wrong[0] ^= 0x80;
                    let (code, attempts) = answer(b, &wrong, ex);
                    v.code("a wrong response", code, &[SCARD_W_WRONG_CHV]);
                    if let Some(n) = attempts {
                        v.note(format!("pcAttemptsRemaining {n:#x}"));
                    }
                    check_admin(v, b, false);
                });
                v.note(
                    "spec: a failed challenge/response → SCARD_W_WRONG_CHV, the principal deauthenticated",
                );
            })
            .counted_for(TAG),
        );
        c.push(
            case(
                SUITE,
                format!("{prefix}response-without-challenge"),
                move |h, v| {
                    with_admin_context(h, v, |b, v| {
                        let (code, _) = answer(b, &[0x11; 8], ex);
                        v.code(
                            "a response with no challenge outstanding",
                            code,
                            &[SCARD_W_WRONG_CHV],
                        );
                        check_admin(v, b, false);
                    });
                    v.note(
                        "spec: without CardGetChallenge first, the response fails (and the counter is not \
                    decremented)",
                    );
                },
            )
            .counted_for(TAG),
        );
    }
    c.extend([
        case(SUITE, "response-replayed", |h, v| {
            with_admin_context(h, v, |b, v| {
                let Some(ch) = challenge(v, b, false) else { return };
                let response = right(&ch);
                let (first, _) = answer(b, &response, false);
                v.check(first == 0, || format!("the first response: {}", name(first)));
                v.expected = None;
                let (second, _) = answer(b, &response, false);
                v.code("the same response again", second, &[SCARD_W_WRONG_CHV]);
            });
            v.note("spec: challenges are not reusable");
        })
        .counted_for(TAG),
        case(SUITE, "challenge-discarded-by-another-command", |h, v| {
            with_admin_context(h, v, |b, v| {
                let Some(signer) = v.setup("a key without PIN", find(h, NeededKey::RsaSignOnly)) else {
                    return;
                };
                let Some(ch) = challenge(v, b, false) else { return };
                // A signature with the no-PIN key: a card command that is no authentication.
                let s = b
                    .call()
                    .sign_data(&SignArgs::basic(2, signer.index, signer.spec, 0x800C, &[7; 32]));
                v.check(s.ok(), || format!("CardSignData between: {}", name(s.code)));
                v.expected = None;
                let (code, _) = answer(b, &right(&ch), false);
                v.code("the response after another command", code, &[SCARD_W_WRONG_CHV]);
            });
            v.note(
                "spec (CardGetChallenge): the challenge is discarded if the next command to the card \
                is not an authentication that uses it",
            );
        })
        .counted_for(TAG),
        case(SUITE, "response-wrong-length", |h, v| {
            with_admin_context(h, v, |b, v| {
                for len in [7usize, 16] {
                    let Some(ch) = challenge(v, b, false) else { return };
                    v.expected = None;
                    let mut r = right(&ch);
                    r.resize(len, 0);
                    let (code, _) = answer(b, &r, false);
                    v.code(&format!("a {len}-byte response"), code, &[SCARD_W_WRONG_CHV]);
                }
            });
            v.note(
                "a response that is not one block is a wrong response (CMCK CardAuthenticatePin: wrong \
                lengths → WRONG_CHV, as for PINs)",
            );
        })
        .counted_for(TAG),
        case(SUITE, "failed-response-ends-the-admin-session", |h, v| {
            with_admin_context(h, v, |b, v| {
                if !authenticate_admin(v, b) {
                    return;
                }
                let Some(ch) = challenge(v, b, false) else { return };
                let mut wrong = right(&ch);
                wrong[7] ^= 1;
                let (code, _) = answer(b, &wrong, false);
                v.expected = None;
                v.code("a wrong response while authenticated", code, &[SCARD_W_WRONG_CHV]);
                check_admin(v, b, false);
            });
            v.note("spec: failed authentication attempts always leave the card deauthenticated");
        })
        .counted_for(TAG),
        case(SUITE, "deauthenticate-admin", |h, v| {
            with_admin_context(h, v, |b, v| {
                if !authenticate_admin(v, b) {
                    return;
                }
                v.expected = None;
                let d = b.call().deauthenticate_ex(ADMIN_SET, 0);
                v.reply(
                    "CardDeauthenticateEx(admin)",
                    &d,
                    &[SCARD_S_SUCCESS, SCARD_E_UNSUPPORTED_FEATURE],
                );
                if d.ok() {
                    check_admin(v, b, false);
                }
            });
            v.note(
                "spec §4.2.8: success, or SCARD_E_UNSUPPORTED_FEATURE when only a reset logs out (the \
                CSP then resets)",
            );
        })
        .counted_for(TAG),
    ]);
    for ex in [false, true] {
        c.push(admin_logout_keeps_the_user(ex));
    }
    c
}

/// The user and the administrator authenticated; logging out the administrator (only) leaves the user
/// PIN verified on the card and in the module, while the card refuses what only the management key
/// allows (a write, sent through the harness's own connection without a SELECT, which would reset the
/// card's security status by itself).
fn admin_logout_keeps_the_user(ex: bool) -> CaseDef {
    let case_name = if ex {
        "deauthenticate-ex-admin-keeps-the-user"
    } else {
        "deauthenticate-admin-keeps-the-user"
    };
    case(SUITE, case_name, move |h, v| {
        with_admin_context(h, v, |b, v| {
            let login = b
                .call()
                .authenticate_ex(ROLE_USER, 0, Some(DEFAULT_PIN), None, false, false);
            if !v.reply(
                "CardAuthenticateEx(ROLE_USER) (setup)",
                &login,
                &[SCARD_S_SUCCESS],
            ) {
                return;
            }
            if !authenticate_admin(v, b) {
                return;
            }
            v.expected = None;
            let d = if ex {
                b.call().deauthenticate_ex(ADMIN_SET, 0)
            } else {
                b.call().deauthenticate(Some("admin"), 0)
            };
            if !v.reply("the administrator's logout", &d, &[SCARD_S_SUCCESS]) {
                return;
            }
            check_admin(v, b, false);
            if let Some(state) = authenticated_state(b) {
                v.check(state & (1 << ROLE_USER) != 0, || {
                    format!("CP_CARD_AUTHENTICATED_STATE {state:#x}: the user was logged out too")
                });
            }
            v.check(h.pin_status() == Ok(PinStatus::Verified), || {
                "the card's PIN is no longer verified: the user was logged out too".into()
            });
            match admin_write(h) {
                Ok(sw) => {
                    v.check(sw == StatusWord::SECURITY_STATUS_NOT_SATISFIED, || {
                        format!("a write after the administrator's logout: the card answered {sw}")
                    });
                }
                Err(e) => v.fail(format!("the harness's write: {e}")),
            }
        });
        v.note(
            "spec §4.2: CardDeauthenticate(Ex) logs out the roles named, and only those; the card's own \
            answer (6982) shows the management key's rights are gone",
        );
    })
    .counted_for(TAG)
}

/// A PUT DATA of an empty vendor object (5FFF30, used by nobody) through the harness's own connection,
/// without SELECT: what the card answers.
fn admin_write(h: &Harness) -> Result<StatusWord, String> {
    let mut s = h.card().piv_session()?;
    let object = tessera_piv::tlv::encode(0x53, b"").map_err(|e| e.to_string())?;
    let cmd = tessera_piv::commands::put_data(0x5F_FF30, &object).map_err(|e| e.to_string())?;
    s.transmit(&cmd).map(|r| r.sw).map_err(|e| e.to_string())
}

fn refusals() -> Vec<CaseDef> {
    let mut c = Vec::new();
    for (role, why) in [
        (ROLE_USER, "the user PIN is alphanumeric, not challenge/response"),
        (ROLE_PIN_ALWAYS, "the PIN-always role is alphanumeric"),
        (4, "the PUK is alphanumeric"),
        (0, "ROLE_EVERYONE has no secret"),
        (8, "PIN ids stop at 7"),
    ] {
        c.push(case(
            SUITE,
            format!("get-challenge-ex-role-{role}"),
            move |h, v| {
                let Some(b) = v.setup("open", h.open()) else {
                    return;
                };
                let r = b.call().get_challenge_ex(role, 0, false, false);
                v.reply("CardGetChallengeEx", &r, &[SCARD_E_INVALID_PARAMETER]);
                v.note(format!(
                    "spec §4.2.7: not a ChallengeResponsePinType PIN → invalid parameter ({why})"
                ));
            },
        ));
    }
    c.push(
        case(SUITE, "out-of-memory", |h, v| {
            with_admin_context(h, v, |b, v| {
                alloc::fail_all(true);
                let r = b.call().get_challenge_ex(ROLE_ADMIN, 0, false, false);
                alloc::disarm();
                v.reply(
                    "CardGetChallengeEx with pfnCspAlloc failing",
                    &r,
                    &[SCARD_E_NO_MEMORY],
                );
                let again = b.call().get_challenge_ex(ROLE_ADMIN, 0, false, false);
                v.check(again.ok(), || {
                    format!("no challenge afterwards: {}", name(again.code))
                });
            });
            v.note("CMCK OutOfMem: SCARD_E_NO_MEMORY");
        })
        .counted_for(TAG),
    );
    c
}

/// The cases.
pub fn cases() -> Vec<CaseDef> {
    let mut c = flows();
    c.extend(refusals());
    c
}
