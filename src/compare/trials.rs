//! Which trials feed a metric's test, and why the others do not.
//!
//! Real runs contain trials a log-scale test cannot take as they are:
//!
//! * **Zero or missing statistics.** ITL p50 is 0.0 on a starved machine (several
//!   events arrive in one read); a trial in which every request failed has a
//!   throughput of 0 and no TTFT. ln(0) does not exist, so such a trial is left
//!   out of that metric's test, and the comparison says so with the trial and the
//!   real count ("compared on 2 of 5 baseline trials"); it is never dropped
//!   silently, and a metric with trials left out is never called "within noise".
//! * **Outlier trials.** One trial far from the others of its run (a restart, a
//!   noisy neighbour) would set the recorded noise on its own and blind the metric
//!   until the next bless, or, in the candidate, widen the interval until a real
//!   regression reads as inconclusive. Within each run of at least
//!   [`MIN_TRIALS_FOR_OUTLIERS`] trials, the trial farthest from the run's median
//!   is an outlier when it is more than [`OUTLIER_Z`] robust standard deviations
//!   away: 1.4826 × the median absolute deviation (a consistent estimate of σ for
//!   normal data), never less than the noise floor (Iglewicz & Hoaglin 1993, *How
//!   to Detect and Handle Outliers*, whose modified z-score cut-off is 3.5). It is
//!   flagged (which trial, how far out) and left out of the test and of the
//!   recorded noise; at most one per run, so a run keeps at least 3 trials.

use std::collections::BTreeMap;

use super::baseline::{Baseline, TrialRecord};
use super::metric::MetricId;
use super::stats;

/// Robust standard deviations from the median beyond which a trial is an outlier.
pub const OUTLIER_Z: f64 = 3.5;
/// Runs with fewer trials keep them all: with 3, the median and its absolute
/// deviation rest on too little to call one of them odd.
pub const MIN_TRIALS_FOR_OUTLIERS: usize = 4;

/// A side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Current,
    Baseline,
}

/// Why a trial is not in a metric's test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Why {
    /// The statistic is 0 (or negative): no logarithm.
    NotPositive(f64),
    /// The trial has no value for a statistic other trials have (no successful
    /// request, say).
    Missing,
    /// Far from its run's other trials: `change` from the median (0.38 = +38%),
    /// `robust_sds` robust standard deviations out.
    Outlier { change: f64, robust_sds: f64 },
}

/// One trial left out of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeftOut {
    pub side: Side,
    /// Index of the baseline run (0 for the current side).
    pub run: u32,
    pub trial: u32,
    pub why: Why,
}

impl LeftOut {
    /// "trial 2 of this run: 0 (left out)" and the like.
    pub fn describe(&self, unit: &str) -> String {
        let whose = match self.side {
            Side::Current => format!("trial {} of this run", self.trial),
            Side::Baseline if self.run == 0 => format!("baseline trial {}", self.trial),
            Side::Baseline => format!("baseline run {} trial {}", self.run + 1, self.trial),
        };
        match self.why {
            Why::NotPositive(v) => format!("{whose} is {v} {unit} (no logarithm)"),
            Why::Missing => format!("{whose} has no value"),
            Why::Outlier { change, robust_sds } => format!(
                "{whose} is an outlier: {:+.0}% from its run's median ({robust_sds:.1} robust SDs)",
                change * 100.0
            ),
        }
    }
}

/// The log statistics a metric's test uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricTrials {
    pub current: Vec<f64>,
    /// One vector per baseline run, in run order (a run may end up empty).
    pub baseline_runs: Vec<Vec<f64>>,
    pub left_out: Vec<LeftOut>,
    /// Trials of each side before anything was left out.
    pub current_total: usize,
    pub baseline_total: usize,
}

impl MetricTrials {
    pub fn baseline_used(&self) -> usize {
        self.baseline_runs.iter().map(Vec::len).sum()
    }

    /// Whether either side has no value at all.
    pub fn is_empty_side(&self) -> (bool, bool) {
        (self.current.is_empty(), self.baseline_used() == 0)
    }
}

