//! `--max-trials N`: more trials while a gated verdict is inconclusive.
//!
//! After each of a scenario's trials from the planned count on, the scenario's
//! trials so far are judged against its baseline; while a gated metric is
//! inconclusive (and none is a regression) and fewer than N trials ran, one more
//! trial runs. Looking at the data after every trial would spend the false-alarm
//! budget once per look, so the looks share it (a Bonferroni split, valid whatever
//! the stopping rule): the first look, at the planned trials, where most runs stop,
//! gets α/2; each of the L − 1 later looks (L = N − planned + 1) gets α/(2(L − 1)).
//! Their sum is α, so the family-wise false-alarm rate over the whole sequence
//! stays at α. `llm-bench compare` on the finished run judges it at the share of
//! the look its trial count is.

use super::baseline::Baseline;
use super::verdict::{self, Outcome, RunInfo, Status, Verdict};
use super::{sequential_looks, Found};
use crate::manifest::{Manifest, ScenarioSpec};

/// Why `current` (a scenario's trials so far) should get another trial (its
/// inconclusive gated metrics), or `None` when its verdict is settled, it has no
/// baseline (`found`), or it is not comparable.
pub fn wants_another_trial(
    manifest: &Manifest,
    current: &Baseline,
    found: &Found<Baseline>,
    baseline_dir: &str,
) -> Option<String> {
    let old = found.baseline.as_ref()?;
    let judged = verdict::finish(
        vec![verdict::compare_scenario(current, old, found.shown.clone())],
        false,
        RunInfo {
            run_id: manifest.run.id.clone(),
            target: manifest.run.target.clone(),
            baseline_dir: baseline_dir.to_string(),
            looks: sequential_looks(manifest),
        },
    );
    let s = &judged.scenarios[0];
    if s.status != Status::Compared || judged.outcome == Outcome::Regression {
        return None;
    }
    let open: Vec<String> = s
        .metrics
        .iter()
        .filter(|m| m.gated && m.verdict == Verdict::Inconclusive)
        .map(|m| m.metric.label())
        .collect();
    (!open.is_empty()).then(|| format!("{} inconclusive", open.join(", ")))
}

/// The share of α a comparison of `trials` trials of `spec` may spend: 1 without
/// `--max-trials`; else α/2 at the planned trials and α/(2(L − 1)) at each later
/// look.
pub fn alpha_share(spec: &ScenarioSpec, trials: usize) -> f64 {
    let looks = spec
        .max_trials
        .map_or(1, |max| max.saturating_sub(spec.trials) + 1);
    if looks <= 1 {
        return 1.0;
    }
    if trials <= spec.trials as usize {
        0.5
    } else {
        0.5 / f64::from(looks - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shares of every look a run may take add up to 1: α in all.
    #[test]
    fn the_looks_share_alpha() {
        let mut spec = crate::compare::baseline::tests::tiny_manifest().scenarios[0].clone();
        spec.trials = 4;
        assert_eq!(alpha_share(&spec, 4), 1.0);
        spec.max_trials = Some(8);
        let total: f64 = (4..=8).map(|n| alpha_share(&spec, n)).sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        assert_eq!(alpha_share(&spec, 4), 0.5);
        assert_eq!(alpha_share(&spec, 6), 0.125);
    }
}
