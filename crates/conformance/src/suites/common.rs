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
/// `view` may record checks of its own (it runs before and after the call).
pub(crate) fn write_refusals<V: PartialEq + 'static>(
    suite: &'static str,
    calls: &[(&'static str, WriteCall)],
    shown: &'static str,
    view: fn(&ConnectedContext, &mut Verdict) -> V,
) -> Vec<CaseDef> {
    let mut out = Vec::new();
    for &(name, call) in calls {
        out.push(opened(suite, format!("{name}-read-only-card"), move |_, v, b| {
            if read_only(b) != Some(true) {
                return v.skip("the card is not reported read-only");
            }
            let before = view(b, v);
            v.code(name, call(&b.call()), &[SCARD_E_UNSUPPORTED_FEATURE]);
            let after = view(b, v);
            v.check(before == after, || format!("the refused {name} changed {shown}"));
        }));
        out.push(null_card_data(suite, name, call));
    }
    out
}

/// `name` with a NULL `pCardData`: `SCARD_E_INVALID_PARAMETER` (spec §2.3.2).
pub(crate) fn null_card_data(suite: &'static str, name: &'static str, call: WriteCall) -> CaseDef {
    opened(suite, format!("{name}-null-card-data"), move |_, v, b| {
        v.code(name, call(&b.null()), &[SCARD_E_INVALID_PARAMETER]);
    })
}
