//! The verdict study: how often the gate calls a regression, with and without
//! one, when runs drift, next to a naive request-level test.
//!
//! Every comparison is an independent replicate: its baseline and its candidate
//! are separate runs of the modelled server ([`model`]), each with its own speed
//! factor, and no trial is shared with another comparison. Each goes through the
//! full verdict (trial selection, drift model, Holm, minimum effect), with the
//! default trial counts (5 blessed, 4 current) unless the case says otherwise.
//! Beside the gate, a naive one-sided Mann–Whitney test on the pooled requests'
//! TTFT (p < 0.05) shows why trials, and runs, are the unit.
//!
//! `benches/verdict_study.rs` runs the full study and prints the table in
//! docs/comparing.md; `tests/verdict_study.rs` a small fixed-seed one.

pub mod model;

use rand::rngs::StdRng;
use statrs::stats_tests::Alternative;

use super::append::append;
use super::baseline::Baseline;
use super::verdict::{self, Outcome};
use super::{stats, BLESS_DEFAULT_TRIALS, COMPARE_DEFAULT_TRIALS};
use crate::config::thresholds::Thresholds;
use model::Run;

/// What one comparison of a case looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Case {
    /// A one-run baseline against a candidate whose TTFT is multiplied by
    /// `ttft_factor` (1.0: an A/A comparison).
    Plain { ttft_factor: f64 },
    /// As `Plain`, with the candidate's second trial an outlier (1.6× slower).
    CandidateOutlier { ttft_factor: f64 },
    /// As `Plain`, with the baseline's third trial an outlier.
    BaselineOutlier { ttft_factor: f64 },
    /// `--max-trials`: the candidate starts with the default trials and gains
    /// one while a gated verdict is inconclusive, up to `max_trials`, the looks
    /// sharing α.
    Sequential { ttft_factor: f64, max_trials: u32 },
    /// A baseline of `runs` appended runs (each with its own speed factor).
    MultiRun { ttft_factor: f64, runs: u32 },
}

impl Case {
    pub fn ttft_factor(&self) -> f64 {
        match *self {
            Case::Plain { ttft_factor }
            | Case::CandidateOutlier { ttft_factor }
            | Case::BaselineOutlier { ttft_factor }
            | Case::Sequential { ttft_factor, .. }
            | Case::MultiRun { ttft_factor, .. } => ttft_factor,
        }
    }

    /// "A/A", "+10% TTFT", with what sets the case apart.
    pub fn label(&self) -> String {
        let change = match self.ttft_factor() {
            f if (f - 1.0).abs() < 1e-9 => "A/A".to_string(),
            f => format!("{:+.0}% TTFT", (f - 1.0) * 100.0),
        };
        match *self {
            Case::Plain { .. } => change,
            Case::CandidateOutlier { .. } => format!("{change}, outlier trial in the candidate"),
            Case::BaselineOutlier { .. } => format!("{change}, outlier trial in the baseline"),
            Case::Sequential { max_trials, .. } => {
                format!("{change}, --max-trials {max_trials}")
            }
            Case::MultiRun { runs, .. } => format!("{change}, {runs}-run baseline"),
        }
    }
}

/// Counts over a case's comparisons.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub comparisons: u64,
    /// Comparisons with any gated regression.
    pub gate: u64,
    /// Comparisons the naive request-level test flagged.
    pub naive: u64,
    /// Current-side trials run, over all comparisons.
    pub current_trials: u64,
}

impl Tally {
    /// The gate's rate with its Wilson 95% interval.
    pub fn gate_rate(&self) -> Rate {
        Rate::of(self.gate, self.comparisons)
    }

    pub fn naive_rate(&self) -> Rate {
        Rate::of(self.naive, self.comparisons)
    }

    pub fn mean_current_trials(&self) -> f64 {
        self.current_trials as f64 / self.comparisons.max(1) as f64
    }
}

/// A share with its Wilson 95% interval (Wilson 1927).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub share: f64,
    pub low: f64,
    pub high: f64,
}

impl Rate {
    pub fn of(k: u64, n: u64) -> Rate {
        let (low, high) = stats::wilson(k, n, 1.959_963_984_540_054);
        Rate {
            share: k as f64 / n.max(1) as f64,
            low,
            high,
        }
    }

    /// "4.5% [2.4–8.3]".
    pub fn show(&self) -> String {
        format!(
            "{:.1}% [{:.1}–{:.1}]",
            self.share * 100.0,
            self.low * 100.0,
            self.high * 100.0
        )
    }
}

