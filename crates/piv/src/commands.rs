//! One constructor per card command, titled with its SP 800-73-4 Part 2 section (or Yubico extension),
//! plus the parsers for the responses that have structure. Pure values: nothing here talks to a card.

use zeroize::Zeroizing;

use crate::algorithm::AlgorithmId;
use crate::apdu::Command;
use crate::error::{PivError, Result};
use crate::key_ref::KeyRef;
use crate::pin::PaddedPin;
use crate::policy::{PinPolicy, TouchPolicy};
use crate::public_key::PublicKey;
use crate::tlv;

/// Instruction bytes.
pub mod ins {
    /// SELECT.
    pub const SELECT: u8 = 0xA4;
    /// GET DATA.
    pub const GET_DATA: u8 = 0xCB;
    /// PUT DATA.
    pub const PUT_DATA: u8 = 0xDB;
    /// VERIFY.
    pub const VERIFY: u8 = 0x20;
    /// CHANGE REFERENCE DATA.
    pub const CHANGE_REFERENCE_DATA: u8 = 0x24;
    /// RESET RETRY COUNTER.
    pub const RESET_RETRY_COUNTER: u8 = 0x2C;
    /// GENERAL AUTHENTICATE.
    pub const GENERAL_AUTHENTICATE: u8 = 0x87;
    /// GENERATE ASYMMETRIC KEY PAIR.
    pub const GENERATE_ASYMMETRIC_KEY_PAIR: u8 = 0x47;
    /// GET RESPONSE.
    pub const GET_RESPONSE: u8 = 0xC0;
    /// Yubico: GET VERSION.
    pub const GET_VERSION: u8 = 0xFD;
    /// Yubico: GET SERIAL.
    pub const GET_SERIAL: u8 = 0xF8;
    /// Yubico: GET METADATA.
    pub const GET_METADATA: u8 = 0xF7;
    /// Yubico: SET MANAGEMENT KEY.
    pub const SET_MANAGEMENT_KEY: u8 = 0xFF;
    /// Yubico: IMPORT ASYMMETRIC KEY.
    pub const IMPORT_ASYMMETRIC_KEY: u8 = 0xFE;
    /// Yubico: ATTEST.
    pub const ATTEST: u8 = 0xF9;
    /// Yubico: MOVE or DELETE KEY.
    pub const MOVE_KEY: u8 = 0xF6;
    /// Yubico: SET PIN RETRIES.
    pub const SET_PIN_RETRIES: u8 = 0xFA;
    /// Yubico: RESET.
    pub const RESET: u8 = 0xFB;
}

/// The PIV AID without version (9 bytes): the form every PIV card accepts.
pub const PIV_AID: [u8; 9] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00];
/// The full PIV AID with version 01 00 (11 bytes).
pub const PIV_AID_FULL: [u8; 11] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00];
/// The NIST RID alone (5 bytes), which libykpiv sends and YubiKeys accept.
pub const PIV_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];

/// Tags of the dynamic authentication template (SP 800-73-4 Part 2 Table 7).
pub mod dat {
    /// The template itself.
    pub const TEMPLATE: u32 = 0x7C;
    /// Witness.
    pub const WITNESS: u32 = 0x80;
    /// Challenge.
    pub const CHALLENGE: u32 = 0x81;
    /// Response.
    pub const RESPONSE: u32 = 0x82;
    /// Exponentiation (ECDH peer point).
    pub const EXPONENTIATION: u32 = 0x85;
}

/// SELECT the PIV application — Part 2 §3.1.1. `aid` is normally [`PIV_AID`].
pub fn select(aid: &[u8]) -> Command {
    Command::new(0x00, ins::SELECT, 0x04, 0x00)
        .with_data(aid.to_vec())
        .with_le(256)
}

/// GET DATA — Part 2 §3.1.2. `tag` is 1–3 bytes (`7E`, `7F61`, `5FC1xx`, `5FFFxx`).
pub fn get_data(tag: u32) -> Result<Command> {
    let data = tlv::encode(0x5C, &tag_bytes(tag)?)?;
    Ok(Command::new(0x00, ins::GET_DATA, 0x3F, 0xFF)
        .with_data(data)
        .with_le(256))
}

