//! `GET /metrics`: Prometheus text exposition under vLLM's metric names, so
//! tools that scrape a vLLM server (including llm-bench's own server-side
//! collection) can be exercised against the simulator unchanged.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use super::state::Shared;

pub(crate) fn render(shared: &Shared) -> String {
    let c = &shared.counters;
    let active = c.active_requests.load(Relaxed);
    let batch = u64::from(shared.config.batch_size.max(1));
    let model = escape_label(&shared.config.model);
    let label = format!("{{model_name=\"{model}\"}}");
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{label} {value}\n"
        );
    };
    metric(
        "vllm:num_requests_running",
        "gauge",
        "Number of requests currently running (decoding) on the simulated server.",
        active.min(batch).to_string(),
    );
    metric(
        "vllm:num_requests_waiting",
        "gauge",
        "Number of requests beyond the simulated batch size.",
        active.saturating_sub(batch).to_string(),
    );
    metric(
        "vllm:prompt_tokens_total",
        "counter",
        "Number of prefill tokens processed.",
        c.prompt_tokens_total.load(Relaxed).to_string(),
    );
    metric(
        "vllm:generation_tokens_total",
        "counter",
        "Number of generation tokens processed.",
        c.output_tokens_total.load(Relaxed).to_string(),
    );
    metric(
        "vllm:request_success_total",
        "counter",
        "Count of successfully processed requests.",
        c.requests_ok.load(Relaxed).to_string(),
    );
    if let Some(cache) = &shared.prefix_cache {
        metric(
            "vllm:prefix_cache_queries_total",
            "counter",
            "Prompt tokens looked up in the prefix cache.",
            cache.queries.load(Relaxed).to_string(),
        );
        metric(
            "vllm:prefix_cache_hits_total",
            "counter",
            "Prompt tokens found in the prefix cache.",
            cache.hits.load(Relaxed).to_string(),
        );
    }
    let sum_s = c.lateness_sum_ns.load(Relaxed) as f64 / 1e9;
    let count = c.lateness_count.load(Relaxed);
    let p99_s = c.lateness_quantile_ms(0.99) / 1e3;
    let max_s = c.lateness_max_ns.load(Relaxed) as f64 / 1e9;
    let _ = write!(
        out,
        "# HELP llm_bench_sim_lateness_seconds How late chunks left the simulator versus their schedule.\n\
         # TYPE llm_bench_sim_lateness_seconds summary\n\
         llm_bench_sim_lateness_seconds{{quantile=\"0.99\"}} {p99_s}\n\
         llm_bench_sim_lateness_seconds{{quantile=\"1\"}} {max_s}\n\
         llm_bench_sim_lateness_seconds_sum {sum_s}\n\
         llm_bench_sim_lateness_seconds_count {count}\n"
    );
    out
}

/// Escapes a Prometheus label value (backslash, quote, newline).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
