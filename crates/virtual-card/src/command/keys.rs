//! Parsing of the key-management commands: GENERATE, and the Yubico IMPORT and MOVE/DELETE.

use tessera_piv::apdu::ParsedCommand;
use tessera_piv::{AlgorithmId, KeyRef, StatusWord, tlv};

use super::{Command, bad_data, elements, find, is_user_slot, need_data, no_data, policies};
use crate::keys::is_supported;
use crate::secret::Secret;

/// Private key material carried by IMPORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportMaterial {
    /// RSA CRT components p, q, dp, dq, qinv (tags 01–05).
    Rsa {
        /// The five components in tag order.
        parts: [Secret; 5],
    },
    /// EC private scalar (tag 06).
    Ec {
        /// The scalar.
        scalar: Secret,
    },
}

/// The key named by P2, when `accepted` takes it; any other reference is not found (6A88).
fn slot_in_p2(cmd: &ParsedCommand, accepted: impl Fn(KeyRef) -> bool) -> Result<KeyRef, StatusWord> {
    let slot = KeyRef(cmd.p2);
    if accepted(slot) {
        Ok(slot)
    } else {
        Err(StatusWord::REFERENCE_NOT_FOUND)
    }
}

pub(super) fn parse_generate(cmd: &ParsedCommand) -> Result<Command, StatusWord> {
    if cmd.p1 != 0x00 {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let slot = slot_in_p2(cmd, is_user_slot)?;
    let template = tlv::parse_single(need_data(cmd)?, 0xAC).map_err(bad_data)?;
    let parts = elements(template, &[0x80, 0xAA, 0xAB])?;
    let algorithm = match find(&parts, 0x80) {
        Some([alg]) if is_supported(AlgorithmId(*alg)) => AlgorithmId(*alg),
        _ => return Err(StatusWord::INCORRECT_DATA),
    };
    let (pin_policy, touch_policy) = policies(find(&parts, 0xAA), find(&parts, 0xAB))?;
    Ok(Command::Generate {
        slot,
        algorithm,
        pin_policy,
        touch_policy,
    })
}

pub(super) fn parse_import(cmd: &ParsedCommand) -> Result<Command, StatusWord> {
    let algorithm = AlgorithmId(cmd.p1);
    if !is_supported(algorithm) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let slot = slot_in_p2(cmd, KeyRef::is_key_slot)?;
    let data = need_data(cmd)?;
    let (material, pin, touch) = if algorithm.is_rsa() {
        let parts = elements(data, &[0x01, 0x02, 0x03, 0x04, 0x05, 0xAA, 0xAB])?;
        let get = |tag| {
            find(&parts, tag)
                .map(Secret::new)
                .ok_or(StatusWord::INCORRECT_DATA)
        };
        let rsa = ImportMaterial::Rsa {
            parts: [get(0x01)?, get(0x02)?, get(0x03)?, get(0x04)?, get(0x05)?],
        };
        (rsa, find(&parts, 0xAA), find(&parts, 0xAB))
    } else {
        let parts = elements(data, &[0x06, 0xAA, 0xAB])?;
        let scalar = find(&parts, 0x06)
            .map(Secret::new)
            .ok_or(StatusWord::INCORRECT_DATA)?;
        (
            ImportMaterial::Ec { scalar },
            find(&parts, 0xAA),
            find(&parts, 0xAB),
        )
    };
    let (pin_policy, touch_policy) = policies(pin, touch)?;
    Ok(Command::Import {
        slot,
        algorithm,
        material,
        pin_policy,
        touch_policy,
    })
}

pub(super) fn parse_move(cmd: &ParsedCommand) -> Result<Command, StatusWord> {
    let from = slot_in_p2(cmd, is_user_slot)?;
    let to = match cmd.p1 {
        0xFF => None,
        p1 if is_user_slot(KeyRef(p1)) => Some(KeyRef(p1)),
        _ => return Err(StatusWord::REFERENCE_NOT_FOUND),
    };
    if to == Some(from) {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    no_data(cmd)?;
    Ok(Command::MoveKey { from, to })
}
