//! The false-alarm and power study: how often the gate (and, for contrast, a naive
//! request-level Mann–Whitney test) calls a regression.
//!
//! Inputs are pools of independent single-trial measurements (candidate baselines
//! with one trial each), made by the caller: from a model in `tests/verdict_study.rs`,
//! from the real simulated server in `benches/verdict_study.rs`. Each comparison
//! draws disjoint trials from the pools (the default 5 blessed against the default
//! 4 current ones) and runs the full verdict: Welch, noise floor, Holm, δ.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use statrs::stats_tests::Alternative;

use super::baseline::{self, Baseline};
use super::{stats, verdict, BLESS_DEFAULT_TRIALS, COMPARE_DEFAULT_TRIALS};

/// Shares of comparisons flagged as a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// By the gate: any regression verdict in the scenario.
    pub gate: f64,
    /// By a one-sided Mann–Whitney test on the pooled requests' TTFT, p < 0.05.
    pub naive: f64,
}

/// A side made of `pool[picks]`, renumbered as trials 0, 1, ..., with its noise.
pub fn side(pool: &[Baseline], picks: &[usize]) -> Baseline {
    let mut side = pool[picks[0]].clone();
    side.trials = picks
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let mut t = pool[p].trials[0].clone();
            t.trial = i as u32;
            t
        })
        .collect();
    side.noise = baseline::noise(&side.trials);
    side
}

/// Runs `n` comparisons of trials from `base` (blessed) against trials from
/// `current`, or against other trials of `base` for an A/A study when `None`.
pub fn run(n: usize, base: &[Baseline], current: Option<&[Baseline]>, rng: &mut StdRng) -> Figures {
    let (blessed_n, current_n) = (
        BLESS_DEFAULT_TRIALS as usize,
        COMPARE_DEFAULT_TRIALS as usize,
    );
    assert!(
        base.len() >= blessed_n + current_n,
        "the pool is too small for disjoint sides"
    );
    let (mut gate, mut naive) = (0, 0);
    for _ in 0..n {
        let mut order: Vec<usize> = (0..base.len()).collect();
        order.shuffle(rng);
        let blessed = side(base, &order[..blessed_n]);
        let current = match current {
            None => side(base, &order[blessed_n..blessed_n + current_n]),
            Some(pool) => {
                let picks = rand::seq::index::sample(rng, pool.len(), current_n).into_vec();
                side(pool, &picks)
            }
        };
        let scenario = verdict::compare_scenario(&current, &blessed, "study".into());
        let info = verdict::RunInfo {
            run_id: "study".into(),
            target: "study".into(),
            baseline_dir: "study".into(),
        };
        if verdict::finish(vec![scenario], false, info)
            .totals
            .regressions
            > 0
        {
            gate += 1;
        }
        let ttft =
            |b: &Baseline| -> Vec<f64> { b.trials.iter().flat_map(|t| t.samples.ttft()).collect() };
        if let Some((_, p)) =
            stats::mann_whitney(&ttft(&current), &ttft(&blessed), Alternative::Greater)
        {
            if p < 0.05 {
                naive += 1;
            }
        }
    }
    Figures {
        gate: gate as f64 / n as f64,
        naive: naive as f64 / n as f64,
    }
}

/// The figures as printed by the test and the bench.
pub fn describe(what: &str, n: usize, aa: Figures, slow: Figures) -> String {
    format!(
        "verdict study ({what}; {n} comparisons each, {BLESS_DEFAULT_TRIALS} blessed vs {COMPARE_DEFAULT_TRIALS} \
         current trials):\n  trial-level gate:           false alarms {:5.1}%, power for +10% TTFT {:5.1}%\n  \
         naive request Mann-Whitney: false alarms {:5.1}%, power for +10% TTFT {:5.1}%",
        aa.gate * 100.0,
        slow.gate * 100.0,
        aa.naive * 100.0,
        slow.naive * 100.0
    )
}
