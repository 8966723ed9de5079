//! RSA key generation time through the card (GENERATE APDU), printed rather than asserted: run with
//! `cargo test -p tessera-virtual-card --test keygen_timing -- --ignored --nocapture`.
#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap is a failed test")]

mod common;

use std::time::Instant;

use tessera_piv::{AlgorithmId, KeyRef, PinPolicy, TouchPolicy};

#[test]
#[ignore = "benchmark: prints figures"]
fn rsa_generation_time() {
    for (alg, runs) in [
        (AlgorithmId::RSA2048, 10),
        (AlgorithmId::RSA3072, 3),
        (AlgorithmId::RSA4096, 3),
    ] {
        let mut times = Vec::new();
        for seed in 0..runs {
            let mut card = common::card(100 + seed);
            let mut s = common::admin_session(&mut card);
            let started = Instant::now();
            s.generate_key_pair(
                KeyRef::AUTHENTICATION,
                alg,
                PinPolicy::Default,
                TouchPolicy::Default,
            )
            .unwrap();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{alg}: {runs} generations, min {:?}, median {:?}, max {:?}",
            times[0],
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
}
