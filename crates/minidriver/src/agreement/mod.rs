//! ECDH secret agreements and key derivation (Smart Card Minidriver Specification 7.07 §4.7.2–§4.7.4). The
//! card computes the shared X coordinate (GENERAL AUTHENTICATE with tag 85); the module keeps it, indexed by
//! a byte, until it is destroyed, the context is deleted or the card is reset, and derives keys from it.

use tessera_piv::{AlgorithmId, PublicKey};
use zeroize::Zeroizing;

use crate::containers::ContainerKind;
use crate::context::CardContext;
use crate::crypto::hash::HashAlg;
use crate::crypto::kdf;
use crate::error::{MdError, Result};
use crate::keyblob;

mod request;
pub use request::{AgreementRef, AgreementRequest, DeriveRequest, DerivedKeyOutput};
pub(crate) use request::{
    DeriveKeyInfo, DhAgreementInfo, MAX_KDF_PARAMETER, MAX_KDF_PARAMETERS, MAX_PEER_KEY, ParameterList,
};

/// How many agreements a context holds at once.
pub const MAX_AGREEMENTS: usize = 32;

/// `KDF_*` parameter types of a `BCryptBufferDesc` (bcrypt.h), without their `KDF_` prefix.
/// `KDF_SECRET_HANDLE` (an NCrypt secret handle) is resolved through `pfnCspGetDHAgreement` by the ABI
/// layer; `KDF_TLS_PRF_PROTOCOL` is a DWORD, `KDF_HASH_ALGORITHM` a NUL-terminated UTF-16 name.
pub mod param {
    pub use windows_sys::Win32::Security::Cryptography::{
        KDF_ALGORITHMID as ALGORITHMID, KDF_HASH_ALGORITHM as HASH_ALGORITHM, KDF_HMAC_KEY as HMAC_KEY,
        KDF_PARTYUINFO as PARTYUINFO, KDF_PARTYVINFO as PARTYVINFO, KDF_SECRET_APPEND as SECRET_APPEND,
        KDF_SECRET_HANDLE as SECRET_HANDLE, KDF_SECRET_PREPEND as SECRET_PREPEND,
        KDF_SUPPPRIVINFO as SUPPPRIVINFO, KDF_SUPPPUBINFO as SUPPPUBINFO, KDF_TLS_PRF_LABEL as TLS_PRF_LABEL,
        KDF_TLS_PRF_PROTOCOL as TLS_PRF_PROTOCOL, KDF_TLS_PRF_SEED as TLS_PRF_SEED,
    };
}

/// The longest key the concatenation KDF derives (the caller chooses the length; keys and key blocks
/// are far shorter, and the bound keeps a caller's length from becoming an allocation).
pub const MAX_DERIVED_LEN: usize = 4096;
/// Length of the TLS PRF output the CSP asks for (a master secret).
pub const TLS_MASTER_SECRET_LEN: usize = 48;

/// A secret agreement: the shared secret, zeroized when dropped.
pub(crate) struct Agreement {
    secret: Zeroizing<Vec<u8>>,
}

impl CardContext {
    /// `CardConstructDHAgreement`: the peer key is a `BCRYPT_ECCKEY_BLOB`. Returns the agreement index.
    pub(crate) fn construct_agreement(&mut self, request: &AgreementRequest<'_>) -> Result<u8> {
        let peer_blob = request.peer_blob;
        peer_blob_shape(peer_blob)?;
        let container = self.container(request.index)?.clone();
        let PublicKey::Ecc { algorithm, .. } = container.public_key else {
            return Err(MdError::InvalidParameter("the container's key is not an EC key"));
        };
        let agreement_allowed = container.kind == ContainerKind::Ecdh || container.associated_ecdh.is_some();
        if !agreement_allowed {
            return Err(MdError::InvalidParameter(
                "the container's key is not allowed to agree keys",
            ));
        }
        let point = peer_point(algorithm, peer_blob)?;
        let free = self.agreements.iter().position(Option::is_none);
        if free.is_none() && self.agreements.len() >= MAX_AGREEMENTS {
            return Err(MdError::NoMemory);
        }
        let secret = Zeroizing::new(self.key_agreement(&container, &point)?.to_vec());
        if secret.len() != algorithm.operation_len().unwrap_or(0) {
            return Err(MdError::CommDataLost("ECDH result of the wrong size".into()));
        }
        let agreement = Agreement { secret };
        let slot = match free {
            Some(i) => {
                self.agreements[i] = Some(agreement);
                i
            }
            None => {
                self.agreements.push(Some(agreement));
                self.agreements.len() - 1
            }
        };
        Ok(slot as u8 + 1)
    }

