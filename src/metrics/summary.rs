//! `summary.json`: per-scenario statistics built from request rows.
//!
//! Rows are folded into an [`Accumulator`] one at a time (so neither the runner nor
//! `llm-bench report` needs to keep rows around), then sorted once into [`Metrics`].
//! Samples are kept exactly up to a cap and in a histogram beyond it
//! ([`Samples`]), so a summary's memory does not grow with run length.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::output_length::{OutputLength, OutputLengthAccumulator};
use super::samples::{Samples, PER_TOKEN_CAP};
use super::turns::{TurnMetrics, TurnsAccumulator};
use super::{ClientHealth, Stats};
use crate::fingerprint::Fingerprint;
use crate::manifest::{Manifest, RunMeta, ScenarioSpec, SCHEMA_VERSION};
use crate::record::{ErrorKind, RequestRow, RowFlag, TokenSource};
use crate::telemetry::{Telemetry, TelemetryAccumulator, TelemetryRecord};

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

/// Folds rows of one scenario (one trial, or several pooled) into samples.
#[derive(Debug, Clone)]
pub struct Accumulator {
    counts: Counts,
    ttft: Samples,
    tpot: Samples,
    itl: Samples,
    e2e: Samples,
    response_ttft: Samples,
    response_e2e: Samples,
    ttfr: Samples,
    output_tokens: Samples,
    send_lag: Samples,
    late: u64,
    errors: BTreeMap<ErrorKind, u64>,
    error_examples: BTreeMap<ErrorKind, String>,
    tokens_by_source: BTreeMap<TokenSource, u64>,
    flags: BTreeMap<RowFlag, u64>,
    output_length: OutputLengthAccumulator,
    by_turn: TurnsAccumulator,
    output_tokens_total: u64,
    prompt_tokens_total: u64,
    good: u64,
    window: Option<(f64, f64)>,
    starts: Option<(f64, f64, u64)>,
    scheduled: Option<(f64, f64, u64)>,
    /// Sum of per-trial windows when trials are pooled.
    pooled_duration_s: Option<f64>,
    health: Option<ClientHealth>,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            counts: Counts::default(),
            ttft: Samples::default(),
            tpot: Samples::default(),
            itl: Samples::with_cap(PER_TOKEN_CAP),
            e2e: Samples::default(),
            response_ttft: Samples::default(),
            response_e2e: Samples::default(),
            ttfr: Samples::default(),
            output_tokens: Samples::default(),
            send_lag: Samples::default(),
            late: 0,
            errors: BTreeMap::new(),
            error_examples: BTreeMap::new(),
            tokens_by_source: BTreeMap::new(),
            flags: BTreeMap::new(),
            output_length: OutputLengthAccumulator::default(),
            by_turn: TurnsAccumulator::default(),
            output_tokens_total: 0,
            prompt_tokens_total: 0,
            good: 0,
            window: None,
            starts: None,
            scheduled: None,
            pooled_duration_s: None,
            health: None,
        }
    }
}

fn widen(range: &mut Option<(f64, f64)>, lo: f64, hi: f64) {
    *range = Some(match *range {
        Some((a, b)) => (a.min(lo), b.max(hi)),
        None => (lo, hi),
    });
}

fn widen_count(range: &mut Option<(f64, f64, u64)>, x: f64) {
    *range = Some(match *range {
        Some((a, b, n)) => (a.min(x), b.max(x), n + 1),
        None => (x, x, 1),
    });
}

/// (n − 1) events over the span between first and last: a rate that does not
/// depend on where the window happens to start.
fn rate_of(range: Option<(f64, f64, u64)>) -> Option<f64> {
    let (lo, hi, n) = range?;
    (n >= 2 && hi > lo).then(|| (n - 1) as f64 / ((hi - lo) / 1000.0))
}

