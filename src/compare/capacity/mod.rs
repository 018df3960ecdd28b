//! Capacity at SLO as a gated metric: a `capacity:` search's answer blessed into
//! the baselines and compared by its bracket ([`rule`]).
//!
//! A search's steps are scenarios of the run (`<scenario>.r<rate>`, one trial
//! each, at rates the search chose), so two runs of the same search rarely share a
//! step: compared scenario by scenario they would be "new" every time (and fail
//! `--strict`), and blessed one by one they are refused (a baseline needs 3
//! trials). So steps take no part in the per-scenario comparison or in `--bless`;
//! the search's answer does, as one row named after the capacity scenario, in
//! `BASELINE_DIR/<target>/<scenario>.capacity.json`
//! (`schemas/baseline-capacity.schema.json`).
//!
//! The answer's comparability is the scenario's: the fingerprint of its steps'
//! spec with the searched knob cleared, plus the same `attain`, knob and SLO.

mod bless;
pub mod rule;

pub use bless::bless_with_searches;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::verdict::{BaselineInfo, ScenarioComparison, Status};
use super::{baseline_path, file_stem, Found};
use crate::fingerprint::{spec_differences, Fingerprint};
use crate::manifest::{LoadSpec, Manifest, ScenarioSpec};
use crate::results;
use crate::usage_error::UsageError;

/// Version of [`CapacityBaseline`] files: "MAJOR.MINOR", a newer minor only adds.
pub const SCHEMA_VERSION: &str = "1.0";

/// One search as `capacity.json` holds it: the answer, its bracket, every step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityResult {
    pub scenario: String,
    /// What was searched: `rate` (requests per second) or `concurrency`.
    #[serde(default = "rate_knob")]
    pub knob: String,
    pub attain: f64,
    /// The highest load meeting the SLO; absent when no step did.
    pub capacity_rate: Option<f64>,
    /// Highest load that passed and lowest that failed: the uncertainty.
    pub lower_rate: Option<f64>,
    pub upper_rate: Option<f64>,
    pub stopped: String,
    pub steps: Vec<CapacityStep>,
}

fn rate_knob() -> String {
    "rate".into()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityStep {
    pub scenario: String,
    pub rate: f64,
    pub good: u64,
    pub measured: u64,
    pub verdict: String,
}

/// `BASELINE_DIR/<target>/<scenario>.capacity.json`: a blessed search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityBaseline {
    pub schema_version: String,
    pub tool_version: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blessed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub run_id: String,
    pub target: String,
    pub scenario: String,
    pub fingerprint: Fingerprint,
    /// The steps' spec, named after the search, with the searched knob cleared.
    pub spec: ScenarioSpec,
    pub search: CapacityResult,
}

/// The capacity searches of a run (none without `capacity.json`).
#[derive(Debug, Clone, Default)]
pub struct RunSearches {
    pub candidates: Vec<CapacityBaseline>,
    /// Every step's scenario name.
    pub steps: BTreeSet<String>,
}

impl RunSearches {
    /// The searches of a run (`capacity.json`, read by `app`), with `manifest`
    /// (its `run.json`) for the steps' specs.
    pub fn new(searches: Vec<CapacityResult>, manifest: &Manifest) -> RunSearches {
        let mut out = RunSearches::default();
        for search in searches {
            out.steps
                .extend(search.steps.iter().map(|s| s.scenario.clone()));
            if let Some(candidate) = candidate(manifest, search) {
                out.candidates.push(candidate);
            }
        }
        out
    }

    pub fn is_step(&self, scenario: &str) -> bool {
        self.steps.contains(scenario)
    }
}

/// A search as an unblessed baseline; `None` when none of its steps ran.
fn candidate(manifest: &Manifest, search: CapacityResult) -> Option<CapacityBaseline> {
    let first = search.steps.first()?;
    let step = manifest
        .scenarios
        .iter()
        .find(|s| s.name == first.scenario)?;
    let spec = searched_spec(step, &search.scenario);
    let run = &manifest.run;
    Some(CapacityBaseline {
        schema_version: SCHEMA_VERSION.into(),
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
        scenario: search.scenario.clone(),
        fingerprint: Fingerprint::of(run, &spec),
        spec,
        search,
    })
}

/// A step's spec as the search's: its name, and the knob the search moves
/// cleared, so every step of every run of the search fingerprints alike.
fn searched_spec(step: &ScenarioSpec, scenario: &str) -> ScenarioSpec {
    let mut spec = step.clone();
    spec.name = scenario.to_string();
    match &mut spec.load {
        LoadSpec::Open { rate, .. } => *rate = 0.0,
        LoadSpec::Closed { concurrency } => *concurrency = 0,
        _ => {}
    }
    spec
}

/// `BASELINE_DIR/<target>/<scenario>.capacity.json`.
pub fn capacity_path(dir: &Path, target: &str, scenario: &str) -> anyhow::Result<PathBuf> {
    let plain = baseline_path(dir, target, scenario)?;
    Ok(plain.with_file_name(format!("{}.capacity.json", file_stem(scenario)?)))
}

