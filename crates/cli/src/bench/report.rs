//! The figures: one row per scenario (APDUs, bytes each way, the module's time, the total with the
//! simulated latency per APDU), the calls behind each row, and the medians per kind of call; as a table
//! and as JSON for tracking.

use std::time::Duration;

use serde::Serialize;
use tessera_conformance::codes;

use super::csp::{CallRecord, Stop};
use super::scenarios::Outcome;
use crate::style;

/// One scenario's figures, over its rounds.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// `S1` … `S8`.
    pub id: &'static str,
    /// What it does.
    pub title: &'static str,
    /// `ok`, `unavailable` (the module does not offer it yet) or `failed`.
    pub status: &'static str,
    /// Why it is unavailable or failed.
    pub reason: Option<String>,
    /// Command APDUs.
    pub apdus: u64,
    /// Bytes sent to the card.
    pub bytes_to_card: u64,
    /// Bytes received from it.
    pub bytes_from_card: u64,
    /// The module's own time, summed over the calls (median of the rounds per call), µs.
    pub module_us: f64,
    /// The median of the calls that reached the module, µs.
    pub median_call_us: f64,
    /// `module_us` plus the latency for every APDU, ms.
    pub total_ms_at_latency: f64,
    /// S8: whether the change was seen.
    pub change_seen: Option<bool>,
    /// How many times it ran.
    pub rounds: usize,
    /// Remarks.
    pub notes: Vec<String>,
    /// The calls (of the first round, with each call's median time over the rounds).
    pub calls: Vec<CallReport>,
}

/// One call in a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    /// The entry point and its arguments.
    pub call: String,
    /// The code's name.
    pub code: String,
    /// Answered from the CSP's cache (no module call).
    pub from_cache: bool,
    /// Command APDUs.
    pub apdus: u64,
    /// Bytes to the card.
    pub bytes_to_card: u64,
    /// Bytes from the card.
    pub bytes_from_card: u64,
    /// The module's time, µs (median over the rounds).
    pub module_us: f64,
}

/// Median of the module's time per kind of call, µs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Medians {
    /// File reads, container information, properties.
    pub reads_us: Option<f64>,
    /// Signatures, decryptions, agreements, key derivations (the bookkeeping around the card's work).
    pub crypto_us: Option<f64>,
    /// Everything else (acquire, authenticate, writes, delete).
    pub other_us: Option<f64>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `tessera` version.
    pub tessera: &'static str,
    /// `release` or `debug` (whose times say little).
    pub build: &'static str,
    /// `in-process` or `pcscd`.
    pub mode: &'static str,
    /// The reader, through pcscd.
    pub reader: Option<String>,
    /// The card's ATR announces extended length.
    pub card_announces_extended_length: bool,
    /// How the module framed its commands: `extended` when it was handed an ATR announcing extended
    /// length, `short` otherwise (`--short-apdus` hands it one without).
    pub framing: &'static str,
    /// `CP_CARD_CACHE_MODE` as the module reported it.
    pub cache_mode: Option<&'static str>,
    /// Simulated latency per APDU, ms.
    pub latency_ms: f64,
    /// The scenarios.
    pub scenarios: Vec<ScenarioReport>,
    /// Medians per kind of call, over every scenario.
    pub medians: Medians,
}