impl Accumulator {
    pub fn add(&mut self, row: &RequestRow, slo: &crate::manifest::SloSpec) {
        self.counts.total += 1;
        match row.error_kind {
            _ if row.warmup => {
                self.counts.warmup += 1;
                return;
            }
            Some(ErrorKind::Cancelled) => {
                self.counts.cancelled += 1;
                return;
            }
            Some(ErrorKind::Dropped) => {
                self.counts.dropped += 1;
                widen_count(&mut self.scheduled, row.scheduled_ms);
                return;
            }
            _ => {}
        }
        widen_count(&mut self.scheduled, row.scheduled_ms);
        widen_count(&mut self.starts, row.start_ms);
        self.by_turn.add(row);
        for flag in &row.flags {
            *self.flags.entry(*flag).or_default() += 1;
        }
        self.send_lag.push(row.send_lag_ms);
        if row.send_lag_ms > LATE_THRESHOLD_MS {
            self.late += 1;
        }
        if let Some(kind) = row.error_kind {
            self.counts.failed += 1;
            *self.errors.entry(kind).or_default() += 1;
            if let Some(message) = &row.error {
                self.error_examples
                    .entry(kind)
                    .or_insert_with(|| message.clone());
            }
            return;
        }
        self.counts.succeeded += 1;
        widen(&mut self.window, row.start_ms, row.end_ms);
        self.e2e.push(row.e2e_ms);
        self.response_e2e.push(row.response_e2e_ms);
        self.ttft.extend(row.ttft_ms);
        self.response_ttft.extend(row.response_ttft_ms);
        self.ttfr.extend(row.ttfr_ms);
        // Rows written before TPOT needed two chunks carry one for `--no-stream`.
        if row.chunks >= 2 {
            self.tpot.extend(row.tpot_ms);
        }
        self.itl.extend(row.itl_ms.iter().copied());
        if let Some(rest) = &row.itl_rest {
            self.itl.merge_folded(
                (rest.count, rest.mean_ms, rest.m2_ms()),
                (rest.min_ms, rest.max_ms),
                &rest.histogram,
            );
        }
        self.output_tokens.push(row.output_tokens as f64);
        self.output_tokens_total += row.output_tokens;
        self.prompt_tokens_total += row.prompt_tokens.unwrap_or(0);
        *self.tokens_by_source.entry(row.token_source).or_default() += 1;
        self.output_length.add(row);
        if meets_slo(row, slo) {
            self.good += 1;
        }
    }

    /// Pools another trial into this one; throughput is then over the summed windows.
    pub fn merge(&mut self, other: &Accumulator) {
        let duration = self.duration_s() + other.duration_s();
        let c = &mut self.counts;
        c.total += other.counts.total;
        c.succeeded += other.counts.succeeded;
        c.failed += other.counts.failed;
        c.warmup += other.counts.warmup;
        c.cancelled += other.counts.cancelled;
        c.dropped += other.counts.dropped;
        for (mine, theirs) in [
            (&mut self.ttft, &other.ttft),
            (&mut self.tpot, &other.tpot),
            (&mut self.itl, &other.itl),
            (&mut self.e2e, &other.e2e),
            (&mut self.response_ttft, &other.response_ttft),
            (&mut self.response_e2e, &other.response_e2e),
            (&mut self.ttfr, &other.ttfr),
            (&mut self.output_tokens, &other.output_tokens),
            (&mut self.send_lag, &other.send_lag),
        ] {
            mine.merge(theirs);
        }
        self.late += other.late;
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        for (k, v) in &other.error_examples {
            self.error_examples.entry(*k).or_insert_with(|| v.clone());
        }
        for (k, v) in &other.tokens_by_source {
            *self.tokens_by_source.entry(*k).or_default() += v;
        }
        for (k, v) in &other.flags {
            *self.flags.entry(*k).or_default() += v;
        }
        self.output_tokens_total += other.output_tokens_total;
        self.prompt_tokens_total += other.prompt_tokens_total;
        self.output_length.merge(&other.output_length);
        self.by_turn.merge(&other.by_turn);
        self.good += other.good;
        // Rates across trials are not meaningful as one span; keep the first trial's.
        self.starts = self.starts.or(other.starts);
        self.scheduled = self.scheduled.or(other.scheduled);
        self.pooled_duration_s = Some(duration);
        self.health = ClientHealth::pool(self.health.iter().chain(&other.health));
    }

