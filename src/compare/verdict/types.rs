//! What `comparison.json` holds: the verdict of each metric, each scenario and the
//! run, as serialized types. [`super`] fills them.

use serde::{Deserialize, Serialize};

use crate::compare::baseline::Baseline;
use crate::compare::metric::{EffectiveThreshold, Kind, MetricId};
use crate::compare::server_state::StateComparison;
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
    /// Capacity at SLO: the searches' brackets (`compare::capacity::rule`).
    Bracket,
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
    /// δ in the metric's units, and whether the relative or the absolute part of
    /// the tolerance sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<EffectiveThreshold>,
    /// Trials the test used on each side, of how many (zero-valued and outlier
    /// trials are left out, by name, in `note`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials_used: Option<TrialsUsed>,
    /// The between-run SD (log scale) in the test's variance: the prior, or pooled
    /// with what a multi-run baseline's runs show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between_run_sd: Option<f64>,
    /// Some trials had no usable value (0 or missing): the verdict is never
    /// "within noise".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
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

/// How many trials a metric's test used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialsUsed {
    pub current: usize,
    pub current_of: usize,
    pub baseline: usize,
    pub baseline_of: usize,
    /// Baseline runs the baseline trials came from.
    pub baseline_runs: usize,
}

impl TrialsUsed {
    /// Every trial of both sides.
    pub fn all(current: &Baseline, baseline: &Baseline) -> TrialsUsed {
        TrialsUsed {
            current: current.trials.len(),
            current_of: current.trials.len(),
            baseline: baseline.trials.len(),
            baseline_of: baseline.trials.len(),
            baseline_runs: baseline.run_count(),
        }
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
    /// Runs the baseline holds (`--bless --append`); 1 for an ordinary baseline.
    #[serde(default = "one")]
    pub runs: usize,
}

fn one() -> usize {
    1
}

impl BaselineInfo {
    pub fn of(b: &Baseline) -> BaselineInfo {
        BaselineInfo {
            runs: b.run_count(),
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
    /// The share of α this comparison may spend: below 1 for a look of a
    /// `--max-trials` run (`super::sequential::alpha_share`).
    #[serde(default = "full_share", skip_serializing_if = "is_full_share")]
    pub alpha_share: f64,
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
    /// Looks at the data a sequential run (`--max-trials`) may take; α is split
    /// evenly over them. 1 for an ordinary comparison.
    #[serde(default = "one_look", skip_serializing_if = "is_one_look")]
    pub sequential_looks: u32,
    pub totals: Totals,
    pub outcome: Outcome,
    pub scenarios: Vec<ScenarioComparison>,
}

fn full_share() -> f64 {
    1.0
}

fn is_full_share(share: &f64) -> bool {
    *share == 1.0
}

fn one_look() -> u32 {
    1
}

fn is_one_look(n: &u32) -> bool {
    *n == 1
}

/// Version of `comparison.json`.
pub const COMPARISON_SCHEMA_VERSION: u32 = 1;
