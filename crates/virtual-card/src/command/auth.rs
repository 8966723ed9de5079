//! GENERAL AUTHENTICATE parsing: the dynamic authentication template `7C { 80 | 81 | 82 | 85 }` decides
//! which exchange the host wants (SP 800-73-4 Part 2 §3.2.4 and Appendix A).

use tessera_piv::apdu::ParsedCommand;
use tessera_piv::{AlgorithmId, KeyRef, StatusWord, tlv};
use zeroize::Zeroizing;

use super::{Command, bad_data, elements, find, need_data};
use crate::secret::Secret;

/// What a GENERAL AUTHENTICATE template asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRequest {
    /// 9B, `7C { 80 00 }`: mutual authentication step 1, send an encrypted witness.
    WitnessRequest,
    /// 9B, `7C { 80 witness, 81 challenge [, 82 00] }`: mutual authentication step 2.
    MutualResponse {
        /// The decrypted witness.
        witness: Secret,
        /// The host's challenge, to be encrypted.
        challenge: Vec<u8>,
    },
    /// 9B, `7C { 81 00 }`: external authentication step 1, send a challenge.
    ChallengeRequest,
    /// 9B, `7C { 82 response }`: external authentication step 2.
    ExternalResponse {
        /// The encrypted challenge.
        response: Secret,
    },
    /// Key slot, `7C { 82 00, 81 input }`: RSA sign/decrypt or ECDSA.
    Sign {
        /// Modulus-sized block (RSA) or hash (ECDSA). May be a secret (ciphertext of a key).
        input: Secret,
    },
    /// Key slot, `7C { 82 00, 85 point }`: ECDH.
    KeyAgreement {
        /// The peer's uncompressed point.
        point: Vec<u8>,
    },
}

pub(super) fn parse(cmd: &ParsedCommand) -> Result<Command, StatusWord> {
    let key = KeyRef(cmd.p2);
    if key != KeyRef::MANAGEMENT && !key.is_key_slot() {
        return Err(StatusWord::REFERENCE_NOT_FOUND);
    }
    let template = tlv::parse_single(need_data(cmd)?, 0x7C).map_err(bad_data)?;
    let parts = elements(template, &[0x80, 0x81, 0x82, 0x85])?;
    let get = |tag| find(&parts, tag);
    let request = if key == KeyRef::MANAGEMENT {
        match (get(0x80), get(0x81), get(0x82), get(0x85)) {
            (Some([]), None, None, None) => AuthRequest::WitnessRequest,
            (Some(w), Some(c), None | Some([]), None) if !w.is_empty() && !c.is_empty() => {
                AuthRequest::MutualResponse {
                    witness: Secret::new(w),
                    challenge: c.to_vec(),
                }
            }
            (None, Some([]), None, None) => AuthRequest::ChallengeRequest,
            (None, None, Some(r), None) if !r.is_empty() => AuthRequest::ExternalResponse {
                response: Secret::new(r),
            },
            _ => return Err(StatusWord::INCORRECT_DATA),
        }
    } else {
        match (get(0x80), get(0x81), get(0x82), get(0x85)) {
            (None, Some(input), Some([]), None) if !input.is_empty() => AuthRequest::Sign {
                input: Secret::from_zeroizing(Zeroizing::new(input.to_vec())),
            },
            (None, None, Some([]), Some(point)) if !point.is_empty() => AuthRequest::KeyAgreement {
                point: point.to_vec(),
            },
            _ => return Err(StatusWord::INCORRECT_DATA),
        }
    };
    Ok(Command::GeneralAuthenticate {
        algorithm: AlgorithmId(cmd.p1),
        key,
        request,
    })
}
