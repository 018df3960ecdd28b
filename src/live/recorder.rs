//! What feeds the live metrics, each from where the value is already at hand.
//!
//! * [`TrialProbe`]: the runner, per request, two relaxed atomic adds when it is
//!   sent (`requests_sent`, `requests_in_flight`) and one when it ends; the
//!   watchdog, every 10 ms, its lag. Nothing per token or per chunk.
//! * [`Recorder`]: the sink thread, per finished row, everything else, off the hot
//!   path. It classifies rows exactly as the summary does ([`Fate`]), so counters
//!   scraped after the run equal summary.json's counts and each histogram holds
//!   exactly the samples the summary's statistics were computed from.
//! * [`LiveRun::summarise`]: the app, once, the summary's key figures as gauges.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use super::metrics::{
    ExcludedLabels, F64Gauge, FailureLabels, ScenarioLabels, StatLabels, TrialLabels,
};
use super::{Control, LiveMetrics, Shared};
use crate::metrics::{ClientHealth, Stats, Summary};
use crate::record::{ErrorKind, RequestRow};

/// The run's identity, on every series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLabels {
    pub run_id: String,
    pub target: String,
    pub model: String,
}

/// The live metrics of one run: cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveRun {
    pub(super) shared: Shared,
    pub(super) labels: RunLabels,
}

impl LiveRun {
    /// Metrics with no thread behind them (nothing served, nothing pushed), for
    /// feeding a [`Recorder`] by hand and reading the exposition: tests, benchmarks.
    pub fn standalone(labels: RunLabels) -> LiveRun {
        let (control, _) = tokio::sync::mpsc::unbounded_channel();
        LiveRun {
            shared: Shared {
                metrics: std::sync::Arc::new(LiveMetrics::new()),
                run_id: Default::default(),
                control,
            },
            labels,
        }
    }

    pub fn metrics(&self) -> &LiveMetrics {
        &self.shared.metrics
    }

    fn scenario(&self, scenario: &str) -> ScenarioLabels {
        ScenarioLabels {
            run_id: self.labels.run_id.clone(),
            target: self.labels.target.clone(),
            model: self.labels.model.clone(),
            scenario: scenario.to_string(),
        }
    }

    fn trial(&self, scenario: &str, trial: u32) -> TrialLabels {
        TrialLabels {
            scenario: self.scenario(scenario),
            trial,
        }
    }

    /// The runner's handles for one trial.
    pub fn probe(&self, scenario: &str, trial: u32) -> TrialProbe {
        let labels = self.trial(scenario, trial);
        let m = &self.shared.metrics;
        TrialProbe {
            sent: m.sent.get_or_create_owned(&labels),
            in_flight: m.in_flight.get_or_create_owned(&labels),
            sched_lag: m.sched_lag.get_or_create_owned(&labels),
        }
    }

    /// The summary's key figures, per scenario with all trials pooled.
    pub fn summarise(&self, summary: &Summary) {
        let g = &self.shared.metrics.summary;
        for s in &summary.scenarios {
            let labels = self.scenario(&s.name);
            let m = &s.metrics;
            let set = |family: &Family<ScenarioLabels, F64Gauge>, v: f64| {
                family.get_or_create(&labels).set(v);
            };
            set(&g.requests_per_s, m.requests_per_s);
            set(&g.output_tokens_per_s, m.output_tokens_per_s);
            if let Some(r) = m.success_rate {
                set(&g.success_ratio, r);
            }
            if let Some(goodput) = &m.goodput {
                set(&g.goodput_ratio, goodput.fraction);
            }
            if let Some(j) = m
                .telemetry
                .as_ref()
                .and_then(|t| t.energy())
                .and_then(|e| e.joules_per_output_token)
            {
                set(&g.joules_per_output_token, j);
            }
            if let Some(health) = &m.client_health {
                g.client_limited
                    .get_or_create(&labels)
                    .set(i64::from(health.client_limited));
            }
            for (family, stats) in [
                (&g.ttft, m.ttft_ms),
                (&g.tpot, m.tpot_ms),
                (&g.itl, m.itl_ms),
                (&g.e2e, m.e2e_ms),
            ] {
                let Some(stats) = stats else { continue };
                for (stat, ms) in stat_values(&stats) {
                    let labels = StatLabels {
                        scenario: labels.clone(),
                        stat,
                    };
                    family.get_or_create(&labels).set(ms / 1000.0);
                }
            }
        }
    }
}

fn stat_values(s: &Stats) -> [(&'static str, f64); 4] {
    [
        ("mean", s.mean),
        ("p50", s.p50),
        ("p90", s.p90),
        ("p99", s.p99),
    ]
}

/// The runner's share: what only it knows while requests are in flight.
#[derive(Debug, Clone)]
pub struct TrialProbe {
    sent: Counter,
    in_flight: Gauge,
    sched_lag: Histogram,
}

impl TrialProbe {
    #[inline]
    pub fn request_sent(&self) {
        self.sent.inc();
        self.in_flight.inc();
    }

    #[inline]
    pub fn request_done(&self) {
        self.in_flight.dec();
    }

    pub fn sched_lag(&self, lag: Duration) {
        self.sched_lag.observe(lag.as_secs_f64());
    }
}

/// How a row counts, decided as `metrics::summary::Accumulator::add` decides:
/// warm-up first, then the two kinds of never-measured rows, then failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Excluded(&'static str),
    Failed(ErrorKind),
    Succeeded,
}

