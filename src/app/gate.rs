//! The gate's wiring: a results folder and the baseline folder in, `comparison.{json,md}`
//! and blessed baselines out.
//!
//! `compare` judges values (candidates, the baselines found for them, capacity
//! searches) and reads no results folder; this module is where those values come
//! from and where the comparison goes: candidates read from (or computed over) a
//! run's folder, each candidate's baseline read from `BASELINE_DIR`, `capacity.json`
//! read back, the comparison written beside the run and printed.

use std::path::{Path, PathBuf};

use super::capacity::read_searches;
use crate::compare::baseline::{self, Baseline};
use crate::compare::capacity::{self, CapacityBaseline};
use crate::compare::verdict::{Comparison, RunInfo};
use crate::compare::{
    self, file_stem, render, BlessContext, BlessOptions, CandidateBuilder, Found, Judged, Overlay,
    CANDIDATE_SUFFIX, COMPARISON_JSON, COMPARISON_MD,
};
use crate::manifest::Manifest;
use crate::results;
use crate::usage_error::UsageError;

/// What `run`, `compare` and `bless` were asked to do with baselines.
#[derive(Debug, Clone)]
pub struct GateOptions {
    pub baseline_dir: PathBuf,
    pub compare: bool,
    /// A scenario without a baseline fails (exit 3) instead of being reported as new.
    pub strict: bool,
    pub bless: Option<BlessOptions>,
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

/// The committed baseline of `current` in `baseline_dir` (`None`: a new scenario),
/// named by its path. A baseline that cannot be read stops everything with a
/// message saying how to repair it.
pub fn find_baseline(baseline_dir: &Path, current: &Baseline) -> anyhow::Result<Found<Baseline>> {
    let path = compare::baseline_path(baseline_dir, &current.target, &current.scenario)?;
    let baseline = baseline::read(&path).map_err(|e| UsageError(e.to_string()))?;
    Ok(Found {
        shown: path.display().to_string(),
        baseline,
    })
}

/// The blessed search of each capacity candidate, in order.
fn find_searches(
    baseline_dir: &Path,
    candidates: &[CapacityBaseline],
) -> anyhow::Result<Vec<Found<CapacityBaseline>>> {
    candidates
        .iter()
        .map(|current| {
            let path = capacity::capacity_path(baseline_dir, &current.target, &current.scenario)?;
            Ok(Found {
                shown: path.display().to_string(),
                baseline: capacity::read(&path)?,
            })
        })
        .collect()
}

/// Compares candidates with their baselines in `baseline_dir`.
pub fn compare(
    candidates: &[Baseline],
    baseline_dir: &Path,
    strict: bool,
    run: RunInfo,
) -> anyhow::Result<Comparison> {
    Ok(judge::<()>(candidates, baseline_dir, strict, run, None)?.comparison)
}

/// `compare`, keeping what `overlay` takes of each baseline read
/// ([`compare::judge`]).
pub fn judge<O: Send>(
    candidates: &[Baseline],
    baseline_dir: &Path,
    strict: bool,
    run: RunInfo,
    overlay: Option<Overlay<'_, O>>,
) -> anyhow::Result<Judged<O>> {
    compare::judge(
        candidates,
        Vec::new(),
        &|c| find_baseline(baseline_dir, c),
        strict,
        run,
        overlay,
    )
}

/// Writes `comparison.json` and `comparison.md` into the results folder.
pub fn write_comparison(dir: &Path, comparison: &Comparison) -> anyhow::Result<[PathBuf; 2]> {
    let json = dir.join(COMPARISON_JSON);
    let md = dir.join(COMPARISON_MD);
    results::write_json_atomic(&json, comparison)?;
    results::write_atomic(&md, render::markdown(comparison).as_bytes())?;
    Ok([json, md])
}

/// `--max-trials`: why `scenario` of the run so far in `dir` (rows flushed) should
/// get another trial ([`compare::sequential::wants_another_trial`]).
pub fn wants_another_trial(
    dir: &Path,
    scenario: &str,
    options: &GateOptions,
) -> anyhow::Result<Option<String>> {
    let (manifest, candidates) = candidates_from_dir(dir)?;
    let Some(current) = candidates.iter().find(|c| c.scenario == scenario) else {
        return Ok(None);
    };
    let found = find_baseline(&options.baseline_dir, current)?;
    Ok(compare::sequential::wants_another_trial(
        &manifest,
        current,
        &found,
        &options.baseline_dir.display().to_string(),
    ))
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
    let searches = capacity::RunSearches::new(read_searches(dir)?, manifest);
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
            looks: compare::sequential_looks(manifest),
        };
        let blessed_searches = find_searches(&options.baseline_dir, &searches.candidates)?;
        let j = compare::judge(
            candidates,
            capacity::compare(&searches.candidates, blessed_searches),
            &|c| find_baseline(&options.baseline_dir, c),
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
