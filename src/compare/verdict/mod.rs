//! A run's trials against a baseline's runs and trials → one verdict per metric.
//!
//! Trials, not requests, are the unit of replication within a run, and runs drift
//! from one to the next: each metric is compared on its per-trial log statistics,
//! Δ = ln(current / baseline) oriented so that positive means worse, with a variance
//! that includes the between-run component ([`super::drift`]), after zero-valued
//! and outlier trials are left out by name ([`super::trials`]); see
//! `super::log_metric`. The success rate is tested on trial-clustered counts
//! (`super::success`) and against the SLO's hard floor. A scenario whose
//! fingerprint or server state ([`super::server_state`]) differs is not comparable.
//!
//! Verdicts, with δ the metric's minimum effect in its units
//! ([`super::metric::EffectiveThreshold`]): **regression** when H0: Δ ≤ δ is
//! rejected at the Holm-adjusted α (a `--max-trials` run's looks share it);
//! **improvement** its mirror; **within noise** when the whole 1 − α interval lies
//! inside ±δ and no trial was left out for a missing value; **inconclusive**
//! otherwise. Holm runs over every gated test of the run; the rest are information
//! and never fail a job.

use std::collections::BTreeSet;

use super::baseline::{Baseline, TrialRecord};
use super::metric::{Gate, Kind, MetricId};
use super::server_state::StateComparison;
use super::{log_metric, stats, success, trials};
use crate::config::thresholds::Thresholds;

mod types;

pub use types::*;

/// A scenario with no baseline.
pub fn new_scenario(current: &Baseline, baseline_path: String) -> ScenarioComparison {
    ScenarioComparison {
        scenario: current.scenario.clone(),
        status: Status::New,
        baseline_path,
        baseline: None,
        current_trials: current.trials.len(),
        not_comparable: Vec::new(),
        warnings: Vec::new(),
        server_state: None,
        alpha_share: 1.0,
        thresholds: current.spec.thresholds.clone(),
        metrics: Vec::new(),
    }
}

/// Compares one scenario. Verdicts are provisional until [`finish`] applies Holm
/// across the run.
pub fn compare_scenario(
    current: &Baseline,
    baseline: &Baseline,
    baseline_path: String,
) -> ScenarioComparison {
    let thresholds = current.spec.thresholds.clone();
    let (must, mut warnings) = current.fingerprint.differences(&baseline.fingerprint);
    let mut out = ScenarioComparison {
        scenario: current.scenario.clone(),
        status: Status::Compared,
        baseline_path,
        baseline: Some(BaselineInfo::of(baseline)),
        current_trials: current.trials.len(),
        not_comparable: Vec::new(),
        warnings: Vec::new(),
        server_state: StateComparison::of(current, baseline),
        alpha_share: super::sequential::alpha_share(&current.spec, current.trials.len()),
        thresholds: thresholds.clone(),
        metrics: Vec::new(),
    };
    let mut must = name_workload_changes(must, current, baseline);
    if let Some(state) = &out.server_state {
        must.extend(state.mismatches.iter().cloned());
    }
    if !must.is_empty() {
        out.status = Status::NotComparable;
        out.not_comparable = must;
        out.warnings = warnings;
        return out;
    }
    let drift = output_drift(current, baseline, thresholds.output_tokens_drift);
    warnings.extend(drift.clone());
    warnings.extend(new_error_kinds(current, baseline));
    warnings.extend(outliers(current, baseline, &thresholds));
    let large = |trials: &[TrialRecord]| {
        trials
            .iter()
            .all(|t| t.succeeded >= thresholds.p99_min_requests)
    };
    let p99_gated = large(&current.trials) && large(&baseline.trials);
    for metric in MetricId::ALL {
        let gated = match metric.gate() {
            Gate::Always => true,
            Gate::LargeTrials => p99_gated,
            Gate::Never => false,
        };
        let row = match metric.kind() {
            Kind::SuccessRate => Some(success::compare(current, baseline, &thresholds)),
            _ => log_metric::compare(metric, current, baseline, &thresholds),
        };
        let Some(mut row) = row else { continue };
        row.gated = gated && row.verdict != Verdict::NotComparable;
        if let (Some(why), true) = (&drift, metric.depends_on_output_length()) {
            row.verdict = Verdict::NotComparable;
            row.gated = false;
            row.note = Some(why.clone());
        }
        out.metrics.push(row);
    }
    out.warnings = warnings;
    out
}

