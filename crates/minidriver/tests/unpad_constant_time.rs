//! In-module PKCS#1 v1.5 and OAEP unpadding (RFC 8017 §7.1.2, §7.2.2) answers every invalid padding with
//! the one same code, `SCARD_E_INVALID_VALUE`, and returns the right plaintext for every valid one: an
//! error that depended on where the padding is wrong would be a Bleichenbacher/Manger oracle (the
//! Marvin attack).
//! More than 10 000 paddings go through `CardRSADecrypt` (ABI → virtual card raw RSA → unpadding).
//! The blocks are built here, independently of the module's decoder, and raw-encrypted with RustCrypto.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]
#![allow(unsafe_code, reason = "plays the CSP through the C ABI")]

mod common;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use rsa::BoxedUint;
use rsa::hazmat::rsa_encrypt;
use sha2::{Digest, Sha256};
use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, PublicKey};
use windows_sys::Win32::Security::Cryptography::{BCRYPT_OAEP_PADDING_INFO, CARD_RSA_DECRYPT_INFO};

use common::{Context, TestCard};

const K: usize = 128; // RSA-1024: fast enough for ten thousand card operations
const SCARD_E_INVALID_VALUE: u32 = 0x8010_0011;
const CASES_PER_SCHEME: usize = 6000;

fn mgf1(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut c = 0u32;
    while out.len() < len {
        out.extend(
            Sha256::new()
                .chain_update(seed)
                .chain_update(c.to_be_bytes())
                .finalize(),
        );
        c += 1;
    }
    out.truncate(len);
    out
}

/// EME-OAEP encoding with SHA-256 and an empty label (RFC 8017 §7.1.1), written independently here.
fn oaep_encode(msg: &[u8], seed: &[u8; 32]) -> Vec<u8> {
    let l_hash = Sha256::digest(b"");
    let mut db = l_hash.to_vec();
    db.extend(vec![0u8; K - msg.len() - 2 * 32 - 2]);
    db.push(1);
    db.extend_from_slice(msg);
    let masked_db: Vec<u8> = db.iter().zip(mgf1(seed, K - 33)).map(|(a, b)| a ^ b).collect();
    let masked_seed: Vec<u8> = seed
        .iter()
        .zip(mgf1(&masked_db, 32))
        .map(|(a, b)| a ^ b)
        .collect();
    [vec![0u8], masked_seed, masked_db].concat()
}

fn pkcs1_encode(msg: &[u8], rng: &mut ChaCha20Rng) -> Vec<u8> {
    let mut em = vec![0u8, 2];
    for _ in 0..K - 3 - msg.len() {
        em.push(loop {
            let b = (rng.next_u32() & 0xFF) as u8;
            if b != 0 {
                break b;
            }
        });
    }
    em.push(0);
    em.extend_from_slice(msg);
    em
}

/// Deterministically corrupts a valid encoding in one of several ways; never makes it `>= n`.
fn corrupt(mut em: Vec<u8>, oaep: bool, case: usize, rng: &mut ChaCha20Rng) -> Vec<u8> {
    let r = rng.next_u32() as usize;
    match case % 6 {
        0 => em[0] = 0x01 + (r % 0x3F) as u8, // leading byte not zero (stays below n's top byte)
        1 => em[1] ^= 1 + (r % 0xFE) as u8,   // PKCS#1: block type / OAEP: first seed byte
        2 if !oaep => em[2 + r % 8] = 0,      // PS shorter than 8 bytes
        2 => em[1 + 32 + (r % 32)] ^= 0x80,   // OAEP: lHash wrong
        3 if !oaep => {
            for b in em.iter_mut().skip(2) {
                // no separator at all
                if *b == 0 {
                    *b = 0x5A;
                }
            }
        }
        3 => em[K - 1 - r % 40] ^= 1 << (r % 8), // OAEP: message or separator area
        4 => {
            for b in em.iter_mut().skip(1) {
                // all random after the leading zero
                *b = (rng.next_u32() & 0xFF) as u8;
            }
            if !oaep {
                em[1] = 0x03;
            }
        }
        _ if !oaep => em[2] = 0, // separator right after the block type: empty PS
        _ => em[1 + r % (K - 2)] ^= 0xFF, // OAEP: a byte flipped anywhere scrambles seed and DB
    }
    em
}

