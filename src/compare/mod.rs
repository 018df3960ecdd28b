//! Baselines, statistical regression verdicts and `--bless`: the gate CI relies on.
//!
//! A gate that cries wolf gets switched off and one that misses a 10% TTFT regression
//! is useless, so verdicts come from trials (the unit of replication), effects must
//! clear a minimum size, the whole run's gated tests share one Holm-corrected error
//! budget, and "not significant" is reported as *inconclusive*, never as *same*.
//! `benches/verdict_study.rs` and `tests/verdict_study.rs` measure the false-alarm
//! rate and power instead of assuming them.
//!
//! Layout: [`stats`] (pure statistics), [`drift`] (the within- and between-run
//! variance model), [`trials`] (which trials a test uses: zeros and outliers),
//! [`metric`] (what is compared, effective thresholds), [`baseline`] (the file
//! format), [`fingerprint`] and [`server_state`] (what must match), [`verdict`]
//! (the decision), [`render`] (Markdown and console), [`append`] (multi-run
//! baselines), [`sequential`] (`--max-trials`), [`study`] (the verdict study).
//! Judging takes values: candidates, and a function that finds each one's
//! baseline; reading a results folder and writing `comparison.{json,md}` is
//! `app::gate`'s. The baseline files themselves are this module's format:
//! [`baseline`] reads and writes them, `bless` writes blessed ones.

pub mod append;
pub mod baseline;
mod bless;
pub mod capacity;
pub mod drift;
pub use crate::fingerprint;
mod log_metric;
pub mod metric;
pub mod render;
pub mod sequential;
pub mod server_state;
pub mod stats;
pub mod study;
mod success;
pub mod trials;
pub mod verdict;

pub use bless::{bless, bless_refusals, blessed_by, is_ci, BlessContext, BlessOptions};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use self::baseline::{Baseline, SamplesBuilder, TrialRecord};
use self::verdict::{Comparison, RunInfo};
use crate::fingerprint::Fingerprint;
use crate::manifest::Manifest;
use crate::metrics::summary::SummaryBuilder;
use crate::metrics::Summary;
use crate::record::RequestRow;
use crate::telemetry::TelemetryRecord;
use crate::usage_error::UsageError;

/// A baseline needs at least this many trials: with fewer, a later single-trial run
/// has no prediction interval and the recorded noise is a guess.
pub const BLESS_MIN_TRIALS: usize = 3;
/// Trials per scenario under `--bless` when `--trials` is not given.
pub const BLESS_DEFAULT_TRIALS: u32 = 5;
/// Trials per scenario under `--compare` when `--trials` is not given: with 3, the
/// current side's spread rests on 2 degrees of freedom and the power against a 10%
/// TTFT regression drops below 90% (tests/verdict_study.rs).
pub const COMPARE_DEFAULT_TRIALS: u32 = 4;

pub const COMPARISON_JSON: &str = "comparison.json";
pub const COMPARISON_MD: &str = "comparison.md";
/// Suffix of the candidate baselines a run leaves in its (flat) results folder:
/// `<scenario>.baseline.json.new`.
pub const CANDIDATE_SUFFIX: &str = ".baseline.json.new";

/// The trial count of a scenario: `--trials` wins; otherwise the configured count,
/// raised to 5 when blessing and to 4 when comparing.
pub fn default_trials(flag: Option<u32>, configured: u32, compare: bool, bless: bool) -> u32 {
    let floor = if bless {
        BLESS_DEFAULT_TRIALS
    } else if compare {
        COMPARE_DEFAULT_TRIALS
    } else {
        1
    };
    flag.unwrap_or(configured.max(floor)).max(1)
}

/// Looks at the data a run's comparison may take: with `--max-trials N`, one after
/// each trial from the planned count to N (the most over its scenarios); else 1.
/// For the report; each scenario's share of α is [`sequential::alpha_share`].
pub fn sequential_looks(manifest: &Manifest) -> u32 {
    manifest
        .scenarios
        .iter()
        .map(|s| {
            s.max_trials
                .map_or(1, |max| max.saturating_sub(s.trials) + 1)
        })
        .max()
        .unwrap_or(1)
        .max(1)
}

