//! What the module does not send: work the CSP repeats (reading `cardcf` at every transaction, asking
//! for an admin challenge) costs no APDU the module can answer from what it already knows.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use tessera_piv::transport::Counting;

use common::{Context, TestCard, take};

/// `CardReadFile(NULL, "cardcf")`.
fn read_cardcf(ctx: &Context) -> Vec<u8> {
    let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
    // SAFETY: valid arguments; the buffer is freed by `take`.
    let rc = unsafe {
        ctx.cd.pfnCardReadFile.unwrap()(
            &*ctx.cd,
            std::ptr::null(),
            c"cardcf".as_ptr().cast(),
            0,
            &mut data,
            &mut len,
        )
    };
    assert_eq!(rc, 0);
    take(data, len)
}

#[test]
fn cardcf_of_a_card_without_the_freshness_object_costs_one_read_per_context() {
    let card = TestCard::new(31);
    let transport = Counting::new(card.card.connect());
    let counters = transport.counters();
    let ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    assert_eq!(read_cardcf(&ctx), [0; 6]);
    let before = counters.snapshot();
    for _ in 0..3 {
        assert_eq!(read_cardcf(&ctx), [0; 6]);
    }
    assert_eq!(
        counters.snapshot().since(before).apdus,
        0,
        "no APDU for a known-absent object"
    );
}

#[test]
fn the_management_key_algorithm_is_asked_once_per_context() {
    let card = TestCard::new(32);
    let transport = Counting::new(card.card.connect());
    let counters = transport.counters();
    let ctx = Context::acquire_with(&card.card, 7, Box::new(transport));
    let challenge = || {
        let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
        // SAFETY: valid arguments; the buffer is freed by `take`.
        let rc = unsafe { ctx.cd.pfnCardGetChallengeEx.unwrap()(&*ctx.cd, 2, &mut data, &mut len, 0) };
        assert_eq!(rc, 0);
        take(data, len)
    };
    assert_eq!(challenge().len(), 8, "3DES: one block");
    let before = counters.snapshot();
    assert_eq!(challenge().len(), 8);
    assert_eq!(
        counters.snapshot().since(before).apdus,
        1,
        "only GENERAL AUTHENTICATE"
    );
}
