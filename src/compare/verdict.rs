//! A run's trials against a baseline's trials → one verdict per metric.
//!
//! Trials, not requests, are the unit of replication: requests within a trial share
//! the server's state of the moment (its clocks, caches, neighbours), so a thousand
//! requests of one trial are not a thousand independent observations of the server,
//! and a request-level test calls every between-run wobble a regression. Each metric
//! is therefore compared on its per-trial statistics, as Δ = ln(current / baseline)
//! oriented so that positive means worse:
//!
//! * ≥ 2 trials on both sides: Welch's t on the per-trial logs;
//! * 1 current trial against ≥ 3 baseline trials: a prediction interval;
//! * otherwise (one trial on a side): a seeded request-level bootstrap, marked low
//!   confidence;
//!
//! never assuming a between-trial spread below the baseline's recorded noise or the
//! configured floor. The success rate is tested on counts (one-sided Fisher exact,
//! Newcombe interval) and also against the SLO's hard floor.
//!
//! Verdicts, with δ the metric's minimum effect (relative, with an absolute floor):
//! **regression** when the Holm-adjusted p < α and Δ ≥ δ; **improvement** its
//! mirror; **within noise** when the whole 1 − α interval lies inside ±δ;
//! **inconclusive** otherwise. Holm runs over every gated test of the run; the rest
//! are information and never fail a job.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::baseline::{Baseline, TrialRecord};
use super::metric::{percentile_of, Gate, Kind, Latency, MetricId};
use super::server_state::StateComparison;
use super::stats::{self, Estimate};
use crate::config::thresholds::{Thresholds, Tolerance};

/// Bootstrap resamples per metric: enough for a stable standard error.
pub const BOOTSTRAP_REPLICATES: usize = 2000;

/// What a comparison concluded about one metric. Sorted as reports list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regression,
    Improvement,
    Inconclusive,
    WithinNoise,
    /// The metric cannot be compared (e.g. output length drifted, or no data).
    NotComparable,
}

impl Verdict {
    pub fn icon(self) -> &'static str {
        match self {
            Verdict::Regression => "❌",
            Verdict::Improvement => "✅",
            Verdict::Inconclusive => "❔",
            Verdict::WithinNoise => "⚪",
            Verdict::NotComparable => "⛔",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::Inconclusive => "inconclusive",
            Verdict::WithinNoise => "within noise",
            Verdict::NotComparable => "not comparable",
        }
    }
}

/// How Δ and its interval were estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Welch's t on per-trial log statistics.
    Welch,
    /// One current trial against the baseline trials' prediction interval.
    Prediction,
    /// Request-level bootstrap: one trial on a side, low confidence.
    Bootstrap,
    /// Success counts: Fisher's exact test and Newcombe's interval.
    Fisher,
    /// Nothing could be estimated.
    None,
}

/// One metric of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    pub metric: MetricId,
    /// Counted in the Holm family and able to fail the job.
    pub gated: bool,
    pub method: Method,
    pub low_confidence: bool,
    /// Geometric mean of the per-trial values (success rate: pooled share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<f64>,
    /// Δ, positive = worse: ln(current/baseline) × orientation; for the success rate
    /// baseline share − current share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_high: Option<f64>,
    /// One-sided p-value for "worse" (Δ > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_worse: Option<f64>,
    /// One-sided p-value for "better" (Δ < 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_better: Option<f64>,
    /// The one-sided p-value in the direction of Δ, Holm-adjusted over the run's
    /// gated tests in that direction (unadjusted when not gated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
    /// The configured tolerance.
    pub tolerance: Tolerance,
    /// δ on the scale of `delta`, from the tolerance and the baseline value.
    pub min_effect: f64,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Set when the verdict does not depend on the test (the SLO floor).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

impl MetricComparison {
    /// The change of the value itself as a fraction (−0.06 = 6% lower), with its
    /// interval; the success rate's is in shares (−0.01 = 1 point lower).
    pub fn change(&self) -> Option<(f64, f64, f64)> {
        let (d, lo, hi) = (self.delta?, self.ci_low?, self.ci_high?);
        Some(match self.metric.kind() {
            Kind::SuccessRate => (-d, -hi, -lo),
            _ => {
                let o = self.metric.orientation();
                let f = |x: f64| (o * x).exp() - 1.0;
                let (a, b) = (f(lo), f(hi));
                (f(d), a.min(b), a.max(b))
            }
        })
    }
}