/// One candidate baseline per scenario of a run, from its manifest and rows: the
/// same per-trial statistics as `summary.json`, plus the raw samples.
pub fn candidates(manifest: &Manifest, rows: &[RequestRow]) -> Vec<Baseline> {
    candidates_with_telemetry(manifest, rows, &[])
}

/// [`candidates`] with the run's telemetry joined, so energy per token is compared.
pub fn candidates_with_telemetry(
    manifest: &Manifest,
    rows: &[RequestRow],
    telemetry: &[TelemetryRecord],
) -> Vec<Baseline> {
    let mut builder = CandidateBuilder::new(manifest);
    for record in telemetry {
        builder.add_telemetry(record);
    }
    for row in rows {
        builder.add(row);
    }
    builder.finish()
}

/// Candidate baselines accumulated row by row: the run's summary (bounded memory)
/// and each trial's samples.
pub struct CandidateBuilder {
    summary: SummaryBuilder,
    samples: CandidateSamples,
}

impl CandidateBuilder {
    pub fn new(manifest: &Manifest) -> Self {
        CandidateBuilder {
            summary: SummaryBuilder::new(manifest.clone()),
            samples: CandidateSamples::default(),
        }
    }

    pub fn add_telemetry(&mut self, record: &TelemetryRecord) {
        self.summary.add_telemetry(record);
    }

    pub fn add(&mut self, row: &RequestRow) {
        self.summary.add(row);
        self.samples.add(row);
    }

    pub fn finish(self) -> Vec<Baseline> {
        self.samples.finish(&self.summary.finish())
    }
}

/// The per-request part of candidate baselines, accumulated row by row (at most
/// [`baseline::SAMPLES_PER_TRIAL`] requests per trial); joined with a summary of
/// the same rows by [`CandidateSamples::finish`]. A run that has its summary
/// already needs only this.
#[derive(Debug, Default)]
pub struct CandidateSamples {
    /// Scenario → trial → samples; trials in ascending order, as in the summary.
    samples: BTreeMap<String, BTreeMap<u32, SamplesBuilder>>,
}

impl CandidateSamples {
    pub fn add(&mut self, row: &RequestRow) {
        let trials = match self.samples.get_mut(row.scenario.as_str()) {
            Some(trials) => trials,
            None => self.samples.entry(row.scenario.clone()).or_default(),
        };
        trials.entry(row.trial).or_default().add(row);
    }

    /// Whether `summary` has exactly the trials these samples have, scenario by
    /// scenario, so [`CandidateSamples::finish`] can pair them. A run's own summary
    /// can also hold a trial that has client health but no row.
    pub fn matches(&self, summary: &Summary) -> bool {
        summary.scenarios.iter().all(|s| {
            self.samples
                .get(&s.name)
                .is_some_and(|trials| trials.len() == s.trials.len())
        })
    }

    /// One candidate per scenario of `summary`, which must summarise the same rows
    /// ([`CandidateSamples::matches`]).
    pub fn finish(mut self, summary: &Summary) -> Vec<Baseline> {
        let run = &summary.run;
        summary
            .scenarios
            .iter()
            .map(|s| {
                let by_trial = self.samples.remove(&s.name).unwrap_or_default();
                let trials: Vec<TrialRecord> = by_trial
                    .into_iter()
                    .zip(&s.trials)
                    .map(|((id, samples), metrics)| TrialRecord::new(id, metrics, samples.finish()))
                    .collect();
                Baseline {
                    schema_version: baseline::SCHEMA_VERSION.to_string(),
                    tool_version: run.tool_version.clone(),
                    created_at: run
                        .ended_at
                        .clone()
                        .unwrap_or_else(|| run.started_at.clone()),
                    blessed_by: None,
                    reason: None,
                    git_commit: run.git_commit.clone(),
                    run_id: run.id.clone(),
                    target: run.target.clone(),
                    scenario: s.name.clone(),
                    percentile_method: run.percentile_method.clone(),
                    fingerprint: Fingerprint::of(run, &s.spec),
                    spec: s.spec.clone(),
                    noise: baseline::noise(&trials, s.spec.thresholds.noise_floor),
                    trials,
                    runs: Vec::new(),
                }
            })
            .collect()
    }
}

