//! RSA as the CSP's side sees it: signatures verified and ciphertexts made with the `rsa` crate from the
//! card's public key, and the two encodings the CSP callbacks own (EMSA-PKCS1-v1_5 for
//! `pfnCspPadData`, EME-PKCS1-v1_5 and EME-OAEP decoding for `pfnCspUnpadData`). The decoders are the
//! CSP's: written here from RFC 8017, without the constant-time care the module owes (the CSP runs them
//! on its own side).

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, Oaep, Pkcs1v15Encrypt, PublicKey, pss::Pss};

use super::hash::Hash;

/// An RSA public key of 1024–4096 bits.
#[derive(Debug, Clone)]
pub struct RsaKey {
    key: PublicKey,
}

/// A deterministic RNG for the harness's own randomised encodings (OAEP seeds, PKCS#1 padding strings):
/// cases are reproducible run to run.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

impl RsaKey {
    /// From the big-endian modulus and exponent.
    pub fn new(modulus: &[u8], exponent: &[u8]) -> Result<Self, String> {
        let bits = (modulus.len() * 8) as u32;
        let n = BoxedUint::from_be_slice(modulus, bits).map_err(|e| format!("modulus: {e:?}"))?;
        let e = BoxedUint::from_be_slice(exponent, 64).map_err(|e| format!("exponent: {e:?}"))?;
        let key = PublicKey::new_with_size_limits(n, e, 1024..=4096).map_err(|e| e.to_string())?;
        Ok(Self { key })
    }

    /// Modulus length in bytes.
    pub fn len(&self) -> usize {
        self.key.size()
    }

    /// Always false (a key has a modulus).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Modulus length in bits.
    pub fn bits(&self) -> usize {
        self.key.n().bit_width() as usize
    }

    /// Checks an RSASSA-PKCS1-v1_5 signature (big-endian) over `hash`. With `hash_alg` the DigestInfo
    /// for it is expected; without, `hash` is the whole signed block content (a caller's DigestInfo, or
    /// MD5‖SHA-1).
    pub fn verify_pkcs1(&self, hash_alg: Option<Hash>, hash: &[u8], sig: &[u8]) -> Result<(), String> {
        let scheme = match hash_alg {
            Some(h) => h.pkcs1_scheme(),
            None => rsa::pkcs1v15::Pkcs1v15Sign::new_unprefixed(),
        };
        self.key
            .verify(scheme, hash, sig)
            .map_err(|e| format!("PKCS#1 v1.5 signature does not verify: {e}"))
    }

    /// Checks an RSASSA-PSS signature (MGF1 with the same hash) with exactly `salt_len` bytes of salt.
    pub fn verify_pss(&self, hash_alg: Hash, salt_len: usize, hash: &[u8], sig: &[u8]) -> Result<(), String> {
        let r = match hash_alg {
            Hash::Md5 => return Err("PSS with MD5 is not tested".into()),
            Hash::Sha1 => self
                .key
                .verify(Pss::<sha1::Sha1>::new_with_salt(salt_len), hash, sig),
            Hash::Sha224 => self
                .key
                .verify(Pss::<sha2::Sha224>::new_with_salt(salt_len), hash, sig),
            Hash::Sha256 => self
                .key
                .verify(Pss::<sha2::Sha256>::new_with_salt(salt_len), hash, sig),
            Hash::Sha384 => self
                .key
                .verify(Pss::<sha2::Sha384>::new_with_salt(salt_len), hash, sig),
            Hash::Sha512 => self
                .key
                .verify(Pss::<sha2::Sha512>::new_with_salt(salt_len), hash, sig),
        };
        r.map_err(|e| format!("PSS signature (salt {salt_len}) does not verify: {e}"))
    }