    fn key_agreement(
        &mut self,
        container: &crate::containers::Container,
        point: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (slot, algorithm) = (container.slot, container.public_key.algorithm());
        let result = self.read(|s| s.key_agreement(slot, algorithm, point));
        if container.pin == crate::pins::ROLE_PIN_ALWAYS {
            self.auth.pin_always = false;
        }
        result
    }

    fn agreement(&self, index: u8) -> Result<&Agreement> {
        usize::from(index)
            .checked_sub(1)
            .and_then(|i| self.agreements.get(i))
            .and_then(Option::as_ref)
            .ok_or(MdError::InvalidParameter("no such secret agreement"))
    }

    /// `CardDestroyDHAgreement`: frees the agreement, wiping its secret. No authentication is asked
    /// for: destroying only takes a secret away. (§4.7.4 answers `SCARD_W_SECURITY_VIOLATION` to an
    /// unauthenticated caller; here no agreement outlives the authentication it was made under, see
    /// [`CardContext::wipe_agreements`], so an unauthenticated caller finds none.)
    pub(crate) fn destroy_agreement(&mut self, index: u8) -> Result<()> {
        self.agreement(index)?;
        self.agreements[usize::from(index) - 1] = None;
        Ok(())
    }

    /// Wipes every agreement (their secrets are zeroized as they are dropped): on card reset, and when
    /// the PIN the agreements were made under is logged out or fails.
    pub(crate) fn wipe_agreements(&mut self) {
        self.agreements.clear();
    }

    /// `CardDeriveKey` with the agreement `agreement` (the index `req.agreement` names): the derived
    /// key, or as many zero bytes when only its length is asked for.
    pub(crate) fn derive_key(
        &mut self,
        req: &DeriveRequest<'_>,
        agreement: u8,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let size_only = req.size_only();
        let z = self.agreement(agreement)?.secret.clone();
        let p = Params::parse(req)?;
        let hash = || p.hash.unwrap_or(HashAlg::Sha1);
        let out = match req.kdf.as_str() {
            "HASH" => {
                p.only(&[param::HASH_ALGORITHM, param::SECRET_PREPEND, param::SECRET_APPEND])?;
                sized(hash().len(), size_only, || {
                    Ok(kdf::kdf_hash(hash(), &z, p.prepend, p.append))
                })?
            }
            "HMAC" => {
                p.only(&[
                    param::HASH_ALGORITHM,
                    param::SECRET_PREPEND,
                    param::SECRET_APPEND,
                    param::HMAC_KEY,
                ])?;
                let key: &[u8] = match (req.secret_as_hmac_key, p.hmac_key) {
                    (true, None) => &z,
                    (false, Some(k)) => k,
                    _ => return Err(MdError::InvalidParameter("HMAC KDF needs exactly one key")),
                };
                sized(hash().len(), size_only, || {
                    kdf::kdf_hmac(hash(), key, &z, p.prepend, p.append)
                })?
            }
            "TLS_PRF" => {
                p.only(&[
                    param::HASH_ALGORITHM,
                    param::TLS_PRF_LABEL,
                    param::TLS_PRF_SEED,
                    param::TLS_PRF_PROTOCOL,
                ])?;
                let (Some(label), Some(seed)) = (p.label, p.seed) else {
                    return Err(MdError::InvalidParameter("TLS PRF needs a label and a seed"));
                };
                if seed.len() != 64 {
                    return Err(MdError::InvalidParameter("TLS PRF seed must be 64 bytes"));
                }
                // CNG's default is the original (TLS 1.0) PRF; a hash parameter only makes sense for 1.2.
                let default = if p.hash.is_some() {
                    kdf::tls_version::TLS1_2
                } else {
                    kdf::tls_version::TLS1_0
                };
                let version = p.tls_version.unwrap_or(default);
                if version != kdf::tls_version::TLS1_2 && p.hash.is_some() {
                    return Err(MdError::InvalidParameter("TLS 1.0/1.1 PRF takes no hash"));
                }
                sized(TLS_MASTER_SECRET_LEN, size_only, || {
                    kdf::tls_prf(version, p.hash, &z, label, seed, TLS_MASTER_SECRET_LEN)
                })?
            }
            "SP800_56A_CONCAT" => {
                p.only(&[
                    param::HASH_ALGORITHM,
                    param::ALGORITHMID,
                    param::PARTYUINFO,
                    param::PARTYVINFO,
                    param::SUPPPUBINFO,
                    param::SUPPPRIVINFO,
                ])?;
                let (Some(alg_id), Some(u), Some(v)) = (p.algorithm_id, p.party_u, p.party_v) else {
                    return Err(MdError::InvalidParameter(
                        "SP 800-56A KDF needs AlgorithmID, PartyUInfo, PartyVInfo",
                    ));
                };
                // SuppPrivInfo is private by definition: the concatenation is wiped when dropped.
                let other_info = Zeroizing::new(
                    [
                        alg_id,
                        u,
                        v,
                        p.supp_pub.unwrap_or(&[]),
                        p.supp_priv.unwrap_or(&[]),
                    ]
                    .concat(),
                );
                let len = req.requested_len.unwrap_or(hash().len());
                if len == 0 || len > MAX_DERIVED_LEN {
                    return Err(MdError::InvalidParameter("derived key length"));
                }
                sized(len, size_only, || {
                    kdf::sp800_56a_concat(hash(), &z, &other_info, len)
                })?
            }
            _ => return Err(MdError::InvalidParameter("unknown KDF")),
        };
        Ok(out)
    }
}

