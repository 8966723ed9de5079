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
fn cardcf_costs_one_read_on_a_writable_card_and_none_on_a_card_without_vendor_objects() {
    // A card that could get the freshness object (at its first write, from any process) is asked at
    // every read: one GET DATA.
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
        3,
        "one GET DATA per read"
    );

    // A card that refuses vendor objects (6A80, as standard PIV cards answer) cannot have it.
    let card = TestCard::new(33);
    let transport = Counting::new(NoVendorObjects(card.card.connect()));
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
        "no APDU for an object the card cannot keep"
    );
}

/// Answers `6A80` to GET/PUT DATA of a Yubico vendor object (5FFFxx).
struct NoVendorObjects<T>(T);

impl<T: tessera_piv::Transport> tessera_piv::Transport for NoVendorObjects<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, tessera_piv::TransportError> {
        if matches!(apdu.get(1), Some(0xCB | 0xDB)) && apdu.get(5..9) == Some(&[0x5C, 0x03, 0x5F, 0xFF]) {
            return Ok(vec![0x6A, 0x80]);
        }
        self.0.transmit(apdu)
    }
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
