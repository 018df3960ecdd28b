//! The success rate, compared on counts with bursts of failures allowed for.
//!
//! Failures do not arrive one request at a time independently: a server restart
//! inside one trial fails a run of requests together. Pooled over trials as if
//! each request were an independent coin, such a burst makes a 2×2 test far too
//! sure of itself. The counts of each side are therefore divided by its design
//! effect before testing (Rao & Scott 1992, "A simple method for the analysis of
//! clustered binary data", Biometrics 48:577), with trials as the clusters:
//!
//! d = v / (p(1 − p)/n),  v = m/(m − 1) · Σᵢ (xᵢ − p·nᵢ)² / n²
//!
//! for m trials with nᵢ requests and xᵢ failures (n = Σnᵢ, p = Σxᵢ/n): the variance
//! of the failure share between trials over what independent requests would give,
//! never below 1. A side with one trial borrows the other side's. The adjusted
//! counts then go through the same one-sided Fisher exact test and Newcombe
//! interval as before, and the SLO's hard floor (1 − `max_error_rate`) applies
//! to the raw share.

use super::baseline::{Baseline, TrialRecord};
use super::metric::{EffectiveThreshold, MetricId};
use super::stats;
use super::verdict::{Method, MetricComparison, TrialsUsed, Verdict};
use crate::config::thresholds::Thresholds;

/// The design effect of a side's failures over its trials; `None` with fewer than
/// two trials or no requests.
pub fn design_effect(trials: &[TrialRecord]) -> Option<f64> {
    let m = trials.len();
    let n: u64 = trials.iter().map(|t| t.succeeded + t.failed).sum();
    if m < 2 || n == 0 {
        return None;
    }
    let x: u64 = trials.iter().map(|t| t.failed).sum();
    let (n, p) = (n as f64, x as f64 / n as f64);
    if p == 0.0 || p == 1.0 {
        return Some(1.0);
    }
    let spread: f64 = trials
        .iter()
        .map(|t| (t.failed as f64 - p * (t.succeeded + t.failed) as f64).powi(2))
        .sum();
    let v = m as f64 / (m - 1) as f64 * spread / (n * n);
    Some((v / (p * (1.0 - p) / n)).max(1.0))
}

/// (failed, succeeded) of a side.
fn counts(b: &Baseline) -> (u64, u64) {
    b.trials
        .iter()
        .fold((0, 0), |(f, s), t| (f + t.failed, s + t.succeeded))
}

/// Counts divided by a design effect, rounded.
fn adjusted((failed, ok): (u64, u64), d: f64) -> (u64, u64) {
    let scale = |c: u64| (c as f64 / d).round() as u64;
    (scale(failed), scale(ok))
}

/// The success rate of `current` against `baseline`.
pub fn compare(current: &Baseline, baseline: &Baseline, t: &Thresholds) -> MetricComparison {
    let (cur_raw, base_raw) = (counts(current), counts(baseline));
    let share = |(failed, ok): (u64, u64)| {
        if ok + failed > 0 {
            ok as f64 / (ok + failed) as f64
        } else {
            0.0
        }
    };
    let (cur, base) = (share(cur_raw), share(base_raw));
    let (d_cur, d_base) = match (
        design_effect(&current.trials),
        design_effect(&baseline.trials),
    ) {
        (Some(c), Some(b)) => (c, b),
        (Some(c), None) => (c, c),
        (None, Some(b)) => (b, b),
        (None, None) => (1.0, 1.0),
    };
    let (cur_failed, cur_ok) = adjusted(cur_raw, d_cur);
    let (base_failed, base_ok) = adjusted(base_raw, d_base);
    let p_worse = stats::fisher_failures((cur_failed, cur_ok), (base_failed, base_ok), true);
    let p_better = stats::fisher_failures((cur_failed, cur_ok), (base_failed, base_ok), false);
    let (lo, hi) = stats::newcombe(
        base_ok,
        base_ok + base_failed,
        cur_ok,
        cur_ok + cur_failed,
        1.0 - t.alpha,
    );
    let floor = 1.0 - current.spec.max_error_rate;
    let below_floor = cur < floor;
    let tolerance = MetricId::SuccessRate.tolerance(t);
    let mut notes = Vec::new();
    if below_floor {
        notes.push(format!(
            "below the SLO floor: {:.1}% succeeded, at least {:.1}% required (max_error_rate {})",
            cur * 100.0,
            floor * 100.0,
            current.spec.max_error_rate
        ));
    }
    if d_cur > 1.5 || d_base > 1.5 {
        notes.push(format!(
            "failures came in bursts (design effect {d_base:.1} in the baseline, {d_cur:.1} now): \
             counts divided by it before testing (Rao & Scott 1992), so one bad trial weighs as \
             a trial, not as hundreds of independent failures"
        ));
    }
    let threshold = EffectiveThreshold::of(MetricId::SuccessRate, tolerance, base);
    MetricComparison {
        metric: MetricId::SuccessRate,
        gated: true,
        method: Method::Fisher,
        low_confidence: current.trials.len() == 1 || baseline.trials.len() == 1,
        baseline: Some(base),
        current: Some(cur),
        delta: Some(base - cur),
        ci_low: Some(lo),
        ci_high: Some(hi),
        p_worse: Some(p_worse),
        p_better: Some(p_better),
        p_adjusted: None,
        tolerance,
        min_effect: threshold.delta(MetricId::SuccessRate),
        threshold: Some(threshold),
        trials_used: Some(TrialsUsed::all(current, baseline)),
        between_run_sd: None,
        partial: false,
        verdict: if below_floor {
            Verdict::Regression
        } else {
            Verdict::Inconclusive
        },
        note: (!notes.is_empty()).then(|| notes.join("; ")),
        forced: below_floor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::baseline::tests::tiny_baseline;

    fn side(failed: &[u64]) -> Baseline {
        let mut b = tiny_baseline();
        let template = b.trials[0].clone();
        b.trials = failed
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let mut t = template.clone();
                t.trial = i as u32;
                t.failed = f;
                t.succeeded = 500 - f;
                t
            })
            .collect();
        b
    }

    /// 60 failures in one of four trials (a restart) is a burst: the design effect
    /// is large and the test is far less sure than pooled counts would make it.
    #[test]
    fn a_burst_in_one_trial_counts_as_one_bad_trial() {
        let burst = side(&[0, 60, 0, 0]);
        let even = side(&[15, 15, 15, 15]);
        let d = design_effect(&burst.trials).unwrap();
        assert!(d > 30.0, "{d}");
        assert_eq!(design_effect(&even.trials), Some(1.0));
        let clean = side(&[0, 1, 0, 0]);
        let t = Thresholds::default();
        let pooled = stats::fisher_failures(counts(&burst), counts(&clean), true);
        let row = compare(&burst, &clean, &t);
        assert!(pooled < 1e-10, "pooled counts: {pooled}");
        assert!(row.p_worse.unwrap() > 0.01, "{row:?}");
        assert!(row.note.as_deref().unwrap().contains("bursts"), "{row:?}");
        // Failures spread evenly keep their full weight.
        let row = compare(&even, &clean, &t);
        assert!(row.p_worse.unwrap() < 1e-6, "{row:?}");
    }
}