/// How much the modelled server's speed varies (log-scale SDs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// From one run to the next.
    pub between_run_sd: f64,
    /// From one trial to the next within a run.
    pub within_run_sd: f64,
}

impl Drift {
    /// Runs drifting by `between_run_sd`, trials by the default [`model::WITHIN_RUN_SD`].
    pub fn between_runs(between_run_sd: f64) -> Drift {
        Drift {
            between_run_sd,
            within_run_sd: model::WITHIN_RUN_SD,
        }
    }
}

/// Runs `n` independent comparisons of `case` with the server's speed varying as
/// `drift` says, judged with `thresholds`.
pub fn run(case: Case, drift: Drift, n: usize, thresholds: &Thresholds, rng: &mut StdRng) -> Tally {
    let mut tally = Tally::default();
    for _ in 0..n {
        let (flagged, naive, trials) = compare_once(case, drift, thresholds, rng);
        tally.comparisons += 1;
        tally.gate += u64::from(flagged);
        tally.naive += u64::from(naive);
        tally.current_trials += u64::from(trials);
    }
    tally
}

/// One replicate: (gate flagged a regression, naive test flagged, current trials).
fn compare_once(case: Case, drift: Drift, t: &Thresholds, rng: &mut StdRng) -> (bool, bool, u32) {
    let blessed_trials = BLESS_DEFAULT_TRIALS;
    let current_trials = COMPARE_DEFAULT_TRIALS;
    let base_outliers: &[u32] = match case {
        Case::BaselineOutlier { .. } => &[2],
        _ => &[],
    };
    let runs = match case {
        Case::MultiRun { runs, .. } => runs.max(1),
        _ => 1,
    };
    let mut baseline: Option<Baseline> = None;
    for _ in 0..runs {
        let run = Run::draw(rng, drift.between_run_sd, drift.within_run_sd, 1.0);
        let measured = run.measure(rng, blessed_trials, base_outliers, t);
        baseline = Some(match baseline {
            None => measured,
            Some(old) => append(&old, &measured, runs as usize).expect("same workload"),
        });
    }
    let baseline = baseline.expect("at least one run");
    let run = Run::draw(
        rng,
        drift.between_run_sd,
        drift.within_run_sd,
        case.ttft_factor(),
    );
    let cur_outliers: &[u32] = match case {
        Case::CandidateOutlier { .. } => &[1],
        _ => &[],
    };
    let (max_trials, looks, planned) = match case {
        Case::Sequential { max_trials, .. } => {
            let max = max_trials.max(current_trials);
            (max, max - current_trials + 1, Some((current_trials, max)))
        }
        _ => (current_trials, 1, None),
    };
    // A sequential candidate gains trials of the same run one at a time; the
    // trials are drawn up front (the model has no memory), then revealed.
    let all = run.measure_planned(rng, max_trials, cur_outliers, t, planned);
    let mut shown = current_trials;
    loop {
        let mut current = all.clone();
        current.trials.truncate(shown as usize);
        let scenario = verdict::compare_scenario(&current, &baseline, "study".into());
        let info = verdict::RunInfo {
            run_id: "study".into(),
            target: "study".into(),
            baseline_dir: "study".into(),
            looks,
        };
        let judged = verdict::finish(vec![scenario], false, info);
        let undecided = judged.totals.inconclusive > 0;
        if judged.outcome == Outcome::Regression || !undecided || shown >= max_trials {
            let ttft = |b: &Baseline| -> Vec<f64> {
                b.trials.iter().flat_map(|t| t.samples.ttft()).collect()
            };
            let naive =
                stats::mann_whitney(&ttft(&current), &ttft(&baseline), Alternative::Greater)
                    .is_some_and(|(_, p)| p < 0.05);
            return (judged.outcome == Outcome::Regression, naive, shown);
        }
        shown += 1;
    }
}

/// One row of the study's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub drift: Drift,
    pub case: Case,
    pub tally: Tally,
}

/// The study's table in Markdown, as docs/comparing.md shows it.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| between-run SD | within-run SD | comparison | this gate: flagged a regression | naive request-level Mann–Whitney | current trials (mean) |\n\
         |--:|--:|---|--:|--:|--:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {:.0}% | {:.0}% | {} | {} | {} | {:.1} |\n",
            r.drift.between_run_sd * 100.0,
            r.drift.within_run_sd * 100.0,
            r.case.label(),
            r.tally.gate_rate().show(),
            r.tally.naive_rate().show(),
            r.tally.mean_current_trials()
        ));
    }
    out
}