/// Whether a scenario could be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Compared,
    /// No baseline yet: `--bless` records one.
    New,
    /// A must-match fingerprint field differs.
    NotComparable,
}

/// Where the baseline came from, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineInfo {
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blessed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub run_id: String,
    pub trials: usize,
    pub tool_version: String,
}

impl BaselineInfo {
    pub fn of(b: &Baseline) -> BaselineInfo {
        BaselineInfo {
            created_at: b.created_at.clone(),
            blessed_by: b.blessed_by.clone(),
            reason: b.reason.clone(),
            git_commit: b.git_commit.clone(),
            run_id: b.run_id.clone(),
            trials: b.trials.len(),
            tool_version: b.tool_version.clone(),
        }
    }
}

/// One scenario's comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioComparison {
    pub scenario: String,
    pub status: Status,
    /// The baseline file, as given on the command line.
    pub baseline_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
    pub current_trials: usize,
    /// Must-match fingerprint differences (status `not_comparable`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_comparable: Vec<String>,
    /// Should-match differences, new error kinds, output-length drift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The server's state on both sides (prefix-cache hit rate, KV cache and
    /// requests at trial start, version), when either side recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_state: Option<StateComparison>,
    pub thresholds: Thresholds,
    pub metrics: Vec<MetricComparison>,
}

/// Counts of gated verdicts (metrics) and of scenarios that were not compared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub regressions: usize,
    pub improvements: usize,
    pub within_noise: usize,
    pub inconclusive: usize,
    /// Scenarios whose fingerprint does not match their baseline.
    pub not_comparable: usize,
    /// Scenarios without a baseline.
    pub new: usize,
}

/// What the job should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Regression,
    /// A scenario is not comparable, or (under `--strict`) has no baseline.
    NotComparable,
}

/// `comparison.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub schema_version: u32,
    pub tool_version: String,
    pub run_id: String,
    pub target: String,
    pub baseline_dir: String,
    /// `holm`, over `gated_tests` tests.
    pub correction: String,
    pub gated_tests: usize,
    pub strict: bool,
    pub totals: Totals,
    pub outcome: Outcome,
    pub scenarios: Vec<ScenarioComparison>,
}

/// Version of `comparison.json`.
pub const COMPARISON_SCHEMA_VERSION: u32 = 1;

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
            Kind::SuccessRate => Some(success_rate(current, baseline, &thresholds)),
            _ => log_metric(metric, current, baseline, &thresholds),
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
    let settings = super::fingerprint::spec_differences(&baseline.spec, &current.spec);
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
        let alpha = scenario.thresholds.alpha;
        for row in &mut scenario.metrics {
            if !in_family(row) {
                row.p_adjusted = if row.delta.unwrap_or(0.0) < 0.0 {
                    row.p_better
                } else {
                    row.p_worse
                };
            }
            if row.verdict != Verdict::NotComparable && !row.forced {
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
    } else if lo > -delta && hi < delta {
        Verdict::WithinNoise
    } else {
        Verdict::Inconclusive
    }
}

fn geometric_mean(values: &[f64]) -> f64 {
    stats::mean(&values.iter().map(|v| v.ln()).collect::<Vec<_>>()).exp()
}

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

fn empty_row(metric: MetricId, tolerance: Tolerance, note: &str) -> MetricComparison {
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
        verdict: Verdict::NotComparable,
        note: Some(note.into()),
        forced: false,
    }
}