fn decrypt(ctx: &Context, ciphertext_be: &[u8], oaep: bool) -> Result<Vec<u8>, u32> {
    let mut buf: Vec<u8> = ciphertext_be.iter().rev().copied().collect();
    let empty_label: [u8; 0] = [];
    let alg: Vec<u16> = "SHA256".encode_utf16().chain([0]).collect();
    let oaep_info = BCRYPT_OAEP_PADDING_INFO {
        pszAlgId: alg.as_ptr(),
        pbLabel: empty_label.as_ptr() as *mut u8,
        cbLabel: 0,
    };
    let mut info = CARD_RSA_DECRYPT_INFO {
        dwVersion: 2,
        bContainerIndex: 0,
        dwKeySpec: 1,
        pbData: buf.as_mut_ptr(),
        cbData: K as u32,
        pPaddingInfo: if oaep {
            &oaep_info as *const _ as *mut _
        } else {
            std::ptr::null_mut()
        },
        dwPaddingType: if oaep { 8 } else { 2 },
    };
    // SAFETY: valid arguments.
    let rc = unsafe { ctx.cd.pfnCardRSADecrypt.unwrap()(&*ctx.cd, &mut info) };
    if rc != 0 {
        return Err(rc);
    }
    let mut plain = buf[..info.cbData as usize].to_vec();
    plain.reverse(); // the interface returns the plaintext byte-reversed
    Ok(plain)
}

#[test]
fn every_invalid_padding_gets_the_same_code() {
    let card = TestCard::new(11);
    let PublicKey::Rsa {
        modulus, exponent, ..
    } = card.generate(KeyRef::AUTHENTICATION, AlgorithmId::RSA1024, PinPolicy::Never)
    else {
        panic!("RSA key expected")
    };
    let public = rsa::PublicKey::new(
        BoxedUint::from_be_slice_vartime(&modulus),
        BoxedUint::from_be_slice_vartime(&exponent),
    )
    .unwrap();
    let raw_encrypt = |em: &[u8]| -> Vec<u8> {
        let m = BoxedUint::from_be_slice(em, (K * 8) as u32).unwrap();
        let c = rsa_encrypt(&public, &m).unwrap();
        let bytes = c.to_be_bytes();
        let mut out = vec![0u8; K - bytes.len().min(K)];
        out.extend_from_slice(&bytes[bytes.len().saturating_sub(K)..]);
        out
    };
    // The 9A key is exposed as an RSA exchange key at container 0; PIN policy NEVER needs no login.
    let ctx = Context::acquire(&card.card, 7);
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let (mut valid, mut invalid) = (0, 0);
    for oaep in [false, true] {
        let max_msg = if oaep { K - 66 } else { K - 11 };
        for case in 0..CASES_PER_SCHEME {
            let msg: Vec<u8> = (0..(rng.next_u32() as usize % (max_msg + 1)))
                .map(|_| rng.next_u32() as u8)
                .collect();
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let em = if oaep {
                oaep_encode(&msg, &seed)
            } else {
                pkcs1_encode(&msg, &mut rng)
            };
            if case % 2 == 0 {
                assert_eq!(
                    decrypt(&ctx, &raw_encrypt(&em), oaep),
                    Ok(msg),
                    "valid case {case} (oaep={oaep})"
                );
                valid += 1;
            } else {
                let bad = corrupt(em, oaep, case / 2, &mut rng);
                assert_eq!(
                    decrypt(&ctx, &raw_encrypt(&bad), oaep),
                    Err(SCARD_E_INVALID_VALUE),
                    "invalid case {case} (oaep={oaep})"
                );
                invalid += 1;
            }
        }
    }
    // Also ciphertexts made by RustCrypto's own OAEP encoder.
    for i in 0..200 {
        let msg = vec![i as u8; i % 60];
        let c = public.oaep_encrypt::<Sha256>(&msg).unwrap();
        assert_eq!(decrypt(&ctx, &c, true), Ok(msg));
        valid += 1;
    }
    println!("{valid} valid and {invalid} invalid paddings checked");
    assert!(valid + invalid >= 10_000);
}