    /// The largest PSS salt for this key and hash (RFC 8017 §9.1.1: emLen ≥ hLen + sLen + 2, with
    /// emLen = ⌈(modBits − 1)/8⌉).
    pub fn max_pss_salt(&self, hash_alg: Hash) -> usize {
        let em_len = (self.bits() - 1).div_ceil(8);
        em_len.saturating_sub(hash_alg.len() + 2)
    }

    /// The raw public operation `m^e mod n` on a big-endian block, as `len()` big-endian bytes.
    pub fn raw(&self, block: &[u8]) -> Result<Vec<u8>, String> {
        let m =
            BoxedUint::from_be_slice(block, self.key.n().bits_precision()).map_err(|e| format!("{e:?}"))?;
        let c = rsa::hazmat::rsa_encrypt(&self.key, &m).map_err(|e| e.to_string())?;
        let bytes = c.to_be_bytes();
        let k = self.len();
        let start = bytes.len().saturating_sub(k);
        let mut out = vec![0u8; k.saturating_sub(bytes.len() - start)];
        out.extend_from_slice(&bytes[start..]);
        Ok(out)
    }

    /// RSAES-PKCS1-v1_5 encryption (big-endian ciphertext).
    pub fn encrypt_pkcs1(&self, msg: &[u8], seed: u64) -> Result<Vec<u8>, String> {
        self.key
            .encrypt(&mut rng(seed), Pkcs1v15Encrypt, msg)
            .map_err(|e| e.to_string())
    }

    /// RSAES-OAEP encryption with MGF1 over `hash_alg` and an optional label (big-endian ciphertext).
    pub fn encrypt_oaep(
        &self,
        hash_alg: Hash,
        label: Option<&[u8]>,
        msg: &[u8],
        seed: u64,
    ) -> Result<Vec<u8>, String> {
        fn pad<D>(label: Option<&[u8]>) -> Oaep<D>
        where
            D: digest::Digest + digest::FixedOutputReset,
        {
            match label {
                Some(l) => Oaep::<D>::new_with_label(l.to_vec()),
                None => Oaep::<D>::new(),
            }
        }
        let mut r = rng(seed);
        let out = match hash_alg {
            Hash::Md5 => return Err("OAEP with MD5 is not tested".into()),
            Hash::Sha1 => self.key.encrypt(&mut r, pad::<sha1::Sha1>(label), msg),
            Hash::Sha224 => self.key.encrypt(&mut r, pad::<sha2::Sha224>(label), msg),
            Hash::Sha256 => self.key.encrypt(&mut r, pad::<sha2::Sha256>(label), msg),
            Hash::Sha384 => self.key.encrypt(&mut r, pad::<sha2::Sha384>(label), msg),
            Hash::Sha512 => self.key.encrypt(&mut r, pad::<sha2::Sha512>(label), msg),
        };
        out.map_err(|e| e.to_string())
    }

    /// True when OAEP with `hash_alg` fits this modulus (k ≥ 2·hLen + 2).
    pub fn oaep_fits(&self, hash_alg: Hash) -> bool {
        self.len() >= 2 * hash_alg.len() + 2
    }
}

/// EMSA-PKCS1-v1_5 (RFC 8017 §9.2 step 5): `00 01 FF…FF 00 ‖ T` of `k` bytes, or `None` when `T` does
/// not fit with at least 8 bytes of `FF`.
pub fn emsa_pkcs1_v15(t: &[u8], k: usize) -> Option<Vec<u8>> {
    let ps_len = k.checked_sub(t.len() + 3)?;
    if ps_len < 8 {
        return None;
    }
    let mut em = Vec::with_capacity(k);
    em.extend([0x00, 0x01]);
    em.extend(std::iter::repeat_n(0xFF, ps_len));
    em.push(0x00);
    em.extend_from_slice(t);
    Some(em)
}

/// EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2 step 3): the message of `00 02 PS 00 M`, PS ≥ 8 non-zero
/// bytes.
pub fn decode_pkcs1_type2(em: &[u8]) -> Option<Vec<u8>> {
    let rest = em.strip_prefix(&[0x00, 0x02])?;
    let sep = rest.iter().position(|&b| b == 0)?;
    if sep < 8 {
        return None;
    }
    Some(rest[sep + 1..].to_vec())
}

/// MGF1 (RFC 8017 B.2.1).
pub fn mgf1(hash_alg: Hash, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + hash_alg.len());
    let mut counter = 0u32;
    while out.len() < len {
        out.extend(hash_alg.digest(&[seed, &counter.to_be_bytes()]));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// EME-OAEP decoding (RFC 8017 §7.1.2 step 3) with MGF1 over the same hash.
pub fn decode_oaep(em: &[u8], hash_alg: Hash, label: &[u8]) -> Option<Vec<u8>> {
    let h = hash_alg.len();
    if em.len() < 2 * h + 2 || em[0] != 0 {
        return None;
    }
    let (masked_seed, masked_db) = em[1..].split_at(h);
    let seed: Vec<u8> = masked_seed
        .iter()
        .zip(mgf1(hash_alg, masked_db, h))
        .map(|(a, b)| a ^ b)
        .collect();
    let db: Vec<u8> = masked_db
        .iter()
        .zip(mgf1(hash_alg, &seed, masked_db.len()))
        .map(|(a, b)| a ^ b)
        .collect();
    let (l_hash, rest) = db.split_at(h);
    if l_hash != hash_alg.digest(&[label]).as_slice() {
        return None;
    }
    let one = rest.iter().position(|&b| b != 0)?;
    if rest[one] != 0x01 {
        return None;
    }
    Some(rest[one + 1..].to_vec())
}

/// Byte-reversed copy (the interface's little-endian form of a big-endian block, and back).
pub fn reversed(b: &[u8]) -> Vec<u8> {
    b.iter().rev().copied().collect()
}

/// A software RSA key the harness hands to a module for import (what `CryptImportKey` or certutil
/// `-importpfx` would pass): generated from a seed, so runs are reproducible.
pub struct SoftwareRsa {
    key: rsa::PrivateKey,
}

impl SoftwareRsa {
    /// A `bits`-bit key with exponent 65537 from `seed`.
    pub fn generate(bits: usize, seed: u64) -> Self {
        // A key of a supported size always generates; a failure is a harness defect worth a panic.
        #[allow(
            clippy::unwrap_used,
            reason = "the sizes asked for (1024–4096) always generate"
        )]
        let key = rsa::PrivateKey::new(&mut rng(seed), bits).unwrap();
        Self { key }
    }

    /// The public key, as the card reports one.
    pub fn public_key(&self) -> tessera_piv::PublicKey {
        let n = strip(&self.key.n().to_be_bytes()).to_vec();
        let algorithm =
            tessera_piv::AlgorithmId::rsa((n.len() * 8) as u32).unwrap_or(tessera_piv::AlgorithmId::RSA2048);
        tessera_piv::PublicKey::Rsa {
            algorithm,
            modulus: n,
            exponent: strip(&self.key.e().to_be_bytes()).to_vec(),
        }
    }

    /// The CryptoAPI `PRIVATEKEYBLOB` of the key (`CALG_RSA_KEYX`): BLOBHEADER, RSAPUBKEY 'RSA2', then
    /// modulus, prime1, prime2, exponent1, exponent2, coefficient and privateExponent, little-endian.
    pub fn private_key_blob(&self) -> Vec<u8> {
        use rsa::traits::PrivateKeyParts;
        let n = self.key.size();
        let mut blob = vec![0x07, 0x02, 0, 0];
        blob.extend_from_slice(&crate::blobs::CALG_RSA_KEYX.to_le_bytes());
        blob.extend_from_slice(b"RSA2");
        blob.extend_from_slice(&((n * 8) as u32).to_le_bytes());
        blob.extend_from_slice(&65_537u32.to_le_bytes());
        let field = |v: &BoxedUint, len: usize| {
            let be = v.to_be_bytes();
            let value = strip(&be);
            let mut out = vec![0u8; len.saturating_sub(value.len())];
            out.extend_from_slice(value);
            out.reverse();
            out
        };
        blob.extend(field(self.key.n(), n));
        let primes = self.key.primes();
        let crt = self.key.crt_coefficient().unwrap_or_else(BoxedUint::zero);
        let zero = BoxedUint::zero();
        for part in [
            primes.first().map(|p| p.as_ref()).unwrap_or(&zero),
            primes.get(1).map(|p| p.as_ref()).unwrap_or(&zero),
            self.key.dp().unwrap_or(&zero),
            self.key.dq().unwrap_or(&zero),
            &crt,
        ] {
            blob.extend(field(part, n / 2));
        }
        blob.extend(field(self.key.d(), n));
        blob
    }
}

