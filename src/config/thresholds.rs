//! `thresholds:` in workloads.yaml: the smallest changes that matter to the gate.
//!
//! A top-level `thresholds:` block sets project defaults; a scenario's own
//! `thresholds:` overrides them key by key; whatever neither sets comes from
//! [`Thresholds::default`]. The validated values travel with each scenario into
//! `run.json`, so `llm-bench compare` judges a run by the thresholds it was run with,
//! and every comparison report prints them.
//!
//! ```yaml
//! thresholds:            # project defaults
//!   ttft: { relative: 0.05, absolute_ms: 2 }
//!   throughput: { relative: 0.05 }
//!   energy: { relative: 0.05 }          # joules per output token
//!   success_rate: { absolute: 0.02 }
//! scenarios:
//!   chat:
//!     thresholds:
//!       ttft: { relative: 0.10 }   # absolute_ms stays 2
//! ```

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::source::Source;

/// The minimum effect that counts for one metric: a change must exceed both the
/// relative share and the absolute amount (in the metric's unit) before a
/// significant difference is called a regression or an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// A fraction: 0.05 is 5%.
    pub relative: f64,
    /// In the metric's unit (ms for latencies, per second for throughput, a fraction
    /// of requests for the success rate).
    pub absolute: f64,
}

impl Tolerance {
    /// The effective minimum effect as a log ratio, for a baseline value `base`:
    /// ln(1 + max(relative, absolute / base)).
    pub fn log_delta(&self, base: f64) -> f64 {
        let absolute = if base > 0.0 {
            self.absolute / base
        } else {
            0.0
        };
        (1.0 + self.relative.max(absolute)).ln()
    }
}

/// The default prior between-run SD; docs/comparing.md gives the study behind it.
pub const DEFAULT_BETWEEN_RUN_SD: f64 = 0.01;

/// Validated thresholds of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Family-wise false-alarm rate of the gate (Holm-corrected over every gated test
    /// of a run); confidence intervals are at 1 − alpha.
    pub alpha: f64,
    pub ttft: Tolerance,
    pub tpot: Tolerance,
    pub itl: Tolerance,
    pub e2e: Tolerance,
    /// Output tokens/s and requests/s.
    pub throughput: Tolerance,
    /// Joules per output token (absolute in J/token).
    pub energy: Tolerance,
    /// Capacity at SLO (absolute in requests per second): the fall of a
    /// `capacity:` search's answer that counts (`compare::capacity`).
    pub capacity: Tolerance,
    /// Absolute drop in the success rate, as a fraction (0.02 = 2 percentage points).
    pub success_rate: f64,
    /// Smallest between-trial standard deviation of a log statistic ever assumed
    /// (0.01 ≈ 1%), whatever the trials or the baseline's recorded noise say.
    /// Must be above 0: with no floor, three nearly equal trials claim no noise.
    pub noise_floor: f64,
    /// The assumed standard deviation of a run's speed from one run (day, boot,
    /// neighbour) to the next, as a log ratio (0.01 ≈ 1%): the prior for the
    /// between-run variance, which one-run baselines cannot measure; with 3 or
    /// more runs (`--bless --append`) it is pooled with what the runs show.
    pub between_run_sd: f64,
    /// Relative change of the mean output length beyond which E2E and throughput are
    /// not comparable (0.02 = 2%).
    pub output_tokens_drift: f64,
    /// p99s join the gated family only when every trial has this many requests.
    pub p99_min_requests: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            alpha: 0.05,
            ttft: Tolerance {
                relative: 0.05,
                absolute: 2.0,
            },
            tpot: Tolerance {
                relative: 0.05,
                absolute: 0.5,
            },
            itl: Tolerance {
                relative: 0.05,
                absolute: 0.5,
            },
            e2e: Tolerance {
                relative: 0.05,
                absolute: 5.0,
            },
            throughput: Tolerance {
                relative: 0.05,
                absolute: 0.0,
            },
            energy: Tolerance {
                relative: 0.05,
                absolute: 0.0,
            },
            // A search's answer is only as fine as its bracket (5% by default).
            capacity: Tolerance {
                relative: 0.10,
                absolute: 0.0,
            },
            success_rate: 0.02,
            noise_floor: 0.01,
            between_run_sd: DEFAULT_BETWEEN_RUN_SD,
            output_tokens_drift: 0.02,
            p99_min_requests: 1000,
        }
    }
}

