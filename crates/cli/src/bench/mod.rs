//! `tessera bench`: what the card module costs, measured through the Base CSP's calls (the conformance
//! harness's CSP side: its `CARD_DATA` callbacks and its data cache, which follows the `cardcf`
//! freshness protocol) with Tessera's module linked in, against a virtual card in this process or the
//! card in a reader through pcscd. Every scenario ([`scenarios`]) is checked end to end; the figures are
//! APDUs, bytes each way, the module's own time per call (the time spent inside the transport — the
//! card's work, pcscd's round trip — subtracted) and the total with a simulated latency per APDU.
//!
//! Exit status: 0 when every scenario ran or is not available yet (the module answers
//! `SCARD_E_UNSUPPORTED_FEATURE`), 1 when one failed (a wrong answer, an unexpected code).

pub mod certs;
pub mod csp;
pub mod meter;
pub mod report;
pub mod scenarios;
pub mod second_process;
pub mod setup;

use std::time::Duration;

use tessera_conformance::ffi::alloc;
use tessera_piv::CardCapabilities;

use self::csp::{BaseCsp, Stop};
use self::meter::Meter;
use self::report::{Report, summarise};
use self::scenarios::Outcome;
use self::second_process::{CardPlace, Job};
use self::setup::{Layout, Scratch};
use crate::admin;
use crate::args::BenchArgs;
use crate::card::{Card, CardSource};
use crate::errors::{CliError, CliResult, ExitCode};

