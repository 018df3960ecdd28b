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
//!
//! This file holds the validated values; `raw` is the block as written (every key
//! optional, merged key by key), `validate` applies the value rules.

mod raw;
#[cfg(test)]
mod tests;
mod validate;

use serde::{Deserialize, Serialize};

pub(crate) use raw::RawThresholds;
pub(crate) use validate::{check, validate};

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