/// A length-only answer is a buffer of that many zero bytes, which the ABI reports by its length.
fn sized(
    len: usize,
    size_only: bool,
    f: impl FnOnce() -> Result<Zeroizing<Vec<u8>>>,
) -> Result<Zeroizing<Vec<u8>>> {
    if size_only {
        Ok(Zeroizing::new(vec![0; len]))
    } else {
        f()
    }
}

/// The parsed parameter list; each parameter may appear once.
struct Params<'a> {
    present: Vec<u32>,
    hash: Option<HashAlg>,
    prepend: &'a [u8],
    append: &'a [u8],
    hmac_key: Option<&'a [u8]>,
    label: Option<&'a [u8]>,
    seed: Option<&'a [u8]>,
    tls_version: Option<u32>,
    algorithm_id: Option<&'a [u8]>,
    party_u: Option<&'a [u8]>,
    party_v: Option<&'a [u8]>,
    supp_pub: Option<&'a [u8]>,
    supp_priv: Option<&'a [u8]>,
}

impl<'a> Params<'a> {
    fn parse(req: &DeriveRequest<'a>) -> Result<Self> {
        let mut p = Params {
            present: Vec::new(),
            hash: None,
            prepend: &[],
            append: &[],
            hmac_key: None,
            label: None,
            seed: None,
            tls_version: None,
            algorithm_id: None,
            party_u: None,
            party_v: None,
            supp_pub: None,
            supp_priv: None,
        };
        for &(kind, value) in &req.params {
            if p.present.contains(&kind) {
                return Err(MdError::InvalidParameter("KDF parameter given twice"));
            }
            p.present.push(kind);
            match kind {
                param::HASH_ALGORITHM => {
                    p.hash = Some(
                        HashAlg::from_cng_name(&wide_string(value)?)
                            .map_err(|_| MdError::InvalidParameter("KDF hash"))?,
                    )
                }
                param::SECRET_PREPEND => p.prepend = value,
                param::SECRET_APPEND => p.append = value,
                param::HMAC_KEY => p.hmac_key = Some(value),
                param::TLS_PRF_LABEL => p.label = Some(value),
                param::TLS_PRF_SEED => p.seed = Some(value),
                param::TLS_PRF_PROTOCOL => {
                    let bytes: [u8; 4] = value
                        .try_into()
                        .map_err(|_| MdError::InvalidParameter("TLS protocol"))?;
                    p.tls_version = Some(u32::from_le_bytes(bytes));
                }
                param::ALGORITHMID => p.algorithm_id = Some(value),
                param::PARTYUINFO => p.party_u = Some(value),
                param::PARTYVINFO => p.party_v = Some(value),
                param::SUPPPUBINFO => p.supp_pub = Some(value),
                param::SUPPPRIVINFO => p.supp_priv = Some(value),
                _ => return Err(MdError::InvalidParameter("unknown KDF parameter")),
            }
        }
        if matches!(p.hash, Some(HashAlg::Md5Sha1)) {
            return Err(MdError::InvalidParameter("KDF hash"));
        }
        Ok(p)
    }

