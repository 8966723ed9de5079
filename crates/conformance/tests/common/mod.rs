//! What the whole-suite tests accept: every case passes, except the cases that fail because Tessera's
//! module departs from the specification today. Each of those was reported to the module's owner with
//! its reference; they are listed so that CI stays green meanwhile — strictly: a listed case that passes
//! fails the test, so the list shrinks with every fix and never hides a new failure.

/// `suite/case` and why it fails against the module.
pub const KNOWN_MODULE_DEVIATIONS: &[(&str, &str)] = &[];

/// Checks the failed cases of a run against the list.
pub fn check_failures(failed: &[String]) -> Result<(), String> {
    let unexpected: Vec<&String> = failed
        .iter()
        .filter(|f| !KNOWN_MODULE_DEVIATIONS.iter().any(|(k, _)| k == f))
        .collect();
    let fixed: Vec<&str> = KNOWN_MODULE_DEVIATIONS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !failed.iter().any(|f| f == k))
        .collect();
    if unexpected.is_empty() && fixed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "failed but not a known module deviation: {unexpected:?}; listed as deviations but passed (remove them from the list): {fixed:?}"
        ))
    }
}
