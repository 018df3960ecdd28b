//! Whether a run finished, in words every renderer shares.
//!
//! A run stopped by a signal after 8 of 1,000 planned requests must not read
//! "8/8, 100% success" as if it were whole. `run.json` says `interrupted` (and by
//! which signal) when the run could write it; a run killed outright never wrote
//! its end time, which says as much.

use crate::manifest::RunMeta;
use crate::metrics::{ScenarioSummary, Summary};

/// How an incomplete run ended; `None` for a run that finished.
pub fn stop_reason(run: &RunMeta) -> Option<String> {
    if run.interrupted {
        return Some(match run.interrupted_by.as_deref() {
            Some("write_failed") => "stopped when a result file could not be written".to_string(),
            Some(signal) => format!("interrupted by {signal}"),
            None => "interrupted".to_string(),
        });
    }
    run.ended_at
        .is_none()
        .then(|| "did not finish (run.json has no end time: was it killed?)".to_string())
}

/// Measured requests a scenario planned (all trials), when it stops on a count.
pub fn planned(s: &ScenarioSummary) -> Option<u64> {
    s.spec.requests.map(|n| n * u64::from(s.spec.trials.max(1)))
}

/// Measured requests a scenario sent (succeeded or failed).
pub fn sent(s: &ScenarioSummary) -> u64 {
    s.metrics.requests.succeeded + s.metrics.requests.failed
}

/// "interrupted by SIGTERM after 8 of 1000 planned requests: partial results";
/// `None` for a finished run.
pub fn headline(summary: &Summary) -> Option<String> {
    let reason = stop_reason(&summary.run)?;
    let planned: Option<u64> = summary.scenarios.iter().map(planned).sum();
    let sent: u64 = summary.scenarios.iter().map(sent).sum();
    Some(match planned {
        Some(planned) => {
            format!("{reason} after {sent} of {planned} planned requests: partial results")
        }
        None => format!("{reason}: partial results"),
    })
}

/// " of 1000 planned" after a scenario's counts when its run stopped short of them.
pub fn planned_suffix(summary: &Summary, s: &ScenarioSummary) -> String {
    match planned(s) {
        Some(planned) if stop_reason(&summary.run).is_some() && sent(s) < planned => {
            format!(" of {planned} planned")
        }
        _ => String::new(),
    }
}
