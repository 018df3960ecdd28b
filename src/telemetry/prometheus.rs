//! Server metrics: the target's Prometheus endpoint (and a DCGM exporter's), parsed
//! into raw samples and summarised per trial into the few series that explain a
//! benchmark: requests running and waiting, KV-cache usage, prefix-cache hits,
//! preemptions, token counters and the server's own TTFT/ITL/E2E histograms.
//!
//! Parsing uses `openmetrics-parser` (a pest grammar of the exposition format):
//! `prometheus-parse`, the older choice, matches metric names with `\w+` and silently
//! drops vLLM's `vllm:`-prefixed series, whose names contain colons.
//!
//! Counters are summarised as increases between the trial's first and last scrape,
//! step by step so that a server restart (a counter going down) counts from zero, as
//! Prometheus' `increase()` does; a series absent from the first scrape started at
//! zero (prometheus_client exposes a labelled series only once it is first used).
//! Gauges are averaged over the trial's scrapes; histograms are differenced bucket
//! by bucket and their quantiles interpolated within a bucket, as PromQL's
//! `histogram_quantile` does.

use std::collections::BTreeMap;

use openmetrics_parser::{PrometheusType, PrometheusValue};
use serde::{Deserialize, Serialize};

use super::fingerprint::GpuInfo;
use super::record::{GpuSample, PromSample, Scrape};

/// Families left out of the raw samples: the runtime's own (Python GC, process,
/// per-handler HTTP latency), which can be most of a vLLM page and explain nothing
/// about serving. `*_created` timestamps are left out too.
const SKIPPED_PREFIXES: [&str; 5] = ["python_", "process_", "http_", "go_", "promhttp_"];

/// Parses a text exposition into flat samples (histograms as `_bucket`, `_sum` and
/// `_count` series, summaries as quantile, `_sum` and `_count` series).
pub fn parse(text: &str) -> Result<Vec<PromSample>, String> {
    // The grammar wants every line, the last included, to end with a newline.
    let owned;
    let text = if text.ends_with('\n') {
        text
    } else {
        owned = format!("{text}\n");
        &owned
    };
    let exposition = openmetrics_parser::prometheus::parse_prometheus(text)
        .map_err(|e| format!("not Prometheus text format: {e:?}"))?;
    let mut out = Vec::new();
    let mut names: Vec<&String> = exposition.families.keys().collect();
    names.sort();
    for name in names {
        if SKIPPED_PREFIXES.iter().any(|p| name.starts_with(p)) || name.ends_with("_created") {
            continue;
        }
        let family = &exposition.families[name];
        for sample in family.iter_samples() {
            let labels: BTreeMap<String, String> = match sample.get_labelset() {
                Ok(set) => set.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                Err(_) => BTreeMap::new(),
            };
            let mut push = |name: String, labels: BTreeMap<String, String>, value: f64| {
                if value.is_finite() {
                    out.push(PromSample {
                        name,
                        labels,
                        value,
                    });
                }
            };
            match (&family.family_type, &sample.value) {
                (PrometheusType::Histogram, PrometheusValue::Histogram(h)) => {
                    for b in &h.buckets {
                        let mut l = labels.clone();
                        l.insert("le".into(), le_label(b.upper_bound));
                        push(format!("{name}_bucket"), l, b.count.as_f64());
                    }
                    if let Some(sum) = &h.sum {
                        push(format!("{name}_sum"), labels.clone(), sum.as_f64());
                    }
                    if let Some(count) = h.count {
                        push(format!("{name}_count"), labels.clone(), count as f64);
                    }
                }
                (_, PrometheusValue::Summary(s)) => {
                    for q in &s.quantiles {
                        let mut l = labels.clone();
                        l.insert("quantile".into(), format_float(q.quantile));
                        push(name.clone(), l, q.value.as_f64());
                    }
                    if let Some(sum) = &s.sum {
                        push(format!("{name}_sum"), labels.clone(), sum.as_f64());
                    }
                    if let Some(count) = s.count {
                        push(format!("{name}_count"), labels.clone(), count as f64);
                    }
                }
                (_, PrometheusValue::Counter(c)) => push(name.clone(), labels, c.value.as_f64()),
                (_, PrometheusValue::Gauge(v) | PrometheusValue::Unknown(v)) => {
                    push(name.clone(), labels, v.as_f64())
                }
                (_, PrometheusValue::Histogram(_)) => {}
            }
        }
    }
    Ok(out)
}

