//! Which statistics are compared, which of them gate a pull request, and how each is
//! read from a trial's [`Metrics`] or recomputed from its raw samples.
//!
//! The gated family is deliberately small (each extra test costs power under the
//! Holm correction): TTFT p50 and p90, TPOT p50, E2E p90, output tokens/s and the
//! success rate, and energy per output token where both runs measured GPUs (a run
//! without GPU telemetry has no such test, so it costs nothing there); TTFT and E2E
//! p99 join it only when every trial has at least `p99_min_requests` requests,
//! because a p99 of fewer is one or two requests. Everything else is shown as
//! information.

use serde::{Deserialize, Serialize};

use crate::config::thresholds::{Thresholds, Tolerance};
use crate::metrics::percentile::percentile_sorted;
use crate::metrics::{Metrics, Stats};

/// One compared statistic. The serialized name is the key used in baseline files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MetricId {
    #[serde(rename = "ttft_ms.p50")]
    TtftP50,
    #[serde(rename = "ttft_ms.p90")]
    TtftP90,
    #[serde(rename = "ttft_ms.p95")]
    TtftP95,
    #[serde(rename = "ttft_ms.p99")]
    TtftP99,
    #[serde(rename = "tpot_ms.p50")]
    TpotP50,
    #[serde(rename = "tpot_ms.p90")]
    TpotP90,
    #[serde(rename = "itl_ms.p50")]
    ItlP50,
    #[serde(rename = "itl_ms.p90")]
    ItlP90,
    #[serde(rename = "itl_ms.p99")]
    ItlP99,
    #[serde(rename = "e2e_ms.p50")]
    E2eP50,
    #[serde(rename = "e2e_ms.p90")]
    E2eP90,
    #[serde(rename = "e2e_ms.p99")]
    E2eP99,
    #[serde(rename = "output_tokens_per_s")]
    OutputTokensPerS,
    #[serde(rename = "requests_per_s")]
    RequestsPerS,
    #[serde(rename = "success_rate")]
    SuccessRate,
    /// GPU energy over the measured window / output tokens (NVML, else DCGM); only
    /// where GPUs were measured.
    #[serde(rename = "joules_per_output_token")]
    JoulesPerOutputToken,
    /// The highest rate meeting the SLO of a `capacity:` search: compared by its
    /// bracket (`compare::capacity`), not from trials, so it is not in
    /// [`MetricId::ALL`], which the per-trial comparison walks.
    #[serde(rename = "capacity_rate")]
    CapacityRate,
}

/// The distribution a latency percentile is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    Ttft,
    Tpot,
    Itl,
    E2e,
}

/// What kind of number a metric is, which decides its test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A percentile of a latency distribution, in ms; higher is worse.
    Latency(Latency, f64),
    /// A rate per second; lower is worse.
    Throughput,
    /// A share of requests; lower is worse; tested on counts.
    SuccessRate,
    /// Joules per output token; higher is worse; tested on trial values only (there
    /// is no per-request energy to resample).
    Energy,
}

/// Whether a metric can fail the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Always,
    /// Only when every trial on both sides has at least `p99_min_requests` requests.
    LargeTrials,
    Never,
}

impl MetricId {
    /// Every metric, in report order.
    pub const ALL: [MetricId; 16] = [
        MetricId::TtftP50,
        MetricId::TtftP90,
        MetricId::TtftP95,
        MetricId::TtftP99,
        MetricId::TpotP50,
        MetricId::TpotP90,
        MetricId::ItlP50,
        MetricId::ItlP90,
        MetricId::ItlP99,
        MetricId::E2eP50,
        MetricId::E2eP90,
        MetricId::E2eP99,
        MetricId::OutputTokensPerS,
        MetricId::RequestsPerS,
        MetricId::SuccessRate,
        MetricId::JoulesPerOutputToken,
    ];

    pub fn kind(self) -> Kind {
        use Latency::*;
        match self {
            MetricId::TtftP50 => Kind::Latency(Ttft, 50.0),
            MetricId::TtftP90 => Kind::Latency(Ttft, 90.0),
            MetricId::TtftP95 => Kind::Latency(Ttft, 95.0),
            MetricId::TtftP99 => Kind::Latency(Ttft, 99.0),
            MetricId::TpotP50 => Kind::Latency(Tpot, 50.0),
            MetricId::TpotP90 => Kind::Latency(Tpot, 90.0),
            MetricId::ItlP50 => Kind::Latency(Itl, 50.0),
            MetricId::ItlP90 => Kind::Latency(Itl, 90.0),
            MetricId::ItlP99 => Kind::Latency(Itl, 99.0),
            MetricId::E2eP50 => Kind::Latency(E2e, 50.0),
            MetricId::E2eP90 => Kind::Latency(E2e, 90.0),
            MetricId::E2eP99 => Kind::Latency(E2e, 99.0),
            MetricId::OutputTokensPerS | MetricId::RequestsPerS | MetricId::CapacityRate => {
                Kind::Throughput
            }
            MetricId::SuccessRate => Kind::SuccessRate,
            MetricId::JoulesPerOutputToken => Kind::Energy,
        }
    }

