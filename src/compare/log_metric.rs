//! A latency, throughput or energy statistic compared on the log scale.
//!
//! The trials that feed the test come from [`super::trials`] (zero-valued and
//! outlier trials left out, by name); the estimate from [`super::drift`] (within-
//! and between-run variance); with a single trial on both sides, from a seeded
//! request-level bootstrap with the same variance added, marked low confidence.
//!
//! The test is one of minimum effect: **regression** needs H0: Δ ≤ δ rejected at
//! the Holm-adjusted level, i.e. the change is beyond the threshold with 1 − α
//! confidence, so a true change inside the threshold (a 4% slowdown under "±5%")
//! is flagged at most α of the time whatever the trial count.

use super::baseline::Baseline;
use super::drift::{self, Assumptions, Sides};
use super::metric::{percentile_of, EffectiveThreshold, Kind, Latency, MetricId};
use super::stats::{self, Estimate};
use super::trials::{self, Why};
use super::verdict::{Method, MetricComparison, TrialsUsed, Verdict, BOOTSTRAP_REPLICATES};
use crate::config::thresholds::{Thresholds, Tolerance};

/// A stable seed per scenario and metric (FNV-1a), so a bootstrap gives the same
/// answer on every machine and every rerun.
fn seed(scenario: &str, metric: MetricId) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in scenario.bytes().chain([0]).chain(metric.key().bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub(super) fn empty_row(metric: MetricId, tolerance: Tolerance, note: &str) -> MetricComparison {
    MetricComparison {
        metric,
        gated: false,
        method: Method::None,
        low_confidence: false,
        baseline: None,
        current: None,
        delta: None,
        ci_low: None,
        ci_high: None,
        p_worse: None,
        p_better: None,
        p_adjusted: None,
        tolerance,
        min_effect: 0.0,
        threshold: None,
        trials_used: None,
        between_run_sd: None,
        partial: false,
        verdict: Verdict::NotComparable,
        note: Some(note.into()),
        forced: false,
    }
}

/// A latency, throughput or energy statistic of `current` against `baseline`;
/// `None` when neither side has it at all.
pub(super) fn compare(
    metric: MetricId,
    current: &Baseline,
    baseline: &Baseline,
    t: &Thresholds,
) -> Option<MetricComparison> {
    let tolerance = metric.tolerance(t);
    let floor = baseline
        .noise
        .get(&metric)
        .copied()
        .unwrap_or(0.0)
        .max(t.noise_floor);
    let used = trials::select(metric, current, baseline, floor);
    let unit = metric.unit();
    let left_out: Vec<String> = used.left_out.iter().map(|l| l.describe(unit)).collect();
    let partial = used
        .left_out
        .iter()
        .any(|l| matches!(l.why, Why::NotPositive(_) | Why::Missing));
    match used.is_empty_side() {
        (true, true) if left_out.is_empty() => return None,
        (true, true) => {
            return Some(empty_row(
                metric,
                tolerance,
                &format!("no usable trial on either side: {}", left_out.join("; ")),
            ))
        }
        (true, false) => return Some(empty_row(metric, tolerance, "no data in this run")),
        (false, true) => return Some(empty_row(metric, tolerance, "no data in the baseline")),
        _ => {}
    }
    let run_means: Vec<f64> = used
        .baseline_runs
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| stats::mean(r))
        .collect();
    let (base_value, cur_value) = (
        stats::mean(&run_means).exp(),
        stats::mean(&used.current).exp(),
    );
    let confidence = 1.0 - t.alpha;
    let assumptions = Assumptions {
        sd_floor: floor,
        between_run_sd: t.between_run_sd,
    };
    let sides = Sides {
        current: &used.current,
        baseline_runs: &used.baseline_runs,
    };
    let (method, estimate, between_run_sd) = match drift::estimate(sides, assumptions, confidence) {
        Some(d) if used.current.len() >= 2 => (Method::Welch, Some(d.estimate), d.between_run_sd),
        Some(d) => (Method::Prediction, Some(d.estimate), d.between_run_sd),
        None => {
            let runs = run_means.len() as f64;
            let drift2 = t.between_run_sd.powi(2) * (1.0 + 1.0 / runs);
            // `bootstrap_log_ratio` adds 2·floor²: fold the drift into it.
            let floor = (floor * floor + drift2 / 2.0).sqrt();
            (
                Method::Bootstrap,
                bootstrap(metric, current, baseline, floor, confidence),
                t.between_run_sd,
            )
        }
    };
    let Some(Estimate {
        estimate,
        low,
        high,
        std_error,
        df,
        ..
    }) = estimate
    else {
        return Some(empty_row(metric, tolerance, "too few samples to estimate"));
    };
    let threshold = EffectiveThreshold::of(metric, tolerance, base_value);
    let min_effect = threshold.delta(metric);
    let o = metric.orientation();
    let (lo, hi) = if o > 0.0 { (low, high) } else { (-high, -low) };
    let delta = o * estimate;
    let trials_used = TrialsUsed {
        current: used.current.len(),
        current_of: used.current_total,
        baseline: used.baseline_used(),
        baseline_of: used.baseline_total,
        baseline_runs: run_means.len(),
    };
    let mut notes = left_out;
    if !notes.is_empty() {
        notes.push(format!(
            "compared on {} of {} trials of this run and {} of {} baseline trials",
            trials_used.current,
            trials_used.current_of,
            trials_used.baseline,
            trials_used.baseline_of
        ));
    }
    Some(MetricComparison {
        metric,
        gated: false,
        method,
        low_confidence: method == Method::Bootstrap
            || trials_used.current == 1
            || trials_used.baseline == 1,
        baseline: Some(base_value),
        current: Some(cur_value),
        delta: Some(delta),
        ci_low: Some(lo),
        ci_high: Some(hi),
        p_worse: Some(drift::p_beyond(delta, min_effect, std_error, df)),
        p_better: Some(drift::p_beyond(-delta, min_effect, std_error, df)),
        p_adjusted: None,
        tolerance,
        min_effect,
        threshold: Some(threshold),
        trials_used: Some(trials_used),
        between_run_sd: Some(between_run_sd),
        partial,
        verdict: Verdict::Inconclusive,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
        forced: false,
    })
}