/// PUT DATA — Part 2 §3.2.1. `object` is the complete object encoding (`53 L …`, or `7E L …` for the
/// discovery object, `7F61 L …` for the BIT group template). Marked secret for the PIN-protected
/// object 5FC109, which holds a management key on YubiKeys.
pub fn put_data(tag: u32, object: &[u8]) -> Result<Command> {
    let mut data = tlv::encode(0x5C, &tag_bytes(tag)?)?;
    data.extend_from_slice(object);
    let cmd = Command::new(0x00, ins::PUT_DATA, 0x3F, 0xFF);
    Ok(if tag == crate::objects::tags::PRINTED_INFORMATION {
        cmd.with_secret_data(data)
    } else {
        cmd.with_data(data)
    })
}

fn tag_bytes(tag: u32) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(3);
    tlv::write_tag(&mut out, tag)?;
    Ok(out)
}

/// VERIFY — Part 2 §3.2.2. With `pin = None` it asks for the verification status without spending a
/// try (`9000` if verified, else `63Cx`).
pub fn verify(key_ref: KeyRef, pin: Option<&PaddedPin>) -> Command {
    let cmd = Command::new(0x00, ins::VERIFY, 0x00, key_ref.0);
    match pin {
        Some(pin) => cmd.with_secret_data(pin.as_bytes().to_vec()),
        None => cmd,
    }
}

/// VERIFY with P1 = `FF`: resets the security status of `key_ref` (logout) — Part 2 §3.2.2.
pub fn logout(key_ref: KeyRef) -> Command {
    Command::new(0x00, ins::VERIFY, 0xFF, key_ref.0)
}

/// CHANGE REFERENCE DATA — Part 2 §3.2.3, for the PIN (80), global PIN (00) or PUK (81).
pub fn change_reference_data(key_ref: KeyRef, old: &PaddedPin, new: &PaddedPin) -> Command {
    let mut data = Vec::with_capacity(16);
    data.extend_from_slice(old.as_bytes());
    data.extend_from_slice(new.as_bytes());
    Command::new(0x00, ins::CHANGE_REFERENCE_DATA, 0x00, key_ref.0).with_secret_data(data)
}

/// RESET RETRY COUNTER — Part 2 §3.2.4: unblocks the PIN with the PUK and sets a new PIN.
pub fn reset_retry_counter(puk: &PaddedPin, new_pin: &PaddedPin) -> Command {
    let mut data = Vec::with_capacity(16);
    data.extend_from_slice(puk.as_bytes());
    data.extend_from_slice(new_pin.as_bytes());
    Command::new(0x00, ins::RESET_RETRY_COUNTER, 0x00, KeyRef::PIN.0).with_secret_data(data)
}

/// GENERAL AUTHENTICATE — Part 2 §3.2.4, with a prepared dynamic authentication template body (the
/// elements inside `7C`).
pub fn general_authenticate(
    algorithm: AlgorithmId,
    key_ref: KeyRef,
    template_body: &[u8],
) -> Result<Command> {
    let data = tlv::encode(dat::TEMPLATE, template_body)?;
    let cmd = Command::new(0x00, ins::GENERAL_AUTHENTICATE, algorithm.0, key_ref.0).with_le(256);
    // Management-key exchanges carry values derived from the key: keep them out of traces.
    Ok(if key_ref == KeyRef::MANAGEMENT {
        cmd.with_secret_data(data)
    } else {
        cmd.with_data(data)
    })
}

/// GENERAL AUTHENTICATE for a private-key operation: RSA sign/decrypt (`input` = modulus-sized block)
/// or ECDSA (`input` = the hash, truncated by the caller to the field size): `7C { 82 00, 81 input }`.
pub fn private_key_operation(algorithm: AlgorithmId, slot: KeyRef, input: &[u8]) -> Result<Command> {
    let body = tlv::Builder::new()
        .tlv(dat::RESPONSE, &[])
        .tlv(dat::CHALLENGE, input)
        .finish()?;
    general_authenticate(algorithm, slot, &body)
}

/// GENERAL AUTHENTICATE for key agreement: `7C { 82 00, 85 peer-point }`.
pub fn key_agreement(algorithm: AlgorithmId, slot: KeyRef, peer_point: &[u8]) -> Result<Command> {
    let body = tlv::Builder::new()
        .tlv(dat::RESPONSE, &[])
        .tlv(dat::EXPONENTIATION, peer_point)
        .finish()?;
    general_authenticate(algorithm, slot, &body)
}