/// Reads a blessed search; `None` when there is none.
pub fn read(path: &Path) -> anyhow::Result<Option<CapacityBaseline>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(UsageError(format!("{}: {e}", path.display())).into()),
    };
    let major = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["schema_version"].as_str().map(str::to_string));
    if major.as_deref().and_then(|v| v.split('.').next()) != Some("1") {
        return Err(UsageError(format!(
            "{}: not a capacity baseline this version reads (schema_version {}); upgrade \
             llm-bench, or bless the capacity scenario again",
            path.display(),
            major.unwrap_or_else(|| "missing".into())
        ))
        .into());
    }
    serde_json::from_str(&text).map(Some).map_err(|e| {
        UsageError(format!(
            "{}: {e}; restore it from version control or bless the capacity scenario again",
            path.display()
        ))
        .into()
    })
}

/// Each candidate search against its blessed search (`blessed`, in the same
/// order: `None` for a new one), as scenario rows.
pub fn compare(
    candidates: &[CapacityBaseline],
    blessed: Vec<Found<CapacityBaseline>>,
) -> Vec<ScenarioComparison> {
    candidates
        .iter()
        .zip(blessed)
        .map(|(current, found)| match found.baseline {
            Some(old) => compare_one(current, &old, found.shown),
            None => row(current, Status::New, found.shown, None),
        })
        .collect()
}

fn row(
    current: &CapacityBaseline,
    status: Status,
    baseline_path: String,
    baseline: Option<&CapacityBaseline>,
) -> ScenarioComparison {
    ScenarioComparison {
        scenario: current.scenario.clone(),
        status,
        baseline_path,
        baseline: baseline.map(info),
        current_trials: 1,
        not_comparable: Vec::new(),
        warnings: Vec::new(),
        server_state: None,
        alpha_share: 1.0,
        thresholds: current.spec.thresholds.clone(),
        metrics: Vec::new(),
    }
}

fn info(b: &CapacityBaseline) -> BaselineInfo {
    BaselineInfo {
        created_at: b.created_at.clone(),
        blessed_by: b.blessed_by.clone(),
        reason: b.reason.clone(),
        git_commit: b.git_commit.clone(),
        run_id: b.run_id.clone(),
        trials: 1,
        tool_version: b.tool_version.clone(),
        runs: 1,
    }
}

fn compare_one(
    current: &CapacityBaseline,
    old: &CapacityBaseline,
    shown: String,
) -> ScenarioComparison {
    let mut out = row(current, Status::Compared, shown, Some(old));
    let (mut must, warnings) = current.fingerprint.differences(&old.fingerprint);
    let settings = spec_differences(&old.spec, &current.spec);
    if must.iter().any(|l| l.starts_with("workload:")) && !settings.is_empty() {
        must.retain(|l| !l.starts_with("workload:"));
        must.extend(settings);
    }
    let (c, b) = (&current.search, &old.search);
    if c.knob != b.knob {
        must.push(format!("searched knob: `{}` → `{}`", b.knob, c.knob));
    }
    if c.attain != b.attain {
        must.push(format!("capacity.attain: {} → {}", b.attain, c.attain));
    }
    if current.spec.slo != old.spec.slo {
        must.push(format!(
            "slo: {} → {}",
            serde_json::to_string(&old.spec.slo).unwrap_or_default(),
            serde_json::to_string(&current.spec.slo).unwrap_or_default()
        ));
    }
    out.warnings = warnings;
    if !must.is_empty() {
        out.status = Status::NotComparable;
        out.not_comparable = must;
        return out;
    }
    out.metrics
        .push(rule::judge(c, b, current.spec.thresholds.capacity));
    out
}

/// Writes each candidate search (blessed by the caller) to its file; returns one
/// "old → new" line per search.
pub fn write_blessed(baseline_dir: &Path, blessed: &[CapacityBaseline]) -> anyhow::Result<String> {
    let mut plan = Vec::new();
    for b in blessed {
        let path = capacity_path(baseline_dir, &b.target, &b.scenario)?;
        let old = read(&path).map_err(|e| UsageError(format!("{e}; nothing was blessed")))?;
        plan.push((path, old, b));
    }
    let mut report = String::new();
    for (path, old, new) in plan {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        results::write_json_atomic(&path, new)?;
        let rate = |c: &CapacityResult| {
            c.capacity_rate
                .map_or("not found".to_string(), |r| format!("{r} req/s"))
        };
        let before = old
            .as_ref()
            .map(|o| format!("{} → ", rate(&o.search)))
            .unwrap_or_default();
        report.push_str(&format!(
            "blessed {} (capacity at SLO{})\n  {:<16} {before}{} (bracket {}–{})\n",
            path.display(),
            if old.is_none() { ", new" } else { "" },
            "Capacity at SLO",
            rate(&new.search),
            new.search.lower_rate.map_or("?".into(), |v| v.to_string()),
            new.search.upper_rate.map_or("?".into(), |v| v.to_string()),
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