fn le_label(bound: f64) -> String {
    if bound == f64::INFINITY {
        "+Inf".into()
    } else {
        format_float(bound)
    }
}

/// A float as Prometheus clients print it (`0.5`, `1.0`, `1e-05` stays parseable).
fn format_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

/// The serving engine whose series a scrape holds (`vllm`, `sglang`, `tgi`), from
/// the metric name prefixes.
pub fn engine_of(samples: &[PromSample]) -> Option<&'static str> {
    samples.iter().find_map(|s| {
        if s.name.starts_with("vllm:") {
            Some("vllm")
        } else if s.name.starts_with("sglang:") {
            Some("sglang")
        } else if s.name.starts_with("tgi_") {
            Some("tgi")
        } else {
            None
        }
    })
}

/// Known counters: (summary field, names in order of preference). Where an engine
/// renamed a series and briefly exposed both, the first present wins, so nothing is
/// counted twice.
const COUNTERS: [(&str, &[&str]); 6] = [
    (
        "requests_finished",
        &["vllm:request_success_total", "sglang:num_requests_total"],
    ),
    (
        "prompt_tokens",
        &["vllm:prompt_tokens_total", "sglang:prompt_tokens_total"],
    ),
    (
        "generation_tokens",
        &[
            "vllm:generation_tokens_total",
            "sglang:generation_tokens_total",
        ],
    ),
    ("preemptions", &["vllm:num_preemptions_total"]),
    (
        "prefix_cache_queries",
        &[
            "vllm:prefix_cache_queries_total",
            "vllm:gpu_prefix_cache_queries_total",
        ],
    ),
    (
        "prefix_cache_hits",
        &[
            "vllm:prefix_cache_hits_total",
            "vllm:gpu_prefix_cache_hits_total",
        ],
    ),
];

/// How the series of one gauge (one per engine replica or rank) combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    /// Counts of requests: replicas add up.
    Sum,
    /// Fractions: the replicas' mean.
    Mean,
}

const GAUGES: [(&str, Combine, &[&str]); 4] = [
    (
        "requests_running",
        Combine::Sum,
        &["vllm:num_requests_running", "sglang:num_running_reqs"],
    ),
    (
        "requests_waiting",
        Combine::Sum,
        &["vllm:num_requests_waiting", "sglang:num_queue_reqs"],
    ),
    (
        "kv_cache_usage",
        Combine::Mean,
        &[
            "vllm:kv_cache_usage_perc",
            "vllm:gpu_cache_usage_perc",
            "sglang:token_usage",
        ],
    ),
    (
        "prefix_cache_hit_rate",
        Combine::Mean,
        &["sglang:cache_hit_rate", "vllm:gpu_prefix_cache_hit_rate"],
    ),
];

/// The gauges a trial's starting state is read from ([`super::server_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GaugeName {
    RequestsRunning,
    RequestsWaiting,
    KvCacheUsage,
}

/// One gauge's value in one scrape, its series combined as [`GAUGES`] says;
/// `None` when the scrape lacks it.
pub(super) fn gauge_value(samples: &[PromSample], gauge: GaugeName) -> Option<f64> {
    let field = match gauge {
        GaugeName::RequestsRunning => "requests_running",
        GaugeName::RequestsWaiting => "requests_waiting",
        GaugeName::KvCacheUsage => "kv_cache_usage",
    };
    let (_, combine, names) = GAUGES.iter().find(|(f, _, _)| *f == field)?;
    let name = names
        .iter()
        .find(|n| samples.iter().any(|s| s.name == **n))?;
    let values: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == *name)
        .map(|s| s.value)
        .collect();
    let sum: f64 = values.iter().sum();
    Some(match combine {
        Combine::Sum => sum,
        Combine::Mean => sum / values.len() as f64,
    })
}

