//! `thresholds:` as written: every key optional, unknown keys refused with the
//! keys that exist, and a scenario's block merged over the project's key by key.

use serde::Deserialize;

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