/// `v` without leading zero bytes.
fn strip(v: &[u8]) -> &[u8] {
    &v[v.iter().position(|&b| b != 0).unwrap_or(v.len())..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::hash::SHA;

    #[test]
    fn emsa_shape() {
        let em = emsa_pkcs1_v15(&[0xAA; 35], 128).unwrap();
        assert_eq!(em.len(), 128);
        assert_eq!(&em[..2], &[0, 1]);
        assert_eq!(em[128 - 36], 0);
        assert!(em[2..128 - 36].iter().all(|&b| b == 0xFF));
        assert!(emsa_pkcs1_v15(&[0; 118], 128).is_none());
    }

    #[test]
    fn type2_decoding() {
        let mut em = vec![0, 2];
        em.extend([7; 8]);
        em.push(0);
        em.extend(b"key");
        assert_eq!(decode_pkcs1_type2(&em).unwrap(), b"key");
        em[2] = 0;
        assert!(decode_pkcs1_type2(&em).is_none(), "PS shorter than 8");
        assert!(decode_pkcs1_type2(&[0, 1, 5, 5, 5, 5, 5, 5, 5, 5, 0]).is_none());
    }

    /// The CSP-side decoders undo what the `rsa` crate encodes (a real key, the raw private operation).
    #[test]
    fn decoders_round_trip_with_a_real_key() {
        let private = rsa::PrivateKey::new(&mut rng(1), 1024).unwrap();
        let public = private.to_public_key();
        let key = RsaKey::new(&public.n().to_be_bytes(), &public.e().to_be_bytes()).unwrap();
        let decrypt = |c: &[u8]| {
            let c = BoxedUint::from_be_slice(c, private.n().bits_precision()).unwrap();
            let m = rsa::hazmat::rsa_decrypt(None::<&mut ChaCha20Rng>, &private, &c).unwrap();
            let m = m.to_be_bytes();
            let mut em = vec![0u8; 128 - m.len().min(128)];
            em.extend_from_slice(&m[m.len().saturating_sub(128)..]);
            em
        };
        let msg = b"content key".to_vec();
        for hash in SHA.iter().take(3) {
            let c = key.encrypt_oaep(*hash, Some(b"L"), &msg, 2).unwrap();
            assert_eq!(
                decode_oaep(&decrypt(&c), *hash, b"L"),
                Some(msg.clone()),
                "{hash:?}"
            );
            assert_eq!(decode_oaep(&decrypt(&c), *hash, b"other"), None);
        }
        let c = key.encrypt_pkcs1(&msg, 3).unwrap();
        assert_eq!(decode_pkcs1_type2(&decrypt(&c)), Some(msg.clone()));
        // The raw public operation inverts the private one.
        let block = decrypt(&c);
        assert_eq!(key.raw(&block).unwrap(), c);
    }

    #[test]
    fn mgf1_known_answer() {
        assert_eq!(mgf1(Hash::Sha1, b"foo", 3), [0x1a, 0xc9, 0x07]);
    }
}