/// Management-key mutual authentication, step 1: ask for a witness, `7C { 80 00 }`.
pub fn mutual_auth_witness_request(algorithm: AlgorithmId) -> Result<Command> {
    general_authenticate(algorithm, KeyRef::MANAGEMENT, &[dat::WITNESS as u8, 0x00])
}

/// Management-key mutual authentication, step 2: `7C { 80 decrypted-witness, 81 host-challenge }`.
pub fn mutual_auth_response(
    algorithm: AlgorithmId,
    decrypted_witness: &[u8],
    challenge: &[u8],
) -> Result<Command> {
    let body = tlv::Builder::new()
        .tlv(dat::WITNESS, decrypted_witness)
        .tlv(dat::CHALLENGE, challenge)
        .finish()?;
    general_authenticate(algorithm, KeyRef::MANAGEMENT, &body)
}

/// Management-key external (one-way) authentication, step 1: ask for a challenge, `7C { 81 00 }`.
pub fn external_auth_challenge_request(algorithm: AlgorithmId) -> Result<Command> {
    general_authenticate(algorithm, KeyRef::MANAGEMENT, &[dat::CHALLENGE as u8, 0x00])
}

/// Management-key external authentication, step 2: `7C { 82 encrypted-challenge }`.
pub fn external_auth_response(algorithm: AlgorithmId, response: &[u8]) -> Result<Command> {
    let body = tlv::encode(dat::RESPONSE, response)?;
    general_authenticate(algorithm, KeyRef::MANAGEMENT, &body)
}

/// Extracts one element from a GENERAL AUTHENTICATE response `7C { tag value }`.
pub fn parse_authenticate_response(data: &[u8], tag: u32) -> Result<Zeroizing<Vec<u8>>> {
    const CMD: &str = "GENERAL AUTHENTICATE";
    let body = tlv::parse_single(data, dat::TEMPLATE).map_err(|e| PivError::malformed(CMD, e.to_string()))?;
    let elements = tlv::parse_all(body).map_err(|e| PivError::malformed(CMD, e.to_string()))?;
    let value =
        tlv::find(&elements, tag).ok_or_else(|| PivError::malformed(CMD, format!("no tag {tag:02X}")))?;
    Ok(Zeroizing::new(value.to_vec()))
}

/// GENERATE ASYMMETRIC KEY PAIR — Part 2 §3.3.2, with the YubiKey policy tags `AA`/`AB` when not default.
pub fn generate_key_pair(
    slot: KeyRef,
    algorithm: AlgorithmId,
    pin: PinPolicy,
    touch: TouchPolicy,
) -> Result<Command> {
    let mut body = tlv::Builder::new().tlv(0x80, &[algorithm.0]);
    if pin != PinPolicy::Default {
        body = body.tlv(0xAA, &[pin.to_byte()]);
    }
    if touch != TouchPolicy::Default {
        body = body.tlv(0xAB, &[touch.to_byte()]);
    }
    let data = tlv::encode(0xAC, &body.finish()?)?;
    Ok(
        Command::new(0x00, ins::GENERATE_ASYMMETRIC_KEY_PAIR, 0x00, slot.0)
            .with_data(data)
            .with_le(256),
    )
}

/// GET RESPONSE — ISO 7816-4 §7.6.1.
pub fn get_response(le: usize) -> Command {
    Command::new(0x00, ins::GET_RESPONSE, 0x00, 0x00).with_le(le)
}

/// Yubico extension: GET VERSION (`00 FD 00 00`).
pub fn get_version() -> Command {
    Command::new(0x00, ins::GET_VERSION, 0x00, 0x00).with_le(256)
}

/// Yubico extension: GET SERIAL (`00 F8 00 00`, YubiKey ≥ 5).
pub fn get_serial() -> Command {
    Command::new(0x00, ins::GET_SERIAL, 0x00, 0x00).with_le(256)
}

/// Yubico extension: GET METADATA (`00 F7 00 <slot>`, YubiKey ≥ 5.3) for a key slot, 80, 81 or 9B.
pub fn get_metadata(key_ref: KeyRef) -> Command {
    Command::new(0x00, ins::GET_METADATA, 0x00, key_ref.0).with_le(256)
}

