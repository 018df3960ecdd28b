//! A trial's scrapes summarised: counters as restart-safe increases, gauges
//! averaged, histograms differenced bucket by bucket with PromQL-style quantiles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::families::{engine_of, Combine, COUNTERS, GAUGES, HISTOGRAMS};
use crate::telemetry::record::Scrape;

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
pub(super) struct Hist {
    /// (upper bound, cumulative count), sorted by bound; the last is +Inf.
    pub(super) buckets: Vec<(f64, f64)>,
    pub(super) sum: f64,
    pub(super) count: f64,
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
    pub(super) fn quantile(&self, q: f64) -> Option<f64> {
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

    pub(super) fn stats_ms(&self) -> Option<HistogramStats> {
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
pub(super) fn increase(values: &[Option<f64>]) -> f64 {
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