/// The trials of `current` and `baseline` that `metric`'s test may use; outliers
/// are judged on a scale of at least `scale_floor` (the noise floor, or the
/// baseline's recorded noise when larger).
pub fn select(
    metric: MetricId,
    current: &Baseline,
    baseline: &Baseline,
    scale_floor: f64,
) -> MetricTrials {
    let mut out = MetricTrials {
        current_total: current.trials.len(),
        baseline_total: baseline.trials.len(),
        ..MetricTrials::default()
    };
    let all: Vec<&TrialRecord> = current.trials.iter().collect();
    let (logs, left) = one_run(metric, Side::Current, 0, &all, scale_floor);
    out.current = logs;
    out.left_out.extend(left);
    for (run, trials) in by_run(&baseline.trials) {
        let (logs, left) = one_run(metric, Side::Baseline, run, &trials, scale_floor);
        out.baseline_runs.push(logs);
        out.left_out.extend(left);
    }
    out
}

/// A baseline's trials grouped by run, in run order.
pub fn by_run(trials: &[TrialRecord]) -> Vec<(u32, Vec<&TrialRecord>)> {
    let mut runs: BTreeMap<u32, Vec<&TrialRecord>> = BTreeMap::new();
    for t in trials {
        runs.entry(t.run).or_default().push(t);
    }
    runs.into_iter().collect()
}

/// One run's usable logs and what was left out of it.
fn one_run(
    metric: MetricId,
    side: Side,
    run: u32,
    trials: &[&TrialRecord],
    scale_floor: f64,
) -> (Vec<f64>, Vec<LeftOut>) {
    let any = trials.iter().any(|t| t.stats.contains_key(&metric));
    let mut left = Vec::new();
    let mut kept: Vec<(u32, f64)> = Vec::new();
    for t in trials {
        match t.stats.get(&metric).copied() {
            Some(v) if v > 0.0 && v.is_finite() => kept.push((t.trial, v.ln())),
            Some(v) => left.push(LeftOut {
                side,
                run,
                trial: t.trial,
                why: Why::NotPositive(v),
            }),
            None if any => left.push(LeftOut {
                side,
                run,
                trial: t.trial,
                why: Why::Missing,
            }),
            None => {}
        }
    }
    let logs: Vec<f64> = kept.iter().map(|(_, l)| *l).collect();
    if let Some((i, change, robust_sds)) = outlier(&logs, scale_floor) {
        left.push(LeftOut {
            side,
            run,
            trial: kept[i].0,
            why: Why::Outlier { change, robust_sds },
        });
        kept.remove(i);
    }
    (kept.into_iter().map(|(_, l)| l).collect(), left)
}