/// Histograms in seconds; reported in ms.
const HISTOGRAMS: [(&str, &[&str]); 3] = [
    (
        "ttft",
        &[
            "vllm:time_to_first_token_seconds",
            "sglang:time_to_first_token_seconds",
        ],
    ),
    (
        "itl",
        &[
            "vllm:inter_token_latency_seconds",
            "vllm:time_per_output_token_seconds",
            "sglang:inter_token_latency_seconds",
            "sglang:time_per_output_token_seconds",
        ],
    ),
    (
        "e2e",
        &[
            "vllm:e2e_request_latency_seconds",
            "sglang:e2e_request_latency_seconds",
        ],
    ),
];

/// What the server said about one scenario (its trials pooled) or one trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerMetrics {
    /// `vllm`, `sglang` or `tgi`, from the series names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Successful scrapes, and failed ones (unreachable, not Prometheus text).
    pub scrapes: u64,
    pub failed_scrapes: u64,
    /// Counter increases from the first scrape of a trial (before its first request)
    /// to the last (after its last response), warm-up requests included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_finished: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_tokens: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemptions: Option<f64>,
    /// Cached prompt tokens / queried prompt tokens (vLLM's counters), or the mean of
    /// SGLang's `cache_hit_rate` gauge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_cache_hit_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_running: Option<GaugeStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_waiting: Option<GaugeStats>,
    /// Share of the KV cache in use, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_usage: Option<GaugeStats>,
    /// The server's own latency histograms over the trial, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<HistogramStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl_ms: Option<HistogramStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_ms: Option<HistogramStats>,
}

/// A gauge over the scrapes of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GaugeStats {
    pub mean: f64,
    pub max: f64,
}

/// A histogram's increase over a trial. Quantiles are interpolated within buckets,
/// so they are only as fine as the server's bucket bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistogramStats {
    pub count: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

/// Cumulative bucket counts by upper bound, plus sum and count.
#[derive(Debug, Clone, Default, PartialEq)]
struct Hist {
    /// (upper bound, cumulative count), sorted by bound; the last is +Inf.
    buckets: Vec<(f64, f64)>,
    sum: f64,
    count: f64,
}

impl Hist {
    fn add_bucket(&mut self, bound: f64, count: f64) {
        match self.buckets.binary_search_by(|(b, _)| b.total_cmp(&bound)) {
            Ok(i) => self.buckets[i].1 += count,
            Err(i) => self.buckets.insert(i, (bound, count)),
        }
    }

    fn merge(&mut self, other: &Hist) {
        for &(b, c) in &other.buckets {
            self.add_bucket(b, c);
        }
        self.sum += other.sum;
        self.count += other.count;
    }

    /// PromQL's `histogram_quantile`: linear within the bucket holding rank q·n; the
    /// lowest bucket starts at 0; a rank in the +Inf bucket gives the highest
    /// finite bound.
    fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.buckets.last()?.1;
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let i = self.buckets.iter().position(|&(_, c)| c >= rank)?;
        let (upper, count) = self.buckets[i];
        if upper.is_infinite() {
            return self.buckets[..i].last().map(|&(b, _)| b);
        }
        let (lower, below) = match i {
            0 => (0.0_f64.min(upper), 0.0),
            _ => self.buckets[i - 1],
        };
        if count <= below {
            return Some(upper);
        }
        Some(lower + (upper - lower) * (rank - below) / (count - below))
    }

    fn stats_ms(&self) -> Option<HistogramStats> {
        let count = self.buckets.last().map_or(self.count, |&(_, c)| c);
        if count <= 0.0 {
            return None;
        }
        Some(HistogramStats {
            count,
            mean: self.sum / count * 1000.0,
            p50: self.quantile(0.5)? * 1000.0,
            p90: self.quantile(0.9)? * 1000.0,
            p99: self.quantile(0.99)? * 1000.0,
        })
    }
}

/// Server metrics of one trial before they are finished, so trials can be pooled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerAccumulator {
    engine: Option<&'static str>,
    scrapes: u64,
    failed: u64,
    counters: BTreeMap<&'static str, f64>,
    /// (sum over scrapes, scrapes, max).
    gauges: BTreeMap<&'static str, (f64, u64, f64)>,
    histograms: BTreeMap<&'static str, Hist>,
}

/// A series' identity within its name: the labels, `le` left out for buckets.
fn series_key(labels: &BTreeMap<String, String>, skip: &str) -> String {
    let mut key = String::new();
    for (k, v) in labels {
        if k != skip {
            key.push_str(k);
            key.push('\u{1}');
            key.push_str(v);
            key.push('\u{2}');
        }
    }
    key
}

