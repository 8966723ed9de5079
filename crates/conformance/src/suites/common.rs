//! What many cases start from or share: a freshly acquired context ([`open`], [`opened`]), whether the module
//! calls its card read-only ([`read_only`]) and what it says is authenticated ([`authenticated_state`]), and
//! the cases every entry point that would write to the card gets ([`write_refusals`]).

use crate::blobs;
use crate::codes::{SCARD_E_INVALID_PARAMETER, SCARD_E_UNSUPPORTED_FEATURE};
use crate::ffi::calls::Calls;
use crate::harness::{CaseDef, ConnectedContext, Harness, Verdict, case};

/// A v7 context on the card; when it cannot be acquired the case fails at that setup step.
pub(crate) fn open(h: &Harness, v: &mut Verdict) -> Option<ConnectedContext> {
    v.setup("acquire a v7 context", h.open())
}

/// A case that starts from a fresh v7 context, as most do: `run` gets the harness, the verdict and the
/// context.
pub(crate) fn opened(
    suite: &'static str,
    name: impl Into<String>,
    run: impl Fn(&Harness, &mut Verdict, &ConnectedContext) + Send + Sync + 'static,
) -> CaseDef {
    case(suite, name, move |h, v| {
        if let Some(b) = open(h, v) {
            run(h, v, &b);
        }
    })
}

/// `CP_CARD_READ_ONLY`, if the module answers it.
pub(crate) fn read_only(b: &ConnectedContext) -> Option<bool> {
    let r = b.call().get_property(Some("Read Only Mode"), 4, 0, false, false);
    let value = r.value?;
    (r.code == 0 && value.data.len() == 4).then(|| value.data != [0, 0, 0, 0])
}

/// The module's `CP_CARD_AUTHENTICATED_STATE`, when it offers the (optional) property.
pub(crate) fn authenticated_state(b: &ConnectedContext) -> Option<u32> {
    let r = b
        .call()
        .get_property(Some("Authenticated State"), 4, 0, false, false);
    let ok = r.ok();
    r.value
        .filter(|_| ok)
        .and_then(|p| blobs::dwords(&p.data).first().copied())
}

/// An entry point that would change the card, called with harmless arguments; its code.
pub(crate) type WriteCall = fn(&Calls<'_>) -> u32;

/// Two cases for each entry point in `calls`: on a card the module reports read-only it answers
/// `SCARD_E_UNSUPPORTED_FEATURE` (spec §7.4: the entry exists and refuses) and what `view` shows of the
/// card is the same before and after; with a NULL `pCardData` it answers `SCARD_E_INVALID_PARAMETER`.
/// `view` may record checks of its own (it runs before and after the call). The read-only card is the
/// card itself when the module reports it read-only, else the virtual card made a standard PIV card
/// ([`on_read_only_card`]).
pub(crate) fn write_refusals<V: PartialEq + 'static>(
    suite: &'static str,
    calls: &[(&'static str, WriteCall)],
    shown: &'static str,
    view: fn(&ConnectedContext, &mut Verdict) -> V,
) -> Vec<CaseDef> {
    let mut out = Vec::new();
    for &(name, call) in calls {
        out.push(case(suite, format!("{name}-read-only-card"), move |h, v| {
            on_read_only_card(h, v, |b, v| {
                let before = view(b, v);
                v.code(name, call(&b.call()), &[SCARD_E_UNSUPPORTED_FEATURE]);
                let after = view(b, v);
                v.check(before == after, || format!("the refused {name} changed {shown}"));
            });
        }));
        out.push(null_card_data(suite, name, call));
    }
    out
}

/// `P1` of the virtual card's test-fault instruction `00 EF P1 P2` (Tessera's `test_faults` module).
pub(crate) mod fault {
    /// Every fault off.
    pub(crate) const CLEAR: u8 = 0x00;
    /// GET METADATA of slot `P2` malformed.
    pub(crate) const MALFORMED_METADATA: u8 = 0x01;
    /// A standard PIV card: vendor objects (5FFFxx) refused with `6A80`, YubiKey instructions `6D00`.
    pub(crate) const PLAIN_PIV: u8 = 0x02;
}

/// Sends the virtual card's test-fault instruction through the harness's own connection: `Ok(false)`
/// when the card does not have it (a real card, or a virtual card started without `--test-faults`).
pub(crate) fn test_fault(h: &Harness, p1: u8, p2: u8) -> Result<bool, String> {
    let mut s = h.card().piv_session()?;
    let r = s
        .transmit(&tessera_piv::apdu::Command::new(0x00, 0xEF, p1, p2))
        .map_err(|e| e.to_string())?;
    Ok(r.sw.is_success())
}

/// Runs `body` on a fresh context on a card the module reports read-only: the card itself when it is
/// (a card that keeps no vendor objects), else the virtual card switched to a standard PIV card (no
/// vendor objects, so no container map: read-only for a module that keeps its containers there) for
/// the case and back afterwards. Skipped on a writable card that cannot be switched.
pub(crate) fn on_read_only_card(
    h: &Harness,
    v: &mut Verdict,
    body: impl FnOnce(&ConnectedContext, &mut Verdict),
) {
    let Some(b) = open(h, v) else { return };
    if read_only(&b) == Some(true) {
        return body(&b, v);
    }
    drop(b);
    match test_fault(h, fault::PLAIN_PIV, 0) {
        Ok(true) => {}
        Ok(false) => return v.skip("the card is writable and cannot be made read-only (no test faults)"),
        Err(e) => return v.fail(format!("setup (test fault): {e}")),
    }
    if let Some(b) = open(h, v) {
        if read_only(&b) == Some(true) {
            body(&b, v);
        } else {
            v.fail("a card without vendor objects (no container map) is not reported read-only");
        }
    }
    if let Err(e) = test_fault(h, fault::CLEAR, 0) {
        v.fail(format!("clearing the test fault: {e}"));
    }
}

/// `name` with a NULL `pCardData`: `SCARD_E_INVALID_PARAMETER` (spec §2.3.2).
pub(crate) fn null_card_data(suite: &'static str, name: &'static str, call: WriteCall) -> CaseDef {
    opened(suite, format!("{name}-null-card-data"), move |_, v, b| {
        v.code(name, call(&b.null()), &[SCARD_E_INVALID_PARAMETER]);
    })
}