/// The most extreme of `logs` when it is an outlier: (index, change from the
/// median as a fraction, robust SDs out).
pub fn outlier(logs: &[f64], scale_floor: f64) -> Option<(usize, f64, f64)> {
    if logs.len() < MIN_TRIALS_FOR_OUTLIERS {
        return None;
    }
    let med = median(logs);
    let deviations: Vec<f64> = logs.iter().map(|l| (l - med).abs()).collect();
    let scale = (1.4826 * median(&deviations)).max(scale_floor);
    if scale.is_nan() || scale <= 0.0 {
        return None;
    }
    let (i, far) = deviations
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    let z = far / scale;
    (z > OUTLIER_Z).then(|| (i, (logs[i] - med).exp() - 1.0, z))
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The within-run SD of each metric's log statistic, pooled over the runs, with
/// zero-valued trials and each run's outlier left out: the noise a baseline
/// records. A metric needs two usable trials in some run; the success rate is
/// tested on counts and has no entry.
pub fn noise(trials: &[TrialRecord], scale_floor: f64) -> BTreeMap<MetricId, f64> {
    let runs = by_run(trials);
    MetricId::ALL
        .iter()
        .filter(|&&m| m != MetricId::SuccessRate)
        .filter_map(|&m| {
            let (mut sum, mut df) = (0.0, 0usize);
            for (run, trials) in &runs {
                let (logs, _) = one_run(m, Side::Baseline, *run, trials, scale_floor);
                if logs.len() >= 2 {
                    sum += stats::sample_variance(&logs) * (logs.len() - 1) as f64;
                    df += logs.len() - 1;
                }
            }
            (df > 0).then(|| (m, (sum / df as f64).sqrt()))
        })
        .collect()
}

/// Every outlier trial of a side, one line per trial naming the metrics it is
/// far out in: "trial 3: an outlier in TTFT p50 (+38%, 9.1 robust SDs), …";
/// `scale_floor` gives each metric's floor, as its test uses it.
pub fn outlier_lines(side: &Baseline, scale_floor: &dyn Fn(MetricId) -> f64) -> Vec<String> {
    let mut by_trial: BTreeMap<(u32, u32), Vec<String>> = BTreeMap::new();
    for metric in MetricId::ALL {
        for (run, trials) in by_run(&side.trials) {
            let (_, left) = one_run(metric, Side::Baseline, run, &trials, scale_floor(metric));
            for l in left {
                if let Why::Outlier { change, robust_sds } = l.why {
                    by_trial.entry((l.run, l.trial)).or_default().push(format!(
                        "{} ({:+.0}%, {robust_sds:.1} robust SDs)",
                        metric.label(),
                        change * 100.0
                    ));
                }
            }
        }
    }
    by_trial
        .into_iter()
        .map(|((run, trial), metrics)| {
            let whose = if run == 0 {
                format!("trial {trial}")
            } else {
                format!("run {} trial {trial}", run + 1)
            };
            format!("{whose} is an outlier in {}", metrics.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::baseline::tests::tiny_baseline;

    fn side(values: &[Option<f64>]) -> Baseline {
        let mut b = tiny_baseline();
        let template = b.trials[0].clone();
        b.trials = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut t = template.clone();
                t.trial = i as u32;
                t.stats.clear();
                if let Some(v) = v {
                    t.stats.insert(MetricId::ItlP50, *v);
                }
                t
            })
            .collect();
        b
    }

    #[test]
    fn zeros_and_missing_values_are_left_out_by_name() {
        let current = side(&[Some(5.0), Some(0.0), Some(5.1), None]);
        let baseline = side(&[Some(0.0), Some(5.0), Some(0.0), Some(5.2), Some(0.0)]);
        let m = select(MetricId::ItlP50, &current, &baseline, 0.01);
        assert_eq!(m.current.len(), 2);
        assert_eq!(m.baseline_used(), 2);
        assert_eq!((m.current_total, m.baseline_total), (4, 5));
        let lines: Vec<String> = m.left_out.iter().map(|l| l.describe("ms")).collect();
        assert_eq!(
            lines,
            [
                "trial 1 of this run is 0 ms (no logarithm)",
                "trial 3 of this run has no value",
                "baseline trial 0 is 0 ms (no logarithm)",
                "baseline trial 2 is 0 ms (no logarithm)",
                "baseline trial 4 is 0 ms (no logarithm)",
            ]
        );
    }

    #[test]
    fn one_far_trial_is_flagged_and_sets_no_noise() {
        let values = [100.0, 101.0, 99.5, 100.5, 180.0];
        let b = side(&values.map(Some));
        let m = select(MetricId::ItlP50, &b, &b, 0.01);
        assert_eq!(m.current.len(), 4);
        let why = m.left_out[0].describe("ms");
        assert!(
            why.starts_with("trial 4 of this run is an outlier: +79% from its run's median"),
            "{why}"
        );
        let noise = noise(&b.trials, 0.01)[&MetricId::ItlP50];
        assert!(noise < 0.01, "the outlier does not set the noise: {noise}");
        assert_eq!(
            outlier_lines(&b, &|_| 0.01),
            ["trial 4 is an outlier in ITL p50 (+79%, 58.3 robust SDs)"]
        );
        // Ordinary spread: nothing flagged, whatever the draw.
        let calm = side(&[100.0, 103.0, 97.0, 101.0, 99.0].map(Some));
        assert!(select(MetricId::ItlP50, &calm, &calm, 0.01)
            .left_out
            .is_empty());
        // Three trials: never.
        let three = side(&[100.0, 101.0, 180.0].map(Some));
        assert!(select(MetricId::ItlP50, &three, &three, 0.01)
            .left_out
            .is_empty());
    }
}