/// Yubico extension: SET MANAGEMENT KEY (`00 FF FF <FF|FE> <alg> 9B <len> <key>`); `touch` requires a
/// touch for every use of the key.
pub fn set_management_key(key: &crate::mgm::ManagementKey, touch: bool) -> Command {
    let mut data = Vec::with_capacity(3 + key.as_bytes().len());
    data.push(key.algorithm().id().0);
    data.push(KeyRef::MANAGEMENT.0);
    data.push(key.as_bytes().len() as u8);
    data.extend_from_slice(key.as_bytes());
    Command::new(
        0x00,
        ins::SET_MANAGEMENT_KEY,
        0xFF,
        if touch { 0xFE } else { 0xFF },
    )
    .with_secret_data(data)
}

/// Private key material for IMPORT ASYMMETRIC KEY, borrowed: the caller owns the bytes and wipes them.
/// [`import_key`] keeps its copies in zeroizing buffers, and the command it returns zeroizes its data.
pub enum ImportKey<'a> {
    /// RSA CRT components, big-endian; each is left-padded to half the modulus size.
    Rsa {
        /// Prime p.
        p: &'a [u8],
        /// Prime q.
        q: &'a [u8],
        /// d mod (p-1).
        dp: &'a [u8],
        /// d mod (q-1).
        dq: &'a [u8],
        /// q⁻¹ mod p.
        qinv: &'a [u8],
    },
    /// EC private scalar, big-endian, field-size bytes.
    Ecc {
        /// The scalar.
        scalar: &'a [u8],
    },
}

/// Yubico extension: IMPORT ASYMMETRIC KEY (`00 FE <alg> <slot> {01 p 02 q 03 dp 04 dq 05 qinv | 06 s}
/// [AA pin] [AB touch]`). RSA elements are left-padded to half the modulus length.
pub fn import_key(
    slot: KeyRef,
    algorithm: AlgorithmId,
    key: &ImportKey<'_>,
    pin: PinPolicy,
    touch: TouchPolicy,
) -> Result<Command> {
    // The body holds the private key: built in one buffer of its final size (no reallocation leaves a
    // copy behind), which the command then owns and zeroizes.
    let policies = 2 * tlv::encoded_len(0xAA, 1);
    let mut body = match key {
        ImportKey::Rsa { p, q, dp, dq, qinv } => {
            if !algorithm.is_rsa() {
                return Err(PivError::InvalidArgument(
                    "RSA key material for a non-RSA algorithm",
                ));
            }
            let half = algorithm.operation_len().unwrap_or(0) / 2;
            let mut body = tlv::Builder::with_capacity(5 * tlv::encoded_len(0x01, half) + policies);
            for (tag, v) in [(0x01, p), (0x02, q), (0x03, dp), (0x04, dq), (0x05, qinv)] {
                body = body.tlv(tag, &left_pad(v, half)?);
            }
            body
        }
        ImportKey::Ecc { scalar } => {
            let Some(len) = algorithm.operation_len().filter(|_| algorithm.is_ecc()) else {
                return Err(PivError::InvalidArgument(
                    "EC key material for a non-EC algorithm",
                ));
            };
            tlv::Builder::with_capacity(tlv::encoded_len(0x06, len) + policies)
                .tlv(0x06, &left_pad(scalar, len)?)
        }
    };
    if pin != PinPolicy::Default {
        body = body.tlv(0xAA, &[pin.to_byte()]);
    }
    if touch != TouchPolicy::Default {
        body = body.tlv(0xAB, &[touch.to_byte()]);
    }
    Ok(Command::new(0x00, ins::IMPORT_ASYMMETRIC_KEY, algorithm.0, slot.0).with_secret_data(body.finish()?))
}

/// `v` as an unsigned big-endian integer of exactly `len` bytes.
fn left_pad(v: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let v = crate::public_key::strip_leading_zeros(v);
    let Some(pad) = len.checked_sub(v.len()) else {
        return Err(PivError::InvalidArgument("key component longer than its field"));
    };
    let mut out = Zeroizing::new(vec![0u8; len]);
    if let Some(field) = out.get_mut(pad..) {
        field.copy_from_slice(v);
    }
    Ok(out)
}

/// Yubico extension: ATTEST (`00 F9 <slot> 00`): an X.509 certificate for a key generated on the card.
pub fn attest(slot: KeyRef) -> Command {
    Command::new(0x00, ins::ATTEST, slot.0, 0x00).with_le(256)
}

/// Yubico extension: MOVE KEY (`00 F6 <to> <from>`, YubiKey ≥ 5.7).
pub fn move_key(from: KeyRef, to: KeyRef) -> Command {
    Command::new(0x00, ins::MOVE_KEY, to.0, from.0)
}

