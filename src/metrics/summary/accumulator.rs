//! One scenario's rows (one trial, or several pooled) folded into samples as they
//! come, then sorted once into [`Metrics`].

use std::collections::BTreeMap;

use super::{Counts, Goodput, Metrics, Schedule, LATE_THRESHOLD_MS, RATE_ATTAINMENT_FLOOR};
use crate::manifest::ScenarioSpec;
use crate::metrics::output_length::OutputLengthAccumulator;
use crate::metrics::samples::{Samples, PER_TOKEN_CAP};
use crate::metrics::turns::TurnsAccumulator;
use crate::metrics::ClientHealth;
use crate::record::{ErrorKind, RequestRow, RowFlag, TokenSource};

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
    pub(super) health: Option<ClientHealth>,
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
