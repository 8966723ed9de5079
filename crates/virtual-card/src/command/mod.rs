//! Parse, then execute: the bytes of a whole command (chaining already undone by the framing) become a
//! [`Command`] whose types hold only what the specification allows. Every parse failure is a precise
//! status word:
//!
//! * wrong fixed P1/P2 values → `6A86`; an unknown key or PIN reference in P1/P2 → `6A88`;
//! * data where none is allowed, or none where some is required → `6700`;
//! * malformed data (TLV structure, unknown tags, PIN blocks of the wrong length, unsupported algorithm
//!   in the data) → `6A80`;
//! * an unknown instruction → `6D00`.

mod auth;
mod keys;

use tessera_piv::apdu::ParsedCommand;
use tessera_piv::commands::{PIV_AID_FULL, ins};
use tessera_piv::{AlgorithmId, KeyRef, ManagementAlgorithm, PinPolicy, StatusWord, TouchPolicy, tlv};

use crate::secret::Secret;
use crate::state::ObjectValue;

pub use auth::AuthRequest;
pub use keys::ImportMaterial;

/// The Yubico management applet (selected by libykpiv to log out the PIV application).
pub const YUBICO_MANAGEMENT_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17];

/// What SELECT names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectTarget {
    /// The PIV application (any prefix of the full AID of at least the 5-byte RID).
    Piv,
    /// The Yubico management applet.
    YubicoManagement,
    /// Anything else (`6A82`).
    Unknown,
}

/// VERIFY variants (SP 800-73-4 Part 2 §3.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// No data: report the verification status without spending a try.
    Status,
    /// Check this 8-byte padded PIN.
    Pin(Secret),
    /// P1 = FF: reset the verification status.
    Logout,
}

/// A reference CHANGE REFERENCE DATA can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinReference {
    /// The PIV PIN (80).
    Pin,
    /// The PUK (81).
    Puk,
}

/// A parsed PIV command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// SELECT (`A4`).
    Select(SelectTarget),
    /// GET DATA (`CB`) of an object tag.
    GetData {
        /// Object tag.
        tag: u32,
    },
    /// PUT DATA (`DB`); an empty value deletes the object.
    PutData {
        /// Object tag.
        tag: u32,
        /// The object's value (inside `53`, `7E` or `7F61`); zeroized and redacted, since 5FC109 holds a
        /// management key.
        value: ObjectValue,
    },
    /// VERIFY (`20`).
    Verify(Verify),
    /// CHANGE REFERENCE DATA (`24`).
    ChangeReference {
        /// PIN or PUK.
        reference: PinReference,
        /// Current value, 8 bytes.
        current: Secret,
        /// New value, 8 bytes.
        new: Secret,
    },
    /// RESET RETRY COUNTER (`2C`).
    ResetRetryCounter {
        /// The PUK, 8 bytes.
        puk: Secret,
        /// The new PIN, 8 bytes.
        new_pin: Secret,
    },
    /// GENERAL AUTHENTICATE (`87`).
    GeneralAuthenticate {
        /// P1.
        algorithm: AlgorithmId,
        /// P2: 9B or a key slot.
        key: KeyRef,
        /// What the template asks for.
        request: AuthRequest,
    },
    /// GENERATE ASYMMETRIC KEY PAIR (`47`).
    Generate {
        /// Key slot.
        slot: KeyRef,
        /// Algorithm (one the card supports).
        algorithm: AlgorithmId,
        /// Requested PIN policy (may be Default).
        pin_policy: PinPolicy,
        /// Requested touch policy (may be Default).
        touch_policy: TouchPolicy,
    },
    /// Yubico IMPORT ASYMMETRIC KEY (`FE`).
    Import {
        /// Key slot.
        slot: KeyRef,
        /// Algorithm (one the card supports).
        algorithm: AlgorithmId,
        /// The private key.
        material: ImportMaterial,
        /// Requested PIN policy.
        pin_policy: PinPolicy,
        /// Requested touch policy.
        touch_policy: TouchPolicy,
    },
    /// Yubico GET VERSION (`FD`).
    GetVersion,
    /// Yubico GET SERIAL (`F8`).
    GetSerial,
    /// Yubico GET METADATA (`F7`) for 80, 81, 9B or a key slot.
    GetMetadata {
        /// The reference.
        reference: KeyRef,
    },
    /// Yubico SET MANAGEMENT KEY (`FF`).
    SetManagementKey {
        /// New algorithm.
        algorithm: ManagementAlgorithm,
        /// New key.
        key: Secret,
        /// Touch policy from P2 (FF never, FE always, FD cached).
        touch: TouchPolicy,
    },
    /// Yubico ATTEST (`F9`).
    Attest {
        /// The attested slot.
        slot: KeyRef,
    },
    /// Yubico MOVE KEY / DELETE KEY (`F6`).
    MoveKey {
        /// Source slot.
        from: KeyRef,
        /// Destination slot, `None` = delete.
        to: Option<KeyRef>,
    },
    /// Yubico SET PIN RETRIES (`FA`).
    SetPinRetries {
        /// PIN tries.
        pin_tries: u8,
        /// PUK tries.
        puk_tries: u8,
    },
    /// Yubico RESET (`FB`).
    Reset,
}

