//! `llm-bench trend`: change points in each gated metric's nightly series, so a
//! slow drift or a step between pull requests is seen (no single comparison with
//! one baseline shows it).
//!
//! A series is one metric of one scenario of one target, a value per run (the
//! geometric mean of its trials), analysed on a log scale so a step is a ratio.
//! [`edivisive`] finds the change points and tests each by permutation;
//! [`recent`] then tests the newest 3 runs against those before them, since
//! E-divisive sees a step only a few runs old poorly. A change
//! smaller than a minimum magnitude is dropped (a real but tiny shift is not worth
//! an alarm). Each change point is described by [`shape`]: the step with its 95%
//! interval (Welch on the log values of the segments either side), the commits
//! either side, the first run after it, and whether it looks like a step or a
//! slow drift.

pub mod edivisive;
pub mod recent;
pub mod render;
pub mod shape;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::compare::metric::MetricId;
use crate::history::table::gated_metrics;
use crate::history::Entry;

pub use shape::Shape;

/// Smallest step reported by default, as a share of the level before it.
pub const DEFAULT_MIN_MAGNITUDE: f64 = 0.02;
/// Largest permutation p-value of a change point by default.
pub const DEFAULT_ALPHA: f64 = 0.05;
/// Permutations per test.
pub const PERMUTATIONS: usize = 199;
/// Fewest runs on each side of a change point: a step is reported from the third
/// run after it on.
pub const MIN_SEGMENT: usize = 3;

/// How the analysis decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub min_magnitude: f64,
    pub alpha: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_magnitude: DEFAULT_MIN_MAGNITUDE,
            alpha: DEFAULT_ALPHA,
        }
    }
}

/// One run of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub run_id: String,
    pub created_at: String,
    pub git_commit: Option<String>,
    pub value: f64,
}

/// A change point of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangePoint {
    /// Index of the first run after the change.
    pub index: usize,
    /// The last run's commit before the change and the first one's after it: the
    /// change is in `from..to`.
    pub commit_before: Option<String>,
    pub commit_after: Option<String>,
    pub first_run_after: String,
    pub first_date_after: String,
    /// Levels (geometric means) of the segments either side.
    pub before: f64,
    pub after: f64,
    /// after / before − 1, with its 95% interval.
    pub step: f64,
    pub step_low: f64,
    pub step_high: f64,
    pub p_value: f64,
    pub shape: Shape,
    /// The change makes the metric worse (slower, less throughput).
    pub worse: bool,
    /// Index of a later change point that brings the level back to within the
    /// minimum magnitude of `before` (or better), if any.
    pub restored_by: Option<usize>,
}

/// One metric of one scenario of one target over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub target: String,
    pub scenario: String,
    pub metric: MetricId,
    pub points: Vec<Point>,
    pub change_points: Vec<ChangePoint>,
}

/// Every gated metric's series of `entries` (file order = time order), with its
/// change points.
pub fn analyse(entries: &[Entry], settings: &Settings) -> Vec<Series> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for e in entries {
        if !keys.contains(&(e.target.as_str(), e.scenario.as_str())) {
            keys.push((e.target.as_str(), e.scenario.as_str()));
        }
    }
    keys.sort();
    let mut out = Vec::new();
    for (target, scenario) in keys {
        let runs: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.target == target && e.scenario == scenario)
            .collect();
        for metric in gated_metrics() {
            let points: Vec<Point> = runs
                .iter()
                .filter_map(|e| {
                    Some(Point {
                        run_id: e.run_id.clone(),
                        created_at: e.created_at.clone(),
                        git_commit: e.git_commit.clone(),
                        value: e.value(metric).filter(|v| *v > 0.0)?,
                    })
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            let values: Vec<f64> = points.iter().map(|p| p.value).collect();
            let change_points = detect(&values, metric, settings)
                .into_iter()
                .map(|c| c.describe(&points))
                .collect();
            out.push(Series {
                target: target.to_string(),
                scenario: scenario.to_string(),
                metric,
                points,
                change_points,
            });
        }
    }
    out
}

/// The change points of one series of positive values: E-divisive's, then a
/// step in the newest runs after the last of them ([`recent`]).
pub fn detect(values: &[f64], metric: MetricId, settings: &Settings) -> Vec<shape::Found> {
    let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    let search = edivisive::Settings {
        alpha: settings.alpha,
        permutations: PERMUTATIONS,
        min_segment: MIN_SEGMENT,
        seed: SEED,
    };
    let splits = edivisive::change_points(&logs, &search);
    let found = shape::describe_all(&logs, &splits, metric, settings.min_magnitude);
    let kept: Vec<edivisive::Split> = splits
        .into_iter()
        .filter(|s| found.iter().any(|f| f.index == s.index))
        .collect();
    let mut rng = StdRng::seed_from_u64(SEED.rotate_left(32));
    let alpha = settings.alpha * recent::ALPHA_SHARE;
    let with_recent =
        recent::with_recent_step(&logs, kept.clone(), alpha, recent::PERMUTATIONS, &mut rng);
    if with_recent == kept {
        return found;
    }
    shape::describe_all(&logs, &with_recent, metric, settings.min_magnitude)
}

/// Seed of the permutations: the same series always gives the same answer.
const SEED: u64 = 0x6c6c_6d2d_7472_6e64;
