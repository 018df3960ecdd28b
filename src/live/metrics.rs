//! Every family llm-bench exposes: its name, help text, labels and buckets.
//!
//! Names follow Prometheus conventions: the `llm_bench_` prefix, base units in the
//! name (`_seconds`), and counters ending in `_total` (which `prometheus_client`
//! appends). Labels are the run's identity (`run_id`, `target`, `model`) and where
//! in the run a series belongs (`scenario`, `trial`), plus one bounded enum where a
//! family needs it (`error_kind`, `reason`, `stat`): a run has as many series as it
//! has scenario trials, never one per request. docs/telemetry.md lists them all.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::buckets;

/// Every name starts with this and an underscore.
pub const PREFIX: &str = "llm_bench";

/// Which run a series belongs to.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScenarioLabels {
    pub run_id: String,
    pub target: String,
    pub model: String,
    pub scenario: String,
}

/// One trial of one scenario: the label set of every live series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TrialLabels {
    #[prometheus(flatten)]
    pub scenario: ScenarioLabels,
    pub trial: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct FailureLabels {
    #[prometheus(flatten)]
    pub trial: TrialLabels,
    /// `ErrorKind::as_str`: the names summary.json counts errors by.
    pub error_kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ExcludedLabels {
    #[prometheus(flatten)]
    pub trial: TrialLabels,
    /// `warmup`, `cancelled` or `dropped`: the summary's counts of the same names.
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct StatLabels {
    #[prometheus(flatten)]
    pub scenario: ScenarioLabels,
    /// `mean`, `p50`, `p90` or `p99`, as in summary.json.
    pub stat: &'static str,
}

pub(super) type F64Gauge = Gauge<f64, AtomicU64>;
pub(super) type Histograms = Family<TrialLabels, Histogram, fn() -> Histogram>;

/// The registry and a handle on each family.
#[derive(Debug)]
pub struct LiveMetrics {
    registry: Registry,
    pub(super) sent: Family<TrialLabels, Counter>,
    pub(super) completed: Family<TrialLabels, Counter>,
    pub(super) failed: Family<FailureLabels, Counter>,
    pub(super) excluded: Family<ExcludedLabels, Counter>,
    pub(super) in_flight: Family<TrialLabels, Gauge>,
    pub(super) output_tokens: Family<TrialLabels, Counter>,
    pub(super) prompt_tokens: Family<TrialLabels, Counter>,
    pub(super) ttft: Histograms,
    pub(super) tpot: Histograms,
    pub(super) itl: Histograms,
    pub(super) e2e: Histograms,
    pub(super) send_lag: Histograms,
    pub(super) sched_lag: Histograms,
    pub(super) client_limited: Family<TrialLabels, Gauge>,
    pub(super) client_cpu: Family<TrialLabels, F64Gauge>,
    pub(super) summary: SummaryGauges,
}

/// The summary's key figures per scenario (all trials pooled), set once the run
/// has its summary: what a CI job leaves in Prometheus through the Pushgateway.
/// Named `llm_bench_result_*`: a name holding `summary` reads as the Prometheus
/// type, which promtool's lint refuses.
#[derive(Debug, Default)]
pub(super) struct SummaryGauges {
    pub requests_per_s: Family<ScenarioLabels, F64Gauge>,
    pub output_tokens_per_s: Family<ScenarioLabels, F64Gauge>,
    pub success_ratio: Family<ScenarioLabels, F64Gauge>,
    pub goodput_ratio: Family<ScenarioLabels, F64Gauge>,
    pub client_limited: Family<ScenarioLabels, Gauge>,
    pub joules_per_output_token: Family<ScenarioLabels, F64Gauge>,
    pub ttft: Family<StatLabels, F64Gauge>,
    pub tpot: Family<StatLabels, F64Gauge>,
    pub itl: Family<StatLabels, F64Gauge>,
    pub e2e: Family<StatLabels, F64Gauge>,
}

/// A family of histograms with the bucket bounds `make` gives each new series.
fn histograms(make: fn() -> Histogram) -> Histograms {
    Family::new_with_constructor(make)
}

fn ttft_buckets() -> Histogram {
    Histogram::new(buckets::TTFT_S.iter().copied())
}

fn itl_buckets() -> Histogram {
    Histogram::new(buckets::ITL_S.iter().copied())
}

fn e2e_buckets() -> Histogram {
    Histogram::new(buckets::E2E_S.iter().copied())
}

fn lag_buckets() -> Histogram {
    Histogram::new(buckets::LAG_S.iter().copied())
}

impl Default for LiveMetrics {
    fn default() -> Self {
        LiveMetrics::new()
    }
}

impl LiveMetrics {
    pub fn new() -> Self {
        let mut m = LiveMetrics {
            registry: Registry::with_prefix(PREFIX),
            sent: Family::default(),
            completed: Family::default(),
            failed: Family::default(),
            excluded: Family::default(),
            in_flight: Family::default(),
            output_tokens: Family::default(),
            prompt_tokens: Family::default(),
            ttft: histograms(ttft_buckets),
            tpot: histograms(itl_buckets),
            itl: histograms(itl_buckets),
            e2e: histograms(e2e_buckets),
            send_lag: histograms(lag_buckets),
            sched_lag: histograms(lag_buckets),
            client_limited: Family::default(),
            client_cpu: Family::default(),
            summary: SummaryGauges::default(),
        };
        m.register();
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "requests_sent",
            "Requests handed to the HTTP client, warm-up included (counted as they leave)",
            self.sent.clone(),
        );
        r.register(
            "requests_completed",
            "Measured requests that succeeded (summary.json requests.succeeded)",
            self.completed.clone(),
        );
        r.register(
            "requests_failed",
            "Measured requests that failed, by error kind (summary.json errors)",
            self.failed.clone(),
        );
        r.register(
            "requests_excluded",
            "Requests left out of the statistics: warm-up, cancelled at a stop, dropped by the open loop",
            self.excluded.clone(),
        );
        r.register(
            "requests_in_flight",
            "Requests sent and not yet finished",
            self.in_flight.clone(),
        );
        r.register(
            "output_tokens",
            "Output tokens of measured successful requests (summary.json output_tokens_total)",
            self.output_tokens.clone(),
        );
        r.register(
            "prompt_tokens",
            "Prompt tokens the server reported for measured successful requests (summary.json prompt_tokens_total)",
            self.prompt_tokens.clone(),
        );
        // Units are in the names; no `# UNIT` line, which some OpenMetrics parsers
        // refuse on histograms.
        r.register(
            "ttft_seconds",
            "Time to first token of measured successful requests, from the actual send",
            self.ttft.clone(),
        );
        r.register(
            "tpot_seconds",
            "Time per output token after the first, of measured successful requests",
            self.tpot.clone(),
        );
        r.register(
            "itl_seconds",
            "Gaps between streamed content chunks of measured successful requests, one sample per gap the row carries",
            self.itl.clone(),
        );
        r.register(
            "e2e_seconds",
            "End-to-end latency of measured successful requests, from the actual send",
            self.e2e.clone(),
        );
        r.register(
            "send_lag_seconds",
            "How late measured requests left after their scheduled time",
            self.send_lag.clone(),
        );
        r.register(
            "client_sched_lag_seconds",
            "How late the client's runtime ran a task due every 10 ms (the client-limited watchdog)",
            self.sched_lag.clone(),
        );
        r.register(
            "client_limited",
            "1 when the trial's numbers describe the client rather than the server, set when the trial ends",
            self.client_limited.clone(),
        );
        r.register(
            "client_cpu_utilisation",
            "Share of its CPUs the client process used during the trial, set when the trial ends",
            self.client_cpu.clone(),
        );
        self.summary.register(r);
    }

    /// The OpenMetrics text exposition, `# EOF` included.
    pub fn encode_openmetrics(&self, out: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::text::encode(out, &self.registry)
    }

    /// The Prometheus text format 0.0.4, which the Pushgateway takes.
    pub fn encode_prometheus_text(&self, out: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::prometheus_text::encode(out, &self.registry)
    }
}

impl SummaryGauges {
    fn register(&self, r: &mut Registry) {
        let s = r.sub_registry_with_prefix("result");
        s.register(
            "requests_per_second",
            "Succeeded requests per second over the measured window (summary.json requests_per_s)",
            self.requests_per_s.clone(),
        );
        s.register(
            "output_tokens_per_second",
            "Output tokens per second over the measured window (summary.json output_tokens_per_s)",
            self.output_tokens_per_s.clone(),
        );
        s.register(
            "success_ratio",
            "Succeeded / (succeeded + failed) measured requests (summary.json success_rate)",
            self.success_ratio.clone(),
        );
        s.register(
            "goodput_ratio",
            "Share of measured requests that met every SLO (summary.json goodput.fraction)",
            self.goodput_ratio.clone(),
        );
        s.register(
            "client_limited",
            "1 when any trial of the scenario was client-limited",
            self.client_limited.clone(),
        );
        s.register(
            "energy_per_output_token_joules",
            "GPU energy per output token over the measured window (telemetry joules_per_output_token)",
            self.joules_per_output_token.clone(),
        );
        for (name, family) in [
            ("ttft", &self.ttft),
            ("tpot", &self.tpot),
            ("itl", &self.itl),
            ("e2e", &self.e2e),
        ] {
            s.register(
                format!("{name}_seconds"),
                format!("The summary's {name} statistics (mean, p50, p90, p99)"),
                family.clone(),
            );
        }
    }
}