    /// Refuses parameters the KDF does not take.
    fn only(&self, allowed: &[u32]) -> Result<()> {
        if self.present.iter().all(|k| allowed.contains(k)) {
            Ok(())
        } else {
            Err(MdError::InvalidParameter("parameter not valid for this KDF"))
        }
    }
}

/// A NUL-terminated (or not) UTF-16LE string from a parameter buffer.
fn wide_string(bytes: &[u8]) -> Result<String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(MdError::InvalidParameter("string parameter of odd length"));
    }
    String::from_utf16(&crate::utf16::units_until_nul(bytes))
        .map_err(|_| MdError::InvalidParameter("string parameter is not UTF-16"))
}

/// The checks of a peer `BCRYPT_ECCKEY_BLOB` that need no container: a known ECDH/ECDSA public magic
/// with its field size, and exactly the bytes that size announces. Made before the card is asked anything.
fn peer_blob_shape(blob: &[u8]) -> Result<()> {
    let bad = MdError::InvalidParameter("peer public key");
    let (Some(magic), Some(cb)) = (blob.first_chunk::<4>(), blob.get(4..8)) else {
        return Err(bad);
    };
    let field = match u32::from_le_bytes(*magic) {
        keyblob::ECDH_P256_MAGIC | keyblob::ECDSA_P256_MAGIC => 32,
        keyblob::ECDH_P384_MAGIC | keyblob::ECDSA_P384_MAGIC => 48,
        _ => return Err(bad),
    };
    let cb = cb
        .try_into()
        .map(u32::from_le_bytes)
        .map_err(|_| MdError::InvalidParameter("peer key"))?;
    if cb != field as u32 || blob.len() != 8 + 2 * field {
        return Err(bad);
    }
    Ok(())
}

/// The uncompressed point of a peer `BCRYPT_ECCKEY_BLOB` on the container's curve, checked to be on it.
fn peer_point(algorithm: AlgorithmId, blob: &[u8]) -> Result<Vec<u8>> {
    let bad = MdError::InvalidParameter("peer public key");
    let field = algorithm.operation_len().ok_or(MdError::Unsupported("curve"))?;
    let (Some(magic), Some(cb)) = (blob.get(0..4), blob.get(4..8)) else {
        return Err(bad);
    };
    let magic = u32::from_le_bytes(
        magic
            .try_into()
            .map_err(|_| MdError::InvalidParameter("peer key"))?,
    );
    let cb = u32::from_le_bytes(cb.try_into().map_err(|_| MdError::InvalidParameter("peer key"))?) as usize;
    let expected_magics: &[u32] = match algorithm {
        AlgorithmId::ECCP256 => &[keyblob::ECDH_P256_MAGIC, keyblob::ECDSA_P256_MAGIC],
        AlgorithmId::ECCP384 => &[keyblob::ECDH_P384_MAGIC, keyblob::ECDSA_P384_MAGIC],
        _ => return Err(MdError::Unsupported("curve")),
    };
    if !expected_magics.contains(&magic) || cb != field || blob.len() != 8 + 2 * field {
        return Err(bad);
    }
    let mut point = Vec::with_capacity(1 + 2 * field);
    point.push(0x04);
    point.extend_from_slice(&blob[8..]);
    let on_curve = match algorithm {
        AlgorithmId::ECCP256 => p256::PublicKey::from_sec1_bytes(&point).is_ok(),
        _ => p384::PublicKey::from_sec1_bytes(&point).is_ok(),
    };
    if !on_curve {
        return Err(MdError::InvalidParameter("peer public key is not on the curve"));
    }
    Ok(point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Injected;
    use tessera_piv::transport::Scripted;

    #[test]
    fn destroying_an_agreement_needs_no_authentication() {
        let select = Scripted::new().expect_any([0x90, 0x00]);
        let mut ctx = CardContext::acquire(
            Box::new(Injected(Box::new(select))),
            7,
            tessera_piv::SessionOptions::default(),
        )
        .unwrap();
        // An agreement made with a key that needed the PIN, the PIN no longer verified.
        ctx.agreements.push(Some(Agreement {
            secret: Zeroizing::new(vec![0x5A; 32]),
        }));
        assert!(!ctx.auth.user);
        ctx.destroy_agreement(1).unwrap();
        assert!(ctx.agreements.iter().all(Option::is_none));
        assert!(matches!(
            ctx.destroy_agreement(1),
            Err(MdError::InvalidParameter(_))
        ));
    }
}
