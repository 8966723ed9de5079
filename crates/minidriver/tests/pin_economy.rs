//! The APDUs of the PIN path, command by command: what a logon sends to the card (the PIN in one VERIFY,
//! after a status query only where no answer of the PIV application in the same call or at the
//! transaction's `cardcf` read proves the selection; a SELECT only where no answer proves it), what it still reads once per context (the discovery object, unless the CSP's cache
//! holds it under the card's freshness), and that the codes and tries left a CSP gets are the card's.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use std::sync::{Arc, Mutex};

use tessera_piv::{KeyRef, PinStatus, Session, StatusWord, Transport, TransportError, commands};

use common::{Context, TestCard, set_freshness};

/// `SCARD_W_WRONG_CHV`, `SCARD_W_CHV_BLOCKED`.
const WRONG_CHV: u32 = 0x8010_006B;
const CHV_BLOCKED: u32 = 0x8010_006C;
/// `SCARD_W_RESET_CARD`.
const RESET_CARD: u32 = 0x8010_0068;
/// `ROLE_USER`.
const ROLE_USER: u32 = 1;
const PIN: &[u8] = b"123456";

/// What went to the card, one line per command: the instruction and what it names.
type Sent = Arc<Mutex<Vec<String>>>;

/// A connection that writes down each command it carries (never the PIN: only whether one was sent).
struct Recording<T> {
    inner: T,
    sent: Sent,
}

impl<T: Transport> Transport for Recording<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.lock().unwrap().push(describe(apdu));
        self.inner.transmit(apdu)
    }
}

/// `SELECT`, `GET DATA 5FFF20`, `VERIFY 80` (the status query), `VERIFY 80 PIN`, `GET RESPONSE`…
fn describe(apdu: &[u8]) -> String {
    match (apdu.get(1), apdu.get(3), apdu.len()) {
        (Some(0xA4), ..) => "SELECT".into(),
        (Some(0x20), Some(p2), _) if apdu[2] == 0xFF => format!("VERIFY {p2:02X} logout"),
        (Some(0x20), Some(p2), 4) => format!("VERIFY {p2:02X}"),
        (Some(0x20), Some(p2), _) => format!("VERIFY {p2:02X} PIN"),
        (Some(0xCB), ..) => {
            // The data: after a one-byte Lc, or after a three-byte one (extended length, `00 Lc1 Lc2`).
            let data = if apdu.get(4) == Some(&0) { 7 } else { 5 };
            let tag = apdu
                .get(data + 2..data + 2 + usize::from(apdu.get(data + 1).copied().unwrap_or(0)))
                .unwrap_or_default();
            let hex: String = tag.iter().map(|b| format!("{b:02X}")).collect();
            format!("GET DATA {hex}")
        }
        (Some(ins), ..) => format!("INS {ins:02X}"),
        (None, ..) => "empty".into(),
    }
}

/// A context over a recording connection, and the record.
fn recorded(card: &TestCard) -> (Context, Sent) {
    let sent = Sent::default();
    let transport = Recording {
        inner: card.card.connect(),
        sent: sent.clone(),
    };
    (Context::acquire_with(&card.card, 7, Box::new(transport)), sent)
}

/// A context over a recording connection with CSP data cache `cache` from `CardAcquireContext` on,
/// the record, and what the acquisition sent.
fn recorded_cached(card: &TestCard, cache: usize) -> (Context, Sent, Vec<String>) {
    let sent = Sent::default();
    let transport = Recording {
        inner: card.card.connect(),
        sent: sent.clone(),
    };
    let ctx = Context::acquire_cached(&card.card, 7, Box::new(transport), cache);
    let acquired = std::mem::take(&mut *sent.lock().unwrap());
    (ctx, sent, acquired)
}

/// What `f` sent to the card.
fn sent_by(sent: &Sent, f: impl FnOnce()) -> Vec<String> {
    sent.lock().unwrap().clear();
    f();
    std::mem::take(&mut *sent.lock().unwrap())
}

/// The PIN's status on the card, asked through a connection of the test's own (no SELECT: that would
/// log the PIN out).
fn card_pin_status(card: &TestCard) -> PinStatus {
    let mut s = Session::new(card.card.connect());
    let r = s.transmit(&commands::verify(KeyRef::PIN, None)).unwrap();
    match r.sw.retries() {
        _ if r.sw.is_success() => PinStatus::Verified,
        Some(0) => PinStatus::Blocked,
        Some(retries) => PinStatus::NotVerified { retries },
        None if r.sw == StatusWord::AUTH_METHOD_BLOCKED => PinStatus::Blocked,
        None => panic!("VERIFY status answered {:?}", r.sw),
    }
}

