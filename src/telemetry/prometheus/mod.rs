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

mod accumulate;
mod dcgm;
mod families;
mod parse;
#[cfg(test)]
mod tests;

pub use accumulate::{GaugeStats, HistogramStats, ServerAccumulator, ServerMetrics};
pub use dcgm::{dcgm_gpu_samples, dcgm_gpus};
pub use families::engine_of;
pub(super) use families::{gauge_value, GaugeName};
pub use parse::parse;

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
