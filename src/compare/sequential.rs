//! `--max-trials N`: more trials while a gated verdict is inconclusive.
//!
//! After each of a scenario's trials from the planned count on, the scenario's
//! trials so far are judged against its baseline; while a gated metric is
//! inconclusive (and none is a regression) and fewer than N trials ran, one more
//! trial runs. Looking at the data after every trial would spend the false-alarm
//! budget once per look, so each look is judged at α / L, where L is the number of
//! looks the run may take (N − planned + 1): a Bonferroni split over the looks, so
//! the family-wise false-alarm rate over the whole sequence stays at α whatever
//! the stopping rule. The final comparison uses the same α / L.

use std::path::Path;

use super::verdict::{self, Outcome, RunInfo, Status, Verdict};
use super::{baseline, baseline_path, candidates_from_dir, sequential_looks, GateOptions};
use crate::options::UsageError;

/// Why `scenario` should get another trial (its inconclusive gated metrics), or
/// `None` when its verdict is settled, it has no baseline, or it is not
/// comparable. `dir` holds the run so far (rows flushed to disk).
pub fn wants_another_trial(
    dir: &Path,
    scenario: &str,
    options: &GateOptions,
) -> anyhow::Result<Option<String>> {
    let (manifest, candidates) = candidates_from_dir(dir)?;
    let Some(current) = candidates.iter().find(|c| c.scenario == scenario) else {
        return Ok(None);
    };
    let path = baseline_path(&options.baseline_dir, &current.target, &current.scenario)?;
    let Some(old) = baseline::read(&path).map_err(|e| UsageError(e.to_string()))? else {
        return Ok(None);
    };
    let judged = verdict::finish(
        vec![verdict::compare_scenario(
            current,
            &old,
            path.display().to_string(),
        )],
        false,
        RunInfo {
            run_id: manifest.run.id.clone(),
            target: manifest.run.target.clone(),
            baseline_dir: options.baseline_dir.display().to_string(),
            looks: sequential_looks(&manifest),
        },
    );
    let s = &judged.scenarios[0];
    if s.status != Status::Compared || judged.outcome == Outcome::Regression {
        return Ok(None);
    }
    let open: Vec<String> = s
        .metrics
        .iter()
        .filter(|m| m.gated && m.verdict == Verdict::Inconclusive)
        .map(|m| m.metric.label())
        .collect();
    Ok((!open.is_empty()).then(|| format!("{} inconclusive", open.join(", "))))
}