#[test]
fn a_logon_sends_the_pin_once_and_asks_its_status_only_where_the_selection_is_not_proven() {
    let card = TestCard::new(61);
    let (ctx, sent) = recorded(&card);
    let first = sent_by(&sent, || assert_eq!(ctx.authenticate(ROLE_USER, PIN), (0, None)));
    // The discovery object names the PIN (80, or the global PIN 00 where it is primary), once a context.
    assert_eq!(first, ["GET DATA 7E", "VERIFY 80 PIN"]);
    assert_eq!(card_pin_status(&card), PinStatus::Verified);
    // The CSP authenticates again in its next transaction (a PIN-always key, or its own policy): the
    // card may have been reset through the CSP's handle since, so the status query comes first.
    let again = sent_by(&sent, || assert_eq!(ctx.authenticate(ROLE_USER, PIN), (0, None)));
    assert_eq!(again, ["VERIFY 80", "VERIFY 80 PIN"]);
    let pin_always = sent_by(&sent, || assert_eq!(ctx.authenticate(3, PIN), (0, None)));
    assert_eq!(
        pin_always,
        ["VERIFY 80", "VERIFY 80 PIN"],
        "ROLE_PIN_ALWAYS is the same PIN"
    );
}

#[test]
fn the_tries_left_are_the_cards_for_every_answer() {
    let card = TestCard::new(62);
    let (ctx, sent) = recorded(&card);
    assert_eq!(ctx.authenticate(ROLE_USER, PIN).0, 0);
    // A PIN that cannot be right is not sent; the CSP still learns the card's count, and a verified
    // PIN is logged out on the card.
    let refused = sent_by(&sent, || {
        assert_eq!(ctx.authenticate(ROLE_USER, b"12345"), (WRONG_CHV, Some(3)))
    });
    assert_eq!(refused, ["VERIFY 80", "VERIFY 80 logout", "VERIFY 80"]);
    assert_eq!(card_pin_status(&card), PinStatus::NotVerified { retries: 3 });
    let refused = sent_by(&sent, || {
        assert_eq!(
            ctx.authenticate(ROLE_USER, b"\xFF\xFF\xFF\xFF\xFF\xFF"),
            (WRONG_CHV, Some(3))
        )
    });
    assert_eq!(
        refused,
        ["VERIFY 80"],
        "not verified: the status query tells the count"
    );
    // Wrong PINs: each sent once, the count from its answer (63Cx).
    for left in [2, 1, 0] {
        let wrong = sent_by(&sent, || {
            assert_eq!(ctx.authenticate(ROLE_USER, b"000000"), (WRONG_CHV, Some(left)))
        });
        assert_eq!(wrong, ["VERIFY 80", "VERIFY 80 PIN"], "{left} left");
    }
    assert_eq!(card_pin_status(&card), PinStatus::Blocked);
    // Blocked: the status query says so and the PIN is not sent; a PIN refused unsent is reported
    // blocked too.
    let blocked = sent_by(&sent, || {
        assert_eq!(ctx.authenticate(ROLE_USER, PIN), (CHV_BLOCKED, Some(0)))
    });
    assert_eq!(blocked, ["VERIFY 80"]);
    let blocked = sent_by(&sent, || {
        assert_eq!(ctx.authenticate(ROLE_USER, b"12345"), (CHV_BLOCKED, Some(0)))
    });
    assert_eq!(blocked, ["VERIFY 80"]);
    assert_eq!(ctx.authenticated_state(), 0);
}

#[test]
fn a_card_that_lost_its_selection_without_telling_gets_the_pin_once() {
    let card = TestCard::new(63);
    let (ctx, sent) = recorded(&card);
    assert_eq!(ctx.authenticate(ROLE_USER, PIN).0, 0);
    // A reset through the CSP's own handle (SCardReconnect, the certification kit's Reconnect test): no
    // error tells the module, and the card has no application selected (it answers 6D00 to anything).
    card.card.with_card(|c| c.power_cycle()).unwrap();
    let after_reset = sent_by(&sent, || assert_eq!(ctx.authenticate(ROLE_USER, PIN), (0, None)));
    assert_eq!(
        after_reset,
        ["VERIFY 80", "SELECT", "VERIFY 80", "VERIFY 80 PIN"],
        "the status query no application took goes once more, after the SELECT; the PIN once"
    );
    assert_eq!(card_pin_status(&card), PinStatus::Verified);
    // A wrong PIN in that state reaches the PIV application once: one try.
    card.card.with_card(|c| c.power_cycle()).unwrap();
    let wrong = sent_by(&sent, || {
        assert_eq!(ctx.authenticate(ROLE_USER, b"000000"), (WRONG_CHV, Some(2)))
    });
    assert_eq!(wrong, ["VERIFY 80", "SELECT", "VERIFY 80", "VERIFY 80 PIN"]);
    assert_eq!(card_pin_status(&card), PinStatus::NotVerified { retries: 2 });
}

