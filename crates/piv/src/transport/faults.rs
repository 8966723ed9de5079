//! Fault injection: make the Nth APDU fail in a chosen way, to prove that callers lose nothing.

use std::collections::BTreeMap;

use crate::session::{Transport, TransportError};

/// What happens at a planned APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The card is reset before the APDU arrives: the inner card is reset (when it can be) and the
    /// exchange fails with [`TransportError::CardReset`]; the APDU is not delivered.
    Reset,
    /// The card is pulled: this and every later exchange fail with [`TransportError::CardRemoved`].
    Removal,
    /// The exchange fails with a transport error; the APDU is not delivered.
    TransportError,
    /// The APDU is delivered, but only the first `keep` bytes of the answer come back.
    Truncate {
        /// Bytes kept.
        keep: usize,
    },
    /// The APDU is delivered, but the answer is replaced by these bytes.
    Garbage(Vec<u8>),
    /// The APDU is delivered and executed, then the connection fails (the caller cannot know whether
    /// it took effect — the "card pulled mid-write" case).
    LoseResponse,
}

/// Faults keyed by the 1-based index of the APDU they hit.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    faults: BTreeMap<u64, Fault>,
}

impl FaultPlan {
    /// No faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `fault` at the `nth` APDU (1-based).
    pub fn at(mut self, nth: u64, fault: Fault) -> Self {
        self.faults.insert(nth, fault);
        self
    }
}

/// Applies a [`FaultPlan`] to a transport.
#[derive(Debug)]
pub struct Faulty<T> {
    inner: T,
    plan: FaultPlan,
    sent: u64,
    removed: bool,
}

impl<T> Faulty<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, plan: FaultPlan) -> Self {
        Self {
            inner,
            plan,
            sent: 0,
            removed: false,
        }
    }

    /// Replaces the plan and restarts counting.
    pub fn set_plan(&mut self, plan: FaultPlan) {
        self.plan = plan;
        self.sent = 0;
    }

    /// Puts a removed card back.
    pub fn reinsert(&mut self) {
        self.removed = false;
    }

    /// APDUs seen since the plan was set.
    pub fn apdus_seen(&self) -> u64 {
        self.sent
    }

    /// The wrapped transport.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for Faulty<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.removed {
            return Err(TransportError::CardRemoved);
        }
        self.sent += 1;
        match self.plan.faults.get(&self.sent).cloned() {
            None => self.inner.transmit(apdu),
            Some(Fault::Reset) => {
                // A transport that cannot reset still reports the reset; callers must cope either way.
                let _ = self.inner.reset();
                Err(TransportError::CardReset)
            }
            Some(Fault::Removal) => {
                let _ = self.inner.reset();
                self.removed = true;
                Err(TransportError::CardRemoved)
            }
            Some(Fault::TransportError) => Err(TransportError::Io("injected transport error".into())),
            Some(Fault::Truncate { keep }) => {
                let mut r = self.inner.transmit(apdu)?;
                r.truncate(keep);
                Ok(r)
            }
            Some(Fault::Garbage(bytes)) => {
                self.inner.transmit(apdu)?;
                Ok(bytes)
            }
            Some(Fault::LoseResponse) => {
                self.inner.transmit(apdu)?;
                Err(TransportError::Io("injected loss of the response".into()))
            }
        }
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.inner.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::recording::{ANSWER, RecordingCard};

    const APDUS: [[u8; 4]; 4] = [
        [0, 0xA4, 4, 0],
        [0, 0xCB, 0x3F, 0xFF],
        [0, 0xFD, 0, 0],
        [0, 0xF8, 0, 0],
    ];

    fn faulty(plan: FaultPlan) -> Faulty<RecordingCard> {
        Faulty::new(RecordingCard::default(), plan)
    }

    #[test]
    fn without_a_plan_every_apdu_is_delivered_in_order_and_answered_unchanged() {
        let mut t = faulty(FaultPlan::new());
        for apdu in APDUS {
            assert_eq!(t.transmit(&apdu), Ok(ANSWER.to_vec()));
        }
        assert_eq!(t.apdus_seen(), 4);
        assert_eq!(t.into_inner().received, APDUS.map(|a| a.to_vec()).to_vec());
    }

    #[test]
    fn a_reset_hits_exactly_the_nth_apdu_which_is_not_delivered() {
        let mut t = faulty(FaultPlan::new().at(2, Fault::Reset));
        assert_eq!(t.transmit(&APDUS[0]), Ok(ANSWER.to_vec()));
        assert_eq!(t.transmit(&APDUS[1]), Err(TransportError::CardReset));
        assert_eq!(t.inner_mut().resets, 1, "the card behind it was reset");
        assert_eq!(
            t.transmit(&APDUS[2]),
            Ok(ANSWER.to_vec()),
            "the APDU after it goes through"
        );
        let card = t.into_inner();
        assert_eq!(card.received, [APDUS[0].to_vec(), APDUS[2].to_vec()]);
    }

    #[test]
    fn a_removed_card_fails_every_exchange_until_it_is_put_back() {
        let mut t = faulty(FaultPlan::new().at(2, Fault::Removal));
        assert!(t.transmit(&APDUS[0]).is_ok());
        for apdu in &APDUS[1..] {
            assert_eq!(t.transmit(apdu), Err(TransportError::CardRemoved));
        }
        assert_eq!(t.apdus_seen(), 2, "APDUs to a missing card do not count");
        t.reinsert();
        assert_eq!(t.transmit(&APDUS[3]), Ok(ANSWER.to_vec()));
        assert_eq!(t.into_inner().received, [APDUS[0].to_vec(), APDUS[3].to_vec()]);
    }

    #[test]
    fn an_injected_transport_error_is_not_delivered() {
        let mut t = faulty(FaultPlan::new().at(1, Fault::TransportError));
        assert!(matches!(t.transmit(&APDUS[0]), Err(TransportError::Io(_))));
        assert!(t.into_inner().received.is_empty());
    }

    #[test]
    fn truncation_and_garbage_are_delivered_and_change_only_the_answer() {
        let garbage = vec![0x6F, 0x00, 0x12];
        let mut t = faulty(
            FaultPlan::new()
                .at(1, Fault::Truncate { keep: 1 })
                .at(2, Fault::Garbage(garbage.clone())),
        );
        assert_eq!(t.transmit(&APDUS[0]), Ok(ANSWER[..1].to_vec()));
        assert_eq!(t.transmit(&APDUS[1]), Ok(garbage));
        assert_eq!(t.into_inner().received, [APDUS[0].to_vec(), APDUS[1].to_vec()]);
    }

    #[test]
    fn a_lost_response_was_executed_by_the_card_but_reports_a_failure() {
        let mut t = faulty(FaultPlan::new().at(1, Fault::LoseResponse));
        assert!(matches!(t.transmit(&APDUS[0]), Err(TransportError::Io(_))));
        assert_eq!(
            t.into_inner().received,
            [APDUS[0].to_vec()],
            "the card executed it"
        );
    }

    #[test]
    fn a_new_plan_counts_from_the_next_apdu() {
        let mut t = faulty(FaultPlan::new());
        assert!(t.transmit(&APDUS[0]).is_ok());
        t.set_plan(FaultPlan::new().at(1, Fault::TransportError));
        assert_eq!(t.apdus_seen(), 0);
        assert!(
            t.transmit(&APDUS[1]).is_err(),
            "the first APDU under the new plan"
        );
        assert!(t.transmit(&APDUS[2]).is_ok());
        assert_eq!(t.apdus_seen(), 2);
    }
}
