//! The context behind `pvVendorSpecific` against calls that race its deletion: a call already inside
//! the context finishes before the context is freed, a call that comes after the delete is refused with
//! `SCARD_E_INVALID_PARAMETER`, and two deletes free it once. The card is a transport that can hold an
//! exchange on a gate, and counts how often it is dropped (it is dropped exactly when its context is
//! freed). Run under Miri as well: `cargo +nightly miri test -p tessera-minidriver --test context_lifetime`.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use tessera_minidriver::acquire_context_with_transport;
use tessera_piv::{Transport, TransportError};
use windows_sys::Win32::Security::Cryptography::CARD_DATA;

mod common;

const SCARD_S_SUCCESS: u32 = 0;
const SCARD_E_INVALID_PARAMETER: u32 = 0x8010_0004;

/// A YubiKey 5's ATR (libykpiv's `YKPIV_ATR_YK5`).
const YUBIKEY5_ATR: [u8; 23] = [
    0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75,
    0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
];

#[derive(Default)]
struct GateState {
    /// The next exchange waits until released.
    armed: bool,
    /// An exchange is waiting at the gate.
    inside: bool,
    released: bool,
}

/// Shared between the test and its transport.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
    drops: AtomicUsize,
    /// The transport was dropped while an exchange was waiting inside it.
    dropped_while_inside: AtomicUsize,
}

impl Gate {
    fn wait_until(&self, cond: impl Fn(&GateState) -> bool) {
        let mut s = self.state.lock().unwrap();
        while !cond(&s) {
            s = self.changed.wait(s).unwrap();
        }
    }

    fn set(&self, f: impl FnOnce(&mut GateState)) {
        f(&mut self.state.lock().unwrap());
        self.changed.notify_all();
    }
}

/// A card that knows SELECT (9000) and nothing else (6A82), and waits at the gate when it is armed.
struct GatedCard(Arc<Gate>);

impl Transport for GatedCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let gate = &self.0;
        if gate.state.lock().unwrap().armed {
            gate.set(|s| s.inside = true);
            gate.wait_until(|s| s.released);
            gate.set(|s| {
                s.inside = false;
                s.armed = false;
            });
        }
        Ok(if apdu.get(1) == Some(&0xA4) {
            vec![0x90, 0x00]
        } else {
            vec![0x6A, 0x82]
        })
    }
}

impl Drop for GatedCard {
    fn drop(&mut self) {
        if self.0.state.lock().unwrap().inside {
            self.0.dropped_while_inside.fetch_add(1, Ordering::SeqCst);
        }
        self.0.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A caller-owned CARD_DATA, shared by the test's threads as the CSP shares it.
struct Shared {
    cd: *mut CARD_DATA,
    _atr: Vec<u8>,
    _name: Vec<u16>,
}

// SAFETY: the CARD_DATA is only reached through the module's entry points, which are thread-safe for one
// context (that is what this test checks); the buffers it points to are never written.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: `cd` came from Box::into_raw and is dropped once, after every thread is joined.
        drop(unsafe { Box::from_raw(self.cd) });
    }
}

fn acquire(gate: &Arc<Gate>) -> Arc<Shared> {
    let mut atr = YUBIKEY5_ATR.to_vec();
    let name: Vec<u16> = "Tessera test card".encode_utf16().chain([0]).collect();
    let cd = Box::into_raw(Box::new(CARD_DATA {
        dwVersion: 7,
        pbAtr: atr.as_mut_ptr(),
        cbAtr: atr.len() as u32,
        pwszCardName: name.as_ptr() as *mut u16,
        pfnCspAlloc: Some(common::csp_alloc),
        pfnCspReAlloc: Some(common::csp_realloc),
        pfnCspFree: Some(common::csp_free),
        hSCardCtx: 1,
        hScard: 1,
        ..Default::default()
    }));
    // SAFETY: a fully initialised CARD_DATA.
    let rc = unsafe { acquire_context_with_transport(cd, 0, Box::new(GatedCard(Arc::clone(gate)))) };
    assert_eq!(rc, SCARD_S_SUCCESS, "CardAcquireContext");
    Arc::new(Shared {
        cd,
        _atr: atr,
        _name: name,
    })
}

fn read_cardid(ctx: &Shared) -> u32 {
    // SAFETY: the test's own CARD_DATA, filled by CardAcquireContext.
    let read = unsafe { (*ctx.cd).pfnCardReadFile }.unwrap();
    let (mut data, mut len) = (std::ptr::null_mut(), 0u32);
    // SAFETY: the entry point the module filled in; the name is NUL-terminated and the out-pointers are
    // valid.
    let rc = unsafe {
        read(
            ctx.cd,
            std::ptr::null(),
            c"cardid".as_ptr().cast(),
            0,
            &mut data,
            &mut len,
        )
    };
    common::take(data, len);
    rc
}

fn delete(ctx: &Shared) -> u32 {
    // SAFETY: the test's own CARD_DATA, filled by CardAcquireContext.
    let delete = unsafe { (*ctx.cd).pfnCardDeleteContext }.unwrap();
    // SAFETY: the entry point the module filled in, on its own context.
    unsafe { delete(ctx.cd) }
}

