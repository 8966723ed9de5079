//! The administrator role: the PIV management key (9B) as Windows' challenge/response PIN (Smart Card
//! Minidriver Specification 7.07 §4.2.3, §4.2.4, §7.6). The module hands out the card's
//! external-authentication challenge; the response is the challenge encrypted with the management key,
//! checked by the card.

use subtle::ConstantTimeEq;
use tessera_piv::{KeyRef, ManagementAlgorithm, ManagementKey};
use zeroize::Zeroizing;

use crate::context::CardContext;
use crate::error::{MdError, Result};
use crate::input::no_flags;
use crate::pins::ROLE_ADMIN;

/// Checks a `CardGetChallengeEx` (Smart Card Minidriver Specification 7.07 §4.2.7): only the
/// administrator is a challenge/response PIN.
pub(crate) fn check_challenge_request(pin_id: u32, flags: u32) -> Result<()> {
    no_flags(flags)?;
    if pin_id != ROLE_ADMIN {
        return Err(MdError::InvalidParameter(
            "only the administrator is a challenge/response PIN",
        ));
    }
    Ok(())
}

/// An admin challenge the card handed out. It is valid only while nothing else has been sent to the
/// card: §4.2.3 discards a challenge whose next card command is not the authentication using it.
#[derive(Debug, Clone)]
pub(crate) struct PendingChallenge {
    algorithm: ManagementAlgorithm,
    /// The card's challenge (no secret: the card hands it to anyone who asks).
    challenge: Vec<u8>,
    /// `Session::exchanges` right after the challenge.
    exchanges: u64,
}

/// The challenge the administrator answered last and the answer the card accepted: enough to tell,
/// without asking the card, whether a key the module holds is the card's key (it is when it encrypts
/// the challenge into the same answer).
pub(crate) struct AnsweredChallenge {
    algorithm: ManagementAlgorithm,
    challenge: Vec<u8>,
    response: Zeroizing<Vec<u8>>,
}

impl AnsweredChallenge {
    /// The algorithm of the card's management key (the challenge's).
    pub(crate) fn algorithm(&self) -> ManagementAlgorithm {
        self.algorithm
    }

    /// Whether `key` is the key that answered the challenge (a comparison in constant time; no APDU).
    pub(crate) fn answered_by(&self, key: &ManagementKey) -> bool {
        key.algorithm() == self.algorithm
            && key
                .encrypt_block(&self.challenge)
                .is_ok_and(|mine| bool::from(mine.as_slice().ct_eq(&self.response)))
    }
}

impl CardContext {
    /// The management key's algorithm: from GET METADATA 9B when the card reports it, else 3DES (the
    /// PIV default before YubiKey 5.7). Asked once per context.
    pub(crate) fn management_algorithm(&mut self) -> ManagementAlgorithm {
        if let Some(algorithm) = self.management_algorithm {
            return algorithm;
        }
        let algorithm = self
            .read_vendor(|s| s.get_metadata(KeyRef::MANAGEMENT))
            .ok()
            .flatten()
            .flatten()
            .and_then(|m| m.algorithm)
            .and_then(|a| a.management())
            .unwrap_or(ManagementAlgorithm::Tdes);
        self.management_algorithm = Some(algorithm);
        algorithm
    }

    /// `CardGetChallenge` / `CardGetChallengeEx(ROLE_ADMIN)`.
    pub(crate) fn admin_challenge(&mut self) -> Result<Zeroizing<Vec<u8>>> {
        let algorithm = self.management_algorithm();
        // The challenge must directly precede its answer: nothing else goes to the card in between
        // (the card forgets the challenge otherwise), so no retry after a reset either.
        let challenge = self.without_retry(|s| s.management_challenge(algorithm));
        let challenge = challenge?;
        self.pending_challenge = Some(PendingChallenge {
            algorithm,
            challenge: challenge.to_vec(),
            exchanges: self.session.exchanges(),
        });
        self.auth.admin = false;
        Ok(challenge)
    }

    /// `CardAuthenticateChallenge` / `CardAuthenticateEx(ROLE_ADMIN)`. Without an outstanding challenge
    /// (none was asked for, or another command reached the card since) the answer is wrong by
    /// definition and nothing is sent. The management key has no retry counter the card reports, so the
    /// tries left are unknown.
    pub(crate) fn admin_response(&mut self, response: &[u8]) -> Result<()> {
        self.answer_admin_challenge(response).map(drop)
    }

    /// [`Self::admin_response`], keeping what was answered (for a key change, which must learn which
    /// of the keys it holds is the card's).
    pub(crate) fn answer_admin_challenge(&mut self, response: &[u8]) -> Result<AnsweredChallenge> {
        let pending = self.pending_challenge.take();
        let Some(PendingChallenge {
            algorithm, challenge, ..
        }) = pending.filter(|p| p.exchanges == self.session.exchanges())
        else {
            self.auth.admin = false;
            return Err(MdError::WrongPin { remaining: None });
        };
        let result = self.without_retry(|s| s.management_response(algorithm, response));
        match result {
            Ok(()) => {
                self.auth.admin = true;
                Ok(AnsweredChallenge {
                    algorithm,
                    challenge,
                    response: Zeroizing::new(response.to_vec()),
                })
            }
            Err(e) if e.status_word().is_some() => {
                self.auth.admin = false;
                Err(MdError::WrongPin { remaining: None })
            }
            Err(e) => {
                self.auth.admin = false;
                Err(e.into())
            }
        }
    }
}
