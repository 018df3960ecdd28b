//! The server's state as part of what a measurement depends on.
//!
//! The same server answers a request from its prefix cache several times faster
//! than from scratch, and a trial that starts while it still runs other requests
//! measures a busier server. Neither is a property of the code under test, so a
//! baseline keeps, per trial, the prefix-cache hit rate over the trial and the
//! KV-cache usage and requests running or waiting when it started (from the
//! server's `/metrics`); a comparison shows both sides' values and, where they
//! differ beyond the tolerances below, calls the scenario **not comparable**
//! (exit 3) with the reason and both values, never a regression or an improvement.
//! The server's engine and version are must-match fingerprint fields
//! ([`super::fingerprint`]).

use serde::{Deserialize, Serialize};

use super::baseline::Baseline;
use crate::metrics::Metrics;

/// Largest difference in prefix-cache hit rate (a share of prompt tokens) still
/// comparable: a salted workload reads ~0.00 on both sides, a warm cache against a
/// cold one reads e.g. 0.89 against 0.00.
pub const HIT_RATE_TOLERANCE: f64 = 0.10;
/// Largest difference in KV-cache usage at trial start (a share of the cache).
pub const KV_CACHE_TOLERANCE: f64 = 0.10;
/// Largest difference in requests running (or waiting) at trial start, as a mean
/// over trials: an idle server reads 0; another client's load reads ≥ 1.
pub const REQUESTS_AT_START_TOLERANCE: f64 = 1.0;

/// One trial's server state, as kept in a baseline; every part optional (a server
/// without `/metrics`, or one that does not expose a gauge).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialServerState {
    /// Prompt tokens served from the prefix cache / prompt tokens looked up, over
    /// the trial (warm-up included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_cache_hit_rate: Option<f64>,
    /// Share of the KV cache in use when the trial started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_usage_at_start: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_running_at_start: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_waiting_at_start: Option<f64>,
}

impl TrialServerState {
    /// From a trial's summary metrics; `None` when the server said nothing.
    pub fn of(metrics: &Metrics) -> Option<TrialServerState> {
        let telemetry = metrics.telemetry.as_ref()?;
        let start = telemetry.server_at_start.unwrap_or_default();
        let state = TrialServerState {
            prefix_cache_hit_rate: telemetry
                .server
                .as_ref()
                .and_then(|s| s.prefix_cache_hit_rate),
            kv_cache_usage_at_start: start.kv_cache_usage,
            requests_running_at_start: start.requests_running,
            requests_waiting_at_start: start.requests_waiting,
        };
        (state != TrialServerState::default()).then_some(state)
    }
}

/// One side's state: each field's mean over the trials that have it, and the
/// server's engine and version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideState {
    /// Each trial field's mean over the trials that have it.
    #[serde(flatten)]
    pub state: TrialServerState,
    /// e.g. `vllm 0.6.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

impl SideState {
    pub fn of(side: &Baseline) -> SideState {
        let mean = |f: fn(&TrialServerState) -> Option<f64>| {
            let v: Vec<f64> = side
                .trials
                .iter()
                .filter_map(|t| t.server.as_ref().and_then(f))
                .filter(|v| v.is_finite())
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let m = &side.fingerprint.must_match;
        let server = match (&m.server_engine, &m.server_version) {
            (Some(e), Some(v)) => Some(format!("{e} {v}")),
            (Some(e), None) => Some(e.clone()),
            (None, Some(v)) => Some(format!("version {v}")),
            (None, None) => None,
        };
        SideState {
            state: TrialServerState {
                prefix_cache_hit_rate: mean(|s| s.prefix_cache_hit_rate),
                kv_cache_usage_at_start: mean(|s| s.kv_cache_usage_at_start),
                requests_running_at_start: mean(|s| s.requests_running_at_start),
                requests_waiting_at_start: mean(|s| s.requests_waiting_at_start),
            },
            server,
        }
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == SideState::default()
    }
}

/// Both sides' state, for the report, and what differs beyond tolerance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateComparison {
    pub baseline: SideState,
    pub current: SideState,
    /// One line per field beyond its tolerance, naming both values; the scenario
    /// is then not comparable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
}