/// `thresholds:` as written; every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `alpha`, `ttft`, `tpot`, `itl`, `e2e`, `throughput`, `energy`, `capacity`, `success_rate`, `noise_floor`, `between_run_sd`, `output_tokens_drift` and/or `p99_min_requests`"
)]
pub(crate) struct RawThresholds {
    pub alpha: Option<f64>,
    pub ttft: Option<RawLatencyTolerance>,
    pub tpot: Option<RawLatencyTolerance>,
    pub itl: Option<RawLatencyTolerance>,
    pub e2e: Option<RawLatencyTolerance>,
    pub throughput: Option<RawThroughputTolerance>,
    pub energy: Option<RawEnergyTolerance>,
    pub capacity: Option<RawThroughputTolerance>,
    pub success_rate: Option<RawSuccessTolerance>,
    pub noise_floor: Option<f64>,
    pub between_run_sd: Option<f64>,
    pub output_tokens_drift: Option<f64>,
    pub p99_min_requests: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `relative` (a fraction, 0.05 = 5%) and/or `absolute_ms`"
)]
pub(crate) struct RawLatencyTolerance {
    pub relative: Option<f64>,
    pub absolute_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `relative` (a fraction, 0.05 = 5%) and/or `absolute_per_s`"
)]
pub(crate) struct RawThroughputTolerance {
    pub relative: Option<f64>,
    pub absolute_per_s: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `relative` (a fraction, 0.05 = 5%) and/or `absolute_j_per_token`"
)]
pub(crate) struct RawEnergyTolerance {
    pub relative: Option<f64>,
    pub absolute_j_per_token: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `absolute` (a fraction of requests, 0.02 = 2 points)"
)]
pub(crate) struct RawSuccessTolerance {
    pub absolute: Option<f64>,
}

