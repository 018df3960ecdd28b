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
//! baselines), [`sequential`] (`--max-trials`), [`study`] (the verdict study). This
//! file is the edge: it reads a results folder and baseline files, writes
//! `comparison.{json,md}`; `bless` writes blessed baselines.

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
use crate::results;
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

/// What `run`, `compare` and `bless` were asked to do with baselines.
#[derive(Debug, Clone)]
pub struct GateOptions {
    pub baseline_dir: PathBuf,
    pub compare: bool,
    /// A scenario without a baseline fails (exit 3) instead of being reported as new.
    pub strict: bool,
    pub bless: Option<BlessOptions>,
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

/// Candidates of a results folder, computed from `run.json` and `requests.jsonl`
/// read row by row (a million-request run is not held in memory).
pub fn candidates_from_dir(dir: &Path) -> anyhow::Result<(Manifest, Vec<Baseline>)> {
    let manifest = results::read_manifest(dir)?;
    let mut builder = CandidateBuilder::new(&manifest);
    results::for_each_telemetry(dir, |record| builder.add_telemetry(record))?;
    results::for_each_row(dir, |row| builder.add(row))?;
    Ok((manifest, builder.finish()))
}

/// Candidate baselines accumulated row by row: the run's summary (bounded memory)
/// and each trial's samples.
struct CandidateBuilder {
    summary: SummaryBuilder,
    samples: CandidateSamples,
}

impl CandidateBuilder {
    fn new(manifest: &Manifest) -> Self {
        CandidateBuilder {
            summary: SummaryBuilder::new(manifest.clone()),
            samples: CandidateSamples::default(),
        }
    }

    fn add_telemetry(&mut self, record: &TelemetryRecord) {
        self.summary.add_telemetry(record);
    }

    fn add(&mut self, row: &RequestRow) {
        self.summary.add(row);
        self.samples.add(row);
    }