impl StateComparison {
    /// `None` when neither side knows anything about the server.
    pub fn of(current: &Baseline, baseline: &Baseline) -> Option<StateComparison> {
        let (b, c) = (SideState::of(baseline), SideState::of(current));
        if b.is_empty() && c.is_empty() {
            return None;
        }
        let mut mismatches = Vec::new();
        let mut check = |name: &str, old: Option<f64>, new: Option<f64>, tol: f64, why: &str| {
            if let (Some(old), Some(new)) = (old, new) {
                if (new - old).abs() > tol + 1e-9 {
                    mismatches.push(format!(
                        "{name}: {old:.2} in the baseline, {new:.2} now (tolerance ±{tol:.2}): {why}"
                    ));
                }
            }
        };
        check(
            "server prefix-cache hit rate",
            b.state.prefix_cache_hit_rate,
            c.state.prefix_cache_hit_rate,
            HIT_RATE_TOLERANCE,
            "one side was served from the server's cache; bless and compare with the same \
             cache state (the default salted prompts never hit it; `prefix_cache: allow` \
             workloads need the server warmed the same way)",
        );
        check(
            "KV-cache usage at trial start",
            b.state.kv_cache_usage_at_start,
            c.state.kv_cache_usage_at_start,
            KV_CACHE_TOLERANCE,
            "the server held other work when a trial started",
        );
        check(
            "requests running at trial start",
            b.state.requests_running_at_start,
            c.state.requests_running_at_start,
            REQUESTS_AT_START_TOLERANCE,
            "another client was using the server",
        );
        check(
            "requests waiting at trial start",
            b.state.requests_waiting_at_start,
            c.state.requests_waiting_at_start,
            REQUESTS_AT_START_TOLERANCE,
            "another client was using the server",
        );
        Some(StateComparison {
            baseline: b,
            current: c,
            mismatches,
        })
    }

    /// "prefix-cache hit rate 0.00 → 0.00 · KV cache at start 0% → 0% · …", the
    /// fields either side knows.
    pub fn describe(&self) -> String {
        let (b, c) = (&self.baseline, &self.current);
        let show = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("–".to_string(), f);
        let share = |v: f64| format!("{v:.2}");
        let percent = |v: f64| format!("{:.0}%", v * 100.0);
        let count = |v: f64| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        };
        let mut parts = Vec::new();
        let mut field =
            |name: &str, old: Option<f64>, new: Option<f64>, f: &dyn Fn(f64) -> String| {
                if old.is_some() || new.is_some() {
                    parts.push(format!("{name} {} → {}", show(old, f), show(new, f)));
                }
            };
        field(
            "prefix-cache hit rate",
            b.state.prefix_cache_hit_rate,
            c.state.prefix_cache_hit_rate,
            &share,
        );
        field(
            "KV cache in use at trial start",
            b.state.kv_cache_usage_at_start,
            c.state.kv_cache_usage_at_start,
            &percent,
        );
        field(
            "requests running at trial start",
            b.state.requests_running_at_start,
            c.state.requests_running_at_start,
            &count,
        );
        field(
            "waiting",
            b.state.requests_waiting_at_start,
            c.state.requests_waiting_at_start,
            &count,
        );
        if b.server.is_some() || c.server.is_some() {
            parts.push(format!(
                "server {} → {}",
                b.server.as_deref().unwrap_or("–"),
                c.server.as_deref().unwrap_or("–")
            ));
        }
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::baseline::tests::tiny_baseline;

    fn with_state(hit: f64, running: f64) -> Baseline {
        let mut b = tiny_baseline();
        for t in &mut b.trials {
            t.server = Some(TrialServerState {
                prefix_cache_hit_rate: Some(hit),
                kv_cache_usage_at_start: Some(0.0),
                requests_running_at_start: Some(running),
                requests_waiting_at_start: Some(0.0),
            });
        }
        b.fingerprint.must_match.server_engine = Some("vllm".into());
        b.fingerprint.must_match.server_version = Some("0.6.3".into());
        b
    }

    #[test]
    fn a_warm_cache_against_a_cold_one_is_named_with_both_values() {
        let c = StateComparison::of(&with_state(0.0, 0.0), &with_state(0.89, 0.0)).unwrap();
        assert_eq!(c.mismatches.len(), 1, "{c:?}");
        assert!(
            c.mismatches[0].starts_with(
                "server prefix-cache hit rate: 0.89 in the baseline, 0.00 now (tolerance ±0.10)"
            ),
            "{}",
            c.mismatches[0]
        );
        assert_eq!(
            c.describe(),
            "prefix-cache hit rate 0.89 → 0.00 · KV cache in use at trial start 0% → 0% · \
             requests running at trial start 0 → 0 · waiting 0 → 0 · server vllm 0.6.3 → vllm 0.6.3"
        );
        let same = StateComparison::of(&with_state(0.02, 0.0), &with_state(0.0, 0.0)).unwrap();
        assert!(same.mismatches.is_empty(), "{same:?}");
        let busy = StateComparison::of(&with_state(0.0, 3.0), &with_state(0.0, 0.0)).unwrap();
        assert!(busy.mismatches[0]
            .contains("requests running at trial start: 0.00 in the baseline, 3.00 now"));
        assert!(StateComparison::of(&tiny_baseline(), &tiny_baseline()).is_none());
    }
}
