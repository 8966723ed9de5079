//! The run's report: one row per case (result, code returned vs expected, APDUs and bytes), as a
//! readable table ending with the line `N passed, N failed`, or as JSON.

use std::fmt::Write as _;

use serde::Serialize;

/// A case's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// All checks held.
    Pass,
    /// At least one check failed.
    Fail,
    /// Not applicable to this module or card.
    Skip,
}

/// One case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// Suite.
    pub suite: String,
    /// Case.
    pub name: String,
    /// The algorithm and operation it counts for (`RSA-2048 sign`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// Result.
    pub status: Status,
    /// Expected code(s) of the main call, by name.
    pub expected: Option<String>,
    /// Returned code of the main call, by name.
    pub returned: Option<String>,
    /// APDUs the case cost (`None` = unknown).
    pub apdus: Option<u64>,
    /// Bytes (command + response) the case cost.
    pub bytes: Option<u64>,
    /// Wall time of the case, milliseconds.
    pub millis: u64,
    /// Why it failed.
    pub details: Vec<String>,
    /// Remarks.
    pub notes: Vec<String>,
}

/// The run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The module tested.
    pub module: String,
    /// `virtual` or `pcsc`.
    pub card: String,
    /// Every case.
    pub cases: Vec<CaseReport>,
    /// Cases passed.
    pub passed: usize,
    /// Cases failed.
    pub failed: usize,
    /// Cases skipped.
    pub skipped: usize,
    /// pfnCspAlloc blocks still live after the last case (0 when everything was freed).
    pub allocator_live_at_end: usize,
    /// Cases per algorithm and operation, in first-seen order.
    pub algorithms: Vec<AlgorithmCount>,
}

/// The cases of one algorithm and operation (`RSA-2048 sign`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlgorithmCount {
    /// Algorithm and operation.
    pub algorithm: String,
    /// Cases passed.
    pub passed: usize,
    /// Cases failed.
    pub failed: usize,
    /// Cases skipped.
    pub skipped: usize,
}

impl Report {
    /// An empty report.
    pub fn new(module: &str, virtual_card: bool) -> Self {
        Self {
            module: module.to_owned(),
            card: if virtual_card { "virtual" } else { "pcsc" }.to_owned(),
            cases: Vec::new(),
            passed: 0,
            failed: 0,
            skipped: 0,
            allocator_live_at_end: 0,
            algorithms: Vec::new(),
        }
    }

    /// Adds a case.
    pub fn push(&mut self, c: CaseReport) {
        match c.status {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::Skip => self.skipped += 1,
        }
        if let Some(name) = &c.algorithm {
            let i = match self.algorithms.iter().position(|a| &a.algorithm == name) {
                Some(i) => i,
                None => {
                    self.algorithms.push(AlgorithmCount {
                        algorithm: name.clone(),
                        passed: 0,
                        failed: 0,
                        skipped: 0,
                    });
                    self.algorithms.len() - 1
                }
            };
            let a = &mut self.algorithms[i];
            match c.status {
                Status::Pass => a.passed += 1,
                Status::Fail => a.failed += 1,
                Status::Skip => a.skipped += 1,
            }
        }
        self.cases.push(c);
    }

    /// The last line: `N passed, N failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }

    /// The table.
    pub fn to_text(&self) -> String {
        let n = |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), |v| v.to_string());
        let mut out = String::new();
        let _ = writeln!(out, "module: {}   card: {}", self.module, self.card);
        let _ = writeln!(
            out,
            "{:<5} {:<58} {:<34} {:<34} {:>6} {:>8}",
            "", "case", "returned", "expected", "apdus", "bytes"
        );
        for c in &self.cases {
            let status = match c.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skip => "SKIP",
            };
            let _ = writeln!(
                out,
                "{status:<5} {:<58} {:<34} {:<34} {:>6} {:>8}",
                format!("{}/{}", c.suite, c.name),
                c.returned.as_deref().unwrap_or("-"),
                c.expected.as_deref().unwrap_or("-"),
                n(c.apdus),
                n(c.bytes),
            );
            for d in &c.details {
                let _ = writeln!(out, "      ! {d}");
            }
            for note in &c.notes {
                let _ = writeln!(out, "      · {note}");
            }
        }
        for a in &self.algorithms {
            let skipped = if a.skipped > 0 {
                format!(", {} skipped", a.skipped)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{}: {} passed, {} failed{skipped}",
                a.algorithm, a.passed, a.failed
            );
        }
        let _ = writeln!(
            out,
            "{} skipped; pfnCspAlloc blocks live after the run: {}",
            self.skipped, self.allocator_live_at_end
        );
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