/// Yubico extension: DELETE KEY (`00 F6 FF <slot>`, YubiKey ≥ 5.7).
pub fn delete_key(slot: KeyRef) -> Command {
    Command::new(0x00, ins::MOVE_KEY, 0xFF, slot.0)
}

/// Yubico extension: SET PIN RETRIES (`00 FA <pin-tries> <puk-tries>`); needs the management key and
/// the PIN, and resets PIN and PUK to their defaults.
pub fn set_pin_retries(pin_tries: u8, puk_tries: u8) -> Command {
    Command::new(0x00, ins::SET_PIN_RETRIES, pin_tries, puk_tries)
}

/// Yubico extension: RESET (`00 FB 00 00`); only accepted when PIN and PUK are both blocked.
pub fn reset() -> Command {
    Command::new(0x00, ins::RESET, 0x00, 0x00)
}

/// Firmware version from GET VERSION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major.
    pub major: u8,
    /// Minor.
    pub minor: u8,
    /// Patch.
    pub patch: u8,
}

impl Version {
    /// Parses the three-byte answer.
    pub fn parse(data: &[u8]) -> Result<Self> {
        match data {
            [major, minor, patch] => Ok(Self {
                major: *major,
                minor: *minor,
                patch: *patch,
            }),
            _ => Err(PivError::malformed(
                "GET VERSION",
                format!("{} bytes instead of 3", data.len()),
            )),
        }
    }

    /// The three bytes.
    pub fn to_bytes(self) -> [u8; 3] {
        [self.major, self.minor, self.patch]
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Parses the GET SERIAL answer (4 bytes, big-endian).
pub fn parse_serial(data: &[u8]) -> Result<u32> {
    let bytes: [u8; 4] = data
        .try_into()
        .map_err(|_| PivError::malformed("GET SERIAL", format!("{} bytes instead of 4", data.len())))?;
    Ok(u32::from_be_bytes(bytes))
}

/// Where a key came from (GET METADATA tag `03`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyOrigin {
    /// Generated on the card.
    Generated,
    /// Imported.
    Imported,
}

/// The answer to GET METADATA. Which fields are present depends on the reference: PIN/PUK → algorithm,
/// default flag, retries; 9B → algorithm, policy, default flag; key slots → algorithm, policy, origin,
/// public key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// Tag `01`.
    pub algorithm: Option<AlgorithmId>,
    /// Tag `02`, first byte.
    pub pin_policy: Option<PinPolicy>,
    /// Tag `02`, second byte.
    pub touch_policy: Option<TouchPolicy>,
    /// Tag `03`.
    pub origin: Option<KeyOrigin>,
    /// Tag `04`.
    pub public_key: Option<PublicKey>,
    /// Tag `05`: still the factory default value.
    pub is_default: Option<bool>,
    /// Tag `06`: total and remaining tries.
    pub retries: Option<(u8, u8)>,
}

impl Metadata {
    /// Parses the TLV list. An empty answer (as Nitrokey gives) yields all `None`.
    pub fn parse(data: &[u8]) -> Result<Self> {
        const CMD: &str = "GET METADATA";
        let bad = |reason: &str| PivError::malformed(CMD, reason.to_string());
        let elements = tlv::parse_all(data).map_err(|e| PivError::malformed(CMD, e.to_string()))?;
        let mut m = Self::default();
        for e in &elements {
            match (e.tag, e.value) {
                (0x01, [alg]) => m.algorithm = Some(AlgorithmId(*alg)),
                (0x02, [pin, touch]) => {
                    m.pin_policy = Some(PinPolicy::from_byte(*pin).ok_or_else(|| bad("unknown PIN policy"))?);
                    m.touch_policy =
                        Some(TouchPolicy::from_byte(*touch).ok_or_else(|| bad("unknown touch policy"))?);
                }
                (0x03, [1]) => m.origin = Some(KeyOrigin::Generated),
                (0x03, [2]) => m.origin = Some(KeyOrigin::Imported),
                (0x05, [flag]) => m.is_default = Some(*flag != 0),
                (0x06, [total, remaining]) => m.retries = Some((*total, *remaining)),
                (0x04, _) => {} // needs the algorithm; parsed below
                (0x01 | 0x02 | 0x03 | 0x05 | 0x06, _) => return Err(bad("element of the wrong length")),
                _ => {} // unknown tags are skipped: newer firmware may add some
            }
        }
        if let Some(pk) = tlv::find(&elements, 0x04) {
            let alg = m.algorithm.ok_or_else(|| bad("public key without algorithm"))?;
            m.public_key = Some(PublicKey::parse_inner(alg, pk)?);
        }
        Ok(m)
    }