impl Fate {
    pub fn of(row: &RequestRow) -> Fate {
        match row.error_kind {
            _ if row.warmup => Fate::Excluded("warmup"),
            Some(ErrorKind::Cancelled) => Fate::Excluded("cancelled"),
            Some(ErrorKind::Dropped) => Fate::Excluded("dropped"),
            Some(kind) => Fate::Failed(kind),
            None => Fate::Succeeded,
        }
    }
}

/// The sink thread's share: one call per finished row and one per finished trial.
#[derive(Debug)]
pub struct Recorder {
    run: LiveRun,
    /// The handles of the trial the last row belonged to: rows arrive trial by
    /// trial, so a row mostly costs no label hashing.
    current: Option<TrialHandles>,
}

#[derive(Debug)]
struct TrialHandles {
    labels: TrialLabels,
    completed: Counter,
    output_tokens: Counter,
    prompt_tokens: Counter,
    ttft: Histogram,
    tpot: Histogram,
    itl: Histogram,
    e2e: Histogram,
    send_lag: Histogram,
}

impl TrialHandles {
    fn new(run: &LiveRun, scenario: &str, trial: u32) -> TrialHandles {
        let labels = run.trial(scenario, trial);
        let m = &run.shared.metrics;
        TrialHandles {
            completed: m.completed.get_or_create_owned(&labels),
            output_tokens: m.output_tokens.get_or_create_owned(&labels),
            prompt_tokens: m.prompt_tokens.get_or_create_owned(&labels),
            ttft: m.ttft.get_or_create_owned(&labels),
            tpot: m.tpot.get_or_create_owned(&labels),
            itl: m.itl.get_or_create_owned(&labels),
            e2e: m.e2e.get_or_create_owned(&labels),
            send_lag: m.send_lag.get_or_create_owned(&labels),
            labels,
        }
    }

    fn is_for(&self, scenario: &str, trial: u32) -> bool {
        self.labels.trial == trial && self.labels.scenario.scenario == scenario
    }
}

impl Recorder {
    pub fn new(run: LiveRun) -> Recorder {
        Recorder { run, current: None }
    }

    /// Counts one finished row. ITL: one sample per gap, those in `itl_ms` and
    /// those folded in `itl_rest`, as the summary counts them.
    pub fn observe(&mut self, row: &RequestRow) {
        let metrics = &self.run.shared.metrics;
        let h = self
            .current
            .take()
            .filter(|h| h.is_for(&row.scenario, row.trial))
            .unwrap_or_else(|| TrialHandles::new(&self.run, &row.scenario, row.trial));
        let h = self.current.insert(h);
        let kind = match Fate::of(row) {
            Fate::Excluded(reason) => {
                let labels = ExcludedLabels {
                    trial: h.labels.clone(),
                    reason,
                };
                metrics.excluded.get_or_create(&labels).inc();
                return;
            }
            Fate::Failed(kind) => Some(kind),
            Fate::Succeeded => None,
        };
        h.send_lag.observe(row.send_lag_ms / 1000.0);
        if let Some(kind) = kind {
            let labels = FailureLabels {
                trial: h.labels.clone(),
                error_kind: kind.as_str(),
            };
            metrics.failed.get_or_create(&labels).inc();
            return;
        }
        h.completed.inc();
        h.e2e.observe(row.e2e_ms / 1000.0);
        if let Some(ttft) = row.ttft_ms {
            h.ttft.observe(ttft / 1000.0);
        }
        // As the summary counts them: TPOT only where two chunks came.
        if let Some(tpot) = row.tpot_ms.filter(|_| row.chunks >= 2) {
            h.tpot.observe(tpot / 1000.0);
        }
        for ms in &row.itl_ms {
            h.itl.observe(ms / 1000.0);
        }
        // A long response's gaps past the exact ones, folded into an HDR histogram
        // in `itl_rest`: each bucket's value (its upper edge) once per gap, so the
        // live count equals the summary's and buckets shift by at most 0.1%.
        if let Some(rest) = &row.itl_rest {
            for &(ms, count) in &rest.histogram {
                for _ in 0..count {
                    h.itl.observe(ms / 1000.0);
                }
            }
        }
        h.output_tokens.inc_by(row.output_tokens);
        h.prompt_tokens.inc_by(row.prompt_tokens.unwrap_or(0));
    }

    /// A trial's rows are all counted: its client-health verdict, then a push.
    pub fn trial_finished(&mut self, scenario: &str, trial: u32, health: &ClientHealth) {
        let labels = self.run.trial(scenario, trial);
        let m = &self.run.shared.metrics;
        m.client_limited
            .get_or_create(&labels)
            .set(i64::from(health.client_limited));
        m.client_cpu
            .get_or_create(&labels)
            .set(health.cpu_utilisation);
        self.run.shared.send(Control::Push(format!(
            "after trial {} of `{scenario}`",
            trial + 1
        )));
    }
}
