//! GENERAL AUTHENTICATE: management-key authentication (mutual and external, 3DES and AES) and the
//! private-key operations (raw RSA, ECDSA, ECDH).

use tessera_piv::{AlgorithmId, KeyRef, ManagementKey, PinPolicy, StatusWord, tlv};

use super::Engine;
use crate::command::{AuthRequest, Reply};
use crate::keys::PrivateKey;
use crate::secret::Secret;
use crate::state::PendingAuth;

/// `7C { tag value }`. The value may be a decrypted block or a shared secret: the inner copy is wiped
/// (the reply itself is, by the framing).
fn template(tag: u32, value: &[u8]) -> Reply {
    let inner = zeroize::Zeroizing::new(tlv::encode(tag, value).map_err(|_| StatusWord::UNKNOWN_ERROR)?);
    tlv::encode(0x7C, &inner).map_err(|_| StatusWord::UNKNOWN_ERROR)
}

impl Engine {
    pub(super) fn general_authenticate(
        &mut self,
        algorithm: AlgorithmId,
        key: KeyRef,
        request: AuthRequest,
    ) -> Reply {
        if key == KeyRef::MANAGEMENT {
            self.management_authenticate(algorithm, request)
        } else {
            self.private_key_operation(algorithm, key, request)
        }
    }

    fn management_authenticate(&mut self, algorithm: AlgorithmId, request: AuthRequest) -> Reply {
        let stored = &self.persistent.management;
        let Some(management_algorithm) = stored.algorithm() else {
            return Err(StatusWord::UNKNOWN_ERROR);
        };
        let algorithm_matches = algorithm == management_algorithm.id()
            || (algorithm == AlgorithmId::TDES_LEGACY && management_algorithm.id() == AlgorithmId::TDES);
        if !algorithm_matches {
            self.volatile.pending_auth = None;
            return Err(StatusWord::INCORRECT_DATA);
        }
        let key = ManagementKey::new_unchecked_strength(management_algorithm, stored.key.expose())
            .map_err(|_| StatusWord::UNKNOWN_ERROR)?;
        let block = management_algorithm.block_len();
        let encrypt = |data: &[u8]| key.encrypt_block(data).map_err(|_| StatusWord::INCORRECT_DATA);
        match request {
            AuthRequest::WitnessRequest => {
                self.volatile.management_authenticated = false;
                let witness = Secret::new(&self.rng.bytes(block));
                let encrypted = encrypt(witness.expose())?;
                self.volatile.pending_auth = Some(PendingAuth::Mutual {
                    algorithm: algorithm.0,
                    witness,
                });
                template(0x80, &encrypted)
            }
            AuthRequest::MutualResponse { witness, challenge } => {
                let pending = self.volatile.pending_auth.take();
                let proven = matches!(pending, Some(PendingAuth::Mutual { algorithm: a, witness: ref expected })
                    if a == algorithm.0 && *expected == witness);
                if !proven {
                    return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
                }
                if challenge.len() != block {
                    return Err(StatusWord::INCORRECT_DATA);
                }
                let response = encrypt(&challenge)?;
                self.volatile.management_authenticated = true;
                template(0x82, &response)
            }
            AuthRequest::ChallengeRequest => {
                self.volatile.management_authenticated = false;
                let challenge = self.rng.bytes(block);
                let expected = Secret::from_zeroizing(encrypt(&challenge)?);
                self.volatile.pending_auth = Some(PendingAuth::External {
                    algorithm: algorithm.0,
                    expected,
                });
                template(0x81, &challenge)
            }
            AuthRequest::ExternalResponse { response } => {
                let pending = self.volatile.pending_auth.take();
                let proven = matches!(pending, Some(PendingAuth::External { algorithm: a, ref expected })
                    if a == algorithm.0 && *expected == response);
                if !proven {
                    return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
                }
                self.volatile.management_authenticated = true;
                Ok(Vec::new())
            }
            AuthRequest::Sign { .. } | AuthRequest::KeyAgreement { .. } => Err(StatusWord::INCORRECT_DATA),
        }
    }

    fn private_key_operation(&mut self, algorithm: AlgorithmId, slot: KeyRef, request: AuthRequest) -> Reply {
        // A YubiKey answers 6A80 both for an empty slot and for a P1 that is not the key's algorithm; the
        // attestation key signs only attestations.
        if slot == KeyRef::ATTESTATION {
            return Err(StatusWord::INCORRECT_DATA);
        }
        let stored = self
            .persistent
            .keys
            .get(&slot.0)
            .ok_or(StatusWord::INCORRECT_DATA)?;
        if stored.algorithm() != algorithm {
            return Err(StatusWord::INCORRECT_DATA);
        }
        let policy = stored.pin_policy;
        let key = stored.private_key().map_err(|_| StatusWord::UNKNOWN_ERROR)?;
        // Input checks come before the access check so a malformed request does not use up a PIN-ALWAYS
        // verification.
        check_input(&key, &request)?;
        match policy {
            PinPolicy::Never => {}
            PinPolicy::Always if self.volatile.pin_just_verified => self.volatile.pin_just_verified = false,
            PinPolicy::Once | PinPolicy::Default if self.volatile.pin_verified => {}
            _ => return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
        }
        let result = zeroize::Zeroizing::new(
            match request {
                AuthRequest::Sign { input } if algorithm.is_rsa() => {
                    key.rsa_raw(input.expose(), &mut self.rng).map(|v| v.to_vec())
                }
                AuthRequest::Sign { input } => key.ecdsa_sign(input.expose()),
                AuthRequest::KeyAgreement { point } => key.ecdh(&point).map(|v| v.to_vec()),
                _ => return Err(StatusWord::INCORRECT_DATA),
            }
            .map_err(|_| StatusWord::INCORRECT_DATA)?,
        );
        template(0x82, &result)
    }
}

/// The cheap, public checks of a private-key request: sizes, RSA input below the modulus, a peer point
/// that lies on the curve.
fn check_input(key: &PrivateKey, request: &AuthRequest) -> Result<(), StatusWord> {
    let ok = match (key, request) {
        (PrivateKey::Rsa(_), AuthRequest::Sign { input }) => {
            let tessera_piv::PublicKey::Rsa { modulus, .. } = key.public_key() else {
                return Err(StatusWord::INCORRECT_DATA);
            };
            input.expose().len() == modulus.len() && input.expose() < modulus.as_slice()
        }
        (PrivateKey::P256(_) | PrivateKey::P384(_), AuthRequest::Sign { input }) => {
            !input.expose().is_empty()
        }
        (PrivateKey::P256(_), AuthRequest::KeyAgreement { point }) => {
            point.len() == 65
                && point.first() == Some(&0x04)
                && p256::PublicKey::from_sec1_bytes(point).is_ok()
        }
        (PrivateKey::P384(_), AuthRequest::KeyAgreement { point }) => {
            point.len() == 97
                && point.first() == Some(&0x04)
                && p384::PublicKey::from_sec1_bytes(point).is_ok()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(StatusWord::INCORRECT_DATA)
    }
}