    /// Encodes the TLV list (card side).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = tlv::Builder::new();
        if let Some(alg) = self.algorithm {
            b = b.tlv(0x01, &[alg.0]);
        }
        if let (Some(p), Some(t)) = (self.pin_policy, self.touch_policy) {
            b = b.tlv(0x02, &[p.to_byte(), t.to_byte()]);
        }
        if let Some(origin) = self.origin {
            b = b.tlv(0x03, &[if origin == KeyOrigin::Generated { 1 } else { 2 }]);
        }
        if let Some(pk) = &self.public_key {
            b = b.tlv(0x04, &pk.encode_inner());
        }
        if let Some(d) = self.is_default {
            b = b.tlv(0x05, &[u8::from(d)]);
        }
        if let Some((total, remaining)) = self.retries {
            b = b.tlv(0x06, &[total, remaining]);
        }
        b.finish().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mgm::ManagementKey;

    fn bytes(c: &Command) -> Vec<u8> {
        c.to_short().unwrap()
    }

    #[test]
    fn select_get_put_exact_bytes() {
        assert_eq!(
            bytes(&select(&PIV_AID)),
            [
                0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00
            ]
        );
        assert_eq!(
            bytes(&get_data(0x7E).unwrap()),
            [0x00, 0xCB, 0x3F, 0xFF, 0x03, 0x5C, 0x01, 0x7E, 0x00]
        );
        assert_eq!(
            bytes(&get_data(0x7F61).unwrap()),
            [0x00, 0xCB, 0x3F, 0xFF, 0x04, 0x5C, 0x02, 0x7F, 0x61, 0x00]
        );
        assert_eq!(
            bytes(&get_data(0x5FC102).unwrap()),
            [0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x00]
        );
        assert_eq!(
            bytes(&put_data(0x5FFF10, &[0x53, 0x00]).unwrap()),
            [
                0x00, 0xDB, 0x3F, 0xFF, 0x07, 0x5C, 0x03, 0x5F, 0xFF, 0x10, 0x53, 0x00
            ]
        );
        assert!(put_data(0x5FC109, &[0x53, 0x00]).unwrap().is_sensitive());
    }

    #[test]
    fn pin_commands_exact_bytes() {
        let pin = PaddedPin::new(b"123456").unwrap();
        let puk = PaddedPin::new(b"12345678").unwrap();
        assert_eq!(
            bytes(&verify(KeyRef::PIN, Some(&pin))),
            [
                0x00, 0x20, 0x00, 0x80, 0x08, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0xFF, 0xFF
            ]
        );
        assert_eq!(bytes(&verify(KeyRef::PIN, None)), [0x00, 0x20, 0x00, 0x80]);
        assert_eq!(bytes(&logout(KeyRef::PIN)), [0x00, 0x20, 0xFF, 0x80]);
        let change = bytes(&change_reference_data(KeyRef::PUK, &puk, &pin));
        assert_eq!(&change[..5], &[0x00, 0x24, 0x00, 0x81, 0x10]);
        assert_eq!(&change[5..], b"12345678123456\xFF\xFF");
        let unblock = bytes(&reset_retry_counter(&puk, &pin));
        assert_eq!(&unblock[..5], &[0x00, 0x2C, 0x00, 0x80, 0x10]);
        assert!(verify(KeyRef::PIN, Some(&pin)).is_sensitive());
    }

