//! The value rules of `thresholds:` (ranges, with a hint of the unit), the
//! defaults for what is not written, and each problem placed in the file.

use super::raw::{RawLatencyTolerance, RawThresholds, RawThroughputTolerance};
use super::{Thresholds, Tolerance};
use crate::config::error::ConfigError;
use crate::config::source::Source;

/// A value rule broken at `path` (relative to the `thresholds:` block).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ThresholdProblem {
    pub path: Vec<&'static str>,
    pub message: String,
}

/// Applies the value rules and fills in defaults; reports every broken rule.
pub(crate) fn validate(raw: &RawThresholds) -> Result<Thresholds, Vec<ThresholdProblem>> {
    let d = Thresholds::default();
    let mut problems = Vec::new();
    let mut fraction =
        |path: Vec<&'static str>, value: Option<f64>, default: f64, max: f64, hint: &str| -> f64 {
            match value {
                None => default,
                Some(v) if v.is_finite() && (0.0..=max).contains(&v) => v,
                Some(v) => {
                    problems.push(ThresholdProblem {
                        path,
                        message: format!("must be a number from 0 to {max}, {hint} (got {v})"),
                    });
                    default
                }
            }
        };
    const SHARE: &str = "a fraction: 0.05 is 5%";
    let mut latency = |name: &'static str, raw: Option<RawLatencyTolerance>, default: Tolerance| {
        let raw = raw.unwrap_or_default();
        Tolerance {
            relative: fraction(
                vec![name, "relative"],
                raw.relative,
                default.relative,
                10.0,
                SHARE,
            ),
            absolute: fraction(
                vec![name, "absolute_ms"],
                raw.absolute_ms,
                default.absolute,
                1e9,
                "in milliseconds",
            ),
        }
    };
    let ttft = latency("ttft", raw.ttft, d.ttft);
    let tpot = latency("tpot", raw.tpot, d.tpot);
    let itl = latency("itl", raw.itl, d.itl);
    let e2e = latency("e2e", raw.e2e, d.e2e);
    let mut rate = |name: &'static str, raw: Option<RawThroughputTolerance>, default: Tolerance| {
        let raw = raw.unwrap_or_default();
        Tolerance {
            relative: fraction(
                vec![name, "relative"],
                raw.relative,
                default.relative,
                10.0,
                SHARE,
            ),
            absolute: fraction(
                vec![name, "absolute_per_s"],
                raw.absolute_per_s,
                default.absolute,
                1e12,
                "per second",
            ),
        }
    };
    let throughput = rate("throughput", raw.throughput, d.throughput);
    let capacity = rate("capacity", raw.capacity, d.capacity);
    let en = raw.energy.unwrap_or_default();
    let energy = Tolerance {
        relative: fraction(
            vec!["energy", "relative"],
            en.relative,
            d.energy.relative,
            10.0,
            SHARE,
        ),
        absolute: fraction(
            vec!["energy", "absolute_j_per_token"],
            en.absolute_j_per_token,
            d.energy.absolute,
            1e6,
            "in joules per output token",
        ),
    };
    let success_rate = fraction(
        vec!["success_rate", "absolute"],
        raw.success_rate.and_then(|s| s.absolute),
        d.success_rate,
        1.0,
        "a fraction of requests: 0.02 is 2 points",
    );
    let noise_floor = fraction(
        vec!["noise_floor"],
        raw.noise_floor,
        d.noise_floor,
        1.0,
        "a relative spread: 0.01 is 1%",
    );
    let between_run_sd = fraction(
        vec!["between_run_sd"],
        raw.between_run_sd,
        d.between_run_sd,
        0.5,
        "the assumed run-to-run spread in speed: 0.01 is 1%, 0 trusts that runs never drift",
    );
    let output_tokens_drift = fraction(
        vec!["output_tokens_drift"],
        raw.output_tokens_drift,
        d.output_tokens_drift,
        10.0,
        "a fraction: 0.02 is 2%",
    );
    let alpha = match raw.alpha {
        Some(a) if !(a > 0.0 && a < 0.5) => {
            problems.push(ThresholdProblem {
                path: vec!["alpha"],
                message: format!(
                    "must be between 0 and 0.5, e.g. 0.05 for a 5% false-alarm rate (got {a})"
                ),
            });
            d.alpha
        }
        a => a.unwrap_or(d.alpha),
    };
    let p99_min_requests = raw.p99_min_requests.unwrap_or(d.p99_min_requests);
    if noise_floor == 0.0 {
        problems.push(ThresholdProblem {
            path: vec!["noise_floor"],
            message: "must be above 0: with no floor, a few nearly equal trials claim no \
                      noise at all and a 0.1% difference reads as certain; use e.g. 0.005 \
                      (0.5%) or the default 0.01"
                .into(),
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Thresholds {
        alpha,
        ttft,
        tpot,
        itl,
        e2e,
        throughput,
        energy,
        capacity,
        success_rate,
        noise_floor,
        between_run_sd,
        output_tokens_drift,
        p99_min_requests,
    })
}

/// Checks `raw` written under `prefix` (`[]` for the top level, `["scenarios", NAME]`
/// for a scenario), pushing each problem with its place in the file.
pub(crate) fn check(
    source: &Source,
    prefix: &[&str],
    raw: &RawThresholds,
    errors: &mut Vec<ConfigError>,
) {
    if let Err(problems) = validate(raw) {
        for p in problems {
            let path: Vec<&str> = prefix
                .iter()
                .copied()
                .chain(["thresholds"])
                .chain(p.path.iter().copied())
                .collect();
            errors.push(source.at_value(&path, p.message));
        }
    }
}
