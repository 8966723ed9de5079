//! When an exchange with the card is repeated. Between two calls the card can lose its PIV selection (a
//! reset through this handle or another, another application selected on it); a read-only exchange is
//! then repeated once, after a fresh SELECT. An exchange that changes the card or spends a try (VERIFY,
//! the management-key challenge and its answer, every write) is never repeated: a second VERIFY could
//! block a card, and a second challenge would void the first. [`CardContext`](crate::context::CardContext)
//! runs each exchange through one of these and then learns of any reset it saw.

use tessera_piv::{KeyRef, PivError, Session, StatusWord, Transport, TransportError};

/// Whether a failed exchange means the card lost its PIV selection: a transport reset, or a standard PIV
/// instruction answered with "instruction/class not supported".
pub(crate) fn lost_selection(e: &PivError) -> bool {
    matches!(e, PivError::Transport(TransportError::CardReset)) || not_known(e)
}

/// The card answered "instruction/class not supported" (`6D00`/`6E00`).
fn not_known(e: &PivError) -> bool {
    matches!(
        e.status_word(),
        Some(StatusWord::INS_NOT_SUPPORTED | StatusWord::CLA_NOT_SUPPORTED)
    )
}

/// A read-only exchange: after a reset or a lost selection the session re-selects and `op` runs once more.
pub(crate) fn read<L: Transport, T>(
    session: &mut Session<L>,
    mut op: impl FnMut(&mut Session<L>) -> tessera_piv::Result<T>,
) -> tessera_piv::Result<T> {
    match op(session) {
        Err(e) if lost_selection(&e) => {
            tracing::debug!("card lost its PIV selection ({e}); re-selecting and retrying once");
            session.note_reset();
            op(session)
        }
        other => other,
    }
}

/// A read-only YubiKey instruction; `None` when the card does not know it. `6D00` is ambiguous here:
/// other PIV cards (and older YubiKeys for some instructions) answer it to an instruction they lack, and
/// a card that lost its PIV selection answers it to anything. A re-SELECT would log the PIN out, so a
/// standard instruction decides first: the PIN status query (an empty VERIFY, which spends no try)
/// succeeds only while PIV is selected.
pub(crate) fn read_vendor<L: Transport, T>(
    session: &mut Session<L>,
    mut op: impl FnMut(&mut Session<L>) -> tessera_piv::Result<T>,
) -> tessera_piv::Result<Option<T>> {
    let result = match op(session) {
        Err(e) if lost_selection(&e) && e.status_word().is_some() => match session.pin_status(KeyRef::PIN) {
            Err(probe) if lost_selection(&probe) => {
                tracing::debug!("card lost its PIV selection; re-selecting and retrying once");
                session.note_reset();
                op(session)
            }
            _ => Err(e),
        },
        Err(e) if lost_selection(&e) => {
            session.note_reset();
            op(session)
        }
        other => other,
    };
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if not_known(&e) => Ok(None),
        Err(e) => Err(e),
    }
}
