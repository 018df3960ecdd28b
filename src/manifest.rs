//! `run.json`: what was run, written before the first request.
//!
//! The request rows say what happened; the manifest says what was asked for (target,
//! model, each scenario's load and SLO). Together they are enough to rebuild every
//! summary and report of a run long after it finished.

use serde::{Deserialize, Serialize};

/// Version of `run.json`, `summary.json` and `requests.jsonl`. Bump the major number
/// on a change that old readers would misread.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub run: RunMeta,
    pub scenarios: Vec<ScenarioSpec>,
}

/// The run's identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub id: String,
    pub tool_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub target: String,
    /// Base URL without credentials; `builtin:sim` for the simulated server.
    pub base_url: String,
    pub api: String,
    pub model: String,
    pub workload_hash: String,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// True when a signal (Ctrl-C, SIGTERM) cut the run short.
    #[serde(default)]
    pub interrupted: bool,
    /// The signal that cut it short: `SIGINT` or `SIGTERM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// How percentiles are computed: `linear` (numpy's default).
    pub percentile_method: String,
    /// GPUs, driver, CUDA and server versions, as far as they could be learnt
    /// before the first request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<crate::telemetry::Environment>,
    /// `--shard`, `--generator`, the wall-clock anchor and, for `llm-bench merge`,
    /// the folders merged: written as keys of `run` itself.
    #[serde(flatten, default)]
    pub distribution: Distribution,
}

/// How this run's requests relate to other processes' (see `llm-bench merge`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// `--shard I/N`: this run holds the I-th of N disjoint parts of the scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Part>,
    /// `--generator I/N`: this run sent the I-th share of each scenario's load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<Part>,
    /// `CLOCK_REALTIME` beside `CLOCK_MONOTONIC`, read together before the first
    /// trial, so rows of runs on other machines can be lined up on wall-clock time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::clock::ClockAnchor>,
    /// Set by `llm-bench merge`: the folders this run was merged from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergeInfo>,
}

/// Part `index` (1-based) of `count`, as in `--shard 2/3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub index: u32,
    pub count: u32,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What `llm-bench merge` combined and how well the timelines line up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeInfo {
    pub folders: Vec<MergedFolder>,
    /// `monotonic` (all generators on one host: one clock, exact) or `realtime`
    /// (generators on several hosts, lined up on their NTP-disciplined clocks).
    pub alignment: String,
    /// Bound on how far two generators' timelines may be misaligned, ms: the
    /// clock readings' own spread, plus each host's NTP estimated error.
    pub clock_uncertainty_ms: f64,
    /// Largest gap between generators' starts of one trial, ms (they were
    /// started independently; the merged window covers them all).
    pub max_start_skew_ms: f64,
}

/// One folder given to `llm-bench merge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedFolder {
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<Part>,
}

/// One scenario as it was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSpec {
    pub name: String,
    pub prompt: String,
    pub load: LoadSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    pub warmup: u64,
    pub max_tokens: u32,
    pub ignore_eos: bool,
    pub stream: bool,
    pub seed: u64,
    /// `allow` when the prompt opted in to sharing cacheable prefixes; absent (the
    /// default) when every request starts with a salt of its own.
    #[serde(default, skip_serializing_if = "crate::config::PrefixCache::is_avoid")]
    pub prefix_cache: crate::config::PrefixCache,
    /// Each request's `max_tokens` drawn from this distribution (e.g.
    /// `uniform[64,256]`); absent when every request asks for `max_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<String>,
    /// `GROUPSxTOKENS` when the prompt's requests share prefixes in groups
    /// (`shared_prefix:`), e.g. `4x512`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_prefix: Option<String>,
    /// SHA-256 of the model's `tokenizer:` file when it made synthetic prompt
    /// lengths exact; absent when they are approximate (one word per token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer_sha256: Option<String>,
    /// What had its lengths approximated (one word per token, no tokenizer),
    /// e.g. `synthetic prompt lengths`; absent when nothing was: exact lengths,
    /// or prompts sent as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_lengths: Option<String>,
    pub trials: u32,
    /// `--max-trials`: more trials, up to this many, while a gated verdict is
    /// inconclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_trials: Option<u32>,
    #[serde(default)]
    pub slo: SloSpec,
    pub max_error_rate: f64,
    /// What the regression gate counts as a change (see `llm-bench compare`).
    #[serde(default)]
    pub thresholds: crate::config::thresholds::Thresholds,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum LoadSpec {
    Closed {
        concurrency: u32,
    },
    Open {
        rate: f64,
        arrival: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        burstiness: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_concurrency: Option<u32>,
    },
    /// A recorded trace replayed on its own schedule.
    Trace {
        /// As written in workloads.yaml.
        file: String,
        /// `jsonl` or `csv`.
        format: String,
        /// Rows in the trace.
        rows: u64,
        time_scale: f64,
        /// SHA-256 of the rows read.
        sha256: String,
        /// The replay's mean rate (rows over the time they span, after
        /// `time_scale`); absent when every row has the same time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mean_rate: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_concurrency: Option<u32>,
    },
}

impl LoadSpec {
    /// Short human description, e.g. `concurrency 32` or `poisson 8 req/s`.
    pub fn describe(&self) -> String {
        match self {
            LoadSpec::Closed { concurrency } => format!("concurrency {concurrency}"),
            LoadSpec::Open {
                rate,
                arrival,
                max_concurrency,
                ..
            } => match max_concurrency {
                Some(cap) => format!("{arrival} {rate} req/s, cap {cap}"),
                None => format!("{arrival} {rate} req/s"),
            },
            LoadSpec::Trace {
                file,
                time_scale,
                max_concurrency,
                ..
            } => {
                let scale = if *time_scale == 1.0 {
                    String::new()
                } else {
                    format!(" ×{time_scale}")
                };
                match max_concurrency {
                    Some(cap) => format!("trace {file}{scale}, cap {cap}"),
                    None => format!("trace {file}{scale}"),
                }
            }
        }
    }

    pub fn target_rate(&self) -> Option<f64> {
        match self {
            LoadSpec::Open { rate, .. } => Some(*rate),
            LoadSpec::Trace { mean_rate, .. } => *mean_rate,
            LoadSpec::Closed { .. } => None,
        }
    }
}

/// Service-level objectives; a request that meets all given bounds counts as goodput.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SloSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_ms: Option<f64>,
}

impl SloSpec {
    pub fn is_empty(&self) -> bool {
        self.ttft_ms.is_none() && self.tpot_ms.is_none() && self.e2e_ms.is_none()
    }
}
