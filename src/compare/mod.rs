//! Baselines, statistical regression verdicts and `--bless`: the gate CI relies on.
//!
//! A gate that cries wolf gets switched off and one that misses a 10% TTFT regression
//! is useless, so verdicts come from trials (the unit of replication), effects must
//! clear a minimum size, the whole run's gated tests share one Holm-corrected error
//! budget, and "not significant" is reported as *inconclusive*, never as *same*.
//! `benches/verdict_study.rs` and `tests/verdict_study.rs` measure the false-alarm
//! rate and power instead of assuming them.
//!
//! Layout: [`stats`] (pure statistics), [`metric`] (what is compared), [`baseline`]
//! (the file format), [`fingerprint`] (what must match), [`verdict`] (the decision),
//! [`render`] (Markdown and console). This file is the edge: it reads a results
//! folder and baseline files, writes `comparison.{json,md}` and blessed baselines.

pub mod append;
pub mod baseline;
pub mod drift;
pub mod fingerprint;
mod log_metric;
pub mod metric;
pub mod render;
pub mod server_state;
pub mod stats;
pub mod study;
mod success;
pub mod trials;
pub mod verdict;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use self::baseline::{Baseline, SamplesBuilder, TrialRecord};
use self::fingerprint::Fingerprint;
use self::metric::{Gate, MetricId};
use self::verdict::{Comparison, RunInfo};
use crate::manifest::Manifest;
use crate::metrics::summary::SummaryBuilder;
use crate::metrics::Summary;
use crate::options::UsageError;
use crate::record::RequestRow;
use crate::report::series::{self, RunSeries};
use crate::results;
use crate::telemetry::TelemetryRecord;

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

#[derive(Debug, Clone)]
pub struct BlessOptions {
    pub reason: Option<String>,
    pub allow_ci: bool,
    /// Only these scenarios (all when empty).
    pub scenarios: Vec<String>,
}

/// The environment a bless depends on, read by the caller.
#[derive(Debug, Clone)]
pub struct BlessContext {
    /// `CI` is set to a true value.
    pub ci: bool,
    pub blessed_by: String,
    pub now: String,
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
    Ok(judge(candidates, baseline_dir, strict, run, false)?.comparison)
}

/// A comparison and what `report.html` overlays from the baselines it read.
#[derive(Debug, Clone)]
pub struct Judged {
    pub comparison: Comparison,
    /// The latency CDFs of every baseline found ([`series::from_baselines`]);
    /// empty unless asked for.
    pub overlay: RunSeries,
}

