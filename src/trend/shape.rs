//! What a change point looks like: the step (levels either side, its size with a
//! 95% interval), the direction (worse or better for the metric), whether a later
//! change restored the level, and whether it is a step or a slow drift.
//!
//! Step or drift: over the runs between the neighbouring change points, a step is
//! two flat levels and a drift is a straight line. Whichever leaves the smaller
//! sum of squared residuals names it (both models have two parameters), so a ramp
//! that E-divisive cuts into pieces reads as drift, piece by piece, and a jump
//! reads as a step. And change points in one direction a few runs apart
//! ([`STAIRCASE_RUNS`]) are a ramp cut into pieces: drift.

use serde::Serialize;

use super::edivisive::Split;
use super::{ChangePoint, Point};
use crate::compare::metric::MetricId;
use crate::compare::stats;

/// Step or drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Step,
    Drift,
}

/// A change point in index terms, before commits and dates are attached.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub index: usize,
    pub p_value: f64,
    pub before: f64,
    pub after: f64,
    pub step: f64,
    pub step_low: f64,
    pub step_high: f64,
    pub shape: Shape,
    pub worse: bool,
    pub restored_by: Option<usize>,
}

/// Describes the kept `splits` of `logs` (log values); those whose step is under
/// `min_magnitude` are dropped and the rest described again (their segments grow),
/// until every one left clears it.
pub fn describe_all(
    logs: &[f64],
    splits: &[Split],
    metric: MetricId,
    min_magnitude: f64,
) -> Vec<Found> {
    let mut kept: Vec<Split> = splits.to_vec();
    loop {
        let found: Vec<Found> = (0..kept.len())
            .map(|i| describe(logs, &kept, i, metric))
            .collect();
        // Drop the smallest step under the magnitude, one at a time.
        let smallest = found
            .iter()
            .enumerate()
            .filter(|(_, f)| f.step.abs() < min_magnitude)
            .min_by(|a, b| a.1.step.abs().total_cmp(&b.1.step.abs()));
        match smallest {
            Some((i, _)) => {
                kept.remove(i);
            }
            None => return restored(staircases(found), metric, min_magnitude),
        }
    }
}

fn describe(logs: &[f64], kept: &[Split], i: usize, metric: MetricId) -> Found {
    let start = if i == 0 { 0 } else { kept[i - 1].index };
    let end = kept.get(i + 1).map_or(logs.len(), |s| s.index);
    let at = kept[i].index;
    let (before, after) = (&logs[start..at], &logs[at..end]);
    let estimate = stats::welch(after, before, 0.0, 0.95);
    let diff = stats::mean(after) - stats::mean(before);
    let (low, high) = estimate.map_or((diff, diff), |e| (e.low, e.high));
    Found {
        index: at,
        p_value: kept[i].p_value,
        before: stats::mean(before).exp(),
        after: stats::mean(after).exp(),
        step: diff.exp_m1(),
        step_low: low.exp_m1(),
        step_high: high.exp_m1(),
        shape: shape(&logs[start..end], at - start),
        worse: diff * metric.orientation() > 0.0,
        restored_by: None,
    }
}

/// Step when two levels split at `at` fit `x` better than a straight line and
/// better than a hinge (flat, then a ramp, from the run that fits best); else
/// drift. Each model has two parameters.
pub fn shape(x: &[f64], at: usize) -> Shape {
    let rss = |xs: &[f64]| {
        let m = stats::mean(xs);
        xs.iter().map(|v| (v - m).powi(2)).sum::<f64>()
    };
    let step = rss(&x[..at]) + rss(&x[at..]);
    let line = line_rss(x, |t| t as f64);
    // The best hinge anywhere: a ramp that began before or after the cut.
    let hinge = (1..x.len().saturating_sub(2))
        .map(|h| line_rss(x, |t| (t as f64 - h as f64).max(0.0)))
        .fold(f64::INFINITY, f64::min);
    if line.min(hinge) < step {
        Shape::Drift
    } else {
        Shape::Step
    }
}

/// Residual sum of squares of the least-squares fit x ≈ a + b·z(t).
fn line_rss(x: &[f64], z: impl Fn(usize) -> f64) -> f64 {
    let zs: Vec<f64> = (0..x.len()).map(z).collect();
    let (z_mean, y_mean) = (stats::mean(&zs), stats::mean(x));
    let szz: f64 = zs.iter().map(|z| (z - z_mean).powi(2)).sum();
    let szy: f64 = zs
        .iter()
        .zip(x)
        .map(|(z, y)| (z - z_mean) * (y - y_mean))
        .sum();
    let slope = if szz > 0.0 { szy / szz } else { 0.0 };
    zs.iter()
        .zip(x)
        .map(|(z, y)| (y - y_mean - slope * (z - z_mean)).powi(2))
        .sum()
}

/// Runs within which change points in the same direction read as one drift.
pub const STAIRCASE_RUNS: usize = 15;

/// A slow drift that E-divisive cuts into pieces shows as a staircase: change
/// points in one direction a few runs apart. Each of them is drift.
fn staircases(mut found: Vec<Found>) -> Vec<Found> {
    let up = |f: &Found| f.step > 0.0;
    for i in 0..found.len() {
        let near = |j: usize| {
            found[i].index.abs_diff(found[j].index) <= STAIRCASE_RUNS
                && up(&found[i]) == up(&found[j])
        };
        if (i > 0 && near(i - 1)) || (i + 1 < found.len() && near(i + 1)) {
            found[i].shape = Shape::Drift;
        }
    }
    found
}

/// Marks each worse change point whose level a later change point brought back to
/// within `min_magnitude` of the level before it (or better).
fn restored(mut found: Vec<Found>, metric: MetricId, min_magnitude: f64) -> Vec<Found> {
    for i in 0..found.len() {
        if !found[i].worse {
            continue;
        }
        let before = found[i].before;
        found[i].restored_by = found[i + 1..]
            .iter()
            .find(|later| {
                let worse_by = (later.after / before).ln() * metric.orientation();
                worse_by < min_magnitude.ln_1p()
            })
            .map(|later| later.index);
    }
    found
}

impl Found {
    /// With the runs' commits and dates.
    pub fn describe(self, points: &[Point]) -> ChangePoint {
        let before = self.index.checked_sub(1).and_then(|i| points.get(i));
        let after = points.get(self.index);
        ChangePoint {
            index: self.index,
            commit_before: before.and_then(|p| p.git_commit.clone()),
            commit_after: after.and_then(|p| p.git_commit.clone()),
            first_run_after: after.map(|p| p.run_id.clone()).unwrap_or_default(),
            first_date_after: after.map(|p| p.created_at.clone()).unwrap_or_default(),
            before: self.before,
            after: self.after,
            step: self.step,
            step_low: self.step_low,
            step_high: self.step_high,
            p_value: self.p_value,
            shape: self.shape,
            worse: self.worse,
            restored_by: self.restored_by,
        }
    }
}