    fn finish(self) -> Vec<Baseline> {
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

/// The candidate file of a scenario inside a results folder.
pub fn candidate_path(dir: &Path, scenario: &str) -> anyhow::Result<PathBuf> {
    Ok(dir.join(format!("{}{CANDIDATE_SUFFIX}", file_stem(scenario)?)))
}

/// Writes `dir/<scenario>.baseline.json.new` for every candidate.
pub fn write_candidates(dir: &Path, candidates: &[Baseline]) -> anyhow::Result<Vec<PathBuf>> {
    candidates
        .iter()
        .map(|c| {
            let path = candidate_path(dir, &c.scenario)?;
            baseline::write(&path, c)?;
            Ok(path)
        })
        .collect()
}

/// The candidates a run left (`*.baseline.json.new`); computed from its rows when it
/// left none.
///
/// The files are parsed in parallel ([`crate::parallel::map`]); an unreadable one is
/// reported as it would be reading them in order.
pub fn read_candidates(dir: &Path) -> anyhow::Result<(Manifest, Vec<Baseline>)> {
    let manifest = results::read_manifest(dir)?;
    let read = crate::parallel::map(&manifest.scenarios, |s| -> anyhow::Result<_> {
        let path = candidate_path(dir, &s.name)?;
        Ok(baseline::read(&path).map_err(|e| UsageError(e.to_string()))?)
    });
    let mut found = Vec::new();
    for candidate in read {
        found.extend(candidate?);
    }
    if found.is_empty() {
        return candidates_from_dir(dir);
    }
    Ok((manifest, found))
}

/// Scenario and target names become file names; refuse anything that could escape.
fn file_stem(name: &str) -> anyhow::Result<&str> {
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

/// Compares candidates with their baselines. A baseline that cannot be read stops
/// everything with a message saying how to repair it.
pub fn compare(
    candidates: &[Baseline],
    baseline_dir: &Path,
    strict: bool,
    run: RunInfo,
) -> anyhow::Result<Comparison> {
    Ok(judge::<()>(candidates, baseline_dir, strict, run, None)?.comparison)
}

/// What a caller keeps of each baseline it compared with (`report.html` keeps
/// its latency CDFs): computed as the baseline is read, so it is not read twice.
pub type Overlay<'a, O> = &'a (dyn Fn(&Baseline) -> Vec<O> + Sync);

/// A comparison and what the caller's [`Overlay`] kept of the baselines it read.
#[derive(Debug, Clone)]
pub struct Judged<O> {
    pub comparison: Comparison,
    /// What `overlay` returned for every baseline found, in candidate order;
    /// empty without one.
    pub overlay: Vec<O>,
}

/// [`compare`], keeping what `overlay` takes of each baseline read, so
/// `report.html` needs not read them again.
///
/// Each scenario (read its baseline, judge it, draw its curves) is independent
/// until Holm's correction in [`verdict::finish`], so scenarios are spread over the
/// CPUs ([`crate::parallel::map`]); results and errors come back in candidate order,
/// so the outcome is the same as one after another.
pub fn judge<O: Send>(
    candidates: &[Baseline],
    baseline_dir: &Path,
    strict: bool,
    run: RunInfo,
    overlay: Option<Overlay<'_, O>>,
) -> anyhow::Result<Judged<O>> {
    judge_with(candidates, Vec::new(), baseline_dir, strict, run, overlay)
}

/// [`judge`], with rows judged elsewhere (capacity searches) joining the run's
/// verdict.
fn judge_with<O: Send>(
    candidates: &[Baseline],
    more: Vec<verdict::ScenarioComparison>,
    baseline_dir: &Path,
    strict: bool,
    run: RunInfo,
    overlay: Option<Overlay<'_, O>>,
) -> anyhow::Result<Judged<O>> {
    let judged = crate::parallel::map(candidates, |current| -> anyhow::Result<_> {
        let path = baseline_path(baseline_dir, &current.target, &current.scenario)?;
        let shown = path.display().to_string();
        Ok(
            match baseline::read(&path).map_err(|e| UsageError(e.to_string()))? {
                Some(old) => (
                    verdict::compare_scenario(current, &old, shown),
                    overlay.map_or_else(Vec::new, |keep| keep(&old)),
                ),
                None => (verdict::new_scenario(current, shown), Vec::new()),
            },
        )
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

/// Writes `comparison.json` and `comparison.md` into the results folder.
pub fn write_comparison(dir: &Path, comparison: &Comparison) -> anyhow::Result<[PathBuf; 2]> {
    let json = dir.join(COMPARISON_JSON);
    let md = dir.join(COMPARISON_MD);
    results::write_json_atomic(&json, comparison)?;
    results::write_atomic(&md, render::markdown(comparison).as_bytes())?;
    Ok([json, md])
}

/// After a run (or for `compare`/`bless` on a results folder): compares and/or
/// blesses the candidates as asked. Returns the comparison, with what `overlay`
/// kept of the baselines (their curves for `report.html`), when one was made.
///
/// A capacity search's steps are left out; its answer is compared and blessed
/// instead ([`capacity`]).
pub fn gate<O: Send>(
    dir: &Path,
    options: &GateOptions,
    context: &BlessContext,
    candidates: &[Baseline],
    manifest: &Manifest,
    overlay: Overlay<'_, O>,
) -> anyhow::Result<Option<Judged<O>>> {
    let searches = capacity::RunSearches::read(dir, manifest)?;
    let kept: Vec<Baseline>;
    let candidates = if searches.steps.is_empty() {
        candidates
    } else {
        kept = candidates
            .iter()
            .filter(|c| !searches.is_step(&c.scenario))
            .cloned()
            .collect();
        &kept
    };
    let mut judged = None;
    if options.compare {
        let info = RunInfo {
            run_id: manifest.run.id.clone(),
            target: manifest.run.target.clone(),
            baseline_dir: options.baseline_dir.display().to_string(),
            looks: sequential_looks(manifest),
        };
        let j = judge_with(
            candidates,
            capacity::compare(&searches.candidates, &options.baseline_dir)?,
            &options.baseline_dir,
            options.strict,
            info,
            Some(overlay),
        )?;
        let [json, md] = write_comparison(dir, &j.comparison)?;
        println!("{}", render::console(&j.comparison));
        eprintln!("comparison: {} · {}", md.display(), json.display());
        judged = Some(j);
    }
    if let Some(bless_options) = &options.bless {
        let report = capacity::bless_with_searches(
            candidates,
            &searches.candidates,
            &options.baseline_dir,
            bless_options,
            context,
            manifest.run.interrupted,
        )?;
        print!("{report}");
    }
    Ok(judged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_defaults() {
        assert_eq!(default_trials(None, 1, false, false), 1);
        assert_eq!(default_trials(None, 1, true, false), 4);
        assert_eq!(default_trials(None, 1, true, true), 5);
        assert_eq!(default_trials(None, 8, false, true), 8);
        assert_eq!(
            default_trials(Some(2), 1, true, true),
            2,
            "--trials always wins"
        );
    }

    #[test]
    fn file_names_cannot_escape() {
        assert!(baseline_path(Path::new("b"), "../x", "s").is_err());
        assert!(baseline_path(Path::new("b"), "t", "a/b").is_err());
        assert_eq!(
            baseline_path(Path::new("b"), "t", "s").unwrap(),
            Path::new("b/t/s.json")
        );
    }
}