#[test]
fn the_cardcf_read_proves_the_selection_and_a_reset_after_it_spends_no_try() {
    let card = TestCard::new(66);
    set_freshness(&card, [0, 0, 0, 0, 0, 1]);
    let (ctx, sent, _) = recorded_cached(&card, 66);
    let transaction = |ctx: &Context| {
        read_root_file(ctx, c"cardid");
        read_root_file(ctx, c"cardcf");
    };
    transaction(&ctx);
    let proven = sent_by(&sent, || assert_eq!(ctx.authenticate(ROLE_USER, PIN), (0, None)));
    assert_eq!(
        proven,
        ["GET DATA 7E", "VERIFY 80 PIN"],
        "no status query after cardcf"
    );
    assert_eq!(card_pin_status(&card), PinStatus::Verified);

    // The next transaction; then a reset through the CSP's own handle, which nothing tells the module:
    // the PIN reaches no application (6D00), which spends no try. The module reports the reset and
    // does not send the PIN again itself.
    transaction(&ctx);
    card.card.with_card(|c| c.power_cycle()).unwrap();
    let lost = sent_by(&sent, || {
        assert_eq!(ctx.authenticate(ROLE_USER, PIN), (RESET_CARD, None))
    });
    assert_eq!(lost, ["VERIFY 80 PIN"]);
    // Nothing is selected on the card now: the test's own connection selects to ask.
    let mut own = Session::new(card.card.connect());
    own.select().unwrap();
    assert_eq!(
        own.pin_status(KeyRef::PIN).unwrap(),
        PinStatus::NotVerified { retries: 3 }
    );
    // The CSP authenticates again: the module selects first and asks the status.
    let again = sent_by(&sent, || assert_eq!(ctx.authenticate(ROLE_USER, PIN), (0, None)));
    assert_eq!(again, ["SELECT", "VERIFY 80", "VERIFY 80 PIN"]);
    assert_eq!(card_pin_status(&card), PinStatus::Verified);
}

/// A card on which another application is selected until a SELECT comes: it answers every command
/// with data in a `53` wrapper that is no CHUID.
struct OtherApplicationFirst<T> {
    inner: T,
    selected: bool,
}

impl<T: Transport> Transport for OtherApplicationFirst<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.selected |= apdu.get(1) == Some(&0xA4);
        if self.selected {
            self.inner.transmit(apdu)
        } else {
            Ok(vec![0x53, 0x02, 0xAA, 0xBB, 0x90, 0x00])
        }
    }
}

#[test]
fn an_answer_that_is_no_chuid_proves_no_selection() {
    let card = TestCard::new(67);
    set_freshness(&card, [0, 0, 0, 0, 0, 1]);
    // The CSP's cache knows the card: with PIV still selected, the acquisition sends one read.
    let (_, known) = logon(&card, 67);
    let (ctx, sent, acquired) = recorded_cached(&card, 67);
    assert_eq!(acquired, ["GET DATA 5FC102"]);
    let card_id = read_root_file(&ctx, c"cardid");
    drop(ctx);
    assert_eq!(known[0], ["SELECT"], "nothing in the CSP's cache yet");

    // Another application answers the read: no proof, so the module selects, and the card id is the
    // PIV application's.
    let foreign = Recording {
        inner: OtherApplicationFirst {
            inner: card.card.connect(),
            selected: false,
        },
        sent: sent.clone(),
    };
    let acquired = sent_by(&sent, || {
        drop(Context::acquire_cached(&card.card, 7, Box::new(foreign), 67))
    });
    assert_eq!(acquired, ["GET DATA 5FC102", "SELECT"]);
    let foreign = Recording {
        inner: OtherApplicationFirst {
            inner: card.card.connect(),
            selected: false,
        },
        sent: sent.clone(),
    };
    let ctx = Context::acquire_cached(&card.card, 7, Box::new(foreign), 67);
    let after_select = sent_by(&sent, || assert_eq!(read_root_file(&ctx, c"cardid"), card_id));
    assert_eq!(
        after_select,
        ["GET DATA 5FC102"],
        "the CHUID read again, from the PIV application"
    );
}

/// `CardReadFile(NULL, name)`'s data.
fn read_root_file(ctx: &Context, name: &std::ffi::CStr) -> Vec<u8> {
    let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
    // SAFETY: valid arguments; the buffer is freed by `take`.
    let rc = unsafe {
        ctx.cd.pfnCardReadFile.unwrap()(
            &*ctx.cd,
            std::ptr::null(),
            name.as_ptr().cast(),
            0,
            &mut data,
            &mut len,
        )
    };
    assert_eq!(rc, 0, "CardReadFile({name:?})");
    common::take(data, len)
}