/// Result of parsing or executing: data for `9000`, or a status word.
pub type Reply = Result<Vec<u8>, StatusWord>;

/// True for the object tags the card stores (as a YubiKey: 5F0000–5FFFFF, 7E, 7F61).
pub fn is_object_tag(tag: u32) -> bool {
    matches!(tag, 0x7E | 0x7F61 | 0x5F_0000..=0x5F_FFFF)
}

/// The tag that wraps an object's value in GET/PUT DATA: `53`, except for the discovery object and the
/// biometric group template, which travel as themselves (SP 800-73-4 Part 1 Appendix A).
pub fn wrapper_tag(tag: u32) -> u32 {
    match tag {
        0x7E | 0x7F61 => tag,
        _ => 0x53,
    }
}

/// True for slots that hold user keys (9A, 9C, 9D, 9E, 82–95), i.e. key slots other than F9.
pub fn is_user_slot(key: KeyRef) -> bool {
    key.is_key_slot() && key != KeyRef::ATTESTATION
}

fn no_data(cmd: &ParsedCommand) -> Result<(), StatusWord> {
    if cmd.data.is_empty() {
        Ok(())
    } else {
        Err(StatusWord::WRONG_LENGTH)
    }
}

fn need_data(cmd: &ParsedCommand) -> Result<&[u8], StatusWord> {
    if cmd.data.is_empty() {
        Err(StatusWord::WRONG_LENGTH)
    } else {
        Ok(&cmd.data)
    }
}

fn fixed_p1p2(cmd: &ParsedCommand, p1: u8, p2: u8) -> Result<(), StatusWord> {
    if cmd.p1 == p1 && cmd.p2 == p2 {
        Ok(())
    } else {
        Err(StatusWord::INCORRECT_P1P2)
    }
}

fn bad_data<T>(_: T) -> StatusWord {
    StatusWord::INCORRECT_DATA
}

/// Reads the object tag from `5C L tag` at the front of `data`; returns it and the bytes after it.
fn object_tag(data: &[u8]) -> Result<(u32, &[u8]), StatusWord> {
    let (element, rest) = tlv::read(data).map_err(bad_data)?;
    if element.tag != 0x5C || element.value.is_empty() || element.value.len() > 3 {
        return Err(StatusWord::INCORRECT_DATA);
    }
    let tag = element
        .value
        .iter()
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
    if !is_object_tag(tag) || tlv::tag_len(tag) != element.value.len() {
        return Err(StatusWord::INCORRECT_DATA);
    }
    Ok((tag, rest))
}

/// Splits 16 bytes of PIN data into two 8-byte blocks.
fn two_blocks(cmd: &ParsedCommand) -> Result<(Secret, Secret), StatusWord> {
    let data = need_data(cmd)?;
    match data.split_at_checked(8) {
        Some((a, b)) if b.len() == 8 => Ok((Secret::new(a), Secret::new(b))),
        _ => Err(StatusWord::INCORRECT_DATA),
    }
}