/// The request-level bootstrap of a statistic's log ratio, for one trial on each
/// side; `floor` is the SD added per side.
fn bootstrap(
    metric: MetricId,
    current: &Baseline,
    baseline: &Baseline,
    floor: f64,
    confidence: f64,
) -> Option<Estimate> {
    let (c, b) = (
        bootstrap_samples(metric, current),
        bootstrap_samples(metric, baseline),
    );
    let statistic = |v: &mut [f64]| -> Option<f64> {
        match metric.kind() {
            Kind::Latency(_, p) => percentile_of(v, p),
            _ => Some(v.iter().sum()),
        }
    };
    stats::bootstrap_log_ratio(
        &c,
        &b,
        &statistic,
        BOOTSTRAP_REPLICATES,
        seed(&current.scenario, metric),
        floor,
        confidence,
    )
}

/// Request-level values for the bootstrap, pooled over a side's trials. For a
/// throughput each request contributes its share of the rate (tokens or 1, divided
/// by the summed trial windows), so the statistic is their sum. A trial that kept
/// only a sample of its requests ([`TrialRecord::sample_weight`]) scales each share
/// by the requests it stands for, so the sum is still the trial's whole rate; its
/// resampled sums then vary by about √weight more than every request's would, so
/// the interval errs wide.
fn bootstrap_samples(metric: MetricId, side: &Baseline) -> Vec<f64> {
    let duration: f64 = side.trials.iter().map(|t| t.duration_s).sum();
    side.trials
        .iter()
        .flat_map(|t| {
            let s = &t.samples;
            let weight = t.sample_weight();
            match metric.kind() {
                Kind::Latency(Latency::Ttft, _) => s.ttft(),
                Kind::Latency(Latency::Tpot, _) => s.tpot(),
                Kind::Latency(Latency::Itl, _) => s.itl(),
                Kind::Latency(Latency::E2e, _) => s.e2e(),
                Kind::Throughput if duration <= 0.0 => Vec::new(),
                Kind::Throughput if metric == MetricId::OutputTokensPerS => s
                    .output_tokens()
                    .into_iter()
                    .map(|n| match weight {
                        Some(w) => n * w / duration,
                        None => n / duration,
                    })
                    .collect(),
                Kind::Throughput => {
                    let share = match weight {
                        Some(w) => w / duration,
                        None => 1.0 / duration,
                    };
                    s.e2e().iter().map(|_| share).collect()
                }
                // No per-request energy: trials are the only replicates.
                Kind::SuccessRate | Kind::Energy => Vec::new(),
            }
        })
        .collect()
}
