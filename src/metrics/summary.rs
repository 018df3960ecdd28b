//! `summary.json`: per-scenario statistics built from request rows.
//!
//! Rows are folded into an [`Accumulator`] one at a time (so neither the runner nor
//! `llm-bench report` needs to keep rows around), then sorted once into [`Metrics`].
//! Samples are kept exactly up to a cap and in a histogram beyond it
//! ([`Samples`](super::samples::Samples)), so a summary's memory does not grow with
//! run length.
//!
//! This file holds what `summary.json` says; `accumulator` folds rows into one
//! scenario's [`Metrics`], `builder` sorts rows by scenario and trial and pools
//! trials.

mod accumulator;
mod builder;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::output_length::OutputLength;
use super::turns::TurnMetrics;
use super::{ClientHealth, Stats};
use crate::fingerprint::Fingerprint;
use crate::manifest::{RunMeta, ScenarioSpec};
use crate::record::{ErrorKind, RowFlag, TokenSource};
use crate::telemetry::Telemetry;

pub use accumulator::Accumulator;
pub use builder::SummaryBuilder;

/// A request counts as late when it left more than this after its scheduled time.
pub const LATE_THRESHOLD_MS: f64 = 1.0;
/// An open-loop trial "reached its target rate" when it sent at least this share of
/// the scheduled rate and dropped nothing.
pub const RATE_ATTAINMENT_FLOOR: f64 = 0.95;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub run: RunMeta,
    pub scenarios: Vec<ScenarioSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    pub name: String,
    pub spec: ScenarioSpec,
    /// What these numbers depend on (model, workload hash, GPUs, server build, ...):
    /// the same identity a baseline records, so two summaries can be checked for
    /// comparability without the baselines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// All trials pooled.
    pub metrics: Metrics,
    /// One entry per trial, in trial order.
    pub trials: Vec<Metrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub requests: Counts,
    /// succeeded / (succeeded + failed), over measured requests.
    pub success_rate: Option<f64>,
    /// The measured window: first measured send to last measured completion.
    pub duration_s: f64,
    pub requests_per_s: f64,
    pub output_tokens_per_s: f64,
    pub prompt_tokens_per_s: f64,
    pub output_tokens_total: u64,
    pub prompt_tokens_total: u64,
    pub ttft_ms: Option<Stats>,
    pub tpot_ms: Option<Stats>,
    pub itl_ms: Option<Stats>,
    pub e2e_ms: Option<Stats>,
    /// TTFT and E2E from the intended send time (open loop: includes client queueing).
    pub response_ttft_ms: Option<Stats>,
    pub response_e2e_ms: Option<Stats>,
    /// Time to first reasoning token, for reasoning models.
    pub ttfr_ms: Option<Stats>,
    pub output_tokens: Option<Stats>,
    pub errors: BTreeMap<ErrorKind, u64>,
    /// The first message seen for each error kind, to show what went wrong.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_examples: BTreeMap<ErrorKind, String>,
    pub tokens_by_source: BTreeMap<TokenSource, u64>,
    /// Measured requests per row flag (`no_visible_text`, `usage_above_received`,
    /// `over_max_tokens`, ...): what the token counts and gaps should be read with.
    /// Absent when no row was flagged.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flags: BTreeMap<RowFlag, u64>,
    /// Requested against received output lengths, when the scenario draws each
    /// request's `max_tokens` (`output_tokens:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_length: Option<OutputLength>,
    /// TTFT and input tokens by turn index, for conversation scenarios
    /// (`conversation:`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_turn: Option<Vec<TurnMetrics>>,
    pub schedule: Schedule,
    pub goodput: Option<Goodput>,
    /// How the client itself fared; `client_limited` means these numbers describe
    /// llm-bench rather than the server. Absent in runs from before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_health: Option<ClientHealth>,
    /// GPU power and energy, and the server's own metrics, over this window; absent
    /// when nothing was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<Telemetry>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Every row, warm-up included.
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub warmup: u64,
    pub cancelled: u64,
    pub dropped: u64,
}

/// How well the client kept to its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub send_lag_ms: Option<Stats>,
    /// Requests sent more than [`LATE_THRESHOLD_MS`] after their scheduled time.
    pub late: u64,
    pub dropped: u64,
    pub target_rate: Option<f64>,
    /// Rate of the arrival schedule actually drawn (varies around the target).
    pub scheduled_rate: Option<f64>,
    pub achieved_rate: Option<f64>,
    /// achieved / scheduled.
    pub attainment: Option<f64>,
    /// Open loop only: false when the client could not keep up with its schedule.
    pub reached_target: Option<bool>,
}

/// Requests that met every SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goodput {
    pub requests: u64,
    pub requests_per_s: f64,
    /// Share of measured requests that met the SLO.
    pub fraction: f64,
}