/// A new context as the Base CSP opens one and logs on with it, on CSP cache `cache`: acquire,
/// `CP_CARD_CACHE_MODE`, the start of a transaction (`cardid`, `cardcf`), the PIN. The cache mode and
/// what each step sent.
fn logon(card: &TestCard, cache: usize) -> (u32, Vec<Vec<String>>) {
    let (ctx, sent, acquired) = recorded_cached(card, cache);
    let mut steps = vec![acquired];
    let mut mode = 0;
    steps.push(sent_by(&sent, || mode = ctx.dword_property("Cache Mode")));
    steps.push(sent_by(&sent, || {
        read_root_file(&ctx, c"cardid");
        read_root_file(&ctx, c"cardcf");
    }));
    steps.push(sent_by(&sent, || {
        assert_eq!(ctx.authenticate(ROLE_USER, PIN), (0, None))
    }));
    (mode, steps)
}

/// `CP_CACHE_MODE_GLOBAL_CACHE`, `CP_CACHE_MODE_SESSION_ONLY`.
const GLOBAL_CACHE: u32 = 1;
const SESSION_ONLY: u32 = 2;

#[test]
fn a_second_context_reads_the_freshness_once_and_the_discovery_object_not_at_all() {
    let card = TestCard::new(64);
    set_freshness(&card, [0, 0, 0, 0, 0, 1]);
    let (mode, first) = logon(&card, 64);
    assert_eq!(mode, GLOBAL_CACHE);
    assert_eq!(
        first,
        [
            // Nothing in the CSP's cache: SELECT first (what it answers is kept there), then the card id
            // and whether cardcf is kept.
            vec!["SELECT"],
            vec!["GET DATA 5FC102", "GET DATA 5FFF20"],
            vec!["GET DATA 5FFF20", "GET DATA 5FC105"], // cardcf: the freshness object and 9A's certificate, at every read
            vec!["GET DATA 7E", "VERIFY 80 PIN"],
        ]
    );
    let (mode, second) = logon(&card, 64);
    assert_eq!(mode, GLOBAL_CACHE);
    assert_eq!(
        second,
        [
            vec!["GET DATA 5FC102"],
            vec![],
            vec!["GET DATA 5FFF20", "GET DATA 5FC105"],
            vec!["VERIFY 80 PIN"],
        ],
        "no SELECT (the PIV application answered the card id), the SELECT answer, the cache mode and the PIN \
        policy from the CSP's cache, and no status query (the cardcf read proves the selection)"
    );

    // Another program bumps the freshness: the discovery object is read again, under the new value.
    set_freshness(&card, [0, 0, 0, 0, 0, 2]);
    let (_, bumped) = logon(&card, 64);
    assert_eq!(bumped[3], ["GET DATA 7E", "VERIFY 80 PIN"]);
    let (_, after) = logon(&card, 64);
    assert_eq!(after[3], ["VERIFY 80 PIN"]);
}

#[test]
fn a_card_without_the_freshness_object_reads_it_once_a_context_and_the_discovery_object_each_context() {
    let card = TestCard::new(65);
    let (mode, first) = logon(&card, 65);
    assert_eq!(mode, SESSION_ONLY);
    assert_eq!(
        first[..2],
        [vec!["SELECT"], vec!["GET DATA 5FC102", "GET DATA 5FFF20"]]
    );
    let (mode, second) = logon(&card, 65);
    assert_eq!(mode, SESSION_ONLY);
    assert_eq!(
        second,
        [
            vec!["GET DATA 5FC102"],
            vec![],
            vec!["GET DATA 5FFF20", "GET DATA 5FC105"],
            vec!["GET DATA 7E", "VERIFY 80 PIN"],
        ],
        "no freshness to trust the cached discovery object under"
    );
    // A card reset since (reinserted): no application answers the card id asked before a SELECT
    // (`6D00`); it is asked again after it.
    card.card.with_card(|c| c.power_cycle()).unwrap();
    let (_, reset) = logon(&card, 65);
    assert_eq!(
        reset[..2],
        [vec!["GET DATA 5FC102", "SELECT"], vec!["GET DATA 5FC102"]]
    );
    // The card gets the object (a write through the module, in another process): the stale record
    // answered the cautious mode; the context that read cardcf corrected it for the next one.
    set_freshness(&card, [0, 0, 0, 0, 0, 1]);
    let (mode, _) = logon(&card, 65);
    assert_eq!(mode, SESSION_ONLY);
    let (mode, next) = logon(&card, 65);
    assert_eq!(mode, GLOBAL_CACHE);
    assert_eq!(next[3], ["VERIFY 80 PIN"]);
}