    /// The measured window (first measured send to last measured completion), ms
    /// since the trial start; `None` without a successful request.
    pub fn window_ms(&self) -> Option<(f64, f64)> {
        self.window
    }

    fn duration_s(&self) -> f64 {
        self.pooled_duration_s
            .unwrap_or_else(|| self.window.map_or(0.0, |(a, b)| (b - a) / 1000.0))
    }

    /// Sorts every sample vector once and computes the metrics.
    pub fn finish(mut self, spec: &ScenarioSpec) -> Metrics {
        let duration_s = self.duration_s();
        let per_s = |x: f64| {
            if duration_s > 0.0 {
                x / duration_s
            } else {
                0.0
            }
        };
        let measured = self.counts.succeeded + self.counts.failed;
        let success_rate = (measured > 0).then(|| self.counts.succeeded as f64 / measured as f64);
        let target_rate = spec.load.target_rate();
        let scheduled_rate = target_rate.and(rate_of(self.scheduled));
        let achieved_rate = target_rate.and(rate_of(self.starts));
        let attainment = match (achieved_rate, scheduled_rate) {
            (Some(a), Some(s)) if s > 0.0 => Some(a / s),
            _ => None,
        };
        let reached_target = target_rate.map(|_| {
            self.counts.dropped == 0 && attainment.is_none_or(|a| a >= RATE_ATTAINMENT_FLOOR)
        });
        let goodput = (!spec.slo.is_empty()).then(|| Goodput {
            requests: self.good,
            requests_per_s: per_s(self.good as f64),
            fraction: if measured > 0 {
                self.good as f64 / measured as f64
            } else {
                0.0
            },
        });
        Metrics {
            success_rate,
            duration_s,
            requests_per_s: per_s(self.counts.succeeded as f64),
            output_tokens_per_s: per_s(self.output_tokens_total as f64),
            prompt_tokens_per_s: per_s(self.prompt_tokens_total as f64),
            output_tokens_total: self.output_tokens_total,
            prompt_tokens_total: self.prompt_tokens_total,
            ttft_ms: self.ttft.stats(),
            tpot_ms: self.tpot.stats(),
            itl_ms: self.itl.stats(),
            e2e_ms: self.e2e.stats(),
            response_ttft_ms: self.response_ttft.stats(),
            response_e2e_ms: self.response_e2e.stats(),
            ttfr_ms: self.ttfr.stats(),
            output_tokens: self.output_tokens.stats(),
            schedule: Schedule {
                send_lag_ms: self.send_lag.stats(),
                late: self.late,
                dropped: self.counts.dropped,
                target_rate,
                scheduled_rate,
                achieved_rate,
                attainment,
                reached_target,
            },
            errors: self.errors,
            error_examples: self.error_examples,
            tokens_by_source: self.tokens_by_source,
            flags: self.flags,
            output_length: self.output_length.finish(),
            by_turn: self.by_turn.finish(),
            goodput,
            client_health: self.health,
            requests: self.counts,
            telemetry: None,
        }
    }
}

/// Joins telemetry to the metrics of the same window: energy per token needs the
/// window's tokens, goodput per watt its goodput.
fn with_telemetry(mut m: Metrics, t: &TelemetryAccumulator) -> Metrics {
    m.telemetry = t.finish(
        m.output_tokens_total,
        m.goodput.as_ref().map(|g| g.requests_per_s),
    );
    m
}

fn meets_slo(row: &RequestRow, slo: &crate::manifest::SloSpec) -> bool {
    let within = |bound: Option<f64>, value: Option<f64>| match (bound, value) {
        (Some(b), Some(v)) => v <= b,
        (Some(_), None) => false,
        (None, _) => true,
    };
    within(slo.ttft_ms, row.ttft_ms)
        && within(slo.tpot_ms, row.tpot_ms.or(row.ttft_ms.map(|_| 0.0)))
        && within(slo.e2e_ms, Some(row.e2e_ms))
}

