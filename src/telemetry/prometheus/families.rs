//! Which series mean what: the counter, gauge and histogram families of vLLM,
//! SGLang and TGI that explain a benchmark, each under every name an engine uses.

use crate::telemetry::record::PromSample;

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
pub(super) const COUNTERS: [(&str, &[&str]); 6] = [
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
pub(super) enum Combine {
    /// Counts of requests: replicas add up.
    Sum,
    /// Fractions: the replicas' mean.
    Mean,
}

pub(super) const GAUGES: [(&str, Combine, &[&str]); 4] = [
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
pub(in crate::telemetry) enum GaugeName {
    RequestsRunning,
    RequestsWaiting,
    KvCacheUsage,
}

/// One gauge's value in one scrape, its series combined as [`GAUGES`] says;
/// `None` when the scrape lacks it.
pub(in crate::telemetry) fn gauge_value(samples: &[PromSample], gauge: GaugeName) -> Option<f64> {
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
pub(super) const HISTOGRAMS: [(&str, &[&str]); 3] = [
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