/// [`compare`], keeping the baselines' chart data when `overlay` is set, so
/// `report.html` needs not read them again.
///
/// Each scenario (read its baseline, judge it, draw its curves) is independent
/// until Holm's correction in [`verdict::finish`], so scenarios are spread over the
/// CPUs ([`crate::parallel::map`]); results and errors come back in candidate order,
/// so the outcome is the same as one after another.
pub fn judge(
    candidates: &[Baseline],
    baseline_dir: &Path,
    strict: bool,
    run: RunInfo,
    overlay: bool,
) -> anyhow::Result<Judged> {
    let judged = crate::parallel::map(candidates, |current| -> anyhow::Result<_> {
        let path = baseline_path(baseline_dir, &current.target, &current.scenario)?;
        let shown = path.display().to_string();
        Ok(
            match baseline::read(&path).map_err(|e| UsageError(e.to_string()))? {
                Some(old) => (
                    verdict::compare_scenario(current, &old, shown),
                    if overlay {
                        series::from_baselines(std::slice::from_ref(&old)).scenarios
                    } else {
                        Vec::new()
                    },
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
    Ok(Judged {
        comparison: verdict::finish(scenarios, strict, run),
        overlay: RunSeries { scenarios: curves },
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

/// Every reason a bless must not happen; empty when it may.
pub fn bless_refusals(
    candidates: &[Baseline],
    options: &BlessOptions,
    context: &BlessContext,
    interrupted: bool,
) -> Vec<String> {
    let mut refusals = Vec::new();
    if context.ci && !options.allow_ci {
        refusals.push(
            "CI=true: baselines are blessed deliberately, not by a pipeline; bless locally, \
             or pass --allow-ci-bless if this job exists to bless"
                .to_string(),
        );
    }
    if options
        .reason
        .as_deref()
        .is_none_or(|r| r.trim().is_empty())
    {
        refusals.push("say why the numbers may change: --reason \"upgraded vLLM to 0.6.3\"".into());
    }
    if interrupted {
        refusals.push("the run was interrupted: its trials are incomplete; run again".into());
    }
    if candidates.is_empty() {
        refusals.push("the run has no scenario with measured requests".into());
    }
    for c in candidates {
        if c.trials.len() < BLESS_MIN_TRIALS {
            refusals.push(format!(
                "scenario `{}` has {} trial(s); a baseline needs at least {BLESS_MIN_TRIALS} \
                 (run with --trials {BLESS_DEFAULT_TRIALS})",
                c.scenario,
                c.trials.len()
            ));
        }
        let (failed, ok) = c
            .trials
            .iter()
            .fold((0, 0), |(f, s), t| (f + t.failed, s + t.succeeded));
        let rate = if failed + ok > 0 {
            failed as f64 / (failed + ok) as f64
        } else {
            1.0
        };
        if ok == 0 || rate > c.spec.max_error_rate {
            refusals.push(format!(
                "scenario `{}`: {failed} of {} requests failed ({:.1}%, limit {:.1}%): a failing run \
                 is not a baseline; fix the errors and run again",
                c.scenario,
                failed + ok,
                rate * 100.0,
                c.spec.max_error_rate * 100.0
            ));
        }
    }
    refusals
}

/// Blesses candidates into `baseline_dir`: checks every refusal and reads every old
/// baseline before writing anything, then writes each file atomically. Returns the
/// "old → new" report.
pub fn bless(
    candidates: &[Baseline],
    baseline_dir: &Path,
    options: &BlessOptions,
    context: &BlessContext,
    interrupted: bool,
) -> anyhow::Result<String> {
    let selected: Vec<&Baseline> = candidates
        .iter()
        .filter(|c| options.scenarios.is_empty() || options.scenarios.contains(&c.scenario))
        .collect();
    for name in &options.scenarios {
        if !candidates.iter().any(|c| &c.scenario == name) {
            return Err(UsageError(format!(
                "no scenario `{name}` in this run; it has: {}",
                candidates
                    .iter()
                    .map(|c| c.scenario.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
    }
    let owned: Vec<Baseline> = selected.iter().map(|c| (*c).clone()).collect();
    let refusals = bless_refusals(&owned, options, context, interrupted);
    if !refusals.is_empty() {
        return Err(UsageError(format!(
            "refusing to bless:\n  - {}",
            refusals.join("\n  - ")
        ))
        .into());
    }
    // Held until every file is written: a second bless into this folder waits, then
    // reads (and reports as "old") what this one wrote.
    let _lock = baseline::BlessLock::acquire(baseline_dir)?;
    let mut plan = Vec::new();
    for c in owned {
        let path = baseline_path(baseline_dir, &c.target, &c.scenario)?;
        let old =
            baseline::read(&path).map_err(|e| UsageError(format!("{e}; nothing was blessed")))?;
        let mut new = c;
        new.blessed_by = Some(context.blessed_by.clone());
        new.reason = options.reason.clone();
        new.created_at = context.now.clone();
        new.tool_version = env!("CARGO_PKG_VERSION").to_string();
        plan.push((path, old, new));
    }
    let mut report = String::new();
    for (path, old, new) in &plan {
        baseline::write(path, new)?;
        report.push_str(&old_to_new(path, old.as_ref(), new));
    }
    Ok(report)
}

/// "TTFT p50: 40.1 ms → 48.2 ms (+20.2%)" for each gated metric.
fn old_to_new(path: &Path, old: Option<&Baseline>, new: &Baseline) -> String {
    let mut out = format!(
        "blessed {} ({} trials{})\n",
        path.display(),
        new.trials.len(),
        if old.is_none() { ", new" } else { "" }
    );
    for metric in MetricId::ALL
        .into_iter()
        .filter(|m| m.gate() != Gate::Never)
    {
        let value = |b: &Baseline| -> Option<f64> {
            let v: Vec<f64> = b
                .trials
                .iter()
                .filter_map(|t| t.stats.get(&metric))
                .copied()
                .filter(|v| *v > 0.0)
                .collect();
            (!v.is_empty())
                .then(|| stats::mean(&v.iter().map(|x| x.ln()).collect::<Vec<_>>()).exp())
        };
        let Some(now) = value(new) else { continue };
        let unit = metric.unit();
        let fmt = |v: f64| match metric.kind() {
            metric::Kind::SuccessRate => format!("{:.2}%", v * 100.0),
            metric::Kind::Energy => format!("{} {unit}", crate::report::fmt_energy(v)),
            _ => format!("{} {unit}", crate::report::fmt_ms(v)),
        };
        match old.and_then(value) {
            Some(before) => out.push_str(&format!(
                "  {:<16} {} → {} ({:+.1}%)\n",
                metric.label(),
                fmt(before),
                fmt(now),
                (now / before - 1.0) * 100.0
            )),
            None => out.push_str(&format!("  {:<16} {}\n", metric.label(), fmt(now))),
        }
    }
    out
}

/// After a run (or for `compare`/`bless` on a results folder): compares and/or
/// blesses the candidates as asked. Returns the comparison, with the baselines'
/// curves for `report.html`, when one was made.
pub fn gate(
    dir: &Path,
    options: &GateOptions,
    context: &BlessContext,
    candidates: &[Baseline],
    manifest: &Manifest,
) -> anyhow::Result<Option<Judged>> {
    let mut judged = None;
    if options.compare {
        let info = RunInfo {
            run_id: manifest.run.id.clone(),
            target: manifest.run.target.clone(),
            baseline_dir: options.baseline_dir.display().to_string(),
            looks: sequential_looks(manifest),
        };
        let j = judge(
            candidates,
            &options.baseline_dir,
            options.strict,
            info,
            true,
        )?;
        let [json, md] = write_comparison(dir, &j.comparison)?;
        println!("{}", render::console(&j.comparison));
        eprintln!("comparison: {} · {}", md.display(), json.display());
        judged = Some(j);
    }
    if let Some(bless_options) = &options.bless {
        let report = bless(
            candidates,
            &options.baseline_dir,
            bless_options,
            context,
            manifest.run.interrupted,
        )?;
        print!("{report}");
    }
    Ok(judged)
}

/// Who is blessing: `LLM_BENCH_BLESSED_BY`, else git's `user.name`, else `USER`.
pub fn blessed_by(env: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some(who) = env("LLM_BENCH_BLESSED_BY").filter(|w| !w.trim().is_empty()) {
        return who;
    }
    let git = std::process::Command::new("git")
        .args(["config", "user.name"])
        .output()
        .ok();
    if let Some(out) = git.filter(|o| o.status.success()) {
        let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !name.is_empty() {
            return name;
        }
    }
    env("USER")
        .or_else(|| env("USERNAME"))
        .unwrap_or_else(|| "unknown".into())
}

/// Whether `CI` says this is a CI job (`true`, `1`, `yes`).
pub fn is_ci(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("CI")
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
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

    #[test]
    fn ci_detection() {
        assert!(is_ci(&|k| (k == "CI").then(|| "true".to_string())));
        assert!(!is_ci(&|k| (k == "CI").then(|| "false".to_string())));
        assert!(!is_ci(&|_| None));
    }
}
