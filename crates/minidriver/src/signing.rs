//! `CardSignData` (spec §4.7.5): the module pads (PKCS#1 v1.5, PSS) and the card does the raw RSA; or
//! the card signs a hash with ECDSA. RSA signatures go back little-endian, ECDSA as big-endian `r ‖ s`.

use tessera_piv::PublicKey;

use crate::containers::Container;
use crate::context::CardContext;
use crate::crypto::ecdsa;
use crate::crypto::hash::HashAlg;
use crate::crypto::padding;
use crate::error::{MdError, Result};
use crate::pins::ROLE_PIN_ALWAYS;

/// How an RSA signature is padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignPadding {
    /// PKCS#1 v1.5 with a DigestInfo for `hash` (`None`: the data is signed as given, e.g. a DigestInfo
    /// the caller built, or MD5‖SHA-1).
    Pkcs1 {
        /// The hash whose OID goes into the DigestInfo.
        hash: Option<HashAlg>,
        /// Sign the hash bare, without its DigestInfo (`CRYPT_NOHASHOID`).
        no_oid: bool,
    },
    /// RSASSA-PSS with MGF1 over `hash` and a random salt of `salt_len` bytes.
    Pss {
        /// Hash.
        hash: HashAlg,
        /// Salt length.
        salt_len: usize,
    },
    /// Raw RSA on a modulus-sized block (`CARD_PADDING_NONE`).
    None,
}

/// A signing request, already checked for the things that need no card.
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// Container index.
    pub index: u8,
    /// `dwKeySpec` (checked to be a defined, supported spec).
    pub key_spec: u32,
    /// RSA padding (ignored for ECDSA).
    pub padding: SignPadding,
    /// The hash (or block) to sign, as the CSP passes it.
    pub data: &'a [u8],
    /// `CARD_BUFFER_SIZE_ONLY`.
    pub size_only: bool,
}

/// The outcome of a signing call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    /// Only the size was asked for.
    Size(usize),
    /// The signature in the form Windows expects.
    Signature(Vec<u8>),
}

impl CardContext {
    /// `CardSignData`.
    pub fn sign(&mut self, req: &SignRequest<'_>) -> Result<Signed> {
        let container = self.container(req.index)?.clone();
        if !container.accepts_spec(req.key_spec) {
            return Err(MdError::InvalidParameter(
                "key spec does not match the container's key",
            ));
        }
        match &container.public_key {
            PublicKey::Rsa { modulus, .. } => {
                let k = modulus.len();
                let input = rsa_encoding(&req.padding, req.data, k)?;
                if req.size_only {
                    return Ok(Signed::Size(k));
                }
                let raw = self.private_key_operation(&container, &input)?;
                let mut sig = left_pad(&raw, k)?;
                sig.reverse();
                Ok(Signed::Signature(sig))
            }
            PublicKey::Ecc { algorithm, .. } => {
                let field = algorithm.operation_len().ok_or(MdError::Unsupported("curve"))?;
                if req.data.is_empty() {
                    return Err(MdError::InvalidParameter("empty hash"));
                }
                if req.size_only {
                    return Ok(Signed::Size(2 * field));
                }
                let der = self.private_key_operation(&container, &ecdsa::fit_hash(req.data, field))?;
                Ok(Signed::Signature(ecdsa::der_to_raw(&der, field)?))
            }
        }
    }

    /// GENERAL AUTHENTICATE with the container's key. A PIN-always authentication is consumed by it.
    pub(crate) fn private_key_operation(
        &mut self,
        container: &Container,
        input: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let (slot, algorithm) = (container.slot, container.public_key.algorithm());
        let result = self.read(|s| s.private_key_operation(slot, algorithm, input));
        if container.pin == ROLE_PIN_ALWAYS {
            self.auth.pin_always = false;
        }
        result
    }
}

/// The block the card signs, for a `k`-byte modulus.
fn rsa_encoding(padding: &SignPadding, data: &[u8], k: usize) -> Result<Vec<u8>> {
    let check_len = |hash: HashAlg| {
        if data.len() == hash.len() {
            Ok(())
        } else {
            Err(MdError::InvalidParameter("data is not a hash of that algorithm"))
        }
    };
    match *padding {
        SignPadding::Pkcs1 {
            hash: Some(hash),
            no_oid,
        } => {
            check_len(hash)?;
            let t = if no_oid {
                data.to_vec()
            } else {
                [hash.digest_info_prefix(), data].concat()
            };
            padding::pkcs1_v15_sign(&t, k)
        }
        SignPadding::Pkcs1 { hash: None, .. } => {
            if data.is_empty() {
                return Err(MdError::InvalidParameter("nothing to sign"));
            }
            padding::pkcs1_v15_sign(data, k)
        }
        SignPadding::Pss { hash, salt_len } => {
            check_len(hash)?;
            // Checked before the salt is allocated: cbSalt comes from the caller.
            if salt_len > k.saturating_sub(hash.len() + 2) {
                return Err(MdError::InvalidParameter("salt too long for the key"));
            }
            let mut salt = vec![0u8; salt_len];
            getrandom::fill(&mut salt)
                .map_err(|_| MdError::Unexpected("operating system RNG unavailable".into()))?;
            padding::pss_sign(hash, data, &salt, 8 * k, k)
        }
        SignPadding::None => {
            if data.len() != k {
                return Err(MdError::InvalidParameter(
                    "unpadded data must be one modulus-sized block",
                ));
            }
            Ok(data.to_vec())
        }
    }
}

/// The card's raw RSA result as exactly `k` bytes (some cards drop leading zeros).
pub(crate) fn left_pad(raw: &[u8], k: usize) -> Result<Vec<u8>> {
    if raw.len() > k {
        return Err(MdError::CommDataLost("RSA result longer than the modulus".into()));
    }
    let mut out = vec![0u8; k - raw.len()];
    out.extend_from_slice(raw);
    Ok(out)
}