/// Builds summaries incrementally: feed rows in any order, then [`finish`](Self::finish).
#[derive(Debug)]
pub struct SummaryBuilder {
    manifest: Manifest,
    /// Per scenario (manifest order), per trial.
    trials: Vec<BTreeMap<u32, Accumulator>>,
    /// Telemetry records, per scenario and trial like `trials`.
    telemetry: Vec<BTreeMap<u32, Vec<TelemetryRecord>>>,
}

impl SummaryBuilder {
    pub fn new(manifest: Manifest) -> Self {
        let trials = vec![BTreeMap::new(); manifest.scenarios.len()];
        let telemetry = vec![BTreeMap::new(); manifest.scenarios.len()];
        SummaryBuilder {
            manifest,
            trials,
            telemetry,
        }
    }

    /// Telemetry of scenarios the manifest does not know is ignored.
    pub fn add_telemetry(&mut self, record: &TelemetryRecord) {
        let Some(i) = self
            .manifest
            .scenarios
            .iter()
            .position(|s| s.name == record.scenario())
        else {
            return;
        };
        self.telemetry[i]
            .entry(record.trial())
            .or_default()
            .push(record.clone());
    }

    /// Rows of scenarios the manifest does not know are ignored.
    pub fn add(&mut self, row: &RequestRow) {
        let Some(i) = self
            .manifest
            .scenarios
            .iter()
            .position(|s| s.name == row.scenario)
        else {
            return;
        };
        let slo = &self.manifest.scenarios[i].slo;
        self.trials[i].entry(row.trial).or_default().add(row, slo);
    }

    /// Records what the client measured about itself during a trial. Health of
    /// scenarios the manifest does not know is ignored.
    pub fn add_health(&mut self, scenario: &str, trial: u32, health: ClientHealth) {
        if let Some(i) = self
            .manifest
            .scenarios
            .iter()
            .position(|s| s.name == scenario)
        {
            self.trials[i].entry(trial).or_default().health = Some(health);
        }
    }

    pub fn run_meta_mut(&mut self) -> &mut RunMeta {
        &mut self.manifest.run
    }

    pub fn finish(self) -> Summary {
        let scenarios = self
            .manifest
            .scenarios
            .into_iter()
            .zip(self.trials)
            .zip(self.telemetry)
            .filter(|((_, trials), _)| !trials.is_empty())
            .map(|((spec, trials), telemetry)| {
                let mut pooled = Accumulator::default();
                let mut pooled_telemetry = TelemetryAccumulator::default();
                let mut per_trial = Vec::with_capacity(trials.len());
                let single = trials.len() == 1;
                for (i, (trial, acc)) in trials.into_iter().enumerate() {
                    let records: Vec<&TelemetryRecord> =
                        telemetry.get(&trial).into_iter().flatten().collect();
                    let t = TelemetryAccumulator::from_records(&records, acc.window_ms());
                    if single {
                        // One trial is its own pool: no copy of its samples.
                    } else if i == 0 {
                        pooled = acc.clone();
                        pooled_telemetry = t.clone();
                    } else {
                        pooled.merge(&acc);
                        pooled_telemetry.merge(&t);
                    }
                    per_trial.push(with_telemetry(acc.finish(&spec), &t));
                }
                let metrics = match (single, per_trial.first()) {
                    (true, Some(only)) => only.clone(),
                    _ => with_telemetry(pooled.finish(&spec), &pooled_telemetry),
                };
                ScenarioSummary {
                    name: spec.name.clone(),
                    fingerprint: Some(Fingerprint::of(&self.manifest.run, &spec)),
                    metrics,
                    trials: per_trial,
                    spec,
                }
            })
            .collect();
        Summary {
            schema_version: SCHEMA_VERSION,
            run: self.manifest.run,
            scenarios,
        }
    }
}