    pub fn gate(self) -> Gate {
        match self {
            MetricId::TtftP50
            | MetricId::TtftP90
            | MetricId::TpotP50
            | MetricId::E2eP90
            | MetricId::OutputTokensPerS
            | MetricId::SuccessRate
            | MetricId::JoulesPerOutputToken
            | MetricId::CapacityRate => Gate::Always,
            MetricId::TtftP99 | MetricId::E2eP99 => Gate::LargeTrials,
            _ => Gate::Never,
        }
    }

    /// The serialized key, e.g. `ttft_ms.p50`.
    pub fn key(self) -> &'static str {
        match self {
            MetricId::TtftP50 => "ttft_ms.p50",
            MetricId::TtftP90 => "ttft_ms.p90",
            MetricId::TtftP95 => "ttft_ms.p95",
            MetricId::TtftP99 => "ttft_ms.p99",
            MetricId::TpotP50 => "tpot_ms.p50",
            MetricId::TpotP90 => "tpot_ms.p90",
            MetricId::ItlP50 => "itl_ms.p50",
            MetricId::ItlP90 => "itl_ms.p90",
            MetricId::ItlP99 => "itl_ms.p99",
            MetricId::E2eP50 => "e2e_ms.p50",
            MetricId::E2eP90 => "e2e_ms.p90",
            MetricId::E2eP99 => "e2e_ms.p99",
            MetricId::OutputTokensPerS => "output_tokens_per_s",
            MetricId::RequestsPerS => "requests_per_s",
            MetricId::SuccessRate => "success_rate",
            MetricId::JoulesPerOutputToken => "joules_per_output_token",
            MetricId::CapacityRate => "capacity_rate",
        }
    }

    /// The name shown in reports, e.g. `TTFT p50`.
    pub fn label(self) -> String {
        match self.kind() {
            Kind::Latency(latency, p) => {
                let name = match latency {
                    Latency::Ttft => "TTFT",
                    Latency::Tpot => "TPOT",
                    Latency::Itl => "ITL",
                    Latency::E2e => "E2E",
                };
                format!("{name} p{p}")
            }
            Kind::Throughput if self == MetricId::OutputTokensPerS => "Output tokens/s".into(),
            Kind::Throughput if self == MetricId::CapacityRate => "Capacity at SLO".into(),
            Kind::Throughput => "Requests/s".into(),
            Kind::SuccessRate => "Success rate".into(),
            Kind::Energy => "Energy per token".into(),
        }
    }

    /// The unit printed after a value.
    pub fn unit(self) -> &'static str {
        match self.kind() {
            Kind::Latency(..) => "ms",
            Kind::Throughput if self == MetricId::OutputTokensPerS => "tok/s",
            Kind::Throughput => "req/s",
            Kind::SuccessRate => "",
            Kind::Energy => "J/token",
        }
    }

    /// +1 when a higher value is worse, −1 when a lower one is.
    pub fn orientation(self) -> f64 {
        match self.kind() {
            Kind::Latency(..) | Kind::Energy => 1.0,
            Kind::Throughput | Kind::SuccessRate => -1.0,
        }
    }

    /// Metrics whose value scales with the number of output tokens: not comparable
    /// when the output length drifted.
    pub fn depends_on_output_length(self) -> bool {
        matches!(
            self,
            MetricId::E2eP50
                | MetricId::E2eP90
                | MetricId::E2eP99
                | MetricId::OutputTokensPerS
                | MetricId::RequestsPerS
                // Prefill energy is spread over more or fewer tokens.
                | MetricId::JoulesPerOutputToken
        )
    }

    /// The minimum effect that matters, from the configured thresholds.
    pub fn tolerance(self, t: &Thresholds) -> Tolerance {
        match self.kind() {
            Kind::Latency(Latency::Ttft, _) => t.ttft,
            Kind::Latency(Latency::Tpot, _) => t.tpot,
            Kind::Latency(Latency::Itl, _) => t.itl,
            Kind::Latency(Latency::E2e, _) => t.e2e,
            Kind::Throughput if self == MetricId::CapacityRate => t.capacity,
            Kind::Throughput => t.throughput,
            Kind::SuccessRate => Tolerance {
                relative: 0.0,
                absolute: t.success_rate,
            },
            Kind::Energy => t.energy,
        }
    }

    /// The statistic as the run's summary computed it for one trial.
    pub fn value(self, m: &Metrics) -> Option<f64> {
        let percentile = |s: &Option<Stats>, p: f64| -> Option<f64> {
            let s = s.as_ref()?;
            Some(match p as u32 {
                50 => s.p50,
                90 => s.p90,
                95 => s.p95,
                _ => s.p99,
            })
        };
        match self.kind() {
            Kind::Latency(Latency::Ttft, p) => percentile(&m.ttft_ms, p),
            Kind::Latency(Latency::Tpot, p) => percentile(&m.tpot_ms, p),
            Kind::Latency(Latency::Itl, p) => percentile(&m.itl_ms, p),
            Kind::Latency(Latency::E2e, p) => percentile(&m.e2e_ms, p),
            Kind::Throughput if self == MetricId::OutputTokensPerS => {
                (m.duration_s > 0.0).then_some(m.output_tokens_per_s)
            }
            Kind::Throughput if self == MetricId::CapacityRate => None,
            Kind::Throughput => (m.duration_s > 0.0).then_some(m.requests_per_s),
            Kind::SuccessRate => m.success_rate,
            Kind::Energy => m
                .telemetry
                .as_ref()
                .and_then(|t| t.energy())
                .and_then(|g| g.joules_per_output_token),
        }
    }
}