    #[test]
    fn general_authenticate_exact_bytes() {
        // RSA-2048 sign: 7C 82 01 06 82 00 81 82 01 00 <256 B>, sent as two chained APDUs.
        let input = vec![0xAB; 256];
        let cmd = private_key_operation(AlgorithmId::RSA2048, KeyRef::SIGNATURE, &input).unwrap();
        assert_eq!(
            &cmd.data()[..10],
            &[0x7C, 0x82, 0x01, 0x06, 0x82, 0x00, 0x81, 0x82, 0x01, 0x00]
        );
        let chain = cmd.to_short_chain();
        assert_eq!(&chain[0][..4], &[0x10, 0x87, 0x07, 0x9C]);
        assert_eq!(&chain[1][..4], &[0x00, 0x87, 0x07, 0x9C]);
        // ECDSA P-256 over a 32-byte hash.
        let ec =
            bytes(&private_key_operation(AlgorithmId::ECCP256, KeyRef::AUTHENTICATION, &[1; 32]).unwrap());
        assert_eq!(
            &ec[..11],
            &[0x00, 0x87, 0x11, 0x9A, 0x26, 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20]
        );
        // ECDH with tag 85.
        let dh = bytes(&key_agreement(AlgorithmId::ECCP256, KeyRef::KEY_MANAGEMENT, &[4; 65]).unwrap());
        assert_eq!(
            &dh[..11],
            &[0x00, 0x87, 0x11, 0x9D, 0x47, 0x7C, 0x45, 0x82, 0x00, 0x85, 0x41]
        );
        // Management key: witness request `00 87 03 9B 04 7C 02 80 00`, challenge request with 81.
        assert_eq!(
            bytes(&mutual_auth_witness_request(AlgorithmId::TDES).unwrap()),
            [0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00, 0x00]
        );
        assert_eq!(
            bytes(&external_auth_challenge_request(AlgorithmId::AES192).unwrap()),
            [0x00, 0x87, 0x0A, 0x9B, 0x04, 0x7C, 0x02, 0x81, 0x00, 0x00]
        );
        let step2 = mutual_auth_response(AlgorithmId::TDES, &[1; 8], &[2; 8]).unwrap();
        assert_eq!(&step2.data()[..4], &[0x7C, 0x14, 0x80, 0x08]);
        assert_eq!(&step2.data()[12..14], &[0x81, 0x08]);
        let ext = external_auth_response(AlgorithmId::TDES, &[3; 8]).unwrap();
        assert_eq!(ext.data(), &[0x7C, 0x0A, 0x82, 0x08, 3, 3, 3, 3, 3, 3, 3, 3]);
        let resp = [0x7C, 0x0A, 0x82, 0x08, 9, 9, 9, 9, 9, 9, 9, 9];
        assert_eq!(*parse_authenticate_response(&resp, 0x82).unwrap(), vec![9; 8]);
        assert!(parse_authenticate_response(&resp, 0x80).is_err());
        assert!(parse_authenticate_response(&[0x7C, 0x02, 0x82], 0x82).is_err());
    }

    #[test]
    fn generate_exact_bytes() {
        // The examples of Yubico's PIV command reference (GENERATE ASYMMETRIC KEY PAIR, with the Yubico
        // policy tags AA/AB): `00 47 00 9D 05 AC 03 80 01 07` and
        // `00 47 00 9C 0B AC 09 80 01 11 AA 01 02 AB 01 02`.
        let c = generate_key_pair(
            KeyRef::KEY_MANAGEMENT,
            AlgorithmId::RSA2048,
            PinPolicy::Default,
            TouchPolicy::Default,
        )
        .unwrap();
        assert_eq!(
            bytes(&c),
            [0x00, 0x47, 0x00, 0x9D, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x07, 0x00]
        );
        let c = generate_key_pair(
            KeyRef::SIGNATURE,
            AlgorithmId::ECCP256,
            PinPolicy::Once,
            TouchPolicy::Always,
        )
        .unwrap();
        assert_eq!(
            bytes(&c),
            [
                0x00, 0x47, 0x00, 0x9C, 0x0B, 0xAC, 0x09, 0x80, 0x01, 0x11, 0xAA, 0x01, 0x02, 0xAB, 0x01,
                0x02, 0x00
            ]
        );
    }

    #[test]
    fn yubico_extensions_exact_bytes() {
        assert_eq!(bytes(&get_version()), [0x00, 0xFD, 0x00, 0x00, 0x00]);
        assert_eq!(bytes(&get_serial()), [0x00, 0xF8, 0x00, 0x00, 0x00]);
        assert_eq!(
            bytes(&get_metadata(KeyRef::MANAGEMENT)),
            [0x00, 0xF7, 0x00, 0x9B, 0x00]
        );
        assert_eq!(
            bytes(&attest(KeyRef::AUTHENTICATION)),
            [0x00, 0xF9, 0x9A, 0x00, 0x00]
        );
        assert_eq!(
            bytes(&move_key(KeyRef(0x82), KeyRef::AUTHENTICATION)),
            [0x00, 0xF6, 0x9A, 0x82]
        );
        assert_eq!(bytes(&delete_key(KeyRef(0x82))), [0x00, 0xF6, 0xFF, 0x82]);
        assert_eq!(bytes(&set_pin_retries(5, 4)), [0x00, 0xFA, 0x05, 0x04]);
        assert_eq!(bytes(&reset()), [0x00, 0xFB, 0x00, 0x00]);
        assert_eq!(bytes(&get_response(0x10)), [0x00, 0xC0, 0x00, 0x00, 0x10]);
        let key = ManagementKey::default_for(crate::algorithm::ManagementAlgorithm::Tdes).unwrap();
        let set = bytes(&set_management_key(&key, false));
        assert_eq!(&set[..8], &[0x00, 0xFF, 0xFF, 0xFF, 0x1B, 0x03, 0x9B, 0x18]);
        assert_eq!(&set[8..], &crate::mgm::DEFAULT_MANAGEMENT_KEY);
        assert_eq!(bytes(&set_management_key(&key, true))[3], 0xFE);
    }