/// Increase of a counter series over scrapes (values in time order, `None` where a
/// scrape lacked the series): a drop is a restart, counted from zero.
fn increase(values: &[Option<f64>]) -> f64 {
    let mut prev = match values.first() {
        Some(Some(v)) => *v,
        // Absent from the first scrape: the series did not exist yet, i.e. was 0.
        _ => 0.0,
    };
    let mut total = 0.0;
    for v in values.iter().skip(1).flatten() {
        total += if *v >= prev { v - prev } else { *v };
        prev = *v;
    }
    total
}

impl ServerAccumulator {
    /// Summarises one trial's scrapes of the server (any order).
    pub fn from_scrapes(scrapes: &[&Scrape]) -> ServerAccumulator {
        let mut ok: Vec<&Scrape> = scrapes
            .iter()
            .copied()
            .filter(|s| s.error.is_none())
            .collect();
        ok.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
        let mut acc = ServerAccumulator {
            scrapes: ok.len() as u64,
            failed: (scrapes.len() - ok.len()) as u64,
            engine: ok.iter().find_map(|s| engine_of(&s.samples)),
            ..Default::default()
        };
        if ok.is_empty() {
            return acc;
        }
        let present = |name: &str| ok.iter().any(|s| s.samples.iter().any(|p| p.name == name));
        let first_present = |names: &[&'static str]| names.iter().copied().find(|n| present(n));
        // Per series: its value in every scrape, in time order.
        let series_values = |name: &str, skip: &str| -> BTreeMap<String, Vec<Option<f64>>> {
            let mut by_key: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
            for (i, scrape) in ok.iter().enumerate() {
                for p in scrape.samples.iter().filter(|p| p.name == name) {
                    let slot = by_key
                        .entry(series_key(&p.labels, skip))
                        .or_insert_with(|| vec![None; ok.len()]);
                    slot[i] = Some(p.value);
                }
            }
            by_key
        };
        for (field, names) in COUNTERS {
            if let Some(name) = first_present(names) {
                let total = series_values(name, "").values().map(|v| increase(v)).sum();
                acc.counters.insert(field, total);
            }
        }
        for (field, combine, names) in GAUGES {
            let Some(name) = first_present(names) else {
                continue;
            };
            let mut per_scrape = Vec::new();
            for scrape in &ok {
                let values: Vec<f64> = scrape
                    .samples
                    .iter()
                    .filter(|p| p.name == name)
                    .map(|p| p.value)
                    .collect();
                if values.is_empty() {
                    continue;
                }
                let sum: f64 = values.iter().sum();
                per_scrape.push(match combine {
                    Combine::Sum => sum,
                    Combine::Mean => sum / values.len() as f64,
                });
            }
            if !per_scrape.is_empty() {
                let max = per_scrape.iter().copied().fold(f64::MIN, f64::max);
                acc.gauges.insert(
                    field,
                    (per_scrape.iter().sum(), per_scrape.len() as u64, max),
                );
            }
        }
        for (field, names) in HISTOGRAMS {
            let Some(base) = names
                .iter()
                .copied()
                .find(|n| present(&format!("{n}_bucket")))
            else {
                continue;
            };
            let mut hist = Hist::default();
            // Bucket series are keyed by their labels without `le`, then by bound.
            let bucket_name = format!("{base}_bucket");
            let mut buckets: BTreeMap<(String, String), Vec<Option<f64>>> = BTreeMap::new();
            for (i, scrape) in ok.iter().enumerate() {
                for p in scrape.samples.iter().filter(|p| p.name == bucket_name) {
                    let le = p.labels.get("le").cloned().unwrap_or_default();
                    let slot = buckets
                        .entry((series_key(&p.labels, "le"), le))
                        .or_insert_with(|| vec![None; ok.len()]);
                    slot[i] = Some(p.value);
                }
            }
            for ((_, le), values) in &buckets {
                let bound = match le.as_str() {
                    "+Inf" | "Inf" | "inf" => f64::INFINITY,
                    other => match other.parse::<f64>() {
                        Ok(b) => b,
                        Err(_) => continue,
                    },
                };
                hist.add_bucket(bound, increase(values));
            }
            hist.sum = series_values(&format!("{base}_sum"), "")
                .values()
                .map(|v| increase(v))
                .sum();
            hist.count = series_values(&format!("{base}_count"), "")
                .values()
                .map(|v| increase(v))
                .sum();
            acc.histograms.insert(field, hist);
        }
        acc
    }

    /// Pools another trial into this one.
    pub fn merge(&mut self, other: &ServerAccumulator) {
        self.engine = self.engine.or(other.engine);
        self.scrapes += other.scrapes;
        self.failed += other.failed;
        for (k, v) in &other.counters {
            *self.counters.entry(k).or_default() += v;
        }
        for (k, &(sum, n, max)) in &other.gauges {
            let e = self.gauges.entry(k).or_insert((0.0, 0, f64::MIN));
            e.0 += sum;
            e.1 += n;
            e.2 = e.2.max(max);
        }
        for (k, h) in &other.histograms {
            self.histograms.entry(k).or_default().merge(h);
        }
    }

    /// `None` when no scrape was even attempted.
    pub fn finish(&self) -> Option<ServerMetrics> {
        if self.scrapes + self.failed == 0 {
            return None;
        }
        let counter = |k: &str| self.counters.get(k).copied();
        let gauge = |k: &str| {
            self.gauges.get(k).map(|&(sum, n, max)| GaugeStats {
                mean: sum / n as f64,
                max,
            })
        };
        let hist = |k: &str| self.histograms.get(k).and_then(Hist::stats_ms);
        let prefix_cache_hit_rate = match (
            counter("prefix_cache_hits"),
            counter("prefix_cache_queries"),
        ) {
            (Some(hits), Some(queries)) if queries > 0.0 => Some(hits / queries),
            _ => gauge("prefix_cache_hit_rate").map(|g| g.mean),
        };
        Some(ServerMetrics {
            engine: self.engine.map(str::to_string),
            scrapes: self.scrapes,
            failed_scrapes: self.failed,
            requests_finished: counter("requests_finished"),
            prompt_tokens: counter("prompt_tokens"),
            generation_tokens: counter("generation_tokens"),
            preemptions: counter("preemptions"),
            prefix_cache_hit_rate,
            requests_running: gauge("requests_running"),
            requests_waiting: gauge("requests_waiting"),
            kv_cache_usage: gauge("kv_cache_usage"),
            ttft_ms: hist("ttft"),
            itl_ms: hist("itl"),
            e2e_ms: hist("e2e"),
        })
    }
}

/// DCGM exporter fields read as GPU samples (the exporter's default set).
const DCGM_POWER_W: &str = "DCGM_FI_DEV_POWER_USAGE";
const DCGM_ENERGY_MJ: &str = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";
const DCGM_UTIL_PCT: &str = "DCGM_FI_DEV_GPU_UTIL";
const DCGM_FB_USED_MIB: &str = "DCGM_FI_DEV_FB_USED";
const DCGM_FB_FREE_MIB: &str = "DCGM_FI_DEV_FB_FREE";
const DCGM_SM_CLOCK_MHZ: &str = "DCGM_FI_DEV_SM_CLOCK";
const DCGM_TEMP_C: &str = "DCGM_FI_DEV_GPU_TEMP";

/// The GPU readings in one DCGM exporter scrape, one sample per `gpu` label.
pub fn dcgm_gpu_samples(scrape: &Scrape) -> Vec<GpuSample> {
    let mut by_gpu: BTreeMap<u32, GpuSample> = BTreeMap::new();
    for p in &scrape.samples {
        let Some(gpu) = p.labels.get("gpu").and_then(|g| g.parse::<u32>().ok()) else {
            continue;
        };
        let s = by_gpu.entry(gpu).or_insert_with(|| GpuSample {
            scenario: scrape.scenario.clone(),
            trial: scrape.trial,
            t_ms: scrape.t_ms,
            gpu,
            power_w: None,
            energy_mj: None,
            gpu_util_pct: None,
            memory_used_mib: None,
            sm_clock_mhz: None,
            temperature_c: None,
        });
        let v = Some(p.value);
        match p.name.as_str() {
            DCGM_POWER_W => s.power_w = v,
            DCGM_ENERGY_MJ => s.energy_mj = v,
            DCGM_UTIL_PCT => s.gpu_util_pct = v,
            DCGM_FB_USED_MIB => s.memory_used_mib = v,
            DCGM_SM_CLOCK_MHZ => s.sm_clock_mhz = v,
            DCGM_TEMP_C => s.temperature_c = v,
            _ => {}
        }
    }
    by_gpu.into_values().collect()
}

/// GPUs a DCGM exporter describes, from the labels every series carries (total
/// memory is frame-buffer used + free).
pub fn dcgm_gpus(samples: &[PromSample]) -> Vec<GpuInfo> {
    let mut gpus: BTreeMap<u32, (GpuInfo, f64, u8)> = BTreeMap::new();
    for p in samples {
        let Some(gpu) = p.labels.get("gpu").and_then(|g| g.parse::<u32>().ok()) else {
            continue;
        };
        let entry = gpus.entry(gpu).or_insert_with(|| {
            let info = GpuInfo {
                index: gpu,
                name: p.labels.get("modelName").cloned().unwrap_or_default(),
                uuid: p.labels.get("UUID").cloned(),
                memory_total_mib: None,
            };
            (info, 0.0, 0)
        });
        if p.name == DCGM_FB_USED_MIB || p.name == DCGM_FB_FREE_MIB {
            entry.1 += p.value;
            entry.2 += 1;
        }
    }
    gpus.into_values()
        .map(|(mut info, memory, parts)| {
            info.memory_total_mib = (parts == 2).then_some(memory.round() as u64);
            info
        })
        .collect()
}

/// GETs a metrics page; the error says what went wrong in one line.
pub async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot reach it: {}", e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    // A metrics page is tens to hundreds of KiB; an endless one must not be kept.
    let body = crate::client::limits::read_capped(response, 16 * 1024 * 1024).await?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_increase_survives_restarts_and_late_series() {
        assert_eq!(increase(&[Some(10.0), Some(15.0), Some(20.0)]), 10.0);
        assert_eq!(
            increase(&[Some(10.0), Some(15.0), Some(3.0)]),
            8.0,
            "restart"
        );
        assert_eq!(increase(&[None, Some(4.0), Some(6.0)]), 6.0, "new series");
        assert_eq!(
            increase(&[Some(4.0), None, Some(6.0)]),
            2.0,
            "failed scrape"
        );
        assert_eq!(increase(&[]), 0.0);
    }