/// The fingerprint's "workload: `<hash>` ..." line replaced by the settings that
/// changed, each with both values; kept as it is when no setting differs (a
/// baseline hashed by another version).
fn name_workload_changes(
    must: Vec<String>,
    current: &Baseline,
    baseline: &Baseline,
) -> Vec<String> {
    let settings = crate::fingerprint::spec_differences(&baseline.spec, &current.spec);
    must.into_iter()
        .flat_map(|line| {
            if line.starts_with("workload:") && !settings.is_empty() {
                settings.clone()
            } else {
                vec![line]
            }
        })
        .collect()
}

/// Whether a gated test can reject at all. A success rate with no failure on either
/// side has only one possible table, so its Fisher p-value is 1 whatever happens;
/// such a test is left out of the Holm family (Tarone 1990, Biometrics 46:515:
/// tests that cannot reach significance need not share the error budget).
fn in_family(row: &MetricComparison) -> bool {
    let cannot_reject =
        row.method == Method::Fisher && row.baseline == Some(1.0) && row.current == Some(1.0);
    row.gated && row.p_worse.is_some() && !cannot_reject
}

/// Applies Holm over every gated test of the run, settles each verdict, counts them
/// and decides the outcome.
///
/// Only regressions fail a job, so the question for each gated test is one-sided:
/// "is it worse?". Holm runs over the one-sided "worse" p-values of every gated test
/// of the run (family-wise false-regression rate ≤ α), and separately over the
/// "better" p-values for improvements.
pub fn finish(mut scenarios: Vec<ScenarioComparison>, strict: bool, meta: RunInfo) -> Comparison {
    let mut family = Vec::new();
    for (s, scenario) in scenarios.iter().enumerate() {
        for (m, row) in scenario.metrics.iter().enumerate() {
            if in_family(row) {
                family.push((s, m));
            }
        }
    }
    let column = |f: fn(&MetricComparison) -> Option<f64>| -> Vec<f64> {
        family
            .iter()
            .map(|&(s, m)| f(&scenarios[s].metrics[m]).unwrap_or(1.0))
            .collect()
    };
    let worse = stats::holm(&column(|r| r.p_worse));
    let better = stats::holm(&column(|r| r.p_better));
    for (i, &(s, m)) in family.iter().enumerate() {
        let row = &mut scenarios[s].metrics[m];
        row.p_adjusted = Some(if row.delta.unwrap_or(0.0) < 0.0 {
            better[i]
        } else {
            worse[i]
        });
    }
    let mut totals = Totals::default();
    for scenario in &mut scenarios {
        let alpha = scenario.thresholds.alpha * scenario.alpha_share;
        for row in &mut scenario.metrics {
            if !in_family(row) {
                row.p_adjusted = if row.delta.unwrap_or(0.0) < 0.0 {
                    row.p_better
                } else {
                    row.p_worse
                };
            }
            // A bracket's verdict is its own rule's: it has no p-value.
            let settled = row.forced || row.method == Method::Bracket;
            if row.verdict != Verdict::NotComparable && !settled {
                row.verdict = classify(row, alpha);
            }
            if row.gated {
                match row.verdict {
                    Verdict::Regression => totals.regressions += 1,
                    Verdict::Improvement => totals.improvements += 1,
                    Verdict::WithinNoise => totals.within_noise += 1,
                    Verdict::Inconclusive => totals.inconclusive += 1,
                    Verdict::NotComparable => {}
                }
            }
        }
        // Regressions first, then by catalogue order.
        scenario.metrics.sort_by_key(|r| (r.verdict, r.metric));
        match scenario.status {
            Status::New => totals.new += 1,
            Status::NotComparable => totals.not_comparable += 1,
            Status::Compared => {}
        }
    }
    let outcome = if totals.regressions > 0 {
        Outcome::Regression
    } else if totals.not_comparable > 0 || (strict && totals.new > 0) {
        Outcome::NotComparable
    } else {
        Outcome::Pass
    };
    Comparison {
        schema_version: COMPARISON_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: meta.run_id,
        target: meta.target,
        baseline_dir: meta.baseline_dir,
        correction: "holm".into(),
        gated_tests: family.len(),
        strict,
        sequential_looks: meta.looks.max(1),
        totals,
        outcome,
        scenarios,
    }
}