/// Scenario and target names become file names; refuse anything that could escape.
pub fn file_stem(name: &str) -> anyhow::Result<&str> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name)
    } else {
        Err(UsageError(format!(
            "`{name}` cannot be used as a baseline file name; use letters, digits, `-`, `_` and `.` only"
        ))
        .into())
    }
}

/// `BASELINE_DIR/<target>/<scenario>.json`.
pub fn baseline_path(baseline_dir: &Path, target: &str, scenario: &str) -> anyhow::Result<PathBuf> {
    Ok(baseline_dir
        .join(file_stem(target)?)
        .join(format!("{}.json", file_stem(scenario)?)))
}

/// The baseline found for a candidate (`None`: a new scenario), and how the
/// comparison names it (its path).
#[derive(Debug, Clone)]
pub struct Found<B> {
    pub shown: String,
    pub baseline: Option<B>,
}

/// Where a candidate's baseline comes from: `app` reads it from `BASELINE_DIR`
/// (`app::gate::find_baseline`), a test hands over values. An error stops the
/// comparison.
pub type FindBaseline<'a> = &'a (dyn Fn(&Baseline) -> anyhow::Result<Found<Baseline>> + Sync);

/// What a caller keeps of each baseline it compared with (`report.html` keeps
/// its latency CDFs): computed as the baseline is fetched, so it is not fetched twice.
pub type Overlay<'a, O> = &'a (dyn Fn(&Baseline) -> Vec<O> + Sync);

/// A comparison and what the caller's [`Overlay`] kept of the baselines it read.
#[derive(Debug, Clone)]
pub struct Judged<O> {
    pub comparison: Comparison,
    /// What `overlay` returned for every baseline found, in candidate order;
    /// empty without one.
    pub overlay: Vec<O>,
}

/// Judges `candidates` against the baselines `find` returns for them, with rows
/// judged elsewhere (`more`: capacity searches) joining the run's verdict, and
/// keeps what `overlay` takes of each baseline found.
///
/// Each scenario (fetch its baseline, judge it, draw its curves) is independent
/// until Holm's correction in [`verdict::finish`], so scenarios are spread over the
/// CPUs ([`crate::parallel::map`]); results and errors come back in candidate order,
/// so the outcome is the same as one after another.
pub fn judge<O: Send>(
    candidates: &[Baseline],
    more: Vec<verdict::ScenarioComparison>,
    find: FindBaseline<'_>,
    strict: bool,
    run: RunInfo,
    overlay: Option<Overlay<'_, O>>,
) -> anyhow::Result<Judged<O>> {
    let judged = crate::parallel::map(candidates, |current| -> anyhow::Result<_> {
        let Found { shown, baseline } = find(current)?;
        Ok(match baseline {
            Some(old) => (
                verdict::compare_scenario(current, &old, shown),
                overlay.map_or_else(Vec::new, |keep| keep(&old)),
            ),
            None => (verdict::new_scenario(current, shown), Vec::new()),
        })
    });
    let mut scenarios = Vec::with_capacity(candidates.len());
    let mut curves = Vec::new();
    for result in judged {
        let (scenario, curve) = result?;
        scenarios.push(scenario);
        curves.extend(curve);
    }
    scenarios.extend(more);
    Ok(Judged {
        comparison: verdict::finish(scenarios, strict, run),
        overlay: curves,
    })
}

#[cfg(test)]
mod tests;