fn micros(d: Duration) -> f64 {
    (d.as_nanos() as f64 / 1000.0 * 10.0).round() / 10.0
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// What kind of call `label` is.
fn kind(label: &str) -> usize {
    const READS: [&str; 5] = [
        "CardReadFile",
        "CardGetContainerInfo",
        "CardGetProperty",
        "CardGetContainerProperty",
        "CardGetFileInfo",
    ];
    const CRYPTO: [&str; 4] = [
        "CardSignData",
        "CardRSADecrypt",
        "CardConstructDHAgreement",
        "CardDeriveKey",
    ];
    let name = label.split('(').next().unwrap_or(label);
    if READS.contains(&name) {
        0
    } else if CRYPTO.contains(&name) {
        1
    } else {
        2
    }
}

/// Sums up the rounds of one scenario.
pub fn summarise(
    id: &'static str,
    title: &'static str,
    rounds: &[Outcome],
    latency: Duration,
) -> ScenarioReport {
    let first = rounds.first().cloned().unwrap_or_default();
    let mut notes = first.notes.clone();
    let same_shape = |o: &Outcome| {
        o.calls.len() == first.calls.len()
            && o.calls
                .iter()
                .zip(&first.calls)
                .all(|(a, b)| a.call == b.call && a.cost.apdus == b.cost.apdus)
    };
    let comparable: Vec<&Outcome> = rounds.iter().filter(|o| same_shape(o)).collect();
    if comparable.len() < rounds.len() {
        let counts: Vec<u64> = rounds
            .iter()
            .map(|o| o.calls.iter().map(|c| c.cost.apdus).sum())
            .collect();
        notes.push(format!(
            "the rounds differed (APDUs per round: {counts:?}); figures of the first round, times of the \
             rounds alike"
        ));
    }
    let calls: Vec<CallReport> = first
        .calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let times: Vec<f64> = comparable
                .iter()
                .filter_map(|o| o.calls.get(i))
                .map(|c| micros(c.module_time))
                .collect();
            call_report(c, median(times).unwrap_or(0.0))
        })
        .collect();
    let apdus: u64 = calls.iter().map(|c| c.apdus).sum();
    let module_us: f64 = calls.iter().map(|c| c.module_us).sum();
    let module_calls: Vec<f64> = calls
        .iter()
        .filter(|c| !c.from_cache)
        .map(|c| c.module_us)
        .collect();
    let (status, reason) = match &first.stop {
        None => ("ok", None),
        Some(Stop::Unavailable(why)) => ("unavailable", Some(why.clone())),
        Some(Stop::Failed(why)) => ("failed", Some(why.clone())),
    };
    ScenarioReport {
        id,
        title,
        status,
        reason,
        apdus,
        bytes_to_card: calls.iter().map(|c| c.bytes_to_card).sum(),
        bytes_from_card: calls.iter().map(|c| c.bytes_from_card).sum(),
        module_us: (module_us * 10.0).round() / 10.0,
        median_call_us: median(module_calls).unwrap_or(0.0),
        total_ms_at_latency: ((module_us / 1000.0 + apdus as f64 * latency.as_secs_f64() * 1000.0) * 10.0)
            .round()
            / 10.0,
        change_seen: first.change_seen,
        rounds: rounds.len(),
        notes,
        calls,
    }
}

fn call_report(c: &CallRecord, module_us: f64) -> CallReport {
    CallReport {
        call: c.call.clone(),
        code: codes::name(c.code),
        from_cache: c.from_cache,
        apdus: c.cost.apdus,
        bytes_to_card: c.cost.bytes_to_card,
        bytes_from_card: c.cost.bytes_from_card,
        module_us,
    }
}

/// The medians per kind of call over every scenario that ran.
pub fn medians(scenarios: &[ScenarioReport]) -> Medians {
    let mut groups: [Vec<f64>; 3] = Default::default();
    for c in scenarios.iter().flat_map(|s| &s.calls).filter(|c| !c.from_cache) {
        groups[kind(&c.call)].push(c.module_us);
    }
    let [reads, crypto, other] = groups;
    Medians {
        reads_us: median(reads),
        crypto_us: median(crypto),
        other_us: median(other),
    }
}

fn status_cell(s: &ScenarioReport) -> String {
    match (s.status, s.change_seen) {
        ("ok", Some(true)) => style::good("change seen"),
        ("ok", Some(false)) => style::warn("change NOT seen"),
        ("ok", None) => style::good("ok"),
        ("unavailable", _) => style::warn("not available yet"),
        _ => style::bad("FAILED"),
    }
}

