//! Nightly history: one compact record per scenario per run, so performance can be
//! followed between pull requests (a dependency bump merged without a benchmark,
//! five 2% slowdowns that each passed as "within noise").
//!
//! A record ([`Entry`]) is a baseline candidate (`<scenario>.baseline.json.new`)
//! without its per-request samples: who, when, which commit, the fingerprint (which
//! holds the server's engine and version) and each trial's statistics and server
//! state, in the baseline's own per-trial field names ([`TrialStats`] is
//! [`TrialRecord`] less `samples`). So a run of the history is a baseline run:
//! `Entry::between_run_trials` gives the per-run log statistics that the gate's
//! between-run variance ([`crate::compare::drift::estimate`]) reads, and
//! [`Entry::from_candidate`] / [`Entry::trial_records`] convert both ways.
//!
//! Records live in one JSONL file per target, `<target>.jsonl`, oldest first, in a
//! store: a local folder or a git branch ([`store`]). Each file is bounded: it keeps
//! the newest [`DEFAULT_KEEP`] records of each scenario (a rolling window, see
//! [`window`]).

pub mod git;
pub mod store;
pub mod table;
pub mod window;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::compare::baseline::{Baseline, Samples, TrialRecord};
use crate::compare::metric::MetricId;
use crate::compare::server_state::TrialServerState;
use crate::fingerprint::Fingerprint;
use crate::record::ErrorKind;

/// The schema of one history line. A newer minor only adds fields.
pub const SCHEMA_VERSION: &str = "1.0";
/// Records kept per scenario and target by default: a year of nightlies.
pub const DEFAULT_KEEP: usize = 365;
/// The git branch a repository's history lives on by default.
pub const DEFAULT_BRANCH: &str = "llm-bench-history";

/// One scenario of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub schema_version: String,
    pub target: String,
    pub scenario: String,
    pub run_id: String,
    /// When the run ended (RFC 3339, UTC).
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub tool_version: String,
    /// Model, API, workload, GPU, server engine and version (must match), driver.
    pub fingerprint: Fingerprint,
    pub trials: Vec<TrialStats>,
}

/// One trial's statistics: a baseline's [`TrialRecord`] without the samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialStats {
    pub trial: u32,
    pub duration_s: f64,
    pub succeeded: u64,
    pub failed: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<ErrorKind, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_mean: Option<f64>,
    pub stats: BTreeMap<MetricId, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<TrialServerState>,
}

impl From<&TrialRecord> for TrialStats {
    fn from(t: &TrialRecord) -> TrialStats {
        TrialStats {
            trial: t.trial,
            duration_s: t.duration_s,
            succeeded: t.succeeded,
            failed: t.failed,
            errors: t.errors.clone(),
            output_tokens_mean: t.output_tokens_mean,
            stats: t.stats.clone(),
            server: t.server,
        }
    }
}

impl Entry {
    /// The record of a run's candidate baseline (or of a blessed baseline's newest
    /// run); `commit` overrides the commit the run recorded.
    pub fn from_candidate(c: &Baseline, commit: Option<&str>) -> Entry {
        let newest = c.runs.len().saturating_sub(1) as u32;
        Entry {
            schema_version: SCHEMA_VERSION.to_string(),
            target: c.target.clone(),
            scenario: c.scenario.clone(),
            run_id: c.run_id.clone(),
            created_at: c.created_at.clone(),
            git_commit: commit.map(str::to_string).or_else(|| c.git_commit.clone()),
            tool_version: c.tool_version.clone(),
            fingerprint: c.fingerprint.clone(),
            trials: c
                .trials
                .iter()
                .filter(|t| t.run == newest)
                .map(TrialStats::from)
                .collect(),
        }
    }

    /// The trials as a baseline holds them (run index `run`, no samples): what a
    /// multi-run baseline built from history would contain.
    pub fn trial_records(&self, run: u32) -> Vec<TrialRecord> {
        self.trials
            .iter()
            .map(|t| TrialRecord {
                run,
                trial: t.trial,
                duration_s: t.duration_s,
                succeeded: t.succeeded,
                failed: t.failed,
                errors: t.errors.clone(),
                output_tokens_mean: t.output_tokens_mean,
                stats: t.stats.clone(),
                server: t.server,
                samples: Samples::default(),
            })
            .collect()
    }

    /// The run's value of a metric: the geometric mean of its trials' values (the
    /// gate compares trials on a log scale); `None` when no trial has a positive
    /// value. A success rate, which may be 0, is averaged arithmetically.
    pub fn value(&self, metric: MetricId) -> Option<f64> {
        let values: Vec<f64> = self
            .trials
            .iter()
            .filter_map(|t| t.stats.get(&metric).copied())
            .filter(|v| v.is_finite())
            .collect();
        if values.is_empty() {
            return None;
        }
        if metric == MetricId::SuccessRate {
            return Some(values.iter().sum::<f64>() / values.len() as f64);
        }
        let logs: Vec<f64> = values
            .iter()
            .filter(|v| **v > 0.0)
            .map(|v| v.ln())
            .collect();
        (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
    }

    /// The commit, shortened to 12 characters, or `?`.
    pub fn short_commit(&self) -> &str {
        self.git_commit
            .as_deref()
            .map(|c| &c[..c.len().min(12)])
            .unwrap_or("?")
    }
}

/// The per-run log statistics of one metric over `entries` (oldest first), as
/// [`crate::compare::drift::Sides::baseline_runs`] takes them: history feeds the
/// gate's between-run variance without a baseline file.
pub fn between_run_trials(entries: &[&Entry], metric: MetricId) -> Vec<Vec<f64>> {
    entries
        .iter()
        .map(|e| {
            e.trials
                .iter()
                .filter_map(|t| t.stats.get(&metric).copied())
                .filter(|v| *v > 0.0 && v.is_finite())
                .map(f64::ln)
                .collect::<Vec<f64>>()
        })
        .filter(|run| !run.is_empty())
        .collect()
}

/// Parses a JSONL text of entries; a bad line is an error naming its line number
/// (a history file is never silently truncated).
pub fn parse_lines(text: &str, origin: &str) -> Result<Vec<Entry>, HistoryError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry = serde_json::from_str(line).map_err(|e| HistoryError::BadLine {
            origin: origin.to_string(),
            line: i + 1,
            message: e.to_string(),
        })?;
        let major = entry.schema_version.split('.').next().unwrap_or("");
        if major != "1" {
            return Err(HistoryError::BadLine {
                origin: origin.to_string(),
                line: i + 1,
                message: format!(
                    "schema_version {} is newer than this llm-bench reads (1.x); upgrade llm-bench",
                    entry.schema_version
                ),
            });
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Entries as JSONL, one line each.
pub fn to_lines(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&serde_json::to_string(e).expect("an entry serializes"));
        out.push('\n');
    }
    out
}

/// What can go wrong reading or writing a history store.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{origin}:{line}: not a history record: {message} (the file holds one JSON record per line, as `llm-bench history add` writes them)")]
    BadLine {
        origin: String,
        line: usize,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("git {args}: {message}")]
    Git { args: String, message: String },
    #[error("the history branch `{branch}` moved under {attempts} attempts to push (other jobs appending at once); run `llm-bench history add` again")]
    PushRace { branch: String, attempts: usize },
    #[error("`{0}` cannot name a history file (use letters, digits, `.`, `_`, `-`)")]
    BadTarget(String),
}

#[cfg(test)]
mod tests;
