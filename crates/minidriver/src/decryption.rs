//! `CardRSADecrypt` (spec §4.7.1): the card does raw RSA; padding is removed by the CSP's
//! `pfnCspUnpadData` when it offers one, else here in constant time.
//!
//! Byte order follows the interface and the certified implementations: the ciphertext arrives
//! little-endian; a raw result goes back little-endian; a plaintext whose padding the module removed goes
//! back byte-reversed too (as OpenSC and CardContact's certified module do), while the CSP's unpad
//! callback receives the little-endian raw block and its output is returned as it is.

use tessera_piv::PublicKey;
use zeroize::Zeroizing;

use crate::context::CardContext;
use crate::crypto::hash::HashAlg;
use crate::crypto::padding;
use crate::error::{MdError, Result};
use crate::signing::left_pad;

/// How the padding of a decrypted block is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptPadding {
    /// Return the raw block (structure version 1, or `CARD_PADDING_NONE`).
    None,
    /// PKCS#1 v1.5 (type 2).
    Pkcs1,
    /// OAEP with MGF1 over `hash` and `label`.
    Oaep {
        /// Hash.
        hash: HashAlg,
        /// Label.
        label: Vec<u8>,
    },
}

/// What the caller gets back.
pub enum Decrypted {
    /// Bytes to write back into `pbData` (already in the interface's byte order).
    Data(Zeroizing<Vec<u8>>),
    /// The raw block (little-endian) for the CSP's unpad callback.
    ForCspUnpad(Zeroizing<Vec<u8>>),
}

/// The single code every padding failure maps to: the caller cannot tell one invalid padding from another.
pub const BAD_PADDING: MdError = MdError::InvalidValue;

impl CardContext {
    /// Decrypts `ciphertext_le` with the container's RSA key. `csp_unpads` says whether the caller will
    /// hand the raw block to `pfnCspUnpadData`.
    pub fn rsa_decrypt(
        &mut self,
        index: u8,
        key_spec: u32,
        ciphertext_le: &[u8],
        padding: &DecryptPadding,
        csp_unpads: bool,
    ) -> Result<Decrypted> {
        let container = self.container(index)?.clone();
        let PublicKey::Rsa { modulus, .. } = &container.public_key else {
            return Err(MdError::InvalidParameter("the container's key is not an RSA key"));
        };
        if !container.accepts_spec(key_spec) {
            return Err(MdError::InvalidParameter(
                "key spec does not match the container's key",
            ));
        }
        if !container.decrypts {
            return Err(MdError::InvalidParameter(
                "the certificate's key usage does not allow decryption",
            ));
        }
        let k = modulus.len();
        if ciphertext_le.len() < k {
            return Err(MdError::InsufficientBuffer("ciphertext shorter than the modulus"));
        }
        if ciphertext_le.len() > k {
            return Err(MdError::InvalidParameter("ciphertext longer than the modulus"));
        }
        let input: Vec<u8> = ciphertext_le.iter().rev().copied().collect();
        let raw = Zeroizing::new(left_pad(&self.private_key_operation(&container, &input)?, k)?);
        let raw_le = || Zeroizing::new(raw.iter().rev().copied().collect::<Vec<u8>>());
        match padding {
            DecryptPadding::None => Ok(Decrypted::Data(raw_le())),
            _ if csp_unpads => Ok(Decrypted::ForCspUnpad(raw_le())),
            _ => Ok(Decrypted::Data(unpad(&raw, padding)?)),
        }
    }
}

/// Removes the padding of a raw (big-endian) RSA block in constant time and returns the plaintext in the
/// interface's byte order. Every invalid padding gives the same error, [`BAD_PADDING`].
pub fn unpad(raw: &[u8], padding: &DecryptPadding) -> Result<Zeroizing<Vec<u8>>> {
    match padding {
        DecryptPadding::None => Ok(Zeroizing::new(raw.iter().rev().copied().collect())),
        DecryptPadding::Pkcs1 => finish(padding::pkcs1_v15_decrypt(raw)),
        DecryptPadding::Oaep { hash, label } => finish(padding::oaep_decrypt(raw, *hash, label)?),
    }
}

/// Reverses the message: the whole buffer is reversed (the message then sits at the end), and a
/// constant-time shift brings it to the front; the verdict is the only branch.
fn finish(decoded: padding::Decoded) -> Result<Zeroizing<Vec<u8>>> {
    let n = decoded.message.len();
    let len = decoded.len.min(n);
    let reversed: Zeroizing<Vec<u8>> = Zeroizing::new(decoded.message.iter().rev().copied().collect());
    let mut out = padding::shift_left(&reversed, n - len);
    if bool::from(decoded.valid) {
        out.truncate(len);
        Ok(out)
    } else {
        Err(BAD_PADDING)
    }
}