/// The summary table, the notes, and (with `calls`) every scenario's calls.
pub fn render(report: &Report, calls: bool) -> String {
    let latency = report.latency_ms;
    let header = [
        "",
        "scenario",
        "APDUs",
        "bytes to card",
        "bytes from card",
        "module µs",
        "median µs/call",
        &format!("total ms @ {latency} ms/APDU"),
        "result",
    ];
    let rows: Vec<Vec<String>> = report
        .scenarios
        .iter()
        .map(|s| {
            vec![
                s.id.to_owned(),
                s.title.to_owned(),
                s.apdus.to_string(),
                s.bytes_to_card.to_string(),
                s.bytes_from_card.to_string(),
                format!("{:.1}", s.module_us),
                format!("{:.1}", s.median_call_us),
                format!("{:.1}", s.total_ms_at_latency),
                status_cell(s),
            ]
        })
        .collect();
    let mut out = format!(
        "tessera bench: {} ({}), CSP cache mode {}, card {} extended length, module frames {} APDUs\n\n",
        report.mode,
        report.reader.as_deref().unwrap_or("virtual card linked in"),
        report.cache_mode.unwrap_or("unknown"),
        if report.card_announces_extended_length {
            "announces"
        } else {
            "does not announce"
        },
        report.framing,
    );
    if report.build == "debug" {
        out.push_str(&style::warn(
            "a debug build: the times say little (cargo run --release -p tessera-cli -- bench)\n\n",
        ));
    }
    out.push_str(&style::table(&header, &rows));
    let m = report.medians;
    let show = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.1} µs"));
    out.push_str(&format!(
        "\nmodule time per CSP call (card time excluded), median: reads {}, sign/decrypt/agree {}, other {}\n",
        show(m.reads_us),
        show(m.crypto_us),
        show(m.other_us)
    ));
    for s in &report.scenarios {
        if let Some(reason) = &s.reason {
            let status = if s.status == "unavailable" {
                "not available yet"
            } else {
                "FAILED"
            };
            out.push_str(&format!("{}: {status}: {reason}\n", s.id));
        }
        for note in &s.notes {
            out.push_str(&format!("{}: {note}\n", s.id));
        }
    }
    if calls {
        for s in &report.scenarios {
            out.push_str(&format!("\n{} {}\n", s.id, s.title));
            let rows: Vec<Vec<String>> = s
                .calls
                .iter()
                .map(|c| {
                    vec![
                        c.call.clone(),
                        if c.from_cache {
                            "CSP cache".into()
                        } else {
                            c.code.clone()
                        },
                        c.apdus.to_string(),
                        c.bytes_to_card.to_string(),
                        c.bytes_from_card.to_string(),
                        format!("{:.1}", c.module_us),
                    ]
                })
                .collect();
            out.push_str(&style::table(
                &["call", "answer", "APDUs", "to card", "from card", "module µs"],
                &rows,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::meter::Reading;

    fn call(name: &str, apdus: u64, micros: u64) -> CallRecord {
        CallRecord {
            call: name.into(),
            code: 0,
            from_cache: false,
            cost: Reading {
                apdus,
                bytes_to_card: 10 * apdus,
                bytes_from_card: 20 * apdus,
                card_time: Duration::ZERO,
            },
            module_time: Duration::from_micros(micros),
        }
    }

    #[test]
    fn rounds_sum_up_to_the_first_rounds_counts_and_the_median_times() {
        let round = |t: u64| Outcome {
            calls: vec![
                call("CardReadFile(cardid)", 2, t),
                call("CardSignData(0, RSA)", 3, 3 * t),
            ],
            ..Outcome::default()
        };
        let s = summarise(
            "S1",
            "cold logon",
            &[round(10), round(30), round(20)],
            Duration::from_millis(10),
        );
        assert_eq!((s.apdus, s.bytes_to_card, s.bytes_from_card), (5, 50, 100));
        assert_eq!(s.calls[0].module_us, 20.0);
        assert_eq!(s.calls[1].module_us, 60.0);
        assert_eq!(s.module_us, 80.0);
        assert_eq!(s.median_call_us, 40.0);
        assert_eq!(s.total_ms_at_latency, 50.1, "5 APDUs × 10 ms + 80 µs");
        let m = medians(&[s]);
        assert_eq!(
            (m.reads_us, m.crypto_us, m.other_us),
            (Some(20.0), Some(60.0), None)
        );
    }

    #[test]
    fn an_unavailable_scenario_says_why_and_is_not_a_failure() {
        let o = Outcome {
            calls: vec![call("CardCreateContainerEx(6)", 0, 5)],
            stop: Some(Stop::Unavailable(
                "CardCreateContainerEx answered SCARD_E_UNSUPPORTED_FEATURE".into(),
            )),
            ..Outcome::default()
        };
        let s = summarise("S6", "enrollment", &[o], Duration::from_millis(10));
        assert_eq!(s.status, "unavailable");
        assert!(s.reason.as_deref().is_some_and(|r| r.contains("UNSUPPORTED")));
    }
}