#[test]
fn delete_waits_for_a_call_inside_the_context() {
    let gate = Arc::new(Gate::default());
    let ctx = acquire(&gate);
    gate.set(|s| s.armed = true);
    let reader = thread::spawn({
        let ctx = Arc::clone(&ctx);
        move || read_cardid(&ctx)
    });
    gate.wait_until(|s| s.inside);
    let deleter = thread::spawn({
        let ctx = Arc::clone(&ctx);
        move || delete(&ctx)
    });
    // The delete has had every chance to free the context under the reader's feet.
    thread::sleep(Duration::from_millis(200));
    assert_eq!(
        gate.drops.load(Ordering::SeqCst),
        0,
        "the context was freed while CardReadFile was using it"
    );
    // A call that arrives now, after the delete began, is refused without touching the context.
    assert_eq!(
        read_cardid(&ctx),
        SCARD_E_INVALID_PARAMETER,
        "a call after the delete"
    );
    gate.set(|s| s.released = true);
    let read_rc = reader.join().unwrap();
    assert_ne!(
        read_rc, SCARD_E_INVALID_PARAMETER,
        "the call that was inside finishes"
    );
    assert_eq!(deleter.join().unwrap(), SCARD_S_SUCCESS, "CardDeleteContext");
    assert_eq!(gate.drops.load(Ordering::SeqCst), 1, "freed once");
    assert_eq!(gate.dropped_while_inside.load(Ordering::SeqCst), 0);
    assert_eq!(delete(&ctx), SCARD_E_INVALID_PARAMETER, "a second delete");
}

#[test]
fn concurrent_deletes_free_the_context_once() {
    let rounds = if cfg!(miri) { 3 } else { 300 };
    for round in 0..rounds {
        let gate = Arc::new(Gate::default());
        let ctx = acquire(&gate);
        let start = Arc::new(Barrier::new(2));
        let deleters: Vec<_> = (0..2)
            .map(|_| {
                let (ctx, start) = (Arc::clone(&ctx), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    delete(&ctx)
                })
            })
            .collect();
        let mut codes: Vec<u32> = deleters.into_iter().map(|t| t.join().unwrap()).collect();
        codes.sort_unstable();
        assert_eq!(
            codes,
            [SCARD_S_SUCCESS, SCARD_E_INVALID_PARAMETER],
            "round {round}: two deletes"
        );
        assert_eq!(gate.drops.load(Ordering::SeqCst), 1, "round {round}: freed once");
    }
}

#[test]
fn a_second_acquire_on_the_same_card_data_releases_the_first_context() {
    let first = Arc::new(Gate::default());
    let ctx = acquire(&first);
    let second = Arc::new(Gate::default());
    // SAFETY: the same caller-owned CARD_DATA, still filled from the first acquire.
    let rc = unsafe { acquire_context_with_transport(ctx.cd, 0, Box::new(GatedCard(Arc::clone(&second)))) };
    assert_eq!(rc, SCARD_S_SUCCESS, "second CardAcquireContext");
    assert_eq!(
        first.drops.load(Ordering::SeqCst),
        1,
        "the first context (no longer reachable through this CARD_DATA) was leaked"
    );
    assert_eq!(read_cardid(&ctx), SCARD_S_SUCCESS, "the new context works");
    assert_eq!(delete(&ctx), SCARD_S_SUCCESS);
    assert_eq!(
        second.drops.load(Ordering::SeqCst),
        1,
        "the second context is freed by the delete"
    );
    assert_eq!(
        first.drops.load(Ordering::SeqCst),
        1,
        "and the first one not twice"
    );
}

#[test]
fn a_pointer_the_module_did_not_set_is_never_freed() {
    // A CSP that does not clear its CARD_DATA: pvVendorSpecific holds something of its own. A failed
    // acquire must not adopt it, and a later delete must refuse it rather than free it.
    let mut foreign = Box::new([0x5Au8; 256]);
    let foreign_ptr = foreign.as_mut_ptr();
    let gate = Arc::new(Gate::default());
    let ctx = acquire(&gate);
    assert_eq!(delete(&ctx), SCARD_S_SUCCESS);
    // SAFETY: the test's own CARD_DATA; the field is the caller's memory.
    unsafe { (*ctx.cd).pvVendorSpecific = foreign_ptr.cast() };
    // SAFETY: as above. A zero hScard makes the acquire fail (SCARD_E_INVALID_HANDLE) after its checks.
    unsafe { (*ctx.cd).hScard = 0 };
    let refused = Arc::new(Gate::default());
    // SAFETY: as above.
    let rc = unsafe { acquire_context_with_transport(ctx.cd, 0, Box::new(GatedCard(Arc::clone(&refused)))) };
    assert_eq!(rc, 0x8010_0003, "CardAcquireContext with hScard 0");
    assert_eq!(
        delete(&ctx),
        SCARD_E_INVALID_PARAMETER,
        "a delete of a pointer the module never set"
    );
    assert!(
        foreign.iter().all(|&b| b == 0x5A),
        "the caller's memory was written"
    );
    assert_eq!(
        read_cardid(&ctx),
        SCARD_E_INVALID_PARAMETER,
        "no context behind the pointer"
    );
    assert_eq!(
        refused.drops.load(Ordering::SeqCst),
        1,
        "the refused acquire's transport is dropped"
    );
}