impl Command {
    /// Parses a whole command APDU addressed to the PIV application.
    pub fn parse(cmd: &ParsedCommand) -> Result<Self, StatusWord> {
        match cmd.ins {
            ins::SELECT => parse_select(cmd),
            ins::GET_DATA => {
                fixed_p1p2(cmd, 0x3F, 0xFF)?;
                let (tag, rest) = object_tag(need_data(cmd)?)?;
                if !rest.is_empty() {
                    return Err(StatusWord::INCORRECT_DATA);
                }
                Ok(Self::GetData { tag })
            }
            ins::PUT_DATA => {
                fixed_p1p2(cmd, 0x3F, 0xFF)?;
                let (tag, rest) = object_tag(need_data(cmd)?)?;
                let wrapper = wrapper_tag(tag);
                let value = tlv::parse_single(rest, wrapper).map_err(bad_data)?;
                Ok(Self::PutData {
                    tag,
                    value: ObjectValue::new(value.to_vec()),
                })
            }
            ins::VERIFY => parse_verify(cmd),
            ins::CHANGE_REFERENCE_DATA => {
                if cmd.p1 != 0x00 {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                let reference = match KeyRef(cmd.p2) {
                    KeyRef::PIN => PinReference::Pin,
                    KeyRef::PUK => PinReference::Puk,
                    _ => return Err(StatusWord::REFERENCE_NOT_FOUND),
                };
                let (current, new) = two_blocks(cmd)?;
                Ok(Self::ChangeReference {
                    reference,
                    current,
                    new,
                })
            }
            ins::RESET_RETRY_COUNTER => {
                if cmd.p1 != 0x00 {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                if KeyRef(cmd.p2) != KeyRef::PIN {
                    return Err(StatusWord::REFERENCE_NOT_FOUND);
                }
                let (puk, new_pin) = two_blocks(cmd)?;
                Ok(Self::ResetRetryCounter { puk, new_pin })
            }
            ins::GENERAL_AUTHENTICATE => auth::parse(cmd),
            ins::GENERATE_ASYMMETRIC_KEY_PAIR => keys::parse_generate(cmd),
            ins::IMPORT_ASYMMETRIC_KEY => keys::parse_import(cmd),
            ins::GET_VERSION => {
                fixed_p1p2(cmd, 0, 0)?;
                no_data(cmd)?;
                Ok(Self::GetVersion)
            }
            ins::GET_SERIAL => {
                fixed_p1p2(cmd, 0, 0)?;
                no_data(cmd)?;
                Ok(Self::GetSerial)
            }
            ins::GET_METADATA => {
                if cmd.p1 != 0x00 {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                let reference = KeyRef(cmd.p2);
                if !(reference.is_key_slot()
                    || matches!(reference, KeyRef::PIN | KeyRef::PUK | KeyRef::MANAGEMENT))
                {
                    return Err(StatusWord::REFERENCE_NOT_FOUND);
                }
                no_data(cmd)?;
                Ok(Self::GetMetadata { reference })
            }
            ins::SET_MANAGEMENT_KEY => parse_set_management_key(cmd),
            ins::ATTEST => {
                if cmd.p2 != 0x00 {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                let slot = KeyRef(cmd.p1);
                if !is_user_slot(slot) {
                    return Err(StatusWord::REFERENCE_NOT_FOUND);
                }
                no_data(cmd)?;
                Ok(Self::Attest { slot })
            }
            ins::MOVE_KEY => keys::parse_move(cmd),
            ins::SET_PIN_RETRIES => {
                if cmd.p1 == 0 || cmd.p2 == 0 {
                    return Err(StatusWord::INCORRECT_P1P2);
                }
                no_data(cmd)?;
                Ok(Self::SetPinRetries {
                    pin_tries: cmd.p1,
                    puk_tries: cmd.p2,
                })
            }
            ins::RESET => {
                fixed_p1p2(cmd, 0, 0)?;
                no_data(cmd)?;
                Ok(Self::Reset)
            }
            _ => Err(StatusWord::INS_NOT_SUPPORTED),
        }
    }
}

fn parse_select(cmd: &ParsedCommand) -> Result<Command, StatusWord> {
    fixed_p1p2(cmd, 0x04, 0x00)?;
    let aid = need_data(cmd)?;
    let target = if aid.len() >= 5 && PIV_AID_FULL.starts_with(aid) {
        SelectTarget::Piv
    } else if aid == YUBICO_MANAGEMENT_AID {
        SelectTarget::YubicoManagement
    } else {
        SelectTarget::Unknown
    };
    Ok(Command::Select(target))
}

fn parse_verify(cmd: &ParsedCommand) -> Result<Command, StatusWord> {
    let logout = match cmd.p1 {
        0x00 => false,
        0xFF => true,
        _ => return Err(StatusWord::INCORRECT_P1P2),
    };
    if KeyRef(cmd.p2) != KeyRef::PIN {
        return Err(StatusWord::REFERENCE_NOT_FOUND);
    }
    if logout {
        no_data(cmd)?;
        return Ok(Command::Verify(Verify::Logout));
    }
    match cmd.data.len() {
        0 => Ok(Command::Verify(Verify::Status)),
        8 => Ok(Command::Verify(Verify::Pin(Secret::new(&cmd.data)))),
        _ => Err(StatusWord::INCORRECT_DATA),
    }
}

fn parse_set_management_key(cmd: &ParsedCommand) -> Result<Command, StatusWord> {
    if cmd.p1 != 0xFF {
        return Err(StatusWord::INCORRECT_P1P2);
    }
    let touch = match cmd.p2 {
        0xFF => TouchPolicy::Never,
        0xFE => TouchPolicy::Always,
        0xFD => TouchPolicy::Cached,
        _ => return Err(StatusWord::INCORRECT_P1P2),
    };
    let data = need_data(cmd)?;
    let Some((&[alg, reference, len], key)) = data.split_first_chunk::<3>() else {
        return Err(StatusWord::INCORRECT_DATA);
    };
    let algorithm = AlgorithmId(alg).management().ok_or(StatusWord::INCORRECT_DATA)?;
    if KeyRef(reference) != KeyRef::MANAGEMENT
        || usize::from(len) != key.len()
        || key.len() != algorithm.key_len()
    {
        return Err(StatusWord::INCORRECT_DATA);
    }
    Ok(Command::SetManagementKey {
        algorithm,
        key: Secret::new(key),
        touch,
    })
}

/// Parses the policy tags `AA` / `AB` (values already extracted).
fn policies(pin: Option<&[u8]>, touch: Option<&[u8]>) -> Result<(PinPolicy, TouchPolicy), StatusWord> {
    let pin = match pin {
        None => PinPolicy::Default,
        Some([b]) => match PinPolicy::from_byte(*b) {
            Some(p @ (PinPolicy::Default | PinPolicy::Never | PinPolicy::Once | PinPolicy::Always)) => p,
            _ => return Err(StatusWord::INCORRECT_DATA),
        },
        Some(_) => return Err(StatusWord::INCORRECT_DATA),
    };
    let touch = match touch {
        None => TouchPolicy::Default,
        Some([b]) => TouchPolicy::from_byte(*b).ok_or(StatusWord::INCORRECT_DATA)?,
        Some(_) => return Err(StatusWord::INCORRECT_DATA),
    };
    Ok((pin, touch))
}

/// Collects the elements of a TLV list into a fixed table by tag, refusing duplicates and tags outside
/// `allowed`.
fn elements<'a>(data: &'a [u8], allowed: &[u32]) -> Result<Vec<(u32, &'a [u8])>, StatusWord> {
    let list = tlv::parse_all(data).map_err(bad_data)?;
    let mut out: Vec<(u32, &[u8])> = Vec::with_capacity(list.len());
    for element in list {
        if !allowed.contains(&element.tag) || out.iter().any(|(t, _)| *t == element.tag) {
            return Err(StatusWord::INCORRECT_DATA);
        }
        out.push((element.tag, element.value));
    }
    Ok(out)
}

fn find<'a>(elements: &[(u32, &'a [u8])], tag: u32) -> Option<&'a [u8]> {
    elements.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests;
