//! Prints the timing distribution of in-module padding removal for valid and invalid blocks, so that a
//! data-dependent difference would show. Run with `cargo bench -p tessera-minidriver --bench unpad_timing`.
//! Constant-time behaviour is established by construction (see `crypto::padding`); this is the
//! measurement that backs it.
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark: a failed unwrap is a failed benchmark"
)]

use std::hint::black_box;
use std::time::Instant;

use tessera_minidriver::bench::{DecryptPadding, HashAlg, unpad};

const K: usize = 256;
const SAMPLES: usize = 20_000;

fn lcg(state: &mut u64) -> u8 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*state >> 33) as u8
}

fn pkcs1_block(valid: bool, state: &mut u64) -> Vec<u8> {
    let msg_len = 1 + usize::from(lcg(state)) % 200;
    let mut em = vec![0u8, 2];
    while em.len() < K - msg_len - 1 {
        em.push(lcg(state) | 1);
    }
    em.push(0);
    while em.len() < K {
        em.push(lcg(state));
    }
    if !valid {
        match lcg(state) % 3 {
            0 => em[1] = 1,
            1 => em[5] = 0,
            _ => em[K - msg_len - 1] = 7,
        }
    }
    em
}

/// EME-OAEP with SHA-256 and an empty label (RFC 8017 §7.1.1); invalid blocks get one bit flipped.
fn oaep_block(valid: bool, state: &mut u64) -> Vec<u8> {
    let h = HashAlg::Sha256;
    let msg: Vec<u8> = (0..usize::from(lcg(state)) % 150).map(|_| lcg(state)).collect();
    let seed: Vec<u8> = (0..32).map(|_| lcg(state)).collect();
    let mut db = h.digest(&[b""]);
    db.resize(K - msg.len() - 34, 0);
    db.push(1);
    db.extend_from_slice(&msg);
    let masked_db: Vec<u8> = db
        .iter()
        .zip(h.mgf1(&seed, K - 33).iter())
        .map(|(a, b)| a ^ b)
        .collect();
    let masked_seed: Vec<u8> = seed
        .iter()
        .zip(h.mgf1(&masked_db, 32).iter())
        .map(|(a, b)| a ^ b)
        .collect();
    let mut em = [vec![0u8], masked_seed, masked_db].concat();
    if !valid {
        let at = 1 + usize::from(lcg(state)) % (K - 1);
        em[at] ^= 1 << (lcg(state) % 8);
    }
    em
}

fn percentile(sorted: &[u128], p: f64) -> u128 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn measure(label: &str, padding: &DecryptPadding, make: impl Fn(bool, &mut u64) -> Vec<u8>) {
    let mut state = 0x5EED;
    let blocks: Vec<(bool, Vec<u8>)> = (0..SAMPLES)
        .map(|i| (i % 2 == 0, make(i % 2 == 0, &mut state)))
        .collect();
    // Warm up.
    for (_, b) in blocks.iter().take(1000) {
        let _ = black_box(unpad(black_box(b), padding));
    }
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for (valid, b) in &blocks {
        let start = Instant::now();
        let r = black_box(unpad(black_box(b), padding));
        let ns = start.elapsed().as_nanos();
        if r.is_ok() {
            ok.push(ns);
        } else {
            bad.push(ns);
        }
        let _ = valid;
    }
    ok.sort_unstable();
    bad.sort_unstable();
    for (name, v) in [("valid", &ok), ("invalid", &bad)] {
        if v.is_empty() {
            continue;
        }
        println!(
            "{label:<14} {name:<8} n={:<6} min={:>7} p10={:>7} median={:>7} p90={:>7} p99={:>7} ns",
            v.len(),
            v[0],
            percentile(v, 0.10),
            percentile(v, 0.50),
            percentile(v, 0.90),
            percentile(v, 0.99)
        );
    }
    if let (Some(_), Some(_)) = (ok.first(), bad.first()) {
        let (m_ok, m_bad) = (percentile(&ok, 0.5) as f64, percentile(&bad, 0.5) as f64);
        println!("{label:<14} median invalid/valid = {:.3}", m_bad / m_ok);
    }
}

fn main() {
    println!("in-module unpadding of {K}-byte blocks, {SAMPLES} samples per scheme (half valid)");
    measure("PKCS#1 v1.5", &DecryptPadding::Pkcs1, pkcs1_block);
    measure(
        "OAEP-SHA256",
        &DecryptPadding::Oaep {
            hash: HashAlg::Sha256,
            label: Vec::new(),
        },
        oaep_block,
    );
}