/// Identity of the compared run, for `comparison.json`.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub run_id: String,
    pub target: String,
    pub baseline_dir: String,
    /// Looks at the data the run may take (`--max-trials`), for the report; each
    /// scenario's share of α is in [`ScenarioComparison::alpha_share`].
    pub looks: u32,
}

fn classify(row: &MetricComparison, alpha: f64) -> Verdict {
    let (Some(d), Some(lo), Some(hi), Some(p)) =
        (row.delta, row.ci_low, row.ci_high, row.p_adjusted)
    else {
        return Verdict::Inconclusive;
    };
    let delta = row.min_effect;
    if p < alpha && d >= delta && lo > 0.0 {
        Verdict::Regression
    } else if p < alpha && d <= -delta && hi < 0.0 {
        Verdict::Improvement
    } else if lo > -delta && hi < delta && !row.partial {
        Verdict::WithinNoise
    } else {
        Verdict::Inconclusive
    }
}

/// One line per outlier trial of either side, naming the metrics it is far out
/// in; those metrics' tests leave it out ([`trials`]).
fn outliers(current: &Baseline, baseline: &Baseline, t: &Thresholds) -> Vec<String> {
    // The scale each metric's test judges outliers on (see `log_metric`).
    let floor = |m| {
        baseline
            .noise
            .get(&m)
            .copied()
            .unwrap_or(0.0)
            .max(t.noise_floor)
    };
    let this_run = trials::outlier_lines(current, &floor)
        .into_iter()
        .map(|l| format!("this run's {l}: left out of those metrics"));
    let blessed = trials::outlier_lines(baseline, &floor)
        .into_iter()
        .map(|l| {
            format!("the baseline's {l}: left out of those metrics and of its recorded noise")
        });
    this_run.chain(blessed).collect()
}

/// Mean output tokens per successful request, pooled over trials.
fn mean_output_tokens(b: &Baseline) -> Option<f64> {
    let (mut tokens, mut n) = (0.0, 0u64);
    for t in &b.trials {
        if let Some(mean) = t.output_tokens_mean {
            tokens += mean * t.succeeded as f64;
            n += t.succeeded;
        }
    }
    (n > 0).then(|| tokens / n as f64)
}

fn output_drift(current: &Baseline, baseline: &Baseline, limit: f64) -> Option<String> {
    let (cur, base) = (mean_output_tokens(current)?, mean_output_tokens(baseline)?);
    let change = cur / base - 1.0;
    (base > 0.0 && change.abs() > limit).then(|| {
        format!(
            "output length changed: {base:.1} → {cur:.1} tokens per request ({:+.1}%, limit ±{:.1}%): \
             E2E and throughput are not comparable (set `ignore_eos` for fixed-length outputs)",
            change * 100.0,
            limit * 100.0
        )
    })
}

fn new_error_kinds(current: &Baseline, baseline: &Baseline) -> Vec<String> {
    let seen: BTreeSet<_> = baseline
        .trials
        .iter()
        .flat_map(|t| t.errors.keys().copied())
        .collect();
    let mut now = std::collections::BTreeMap::new();
    for t in &current.trials {
        for (kind, n) in &t.errors {
            *now.entry(*kind).or_insert(0u64) += n;
        }
    }
    now.into_iter()
        .filter(|(kind, _)| !seen.contains(kind))
        .map(|(kind, n)| {
            format!("new error kind `{kind}` ({n} requests): never seen in the baseline")
        })
        .collect()
}