/// Runs the bench (or, with `--second-process`, S7's second process).
pub fn run(args: &BenchArgs) -> CliResult<u8> {
    if let Some(job) = &args.second_process {
        second_process::serve(job)?;
        return Ok(ExitCode::Success as u8);
    }
    if !(args.latency.is_finite() && args.latency >= 0.0) {
        return Err(CliError::Input(format!(
            "--latency {} is not a duration",
            args.latency
        )));
    }
    if args.short_apdus {
        csp::announce_short_apdus_only();
    }
    let _exclusive = alloc::exclusive();
    let scratch = Scratch::new()?;
    let (card, place, fixture) = if args.through_pcscd {
        let card = Card::open(&CardSource::from_options(None, args.reader.as_deref()), false)?;
        admin::confirm(
            &card,
            args.yes,
            "The bench enrolls a P-256 key (S6) and replaces the logon certificate (S8)",
        )?;
        let fixture = if args.provision {
            admin::confirm(
                &card,
                args.yes,
                "Overwrite the keys in 9A, 9C, 9D, 9E, 82 and 83 with the bench's",
            )?;
            setup::provision(&card)?
        } else {
            setup::discover(&card)?
        };
        let name = card.reader_name().unwrap_or_default().to_owned();
        (card, CardPlace::Reader(name), fixture)
    } else {
        let path = scratch.path().join("card.json");
        let card = Card::virtual_file(&path, true)?;
        let fixture = setup::provision(&card)?;
        (card, CardPlace::VirtualFile(path), fixture)
    };
    let layout = setup::layout(&card, &fixture)?;
    let logon_certificate = fixture
        .slot(layout.logon.slot)
        .and_then(|s| s.certificate.clone())
        .unwrap_or_default();
    let meter = Meter::new();
    let mut csp = BaseCsp::new(&meter);
    let rounds = args.rounds as usize;
    let latency = Duration::from_secs_f64(args.latency / 1000.0);

    let s1: Vec<Outcome> = (0..rounds)
        .map(|_| scenarios::s1_cold_logon(&mut csp, &card, &layout, &meter))
        .collect();
    let mut s2 = Vec::new();
    let mut context = None;
    for _ in 0..rounds {
        let (outcome, ctx) = scenarios::s2_warm_logon(&mut csp, &card, &layout, &meter);
        s2.push(outcome);
        context = ctx;
    }
    if let Some(first) = s2.first_mut() {
        let (own, module) = csp.entries();
        first.notes.push(format!(
            "the CSP cache held {own} of the CSP's own entries and {module} of the module's"
        ));
    }
    let (mut s3, mut s4, mut s5) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        match &context {
            Some(ctx) => {
                s3.push(scenarios::s3_ecdsa(&mut csp, ctx, &layout, &meter));
                s4.push(scenarios::s4_decrypt(&mut csp, ctx, &layout, &meter));
                s5.push(scenarios::s5_ecdh_tls(&mut csp, ctx, &layout, &meter));
            }
            None => {
                let no = || Outcome {
                    stop: Some(Stop::Failed("S2 opened no context to work in".into())),
                    ..Outcome::default()
                };
                s3.push(no());
                s4.push(no());
                s5.push(no());
            }
        }
    }
    drop(context);
    let s7: Vec<Outcome> = (0..rounds)
        .map(|_| second_process(&csp, &place, &layout, &logon_certificate, &scratch))
        .collect();
    let s9: Vec<Outcome> = (0..rounds).map(|_| scenarios::s9_list(&card, &meter)).collect();
    let s3c: Vec<Outcome> = (0..rounds)
        .map(|_| scenarios::cold(&card, &layout, &meter, scenarios::s3_ecdsa))
        .collect();
    let s4c: Vec<Outcome> = (0..rounds)
        .map(|_| scenarios::cold(&card, &layout, &meter, scenarios::s4_decrypt))
        .collect();
    let s6 = vec![scenarios::s6_enroll(&mut csp, &card, &meter)];
    // S6 gave the card the freshness object (cardcf), as any write through the module does: a logon
    // here fills the CSP's cache under it, and a new process finds what the global cache keeps.
    let _ = scenarios::s2_warm_logon(&mut csp, &card, &layout, &meter);
    let s7w = vec![second_process(
        &csp,
        &place,
        &layout,
        &logon_certificate,
        &scratch,
    )];
    let s8 = vec![scenarios::s8_changed_elsewhere(&mut csp, &card, &layout, &meter)];

    let scenarios = vec![
        summarise("S1", "cold logon", &s1, latency),
        summarise("S2", "warm logon", &s2, latency),
        summarise("S3", "ECDSA P-256 sign, warm", &s3, latency),
        summarise("S4", "RSA-OAEP decrypt, warm", &s4, latency),
        summarise("S5", "ECDH + TLS PRF, warm", &s5, latency),
        summarise("S6", "enrollment", &s6, latency),
        summarise("S7", "second process, first logon", &s7, latency),
        summarise("S7w", "second process, card written by Tessera", &s7w, latency),
        summarise("S8", "changed by another tool", &s8, latency),
        summarise("S9", "list containers and certificates", &s9, latency),
        summarise("S3c", "ECDSA P-256 sign, new context", &s3c, latency),
        summarise("S4c", "RSA-OAEP decrypt, new context", &s4c, latency),
    ];
    let report = Report {
        tessera: env!("CARGO_PKG_VERSION"),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        mode: if args.through_pcscd { "pcscd" } else { "in-process" },
        reader: card.reader_name().map(str::to_owned),
        card_announces_extended_length: CardCapabilities::from_atr(card.atr())
            .is_some_and(|c| c.extended_length),
        framing: if !args.short_apdus
            && CardCapabilities::from_atr(card.atr()).is_some_and(|c| c.extended_length)
        {
            "extended"
        } else {
            "short"
        },
        cache_mode: csp.mode().map(csp::CacheMode::name),
        latency_ms: args.latency,
        medians: report::medians(&scenarios),
        scenarios,
    };
    print!("{}", report::render(&report, args.calls));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| CliError::Input(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| CliError::Input(format!("writing {}: {e}", path.display())))?;
    }
    let failed = report.scenarios.iter().any(|s| s.status == "failed");
    Ok(if failed {
        ExitCode::Failed as u8
    } else {
        ExitCode::Success as u8
    })
}

/// S7: the logon as a new process does it, with the cache this process leaves it.
fn second_process(
    csp: &BaseCsp,
    place: &CardPlace,
    layout: &Layout,
    certificate: &[u8],
    scratch: &Scratch,
) -> Outcome {
    let job = Job {
        card: place.clone(),
        cache: csp.snapshot_for_another_process(),
        slot: layout.logon.slot.0,
        index: layout.logon.index,
        key_spec: layout.logon.key_spec,
        certificate_file: layout.logon.certificate_file.clone(),
        certificate: hex::encode(certificate),
        short_apdus: csp::short_apdus_only(),
    };
    second_process::run(&job, scratch.path()).unwrap_or_else(|e| Outcome {
        stop: Some(Stop::Failed(e.to_string())),
        ..Outcome::default()
    })
}