/// A latency or throughput statistic, compared on the log scale.
fn log_metric(
    metric: MetricId,
    current: &Baseline,
    baseline: &Baseline,
    t: &Thresholds,
) -> Option<MetricComparison> {
    let values = |b: &Baseline| -> Vec<f64> {
        b.trials
            .iter()
            .filter_map(|tr| tr.stats.get(&metric).copied())
            .filter(|v| *v > 0.0)
            .collect()
    };
    let (cur, base) = (values(current), values(baseline));
    let tolerance = metric.tolerance(t);
    match (cur.is_empty(), base.is_empty()) {
        (true, true) => return None,
        (true, false) => return Some(empty_row(metric, tolerance, "no data in this run")),
        (false, true) => return Some(empty_row(metric, tolerance, "no data in the baseline")),
        _ => {}
    }
    let (base_value, cur_value) = (geometric_mean(&base), geometric_mean(&cur));
    let floor = baseline
        .noise
        .get(&metric)
        .copied()
        .unwrap_or(0.0)
        .max(t.noise_floor);
    let confidence = 1.0 - t.alpha;
    let log = |v: &[f64]| v.iter().map(|x| x.ln()).collect::<Vec<_>>();
    let (method, estimate) = if cur.len() >= 2 && base.len() >= 2 {
        (
            Method::Welch,
            stats::welch(&log(&cur), &log(&base), floor, confidence),
        )
    } else if cur.len() == 1 && base.len() >= 3 {
        (
            Method::Prediction,
            stats::prediction(cur[0].ln(), &log(&base), floor, confidence),
        )
    } else {
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
        let e = stats::bootstrap_log_ratio(
            &c,
            &b,
            &statistic,
            BOOTSTRAP_REPLICATES,
            seed(&current.scenario, metric),
            floor,
            confidence,
        );
        (Method::Bootstrap, e)
    };
    let Some(Estimate {
        estimate,
        low,
        high,
        p_value,
        ..
    }) = estimate
    else {
        return Some(empty_row(metric, tolerance, "too few samples to estimate"));
    };
    let o = metric.orientation();
    let (lo, hi) = if o > 0.0 { (low, high) } else { (-high, -low) };
    let delta = o * estimate;
    // t and normal are symmetric: the one-sided p in the observed direction is half
    // the two-sided one.
    let (p_worse, p_better) = if delta > 0.0 {
        (p_value / 2.0, 1.0 - p_value / 2.0)
    } else if delta < 0.0 {
        (1.0 - p_value / 2.0, p_value / 2.0)
    } else {
        (
            0.5_f64.max(1.0 - p_value / 2.0),
            0.5_f64.max(1.0 - p_value / 2.0),
        )
    };
    Some(MetricComparison {
        metric,
        gated: false,
        method,
        low_confidence: method == Method::Bootstrap,
        baseline: Some(base_value),
        current: Some(cur_value),
        delta: Some(delta),
        ci_low: Some(lo),
        ci_high: Some(hi),
        p_worse: Some(p_worse),
        p_better: Some(p_better),
        p_adjusted: None,
        tolerance,
        min_effect: tolerance.log_delta(base_value),
        verdict: Verdict::Inconclusive,
        note: None,
        forced: false,
    })
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

fn counts(b: &Baseline) -> (u64, u64) {
    b.trials
        .iter()
        .fold((0, 0), |(f, s), t| (f + t.failed, s + t.succeeded))
}

/// The success rate: counts pooled over trials; Fisher's exact test one-sided in the
/// direction observed, Newcombe's interval, and the SLO's hard floor.
fn success_rate(current: &Baseline, baseline: &Baseline, t: &Thresholds) -> MetricComparison {
    let (cur_failed, cur_ok) = counts(current);
    let (base_failed, base_ok) = counts(baseline);
    let share = |ok: u64, failed: u64| {
        if ok + failed > 0 {
            ok as f64 / (ok + failed) as f64
        } else {
            0.0
        }
    };
    let (cur, base) = (share(cur_ok, cur_failed), share(base_ok, base_failed));
    let delta = base - cur;
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
    MetricComparison {
        metric: MetricId::SuccessRate,
        gated: true,
        method: Method::Fisher,
        low_confidence: false,
        baseline: Some(base),
        current: Some(cur),
        delta: Some(delta),
        ci_low: Some(lo),
        ci_high: Some(hi),
        p_worse: Some(p_worse),
        p_better: Some(p_better),
        p_adjusted: None,
        tolerance,
        min_effect: tolerance.absolute,
        verdict: if below_floor { Verdict::Regression } else { Verdict::Inconclusive },
        note: below_floor.then(|| {
            format!(
                "below the SLO floor: {:.1}% succeeded, at least {:.1}% required (max_error_rate {})",
                cur * 100.0,
                floor * 100.0,
                current.spec.max_error_rate
            )
        }),
        forced: below_floor,
    }
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
