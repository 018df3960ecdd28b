//! `capacity:` on a scenario: search the highest request rate (or concurrency) at
//! which at least `attain` of the requests meet the scenario's SLO (see
//! `workload::capacity`).
//!
//! The scenario's `rate` (or `concurrency`) is where the search starts and its stop condition
//! (`requests` / `duration`) is the length of each step, so a capacity scenario
//! reads like the open loop it runs, step after step.

use super::raw::{OneOrList, RawCapacity, RawScenario};
use super::Slo;
use crate::config::error::ConfigError;
use crate::config::source::Source;

/// A checked `capacity:` block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacitySpec {
    /// Fraction of measured requests that must meet the SLO, in (0, 1).
    pub attain: f64,
    /// The search stops once its bracket is narrower than this, relative.
    pub tolerance: f64,
    /// Most steps (load levels) run.
    pub max_steps: u32,
}

pub(super) const DEFAULT_ATTAIN: f64 = 0.9;
pub(super) const DEFAULT_TOLERANCE: f64 = 0.05;
pub(super) const DEFAULT_MAX_STEPS: u32 = 10;
/// More steps than this is a very long run, or a typo.
const MOST_STEPS: u32 = 32;

/// Checks `capacity:` and what it needs from the rest of the scenario: one start
/// `rate` or `concurrency` (not a list, not a trace) and an SLO.
pub(super) fn check(
    source: &Source,
    name: &str,
    raw: &RawScenario,
    written: &RawCapacity,
    slo: &Slo,
    errors: &mut Vec<ConfigError>,
) -> CapacitySpec {
    let at = |key: &'static str| ["scenarios", name, "capacity", key];
    let attain = written.attain.unwrap_or(DEFAULT_ATTAIN);
    if !(attain > 0.0 && attain < 1.0) {
        errors.push(source.at_value(
            &at("attain"),
            format!("must be between 0 and 1, e.g. 0.9 for 90% of requests (got {attain})"),
        ));
    }
    let tolerance = written.tolerance.unwrap_or(DEFAULT_TOLERANCE);
    if !(tolerance > 0.0 && tolerance < 1.0) {
        errors.push(source.at_value(
            &at("tolerance"),
            format!(
                "must be between 0 and 1: the relative width of the final bracket, e.g. 0.05 \
                 (got {tolerance})"
            ),
        ));
    }
    let max_steps = written.max_steps.unwrap_or(DEFAULT_MAX_STEPS);
    if !(2..=MOST_STEPS).contains(&max_steps) {
        errors.push(source.at_value(
            &at("max_steps"),
            format!("must be from 2 to {MOST_STEPS} (got {max_steps})"),
        ));
    }
    let base = ["scenarios", name, "capacity"];
    let one_rate = matches!(raw.rate, Some(OneOrList::One(_))) && raw.concurrency.is_none();
    let one_concurrency = matches!(raw.concurrency, Some(OneOrList::One(_))) && raw.rate.is_none();
    if !(one_rate || one_concurrency) {
        errors.push(source.at_key(
            &base,
            "a capacity search needs one `rate: R` (requests per second: the highest rate is \
             searched) or one `concurrency: N` (the highest concurrency) to start from; a \
             list or a `trace:` cannot be searched",
        ));
    }
    if slo.ttft_ms.is_none() && slo.tpot_ms.is_none() && slo.e2e_ms.is_none() {
        errors.push(source.at_key(
            &base,
            "a capacity search finds the highest rate that meets the SLO, and this scenario \
             has none; add e.g. `slo: { ttft_ms: 500, e2e_ms: 5000 }` (here or under \
             `defaults:`)",
        ));
    }
    CapacitySpec {
        attain,
        tolerance,
        max_steps,
    }
}