    #[test]
    fn histogram_quantile_interpolates_like_promql() {
        let h = Hist {
            buckets: vec![(0.1, 10.0), (0.2, 30.0), (f64::INFINITY, 40.0)],
            sum: 6.0,
            count: 40.0,
        };
        // Rank 20 of 40 lies halfway through the (0.1, 0.2] bucket.
        assert!((h.quantile(0.5).unwrap() - 0.15).abs() < 1e-12);
        // Rank 2 lies in the first bucket, which starts at 0.
        assert!((h.quantile(0.05).unwrap() - 0.02).abs() < 1e-12);
        // Ranks in the +Inf bucket give the highest finite bound.
        assert_eq!(h.quantile(0.99), Some(0.2));
        let s = h.stats_ms().unwrap();
        assert_eq!(s.count, 40.0);
        assert!((s.mean - 150.0).abs() < 1e-9);
    }

    #[test]
    fn keeps_colon_names_drops_runtime_noise() {
        let samples = parse(include_str!(
            "../../tests/fixtures/prometheus/vllm_after.prom"
        ))
        .unwrap();
        assert!(samples
            .iter()
            .any(|s| s.name == "vllm:num_requests_running"));
        assert!(samples
            .iter()
            .any(|s| s.name == "vllm:time_to_first_token_seconds_bucket"
                && s.labels.get("le").map(String::as_str) == Some("+Inf")));
        assert!(samples.iter().all(|s| !s.name.starts_with("python_")
            && !s.name.starts_with("process_")
            && !s.name.starts_with("http_")
            && !s.name.ends_with("_created")));
        assert_eq!(engine_of(&samples), Some("vllm"));
    }

    #[test]
    fn rejects_what_is_not_an_exposition() {
        assert!(parse("<html>502 Bad Gateway</html>").is_err());
    }
}
