//! `baselines/<target>/<scenario>.json`: the blessed measurement a run is judged by.
//!
//! A baseline keeps everything a later comparison needs without the original run
//! folder: who blessed it and why, the fingerprint, the scenario spec, every trial's
//! statistics, the between-trial noise per metric and the raw per-request samples the
//! statistics were computed from (TTFT, TPOT, E2E, output tokens, outcome). ITL is
//! kept as an HDR histogram (microseconds, 3 significant digits, V2 + DEFLATE
//! encoding, base64: the format of HdrHistogram's interval logs, readable by every
//! HdrHistogram implementation), since a run has one ITL per token. A trial keeps at
//! most [`SAMPLES_PER_TRIAL`] requests' samples: a longer trial keeps a seeded
//! uniform random subset and records of how many requests in `sampled_from`.
//!
//! The file is canonical JSON (keys sorted, two-space indentation, arrays of plain
//! values on one line), so a bless shows up as a readable diff. Its layout is
//! described by `schemas/baseline.schema.json`. `schema_version` is "MAJOR.MINOR":
//! a newer minor only adds fields; an unknown major is refused.
//!
//! Every run writes the same structure, unblessed, as
//! `RESULTS/<scenario>.baseline.json.new`, so `llm-bench bless --from RESULTS`
//! promotes a run without re-running it.
//!
//! Layout: this file holds the types; `samples` the per-request samples of a
//! trial, `file` reads and checks a file, `text` renders the canonical text and
//! `write` puts it on disk.

mod file;
mod samples;
mod text;
mod write;

pub use file::{parse, read, BaselineError};
pub use samples::{
    decode_histogram, encode_histogram, itl_histogram, Samples, SamplesBuilder, SAMPLES_PER_TRIAL,
};
pub use text::{canonical_json, to_text, write_text};
pub use write::{write, BlessLock};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::metric::MetricId;
use super::server_state::TrialServerState;
use crate::fingerprint::Fingerprint;
use crate::manifest::ScenarioSpec;
use crate::metrics::Metrics;
use crate::record::ErrorKind;

/// The schema this build writes for a baseline of one run. 1.1 added
/// `samples.sampled_from` (a trial's samples capped at [`SAMPLES_PER_TRIAL`]); a
/// 1.0 reader ignores it, which matters only to its request-level bootstrap of a
/// sampled trial's throughput. 1.2 added each trial's `server` state, which a 1.1
/// reader ignores.
pub const SCHEMA_VERSION: &str = "1.2";
/// The schema of a baseline of several runs (`--bless --append`): trials carry
/// their `run`, and `runs` describes each. Its major is 2 because a 1.x reader
/// would take the trials of five runs for five trials of one and judge with the
/// wrong variance; it refuses the file instead, with "upgrade llm-bench".
pub const SCHEMA_VERSION_RUNS: &str = "2.0";
/// The newest major version this build reads (it reads 1.x and 2.x).
pub const SCHEMA_MAJOR: u32 = 2;

/// One scenario's blessed (or candidate) measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema_version: String,
    pub tool_version: String,
    /// When it was blessed (a candidate: when its run ended).
    pub created_at: String,
    /// Who blessed it; `None` in a candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blessed_by: Option<String>,
    /// Why (`--reason`); `None` in a candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// The run it was taken from.
    pub run_id: String,
    pub target: String,
    pub scenario: String,
    /// Always `linear` (see [`crate::metrics::percentile`]).
    pub percentile_method: String,
    pub fingerprint: Fingerprint,
    pub spec: ScenarioSpec,
    /// Between-trial standard deviation of each metric's log, from these trials;
    /// a comparison never assumes less spread than this.
    pub noise: BTreeMap<MetricId, f64>,
    pub trials: Vec<TrialRecord>,
    /// Every run of an appended baseline, oldest first (`--bless --append` keeps
    /// a rolling window); empty for a baseline of one run, which the fields above
    /// describe. The fields above always describe the newest run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunEntry>,
}

/// One run of a multi-run baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    pub run_id: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blessed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub tool_version: String,
}

impl Baseline {
    /// How many runs its trials come from.
    pub fn run_count(&self) -> usize {
        self.runs.len().max(1)
    }

    /// The schema version this baseline is written with: [`SCHEMA_VERSION`] for
    /// one run, [`SCHEMA_VERSION_RUNS`] for several.
    pub fn schema_version_for(&self) -> &'static str {
        if self.runs.len() > 1 {
            SCHEMA_VERSION_RUNS
        } else {
            SCHEMA_VERSION
        }
    }

    /// The newest run's description.
    pub fn newest_run(&self) -> RunEntry {
        RunEntry {
            run_id: self.run_id.clone(),
            created_at: self.created_at.clone(),
            blessed_by: self.blessed_by.clone(),
            reason: self.reason.clone(),
            git_commit: self.git_commit.clone(),
            tool_version: self.tool_version.clone(),
        }
    }
}

/// One trial: counts, statistics and the samples they were computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// Index into [`Baseline::runs`] of the run the trial belongs to; 0 (and
    /// absent from the file) in a baseline of one run.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub run: u32,
    pub trial: u32,
    /// The measured window (first send to last completion) throughputs divide by.
    pub duration_s: f64,
    pub succeeded: u64,
    pub failed: u64,
    #[serde(default)]
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Mean output tokens per successful request, to detect output-length drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_mean: Option<f64>,
    pub stats: BTreeMap<MetricId, f64>,
    /// What the server's metrics said about its state during the trial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<TrialServerState>,
    pub samples: Samples,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl TrialRecord {
    /// How many successful requests each kept successful sample stands for, when
    /// the samples are a subset ([`Samples::sampled_from`]); `None` when they hold
    /// every request. Sums over the kept samples (throughput) are scaled by it so
    /// they add up to the whole trial's.
    pub fn sample_weight(&self) -> Option<f64> {
        self.samples.sampled_from?;
        let kept = self.samples.ok().count();
        (kept > 0).then(|| self.succeeded as f64 / kept as f64)
    }

    /// A trial from its summary metrics and its rows.
    pub fn new(trial: u32, metrics: &Metrics, samples: Samples) -> TrialRecord {
        let stats = MetricId::ALL
            .iter()
            .filter_map(|&m| Some((m, m.value(metrics)?)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        TrialRecord {
            run: 0,
            trial,
            duration_s: metrics.duration_s,
            succeeded: metrics.requests.succeeded,
            failed: metrics.requests.failed,
            errors: metrics.errors.clone(),
            output_tokens_mean: metrics.output_tokens.map(|s| s.mean),
            stats,
            server: TrialServerState::of(metrics),
            samples,
        }
    }
}

/// The within-run standard deviation of ln(statistic) per metric, robust to an
/// outlier trial and to zero-valued statistics ([`super::trials::noise`]), with
/// outliers judged on a scale of at least `noise_floor`.
pub fn noise(trials: &[TrialRecord], noise_floor: f64) -> BTreeMap<MetricId, f64> {
    super::trials::noise(trials, noise_floor)
}

#[cfg(test)]
pub(crate) mod tests;