impl RawThresholds {
    /// `self` where set, else `fallback`, key by key (also inside each tolerance).
    pub fn or(&self, fallback: &RawThresholds) -> RawThresholds {
        fn latency(
            a: Option<RawLatencyTolerance>,
            b: Option<RawLatencyTolerance>,
        ) -> Option<RawLatencyTolerance> {
            match (a, b) {
                (Some(a), Some(b)) => Some(RawLatencyTolerance {
                    relative: a.relative.or(b.relative),
                    absolute_ms: a.absolute_ms.or(b.absolute_ms),
                }),
                (a, b) => a.or(b),
            }
        }
        fn rate(
            a: Option<RawThroughputTolerance>,
            b: Option<RawThroughputTolerance>,
        ) -> Option<RawThroughputTolerance> {
            match (a, b) {
                (Some(a), Some(b)) => Some(RawThroughputTolerance {
                    relative: a.relative.or(b.relative),
                    absolute_per_s: a.absolute_per_s.or(b.absolute_per_s),
                }),
                (a, b) => a.or(b),
            }
        }
        let throughput = rate(self.throughput, fallback.throughput);
        let energy = match (self.energy, fallback.energy) {
            (Some(a), Some(b)) => Some(RawEnergyTolerance {
                relative: a.relative.or(b.relative),
                absolute_j_per_token: a.absolute_j_per_token.or(b.absolute_j_per_token),
            }),
            (a, b) => a.or(b),
        };
        RawThresholds {
            alpha: self.alpha.or(fallback.alpha),
            ttft: latency(self.ttft, fallback.ttft),
            tpot: latency(self.tpot, fallback.tpot),
            itl: latency(self.itl, fallback.itl),
            e2e: latency(self.e2e, fallback.e2e),
            throughput,
            energy,
            capacity: rate(self.capacity, fallback.capacity),
            success_rate: match (self.success_rate, fallback.success_rate) {
                (Some(a), Some(b)) => Some(RawSuccessTolerance {
                    absolute: a.absolute.or(b.absolute),
                }),
                (a, b) => a.or(b),
            },
            noise_floor: self.noise_floor.or(fallback.noise_floor),
            between_run_sd: self.between_run_sd.or(fallback.between_run_sd),
            output_tokens_drift: self.output_tokens_drift.or(fallback.output_tokens_drift),
            p99_min_requests: self.p99_min_requests.or(fallback.p99_min_requests),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(yaml: &str) -> RawThresholds {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn empty_means_defaults() {
        assert_eq!(
            validate(&RawThresholds::default()).unwrap(),
            Thresholds::default()
        );
    }

    #[test]
    fn scenario_overrides_key_by_key() {
        let project = raw("ttft: { relative: 0.1, absolute_ms: 3 }\nalpha: 0.01\n");
        let scenario = raw("ttft: { relative: 0.2 }\n");
        let t = validate(&scenario.or(&project)).unwrap();
        assert_eq!(
            t.ttft,
            Tolerance {
                relative: 0.2,
                absolute: 3.0
            }
        );
        assert_eq!(t.alpha, 0.01);
        assert_eq!(t.tpot, Thresholds::default().tpot);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert!(serde_yaml::from_str::<RawThresholds>("ttft: { relatve: 0.1 }").is_err());
        assert!(serde_yaml::from_str::<RawThresholds>("latency: 3").is_err());
        let problems = validate(&raw("alpha: 0.7\nttft: { relative: -1 }\n")).unwrap_err();
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].path, vec!["ttft", "relative"]);
        assert!(
            problems[0].message.contains("0.05 is 5%"),
            "{}",
            problems[0].message
        );
        assert_eq!(problems[1].path, vec!["alpha"]);
    }

    #[test]
    fn capacity_has_its_own_tolerance() {
        assert_eq!(Thresholds::default().capacity.relative, 0.10);
        let project = raw("capacity: { absolute_per_s: 2 }\nthroughput: { relative: 0.2 }\n");
        let scenario = raw("capacity: { relative: 0.15 }\n");
        let t = validate(&scenario.or(&project)).unwrap();
        assert_eq!(
            t.capacity,
            Tolerance {
                relative: 0.15,
                absolute: 2.0
            }
        );
        assert_eq!(t.throughput.relative, 0.2);
        let problems = validate(&raw("capacity: { relative: -0.1 }\n")).unwrap_err();
        assert_eq!(problems[0].path, vec!["capacity", "relative"]);
    }

    #[test]
    fn noise_floor_zero_is_refused_and_between_run_sd_is_a_fraction() {
        let problems = validate(&raw("noise_floor: 0\nbetween_run_sd: 0.7\n")).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].path, vec!["between_run_sd"]);
        assert_eq!(problems[1].path, vec!["noise_floor"]);
        assert!(
            problems[1].message.contains("above 0"),
            "{}",
            problems[1].message
        );
        let t = validate(&raw("between_run_sd: 0\nnoise_floor: 0.005\n")).unwrap();
        assert_eq!((t.between_run_sd, t.noise_floor), (0.0, 0.005));
    }

    #[test]
    fn energy_tolerance() {
        let t = validate(&raw(
            "energy: { relative: 0.1, absolute_j_per_token: 0.002 }\n",
        ))
        .unwrap();
        assert_eq!(
            t.energy,
            Tolerance {
                relative: 0.1,
                absolute: 0.002
            }
        );
        assert!(serde_yaml::from_str::<RawThresholds>("energy: { absolute_ms: 1 }").is_err());
        let problems = validate(&raw("energy: { relative: -0.1 }\n")).unwrap_err();
        assert_eq!(problems[0].path, vec!["energy", "relative"]);
    }

    #[test]
    fn effective_delta_takes_the_larger_floor() {
        let t = Tolerance {
            relative: 0.05,
            absolute: 2.0,
        };
        assert!((t.log_delta(100.0) - 1.05f64.ln()).abs() < 1e-12);
        assert!(
            (t.log_delta(10.0) - 1.2f64.ln()).abs() < 1e-12,
            "2 ms of 10 ms is 20%"
        );
    }
}