    #[test]
    fn import_pads_components() {
        let c = import_key(
            KeyRef::AUTHENTICATION,
            AlgorithmId::ECCP256,
            &ImportKey::Ecc {
                scalar: &[0x01, 0x02],
            },
            PinPolicy::Never,
            TouchPolicy::Default,
        )
        .unwrap();
        let b = bytes(&c);
        assert_eq!(&b[..7], &[0x00, 0xFE, 0x11, 0x9A, 0x25, 0x06, 0x20]);
        assert_eq!(&b[7 + 30..7 + 32], &[0x01, 0x02]);
        assert_eq!(&b[39..], &[0xAA, 0x01, 0x01]);
        let p = [0x80u8; 64];
        let rsa = import_key(
            KeyRef::SIGNATURE,
            AlgorithmId::RSA1024,
            &ImportKey::Rsa {
                p: &p,
                q: &p,
                dp: &p,
                dq: &p,
                qinv: &p[..63],
            },
            PinPolicy::Default,
            TouchPolicy::Default,
        )
        .unwrap();
        assert_eq!(rsa.data().len(), 5 * 66);
        assert_eq!(&rsa.data()[4 * 66..4 * 66 + 3], &[0x05, 0x40, 0x00]);
        assert!(rsa.is_sensitive());
        assert!(
            import_key(
                KeyRef::SIGNATURE,
                AlgorithmId::RSA1024,
                &ImportKey::Rsa {
                    p: &[1; 65],
                    q: &p,
                    dp: &p,
                    dq: &p,
                    qinv: &p
                },
                PinPolicy::Default,
                TouchPolicy::Default
            )
            .is_err()
        );
    }

    #[test]
    fn version_serial_metadata_parse() {
        assert_eq!(Version::parse(&[5, 7, 2]).unwrap().to_string(), "5.7.2");
        assert!(Version::parse(&[5, 7]).is_err());
        assert_eq!(parse_serial(&[0x00, 0x52, 0xF7, 0x43]).unwrap(), 0x0052_F743);
        assert!(parse_serial(&[1, 2, 3]).is_err());
        // PIN metadata: 01 01 FF 05 01 01 06 02 03 03.
        let pin = Metadata::parse(&[0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03]).unwrap();
        assert_eq!(pin.algorithm, Some(AlgorithmId::PIN));
        assert_eq!(pin.is_default, Some(true));
        assert_eq!(pin.retries, Some((3, 3)));
        assert_eq!(
            pin.encode(),
            [0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03]
        );
        // Key slot: 01 11 02 02 02 01 03 01 01 04 43 86 41 04 …
        let mut key = vec![
            0x01, 0x01, 0x11, 0x02, 0x02, 0x02, 0x01, 0x03, 0x01, 0x01, 0x04, 0x43, 0x86, 0x41, 0x04,
        ];
        key.extend_from_slice(&[7; 64]);
        let m = Metadata::parse(&key).unwrap();
        assert_eq!(
            (m.pin_policy, m.touch_policy),
            (Some(PinPolicy::Once), Some(TouchPolicy::Never))
        );
        assert_eq!(m.origin, Some(KeyOrigin::Generated));
        assert!(matches!(m.public_key, Some(PublicKey::Ecc { .. })));
        assert_eq!(m.encode(), key);
        assert_eq!(Metadata::parse(&[]).unwrap(), Metadata::default());
        assert!(Metadata::parse(&[0x01, 0x02, 0x11, 0x11]).is_err());
        assert!(Metadata::parse(&[0x04, 0x00]).is_err());
    }
}