/// Which part of a tolerance sets a metric's minimum effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applies {
    Relative,
    /// The absolute floor is larger than the relative share of the baseline value
    /// (e.g. 0.5 ms of a 2 ms TPOT is 25%).
    Absolute,
}

/// The minimum effect that counts for one comparison, in the metric's own units:
/// what a threshold column must show (a "±5%" with a 0.5 ms floor on a 2 ms TPOT
/// is really ±25%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffectiveThreshold {
    /// In the metric's unit (ms, tok/s, J/token; a share of requests for the
    /// success rate).
    pub value: f64,
    /// As a fraction of the baseline value (not for the success rate).
    pub relative: f64,
    pub applies: Applies,
}

impl EffectiveThreshold {
    /// For a tolerance and a baseline value.
    pub fn of(metric: MetricId, tolerance: Tolerance, base: f64) -> EffectiveThreshold {
        if metric.kind() == Kind::SuccessRate {
            return EffectiveThreshold {
                value: tolerance.absolute,
                relative: 0.0,
                applies: Applies::Absolute,
            };
        }
        let floor = if base > 0.0 {
            tolerance.absolute / base
        } else {
            0.0
        };
        let (relative, applies) = if floor > tolerance.relative {
            (floor, Applies::Absolute)
        } else {
            (tolerance.relative, Applies::Relative)
        };
        EffectiveThreshold {
            value: relative * base,
            relative,
            applies,
        }
    }

    /// δ on the scale of a comparison's Δ (oriented so that positive is worse):
    /// ln(1 + r) for a metric where higher is worse; for one where lower is worse
    /// (throughput), a drop by r: −ln(1 − r), so "5%" means a 5% drop, not the
    /// 4.76% that ln(1.05) would allow. The success rate's δ is in points.
    pub fn delta(&self, metric: MetricId) -> f64 {
        match metric.kind() {
            Kind::SuccessRate => self.value,
            _ if metric.orientation() < 0.0 => -(1.0 - self.relative.min(0.99)).ln(),
            _ => self.relative.ln_1p(),
        }
    }
}

/// The pinned percentile method (linear interpolation, numpy's default) applied to an
/// unsorted buffer, for the bootstrap.
pub fn percentile_of(values: &mut [f64], p: f64) -> Option<f64> {
    values.sort_unstable_by(f64::total_cmp);
    percentile_sorted(values, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_serde() {
        for m in MetricId::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.key()));
            assert_eq!(serde_json::from_str::<MetricId>(&json).unwrap(), m);
        }
    }

    /// TPOT at 2 ms: the 0.5 ms floor is 25%, not 5%; throughput: 5% means a 5%
    /// drop (−4.8% is inside it).
    #[test]
    fn effective_thresholds_say_which_part_applies() {
        let t = Thresholds::default();
        let tpot = EffectiveThreshold::of(MetricId::TpotP50, t.tpot, 2.0);
        assert_eq!(tpot.applies, Applies::Absolute);
        assert!((tpot.relative - 0.25).abs() < 1e-12 && (tpot.value - 0.5).abs() < 1e-12);
        let ttft = EffectiveThreshold::of(MetricId::TtftP50, t.ttft, 100.0);
        assert_eq!(ttft.applies, Applies::Relative);
        assert!((ttft.value - 5.0).abs() < 1e-12);
        assert!((ttft.delta(MetricId::TtftP50) - 1.05f64.ln()).abs() < 1e-12);
        let tput = EffectiveThreshold::of(MetricId::OutputTokensPerS, t.throughput, 1000.0);
        let delta = tput.delta(MetricId::OutputTokensPerS);
        assert!((delta - -(0.95f64.ln())).abs() < 1e-12);
        // A 4.8% drop, oriented so positive is worse, is inside δ.
        assert!(-(1.0f64 - 0.048).ln() < delta);
    }

    #[test]
    fn the_gated_family_is_small() {
        let always: Vec<_> = MetricId::ALL
            .iter()
            .filter(|m| m.gate() == Gate::Always)
            .collect();
        assert_eq!(always.len(), 7);
        assert_eq!(MetricId::TtftP99.gate(), Gate::LargeTrials);
        assert_eq!(MetricId::OutputTokensPerS.orientation(), -1.0);
        assert_eq!(MetricId::TtftP50.label(), "TTFT p50");
    }
}
